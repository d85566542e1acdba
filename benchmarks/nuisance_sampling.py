"""Cost of nuisance parameters: augmented samples and profiled limits with and without systematics.

Builds a store of N events with quadratic per-event weights at the six golden-channel benchmarks and three
nuisance columns (a normalisation and an up / down shape variation), then times, median of a few runs:
``sample_train_local`` (SALLY data) without nuisances, with nominal nuisances (nuisance scores appended) and
with iid nuisance points; ``sample_train_ratio`` with and without iid nuisances; ``expected_limits`` in the
histo mode on a grid, with and without the nuisances profiled. Prints samples/s, the ratio to the run
without nuisances, and peak memory.

Run: ``python benchmarks/nuisance_sampling.py [--events 1000000] [--samples 200000] [--grid 21]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import median_time, peak_rss_mb

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.inference import expected_limits
from columnminer.io.store import EventStore
from columnminer.sampling import SampleAugmenter, benchmark, iid_nuisances, random_morphing_points


def build_store(n_events: int, seed: int = 0) -> EventStore:
    rng = np.random.default_rng(seed)
    setup = golden_channel_setup()
    setup.add_systematics("norm", "lumi", norm_variation=1.05)
    setup.add_systematics("scale", "mu", scale_variations=(0.5, 1.0, 2.0))
    store = EventStore.create("memory://bench-nuisances", setup, ["x0", "x1", "x2"], chunk_size=100_000)
    step = 250_000
    for start in range(0, n_events, step):
        n = min(step, n_events - start)
        couplings = rng.normal(size=(n, 3, 2))
        weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T / n_events
        x = couplings.reshape(n, -1)[:, :3]
        s = np.tanh(x[:, 0])
        w0 = weights[:, 0]
        nuisance = np.stack([1.05 * w0, w0 * (1 + 0.1 * s), w0 * (1 - 0.1 * s)], axis=1)
        store.append(x, weights, 0, nuisance_weights=nuisance)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--grid", type=int, default=21)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    store = build_store(args.events)
    print(f"store: {args.events} events, built in {time.perf_counter() - start:.1f} s")
    augmenter = SampleAugmenter(store)
    common = {"partition": None, "write": False, "sample_only_from_closest_benchmark": False}
    thetas = random_morphing_points(100, [("flat", -0.5, 0.5)] * 2)
    runs = {
        "local, no nuisances": lambda: augmenter.sample_train_local(
            benchmark("sm"), args.samples, nuisance_score=False, **common
        ),
        "local, nominal nu + nuisance score": lambda: augmenter.sample_train_local(
            benchmark("sm"), args.samples, **common
        ),
        "local, 100 iid nu points": lambda: augmenter.sample_train_local(
            benchmark("sm"), args.samples, nu0=iid_nuisances(n_points=100), **common
        ),
        "ratio 100 thetas, no nuisances": lambda: augmenter.sample_train_ratio(
            thetas, benchmark("sm"), args.samples, nuisance_score=False, **common
        ),
        "ratio 100 thetas, iid nu": lambda: augmenter.sample_train_ratio(
            thetas, benchmark("sm"), args.samples, nu0=iid_nuisances(), **common
        ),
    }
    rows = []
    for name, fn in runs.items():
        seconds = median_time(fn, args.repeats)
        rows.append((name, args.samples / seconds, seconds))
    grid = np.linspace(-0.3, 0.3, args.grid)
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    options = {"features": "x0", "bins": 20, "partition": None, "return_histograms": False}
    for name, profile in (
        ("histo limits, fixed nuisances", False),
        ("histo limits, 2 nuisances profiled", True),
    ):
        seconds = median_time(
            lambda profile=profile: expected_limits(
                store, "histo", [0.0, 0.0], points, 100.0, profile_nuisances=profile, **options
            ),
            args.repeats,
        )
        rows.append((name, len(points) / seconds, seconds))
    print(f"\n{'run':38s} {'per s':>12s} {'median s':>9s} {'ratio':>7s}")
    print("-" * 70)
    for i, (name, rate, seconds) in enumerate(rows):
        reference = rows[0][2] if i < 3 else rows[3][2] if i < 5 else rows[5][2]
        unit = "samples" if i < 5 else "points"
        print(f"{name:38s} {rate:10.0f} {unit[0]} {seconds:9.3f} {seconds / reference:7.2f}")
    print(f"\npeak memory {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
