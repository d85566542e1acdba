"""Numba kernel that turns a byte block of complete ``<event>`` records into flat numpy columns."""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "ERR_BAD_INFO",
    "ERR_BAD_PARTICLE",
    "ERR_COUNT",
    "ERR_POSITIONAL",
    "HARD_INFO",
    "HARD_PARTICLE",
    "HARD_UNKNOWN",
    "HARD_WEIGHT",
    "STATUS_DONE",
    "STATUS_END_TAG",
    "STATUS_ERROR",
    "STATUS_INCOMPLETE",
    "parse_events",
]

# Return status of ``parse_events``.
STATUS_DONE = 0  # no further ``<event`` in the block, or ``max_events`` reached
STATUS_INCOMPLETE = 1  # an ``<event`` starts at ``stop`` but its ``</event>`` is not in the block
STATUS_END_TAG = 2  # ``</LesHouchesEvents>`` reached at ``stop``
STATUS_ERROR = 3  # malformed event; ``err_code`` and ``err_pos`` say what and where

ERR_BAD_INFO = 1  # event-information line without exactly 6 numbers
ERR_BAD_PARTICLE = 2  # particle line without exactly 13 numbers
ERR_COUNT = 3  # number of particle lines differs from NUP
ERR_POSITIONAL = 4  # a <weights> block longer than the header's weight list

# Kinds of "hard" tokens that the fast float parser left to Python's float().
HARD_INFO = 0
HARD_PARTICLE = 1
HARD_WEIGHT = 2
HARD_UNKNOWN = 3

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
_TWO53 = 1 << 53


@numba.njit(cache=True, nogil=True, inline="always")
def _is_space(c):
    return c == 32 or c == 9 or c == 13 or c == 10 or c == 11 or c == 12


@numba.njit(cache=True, nogil=True)
def _parse_number(buf, i, end, pow10):
    """Parse the token starting at ``i`` (no leading blanks).

    Returns (value, token_end, code): code 0 = exact fast path, 1 = leave to Python's float().
    A token ends at a blank, ``<`` or ``end``.
    """
    j = i
    neg = False
    c = buf[j]
    if c == 43 or c == 45:  # + -
        neg = c == 45
        j += 1
    mant = np.uint64(0)
    ndig = 0
    exp10 = 0
    seen_digit = False
    hard = False
    while j < end:
        c = buf[j]
        if c >= 48 and c <= 57:
            seen_digit = True
            if ndig > 0 or c != 48:
                if ndig < 19:
                    mant = mant * np.uint64(10) + np.uint64(c - 48)
                    ndig += 1
                else:
                    hard = True
            j += 1
        else:
            break
    if j < end and buf[j] == 46:  # '.'
        j += 1
        while j < end:
            c = buf[j]
            if c >= 48 and c <= 57:
                seen_digit = True
                if ndig > 0 or c != 48:
                    if ndig < 19:
                        mant = mant * np.uint64(10) + np.uint64(c - 48)
                        ndig += 1
                    else:
                        hard = True
                exp10 -= 1
                j += 1
            else:
                break
    if j < end and (buf[j] == 101 or buf[j] == 69 or buf[j] == 100 or buf[j] == 68):  # e E d D
        j += 1
        eneg = False
        if j < end and (buf[j] == 43 or buf[j] == 45):
            eneg = buf[j] == 45
            j += 1
        e = 0
        edig = 0
        while j < end:
            c = buf[j]
            if c >= 48 and c <= 57:
                if e < 100000:
                    e = e * 10 + (c - 48)
                edig += 1
                j += 1
            else:
                break
        if edig == 0:
            hard = True
        exp10 += -e if eneg else e
    # the token must end here
    if j < end and not (_is_space(buf[j]) or buf[j] == 60):
        hard = True
        while j < end and not (_is_space(buf[j]) or buf[j] == 60):
            j += 1
    if not seen_digit:
        hard = True
    if hard:
        return 0.0, j, 1
    if mant == 0:
        return (-0.0 if neg else 0.0), j, 0
    if mant >= np.uint64(_TWO53) or exp10 > 22 or exp10 < -22:
        return 0.0, j, 1
    v = float(mant)
    if exp10 >= 0:
        v = v * pow10[exp10]
    else:
        v = v / pow10[-exp10]
    return (-v if neg else v), j, 0


