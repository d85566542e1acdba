"""Sampling benchmarks of issue 25: ``sample_train_ratio`` / ``sample_train_local`` beside MadMiner, thread scaling.

Builds a store of N events with quadratic per-event weights at the six golden-channel benchmarks (the form
of a tree-level |M|^2 with one anomalous vertex) and three observables (:func:`build_store`). The rows of
the issue-25 table, each a function returning a dict (medians, single runs, load average) that
``benchmarks/run.py`` can call:

- :func:`ratio_row`: ``sample_train_ratio(random_morphing_points(100, flat priors), benchmark("sm"),
  10^5)`` from 10^6 events (chunks of 100,000) on dask's threads, and MadMiner 0.9.6's
  ``sample_train_ratio`` on the same events (its HDF5 file written once and excluded; .npy saving included),
  interleaved (ours, MadMiner, ours, ...);
- :func:`local_row`: ``sample_train_local(benchmark("sm"), 10^5)`` the same way;
- :func:`thread_scaling`: the ratio sample (or, ``--only local-threads``, ``sample_train_local`` from
  ``--store`` or ``--table-events`` events) on 1 and 2 threads, interleaved with the np.sin ceiling, with
  the calling thread's share of the CPU time.

MadMiner runs in its own virtual environment (``--madminer-python``, default the first of
:data:`MADMINER_PYTHONS` that exists; it is never a dependency) through ``benchmarks/madminer_sampling.py``.
``--only table`` is the older throughput table: 10^6 samples from 10^7 events on threads and on
LocalClusters of 1 and 2 worker processes, with peak memory.

Run: ``python benchmarks/sampling.py [--events 1000000] [--samples 100000] [--thetas 100]
[--chunk-size 100000] [--repeats 5] [--madminer-repeats 1] [--only ratio|local|threads|local-threads|table
...] [--store PATH]
[--no-madminer | --madminer-python PATH] [--workdir DIR] [--json FILE]``

Results, 2026-12-07, shared 2-core AMD EPYC VM under heavy load from other jobs (load average 7-11 during
the ratio rows, 3-4 during the local rows; quote the ratios, not the seconds); before = HEAD a8158fb (a git
worktree), after = this code, MadMiner 0.9.6; each side interleaved run by run, medians::

    work (10^6 events, chunks of 10^5)        before     after    MadMiner   MadMiner/after  after/before
    sample_train_ratio, 10^5, 100 theta0      14.98 s    1.81 s   234.2 s        129x            8.3x
      (6 runs a side: before 11.3-21.0 s, after 1.22-2.93 s; MadMiner 210 and 258 s)
    sample_train_local, 10^5 at the SM        0.189 s    0.174 s   0.826 s        4.7x            1.09x
      (3 x 7 runs a side at load 3.3-3.7; MadMiner 0.81-0.90 s in 4 runs; the issue's quiet-machine
       numbers: columnminer 0.130 s, MadMiner 0.686 s)
    sample_train_ratio on 1 / 2 threads       not measurable here: two threads of np.sort took 2.0-2.2x
                                              the time of one at that load (no second core free)

Every sample is the same as before, bit for bit (x, theta0, theta1, y, r_xz, t_xz0, t_xz1, event; 26 cases
of all six sample kinds with closest-benchmark groups, partitions, negative weights and nuisances, 30 seeds
of ratio / local / more-ratios samples, and the 10^6-event rows above); n_effective and max_weight_fraction
agree to 2e-15 relative (summation order).

``sample_train_local`` in process (issue 25 item 1), 2026-12-07, same shared 2-core VM, load average 4-5
(others' jobs): before = HEAD c3f74eb (a git worktree), after = this code, MadMiner 0.9.6 on the same 10^6
events (/tmp/bench-full store, chunks of 10^5), 3 rounds of (before x5, after x5, MadMiner x1), medians::

    work                                      before     after    MadMiner   MadMiner/after  after/before
    sample_train_local, 10^5 at the SM        0.190 s    0.122 s   1.05 s         8.6x           1.56x
      (fastest runs: before 0.092 s, after 0.076 s, MadMiner 0.50 s; the load doubles and triples the
       medians: rerun on a quiet machine with benchmarks/run.py --only sample_train_local)

Where the 0.11-0.14 s went (one thread, cProfile): two dask passes each reading the weights (48 MB) and
``sampled_from`` again and computing the partition mask (splitmix64, 1.7 ms per 10^5 events) again, the
clipped SM weights computed in both passes, ``sampled_from`` read a third time for the plan, 2-d fancy
indexing (``x[order]``, 4x slower than ``np.take``) for the shuffle, and dask's graph overhead. Now, for a
store whose columns fit in 256 MB and no distributed client: each chunk read once on a thread pool, pass 2
reusing pass 1's columns, factors and single-point weights, ``np.take`` gathers. The rest is the read and
decode of 72 MB (weights, observables), the partition mask, and the einsums of pass 1. Every sample is
the same bit for bit (sha256 of every array, 29 cases on the 10^6 store and a small mixed store, in-process
and task passes).

``sample_train_local`` on 1 and 2 threads from 10^7 events (issue 25 item 2; ``--only local-threads --store
/tmp/bench-new/golden_10000000.zarr``, :func:`thread_scaling` with ``store``), 2026-12-07 16:31-16:49 UTC,
same shared 2-core VM, load average 1.8-2.3 (others' jobs took a core most of the time): before = HEAD
bedaa42 (a git worktree), after = this code, each in its own process, rounds of (before, after) x (1, 2
threads) in alternating order, with the np.sin ceiling measured before and after every round. Only the
rounds where the ceiling was >= 1.75x both times (6 of 36) say anything about scaling; medians of those::

    sample_train_local, 10^5 at the SM, 10^7 events   1 thread   2 threads   1 / 2   calling thread's share
    before                                            1.07 s     0.688 s     1.56x   0.027
    after                                             0.864 s    0.526 s     1.64x   0.006
      (the quiet rounds one by one, after: 1.47 1.58 1.58 1.69 1.76 1.77x; before: 1.49 1.51 1.53 1.54
       1.55 1.71x; process CPU on 1 / 2 threads, 4 of them: before 1.05 / 1.20 s, after 0.82 / 0.89 s)
    sample_train_local, 10^5 at the SM, 10^6 events (default threads, 30 interleaved runs a side, load 2.0-2.3):
    before 0.121 s, after 0.102 s median (fastest 0.065 s and 0.056 s)

Every sample is the same as before, bit for bit: sha256 of every output array (with its shape, dtype and
the order of the arrays) in 118 cases: all six kinds on a mixed store (groups, partitions, negative weights)
and nuisance samples, in process, read twice and on a distributed client, 1 and 2 threads, and local /
ratio samples from the 10^6 and 10^7 stores.

Where the 2-thread time went before (10^7 events, time.thread_time per thread, a task timeline, perf):
not the calling thread (3 % of the CPU time: the plan's read of ``sampled_from``, the concatenation and
the shuffle's gathers, and a wake-up per finished task of 300), but inside the tasks: every chunk read
twice (weights in both passes, 45 % of the CPU in page-cache copies, blosc and crc32c, which grew 30 % on 2
threads as the two threads shared the memory bus), ``sampled_from`` read three times and the partition
mask computed twice, a 2-d fancy index in pass 2's block search, groups of 4 chunks per task (a pass
ended with one thread idle for up to a group) and 0.1-0.15 s of GIL waits per call. Now: pass 1 of a
single-point sample from a store read twice also draws, with the first uniforms of each chunk's generator,
the rows pass 2 will most likely draw and keeps them with their observables and weights (80 bytes a draw),
so pass 2 reads no chunk unless one draws more; the closest-benchmark and partition factors are kept as one
byte per event; columns are read only when a kernel uses them; the threads take the chunks one at a time
from a queue on compute.run_tasks's kept pool while the calling thread sleeps; the drawn events go to their
places in the shuffled sample in the thread that drew them; ``np.take`` gathers. The calling thread's
share is now 0.6 % (s in 1 / (s + (1 - s) / 2)); what keeps 2 threads under the np.sin ceiling is the
memory-bound read and decode of the columns (72 bytes an event, 720 MB: half the CPU) and the GIL between numpy
calls. A quiet-machine rerun: ``python benchmarks/run.py --only reductions``.

Where the 15 s went before (profile of the ratio row, one thread): the 200 draw points (100 theta0 at
y = 0, then the SM 100 times at y = 1) each got the clipped weights of all 10^6 events twice, once per
pass, as [200, 16384] blocks far larger than the CPU cache (5.2 s), plus a cumulative sum of all of them in
pass 2 (2.9 s) to draw 500 events per point. Now: the 101 distinct draw points, products in tiles of at
most 2^18 multiply-adds (in L2, and on one OpenBLAS thread), block sums per 64 rows kept from pass 1, and
in pass 2 only the 64-row block of each draw is evaluated (0.5 s of CPU in pass 1, 0.3 s in pass 2).
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import export_npz, peak_rss_mb

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.io.store import EventStore
from columnminer.sampling import SampleAugmenter, benchmark, random_morphing_points

__all__ = [
    "build_store",
    "columnminer_side",
    "compare",
    "local_row",
    "madminer_run",
    "open_store",
    "ratio_row",
    "thread_scaling",
]

OBSERVABLES = ["x0", "x1", "x2"]
#: Where MadMiner's own virtual environment is looked for (the first that exists; ``--madminer-python``).
MADMINER_PYTHONS = ("/tmp/madminer-venv/bin/python", "/work/mm-venv/bin/python")


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


def ratio_table(args: argparse.Namespace, python: str | None, workdir: Path) -> None:
    """``sample_train_ratio`` of ``--table-samples`` from ``--table-events`` events on threads and 1- and
    2-worker LocalClusters (and MadMiner when given): samples/s and peak memory."""
    from distributed import Client, LocalCluster

    n_events, n_samples, chunk = args.table_events, args.table_samples, 500_000
    start = time.perf_counter()
    big = build_store(workdir / "big.zarr", n_events, chunk)
    small = build_store(workdir / "small.zarr", n_events // 10, chunk)
    print(
        f"stores of {n_events:,} and {n_events // 10:,} events built in {time.perf_counter() - start:.0f} s"
    )
    rows = []
    seconds, peak_big = threaded_peak(big, n_samples, args.thetas)
    rows.append(("columnminer, threads (1 process)", seconds, f"{peak_big:.0f} MB (tracemalloc)"))
    _, peak_small = threaded_peak(small, n_samples, args.thetas)
    for n_workers in (1, 2):
        with LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            with Client(cluster) as client:
                seconds = draw(big, n_samples, args.thetas, client)
                workers = client.run(peak_rss_mb)
        memory = f"{max(workers.values()):.0f} MB per worker (VmHWM)"
        rows.append((f"columnminer, LocalCluster {n_workers} worker(s)", seconds, memory))
    if python:
        mm_store = big
        if args.madminer_events and args.madminer_events != n_events:
            mm_store = build_store(workdir / "mm.zarr", args.madminer_events, chunk)
        result = madminer_run(python, mm_store, workdir, n_samples, args.thetas)
        if result is not None:
            label = f"MadMiner {result.get('madminer_version', '?')} ({result['n_events']:,} events)"
            rows.append((label, result["seconds"], f"{result['peak_rss_mb']:.0f} MB (VmHWM)"))
            ours = draw(mm_store, n_samples, args.thetas)
            rows.append((f"columnminer, threads, same {mm_store.n_events:,} events", ours, ""))
    print(
        f"sample_train_ratio: {n_samples:,} samples, {args.thetas} theta0 points, store chunks of {chunk:,}"
    )
    header = f"{'engine':52s} {'seconds':>8s} {'samples/s':>11s}  peak memory"
    print(header)
    print("-" * (len(header) + 12))
    for label, seconds, memory in rows:
        print(f"{label:52s} {seconds:8.2f} {n_samples / seconds:11.0f}  {memory}")
    print(
        f"threaded peak memory: {peak_small:.0f} MB with {small.n_events:,} events, "
        f"{peak_big:.0f} MB with {big.n_events:,} events"
    )


def open_store(path: Path, n_events: int, chunk_size: int) -> EventStore:
    """The store of :func:`build_store` at ``path``, reused when one of that size and chunking is there."""
    if path.exists():
        store = EventStore.open(str(path))
        if store.n_events == n_events and store.chunk_size == chunk_size:
            return store
    return build_store(path, n_events, chunk_size)


def columnminer_side(store: EventStore, kind: str, n_samples: int, n_thetas: int) -> Callable[[], float]:
    """A call that draws the ``kind`` ("ratio": ``sample_train_ratio`` of ``n_thetas`` random theta0
    against the SM; "local": ``sample_train_local`` at the SM) sample on dask's threads and returns its
    wall time in seconds."""
    augmenter = SampleAugmenter(store)
    theta0 = random_morphing_points(n_thetas, [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)])

    def run() -> float:
        start = time.perf_counter()
        if kind == "ratio":
            augmenter.sample_train_ratio(theta0, benchmark("sm"), n_samples, seed=1, write=False)
        else:
            augmenter.sample_train_local(benchmark("sm"), n_samples, seed=1, write=False)
        return time.perf_counter() - start

    return run


def compare(
    kind: str,
    madminer_python: str | None = None,
    n_events: int = 1_000_000,
    n_samples: int = 100_000,
    n_thetas: int = 100,
    chunk_size: int = 100_000,
    repeats: int = 5,
    madminer_repeats: int = 1,
    workdir: Path | None = None,
) -> dict:
    """One row of the issue-25 table: the ``kind`` ("ratio" or "local") sample from ``n_events`` events,
    columnminer ``repeats`` times (after a warm-up) and MadMiner ``madminer_repeats`` times in its own
    interpreter, interleaved (ours, MadMiner, ours, ...); medians. Returns a dict: work, kind, sizes,
    ``columnminer_s`` / ``madminer_s`` (medians, seconds; None when MadMiner was not run), the single runs,
    ``speedup`` (MadMiner / columnminer), ``load`` (os.getloadavg() before and after)."""
    owned = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-sampling-")) if owned else Path(workdir)
    try:
        store = open_store(workdir / f"events_{n_events}_{chunk_size}.zarr", n_events, chunk_size)
        ours = columnminer_side(store, kind, n_samples, n_thetas)
        mm_dir = workdir / f"madminer_{n_events}_{kind}"
        mm_dir.mkdir(exist_ok=True)
        load = [os.getloadavg()]
        ours()
        times: dict[str, list[float]] = {"columnminer": [], "MadMiner": []}
        for repeat in range(max(repeats, madminer_repeats if madminer_python else 0)):
            if repeat < repeats:
                times["columnminer"].append(ours())
            if madminer_python and repeat < madminer_repeats:
                options = ("--kind", kind) + (("--reuse",) if (mm_dir / "events.npz").exists() else ())
                result = madminer_run(madminer_python, store, mm_dir, n_samples, n_thetas, *options)
                if result is not None:
                    times["MadMiner"].append(result["seconds"])
        load.append(os.getloadavg())
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
    medians = {side: statistics.median(values) if values else None for side, values in times.items()}
    work = f"sample_train_{kind}, {n_samples:.0e} samples" + (
        f", {n_thetas} theta0" if kind == "ratio" else ""
    )
    return {
        "work": f"{work}, {n_events:.0e} events (chunks of {chunk_size:,})",
        "kind": kind,
        "n_events": n_events,
        "n_samples": n_samples,
        "n_thetas": n_thetas if kind == "ratio" else 1,
        "columnminer_s": medians["columnminer"],
        "madminer_s": medians["MadMiner"],
        "columnminer_runs": times["columnminer"],
        "madminer_runs": times["MadMiner"],
        "speedup": medians["MadMiner"] / medians["columnminer"] if medians["MadMiner"] else None,
        "load": [list(values) for values in load],
    }


def ratio_row(madminer_python: str | None = None, **sizes) -> dict:
    """``sample_train_ratio``, 10^5 samples, 100 theta0, 10^6 events (issue 25, first row); see :func:`compare`."""
    return compare("ratio", madminer_python, **sizes)


def local_row(madminer_python: str | None = None, **sizes) -> dict:
    """``sample_train_local``, 10^5 samples at the SM, 10^6 events (issue 25, second row); see :func:`compare`."""
    return compare("local", madminer_python, **sizes)


def _timed_call(run: Callable[[], float]) -> dict:
    """One call of ``run`` (a :func:`columnminer_side` call): wall seconds, CPU seconds of the calling thread
    (``time.thread_time``) and of the process (``time.process_time``)."""
    main, process = time.thread_time(), time.process_time()
    wall = run()
    return {"wall": wall, "main": time.thread_time() - main, "process": time.process_time() - process}


def thread_scaling(
    kind: str = "ratio",
    n_events: int = 1_000_000,
    n_samples: int = 100_000,
    n_thetas: int = 100,
    chunk_size: int = 100_000,
    repeats: int = 5,
    workdir: Path | None = None,
    store: str | Path | None = None,
) -> dict:
    """The ``kind`` sample on 1 and 2 local threads (dask's ``num_workers``), interleaved with the
    machine's ceiling (:func:`_common.thread_ceiling`: GIL-free np.sin on 1 and 2 threads), medians:
    ``threads_1_s``, ``threads_2_s``, ``speedup`` (1 thread / 2 threads), ``ceiling`` (the same ratio of
    np.sin), ``sequential_1`` / ``sequential_2``: the calling thread's share of the process's CPU time
    (``time.thread_time`` / ``time.process_time``: the work that runs in no task, s in Amdahl's
    1 / (s + (1 - s) / 2)), ``process_cpu_1_s`` / ``process_cpu_2_s``, and ``load``. ``store``: an
    existing store to sample from (e.g. the 10^7-event golden store of ``benchmarks/run.py``) instead of
    one of ``n_events`` built in ``workdir``."""
    import dask
    from _common import thread_ceiling

    owned = workdir is None and store is None
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-sampling-")) if owned else workdir
    try:
        if store is not None:
            events = EventStore.open(str(store))
        else:
            events = open_store(Path(workdir) / f"events_{n_events}_{chunk_size}.zarr", n_events, chunk_size)
        ours = columnminer_side(events, kind, n_samples, n_thetas)
        load = [os.getloadavg()]
        ours()
        runs: dict[int, list[dict]] = {1: [], 2: []}
        ceiling: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(repeats):
            for threads in (1, 2):
                start = time.perf_counter()
                thread_ceiling(threads)
                ceiling[threads].append(time.perf_counter() - start)
                with dask.config.set(num_workers=threads):
                    runs[threads].append(_timed_call(ours))
        load.append(os.getloadavg())
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
    row = {
        "work": f"sample_train_{kind}, {n_samples:.0e} samples, {events.n_events:.0e} events, 1 vs 2 threads",
        "load": [list(values) for values in load],
    }
    for threads in (1, 2):
        done = runs[threads]
        row[f"threads_{threads}_s"] = statistics.median(run["wall"] for run in done)
        row[f"threads_{threads}_runs"] = [run["wall"] for run in done]
        row[f"sequential_{threads}"] = statistics.median(run["main"] / run["process"] for run in done)
        row[f"process_cpu_{threads}_s"] = statistics.median(run["process"] for run in done)
    row["speedup"] = row["threads_1_s"] / row["threads_2_s"]
    row["ceiling"] = statistics.median(ceiling[1]) / statistics.median(ceiling[2])
    return row


def print_row(row: dict) -> None:
    """One result dict of :func:`compare` or :func:`thread_scaling` as a few lines."""
    load = ", ".join(f"{values[0]:.1f}" for values in row["load"])
    print(f"\n{row['work']} (load average {load})")
    if "threads_1_s" in row:
        print(
            f"1 thread {row['threads_1_s']:8.3f} s, 2 threads {row['threads_2_s']:8.3f} s: {row['speedup']:.2f}x "
            f"(np.sin ceiling {row['ceiling']:.2f}x); calling thread's share of the CPU time "
            f"{row['sequential_1']:.3f} / {row['sequential_2']:.3f}"
        )
        return
    for side in ("columnminer", "madminer"):
        if row[f"{side}_s"] is not None:
            runs = " ".join(f"{t:.3f}" for t in row[f"{side}_runs"])
            print(f"{side:12s} {row[f'{side}_s']:8.3f} s median ({runs})")
    if row["speedup"]:
        print(f"columnminer / MadMiner speed: {row['speedup']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events of the issue-25 rows")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--thetas", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="columnminer runs per row (interleaved)")
    parser.add_argument("--madminer-repeats", type=int, default=1, help="MadMiner runs per row")
    default_mm = next((p for p in MADMINER_PYTHONS if Path(p).exists()), "")
    parser.add_argument("--madminer-python", default=os.environ.get("MADMINER_PYTHON", default_mm))
    parser.add_argument("--no-madminer", action="store_true", help="columnminer only")
    parser.add_argument("--workdir", default=None, help="keep the stores (and MadMiner's file) here")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    parser.add_argument(
        "--only",
        choices=("ratio", "local", "threads", "local-threads", "table"),
        action="append",
        help="parts (repeatable)",
    )
    parser.add_argument(
        "--store", default=None, help="--only local-threads: sample from this store (else --table-events)"
    )
    parser.add_argument("--table-events", type=int, default=10_000_000, help="events of --only table")
    parser.add_argument("--table-samples", type=int, default=1_000_000, help="samples of --only table")
    parser.add_argument(
        "--madminer-events", type=int, default=None, help="events of the table's MadMiner run"
    )
    args = parser.parse_args()
    parts = args.only or ["ratio", "local", "threads"]
    python = None if args.no_madminer else args.madminer_python or None
    sizes = {"n_events": args.events, "n_samples": args.samples, "chunk_size": args.chunk_size}
    sizes |= {"repeats": args.repeats, "workdir": Path(args.workdir) if args.workdir else None}
    if sizes["workdir"]:
        sizes["workdir"].mkdir(parents=True, exist_ok=True)
    rows = []
    for part in parts:
        if part in ("ratio", "local"):
            rows.append(
                compare(part, python, n_thetas=args.thetas, madminer_repeats=args.madminer_repeats, **sizes)
            )
        elif part == "threads":
            rows.append(thread_scaling("ratio", n_thetas=args.thetas, **sizes))
        elif part == "local-threads":
            store = args.store or None
            local = sizes | ({"n_events": args.table_events} if store is None else {"store": store})
            rows.append(thread_scaling("local", **local))
        else:
            workdir = Path(tempfile.mkdtemp(prefix="cm-bench-sampling-"))
            try:
                ratio_table(args, python, workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            continue
        print_row(rows[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
