"""Numba kernel that turns a byte block of complete ``<event>`` records into flat numpy columns."""

# numba's cache does not see edits of the helpers in _lhe_tokens: edit this file too (even this comment)
# so that the kernel is recompiled with them (last: SWAR fraction digits and blank runs).

from __future__ import annotations

import numba
import numpy as np

from ._lhe_tokens import (
    POW10,
    byte_at,
    fast_line_at,
    fast_number_at,
    find,
    is_space,
    load8,
    match_id_at,
    parse_number,
    push_hard,
    starts_with,
    tag_word,
)

__all__ = [
    "ERR_BAD_INFO",
    "ERR_BAD_PARTICLE",
    "ERR_COUNT",
    "ERR_DUPLICATE_WEIGHT",
    "ERR_INFO_NOT_INTEGER",
    "ERR_NOT_INTEGER",
    "ERR_POSITIONAL",
    "ERR_UNTERMINATED",
    "FLAG_ARG",
    "FLAG_CODE",
    "FLAG_EVENT_START",
    "FLAG_POS",
    "HARD_INFO",
    "HARD_PARTICLE",
    "HARD_UNKNOWN",
    "HARD_WEIGHT",
    "STATUS_DONE",
    "STATUS_END_TAG",
    "STATUS_ERROR",
    "STATUS_FULL",
    "STATUS_INCOMPLETE",
    "parse_events",
]

# Return status of ``parse_events``.
STATUS_DONE = 0  # no further ``<event`` in the block, or ``max_events`` reached
STATUS_INCOMPLETE = 1  # an ``<event`` starts at ``stop`` but its ``</event>`` is not in the block
STATUS_END_TAG = 2  # ``</LesHouchesEvents>`` reached at ``stop``
STATUS_ERROR = 3  # structurally broken event at ``stop``; ``err_code`` and ``err_pos`` say what and where
STATUS_FULL = 4  # an output table is full at ``stop`` (an event boundary): call again

# Problems in the content of one event. They do not stop the parse: the event is delimited by its tags,
# so it is parsed to its ``</event>`` like any other and flagged (see FLAG_*) for the caller to reject
# or drop. Only the first problem of an event, in file order, is flagged.
ERR_BAD_INFO = 1  # event-information line without exactly 6 numbers
ERR_BAD_PARTICLE = 2  # particle line without exactly 13 numbers
ERR_COUNT = 3  # number of particle lines differs from NUP (checked by the caller on the parsed arrays)
ERR_POSITIONAL = 4  # a <weights> block longer than the header's weight list
ERR_DUPLICATE_WEIGHT = 5  # the same declared weight id twice in one event; FLAG_ARG is its column
ERR_NOT_INTEGER = 6  # an integer particle column (id ... color2) holds a non-integer; FLAG_ARG is the column
ERR_INFO_NOT_INTEGER = 7  # NUP or IDPRUP is not an integer; FLAG_ARG is the column
# Structural problem: parsing stops with STATUS_ERROR.
ERR_UNTERMINATED = 8  # an <event> or </LesHouchesEvents> tag before the </event> of the current event

# Rows of the per-event ``flags`` table returned by ``parse_events``.
FLAG_CODE = 0  # 0 (valid) or one of the content ERR_* codes
FLAG_POS = 1  # byte offset of the problem (line or token start)
FLAG_ARG = 2  # column or weight-id index the problem concerns
FLAG_EVENT_START = 3  # byte offset of the event's ``<event`` tag (set for every event)

_INT_MIN = -9223372036854775808.0  # int64 range: values outside it are not integers of the schema
_INT_END = 9223372036854775808.0

# The tags as (word, mask) of their first bytes: one 8-byte load and compare instead of a byte loop
# (used where at least 8 bytes are left before the block's end; </LesHouchesEvents is checked in full).
_EVENT, _EVENT_M = tag_word(b"<event")
_END_EVENT, _END_EVENT_M = tag_word(b"</event>")
_WGT, _WGT_M = tag_word(b"<wgt")
_WEIGHTS, _WEIGHTS_M = tag_word(b"<weights")
_COMMENT, _COMMENT_M = tag_word(b"<!--")
_END_FILE, _END_FILE_M = tag_word(b"</LesHou")

# Kinds of "hard" tokens that the fast float parser left to Python's float().
HARD_INFO = 0
HARD_PARTICLE = 1
HARD_WEIGHT = 2
HARD_UNKNOWN = 3


