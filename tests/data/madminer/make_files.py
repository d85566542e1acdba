"""Make the MadMiner 0.9.6 test files of tests/madminer/ with MadMiner itself (run with MadMiner's Python).

Run from this folder: ``/tmp/madminer-venv/bin/python make_files.py``. It writes

- ``setup.h5``: ``MadMiner.save`` of a setup with two parameters (a, b; LHA block ``anoinputs`` 2 and 3,
  morphing max power 2, b with the param-card transform ``2.0*theta``), benchmarks ``sm`` and ``bsm``, the
  morphing (4 more basis benchmarks), a ``norm`` systematic ``lumi`` (1.1) and a ``scale`` systematic
  ``scale`` (mu, factors 0.5, 1, 2);
- ``events.h5``: the setup (with the scale systematic only: MadMiner 0.9.6 cannot load a file that holds a
  norm systematic) plus 600 events (300 signal sampled at ``sm``, 200 at ``bsm``, 100 background),
  written by MadMiner's own ``save_nuisance_setup`` + ``save_events`` exactly as ``LHEReader.save`` does,
  with two observables and the nuisance benchmarks of both systematics (MadMiner's names and its rescaling
  to the reference benchmark ``sm``). The weights are a quadratic polynomial in theta per event;
- ``samples/``: ``SampleAugmenter.sample_train_local`` (SALLY) and ``sample_train_ratio`` (ALICES-style)
  outputs at small sizes;
- ``sally/``: a ``ScoreEstimator`` (n_hidden (8,), tanh) trained 3 epochs on the local sample, saved by
  ``ScoreEstimator.save`` (``_settings.json``, ``_state_dict.pt``, ``_x_means.npy``, ``_x_stds.npy``);
- ``samples/`` also: ``sample_train_more_ratios`` (120, 4 random theta0 / theta1 points: ``t_xz0_`` and
  ``t_xz1_`` names), ``sample_train_ratio`` (120, 5 random theta0 points against ``sm``: ``train_ratio_param``)
  and ``sample_test`` (40 at ``sm``: ``x_test`` / ``theta_test``);
- ``alices/``: a ``ParameterizedRatioEstimator`` (n_hidden (8, 8), relu, features [1, 0]) trained 3 epochs
  (ALICES) on ``train_ratio_param``, and ``rascal2/``: a ``DoubleParameterizedRatioEstimator`` (n_hidden (6,),
  ``lrelu``) trained 3 epochs (RASCAL) on the more-ratios sample, both with theta scaling
  (``_theta_means.npy``, ``_theta_stds.npy``);
- ``expected.json``: the numbers MadMiner computes on these files: cross sections at the benchmarks and at
  a few thetas (``DataAnalyzer.xsecs``), their gradients, the truth-level Fisher information at the SM
  (``FisherInformation.truth_information``, with and without nuisance parameters) and the estimators'
  scores, log likelihood ratios and ratio scores on a few inputs.
"""

import json
import logging
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from madminer.analysis import DataAnalyzer
from madminer.core import MadMiner
from madminer.fisherinformation import FisherInformation
from madminer.ml import DoubleParameterizedRatioEstimator, ParameterizedRatioEstimator, ScoreEstimator
from madminer.models import NuisanceParameter, Observable
from madminer.sampling import SampleAugmenter, benchmark, random_morphing_points
from madminer.utils.interfaces.hdf5 import _save_systematics, save_events, save_nuisance_setup

logging.basicConfig(level=logging.WARNING)
HERE = Path(__file__).resolve().parent
N_SM, N_BSM, N_BKG = 300, 200, 100
THETAS = [[0.0, 0.0], [0.3, -0.2], [-0.7, 0.5], [1.0, 1.0], [0.05, 0.4]]


def make_setup(path: Path) -> MadMiner:
    miner = MadMiner()
    miner.add_parameter("anoinputs", 2, parameter_name="a", morphing_max_power=2, parameter_range=(-1.0, 1.0))
    miner.add_parameter(
        "anoinputs",
        3,
        parameter_name="b",
        morphing_max_power=2,
        parameter_range=(-1.0, 1.0),
        param_card_transform="2.0*theta",
    )
    miner.add_benchmark({"a": 0.0, "b": 0.0}, "sm")
    miner.add_benchmark({"a": 0.5, "b": -0.5}, "bsm")
    np.random.seed(1)  # noqa: NPY002 - MadMiner's basis optimisation draws from the legacy global generator
    miner.set_morphing(include_existing_benchmarks=True, max_overall_power=2, n_trials=20)
    miner.add_systematics("norm", "lumi", norm_variation=1.1)
    miner.add_systematics("scale", "scale", scale="mu", scale_variations=(0.5, 1.0, 2.0))
    # MadMiner 0.9.6's MadMiner.save fails on a norm systematic (save_madminer_settings reads
    # ``s.scale.value`` of every systematic, and a norm one has scale None): save without systematics, then
    # write them with MadMiner's own _save_systematics, which handles a missing scale.
    systematics = miner.systematics
    miner.systematics = OrderedDict()
    miner.save(str(path))
    miner.systematics = systematics
    _save_systematics(
        str(path),
        True,
        list(systematics),
        [s.type.value for s in systematics.values()],
        [s.value for s in systematics.values()],
        [s.scale.value if s.scale is not None else None for s in systematics.values()],
    )
    return miner


