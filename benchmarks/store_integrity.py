"""Cost of the store's integrity machinery: writer lock, metadata re-read, checksums, chunk-presence checks.

Compares, in one process run on the same data:
- appends: ``EventStore.append`` one at a time (each takes the lock and re-reads the metadata), inside one
  ``store.writing()`` block (lock taken once), and a bare zarr resize + write of the same arrays (no lock, no
  provenance: the floor);
- reads of the weights: ``EventStore.read`` (chunk-presence check + zstd checksum verification) against
  ``zarr`` reading the same array directly, and ``EventStore.verify()`` over the whole store.
Prints a table (median of repeats): operations/s or MB/s, and the ratio to the bare zarr reference.

Usage: python benchmarks/store_integrity.py [--rows 2000000] [--appends 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr
from _common import median_time

from columnminer.demo import golden_channel_setup
from columnminer.io.store import EventStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    setup = golden_channel_setup()
    root = Path(tempfile.mkdtemp(prefix="store-bench-"))
    rng = np.random.default_rng(0)
    rows = 1000
    obs, w = rng.normal(size=(rows, 4)), rng.uniform(0.5, 1.5, size=(rows, 6))
    results = []
    try:

        def appends_single():
            store = EventStore.create(str(root / f"a{time.perf_counter_ns()}.zarr"), setup, list("abcd"))
            for _ in range(args.appends):
                store.append(obs, w, 0)

        def appends_held():
            store = EventStore.create(str(root / f"b{time.perf_counter_ns()}.zarr"), setup, list("abcd"))
            with store.writing():
                for _ in range(args.appends):
                    store.append(obs, w, 0)

        def appends_bare():
            group = zarr.open_group(str(root / f"c{time.perf_counter_ns()}.zarr"), mode="w")
            arrays = {
                "observables": group.create_array(
                    "observables", shape=(0, 4), chunks=(100_000, 4), dtype="f8"
                ),
                "weights": group.create_array("weights", shape=(0, 6), chunks=(100_000, 6), dtype="f8"),
                "sampled_from": group.create_array("sampled_from", shape=(0,), chunks=(100_000,), dtype="i2"),
            }
            data = {"observables": obs, "weights": w, "sampled_from": np.zeros(rows, dtype=np.int16)}
            for k in range(args.appends):
                for name, array in arrays.items():
                    array.resize((rows * (k + 1), *array.shape[1:]))
                    array[rows * k : rows * (k + 1)] = data[name]
                group.attrs["n_events"] = rows * (k + 1)

        bare = median_time(appends_bare, args.repeats, warmup=False)
        for label, fn in (
            ("append, lock per append", appends_single),
            ("append, one writing() block", appends_held),
        ):
            t = median_time(fn, args.repeats, warmup=False)
            results.append((label, f"{args.appends / t:,.0f} appends/s", t / bare))
        results.append(("bare zarr resize + write", f"{args.appends / bare:,.0f} appends/s", 1.0))

        big = EventStore.create(str(root / "big.zarr"), setup, list("abcd"))
        weights = rng.uniform(0.5, 1.5, size=(args.rows, 6))
        big.append(np.zeros((args.rows, 4)), weights, 0)
        mb = weights.nbytes / 2**20
        plain = zarr.open_group(str(root / "big.zarr"), mode="r")["weights"]
        t_plain = median_time(lambda: plain[:], args.repeats)
        t_read = median_time(lambda: big.read("weights"), args.repeats)
        t_verify = median_time(big.verify, max(1, args.repeats // 2), warmup=False)
        results.append(("EventStore.read weights (checked)", f"{mb / t_read:,.0f} MB/s", t_read / t_plain))
        results.append(("zarr read of the same array", f"{mb / t_plain:,.0f} MB/s", 1.0))
        all_mb = mb + args.rows * (4 * 8 + 2) / 2**20
        results.append(("EventStore.verify (all arrays)", f"{all_mb / t_verify:,.0f} MB/s", None))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'operation':36s} {'rate':>18s} {'time / bare zarr':>17s}")
    for label, rate, ratio in results:
        print(f"{label:36s} {rate:>18s} {'' if ratio is None else f'{ratio:.2f}':>17s}")


if __name__ == "__main__":
    main()
