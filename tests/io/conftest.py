"""Fixtures for the reader tests: the shared real input files (skipped when absent)."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("COLUMNMINER_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")
)
LHE_DIR = SHARED_DATA / "lhe"
LHE_FILES = (
    sorted(p.name for p in LHE_DIR.glob("*.lhe*") if not p.name.endswith(".readme"))
    if LHE_DIR.is_dir()
    else []
)


@pytest.fixture(scope="session")
def lhe_dir() -> Path:
    """Directory of the real LHE files; the test is skipped when the shared data are absent."""
    if not LHE_DIR.is_dir() or not LHE_FILES:
        pytest.skip(f"shared LHE data not found at {LHE_DIR}")
    return LHE_DIR


@pytest.fixture(scope="session")
def lhe_file(lhe_dir):
    """Callable returning the path of one shared LHE file by name (skips when missing)."""

    def get(name: str) -> Path:
        path = lhe_dir / name
        if not path.exists():
            pytest.skip(f"{path} not found")
        return path

    return get


def pytest_generate_tests(metafunc):
    """Parametrize every test taking ``lhe_name`` over the shared LHE files (none: the test is skipped)."""
    if "lhe_name" in metafunc.fixturenames:
        metafunc.parametrize("lhe_name", LHE_FILES)
