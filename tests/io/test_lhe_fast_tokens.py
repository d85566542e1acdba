"""The LHE kernel's fast number paths: the same values, token ends and codes as the general parser."""

import random
import struct

import numba
import numpy as np
import pytest

from columnminer.io import _lhe_parse as P
from columnminer.io._lhe_tokens import (
    POW10,
    eight_digit_value,
    eight_digits,
    fast_line,
    fast_number,
    number,
    parse_number,
    trailing_zero_bits,
)

PAD = b" " * 64

ADVERSARIAL = [
    b"0",
    b"-0",
    b"+0.",
    b"-0.0000000000e+00",
    b"0.00000000000E+00",
    b"1",
    b"-1",
    b"501",
    b"+6.7766956178e+01",
    b"0.58437780464E+02",
    b"7.54677100e-03",
    b"1.0000e+00",
    b".5",
    b"5.",
    b"-.5e1",
    b"1e0",
    b"1E+022",
    b"1e22",
    b"1e23",
    b"1e-22",
    b"1e-23",
    b"9e-23",
    b"123456789012345678",
    b"1234567890123456789",
    b"12345678901234567890",
    b"9007199254740991",
    b"9007199254740992",
    b"9007199254740993",
    b"900719925474099.3",
    b"9007199254740993e-5",
    b"0.000000000000000000001",
    b"00000000000000000000001.5",
    b"000000000000000001.5",
    b"4.9e-324",
    b"2.4703282292062327e-324",
    b"2.2250738585072011e-308",
    b"2.2250738585072014e-308",
    b"1.7976931348623157e+308",
    b"1.8e308",
    b"1e-400",
    b"1e400",
    b"0e400",
    b"0e99999999",
    b"1e0001",
    b"1e+1000",
    b"1e",
    b"1e+",
    b"e5",
    b"+",
    b"-",
    b".",
    b"1d5",
    b"1D-5",
    b"inf",
    b"-inf",
    b"nan",
    b"NaN",
    b"0x10",
    b"1_0",
    b"1.5.3",
    b"1e5.3",
    b"--1",
    b"+-1",
    b"1,5",
    b"5000000000000000.5",
    b"0.1",
    b"0.2",
    b"0.3",
    b"3.0000000000000004",
    b"8.98846567431158e307",
]


