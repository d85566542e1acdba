"""Gallery: every plot of columnminer.plotting, made from small samples of the built-in simulators.

Two data sets: the golden channel H -> ZZ* -> 2e2mu (theta = (a2, a3), events generated at the SM and at one
basis point, a theta-independent background, a luminosity and a scale systematic), analysed into a zarr
store; and the Gaussian toy (one parameter, every likelihood exact) with a small ALICES ratio estimator. From
them: distributions at several parameter points, histograms with pseudo-data, morphing bases in one, two and
three parameters, Fisher information ellipses, bars and per-bin shares, expected limits of several methods,
systematic envelopes, training curves and learned vs exact log r. Each figure is written as a PNG.

Run: ``python examples/gallery.py [OUTPUT_DIR] [--quick]`` (``--quick``: tiny samples, for tests)
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.inference import (
    binned_variations,
    binned_weights,
    expected_limits,
    histogram_information,
    histogram_of_information,
    rate_information,
    truth_information,
)
from columnminer.inference.likelihood import parameter_grid
from columnminer.io.store import EventStore
from columnminer.ml import ParameterizedRatioEstimator
from columnminer.plotting import (
    axis_label,
    combine_variations,
    luminosity_label,
    observable_info,
    plot_distribution_of_information,
    plot_distributions,
    plot_fisher_barplot,
    plot_fisher_contours,
    plot_histograms,
    plot_limits,
    plot_log_ratio_validation,
    plot_morphing_basis_1d,
    plot_morphing_basis_2d,
    plot_morphing_basis_scatter,
    plot_morphing_basis_slices,
    plot_p_value_maps,
    plot_systematics,
    plot_training_history,
    selection_annotation,
    theta_label,
)
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden
from columnminer.simulators.toy import GaussianToy

#: The PNG files the gallery writes (the test checks every one exists).
FIGURES = (
    "distributions",
    "distributions_closest_benchmark",
    "histograms",
    "morphing_1d",
    "morphing_2d",
    "morphing_scatter",
    "morphing_slices",
    "fisher_contours",
    "fisher_barplot",
    "information_distribution",
    "limits",
    "p_value_maps",
    "limits_1d",
    "systematics",
    "training_history",
    "log_ratio_validation",
)
LUMINOSITY = 3e5  # pb^-1 (300 fb^-1)
SCALES = (0.5, 1.0, 2.0)


SETTINGS = {"dpi": 110}  # --quick lowers it


def save(fig, out, name):
    path = out / f"{name}.png"
    fig.savefig(path, dpi=SETTINGS["dpi"])
    print(f"wrote {path}")


def golden_store(out, n_events):
    """SM and BSM signal with scale weights plus background, analysed into a store with nuisance weights."""
    setup = golden_setup(n_trials=30)
    setup.add_systematics("norm", "lumi", norm_variation=1.05)
    setup.add_systematics("scale", "mu", scale="mu", scale_variations=SCALES)
    sm = simulate_golden(
        setup, n_events, out / "sm", n_background=n_events // 4, seed=1, scale_variations=SCALES
    )
    bsm = simulate_golden(
        setup,
        n_events // 2,
        out / "bsm",
        "morphing_basis_vector_2",
        seed=2,
        n_background=0,
        scale_variations=SCALES,
    )
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(out / "golden.zarr"), setup, analysis.observable_names, overwrite=True)
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm", systematics=["lumi", "mu"]),
        Sample(
            bsm["files"]["signal"],
            sampled_from_benchmark="morphing_basis_vector_2",
            systematics=["lumi", "mu"],
        ),
        Sample(sm["files"]["background"], is_background=True, systematics=["lumi"]),
    ]
    analyse_samples(samples, analysis, store, progress=False)  # also stores the axis labels, units and cuts
    store.update_metadata(level="parton")  # the generated events, no detector simulation
    return store


def systematic_yields(store, observable, edges):
    """Per-bin SM yields and the (up, down) yields of each nuisance, from the store's nuisance weights
    (:func:`columnminer.inference.binned_variations`: exact per bin, morphed to any theta)."""
    bands = binned_variations(store, observable, edges).bands("sm", luminosity=LUMINOSITY)
    labels = {"lumi": "luminosity", "mu": "scale (mu)"}
    variations = {
        labels.get(name, name): (bands["up"][j], bands["down"][j])
        for j, name in enumerate(store.setup.nuisance_parameter_names)
    }
    return bands["nominal"], variations


def golden_figures(out, store, quick):
    thetas = ["sm", [0.5, 0.0], [0.0, 0.5], [-0.5, 0.0]]
    observables = (
        ["pt4l", "mZ2", "cos_theta1", "Phi"]
        if quick
        else ["pt4l", "mZ2", "cos_theta_star", "cos_theta1", "cos_theta2", "Phi"]
    )
    save(plot_distributions(store, observables, thetas, bins=15, normalize=True), out, "distributions")

    edges = np.linspace(0.0, 120.0, 13)
    nominal, variations = systematic_yields(store, "pt4l", edges)
    low, high = combine_variations(nominal, variations)
    safe = np.where(nominal > 0, nominal, 1.0)
    bands = {"pt4l": np.stack([low / safe, high / safe])}  # relative (low, high) factors per bin
    fig = plot_distributions(
        store,
        ["pt4l", "Phi"],
        ["sm", [0.8, 0.4]],
        bins={"pt4l": edges, "Phi": 12},
        luminosity=LUMINOSITY,
        systematic_bands=bands,
        sample_only_from_closest_benchmark=True,
        n_cols=2,
    )
    save(fig, out, "distributions_closest_benchmark")

    info, names = observable_info(store), store.setup.parameter_space.parameter_names
    note = f"{selection_annotation(store.metadata)}; {luminosity_label(LUMINOSITY)}"
    binned = binned_weights(store, "Phi", np.linspace(-np.pi, np.pi, 11))
    models = {theta_label([a2, 0.0], names): binned.to_hist([a2, 0.0], LUMINOSITY) for a2 in (-0.5, 0.0, 0.5)}
    observed = np.random.default_rng(5).poisson(binned.yields("sm", LUMINOSITY)[0])
    fig = plot_histograms(
        models,
        observed,
        edges=binned.edges[0],
        xlabel=axis_label("Phi", info),
        observed_label="pseudo-data (SM)",
        annotation=note,
    )
    save(fig, out, "histograms")

    save(plot_morphing_basis_2d(store.setup), out, "morphing_2d")

    infos = {
        "truth": truth_information(store, "sm", LUMINOSITY),
        "rate": rate_information(store, "sm", LUMINOSITY),
        r"histogram $\Phi$": histogram_information(store, "sm", LUMINOSITY, "Phi", bins=10),
        r"histogram $\Phi$, cos $\theta_1$": histogram_information(
            store, "sm", LUMINOSITY, ["Phi", "cos_theta1"], bins=[8, 8]
        ),
    }
    save(plot_fisher_contours(infos), out, "fisher_contours")
    save(plot_fisher_barplot(infos), out, "fisher_barplot")
    per_bin = histogram_of_information(
        store, "sm", LUMINOSITY, "Phi", np.linspace(-np.pi, np.pi, 13), kind="truth"
    )
    counting = histogram_of_information(store, "sm", LUMINOSITY, "Phi", np.linspace(-np.pi, np.pi, 13))
    fig = plot_distribution_of_information(
        per_bin,
        information_aux=counting,
        aux_label="counting",
        xlabel=axis_label("Phi", info),
        annotation=selection_annotation(store.metadata),
    )
    save(fig, out, "information_distribution")

    grid = parameter_grid([(-0.4, 0.4), (-1.0, 1.0)], 11 if quick else 31)
    common = {"theta_true": [0.0, 0.0], "thetas": grid, "luminosity": LUMINOSITY, "partition": None}
    results = {
        "rate": expected_limits(store, "rate", **common),
        "histo $m_{Z2}$": expected_limits(store, "histo", features="mZ2", bins=10, **common),
        r"histo cos $\theta_1$": expected_limits(store, "histo", features="cos_theta1", bins=10, **common),
        r"histo $\Phi$, $m_{Z2}$": expected_limits(
            store, "histo", features=["Phi", "mZ2"], bins=[6, 6], **common
        ),
    }
    save(plot_limits(results, show_index=3, xlabel="$a_2$", ylabel="$a_3$"), out, "limits")
    save(plot_p_value_maps(results, n_cols=2, xlabel="$a_2$", ylabel="$a_3$"), out, "p_value_maps")
    fig = plot_systematics(edges, nominal, variations, xlabel=axis_label("pt4l", info), annotation=note)
    save(fig, out, "systematics")


def morphing_figures(out):
    one = AnalysisSetup()
    one.add_parameter("dim6", 1, name="c", morphing_max_power=4, parameter_range=(-1.0, 1.0))
    one.add_benchmark({"c": 0.0}, name="sm")
    one.set_morphing(seed=0, n_trials=30)
    save(plot_morphing_basis_1d(one, xrange=(-1.5, 1.5)), out, "morphing_1d")
    three = AnalysisSetup()
    for lha_id, name in enumerate(("c1", "c2", "c3"), start=1):
        three.add_parameter("dim6", lha_id, name=name, morphing_max_power=2, parameter_range=(-1.0, 1.0))
    three.add_benchmark({"c1": 0.0, "c2": 0.0, "c3": 0.0}, name="sm")
    three.set_morphing(max_overall_power=2, seed=0, n_trials=20)
    save(plot_morphing_basis_scatter(three), out, "morphing_scatter")
    save(plot_morphing_basis_slices(three, resolution=40), out, "morphing_slices")


def toy_figures(out, quick):
    """The Gaussian toy: a small ALICES estimator, its training curves, log r against the exact one, and
    1-d expected limits (exact likelihood, histogram, estimator)."""
    toy, rng = GaussianToy(), np.random.default_rng(3)
    n = 1000 if quick else 8000
    theta0 = rng.uniform(-3, 3, n)
    y = (np.arange(n) >= n // 2).astype(float)
    x, z = toy.simulate(np.where(y == 0, theta0, 0.0), seed=rng)
    estimator = ParameterizedRatioEstimator(n_hidden=(32, 32))
    estimator.train(
        "alices",
        x=x[:, None],
        theta=theta0[:, None],
        y=y,
        r_xz=toy.joint_ratio(x, z, theta0, 0.0),
        t_xz=toy.joint_score(x, z, theta0)[:, None],
        n_epochs=2 if quick else 25,
        batch_size=128,
        initial_lr=3e-3,
        final_lr=3e-4,
        progress=False,
    )
    save(plot_training_history(estimator, ["alices"]), out, "training_history")
    x_test, _ = toy.simulate(0.0, n=2000, seed=4)
    thetas = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    learned = estimator.evaluate_log_likelihood_ratio(x_test[:, None], thetas)
    exact = toy.log_ratio(x_test[None, :], thetas, 0.0)
    save(plot_log_ratio_validation({"alices": learned}, exact), out, "log_ratio_validation")

    grid = np.linspace(-3.0, 3.0, 25)
    x_store, z_store = toy.simulate(0.0, n=2000 if quick else 20000, seed=11)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-3.0, 3.0))
    for k, value in enumerate(grid):
        setup.add_benchmark([float(value)], name=f"theta_{k}")
    weights = np.exp(toy.log_p_z(z_store[:, None], grid[None, :]) - toy.log_p_z(z_store, 0.0)[:, None])
    store = EventStore.create(str(out / "toy.zarr"), setup, ["x"], overwrite=True)
    store.append(x_store[:, None], weights / len(x_store), 0)
    names = [f"theta_{k}" for k in range(len(grid))]
    common = {"theta_true": "theta_12", "thetas": names, "luminosity": 20.0, "include_rate": False}
    results = {
        "exact": expected_limits(
            store, "ml", estimator=lambda xs, ts: toy.log_p_x(xs[None, :, 0], ts[:, :1]), **common
        ),
        "histo x": expected_limits(store, "histo", features="x", bins=20, **common),
        "alices": expected_limits(store, "ml", estimator=estimator, **common),
    }
    save(plot_limits(results, xlabel=r"$\theta$"), out, "limits_1d")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="gallery-output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny samples and 2 epochs (for tests)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    if args.quick:
        SETTINGS["dpi"] = 50
    start = time.perf_counter()
    store = golden_store(out / "data", 600 if args.quick else 6000)
    golden_figures(out, store, args.quick)
    morphing_figures(out)
    toy_figures(out, args.quick)
    missing = [name for name in FIGURES if not (out / f"{name}.png").exists()]
    if missing:
        raise SystemExit(f"missing figures: {missing}")
    print(f"gallery: {len(FIGURES)} figures in {out} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
