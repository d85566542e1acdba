"""Tests of columnminer.io.store: layout, appends, validation, partitions, corruption, crash and resume."""

import importlib.util
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from columnminer import AnalysisSetup
from columnminer.demo import golden_channel_setup
from columnminer.errors import IncompleteStoreError, StoreError, StoreMismatchError
from columnminer.io.store import EventStore

WRITER = Path(__file__).with_name("store_writer.py")
_spec = importlib.util.spec_from_file_location("store_writer", WRITER)
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)


@pytest.fixture(scope="module")
def setup() -> AnalysisSetup:
    return golden_channel_setup()


def make_store(path, setup, chunks=(30, 45, 25), chunk_size=40, **kwargs):
    store = EventStore.create(str(path), setup, ["a", "b"], chunk_size=chunk_size, **kwargs)
    rng = np.random.default_rng(5)
    data = {"observables": [], "weights": [], "sampled_from": []}
    for i, n in enumerate(chunks):
        obs, w, s = rng.normal(size=(n, 2)), rng.uniform(0, 1, size=(n, 6)), rng.integers(-1, 6, size=n)
        store.append(obs, w, s, source={"file": "f.lhe", "chunk": i})
        for key, value in zip(data, (obs, w, s), strict=True):
            data[key].append(value)
    return store, {k: np.concatenate(v) for k, v in data.items()}


def test_roundtrip_and_layout(tmp_path, setup):
    store, data = make_store(tmp_path / "s.zarr", setup)
    assert store.n_events == 100
    for name in ("observables", "weights", "sampled_from"):
        np.testing.assert_array_equal(store.read(name), data[name])
    assert store.read("sampled_from").dtype == np.int16
    np.testing.assert_array_equal(store.read("weights", 35, 80), data["weights"][35:80])
    reopened = EventStore.open(str(tmp_path / "s.zarr"), setup=setup)
    assert reopened.benchmark_names == setup.benchmark_names
    assert reopened.observable_names == ["a", "b"]
    assert [s["source"]["chunk"] for s in reopened.sources] == [0, 1, 2]
    assert reopened.has_source({"file": "f.lhe", "chunk": 1})
    assert not reopened.has_source({"file": "f.lhe", "chunk": 7})
    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert group["weights"].chunks == (40, 6)
    assert group.attrs["observables"] == ["a", "b"]
    assert AnalysisSetup.from_zarr(group) == setup


def test_dask_chunks_match_zarr_chunks(tmp_path, setup):
    store, data = make_store(tmp_path / "s.zarr", setup)
    weights = store.to_dask("weights")
    assert weights.chunks[0] == (40, 40, 20)
    np.testing.assert_array_equal(weights.compute(), data["weights"])
    chunks = list(store.iter_chunks(("weights", "sampled_from")))
    assert [first for first, _ in chunks] == [0, 40, 80]
    np.testing.assert_array_equal(
        np.concatenate([c["sampled_from"] for _, c in chunks]), data["sampled_from"]
    )


def test_append_validation_names_the_problem(tmp_path, setup):
    store, _ = make_store(tmp_path / "s.zarr", setup, chunks=(5,))
    ok_obs, ok_w = np.zeros((3, 2)), np.ones((3, 6))
    with pytest.raises(
        StoreMismatchError, match=r"weights must have shape \[n_events, 6\] .*'sm'.*got \(3, 5\)"
    ):
        store.append(ok_obs, np.ones((3, 5)), 0)
    with pytest.raises(StoreMismatchError, match=r"observables must have shape \[3, 2\] \(\['a', 'b'\]\)"):
        store.append(np.zeros((3, 3)), ok_w, 0)
    bad = ok_w.copy()
    bad[2, 4] = np.nan
    with pytest.raises(
        StoreMismatchError, match="non-finite weights for benchmark 'morphing_basis_vector_3' in event 2"
    ):
        store.append(ok_obs, bad, 0)
    with pytest.raises(StoreMismatchError, match="benchmark index or -1"):
        store.append(ok_obs, ok_w, 6)
    with pytest.raises(StoreMismatchError, match="no nuisance benchmarks"):
        store.append(ok_obs, ok_w, 0, nuisance_weights=np.ones((3, 1)))
    with pytest.raises(StoreMismatchError, match="already appended"):
        store.append(ok_obs, ok_w, 0, source={"file": "f.lhe", "chunk": 0})
    assert store.n_events == 5  # nothing was written by the failed appends
    assert store.read("weights").shape == (5, 6)
    with pytest.raises(StoreError, match="read-only"):
        EventStore.open(str(tmp_path / "s.zarr")).append(ok_obs, ok_w, 0)


