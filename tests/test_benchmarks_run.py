"""benchmarks/run.py: the benchmark table runs, writes its JSON results and prints the README's table."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"
LINE_KEYS = {
    "work", "unit", "times", "median", "reference", "reference_times", "reference_median", "ratio", "target",
    "met", "check", "note",
}  # fmt: skip


def _run_module():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_line_ratio_target_and_table():
    """A line's ratio is the speed-up (reference / ours for times, ours / reference for rates) and ``met``
    follows the target; the table shows them."""
    run = _run_module()
    times = run.line("work a", "s", [1.0, 2.0, 3.0], [40.0, 60.0], "MadMiner", (">=", 30, "ratio"))
    assert times["median"] == 2.0 and times["reference_median"] == 50.0
    assert times["ratio"] == pytest.approx(25.0) and times["met"] is False
    rate = run.line("work b", "MB/s", [700.0], target=(">=", 600, "value"), speedup=False)
    assert rate["ratio"] is None and rate["met"] is True
    smaller = run.line("work c", "x", [1.2], target=("<=", 1.3, "value"))
    assert smaller["met"] is True
    results = {"rows": [{"row": "r", "lines": [times, rate, smaller], "peak_mb": 100.0, "peak_growth_mb": 5.0,
                         "load_before": 1.0, "load_after": 2.0}]}  # fmt: skip
    table = run.markdown_table(results).splitlines()
    assert table[0].startswith("| work | MadMiner / reference | columnminer | ratio | target | met? |")
    assert table[2] == "| work a | 50 s (MadMiner) | 2 s | 25.00x | >= 30x | **no** | 100 (+5) | 1.0 / 2.0 |"
    assert table[3] == "| work b | — | 700 MB/s | — | >= 600 MB/s | yes | 100 (+5) | 1.0 / 2.0 |"
    assert table[4] == "| work c | — | 1.20x | — | <= 1.3x | yes | 100 (+5) | 1.0 / 2.0 |"


def test_quick_run_writes_json_and_prints_the_table(tmp_path):
    """``run.py --quick --only xsecs --no-madminer`` (a cheap row): JSON schema and printed table (no
    timing assertions)."""
    out = tmp_path / "results.json"
    command = [sys.executable, str(RUN), "--quick", "--only", "xsecs", "--no-madminer"]
    command += ["--repeats", "1", "--json", str(out), "--workdir", str(tmp_path / "work")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    assert set(results) == {"environment", "options", "rows"}
    environment = results["environment"]
    assert environment["cores"] >= 1 and len(environment["load"]) == 3
    assert environment["versions"]["madminer"] == "not run" and "numpy" in environment["versions"]
    assert results["options"]["quick"] is True and results["options"]["rows"] == ["xsecs"]
    assert [row["row"] for row in results["rows"]] == ["xsecs"]
    for row in results["rows"]:
        assert "error" not in row
        assert row["peak_mb"] > 0 and row["load_before"] >= 0 and row["load_after"] >= 0
        (item,) = row["lines"]
        assert set(item) == LINE_KEYS
        assert len(item["times"]) == 1 and item["median"] > 0
        assert item["reference"] == "MadMiner: not run" and item["ratio"] is None and item["met"] is None
    assert results["rows"][0]["lines"][0]["target"] == [">=", 50, "ratio"]
    lines = done.stdout.splitlines()
    assert "cores, load" in lines[0] and "madminer not run" in lines[0]
    header = lines.index(
        "| work | MadMiner / reference | columnminer | ratio | target | met? | peak MB (+growth) | load |"
    )
    assert lines[header + 2].startswith("| cross sections at 100 thetas, 10^5 events | MadMiner: not run |")
    cells = [cell.strip() for cell in lines[header + 2].strip("|").split("|")]
    assert len(cells) == 8 and cells[2].endswith(" s") and cells[3:6] == ["—", ">= 50x", "—"]