@numba.njit(cache=True, nogil=True)
def _starts_with(buf, i, end, pat):
    n = pat.shape[0]
    if i + n > end:
        return False
    for k in range(n):
        if buf[i + k] != pat[k]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _find(buf, i, end, pat):
    """First index >= i where ``pat`` starts, or -1."""
    n = pat.shape[0]
    first = pat[0]
    last = end - n
    while i <= last:
        if buf[i] == first:
            ok = True
            for k in range(1, n):
                if buf[i + k] != pat[k]:
                    ok = False
                    break
            if ok:
                return i
        i += 1
    return -1


@numba.njit(cache=True, nogil=True)
def _grow2(a, n):
    out = np.empty((a.shape[0], n), a.dtype)
    out[:, : a.shape[1]] = a
    return out


@numba.njit(cache=True, nogil=True)
def _grow1(a, n):
    out = np.empty(n, a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True, nogil=True)
def _match_id(buf, s, e, id_bytes, id_offsets, guess):
    """Column of the weight id buf[s:e] in the table, trying ``guess`` first; -1 if unknown."""
    n_ids = id_offsets.shape[0] - 1
    length = e - s
    for t in range(n_ids):
        col = guess + t
        if col >= n_ids:
            col -= n_ids
        a = id_offsets[col]
        if id_offsets[col + 1] - a != length:
            continue
        ok = True
        for k in range(length):
            if id_bytes[a + k] != buf[s + k]:
                ok = False
                break
        if ok:
            return col
    return -1


@numba.njit(cache=True, nogil=True)
def _push_hard(hard, n_hard, s, e, kind, row, col):
    if n_hard >= hard.shape[1]:
        hard = _grow2(hard, 2 * hard.shape[1])
    hard[0, n_hard] = s
    hard[1, n_hard] = e
    hard[2, n_hard] = kind
    hard[3, n_hard] = row
    hard[4, n_hard] = col
    return hard, n_hard + 1


