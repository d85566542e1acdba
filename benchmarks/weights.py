"""Cross sections at many thetas from an event store, against the cost of reading the weights once.

Builds a store of N events x 6 benchmark weights (golden-channel setup), then times, each as the median of
a few repeats:

- read (numpy): reading the weights array once, chunk by chunk, into numpy (one thread);
- read (dask):  reading it once with dask's threaded scheduler and the cheapest reduction (a column sum):
                the memory-bandwidth limit for any one-pass computation;
- cross sections at T thetas with statistical errors (``columnminer.weights.cross_sections``: sums and
  Gram matrix in one dask pass, then T coefficient vectors);
- per-event morphing in plain numpy (``W @ C.T`` summed), measured on a slice and scaled: what the
  same result costs without the one-pass reduction.

Peak memory (tracemalloc) of the cross-section call is printed for two store sizes to show it does not
grow with the number of events.

Run: ``python benchmarks/weights.py [--events 10000000] [--thetas 1000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _common import median_time

from columnminer.compute import compute
from columnminer.demo import golden_channel_setup
from columnminer.io.store import EventStore
from columnminer.weights import cross_sections, theta_coefficients


def build_store(path: Path, n_events: int, chunk_size: int) -> EventStore:
    setup = golden_channel_setup()
    store = EventStore.create(str(path), setup, ["x"], chunk_size=chunk_size, overwrite=True)
    rng = np.random.default_rng(0)
    step = chunk_size * 10
    for start in range(0, n_events, step):
        n = min(step, n_events - start)
        store.append(np.zeros((n, 1)), rng.uniform(0.0, 1e-3, size=(n, 6)), 0)
    return store


def peak_memory(store: EventStore, thetas: np.ndarray) -> float:
    tracemalloc.start()
    cross_sections(store, thetas)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--thetas", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=250_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-weights-"))
    try:
        start = time.perf_counter()
        store = build_store(workdir / "big.zarr", args.events, args.chunk_size)
        build_time = time.perf_counter() - start
        small = build_store(workdir / "small.zarr", args.events // 10, args.chunk_size)
        rng = np.random.default_rng(1)
        thetas = rng.uniform(-1, 1, size=(args.thetas, 2))
        n = store.n_events
        mbytes = n * 6 * 8 / 1e6

        def read_numpy() -> None:
            for _ in store.iter_chunks(("weights",)):
                pass

        weights = store.to_dask("weights")
        t_read_numpy = median_time(read_numpy, args.repeats)
        t_read_dask = median_time(lambda: compute(weights.sum(axis=0)), args.repeats)
        t_xsec = median_time(lambda: cross_sections(store, thetas), args.repeats)
        n_slice = min(n, 20_000)
        slab = store.read("weights", 0, n_slice)
        coefficients = theta_coefficients(store.setup, thetas)
        t_naive = median_time(lambda: (slab @ coefficients.T).sum(axis=0), args.repeats) * n / n_slice
        peak_small, peak_big = peak_memory(small, thetas), peak_memory(store, thetas)

        print(f"store: {n:,} events x 6 benchmarks ({mbytes:.0f} MB of weights), built in {build_time:.1f} s")
        print(f"cross sections at {args.thetas} thetas, median of {args.repeats}")
        header = f"{'method':44s} {'seconds':>8s} {'Mevents/s':>10s} {'MB/s':>8s} {'x read(dask)':>12s}"
        print(header)
        print("-" * len(header))
        rows = [
            ("read weights once, numpy, 1 thread", t_read_numpy),
            ("read weights once, dask threads (the limit)", t_read_dask),
            ("columnminer cross_sections (sums + Gram)", t_xsec),
            ("plain numpy per-event morphing W @ C.T", t_naive),
        ]
        for label, seconds in rows:
            print(
                f"{label:44s} {seconds:8.3f} {n / seconds / 1e6:10.1f} {mbytes / seconds:8.0f} "
                f"{seconds / t_read_dask:12.2f}"
            )
        print()
        print(
            f"peak memory of cross_sections: {peak_small:.1f} MB at {small.n_events:,} events, "
            f"{peak_big:.1f} MB at {n:,} events"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