def test_nuisance_weights(tmp_path, setup):
    store = EventStore.create(
        str(tmp_path / "n.zarr"), setup, ["a"], nuisance_benchmarks=["mu_up", "mu_down"]
    )
    with pytest.raises(StoreMismatchError, match="nuisance_weights are required"):
        store.append(np.zeros((2, 1)), np.ones((2, 6)), 0)
    store.append(np.zeros((2, 1)), np.ones((2, 6)), 0, nuisance_weights=np.full((2, 2), 1.1))
    assert EventStore.open(str(tmp_path / "n.zarr")).read("nuisance_weights").tolist() == [[1.1, 1.1]] * 2


def test_create_refuses_existing_and_bad_options(tmp_path, setup):
    make_store(tmp_path / "s.zarr", setup, chunks=(3,))
    with pytest.raises(StoreError, match="already exists"):
        EventStore.create(str(tmp_path / "s.zarr"), setup, ["a"])
    assert EventStore.create(str(tmp_path / "s.zarr"), setup, ["a"], overwrite=True).n_events == 0
    with pytest.raises(StoreMismatchError, match="duplicate observable"):
        EventStore.create(str(tmp_path / "t.zarr"), setup, ["a", "a"])
    with pytest.raises(StoreMismatchError, match="partition_fractions"):
        EventStore.create(str(tmp_path / "u.zarr"), setup, ["a"], partition_fractions=(0.5, 0.6, 0.1))


def test_open_with_another_setup_names_the_difference(tmp_path, setup):
    make_store(tmp_path / "s.zarr", setup, chunks=(3,))
    other = golden_channel_setup()
    other.add_benchmark([0.5, 0.5], name="extra")
    with pytest.raises(
        StoreMismatchError, match=r"benchmarks differ: only in the first \[\], only in the second \['extra'\]"
    ):
        EventStore.open(str(tmp_path / "s.zarr"), setup=other)


def test_corrupt_stores(tmp_path, setup):
    path = tmp_path / "s.zarr"
    make_store(path, setup)
    group = zarr.open_group(str(path), mode="r+")
    group["weights"].resize((60, 6))
    with pytest.raises(
        StoreError, match="'weights' has 60 rows but 100 events are committed: the store is truncated"
    ):
        EventStore.open(str(path))

    make_store(tmp_path / "d.zarr", setup)
    group = zarr.open_group(str(tmp_path / "d.zarr"), mode="r+")
    del group["observables"]
    group.create_array("observables", shape=(100, 2), chunks=(40, 2), dtype="float32")
    with pytest.raises(StoreMismatchError, match="'observables' has dtype float32, expected float64"):
        EventStore.open(str(tmp_path / "d.zarr"))

    make_store(tmp_path / "m.zarr", setup)
    shutil.rmtree(tmp_path / "m.zarr" / "sampled_from")
    with pytest.raises(StoreError, match="array 'sampled_from' is missing"):
        EventStore.open(str(tmp_path / "m.zarr"))

    zarr.open_group(str(tmp_path / "plain.zarr"), mode="w")
    with pytest.raises(StoreError, match="not a columnminer event store"):
        EventStore.open(str(tmp_path / "plain.zarr"))
    with pytest.raises(StoreError, match="no event store found"):
        EventStore.open(str(tmp_path / "nothing.zarr"))

    make_store(tmp_path / "v.zarr", setup, chunks=(3,))
    zarr.open_group(str(tmp_path / "v.zarr"), mode="r+").attrs["store_schema_version"] = 99
    with pytest.raises(StoreError, match=r"store schema version 99.*upgrade columnminer"):
        EventStore.open(str(tmp_path / "v.zarr"))


