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

Run: ``python benchmarks/reductions.py [--events 10000000] [--repeats 3] [--quick] [--no-before]
[--madminer /tmp/madminer-venv/bin/python] [--json out.json]``; :func:`measure` returns every number as a
dict (for ``benchmarks/run.py``). "before" runs the kernels of HEAD a8158fb kept in this script (one dask
task per chunk, ``chunk_truth`` in numpy + BLAS, ``_chunk_binned`` as 1 + B + B^2 ``np.bincount`` calls)
interleaved with the current ones; besides wall times it records CPU seconds (all threads of the process,
and the calling thread's: dask's graph and scheduler, GIL held), which load hardly changes.

Codecs and reads (previous commit, 10^7 events, load 1-3; the reader is unchanged since):

==================================  ==========  ===========  ===========
codec, 100,000-row chunks           size / raw  decode GB/s  encode GB/s
==================================  ==========  ===========  ===========
zstd level 0 + checksum (before)    0.94-0.95   1.2-1.3      0.7-0.9
blosc zstd 1, byte shuffle          0.94-0.95   0.8-1.0      0.6-0.8
blosc lz4 5, byte shuffle (now)     1.00        20-38        7-11
==================================  ==========  ===========  ===========

reads of the weights, one thread, page cache: zarr chunk by chunk 1,229 MB/s, the store's reader 3,076 MB/s,
in memory column sums + Gram matrix 4,349 MB/s.

Where the time goes (one thread, CPU time per 100,000-row chunk of weights, 4.8 MB, 2026-12-07): file read
0.28 ms, crc32c 0.42 ms, blosc 0.50 ms (the reader: 1.1 ms), column sums 0.35 ms, Gram matrix 0.84 ms,
``chunk_truth`` before (numpy + BLAS) ~5 ms and now 2.2 ms, ``_chunk_binned`` before ~4 ms and now 4.6 ms
with the binning (``bin_index`` 2.5 ms, the per-bin sums 1.5 ms).

Why two threads gained nothing before (measured 2026-12-07):

- the "1 thread" baseline of ``truth_information`` was not single-core: ``weights @ dc.T`` ([10^5, 6] x
  [6, 2]) starts OpenBLAS's own threads, which spin; per-thread CPU ticks showed 2-3 busy threads with
  ``num_workers=1`` (6 s of CPU for one 10^7-event call). The Gram blocks of cross sections (16,384 rows)
  stay on one BLAS thread (checked: no CPU on the BLAS thread). Now no reduction calls BLAS per event: truth
  terms and binned sums are numba kernels with ``nogil=True``, so dask's threads are the only parallelism
  (threadpoolctl is not needed);
- one task per 100,000-row chunk cost 0.28 ms of the main thread (graph + scheduler, GIL held) per task,
  8 % of a cross-section pass; a task now reduces up to 4 chunks (``store_chunks.chunks_per_task``):
  the calling thread's share is 1-3 % (table below);
- the reader's ``google_crc32c.value`` holds the GIL while it runs (a 600 MB buffer stalled the main thread
  56 ms of its 66 ms), ~14 % of a cross-section pass that two threads cannot share. The ICRAR ``crc32c``
  package (``crc32c.crc32c(data)``, GIL released above 32 KiB) gives the same checksums at the same speed
  (23 GB/s) with a 5 ms stall: a change for ``columnminer.io.store_integrity._decode`` (not done here);
- the machine: at load 8-10 (seven jobs on two cores) the np.sin ceiling is 0.9-1.1x, so no wall-clock
  speed-up can show; the CPU columns are the honest comparison then.

10^6 events, load 8.6-10.0 (machine ceiling 1.07x threads, 0.92x workers: no second core was free),
seconds, median of 3 interleaved; CPU s = all threads, serial = the calling thread's share of it on 2
threads, bound = 1 / (serial + (1 - serial) / 2)::

                                  before (HEAD)                        after
    reduction                     1 thr 2 thr 1 wk  2 wk  CPU s        1 thr 2 thr 1 wk  2 wk  CPU s serial bound
    cross sections, 1000 thetas   0.161 0.064 0.437 0.276 0.051        0.053 0.048 0.244 0.334 0.045 9.2 %  1.83
    cross-section gradients       0.063 0.160 0.293 0.221 0.047        0.116 0.068 0.402 0.170 0.046 9.8 %  1.82
    truth_information at the SM   1.040 1.414 1.331 0.943 0.384        0.182 0.142 0.153 0.275 0.061 4.9 %  1.91
    binned_weights, 20 bins       0.676 0.951 2.321 1.980 0.417        0.280 0.155 0.304 0.374 0.106 3.2 %  1.94
    sample_train_local, 10^5 SM                                        0.544 0.229 1.368 1.923 0.178 12.7%  1.77

