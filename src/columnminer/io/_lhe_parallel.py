"""Whole-file LHE reading on all cores: byte blocks cut at event boundaries, parsed by the kernel in threads.

gzip files are inflated by :class:`~._lhe_source.ByteSource`'s background thread (ISA-L where python-isal is
installed, else zlib; small files without python-isal: libdeflate in one go) and parsed in the decompressed
chunks themselves, so that inflating overlaps the parse from the first megabyte on; for texts up to 16 MB
neither the inflate thread nor the parse threads ever wait for the main thread: the decompressed chunks queue
without bound and every block is submitted as soon as it exists (at most 16 MB of text in flight; larger texts
keep two chunks queued and one block beyond those being parsed, for bounded memory). Small plain files are
read whole and cut into views; larger ones are mapped into memory (``mmap``: the kernel parses the pages of
the page cache in place, no copy of the text; the pages parsed are dropped from the process as it goes) or,
where a file cannot be mapped, read block by block straight into a small pool of reused buffers
(``readinto``). Each block ends just after an ``</event>`` and is parsed by the numba kernel (``nogil=True``)
in a thread pool kept between reads, while the main thread checks the results in file order and copies the
columns of each block straight into the final arrays (:class:`_Columns`: allocated once from an estimate of
the event count, grown if needed, trimmed at the end). So the text is copied once at most, the columns once,
nothing is concatenated at the end, and the peak memory is the returned arrays plus the blocks in flight.

Anything unusual -- a malformed or invalid event, an undeclared weight id, an event larger than a block,
a file without its closing tag, a gzip stream ISA-L refuses -- makes :func:`read_all` give up (after an
ISA-L read, it tries once more as without python-isal) and return None, and the caller reads the file with
the sequential reader, whose results and error messages are the reference.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import awkward as ak
import numpy as np

from ..errors import LHEFormatError
from . import _lhe_parse as P
from ._lhe_read import INT_PARTICLE, LHEChunkReader, Piece, build_array, file_size
from ._lhe_source import ByteSource, InflateFallback, available_cpus, fast_inflate_available, read_header

__all__ = ["read_all"]

log = logging.getLogger(__name__)

_WHOLE_BELOW = 64 << 20  # smaller files are decompressed in one go (fast libdeflate path)
_MIN_BLOCK, _MAX_BLOCK = 1 << 20, 4 << 20
_MAP = True  # large plain files are mapped (mmap) rather than read into pooled buffers
_DROP_EVERY = 16 << 20  # mapped files: pages are dropped once this much has been parsed
_UNBOUNDED_BELOW = 16 << 20  # texts up to this size: no bound on the blocks in flight (no waits)
_TRIM_ABOVE = 64 << 20  # texts larger than this hand freed heap memory back to the system at the end
_END_EVENT = b"</event>"


class _Fallback(Exception):
    """The file needs the sequential reader."""


def _load_malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere): hands freed heap pages back to the system."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


_MALLOC_TRIM = _load_malloc_trim()
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}  # (process id, threads) -> pool, reused across reads
_POOLS_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """A thread pool of ``threads`` workers kept for later reads (starting threads costs about a
    millisecond per read on small files); a forked child makes its own, its parent's threads being gone."""
    key = (os.getpid(), threads)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ThreadPoolExecutor(threads, thread_name_prefix="columnminer-lhe")
        return pool


