"""Learned against exact log r on the golden channel at parton level (ALICES, with CARL for comparison).

Generates H -> ZZ* -> 2e2mu signal (no background) with the built-in generator at the SM, analyses it into a
store with the ten four-lepton observables, draws a ``train_ratio`` sample with theta0 from a flat prior on
[-1, 1]^2 in (a2, a3) and the reference theta1 = SM, trains each method, and compares
log r_hat(x|theta, SM) with the exact log r on test-partition events drawn at the SM, for a grid of thetas.

Why the joint ratio is the exact one here: the observables (m4l, the two pair masses, the five decay angles,
pt and y of the four-lepton system) fix the decay configuration, and the matrix element depends on the event
only through it (the production spectrum does not depend on theta; the 2e2mu final state has no pairing
ambiguity, and swapping the roles of the two Z bosons leaves |M|^2 unchanged). So
r(x|theta0, theta1) = r(x, z|theta0, theta1), computed from the store weights with exact morphing.

Prints per method: the MSE of log r over (theta, x), the variance of the exact log r (the MSE of guessing 0),
their ratio, the correlation, and the training time; writes a scatter plot of learned vs exact log r
(``--plot``, default benchmarks/results/golden_alices.png).

Usage: python benchmarks/golden_alices.py [--n-events 100000] [--n-train 100000] [--epochs 30]
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
from columnminer.io.store import EventStore
from columnminer.ml import ParameterizedRatioEstimator, TrainingOptions
from columnminer.samples import Sample, analyse_samples
from columnminer.sampling import SampleAugmenter, benchmark, random_morphing_points
from columnminer.simulators.golden import simulate_golden
from columnminer.weights import cross_sections, joint_likelihood_ratio, theta_coefficients

HERE = Path(__file__).resolve().parent


def make_store(workdir: Path, n_events: int, seed: int) -> EventStore:
    """Signal at the SM, analysed into a store (80 / 10 / 10 partitions)."""
    info = simulate_golden(None, n_events, workdir / "gen", n_background=0, seed=seed)
    setup = AnalysisSetup.load(info["files"]["setup"])
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(workdir / "golden.zarr"), setup, analysis.observable_names)
    analyse_samples(
        [Sample(info["files"]["signal"], sampled_from_benchmark="sm")], analysis, store, progress=False
    )
    return store


def exact_log_r(store: EventStore, events: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """log r(x, z|theta, SM) for store rows ``events`` and thetas [T, 2] -> [T, n]."""
    weights = store.read_rows("weights", events)
    c0 = theta_coefficients(store.setup, thetas)
    c1 = theta_coefficients(store.setup, ["sm"] * len(thetas))
    xsec0, _ = cross_sections(store, thetas)
    xsec1, _ = cross_sections(store, ["sm"])
    return np.log(joint_likelihood_ratio(weights, c0, c1, xsec0, np.repeat(xsec1, len(thetas)))).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=100_000, help="generated signal events")
    parser.add_argument("--n-train", type=int, default=100_000, help="training samples")
    parser.add_argument("--n-thetas", type=int, default=1000, help="theta0 points of the training sample")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--methods", default="alices,carl")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", type=Path, default=HERE / "results" / "golden_alices.png")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    grid = np.array([[a2, a3] for a2 in np.linspace(-0.8, 0.8, 5) for a3 in np.linspace(-0.8, 0.8, 5)])
    results = {}
    with tempfile.TemporaryDirectory(prefix="cm-golden-alices-") as tmp:
        start = time.perf_counter()
        store = make_store(Path(tmp), args.n_events, args.seed)
        augmenter = SampleAugmenter(store)
        train = augmenter.sample_train_ratio(
            random_morphing_points(args.n_thetas, [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)]),
            benchmark("sm"),
            args.n_train,
            seed=args.seed,
            write=False,
        )
        test = augmenter.sample_test(benchmark("sm"), 1000, seed=args.seed + 1, write=False)
        exact = exact_log_r(store, test["event"], grid)
        t_data = time.perf_counter() - start
        for method in args.methods.split(","):
            estimator = ParameterizedRatioEstimator(n_hidden=(100, 100))
            columns = {"x": train["x"], "theta": train["theta0"], "y": train["y"], "r_xz": train["r_xz"]}
            columns["t_xz"] = train["t_xz0"]
            started = time.perf_counter()
            estimator.train(
                method,
                **columns,
                alpha=args.alpha,
                options=TrainingOptions(n_epochs=args.epochs, batch_size=128, progress=False, seed=args.seed),
            )
            seconds = time.perf_counter() - started
            learned = estimator.evaluate_log_likelihood_ratio(test["x"], grid)
            results[method] = (learned, seconds)

    print(
        f"# golden channel, parton level, signal only: {args.n_events} events, {args.n_train} training samples "
        f"({args.n_thetas} theta0 points, flat on [-1, 1]^2), {args.epochs} epochs, 2 x 100 tanh, alpha = "
        f"{args.alpha:g} (standardised units); test: 1000 SM events x {len(grid)} thetas on [-0.8, 0.8]^2; "
        f"data preparation {t_data:.0f} s"
    )
    variance = float(np.mean(exact**2))
    header = (
        f"{'method':<8} {'MSE log r':>10} {'<log r^2>':>10} {'MSE/<log r^2>':>14} {'corr':>7} {'train s':>8}"
    )
    print(header)
    print("-" * len(header))
    for method, (learned, seconds) in results.items():
        mse = float(np.mean((learned - exact) ** 2))
        corr = float(np.corrcoef(learned.ravel(), exact.ravel())[0, 1])
        print(
            f"{method:<8} {mse:>10.4f} {variance:>10.4f} {mse / variance:>14.4f} {corr:>7.4f} {seconds:>8.1f}"
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.6), squeeze=False)
    low, high = np.percentile(exact, [0.5, 99.5])
    for ax, (method, (learned, _)) in zip(axes[0], results.items(), strict=True):
        ax.scatter(exact.ravel(), learned.ravel(), s=1, alpha=0.2, rasterized=True)
        ax.plot([low, high], [low, high], color="black", lw=1)
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        mse = float(np.mean((learned - exact) ** 2))
        ax.set_title(f"{method.upper()}: MSE = {mse:.4f}")
        ax.set_xlabel(r"exact $\log r(x|\theta, \mathrm{SM})$")
        ax.set_ylabel(r"learned $\log \hat r(x|\theta, \mathrm{SM})$")
    fig.suptitle(r"$H\to ZZ^*\to 2e2\mu$, parton level, $\theta = (a_2, a_3) \in [-0.8, 0.8]^2$")
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    print(f"# plot: {args.plot}")


if __name__ == "__main__":
    main()