10^7 events (480 MB of weights), after only, load 8.2-9.6 (ceiling 0.90x threads, 1.13x workers)::

    reduction                     1 thr 2 thr 1 wk  2 wk  CPU s serial bound
    cross sections, 1000 thetas   0.619 0.385 1.241 0.808 0.371 2.7 %  1.95
    cross-section gradients       0.354 0.347 0.801 1.140 0.316 2.6 %  1.95
    truth_information at the SM   0.564 0.904 1.638 1.178 0.476 1.3 %  1.98
    binned_weights, 20 bins       1.432 1.103 1.943 2.442 0.888 0.9 %  1.98
    sample_train_local, 10^5 SM   1.730 1.645 5.744 5.362 1.472 2.6 %  1.95

3 x 10^6 events, load 3.6 -> 6.9 (ceiling 0.94x threads, 0.73x workers), CPU s on 1 thread before -> after:
cross sections 0.073 -> 0.068, gradients 0.090 -> 0.071, truth_information 0.720 -> 0.124 (1.323 s on 2
threads before: the spinning BLAS threads), binned_weights 1.058 -> 0.235; serial share after 1-5 %.

CPU per pass, before -> after: truth_information 6.3x less (10^6; at 10^7 a HEAD call took 6 s of CPU on
three threads, now 0.48 s), binned_weights 3.9x less, cross sections unchanged (0.37 s per 10^7, 1.3 GB/s of
CPU: the reader 1.1 ms + sums and Gram 1.2 ms per 4.8 MB chunk). The bound column leaves out the crc32c's
GIL (above): with it, cross sections are bounded near 1.7x on two threads, truth and binned near 1.8x.

Against MadMiner 0.9.6 (10^6 events, ``/tmp/tmpwvffy24f``: its HDF5 file and the imported store; MadMiner's
time of the call only, ours in-process with the store imported; interleaved, medians of 3, load ~10):
``truth_information`` at the SM 35.25 s vs 0.124 s = 284x (was 52x; results equal to 1.3e-16), cross
sections at 100 thetas 5.03 s vs 0.112 s = 45x (was 27x; equal to 4.4e-16). Our cross sections take 0.037 s
of CPU on that store (0.11 s of wall time at load 10 is waiting for a core); the >= 50x target needs a
quieter machine than today's to show.

Cross sections at 100 thetas, 10^6 events (issue 25's row, 2026-12-07, load 5.3-5.7 -- five jobs on two
cores, so wall times are inflated; medians of 21 calls per process, processes interleaved before / after
three times; HEAD = the ``git worktree`` of the previous commit):

==========================================================  =============  ==============  =========
path                                                         median s       CPU s / call    vs HEAD
==========================================================  =============  ==============  =========
HEAD: dask graph, threaded scheduler, read + decode           0.023-0.073    0.029-0.041     1
now, store written before (no entries): thread pool, read     0.024-0.032    0.027-0.036     ~1
now, store written now: recorded moments + crc32c check       0.0053-0.0070  0.0053-0.0085   4-6x
==========================================================  =============  ==============  =========

"Recorded moments": ``EventStore.append`` records per chunk the weight sums and Gram matrix beside the
chunk's crc32c (:mod:`columnminer.io.store_moments`); cross sections then read and checksum each chunk
file (damage still raises) without decoding it. Results are bit-identical to HEAD (the same per-chunk
numbers, summed in the same order; max relative difference 0.0). Same run, MadMiner 0.9.6
``DataAnalyzer.xsecs`` 5.14 s (median of 3, load 5.1-6.0) vs 0.0063 s = 819x (read path 0.037 s = 140x);
results agree to 8.2e-16. Stores built before this change (e.g. ``/tmp/bench-full/work``) have no entries:
rebuild them to see the fast path.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import sin_work, thread_ceiling

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