class _Blocks:
    """Consecutive byte blocks of the text after the header; every block but the last ends just after an
    ``</event>`` (the last one runs to the end of the file).

    When the header read brought the whole text (small files) the blocks are views of it. A gzip stream
    inflated by a background thread (``chunks=True``) is parsed in the decompressed chunks themselves: the
    complete events of a chunk in place, the event cut between two chunks from a small bridge (its two
    parts joined). Otherwise each block is read straight into a buffer from a small pool (the part of an
    event cut by the previous block is copied to its start), and :meth:`release` hands the buffer back
    once its events are taken: no per-block allocation, so no page faults and no copies of the text
    beyond the read itself.
    """

    def __init__(self, source: ByteSource, data, pos: int, block: int, chunks: bool = False) -> None:
        self.source, self.block = source, block
        self._pool: list[np.ndarray] = []
        self.whole = source.in_memory  # everything is in ``data`` already
        self._map = data if isinstance(data, mmap.mmap) else None  # a mapped file: pages dropped when done
        self._dropped = 0
        self.pooled = not self.whole and not chunks
        self._data, self._pos = data, pos

    def __iter__(self) -> Iterator[tuple[np.ndarray, int, int, bool]]:
        if self.whole:
            return self._views()
        return self._pooled() if self.pooled else self._chunks()

    def _chunks(self) -> Iterator[tuple[np.ndarray, int, int, bool]]:
        data, start = bytes(self._data), self._pos
        self._data = None
        carry = b""  # the start of an event cut by the end of the previous chunk
        while data:
            if carry:
                first = data.find(_END_EVENT, start)
                if first < 0:  # an event longer than the chunk
                    carry += data[start:]
                    data, start = self.source.read(), 0
                    continue
                first += len(_END_EVENT)
                bridge = carry + data[start:first]
                yield np.frombuffer(bridge, np.uint8), 0, len(bridge), False
                start = first
            last = data.rfind(_END_EVENT, start)
            if last < 0:
                carry = data[start:]
            else:
                last += len(_END_EVENT)
                yield np.frombuffer(data, np.uint8), start, last, False
                carry = data[last:]
            data, start = self.source.read(), 0
        yield np.frombuffer(carry, np.uint8), 0, len(carry), True

    def _views(self) -> Iterator[tuple[np.ndarray, int, int, bool]]:
        data, pos, block = self._data, self._pos, self.block
        arr = np.frombuffer(data, np.uint8)
        while len(data) - pos > block:
            end = data.rfind(_END_EVENT, pos, pos + block)
            if end < 0:  # an event larger than the block
                end = data.find(_END_EVENT, pos + block)
                if end < 0:
                    break
            end += len(_END_EVENT)
            yield arr, pos, end, False
            pos = end
        yield arr, pos, len(data), True

    def _buffer(self, size: int) -> np.ndarray:
        while self._pool:
            buf = self._pool.pop()
            if len(buf) >= size:
                return buf
        return np.empty(size, np.uint8)

    def release(self, arr: np.ndarray, end: int) -> None:
        """Hand a block's buffer back to the pool (its events, up to ``end``, have been taken); of a mapped
        file, drop the pages before ``end`` from this process (they stay in the page cache), so that
        resident memory holds the blocks in flight, not the text read so far."""
        if self.pooled and len(arr) == self.block:
            self._pool.append(arr)
        elif self._map is not None and end - self._dropped >= _DROP_EVERY and hasattr(mmap, "MADV_DONTNEED"):
            upto = end - end % mmap.PAGESIZE
            self._map.madvise(mmap.MADV_DONTNEED, self._dropped, upto - self._dropped)
            self._dropped = upto

    def _pooled(self) -> Iterator[tuple[np.ndarray, int, int, bool]]:
        carry = np.frombuffer(self._data, np.uint8)[self._pos :].copy()
        self._data = None
        want = self.block
        buf = self._buffer(want)
        while True:
            if len(carry) > len(buf):  # an event larger than a block
                want = max(2 * want, len(carry) + self.block)
                buf = np.empty(want, np.uint8)
            n = len(carry)
            buf[:n] = carry
            exhausted = False
            while True:
                while n < len(buf):
                    k = self.source.readinto(buf[n:])
                    if not k:
                        exhausted = True
                        break
                    n += k
                end = len(buf) if exhausted else _rfind_end(buf, n)
                if exhausted or end >= 0:
                    break
                grown = np.empty(2 * len(buf), np.uint8)  # no </event> in the block: a larger one
                grown[:n] = buf[:n]
                buf = grown
            if exhausted:
                yield buf, 0, n, True
                return
            carry = buf[end:n].copy()
            yield buf, 0, end, False
            buf = self._buffer(self.block)


def _rfind_end(buf: np.ndarray, n: int) -> int:
    """Offset just after the last ``</event>`` of ``buf[:n]``, or -1."""
    window = 1 << 16
    while True:
        lo = max(n - window, 0)
        k = memoryview(buf)[lo:n].tobytes().rfind(_END_EVENT)
        if k >= 0:
            return lo + k + len(_END_EVENT)
        if lo == 0:
            return -1
        window *= 4


