r"""One driver for chunkwise work over an event store: read columns per chunk, select a partition, run a kernel.

Every pass over the events of an :class:`~columnminer.io.store.EventStore` (binned yields, Fisher
information, nuisance cross sections, the sample augmenter) runs a kernel on each store chunk in a task
(:func:`~columnminer.compute.run_tasks`: a pool of threads of this process, or the active ``distributed``
client) and brings back only what the kernel returns. The
chunks are the zarr chunks (``store.chunk_size`` rows); each task reads the columns of its chunk itself
(:class:`~columnminer.io.store_integrity.ChunkReader`), so the graph holds no event data and a distributed
worker reads its chunks where it runs. A task runs the kernel on a few consecutive chunks, one after the
other (:func:`chunks_per_task`: at most ``TASK_ROWS`` rows, and at least four tasks per thread), so that
a scheduler's cost per task (about 0.3 ms of the main thread on dask's, GIL held) stays small against the
work. On a ``distributed`` client every thread gets :data:`CLIENT_TASKS_PER_THREAD` tasks instead, of as
many chunks as that takes: the scheduler hands a worker about one task per thread beyond those running
(``worker-saturation``) and holds the rest back, so every further task waits a round trip between
scheduler and worker (5-10 ms of batched messages, at each task's end).
With a ``partition`` ("train", "validation", "test") a chunk keeps only the partition's rows and carries the
factor :math:`1/f` of the partition's fraction f, by which weights are multiplied so that sums over a
partition estimate full-sample totals.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .compute import active_client, local_threads, run_tasks
from .errors import StoreError
from .io.store import EventStore, partition_mask
from .io.store_integrity import ChunkReader

__all__ = [
    "CLIENT_TASKS_PER_THREAD",
    "TASK_ROWS",
    "StoreChunk",
    "chunk_starts",
    "chunks_per_task",
    "map_chunks",
    "task_threads",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreChunk:
    """The rows of one store chunk that a kernel sees.

    Attributes:
        index: the chunk's number (0, 1, ...), e.g. to seed a per-chunk random generator.
        start: the store row of the chunk's first row (before any partition selection).
        rows: the store indices of the rows kept [n].
        arrays: the columns read, by store array name, restricted to the kept rows (unscaled).
        scale: ``1 / fraction`` of the partition (1 without one): multiply weights by it so that sums
            estimate full-sample totals.

    ``chunk["weights"]`` is ``chunk.arrays["weights"]``.

    Example:
        >>> chunk = StoreChunk(0, 0, np.arange(2), {"weights": np.ones((2, 1))}, 2.0)
        >>> chunk["weights"].shape, chunk.n_events, chunk.scale
        ((2, 1), 2, 2.0)
    """

    index: int
    start: int
    rows: np.ndarray
    arrays: Mapping[str, np.ndarray]
    scale: float = 1.0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def n_events(self) -> int:
        """Rows kept in this chunk."""
        return len(self.rows)


def chunk_starts(chunks: Sequence[int]) -> np.ndarray:
    """First row of every chunk from the chunk lengths (a dask array's ``chunks[0]``).

    Example:
        >>> chunk_starts((4, 4, 2)).tolist()
        [0, 4, 8]
    """
    return np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(np.int64)


def _run_one(
    fn: Callable,
    index: int,
    start: int,
    names: tuple[str, ...],
    readers: list[ChunkReader],
    spec: Mapping[str, Any],
    partition: str | None,
    args: tuple,
) -> Any:
    """Read one chunk's columns, build its :class:`StoreChunk` (partition rows only) and run the kernel."""
    blocks = [reader.chunk(index) for reader in readers]
    n = len(blocks[0])
    rows = np.arange(start, start + n, dtype=np.int64)
    arrays = dict(zip(names, blocks, strict=True))
    scale = 1.0
    if partition is not None:
        keep = partition_mask(spec, partition, start, start + n)
        scale = 1.0 / float(spec["fractions"][partition])
        rows = rows[keep]
        arrays = {name: values[keep] for name, values in arrays.items()}
    return fn(StoreChunk(index, start, rows, arrays, scale), *args)


def _run(
    fn: Callable,
    jobs: list[tuple[int, tuple]],
    size: int,
    names: tuple[str, ...],
    readers: list[ChunkReader],
    spec: Mapping[str, Any],
    partition: str | None,
) -> list[Any]:
    """One task: the kernel on each chunk ``(index, args)`` of ``jobs`` in turn; the results in that order."""
    return [_run_one(fn, j, j * size, names, readers, spec, partition, args) for j, args in jobs]


#: Rows a task reads at most (several store chunks): 400,000 rows of six float64 weights are 19 MB.
TASK_ROWS = 400_000
#: Tasks per worker thread of a ``distributed`` client in :func:`map_chunks` (a task reads its chunks one
#: after the other, so its memory does not grow with their number).
CLIENT_TASKS_PER_THREAD = 2


def task_threads(client: Any) -> int:
    """Threads that run the tasks: the client's workers' threads, else dask's ``num_workers`` or the cores.

    Example:
        >>> import dask
        >>> with dask.config.set(num_workers=3):
        ...     task_threads(None)
        3
    """
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # a client that cannot say: one thread per core
            return os.cpu_count() or 1
    return local_threads()


def chunks_per_task(n_chunks: int, rows_per_chunk: int, threads: int) -> int:
    """Consecutive chunks one task reduces: at most ``TASK_ROWS`` rows, while every thread keeps at least
    four tasks (so that threads finishing at different times still share the work evenly).

    Example:
        >>> chunks_per_task(100, 100_000, 2), chunks_per_task(10, 100_000, 2), chunks_per_task(100, 1000, 1)
        (4, 1, 25)
    """
    by_rows = max(1, TASK_ROWS // max(int(rows_per_chunk), 1))
    return max(1, min(by_rows, int(n_chunks) // (4 * max(int(threads), 1))))


def map_chunks(
    store: EventStore,
    fn: Callable[..., Any],
    *args: Any,
    columns: Sequence[str] = ("weights",),
    partition: str | None = None,
    chunk_args: Sequence[tuple | None] | None = None,
    client: Any = None,
    error: type[Exception] = StoreError,
    per_task: int | None = None,
) -> list[Any]:
    """Run ``fn(chunk, *args, *chunk_args[j])`` on every store chunk j in tasks; results in chunk order.

    ``chunk`` is a :class:`StoreChunk` with the store arrays ``columns`` of the chunk's rows (only the rows
    of ``partition`` when one is given); ``chunk_args`` optionally gives each chunk further arguments, and
    a chunk whose entry is None is skipped (no task, no result). The kernel should reduce (sums,
    histograms, a few drawn rows) so that little travels back; on a ``distributed`` client it must be
    picklable by cloudpickle. An empty store, or an empty ``partition``, raises ``error``. A task runs the
    kernel on ``per_task`` consecutive chunks (default :func:`chunks_per_task`, or on a client
    :data:`CLIENT_TASKS_PER_THREAD` tasks per thread); the results are the same whatever the grouping.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> store = EventStore.create("memory://doc-map-chunks", golden_channel_setup(), ["m4l"], chunk_size=4)
        >>> _ = store.append(np.ones((10, 1)), np.ones((10, 6)), 0)
        >>> map_chunks(store, lambda chunk: (chunk.start, chunk.n_events))
        [(0, 4), (4, 4), (8, 2)]
    """
    if store.n_events == 0:
        raise error(f"{store.url}: the store holds no events")
    spec = store.partition_spec
    if partition is not None and float(spec["fractions"].get(partition, 0.0)) <= 0.0:
        raise error(f"partition {partition!r} holds no events (fractions {spec['fractions']})")
    names = tuple(columns)
    readers = [store.chunk_reader(name) for name in names]
    size = readers[0].rows_per_chunk
    jobs = [
        (j, (*args, *extra))
        for j in range(readers[0].n_chunks)
        if (extra := () if chunk_args is None else chunk_args[j]) is not None
    ]
    client = active_client(client)
    threads = task_threads(client)
    if per_task:
        group = per_task
    elif client is not None:  # few tasks: every task beyond one per thread waits for a round trip
        group = max(1, -(-len(jobs) // (CLIENT_TASKS_PER_THREAD * threads)))
    else:
        group = chunks_per_task(len(jobs), size, threads)
    # one opaque callable per task: neither dask nor the pool traverses or rebuilds readers and arguments
    tasks = [
        functools.partial(_run, fn, jobs[lo : lo + group], size, names, readers, spec, partition)
        for lo in range(0, len(jobs), group)
    ]
    logger.debug("%d chunks in %d tasks of %d", len(jobs), len(tasks), group)
    return [result for part in run_tasks(tasks, client=client) for result in part]