def interleaved(
    tests: dict[Any, Callable[[], object]], repeats: int, cpu: dict[Any, tuple[float, float]] | None = None
) -> dict[Any, float]:
    """Median seconds of every test, the tests run in turn ``repeats`` times (after one warm-up round).

    ``cpu``, when given, receives per test the medians of (CPU seconds of this process, all threads; CPU
    seconds of the calling thread): load on a shared machine stretches wall times, hardly CPU times, and the
    calling thread's CPU (graph, scheduler, final sums: GIL held) is the part that threads cannot share."""
    times: dict[Any, list[float]] = {name: [] for name in tests}
    cpus: dict[Any, list[tuple[float, float]]] = {name: [] for name in tests}
    for round_ in range(repeats + 1):
        for name, fn in tests.items():
            process, thread = time.process_time(), time.thread_time()
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
                cpus[name].append((time.process_time() - process, time.thread_time() - thread))
    if cpu is not None:
        for name, values in cpus.items():
            cpu[name] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
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
    return {
        f"cross sections, {n_thetas} thetas": lambda c: cross_sections(store, thetas, client=c),
        f"cross-section gradients, {n_thetas} thetas": lambda c: cross_section_gradients(
            store, thetas, client=c
        ),
        "truth_information at the SM": lambda c: truth_information(store, "sm", 1.0, client=c),
        "binned_weights, 20 bins": lambda c: binned_weights(store, "x0", EDGES, client=c),
        "sample_train_local, 10^5 at the SM": lambda c: SampleAugmenter(store, client=c).sample_train_local(
            benchmark("sm"), 100_000, seed=1, write=False
        ),
    }


EDGES = np.linspace(-3, 3, 21)


# -- the kernels before (HEAD a8158fb), kept to measure them interleaved with the new ones --------------
def _before_truth(columns, c, dc):
    """``chunk_truth`` before: numpy and BLAS (``weights @ dc.T`` starts OpenBLAS threads)."""
    w, dw = columns.weights @ c, columns.weights @ dc.T
    keep = w > 0
    skipped = int(np.count_nonzero(~keep & ((w < 0) | np.any(dw != 0.0, axis=1))))
    w, dw = w[keep], dw[keep]
    f = (dw[:, :, None] * dw[:, None, :] / w[:, None, None]).reshape(len(w), -1)
    return f.sum(axis=0), f.T @ f, skipped


def _before_binned(columns, features, edges, flow):
    """``_chunk_binned`` before: 1 + B + B^2 ``np.bincount`` calls and an [n, B^2] temporary."""
    from columnminer.inference.binned import bin_index, feature_values

    values = feature_values(columns, features)
    n_bins, n_benchmarks = len(edges[0]) - 1, columns.weights.shape[1]
    flat, keep = bin_index(values, edges, flow)
    flat, w = flat[keep], columns.weights[keep]
    sums = np.stack([np.bincount(flat, w[:, b], minlength=n_bins) for b in range(n_benchmarks)], axis=1)
    outer = (w[:, :, None] * w[:, None, :]).reshape(len(w), n_benchmarks**2)
    gram = np.stack([np.bincount(flat, outer[:, k], minlength=n_bins) for k in range(outer.shape[1])], axis=1)
    return sums, gram, np.bincount(flat, minlength=n_bins), np.int64((~keep).sum())


def _before_chunk(chunk, fn, names, args):
    """``binned._run_chunk`` before (no cuts): the weights copied times ``chunk.scale``, then the kernel."""
    from columnminer.inference.binned import ChunkColumns

    return fn(ChunkColumns(names, chunk["observables"], chunk["weights"] * chunk.scale, chunk.rows), *args)


