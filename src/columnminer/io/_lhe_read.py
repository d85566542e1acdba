"""Chunked reading of LHE events: kernel calls over byte blocks, carry-over, awkward assembly."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np
import vector

from ..errors import LHEFormatError
from . import _lhe_parse as P
from . import _lhe_source as S
from ._lhe_header import LHEHeader
from ._lhe_source import DEFAULT_BLOCK, EVENT_TAG, ByteSource, read_header

__all__ = ["EVENT_FIELDS", "PARTICLE_FIELDS", "build_array", "file_size", "iter_chunks", "scan_event_offsets"]

log = logging.getLogger(__name__)

vector.register_awkward()

EVENT_FIELDS = ("nparticles", "pid", "weight", "scale", "aqed", "aqcd")
PARTICLE_FIELDS = (
    "id",
    "status",
    "mother1",
    "mother2",
    "color1",
    "color2",
    "px",
    "py",
    "pz",
    "e",
    "lhe_mass",
    "lifetime",
    "spin",
)
_INT_PARTICLE = 6  # the first six particle columns are integers


def _id_table(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [i.encode() for i in ids]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded]) if encoded else []
    return np.frombuffer(b"".join(encoded), np.uint8).copy(), offsets


def _gather_ids(arr: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Byte strings arr[start:stop] as a fixed-width numpy bytes array, without a Python loop."""
    width = max(int((stops - starts).max()), 1)
    idx = starts[:, None] + np.arange(width)[None, :]
    mask = idx < stops[:, None]
    mat = np.where(mask, arr[np.minimum(idx, len(arr) - 1)], 0).astype(np.uint8)
    return np.ascontiguousarray(mat).view(f"S{width}").ravel()


class _Piece:
    """Columns of consecutive events from one kernel call (weights keyed by id)."""

    def __init__(self, info, counts, parts, weights: dict[str, np.ndarray], n: int) -> None:
        self.info, self.counts, self.parts, self.weights, self.n = info, counts, parts, weights, n


