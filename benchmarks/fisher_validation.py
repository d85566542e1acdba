"""Fisher information on the golden channel at parton level: store sums against the generator's own integral.

Generates H -> ZZ* -> 2e2mu signal at the SM (plus theta-independent background, 10 % of the events) with
the built-in generator, analyses it into an EventStore with the ten four-lepton observables, then prints

(a) the truth-level information per pb^-1 (sum over events of (d_i w)(d_j w)/w) against the phase-space
    integral of the same quantity over the generator's trial points, entry by entry: ratio and pull
    (the errors: Monte Carlo covariance of the store sum, and of the integral);
(b) the ordering rate <= histogram <= truth: diagonal entries, eigenvalues, and the smallest eigenvalue
    of each difference (>= 0 up to rounding: the order is exact for the same events);
(c) SALLY (ScoreEstimator) trained on ``sample_train_local`` samples of growing size at the SM: the
    detector-level information on the test partition against the truth, det ratio and eigenvalue ratios;
(d) events/s of the chunked truth-information reduction beside numpy on in-memory arrays, and the peak
    memory of the process.

Run: ``python benchmarks/fisher_validation.py [--events 80000] [--integral-points 1000000]
[--sally-sizes 1000,10000,100000] [--epochs 30]``
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import median_time, peak_rss_mb

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.inference.fisher import (
    detector_information,
    histogram_information,
    rate_information,
    truth_information,
)
from columnminer.io.store import EventStore
from columnminer.ml import ScoreEstimator, TrainingOptions
from columnminer.samples import Sample, analyse_samples
from columnminer.sampling import SampleAugmenter, benchmark
from columnminer.simulators.golden import GoldenChannel, simulate_golden
from columnminer.weights import theta_coefficients, theta_gradient_coefficients

THETAS = {"SM": [0.0, 0.0], "BSM (0.3, -0.2)": [0.3, -0.2]}
ENTRIES = [(0, 0, "a2 a2"), (0, 1, "a2 a3"), (1, 1, "a3 a3")]


def build_store(directory: Path, n_events: int, seed: int) -> EventStore:
    """SM signal plus 10 % background, analysed into a store (chunks of 10^4 events)."""
    info = simulate_golden(None, n_events, directory / "sm", n_background=n_events // 10, seed=seed)
    setup = AnalysisSetup.load(info["files"]["setup"])
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(
        str(directory / "golden.zarr"), setup, analysis.observable_names, chunk_size=10_000
    )
    samples = [
        Sample(info["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(info["files"]["background"], is_background=True),
    ]
    analyse_samples(samples, analysis, store, step_size=20_000, progress=False)
    return store


def generator_information(theta, n_points: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The integral of (d_i w)(d_j w)/w over phase space (pb) from the generator's trial points, with the
    standard error of each entry."""
    channel = GoldenChannel()
    rng = np.random.default_rng(seed)
    c = channel.couplings(np.asarray(theta, dtype=np.float64))
    total, square, done = np.zeros(4), np.zeros(4), 0
    while done < n_points:
        k = min(100_000, n_points - done)
        wc = channel._trial(rng, k)[2] @ c
        d = 2.0 * wc[:, 1:]
        f = (d[:, :, None] * d[:, None, :] / (wc @ c)[:, None, None]).reshape(-1, 4)
        total += f.sum(axis=0)
        square += (f**2).sum(axis=0)
        done += k
    mean = total / n_points
    return mean.reshape(2, 2), np.sqrt((square / n_points - mean**2) / n_points).reshape(2, 2)


def part_a(store: EventStore, n_points: int) -> dict[str, object]:
    print("\n(a) truth-level information per pb^-1: store sum vs the generator's phase-space integral")
    print(
        f"{'theta':<17} {'entry':<6} {'store':>12} {'+-':>10} {'integral':>12} {'+-':>10} {'ratio':>7} {'pull':>6}"
    )
    truths = {}
    for label, theta in THETAS.items():
        truth = truth_information(store, theta, 1.0)
        expected, error = generator_information(theta, n_points)
        truths[label] = truth
        for i, j, name in ENTRIES:
            value, sigma = truth.information[i, j], truth.uncertainty[i, j]
            pull = (value - expected[i, j]) / np.hypot(sigma, error[i, j])
            ratio = value / expected[i, j] if abs(expected[i, j]) > 3 * error[i, j] else float("nan")
            print(
                f"{label:<17} {name:<6} {value:>12.5e} {sigma:>10.2e} {expected[i, j]:>12.5e} "
                f"{error[i, j]:>10.2e} {ratio:>7.4f} {pull:>6.2f}"
            )
    return truths


