"""coffea processors on 1 and 2 dask workers: golden-channel events -> analysis into a store + histograms at 100 thetas.

The events (signal at the SM, 6 benchmark weights each) are generated once into gzip LHE files of
``--events-per-file`` events under the cache directory (``--cache``, else ``$COLUMNMINER_BENCH_CACHE``, else
``benchmarks/.cache``) and reused by later runs. Each configuration then makes one pass with a
``CombinedProcessor``: the analysis (four-lepton observables) streamed by the workers into a fresh zarr
store (staged parts, committed in order by the client) and ``hist`` histograms of m4l, Phi and cos_theta1
at ``--thetas`` parameter points (morphed from per-bin weight moments). coffea chunks the files
(``--chunksize``, default one chunk per file). Timings are wall clock on a fresh LocalCluster whose workers
were warmed up (imports, numba caches) on one small file; planning (the client's pass over the file
headers and event counts) and coffea's metadata pass are reported apart. Peak memory per worker is the
maximal resident set size of the worker processes (getrusage), of the client likewise.

Run: ``python benchmarks/processors_scaling.py --events 1000000 [--workers 1 2] [--baseline] [--malloc both]
[--cache DIR]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _generate_part(directory: str, n_events: int, seed: int) -> str:
    from columnminer.simulators.golden import simulate_golden

    info = simulate_golden(None, n_events, directory, n_background=0, seed=seed)
    Path(directory, "complete").write_text(str(n_events))
    return info["files"]["signal"]


def golden_files(cache: Path, n_events: int, per_file: int, processes: int) -> list[str]:
    """The cached signal files (generated where missing, ``processes`` at a time)."""
    root = cache / f"golden-{per_file}"
    n_files = -(-n_events // per_file)
    todo, files = [], []
    for k in range(n_files):
        directory = root / f"part-{k:04d}"
        size = min(per_file, n_events - k * per_file)
        marker = directory / "complete"
        if not (marker.exists() and int(marker.read_text()) == size):
            todo.append((str(directory), size, 1000 + k))
        files.append(str(directory / "signal.lhe.gz"))
    if todo:
        start = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
            list(pool.map(_generate_part, *zip(*todo, strict=True)))
        seconds = time.perf_counter() - start
        print(f"generated {sum(t[1] for t in todo):,} events in {len(todo)} files in {seconds:.0f} s")
    return files


def _peak_rss_mb() -> float:
    """Peak resident memory of the calling process (worker or client), MB: VmHWM, which belongs to the
    process's own address space (getrusage's ru_maxrss would include the parent's at fork+exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _cpu_seconds() -> float:
    """CPU time (user + system, all threads) of the calling process."""
    return time.process_time()


def _cpu(client) -> float:
    return sum(client.run(_cpu_seconds).values()) if client is not None else _cpu_seconds()


