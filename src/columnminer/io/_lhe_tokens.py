"""Numba helpers of the LHE kernel: exact fast float parsing, byte matching, weight-id lookup."""

# The hot helpers (``fast_line_at``, ``fast_number_at``, ``match_id_at``) take the buffer's address
# (``arr.ctypes.data``, an integer) and read it through the ``byte_at`` / ``load8`` / ``_int64_at``
# intrinsics: numba reference-counts every array passed to a function, inlined or not, with two atomic
# calls per call that its pruning pass leaves inside loops; the public functions keep their array
# signatures and hand the address on. The caller keeps the array alive for the call.

from __future__ import annotations

import sys

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = [
    "POW10",
    "byte_at",
    "eight_digit_value",
    "eight_digits",
    "fast_line",
    "fast_line_at",
    "fast_number",
    "fast_number_at",
    "find",
    "is_space",
    "load8",
    "match_id",
    "match_id_at",
    "number",
    "parse_number",
    "push_hard",
    "starts_with",
    "tag_word",
    "trailing_zero_bits",
]

POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
TWO53 = 1 << 53
_INT_MIN = -9223372036854775808.0  # int64 range: values outside it are not integers of the schema
_INT_END = 9223372036854775808.0
_FAST_TOKEN = 48  # bytes a token of the fast path can span (sign, 18 digits, '.', e, sign, 3 digits, blank)
_LITTLE = sys.byteorder == "little"


def _element(context, builder, sig, args, item: ir.Type):
    """LLVM pointer to element ``args[1]`` of type ``item`` of the array at the address ``args[0]``."""
    base = builder.inttoptr(args[0], item.as_pointer())
    return builder.gep(base, [context.cast(builder, args[1], sig.args[1], types.intp)])


def _loader(result: types.Integer, doc: str):
    """An intrinsic ``(addr, idx) -> result`` reading element ``idx`` of the ``result`` array at the
    integer address ``addr``: no bounds check and, unlike an array argument, no reference counting."""

    @intrinsic
    def load(typingctx, addr, idx):
        if not isinstance(addr, types.Integer):
            return None
        item = ir.IntType(result.bitwidth)
        return result(addr, idx), lambda ctx, b, sig, args: b.load(_element(ctx, b, sig, args, item))

    load.__doc__ = doc
    return load


byte_at = _loader(types.uint8, "The byte at address ``addr + idx``.")
_int64_at = _loader(types.int64, "The int64 at address ``addr + 8 * idx``.")