class _ChunkReader:
    """State of one pass through a file: carried bytes, known weight ids, counters."""

    def __init__(self, path, header: LHEHeader, buf: bytes, source: ByteSource, first: int) -> None:
        self.path = str(path)
        self.header = header
        self.source = source
        self.buf = buf
        self.offset = 0  # decompressed offset of buf[0] in the file
        self.ids = list(header.weight_ids)
        self.id_bytes, self.id_offsets = _id_table(self.ids)
        self.n_positional = header.header_weight_count
        self.n_parsed = first  # index in the file of the next event
        self.bytes_per_event = 400.0  # running estimates, size the kernel's tables
        self.particles_per_event = 8.0
        self.calibrated = False
        self.budget = 0

    def line_of(self, pos: int) -> int:
        """1-based line number of ``self.buf[pos]`` (re-reads the file up to it: errors only)."""
        target = self.offset + max(pos, 0)
        src = ByteSource(self.path, DEFAULT_BLOCK)
        try:
            seen = lines = 0
            while seen < target:
                data = src.read()
                if not data:
                    break
                lines += data.count(b"\n", 0, target - seen)
                seen += len(data)
            return lines + 1
        finally:
            src.close()

    def error(self, msg: str, event: int, pos: int, field: str | None = None) -> LHEFormatError:
        line = self.line_of(pos)
        return LHEFormatError(
            f"{self.path}: event {event} (line {line}): {msg}; {event} complete events before it",
            path=self.path,
            event=event,
            line=line,
            field=field,
            n_complete_events=event,
        )

    def parse(self, arr: np.ndarray, pos: int, max_events: int):
        """One kernel call from ``pos``: (status, stop, piece); a malformed event sets pending_error."""
        remaining = len(arr) - pos
        strict = remaining // 26 + 16  # a particle line takes at least 26 bytes
        # until the first events have shown their size, size the tables for the first 256 kB only
        budget = remaining if self.calibrated else min(remaining, 1 << 18)
        cap_ev = int(min(max_events, budget / self.bytes_per_event * 1.25 + 64))
        cap_part = int(min(strict, cap_ev * self.particles_per_event * 1.25 + 256))
        cap_table = 4096
        ids, offs, npos = self.id_bytes, self.id_offsets, self.n_positional
        while True:
            res = P.parse_events(arr, pos, len(arr), max_events, ids, offs, npos, cap_ev, cap_part, cap_table)
            if res[0] != P.STATUS_FULL or res[1] > 0:
                break
            # the first event alone overflows a table: retry with room for anything the block holds
            if cap_table > 4096:
                raise self.error(
                    "event too large (more than 65536 weights or unusual numbers)", self.n_parsed, pos
                )
            cap_part, cap_table = strict, cap_table * 16
        status, n, npart, stop, err_code, err_pos, info, counts, parts, w, unk, unk_val, hard = res
        if status == P.STATUS_ERROR and err_code == P.ERR_COUNT:
            found, nup = int(counts[n]), int(info[0, n])
        if n:
            self.calibrated = True
            self.bytes_per_event = max((stop - pos) / n, 26.0)
            self.particles_per_event = max(npart / n, 1.0)
        if npart < parts.shape[1] // 2:
            parts = parts[:, :npart].copy()  # do not keep a mostly empty table alive
        info, counts, parts, w = info[:, :n], counts[:n], parts[:, :npart], np.ascontiguousarray(w[:n].T)
        base = self.n_parsed
        weights = {wid: w[k] for k, wid in enumerate(self.ids)}
        if unk.shape[1]:
            self._add_unknown(arr, unk, unk_val, hard, weights, n)
        if hard.shape[1]:
            self._resolve_hard(arr, hard, info, parts, weights, counts, base)
        if status == P.STATUS_ERROR:
            event = base + n
            msg, field = {
                P.ERR_BAD_INFO: ("event information line must hold 6 numbers", "eventinfo"),
                P.ERR_BAD_PARTICLE: ("malformed particle line (13 numbers expected)", "particle"),
                P.ERR_POSITIONAL: ("<weights> block has more entries than <initrwgt> declares", "weights"),
            }.get(err_code, ("", "nparticles"))
            if err_code == P.ERR_COUNT:
                msg = f"wrong particle count: the event line announces {nup} particles, {found} lines follow"
            self.pending_error = self.error(msg, event, err_pos, field)
        else:
            self.pending_error = None
        self.n_parsed += n
        return status, stop, _Piece(info, counts, parts, weights, n)

    def _add_unknown(self, arr, unk, unk_val, hard, weights, n) -> None:
        names = _gather_ids(arr, unk[1], unk[2])
        uniq, first, inverse = np.unique(names, return_index=True, return_inverse=True)
        order = np.argsort(first)  # first-appearance order
        new_ids = [uniq[k].decode("utf-8", errors="replace") for k in order]
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        cols = rank[inverse]
        # hard tokens among unknown weights are resolved into unk_val here
        if hard.shape[1]:
            sel = np.flatnonzero(hard[2] == P.HARD_UNKNOWN)
            for h in sel[hard[4, sel] < len(unk_val)]:  # only tokens the fast parser refused: rare
                unk_val[hard[4, h]] = self._float(
                    arr, hard[0, h], hard[1, h], self.n_parsed + unk[0, hard[4, h]]
                )
            hard[2, sel] = -1
        for k, wid in enumerate(new_ids):
            col = np.full(n, np.nan)
            m = cols == k
            col[unk[0, m]] = unk_val[m]
            if wid in weights:
                weights[wid] = np.where(np.isnan(col), weights[wid], col)
            else:
                weights[wid] = col
                self.ids.append(wid)
                log.info("%s: weight id %r is not declared in the header", self.path, wid)
        self.id_bytes, self.id_offsets = _id_table(self.ids)

    def _float(self, arr, s: int, e: int, event: int, field: str | None = None) -> float:
        token = bytes(arr[s:e])
        try:
            return float(token)
        except ValueError:
            try:
                return float(token.replace(b"d", b"e").replace(b"D", b"e"))
            except ValueError:
                raise self.error(
                    f"non-numeric token {token.decode(errors='replace')!r}", event, s, field
                ) from None

    def _resolve_hard(self, arr, hard, info, parts, weights, counts, base) -> None:
        ends = np.cumsum(counts)
        for h in range(hard.shape[1]):  # only tokens the fast parser refused: rare
            s, e, kind, row, col = (int(x) for x in hard[:, h])
            if kind == P.HARD_INFO and col >= info.shape[1]:
                self._float(arr, s, e, base + col, EVENT_FIELDS[row])
            elif kind == P.HARD_INFO:
                info[row, col] = self._float(arr, s, e, base + col, EVENT_FIELDS[row])
            elif kind == P.HARD_PARTICLE:
                ev = base + int(np.searchsorted(ends, col, side="right"))
                if col < parts.shape[1]:
                    parts[row, col] = self._float(arr, s, e, ev, PARTICLE_FIELDS[row])
                else:  # the particle belongs to the malformed event: report the token
                    self._float(arr, s, e, ev, PARTICLE_FIELDS[row])
            elif kind == P.HARD_WEIGHT and col < len(next(iter(weights.values()), [])):
                weights[self.ids[row]][col] = self._float(arr, s, e, base + col, self.ids[row])


