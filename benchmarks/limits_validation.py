"""Validation of columnminer.inference limits: toy intervals, coverage by pseudo-experiments, golden channel.

(a) Gaussian toy (x ~ N(theta, sqrt 5); store of events generated at theta = 0, reweighted exactly to 61
    benchmarks on [-3, 3]): expected 68% / 95% intervals at theta_true for the exact likelihood (Asimov =
    weighted test events), a fine histogram of x, and a ParameterizedRatioEstimator (ALICES, full budget),
    all shape-only (the toy's total rate is flat), against the analytic theta_true +- z sqrt(5 / N).
(b) Coverage of the histogram likelihood regions by Poisson toys on the golden channel (m4l histogram on
    the a2 line with one dof; cos_theta1 x Phi histogram on an (a2, a3) grid with two dof): the fraction of
    toys whose region contains theta_true, +- its binomial error, against 68.27% / 95.45%.
(c) Golden channel expected limits at the SM on an (a2, a3) grid: area of the 68% / 95% regions for rate
    only, histo (m4l), histo (cos_theta1, Phi), sally, sallino.

Usage: python benchmarks/limits_validation.py [--toy-events 50000] [--n-train 50000] [--epochs 30]
       [--n-toys 2000] [--golden-events 40000] [--grid 41] [--threads 2] [--parts a,b,c]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.inference.binned import binned_weights
from columnminer.inference.likelihood import parameter_grid
from columnminer.inference.limits import expected_limits
from columnminer.inference.toys import coverage
from columnminer.io.store import EventStore
from columnminer.ml import ParameterizedRatioEstimator, ScoreEstimator, TrainingOptions
from columnminer.samples import Sample, analyse_samples
from columnminer.sampling import benchmark
from columnminer.sampling.augmenter import SampleAugmenter
from columnminer.simulators.golden import simulate_golden
from columnminer.simulators.toy import GaussianToy

TOY = GaussianToy()
TOY_GRID = np.linspace(-3.0, 3.0, 61)
LEVELS = (0.6827, 0.9545)
Z = {0.6827: 1.0, 0.9545: 2.0}


def toy_store(directory: Path, n_events: int) -> EventStore:
    """Events at theta = 0 reweighted exactly to every TOY_GRID point (benchmarks theta_<k>)."""
    x, z = TOY.simulate(0.0, n=n_events, seed=11)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-3.0, 3.0))
    for k, value in enumerate(TOY_GRID):
        setup.add_benchmark([float(value)], name=f"theta_{k}")
    weights = np.exp(TOY.log_p_z(z[:, None], TOY_GRID[None, :]) - TOY.log_p_z(z, 0.0)[:, None]) / n_events
    store = EventStore.create(str(directory / "toy.zarr"), setup, ["x"], chunk_size=20_000)
    store.append(x[:, None], weights, int(np.argmin(np.abs(TOY_GRID))))
    return store


def train_ratio(n_train: int, options: TrainingOptions) -> ParameterizedRatioEstimator:
    rng = np.random.default_rng(3)
    theta0 = rng.uniform(-4, 4, n_train)
    y = (np.arange(n_train) >= n_train // 2).astype(float)
    x, z = TOY.simulate(np.where(y == 0, theta0, 0.0), seed=rng)
    estimator = ParameterizedRatioEstimator(n_hidden=(100, 100))
    estimator.train(
        "alices",
        x=x[:, None],
        theta=theta0[:, None],
        y=y,
        r_xz=TOY.joint_ratio(x, z, theta0, 0.0),
        t_xz=TOY.joint_score(x, z, theta0)[:, None],
        options=options,
    )
    return estimator


def part_a(directory: Path, args: argparse.Namespace, options: TrainingOptions) -> None:
    store = toy_store(directory, args.toy_events)
    started = time.perf_counter()
    estimator = train_ratio(args.n_train, options)
    print(
        f"\n(a) Gaussian toy: {args.toy_events} events, ALICES on {args.n_train} samples "
        f"({time.perf_counter() - started:.0f} s); shape-only expected intervals"
    )
    print(
        f"{'theta_true':>10} {'N':>5} {'CL':>7} {'analytic':>17} {'exact':>17} {'histo (60 bins)':>17} {'ml':>17}"
    )
    names = [f"theta_{k}" for k in range(len(TOY_GRID))]
    exact = lambda x, t: TOY.log_p_x(x[None, :, 0], t[:, :1])  # noqa: E731
    for true_value, n_events in ((0.0, 20.0), (0.0, 100.0), (1.0, 20.0)):
        true = names[int(np.argmin(np.abs(TOY_GRID - true_value)))]
        common = {"theta_true": true, "thetas": names, "luminosity": n_events, "include_rate": False}
        results = [
            expected_limits(store, "ml", estimator=exact, **common),
            expected_limits(store, "histo", features="x", bins=60, **common),
            expected_limits(store, "ml", estimator=estimator, **common),
        ]
        for level in LEVELS:
            half = Z[level] * np.sqrt(5.0 / n_events)
            cells = [f"[{true_value - half:+.3f},{true_value + half:+.3f}]"]
            cells += ["[{:+.3f},{:+.3f}]".format(*r.interval(level)) for r in results]
            print(
                f"{true_value:>10.2f} {n_events:>5.0f} {level:>7.4f} " + " ".join(f"{c:>17}" for c in cells)
            )


def golden_store(directory: Path, n_events: int) -> EventStore:
    sm = simulate_golden(None, n_events, directory / "sm", n_background=n_events // 4, seed=31)
    setup = AnalysisSetup.load(sm["files"]["setup"])
    bsm = simulate_golden(
        setup,
        n_events // 2,
        directory / "bsm",
        sampling_benchmark="morphing_basis_vector_2",
        n_background=0,
        seed=32,
    )
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(
        str(directory / "golden.zarr"), setup, analysis.observable_names, chunk_size=10_000
    )
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(bsm["files"]["signal"], sampled_from_benchmark="morphing_basis_vector_2"),
        Sample(sm["files"]["background"], is_background=True),
    ]
    analyse_samples(samples, analysis, store, step_size=10_000, progress=False)
    return store


def part_b(store: EventStore, args: argparse.Namespace) -> None:
    print(f"\n(b) coverage of histogram regions by {args.n_toys} Poisson toys (golden channel, whole store)")
    print(
        f"{'model':<22} {'theta_true':<13} {'L/pb^-1':>8} {'dof':>4} {'N':>7} "
        f"{'68.27% region':>17} {'95.45% region':>17} {'s':>6}"
    )
    m4l = binned_weights(store, "m4l", np.linspace(110.0, 140.0, 7))
    angles = binned_weights(
        store, ["cos_theta1", "Phi"], [np.linspace(-1, 1, 5), np.linspace(-np.pi, np.pi, 5)]
    )
    line = lambda centre: np.column_stack([np.linspace(-0.5, 0.5, 201) + centre[0], np.full(201, centre[1])])  # noqa: E731
    cases = [
        ("m4l, a2 line", m4l, (0.0, 0.0), 3e5, line((0.0, 0.0)), 1),
        ("m4l, a2 line", m4l, (0.0, 0.0), 3e4, line((0.0, 0.0)), 1),
        ("m4l, a2 line", m4l, (0.2, 0.0), 3e5, line((0.2, 0.0)), 1),
        ("angles, (a2, a3)", angles, (0.0, 0.0), 3e5, parameter_grid([(-0.6, 0.6), (-1.0, 1.0)], 61), 2),
        ("angles, (a2, a3)", angles, (0.2, 0.3), 3e5, parameter_grid([(-0.4, 0.8), (-0.7, 1.3)], 61), 2),
        ("angles, (a2, a3)", angles, (0.0, 0.0), 3e4, parameter_grid([(-1.0, 1.0), (-1.0, 1.0)], 61), 2),
    ]
    for label, model, theta, luminosity, grid, dof in cases:
        started = time.perf_counter()
        result = coverage(model, list(theta), grid, luminosity, n_toys=args.n_toys, dof=dof, seed=1)
        n = float(model.yields(list(theta), luminosity).sum())
        cells = [f"{f:.4f} +- {e:.4f}" for f, e in zip(result.fractions, result.errors, strict=True)]
        print(
            f"{label:<22} {theta!s:<13} {luminosity:>8.0e} {dof:>4} {n:>7.0f} {cells[0]:>17} {cells[1]:>17} "
            f"{time.perf_counter() - started:>6.1f}"
        )


def part_c(store: EventStore, args: argparse.Namespace, options: TrainingOptions) -> None:
    grid = parameter_grid([(-1.0, 1.0), (-1.0, 1.0)], args.grid)
    started = time.perf_counter()
    sample = SampleAugmenter(store).sample_train_local(
        benchmark("sm"), args.n_train, partition="train", seed=1, write=False
    )
    sally = ScoreEstimator(n_hidden=(100, 100))
    sally.train("sally", x=sample["x"], t_xz=sample["t_xz0"], options=options)
    print(
        f"\n(c) golden channel expected limits at the SM, L = 3e5 pb^-1, {args.grid}x{args.grid} grid on [-1, 1]^2 "
        f"(SALLY on {args.n_train} samples, {time.perf_counter() - started:.0f} s)"
    )
    print(f"{'mode':<26} {'N':>7} {'area 68%':>9} {'area 95%':>9} {'best fit':>14} {'s':>6}")
    cases = [
        ("rate", {}),
        ("histo (m4l, 25 bins)", {"features": "m4l"}),
        ("histo (cos_theta1, Phi)", {"features": ["cos_theta1", "Phi"], "bins": 8}),
        ("sally (2-d, 8x8)", {"estimator": sally, "bins": 8}),
        ("sallino (20 bins)", {"estimator": sally, "bins": 20}),
    ]
    for label, kwargs in cases:
        mode = label.split(" ")[0]
        started = time.perf_counter()
        result = expected_limits(store, mode, [0.0, 0.0], grid, 3e5, return_histograms=False, **kwargs)
        best = "({:+.2f},{:+.2f})".format(*result.best_fit)
        print(
            f"{label:<26} {result.n_observed:>7.0f} {result.region_volume(LEVELS[0]):>9.4f} "
            f"{result.region_volume(LEVELS[1]):>9.4f} {best:>14} {time.perf_counter() - started:>6.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toy-events", type=int, default=50_000)
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-toys", type=int, default=2000)
    parser.add_argument("--golden-events", type=int, default=40_000)
    parser.add_argument("--grid", type=int, default=41)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="a,b,c")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    torch.set_num_threads(args.threads)
    options = TrainingOptions(n_epochs=args.epochs, batch_size=128, progress=False, seed=0)
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        if "a" in parts:
            part_a(directory, args, options)
        if parts & {"b", "c"}:
            started = time.perf_counter()
            store = golden_store(directory, args.golden_events)
            print(f"\ngolden channel store: {store.n_events} events ({time.perf_counter() - started:.0f} s)")
            if "b" in parts:
                part_b(store, args)
            if "c" in parts:
                part_c(store, args, options)


if __name__ == "__main__":
    main()
