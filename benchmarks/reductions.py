"""Reductions that scale: one pass over the store on 1 and 2 threads and on 1- and 2-worker LocalClusters.

Builds a store of N events (quadratic golden-channel weights, 6 benchmarks, 3 observables, chunks of
100,000 rows) with the store's codec, and the same events with the previous codec (zstd level 0 with
checksum), then measures, every number the median of interleaved repeats (each configuration and
reduction in turn, repeat after repeat, so that load on a shared machine hits them alike):

1. codecs: compressed size / raw size, decode and encode throughput on one thread, for 100,000-row chunks
   of weights and observables (what :data:`columnminer.io.store.CODEC` records);
2. reads, one thread, data in the page cache: a direct zarr read of the weights chunk by chunk, the store's
   reader (:meth:`~columnminer.io.store.EventStore.read` chunk by chunk), and the in-memory bound: the sums
   and Gram matrix (what cross sections need) of the weights already in memory;
3. reductions on 1 and 2 threads and on LocalClusters of 1 and 2 single-threaded workers: cross sections
   and their gradients at T thetas, ``truth_information`` at the SM, ``binned_weights`` (20 bins of x0) and
   ``sample_train_local`` (10^5 samples at the SM); speed-up = time on 1 / time on 2.

Run: ``python benchmarks/reductions.py [--events 10000000] [--repeats 3] [--quick]``

Results, 2-core VM shared with other jobs (load average 1-3 during the runs: absolute times are noisy, the
"machine ceiling" row says what two threads could gain at that moment), 10^7 events, 480 MB of weights.

Codecs, 100,000-row chunks, one thread:

==================================  ==========  ===========  ===========
codec                               size / raw  decode GB/s  encode GB/s
==================================  ==========  ===========  ===========
zstd level 0 + checksum (before)    0.94-0.95   1.2-1.3      0.7-0.9
blosc zstd 1, byte shuffle          0.94-0.95   0.8-1.0      0.6-0.8
blosc lz4 5, byte shuffle (now)     1.00        20-38        7-11
==================================  ==========  ===========  ===========

Reads of the weights, one thread, page cache (median of 3):

=====================================================  ========
read                                                   MB/s
=====================================================  ========
zarr, chunk by chunk, zstd store (before)              521
store reader, zstd store (stores written before)       1,025
zarr, chunk by chunk, blosc lz4 + crc32c store         1,229
store reader, blosc lz4 + crc32c store (now)           3,076
in memory: column sums + Gram matrix (the bound)       4,349
=====================================================  ========

Reductions, seconds (median of 3 interleaved repeats); x = 1 thread / 2 threads and 1 worker / 2 workers::

                                         before (HEAD, zstd store)               after
    reduction                            1 thr 2 thr x     1 wk  2 wk  x        1 thr 2 thr x     1 wk  2 wk  x
    machine ceiling (np.sin)             0.37  0.25  1.47  0.41  0.29  1.41     0.36  0.22  1.68  0.44  0.31  1.41
    cross sections, 1000 thetas          0.87  0.67  1.30  1.90  1.11  1.70     0.21  0.21  0.99  0.56  0.47  1.20
    cross-section gradients, 1000        1.05  0.88  1.19  1.88  1.12  1.67     0.20  0.23  0.86  0.57  0.46  1.25
    truth_information at the SM          2.20  2.16  1.02  4.42  2.91  1.52     1.27  1.38  0.92  2.48  1.45  1.71
    binned_weights, 20 bins              3.78  2.64  1.43  8.39  6.89  1.22     2.98  1.95  1.53  5.75  3.42  1.68
    sample_train_local, 10^5 at the SM   4.57  3.35  1.36  10.6  8.29  1.29     1.08  0.78  1.39  2.74  2.06  1.33

Cross sections now run at 2.3 GB/s on one thread, within 2.1x of the in-memory bound (4.3 GB/s); they do
not gain from a second thread on this machine: the Gram matrix (a BLAS call per 16,384 rows) does not run
two at a time here, and a 2 ms task leaves little to share.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import columnminer.io.store as store_module
from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.io.store import EventStore

CHUNK = 100_000


def build_store(path: Path, n_events: int, previous_codec: bool = False) -> EventStore:
    """N events with quadratic golden-channel weights (pb) and three observables; ``previous_codec``
    writes them with zstd level 0 + checksum, as stores were written before the blosc + crc32c codec."""
    original = getattr(store_module, "_compressors", None)  # absent before the blosc codec: zstd anyway
    if previous_codec and original is not None:
        from zarr.codecs import ZstdCodec

        store_module._compressors = lambda: [ZstdCodec(level=0, checksum=True)]
    try:
        setup = golden_channel_setup()
        store = EventStore.create(str(path), setup, ["x0", "x1", "x2"], chunk_size=CHUNK, overwrite=True)
        rng = np.random.default_rng(0)
        for start in range(0, n_events, 1_000_000):
            n = min(1_000_000, n_events - start)
            weights = quadratic_event_weights(
                rng.normal(size=(n, 3, 2)), setup.parameter_space.benchmark_array()
            )
            store.append(rng.normal(size=(n, 3)), weights.T / n_events, 0)
    finally:
        if original is not None:
            store_module._compressors = original
    return store


def interleaved(tests: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of every test, the tests run in turn ``repeats`` times (after one warm-up round)."""
    times: dict[str, list[float]] = {name: [] for name in tests}
    for round_ in range(repeats + 1):
        for name, fn in tests.items():
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def codec_table(repeats: int) -> list[tuple[str, str, float, float, float]]:
    """(codec, data, size / raw, decode GB/s, encode GB/s) on 100,000-row chunks."""
    from numcodecs import Blosc, Zstd

    rng = np.random.default_rng(0)
    setup = golden_channel_setup()
    data = {
        "weights": np.ascontiguousarray(
            quadratic_event_weights(rng.normal(size=(CHUNK, 3, 2)), setup.parameter_space.benchmark_array()).T
            / 1e7
        ),
        "observables": np.column_stack(
            [rng.normal(125, 2, CHUNK), rng.exponential(50, CHUNK), rng.uniform(-np.pi, np.pi, CHUNK)]
        ),
    }
    codecs = {
        "zstd 0 + checksum (before)": Zstd(level=0, checksum=True),
        "blosc zstd 1 shuffle": Blosc("zstd", 1, Blosc.SHUFFLE),
        "blosc lz4 5 shuffle (now)": Blosc("lz4", 5, Blosc.SHUFFLE),
    }
    rows = []
    for codec_name, codec in codecs.items():
        for data_name, values in data.items():
            raw = values.tobytes()
            encoded = codec.encode(raw)
            t = interleaved(
                {
                    "decode": lambda c=codec, e=encoded: c.decode(e),
                    "encode": lambda c=codec, r=raw: c.encode(r),
                },
                repeats,
            )
            gb = len(raw) / 1e9
            rows.append((codec_name, data_name, len(encoded) / len(raw), gb / t["decode"], gb / t["encode"]))
    return rows


