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

``run()`` returns the numbers as a dict for ``benchmarks/run.py``: per MadGraph file (10k Z events, 1k pp -> jj
events) columnminer, pylhe and their ratio; on a ~300 MB plain file, MB/s of ``read_lhe`` on 1 and 2 threads and of
``iterate_lhe`` and the peak memory over the returned arrays (fresh processes, interleaved, medians).

Issue 25, item 3. First round (parallel whole-file read, ``columnminer.io._lhe_parallel``): 200k golden-channel
events (450 MB plain / 102 MB gzip), read_lhe 3.66 s (2.44 s on 1 thread), iterate_lhe 2.44 s; peak 1.19x the
arrays.

Second round (blocks read into a pool of reused buffers, ``readinto`` for plain text, columns copied straight
into preallocated final arrays, no concatenation at the end, no per-block ``malloc_trim``). 160k golden-channel
events (``columnminer simulate golden`` 20k x 8, 296 MB plain / 67 MB gzip level 1, 175 MiB of arrays); HEAD
(``git worktree``) and this tree alternated, fresh process per run, 2-core machine with load average 8-12
throughout (seven sessions), so wall times swing 2-3x from run to run and CPU seconds (all threads) are the
usable measure:

====================================  ==========  ==========  =======
plain 296 MB, 1 thread                before      after       ratio
====================================  ==========  ==========  =======
read_lhe CPU s (3 runs, median)       1.60        1.03        1.55x
iterate_lhe CPU s (1 run)             1.51        1.20        1.26x
read_lhe peak / arrays (1 thread)     1.22        1.16
read_lhe peak / arrays (2 threads)    1.30        1.23
gzip: read_lhe peak / arrays (2 th)   1.34        1.30
====================================  ==========  ==========  =======

Per-stage CPU of one whole-file read (1 thread, after): kernel 0.80-0.95 s (the parse proper, 330-440 MB/s per
core depending on load), copying into the final columns 0.2 s (mostly first-touch page faults of the 175 MiB
of output), everything else < 0.02 s; before, ``_blocks`` spent 0.32 s copying and re-allocating the text
(``data[pos:] + new``), the final concatenation 0.14-0.44 s and ``malloc_trim`` 0.03 s. So read_lhe now
costs less CPU than iterate_lhe, and its 2 threads scale with the kernel. Still open: the kernel itself
(330-440 MB/s a core; 600 MB/s on 2 cores needs ~300 MB/s a core for the whole read, so it should be met on a
quiet machine but with no margin; not measurable here). Tried and dropped, no gain within the noise: SWAR
8-digit mantissa parsing (simdjson's, arXiv:1902.08318) and ``inline="always"`` for the token parser (+12 %
at best, but a 60 s compile). Small files: Z-mlm (10 MB text, 1.5 MB gzip) costs 45-52 ms CPU before and
after (libdeflate 9 ms, kernel 27 ms, columns 4 ms), so the pylhe ratio stays at 15-30x (pylhe 0.8-0.9 s CPU):
the >= 50x target needs a kernel about twice as fast.

Third round (issue 25 item 3, the lhe_pylhe row): gzip inflated by ISA-L (python-isal, a new dependency; zlib and
libdeflate stay as the fallback, identical arrays) in ``ByteSource``'s background thread and parsed in the
decompressed chunks themselves (complete events in place, the event cut between two chunks from a small bridge),
so inflating overlaps the parse from the first megabyte on and the text is never copied; for texts up to 64 MB all
final columns in one buffer (numpy backs it with huge pages: 4026 -> 165 page faults per read of the Z file) and
the weights copied as one [ids, events] block (145 ids in pp -> jj); no ``malloc_trim`` below 64 MB; the thread
pool kept between reads; the event-count estimate from the bytes each piece took (not the whole block on its first
piece, which made early estimates 16x short and the columns regrow); two digits a step in the kernel's mantissa
loop (6 % less kernel time). Arrays bit-identical to before on every file of tests/data/lhe, on a 100 MB plain and
gzip file, and the same errors (an ISA-L read that gives up is retried as without python-isal).

