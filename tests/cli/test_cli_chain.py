"""The command line end to end: simulate -> analyse -> inspect -> augment -> train -> fisher -> limits, each
output checked against the library called directly."""

import json

import numpy as np

from columnminer._cli.common import fmt, fmt_error, parameter_grid
from columnminer.cli import main
from columnminer.inference import (
    detector_information,
    expected_limits,
    histogram_information,
    rate_information,
    truth_information,
)
from columnminer.io.store import EventStore
from columnminer.ml import load_estimator
from columnminer.weights import cross_sections

LUMINOSITY = 3.0e6  # the default: 3000 fb^-1


def _line(text, start):
    """The first output line whose stripped text starts with ``start``."""
    for line in text.splitlines():
        if line.strip().startswith(start):
            return line
    raise AssertionError(f"no line starting with {start!r} in:\n{text}")


def test_chain(golden_dir, golden_store, tmp_path, capsys):
    # simulate (fixture): LHE files and the setup
    assert (golden_dir / "signal.lhe.gz").is_file() and (golden_dir / "setup.json").is_file()
    summary = json.loads((golden_dir / "summary.json").read_text())
    n_signal, n_background = summary["n_events"], summary["n_background"]

    # analyse (fixture): every 2e2mu event passes the default four-lepton observables
    store = EventStore.open(str(golden_store))
    assert store.n_events == n_signal + n_background
    assert store.observable_names[:3] == ["m4l", "mZ1", "mZ2"]

    # inspect: cross sections per benchmark as the library computes them
    assert main(["inspect", str(golden_store), "--json", str(tmp_path / "inspect.json")]) == 0
    out = capsys.readouterr().out
    xsec, error = cross_sections(store)
    for b, name in enumerate(store.benchmark_names):
        assert fmt_error(xsec[b], error[b]) in _line(out, name)
    assert f"background events: {n_background}" in out
    assert str(n_signal) in _line(out, str(golden_dir / "signal.lhe.gz"))
    assert "Phi1" in out and "nuisance columns: none" in out
    assert "level: parton (detector: none); cuts: none" in out
    info = json.loads((tmp_path / "inspect.json").read_text())
    assert info["n_events"] == n_signal + n_background
    assert np.isclose(info["benchmarks"][0]["cross_section_pb"], xsec[0])

    # augment: a SALLY sample in the store and as .npy files
    npy = tmp_path / "npy"
    assert main(["augment", str(golden_store), "local", "--samples", "1200", "--npy", str(npy)]) == 0
    out = capsys.readouterr().out
    assert "sample 'local' (train_local)" in out
    assert "local" in EventStore.open(str(golden_store)).sample_names
    assert np.load(npy / "local_t_xz0.npy").shape == (1200, 2)

    # train: a tiny SALLY network, saved and loadable
    model = tmp_path / "models" / "sally"
    args = ["train", str(golden_store), "sally", "--hidden", "8", "--epochs", "2", "--out", str(model)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trained ScoreEstimator (sally) on samples/local" in out
    assert "validation: 150 rows drawn from the validation partition" in out  # 1200 * 0.1 / 0.8
    assert (tmp_path / "models" / "sally_settings.json").is_file()
    estimator = load_estimator(model)
    assert estimator.n_observables == 10 and estimator.n_parameters == 2

    # fisher: each row is the library's matrix
    args = ["fisher", str(golden_store), "--theta", "sm", "--observables", "Phi", "--bins", "8"]
    assert main([*args, "--estimator", str(model), "--json", str(tmp_path / "fisher.json")]) == 0
    out = capsys.readouterr().out
    expected = {  # every kind on the test partition
        "truth": truth_information(store, "sm", LUMINOSITY, partition="test"),
        "rate": rate_information(store, "sm", LUMINOSITY, partition="test"),
        "histo": histogram_information(store, "sm", LUMINOSITY, ["Phi"], bins=8, partition="test"),
        "sally": detector_information(estimator, store, "sm", LUMINOSITY, partition="test"),
    }
    for kind, info in expected.items():
        line = _line(out.split("expected one-sigma")[0], kind)
        for i, j in ((0, 0), (0, 1), (1, 1)):
            assert fmt(info.information[i, j]) in line, (kind, line)
    saved = json.loads((tmp_path / "fisher.json").read_text())
    np.testing.assert_allclose(saved["information"]["truth"]["matrix"], expected["truth"].information)
    errors = np.sqrt(np.diag(np.linalg.inv(expected["truth"].information)))
    assert fmt(errors[0], 4) in _line(out.split("expected one-sigma")[1], "truth")

    # limits: the scan is the library's
    target = tmp_path / "limits.json"
    args = ["limits", str(golden_store), "histo", "--observables", "Phi", "--bins", "8", "--grid=-1:1:11"]
    assert main([*args, "--json", str(target)]) == 0
    out = capsys.readouterr().out
    grid = parameter_grid(store.setup, [], 11)
    result = expected_limits(
        store,
        "histo",
        "sm",
        grid,
        LUMINOSITY,
        features=["Phi"],
        bins=8,
        partition="test",
        return_histograms=False,
    )
    saved = json.loads(target.read_text())
    np.testing.assert_allclose(saved["q"], result.q, atol=1e-9)
    assert saved["best_fit"] == result.best_fit.tolist()
    assert "best fit: a2 = 0, a3 = 0" in out
    inside = int(np.sum(result.q < result.threshold(0.95)))
    assert saved["regions"][1]["n_inside"] == inside
    assert str(inside) in _line(out, "95%")

    # limits with the score estimator, and inspect now lists the augmented sample
    assert main(["limits", str(golden_store), "sally", "--estimator", str(model), "--points", "5"]) == 0
    assert "expected limits (sally)" in capsys.readouterr().out
    assert main(["inspect", str(golden_store)]) == 0
    assert "train_local" in _line(capsys.readouterr().out, "local")


def test_ratio_density_and_ensemble_methods(golden_store, tmp_path, capsys):
    """The other augment / train paths: ratio samples and an ALICES ensemble, doubly parameterised CARL,
    a density sample and NDE; the ml limits with the ensemble."""
    store = str(golden_store)
    tiny = ["--epochs", "1", "--hidden", "4"]
    assert main(["augment", store, "ratio", "--theta0", "random:8", "--samples", "600", "--name", "r8"]) == 0
    assert (
        main(["train", store, "alices", "--sample", "r8", "--ensemble", "2", "--out", str(tmp_path / "e")])
        == 0
    )
    assert (tmp_path / "e" / "ensemble.json").is_file()
    out = capsys.readouterr().out
    assert "ensemble of 2 MorphingAwareRatioEstimator (alices)" in out and "calibrated on" in out
    assert (tmp_path / "e" / "calibration.json").is_file()
    args = [
        "augment",
        store,
        "more-ratios",
        "--theta0",
        "random:4",
        "--samples",
        "400",
        "--additional-thetas",
        "1",
    ]
    assert main(args) == 0
    assert EventStore.open(store).read_sample("more-ratios")["x"].shape[0] == 600  # + one row per y = 1 event
    assert main(["train", store, "carl", "--double", *tiny, "--out", str(tmp_path / "carl")]) == 0
    assert "DoubleParameterizedRatioEstimator (carl) on samples/more-ratios" in capsys.readouterr().out
    assert main(["augment", store, "density", "--theta0", "grid:2", "--samples", "400"]) == 0
    assert main(["train", store, "nde", *tiny, "--transforms", "1", "--out", str(tmp_path / "nde")]) == 0
    assert "LikelihoodEstimator (nde) on samples/density" in capsys.readouterr().out
    target = tmp_path / "ml.json"
    args = ["limits", store, "ml", "--estimator", str(tmp_path / "e"), "--points", "3", "--json", str(target)]
    assert main(args) == 0
    assert len(json.loads(target.read_text())["q"]) == 9
    assert main(["fisher", store, "--kind", "sally", "--estimator", str(tmp_path / "e")]) == 0
    assert _line(capsys.readouterr().out, "detector").count("±") == 3


def test_simulate_options(tmp_path, capsys):
    args = ["simulate", "golden", "--events", "60", "--background", "10", "--out", str(tmp_path / "g")]
    assert (
        main([*args, "--scale-variations", "0.5", "1", "2", "--background-xsec", "0.002", "--no-gzip"]) == 0
    )
    assert "scale variations: 9 weights per event" in capsys.readouterr().out
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert summary["background_cross_section_pb"] == 0.002
    assert (tmp_path / "g" / "signal.lhe").is_file()
