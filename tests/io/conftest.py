"""Fixtures for the reader tests: the real input files of tests/data/ (a missing file fails the test)."""

from pathlib import Path

import pytest
from conftest_data import LHE_FILES, data_file


@pytest.fixture(scope="session")
def lhe_dir() -> Path:
    """Directory of the real LHE files, tests/data/lhe/ (the test fails when it is missing)."""
    return data_file("lhe")


@pytest.fixture(scope="session")
def lhe_file():
    """Callable returning the path of one real LHE file by name (the test fails when it is missing)."""

    def get(name: str) -> Path:
        return data_file("lhe", name)

    return get


def pytest_generate_tests(metafunc):
    """Parametrize every test taking ``lhe_name`` over the LHE files of tests/data/lhe/ (a fixed list)."""
    if "lhe_name" in metafunc.fixturenames:
        metafunc.parametrize("lhe_name", LHE_FILES)
