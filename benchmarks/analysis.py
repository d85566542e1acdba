"""LHE -> event model -> observables -> store throughput on golden-channel events, 1 and 2 workers.

Generates N golden-channel events (signal at the SM benchmark, 6 benchmark weights each) as one gzip LHE
file, then runs ``analyse_samples`` with the standard four-lepton analysis (m4l, mZ1, mZ2, pt4l, y4l and
the five angles) into a fresh store: on the threaded scheduler, then on a distributed LocalCluster with 1
and 2 worker processes. Prints events/s, MB/s (of the gzip file and of the uncompressed text) and the
peak resident memory of the client process and of the workers.

Run: ``python benchmarks/analysis.py [--events 1000000] [--step-size 100000]``
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import simulate_golden


def run(setup, signal, workdir, label, step_size, client=None) -> tuple[float, int]:
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(
        str(workdir / f"{label}.zarr"), setup, analysis.observable_names, chunk_size=step_size
    )
    start = time.perf_counter()
    analyse_samples(
        [Sample(signal, sampled_from_benchmark="sm")],
        analysis,
        store,
        step_size=step_size,
        client=client,
        progress=False,
    )
    return time.perf_counter() - start, store.n_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--step-size", type=int, default=100_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-analysis-"))
    try:
        start = time.perf_counter()
        info = simulate_golden(None, args.events, workdir, n_background=0, seed=1)
        print(f"generated {args.events:,} events in {time.perf_counter() - start:.1f} s")
        signal = info["files"]["signal"]
        setup = AnalysisSetup.load(info["files"]["setup"])
        gz_mb = Path(signal).stat().st_size / 1e6
        with gzip.open(signal, "rb") as handle:
            text_mb = sum(len(block) for block in iter(lambda: handle.read(1 << 24), b"")) / 1e6
        rows = [("threads (1 process)", *run(setup, signal, workdir, "threads", args.step_size))]
        rss_client = peak_rss_mb()
        from distributed import Client, LocalCluster

        worker_rss = {}
        for n_workers in (1, 2):
            with LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                with Client(cluster) as client:
                    rows.append(
                        (
                            f"LocalCluster, {n_workers} worker(s)",
                            *run(setup, signal, workdir, f"dist{n_workers}", args.step_size, client),
                        )
                    )
                    peaks = client.run(peak_rss_mb)
                    worker_rss[n_workers] = max(peaks.values())
        print(f"file: {gz_mb:.0f} MB gzip, {text_mb:.0f} MB of LHE text; chunks of {args.step_size:,} events")
        header = (
            f"{'engine':28s} {'seconds':>8s} {'events/s':>10s} {'MB/s gz':>8s} {'MB/s text':>9s} {'kept':>9s}"
        )
        print(header)
        print("-" * len(header))
        for label, seconds, kept in rows:
            print(
                f"{label:28s} {seconds:8.1f} {args.events / seconds:10.0f} {gz_mb / seconds:8.1f} "
                f"{text_mb / seconds:9.1f} {kept:9d}"
            )
        print(
            f"peak RSS: client {rss_client:.0f} MB (threaded run); workers "
            + ", ".join(f"{n} worker(s): {mb:.0f} MB" for n, mb in worker_rss.items())
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
