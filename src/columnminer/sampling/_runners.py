r"""Where the augmenter's chunk passes run: store-chunk tasks, or in process for a store that fits in memory.

Both ways call a kernel ``fn(chunk, *args, *chunk_args[j], memo_j)`` on every store chunk j (a chunk
whose ``chunk_args`` entry is None is skipped) and return the results in chunk order, so the sample does not
depend on the way. :class:`ChunkPasses` either sends every pass through
:func:`~columnminer.store_chunks.map_chunks` (a distributed client, or a store too large to keep): each pass
reads its columns again and ``memo_j`` is None; or, in process, reads every chunk's columns once,
on a pool of threads (blosc and numpy release the GIL), fused with the kernel of the pass that first needs
them, and keeps them, with a per-chunk ``memo`` dict where pass 1 leaves what pass 2 reuses (the
partition and closest-benchmark factors, the clipped weights of a single draw point). For a small store
this saves the second read of the weights, the second partition mask and the graph and scheduling
overhead of dask (about 2 ms a pass). :func:`passes_for` chooses: in process when no distributed client
is active and the columns hold at most :data:`IN_PROCESS_BYTES`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..compute import active_client, local_threads
from ..io.store import EventStore
from ..store_chunks import StoreChunk, map_chunks

__all__ = ["IN_PROCESS_BYTES", "ChunkPasses", "passes_for"]

logger = logging.getLogger(__name__)

#: Uncompressed bytes of the columns a sample reads up to which the passes run in process (the columns stay
#: in memory until the sample is drawn): 256 MB, e.g. 4.4 million events with 6 benchmark weights and 3
#: observables.
IN_PROCESS_BYTES = 2**28


class ChunkPasses:
    """The passes of one sample. ``in_process``: every pass on a thread pool of this process, each chunk's
    columns read once and kept (with a per-chunk ``memo`` dict) for the later passes of the same sample;
    otherwise every pass as tasks of :func:`~columnminer.store_chunks.map_chunks` (on ``client`` or the
    local scheduler), and the kernels get ``memo`` None.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> store = EventStore.create("memory://doc-in-process", golden_channel_setup(), ["x"], chunk_size=4)
        >>> _ = store.append(np.ones((10, 1)), np.ones((10, 6)), 0)
        >>> passes = ChunkPasses(store, in_process=True, threads=2)
        >>> passes.map(lambda chunk, memo: memo.setdefault("n", chunk.n_events), columns=("weights",))
        [4, 4, 2]
        >>> passes.map(lambda chunk, k, memo: memo["n"] * k, columns=("observables",),
        ...            chunk_args=[(1,), None, (3,)])
        [4, 6]
        >>> ChunkPasses(store).map(lambda chunk, memo: (chunk.start, memo), columns=("weights",))
        [(0, None), (4, None), (8, None)]
    """

    def __init__(
        self, store: EventStore, client: Any = None, in_process: bool = False, threads: int | None = None
    ) -> None:
        self.store = store
        self.client = client
        self.in_process = bool(in_process)
        self.threads = max(1, int(threads or local_threads()))
        self._readers: dict[str, Any] = {}
        self._columns: dict[int, dict[str, np.ndarray]] = {}
        self._memo: dict[int, dict[str, Any]] = {}

    def _reader(self, name: str) -> Any:
        if name not in self._readers:
            self._readers[name] = self.store.chunk_reader(name)
        return self._readers[name]

    def _chunk(self, index: int, columns: Sequence[str]) -> StoreChunk:
        """Chunk ``index`` with ``columns`` (each read once, then kept): all its rows, no partition."""
        arrays = self._columns.setdefault(index, {})
        for name in columns:
            if name not in arrays:
                arrays[name] = self._reader(name).chunk(index)
        start = index * self._reader(columns[0]).rows_per_chunk
        n = len(arrays[columns[0]])
        rows = np.arange(start, start + n, dtype=np.int64)
        return StoreChunk(index, start, rows, {name: arrays[name] for name in columns})

    def map(
        self,
        fn: Callable[..., Any],
        *args: Any,
        columns: Sequence[str],
        chunk_args: Sequence[tuple | None] | None = None,
    ) -> list[Any]:
        """``fn(chunk, *args, *chunk_args[j], memo_j)`` on every chunk j not skipped; results in chunk order."""
        readers = [self._reader(name) for name in columns]  # made here, not in the threads
        n_chunks = readers[0].n_chunks
        if not self.in_process:
            extra = [() if chunk_args is None else chunk_args[j] for j in range(n_chunks)]
            return map_chunks(
                self.store,
                fn,
                *args,
                columns=columns,
                chunk_args=[None if e is None else (*e, None) for e in extra],
                client=self.client,
            )
        jobs = [
            (j, extra)
            for j in range(n_chunks)
            if (extra := () if chunk_args is None else chunk_args[j]) is not None
        ]

        def run(job: tuple[int, tuple]) -> Any:
            j, extra = job
            return fn(self._chunk(j, columns), *args, *extra, self._memo.setdefault(j, {}))

        if self.threads == 1 or len(jobs) <= 1:
            return [run(job) for job in jobs]
        with ThreadPoolExecutor(
            min(self.threads, len(jobs)), thread_name_prefix="columnminer-sample"
        ) as pool:
            return list(pool.map(run, jobs))


def passes_for(store: EventStore, columns: Sequence[str], client: Any = None) -> ChunkPasses:
    """:class:`ChunkPasses`, in process when no distributed client is given or active and the uncompressed
    ``columns`` of all events hold at most :data:`IN_PROCESS_BYTES`.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> store = EventStore.create("memory://doc-passes-for", golden_channel_setup(), ["x"])
        >>> _ = store.append(np.ones((10, 1)), np.ones((10, 6)), 0)
        >>> passes_for(store, ("weights", "observables")).in_process
        True
    """
    client = active_client(client)
    if client is not None:
        return ChunkPasses(store, client)
    size = 0
    for name in columns:
        reader = store.chunk_reader(name)
        size += reader.n_rows * int(np.prod(reader.columns, dtype=np.int64)) * reader.dtype.itemsize
    if size > IN_PROCESS_BYTES:
        logger.debug("%d bytes of columns: the passes run as tasks", size)
        return ChunkPasses(store)
    return ChunkPasses(store, in_process=True)
