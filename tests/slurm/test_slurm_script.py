"""processors/run.py --cluster slurm: store, histograms, cross sections and Fisher information from worker jobs."""

import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from columnminer.io.store import EventStore

pytestmark = pytest.mark.slurm

SCRIPT = Path(__file__).resolve().parents[2] / "processors" / "run.py"


def load_script():
    spec = importlib.util.spec_from_file_location("processors_run_script_slurm", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_script_on_slurm_equals_the_iterative_run(golden, tmp_path, capsys):
    path = tmp_path / "fileset.json"
    path.write_text(json.dumps(golden["fileset"], default=str))
    setup = Path(golden["signal"]).parent / "setup.json"
    argv = [str(path), "--setup", str(setup), "--preset", "fourlepton", "--chunksize", "700"]
    argv += ["--histogram", "m4l:10:100:150", "--theta", "sm", "--theta", "0.5,0", "--xsec", "--fisher", "sm"]
    script = load_script()
    assert script.main([*argv, "--output", str(tmp_path / "iterative.pkl")]) == 0
    store = tmp_path / "s.zarr"
    slurm = ["--cluster", "slurm", "--jobs", "2", "--memory", "2GB", "--walltime", "00:10:00"]
    slurm += ["--log-directory", str(tmp_path / "logs"), "--store", str(store)]
    assert script.main([*argv, *slurm, "--output", str(tmp_path / "slurm.pkl")]) == 0
    printed = capsys.readouterr().out
    assert "2600 events read" in printed and "sigma at [0.5, 0.0]" in printed
    assert EventStore.open(str(store)).n_events == 2600  # the preset has no cut
    want, got = (pickle.loads((tmp_path / name).read_bytes()) for name in ("iterative.pkl", "slurm.pkl"))
    h_want, h_got = want["hist:m4l"]["m4l"], got["hist:m4l"]["m4l"]
    np.testing.assert_array_equal(h_got.view(flow=True), h_want.view(flow=True))
    np.testing.assert_array_equal(got["xsec"].xsec, want["xsec"].xsec)
    np.testing.assert_array_equal(got["fisher"].truth[0].information, want["fisher"].truth[0].information)
