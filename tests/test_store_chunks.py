"""map_chunks: several chunks per task give the results of one chunk per task, in chunk order."""

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.io.store import EventStore
from columnminer.store_chunks import TASK_ROWS, chunks_per_task, map_chunks


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(5)
    s = EventStore.create(str(tmp_path / "s.zarr"), golden_channel_setup(), ["x"], chunk_size=7)
    s.append(rng.normal(size=(100, 1)), rng.uniform(size=(100, 6)), 0)
    return s


def _kernel(chunk, offset=0.0, extra=0.0):
    return chunk.index, chunk.start, chunk.rows.copy(), chunk["weights"].sum() * chunk.scale + offset + extra


@pytest.mark.parametrize("per_task", [None, 1, 2, 3, 15, 100])
def test_grouping_changes_nothing(store, per_task):
    reference = map_chunks(store, _kernel, 0.5, per_task=1)
    results = map_chunks(store, _kernel, 0.5, per_task=per_task)
    assert len(results) == store.chunk_reader("weights").n_chunks == 15
    for (i, s, rows, total), (i0, s0, rows0, total0) in zip(results, reference, strict=True):
        assert (i, s, total) == (i0, s0, total0)
        np.testing.assert_array_equal(rows, rows0)


@pytest.mark.parametrize("per_task", [1, 4])
def test_grouping_with_chunk_args_and_partition(store, per_task):
    chunk_args = [None if j % 3 == 0 else (float(j),) for j in range(15)]
    results = map_chunks(store, _kernel, 0.0, chunk_args=chunk_args, partition="train", per_task=per_task)
    assert [r[0] for r in results] == [j for j in range(15) if j % 3]
    assert all(r[3] >= r[0] for r in results)  # the per-chunk argument reached its chunk
    reference = map_chunks(store, _kernel, 0.0, chunk_args=chunk_args, partition="train", per_task=1)
    for a, b in zip(results, reference, strict=True):
        assert a[:2] == b[:2] and a[3] == b[3]
        np.testing.assert_array_equal(a[2], b[2])


def test_chunks_per_task_bounds():
    assert chunks_per_task(1000, 100_000, 2) == TASK_ROWS // 100_000  # rows bound
    assert chunks_per_task(12, 100_000, 2) == 1  # four tasks per thread first
    assert chunks_per_task(0, 100_000, 2) == 1
    assert chunks_per_task(64, 10, 4) == 4


def test_grouping_on_a_distributed_client(store):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as client:
        results = map_chunks(store, _kernel, client=client)
    reference = map_chunks(store, _kernel, per_task=1)
    assert [r[3] for r in results] == [r[3] for r in reference]