def event_weights(x: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """w(x|theta) = 1e-3 pb * exp(-x0^2/2) * [(1 + a x0 + b x1)^2 + 0.1 (a^2 + b^2)] / N, shape [n, n_thetas]."""
    a, b = thetas[:, 0][None, :], thetas[:, 1][None, :]
    core = (1 + a * x[:, :1] + b * x[:, 1:2]) ** 2 + 0.1 * (a**2 + b**2)
    return 1e-3 * np.exp(-0.5 * x[:, :1] ** 2) * core


def save_file(path, setup_copy, weights, parameters, x, sampled, signal_counts, n_background) -> None:
    """What LHEReader.save does: the nuisance setup (from ``setup_copy``, then removed), observables x0, x1 and
    the events."""
    save_nuisance_setup(str(path), True, list(weights), parameters, "sm", copy_from_path=str(setup_copy))
    setup_copy.unlink()
    observables = OrderedDict((n, Observable(n, d)) for n, d in (("x0", "j[0].pt"), ("x1", "j[0].eta")))
    columns = OrderedDict((n, x[:, i]) for i, n in enumerate(observables))
    save_events(str(path), True, observables, columns, weights, sampled, signal_counts, n_background)


def make_events(miner: MadMiner, setup_path: Path, path: Path) -> None:
    # MadMiner 0.9.6 cannot load a file with a norm systematic either (load_madminer_settings calls
    # SystematicScale.from_str(None) and raises): the event file keeps only the scale systematic.
    scale_only = path.with_suffix(".tmp.h5")
    shutil.copyfile(setup_path, scale_only)
    _save_systematics(str(scale_only), True, ["scale"], ["scale"], ["0.5,1.0,2.0"], ["mu"])
    rng = np.random.default_rng(7)
    names = list(miner.benchmarks)
    values = np.array([[bm.values[p] for p in miner.parameters] for bm in miner.benchmarks.values()])
    x_sig = rng.normal(size=(N_SM + N_BSM, 2))
    x_bkg = rng.normal(loc=0.5, size=(N_BKG, 2))
    w_sig = event_weights(x_sig, values)
    w_sig[:N_SM] /= N_SM
    w_sig[N_SM:] /= N_BSM
    w_bkg = np.repeat(2e-4 * np.exp(-0.5 * x_bkg[:, :1] ** 2) / N_BKG, len(names), axis=1)
    x = np.vstack([x_sig, x_bkg])
    w = np.vstack([w_sig, w_bkg])
    sampled = np.array([0] * N_SM + [1] * N_BSM + [-1] * N_BKG)
    order = rng.permutation(len(x))  # LHEReader.save(shuffle=True) mixes the samples the same way
    x, w, sampled = x[order], w[order], sampled[order]
    reference = w[:, 0]  # already rescaled to the reference benchmark "sm", as LHEReader does
    weights = OrderedDict((name, w[:, i]) for i, name in enumerate(names))
    nuisance = OrderedDict(
        [
            ("scale_nuisance_param_0_benchmark_0", reference * (1.0 + 0.1 * np.tanh(x[:, 0]))),
            ("scale_nuisance_param_0_benchmark_1", reference * (0.95 - 0.05 * np.tanh(x[:, 1]))),
        ]
    )
    weights.update(nuisance)
    parameters = OrderedDict(
        [
            (
                "scale_nuisance_param_0",
                NuisanceParameter("scale_nuisance_param_0", "scale", *list(nuisance)),
            ),
        ]
    )
    save_file(path, scale_only, weights, parameters, x, sampled, [N_SM, N_BSM, 0, 0, 0, 0], N_BKG)


def make_samples_and_model(events: Path) -> dict:
    np.random.seed(2)  # noqa: NPY002 - SampleAugmenter draws from the legacy global generator
    torch.manual_seed(0)
    folder = HERE / "samples"
    shutil.rmtree(folder, ignore_errors=True)
    augmenter = SampleAugmenter(str(events))
    augmenter.sample_train_local(
        benchmark("sm"), 200, folder=str(folder), filename="train_local", test_split=0.5
    )
    augmenter.sample_train_ratio(
        benchmark("bsm"), benchmark("sm"), 100, folder=str(folder), filename="train_ratio", test_split=0.5
    )
    x = np.load(folder / "x_train_local.npy")
    t = np.load(folder / "t_xz_train_local.npy")
    estimator = ScoreEstimator(n_hidden=(8,), activation="tanh")
    estimator.train(method="sally", x=x, t_xz=t, n_epochs=3, batch_size=32, verbose="none")
    model = HERE / "sally"
    shutil.rmtree(model, ignore_errors=True)
    model.mkdir()
    estimator.save(str(model / "sally"))
    inputs = np.array([[0.0, 0.0], [0.5, -1.0], [-1.2, 0.3], [2.0, 2.0]])
    return {"inputs": inputs.tolist(), "t_hat": np.asarray(estimator.evaluate_score(inputs)).tolist()}


def _save(estimator, name: str) -> None:
    folder = HERE / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    estimator.save(str(folder / name))


def make_ratio_models(events: Path) -> dict:
    """The more-ratios and test samples, an ALICES and a doubly parameterised RASCAL model, and their outputs
    (made after the SALLY model, so that the earlier files stay as they were)."""
    np.random.seed(3)  # noqa: NPY002 - SampleAugmenter draws from the legacy global generator
    torch.manual_seed(1)
    folder = HERE / "samples"
    augmenter = SampleAugmenter(str(events))
    priors = [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)]
    augmenter.sample_train_more_ratios(
        random_morphing_points(4, priors),
        random_morphing_points(4, priors),
        120,
        folder=str(folder),
        filename="train_more_ratios",
        test_split=0.5,
    )
    augmenter.sample_train_ratio(
        random_morphing_points(5, priors),
        benchmark("sm"),
        120,
        folder=str(folder),
        filename="train_ratio_param",
        test_split=0.5,
    )
    augmenter.sample_test(benchmark("sm"), 40, folder=str(folder), filename="test", test_split=0.5)
    ratio = {n: np.load(folder / f"{n}_train_ratio_param.npy") for n in ("x", "theta0", "y", "r_xz", "t_xz")}
    alices = ParameterizedRatioEstimator(n_hidden=(8, 8), activation="relu", features=[1, 0])
    alices.train(
        method="alices",
        x=ratio["x"],
        theta=ratio["theta0"],
        y=ratio["y"],
        r_xz=ratio["r_xz"],
        t_xz=ratio["t_xz"],
        n_epochs=3,
        batch_size=32,
        verbose="none",
    )
    _save(alices, "alices")
    more = {
        n: np.load(folder / f"{n}_train_more_ratios.npy")
        for n in ("x", "theta0", "theta1", "y", "r_xz", "t_xz0", "t_xz1")
    }
    rascal = DoubleParameterizedRatioEstimator(n_hidden=(6,), activation="lrelu")
    rascal.train(
        method="rascal",
        x=more["x"],
        theta0=more["theta0"],
        theta1=more["theta1"],
        y=more["y"],
        r_xz=more["r_xz"],
        t_xz0=more["t_xz0"],
        t_xz1=more["t_xz1"],
        n_epochs=3,
        batch_size=32,
        verbose="none",
    )
    _save(rascal, "rascal2")
    inputs = np.array([[0.0, 0.0], [0.5, -1.0], [-1.2, 0.3], [2.0, 2.0]])
    # theta has the nuisance parameter as its last component (MadMiner's samples include it)
    theta0 = np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.0], [-0.7, 0.5, 0.0]])
    theta1 = np.array([[0.1, 0.2, 0.0], [-0.4, 0.6, 0.0], [0.9, -0.3, 0.0]])
    log_r, t_hat = alices.evaluate_log_likelihood_ratio(inputs, theta0, evaluate_score=True)
    # MadMiner 0.9.6 cannot return the doubly parameterised scores (evaluate_ratio_model builds no graph for
    # the second gradient: "Trying to backward through the graph a second time"): log r only.
    log_r2, _, _ = rascal.evaluate_log_likelihood_ratio(inputs, theta0, theta1)
    return {
        "inputs": inputs.tolist(),
        "theta0": theta0.tolist(),
        "theta1": theta1.tolist(),
        "alices": {"log_r_hat": np.asarray(log_r).tolist(), "t_hat": np.asarray(t_hat).tolist()},
        "rascal2": {"log_r_hat": np.asarray(log_r2).tolist()},
    }


