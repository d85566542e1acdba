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


def test_example_08_coffea_user_processor(tmp_path, monkeypatch):
    """The user's processor under coffea's Runner: the 50 morphed weights equal columnminer.weights applied
    to the LHE file's benchmark weights, each LHE event is read once, at most 10 columnminer lines."""
    import importlib.util

    import numpy as np

    import columnminer.io.lhe_ranges as lhe_ranges
    from columnminer.io.lhe import benchmark_weights, read_lhe
    from columnminer.weights import theta_coefficients, weights_at

    script = EXAMPLES / "08_coffea_user_processor.py"
    assert (
        sum(line.rstrip().endswith("# cm") or "# cm:" in line for line in script.read_text().splitlines())
        <= 10
    )
    reads = []
    original = lhe_ranges.read_lhe_range

    def counting(path, start, stop, *args, **kwargs):
        reads.append((int(start), int(stop)))
        return original(path, start, stop, *args, **kwargs)

    monkeypatch.setattr(lhe_ranges, "read_lhe_range", counting)
    spec = importlib.util.spec_from_file_location("example_08", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, thetas, lhe, setup = module.run(tmp_path, chunksize=4)
    got = np.concatenate([out["weights"][k] for k in sorted(out["weights"])])
    events = read_lhe(lhe, normalize=True)
    expected = weights_at(benchmark_weights(events, setup.benchmark_names), theta_coefficients(setup, thetas))
    assert got.shape == (10, 50)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    events_read = np.zeros(10, dtype=int)
    for start, stop in reads:
        events_read[start:stop] += 1
    assert events_read.tolist() == [1] * 10
    h = out["met"]
    assert len(h.axes["theta"]) == 50
    np.testing.assert_allclose(
        h[{"theta": "a2=-1,a3=-1"}].sum(flow=True).value, expected[:, 0].sum(), rtol=1e-12
    )
