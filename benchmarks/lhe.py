"""LHE reading throughput of columnminer against pylhe, file by file.

For every LHE file in ``tests/data/lhe/`` (or the files given on the command line) print:

- columnminer ``read_lhe``: median wall time, MB/s (bytes on disk and decompressed), events/s;
- pylhe on the same file, two ways: ``pylhe.to_awkward`` of its event iterator (the same product: an
  awkward array of events, particles and weights) and a bare pass over its ``LHEEvent`` objects;
- the speed-up of columnminer over each (ratio of medians, measured interleaved in one run);
- peak memory: growth of the resident set (sampled every 0.5 ms from /proc) of a fresh process, after
  imports and a warm-up on a two-event file, doing one ``read_lhe``, one pass of ``iterate_lhe`` with
  a small ``step_size``, or pylhe's ``to_awkward`` (resident memory rather than tracemalloc, because
  pylhe's awkward builder allocates outside Python's allocator);
- the same for a synthetic file holding the 10k Z events ten times over (no pylhe there): iterating
  keeps memory flat while reading everything grows with the file.

Run: ``python benchmarks/lhe.py [--repeats 5] [--step-size 2000] [--big-copies 10] [FILES...]``

Issue 25, item 3 (parallel whole-file read, ``columnminer.io._lhe_parallel``). 200k golden-channel events
(10 x 20k generator events, 450 MB plain / 102 MB gzip level 1, 232 MB of returned arrays), a fresh process
per measurement, 2-core machine shared with other users (load average 5-6 throughout, so the times are
noisy and 2 threads could not show their gain; rerun on a quiet machine). Times in s (one row = one
interleaved round), peak = RSS growth in MiB:

=============================  ======  ======  ===========  ========  ================================
file                           before  after   after, 1 th  iterate   peak before / after / iterate
=============================  ======  ======  ===========  ========  ================================
plain 450 MB, round 1          3.65    3.66    2.44         2.44      705 / 278 / 520  (arrays 232)
gzip 102 MB, round 1           5.78    4.53    4.55         2.89      641 / 293 / 500
=============================  ======  ======  ===========  ========  ================================

Peak memory of ``read_lhe`` went from 3.0x to 1.19x (plain) / 1.26x (gzip) the returned arrays; arrays equal
to the sequential reader's for every test file (tests/io/test_lhe_parallel.py). Throughput targets
(>= 600 MB/s on 2 cores) are not demonstrated: measure again when the machine is quiet.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from columnminer.io.lhe import read_lhe

try:
    import pylhe
except ImportError:  # pragma: no cover - the benchmark then shows columnminer alone
    pylhe = None

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def pylhe_awkward(path: str):
    """pylhe's route to an awkward array: parse events with ElementTree, fill an ArrayBuilder."""
    return pylhe.to_awkward(pylhe.LHEFile.fromfile(path).events)


def pylhe_events(path: str) -> int:
    """pylhe's event objects only (no awkward conversion): count them."""
    return sum(1 for _ in pylhe.LHEFile.fromfile(path).events)


_MEMORY_PROBE = """
import os, sys, threading, time
import pylhe
from columnminer.io.lhe import example_lhe_file, iterate_lhe, read_lhe
mode, path, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
tiny = example_lhe_file()
read_lhe(tiny); pylhe.to_awkward(pylhe.LHEFile.fromfile(tiny).events)
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * page
base = peak = rss()
done = False
def sample():
    global peak
    while not done:
        peak = max(peak, rss())
        time.sleep(0.0005)
t = threading.Thread(target=sample); t.start()
if mode == "read":
    out = read_lhe(path)
elif mode == "iter":
    out = sum(len(c) for c in iterate_lhe(path, step_size=step))
else:
    out = pylhe.to_awkward(pylhe.LHEFile.fromfile(path).events)
peak = max(peak, rss()); done = True; t.join()
print((peak - base) / 2**20)
"""


def peak_mib(mode: str, path: str, step: int) -> float:
    """Growth of the resident memory (MiB) of a fresh process during one read (``mode``)."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, mode, path, str(step)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def raw_size(path: Path) -> int:
    """Decompressed size of a file."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return len(fh.read())
    return path.stat().st_size


