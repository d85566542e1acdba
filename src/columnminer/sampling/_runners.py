r"""Where the augmenter's chunk passes run: on this process's threads, or as store-chunk tasks on a client.

Every way calls a kernel ``fn(chunk, *args, *chunk_args[j], memo_j)`` on every store chunk j (a chunk
whose ``chunk_args`` entry is None is skipped) and returns the results in chunk order, so the sample does
not depend on the way. :class:`ChunkPasses` runs a pass, without a distributed client, as a few workers on
the kept thread pool of :func:`~columnminer.compute.run_tasks` (one per thread) that take the chunks one
at a time from a shared queue: the threads finish a pass together (the last piece of work is one chunk),
the calling thread sleeps until the pass is over (two wake-ups, not one per chunk, so it does not compete
for the GIL with the workers), and no pool is started per pass. A column is read when the kernel first
asks for it (``chunk["weights"]``), so a kernel reads only what it uses. In process (the columns fit in
:data:`IN_PROCESS_BYTES`), each chunk's columns are read once, in the kernel of the pass that first needs
them (blosc and numpy release the GIL), and kept, with a per-chunk ``memo`` dict where pass 1 leaves
what pass 2 reuses (the partition and closest-benchmark factors, the clipped weights of a single draw
point): this saves the second read of the weights and the second partition mask. For a larger store every
pass reads its columns again and ``memo_j`` is a dict marked ``"compact"``, where pass 1 leaves only what
is small enough to keep for every chunk (those factors as one byte per event). On a distributed client,
every pass goes through :func:`~columnminer.store_chunks.map_chunks` and ``memo_j`` is None.
:func:`passes_for` chooses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..compute import active_client, local_threads, run_tasks
from ..io.store import EventStore
from ..store_chunks import StoreChunk, map_chunks

__all__ = ["IN_PROCESS_BYTES", "ChunkPasses", "passes_for"]

logger = logging.getLogger(__name__)

#: Uncompressed bytes of the columns a sample reads up to which the passes run in process (the columns stay
#: in memory until the sample is drawn): 256 MB, e.g. 4.4 million events with 6 benchmark weights and 3
#: observables.
IN_PROCESS_BYTES = 2**28


class ChunkPasses:
    """The passes of one sample: on this process's threads (no ``client``), ``in_process`` keeping every
    chunk's columns (and a per-chunk ``memo`` dict) for the later passes of the same sample, otherwise
    reading them again in every pass (``memo`` a dict holding ``"compact": True``: a kernel keeps only a
    few bytes per event there); or, on ``client``, as tasks of :func:`~columnminer.store_chunks.map_chunks`,
    where the kernels get ``memo`` None.

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
        [(0, {'compact': True}), (4, {'compact': True}), (8, {'compact': True})]
        >>> ChunkPasses(store, client="a client").local
        False
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

    @property
    def local(self) -> bool:
        """Whether the passes run on this process's threads (no distributed client)."""
        return self.in_process or self.client is None

    def _reader(self, name: str) -> Any:
        if name not in self._readers:
            self._readers[name] = self.store.chunk_reader(name)
        return self._readers[name]

    def _chunk(self, index: int, columns: Sequence[str]) -> StoreChunk:
        """Chunk ``index`` with ``columns``, each read when the kernel first asks for it (in process read
        once, then kept): all rows, no partition."""
        reader = self._reader(columns[0])
        start = index * reader.rows_per_chunk
        n = min(reader.rows_per_chunk, reader.n_rows - start)
        kept = self._columns.setdefault(index, {}) if self.in_process else {}
        rows = np.arange(start, start + n, dtype=np.int64)
        return StoreChunk(index, start, rows, _Columns(self, index, tuple(columns), kept))

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
        if not self.local:
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
        for j, _ in jobs:  # made here, not in the threads
            self._memo.setdefault(j, {} if self.in_process else {"compact": True})
        results: list[Any] = [None] * len(jobs)
        queue = iter(range(len(jobs)))
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                j, extra = jobs[i]
                results[i] = fn(self._chunk(j, columns), *args, *extra, self._memo[j])

        # at least two workers: run_tasks runs a single one in the calling thread (where blosc would start
        # its own threads); on a pool of one thread the second finds the queue empty
        run_tasks([worker] * max(2, min(self.threads, len(jobs))))
        return results


class _Columns(Mapping):
    """The ``columns`` of one chunk for a kernel, each read from the store when first asked for (a kernel
    that does not need a column does not read it) and kept in ``kept``."""

    def __init__(self, passes: ChunkPasses, index: int, columns: tuple[str, ...], kept: dict) -> None:
        self._passes, self._index, self._names, self._kept = passes, index, columns, kept

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._kept:
            self._kept[name] = self._passes._reader(name).chunk(self._index)
        return self._kept[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


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
