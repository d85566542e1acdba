"""The numba LHE formatter: byte-identical to Python's ``%`` for every value, ties and extremes included."""

import numpy as np
import pytest

from columnminer.io._lhe_format import compile_format, format_table

FMT = "<e>%9d %2d %+.10e %.10e %.8e %.4e %+.7e %.0e %.14e%%\n"


def _values(n, seed):
    rng = np.random.default_rng(seed)
    cols = [rng.integers(-(10**6), 10**6, n).astype(float), rng.integers(-5, 120, n).astype(float)]
    for _ in range(7):
        kind = rng.integers(0, 4, n)
        v = rng.uniform(-10, 10, n) * 10.0 ** rng.integers(-30, 30, n)
        v = np.where(kind == 0, rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n), v)
        v = np.where(kind == 1, np.round(v * 1e4) / 1e4, v)  # short decimals: many exact ties
        v = np.where(kind == 2, rng.integers(-99999, 99999, n) * 0.5 ** rng.integers(0, 12, n), v)
        cols.append(v)
    return np.stack(cols, 1)


def test_random_values_match_python():
    values = _values(50_000, 1)
    special = [0.0, -0.0, 0.5, 0.05, 5e-5, 1e10, 9.99999999995, 9.999999999949999, 1e-300, 1e300, np.nan]
    special += [
        np.inf,
        -np.inf,
        125.0,
        7.546771e-3,
        0.118,
        2.5e-5,
        1.25,
        0.125,
        5e-324,
        1.7976931348623157e308,
    ]
    values[: len(special), 2:] = np.array(special)[:, None]
    f = compile_format(FMT)
    expected = "".join(FMT % tuple(row) for row in values.tolist()).encode()
    assert format_table(f, values) == expected


def test_integer_columns_truncate_like_python_and_bad_formats_are_refused():
    fmt = "%4d|%2d\n"
    f = compile_format(fmt)
    values = np.array([[2.7, -2.7], [123456.0, -99.0], [0.0, -0.0]])
    assert format_table(f, values) == "".join(fmt % tuple(r) for r in values.tolist()).encode()
    with pytest.raises(ValueError):
        format_table(f, np.array([[np.nan, 1.0]]))  # what Python's % raises
    with pytest.raises(ValueError):
        compile_format("%s")
    with pytest.raises(ValueError):
        format_table(f, np.zeros((2, 3)))
