"""Whole-file LHE reading on all cores: byte blocks cut at event boundaries, parsed by the kernel in threads.

The text is read block by block (gzip decompressed by :class:`~._lhe_source.ByteSource`'s background thread,
overlapping the parse); each block ends just after an ``</event>`` and is parsed by the numba kernel
(``nogil=True``) in a thread pool, while the main thread checks the results in file order and moves the
columns of each block into per-field lists. The final arrays are concatenated field by field, each list
freed as soon as its column is built, so the peak memory is the returned arrays plus one column plus the
blocks in flight (the text of the file is never held whole, unless it is small); glibc's ``malloc_trim``
after each block returns the freed blocks to the system.

Anything unusual -- a malformed or invalid event, an undeclared weight id, an event larger than a block,
a file without its closing tag -- makes :func:`read_all` return None, and the caller reads the file with the
sequential reader, whose results and error messages are the reference.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import awkward as ak
import numpy as np

from ..errors import LHEFormatError
from . import _lhe_parse as P
from ._lhe_read import INT_PARTICLE, LHEChunkReader, Piece, build_array, file_size
from ._lhe_source import ByteSource, available_cpus, read_header

__all__ = ["read_all"]

log = logging.getLogger(__name__)

_WHOLE_BELOW = 64 << 20  # smaller files are decompressed in one go (fast libdeflate path)
_MIN_BLOCK, _MAX_BLOCK = 1 << 20, 4 << 20
_END_EVENT = b"</event>"
_TRIM_EVERY = 8  # blocks between two malloc_trim calls (each costs page faults later)


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


def _blocks(source: ByteSource, data, pos: int, block: int) -> Iterator[tuple[np.ndarray, int, int, bool]]:
    """(bytes as uint8, start, end, last) of consecutive blocks from ``data[pos:]`` on; every block but
    the last ends just after an ``</event>`` (the last one runs to the end of the file)."""
    exhausted = False
    while True:
        want = block
        while True:
            while not exhausted and len(data) - pos < want:
                new = source.read()
                if not new:
                    exhausted = True
                    break
                data = data[pos:] + new
                pos = 0
            if exhausted:
                end = len(data)
                break
            end = data.rfind(_END_EVENT, pos, pos + want)
            if end >= 0:
                end += len(_END_EVENT)
                break
            want *= 2  # an event larger than the block
        yield np.frombuffer(data, np.uint8), pos, end, exhausted
        if exhausted:
            return
        pos = end


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
    """The columns of the events read so far, one list of per-block arrays per field."""

    def __init__(self) -> None:
        self.info: list[list[np.ndarray]] = [[] for _ in range(6)]
        self.parts: list[list[np.ndarray]] = [[] for _ in range(13)]
        self.counts: list[np.ndarray] = []
        self.weights: dict[str, list[np.ndarray]] = {}
        self.n = 0
        self.blocks = 0

    def add(self, piece: Piece) -> None:
        """Append a block's events (integer columns converted, every column copied out of the tables)."""
        for k in range(6):
            self.info[k].append(np.array(piece.info[k], np.int64 if k < 2 else np.float64))
        for k in range(13):
            self.parts[k].append(np.array(piece.parts[k], np.int64 if k < INT_PARTICLE else np.float64))
        self.counts.append(np.array(piece.counts, np.int64))
        for wid, col in piece.weights.items():
            self.weights.setdefault(wid, []).append(np.array(col, np.float64))
        self.n += piece.n

    def build(self, ids: list[str], path: str) -> ak.Array:
        """The event array; each field's list is freed as soon as its column is concatenated."""
        info = [_concat(self.info, k) for k in range(6)]
        parts = [_concat(self.parts, k) for k in range(13)]
        counts = np.concatenate(self.counts) if self.counts else np.empty(0, np.int64)
        self.counts = []
        weights = []
        for wid in ids:
            weights.append(_concat([self.weights.pop(wid, [])], 0))
        return build_array(info, counts, parts, ids, weights, path, 0)


def _concat(lists: list[list[np.ndarray]], k: int) -> np.ndarray:
    """The concatenation of ``lists[k]``, which is emptied (its memory handed back)."""
    cols, lists[k] = lists[k], []
    out = cols[0] if len(cols) == 1 else np.concatenate(cols) if cols else np.empty(0)
    del cols
    _trim()
    return out


def _trim() -> None:
    """Hand freed heap memory back to the system (glibc keeps the holes of freed blocks otherwise: its mmap
    threshold grows with the block size, and the peak memory doubles)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def read_all(
    path: str | os.PathLike, threads: int | None = None, block: int | None = None
) -> ak.Array | None:
    """All events of an LHE file, parsed in ``threads`` threads (default: the CPUs available); None where
    the sequential reader must do it (see the module docstring). The layout is that of ``read_lhe``."""
    threads = available_cpus() if threads is None else max(int(threads), 1)
    size = file_size(path)
    if block is None:
        block = int(min(max(size // (4 * threads), _MIN_BLOCK), _MAX_BLOCK))
    whole = size < (_WHOLE_BELOW // 4 if _is_gzip(path) else _WHOLE_BELOW)  # gzip: about 4x in text
    source = ByteSource(path, block, prefetch=size > _MIN_BLOCK and not whole, whole=whole)
    try:
        header, buf, head_len = read_header(source)
        reader = LHEChunkReader(path, header, buf, source, 0, "raise")
        columns = _Columns()
        with ThreadPoolExecutor(threads) as pool:
            pending: deque = deque()
            try:
                for arr, start, end, last in _blocks(source, buf, head_len, block):
                    pending.append((arr, pool.submit(_parse_block, reader, arr, start, end, last)))
                    while len(pending) > threads + 1:
                        _finish(reader, columns, *pending.popleft())
                while pending:
                    _finish(reader, columns, *pending.popleft())
            finally:
                for _, future in pending:
                    future.cancel()
        return columns.build(reader.ids, str(path))
    except _Fallback as why:
        log.debug("%s: parallel read not possible (%s); reading sequentially", path, why)
        return None
    finally:
        source.close()


def _finish(reader: LHEChunkReader, columns: _Columns, arr: np.ndarray, future) -> None:
    """Check the kernel results of one block in file order and add its events to ``columns``."""
    for pos, res in future.result():
        if res[10].shape[1]:  # undeclared weight ids: the sequential reader learns them in order
            raise _Fallback("undeclared weight ids")
        _, _, piece = reader.finish(arr, pos, res)
        if reader.pending_error is not None:
            raise _Fallback("invalid event")
        columns.add(piece)
    columns.blocks += 1
    if columns.blocks % _TRIM_EVERY == 0:
        _trim()


def _is_gzip(path: str | os.PathLike) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
