"""The augmenter's chunk kernels against brute-force numpy: block sums, squares, largest and negative weights of
pass 1, and the rows pass 2 draws (the first row whose cumulative clipped weight exceeds the uniform), for
sparse and dense picks, duplicated draw points, closest-benchmark groups, partitions and nuisance factors."""

import numpy as np
import pytest

from columnminer.io.store import partition_mask
from columnminer.sampling._draws import (
    _search,
    chunk_masses,
    chunk_picks,
    coarse_rows_for,
    draw_points,
    expand_factors,
    factor_codes,
    key_factors,
)
from columnminer.store_chunks import StoreChunk

SPEC = {"seed": 7, "fractions": {"train": 0.6, "validation": 0.2, "test": 0.2}}


def _chunk(n=1000, n_benchmarks=4, seed=0, index=3, start=5000):
    rng = np.random.default_rng(seed)
    arrays = {
        "weights": np.abs(rng.normal(1.0, 0.8, size=(n, n_benchmarks))),
        "sampled_from": rng.integers(-1, 3, size=n).astype(np.int16),
    }
    return StoreChunk(index, start, np.arange(start, start + n), arrays)


def _points(n_benchmarks=4, seed=1, nu=False):
    """Seven draw points: four distinct morphing-like coefficient rows (negative entries, so some weights are
    negative), two of them repeated, in three closest-benchmark groups."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.5, 1.0, size=(4, n_benchmarks))
    draw = base[[0, 1, 2, 3, 1, 1, 3]]
    groups = np.array([-2, 0, 1, 2, 0, 0, 2])
    fractions = np.array([1.0, 0.4, 0.3, 0.3, 0.4, 0.4, 0.3])
    nus = rng.normal(0.0, 0.5, size=(4, 2))[[0, 1, 2, 3, 1, 1, 3]] if nu else None
    return draw, groups, fractions, nus


def _exact_weights(chunk, draw, groups, fractions, partition, ab=None, nus=None):
    """[D, n] clipped, masked weights of every draw point, the textbook way."""
    keys = [(int(g), float(f)) for g, f in zip(groups, fractions, strict=True)]
    factors, _, _ = key_factors(chunk["sampled_from"], SPEC, partition, chunk.start, keys)
    w = np.maximum(draw @ chunk["weights"].T, 0.0) * factors
    if ab is not None:
        w *= np.exp(nus @ ab[0].T + nus**2 @ ab[1].T)
    return w


@pytest.mark.parametrize("partition", [None, "train"])
@pytest.mark.parametrize("with_nu", [False, True])
def test_pass_one_matches_numpy(partition, with_nu):
    chunk = _chunk()
    draw, groups, fractions, nus = _points(nu=with_nu)
    ab = None
    if with_nu:
        rng = np.random.default_rng(4)
        ab = (rng.normal(0, 0.1, size=(1000, 2)), rng.normal(0, 0.05, size=(1000, 2)))
    points = draw_points(draw, groups, fractions, nus, coarse_rows=64)
    assert len(points) == 4 and points.inverse.tolist()[4:] == points.inverse[[1, 1, 3]].tolist()
    out = chunk_masses(chunk, points, SPEC, partition, ab)
    exact = _exact_weights(chunk, draw, groups, fractions, partition, ab, nus)
    padded = np.zeros((len(draw), 16 * 64))
    padded[:, :1000] = exact
    blocks = padded.reshape(len(draw), 16, 64).sum(axis=2)
    np.testing.assert_allclose(out["coarse"][points.inverse], blocks, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["squares"][points.inverse], (exact**2).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(out["top"][points.inverse], exact.max(axis=1), rtol=1e-12)
    assert out["negative"][points.inverse].tolist() == (draw @ chunk["weights"].T < 0).sum(axis=1).tolist()
    base = np.ones(1000) if partition is None else partition_mask(SPEC, partition, 5000, 6000).astype(float)
    np.testing.assert_allclose(out["total"], base @ chunk["weights"], rtol=1e-12)


@pytest.mark.parametrize("coarse_rows", [8, 64, 2048])
@pytest.mark.parametrize("partition", [None, "train"])
def test_pass_two_draws_the_first_row_past_the_uniform(coarse_rows, partition):
    """Sparse picks (a few per point), dense picks (many for one point) and a block size beyond the chunk:
    every pick is the row a full cumulative sum over the chunk gives for the same uniform."""
    chunk = _chunk()
    draw, groups, fractions, _ = _points()
    points = draw_points(draw, groups, fractions, None, coarse_rows=coarse_rows)
    coarse = chunk_masses(chunk, points, SPEC, partition)["coarse"]
    counts = np.array([3, 0, 5, 2, 7, 400, 1])
    rows, d = chunk_picks(chunk, points, SPEC, partition, 11, counts, coarse)
    assert d.tolist() == np.repeat(np.arange(7), counts).tolist()
    exact = _exact_weights(chunk, draw, groups, fractions, partition)
    rng = np.random.default_rng([11, 104729, 3])
    expected = []
    for point in np.flatnonzero(counts):
        u = rng.random(counts[point]) * coarse[points.inverse[point]].sum()
        expected.append(np.searchsorted(np.cumsum(exact[point]), u, side="right"))
    assert rows.tolist() == np.concatenate(expected).tolist()
    assert np.all(exact[d, rows] > 0.0)


@pytest.mark.parametrize("n", [1000, 1024, 4000])
@pytest.mark.parametrize("partition", [None, "train"])
def test_one_point_picks_from_kept_weights_are_the_recomputed_ones(n, partition):
    """One draw point with pass 1's clipped weights kept: the sparse picks (all blocks' cumulative sums at
    once) are the rows of the blocks' own cumulative sums, bit for bit, with a partial last block, blocks
    of zero weight (a run of rows with none) and many picks per block."""
    chunk = _chunk(n=n)
    chunk.arrays["weights"][n // 3 : n // 3 + 200] = 0.0
    draw, groups, fractions, _ = _points()
    points = draw_points(draw[:1], groups[:1], fractions[:1], None, coarse_rows=64)
    out = chunk_masses(chunk, points, SPEC, partition, keep=True)
    kept = out["point_weights"]
    for counts in ([1], [7], [n // 64 - 1]):
        counts = np.array([max(counts[0], 1)])
        recomputed = chunk_picks(chunk, points, SPEC, partition, 5, counts, out["coarse"])
        from_kept = chunk_picks(chunk, points, SPEC, partition, 5, counts, out["coarse"], point_weights=kept)
        assert (
            from_kept[0].tolist() == recomputed[0].tolist()
            and from_kept[1].tolist() == recomputed[1].tolist()
        )
        assert np.all(kept[from_kept[0]] > 0.0)


def test_uniform_at_the_end_picks_the_last_event_with_weight():
    """A uniform that rounding puts at (or past) the total picks the last row with weight, never a
    zero-weight row after it: in the block sums and in the rows of a block."""
    weights = np.ones(200)
    weights[150:] = 0.0
    blocks = np.add.reduceat(weights, np.arange(0, 200, 64))
    cdf, cum = np.cumsum(blocks), np.cumsum(weights)
    assert _search(cdf, np.array([cdf[-1], 0.5])).tolist() == [
        2,
        0,
    ]  # rows 128-191: the last block with weight
    assert _search(cum, np.array([cum[-1], cum[-1] * 2, 0.0, 0.999, 1.0])).tolist() == [149, 149, 0, 0, 1]


def test_coarse_rows_bound_the_block_sums():
    assert coarse_rows_for(1, 10) == 64
    assert coarse_rows_for(101, 10**6) == 64
    rows = coarse_rows_for(2000, 10**8)
    assert 2000 * 10**8 / rows <= 2**23 < 2000 * 10**8 / (rows // 2)


@pytest.mark.parametrize("partition", [None, "train", "test"])
def test_key_factors_are_the_textbook_factors_bit_for_bit(partition):
    """factor_codes / expand_factors (one byte per event and key) give the float factors
    partition * (1 / fraction at the key's benchmark, 1 for background, else 0), exactly."""
    chunk = _chunk(n=5000, seed=9)
    sampled_from = chunk["sampled_from"]
    keys = [(-2, 1.0), (0, 0.4), (1, 0.3), (2, 1.0)]
    n = len(sampled_from)
    base = np.ones(n) if partition is None else partition_mask(SPEC, partition, 5000, 5000 + n).astype(float)
    expected = np.stack(
        [
            base
            if group == -2
            else base * np.where(sampled_from == group, 1.0 / fraction, (sampled_from == -1) * 1.0)
            for group, fraction in keys
        ]
    )
    codes, values, inside = factor_codes(sampled_from, SPEC, partition, 5000, keys)
    assert codes.dtype == np.int8 and codes.shape == (4, n)
    for factors, ones, mask in (
        expand_factors(codes, values, inside),
        key_factors(sampled_from, SPEC, partition, 5000, keys),
    ):
        np.testing.assert_array_equal(factors, expected)
        assert not np.signbit(factors).any()
        np.testing.assert_array_equal(ones, np.all(expected == 1.0, axis=1))
        np.testing.assert_array_equal(mask, base)