#: PDF error members of events_pdf.h5: relative size of each member's shift (its nu = +1 benchmark).
PDF_SHIFTS = (0.04, -0.03, 0.02)
NUS_PDF = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.5, 0.3, -1.5]]


def make_pdf_events(miner: MadMiner, setup_path: Path, path: Path) -> dict:
    """``events_pdf.h5``: 200 SM events with a PDF systematic (``add_systematics("pdf", "pdf", pdf_variation=
    "CT10")``) of three error members, written as ``LHEReader.save`` writes them (one nuisance parameter per
    member, named after its index in the weight group, the central member 0 skipped, only a nu = +1
    benchmark); and MadMiner's NuisanceMorpher factors at NUS_PDF (its DataAnalyzer cannot open the file:
    load_madminer_settings calls SystematicScale.from_str(None) for the pdf systematic's empty scale)."""
    from madminer.utils.morphing import NuisanceMorpher

    pdf_only = path.with_suffix(".tmp.h5")
    shutil.copyfile(setup_path, pdf_only)
    _save_systematics(str(pdf_only), True, ["pdf"], ["pdf"], ["CT10"], [None])
    rng = np.random.default_rng(11)
    names = list(miner.benchmarks)
    values = np.array([[bm.values[p] for p in miner.parameters] for bm in miner.benchmarks.values()])
    x = rng.normal(size=(200, 2))
    w = event_weights(x, values) / len(x)
    weights = OrderedDict((name, w[:, i]) for i, name in enumerate(names))
    parameters = OrderedDict()
    for i, shift in enumerate(PDF_SHIFTS, start=1):
        name = f"pdf_nuisance_param_{i}"
        weights[f"{name}_benchmark_0"] = w[:, 0] * (1.0 + shift * np.tanh(x[:, i % 2] + 0.5 * i))
        parameters[name] = NuisanceParameter(name, "pdf", f"{name}_benchmark_0", None)
    save_file(path, pdf_only, weights, parameters, x, np.zeros(len(x), dtype=int), [len(x), 0, 0, 0, 0, 0], 0)
    try:
        DataAnalyzer(str(path))
        loads = "yes"
    except ValueError as err:
        loads = f"no: {err}"
    morpher = NuisanceMorpher(parameters, list(weights), "sm")
    all_weights = np.stack(list(weights.values()))  # [n_benchmarks, n_events], as MadMiner passes them
    factors = [morpher.calculate_nuisance_factors(np.array(nu), all_weights.T.copy()) for nu in NUS_PDF]
    return {
        "madminer_version": "0.9.6",
        "madminer_data_analyzer_loads": loads,
        "nuisance_parameters": list(parameters),
        "nus": NUS_PDF,
        "nuisance_factors": [np.asarray(f).tolist() for f in factors],
        "xsec_sm_at_nus": [float(np.sum(w[:, 0] * np.asarray(f))) for f in factors],
    }


