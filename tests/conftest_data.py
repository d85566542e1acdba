"""Where the shared real-data files are; tests that need them skip cleanly when they are absent."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("COLUMNMINER_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def data_file(*parts: str) -> Path:
    """Path of a shared data file, or skip the test when the shared data folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    return path