def make_big(src: Path, copies: int, out: Path) -> Path:
    """A gzip file holding the events of ``src`` ``copies`` times (same header), for the memory check."""
    data = gzip.open(src).read() if src.suffix == ".gz" else src.read_bytes()
    first = data.index(b"<event")
    last = data.rindex(b"</event>") + len(b"</event>\n")
    with gzip.open(out, "wb", compresslevel=1) as fh:
        fh.write(data[:first])
        for _ in range(copies):
            fh.write(data[first:last])
        fh.write(b"</LesHouchesEvents>\n")
    return out


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn()``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--step-size", type=int, default=2000)
    parser.add_argument("--big-copies", type=int, default=10, help="0 skips the large synthetic file")
    args = parser.parse_args(argv)
    files = args.files or sorted(p for p in (DATA / "lhe").glob("*.lhe*") if not p.name.endswith(".readme"))
    if not files:
        print(f"no LHE files found under {DATA / 'lhe'}", file=sys.stderr)
        return 1
    read_lhe(files[0])  # compile / load the numba kernel once
    head = (
        f"{'file':42} {'events':>6} {'MB':>6} {'cm ms':>7} {'MB/s':>6} {'MB/s raw':>8} {'ev/s':>9} "
        f"{'pylhe-ak ms':>11} {'x':>6} {'pylhe ms':>9} {'x':>6} {'peak cm':>8} {'iter':>6} {'pylhe':>7}"
    )
    print(head)
    print("-" * len(head))
    for path in files:
        p = str(path)
        size = path.stat().st_size / 1e6
        raw = raw_size(path) / 1e6
        n = len(read_lhe(p))
        t_cm, t_ak, t_ev = [], [], []
        for _ in range(args.repeats):  # interleaved, so that load from other processes hits all alike
            t_cm.append(timed(lambda p=p: read_lhe(p), 1))
            if pylhe is not None:
                t_ak.append(timed(lambda p=p: pylhe_awkward(p), 1))
                t_ev.append(timed(lambda p=p: pylhe_events(p), 1))
        cm = statistics.median(t_cm)
        ak_ = statistics.median(t_ak) if t_ak else float("nan")
        ev = statistics.median(t_ev) if t_ev else float("nan")
        mem_cm = peak_mib("read", p, args.step_size)
        mem_it = peak_mib("iter", p, args.step_size)
        mem_py = peak_mib("pylhe", p, args.step_size) if pylhe is not None else float("nan")
        print(
            f"{path.name[:42]:42} {n:6d} {size:6.2f} {cm * 1e3:7.1f} {size / cm:6.0f} {raw / cm:8.0f} "
            f"{n / cm:9.0f} {ak_ * 1e3:11.1f} {ak_ / cm:6.1f} {ev * 1e3:9.1f} {ev / cm:6.1f} "
            f"{mem_cm:7.1f}M {mem_it:5.1f}M {mem_py:6.1f}M"
        )
    big_src = DATA / "lhe" / "testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
    if args.big_copies > 0 and big_src.exists():
        with tempfile.TemporaryDirectory() as tmp:
            big = make_big(big_src, args.big_copies, Path(tmp) / "z_big.lhe.gz")
            n = len(read_lhe(big))
            cm = timed(lambda: read_lhe(big), max(1, args.repeats // 2))
            size = big.stat().st_size / 1e6
            raw = raw_size(big) / 1e6
            mem_cm = peak_mib("read", str(big), args.step_size)
            mem_it = peak_mib("iter", str(big), args.step_size)
            name = f"Z-mlm x{args.big_copies} (synthetic, no pylhe)"
            print(
                f"{name:42} {n:6d} {size:6.2f} {cm * 1e3:7.1f} {size / cm:6.0f} {raw / cm:8.0f} "
                f"{n / cm:9.0f} {'-':>11} {'-':>6} {'-':>9} {'-':>6} {mem_cm:7.1f}M {mem_it:5.1f}M {'-':>7}"
            )
    print(
        "\ncm = columnminer.read_lhe; pylhe-ak = pylhe.to_awkward(LHEFile.fromfile(path).events); pylhe = "
        "iterating LHEFile.fromfile(path).events;\nx = pylhe time / columnminer time (medians of "
        f"{args.repeats} interleaved repeats); MB = size on disk, MB/s raw = decompressed bytes per second;\n"
        f"peak = RSS growth in a fresh process; iter = iterate_lhe(step_size={args.step_size})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