def before_tests(store: EventStore, n_thetas: int) -> dict[str, Callable[[object], object]]:
    """The same reductions as :func:`reduction_tests` the way HEAD ran them: one task per chunk and the
    kernels above (the results of the new code equal them: bit-identical, truth terms to 1e-13)."""
    from columnminer.inference import fisher_terms as fe
    from columnminer.store_chunks import map_chunks
    from columnminer.weights import (
        _chunk_moments,
        cross_sections_from_moments,
        theta_coefficients,
        theta_gradient_coefficients,
    )

    thetas = np.random.default_rng(1).uniform(-1, 1, size=(n_thetas, 2))
    names, columns = tuple(store.observable_names), ("observables", "weights")

    def moments(client):
        parts = map_chunks(store, _chunk_moments, client=client, per_task=1)
        return np.sum([p[0] for p in parts], axis=0), np.sum([p[1] for p in parts], axis=0)

    def truth(client):
        c, dc = fe.coefficients(store.setup, "sm")
        args = (_before_truth, names, (c, dc))
        parts = map_chunks(store, _before_chunk, *args, columns=columns, client=client, per_task=1)
        return np.sum([r[0] for r in parts], axis=0), np.sum([r[1] for r in parts], axis=0)

    def binned(client):
        args = (_before_binned, names, (["x0"], (EDGES,), True))
        parts = map_chunks(store, _before_chunk, *args, columns=columns, client=client, per_task=1)
        return np.sum([r[0] for r in parts], axis=0), np.sum([r[1] for r in parts], axis=0)

    return {
        f"cross sections, {n_thetas} thetas": lambda c: cross_sections_from_moments(
            *moments(c), theta_coefficients(store.setup, thetas)
        ),
        f"cross-section gradients, {n_thetas} thetas": lambda c: (
            theta_gradient_coefficients(store.setup, thetas) @ moments(c)[0]
        ),
        "truth_information at the SM": truth,
        "binned_weights, 20 bins": binned,
    }


CONFIGURATIONS = ("1 thread", "2 threads", "1 worker", "2 workers")