@intrinsic
def load8(typingctx, addr, idx):
    """The 8 bytes at address ``addr + idx`` as one uint64, first byte lowest (one unaligned load)."""
    if not isinstance(addr, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        ptr = builder.bitcast(
            _element(context, builder, sig, args, ir.IntType(8)), ir.IntType(64).as_pointer()
        )
        value = builder.load(ptr, align=1)
        return value if _LITTLE else builder.bswap(value)

    return types.uint64(addr, idx), codegen


@intrinsic
def trailing_zero_bits(typingctx, x):
    """The number of trailing zero bits of the uint64 ``x`` (64 for 0): one ``tzcnt`` instruction."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[0], sig.args[0], types.uint64)
        return builder.cttz(value, ir.Constant(ir.IntType(1), 0))

    return types.uint64(x), codegen


# SWAR ("SIMD within a register") constants: eight ASCII bytes in one uint64, first byte lowest
_BLANKS = np.uint64(0x2020202020202020)
_ZERO_CHARS = np.uint64(0x3030303030303030)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES = np.uint64(0x0606060606060606)
_THREES = np.uint64(0x3333333333333333)
_BYTE_PAIR = np.uint64(0x000000FF000000FF)
_MUL_1 = np.uint64(0x000F424000000064)  # 100 + 10**6 << 32
_MUL_2 = np.uint64(0x0000271000000001)  # 1 + 10**4 << 32


@numba.njit(cache=True, nogil=True, inline="always")
def eight_digits(w):
    """True when all eight bytes of the word ``w`` (as :func:`load8` reads them) are ASCII digits: no byte
    has a high nibble other than 3, nor a low nibble above 9 (adding 6 would carry into the high nibble)."""
    return ((w & _HIGH_NIBBLES) | (((w + _SIXES) & _HIGH_NIBBLES) >> np.uint64(4))) == _THREES


@numba.njit(cache=True, nogil=True, inline="always")
def eight_digit_value(w):
    """The integer (below 10**8) that the eight ASCII digits of ``w`` spell, first byte most significant:
    digit pairs, then pairs of pairs, then the two halves, by three multiplications (Lemire, "Number
    parsing at a gigabyte per second", Software: Practice and Experience 51 (2021), arXiv:2101.11408)."""
    v = w - _ZERO_CHARS
    v = v * np.uint64(10) + (v >> np.uint64(8))  # byte 2k: the pair (2k, 2k + 1) as a number below 100
    v = ((v & _BYTE_PAIR) * _MUL_1 + ((v >> np.uint64(16)) & _BYTE_PAIR) * _MUL_2) >> np.uint64(32)
    return np.int64(v)


def tag_word(tag: bytes) -> tuple[np.uint64, np.uint64]:
    """(word, mask) such that ``load8(p, j) & mask == word`` when the bytes at ``p + j`` start with
    ``tag`` (at most 8 bytes; little-endian byte order, as :func:`load8` reads).

    >>> word, mask = tag_word(b"<wgt")
    >>> hex(int(word)), hex(int(mask))
    ('0x7467773c', '0xffffffff')
    """
    n = len(tag)
    if not 0 < n <= 8:
        raise ValueError(f"a tag word holds 1 to 8 bytes, not {n}")
    word = int.from_bytes(tag, "little")
    return np.uint64(word), np.uint64((1 << (8 * n)) - 1)


@numba.njit(cache=True, nogil=True, inline="always")
def match_id_at(p, s, e, ids_addr, offs_addr, n_ids, guess):
    """:func:`match_id` with the buffer, the id bytes and the id offsets read at addresses (no
    reference counting per call)."""
    length = e - s
    for t in range(n_ids):
        col = guess + t
        if col >= n_ids:
            col -= n_ids
        a = _int64_at(offs_addr, col)
        if _int64_at(offs_addr, col + 1) - a != length:
            continue
        ok = True
        for k in range(length):
            if byte_at(ids_addr, a + k) != byte_at(p, s + k):
                ok = False
                break
        if ok:
            return col
    return -1


@numba.njit(cache=True, nogil=True, inline="always")
def is_space(c):
    """True for the ASCII blanks (space, tab, newline, CR, VT, FF)."""
    return c == 32 or c == 9 or c == 13 or c == 10 or c == 11 or c == 12


@numba.njit(cache=True, nogil=True, inline="always")
def _digits(buf, j, end, mant):
    """Append the decimal digits from ``buf[j]`` on to ``mant``: (new mantissa, index after the digits).

    Two digits per step (``mant * 100 + (10 d1 + d2)``) halve the dependent multiply-add chain (about 6 %
    less kernel time on MadGraph files); the value is the same integer.
    """
    while j + 1 < end:  # two digits a step: half the length of the multiply-add chain
        d1 = np.int64(buf[j]) - 48
        if d1 < 0 or d1 > 9:
            return mant, j
        d2 = np.int64(buf[j + 1]) - 48
        if d2 < 0 or d2 > 9:
            return mant * 10 + d1, j + 1
        mant = mant * 100 + (d1 * 10 + d2)
        j += 2
    if j < end:
        d = np.int64(buf[j]) - 48
        if 0 <= d <= 9:
            return mant * 10 + d, j + 1
    return mant, j


@numba.njit(cache=True, nogil=True)
def parse_number(buf, i, end, pow10):
    """Parse the token starting at ``i`` (no leading blanks).

    Returns (value, token_end, code): code 0 = exact fast path, 1 = leave to Python's float().
    The fast path takes at most 19 digits whose integer value is below 2**53 and a decimal exponent
    within +-22: one correctly rounded multiplication or division of exact doubles, so the result
    equals Python's float(). A token ends at a blank, ``<`` or ``end``.
    """
    j = i
    neg = False
    c = buf[j]
    if c == 43 or c == 45:  # + -
        neg = c == 45
        j += 1
    d0 = j
    mant, j = _digits(buf, j, end, 0)
    ndig = j - d0
    exp10 = 0
    if j < end and buf[j] == 46:  # '.'
        j += 1
        f0 = j
        mant, j = _digits(buf, j, end, mant)
        exp10 = f0 - j
        ndig += j - f0
    hard = ndig == 0 or ndig > 18
    if j < end:
        c = buf[j]
        if c == 101 or c == 69 or c == 100 or c == 68:  # e E d D
            j += 1
            eneg = False
            if j < end and (buf[j] == 43 or buf[j] == 45):
                eneg = buf[j] == 45
                j += 1
            e = 0
            e0 = j
            while j < end:
                d = np.int64(buf[j]) - 48
                if d < 0 or d > 9:
                    break
                if e < 100000:
                    e = e * 10 + d
                j += 1
            if j == e0:
                hard = True
            exp10 += -e if eneg else e
    # the token must end here
    if j < end:
        c = buf[j]
        if not (c == 32 or c == 10 or c == 9 or c == 13 or c == 60 or c == 11 or c == 12):
            hard = True
            while j < end and not (is_space(buf[j]) or buf[j] == 60):
                j += 1
    if hard:
        return 0.0, j, 1
    if mant == 0:
        return (-0.0 if neg else 0.0), j, 0
    if mant >= TWO53 or exp10 > 22 or exp10 < -22:
        return 0.0, j, 1
    v = float(mant)
    if exp10 >= 0:
        v = v * pow10[exp10]
    else:
        v = v / pow10[-exp10]
    return (-v if neg else v), j, 0


@numba.njit(cache=True, nogil=True)
def fast_line(buf, j, end, out, col, ntok_max, n_int, pow10):
    r"""Parse a line of exactly ``ntok_max`` plain numbers into ``out[:, col]`` on the fast path.

    Returns the index after the line's newline, or -1 when the line needs the general parser
    (``_lhe_parse._parse_line``), which then parses it again from ``j``: a token with more than 18
    digits, an exponent of more than 3 digits or outside +-22 or a mantissa of 2**53 or more (the
    tokens that parser leaves to Python's float()), an exponent letter other than e/E, an integer column
    (the first ``n_int``) holding a non-integer, a byte other than a blank (space, tab, CR) after a
    token, a line with another number of tokens, or fewer than ``_FAST_TOKEN`` bytes left before ``end``
    at a token. Every value it writes is the one ``parse_number`` gives for the same token: the digits
    go into one int64 ``m`` and the value is ``m * 10**e`` or ``m / 10**-e`` with ``m < 2**53`` and
    ``|e| <= 22``, one correctly rounded operation on two exact doubles (Clinger, "How to read floating
    point numbers accurately", PLDI 1990), so it equals Python's float() of the token. One pass over
    the bytes, no call per token, one range test per digit; the bytes are read at the buffer's address
    (``fast_line_at``): an array handed to the inlined per-token helper cost numba two atomic reference
    count calls per token, about a third of the kernel's time on MadGraph files. ``pow10`` is not used (the
    fast path reads the module's ``POW10``); it keeps the signature of the general parser's functions.

    >>> import numpy as np
    >>> buf = np.frombuffer(b" 21 -1 +1.5e+01 2.0E-1 -0. 7\n", np.uint8)
    >>> out = np.zeros((6, 1))
    >>> int(fast_line(buf, 0, len(buf), out, 0, 6, 2, POW10))  # too near the end: the general parser
    -1
    >>> buf = np.frombuffer(b" 21 -1 +1.5e+01 2.0E-1 -0. 7\n" + b" " * 64, np.uint8)
    >>> int(fast_line(buf, 0, len(buf), out, 0, 6, 2, POW10)), out[:, 0].tolist()
    (29, [21.0, -1.0, 15.0, 0.2, -0.0, 7.0])
    """
    return fast_line_at(buf.ctypes.data, j, end, out, col, ntok_max, n_int)


@numba.njit(cache=True, nogil=True, inline="always")
def fast_line_at(p, j, end, out, col, ntok_max, n_int):
    """:func:`fast_line` on the bytes at address ``p``: an integer, so that no token costs a reference
    count update of the buffer (two atomic calls per token that numba's pruning left in the loop)."""
    ntok = 0
    while True:
        c = byte_at(p, j)
        while c == 32 or c == 9 or c == 13:
            if c == 32 and j + 8 <= end:  # a run of spaces, eight bytes at a time (columns padded to width)
                j += trailing_zero_bits(load8(p, j) ^ _BLANKS) >> np.uint64(3)
            else:
                j += 1
            if j >= end:
                return -1
            c = byte_at(p, j)
        if c == 10:
            return j + 1 if ntok == ntok_max else -1
        if ntok >= ntok_max:
            return -1
        v, j = fast_number_at(p, j, end)
        if j < 0 or (ntok < n_int and (v != np.floor(v) or v < _INT_MIN or v >= _INT_END)):
            return -1
        out[ntok, col] = v
        ntok += 1


@numba.njit(cache=True, nogil=True)
def fast_number(buf, j, end, pow10):
    """(value, end of token) of the number at ``j`` (no leading blanks) on the fast path, or (0.0, -1).

    The fast path takes what :func:`parse_number` parses exactly itself (code 0) and ends at a blank or
    ``<``: at most 18 digits, an exponent (e/E) of 1 to 3 digits, then ``m * 10**e`` or ``m / 10**-e``
    with the digits as one int64 ``m < 2**53`` and ``|e| <= 22``: both exact doubles, so one correctly
    rounded operation (Clinger, "How to read floating point numbers accurately", PLDI 1990) that
    equals Python's float() of the token. Anything else, or fewer than ``_FAST_TOKEN`` bytes before
    ``end``, gives -1: the caller then asks :func:`parse_number`. No call, one range test per digit.
    ``pow10`` is not used (the module's ``POW10`` is); it keeps :func:`parse_number`'s signature.

    >>> import numpy as np
    >>> buf = np.frombuffer(b"+7.5079318e+08 </wgt>" + b" " * 48, np.uint8)
    >>> fast_number(buf, 0, len(buf), POW10)
    (750793180.0, 14)
    >>> fast_number(buf, 0, 20, POW10)  # too near the end
    (0.0, -1)
    """
    return fast_number_at(buf.ctypes.data, j, end)


@numba.njit(cache=True, nogil=True, inline="always")
def fast_number_at(p, j, end):
    """:func:`fast_number` on the bytes at address ``p`` (an integer: no reference counting)."""
    if j + _FAST_TOKEN > end:
        return 0.0, -1
    lim = j + _FAST_TOKEN - 8  # digits past it make more than 18: parse_number's
    c = byte_at(p, j)
    neg = c == 45
    if c == 43 or c == 45:  # + -
        j += 1
    d0 = j
    mant = np.int64(0)
    # the integer and fraction digit loops are written out twice on purpose: a shared helper returning
    # (mantissa, index, byte) measured 15 % more kernel time on MadGraph files
    d = np.int64(byte_at(p, j)) - 48
    while 0 <= d <= 9 and j < lim:
        mant = mant * 10 + d
        j += 1
        d = np.int64(byte_at(p, j)) - 48
    ndig = j - d0
    exp10 = 0
    if d == -2:  # '.'
        j += 1
        f0 = j
        while j + 8 <= lim:  # eight fraction digits a step where there are (MadGraph writes 8 to 11)
            w = load8(p, j)
            if not eight_digits(w):
                break
            mant = mant * 100000000 + eight_digit_value(w)
            j += 8
        d = np.int64(byte_at(p, j)) - 48
        while 0 <= d <= 9 and j < lim:
            mant = mant * 10 + d
            j += 1
            d = np.int64(byte_at(p, j)) - 48
        exp10 = f0 - j
        ndig += j - f0
    if ndig == 0 or ndig > 18:
        return 0.0, -1
    c = byte_at(p, j)
    if c == 101 or c == 69:  # e E
        j += 1
        c = byte_at(p, j)
        eneg = c == 45
        if c == 43 or c == 45:
            j += 1
        e0 = j
        e = 0
        d = np.int64(byte_at(p, j)) - 48
        while 0 <= d <= 9 and j - e0 < 3:
            e = e * 10 + d
            j += 1
            d = np.int64(byte_at(p, j)) - 48
        if j == e0 or 0 <= d <= 9:
            return 0.0, -1
        exp10 += -e if eneg else e
        c = byte_at(p, j)
    if not (c == 32 or c == 10 or c == 9 or c == 13 or c == 60):
        return 0.0, -1
    if mant == 0:
        return (-0.0 if neg else 0.0), j
    if mant >= TWO53 or exp10 > 22 or exp10 < -22:
        return 0.0, -1
    v = float(mant)
    if exp10 > 0:
        v = v * POW10[exp10]
    elif exp10 < 0:
        v = v / POW10[-exp10]
    return (-v if neg else v), j


@numba.njit(cache=True, nogil=True)
def number(buf, j, end, pow10):
    """:func:`parse_number`'s (value, token end, code), from :func:`fast_number` where it can.

    >>> import numpy as np
    >>> buf = np.frombuffer(b"1.00000000000000000001e400 ", np.uint8)
    >>> number(buf, 0, len(buf), POW10)  # more than 18 digits: left to Python's float()
    (0.0, 26, 1)
    """
    v, k = fast_number_at(buf.ctypes.data, j, end)
    if k >= 0:
        return v, k, 0
    return parse_number(buf, j, end, pow10)


@numba.njit(cache=True, nogil=True)
def starts_with(buf, i, end, pat):
    """True when ``buf[i:end]`` begins with the bytes ``pat``."""
    n = pat.shape[0]
    if i + n > end:
        return False
    for k in range(n):
        if buf[i + k] != pat[k]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def find(buf, i, end, pat):
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
def match_id(buf, s, e, id_bytes, id_offsets, guess):
    """Column of the weight id buf[s:e] in the table, trying ``guess`` first; -1 if unknown.

    The table is the ids' bytes one after the other (``id_bytes``, uint8) and their bounds
    (``id_offsets``, int64, one more than the ids); all three arrays contiguous.

    >>> import numpy as np
    >>> buf = np.frombuffer(b"<wgt id='mg_2'>", np.uint8)
    >>> ids = np.frombuffer(b"1mg_2", np.uint8)
    >>> int(match_id(buf, 9, 13, ids, np.array([0, 1, 5]), 0))
    1
    """
    n_ids = id_offsets.shape[0] - 1
    return match_id_at(buf.ctypes.data, s, e, id_bytes.ctypes.data, id_offsets.ctypes.data, n_ids, guess)


@numba.njit(cache=True, nogil=True)
def push_hard(hard, n_hard, s, e, kind, row, col):
    """Record a token for Python's float() in ``hard`` (ignored when full); returns the new count."""
    if n_hard >= hard.shape[1]:
        return n_hard + 1
    hard[0, n_hard] = s
    hard[1, n_hard] = e
    hard[2, n_hard] = kind
    hard[3, n_hard] = row
    hard[4, n_hard] = col
    return n_hard + 1
