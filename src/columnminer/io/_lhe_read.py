"""Chunked reading of LHE events: kernel calls over byte blocks, carry-over, awkward assembly."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import awkward as ak
import numpy as np
import vector

from ..errors import LHEFormatError
from . import _lhe_parse as P
from . import _lhe_source as S
from ._lhe_header import LHEHeader
from ._lhe_source import DEFAULT_BLOCK, EVENT_TAG, ByteSource, read_header

__all__ = [
    "EVENT_FIELDS",
    "INVALID_MODES",
    "PARTICLE_FIELDS",
    "build_array",
    "file_size",
    "iter_chunks",
    "scan_event_offsets",
]

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
INT_PARTICLE = 6  # the first six particle columns are integers


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


class Piece:
    """Columns of consecutive events from one kernel call (weights keyed by id).

    ``first`` is the index in the file of the first event (with ``invalid="drop"`` the events of a
    piece skip the dropped ones). ``weight_matrix``, where set, is the [ids, events] array whose rows
    are the values of ``weights`` in order (one copy of all weights at once instead of one per id).
    """

    def __init__(
        self,
        info,
        counts,
        parts,
        weights: dict[str, np.ndarray] | None,
        n: int,
        first: int = 0,
        ids: Sequence[str] = (),
        weight_matrix: np.ndarray | None = None,
    ) -> None:
        """``weights`` None: the weights are the rows of ``weight_matrix`` with the ids ``ids``, and the
        dict of those rows is only built if asked for (a block's 145 views cost ~20 us each time)."""
        self.info, self.counts, self.parts, self._weights, self.n = info, counts, parts, weights, n
        self.first = first
        self.ids = ids
        self.weight_matrix = weight_matrix

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """The weight columns keyed by id (views of the rows of ``weight_matrix`` where it is set)."""
        if self._weights is None:
            # the reader's id list may have grown since (ids learned later are appended): its first rows
            self._weights = dict(zip(self.ids, self.weight_matrix, strict=False))
        return self._weights

    def take(self, keep: np.ndarray) -> Piece:
        """The events where the boolean mask ``keep`` is true (a new piece)."""
        pkeep = np.repeat(keep, self.counts)
        kept = np.flatnonzero(keep)
        first = self.first + int(kept[0]) if kept.size else self.first
        return Piece(
            self.info[:, keep],
            self.counts[keep],
            self.parts[:, pkeep],
            {k: v[keep] for k, v in self.weights.items()},
            int(kept.size),
            first,
        )

    def head(self, k: int) -> Piece:
        """The first ``k`` events (views, no copy)."""
        n_part = int(self.counts[:k].sum())
        return Piece(
            self.info[:, :k],
            self.counts[:k],
            self.parts[:, :n_part],
            {wid: v[:k] for wid, v in self.weights.items()},
            k,
            self.first,
        )


class _Problem(NamedTuple):
    """One content problem of an event: where it is (byte offset in the block), what, and which field."""

    event: int  # index of the event in the kernel call
    pos: int
    message: str
    field: str | None


# Content problems flagged by the kernel: message template and field (see LHEChunkReader._flag_problem).
_FLAG_MESSAGES = {
    P.ERR_BAD_INFO: ("event information line must hold 6 numbers", "eventinfo"),
    P.ERR_BAD_PARTICLE: ("malformed particle line (13 numbers expected)", "particle"),
    P.ERR_POSITIONAL: ("<weights> block has more entries than <initrwgt> declares", "weights"),
}
_FINITE_PARTICLE = frozenset(range(6, 11))  # px, py, pz, e, lhe_mass must be finite
_FINITE_INFO = frozenset({2})  # the event weight XWGTUP must be finite
_INT_INFO = 2  # NUP and IDPRUP are integers
InvalidMode = Literal["raise", "drop"]
INVALID_MODES: tuple[InvalidMode, ...] = ("raise", "drop")
_LOGGED_DROPS = 10  # event indices named by the warning about dropped events


def _token_at(arr: np.ndarray, pos: int) -> str:
    """The blank-delimited token starting at ``arr[pos]`` (for messages)."""
    stop = pos
    while stop < len(arr) and stop - pos < 64 and arr[stop] not in b" \t\r\n<":
        stop += 1
    return bytes(arr[pos:stop]).decode(errors="replace")


def _parse_float(token: bytes) -> float | None:
    """Python's float() of an LHE token (Fortran ``d`` exponents allowed); None when not a number."""
    try:
        return float(token)
    except ValueError:
        try:
            return float(token.replace(b"d", b"e").replace(b"D", b"e"))
        except ValueError:
            return None


def _is_int64(v: float) -> bool:
    return v == v and -(2.0**63) <= v < 2.0**63 and v == int(v)


class LHEChunkReader:
    """State of one pass through a file: carried bytes, known weight ids, counters.

    ``invalid`` says what an event with invalid content becomes: ``"raise"`` (the events before it are
    delivered, then ``pending_error`` is set) or ``"drop"`` (it is left out and counted in ``dropped``).
    """

    def __init__(
        self,
        path,
        header: LHEHeader,
        buf: bytes,
        source: ByteSource,
        first: int,
        invalid: InvalidMode = "raise",
    ) -> None:
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
        self.invalid = invalid
        self.dropped: list[np.ndarray] = []  # file indices of the events dropped since the last chunk
        self.dropped_head: list[int] = []  # the first few file indices of dropped events, for the log
        self.n_dropped = 0
        self.first_drop_reason = ""
        self.pending_error: LHEFormatError | None = None

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
        """The error for event ``event`` (index in the file) at ``self.buf[pos]``.

        ``n_complete_events`` counts the complete, valid events before it: those delivered by this pass
        (from its first event on), the dropped ones excluded.
        """
        line = self.line_of(pos)
        n_complete = event - self.n_dropped
        where = f"line {line}, field {field}" if field else f"line {line}"
        return LHEFormatError(
            f"{self.path}: event {event} ({where}): {msg}; {n_complete} complete events before it",
            path=self.path,
            event=event,
            line=line,
            field=field,
            n_complete_events=n_complete,
        )

    def parse(self, arr: np.ndarray, pos: int, max_events: int):
        """One kernel call from ``pos``: (status, stop, piece).

        Events with invalid content are dropped from the piece or, with ``invalid="raise"``, end it:
        the piece then holds the events before the first invalid one and ``pending_error`` is set, as
        it is for a structurally broken event (status ERROR).
        """
        return self.finish(arr, pos, self.call_kernel(arr, pos, len(arr), max_events))

    def call_kernel(self, arr: np.ndarray, pos: int, end: int, max_events: int) -> tuple:
        """One call of the numba kernel on ``arr[pos:end]`` with tables sized from the running estimates
        (retried with larger tables when the first event alone overflows them); the raw kernel result."""
        remaining = end - pos
        strict = remaining // 26 + 16  # a particle line takes at least 26 bytes
        # until the first events have shown their size, size the tables for the first 256 kB only
        budget = remaining if self.calibrated else min(remaining, 1 << 18)
        cap_ev = int(min(max_events, budget / self.bytes_per_event * 1.25 + 64))
        cap_part = int(min(strict, cap_ev * self.particles_per_event * 1.25 + 256))
        cap_table = 4096
        ids, offs, npos = self.id_bytes, self.id_offsets, self.n_positional
        while True:
            res = P.parse_events(arr, pos, end, max_events, ids, offs, npos, cap_ev, cap_part, cap_table)
            if res[0] != P.STATUS_FULL or res[1] > 0:
                return res
            # the first event alone overflows a table: retry with room for anything the block holds
            if cap_table > 4096:
                raise self.error(
                    "event too large (more than 65536 weights or unusual numbers)", self.n_parsed, pos
                )
            cap_part, cap_table = strict, cap_table * 16

    def finish(self, arr: np.ndarray, pos: int, res: tuple):
        """Turn the kernel result ``res`` of a call from ``pos`` into (status, stop, piece); see :meth:`parse`."""
        status, n, npart, stop, err_code, err_pos, info, counts, parts, w, *tables = res
        unk, unk_val, hard, flags, n_suspect = tables  # n_suspect: flagged events or NUP != particle count
        if n:
            self.calibrated = True
            self.bytes_per_event = max((stop - pos) / n, 26.0)
            self.particles_per_event = max(npart / n, 1.0)
        if npart < parts.shape[1] // 2:
            parts = parts[:, :npart].copy()  # do not keep a mostly empty table alive
        info, counts, parts, w = info[:, :n], counts[:n], parts[:, :npart], np.ascontiguousarray(w[:n].T)
        base = self.n_parsed
        problems: list[_Problem] = []
        weights = None  # the common case: the rows of w, as views built only if asked for
        if unk.shape[1] or hard.shape[1]:
            weights = {wid: w[k] for k, wid in enumerate(self.ids)}
        if unk.shape[1]:
            self._add_unknown(arr, unk, unk_val, hard, weights, n, problems)
        if hard.shape[1]:
            self._resolve_hard(arr, hard, info, parts, weights, counts, problems)
        # without unknown ids the rows of w are the weights, in order (resolved values written into them)
        piece = Piece(info, counts, parts, weights, n, base, self.ids, None if unk.shape[1] else w)
        self.pending_error = None
        # the kernel vouches for every event when no token was resolved here (one numpy pass less per block)
        suspect = n_suspect or hard.shape[1] or problems
        bad = self._invalid_events(info, counts, flags, problems) if suspect else None
        if bad is not None:
            if self.invalid == "raise":
                k = int(np.argmax(bad))
                self.n_parsed += k
                p = self._describe(arr, k, info, counts, flags, problems)
                self.pending_error = self.error(p.message, base + k, p.pos, p.field)
                return P.STATUS_ERROR, stop, piece.head(k)
            k = int(np.argmax(bad))
            if not self.n_dropped:
                p = self._describe(arr, k, info, counts, flags, problems)
                self.first_drop_reason = f"event {base + k}: {p.message}" + (
                    f" (field {p.field})" if p.field else ""
                )
            idx = np.flatnonzero(bad)
            self.dropped.append(base + idx)
            self.dropped_head.extend((base + idx[: _LOGGED_DROPS - len(self.dropped_head)]).tolist())
            self.n_dropped += int(idx.size)
            piece = piece.take(~bad)
        if status == P.STATUS_ERROR and err_code == P.ERR_UNTERMINATED:  # structural: never dropped
            self.pending_error = self.error(
                f"unterminated event: a new <event> or </LesHouchesEvents> (line {self.line_of(err_pos)}) "
                "before its </event>",
                base + n,
                stop,
                "event",
            )
        self.n_parsed += n
        return status, stop, piece

    def _invalid_events(self, info, counts, flags, problems: list[_Problem]) -> np.ndarray | None:
        """Boolean mask of the events with invalid content, or None when all are valid (vectorised)."""
        nup = info[0]
        bad = (flags[P.FLAG_CODE] != 0) | (nup != counts) | (nup <= 0)
        if problems:
            bad[[p.event for p in problems]] = True
        return bad if bad.any() else None

    def _describe(self, arr, k: int, info, counts, flags, problems: list[_Problem]) -> _Problem:
        """The first problem (in file order) of event ``k`` of a kernel call, for messages."""
        found = [p for p in problems if p.event == k]
        if flags[P.FLAG_CODE, k]:
            found.append(self._flag_problem(arr, k, flags))
        if found:
            return min(found, key=lambda p: p.pos)
        nup, start = info[0, k], int(flags[P.FLAG_EVENT_START, k])
        if nup <= 0 or nup != int(nup):
            return _Problem(
                k,
                _info_line(arr, start),
                f"NUP must be a positive number of particles, not {nup:g}",
                "nparticles",
            )
        return _Problem(
            k,
            start,
            f"wrong particle count: the event line announces {int(nup)} particles, {int(counts[k])} lines follow",
            "nparticles",
        )

    def _flag_problem(self, arr, k: int, flags) -> _Problem:
        code, pos, arg = (int(x) for x in flags[: P.FLAG_EVENT_START, k])
        if code == P.ERR_DUPLICATE_WEIGHT:
            wid = self.ids[arg]
            return _Problem(k, pos, f"weight id {wid!r} appears more than once in the event", wid)
        if code in (P.ERR_NOT_INTEGER, P.ERR_INFO_NOT_INTEGER):
            field = (PARTICLE_FIELDS if code == P.ERR_NOT_INTEGER else EVENT_FIELDS)[arg]
            return _Problem(k, pos, f"{field} must be an integer, not {_token_at(arr, pos)!r}", field)
        msg, field = _FLAG_MESSAGES[code]
        return _Problem(k, pos, msg, field)

    def _add_unknown(self, arr, unk, unk_val, hard, weights, n, problems: list[_Problem]) -> None:
        names = _gather_ids(arr, unk[1], unk[2])
        uniq, first, inverse = np.unique(names, return_index=True, return_inverse=True)
        order = np.argsort(first)  # first-appearance order
        new_ids = [uniq[k].decode("utf-8", errors="replace") for k in order]
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        cols = rank[inverse]
        # the same undeclared id twice in one event
        key = unk[0] * len(order) + cols
        _, key_first, key_count = np.unique(key, return_index=True, return_counts=True)
        for e in key_first[key_count > 1]:  # rare: one entry per duplicated (event, id)
            later = np.flatnonzero(key == key[e])[1]
            wid = new_ids[cols[e]]
            problems.append(
                _Problem(
                    int(unk[0, e]),
                    int(unk[1, later]),
                    f"weight id {wid!r} appears more than once in the event",
                    wid,
                )
            )
        # hard tokens among unknown weights are resolved into unk_val here
        if hard.shape[1]:
            sel = np.flatnonzero(hard[2] == P.HARD_UNKNOWN)
            for h in sel[hard[4, sel] < len(unk_val)]:  # only tokens the fast parser refused: rare
                s, e, u = int(hard[0, h]), int(hard[1, h]), int(hard[4, h])
                v = _parse_float(bytes(arr[s:e]))
                if v is None:
                    problems.append(_Problem(int(unk[0, u]), s, _non_numeric(arr, s, e), new_ids[cols[u]]))
                    v = np.nan
                unk_val[u] = v
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

    def _resolve_hard(self, arr, hard, info, parts, weights, counts, problems: list[_Problem]) -> None:
        """Python's float() for the tokens the kernel refused; failures and bad values go to ``problems``.

        Every non-finite value goes through here (the kernel's fast path yields finite numbers only), so
        this is where NaN and infinite momenta, masses and event weights are found.
        """
        ends = np.cumsum(counts)
        n, n_part = info.shape[1], parts.shape[1]
        for h in range(hard.shape[1]):  # only tokens the fast parser refused: rare
            s, e, kind, row, col = (int(x) for x in hard[:, h])
            if kind == P.HARD_INFO and col < n:  # (col >= n: a broken event after the complete ones)
                event, field = col, EVENT_FIELDS[row]
                must_int, must_finite = row < _INT_INFO, row in _FINITE_INFO
            elif kind == P.HARD_PARTICLE and col < n_part:
                event, field = int(np.searchsorted(ends, col, side="right")), PARTICLE_FIELDS[row]
                must_int, must_finite = row < INT_PARTICLE, row in _FINITE_PARTICLE
            elif kind == P.HARD_WEIGHT and col < n:
                event, field = col, self.ids[row]
                must_int = must_finite = False
            else:  # forgotten (-1) or resolved elsewhere
                continue
            v = _parse_float(bytes(arr[s:e]))
            if v is None:
                problems.append(_Problem(event, s, _non_numeric(arr, s, e), field))
                v = np.nan
            elif must_int and not _is_int64(v):
                msg = f"{field} must be an integer, not {_token_at(arr, s)!r}"
                problems.append(_Problem(event, s, msg, field))
            elif must_finite and not np.isfinite(v):
                problems.append(_Problem(event, s, f"non-finite value {_token_at(arr, s)!r}", field))
            if kind == P.HARD_WEIGHT:
                weights[field][col] = v
            elif kind == P.HARD_INFO:
                info[row, col] = v
            else:
                parts[row, col] = v


def _non_numeric(arr: np.ndarray, s: int, e: int) -> str:
    return f"non-numeric token {bytes(arr[s:e]).decode(errors='replace')!r}"


def _info_line(arr: np.ndarray, start: int) -> int:
    """Offset of the event-information line of the event whose tag starts at ``start`` (errors only)."""
    j = start
    while j < len(arr) and arr[j] != 62:  # '>' closing the <event ...> tag
        j += 1
    j += 1
    while j < len(arr):
        while j < len(arr) and arr[j] in b" \t\r\n":
            j += 1
        if j < len(arr) and arr[j] == 35:  # '#' comment line
            while j < len(arr) and arr[j] != 10:
                j += 1
            continue
        break
    return j


def iter_chunks(
    path: str | os.PathLike,
    step_size: int,
    block: int = DEFAULT_BLOCK,
    byte_range: tuple[int, int] | None = None,
    first_event: int = 0,
    whole: bool = False,
    *,
    invalid: InvalidMode = "raise",
) -> Iterator[tuple[LHEHeader, ak.Array]]:
    """Yield (header, chunk) pairs of at most ``step_size`` events; see ``iterate_lhe``.

    ``whole=True`` (for ``read_lhe``) decompresses the file in one go when that is possible (see
    ``_lhe_source._read_whole``), trading the bounded memory of block-wise reading for speed.

    ``invalid`` is ``"raise"`` (default: the events before the first invalid one are yielded, then
    an :class:`LHEFormatError` is raised) or ``"drop"`` (events whose content is invalid are left out,
    listed in ``chunk.attrs["lhe_dropped_events"]`` and counted in one warning of this module's logger;
    structural problems, such as a truncated file or an unterminated event, still raise).
    """
    if invalid not in INVALID_MODES:
        raise ValueError(f"invalid must be one of {INVALID_MODES}, not {invalid!r}")
    try:
        big = file_size(path) > S.PREFETCH_MIN_BYTES
    except OSError:
        big = False
    source = ByteSource(path, block, prefetch=big and not whole, whole=whole and byte_range is None)
    reader = None
    try:
        header, buf, head_len = read_header(source)
        reader = LHEChunkReader(path, header, buf, source, first_event, invalid)
        if byte_range is not None:
            _skip_to(reader, (byte_range[0] + head_len, byte_range[1] + head_len))
        pieces: list[Piece] = []
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
        if reader is not None and reader.n_dropped:
            shown = reader.dropped_head
            log.warning(
                "%s: dropped %d events with invalid content (invalid='drop'), event indices %s%s; first: %s",
                reader.path,
                reader.n_dropped,
                ", ".join(map(str, shown)),
                ", ..." if reader.n_dropped > len(shown) else "",
                reader.first_drop_reason,
            )


def _skip_to(reader: LHEChunkReader, byte_range: tuple[int, int]) -> None:
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


def _assemble(pieces: list[Piece], reader: LHEChunkReader, first: int) -> ak.Array:
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
    first = pieces[0].first if pieces else first
    out = build_array(info, counts, parts, reader.ids, weights, reader.path, first)
    if reader.invalid == "drop":  # the events dropped since the previous chunk
        dropped = np.concatenate(reader.dropped).tolist() if reader.dropped else []
        reader.dropped = []
        out.attrs["lhe_dropped_events"] = dropped
    return out


def _column(x: np.ndarray, integer: bool) -> np.ndarray:
    """A contiguous int64 (``integer``) or float64 column; no copy where ``x`` already is one."""
    return np.ascontiguousarray(x, dtype=np.int64 if integer else np.float64)


def build_array(info, counts, parts, ids, weights, path, first) -> ak.Array:
    """Wrap flat columns as the event record array (see ``read_lhe`` for the layout).

    ``info`` and ``parts`` are [6, n] and [13, n_particles] tables or sequences of their rows (integer
    rows may already be int64).
    """
    from awkward.contents import ListOffsetArray, NumpyArray, RecordArray
    from awkward.index import Index64

    n = len(counts)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    pcols = [NumpyArray(_column(parts[k], k < INT_PARTICLE)) for k in range(13)]
    particles = RecordArray(
        pcols, list(PARTICLE_FIELDS), length=int(offsets[-1]), parameters={"__record__": "Momentum4D"}
    )
    ecols = [NumpyArray(_column(info[k], k < 2)) for k in range(6)]
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
