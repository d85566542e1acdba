"""Run columnminer's coffea processors over a file set: one core, local processes, or any dask cluster.

Examples::

    # histograms of m4l at a 10 x 10 grid of (a2, a3) and the Fisher information at the SM, on 4 processes
    python processors/run.py fileset.json --setup setup.json --preset fourlepton \\
        --histogram m4l:40:110:140 --theta-grid 10 --fisher sm --luminosity 300000 \\
        --executor futures --workers 4 --output results.pkl

    # the events into a zarr store (resumable: rerun the same command after a crash), on a dask cluster
    python processors/run.py fileset.json --setup setup.json --analysis my_analysis.py \\
        --store golden.zarr --executor dask --scheduler tcp://scheduler:8786

    # the same on SLURM: up to 20 worker jobs of 1 core, 3 GB, 2 h each, scaled to the work (dask-jobqueue)
    python processors/run.py fileset.json --setup setup.json --preset fourlepton --store golden.zarr \\
        --histogram m4l:40:110:140 --theta-grid 10 --xsec --fisher sm \\
        --cluster slurm --jobs 20 --memory 3GB --walltime 02:00:00 --queue short

The file set is coffea's JSON: ``{dataset: {"files": [...], "metadata": {"sampled_from_benchmark": "sm"}}}``
(``is_background``, ``k_factor``, ``lhe_paths`` for Delphes files ...; see
``columnminer.processors.fileset.normalize_fileset``). All requested outputs come from one pass over the
events (a ``CombinedProcessor``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from columnminer.processors.cluster import BATCH_SYSTEMS

__all__ = ["build_parser", "main"]

logger = logging.getLogger("columnminer.processors.run")


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fileset", help="coffea file set (JSON)")
    parser.add_argument("--setup", required=True, help="analysis setup (setup.json or a store)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--analysis", help="analysis module (file.py or dotted name, optionally :attribute)")
    what.add_argument("--preset", choices=["fourlepton"], help="a built-in analysis")
    parser.add_argument("--executor", choices=["iterative", "futures", "dask"], default="iterative")
    parser.add_argument("--workers", type=int, default=2, help="processes (futures) or LocalCluster workers")
    parser.add_argument("--scheduler", help="dask scheduler address (default: a new LocalCluster)")
    batch = parser.add_argument_group("batch cluster (dask-jobqueue; implies the dask executor)")
    batch.add_argument("--cluster", choices=sorted(BATCH_SYSTEMS), help="run the workers as batch jobs")
    batch.add_argument("--jobs", type=int, default=4, help="most worker jobs (adaptive scaling)")
    batch.add_argument("--min-jobs", type=int, default=0, help="fewest worker jobs kept while running")
    batch.add_argument("--cores", type=int, default=1, help="cores (= one-thread worker processes) per job")
    batch.add_argument("--memory", default="2GB", help="memory per job")
    batch.add_argument("--walltime", default="01:00:00", help="wall time per job, HH:MM:SS")
    batch.add_argument("--queue", help="the partition (SLURM) / queue of the jobs")
    batch.add_argument("--account", help="the account charged for the jobs")
    batch.add_argument(
        "--job-directive", action="append", default=[], help="extra job-header line (repeatable)"
    )
    batch.add_argument("--log-directory", help="where the jobs write their logs")
    parser.add_argument("--chunksize", type=int, default=100_000, help="coffea's target events per chunk")
    parser.add_argument("--store", help="write the analysed events into this zarr store (created if absent)")
    parser.add_argument(
        "--histogram",
        action="append",
        default=[],
        metavar="OBS:BINS:LOW:HIGH",
        help="histogram of an observable at every theta (repeatable)",
    )
    parser.add_argument(
        "--theta",
        action="append",
        default=[],
        help="a parameter point: benchmark name or a,b,... (repeatable)",
    )
    parser.add_argument("--theta-grid", type=int, help="N: an N^P grid over the parameter ranges")
    parser.add_argument(
        "--xsec", action="store_true", help="cross sections at the --theta / --theta-grid points"
    )
    parser.add_argument("--fisher", action="append", default=[], help="Fisher information at this point")
    parser.add_argument("--luminosity", type=float, default=300_000.0, help="pb^-1 (default 300 fb^-1)")
    parser.add_argument("--output", help="pickle the results (hist objects, FisherInformation) here")
    parser.add_argument("--progress", action="store_true", help="show coffea's progress bars")
    return parser


def _point(text: str) -> str | np.ndarray:
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        return text


def _thetas(args: argparse.Namespace, setup: Any) -> list[Any]:
    thetas: list[Any] = [_point(t) for t in args.theta]
    if args.theta_grid:
        ranges = [p.parameter_range for p in setup.parameter_space.parameters.values()]
        axes = [np.linspace(low, high, args.theta_grid) for low, high in ranges]
        thetas += list(np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes)))
    return thetas


@contextlib.contextmanager
def make_executor(args: argparse.Namespace) -> Iterator[Any]:
    """The coffea executor of ``--executor`` (with its dask client / LocalCluster while in use)."""
    from coffea.processor import DaskExecutor, FuturesExecutor, IterativeExecutor

    if args.cluster:
        from columnminer.processors import batch_executor

        options = {"queue": args.queue, "account": args.account, "log_directory": args.log_directory}
        if args.job_directive:
            options["job_extra_directives"] = args.job_directive
        with batch_executor(
            args.cluster,
            minimum_jobs=args.min_jobs,
            maximum_jobs=args.jobs,
            status=args.progress,
            cores=args.cores,
            memory=args.memory,
            walltime=args.walltime,
            **{key: value for key, value in options.items() if value is not None},
        ) as executor:
            yield executor
    elif args.executor == "iterative":
        yield IterativeExecutor(status=args.progress)
    elif args.executor == "futures":
        yield FuturesExecutor(workers=args.workers, status=args.progress)
    else:
        import distributed

        if args.scheduler:
            with distributed.Client(args.scheduler) as client:
                yield DaskExecutor(client=client, status=args.progress)
        else:
            import dask

            from columnminer.processors import DASK_WORKER_CONFIG

            with dask.config.set(DASK_WORKER_CONFIG):  # glibc's mmap threshold: see DASK_WORKER_CONFIG
                cluster = distributed.LocalCluster(
                    n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
                )
            with cluster, distributed.Client(cluster) as client:
                yield DaskExecutor(client=client, status=args.progress)


def _report(results: dict[str, Any], summary: Any, n_events: int, seconds: float) -> None:
    print(f"{n_events} events read in {seconds:.1f} s ({n_events / max(seconds, 1e-9):.0f} events/s)")
    if summary is not None:
        print(summary.table())
    for name, value in results.items():
        if name.startswith("hist:"):
            h = value[name[5:]]
            first = h.axes["theta"][0]
            sigma = h[{"theta": first}].sum().value
            print(f"{name}: {h.axes.name} shape {h.shape}; sigma at {first} {sigma:.5g} pb")
        elif name == "xsec":
            for theta, xsec, error in zip(value.thetas, value.xsec, value.xsec_error, strict=True):
                print(f"sigma at {theta.tolist()}: {xsec:.6g} +- {error:.2g} pb")
        elif name == "fisher":
            for theta, info in zip(value.thetas, value.truth, strict=True):
                print(
                    f"truth-level Fisher information at {theta.tolist()}:\n{np.array2string(info.information)}"
                )


def _processors(args: argparse.Namespace, plan: Any, thetas: list[Any], run: Any) -> dict[str, Any]:
    """The processors of one pass: the store's, histograms, cross sections, Fisher information."""
    import hist

    from columnminer.processors import CrossSectionProcessor, FisherProcessor, HistogramProcessor

    processors: dict[str, Any] = {}
    if run is not None:
        processors["store"] = run.processor()
    for spec in args.histogram:
        name, bins, low, high = spec.split(":")
        axis = hist.axis.Regular(int(bins), float(low), float(high), name=name)
        processors[f"hist:{name}"] = HistogramProcessor(plan, thetas, {name: axis})
    if args.xsec:
        processors["xsec"] = CrossSectionProcessor(plan, thetas)
    if args.fisher:
        processors["fisher"] = FisherProcessor(plan, [_point(t) for t in args.fisher], args.luminosity)
    return processors


