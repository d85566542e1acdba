"""The LHE writer's speed-ups keep the text: constant columns folded into the format, ISA-L or zlib deflate."""

import gzip

import numpy as np
import pytest

from columnminer.io import lhe_writer
from columnminer.io._lhe_format import compile_format, fold_constants, format_table
from columnminer.io.lhe_writer import LHEEvents, LHEInit, write_lhe

FMT = "<e a='%%'>%9d %2d %+.10e %.10e %.4e %+.7e\n"


def test_folded_format_gives_python_text_for_constant_and_varying_columns():
    rng = np.random.default_rng(3)
    n = 500
    values = np.stack(
        [
            np.full(n, 21.0),  # constant integer
            rng.integers(-3, 3, n).astype(float),  # varying integer
            np.full(n, -0.0),  # constant negative zero: must not merge with 0.0
            rng.standard_normal(n) * 1e3,
            np.full(n, 9.0),
            np.full(n, np.nan),  # compared bit for bit: folded, as Python's "nan"
        ],
        axis=1,
    )
    compiled = compile_format(FMT)
    folded, rest = fold_constants(compiled, values)
    assert rest.shape == (n, 2) and folded.n_fields == 2
    expected = "".join(FMT % tuple(row) for row in values.tolist()).encode()
    assert format_table(folded, rest) == expected
    values[:, 2] = 0.0  # same shape of fold, other constant: the cache must tell -0.0 and 0.0 apart
    folded, rest = fold_constants(compiled, values)
    assert format_table(folded, rest) == "".join(FMT % tuple(row) for row in values.tolist()).encode()


def test_fold_leaves_what_python_refuses_to_format_table():
    compiled = compile_format("%4d %.2e\n")
    values = np.array([[np.nan, 1.0], [np.nan, 1.0]])
    folded, rest = fold_constants(compiled, values)
    assert folded.n_fields == 1 and rest.shape == (2, 1)
    with pytest.raises(ValueError):
        format_table(folded, rest)  # %d of NaN: what Python's % raises
    empty_fold, empty = fold_constants(compiled, np.zeros((0, 2)))
    assert empty_fold is compiled and empty.shape == (0, 2)


def _events(n=3000):
    rng = np.random.default_rng(1)
    momenta = rng.standard_normal((n, 3, 4)) * 50
    momenta[..., 0] = np.abs(momenta[..., 0]) + 200
    return LHEEvents(
        momenta=momenta,
        pdgid=[21, 21, 25],
        status=[-1, -1, 1],
        mothers=[[0, 0], [0, 0], [1, 2]],
        colours=[[501, 502], [502, 501], [0, 0]],
        weight=np.full(n, 2.5),
        weights={"sm": np.full(n, 2.5), "bsm": rng.random(n)},
        scale=125.0,
    )


def test_gzip_text_is_the_same_with_isal_and_with_zlib(tmp_path, monkeypatch):
    events, init = _events(), LHEInit([(2.5, 0.1, 2.5, 1)])
    plain = write_lhe(tmp_path / "a.lhe", events, init=init, weight_names=["sm", "bsm"], chunk_size=700)
    fast = write_lhe(tmp_path / "b.lhe.gz", events, init=init, weight_names=["sm", "bsm"], chunk_size=700)
    monkeypatch.setattr(lhe_writer, "_isal_zlib", None)
    slow = write_lhe(tmp_path / "c.lhe.gz", events, init=init, weight_names=["sm", "bsm"], chunk_size=700)
    text = plain.read_bytes()
    assert gzip.decompress(fast.read_bytes()) == text
    assert gzip.decompress(slow.read_bytes()) == text
    expected = events.columns(0, events.n_events, ["sm", "bsm"])
    fmt = lhe_writer._event_format(3, ["sm", "bsm"], 7)
    assert text.endswith(
        ("".join(fmt % tuple(row) for row in expected.tolist()) + "</LesHouchesEvents>\n").encode()
    )
