"""Seconds per call of store passes on a plain ``LocalCluster`` (as a user makes one) and in process.

For each of cross sections (``--thetas`` points), ``truth_information`` at the SM and ``sample_train_local``
(10^5 samples at the SM), on the golden store of ``--events`` events (``_common.golden_store``, built in
``--workdir`` on first use): the median of ``--repeats`` calls in this process on one thread, then on a
``LocalCluster(n_workers=k, threads_per_worker=1)`` for k = 1 and 2 with dask's default settings (no
``DASK_WORKER_CONFIG``), each call after a warm-up call. The columnminer that runs is the one imported: put
a git worktree of another commit first on ``PYTHONPATH`` to time that commit with the same script; the
table names the imported package's folder and commit.

Run: ``python benchmarks/cluster_calls.py [--events 10000000] [--repeats 5] [--workdir /tmp/bench]``
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
from _common import golden_store


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _calls(store, n_thetas: int) -> dict:
    from columnminer.inference.fisher import truth_information
    from columnminer.sampling import SampleAugmenter, benchmark
    from columnminer.weights import cross_sections

    thetas = np.random.default_rng(1).uniform(-1, 1, size=(n_thetas, 2))
    return {
        f"cross sections, {n_thetas} thetas": lambda c: cross_sections(store, thetas, client=c),
        "truth_information at the SM": lambda c: truth_information(store, "sm", 1.0, client=c),
        "sample_train_local, 10^5 at the SM": lambda c: SampleAugmenter(store, client=c).sample_train_local(
            benchmark("sm"), 100_000, seed=1, write=False
        ),
    }


def main() -> None:
    import dask
    from distributed import Client, LocalCluster

    import columnminer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--thetas", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", default="/tmp/bench-new")
    args = parser.parse_args()
    store = golden_store(Path(args.workdir) / f"golden_{args.events}.zarr", args.events)
    calls = _calls(store, args.thetas)
    where = Path(columnminer.__file__).resolve().parents[2]
    commit = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    rows = {name: {} for name in calls}
    with dask.config.set(num_workers=1):
        for name, fn in calls.items():
            rows[name]["in process, 1 thread"] = _median_seconds(lambda fn=fn: fn(None), args.repeats)
    for k in (1, 2):
        with (
            LocalCluster(
                n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            for name, fn in calls.items():
                seconds = _median_seconds(lambda fn=fn, c=client: fn(c), args.repeats)
                rows[name][f"{k}-worker LocalCluster"] = seconds
    print(f"columnminer from {where} ({commit.stdout.strip() or 'no git'}), {args.events:.0e} events")
    columns = ["in process, 1 thread", "1-worker LocalCluster", "2-worker LocalCluster"]
    print("| call | " + " | ".join(columns) + " | 1 worker / 2 workers |")
    print("|---" * (len(columns) + 2) + "|")
    for name, row in rows.items():
        ratio = row["1-worker LocalCluster"] / row["2-worker LocalCluster"]
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f} s" for c in columns) + f" | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
