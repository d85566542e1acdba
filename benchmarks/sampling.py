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

Second part, SALLY training data: ``sample_train_local(benchmark("sm"), 10^5)`` from 10^6 events (store
chunks of 100,000), columnminer (threads) and MadMiner's ``sample_train_local`` alternating ``--repeats``
times, medians (MadMiner's HDF5 file is written once and excluded, its .npy saving included).

Run: ``python benchmarks/sampling.py [--events 10000000] [--samples 1000000] [--thetas 100]
[--only ratio|local] [--local-events 1000000] [--local-samples 100000] [--repeats 3]
[--madminer-python PATH]``

Results of the local part (2-core VM shared with other jobs, load average 1-3; MadMiner 0.9.6; 5
alternating repeats, medians; each line one run of the script)::

    code                                    columnminer   MadMiner   columnminer / MadMiner
    before (HEAD: zstd store, 5 passes)        0.417 s     0.686 s          1.6x
    before, another run                        0.400 s     0.449 s          1.1x
    after (blosc + crc32c, 2 passes)           0.130 s     0.679 s          5.2x
    after, an earlier run (less tuned)         0.157 s     0.687 s          4.4x

Where the 0.4 s went before: five passes over the store (weight sums, sampled benchmarks, their counts,
then the two sampling passes), each a dask graph of one read task per chunk and column plus the kernel,
zstd decoding at 1.3 GB/s holding the GIL, and BLAS gemv calls that stall when dask's threads are busy.
Now: one read of ``sampled_from``, then two passes of one task per chunk (the weight sums ride along in
the first), chunks decoded at 20+ GB/s, the joint score of a one-point sample computed without per-event
copies of its coefficients.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


def export_npz(store: EventStore, npz: Path) -> None:
    """The events and setup as the npz that ``madminer_sampling.py`` reads."""
    setup = store.setup
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


def madminer_run(
    python: str, store: EventStore, workdir: Path, n_samples: int, n_thetas: int, *options: str
) -> dict | None:
    """MadMiner's side (``madminer_sampling.py`` under its own interpreter) on the events of ``store``;
    ``options`` go to that script (``--kind local``, ``--reuse``: the npz and HDF5 file of an earlier call)."""
    script = Path(__file__).with_name("madminer_sampling.py")
    if not script.exists():
        return None
    npz = workdir / "events.npz"
    if "--reuse" not in options or not npz.exists():
        export_npz(store, npz)
    command = [python, str(script), "--npz", str(npz), "--n-samples", str(n_samples)]
    command += ["--n-thetas", str(n_thetas), "--seed", "1", "--workdir", str(workdir / "madminer"), *options]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        print(
            f"madminer run failed (exit {completed.returncode}): {completed.stderr[-2000:]}", file=sys.stderr
        )
        return None
    return json.loads(lines[-1])


def local_comparison(python: str, workdir: Path, n_events: int, n_samples: int, repeats: int) -> None:
    """``sample_train_local`` at the SM, columnminer (threads) and MadMiner side by side: the two sides
    alternate ``repeats`` times (after a warm-up of ours; MadMiner's HDF5 file is written once), medians."""
    store = build_store(workdir / "local.zarr", n_events, 100_000)
    (workdir / "local").mkdir(exist_ok=True)
    augmenter = SampleAugmenter(store)

    def ours() -> float:
        start = time.perf_counter()
        augmenter.sample_train_local(benchmark("sm"), n_samples, seed=1, write=False)
        return time.perf_counter() - start

    ours()
    times: dict[str, list[float]] = {"columnminer": [], "MadMiner": []}
    for repeat in range(repeats):
        if python:
            options = ("--kind", "local") + (("--reuse",) if repeat else ())
            result = madminer_run(python, store, workdir / "local", n_samples, 1, *options)
            if result is not None:
                times["MadMiner"].append(result["seconds"])
        times["columnminer"].append(ours())
    print(
        f"\nsample_train_local at the SM: {n_samples:,} samples from {n_events:,} events, median of {repeats}"
    )
    medians = {side: statistics.median(values) for side, values in times.items() if values}
    for side, seconds in medians.items():
        print(f"{side:12s} {seconds:8.3f} s {n_samples / seconds:11.0f} samples/s")
    if len(medians) == 2:
        print(f"columnminer / MadMiner speed: {medians['MadMiner'] / medians['columnminer']:.1f}x")


def ratio_table(args: argparse.Namespace, workdir: Path) -> None:
    """``sample_train_ratio`` on threads and 1- and 2-worker LocalClusters (and MadMiner when given)."""
    from distributed import Client, LocalCluster

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
    for n_workers in (1, 2):
        with LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            with Client(cluster) as client:
                seconds = draw(big, args.samples, args.thetas, client)
                workers = client.run(peak_rss_mb)
        memory = f"{max(workers.values()):.0f} MB per worker (VmHWM)"
        rows.append((f"columnminer, LocalCluster {n_workers} worker(s)", seconds, memory))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--thetas", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=500_000)
    default_mm = "/work/mm-venv/bin/python" if Path("/work/mm-venv/bin/python").exists() else ""
    parser.add_argument("--madminer-python", default=os.environ.get("MADMINER_PYTHON", default_mm))
    parser.add_argument("--madminer-events", type=int, default=None, help="events for the MadMiner run")
    parser.add_argument("--local-events", type=int, default=1_000_000, help="events for the local sample")
    parser.add_argument("--local-samples", type=int, default=100_000, help="samples of the local sample")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats of the local comparison")
    parser.add_argument("--only", choices=("ratio", "local"), default=None, help="run one of the two parts")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-sampling-"))
    try:
        if args.only != "local":
            ratio_table(args, workdir)
        if args.only != "ratio":
            local_comparison(
                args.madminer_python, workdir, args.local_events, args.local_samples, args.repeats
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