def main() -> None:
    import sys

    if sys.argv[1:] == [
        "pdf"
    ]:  # only events_pdf.h5 and expected_pdf.json (added later; the others unchanged)
        setup_path, pdf_path = HERE / "setup.h5", HERE / "events_pdf.h5"
        pdf_path.unlink(missing_ok=True)
        scratch = HERE / "setup.pdf.tmp.h5"
        miner = make_setup(scratch)
        expected = make_pdf_events(miner, scratch, pdf_path)
        scratch.unlink()
        (HERE / "expected_pdf.json").write_text(json.dumps(expected, indent=1) + "\n")
        return
    setup_path, events_path = HERE / "setup.h5", HERE / "events.h5"
    for p in (setup_path, events_path):
        p.unlink(missing_ok=True)
    miner = make_setup(setup_path)
    make_events(miner, setup_path, events_path)
    analyzer = DataAnalyzer(str(events_path))
    xsec_bench, err_bench = analyzer.xsecs()
    xsec, err = analyzer.xsecs(thetas=[np.array(t) for t in THETAS])
    grads = analyzer.xsec_gradients(thetas=[np.array(t) for t in THETAS])
    fisher = FisherInformation(str(events_path))
    info_nu, _ = fisher.truth_information(np.array([0.0, 0.0]), luminosity=3e5)
    info, _ = fisher.truth_information(
        np.array([0.0, 0.0]), luminosity=3e5, include_nuisance_parameters=False
    )
    info_bsm, _ = fisher.truth_information(
        np.array([0.3, -0.2]), luminosity=3e5, include_nuisance_parameters=False
    )
    expected = {
        "madminer_version": "0.9.6",
        "benchmark_names": list(analyzer.benchmarks),
        "xsecs_benchmarks": xsec_bench.tolist(),
        "xsec_errors_benchmarks": err_bench.tolist(),
        "thetas": THETAS,
        "xsecs": xsec.tolist(),
        "xsec_errors": err.tolist(),
        "xsec_gradients": np.asarray(grads).tolist(),
        "luminosity": 3e5,
        "truth_information_sm": info.tolist(),
        "truth_information_theta1": info_bsm.tolist(),
        "truth_information_sm_with_nuisances": info_nu.tolist(),
        "morphing_components": analyzer.morphing_components.tolist(),
        "morphing_matrix": analyzer.morphing_matrix.tolist(),
        "sally": make_samples_and_model(events_path),
    }
    expected["ratio_models"] = make_ratio_models(events_path)
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