def test_partitions_are_deterministic_disjoint_and_stable(tmp_path, setup):
    store, _ = make_store(tmp_path / "s.zarr", setup, chunks=(4000, 3000), chunk_size=1000)
    masks = {p: store.partition_mask(p) for p in ("train", "validation", "test")}
    total = sum(m.astype(int) for m in masks.values())
    assert np.all(total == 1)
    fractions = {p: m.mean() for p, m in masks.items()}
    assert abs(fractions["train"] - 0.8) < 0.02 and abs(fractions["test"] - 0.1) < 0.015
    # the same answer for any row range, and after more events are appended
    np.testing.assert_array_equal(store.partition_mask("train", 1234, 5678), masks["train"][1234:5678])
    store.append(np.zeros((10, 2)), np.ones((10, 6)), 0)
    np.testing.assert_array_equal(store.partition_mask("train")[:7000], masks["train"])
    np.testing.assert_array_equal(
        store.partition_indices("test"), np.flatnonzero(store.partition_mask("test"))
    )
    other, _ = make_store(tmp_path / "o.zarr", setup, chunks=(7000,), chunk_size=1000, partition_seed=1)
    assert not np.array_equal(other.partition_mask("train"), masks["train"])
    with pytest.raises(KeyError, match="unknown partition"):
        store.partition_mask("training")


def expected(n_chunks: int) -> dict:
    chunks = [writer.make_chunk(i) for i in range(n_chunks)]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def run_writer(url, n_chunks, *extra):
    return subprocess.run(
        [sys.executable, str(WRITER), str(url), str(n_chunks), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def resume(url, n_chunks):
    store = EventStore.open(str(url), mode="a")
    for i in range(n_chunks):
        if not store.has_source({"chunk": i}):
            store.append(**writer.make_chunk(i), source={"chunk": i})
    return store


def assert_store_equals(store, reference, n_rows):
    for name, values in reference.items():
        np.testing.assert_array_equal(store.read(name), values[:n_rows])


def test_killed_mid_append_leaves_complete_events_and_resumes(tmp_path):
    url = tmp_path / "killed.zarr"
    completed = run_writer(url, 6, "kill-at-chunk", "3")
    assert completed.returncode == -signal.SIGKILL, completed.stderr
    store = EventStore.open(str(url))
    n_complete = 3 * writer.CHUNK_ROWS
    assert store.n_events == n_complete
    assert store.incomplete["start"] == n_complete and store.incomplete["source"] == {"chunk": 3}
    assert "interrupted" in store.incomplete["message"]
    assert zarr.open_group(str(url), mode="r")["observables"].shape[0] > n_complete  # the torn write exists
    assert_store_equals(store, expected(6), n_complete)
    with pytest.raises(IncompleteStoreError, match="append that source again"):
        store.require_complete()

    resumed = resume(url, 6)
    assert resumed.incomplete is None
    assert resumed.n_events == 6 * writer.CHUNK_ROWS
    assert_store_equals(EventStore.open(str(url)), expected(6), 6 * writer.CHUNK_ROWS)


def test_killed_at_a_random_moment(tmp_path):
    """SIGKILL at an arbitrary time: committed rows are intact, and a resumed run equals a clean run."""
    url = tmp_path / "random.zarr"
    n_chunks = 120
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(url), str(n_chunks)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "created"
    time.sleep(random.Random().uniform(0.05, 0.6))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    store = EventStore.open(str(url))
    reference = expected(n_chunks)
    assert store.n_events % writer.CHUNK_ROWS == 0
    # every committed row is accounted for by the provenance (n_events and sources commit in one write)
    assert store.n_events == sum(item["stop"] - item["start"] for item in store.sources)
    assert_store_equals(store, reference, store.n_events)
    resumed = resume(url, n_chunks)
    assert resumed.n_events == n_chunks * writer.CHUNK_ROWS
    assert_store_equals(EventStore.open(str(url)), reference, n_chunks * writer.CHUNK_ROWS)


def test_repair_shrinks_arrays(tmp_path):
    url = tmp_path / "killed.zarr"
    run_writer(url, 5, "kill-at-chunk", "2")
    store = EventStore.open(str(url), mode="a")
    store.repair()
    assert store.incomplete is None
    group = zarr.open_group(str(url), mode="r")
    assert all(group[n].shape[0] == 2 * writer.CHUNK_ROWS for n in ("observables", "weights", "sampled_from"))


def test_read_rows_gathers_in_any_order(tmp_path, setup):
    store, data = make_store(tmp_path / "s.zarr", setup)
    rows = np.array([99, 3, 3, 57, 0])
    np.testing.assert_array_equal(store.read_rows("weights", rows), data["weights"][rows])
    np.testing.assert_array_equal(store.read_rows("sampled_from", rows), data["sampled_from"][rows])
    with pytest.raises(IndexError, match=r"rows must lie in 0\.\.99"):
        store.read_rows("weights", [100])