def iter_chunks(
    path: str | os.PathLike,
    step_size: int,
    block: int = DEFAULT_BLOCK,
    byte_range: tuple[int, int] | None = None,
    first_event: int = 0,
    whole: bool = False,
) -> Iterator[tuple[LHEHeader, ak.Array]]:
    """Yield (header, chunk) pairs of at most ``step_size`` events; see ``iterate_lhe``.

    ``whole=True`` (for ``read_lhe``) decompresses the file in one go when that is possible (see
    ``_lhe_source._read_whole``), trading the bounded memory of block-wise reading for speed.
    """
    try:
        big = file_size(path) > S.PREFETCH_MIN_BYTES
    except OSError:
        big = False
    source = ByteSource(path, block, prefetch=big and not whole, whole=whole and byte_range is None)
    try:
        header, buf, head_len = read_header(source)
        reader = _ChunkReader(path, header, buf, source, first_event)
        if byte_range is not None:
            _skip_to(reader, (byte_range[0] + head_len, byte_range[1] + head_len))
        pieces: list[_Piece] = []
        n_pending = 0
        delivered = first_event
        pos = 0 if byte_range is not None else head_len
        while True:
            arr = np.frombuffer(reader.buf, np.uint8)
            status, stop, piece = reader.parse(arr, pos, step_size - n_pending)
            if piece.n:
                pieces.append(piece)
                n_pending += piece.n
            if reader.pending_error is not None:
                if pieces:
                    yield header, _assemble(pieces, reader, delivered)
                raise reader.pending_error
            pos = stop
            if n_pending >= step_size:
                yield header, _assemble(pieces, reader, delivered)
                delivered += n_pending
                pieces, n_pending = [], 0
                continue
            if status == P.STATUS_END_TAG:
                break
            if status in (P.STATUS_DONE, P.STATUS_FULL) and pos < len(arr):
                continue
            new = b"" if byte_range is not None and reader.budget <= 0 else source.read()
            if byte_range is not None:
                new = new[: max(reader.budget, 0)]
                reader.budget -= len(new)
            if not new:
                tail = reader.buf[pos:]
                if EVENT_TAG.search(tail):
                    if pieces:
                        yield header, _assemble(pieces, reader, delivered)
                    where = "gzip stream ends early" if source.truncated_gzip else "file ends"
                    pos_event = pos + tail.find(b"<event")
                    raise reader.error(f"truncated: {where} inside the event", reader.n_parsed, pos_event)
                if byte_range is None and b"</LesHouchesEvents" not in tail:
                    log.warning("%s: no closing </LesHouchesEvents> tag (file may be truncated)", reader.path)
                break
            reader.offset += pos
            reader.buf = reader.buf[pos:] + new
            pos = 0
        if pieces or delivered == first_event:
            yield header, _assemble(pieces, reader, delivered)
    finally:
        source.close()