def main(argv: Sequence[str] | None = None) -> int:
    """Run the processors asked for; returns the exit status."""
    from columnminer._cli.loading import load_analysis
    from columnminer.analysis import Analysis
    from columnminer.fourlepton import add_four_lepton_observables
    from columnminer.io.store import EventStore
    from columnminer.processors import (
        CombinedProcessor,
        FilesetPlan,
        StoreRun,
        run_work_items,
        work_items,
    )
    from columnminer.setup import AnalysisSetup

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    setup = (
        AnalysisSetup.from_zarr(args.setup)
        if args.setup.endswith(".zarr")
        else AnalysisSetup.load(args.setup)
    )
    if args.preset:
        analysis = Analysis()
        add_four_lepton_observables(analysis)
    else:
        analysis = load_analysis(args.analysis)
    thetas = _thetas(args, setup)
    if (args.histogram or args.xsec) and not thetas:
        print("--histogram and --xsec need --theta or --theta-grid", file=sys.stderr)
        return 2
    if not (args.histogram or args.xsec or args.fisher or args.store):
        print("nothing to do: give --histogram, --xsec, --fisher or --store", file=sys.stderr)
        return 2
    start = time.perf_counter()
    with make_executor(args) as executor:
        run = None
        if args.store:
            if Path(args.store).exists():
                store = EventStore.open(args.store, "a", setup=setup)
            else:
                store = EventStore.create(args.store, setup, analysis.observable_names)
            run = StoreRun(args.fileset, analysis, store, executor, args.chunksize)
            plan, items = run.plan, run.pending
        else:
            plan = FilesetPlan.build(args.fileset, analysis, setup)
            items = work_items(args.fileset, args.chunksize, executor)
        processors = _processors(args, plan, thetas, run)
        if run is not None and (args.histogram or args.xsec or args.fisher) and len(items) < len(run.items):
            print(
                f"warning: {len(run.items) - len(items)} chunks are in the store already; the histograms, cross "
                "sections and Fisher information cover the chunks run now only (run again without --store for all)",
                file=sys.stderr,
            )
        results = run_work_items(items, CombinedProcessor(processors), executor) if items else {}
        summary = run.commit() if run is not None else None
    seconds = time.perf_counter() - start
    n_events = sum(item.entrystop - item.entrystart for item in items)
    _report(results, summary, n_events, seconds)
    if args.output:
        results.pop("store", None)
        with open(args.output, "wb") as handle:
            pickle.dump({"thetas": thetas, **results}, handle)
        print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
