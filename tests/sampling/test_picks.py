"""Pass 2's picks inside blocks from pass 1's kept weights: numpy's cumulative sums, only where picked."""

import numpy as np
import pytest

from columnminer.sampling._picks import kept_block_picks


def _reference(weights, g, block, u):
    """Every block's cumulative sums with numpy (rows past the end weigh 0), then one look per pick."""
    padded = np.zeros(-(-len(weights) // g) * g)
    padded[: len(weights)] = weights
    cum = np.cumsum(padded.reshape(-1, g), axis=1)
    below = np.count_nonzero(cum[block] <= u[:, None], axis=1)
    return block * g + np.minimum(below, np.argmax(cum, axis=1)[block])


@pytest.mark.parametrize(("n", "g"), [(100_000, 64), (999, 7), (64, 64), (5, 2)])
def test_picks_are_those_of_numpys_cumulative_sums(n, g):
    rng = np.random.default_rng(n)
    blocks = -(-n // g)
    for trial in range(12):
        weights = np.maximum(rng.normal(size=n), 0.0) * rng.choice([1.0, 1e-300, 1e10], size=n)
        if trial % 3 == 0:  # NaN weights: numpy's argmax takes the first NaN
            weights[rng.integers(0, n, 3)] = np.nan
        if trial % 4 == 0:
            weights[: n // 2] = 0.0
        block = rng.integers(0, blocks, 3000)
        u = rng.uniform(0.0, 1.0, 3000) * np.where(rng.random(3000) < 0.1, 1e3, 1.0)
        u[::7] = 0.0
        np.testing.assert_array_equal(
            kept_block_picks(weights, g, block, u), _reference(weights, g, block, u)
        )


def test_a_uniform_equal_to_a_cumulative_sum_takes_the_next_row():
    weights = np.array([0.1, 0.2, 0.3, 0.0, 0.4, 0.5])
    cum = np.cumsum(weights)
    block = np.zeros(6, dtype=np.int64)
    picks = kept_block_picks(weights, 6, block, cum)  # u at a boundary: the first row past it
    np.testing.assert_array_equal(picks, _reference(weights, 6, block, cum))
    assert picks.tolist() == [1, 2, 4, 4, 5, 5]  # the last: capped at the block's first largest sum