def _random_tokens(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sign = rng.choice(["", "+", "-"])
        ints = "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 1, 1, 1, 2, 3, 8, 16, 19, 21])))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 1, 4, 8, 10, 11, 17, 18, 20])))
        dot = rng.random() < 0.85
        tok = sign + ints + ("." + frac if dot else "")
        if rng.random() < 0.8:
            e = rng.choice([rng.randint(-25, 25), rng.randint(-330, 330), rng.randint(-3, 3)])
            width = rng.choice([0, 1, 2, 3, 4])
            tok += rng.choice("eE") + ("-" if e < 0 else rng.choice(["", "+"])) + str(abs(e)).zfill(width)
        out.append(tok.encode())
    return out


def _bits(v: float) -> bytes:
    return struct.pack("<d", v)


def _python_float(tok: bytes):
    try:
        return float(tok)
    except ValueError:
        return None


@pytest.mark.parametrize("after", [b" ", b"\n", b"\t", b"\r\n", b"<", b"</wgt>", b"\x0b"])
def test_number_matches_parse_number_and_float(after):
    """For every token: the fast wrapper gives parse_number's (value, end, code) bit for bit, and every
    value either parser returns as exact equals Python's float() of the token."""
    n_fast = 0
    for tok in ADVERSARIAL + _random_tokens(3000):
        buf = np.frombuffer(b" " + tok + after + PAD, np.uint8)
        v0, k0, c0 = parse_number(buf, 1, len(buf), POW10)
        v1, k1, c1 = number(buf, 1, len(buf), POW10)
        assert (k1, c1) == (k0, c0), tok
        assert _bits(v1) == _bits(v0), tok
        vf, kf = fast_number(buf, 1, len(buf), POW10)
        if kf >= 0:
            n_fast += 1
            assert (kf, c0) == (k0, 0) and _bits(vf) == _bits(v0), tok
        if c0 == 0 and b"d" not in tok.lower():
            assert _bits(v0) == _bits(float(tok)), tok
    assert n_fast > 500 or after == b"\x0b"  # the fast path takes the common tokens (not before a VT)


def test_eight_digit_words():
    """The SWAR test accepts exactly the words of eight ASCII digits and reads their value; the bit count
    is that of Python's integers."""
    rng = np.random.default_rng(7)
    digits = rng.integers(48, 58, (4000, 8), dtype=np.uint8)
    near = digits.copy()  # one byte next to the digit range, or anything, at a random place
    where = rng.integers(0, 8, len(near))
    near[np.arange(len(near)), where] = rng.choice(
        [0, 32, 46, 47, 58, 64, 101, 176, 185, 255, 0x3A], len(near)
    )
    words = np.concatenate([digits, near, rng.integers(0, 256, (4000, 8), dtype=np.uint8)])
    for row in words:
        word = row.view(np.uint64)[0]
        text = row.tobytes()
        expected = all(48 <= b <= 57 for b in text)
        assert eight_digits(word) == expected, text
        if expected:
            assert eight_digit_value(word) == int(text), text
    tzcnt = numba.njit(lambda x: trailing_zero_bits(x))  # an intrinsic: callable from compiled code
    for x in [1, 2, 3, 1 << 8, 0x2000, 1 << 40, 1 << 63, 0xFF00]:
        assert tzcnt(np.uint64(x)) == (x & -x).bit_length() - 1
    assert tzcnt(np.uint64(0)) == 64


@pytest.mark.parametrize("n_frac", range(1, 21))
def test_fraction_digits_in_words_of_eight(n_frac):
    """Fractions of every length, with a non-digit cutting them at every place: the fast path (eight
    digits a step, then byte by byte) gives parse_number's value and end, or declines."""
    rng = random.Random(n_frac)
    for cut in range(n_frac + 1):
        frac = "".join(rng.choice("0123456789") for _ in range(n_frac))
        for tok in (f"{rng.randint(0, 99)}.{frac}", f"-0.{frac}E+02", f".{frac}e-3"):
            tok = tok.encode()
            dot = tok.index(b".")
            bad = tok[: dot + 1 + cut] + b"x" + tok[dot + 1 + cut :] if cut < n_frac else tok
            for t in (tok, bad):
                buf = np.frombuffer(b" " + t + b" " + PAD, np.uint8)
                v0, k0, c0 = parse_number(buf, 1, len(buf), POW10)
                vf, kf = fast_number(buf, 1, len(buf), POW10)
                if kf >= 0:
                    assert (kf, c0) == (k0, 0) and _bits(vf) == _bits(v0), t
                    assert _bits(vf) == _bits(float(t)), t
                else:
                    assert t == bad or c0 == 1 or len(t.replace(b".", b"").lstrip(b"-")) > 18, t


def test_fast_number_needs_room_before_end():
    """Within ``_FAST_TOKEN`` bytes of ``end`` the fast path declines and parse_number decides."""
    buf = np.frombuffer(b"1.5 ", np.uint8)
    assert fast_number(buf, 0, len(buf), POW10) == (0.0, -1)
    assert number(buf, 0, len(buf), POW10) == (1.5, 3, 0)
    cut = np.frombuffer(b"12345" + PAD, np.uint8)
    assert number(cut, 0, 3, POW10) == parse_number(cut, 0, 3, POW10) == (123.0, 3, 0)


def _general_line(buf, j, n, n_int):
    out = np.full((n, 1), -7.0)
    hard = np.empty((5, 64), np.int64)
    k, ntok, n_hard, done, bad_pos, _ = P._parse_line(buf, j, len(buf), out, 0, n, n_int, hard, 0, 0, POW10)
    return k, ntok, n_hard, done, bad_pos, out[:, 0]


@pytest.mark.parametrize("seed", range(4))
def test_fast_line_matches_the_general_line_parser(seed):
    """A line the fast path accepts gives the general parser's values and end; it declines lines with
    another number of tokens, hard tokens, non-integers in integer columns or odd bytes."""
    rng = random.Random(seed)
    pool = ADVERSARIAL + _random_tokens(400, seed)
    ints = [b"21", b"-1", b"0", b"501", b"-11", b"+3", b"1.5", b"1e3", b"2.0", b"9223372036854775807"]
    accepted = 0
    for _ in range(600):
        n_tok = rng.choice([13, 13, 13, 12, 14])
        toks = [
            rng.choice(
                (ints if rng.random() < 0.05 else ints[:6])
                if c < 6
                else (pool if rng.random() < 0.2 else pool[:12])
            )
            for c in range(n_tok)
        ]
        seps = [rng.choice([b" ", b"  ", b"\t", b" \r"]) for _ in toks]
        line = b"".join(s + t for s, t in zip(seps, toks, strict=True)) + rng.choice(
            [b"\n", b" \n", b"\r\n", b" <x\n"]
        )
        buf = np.frombuffer(line + PAD, np.uint8)
        out = np.full((13, 1), -7.0)
        k = fast_line(buf, 0, len(buf), out, 0, 13, 6, POW10)
        if k < 0:
            continue
        accepted += 1
        gk, ntok, n_hard, done, bad_pos, gout = _general_line(buf, 0, 13, 6)
        assert (k, ntok, n_hard, done, bad_pos) == (gk, 13, 0, True, -1), line
        assert _bits_all(out[:, 0]) == _bits_all(gout), line
        assert [_bits(x) for x in out[:, 0]] == [_bits(float(t)) for t in toks], line
    assert accepted > 20


def _bits_all(a) -> bytes:
    return np.ascontiguousarray(a, np.float64).tobytes()


@pytest.mark.parametrize("seed", range(3))
def test_fast_line_blank_runs_and_fixed_widths(seed):
    """Blank runs of every length (the 8-bytes-a-step space skip), MadGraph's fixed-width layouts with
    unusual widths and signs, and lines ending near ``end``: the fast path gives the general parser's
    values and end bit for bit, or declines."""
    rng = random.Random(100 + seed)
    pool = ADVERSARIAL + _random_tokens(300, seed + 50)
    accepted = 0
    for _ in range(500):
        ints = [rng.choice([b"21", b"-1", b"0", b"501", b"-11", b"+3", b"2212"]) for _ in range(6)]
        floats = [
            rng.choice(
                [
                    b"%+.10e" % rng.uniform(-1e4, 1e4),
                    b"%18.10e" % rng.uniform(-1e4, 1e4),
                    b"%.11E" % rng.uniform(-1e3, 1e3),
                    b"%.4e" % rng.uniform(0, 2),
                    b"0.",
                    b"-1.",
                    rng.choice(pool),
                ]
            ).strip()
            for _ in range(7)
        ]
        toks = ints + floats
        seps = [
            b"".join(
                rng.choice([b" ", b" ", b" ", b"\t", b"\r"])
                for _ in range(rng.choice([1, 1, 2, 7, 8, 9, 16, 17]))
            )
            for _ in toks
        ]
        line = b"".join(s + t for s, t in zip(seps, toks, strict=True)) + rng.choice(
            [b"\n", b"   \n", b"\r\n"]
        )
        pad = b" " * rng.choice([0, 1, 7, 8, 9, 47, 48, 49, 64])
        buf = np.frombuffer(line + pad + b"\n", np.uint8)
        end = len(line) + len(pad)
        out = np.full((13, 1), -7.0)
        k = fast_line(buf, 0, end, out, 0, 13, 6, POW10)
        if k < 0:
            continue
        accepted += 1
        hard = np.empty((5, 64), np.int64)
        gout = np.full((13, 1), -7.0)
        gk, ntok, n_hard, done, bad_pos, _ = P._parse_line(buf, 0, end, gout, 0, 13, 6, hard, 0, 0, POW10)
        assert (k, ntok, n_hard, done, bad_pos) == (gk, 13, 0, True, -1), line
        assert _bits_all(out[:, 0]) == _bits_all(gout[:, 0]), line
        assert [_bits(x) for x in out[:, 0]] == [_bits(float(t)) for t in toks], line
    assert accepted > 100


def _kernel(text: bytes, end: int, ids=(b"1", b"2", b"mg_reweight_1")):
    buf = np.frombuffer(text, np.uint8)
    offs = np.zeros(len(ids) + 1, np.int64)
    offs[1:] = np.cumsum([len(i) for i in ids])
    id_bytes = np.frombuffer(b"".join(ids), np.uint8).copy()
    return P.parse_events(buf, 0, end, 1 << 30, id_bytes, offs, len(ids), 64, 256, 64)


_TAGGED = (
    b"<eventx>\n</eventx>\n<!-- <event> -->\n<event>\n 2 1 +1.0e+00 9.1e+01 7.5e-03 1.2e-01\n"
    b"   21 -1 0 0 501 502 +0.0e+00 +0.0e+00 +6.7e+01 6.7e+01 0.0e+00 0. 1.\n"
    b"   -2  1 1 2   0 501 +1.5e+00 -2.0e+00 +4.0e+01 4.7e+01 0.0e+00 0. -1.\n"
    b"<mgrwt>\n<rscale> 2 0.24E+02</rscale>\n</mgrwt>\n<!-- </event> -->\n<wgtx id='1'> 5 </wgtx>\n"
    b"<rwgt>\n<wgt id='1'> +7.5e+08 </wgt>\n<wgt id=\"mg_reweight_1\">-3.25</wgt>\n"
    b"<wgt  id = '2' >1e-3</wgt>\n<wgt id='zz'> 4.5 </wgt>\n</rwgt>\n<weights> 1 2 3 </weights>\n</event>\n"
    b"<event >\n 1 1 2. 3. 4. 5.\n 11 1 0 0 0 0 1. 2. 3. 4. 5. 0. 9.\n</event>\n</LesHouchesEvents>\n"
)


def test_kernel_tags_cut_at_every_byte():
    """The tags matched 8 bytes at a time (``<event``, ``</event>``, ``<wgt``, ``<weights``, ``<!--``,
    ``</LesHouchesEvents``) and look-alikes: every cut of the text gives the full parse's first events
    (or stops incomplete at an event start), never a different value."""
    full = _kernel(_TAGGED, len(_TAGGED))
    status, n = full[0], full[1]
    assert (status, n) == (P.STATUS_END_TAG, 2)
    info, parts, weights = full[6][:, :n], full[8][:, : full[2]], full[9][:n]
    assert weights[0].tolist() == [7.5e08, 1e-3, -3.25] and np.isnan(weights[1]).all()
    assert full[10].shape[1] == 1  # the undeclared id 'zz'
    for end in range(len(_TAGGED)):
        res = _kernel(_TAGGED, end)
        m = res[1]
        assert res[0] in (P.STATUS_DONE, P.STATUS_INCOMPLETE, P.STATUS_END_TAG), end
        assert m <= n
        assert _bits_all(res[6][:, :m]) == _bits_all(info[:, :m]), end
        assert _bits_all(res[8][:, : res[2]]) == _bits_all(parts[:, : res[2]]), end
        assert _bits_all(res[9][:m]) == _bits_all(weights[:m]), end
