"""docs/from-madminer.md covers MadMiner's public API: every class, function and method of its 0.9.2 reference."""

import re
from pathlib import Path

from tests.conftest_data import data_file

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "from-madminer.md"


def test_every_madminer_api_name_is_in_the_porting_guide():
    names = data_file("madminer", "api_names.txt").read_text().split()
    assert len(names) > 100  # classes, module functions and methods of the reference
    guide = GUIDE.read_text()
    missing = [n for n in names if not re.search(rf"\b{re.escape(n)}\b", guide)]
    assert not missing, f"docs/from-madminer.md does not name {missing}"
