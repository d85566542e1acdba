"""Weight moments recorded at write time: the cached path equals the read path after every rewrite."""

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.errors import StoreCorruptError
from columnminer.io.shuffle import combine_and_shuffle
from columnminer.io.store import EventStore
from columnminer.io.store_moments import ATTRIBUTE
from columnminer.store_chunks import map_chunks
from columnminer.weights import _chunk_moments, cross_sections, weight_moments

THETAS = np.random.default_rng(3).uniform(-1, 1, size=(7, 2))


def _read_path(store):
    parts = map_chunks(store, _chunk_moments)
    return np.sum([p[0] for p in parts], axis=0), np.sum([p[1] for p in parts], axis=0)


def _same_as_read_path(store):
    total, gram = weight_moments(store)
    reference = _read_path(store)
    np.testing.assert_array_equal(total, reference[0])  # the same numbers, summed in the same order
    np.testing.assert_array_equal(gram, reference[1])


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(1)
    s = EventStore.create(str(tmp_path / "m.zarr"), golden_channel_setup(), ["x"], chunk_size=10)
    for n in (7, 5, 18, 3):  # appends that start and end inside chunks
        s.append(rng.normal(size=(n, 1)), rng.normal(size=(n, 6)), 0)
    return s


def test_entries_cover_every_chunk_and_equal_the_read_path(store):
    assert sorted(store.weight_moment_entries()) == [0, 1, 2, 3]
    _same_as_read_path(store)
    reopened = EventStore.open(store.url)
    _same_as_read_path(reopened)
    xsec = cross_sections(reopened, THETAS)
    np.testing.assert_array_equal(xsec[0], cross_sections(reopened, THETAS, partition=None)[0])


def test_a_rewritten_chunk_is_read_again(store, tmp_path):
    import zarr

    array = zarr.open_array(store.url + "/weights", mode="r+")
    array[12] = np.full(6, 5.0)  # a writer that bypasses append: chunk 1 gets another crc32c
    reopened = EventStore.open(store.url)
    total, _ = weight_moments(reopened)
    np.testing.assert_array_equal(total, _read_path(reopened)[0])
    assert reopened.read("weights")[12, 0] == 5.0


def test_interrupted_append_and_repair(store, monkeypatch):
    rng = np.random.default_rng(2)
    entries_before = dict(store.weight_moment_entries())

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(EventStore, "_commit", fail)
    with pytest.raises(OSError):
        store.append(rng.normal(size=(4, 1)), rng.normal(size=(4, 6)), 0)
    monkeypatch.undo()
    reopened = EventStore.open(store.url)
    assert reopened.n_events == 33
    _same_as_read_path(reopened)  # chunk 3's entry now counts 7 rows: not trusted, read
    assert set(reopened.weight_moment_entries()) == set(entries_before) - {3}
    writable = EventStore.open(store.url, mode="a")
    writable.repair()
    writable.append(rng.normal(size=(4, 1)), rng.normal(size=(4, 6)), 0)
    _same_as_read_path(EventStore.open(store.url))


def test_shuffled_and_old_stores(store, tmp_path):
    shuffled = combine_and_shuffle([store], str(tmp_path / "s.zarr"), seed=1)
    assert shuffled.weight_moment_entries()
    _same_as_read_path(shuffled)
    old = EventStore.open(store.url)
    import zarr

    array = zarr.open_array(store.url + "/weights", mode="r+")
    array.update_attributes({ATTRIBUTE: {}})  # a store written before: no entries
    old = EventStore.open(store.url)
    assert old.weight_moment_entries() == {}
    np.testing.assert_allclose(weight_moments(old)[0], weight_moments(shuffled)[0], rtol=1e-12)


def test_damage_is_still_detected(store):
    import os

    os.remove(store.url + "/weights/c/2/0")
    with pytest.raises(StoreCorruptError, match="weights/c/2/0"):
        cross_sections(EventStore.open(store.url), THETAS)


def test_on_a_distributed_client_only_checksums_travel(store):
    import zarr
    from distributed import Client, LocalCluster

    zarr.open_array(store.url + "/weights", mode="r+")[25] = np.full(6, 3.0)  # chunk 2 now differs
    reopened = EventStore.open(store.url)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        total, gram = weight_moments(reopened, client=client)
    reference = _read_path(reopened)
    np.testing.assert_array_equal(total, reference[0])
    np.testing.assert_array_equal(gram, reference[1])
    entries = reopened.weight_moment_entries()
    assert sorted(entries) == [0, 1, 2, 3]  # chunk 2's entry is still there, but no longer trusted
    stale = np.sum([entries[i][1] for i in range(4)], axis=0)
    assert not np.allclose(stale, total)  # trusting it would have given another total
