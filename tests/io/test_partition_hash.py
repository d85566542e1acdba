"""The partition kernel: the splitmix64 assignment of the partition spec, bit for bit, in one pass."""

import numpy as np
import pytest

from columnminer.io._partition_hash import interval_mask
from columnminer.io.store import PARTITIONS, partition_mask


def _reference(start: int, stop: int, seed: int, low: float, high: float) -> np.ndarray:
    """The assignment written out with numpy's wrapping uint64 arithmetic."""
    z = np.arange(start, stop, dtype=np.uint64) ^ np.uint64(seed)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return (u >= low) & (u < high)


@pytest.mark.parametrize("start", [0, 1, 99_999, 2**40 + 3, 2**62 - 5000])
@pytest.mark.parametrize("seed", [0, 1, 0x632BE59BD9B4E019, 2**64 - 1])
def test_kernel_matches_the_numpy_arithmetic(start, seed):
    for low, high in [(0.0, 0.8), (0.8, 0.8), (0.8, 1.0), (0.25, 0.5), (0.0, 1.0)]:
        got = interval_mask(start, start + 5000, np.uint64(seed), low, high)
        assert got.dtype == np.bool_ and got.shape == (5000,)
        assert np.array_equal(got, _reference(start, start + 5000, seed, low, high))


def test_partitions_cover_every_event_once_and_follow_the_fractions():
    spec = {"fractions": {"train": 0.7, "validation": 0.1, "test": 0.2}, "seed": 11}
    masks = np.stack([partition_mask(spec, p, 1000, 201_000) for p in PARTITIONS])
    assert np.all(masks.sum(axis=0) == 1)
    assert np.allclose(masks.mean(axis=1), [0.7, 0.1, 0.2], atol=0.005)
    # independent of how the range is cut
    cut = np.concatenate(
        [partition_mask(spec, "train", 1000, 50_000), partition_mask(spec, "train", 50_000, 201_000)]
    )
    assert np.array_equal(cut, masks[0])
    assert partition_mask(spec, "test", 5, 5).shape == (0,)
