r"""Weight moments per store chunk, recorded when events are written: cross sections without decoding weights.

Cross sections and their uncertainties at any theta need only the sums :math:`S_b = \sum_z w_b(z)` and the
Gram matrix :math:`G_{bc} = \sum_z w_b(z) w_c(z)` of the stored benchmark weights (pb, pb^2;
:mod:`columnminer.weights`). :meth:`~columnminer.io.store.EventStore.append` computes them for every
chunk it writes, from the chunk as stored (read back: the numbers the read path computes, bit for bit), and
records them in the ``weights`` array's attributes beside the chunk's crc32c and its row count::

    "chunk_moments": {"<chunk index>": {"rows": n, "crc32c": c, "sums": [B], "gram": [B][B]}}

A reader trusts an entry only when its row count is the chunk's committed row count and the chunk file
still ends with the same crc32c (read and checked: a missing or damaged chunk raises as on every read path);
otherwise it reads the chunk. So no writer has to keep the entries right: a chunk rewritten by anyone
(append, repair, shuffle, a tool outside this package) gets another checksum and is read again, except
for a crc32 collision of the new bytes with the old ones (probability 2^-32 for an arbitrary change).
Stores written before (no entries), stores without a crc32c codec and stores outside the local file
system have no entries and are read. The checks run as tasks (:func:`columnminer.compute.run_tasks`): on
the local thread pool a few chunks per task, on a ``distributed`` cluster one run of consecutive chunks per
worker thread, since a check (about 1 ms per 10^5 rows of six weights) is cheaper than a scheduler's round
trip; only the checksums travel to the workers, and only moments recomputed there come back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .store_integrity import ChunkReader

__all__ = ["GRAM_ROWS", "chunk_moments", "column_sums", "gram_matrix", "moments_entries", "record_moments"]

logger = logging.getLogger(__name__)

#: The attribute of the ``weights`` array that holds the per-chunk moments.
ATTRIBUTE = "chunk_moments"


def column_sums(values: np.ndarray, width: int = 512) -> np.ndarray:
    r""":math:`\sum_z w_b(z)`, the sums over the rows of a [n_events, n_columns] array, at memory speed.

    ``values.sum(axis=0)`` of a narrow C-ordered array runs a loop of n_columns additions per row (about
    3 GB/s); here the rows are summed ``width`` at a time as one wide row (about 10x faster), then the
    ``width`` partial sums. Equal to ``values.sum(axis=0)`` up to rounding (another summation order).

    Example:
        >>> column_sums(np.arange(2000.0).reshape(1000, 2)).tolist()
        [999000.0, 1000000.0]
    """
    values = np.asarray(values)
    n = (len(values) // width) * width
    if values.ndim != 2 or n == 0 or not values.flags.c_contiguous:
        return values.sum(axis=0)
    columns = values.shape[1]
    head = values[:n].reshape(-1, width * columns).sum(axis=0).reshape(width, columns).sum(axis=0)
    return head + values[n:].sum(axis=0)


#: Rows per BLAS call in :func:`gram_matrix`: small enough that OpenBLAS stays on one thread (a [100000, 6]
#: product starts its own threads, which then fight the dask threads for the cores), as fast per row.
GRAM_ROWS = 16_384


def gram_matrix(values: np.ndarray) -> np.ndarray:
    r""":math:`G_{bc} = \sum_z w_b(z) w_c(z)` of a [n_events, n_columns] array, ``GRAM_ROWS`` rows per BLAS
    call: single-threaded BLAS, so that the reading threads (one per core) scale. Equal to
    ``values.T @ values`` up to rounding.

    Example:
        >>> gram_matrix(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [[10.0, 14.0], [14.0, 20.0]]
    """
    values = np.asarray(values)
    gram = np.zeros((values.shape[1], values.shape[1]))
    for lo in range(0, len(values), GRAM_ROWS):
        block = values[lo : lo + GRAM_ROWS]
        gram += block.T @ block
    return gram


def chunk_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""(:math:`\sum_z w_b(z)` [B], :math:`\sum_z w_b(z) w_c(z)` [B, B]) of one chunk's weights [n, B]
    (pb, pb^2): what the read path and the recorded entries both compute.

    Example:
        >>> sums, gram = chunk_moments(np.array([[1.0, 2.0], [3.0, 4.0]]))
        >>> sums.tolist(), gram.tolist()
        ([4.0, 6.0], [[10.0, 14.0], [14.0, 20.0]])
    """
    return column_sums(values), gram_matrix(values)


def _rows_in(reader: ChunkReader, index: int) -> int:
    return min(reader.rows_per_chunk, reader.n_rows - index * reader.rows_per_chunk)


def record_moments(array: Any, reader: ChunkReader, indices: Iterable[int]) -> int:
    """Compute and record the moments of chunks ``indices`` of the ``weights`` ``array`` (read back through
    ``reader``, whose ``n_rows`` are the rows written); returns the number of entries written (0 where the
    chunks carry no crc32c). Called by :meth:`~columnminer.io.store.EventStore.append` under the writer
    lock, before the rows are committed.

    Example (``append`` calls it; here again on a store's first chunk):
        >>> import tempfile, zarr
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", golden_channel_setup(), ["x"], chunk_size=2)
        >>> _ = store.append(np.zeros((3, 1)), np.ones((3, 6)), 0)
        >>> weights = zarr.open_array(store.url + "/weights", mode="r+")
        >>> record_moments(weights, store.chunk_reader("weights"), [0]), sorted(store.weight_moment_entries())
        (1, [0, 1])
    """
    entries = {}
    for index in indices:
        checksum = reader.checksum(index)
        if checksum is None:
            return 0
        sums, gram = chunk_moments(reader.chunk(index))
        rows = _rows_in(reader, index)
        entries[str(index)] = {"rows": rows, "crc32c": checksum, "sums": sums.tolist(), "gram": gram.tolist()}
    if entries:
        recorded = dict(array.attrs.asdict().get(ATTRIBUTE) or {})
        recorded.update(entries)
        array.update_attributes({ATTRIBUTE: recorded})
    return len(entries)


def moments_entries(
    attributes: Mapping[str, Any], reader: ChunkReader
) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
    """The recorded entries ``{chunk: (crc32c, sums, gram)}`` of the ``weights`` array's ``attributes``
    whose row count is the chunk's committed row count under ``reader`` (the crc32c is still to be
    compared with the chunk file, :meth:`~columnminer.io.store_integrity.ChunkReader.checksum`); entries
    of other shapes or types are ignored.

    Example:
        >>> reader = ChunkReader("s.zarr", "weights", 3, np.dtype("f8"), (2, 1), (1,), None)
        >>> entry = {"rows": 2, "crc32c": 7, "sums": [1.0], "gram": [[1.0]]}
        >>> sorted(moments_entries({"chunk_moments": {"0": entry, "1": entry}}, reader))  # chunk 1 has 1 row
        [0]
    """
    out = {}
    for key, entry in (attributes.get(ATTRIBUTE) or {}).items():
        try:
            index = int(key)
            if not 0 <= index < reader.n_chunks or int(entry["rows"]) != _rows_in(reader, index):
                continue
            sums = np.asarray(entry["sums"], dtype=np.float64)
            gram = np.asarray(entry["gram"], dtype=np.float64)
            if sums.shape != reader.columns or gram.shape != reader.columns * 2:
                continue
            out[index] = (int(entry["crc32c"]), sums, gram)
        except (KeyError, TypeError, ValueError):
            logger.debug("%s: ignored a malformed moments entry %r", reader.url, key)
    return out