@numba.njit(cache=True, nogil=True)
def _parse_line(buf, j, end, out, col, ntok_max, n_int, hard, n_hard, kind, pow10):
    """Parse the numbers of one line into out[:, col].

    Returns (j, ntok, n_hard, complete, bad_pos, bad_row): ``bad_pos`` >= 0 is the start of the first
    of the leading ``n_int`` tokens (integer columns) whose value is not an int64 integer, ``bad_row``
    its column. Tokens left to Python's float() are checked by the caller.
    """
    ntok = 0
    bad_pos = -1
    bad_row = 0
    while True:
        if j >= end:
            return j, ntok, n_hard, False, bad_pos, bad_row
        c = buf[j]
        if c == 10:
            return j + 1, ntok, n_hard, True, bad_pos, bad_row
        if c == 32 or c == 9 or c == 13:
            j += 1
            continue
        if c == 60 or ntok >= ntok_max:  # '<' or too many numbers: malformed line
            return j, ntok_max + 1, n_hard, True, bad_pos, bad_row
        v, k, code = parse_number(buf, j, end, pow10)
        if k == j:
            k = j + 1
        if code != 0:
            n_hard = push_hard(hard, n_hard, j, k, kind, ntok, col)
            v = np.nan
        elif ntok < n_int and bad_pos < 0 and (v != np.floor(v) or v < _INT_MIN or v >= _INT_END):
            bad_pos = j
            bad_row = ntok
        out[ntok, col] = v
        ntok += 1
        j = k


@numba.njit(cache=True, nogil=True)
def _wgt_id(p, j, end):
    """(gt, ids, ide) of the ``<wgt`` tag at byte ``j`` of the buffer at address ``p``: its closing ``>``
    (-1 when not before ``end``) and the bounds of its ``id`` value, blanks trimmed (-1, -1 without one).

    MadGraph's form ``<wgt id='...'>`` (or ``"``) is recognised straight away; any other form is searched
    for an ``id`` attribute, which gives the same bounds for that form.
    """
    q = j + 8
    if (
        q < end
        and byte_at(p, j + 4) == 32
        and byte_at(p, j + 5) == 105
        and byte_at(p, j + 6) == 100
        and byte_at(p, j + 7) == 61
        and (byte_at(p, q) == 39 or byte_at(p, q) == 34)
    ):
        r = q + 1
        while r < end and byte_at(p, r) != byte_at(p, q) and byte_at(p, r) != 62:
            r += 1
        if r + 1 < end and byte_at(p, r) == byte_at(p, q) and byte_at(p, r + 1) == 62:
            return _trim_id(p, r + 1, q + 1, r)
    gt = j + 4
    while gt < end and byte_at(p, gt) != 62:
        gt += 1
    if gt >= end:
        return -1, -1, -1
    ids = -1
    ide = -1
    m = j + 4
    while m < gt - 2:
        if (
            byte_at(p, m) == 105
            and byte_at(p, m + 1) == 100
            and is_space(byte_at(p, m - 1))
            and (byte_at(p, m + 2) == 61 or is_space(byte_at(p, m + 2)))
        ):
            q = m + 2
            while q < gt and (is_space(byte_at(p, q)) or byte_at(p, q) == 61):
                q += 1
            if q < gt and (byte_at(p, q) == 34 or byte_at(p, q) == 39):
                quote = byte_at(p, q)
                r = q + 1
                while r < gt and byte_at(p, r) != quote:
                    r += 1
                ids = q + 1
                ide = r
            break
        m += 1
    return _trim_id(p, gt, ids, ide)


@numba.njit(cache=True, nogil=True, inline="always")
def _trim_id(p, gt, ids, ide):
    """(gt, ids, ide) with the blanks at both ends of bytes ``ids:ide`` (of the buffer at address ``p``)
    left out (ids < 0: no id)."""
    while ids >= 0 and ids < ide and is_space(byte_at(p, ids)):
        ids += 1
    while ids >= 0 and ide > ids and is_space(byte_at(p, ide - 1)):
        ide -= 1
    return gt, ids, ide


@numba.njit(cache=True, nogil=True, inline="always")
def _skip_end_wgt(p, j, end):
    """Index after the spaces and ``</wgt>`` that follow a weight value at byte ``j`` (buffer at ``p``), else ``j``.

    The event loop would step over those bytes one by one (no tag it looks for starts there, and one cut
    by ``end`` leaves the event incomplete either way), so skipping them changes nothing but the time.
    """
    k = j
    while k < end and byte_at(p, k) == 32:
        k += 1
    if (
        k + 6 <= end
        and byte_at(p, k) == 60
        and byte_at(p, k + 1) == 47
        and byte_at(p, k + 2) == 119
        and byte_at(p, k + 3) == 103
        and byte_at(p, k + 4) == 116
        and byte_at(p, k + 5) == 62
    ):
        return k + 6
    return j