def part_b(store: EventStore, truths: dict) -> None:
    print(
        "\n(b) rate <= histogram <= truth (per pb^-1; min eig: smallest eigenvalue of the difference to the"
    )
    print("    previous row / of truth minus the row, >= 0 up to rounding)")
    print(
        f"{'theta':<17} {'information':<26} {'I_a2a2':>10} {'I_a3a3':>10} {'eig 1':>10} {'eig 2':>10} "
        f"{'min eig (row-rate)':>19} {'min eig (truth-row)':>20}"
    )
    for label, theta in THETAS.items():
        truth = truths[label]
        rate = rate_information(store, theta, 1.0)
        rows = [
            ("rate", rate),
            ("histogram m4l (10)", histogram_information(store, theta, 1.0, "m4l", bins=10)),
            ("histogram mZ2 (20)", histogram_information(store, theta, 1.0, "mZ2", bins=20)),
            ("histogram Phi (20)", histogram_information(store, theta, 1.0, "Phi", bins=20)),
            (
                "2d cos_theta1 x Phi (8x8)",
                histogram_information(store, theta, 1.0, ["cos_theta1", "Phi"], [8, 8]),
            ),
            ("2d mZ2 x Phi (8x8)", histogram_information(store, theta, 1.0, ["mZ2", "Phi"], [8, 8])),
            ("truth", truth),
        ]
        for name, info in rows:
            eig = info.eigenvalues
            low = np.linalg.eigvalsh(info.information - rate.information).min()
            high = np.linalg.eigvalsh(truth.information - info.information).min()
            print(
                f"{label:<17} {name:<26} {info.information[0, 0]:>10.3e} {info.information[1, 1]:>10.3e} "
                f"{eig[0]:>10.3e} {eig[1]:>10.3e} {low:>19.2e} {high:>20.2e}"
            )


def part_c(store: EventStore, truth, sizes: list[int], epochs: int) -> None:
    print("\n(c) SALLY at the SM vs truth (detector_information on the test partition, include_rate=True)")
    print(
        f"{'n_train':>8} {'I_a2a2':>10} {'I_a2a3':>10} {'I_a3a3':>10} {'det ratio':>10} "
        f"{'eig ratios':>16} {'train s':>8}"
    )
    t = truth.information
    print(
        f"{'truth':>8} {t[0, 0]:>10.3e} {t[0, 1]:>10.3e} {t[1, 1]:>10.3e} {1.0:>10.3f} {'1.000 1.000':>16} {'-':>8}"
    )
    augmenter = SampleAugmenter(store)
    truth_eig = truth.eigenvalues
    for n in sizes:
        start = time.perf_counter()
        sample = augmenter.sample_train_local(benchmark("sm"), n, seed=n, write=False)
        estimator = ScoreEstimator(n_hidden=(100, 100))
        options = TrainingOptions(n_epochs=epochs, batch_size=128, progress=False, seed=0)
        estimator.train("sally", x=sample["x"], t_xz=sample["t_xz0"], options=options)
        seconds = time.perf_counter() - start
        info = detector_information(estimator, store, "sm", 1.0, trained_at="sm")
        i = info.information
        ratios = info.eigenvalues / truth_eig
        print(
            f"{n:>8} {i[0, 0]:>10.3e} {i[0, 1]:>10.3e} {i[1, 1]:>10.3e} {info.determinant / truth.determinant:>10.3f} "
            f"{ratios[0]:>8.3f}{ratios[1]:>8.3f} {seconds:>8.1f}"
        )


def part_d(store: EventStore) -> None:
    print("\n(d) speed of the truth-information reduction (median of 5)")
    n = store.n_events
    seconds = median_time(lambda: truth_information(store, [0.3, -0.2], 1.0), 5)
    c = theta_coefficients(store.setup, [0.3, -0.2])[0]
    dc = theta_gradient_coefficients(store.setup, [0.3, -0.2])[0]

    def numpy_reference() -> np.ndarray:
        weights = store.read("weights")
        w, dw = weights @ c, weights @ dc.T
        keep = w > 0
        return np.einsum("n,ni,nj->ij", 1.0 / w[keep], dw[keep], dw[keep])

    reference = median_time(numpy_reference, 5)
    print(f"{'method':<44} {'events/s':>12} {'ratio':>7}")
    print(
        f"{'truth_information (chunked, dask threads)':<44} {n / seconds:>12.3e} {reference / seconds:>7.2f}"
    )
    print(f"{'numpy on the whole weight array in memory':<44} {n / reference:>12.3e} {1.0:>7.2f}")
    print(f"peak memory of this process: {peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=80_000, help="SM signal events (background: 10 %%)")
    parser.add_argument("--integral-points", type=int, default=1_000_000)
    parser.add_argument("--sally-sizes", default="1000,10000,100000")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sally_sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store = build_store(Path(tmp), args.events, args.seed)
        print(
            f"golden channel, parton level: {store.n_events} events ({args.events} SM signal), "
            f"{args.integral_points} integration points; store built in {time.perf_counter() - start:.1f} s"
        )
        truths = part_a(store, args.integral_points)
        part_b(store, truths)
        if sizes:
            part_c(store, truths["SM"], sizes, args.epochs)
        part_d(store)


if __name__ == "__main__":
    main()
