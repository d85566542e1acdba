"""Where a whole-file LHE read spends its time: thread CPU time per stage, wall time and process CPU time.

For each MadGraph test file (or the files given), ``read_lhe``'s parallel reader (``columnminer.io._lhe_parallel``)
is run ``--repeats`` times after a warm-up with its stages wrapped to add up the CPU time of the thread that runs
them (``time.thread_time``): the inflate thread's reads (ISA-L), the header parse, the numba kernel calls (in the
parse threads), the checks of the kernel results, the copies into the final columns and the awkward assembly;
"other" is the process's CPU time (``time.process_time``, all threads) minus those. Wall and process CPU time are
measured in separate unwrapped runs. Medians per read, milliseconds.

Run: ``python benchmarks/lhe_stages.py [--repeats 20] [FILES...]``

2026-12-07 19:35 UTC, 2-core VM, load ~1.2 (minutes after the benchmark table of benchmarks/README.md)::

    file                                      wall    cpu inflate  header  kernel  finish     add   build   other
    testfile-madgraph-2.0.0-wbj.lhe           1.03   1.02    0.00    0.48    0.11    0.02    0.06    0.24    0.27
    testfile-madgraph-2.2.1-Z-mlm.lhe.gz     15.31  21.23    6.92    0.42   11.52    0.30    1.12    0.47    2.30
    testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz 11.86  15.41    4.28    1.15    5.80    0.43    0.61    1.03    1.82

The two cores are busy about 70 % of the read of a gzip file: the header is parsed before any block exists, the
awkward arrays are assembled after the last one, and the inflate thread is the critical path of the Z+jets file.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import columnminer.io._lhe_parallel as parallel
from columnminer.io._lhe_read import LHEChunkReader
from columnminer.io._lhe_source import ByteSource

LHE_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "lhe"
STAGES = ("inflate", "header", "kernel", "finish", "add", "build")


def _wrapped(totals: dict[str, float]) -> list[tuple[object, str, object]]:
    """Wrap the stages so that each adds its thread's CPU time to ``totals``; the originals, to restore."""

    def wrap(owner: object, name: str, stage: str) -> tuple[object, str, object]:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                totals[stage] = totals.get(stage, 0.0) + time.thread_time() - start

        setattr(owner, name, timed)
        return owner, name, original

    return [
        wrap(ByteSource, "_read", "inflate"),
        wrap(parallel, "read_header", "header"),
        wrap(LHEChunkReader, "call_kernel", "kernel"),
        wrap(LHEChunkReader, "finish", "finish"),
        wrap(parallel._Columns, "add", "add"),
        wrap(parallel._Columns, "build", "build"),
    ]


def stages(path: Path, repeats: int) -> dict[str, float]:
    """Median milliseconds per read of ``path``: wall, cpu (process), and the CPU time of each stage."""
    parallel.read_all(path)
    walls, cpus = [], []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        parallel.read_all(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    totals: dict[str, float] = {}
    originals = _wrapped(totals)
    try:
        cpu = time.process_time()
        for _ in range(repeats):
            parallel.read_all(path)
        wrapped_cpu = time.process_time() - cpu
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    out = {"wall": statistics.median(walls) * 1e3, "cpu": statistics.median(cpus) * 1e3}
    out |= {stage: totals.get(stage, 0.0) / repeats * 1e3 for stage in STAGES}
    out["other"] = (wrapped_cpu - sum(totals.values())) / repeats * 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    files = args.files or sorted(
        p for p in LHE_DATA.glob("*madgraph*.lhe*") if not p.name.endswith(".readme")
    )
    print(f"{'file':42s} {'wall':>6s} {'cpu':>6s} " + " ".join(f"{s:>7s}" for s in (*STAGES, "other")))
    for path in files:
        row = stages(path, args.repeats)
        values = " ".join(f"{row[s]:7.2f}" for s in (*STAGES, "other"))
        print(f"{path.name:42s} {row['wall']:6.2f} {row['cpu']:6.2f} {values}")


if __name__ == "__main__":
    main()
