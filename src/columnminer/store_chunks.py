r"""One driver for chunkwise work over an event store: read columns per chunk, select a partition, run a kernel.

Every pass over the events of an :class:`~columnminer.io.store.EventStore` (binned yields, Fisher
information, nuisance cross sections, the sample augmenter) runs a kernel on each store chunk in a dask
task (threads, or the active ``distributed`` client) and brings back only what the kernel returns. The
chunks are the zarr chunks (``store.chunk_size`` rows); each task reads the columns of its chunk itself
(:class:`~columnminer.io.store_integrity.ChunkReader`: one task per chunk, however many columns), so the
graph holds no event data and a distributed worker reads its chunks where it runs. With a ``partition``
("train", "validation", "test") a chunk keeps only the partition's rows and carries the factor :math:`1/f`
of the partition's fraction f, by which weights are multiplied so that sums over a partition estimate
full-sample totals.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .compute import active_client, compute
from .errors import StoreError
from .io.store import EventStore, partition_mask
from .io.store_integrity import ChunkReader

__all__ = ["StoreChunk", "chunk_starts", "map_chunks"]

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


def _run(
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


def map_chunks(
    store: EventStore,
    fn: Callable[..., Any],
    *args: Any,
    columns: Sequence[str] = ("weights",),
    partition: str | None = None,
    chunk_args: Sequence[tuple | None] | None = None,
    client: Any = None,
    error: type[Exception] = StoreError,
) -> list[Any]:
    """Run ``fn(chunk, *args, *chunk_args[j])`` on every store chunk j in dask tasks; results in chunk order.

    ``chunk`` is a :class:`StoreChunk` with the store arrays ``columns`` of the chunk's rows (only the rows
    of ``partition`` when one is given); ``chunk_args`` optionally gives each chunk further arguments, and
    a chunk whose entry is None is skipped (no task, no result). The kernel should reduce (sums,
    histograms, a few drawn rows) so that little travels back; on a ``distributed`` client it must be
    picklable by cloudpickle. An empty store, or an empty ``partition``, raises ``error``.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> store = EventStore.create("memory://doc-map-chunks", golden_channel_setup(), ["m4l"], chunk_size=4)
        >>> _ = store.append(np.ones((10, 1)), np.ones((10, 6)), 0)
        >>> map_chunks(store, lambda chunk: (chunk.start, chunk.n_events))
        [(0, 4), (4, 4), (8, 2)]
    """
    import dask

    if store.n_events == 0:
        raise error(f"{store.url}: the store holds no events")
    spec = store.partition_spec
    if partition is not None and float(spec["fractions"].get(partition, 0.0)) <= 0.0:
        raise error(f"partition {partition!r} holds no events (fractions {spec['fractions']})")
    names = tuple(columns)
    readers = [store.chunk_reader(name) for name in names]
    size = readers[0].rows_per_chunk
    tasks = []
    for j in range(readers[0].n_chunks):
        extra = () if chunk_args is None else chunk_args[j]
        if extra is None:
            continue
        # one opaque callable per task: dask neither traverses nor rebuilds the readers and arguments
        job = functools.partial(_run, fn, j, j * size, names, readers, spec, partition, (*args, *extra))
        tasks.append(dask.delayed(job, pure=False)())
    return list(compute(*tasks, client=active_client(client)))
