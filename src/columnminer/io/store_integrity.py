"""Integrity of an event store: committed chunks present and intact, metadata with possible values."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import crc32c
import numpy as np
import zarr
from numcodecs import Blosc, Zstd

from ..errors import ColumnMinerError, StoreCorruptError

__all__ = [
    "ChunkReader",
    "check_attributes",
    "chunk_keys",
    "read_checked",
    "require_chunks",
    "verify_array",
]

logger = logging.getLogger(__name__)


def chunk_keys(array: zarr.Array, start: int, stop: int) -> list[tuple[int, str]]:
    """``(first_row, key)`` of every chunk (relative to the array's path) holding rows ``start:stop``.

    Arrays of a store are chunked along rows only (one chunk spans all columns).

    Example:
        >>> import tempfile, zarr
        >>> a = zarr.open_array(tempfile.mkdtemp() + "/w", mode="w", shape=(10, 2), chunks=(4, 2), dtype="f8")
        >>> chunk_keys(a, 3, 9)
        [(0, 'c/0/0'), (4, 'c/1/0'), (8, 'c/2/0')]
    """
    rows = int(array.chunks[0])
    encoding = array.metadata.chunk_key_encoding
    out = []
    for i in range(int(start) // rows, -(-int(stop) // rows) if stop > start else int(start) // rows):
        coords = (i,) + (0,) * (array.ndim - 1)
        out.append((i * rows, encoding.encode_chunk_key(coords)))
    return out


def _exists(array: zarr.Array, key: str) -> bool:
    from zarr.core.sync import sync

    store_path = array.store_path
    prefix = f"{store_path.path}/" if store_path.path else ""
    return bool(sync(store_path.store.exists(prefix + key)))


def require_chunks(url: str, name: str, array: zarr.Array, start: int, stop: int) -> None:
    """Raise :class:`StoreCorruptError` if a chunk holding committed rows ``start:stop`` is missing.

    zarr reads a missing chunk as its fill value (NaN weights): a missing chunk must never be data.

    Example:
        >>> import tempfile, zarr
        >>> a = zarr.open_array(tempfile.mkdtemp() + "/w", mode="w", shape=(10, 2), chunks=(4, 2), dtype="f8")
        >>> a[:8] = 1.0  # rows 8..10 never written: their chunk does not exist
        >>> require_chunks("s.zarr", "weights", a, 0, 8)
        >>> try:
        ...     require_chunks("s.zarr", "weights", a, 0, 10)
        ... except StoreCorruptError as err:
        ...     print(err)
        s.zarr: chunk 'weights/c/2/0' (rows 8..10) of committed data is missing; the store is damaged (run
        `columnminer inspect --verify`)
    """
    if stop <= start:
        return
    for first, key in chunk_keys(array, start, stop):
        if not _exists(array, key):
            raise _missing(url, name, key, first, min(first + int(array.chunks[0]), int(array.shape[0])))


def _missing(url: str, name: str, key: str, first: int, last: int) -> StoreCorruptError:
    return StoreCorruptError(
        f"{url}: chunk '{name}/{key}' (rows {first}..{last}) of committed data is missing; the store is "
        "damaged (run `columnminer inspect --verify`)"
    )


def _corrupt(url: str, name: str, key: str, first: int, last: int, err: Exception) -> StoreCorruptError:
    return StoreCorruptError(
        f"{url}: chunk '{name}/{key}' (rows {first}..{last}) is corrupt: {type(err).__name__}: {err}"
    )


def read_checked(url: str, name: str, array: zarr.Array, selection: Any, start: int, stop: int) -> np.ndarray:
    """``array[selection]`` after checking that the chunks of rows ``start:stop`` exist; a chunk that fails
    to decode (checksum, truncation) raises :class:`StoreCorruptError` naming it.

    Example:
        >>> import tempfile, zarr
        >>> a = zarr.open_array(tempfile.mkdtemp() + "/w", mode="w", shape=(10, 2), chunks=(4, 2), dtype="f8")
        >>> a[:] = 1.0
        >>> read_checked("s.zarr", "weights", a, slice(0, 2), 0, 2).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    require_chunks(url, name, array, start, stop)
    try:
        return array[selection]
    except ColumnMinerError:
        raise
    except Exception as err:
        for first, key in chunk_keys(array, start, stop):
            last = min(first + int(array.chunks[0]), int(array.shape[0]))
            try:
                array[first:last]
            except Exception as chunk_err:
                raise _corrupt(url, name, key, first, last, chunk_err) from chunk_err
        raise StoreCorruptError(f"{url}: array '{name}' is unreadable: {type(err).__name__}: {err}") from err


def verify_array(
    url: str, name: str, array: zarr.Array, n_events: int, n_benchmarks: int | None = None
) -> list[str]:
    """Every problem of one array's committed rows: missing or undecodable chunks, non-finite weights,
    impossible ``sampled_from`` values. Reads the whole array, one chunk at a time.

    Example:
        >>> import tempfile, zarr
        >>> a = zarr.open_array(tempfile.mkdtemp() + "/w", mode="w", shape=(10, 2), chunks=(4, 2), dtype="f8")
        >>> a[:] = 1.0
        >>> a[5, 1] = np.nan
        >>> verify_array("s.zarr", "weights", a, 10)
        ["chunk 'weights/c/1/0' (rows 4..8): 1 non-finite values (first in row 5)"]
    """
    problems = []
    rows = int(array.chunks[0])
    for first, key in chunk_keys(array, 0, n_events):
        last = min(first + rows, n_events)
        where = f"chunk '{name}/{key}' (rows {first}..{last})"
        if not _exists(array, key):
            problems.append(f"{where} is missing")
            continue
        try:
            values = array[first:last]
        except Exception as err:
            problems.append(f"{where} is corrupt: {type(err).__name__}: {err}")
            continue
        if name in ("weights", "nuisance_weights"):
            bad = ~np.isfinite(values)
            if bad.any():
                row = first + int(np.argwhere(bad)[0][0])
                problems.append(f"{where}: {int(bad.sum())} non-finite values (first in row {row})")
        elif name == "sampled_from" and n_benchmarks is not None:
            bad = (values < -1) | (values >= n_benchmarks)
            if bad.any():
                row = first + int(np.flatnonzero(bad)[0])
                problems.append(
                    f"{where}: {int(bad.sum())} impossible benchmark indices (first in row {row})"
                )
    return problems


#: Byte codecs that :class:`ChunkReader` decodes itself (after a little-endian ``bytes`` codec).
_OWN_CODECS = ("blosc", "zstd", "crc32c")


def _own_codecs(array: zarr.Array) -> tuple[str, ...] | None:
    """Names of ``array``'s byte codecs (applied in this order on write) when :class:`ChunkReader` can
    decode them without zarr: a little-endian ``bytes`` codec followed by any of blosc, zstd and crc32c."""
    codecs = [codec.to_dict() for codec in array.metadata.codecs]
    if not codecs or codecs[0].get("name") != "bytes":
        return None
    if (codecs[0].get("configuration") or {}).get("endian", "little") != "little":
        return None
    names = tuple(str(codec.get("name")) for codec in codecs[1:])
    return names if all(name in _OWN_CODECS for name in names) else None


def _decode(codecs: tuple[str, ...], data: np.ndarray, out: np.ndarray) -> None:
    """Undo the byte codecs (last first) of one chunk file into ``out``; ValueError / RuntimeError when the
    chunk is damaged: a crc32c or zstd checksum mismatch, or a payload of the wrong length."""
    view = data
    for position, name in zip(range(len(codecs) - 1, -1, -1), reversed(codecs), strict=True):
        innermost = position == 0
        if name == "crc32c":
            body = view[
                :-4
            ]  # crc32c.crc32c releases the GIL for buffers over 32 KiB: threads share the reads
            if len(view) < 4 or np.uint32(crc32c.crc32c(body)).tobytes() != bytes(view[-4:]):
                raise ValueError("crc32c checksum mismatch")
            view = body
            continue
        codec = Blosc() if name == "blosc" else Zstd()
        if innermost and name == "blosc" and (size := int(view[4:8].view("<u4")[0])) != out.nbytes:
            raise ValueError(f"{size} bytes where {out.nbytes} were expected")  # blosc header: bytes 4..8
        if innermost:
            codec.decode(view, out=out)
            return
        view = np.frombuffer(codec.decode(view), dtype=np.uint8)
    if len(view) != out.nbytes:
        raise ValueError(f"{len(view)} bytes where {out.nbytes} were expected")
    out.reshape(-1).view(np.uint8)[:] = view


def _read_chunk(reader: ChunkReader, index: int) -> np.ndarray:
    return reader.chunk(index)


_SCRATCH = threading.local()


def _scratch(size: int) -> np.ndarray:
    """A buffer of ``size`` bytes for this thread's compressed chunk, reused from chunk to chunk: a fresh
    multi-MB allocation costs a page fault per 4 KiB where malloc hands large blocks back to the system
    (distributed workers set MALLOC_TRIM_THRESHOLD_), as much as the read itself."""
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _SCRATCH.buffer = np.empty(max(size, 1 << 16), dtype=np.uint8)
    return buffer[:size]


#: Threads that read and decode chunks for calls from the main thread: one per core, made when first needed.
_READ_THREADS = os.cpu_count() or 1
_POOL: list[ThreadPoolExecutor] = []


def _decoding_threads() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(_READ_THREADS, thread_name_prefix="columnminer-read"))
    return _POOL[0]


