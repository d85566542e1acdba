r"""Numba formatter of LHE event text: ``fmt % row`` for every row of a table, byte-identical to Python's ``%``.

A ``%``-format made of literal text and ``%Wd`` / ``%.Pe`` / ``%+.Pe`` fields (the formats of
:mod:`columnminer.io.lhe_writer`) is compiled once into a table (:func:`compile_format`); :func:`format_rows`
then writes the text of many rows in one numba call that releases the GIL, so chunks format in parallel.

Exactness: ``%.Pe`` must print the correctly rounded decimal value of the binary double (what C's printf and
Python do). The kernel scales :math:`|x|` by :math:`10^{P - e}` in double-double arithmetic (Dekker's
error-free product, Dekker 1971, Numer. Math. 18, 224; powers of ten stored as exact double-double pairs),
which determines the :math:`P + 1` leading digits and the rounding fraction to about :math:`10^{-19}`.
Rows holding a value whose rounding fraction lies within :math:`10^{-7}` of one half (a possible tie),
a non-finite or extreme value (below :math:`10^{-280}` or above :math:`10^{280}`), or an integer field
outside :math:`\pm 2^{62}` are marked and formatted by Python's ``%`` instead, so the output is always
exactly ``fmt % tuple(row)``.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction
from typing import NamedTuple

import numba
import numpy as np

__all__ = ["CompiledFormat", "compile_format", "fold_constants", "format_rows", "format_table"]

_FIELD = re.compile(r"%(?:(?P<width>\d+)d|(?P<plus>\+?)\.(?P<prec>\d+)e|(?P<pct>%))")
_KIND_INT = 0
_KIND_EXP = 1
_POW_MIN, _POW_MAX = -300, 300


def _pow10_table() -> tuple[np.ndarray, np.ndarray]:
    """10^k as hi + lo doubles (|error| < 2^-106 relative) for k in [_POW_MIN, _POW_MAX]."""
    hi = np.empty(_POW_MAX - _POW_MIN + 1)
    lo = np.empty_like(hi)
    for i, k in enumerate(range(_POW_MIN, _POW_MAX + 1)):
        exact = Fraction(10) ** k
        h = float(exact)
        hi[i], lo[i] = h, float(exact - Fraction(h))
    return hi, lo


_P10_HI, _P10_LO = _pow10_table()


class CompiledFormat(NamedTuple):
    """A ``%``-format as tables: literal bytes, the literal before each field, and the fields.

    ``literal[lit_start[k]:lit_start[k + 1]]`` precedes field k (the last slice follows the last field);
    ``kind[k]`` is 0 (``%Wd``, ``param`` = W) or 1 (``%.Pe``, ``param`` = P, ``plus`` = the ``+`` flag).
    """

    fmt: str
    literal: np.ndarray
    lit_start: np.ndarray
    kind: np.ndarray
    param: np.ndarray
    plus: np.ndarray

    @property
    def n_fields(self) -> int:
        """Number of fields (columns of the table to format)."""
        return int(self.kind.shape[0])


def compile_format(fmt: str) -> CompiledFormat:
    """Compile a format of literal text and ``%Wd``, ``%.Pe``, ``%+.Pe`` and ``%%`` into tables.

    Example:
        >>> f = compile_format("<a> %2d %+.3e%%\\n")
        >>> f.n_fields, f.kind.tolist(), f.param.tolist()
        (2, [0, 1], [2, 3])
    """
    literal, starts, kind, param, plus = [], [0], [], [], []
    pos, text = 0, ""
    for m in _FIELD.finditer(fmt):
        _plain(fmt[pos : m.start()], fmt)
        text += fmt[pos : m.start()]
        pos = m.end()
        if m.group("pct"):
            text += "%"
            continue
        literal.append(text)
        starts.append(starts[-1] + len(text))
        text = ""
        if m.group("width") is not None:
            kind.append(_KIND_INT)
            param.append(int(m.group("width")))
            plus.append(False)
        else:
            kind.append(_KIND_EXP)
            param.append(int(m.group("prec")))
            plus.append(bool(m.group("plus")))
    rest = text + _plain(fmt[pos:], fmt)
    if any(p > 14 for k, p in zip(kind, param, strict=True) if k == _KIND_EXP):
        raise ValueError("at most 14 digits after the point")
    literal.append(rest)
    starts.append(starts[-1] + len(rest))
    data = "".join(literal).encode("ascii")
    return CompiledFormat(
        fmt,
        np.frombuffer(data, np.uint8).copy(),
        np.asarray(starts, np.int64),
        np.asarray(kind, np.int64),
        np.asarray(param, np.int64),
        np.asarray(plus, np.bool_),
    )


def _plain(text: str, fmt: str) -> str:
    """``text`` (literal text between fields); a ``%`` in it is a conversion we do not support."""
    if "%" in text:
        raise ValueError(f"unsupported conversion in {fmt!r}")
    return text


@numba.njit(cache=True, nogil=True, inline="always")
def _two_prod(a, b):
    """a * b = p + e exactly (Dekker / Veltkamp split; no FMA needed)."""
    p = a * b
    c = 134217729.0 * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = 134217729.0 * b
    b_hi = c - (c - b)
    b_lo = b - b_hi
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


@numba.njit(cache=True, nogil=True)
def _exp_digits(a, prec, p10_hi, p10_lo):
    """(digits, exponent, ok) with |x| ~ digits * 10^(exponent - prec), digits in [10^prec, 10^(prec+1)),
    correctly rounded; ok is False where the rounding cannot be decided safely (then use Python)."""
    # first guess of the decimal exponent from the binary one: floor((e2 - 1) log10 2) is the exact
    # exponent or one below it (a in [2^(e2-1), 2^e2)), then compared with 10^(e10+1); the loop below
    # moves it when needed (accepted digits are correctly rounded whatever the guess)
    e2 = math.frexp(a)[1]
    e10 = math.floor((e2 - 1) * 0.30102999566398120)
    if _POW_MIN <= e10 + 1 <= _POW_MAX and a >= p10_hi[e10 + 1 - _POW_MIN]:
        e10 += 1  # the guess is now almost always right: one pass of the loop
    low = p10_hi[prec - _POW_MIN]  # 10^prec, exact for prec <= 22
    for _ in range(3):
        k = prec - e10 - _POW_MIN
        if k < 0 or k >= p10_hi.shape[0]:
            return 0, 0, False
        p, err = _two_prod(a, p10_hi[k])
        y_lo = err + a * p10_lo[k]
        y_hi = p + y_lo
        y_lo = y_lo - (y_hi - p)
        if y_hi < low:
            e10 -= 1
        elif y_hi >= 10.0 * low:
            e10 += 1
        else:
            fl = np.floor(y_hi)
            frac = (y_hi - fl) + y_lo
            if frac < 0.0:
                fl -= 1.0
                frac += 1.0
            elif frac >= 1.0:
                fl += 1.0
                frac -= 1.0
            if abs(frac - 0.5) < 1e-7 or fl < low:
                return 0, 0, False
            n = np.int64(fl) + (1 if frac > 0.5 else 0)
            if n >= np.int64(10.0 * low):
                n //= 10
                e10 += 1
            return n, e10, True
    return 0, 0, False


@numba.njit(cache=True, nogil=True)
def _write_exp(x, prec, plus, out, o, p10_hi, p10_lo, digits):
    """Write ``%.{prec}e`` (with the ``+`` flag if ``plus``) of x at out[o:]: (new o, ok)."""
    neg = x < 0.0 or (x == 0.0 and np.signbit(x))
    a = abs(x)
    if a == 0.0:
        n, e10 = np.int64(0), 0
    elif not (1e-280 < a < 1e280):
        return o, False
    else:
        n, e10, ok = _exp_digits(a, prec, p10_hi, p10_lo)
        if not ok:
            return o, False
    if neg:
        out[o] = 45
        o += 1
    elif plus:
        out[o] = 43
        o += 1
    # digits written from the last one backwards, two at a time (unsigned divisions by constants)
    u = np.uint64(n)
    i = o + prec + (1 if prec > 0 else 0)  # position of the last digit
    remaining = prec
    while remaining >= 2:
        pair = np.int64(u % np.uint64(100))
        u //= np.uint64(100)
        out[i] = 48 + pair % 10
        out[i - 1] = 48 + pair // 10
        i -= 2
        remaining -= 2
    if remaining == 1:
        out[i] = 48 + np.int64(u % np.uint64(10))
        u //= np.uint64(10)
    out[o] = 48 + np.int64(u)
    if prec > 0:
        out[o + 1] = 46
        o += 1
    o += prec + 1
    out[o] = 101
    out[o + 1] = 45 if e10 < 0 else 43
    o += 2
    e = abs(e10)
    if e >= 100:
        out[o] = 48 + e // 100
        o += 1
    out[o] = 48 + (e // 10) % 10
    out[o + 1] = 48 + e % 10
    return o + 2, True


@numba.njit(cache=True, nogil=True)
def _write_int(x, width, out, o, digits):
    """Write ``%{width}d`` of int(x) (truncation, as Python's ``%d`` of a float) at out[o:]: (new o, ok)."""
    if not (-4.6e18 < x < 4.6e18):
        return o, False
    v = np.int64(x)
    neg = v < 0
    if neg:
        v = -v
    nd = 0
    while True:
        digits[nd] = 48 + v % 10
        v //= 10
        nd += 1
        if v == 0:
            break
    for _ in range(width - nd - (1 if neg else 0)):
        out[o] = 32
        o += 1
    if neg:
        out[o] = 45
        o += 1
    for i in range(nd - 1, -1, -1):
        out[o] = digits[i]
        o += 1
    return o, True


@numba.njit(cache=True, nogil=True)
def format_rows(values, literal, lit_start, kind, param, plus, p10_hi, p10_lo):
    """Text of every row of ``values`` [n, n_fields]: (bytes, row_end [n], ok [n]).

    Row i is ``out[row_end[i-1]:row_end[i]]`` (``row_end[-1]`` = 0); rows with ``ok[i]`` False are empty and
    must be formatted by Python (see the module docstring).
    """
    n, nf = values.shape
    per_row = lit_start[lit_start.shape[0] - 1]
    for k in range(nf):
        per_row += max(param[k], 20) if kind[k] == 0 else param[k] + 8
    out = np.empty(n * per_row, np.uint8)
    row_end = np.empty(n, np.int64)
    ok = np.ones(n, np.bool_)
    digits = np.empty(24, np.uint8)
    o = 0
    for i in range(n):
        row_start = o
        good = True
        for k in range(nf + 1):
            for j in range(lit_start[k], lit_start[k + 1]):
                out[o] = literal[j]
                o += 1
            if k == nf:
                break
            if kind[k] == 0:
                o, good = _write_int(values[i, k], param[k], out, o, digits)
            else:
                o, good = _write_exp(values[i, k], param[k], plus[k], out, o, p10_hi, p10_lo, digits)
            if not good:
                break
        if not good:
            o = row_start
            ok[i] = False
        row_end[i] = o
    return out[:o], row_end, ok


def _field_spec(kind: int, param: int, plus: bool) -> str:
    """The ``%``-conversion of one field: ``%Wd``, ``%.Pe`` or ``%+.Pe``."""
    return f"%{param}d" if kind == _KIND_INT else f"%{'+' if plus else ''}.{param}e"


@functools.lru_cache(maxsize=64)
def _folded(fmt: str, folded: tuple[tuple[int, int], ...]) -> CompiledFormat:
    """The format ``fmt`` with the fields ``folded`` = ((index, float64 bits), ...) written into its literal
    text (keyed by the bits, so that 0.0 and -0.0 are told apart)."""
    compiled = compile_format(fmt)
    values = {k: float(np.int64(b).view(np.float64)) for k, b in folded}
    data = compiled.literal.tobytes().decode("ascii")
    text, out = data[: compiled.lit_start[1]], ""
    for k in range(compiled.n_fields):
        spec = _field_spec(int(compiled.kind[k]), int(compiled.param[k]), bool(compiled.plus[k]))
        if k in values:
            text += spec % values[k]
        else:
            out += text.replace("%", "%%") + spec
            text = ""
        text += data[compiled.lit_start[k + 1] : compiled.lit_start[k + 2]]
    return compile_format(out + text.replace("%", "%%"))


def fold_constants(compiled: CompiledFormat, values: np.ndarray) -> tuple[CompiledFormat, np.ndarray]:
    """Write the columns of ``values`` that hold one value in every row into the format's literal text.

    Returns the folded format and the remaining columns [n, n_variable]; for every row,
    ``folded.fmt % tuple(rest[i])`` equals ``compiled.fmt % tuple(values[i])`` byte for byte (constant
    columns are compared bit for bit, so -0.0 and 0.0 are told apart, and each constant is formatted once
    by Python's ``%``; a constant that ``%`` refuses, e.g. ``%d`` of NaN, stays a column). LHE records
    repeat most of their numbers (ids, status, mothers, colours, lifetimes, spins, often the event weight
    and scale): the golden channel's 142 numbers per event shrink to 44 (signal) and 35 (background).

    Example:
        >>> f = compile_format("%4d %+.3e %.1e\\n")
        >>> g, rest = fold_constants(f, np.array([[7.0, 0.25, 1.0], [7.0, -0.5, 1.0]]))
        >>> g.fmt, rest.tolist()
        ('   7 %+.3e 1.0e+00\\n', [[0.25], [-0.5]])
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != compiled.n_fields:
        raise ValueError(f"values must have shape [n, {compiled.n_fields}], got {values.shape}")
    if values.shape[0] == 0:
        return compiled, values
    bits = values.view(np.int64)
    constant = (bits == bits[0]).all(axis=0)
    folded = []
    for k in np.flatnonzero(constant).tolist():
        value = float(values[0, k])
        spec = _field_spec(int(compiled.kind[k]), int(compiled.param[k]), bool(compiled.plus[k]))
        try:
            spec % value
        except (ValueError, OverflowError):  # e.g. %d of NaN: left to format_table, which raises as before
            continue
        folded.append((k, int(bits[0, k])))
    if not folded:
        return compiled, values
    keep = np.ones(compiled.n_fields, np.bool_)
    keep[[k for k, _ in folded]] = False
    return _folded(compiled.fmt, tuple(folded)), values[:, keep]


def format_table(compiled: CompiledFormat, values: np.ndarray, copy: bool = True) -> bytes | np.ndarray:
    """``b"".join((fmt % tuple(row)).encode() for row in values)``, in one numba call (GIL released).

    With ``copy=False`` the text may come back as the kernel's uint8 array (no copy of the bytes; any
    buffer consumer, e.g. ``file.write`` or a compressor, takes it as it is).

    Example:
        >>> f = compile_format("%4d %+.10e %.4e\\n")
        >>> format_table(f, np.array([[7.0, -1 / 3, 0.5], [-12.0, 2.5e-300, 125.0]])).decode()
        '   7 -3.3333333333e-01 5.0000e-01\\n -12 +2.5000000000e-300 1.2500e+02\\n'
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != compiled.n_fields:
        raise ValueError(f"values must have shape [n, {compiled.n_fields}], got {values.shape}")
    c = compiled
    out, row_end, ok = format_rows(values, c.literal, c.lit_start, c.kind, c.param, c.plus, _P10_HI, _P10_LO)
    if ok.all():
        return out.tobytes() if copy else out
    parts, prev = [], 0
    for i in np.flatnonzero(~ok).tolist():  # rare: possible ties, non-finite or extreme values
        parts.append(out[prev : row_end[i]].tobytes())
        parts.append((c.fmt % tuple(values[i].tolist())).encode("ascii"))
        prev = row_end[i]
    parts.append(out[prev:].tobytes())
    return b"".join(parts)