def read_tests(stores: dict[str, EventStore]) -> dict[str, Callable[[], object]]:
    """One-thread reads of the weights: direct zarr, the store's reader, and the in-memory bound."""
    import zarr

    from columnminer.weights import column_sums

    tests: dict[str, Callable[[], object]] = {}
    for label, store in stores.items():
        array = zarr.open_array(store.url + "/weights", mode="r")
        n = store.n_events
        tests[f"zarr read, chunk by chunk ({label})"] = lambda a=array, n=n: [
            a[s : s + CHUNK] for s in range(0, n, CHUNK)
        ]
        tests[f"store reader, chunk by chunk ({label})"] = lambda s=store: [
            s.read("weights", i, i + CHUNK) for i in range(0, s.n_events, CHUNK)
        ]
    weights = next(iter(stores.values())).read("weights")
    tests["in memory: sums + Gram matrix"] = lambda: (column_sums(weights), weights.T @ weights)
    return tests


def reduction_tests(store: EventStore, n_thetas: int) -> dict[str, Callable[[object], object]]:
    """The reductions of issue 25, each a function of the client (None: dask threads)."""
    from columnminer.inference.binned import binned_weights
    from columnminer.inference.fisher import truth_information
    from columnminer.sampling import SampleAugmenter, benchmark
    from columnminer.weights import cross_section_gradients, cross_sections

    thetas = np.random.default_rng(1).uniform(-1, 1, size=(n_thetas, 2))
    edges = np.linspace(-3, 3, 21)
    return {
        f"cross sections, {n_thetas} thetas": lambda c: cross_sections(store, thetas, client=c),
        f"cross-section gradients, {n_thetas} thetas": lambda c: cross_section_gradients(
            store, thetas, client=c
        ),
        "truth_information at the SM": lambda c: truth_information(store, "sm", 1.0, client=c),
        "binned_weights, 20 bins": lambda c: binned_weights(store, "x0", edges, client=c),
        "sample_train_local, 10^5 at the SM": lambda c: SampleAugmenter(store, client=c).sample_train_local(
            benchmark("sm"), 100_000, seed=1, write=False
        ),
    }


