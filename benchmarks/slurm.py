"""The processors on SLURM worker jobs against a LocalCluster: events/s on 1 and 2 workers, job start-up overhead.

Needs a running SLURM (``processors/slurm/local-slurm.sh start``: one node on this machine) and dask-jobqueue.
The golden-channel events are benchmarks/processors_scaling.py's cached files (``--cache``). For every backend and
worker count: a fresh cluster of ``n`` one-core workers (SLURM: ``n`` jobs of one core through
``columnminer.processors.batch_cluster``, ``cluster.scale(jobs=n)``; local: a ``LocalCluster`` with
``DASK_WORKER_CONFIG``), timed from its creation until ``n`` workers are connected ("start-up"), a warm-up
pass on a small file (imports, numba caches: "warm-up"), then one pass of the events into a store plus
histograms of three observables at ``--thetas`` points, as in benchmarks/processors_scaling.py.

Run: ``python benchmarks/slurm.py --events 200000 [--workers 1 2] [--cache DIR]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _distributed_benchmark():
    """benchmarks/processors_scaling.py as a module (loaded by path: benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "columnminer_bench_distributed", HERE / "processors_scaling.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def golden_files(cache: Path, n_events: int, per_file: int) -> list[str]:
    """benchmarks/processors_scaling.py's cached signal files; missing ones are generated here, one after another
    (its process pool cannot import that module under another name)."""
    bench = _distributed_benchmark()
    for k in range(-(-n_events // per_file)):
        directory = cache / f"golden-{per_file}" / f"part-{k:04d}"
        size = min(per_file, n_events - k * per_file)
        marker = directory / "complete"
        if not (marker.exists() and int(marker.read_text()) == size):
            bench._generate_part(str(directory), size, 1000 + k)
    return bench.golden_files(cache, n_events, per_file, 1)  # all there now: generates nothing


def make_cluster(backend: str, workers: int, logs: Path):
    """A cluster of ``workers`` one-thread workers; SLURM: one job per worker."""
    import dask
    import distributed

    from columnminer.processors import DASK_WORKER_CONFIG, batch_cluster

    if backend == "slurm":
        cluster = batch_cluster("slurm", cores=1, memory="2GB", walltime="00:30:00", log_directory=logs)
        cluster.scale(jobs=workers)
        return cluster
    with dask.config.set(DASK_WORKER_CONFIG):
        return distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


def one_pass(fileset, setup, analysis, axes, thetas, executor, workdir: Path, slug: str, chunksize: int):
    """(plan, process, commit) seconds of one pass: events into a store + histograms; and sigma at theta 0."""
    from columnminer.io.store import EventStore
    from columnminer.processors import CombinedProcessor, HistogramProcessor, StoreRun, run_work_items

    store = EventStore.create(str(workdir / f"{slug}.zarr"), setup, analysis.observable_names)
    t0 = time.perf_counter()
    run = StoreRun(fileset, analysis, store, executor, chunksize)
    t1 = time.perf_counter()
    processor = CombinedProcessor(
        {"events": run.processor(), "hist": HistogramProcessor(run.plan, thetas, axes)}
    )
    out = run_work_items(run.pending, processor, executor)
    t2 = time.perf_counter()
    run.commit()
    t3 = time.perf_counter()
    events = sum(item.entrystop - item.entrystart for item in run.items)
    assert store.n_events == events
    shutil.rmtree(workdir / f"{slug}.zarr", ignore_errors=True)
    return t1 - t0, t2 - t1, t3 - t2, events, float(out["hist"]["m4l"][0, ...].sum(flow=True).value)


def measure(backend, workers, files, setup, thetas, workdir: Path, chunksize: int) -> dict:
    """Start-up, warm-up and one timed pass on a fresh cluster."""
    import distributed
    import hist
    import numpy as np
    from coffea.processor import DaskExecutor

    from columnminer.analysis import Analysis
    from columnminer.fourlepton import add_four_lepton_observables

    analysis = Analysis()
    add_four_lepton_observables(analysis)
    axes = {
        "m4l": hist.axis.Regular(40, 110.0, 140.0, name="m4l"),
        "Phi": hist.axis.Regular(20, -np.pi, np.pi, name="Phi"),
        "cos_theta1": hist.axis.Regular(20, -1.0, 1.0, name="cos_theta1"),
    }
    slug = f"{backend}-{workers}"
    t0 = time.perf_counter()
    with make_cluster(backend, workers, workdir / "logs") as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(workers, timeout=300)
        t1 = time.perf_counter()
        executor = DaskExecutor(client=client, status=False)
        warm = {"warm": {"files": [files["warm"]], "metadata": {"sampled_from_benchmark": "sm"}}}
        one_pass(warm, setup, analysis, axes, thetas, executor, workdir, f"warm-{slug}", 1000)
        t2 = time.perf_counter()
        load = os.getloadavg()[0]
        signal = {"signal": {"files": files["signal"], "metadata": {"sampled_from_benchmark": "sm"}}}
        plan, process, commit, events, sigma = one_pass(
            signal, setup, analysis, axes, thetas, executor, workdir, slug, chunksize
        )
        load = (load + os.getloadavg()[0]) / 2
    return {
        "backend": backend,
        "workers": workers,
        "startup": t1 - t0,
        "warmup": t2 - t1,
        "plan": plan,
        "process": process,
        "commit": commit,
        "events": events,
        "rate": events / process,
        "load": load,
        "sigma": sigma,
    }


def table(rows: list[dict]) -> str:
    """The results as a fixed-width table."""
    head = (
        f"{'cluster':10} {'workers':>7} {'start-up [s]':>12} {'warm-up [s]':>11} {'plan [s]':>8} "
        f"{'process [s]':>11} {'commit [s]':>10} {'events/s':>9} {'load':>5}  sigma(SM) [pb]"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['backend']:10} {r['workers']:7d} {r['startup']:12.1f} {r['warmup']:11.1f} {r['plan']:8.1f} "
            f"{r['process']:11.1f} {r['commit']:10.1f} {r['rate']:9,.0f} {r['load']:5.1f}  {r['sigma']:.10g}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="signal events")
    parser.add_argument("--events-per-file", type=int, default=25_000)
    parser.add_argument("--chunksize", type=int, help="coffea's target chunk size (default: one file)")
    parser.add_argument("--thetas", type=int, default=100, help="parameter points of the histograms")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backends", nargs="+", default=["local", "slurm"], choices=["local", "slurm"])
    parser.add_argument("--cache", default=os.environ.get("COLUMNMINER_BENCH_CACHE", str(HERE / ".cache")))
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    import numpy as np

    from columnminer.simulators.golden import golden_setup

    cache = Path(args.cache)
    signal = golden_files(cache, args.events, args.events_per_file)
    warm = golden_files(cache / "warm", 2000, 2000)[0]
    setup = golden_setup()
    thetas = np.stack(np.meshgrid(*[np.linspace(-1, 1, round(args.thetas**0.5))] * 2), -1).reshape(-1, 2)
    chunksize = args.chunksize or args.events_per_file
    rows = []
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        for workers in args.workers:
            for backend in args.backends:
                files = {"signal": signal, "warm": warm}
                rows.append(measure(backend, workers, files, setup, thetas, Path(tmp), chunksize))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(
        f"\n{sum(r['events'] for r in rows[:1]):,} golden-channel events in {len(signal)} gzip LHE files, "
        f"chunksize {chunksize:,}, histograms of 3 observables at {len(thetas)} thetas, {os.cpu_count()} CPUs\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