os.register_at_fork(after_in_child=_POOL.clear)  # a forked child has none of the parent's threads


@dataclass(frozen=True)
class ChunkReader:
    """The committed rows of one store array, chunk by chunk, with the store's integrity guarantees.

    A missing chunk file raises :class:`StoreCorruptError` ("missing"), a damaged one (crc32c or zstd
    checksum mismatch, wrong length, undecodable) :class:`StoreCorruptError` ("corrupt"), both naming the
    chunk and its rows: never fill values as data. For arrays on the local file system whose codecs are
    little-endian bytes followed by blosc, zstd and / or crc32c (every store this package writes), the
    chunk file is read and decoded here, straight into the result, with the GIL released while blosc
    decompresses; anything else goes through zarr. Instances are small and picklable: dask tasks and
    distributed workers read their own chunks.

    Example:
        >>> import tempfile, zarr
        >>> from zarr.codecs import BloscCodec, Crc32cCodec
        >>> a = zarr.create_array(tempfile.mkdtemp() + "/w", shape=(10, 2), chunks=(4, 2), dtype="f8",
        ...                       compressors=[BloscCodec(cname="lz4", shuffle="shuffle"), Crc32cCodec()])
        >>> a[:] = np.arange(20.0).reshape(10, 2)
        >>> reader = ChunkReader.of("s.zarr", "weights", a, 9)  # 9 committed rows
        >>> reader.n_chunks, reader.chunk(2).tolist(), reader.rows(3, 5).tolist()
        (3, [[16.0, 17.0]], [[6.0, 7.0], [8.0, 9.0]])
        >>> isinstance(reader.checksum(0), int)  # the chunk file's crc32c, checked
        True
        >>> reader.to_dask().sum().compute() == np.arange(18.0).sum()
        np.True_
    """

    url: str
    name: str
    n_rows: int
    dtype: np.dtype
    chunk_shape: tuple[int, ...]
    columns: tuple[int, ...]
    key_encoding: Any
    directory: str | None = None
    codecs: tuple[str, ...] = ()
    array: zarr.Array | None = None

    @classmethod
    def of(cls, url: str, name: str, array: zarr.Array, n_rows: int) -> ChunkReader:
        """A reader of the first ``n_rows`` (committed) rows of ``array``, named ``name`` in the store ``url``;
        it holds the zarr array only when zarr must decode (it is then larger to send to workers)."""
        from zarr.storage import LocalStore

        store, codecs, directory = array.store_path.store, _own_codecs(array), None
        if isinstance(store, LocalStore) and codecs is not None:
            directory = os.path.join(str(store.root), array.store_path.path)
        return cls(
            str(url),
            str(name),
            int(n_rows),
            np.dtype(array.dtype),
            tuple(int(n) for n in array.chunks),
            tuple(int(n) for n in array.shape[1:]),
            array.metadata.chunk_key_encoding,
            directory,
            codecs or (),
            None if directory is not None else array,
        )

    @property
    def rows_per_chunk(self) -> int:
        """Rows of every chunk (the last committed one may hold fewer)."""
        return self.chunk_shape[0]

    @property
    def n_chunks(self) -> int:
        """Chunks holding committed rows."""
        return -(-self.n_rows // self.rows_per_chunk)

    def _file(self, index: int) -> tuple[np.ndarray, str, int, int]:
        """The bytes of chunk ``index``'s file (this thread's scratch buffer), its key and committed rows."""
        size = self.rows_per_chunk
        first = int(index) * size
        last = min(first + size, self.n_rows)
        coords = (int(index),) + (0,) * (len(self.chunk_shape) - 1)
        key = self.key_encoding.encode_chunk_key(coords)
        try:  # readinto a reused buffer: 3x faster than read() into a new bytes object
            with open(os.path.join(str(self.directory), *key.split("/")), "rb", buffering=0) as handle:
                data = _scratch(os.fstat(handle.fileno()).st_size)
                if handle.readinto(data) != len(data):
                    raise OSError(f"short read of chunk {key}")
        except FileNotFoundError:
            raise _missing(self.url, self.name, key, first, last) from None
        return data, key, first, last

    def checksum(self, index: int) -> int | None:
        """The crc32c that chunk ``index``'s file ends with, after checking it against the file's bytes (a
        missing or damaged chunk raises :class:`StoreCorruptError`, as :meth:`chunk` does); ``None`` for
        arrays without a trailing crc32c codec or not decoded here. Reads the file but decodes nothing:
        a fingerprint of the chunk's bytes, e.g. to trust numbers computed from them earlier."""
        if self.directory is None or not self.codecs or self.codecs[-1] != "crc32c":
            return None
        data, key, first, last = self._file(index)
        body = data[:-4]
        if len(data) < 4 or np.uint32(crc32c.crc32c(body)).tobytes() != bytes(data[-4:]):
            raise _corrupt(self.url, self.name, key, first, last, ValueError("crc32c checksum mismatch"))
        return int(data[-4:].view("<u4")[0])

    def chunk(self, index: int) -> np.ndarray:
        """The committed rows of chunk ``index`` as a new (writable) array."""
        if self.directory is None:
            first = int(index) * self.rows_per_chunk
            last = min(first + self.rows_per_chunk, self.n_rows)
            return read_checked(self.url, self.name, self.array, slice(first, last), first, last)
        data, key, first, last = self._file(index)
        out = np.empty(self.chunk_shape, dtype=self.dtype)
        try:
            _decode(self.codecs, data, out)
        except Exception as err:
            raise _corrupt(self.url, self.name, key, first, last, err) from err
        return out[: last - first]

    def chunks(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        """:meth:`chunk` of every index, in order. Called from the main thread, the chunks are read and
        decoded on one thread per core, a few at a time (memory: a chunk per core), so that a long read
        uses every core and blosc never runs its own global threads; from any other thread (a dask task)
        they are read right there."""
        indices = [int(i) for i in indices]
        if self.directory is None or threading.current_thread() is not threading.main_thread():
            yield from map(self.chunk, indices)
            return
        pool = _decoding_threads()
        for lo in range(0, len(indices), _READ_THREADS):
            yield from pool.map(self.chunk, indices[lo : lo + _READ_THREADS])

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Committed rows ``start:stop`` (clipped to the committed rows) as one new array."""
        size, stop = self.rows_per_chunk, min(int(stop), self.n_rows)
        start = min(int(start), stop)
        indices = range(start // size, -(-stop // size))
        if len(indices) == 1 and 2 * (stop - start) >= size:  # most of one chunk: no copy
            return next(self.chunks(indices))[start - indices[0] * size : stop - indices[0] * size]
        out = np.empty((stop - start, *self.columns), dtype=self.dtype)
        for index, values in zip(indices, self.chunks(indices), strict=True):
            lo, hi = max(start, index * size), min(stop, (index + 1) * size)
            out[lo - start : hi - start] = values[lo - index * size : hi - index * size]
        return out

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The given committed rows (sorted, unique) as one new array; reads only the chunks they touch."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), *self.columns), dtype=self.dtype)
        if not len(rows):
            return out
        size = self.rows_per_chunk
        chunks = rows // size
        bounds = np.flatnonzero(np.diff(chunks)) + 1
        starts, stops = [0, *bounds], [*bounds, len(rows)]
        indices = [int(chunks[lo]) for lo in starts]
        for lo, hi, index, values in zip(starts, stops, indices, self.chunks(indices), strict=True):
            out[lo:hi] = values[rows[lo:hi] - index * size]
        return out

    def to_dask(self) -> Any:
        """The committed rows as a dask array, one task (:meth:`chunk`) per chunk."""
        import dask.array as da
        from dask.base import tokenize

        shape, dtype = self.columns, self.dtype
        if self.n_rows == 0:
            return da.from_array(np.empty((0, *shape), dtype=dtype))
        size = self.rows_per_chunk
        layout = (self.directory, self.codecs, self.chunk_shape, str(dtype), id(self.array))
        name = f"store-{self.name.replace('/', '-')}-" + tokenize(self.url, self.name, self.n_rows, *layout)
        tail = (0,) * len(shape)
        graph = {(name, i, *tail): (_read_chunk, self, i) for i in range(self.n_chunks)}
        rows = tuple(min(size, self.n_rows - i * size) for i in range(self.n_chunks))
        chunks = (rows, *((n,) for n in shape))
        return da.Array(graph, name, chunks, dtype=dtype, meta=np.empty((0,) * (1 + len(shape)), dtype=dtype))


def _require(url: str, ok: bool, field: str, value: Any, expected: str) -> None:
    if not ok:
        raise StoreCorruptError(
            f"{url}/zarr.json: attribute '{field}' = {value!r} is impossible ({expected})"
        )


def check_attributes(url: str, attrs: Mapping[str, Any]) -> None:
    """Raise :class:`StoreCorruptError` naming the field when the store's attributes hold impossible values.

    Example:
        >>> check_attributes("s.zarr", {"n_events": -5, "chunk_size": 10, "observables": []})
        Traceback (most recent call last):
        ...
        columnminer.errors.StoreCorruptError: s.zarr/zarr.json: attribute 'n_events' = -5 is impossible ...
    """

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    for field in ("n_events", "chunk_size", "observables"):
        _require(url, field in attrs, field, None, "the attribute is missing")
    _require(url, is_int(attrs["n_events"]) and attrs["n_events"] >= 0, "n_events", attrs["n_events"], ">= 0")
    _require(
        url,
        is_int(attrs["chunk_size"]) and attrs["chunk_size"] >= 1,
        "chunk_size",
        attrs["chunk_size"],
        ">= 1",
    )
    observables = attrs["observables"]
    _require(
        url,
        isinstance(observables, list) and all(isinstance(o, str) for o in observables),
        "observables",
        observables,
        "a list of names",
    )
    samples = attrs.get("samples", [])
    _require(
        url,
        isinstance(samples, list) and all(isinstance(s, Mapping) for s in samples),
        "samples",
        samples,
        "a list of records",
    )
    for item in samples:
        ok = is_int(item.get("start")) and is_int(item.get("stop")) and 0 <= item["start"] <= item["stop"]
        ok = ok and item["stop"] <= attrs["n_events"]
        _require(url, ok, "samples", item, "rows within the committed events")
    partitions = attrs.get("partitions")
    ok = isinstance(partitions, Mapping) and isinstance(partitions.get("fractions"), Mapping)
    _require(url, ok, "partitions", partitions, "fractions per partition and a seed")
    generation = attrs.get("generation", 0)
    _require(url, is_int(generation) and generation >= 0, "generation", generation, ">= 0")