@numba.njit(cache=True, nogil=True, inline="always")
def _number_at(p, buf, j, end):
    """``_lhe_tokens.number``'s (value, token end, code) with the fast path read at address ``p``: ``buf``
    (the same bytes) is touched, and reference counted, only when the general parser is needed."""
    v, k = fast_number_at(p, j, end)
    if k >= 0:
        return v, k, 0
    return parse_number(buf, j, end, POW10)


@numba.njit(cache=True, nogil=True)
def parse_events(
    buf, start, end, max_events, id_bytes, id_offsets, n_positional, cap_events, cap_particles, cap_table
):
    """Parse complete events of ``buf[start:end]``; see the module constants for the return codes.

    The parse stops at an event boundary when ``max_events`` or a capacity is reached (status
    DONE with ``stop`` < ``end``), or with status INCOMPLETE at the start of an event that the
    block does not hold entirely; the caller then calls again from ``stop``. A structurally broken
    event (no ``</event>`` before the next event) stops it with status ERROR at the event's start.

    Problems in the content of an event (see the ERR_* codes) do not stop the parse: the event is
    returned like the others and marked in ``flags`` (rows FLAG_*, one column per event), which the
    caller turns into an error or uses to drop the event. The particle count announced by NUP is
    not compared here (NUP may be a token left to Python's float()); ``counts`` holds the number of
    particle lines of each event, for the caller to compare. The last item, ``n_suspect``, counts the
    events that are flagged or whose parsed NUP is not their positive particle count (NaN included): 0
    lets the caller skip its own checks when no token was left to Python's float().
    """
    pow10 = POW10
    ids_addr = id_bytes.ctypes.data
    offs_addr = id_offsets.ctypes.data
    addr = buf.ctypes.data  # the hot helpers read the bytes by address: no reference counting per call
    n_ids = id_offsets.shape[0] - 1
    info = np.empty((6, cap_events), np.float64)
    parts = np.empty((13, cap_particles), np.float64)
    counts = np.empty(cap_events, np.int64)
    weights = np.empty((cap_events, n_ids), np.float64)
    flags = np.empty((4, cap_events), np.int64)
    weight_seen = np.full(max(n_ids, 1), -1, np.int64)  # last event (index in this call) setting a column
    unknown = np.empty((3, cap_table), np.int64)  # event, id start, id end
    unknown_val = np.empty(cap_table, np.float64)
    hard = np.empty((5, cap_table), np.int64)  # token start, token end, kind, row, column
    positional = np.empty(max(n_positional, 1), np.float64)
    pos_hard = np.empty(max(n_positional, 1), np.int64)
    n_ev = 0
    n_part = 0
    n_unknown = 0
    n_hard = 0
    n_suspect = 0  # events flagged, or whose NUP (info row 0) is not their positive particle count
    status = STATUS_DONE
    err_code = 0
    err_pos = -1
    stop = start

    tag_end_event = np.frombuffer(b"</event>", np.uint8)
    tag_end_file = np.frombuffer(b"</LesHouchesEvents", np.uint8)
    end_comment = np.frombuffer(b"-->", np.uint8)

    i = start
    guess = 0
    while True:
        if (
            n_ev >= max_events
            or n_ev >= cap_events
            or (n_ev > 0 and (2 * n_hard > cap_table or 2 * n_unknown > cap_table))
        ):
            stop = i
            status = STATUS_DONE
            break
        # ---- find the next <event ...> tag
        lt = -1
        status = STATUS_DONE
        while i < end:
            if buf[i] == 60:
                if i + 20 > end:
                    status = STATUS_INCOMPLETE  # cannot tell which tag this is yet
                    break
                w = load8(addr, i)
                if (w & _EVENT_M) == _EVENT and (buf[i + 6] == 62 or is_space(buf[i + 6])):
                    lt = i
                    break
                if (w & _END_FILE_M) == _END_FILE and starts_with(buf, i, end, tag_end_file):
                    status = STATUS_END_TAG
                    break
                if (w & _COMMENT_M) == _COMMENT:
                    k = find(buf, i + 4, end, end_comment)
                    if k < 0:
                        status = STATUS_INCOMPLETE
                        break
                    i = k + 3
                    continue
            i += 1
        if lt < 0:
            stop = i
            break
        ev_start = lt
        p0 = n_part
        u0 = n_unknown
        h0 = n_hard
        g0 = guess
        weights[n_ev, :] = np.nan
        # skip the rest of the opening tag
        j = lt + 6
        while j < end and buf[j] != 62:
            j += 1
        j += 1
        complete = True
        failed = False
        full = False
        flag = 0
        flag_pos = -1
        flag_arg = 0
        # ---- line section: event info, particle lines, comments; ends at the first '<'
        n_lines = 0
        while True:
            while j < end and is_space(buf[j]):
                j += 1
            if j >= end:
                complete = False
                break
            if buf[j] == 60:
                break
            if buf[j] == 35:  # '#': comment line
                while j < end and buf[j] != 10:
                    j += 1
                if j >= end:
                    complete = False
                    break
                continue
            line_start = j
            if n_lines == 0:
                k = fast_line_at(addr, j, end, info, n_ev, 6, 2)
                if k >= 0:  # the common case: six plain numbers
                    j = k
                    n_lines += 1
                    continue
                j, ntok, n_hard, done, bad_pos, bad_row = _parse_line(
                    buf, j, end, info, n_ev, 6, 2, hard, n_hard, HARD_INFO, pow10
                )
                if not done:
                    complete = False
                    break
                if flag == 0 and ntok != 6:
                    flag, flag_pos = ERR_BAD_INFO, line_start
                elif flag == 0 and bad_pos >= 0:
                    flag, flag_pos, flag_arg = ERR_INFO_NOT_INTEGER, bad_pos, bad_row
            else:
                if n_part >= cap_particles:
                    full = True
                    break
                k = fast_line_at(addr, j, end, parts, n_part, 13, 6)
                if k >= 0:  # the common case: thirteen plain numbers
                    j = k
                    n_part += 1
                    n_lines += 1
                    continue
                j, ntok, n_hard, done, bad_pos, bad_row = _parse_line(
                    buf, j, end, parts, n_part, 13, 6, hard, n_hard, HARD_PARTICLE, pow10
                )
                if not done:
                    complete = False
                    break
                if flag == 0 and ntok != 13:
                    flag, flag_pos = ERR_BAD_PARTICLE, line_start
                elif flag == 0 and bad_pos >= 0:
                    flag, flag_pos, flag_arg = ERR_NOT_INTEGER, bad_pos, bad_row
                n_part += 1  # a malformed line keeps its slot: its tokens may be in ``hard``
            if ntok > (6 if n_lines == 0 else 13) and buf[j] != 60:  # too many numbers: skip the rest
                while j < end and buf[j] != 10:
                    j += 1
                if j >= end:
                    complete = False
                    break
            n_lines += 1
        if complete and n_lines == 0 and flag == 0:
            flag, flag_pos = ERR_BAD_INFO, j
        # ---- tag section: <rwgt><wgt id=..>v</wgt>, <weights>v v v</weights>; everything else skipped
        n_pos = 0
        closed = False
        while complete and not full:
            while j < end and buf[j] != 60:  # to the next '<' in a tight loop
                j += 1
            if j >= end:
                complete = False
                break
            if j + 9 > end:  # too few bytes left to recognise the tags that matter
                if starts_with(buf, j, end, tag_end_event):
                    closed = True
                    j += 8
                    break
                complete = False
                break
            b1 = buf[j + 1]
            b2 = buf[j + 2]
            if not (b1 == 119 or b1 == 101 or b1 == 33 or (b1 == 47 and (b2 == 101 or b2 == 76))):
                j += 1  # not "<w", "<e", "<!", "</e", "</L": none of the tags below
                continue
            w = load8(addr, j)  # j + 9 <= end here
            if (w & _END_EVENT_M) == _END_EVENT:
                closed = True
                j += 8
                break
            if (w & _WGT_M) == _WGT and (is_space(buf[j + 4]) or buf[j + 4] == 62):
                tag_start = j
                gt, ids, ide = _wgt_id(addr, j, end)
                if gt < 0:
                    complete = False
                    break
                j = gt + 1
                while j < end and is_space(buf[j]):
                    j += 1
                if j >= end:
                    complete = False
                    break
                v, k, code = _number_at(addr, buf, j, end)
                if k >= end:
                    complete = False
                    break
                if k == j:
                    k = j + 1
                col = -1
                if ids >= 0:
                    col = match_id_at(addr, ids, ide, ids_addr, offs_addr, n_ids, guess)
                if col >= 0:
                    guess = col + 1
                    if guess >= n_ids:
                        guess = 0
                    if weight_seen[col] == n_ev and flag == 0:
                        flag, flag_pos, flag_arg = ERR_DUPLICATE_WEIGHT, tag_start, col
                    weight_seen[col] = n_ev
                    if code != 0:
                        n_hard = push_hard(hard, n_hard, j, k, HARD_WEIGHT, col, n_ev)
                        v = np.nan
                    weights[n_ev, col] = v
                elif ids >= 0:
                    if n_unknown >= cap_table:
                        full = True
                        break
                    if code != 0:
                        n_hard = push_hard(hard, n_hard, j, k, HARD_UNKNOWN, 0, n_unknown)
                        v = np.nan
                    unknown[0, n_unknown] = n_ev
                    unknown[1, n_unknown] = ids
                    unknown[2, n_unknown] = ide
                    unknown_val[n_unknown] = v
                    n_unknown += 1
                j = _skip_end_wgt(addr, k, end)
                continue
            if (w & _WEIGHTS_M) == _WEIGHTS and (is_space(buf[j + 8]) or buf[j + 8] == 62):
                k = j + 8
                while k < end and buf[k] != 62:
                    k += 1
                j = k + 1
                while True:
                    while j < end and is_space(buf[j]):
                        j += 1
                    if j >= end:
                        complete = False
                        break
                    if buf[j] == 60:
                        break
                    v, k, code = _number_at(addr, buf, j, end)
                    if k >= end:
                        complete = False
                        break
                    if k == j:
                        k = j + 1
                    if n_pos >= n_positional:  # flag the event, read on to the end of the block
                        if flag == 0:
                            flag, flag_pos = ERR_POSITIONAL, j
                        j = k
                        continue
                    positional[n_pos] = v
                    pos_hard[n_pos] = -1
                    if code != 0:
                        positional[n_pos] = np.nan
                        pos_hard[n_pos] = n_hard
                        n_hard = push_hard(hard, n_hard, j, k, HARD_WEIGHT, n_pos, n_ev)
                    n_pos += 1
                    j = k
                if not complete:
                    break
                continue
            if (w & _COMMENT_M) == _COMMENT:
                k = find(buf, j + 4, end, end_comment)
                if k < 0:
                    complete = False
                    break
                j = k + 3
                continue
            if ((w & _EVENT_M) == _EVENT and (buf[j + 6] == 62 or is_space(buf[j + 6]))) or (
                (w & _END_FILE_M) == _END_FILE and starts_with(buf, j, end, tag_end_file)
            ):  # a new event, or the end of the file, before this event's </event>
                failed = True
                err_code = ERR_UNTERMINATED
                err_pos = j
                break
            j += 1
        if n_hard > cap_table:
            full = True
        if full and not failed:
            n_part, n_unknown, n_hard, guess = p0, u0, h0, g0
            status = STATUS_FULL
            stop = ev_start
            break
        if failed:
            status = STATUS_ERROR
            stop = ev_start
            n_part, n_unknown, n_hard, guess = p0, u0, h0, g0
            break
        if not complete or not closed:
            # roll back the partial event; the caller comes back with more bytes
            n_part, n_unknown, n_hard, guess = p0, u0, h0, g0
            status = STATUS_INCOMPLETE
            stop = ev_start
            break
        counts[n_ev] = n_part - p0
        nup = info[0, n_ev]  # NaN (a token for Python's float()) counts as suspect
        if flag != 0 or not (nup == n_part - p0 and nup > 0):
            n_suspect += 1
        flags[FLAG_CODE, n_ev] = flag
        flags[FLAG_POS, n_ev] = flag_pos
        flags[FLAG_ARG, n_ev] = flag_arg
        flags[FLAG_EVENT_START, n_ev] = ev_start
        # positional weights fill only what <rwgt> did not set (as pylhe does)
        for p in range(n_pos):
            if weights[n_ev, p] != weights[n_ev, p]:
                weights[n_ev, p] = positional[p]
            elif pos_hard[p] >= 0:
                hard[2, pos_hard[p]] = -1  # the <rwgt> value wins; forget the hard token
        n_ev += 1
        i = j
        stop = i
    return (
        status,
        n_ev,
        n_part,
        stop,
        err_code,
        err_pos,
        info,
        counts,
        parts,
        weights,
        unknown[:, :n_unknown],
        unknown_val[:n_unknown],
        hard[:, : min(n_hard, cap_table)],
        flags[:, :n_ev],
        n_suspect,
    )
