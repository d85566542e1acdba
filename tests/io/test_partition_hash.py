"""Partition assignment: the splitmix64 hash of (seed, event index) against the cumulative fractions, bit for bit."""

import numpy as np
import pytest

from columnminer.io.store import PARTITIONS, partition_mask


def _reference(spec: dict, partition: str, start: int, stop: int) -> np.ndarray:
    """The assignment as written down: a new array per step, u as a float in [0, 1), float comparisons."""
    z = np.arange(start, stop, dtype=np.uint64) ^ np.uint64(int(spec["seed"]) * 0x632BE59BD9B4E019 % 2**64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    edges = np.concatenate([[0.0], np.cumsum([spec["fractions"][p] for p in PARTITIONS])])
    k = PARTITIONS.index(partition)
    upper = 1.0 if k == len(PARTITIONS) - 1 else edges[k + 1]
    return (u >= edges[k]) & (u < upper)


FRACTIONS = [(0.8, 0.0, 0.2), (0.7, 0.1, 0.2), (0.3333, 0.3333, 0.3334), (1.0, 0.0, 0.0), (0.0, 0.5, 0.5)]


@pytest.mark.parametrize("start", [0, 1, 99_999, 2**40 + 3, 2**62 - 5000])
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**63 + 17])
def test_partition_mask_matches_the_written_down_assignment(start, seed):
    for fractions in FRACTIONS:
        spec = {"fractions": dict(zip(PARTITIONS, fractions, strict=True)), "seed": seed}
        for partition in PARTITIONS:
            got = partition_mask(spec, partition, start, start + 4000)
            assert got.dtype == np.bool_ and got.shape == (4000,)
            assert np.array_equal(got, _reference(spec, partition, start, start + 4000)), (
                fractions,
                partition,
            )


def test_partitions_cover_every_event_once_and_follow_the_fractions():
    spec = {"fractions": {"train": 0.7, "validation": 0.1, "test": 0.2}, "seed": 11}
    masks = np.stack([partition_mask(spec, p, 1000, 201_000) for p in PARTITIONS])
    assert np.all(masks.sum(axis=0) == 1)
    assert np.allclose(masks.mean(axis=1), [0.7, 0.1, 0.2], atol=0.005)
    cut = np.concatenate(
        [partition_mask(spec, "train", 1000, 50_000), partition_mask(spec, "train", 50_000, 201_000)]
    )
    assert np.array_equal(cut, masks[0])  # independent of how the range is cut
    assert partition_mask(spec, "test", 5, 5).shape == (0,)
