"""The tutorials in examples/ run from start to end and leave what they promise."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_01_parameter_space_and_morphing(tmp_path):
    script = EXAMPLES / "01_parameter_space_and_morphing.py"
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert "saved and reloaded" in completed.stdout
    data = json.loads((tmp_path / "setup.json").read_text())
    assert [p["name"] for p in data["parameters"]] == ["CWL2", "CPWL2"]
    assert data["morphing"]["basis_benchmarks"][0] == "sm"
    assert len(data["morphing"]["basis"]) == 6


def test_example_02_golden_channel_analysis(tmp_path):
    script = EXAMPLES / "02_golden_channel_analysis.py"
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "1500"], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    assert "sigma(a2, a3=0) after cuts [pb]" in completed.stdout
    from columnminer.io.store import EventStore

    store = EventStore.open(str(tmp_path / "golden.zarr"))
    assert store.n_events == 1500 + 375
    assert store.observable_names[:3] == ["m4l", "mZ1", "mZ2"]


def test_example_03_delphes_analysis(tmp_path):
    from conftest_data import data_file

    delphes = data_file("delphes", "delphes-cms-10events.root")
    script = EXAMPLES / "03_delphes_analysis.py"
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path), str(delphes)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "10 of 10 events kept" in completed.stdout
    from columnminer.io.store import EventStore

    assert EventStore.open(str(tmp_path / "delphes.zarr")).n_events == 10


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_has_a_docstring_and_run_line(script):
    text = (EXAMPLES / script).read_text()
    assert text.startswith('"""'), f"{script} must open with a docstring"
    assert "Run:" in text.split('"""')[1], f"{script} must say how to run it"
