"""Where the real-data test files are: ``tests/data/`` of this repository (see tests/data/README.md).

The files are part of the repository, so a test that needs one fails (never skips) when it is missing.
"""

from pathlib import Path

import pytest

#: The folder of the real input files, beside this module.
DATA = Path(__file__).resolve().parent / "data"

#: The LHE files of ``tests/data/lhe/`` that the reader tests run over, each of them.
LHE_FILES = (
    "testfile-madgraph-2.0.0-wbj.lhe",
    "testfile-madgraph-2.2.1-Z-mlm.lhe.gz",
    "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz",
    "testfile-powheg-box-v2-W.lhe",
    "testfile-powheg-box-v2-Z.lhe",
    "testfile-pr180.lhe",
    "testfile-pr29.lhe",
    "testfile-pythia-8.3.14-weakbosons.lhe",
    "testfile-whizard-3.1.4-eeWW.lhe",
    "testlhef3.lhe",
)


def data_file(*parts: str) -> Path:
    """Path of a file (or folder) under tests/data/; fails the test with the missing path when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"test data file {path} is missing: tests/data/ of the repository must hold it "
            "(see tests/data/README.md)",
            pytrace=False,
        )
    return path
