"""The sample passes' event weights at one point: added in benchmark order, a row's value its own."""

import numpy as np
import pytest

from columnminer.sampling._products import block_weights, one_point_masses, row_weights, weighted_sums


def _weights(n=20_000, b=6, seed=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 2.0, size=(n, b)), rng.uniform(-1.0, 1.0, size=b)


def test_row_weights_add_the_products_in_benchmark_order():
    weights, c = _weights()
    expected = np.zeros(len(weights))
    for b in range(weights.shape[1]):  # one rounding per product and per addition, b = 0, 1, ...
        expected = expected + weights[:, b] * c[b]
    np.testing.assert_array_equal(row_weights(weights, c), expected)


def test_a_rows_weight_does_not_depend_on_the_rows_around_it():
    weights, c = _weights()
    whole = row_weights(weights, c)
    for lo, hi in ((0, 1), (3, 17), (1001, 9000), (19_999, 20_000)):
        np.testing.assert_array_equal(row_weights(weights[lo:hi], c), whole[lo:hi])
    rows = np.random.default_rng(4).integers(0, len(weights), size=(50, 64))
    points = np.tile(c, (50, 1))
    np.testing.assert_array_equal(block_weights(weights, rows, points), whole[rows])
    np.testing.assert_array_equal(row_weights(weights[::-1], c), whole[::-1])  # another layout, same values


def test_block_weights_take_each_blocks_own_coefficients():
    weights, _ = _weights(n=300, b=4)
    rows = np.array([[0, 5, 299], [7, 7, 1]])
    c = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    expected = [weights[[0, 5, 299], 0], 2.0 * weights[[7, 7, 1], 3]]
    np.testing.assert_array_equal(block_weights(weights, rows, c), expected)


def test_weighted_sums_are_einsums_bit_for_bit():
    weights, _ = _weights(n=100_000)
    factors = np.random.default_rng(5).uniform(0.0, 3.0, size=len(weights))
    np.testing.assert_array_equal(weighted_sums(factors, weights), np.einsum("n,nb->b", factors, weights))
    assert weighted_sums(np.zeros(0), np.zeros((0, 3))).tolist() == [0.0, 0.0, 0.0]


def _numpy_masses(weights, c, factor, base, g):
    """Pass 1 of one point with numpy's array operations (as chunk_masses computed it before)."""
    x = np.maximum(row_weights(weights, c), 0.0) * factor
    full = len(x) // g * g
    coarse = list(x[:full].reshape(-1, g).sum(axis=1)) + ([x[full:].sum()] if full < len(x) else [])
    return x, np.array(coarse), weighted_sums(base, weights)


@pytest.mark.parametrize(("n", "g"), [(100_000, 64), (12_345, 128), (1000, 2048), (999, 3), (7, 64), (1, 64)])
def test_one_point_masses_are_numpys_numbers_in_one_pass(n, g):
    rng = np.random.default_rng(n + g)
    weights = rng.normal(size=(n, 6)) * 10.0 ** rng.integers(-3, 3, size=(n, 1))
    c = rng.normal(size=6)
    factor, base = rng.choice([0.0, 1.0, 2.5], size=n), rng.choice([0.0, 1.0], size=n)
    out = one_point_masses(weights, c, factor, base, g)
    x, coarse, total = _numpy_masses(weights, c, factor, base, g)
    np.testing.assert_array_equal(out["point_weights"], x)
    np.testing.assert_array_equal(out["coarse"][0], coarse)  # numpy's pairwise block sums, bit for bit
    np.testing.assert_array_equal(out["total"], total)
    assert out["negative"].tolist() == [int(np.count_nonzero(row_weights(weights, c) < 0.0))]
    assert out["top"].tolist() == [max(x.max(), 0.0)]
    np.testing.assert_allclose(out["squares"], [np.sum(x * x)], rtol=1e-13)


def test_one_point_masses_keep_a_nan_as_the_largest_weight():
    weights = np.array([[1.0], [np.nan], [3.0], [-1.0]])
    out = one_point_masses(weights, np.ones(1), np.ones(4), np.ones(4), 2)
    assert np.isnan(out["top"][0]) and out["negative"].tolist() == [1]
    assert np.isnan(out["coarse"][0, 0]) and out["coarse"][0, 1] == 3.0