HEAD (``git worktree``) and this tree alternated in fresh processes, 6 rounds of 7 repeats, medians, 2-core
machine shared with four other sessions (load average 3.4-4.0 throughout, so wall times are 1.5-3x the quiet
ones; CPU seconds of all threads are the steadier measure):

============================================  ============  ============  =======
3 MadGraph test files (read_lhe each)         before        after         ratio
============================================  ============  ============  =======
wall, wbj / Z-mlm / pp -> jj (ms)             7 / 90 / 55   2 / 37 / 26
wall, all three (ms)                          152           65            2.4x
CPU, all three, all threads (ms)              95            65            1.47x
main-thread CPU, Z-mlm / pp -> jj (ms)        9.4 / 10.1    5.3 / 7.3
============================================  ============  ============  =======

An earlier pair of runs at load 3.3: 79 -> 60 ms wall. pylhe.to_awkward on the three files took 1.63 s at that
load (1.19 s quiet), so about 25x here; quiet, the lead's table had 0.054 s for columnminer. What is left is the
kernel: 21.7 + 10.2 ms CPU of the 37 + 22 ms of the two gzip files (ISA-L inflate 5.5 + 3.8 ms, main thread
5 + 7 ms); two cores give at best about (37 + 22 + 1.4) / 2 = 30 ms, short of the 24 ms the >= 50x target needs,
so it takes a kernel about 1.5x faster. The 300 MB plain row (lhe_throughput) alternated twice at load 3.5:
HEAD 224 / 273 MB/s, this tree 270 / 224 MB/s (noise; only the kernel's 6 % touches that path), read/iterate
0.71-1.31x vs 0.82-0.88x, peak / arrays 1.18-1.20x vs 1.21-1.23x.

Fourth round (issue 25 item 3, the kernel per byte and per number): a particle or event-information line of
plain numbers is parsed in one pass by ``_lhe_tokens.fast_line`` (no call per token, one range test per digit,
the value m * 10^e or m / 10^-e with m < 2^53 and |e| <= 22: Clinger's exact fast path, bit-identical to
float()); anything else on the line (more than 18 digits, exponents beyond +-22 or of 4+ digits, 'd'
exponents, other token counts, non-integers in integer columns, odd bytes, the last 48 bytes of a block) sends
the line to the general parser as before. ``<wgt id='..'>`` tags are recognised without the attribute search
and their values go through the same fast token path (``number``), the ``</wgt>`` after them skipped.
Arrays bit-identical to HEAD on every file of tests/data/lhe (read_lhe and the 1-thread reader, sha256 of all
buffers); tests/io/test_lhe_fast_tokens.py checks ~12k adversarial and random tokens against parse_number and
float(). Kernel CPU alone (parse_events over the plain text in 4 MB blocks, 1 thread, HEAD worktree and this
tree alternated in fresh processes, 4 rounds, min of 9-15 repeats each; load average 1.5-3.5):

=============================================  ==========  ==========  =======
kernel CPU, 1 thread                           before      after       ratio
=============================================  ==========  ==========  =======
Z-mlm, 10.1 MB plain (ms)                      25.1-25.9   19.9-21.7   1.19-1.26x (1.66-1.94x medians at load 3.5)
pp -> jj, 6.2 MB plain, 145 wgt/event (ms)     11.0-11.2   9.9-10.0    1.11-1.12x
golden signal.lhe, 300 MB plain (ms)           689         503-512     1.35x (435 -> 590 MB/s a core)
=============================================  ==========  ==========  =======

Not reached yet: the >= 50x pylhe row needs more (pp -> jj is dominated by 145 ``<wgt>`` tags per event, ~60 ns
each); the whole-read rows were not rerun here (the lead's quiet benchmarks/run.py --only lhe_pylhe,lhe_throughput).

Fifth round (issue 25 item 3, round 3: fixed costs, overlap, the plain-text path). A timeline of one Z-mlm read
(time stamps in every thread) showed the pipeline stalling rather than the main thread being slow: the inflate
thread waited on its 2-block queue and the parse threads waited for the main thread, which blocked on the oldest
block before taking the next decompressed chunk, so that at most ~2 MB were ever in flight and each core sat idle
for 2-3 ms at a time. Now, for texts up to 16 MB, the inflate queue has no bound and every block is submitted as
soon as it exists; the main thread adds finished blocks as they complete (larger texts keep the bounded queue and
the one-block look-ahead: bounded memory). The first inflate call takes 64 kB of compressed input instead of a
quarter block, so that the header and the first events come out after ~0.3 ms instead of ~0.6 ms. The header is
parsed with cheaper equivalent code: ``<header>``, ``<init>``, ``<initrwgt>`` and ``<MGRunCard>`` found by two
literal-led searches instead of a lazy ``.*?`` (0.2 ms each per 20 kB), run-card lines by a ``\\n``-led pattern
(the same matches, checked on 300k random texts) instead of ``^`` with re.M, attributes by ``findall`` (0.7 ->
0.25 ms for pp -> jj's 145 weights): parse_header_text 0.73 / 0.64 / 1.77 ms -> 0.40 / 0.20 / 0.60 ms (wbj / Z-mlm
/ pp -> jj), LHEHeader objects equal to before on every file of tests/data/lhe. Large plain files are mapped
(``mmap``, private, so the arrays are writable as the compiled kernel expects) and parsed in place: no 300 MB
``readinto`` copy, and the pages already parsed are dropped (``madvise(MADV_DONTNEED)`` every 16 MB) so that
resident memory stays the arrays plus the blocks in flight; the pooled ``readinto`` path remains for files that
cannot be mapped. Arrays bit-identical to HEAD (sha256 of ak.to_buffers) for read_lhe, read_all on 1/2/3 threads,
iterate_lhe and invalid="drop" on every file of tests/data/lhe and for the 300 MB golden file (1 and 2 threads).

Measured on the shared 2-core machine with HEAD (``git worktree``) and this tree alternated in fresh processes;
the load average was 1.1-2.8 throughout (other sessions), i.e. often only about one core free, so wall times
swing 1.5-2x between rounds:

===========================================  ==============  ==============  =======
                                             before (HEAD)   after           ratio
===========================================  ==============  ==============  =======
3 MadGraph files, wall, 6 rounds x 15 reads  63.0 ms         58.6 ms         1.07x
wbj / Z-mlm / pp -> jj, wall (medians, ms)   2.4/34.1/25.9   1.7/32.7/23.5
same, CPU of all threads (ms)                2.4/38.6/27.3   1.7/30.3/22.2
same, main-thread CPU (ms, 3 rounds)         1.2-2.6/4.0-5.0 0.9-1.0/3.7-4.8
                                             /6.1-6.8        /5.3-5.9
golden 300 MB plain, read_lhe MB/s           438             632             1.44x
RSS growth / the 186 MB of arrays            1.17x           1.19x
===========================================  ==============  ==============  =======

(load 2.1-2.8 for the MadGraph rows; the 300 MB rows are medians of 7 fresh-process pairs of ``LHE_PROBE`` at
load 1.5-2.1, pair by pair 315/470, 390/570, 438/372, 420/632, 663/775, 732/788, 831/836 MB/s.) With so little
CPU free, the MadGraph rows mostly measure CPU, which the pipeline change does not cut: its gain, cores no longer
idle while blocks wait, needs the two cores that a quiet machine has (the lead's rerun will say).

Why the pylhe row (>= 50x, i.e. <= ~24 ms for the three files against pylhe's ~1.2 s) is still out of reach on
2 cores: the work that cannot go is ISA-L inflate (streamed: 6.0 ms Z-mlm, 3.9 ms pp -> jj, one thread) plus the
kernel (17 ms and 9.3 ms on one core, ~590 MB/s), 36 ms of CPU, plus the main thread's header, per-block checks
and copies into the final columns and the awkward assembly (~1 / 3.7 / 5.3 ms for wbj / Z-mlm / pp -> jj):
about 46 ms of CPU, so 23 ms with both cores busy from the first to the last microsecond -- and the header
(0.2-0.6 ms) and the first inflated megabyte (~0.6 ms) come before any parsing can start, the last block's
parse and the assembly (0.2-1.1 ms) after it. The best case on 2 quiet cores is thus ~25 ms, i.e. ~48x: the
>= 50x target needs a kernel about 1.3x faster per byte (or more cores).

Sixth round (issue 25 item 3, round 4: the kernel per byte, less main-thread work). Profiling the kernel on the
plain texts (perf samples mapped onto the compiled code; variants with parts of it cut out) showed neither the
digit loops nor the blank scans as the cost but numba's reference counting: every array handed to a helper,
``inline="always"`` or not, costs an ``NRT_incref`` / ``NRT_decref`` pair, two atomic calls that its pruning
pass leaves inside loops -- per token in ``fast_line``, per ``<`` in the tag section (``starts_with`` with
pattern arrays), per weight (``number``, ``match_id``, ``_wgt_id``). The hot helpers now take the buffer's
address (``arr.ctypes.data``) and read it through three small intrinsics (``byte_at``, ``load8``, ``_int64_at``);
the tags are compared as one masked 8-byte word (``tag_word``), the tag section runs to the next ``<`` in a tight
loop and skips a ``<`` whose next bytes start none of the tags it looks for. Tried and dropped: SWAR digit
parsing (8 digits per multiply-shift chain: 10 % slower on Z-mlm, whose numbers have 1-3 and 11-12 digits and
whose per-digit branches predict well) and an 8-bytes-a-step blank skip (5 % slower on Z-mlm once the reference
counting was gone). Main thread: a block's 145 weight views are only built if asked for (``Piece.weights`` from
``weight_matrix``); the shared column buffer takes a block's integer and float rows of ``info`` and ``parts`` as
four 2-D copies instead of 19; the kernel counts the events that are flagged or whose NUP is not their positive
particle count (``n_suspect``, the last item of its result), so that a block without any and without tokens
left to Python's float() skips the numpy checks of ``_invalid_events``. Arrays bit-identical to HEAD (sha256 of
``ak.to_buffers`` with the type and form) for read_lhe, iterate_lhe (steps 7 and 1000, 64 kB blocks) and
invalid="drop" on every file of tests/data/lhe, and read_lhe / iterate_lhe on the 300 MB golden file; the new
tests cut a tagged event text at every byte and feed the fast line parser blank runs of 1-17 bytes, fixed
widths and lines ending near ``end``.

HEAD (``git worktree``) and this tree alternated in fresh processes, medians (kernel: 3 rounds x 9 passes;
read_lhe: 4 rounds x 15 reads; load 0.6-1.0, another engineer's sampling benchmark taking about one core):

=================================================  ==============  ==============  =======
                                                   before (HEAD)   after           ratio
=================================================  ==============  ==============  =======
kernel CPU, Z-mlm 10.1 MB text (thread_time)       17.1 ms         10.0 ms         1.71x
kernel CPU, pp -> jj 6.2 MB text                   9.5 ms          5.5 ms          1.73x
kernel per core (Z-mlm / pp -> jj, MB/s)           593 / 651       1015 / 1129
read_lhe, 3 MadGraph files one after the other     38.0 ms         29.8 ms         1.27x
Z-mlm / pp -> jj read_lhe wall (ms)                22.0 / 16.9     15.5 / 13.3
same, CPU of all threads (ms)                      34.1 / 22.5     23.2 / 17.2
same, main-thread CPU (ms)                         4.4 / 6.1       3.4 / 5.2
=================================================  ==============  ==============  =======

(``kernel_cpu()`` gives the kernel rows; wbj is 1.1-1.6 ms either way.) CPU per read is now ~41 ms for the
three files (inflate 9.9, kernel ~16, main thread ~10, the rest thread hand-offs), i.e. ~20 ms with two
quiet cores busy throughout plus the serial header / first megabyte / assembly (~2-3 ms): about 22-23 ms, the
>= 50x of the pylhe row, which the quiet-machine rerun has to confirm (on this shared machine the wall is
bounded by the one free core). What is left on the main thread is mostly fixed: header 0.4 / 1.1 ms (Z-mlm /
pp -> jj, not in this round's files), awkward's 164 ``NumpyArray`` + 3 ``RecordArray`` constructions
(0.9 ms for pp -> jj's 145-field weights record; the record over the rows of one [145, n] buffer is what is
built already) and ~50 us of numpy calls per block.
"""

from __future__ import annotations

import argparse
import gzip
import os
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


_PROBE = """
import os, sys, threading, time
import awkward as ak
import pylhe
from columnminer.io import _lhe_parallel
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
t0 = time.perf_counter()
arrays = 0
if mode == "read":
    out = read_lhe(path)
elif mode.startswith("read"):  # read1, read2: the parallel reader on that many threads
    out = _lhe_parallel.read_all(path, threads=int(mode[4:]))
elif mode == "iter":
    out = sum(len(c) for c in iterate_lhe(path, step_size=step))
else:
    out = pylhe.to_awkward(pylhe.LHEFile.fromfile(path).events)
wall = time.perf_counter() - t0
peak = max(peak, rss()); done = True; t.join()
if isinstance(out, ak.Array):
    arrays = sum(b.nbytes for b in ak.to_buffers(out)[2].values())
print((peak - base) / 2**20, wall, arrays / 2**20)
"""


def probe(mode: str, path: str, step: int = 2000) -> tuple[float, float, float]:
    """(peak RSS growth MiB, wall s, MiB of returned arrays) of one read (``mode``) in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, path, str(step)], capture_output=True, text=True, check=True
    )
    peak, wall, arrays = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    return peak, wall, arrays


def peak_mib(mode: str, path: str, step: int) -> float:
    """Growth of the resident memory (MiB) of a fresh process during one read (``mode``)."""
    return probe(mode, path, step)[0]


def raw_size(path: Path) -> int:
    """Decompressed size of a file."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return len(fh.read())
    return path.stat().st_size


def make_big(src: Path, copies: int, out: Path) -> Path:
    """A file holding the events of ``src`` ``copies`` times (same header): gzip level 1 when ``out``
    ends in ``.gz``, else plain text."""
    data = gzip.open(src).read() if src.suffix == ".gz" else src.read_bytes()
    first = data.index(b"<event")
    last = data.rindex(b"</event>") + len(b"</event>\n")
    opener = (
        (lambda p: gzip.open(p, "wb", compresslevel=1)) if out.suffix == ".gz" else (lambda p: open(p, "wb"))
    )
    with opener(out) as fh:
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


def _parse_text(buf, start: int, ids, offsets, caps: tuple[int, int, int]) -> None:
    """Every event of ``buf`` from ``start`` through the kernel (called again while a table fills up)."""
    from columnminer.io import _lhe_parse

    pos, status = start, _lhe_parse.STATUS_FULL
    while status == _lhe_parse.STATUS_FULL:
        res = _lhe_parse.parse_events(buf, pos, len(buf), 1 << 40, ids, offsets, len(ids), *caps)
        status, pos = res[0], res[3]


def kernel_cpu(files: list[Path] | None = None, repeats: int = 9) -> dict[str, dict[str, float]]:
    """CPU time of the numba kernel alone (``time.thread_time``, one thread, the whole decompressed text in
    one pass, tables sized for it) on the MadGraph test files: {file: {"ms": median, "mb_per_s": ...}}.

    >>> sorted(kernel_cpu(repeats=1))  # doctest: +SKIP
    ['testfile-madgraph-2.0.0-wbj.lhe', 'testfile-madgraph-2.2.1-Z-mlm.lhe.gz', ...]
    """
    import numpy as np

    from columnminer.io._lhe_read import _id_table
    from columnminer.io.lhe import read_lhe_header

    files = files or sorted(p for p in (DATA / "lhe").glob("*madgraph*.lhe*") if p.suffix != ".readme")
    out = {}
    for path in files:
        text = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
        buf = np.frombuffer(bytearray(text), np.uint8)
        header = read_lhe_header(path)
        ids, offsets = _id_table(header.weight_ids)
        start, n_events = text.index(b"<event"), text.count(b"</event>")
        caps = (n_events + 1, text.count(b"\n") + 1, 4096)

        args = (buf, start, ids, offsets, caps)
        _parse_text(*args)  # compiled / loaded from the cache
        times = []
        for _ in range(repeats):
            t0 = time.thread_time()
            _parse_text(*args)
            times.append(time.thread_time() - t0)
        ms = statistics.median(times) * 1e3
        out[path.name] = {"ms": ms, "mb_per_s": len(buf) / 1e6 / (ms / 1e3)}
    return out


def run(
    files: list[Path] | None = None,
    repeats: int = 3,
    big: Path | None = None,
    big_copies: int = 30,
) -> dict:
    """The numbers of this benchmark as a dict (for ``benchmarks/run.py``).

    ``files`` (default: the MadGraph files of tests/data/lhe with 10k and 1k events): per file the median
    wall time of ``read_lhe`` and of ``pylhe.to_awkward``, interleaved ``repeats`` times, and their ratio.
    ``big`` (default: the 10k Z events ``big_copies`` times over, plain text, in a temporary directory):
    MB/s of ``read_lhe`` on 1 and 2 threads and of ``iterate_lhe``, and peak memory over returned arrays,
    each in a fresh process, interleaved, medians of ``repeats``. Also the load average before and after.
    """
    load0 = os.getloadavg()
    files = files or [DATA / "lhe" / n for n in _MADGRAPH_FILES]
    read_lhe(files[0])  # compile / load the numba kernel once
    out: dict = {"files": {}, "big": {}, "load_before": load0}
    for path in files:
        p = str(path)
        t_cm, t_py = [], []
        for _ in range(repeats):
            t_cm.append(timed(lambda p=p: read_lhe(p), 1))
            if pylhe is not None:
                t_py.append(timed(lambda p=p: pylhe_awkward(p), 1))
        cm = statistics.median(t_cm)
        py = statistics.median(t_py) if t_py else float("nan")
        out["files"][path.name] = {"columnminer_s": cm, "pylhe_s": py, "ratio": py / cm}
    with tempfile.TemporaryDirectory() as tmp:
        if big is None:
            big = make_big(
                DATA / "lhe" / "testfile-madgraph-2.2.1-Z-mlm.lhe.gz", big_copies, Path(tmp) / "z.lhe"
            )
        mb = raw_size(big) / 1e6
        runs: dict[str, list[tuple[float, float, float]]] = {m: [] for m in ("read1", "read2", "iter")}
        for _ in range(repeats):
            for mode in runs:
                runs[mode].append(probe(mode, str(big), 100_000))
        med = {m: [statistics.median(x[k] for x in r) for k in range(3)] for m, r in runs.items()}
        arrays = med["read2"][2]
        out["big"] = {
            "path": str(big),
            "mb": mb,
            "arrays_mib": arrays,
            **{f"{m}_mb_s": mb / med[m][1] for m in runs},
            **{f"{m}_peak_mib": med[m][0] for m in runs},
            "read2_peak_over_arrays": med["read2"][0] / arrays,
        }
    out["load_after"] = os.getloadavg()
    return out


_MADGRAPH_FILES = ("testfile-madgraph-2.2.1-Z-mlm.lhe.gz", "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")


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