def _parse_block(reader: LHEChunkReader, arr: np.ndarray, start: int, end: int, last: bool) -> list[tuple]:
    """Kernel results covering ``arr[start:end]`` (run in a worker thread; the kernel releases the GIL)."""
    out = []
    pos = start
    n_ev = 1 << 62
    while True:
        try:
            res = reader.call_kernel(arr, pos, end, n_ev)
        except LHEFormatError as exc:
            raise _Fallback(str(exc)) from exc
        status, n, stop = res[0], res[1], res[3]
        out.append((pos, res))
        if status == P.STATUS_END_TAG and last:
            return out
        if status not in (P.STATUS_DONE, P.STATUS_FULL) or (status == P.STATUS_FULL and n == 0):
            raise _Fallback(f"kernel status {status} at byte {stop}")
        if stop >= end:
            if last:
                raise _Fallback("no closing </LesHouchesEvents> tag")
            return out
        pos = stop


class _Columns:
    """The final columns, filled block by block in file order.

    Each column is allocated once, with room for the events the file is expected to hold (extrapolated
    from the bytes parsed so far to ``text_size``; untouched pages cost no memory), grown in place
    (``realloc``) when the estimate falls short and trimmed to size at the end: no per-block copies, no
    concatenation, peak memory the returned arrays plus the blocks in flight.

    Texts up to ``_TRIM_ABOVE`` (``shared=True``) keep all columns in one buffer instead, returned as
    views of it: one allocation of several MB, which numpy backs with huge pages, where separate columns
    of a few hundred kB each cost a page fault every 4 kB (about a third of the main thread's time on a
    10 MB file); the unused capacity stays with the arrays (at most the 20 % margin).
    """

    def __init__(self, ids: list[str], text_size: int) -> None:
        self.ids = ids
        self.text_size = max(int(text_size), 1)
        self.shared = self.text_size <= _TRIM_ABOVE
        self.info: list[np.ndarray] = [np.empty(0, np.int64 if k < 2 else np.float64) for k in range(6)]
        self.parts: list[np.ndarray] = [
            np.empty(0, np.int64 if k < INT_PARTICLE else np.float64) for k in range(13)
        ]
        self.counts = np.empty(0, np.int64)
        self.weights: list[np.ndarray] = [np.empty(0, np.float64) for _ in ids]
        self.weight_matrix = np.empty((len(ids), 0), np.float64)  # shared: the weight columns as rows
        # shared: the integer and the float rows of info and parts as 2-D views (one copy each per block)
        self.blocks = (np.empty((2, 0), np.int64), np.empty((4, 0)), np.empty((INT_PARTICLE, 0), np.int64))
        self.blocks += (np.empty((13 - INT_PARTICLE, 0)),)
        self.n = self.n_part = self.bytes = 0

    def _capacity(self, have: int, need: int, done: int) -> int:
        """New length of a column holding ``have`` rows that must hold ``need`` (``done`` so far)."""
        # shared (small texts, estimated from few events): a generous margin, as a regrowth copies everything
        guess = int(done * self.text_size / max(self.bytes, 1) * (1.2 if self.shared else 1.05)) + 1024
        return max(need, guess, have + have // 4)

    def _grow(self, n_events: int, n_parts: int) -> None:
        """Room for ``n_events`` events and ``n_parts`` particles (the rows so far kept)."""
        cap, cap_p = len(self.counts), len(self.parts[0])
        if n_events > cap:
            cap = self._capacity(cap, n_events, n_events)
        if n_parts > cap_p:
            cap_p = self._capacity(cap_p, n_parts, n_parts)
        if not self.shared:
            if cap > len(self.counts):
                self.info = [_grown(c, cap) for c in self.info]
                self.weights = [_grown(c, cap) for c in self.weights]
                self.counts = _grown(self.counts, cap)
            if cap_p > len(self.parts[0]):
                self.parts = [_grown(c, cap_p) for c in self.parts]
            return
        event_cols = [*self.info, self.counts, *self.weights]
        buf = np.empty(8 * (cap * len(event_cols) + cap_p * 13), np.uint8)
        views = [buf[8 * cap * k : 8 * cap * (k + 1)].view(c.dtype) for k, c in enumerate(event_cols)]
        start = 8 * cap * len(event_cols)
        views += [
            buf[start + 8 * cap_p * k : start + 8 * cap_p * (k + 1)].view(c.dtype)
            for k, c in enumerate(self.parts)
        ]
        for new, old in zip(views, (*event_cols, *self.parts), strict=True):
            new[: len(old)] = old
        self.info, self.counts, self.weights = views[:6], views[6], views[7 : len(event_cols)]
        self.parts = views[len(event_cols) :]
        self.weight_matrix = buf[8 * cap * 7 : 8 * cap * len(event_cols)].view(np.float64).reshape(-1, cap)
        split = start + 8 * cap_p * INT_PARTICLE
        self.blocks = (
            buf[: 8 * cap * 2].view(np.int64).reshape(2, cap),
            buf[8 * cap * 2 : 8 * cap * 6].view(np.float64).reshape(4, cap),
            buf[start:split].view(np.int64).reshape(INT_PARTICLE, cap_p),
            buf[split : start + 8 * cap_p * 13].view(np.float64).reshape(13 - INT_PARTICLE, cap_p),
        )

    def add(self, piece: Piece, n_bytes: int) -> None:
        """Copy a block's events (``n_bytes`` of text) into the columns (integer columns converted)."""
        self.bytes += n_bytes
        n, m = piece.n, piece.parts.shape[1]
        a, b = self.n, self.n_part
        if a + n > len(self.counts) or b + m > len(self.parts[0]):
            self._grow(a + n, b + m)
        if self.shared:  # rows of one dtype are consecutive in the buffer: four copies instead of 19
            info_int, info_float, parts_int, parts_float = self.blocks
            info_int[:, a : a + n] = piece.info[:2]
            info_float[:, a : a + n] = piece.info[2:]
            parts_int[:, b : b + m] = piece.parts[:INT_PARTICLE]
            parts_float[:, b : b + m] = piece.parts[INT_PARTICLE:]
        else:
            for k in range(6):
                self.info[k][a : a + n] = piece.info[k]
            for k in range(13):
                self.parts[k][b : b + m] = piece.parts[k]
        self.counts[a : a + n] = piece.counts
        if self.shared and piece.weight_matrix is not None and len(piece.weight_matrix) == len(self.ids):
            self.weight_matrix[:, a : a + n] = piece.weight_matrix  # the weight columns are its rows
        else:
            for k, wid in enumerate(self.ids):
                self.weights[k][a : a + n] = piece.weights[wid]
        self.n, self.n_part = a + n, b + m

    def build(self, path: str) -> ak.Array:
        """The event array (every column trimmed to its length: in place, or views of the shared buffer)."""
        if self.shared:
            self.info, self.counts = [c[: self.n] for c in self.info], self.counts[: self.n]
            self.weights = [c[: self.n] for c in self.weights]
            self.parts = [c[: self.n_part] for c in self.parts]
        else:
            for col in (*self.info, self.counts, *self.weights):
                col.resize(self.n, refcheck=False)
            for col in self.parts:
                col.resize(self.n_part, refcheck=False)
            _trim()  # large reads: hand the holes of freed blocks back to the system
        return build_array(self.info, self.counts, self.parts, self.ids, self.weights, path, 0)


def _grown(col: np.ndarray, size: int) -> np.ndarray:
    """``col`` in a new uninitialised array of length ``size`` (resize would zero the tail, touching it)."""
    out = np.empty(size, col.dtype)
    out[: len(col)] = col
    return out


def _trim() -> None:
    """Hand freed heap memory back to the system (glibc keeps the holes of freed blocks otherwise)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _text_size(path: str | os.PathLike, size: int) -> int:
    """Expected size of the decompressed text: the gzip trailer's (modulo 4 GiB) or the file size."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b" or size < 18:
            return size
        fh.seek(-4, os.SEEK_END)
        isize = int.from_bytes(fh.read(4), "little")
    return isize if isize > size else 4 * size


def read_all(
    path: str | os.PathLike, threads: int | None = None, block: int | None = None, fast_inflate: bool = True
) -> ak.Array | None:
    """All events of an LHE file, parsed in ``threads`` threads (default: the CPUs available); None where
    the sequential reader must do it (see the module docstring). The layout is that of ``read_lhe``.

    gzip files are inflated by ISA-L where python-isal is installed and ``fast_inflate`` is true, streamed
    in a background thread so that inflating overlaps the parse. Where that read gives up, the file is read
    again as without python-isal (libdeflate or zlib), so that errors and fallbacks are zlib's."""
    threads = available_cpus() if threads is None else max(int(threads), 1)
    size = file_size(path)
    gzip = _is_gzip(path)
    if block is None:
        block = int(min(max(size // (4 * threads), _MIN_BLOCK), _MAX_BLOCK))
    fast = fast_inflate and gzip and fast_inflate_available()  # ISA-L: fast enough to overlap the parse
    whole = not fast and size < (_WHOLE_BELOW // 4 if gzip else _WHOLE_BELOW)  # gzip: about 4x in text
    prefetch = gzip and (fast or (size > _MIN_BLOCK and not whole))
    text_size = _text_size(path, size)
    source = ByteSource(
        path,
        block,
        prefetch=prefetch,
        whole=whole,
        fast_inflate=fast,
        queue_size=0 if text_size <= _UNBOUNDED_BELOW else 2,  # small texts: the inflate thread never waits
        mapped=_MAP and not gzip and not whole,  # large plain files: mapped, parsed in place
    )
    try:
        header, buf, head_len = read_header(source)
        reader = LHEChunkReader(path, header, buf, source, 0, "raise")
        columns = _Columns(reader.ids, text_size - head_len)
        blocks = _Blocks(source, buf, head_len, block, chunks=prefetch)
        _parse_all(reader, columns, blocks, _pool(threads), threads)
        return columns.build(str(path))
    except (_Fallback, InflateFallback) as why:
        if fast:
            log.debug("%s: parallel read with ISA-L gave up (%s); reading with zlib", path, why)
        else:
            log.debug("%s: parallel read not possible (%s); reading sequentially", path, why)
    finally:
        source.close()
    return read_all(path, threads, block, fast_inflate=False) if fast else None


def _parse_all(reader: LHEChunkReader, columns: _Columns, blocks: _Blocks, pool, threads: int) -> None:
    """Parse the blocks in ``pool`` and add their events to ``columns`` in file order, each as soon as it and
    those before it are parsed (texts up to ``_UNBOUNDED_BELOW``: all blocks submitted at once; larger ones:
    at most ``threads + 1`` blocks in flight, for bounded memory)."""
    pending: deque = deque()
    try:
        # small texts: every block is submitted at once (the parse threads never wait for the main thread);
        # otherwise one block waits beyond those being parsed (bounded memory)
        most = threads + 1 if columns.text_size > _UNBOUNDED_BELOW else 1 << 30
        for arr, start, end, last in blocks:
            pending.append((arr, pool.submit(_parse_block, reader, arr, start, end, last)))
            while len(pending) > most or (len(pending) > 1 and pending[0][1].done()):
                _finish(reader, columns, blocks, *pending.popleft())
        while pending:
            _finish(reader, columns, blocks, *pending.popleft())
    finally:
        for *_, future in pending:
            future.cancel()
        for *_, future in pending:  # a block still being parsed must not outlive the read
            if not future.cancelled():
                future.exception()


def _finish(reader: LHEChunkReader, columns: _Columns, blocks: _Blocks, arr: np.ndarray, future) -> None:
    """Check the kernel results of one block in file order and add its events to ``columns``."""
    results = future.result()
    for pos, res in results:
        if res[10].shape[1]:  # undeclared weight ids: the sequential reader learns them in order
            raise _Fallback("undeclared weight ids")
        _, _, piece = reader.finish(arr, pos, res)
        if reader.pending_error is not None:
            raise _Fallback("invalid event")
        columns.add(piece, res[3] - pos)  # the bytes its events took: the estimate of the event count
    blocks.release(arr, res[3])


def _is_gzip(path: str | os.PathLike) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