def run(
    fileset,
    setup,
    workdir: Path,
    label: str,
    workers: int | None,
    config: dict,
    thetas,
    chunksize: int,
    repeat: int,
) -> dict:
    """The fastest of ``repeat`` passes (events into a store + histograms) on one cluster of ``workers``
    processes (``None``: coffea's IterativeExecutor in this process)."""
    import dask
    import distributed
    import hist
    from coffea.processor import DaskExecutor, IterativeExecutor

    from columnminer.analysis import Analysis
    from columnminer.fourlepton import add_four_lepton_observables
    from columnminer.io.store import EventStore
    from columnminer.processors import CombinedProcessor, HistogramProcessor, StoreRun, run_work_items

    analysis = Analysis()
    add_four_lepton_observables(analysis)
    axes = {
        "m4l": hist.axis.Regular(40, 110.0, 140.0, name="m4l"),
        "Phi": hist.axis.Regular(20, -np.pi, np.pi, name="Phi"),
        "cos_theta1": hist.axis.Regular(20, -1.0, 1.0, name="cos_theta1"),
    }
    slug = label.replace(" ", "-")
    cluster = client = None
    if workers is None:
        executor = IterativeExecutor(status=False)
    else:
        with dask.config.set(config):
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = distributed.Client(cluster)
        executor = DaskExecutor(client=client, status=False)
    try:
        if client is not None:  # warm-up: imports and numba caches in every worker, on a small file
            warm = {"warm": {"files": [fileset["warm"]], "metadata": {"sampled_from_benchmark": "sm"}}}
            store = EventStore.create(str(workdir / f"warm-{slug}.zarr"), setup, analysis.observable_names)
            run_warm = StoreRun(warm, analysis, store, executor, chunksize=1000)
            run_work_items(run_warm.pending, run_warm.processor(), executor)
        data = {"signal": fileset["signal"]}
        best = None
        for k in range(repeat):
            store = EventStore.create(str(workdir / f"{slug}-{k}.zarr"), setup, analysis.observable_names)
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            run_ = StoreRun(data, analysis, store, executor, chunksize)
            t1 = time.perf_counter()
            cpu0 = _cpu(client)
            processor = CombinedProcessor(
                {"events": run_.processor(), "hist": HistogramProcessor(run_.plan, thetas, axes)}
            )
            out = run_work_items(run_.pending, processor, executor)
            t2 = time.perf_counter()
            cpu = _cpu(client) - cpu0
            run_.commit()
            t3 = time.perf_counter()
            assert store.n_events == out["hist"].n_events
            row = {
                "label": label,
                "workers": workers or 1,
                "events": sum(item.entrystop - item.entrystart for item in run_.items),
                "chunks": len(run_.items),
                "plan": t1 - t0,
                "process": t2 - t1,
                "commit": t3 - t2,
                "wall": t3 - t1,
                "cpu": cpu,
                "load": (load + os.getloadavg()[0]) / 2,
                "sigma": float(out["hist"]["m4l"][0, ...].sum(flow=True).value),
            }
            shutil.rmtree(workdir / f"{slug}-{k}.zarr", ignore_errors=True)
            if best is None or row["wall"] < best["wall"]:
                best = row
        peaks = list(client.run(_peak_rss_mb).values()) if client is not None else [_peak_rss_mb()]
        return {**best, "peak": max(peaks)}
    finally:
        if client is not None:
            client.close()
            cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="signal events (default 10^6)")
    parser.add_argument("--events-per-file", type=int, default=125_000)
    parser.add_argument("--chunksize", type=int, help="coffea's target chunk size (default: one file)")
    parser.add_argument("--thetas", type=int, default=100, help="parameter points of the histograms")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--baseline", action="store_true", help="also run coffea's IterativeExecutor")
    parser.add_argument("--cache", default=os.environ.get("COLUMNMINER_BENCH_CACHE", str(HERE / ".cache")))
    parser.add_argument("--generate-processes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="passes per configuration (the fastest counts)")
    parser.add_argument(
        "--malloc",
        choices=["dask", "mmap", "both"],
        default="both",
        help="workers with dask's defaults, with columnminer.processors.DASK_WORKER_CONFIG, or both",
    )
    args = parser.parse_args()

    from columnminer.simulators.golden import golden_setup

    cache = Path(args.cache)
    per_file = min(args.events_per_file, args.events)
    files = golden_files(cache, args.events, per_file, args.generate_processes)
    warm = golden_files(cache, 2000, 2000, 1)[0]
    setup = golden_setup()
    rng = np.random.default_rng(0)
    thetas = rng.uniform(-1.0, 1.0, size=(args.thetas, 2))
    chunksize = args.chunksize or per_file
    fileset = {"signal": {"files": files, "metadata": {"sampled_from_benchmark": "sm"}}, "warm": warm}
    size = sum(Path(f).stat().st_size for f in files) / 1e6
    print(
        f"{args.events:,} golden-channel events in {len(files)} gzip LHE files ({size:.0f} MB), chunksize "
        f"{chunksize:,}, histograms of 3 observables at {args.thetas} thetas; load average {os.getloadavg()[0]:.1f}"
    )
    from columnminer.processors import DASK_WORKER_CONFIG

    configs = [("iterative", None, {})] if args.baseline else []
    if args.malloc in ("dask", "both"):
        configs += [(f"dask x{w}", w, {}) for w in args.workers]  # dask's defaults
    if args.malloc in ("mmap", "both"):
        configs += [(f"dask x{w} mmap", w, DASK_WORKER_CONFIG) for w in args.workers]
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-distributed-"))
    rows = []
    try:
        for label, workers, config in configs:
            rows.append(run(fileset, setup, workdir, label, workers, config, thetas, chunksize, args.repeat))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    singles = {r["label"].replace("x1", "").strip(): r for r in rows if " x1" in r["label"]}
    print()
    header = (
        f"{'executor':14s} {'workers':>7s} {'chunks':>6s} {'plan [s]':>8s} {'process [s]':>11s} {'commit [s]':>10s} "
        f"{'events/s':>9s} {'efficiency':>10s} {'events/CPU-s':>12s} {'CPUs used':>9s} {'peak RSS/worker [MB]':>20s} "
        f"{'load':>5s}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = r["events"] / r["wall"]
        single = singles.get(r["label"].replace(f"x{r['workers']}", "").strip())
        efficiency = rate / (single["events"] / single["wall"]) / r["workers"] if single else float("nan")
        print(
            f"{r['label']:14s} {r['workers']:>7d} {r['chunks']:>6d} {r['plan']:>8.1f} {r['process']:>11.1f} "
            f"{r['commit']:>10.1f} {rate:>9,.0f} {efficiency:>10.2f} {r['events'] / r['cpu']:>12,.0f} "
            f"{r['cpu'] / r['process']:>9.2f} {r['peak']:>20,.0f} {r['load']:>5.1f}"
        )
    sigmas = {r["label"]: r["sigma"] for r in rows}
    print(
        f"\nsigma(SM) in the m4l histogram identical in every row: {len(set(sigmas.values())) == 1} {sigmas}"
    )
    print(f"client peak RSS {_peak_rss_mb():,.0f} MB; load average {os.getloadavg()[0]:.1f}")
    print(
        "events/s = events / (process + commit); plan = FilesetPlan (the client's serial pass over the files) "
        "+ coffea's metadata pass; efficiency = rate / (workers x rate of 1 worker); events/CPU-s = events / "
        "CPU time of the worker processes (or of the client for the iterative executor) during the pass; CPUs "
        "used = that CPU time / process time; "
        "load = mean 1-minute load average at the start and end of the row (the machine is shared); "
        "'mmap' rows: workers started with columnminer.processors.DASK_WORKER_CONFIG (MALLOC_MMAP_THRESHOLD_)"
    )


if __name__ == "__main__":
    main()