def _skip_to(reader: _ChunkReader, byte_range: tuple[int, int]) -> None:
    """Position ``reader`` at decompressed file offset ``byte_range[0]``; read up to ``byte_range[1]``."""
    start, stop = byte_range
    buf = reader.buf
    while len(buf) < start:
        new = reader.source.read()
        if not new:
            break
        reader.offset += len(buf)
        start -= len(buf)
        stop -= len(buf)
        buf = new
    reader.offset += start
    reader.buf = buf[start:stop]
    reader.budget = stop - len(buf) if stop > len(buf) else 0


def _assemble(pieces: list[_Piece], reader: _ChunkReader, first: int) -> ak.Array:
    """Build the awkward array of one chunk from kernel pieces."""
    if len(pieces) == 1:
        p = pieces[0]
        info, counts, parts = p.info, p.counts, p.parts
    else:
        info = np.concatenate([p.info for p in pieces], axis=1) if pieces else np.empty((6, 0))
        counts = np.concatenate([p.counts for p in pieces]) if pieces else np.empty(0, np.int64)
        parts = np.concatenate([p.parts for p in pieces], axis=1) if pieces else np.empty((13, 0))
    weights = []
    for wid in reader.ids:
        cols = [p.weights.get(wid) for p in pieces]
        if len(cols) == 1 and cols[0] is not None:
            weights.append(np.ascontiguousarray(cols[0]))
        else:
            weights.append(
                np.concatenate(
                    [c if c is not None else np.full(p.n, np.nan) for c, p in zip(cols, pieces, strict=True)]
                )
                if pieces
                else np.empty(0)
            )
    return build_array(info, counts, parts, reader.ids, weights, reader.path, first)


def build_array(info, counts, parts, ids, weights, path, first) -> ak.Array:
    """Wrap flat columns as the event record array (see ``read_lhe`` for the layout)."""
    from awkward.contents import ListOffsetArray, NumpyArray, RecordArray
    from awkward.index import Index64

    n = info.shape[1]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    pcols = [
        NumpyArray(parts[k].astype(np.int64) if k < _INT_PARTICLE else np.ascontiguousarray(parts[k]))
        for k in range(13)
    ]
    particles = RecordArray(
        pcols, list(PARTICLE_FIELDS), length=parts.shape[1], parameters={"__record__": "Momentum4D"}
    )
    ecols = [
        NumpyArray(info[k].astype(np.int64) if k < 2 else np.ascontiguousarray(info[k])) for k in range(6)
    ]
    wrec = RecordArray([NumpyArray(w) for w in weights], list(ids), length=n)
    layout = RecordArray(
        [*ecols, ListOffsetArray(Index64(offsets), particles), wrec],
        [*EVENT_FIELDS, "particles", "weights"],
        length=n,
    )
    return ak.Array(
        layout,
        behavior=vector.backends.awkward.behavior,
        attrs={"lhe_path": str(path), "lhe_first_event": int(first)},
    )


def scan_event_offsets(
    path: str | os.PathLike, block: int = DEFAULT_BLOCK, with_header: bool = False
) -> np.ndarray | tuple[np.ndarray, LHEHeader]:
    """Decompressed byte offsets (from the first event tag) of every ``<event`` tag of a file."""
    source = ByteSource(path, block)
    try:
        header, buf, head_len = read_header(source)
        rest = buf[head_len:]
        found = []
        base = 0
        buf = rest
        while True:
            arr = np.frombuffer(buf, np.uint8)
            if len(arr) >= 7:
                cand = np.flatnonzero(arr[:-6] == 60)
                ok = np.ones(len(cand), bool)
                for k, c in enumerate(b"event"):
                    ok &= arr[cand + 1 + k] == c
                nxt = arr[cand + 6]
                ok &= (nxt == 62) | (nxt == 32) | (nxt == 10) | (nxt == 9) | (nxt == 13)
                found.append(cand[ok] + base)
            new = source.read()
            if not new:
                break
            keep = buf[-6:] if len(buf) >= 6 else buf
            base += len(buf) - len(keep)
            buf = keep + new
        out = (np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)).astype(np.int64)
        return (out, header) if with_header else out
    finally:
        source.close()


def file_size(path: str | os.PathLike) -> int:
    """Size of the file on disk in bytes."""
    return Path(path).stat().st_size