@numba.njit(cache=True, nogil=True)
def parse_events(buf, start, end, max_events, id_bytes, id_offsets, n_positional, cap_events, cap_particles):
    """Parse complete events of ``buf[start:end]``; see the module constants for the return codes."""
    pow10 = _POW10
    n_ids = id_offsets.shape[0] - 1
    info = np.empty((6, cap_events), np.float64)
    parts = np.empty((13, cap_particles), np.float64)
    counts = np.empty(cap_events, np.int64)
    weights = np.full((n_ids, cap_events), np.nan)
    unknown = np.empty((3, 16), np.int64)  # event, id start, id end
    unknown_val = np.empty(16, np.float64)
    hard = np.empty((5, 16), np.int64)  # token start, token end, kind, row, column
    positional = np.empty(max(n_positional, 1), np.float64)
    pos_hard = np.empty(max(n_positional, 1), np.int64)
    n_ev = 0
    n_part = 0
    n_unknown = 0
    n_hard = 0
    status = STATUS_DONE
    err_code = 0
    err_pos = -1
    stop = start

    tag_event = np.frombuffer(b"<event", np.uint8)
    tag_end_event = np.frombuffer(b"</event>", np.uint8)
    tag_end_file = np.frombuffer(b"</LesHouchesEvents", np.uint8)
    tag_wgt = np.frombuffer(b"<wgt", np.uint8)
    tag_weights = np.frombuffer(b"<weights", np.uint8)
    tag_comment = np.frombuffer(b"<!--", np.uint8)
    end_comment = np.frombuffer(b"-->", np.uint8)
    id_attr = np.frombuffer(b"id", np.uint8)

    i = start
    guess = 0
    while True:
        if n_ev >= max_events:
            stop = i
            status = STATUS_DONE
            break
        # ---- find the next <event ...> tag
        lt = -1
        while i < end:
            if buf[i] == 60:
                if _starts_with(buf, i, end, tag_event) and i + 6 < end and (
                    buf[i + 6] == 62 or _is_space(buf[i + 6])
                ):
                    lt = i
                    break
                if _starts_with(buf, i, end, tag_end_file):
                    break
                if _starts_with(buf, i, end, tag_comment):
                    k = _find(buf, i + 4, end, end_comment)
                    if k < 0:
                        i = end
                        break
                    i = k + 3
                    continue
            i += 1
        if lt < 0:
            stop = i
            if i < end:
                status = STATUS_END_TAG
            else:
                status = STATUS_DONE
            break
        close = _find(buf, lt, end, tag_end_event)
        if close < 0:
            stop = lt
            status = STATUS_INCOMPLETE
            break
        ev_start = lt
        # grow outputs when needed
        if n_ev >= info.shape[1]:
            newcap = 2 * info.shape[1]
            info = _grow2(info, newcap)
            counts = _grow1(counts, newcap)
            w2 = np.full((n_ids, newcap), np.nan)
            w2[:, :n_ev] = weights[:, :n_ev]
            weights = w2
        # skip the rest of the opening tag
        j = lt + 6
        while j < close and buf[j] != 62:
            j += 1
        j += 1
        # ---- line section: event info, particle lines, comments; ends at the first '<'
        n_lines = 0
        nup = 0
        p0 = n_part
        failed = False
        while j < close:
            # skip blanks (including newlines)
            while j < close and _is_space(buf[j]):
                j += 1
            if j >= close or buf[j] == 60:
                break
            if buf[j] == 35:  # '#': comment line
                while j < close and buf[j] != 10:
                    j += 1
                continue
            line_start = j
            if n_lines == 0:
                ntok = 0
                while j < close and buf[j] != 10:
                    if _is_space(buf[j]):
                        j += 1
                        continue
                    if ntok >= 6:
                        ntok += 1
                        break
                    v, k, code = _parse_number(buf, j, close, pow10)
                    if code != 0:
                        hard, n_hard = _push_hard(hard, n_hard, j, k, HARD_INFO, ntok, n_ev)
                        v = np.nan
                    info[ntok, n_ev] = v
                    ntok += 1
                    j = k
                if ntok != 6:
                    failed = True
                    err_code = ERR_BAD_INFO
                    err_pos = line_start
                    break
                nup = int(info[0, n_ev]) if info[0, n_ev] == info[0, n_ev] else -1
            else:
                if n_part >= parts.shape[1]:
                    parts = _grow2(parts, 2 * parts.shape[1])
                ntok = 0
                while j < close and buf[j] != 10:
                    if _is_space(buf[j]):
                        j += 1
                        continue
                    if ntok >= 13:
                        ntok += 1
                        break
                    v, k, code = _parse_number(buf, j, close, pow10)
                    if code != 0:
                        hard, n_hard = _push_hard(hard, n_hard, j, k, HARD_PARTICLE, ntok, n_part)
                        v = np.nan
                    parts[ntok, n_part] = v
                    ntok += 1
                    j = k
                if ntok != 13:
                    failed = True
                    err_code = ERR_BAD_PARTICLE
                    err_pos = line_start
                    break
                n_part += 1
            n_lines += 1
        if not failed and n_lines == 0:
            failed = True
            err_code = ERR_BAD_INFO
            err_pos = j
        if not failed and nup >= 0 and n_part - p0 != nup:
            failed = True
            err_code = ERR_COUNT
            err_pos = ev_start
        if failed:
            status = STATUS_ERROR
            stop = ev_start
            break
        counts[n_ev] = n_part - p0
        # ---- tag section: <rwgt><wgt id=..>v</wgt>, <weights>v v v</weights>; everything else skipped
        n_pos = 0
        while j < close:
            if buf[j] != 60:
                j += 1
                continue
            if _starts_with(buf, j, close, tag_wgt) and (_is_space(buf[j + 4]) or buf[j + 4] == 62):
                k = j + 4
                gt = k
                while gt < close and buf[gt] != 62:
                    gt += 1
                # find id="..." or id='...'
                ids = -1
                ide = -1
                m = k
                while m < gt - 2:
                    if (
                        _starts_with(buf, m, gt, id_attr)
                        and (_is_space(buf[m - 1]))
                        and (buf[m + 2] == 61 or _is_space(buf[m + 2]))
                    ):
                        q = m + 2
                        while q < gt and (_is_space(buf[q]) or buf[q] == 61):
                            q += 1
                        if q < gt and (buf[q] == 34 or buf[q] == 39):
                            quote = buf[q]
                            r = q + 1
                            while r < gt and buf[r] != quote:
                                r += 1
                            ids = q + 1
                            ide = r
                        break
                    m += 1
                # trim blanks of the id
                while ids >= 0 and ids < ide and _is_space(buf[ids]):
                    ids += 1
                while ids >= 0 and ide > ids and _is_space(buf[ide - 1]):
                    ide -= 1
                j = gt + 1
                while j < close and _is_space(buf[j]):
                    j += 1
                v, k, code = _parse_number(buf, j, close, pow10)
                col = -1
                if ids >= 0:
                    col = _match_id(buf, ids, ide, id_bytes, id_offsets, guess)
                if col >= 0:
                    guess = col + 1
                    if guess >= n_ids:
                        guess = 0
                    if code != 0:
                        hard, n_hard = _push_hard(hard, n_hard, j, k, HARD_WEIGHT, col, n_ev)
                        v = np.nan
                    weights[col, n_ev] = v
                elif ids >= 0:
                    if n_unknown >= unknown.shape[1]:
                        unknown = _grow2(unknown, 2 * unknown.shape[1])
                        unknown_val = _grow1(unknown_val, 2 * unknown_val.shape[0])
                    if code != 0:
                        hard, n_hard = _push_hard(hard, n_hard, j, k, HARD_UNKNOWN, 0, n_unknown)
                        v = np.nan
                    unknown[0, n_unknown] = n_ev
                    unknown[1, n_unknown] = ids
                    unknown[2, n_unknown] = ide
                    unknown_val[n_unknown] = v
                    n_unknown += 1
                j = k
                continue
            if _starts_with(buf, j, close, tag_weights) and (_is_space(buf[j + 8]) or buf[j + 8] == 62):
                k = j + 8
                while k < close and buf[k] != 62:
                    k += 1
                j = k + 1
                while j < close:
                    while j < close and _is_space(buf[j]):
                        j += 1
                    if j >= close or buf[j] == 60:
                        break
                    v, k, code = _parse_number(buf, j, close, pow10)
                    if n_pos >= n_positional:
                        failed = True
                        err_code = ERR_POSITIONAL
                        err_pos = j
                        break
                    positional[n_pos] = v
                    pos_hard[n_pos] = -1
                    if code != 0:
                        positional[n_pos] = np.nan
                        pos_hard[n_pos] = n_hard
                        hard, n_hard = _push_hard(hard, n_hard, j, k, HARD_WEIGHT, n_pos, n_ev)
                    n_pos += 1
                    j = k
                if failed:
                    break
                continue
            if _starts_with(buf, j, close, tag_comment):
                k = _find(buf, j + 4, close, end_comment)
                j = close if k < 0 else k + 3
                continue
            j += 1
        if failed:
            status = STATUS_ERROR
            stop = ev_start
            break
        # positional weights fill only what <rwgt> did not set (as pylhe does)
        for p in range(n_pos):
            if weights[p, n_ev] != weights[p, n_ev]:
                weights[p, n_ev] = positional[p]
            elif pos_hard[p] >= 0:
                hard[2, pos_hard[p]] = -1  # the <rwgt> value wins; forget the hard token
        n_ev += 1
        i = close + 8
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
        hard[:, :n_hard],
    )
