"""Integrity of an event store: committed chunks present and intact, metadata with possible values."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import zarr

from ..errors import ColumnMinerError, StoreCorruptError

__all__ = ["check_attributes", "chunk_keys", "read_checked", "require_chunks", "verify_array"]

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
            last = min(first + int(array.chunks[0]), int(array.shape[0]))
            raise StoreCorruptError(
                f"{url}: chunk '{name}/{key}' (rows {first}..{last}) of committed data is missing; the store is "
                "damaged (run `columnminer inspect --verify`)"
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
                raise StoreCorruptError(
                    f"{url}: chunk '{name}/{key}' (rows {first}..{last}) is corrupt: "
                    f"{type(chunk_err).__name__}: {chunk_err}"
                ) from chunk_err
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