def scaling(
    store: EventStore,
    n_thetas: int,
    repeats: int,
    before: bool = True,
    cpu: dict[tuple[str, str, str], tuple[float, float]] | None = None,
) -> dict[tuple[str, str, str], float]:
    """Median seconds per (reduction, "before" / "after", configuration): every configuration of every
    reduction, before and after, in turn, repeat after repeat; plus the machine ceiling (np.sin). ``cpu``
    receives the CPU seconds (:func:`interleaved`)."""
    import dask
    from distributed import Client, LocalCluster

    sides = {"after": reduction_tests(store, n_thetas)}
    if before:
        sides["before"] = before_tests(store, n_thetas)
    clusters = {
        k: LocalCluster(
            n_workers=k,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        for k in (1, 2)
    }
    clients = {k: Client(cluster, set_as_default=False) for k, cluster in clusters.items()}
    logging.getLogger("distributed").setLevel(logging.ERROR)  # the workers' farewells are not results

    def threads(k: int, fn: Callable) -> Callable[[], object]:
        def run() -> object:
            with dask.config.set(num_workers=k):
                return fn(None)

        return run

    try:
        # what the machine allows right now: GIL-free numpy work on 1 and 2 threads / workers (on a shared
        # machine other jobs take cores; a reduction's speed-up can only be judged against this)
        ceiling = "machine ceiling: np.sin on 2 x 2e6 values"
        tests: dict[tuple[str, str, str], Callable[[], object]] = {}
        for k in (1, 2):
            tests[(ceiling, "after", CONFIGURATIONS[k - 1])] = lambda k=k: thread_ceiling(k)
            tests[(ceiling, "after", CONFIGURATIONS[k + 1])] = lambda k=k: clients[k].gather(
                clients[k].map(sin_work, range(2), pure=False)
            )
        for name in sides["after"]:
            for side, reductions in sides.items():
                if name not in reductions:
                    continue
                for k in (1, 2):
                    tests[(name, side, CONFIGURATIONS[k - 1])] = threads(k, reductions[name])
                    tests[(name, side, CONFIGURATIONS[k + 1])] = lambda fn=reductions[name], k=k: fn(
                        clients[k]
                    )
        return interleaved(tests, repeats, cpu)
    finally:
        for client in clients.values():
            client.close()
        for cluster in clusters.values():
            cluster.close()


#: MadMiner's side (its venv): argv = kind ("xsecs" or "truth"), the HDF5 file, thetas (JSON); the time of
#: the call only (the analyzer is made, and its file opened, before the clock starts).
MADMINER_CALL = """
import json, logging, sys, time
import numpy as np
logging.basicConfig(level=logging.WARNING)
kind, h5, thetas = sys.argv[1], sys.argv[2], np.array(json.loads(sys.argv[3]), dtype=float)
if kind == "truth":
    from madminer.fisherinformation import FisherInformation
    analyzer = FisherInformation(h5)
    start = time.perf_counter()
    result, _ = analyzer.truth_information(theta=np.zeros(thetas.shape[1]), luminosity=3e5,
                                           include_nuisance_parameters=False)
else:
    from madminer.analysis import DataAnalyzer
    analyzer = DataAnalyzer(h5)
    start = time.perf_counter()
    result, _ = analyzer.xsecs(thetas=list(thetas), partition="all")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "result": np.asarray(result).tolist()}))
"""


def madminer_comparison(python: str, h5: str, store_url: str, repeats: int = 3) -> dict[str, dict]:
    """Cross sections at 100 thetas and ``truth_information`` at the SM: MadMiner 0.9.6 (in its own venv,
    the time of its call only) against columnminer (in-process, store already imported), interleaved
    (MadMiner, ours, MadMiner, ours, ...), medians of ``repeats``; with the largest relative difference."""
    import json
    import subprocess

    from columnminer.inference.fisher import truth_information
    from columnminer.weights import cross_sections

    store = EventStore.open(store_url)
    thetas = np.random.default_rng(0).uniform(-1, 1, size=(100, 2))
    ours = {
        "xsecs": lambda: cross_sections(store, list(thetas))[0],
        "truth": lambda: truth_information(store, np.zeros(2), luminosity=3e5).information,
    }
    out = {}
    for kind, fn in ours.items():
        mine, theirs, result = fn(), [], None
        times = []
        for _ in range(repeats):
            command = [python, "-c", MADMINER_CALL, kind, h5, json.dumps(thetas.tolist())]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            answer = json.loads(done.stdout.strip().splitlines()[-1])
            theirs.append(answer["seconds"])
            result = np.asarray(answer["result"])
            start = time.perf_counter()
            mine = fn()
            times.append(time.perf_counter() - start)
        ratio = statistics.median(theirs) / statistics.median(times)
        difference = float(np.max(np.abs(mine - result)) / np.max(np.abs(result)))
        out[kind] = {
            "madminer_s": statistics.median(theirs),
            "columnminer_s": statistics.median(times),
            "ratio": ratio,
            "max_rel_difference": difference,
        }
    return out


def measure(
    n_events: int = 10_000_000,
    repeats: int = 3,
    quick: bool = False,
    *,
    n_thetas: int = 1000,
    parts: tuple[str, ...] = ("codecs", "reads", "scaling"),
    before: bool = True,
    madminer: str | None = None,
    madminer_h5: str = "/tmp/tmpwvffy24f/events.h5",
    madminer_store: str = "/tmp/tmpwvffy24f/big.zarr",
) -> dict:
    """Every number of the tables: ``{"n_events", "repeats", "load_before" / "load_after": load averages,
    "codecs": [[codec, data, size / raw, decode GB/s, encode GB/s]], "reads": {read: MB/s}, "scaling":
    {reduction: {"after" / "before": {configuration: seconds}}}, "cpu": the same with (process CPU s,
    calling thread CPU s), "speedups": {reduction: {side: {"threads": x, "workers": x}}}, "madminer":
    {"xsecs" / "truth": {"madminer_s", "columnminer_s", "ratio", "max_rel_difference"}}}`` (``quick``:
    10^6 events, 2 repeats, no codec table; MadMiner only when its python is given)."""
    if quick:
        n_events, repeats, parts = 1_000_000, 2, tuple(p for p in parts if p != "codecs")
    out: dict = {"n_events": n_events, "repeats": repeats, "load_before": list(os.getloadavg())}
    if "codecs" in parts:
        out["codecs"] = [list(row) for row in codec_table(max(repeats, 5))]
    workdir = Path(tempfile.mkdtemp(prefix="cm-bench-reductions-"))
    try:
        store = build_store(workdir / "now.zarr", n_events)
        megabytes = store.n_events * 6 * 8 / 1e6
        if "reads" in parts:
            before_store = build_store(workdir / "before.zarr", n_events, previous_codec=True)
            reads = interleaved(
                read_tests({"blosc lz4 + crc32c": store, "zstd, before": before_store}), repeats
            )
            out["reads"] = {name: megabytes / seconds for name, seconds in reads.items()}
        if "scaling" in parts:
            cpu: dict = {}
            times = scaling(store, n_thetas, repeats, before, cpu)
            table: dict = {}
            cpu_table: dict = {}
            for (name, side, configuration), seconds in times.items():
                table.setdefault(name, {}).setdefault(side, {})[configuration] = seconds
                cpu_table.setdefault(name, {}).setdefault(side, {})[configuration] = cpu[
                    (name, side, configuration)
                ]
            out["scaling"], out["cpu"] = table, cpu_table
            out["speedups"] = {
                name: {
                    side: {
                        "threads": t["1 thread"] / t["2 threads"],
                        "workers": t["1 worker"] / t["2 workers"],
                    }
                    for side, t in sides.items()
                }
                for name, sides in table.items()
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if madminer:
        out["madminer"] = madminer_comparison(madminer, madminer_h5, madminer_store, repeats)
    out["load_after"] = list(os.getloadavg())
    return out


def print_tables(result: dict) -> None:
    """The tables of :func:`measure`'s numbers, as the docstring shows them."""
    print(f"load average {result['load_before']} -> {result['load_after']}")
    if "codecs" in result:
        print(f"\n{'codec':28s} {'data':12s} {'size/raw':>8s} {'decode GB/s':>11s} {'encode GB/s':>11s}")
        for codec, data, ratio, decode, encode in result["codecs"]:
            print(f"{codec:28s} {data:12s} {ratio:8.2f} {decode:11.2f} {encode:11.2f}")
    if "reads" in result:
        print(f"\nreads of the weights, one thread, page cache, median of {result['repeats']}")
        for name, rate in result["reads"].items():
            print(f"{name:52s} {rate:8.0f} MB/s")
    if "scaling" in result:
        print(
            f"\nreductions over {result['n_events']:,} events, seconds, median of {result['repeats']} interleaved"
        )
        header = "1 thr  2 thr  x     1 wk   2 wk   x"
        print(f"{'reduction':40s} {'before: ' + header:44s} {'after: ' + header}")
        for name, sides in result["scaling"].items():
            cells = []
            for side in ("before", "after"):
                t = sides.get(side)
                if t is None:
                    cells.append(" " * 44)
                    continue
                x = result["speedups"][name][side]
                values = (
                    t["1 thread"],
                    t["2 threads"],
                    x["threads"],
                    t["1 worker"],
                    t["2 workers"],
                    x["workers"],
                )
                cells.append(" ".join(f"{v:6.3f}" for v in values).ljust(44))
            print(f"{name:40s} " + " ".join(cells))
    if "cpu" in result:
        print("\nCPU seconds (this process, all threads) on 1 and 2 threads; the calling thread's share on 2")
        print("threads (graph, scheduler, sums: GIL held) and the speed-up it allows, 1 / (s + (1 - s) / 2)")
        print(
            f"{'reduction':40s} {'side':6s} {'cpu 1 thr':>9s} {'cpu 2 thr':>9s} {'serial':>7s} {'bound':>6s}"
        )
        for name, sides in result["cpu"].items():
            for side, c in sides.items():
                if name.startswith("machine"):
                    continue
                serial = c["2 threads"][1] / max(c["2 threads"][0], 1e-9)
                bound = 1.0 / (serial + (1.0 - serial) / 2.0)
                row = f"{c['1 thread'][0]:9.3f} {c['2 threads'][0]:9.3f} {serial:7.1%} {bound:6.2f}"
                print(f"{name:40s} {side:6s} {row}")
    for kind, row in result.get("madminer", {}).items():
        print(
            f"\nMadMiner {kind}: {row['madminer_s']:.3f} s, columnminer {row['columnminer_s']:.4f} s, "
            f"{row['ratio']:.0f}x (results differ by {row['max_rel_difference']:.1e} relative)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--thetas", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10^6 events, 2 repeats, no codec table")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: codecs, reads, scaling")
    parser.add_argument("--no-before", action="store_true", help="only the current kernels")
    parser.add_argument("--madminer", help="MadMiner's python: compare on --madminer-h5 / --madminer-store")
    parser.add_argument("--madminer-h5", default="/tmp/tmpwvffy24f/events.h5")
    parser.add_argument("--madminer-store", default="/tmp/tmpwvffy24f/big.zarr")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(default)')}")
    result = measure(
        args.events,
        args.repeats,
        args.quick,
        n_thetas=args.thetas,
        parts=tuple(p for p in ("codecs", "reads", "scaling") if p not in skip),
        before=not args.no_before,
        madminer=args.madminer,
        madminer_h5=args.madminer_h5,
        madminer_store=args.madminer_store,
    )
    print_tables(result)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
