"""The command-line chain a new user runs, end to end: simulate -> analyse -> augment -> train alices ->
limits ml on 5000 golden events with the default settings (only fewer training epochs, for time). The Asimov
best fit must be the SM (within one grid step), the SM inside the 68% region, and the estimator must pass the
closure check on the Asimov events (normalisation E[r_hat] = 1 and no sharper than the parton-level
likelihood): the limits are right, not only centred."""

import json

import numpy as np
import pytest
import torch

from columnminer.cli import main
from columnminer.inference import expected_limits, truth_expected_limits
from columnminer.io.store import EventStore

#: The coarsest grid step of ``limits`` by default: 21 points per parameter over [-1, 1] (then zoomed).
GRID_STEP = 0.1


@pytest.fixture
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_default_chain_limits_contain_the_sm(tmp_path, monkeypatch, capsys, one_torch_thread):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "golden", "--events", "5000", "--out", "g"]) == 0
    args = ["analyse", "g.zarr", "--sample", "g/signal.lhe.gz:sm", "--background", "g/background.lhe.gz"]
    assert main(args) == 0
    assert main(["augment", "g.zarr", "ratio"]) == 0
    capsys.readouterr()

    # train: the defaults (a morphing-aware ALICES, calibrated on the validation partition), fewer epochs
    assert main(["train", "g.zarr", "alices", "--epochs", "20"]) == 0
    out = capsys.readouterr().out
    assert "trained MorphingAwareRatioEstimator (alices) on samples/ratio" in out
    assert "calibrated on" in out and "validation partition" in out
    record = json.loads((tmp_path / "models" / "alices_calibration.json").read_text())
    assert record["partition"] == "validation" and record["theta_ref"] == [0.0, 0.0]

    # limits: Asimov data at the SM from the test partition, the default 21 x 21 grid zoomed onto the regions
    assert main(["limits", "g.zarr", "ml", "--estimator", "models/alices", "--json", "limits.json"]) == 0
    captured = capsys.readouterr()
    saved = json.loads((tmp_path / "limits.json").read_text())
    thetas, q = np.array(saved["thetas"]), np.array(saved["q"])
    sm = int(np.argmin(np.linalg.norm(thetas, axis=1)))
    assert np.all(np.abs(saved["best_fit"]) <= GRID_STEP + 1e-9), saved["best_fit"]
    assert q[sm] < saved["regions"][0]["threshold"]  # the SM is inside the 68% region
    assert saved["regions"][0]["cl"] == pytest.approx(0.6827)
    assert saved["grid_zooms"] >= 1 and not saved["regions"][0]["below_grid_resolution"]
    assert saved["closure"]["passed"], captured.out
    assert "closure passed" in captured.out and "closure check" not in captured.err
    assert saved["calibration"].startswith("calibration: normalisation on")

    # the regions mean something: smaller than the rate alone gives, not smaller than the parton-level truth
    store = EventStore.open("g.zarr")
    n68 = saved["regions"][0]["n_inside"]
    rate = expected_limits(store, "rate", "sm", thetas, 3e6, partition="test", return_histograms=False)
    truth = truth_expected_limits(store, "sm", thetas, 3e6, partition="test")
    assert np.sum(truth.q < truth.threshold(0.6827)) <= n68 < np.sum(rate.q < rate.threshold(0.6827))


def test_a_misnormalised_estimator_is_flagged_and_recalibrated(
    golden_store, tmp_path, capsys, one_torch_thread
):
    """A morphing-aware ALICES whose log cross sections are off (as if never calibrated): limits ml says so
    (printed, in the JSON, a warning on stderr); --calibrate validation repairs it."""
    from columnminer.ml import load_estimator
    from columnminer.ml.morphing_aware import XSEC_STEP

    store = str(golden_store)
    model = tmp_path / "alices"
    assert main(["augment", store, "ratio", "--samples", "3000", "--name", "r-closure", "--overwrite"]) == 0
    args = ["train", store, "alices", "--sample", "r-closure", "--hidden", "16", "--epochs", "3"]
    assert main([*args, "--out", str(model)]) == 0
    assert "calibrated on" in capsys.readouterr().out
    estimator = load_estimator(model)
    with torch.no_grad():
        estimator.model.raw_log_xsec.add_(torch.tensor([0.0, 0.2, -0.2, 0.2, -0.2, 0.2]) / XSEC_STEP)
    estimator.save(tmp_path / "bad")  # no calibration record beside it

    args = ["limits", store, "ml", "--estimator", str(tmp_path / "bad"), "--points", "11"]
    assert main([*args, "--json", str(tmp_path / "bad.json")]) == 0
    captured = capsys.readouterr()
    assert "estimator not calibrated" in captured.out and "closure FAILED" in captured.out
    assert "fails the closure check" in captured.err
    assert json.loads((tmp_path / "bad.json").read_text())["closure"]["passed"] is False

    assert main([*args, "--calibrate", "validation", "--json", str(tmp_path / "fixed.json")]) == 0
    captured = capsys.readouterr()
    assert "calibrated here on" in captured.out and "closure passed" in captured.out, captured.out
    assert json.loads((tmp_path / "fixed.json").read_text())["closure"]["passed"] is True

    assert main([*args, "--no-closure"]) == 0
    assert "closure" not in capsys.readouterr().out
    assert main(["limits", store, "rate", "--no-closure"]) == 1
    assert "--no-closure: only for the ml mode" in capsys.readouterr().err
