"""The runner script processors/run.py: a JSON file set, one pass for store, histograms and Fisher information."""

import importlib.util
import json
import pickle
from pathlib import Path

import pytest

from columnminer.io.store import EventStore
from columnminer.weights import cross_sections

SCRIPT = Path(__file__).resolve().parents[2] / "processors" / "run.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("processors_run_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_script_iterative(golden, script, tmp_path, capsys):
    base = Path(golden["signal"]).parent
    fileset = {
        "signal": {"files": ["sm/signal.lhe.gz"], "metadata": {"sampled_from_benchmark": "sm"}},
        "background": {"files": ["sm/background.lhe.gz"], "metadata": {"is_background": True}},
    }
    path = base.parent / "fileset.json"  # relative paths: relative to the JSON file
    path.write_text(json.dumps(fileset))
    setup = base / "setup.json"
    store, output = tmp_path / "s.zarr", tmp_path / "out.pkl"
    argv = [str(path), "--setup", str(setup), "--preset", "fourlepton", "--chunksize", "1000"]
    argv += ["--store", str(store), "--histogram", "m4l:10:0:1000", "--theta", "sm", "--theta", "0.5,0"]
    argv += ["--fisher", "sm", "--luminosity", "1000", "--output", str(output)]
    assert script.main(argv) == 0
    printed = capsys.readouterr().out
    assert "2600 events read" in printed and "truth-level Fisher information at [0.0, 0.0]" in printed
    results = pickle.loads(output.read_bytes())
    h = results["hist:m4l"]["m4l"]
    written = EventStore.open(str(store))
    assert written.n_events == 2600 and h.shape == (2, 10)
    assert h[0, ...].sum(flow=True).value == pytest.approx(cross_sections(written, ["sm"])[0][0], rel=1e-12)
    assert script.main([*argv[:-2]]) == 0  # a rerun: every chunk is in the store already, nothing is read
    assert "0 events read" in capsys.readouterr().out and EventStore.open(str(store)).n_events == 2600
