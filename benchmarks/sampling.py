"""Ratio-sample throughput: 10^6 samples with 100 theta0 points from a 10^7-event store, 1 and 2 workers.

Builds a store of N events with quadratic per-event weights at the six golden-channel benchmarks (the form
of a tree-level |M|^2 with one anomalous vertex) and three observables, then draws
``sample_train_ratio(random_morphing_points(T, flat priors), benchmark("sm"), n_samples)`` with
columnminer's SampleAugmenter on dask's threaded scheduler and on LocalClusters of 1 and 2 worker
processes. Prints samples/s and peak memory (tracemalloc of the client for the threaded run; VmHWM of the
worker processes), and the threaded run's peak memory on a store ten times smaller: peak memory does not
grow with the store.

When MadMiner is available in a separate virtual environment (``--madminer-python``, default
/work/mm-venv/bin/python if it exists; it is never a dependency), the same events are handed over as npz to
``benchmarks/madminer_sampling.py`` and MadMiner's SampleAugmenter is timed on them.

Run: ``python benchmarks/sampling.py [--events 10000000] [--samples 1000000] [--thetas 100]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _common import peak_rss_mb

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.io.store import EventStore
from columnminer.sampling import SampleAugmenter, benchmark, random_morphing_points

OBSERVABLES = ["x0", "x1", "x2"]


def build_store(path: Path, n_events: int, chunk_size: int, seed: int = 0) -> EventStore:
    setup = golden_channel_setup()
    store = EventStore.create(str(path), setup, OBSERVABLES, chunk_size=chunk_size, overwrite=True)
    rng = np.random.default_rng(seed)
    step = 1_000_000
    for start in range(0, n_events, step):
        n = min(step, n_events - start)
        couplings = rng.normal(size=(n, 3, 2))
        weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T / n_events
        store.append(rng.normal(size=(n, 3)), weights, 0)
    return store


def draw(store: EventStore, n_samples: int, n_thetas: int, client=None) -> float:
    theta0 = random_morphing_points(n_thetas, [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)])
    start = time.perf_counter()
    SampleAugmenter(store, client=client).sample_train_ratio(
        theta0, benchmark("sm"), n_samples, seed=1, write=False
    )
    return time.perf_counter() - start


def threaded_peak(store: EventStore, n_samples: int, n_thetas: int) -> tuple[float, float]:
    tracemalloc.start()
    seconds = draw(store, n_samples, n_thetas)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


def madminer_run(python: str, store: EventStore, workdir: Path, n_samples: int, n_thetas: int) -> dict | None:
    script = Path(__file__).with_name("madminer_sampling.py")
    if not script.exists():
        return None
    setup = store.setup
    npz = workdir / "events.npz"
    np.savez(
        npz,
        observables=store.read("observables"),
        observable_names=np.array(store.observable_names),
        weights=store.read("weights"),
        sampled_from=store.read("sampled_from"),
        parameter_names=np.array(setup.parameter_names),
        parameter_ranges=setup.parameter_space.parameter_ranges,
        benchmark_names=np.array(setup.benchmark_names),
        benchmark_values=setup.parameter_space.benchmark_array(),
        morphing_components=setup.morpher.components,
        morphing_basis=setup.morpher.basis,
    )
    completed = subprocess.run(
        [
            python,
            str(script),
            "--npz",
            str(npz),
            "--n-samples",
            str(n_samples),
            "--n-thetas",
            str(n_thetas),
            "--seed",
            "1",
            "--workdir",
            str(workdir / "madminer"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        print(
            f"madminer run failed (exit {completed.returncode}): {completed.stderr[-2000:]}", file=sys.stderr
        )
        return None
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--thetas", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=500_000)
    default_mm = "/work/mm-venv/bin/python" if Path("/work/mm-venv/bin/python").exists() else ""
    parser.add_argument("--madminer-python", default=os.environ.get("MADMINER_PYTHON", default_mm))
    parser.add_argument("--madminer-events", type=int, default=None, help="events for the MadMiner run")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-sampling-"))
    try:
        start = time.perf_counter()
        big = build_store(workdir / "big.zarr", args.events, args.chunk_size)
        small = build_store(workdir / "small.zarr", args.events // 10, args.chunk_size)
        print(
            f"stores of {args.events:,} and {args.events // 10:,} events built in {time.perf_counter() - start:.0f} s"
        )
        rows = []
        seconds, peak_big = threaded_peak(big, args.samples, args.thetas)
        rows.append(("columnminer, threads (1 process)", seconds, f"{peak_big:.0f} MB (tracemalloc)"))
        _, peak_small = threaded_peak(small, args.samples, args.thetas)
        from distributed import Client, LocalCluster

        for n_workers in (1, 2):
            with LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                with Client(cluster) as client:
                    seconds = draw(big, args.samples, args.thetas, client)
                    workers = client.run(peak_rss_mb)
            rows.append(
                (
                    f"columnminer, LocalCluster {n_workers} worker(s)",
                    seconds,
                    f"{max(workers.values()):.0f} MB per worker (VmHWM)",
                )
            )
        if args.madminer_python:
            mm_store = big
            if args.madminer_events and args.madminer_events != args.events:
                mm_store = build_store(workdir / "mm.zarr", args.madminer_events, args.chunk_size)
            result = madminer_run(args.madminer_python, mm_store, workdir, args.samples, args.thetas)
            if result is not None:
                label = f"MadMiner {result.get('madminer_version', '?')} ({result['n_events']:,} events)"
                rows.append((label, result["seconds"], f"{result['peak_rss_mb']:.0f} MB (VmHWM)"))
                ours = draw(mm_store, args.samples, args.thetas)
                rows.append((f"columnminer, threads, same {mm_store.n_events:,} events", ours, ""))
        print(
            f"sample_train_ratio: {args.samples:,} samples, {args.thetas} theta0 points, "
            f"store chunks of {args.chunk_size:,}"
        )
        header = f"{'engine':52s} {'seconds':>8s} {'samples/s':>11s}  peak memory"
        print(header)
        print("-" * (len(header) + 12))
        for label, seconds, memory in rows:
            print(f"{label:52s} {seconds:8.2f} {args.samples / seconds:11.0f}  {memory}")
        print(
            f"threaded peak memory: {peak_small:.0f} MB with {small.n_events:,} events, "
            f"{peak_big:.0f} MB with {big.n_events:,} events"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