def _sin_work(_: int = 0) -> float:
    values = np.random.default_rng(0).random(2_000_000)
    return float(sum(np.sin(values).sum() for _ in range(10)))


def _ceiling(k: int) -> None:
    """Two units of GIL-free numpy work on ``k`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(k) as pool:
        list(pool.map(_sin_work, range(2)))


def scaling(store: EventStore, n_thetas: int, repeats: int) -> dict[tuple[str, str], float]:
    """Median seconds per (reduction, configuration), configurations and reductions interleaved."""
    import dask
    from distributed import Client, LocalCluster

    reductions = reduction_tests(store, n_thetas)
    clusters = {
        k: LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None)
        for k in (1, 2)
    }
    clients = {k: Client(cluster, set_as_default=False) for k, cluster in clusters.items()}
    try:

        def threads(k: int, fn: Callable) -> Callable[[], object]:
            def run() -> object:
                with dask.config.set(num_workers=k):
                    return fn(None)

            return run

        tests = {}
        # what the machine allows right now: GIL-free numpy work on 1 and 2 threads (on a shared machine
        # other jobs take cores; a reduction's speed-up can only be judged against this one)
        for k in (1, 2):
            tests[("machine ceiling: np.sin on 2 x 2e6 values", f"{k} thread{'s' * (k > 1)}")] = lambda k=k: (
                _ceiling(k)
            )
            tests[("machine ceiling: np.sin on 2 x 2e6 values", f"cluster {k} worker{'s' * (k > 1)}")] = (
                lambda k=k: clients[k].gather(clients[k].map(_sin_work, range(2), pure=False))
            )
        for name, fn in reductions.items():
            for k in (1, 2):
                tests[(name, f"{k} thread{'s' * (k > 1)}")] = threads(k, fn)
                tests[(name, f"cluster {k} worker{'s' * (k > 1)}")] = lambda fn=fn, k=k: fn(clients[k])
        return interleaved(tests, repeats)
    finally:
        for client in clients.values():
            client.close()
        for cluster in clusters.values():
            cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--thetas", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10^6 events, 2 repeats")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: codecs, reads, scaling")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeats = 1_000_000, 2
    skip = set(filter(None, args.skip.split(",")))
    print(
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(default)')}, load {os.getloadavg()}"
    )
    if "codecs" not in skip:
        print(f"\n{'codec':28s} {'data':12s} {'size/raw':>8s} {'decode GB/s':>11s} {'encode GB/s':>11s}")
        for codec, data, ratio, decode, encode in codec_table(max(args.repeats, 5)):
            print(f"{codec:28s} {data:12s} {ratio:8.2f} {decode:11.2f} {encode:11.2f}")
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-reductions-"))
    try:
        store = build_store(workdir / "now.zarr", args.events)
        megabytes = store.n_events * 6 * 8 / 1e6
        if "reads" not in skip:
            before = build_store(workdir / "before.zarr", args.events, previous_codec=True)
            reads = interleaved(
                read_tests({"blosc lz4 + crc32c": store, "zstd, before": before}), args.repeats
            )
            print(
                f"\nreads of {megabytes:.0f} MB of weights, one thread, page cache, median of {args.repeats}"
            )
            for name, seconds in reads.items():
                print(f"{name:52s} {seconds:7.3f} s {megabytes / seconds:8.0f} MB/s")
        if "scaling" not in skip:
            times = scaling(store, args.thetas, args.repeats)
            print(
                f"\nreductions over {store.n_events:,} events, median of {args.repeats} interleaved repeats"
            )
            columns = ("1 thread", "2 threads", "x", "1 worker", "2 workers", "x")
            print(f"{'reduction':40s} " + " ".join(f"{c:>9s}" for c in columns))
            for name in dict.fromkeys(n for n, _ in times):
                t1, t2 = times[(name, "1 thread")], times[(name, "2 threads")]
                c1, c2 = times[(name, "cluster 1 worker")], times[(name, "cluster 2 workers")]
                values = (t1, t2, t1 / t2, c1, c2, c1 / c2)
                print(f"{name:40s} " + " ".join(f"{v:9.3f}" for v in values))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
