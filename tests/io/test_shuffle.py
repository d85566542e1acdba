"""Tests of columnminer.io.shuffle.combine_and_shuffle."""

import tracemalloc

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.errors import StoreMismatchError
from columnminer.io.shuffle import combine_and_shuffle
from columnminer.io.store import EventStore


def make_inputs(tmp_path, sizes, chunk_size=500, setup=None, observables=("id", "x")):
    setup = setup or golden_channel_setup()
    stores, offset = [], 0
    for k, n in enumerate(sizes):
        store = EventStore.create(
            str(tmp_path / f"in{k}.zarr"), setup, list(observables), chunk_size=chunk_size
        )
        rng = np.random.default_rng(k)
        ids = np.arange(offset, offset + n, dtype=np.float64)
        obs = np.column_stack([ids, rng.normal(size=n)])[:, : len(observables)]
        store.append(obs, np.outer(ids + 1.0, np.arange(1, 7)), np.full(n, k % 6), source={"input": k})
        stores.append(store)
        offset += n
    return stores


def test_output_is_a_permutation_of_the_inputs(tmp_path):
    stores = make_inputs(tmp_path, [700, 1200, 300])
    out = combine_and_shuffle(stores, str(tmp_path / "out.zarr"), seed=3, max_memory_bytes=40_000)
    obs, weights, sampled = out.read("observables"), out.read("weights"), out.read("sampled_from")
    ids = obs[:, 0]
    assert sorted(ids.tolist()) == list(range(2200))
    assert not np.all(np.diff(ids) > 0)  # actually shuffled
    np.testing.assert_array_equal(weights, np.outer(ids + 1.0, np.arange(1, 7)))  # rows travel together
    np.testing.assert_array_equal(sampled, np.searchsorted([700, 1900], ids, side="right"))
    assert out.setup == stores[0].setup
    assert [item["store"] for item in out._attrs["combined_from"]] == [s.url for s in stores]
    # the first tenth of the output holds events of every input, in proportion
    head = sampled[:220]
    assert {0, 1, 2} <= set(head.tolist())


def test_reproducible_with_a_seed(tmp_path):
    stores = make_inputs(tmp_path, [400, 400])
    a = combine_and_shuffle(stores, str(tmp_path / "a.zarr"), seed=7, max_memory_bytes=20_000).read(
        "observables"
    )
    b = combine_and_shuffle(stores, str(tmp_path / "b.zarr"), seed=7, max_memory_bytes=20_000).read(
        "observables"
    )
    c = combine_and_shuffle(stores, str(tmp_path / "c.zarr"), seed=8, max_memory_bytes=20_000).read(
        "observables"
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_uniformity_of_positions(tmp_path):
    """Every input event is equally likely to land anywhere: the first input's mean position is central."""
    stores = make_inputs(tmp_path, [1000, 3000])
    out = combine_and_shuffle(stores, str(tmp_path / "o.zarr"), seed=1, max_memory_bytes=30_000)
    positions = np.flatnonzero(out.read("sampled_from") == 0)
    # mean of 1000 uniform positions in [0, 4000): 2000 +- 1155/sqrt(1000) ~ 37
    assert abs(positions.mean() - 2000) < 5 * 37


def test_refuses_different_setups_and_observables(tmp_path):
    stores = make_inputs(tmp_path, [10])
    other_setup = golden_channel_setup()
    other_setup.add_benchmark([0.2, 0.2], name="bsm_extra")
    other = EventStore.create(str(tmp_path / "other.zarr"), other_setup, ["id", "x"])
    with pytest.raises(
        StoreMismatchError,
        match=r"benchmarks differ: only in the first \[\], only in the second \['bsm_extra'\]",
    ):
        combine_and_shuffle([stores[0], other], str(tmp_path / "o.zarr"))
    third = EventStore.create(str(tmp_path / "third.zarr"), golden_channel_setup(), ["id", "y"])
    with pytest.raises(StoreMismatchError, match=r"observables differ: \['id', 'x'\] vs \['id', 'y'\]"):
        combine_and_shuffle([stores[0], third], str(tmp_path / "o2.zarr"))


def test_memory_is_bounded_by_the_budget(tmp_path):
    """Data ten times the budget: the peak allocation stays far below the data size.

    The peak is the budget plus a fixed overhead: zarr's codec buffers of one chunk and, on Python 3.11,
    pathlib's interned names of the files zarr writes atomically (about 30 bytes per file written).
    """
    stores = make_inputs(tmp_path, [60_000, 60_000, 60_000], chunk_size=10_000)
    data_bytes = 180_000 * ((2 + 6) * 8 + 2)
    budget = data_bytes // 10
    tracemalloc.start()
    out = combine_and_shuffle(
        stores, str(tmp_path / "o.zarr"), seed=2, chunk_size=10_000, max_memory_bytes=budget
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.n_events == 180_000
    assert sorted(out.read("observables")[:, 0].tolist()) == list(range(180_000))
    assert peak < data_bytes / 3, (
        f"peak {peak} bytes for a budget of {budget} bytes ({data_bytes} bytes of data)"
    )
