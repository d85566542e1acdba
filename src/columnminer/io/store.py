"""EventStore: observables and per-benchmark weights of many events in one zarr v3 group, chunk by chunk."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numba
import numpy as np
import zarr

from .._version import __version__
from ..errors import (
    DuplicateSourceError,
    IncompleteStoreError,
    SetupFormatError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StoreMismatchError,
)
from ..setup import AnalysisSetup
from .provenance import overlapping, source_file_key, source_range
from .store_integrity import ChunkReader, check_attributes, read_checked, verify_array
from .store_lock import StoreLock, current_writer, describe_holder, local_path
from .store_moments import moments_entries, record_moments

__all__ = ["ARRAYS", "CODEC", "PARTITIONS", "EventStore", "partition_mask", "setup_difference"]

logger = logging.getLogger(__name__)

STORE_SCHEMA = "columnminer.store"
STORE_SCHEMA_VERSION = 1
#: Default seconds a writer waits for another writer of the same store to finish.
LOCK_TIMEOUT = 120.0
_METADATA_ERRORS = (json.JSONDecodeError, UnicodeDecodeError, ValueError, TypeError, KeyError)
#: The per-event arrays of a store: name -> dtype.
ARRAYS = {
    "observables": np.dtype("float64"),
    "weights": np.dtype("float64"),
    "nuisance_weights": np.dtype("float64"),
    "sampled_from": np.dtype("int16"),
}
#: Partition names, in the order their fractions are given.
PARTITIONS = ("train", "validation", "test")


def setup_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """A short description of how two setup dicts differ (``None`` when they describe the same setup).

    Example:
        >>> setup_difference({"benchmarks": [{"name": "sm"}]}, {"benchmarks": [{"name": "bsm"}]})
        "benchmarks differ: only in the first ['sm'], only in the second ['bsm']"
    """
    for key in ("parameters", "benchmarks"):
        names_a = [item.get("name") for item in a.get(key, [])]
        names_b = [item.get("name") for item in b.get(key, [])]
        if names_a != names_b:
            only_a = [n for n in names_a if n not in names_b]
            only_b = [n for n in names_b if n not in names_a]
            if not only_a and not only_b:
                return f"{key} differ in order: {names_a} vs {names_b}"
            return f"{key} differ: only in the first {only_a}, only in the second {only_b}"
        for item_a, item_b in zip(a.get(key, []), b.get(key, []), strict=True):
            if item_a != item_b:
                return f"{key[:-1]} {item_a.get('name')!r} differs: {item_a} vs {item_b}"
    for key in ("morphing", "systematics"):
        if a.get(key) != b.get(key):
            return f"{key} setups differ"
    return None


_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1, _MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


@numba.njit(nogil=True, cache=True)
def _hash_in_range(start, seed, low, high, out):  # pragma: no cover - compiled; tested through partition_mask
    """out[i] = low <= splitmix64((start + i) ^ seed) >> 11 < high (wrapping uint64 arithmetic)."""
    for i in range(out.shape[0]):
        z = (np.uint64(start + i) ^ seed) + _GOLDEN_GAMMA
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
        m = (z ^ (z >> np.uint64(31))) >> np.uint64(11)
        out[i] = low <= m and m < high


def partition_mask(spec: Mapping[str, Any], partition: str, start: int, stop: int) -> np.ndarray:
    """Which of the event indices ``start:stop`` belong to ``partition``, for a partition ``spec``
    ``{"fractions": {"train": f, "validation": f, "test": f}, "seed": s}``.

    Event i goes to the partition whose cumulative-fraction interval holds u_i = hash(seed, i) / 2^64
    (splitmix64): deterministic, independent of chunking and of the number of events.

    Example:
        >>> spec = {"fractions": {"train": 0.5, "validation": 0.0, "test": 0.5}, "seed": 0}
        >>> int(partition_mask(spec, "train", 0, 1000).sum() + partition_mask(spec, "test", 0, 1000).sum())
        1000
    """
    if partition not in PARTITIONS:
        raise KeyError(f"unknown partition {partition!r}; partitions are {list(PARTITIONS)}")
    fractions = np.array([spec["fractions"][p] for p in PARTITIONS])
    edges = np.concatenate([[0.0], np.cumsum(fractions)])
    k = PARTITIONS.index(partition)
    upper = 1.0 if k == len(PARTITIONS) - 1 else edges[k + 1]
    # u_i = m_i / 2^53 with the integer m_i = hash >> 11, so u_i in [a, b) <=> m_i in [ceil(a 2^53), ceil(b 2^53))
    # (a 2^53 is exact): integer comparisons; the splitmix64 finaliser (Steele, Lea and Flood, OOPSLA 2014)
    # of each index in one compiled loop (0.03 ms per 10^5 events, against 0.3 ms for numpy's array steps)
    inside = np.empty(max(int(stop) - int(start), 0), dtype=np.bool_)
    seed = np.uint64(int(spec["seed"]) * 0x632BE59BD9B4E019 % 2**64)
    low, high = (np.uint64(math.ceil(float(edge) * 2.0**53)) for edge in (edges[k], upper))
    _hash_in_range(int(start), seed, low, high, inside)
    return inside


def _nuisance_columns(url: str, setup: AnalysisSetup, columns: Sequence[str] | None) -> list[str]:
    """The store's nuisance columns: the setup's by default; with systematics, exactly the setup's."""
    expected = setup.nuisance_benchmark_names
    if columns is None:
        return expected
    columns = [str(name) for name in columns]
    if expected and columns != expected:
        raise StoreMismatchError(
            f"{url}: the nuisance benchmarks {columns} differ from those of the setup's systematics {expected}"
        )
    return columns


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


#: Attributes that only the store itself writes.
_RESERVED = (
    "columnminer",
    "store_schema",
    "store_schema_version",
    "setup",
    "observables",
    "nuisance_benchmarks",
    "chunk_size",
    "n_events",
    "generation",
    "writer",
    "pending",
    "samples",
    "partitions",
    "codec",
)

#: How the arrays of new stores are compressed, and why (recorded in every new store's ``codec`` attribute).
#: Measured by ``benchmarks/reductions.py`` on 100,000-row chunks of weights and observables, one thread
#: (decode / encode throughput, compressed size / raw size). Event weights and kinematics are floats with
#: random mantissas: no codec shrinks them much, and a slow one caps every pass over the events.
#:
#: ================================  ==========  ==============  ===============
#: codec                             size / raw  decode GB/s     encode GB/s
#: ================================  ==========  ==============  ===============
#: zstd level 0 + checksum (before)  0.79-0.95   0.6-1.3         0.1-0.5
#: blosc zstd 1, byte shuffle        0.78-0.95   0.3-0.4         0.1-0.3
#: blosc lz4 5, byte shuffle         0.89-1.00   8-40            0.7-11
#: ================================  ==========  ==============  ===============
#:
#: blosc lz4 with byte shuffle costs 5-12 % more disk than zstd and decodes 10-50x faster, with the GIL
#: released (zarr's zstd holds it, so threads could not share the work). blosc has no checksum of its own:
#: a crc32c of every compressed chunk (26 GB/s) keeps a damaged chunk an error, never wrong numbers.
CODEC = {
    "compressors": "blosc lz4 clevel 5 byte-shuffle, then crc32c",
    "reason": "decode 8-40 GB/s per thread with the GIL released (zstd level 0: 0.6-1.3 GB/s holding it), "
    "size 0.89-1.00 of raw (zstd: 0.79-0.95); the crc32c detects any damaged chunk",
}


def _compressors() -> list[Any]:
    """blosc lz4 with byte shuffle, then crc32c: fast to decode, and a damaged chunk fails its checksum
    instead of giving wrong numbers (stores written before with zstd + checksum read as they are)."""
    from zarr.codecs import BloscCodec, Crc32cCodec

    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), Crc32cCodec()]


def _open_group(url: str, mode: str) -> zarr.Group:
    """Open a store's root group; missing or unreadable metadata become columnminer errors naming the file."""
    try:
        return zarr.open_group(url, mode=mode)
    except (
        FileNotFoundError,
        zarr.errors.GroupNotFoundError,
        zarr.errors.NodeTypeValidationError,
    ) as err:
        raise StoreError(f"{url}: no event store found ({type(err).__name__}: {err})") from err
    except _METADATA_ERRORS as err:
        raise StoreCorruptError(
            f"{url}/zarr.json: unreadable store metadata ({type(err).__name__}: {err})"
        ) from err
    except OSError as err:
        raise StoreError(f"{url}: cannot open the store: {err}") from err


class EventStore:
    """Events of one analysis in a zarr v3 group (local directory or any fsspec URL).

    Arrays (rows are events, chunked along events; columns in setup order):
    ``observables`` float64 [n, n_observables], ``weights`` float64 [n, n_benchmarks] in pb per event,
    ``nuisance_weights`` float64 [n, n_nuisance_benchmarks] (when the setup has some), ``sampled_from``
    int16 [n] (benchmark index, -1 for background). Attributes hold the setup, the observable names, the
    provenance of every appended source, the partition definition and ``n_events``, the number of
    committed rows.

    Crash safety: every chunk file is written atomically by zarr, an append records what it is about to
    write (``pending``) before touching the arrays and commits ``n_events`` only after all arrays are
    written. Rows past ``n_events`` are never read; a store whose writer died reports the interrupted
    append in :attr:`incomplete` and is completed by :meth:`repair` or simply by appending again.

    One writer at a time: every write takes the store's :class:`~columnminer.io.store_lock.StoreLock`
    (waiting up to ``lock_timeout`` seconds for another writer, then
    :class:`~columnminer.errors.StoreLockedError` naming it) and re-reads the metadata from disk first, so
    rows acknowledged to concurrent writers are never overwritten. :meth:`writing` holds the lock over many
    appends (a whole analysis run).

    Identity: an append whose ``source`` names an input file by content (``{"file": file_identity(path),
    "events": [start, stop], ...}``, :mod:`columnminer.io.provenance`) is refused with
    :class:`~columnminer.errors.DuplicateSourceError` if any of its events is already in the store.

    Integrity: arrays are compressed with blosc (lz4, byte shuffle) followed by a crc32c of every chunk
    (:data:`CODEC`; stores written before with zstd and its content checksum read as they are); reading
    committed rows whose chunk is missing or fails its checksum raises
    :class:`~columnminer.errors.StoreCorruptError` naming the chunk (never fill values as data);
    :meth:`verify` checks every chunk.

    Opening: :meth:`create` makes a new, writable store; :meth:`open` opens an existing one read-only by
    default (``mode="r"``) -- to append or draw samples into it, open it with
    ``EventStore.open(path, mode="a")``.

    Partitions: every event index is assigned to train / validation / test by a fixed hash of (seed,
    index), so the split is deterministic, independent of chunking, and stable when events are appended.

    Example:
        >>> import tempfile, numpy as np
        >>> from columnminer.demo import golden_channel_setup
        >>> setup = golden_channel_setup()
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", setup, ["m4l"], chunk_size=4)
        >>> store.append(np.ones((6, 1)), np.ones((6, 6)), np.zeros(6, dtype=np.int16), source="demo")
        (0, 6)
        >>> store.n_events, store.read("weights").shape
        (6, (6, 6))
    """

    def __init__(
        self, group: zarr.Group, url: str, writable: bool, lock_timeout: float = LOCK_TIMEOUT
    ) -> None:
        self._group = group
        self.url = url
        self._writable = writable
        self._lock = StoreLock(url, timeout=lock_timeout, holder=self._disk_writer)
        attrs = group.attrs.asdict()
        if attrs.get("store_schema") != STORE_SCHEMA:
            raise StoreError(f"{url}: not a columnminer event store (no '{STORE_SCHEMA}' schema attribute)")
        if int(attrs.get("store_schema_version", 0)) > STORE_SCHEMA_VERSION:
            raise StoreError(
                f"{url}: written with store schema version {attrs['store_schema_version']}; this columnminer "
                f"{__version__} reads up to {STORE_SCHEMA_VERSION}: upgrade columnminer"
            )
        try:
            self.setup = AnalysisSetup.from_dict(attrs["setup"], source=f"{url} (attribute 'setup')")
        except KeyError:
            raise StoreError(f"{url}: the store has no 'setup' attribute") from None
        except SetupFormatError as err:
            raise StoreError(str(err)) from err
        check_attributes(url, attrs)
        self._attrs = attrs
        self._readers: dict[str, ChunkReader] = {}
        self._moments: tuple[int, dict[int, tuple[int, np.ndarray, np.ndarray]]] | None = None
        self._check_arrays()

    # -- creation and opening -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        url: str,
        setup: AnalysisSetup,
        observables: Sequence[str],
        chunk_size: int = 100_000,
        nuisance_benchmarks: Sequence[str] | None = None,
        partition_fractions: Sequence[float] = (0.8, 0.1, 0.1),
        partition_seed: int = 0,
        overwrite: bool = False,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> EventStore:
        """Create an empty store for ``setup`` with the given observable columns.

        ``partition_fractions`` are the train / validation / test fractions (they must sum to 1).
        ``nuisance_benchmarks`` (the ``nuisance_weights`` columns) default to the setup's
        :attr:`~columnminer.setup.AnalysisSetup.nuisance_benchmark_names`; when the setup has systematics
        they must be exactly those (a setup without systematics allows free-form columns).
        An existing store at ``url`` is an error unless ``overwrite``.
        """
        url = str(url)
        nuisance_benchmarks = _nuisance_columns(url, setup, nuisance_benchmarks)
        observables = [str(name) for name in observables]
        if len(set(observables)) != len(observables):
            raise StoreMismatchError(f"{url}: duplicate observable names in {observables}")
        fractions = [float(f) for f in partition_fractions]
        if len(fractions) != 3 or min(fractions) < 0 or not math.isclose(sum(fractions), 1.0):
            raise StoreMismatchError(
                f"{url}: partition_fractions must be three non-negative numbers summing to 1"
            )
        if int(chunk_size) < 1:
            raise StoreMismatchError(f"{url}: chunk_size must be positive, got {chunk_size}")
        try:
            group = zarr.open_group(url, mode="w" if overwrite else "w-")
        except (FileExistsError, zarr.errors.ContainsGroupError, zarr.errors.ContainsArrayError) as err:
            raise StoreError(
                f"{url}: a store already exists there (pass overwrite=True to replace it)"
            ) from err
        columns = {
            "observables": len(observables),
            "weights": setup.parameter_space.n_benchmarks,
            "sampled_from": None,
        }
        if nuisance_benchmarks:
            columns["nuisance_weights"] = len(nuisance_benchmarks)
        for name, n_columns in columns.items():
            shape = (0,) if n_columns is None else (0, n_columns)
            chunks = (int(chunk_size),) if n_columns is None else (int(chunk_size), max(n_columns, 1))
            fill = -2 if name == "sampled_from" else np.nan
            group.create_array(
                name,
                shape=shape,
                chunks=chunks,
                dtype=ARRAYS[name],
                fill_value=fill,
                compressors=_compressors(),
            )
        group.update_attributes(
            {
                "columnminer": __version__,
                "store_schema": STORE_SCHEMA,
                "store_schema_version": STORE_SCHEMA_VERSION,
                "setup": setup.to_dict(),
                "observables": observables,
                "nuisance_benchmarks": [str(n) for n in nuisance_benchmarks],
                "chunk_size": int(chunk_size),
                "n_events": 0,
                "generation": 0,
                "writer": None,
                "pending": None,
                "samples": [],
                "partitions": {
                    "fractions": dict(zip(PARTITIONS, fractions, strict=True)),
                    "seed": int(partition_seed),
                },
                "codec": dict(CODEC),
            }
        )
        return cls(group, url, writable=True, lock_timeout=lock_timeout)

    @classmethod
    def open(
        cls,
        url: str,
        mode: str = "r",
        setup: AnalysisSetup | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> EventStore:
        """Open an existing store; with ``setup``, insist that it was written for it.

        Modes: ``"r"`` (the default) opens it read-only: reading, sampling views, :meth:`verify`; any write
        (:meth:`append`, drawing or analysing samples into it, :meth:`repair`) raises
        :class:`~columnminer.errors.StoreError` saying how to reopen it. ``"a"`` opens it for reading and
        appending (``EventStore.open(path, mode="a")``); writes take the store's lock. There is no ``"w"``:
        :meth:`create` makes a new store.

        A store with unreadable metadata raises :class:`~columnminer.errors.StoreCorruptError` naming the file.

        Example:
            >>> import tempfile, numpy as np
            >>> from columnminer.demo import golden_channel_setup
            >>> path = tempfile.mkdtemp() + "/s.zarr"
            >>> _ = EventStore.create(path, golden_channel_setup(), ["m4l"])
            >>> EventStore.open(path).writable, EventStore.open(path, mode="a").writable
            (False, True)
        """
        url = str(url)
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', got {mode!r}")
        group = _open_group(url, "r+" if mode == "a" else "r")
        store = cls(group, url, writable=mode == "a", lock_timeout=lock_timeout)
        if setup is not None:
            difference = setup_difference(store.setup.to_dict(), setup.to_dict())
            if difference is not None:
                raise StoreMismatchError(f"{url}: the store was written with another setup: {difference}")
        if store.incomplete is not None:
            logger.warning("%s: %s", url, store.incomplete["message"])
        return store

    def _check_arrays(self) -> None:
        """Every array exists with the right dtype, column count and at least ``n_events`` rows."""
        expected = {
            "observables": len(self.observable_names),
            "weights": self.setup.parameter_space.n_benchmarks,
            "sampled_from": None,
        }
        if self.nuisance_benchmark_names:
            expected["nuisance_weights"] = len(self.nuisance_benchmark_names)
        _nuisance_columns(self.url, self.setup, self.nuisance_benchmark_names)
        n_events = self.n_events
        for name, n_columns in expected.items():
            try:
                array = self._group[name]
            except KeyError:
                raise StoreError(f"{self.url}: array '{name}' is missing") from None
            except _METADATA_ERRORS as err:
                raise StoreCorruptError(
                    f"{self.url}/{name}/zarr.json: unreadable array metadata ({type(err).__name__}: {err})"
                ) from err
            if array.dtype != ARRAYS[name]:
                raise StoreMismatchError(
                    f"{self.url}: array '{name}' has dtype {array.dtype}, expected {ARRAYS[name]}"
                )
            if n_columns is not None and (array.ndim != 2 or array.shape[1] != n_columns):
                raise StoreMismatchError(
                    f"{self.url}: array '{name}' has shape {array.shape}, expected [n_events, {n_columns}]"
                )
            if array.shape[0] < n_events:
                raise StoreError(
                    f"{self.url}: array '{name}' has {array.shape[0]} rows but {n_events} events are committed: "
                    "the store is truncated"
                )

    # -- metadata -------------------------------------------------------------------------------------
    @property
    def observable_names(self) -> list[str]:
        return list(self._attrs["observables"])

    @property
    def benchmark_names(self) -> list[str]:
        return self.setup.benchmark_names

    @property
    def nuisance_benchmark_names(self) -> list[str]:
        return list(self._attrs.get("nuisance_benchmarks", []))

    @property
    def n_events(self) -> int:
        """Number of committed events (rows beyond it belong to an interrupted append and are ignored)."""
        return int(self._attrs["n_events"])

    @property
    def partition_spec(self) -> dict[str, Any]:
        """The partition definition: fractions per partition and the hash seed."""
        return dict(self._attrs["partitions"])

    @property
    def chunk_size(self) -> int:
        return int(self._attrs["chunk_size"])

    @property
    def sources(self) -> list[dict[str, Any]]:
        """Provenance of every committed append: source, rows, time."""
        return [dict(item) for item in self._attrs.get("samples", [])]

    @property
    def incomplete(self) -> dict[str, Any] | None:
        """``None``, or a description of the append that was interrupted (rows, source, message)."""
        pending = self._attrs.get("pending")
        if not pending:
            return None
        return {
            **pending,
            "message": (
                f"an append of rows {pending['start']}..{pending['stop']} (source {pending.get('source')!r}) was "
                f"interrupted; the store holds the {self.n_events} complete events before it. Call repair() or "
                "append that source again."
            ),
        }

    def has_source(self, source: Any) -> bool:
        """Whether an append with this ``source`` was committed (lets reruns skip finished work)."""
        return any(item.get("source") == source for item in self._attrs.get("samples", []))

    def committed_ranges(self, file_key: str) -> list[tuple[int, int, dict[str, Any]]]:
        """``(start, stop, source)`` of every committed append holding events of the file with this content
        key (:func:`columnminer.io.provenance.file_key`), in commit order."""
        out = []
        for item in self._attrs.get("samples", []):
            source = item.get("source")
            if source_file_key(source) == file_key:
                start, stop = source_range(source)
                out.append((start, stop, source))
        return out

    @property
    def writable(self) -> bool:
        """Whether the store was opened for writing (``mode="a"`` or created)."""
        return self._writable

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the store's attributes (setup, provenance, partitions, user metadata...)."""
        return json.loads(json.dumps(self._attrs))

    @property
    def generation(self) -> int:
        """Commit counter: incremented by every committed write (appends, metadata updates, samples)."""
        return int(self._attrs.get("generation", 0))

    def _disk_writer(self) -> dict[str, Any] | None:
        return _open_group(self.url, "r").attrs.asdict().get("writer")

    def _refresh(self) -> None:
        """Re-read the metadata from disk (another writer may have committed since this object read it)."""
        group = _open_group(self.url, "r+" if self._writable else "r")
        attrs = group.attrs.asdict()
        check_attributes(self.url, attrs)
        self._group = group
        self._attrs = attrs
        self._readers = {}
        self._moments = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[EventStore]:
        """Hold the store's writer lock for a block of writes (reentrant), with fresh metadata.

        Other writers wait (up to ``lock_timeout``) or get :class:`~columnminer.errors.StoreLockedError`. A
        lock left by a writer that died is taken over with a warning naming it.

        Example:
            >>> import tempfile, numpy as np
            >>> from columnminer.demo import golden_channel_setup
            >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", golden_channel_setup(), ["m4l"])
            >>> with store.writing():
            ...     _ = store.append(np.ones((2, 1)), np.ones((2, 6)), 0)
            ...     _ = store.append(np.ones((3, 1)), np.ones((3, 6)), 0)
            >>> store.n_events
            5
        """
        self._require_writable()
        outermost = self._lock.depth == 0
        self._lock.acquire()
        try:
            if outermost:
                self._refresh()
                stale = self._attrs.get("writer")
                if stale:
                    logger.warning(
                        "%s: took over the writer lock left by %s, which died without releasing it",
                        self.url,
                        describe_holder(stale),
                    )
                self._update_attrs(writer=current_writer())
            yield self
        finally:
            try:
                if outermost:
                    self._update_attrs(writer=None)
            finally:
                self._lock.release()

    def update_metadata(self, **values: Any) -> None:
        """Set attributes of the store (JSON values), under the writer lock, in one metadata write.

        The store's own keys (setup, observables, provenance, counters...) cannot be set this way.
        """
        reserved = set(_RESERVED) & set(values)
        if reserved:
            raise StoreError(f"{self.url}: attributes {sorted(reserved)} are managed by the store itself")
        with self.writing():
            self._commit(**values)

    def _update_attrs(self, **values: Any) -> None:
        # One metadata write for all keys: zarr's attrs.update() writes zarr.json once per key, so a kill
        # between two keys could commit n_events without its provenance.
        try:
            self._group.update_attributes(values)
        except OSError as err:
            raise StoreError(f"{self.url}: writing the store's metadata failed: {err}") from err
        self._attrs.update(values)

    def _commit(self, **values: Any) -> None:
        """One metadata write that also advances the commit counter; checks that no other writer committed
        meanwhile (the only guard for stores the file lock cannot cover, such as object stores)."""
        if local_path(self.url) is None:
            on_disk = int(_open_group(self.url, "r").attrs.asdict().get("generation", 0))
            if on_disk != self.generation:
                raise StoreLockedError(
                    f"{self.url}: another writer committed to the store during this write (commit {on_disk}, "
                    f"expected {self.generation}); nothing of this write was committed"
                )
        self._update_attrs(generation=self.generation + 1, **values)

    # -- writing --------------------------------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self._writable:
            raise StoreError(
                f"{self.url}: opened read-only (EventStore.open's default mode 'r'); to write to it, open it "
                f'with EventStore.open({self.url!r}, mode="a")'
            )

    def _check_new_source(self, source: Any) -> None:
        if source is None:
            return
        if self.has_source(source):
            raise DuplicateSourceError(f"{self.url}: source {source!r} was already appended")
        key = source_file_key(source)
        span = source_range(source)
        if key is None or span is None:
            return
        committed = self.committed_ranges(key)
        clash = overlapping([(a, b) for a, b, _ in committed], *span)
        if clash:
            path = source["file"].get("path")
            raise DuplicateSourceError(
                f"{self.url}: events {span[0]}..{span[1]} of {path} overlap events {clash} of the same file "
                "already in the store; nothing was written"
            )

    def append(
        self,
        observables: np.ndarray,
        weights: np.ndarray,
        sampled_from: np.ndarray | int,
        nuisance_weights: np.ndarray | None = None,
        source: Any = None,
    ) -> tuple[int, int]:
        """Append events under the writer lock; returns their row range (start, stop).

        ``observables`` [n, n_observables], ``weights`` [n, n_benchmarks] (pb), ``sampled_from`` [n] or one
        benchmark index for all, ``nuisance_weights`` [n, n_nuisance_benchmarks] when the store has them.
        ``source`` (any JSON value) is kept as provenance (``None``: none is recorded); appending a source
        that is already committed, or one naming events of an input file that the store already holds
        (see the class docstring), raises :class:`~columnminer.errors.DuplicateSourceError`. Non-finite
        weights are rejected, naming the column and the first bad event. An interrupted earlier append is
        repaired first. A failing write (disk full...) raises :class:`~columnminer.errors.StoreError`
        naming the store; the committed events are untouched.
        """
        self._require_writable()
        data = self._validated(observables, weights, sampled_from, nuisance_weights)
        n = data["weights"].shape[0]
        with self.writing():
            self._check_new_source(source)
            if self.incomplete is not None:
                self.repair()
            start = self.n_events
            stop = start + n
            self._update_attrs(pending={"start": start, "stop": stop, "source": source, "time": _now()})
            try:
                for name, values in data.items():
                    array = self._group[name]
                    array.resize((stop, *array.shape[1:]))
                    array.with_config({"write_empty_chunks": True})[start:stop] = values
                self._record_moments(start, stop)
            except OSError as err:
                raise StoreError(
                    f"{self.url}: writing rows {start}..{stop} of '{name}' failed ({err}); the store still holds "
                    f"its {start} committed events"
                ) from err
            commit: dict[str, Any] = {"n_events": stop, "pending": None}
            if source is not None:
                entry = {"source": source, "start": start, "stop": stop, "time": _now()}
                commit["samples"] = [*self._attrs.get("samples", []), entry]
            self._commit(**commit)
        logger.debug("%s: appended rows %d..%d from %r", self.url, start, stop, source)
        return start, stop

    def _record_moments(self, start: int, stop: int) -> None:
        """Record the weight moments of the chunks holding rows ``start:stop`` (written, not yet committed;
        :mod:`columnminer.io.store_moments`)."""
        if stop > start:
            array = self._group["weights"]
            reader = ChunkReader.of(self.url, "weights", array, stop)
            size = reader.rows_per_chunk
            record_moments(array, reader, range(start // size, -(-stop // size)))

    def weight_moment_entries(self) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
        """The recorded weight moments ``{chunk: (crc32c, sums [B], gram [B, B])}`` of the chunks whose
        entry matches their committed rows (:func:`~columnminer.io.store_moments.moments_entries`; the
        crc32c is to be checked against the chunk file before the numbers are used). Empty for stores
        written without them.

        Example:
            >>> import tempfile
            >>> from columnminer.demo import golden_channel_setup
            >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", golden_channel_setup(), ["x"],
            ...                           chunk_size=4)
            >>> _ = store.append(np.ones((6, 1)), np.ones((6, 6)), 0)
            >>> {chunk: sums.tolist() for chunk, (_, sums, _) in store.weight_moment_entries().items()}
            {0: [4.0, 4.0, 4.0, 4.0, 4.0, 4.0], 1: [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]}
        """
        if self._moments is None or self._moments[0] != self.n_events:
            attributes = self._array("weights").attrs.asdict()
            self._moments = (self.n_events, moments_entries(attributes, self.chunk_reader("weights")))
        return self._moments[1]

    def _validated(self, observables, weights, sampled_from, nuisance_weights) -> dict[str, np.ndarray]:
        weights = np.asarray(weights, dtype=np.float64)
        n_benchmarks = self.setup.parameter_space.n_benchmarks
        if weights.ndim != 2 or weights.shape[1] != n_benchmarks:
            raise StoreMismatchError(
                f"{self.url}: weights must have shape [n_events, {n_benchmarks}] (benchmarks "
                f"{self.benchmark_names}), got {weights.shape}"
            )
        n = weights.shape[0]
        observables = np.asarray(observables, dtype=np.float64)
        if observables.shape != (n, len(self.observable_names)):
            raise StoreMismatchError(
                f"{self.url}: observables must have shape [{n}, {len(self.observable_names)}] "
                f"({self.observable_names}), got {observables.shape}"
            )
        sampled = np.asarray(sampled_from)
        if sampled.ndim == 0:
            sampled = np.full(n, int(sampled))
        if sampled.shape != (n,) or not np.issubdtype(sampled.dtype, np.integer):
            raise StoreMismatchError(
                f"{self.url}: sampled_from must be {n} integers, got {sampled.dtype} {sampled.shape}"
            )
        if n and (sampled.min() < -1 or sampled.max() >= n_benchmarks):
            raise StoreMismatchError(
                f"{self.url}: sampled_from must be a benchmark index or -1 for background"
            )
        data = {"observables": observables, "weights": weights, "sampled_from": sampled.astype(np.int16)}
        if self.nuisance_benchmark_names:
            if nuisance_weights is None:
                raise StoreMismatchError(f"{self.url}: nuisance_weights are required by this store")
            nuisance = np.asarray(nuisance_weights, dtype=np.float64)
            if nuisance.shape != (n, len(self.nuisance_benchmark_names)):
                raise StoreMismatchError(
                    f"{self.url}: nuisance_weights must have shape [{n}, {len(self.nuisance_benchmark_names)}], "
                    f"got {nuisance.shape}"
                )
            data["nuisance_weights"] = nuisance
        elif nuisance_weights is not None:
            raise StoreMismatchError(f"{self.url}: this store has no nuisance benchmarks")
        for name, columns in (
            ("weights", self.benchmark_names),
            ("nuisance_weights", self.nuisance_benchmark_names),
        ):
            if name in data:
                bad = ~np.isfinite(data[name])
                if bad.any():
                    event, column = np.argwhere(bad)[0]
                    raise StoreMismatchError(
                        f"{self.url}: non-finite {name} for benchmark {columns[column]!r} in event {event} of the "
                        "appended chunk"
                    )
        return data

    def repair(self) -> None:
        """Forget an interrupted append: shrink the arrays back to the committed ``n_events``."""
        self._require_writable()
        with self.writing():
            n_events = self.n_events
            for name in ARRAYS:
                if name in self._group:
                    array = self._group[name]
                    if array.shape[0] != n_events:
                        array.resize((n_events, *array.shape[1:]))
            if self._attrs.get("pending"):
                logger.info("%s: discarded the interrupted append %s", self.url, self._attrs["pending"])
            self._update_attrs(pending=None)

    # -- reading --------------------------------------------------------------------------------------
    def _array(self, name: str) -> zarr.Array:
        if name not in ARRAYS:
            raise KeyError(f"unknown store array {name!r}; arrays are {list(ARRAYS)}")
        if name not in self._group:
            raise StoreError(f"{self.url}: the store has no '{name}' array")
        return self._group[name]

    def chunk_reader(self, name: str) -> ChunkReader:
        """A :class:`~columnminer.io.store_integrity.ChunkReader` of one array's committed rows: what
        :meth:`read`, :meth:`read_rows` and :meth:`to_dask` read through (chunk by chunk, checked, decoded
        without zarr for local stores).

        Example:
            >>> from columnminer._examples import golden_quadratic_store
            >>> reader = golden_quadratic_store().chunk_reader("weights")  # 4 events in chunks of 2
            >>> reader.n_chunks, reader.chunk(1).shape
            (2, (2, 6))
        """
        layout = self._readers.get(name)
        if layout is None:
            layout = ChunkReader.of(self.url, name, self._array(name), 0)
            if layout.array is not None:  # zarr decodes: a fresh array (its shape grows with appends)
                return replace(layout, n_rows=self.n_events)
            self._readers[name] = layout  # chunk layout, codecs and file location never change
        return replace(layout, n_rows=self.n_events)

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` (committed rows only) of one array as numpy."""
        stop = self.n_events if stop is None else min(int(stop), self.n_events)
        return self.chunk_reader(name).rows(int(start), stop)

    def read_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """The given (committed) rows of one array, in the order given; reads only the chunks they touch."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_events):
            raise IndexError(f"{self.url}: rows must lie in 0..{self.n_events - 1}")
        unique, inverse = np.unique(rows, return_inverse=True)
        return self.chunk_reader(name).take(unique)[inverse]

    def to_dask(self, name: str) -> Any:
        """One array (committed rows) as a dask array whose chunks are the zarr chunks (one read task each)."""
        return self.chunk_reader(name).to_dask()

    def iter_chunks(
        self,
        names: Sequence[str] = ("weights",),
        start: int = 0,
        stop: int | None = None,
        step: int | None = None,
    ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Yield ``(first_row, {name: rows})`` over committed rows, ``step`` rows (default: the chunk size)
        at a time, aligned with the zarr chunks when ``step`` is a multiple of the chunk size."""
        stop = self.n_events if stop is None else min(int(stop), self.n_events)
        step = self.chunk_size if step is None else int(step)
        for first in range(int(start), stop, step):
            last = min(first + step, stop)
            yield first, {name: self.read(name, first, last) for name in names}

    def verify(self) -> list[str]:
        """Check every committed chunk of every array (present, checksum, finite weights, valid benchmark
        indices) and every augmented sample; returns the problems found (empty: the store is intact).

        Example:
            >>> import tempfile, numpy as np
            >>> from columnminer.demo import golden_channel_setup
            >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", golden_channel_setup(), ["m4l"])
            >>> _ = store.append(np.ones((2, 1)), np.ones((2, 6)), 0)
            >>> store.verify()
            []
        """
        problems = []
        n_benchmarks = len(self.benchmark_names)
        for name in ARRAYS:
            if name in self._group:
                problems += verify_array(self.url, name, self._group[name], self.n_events, n_benchmarks)
        if self.incomplete is not None:
            problems.append(self.incomplete["message"])
        for sample in self.sample_names:
            group = self._group["samples"][sample]
            if not group.attrs.get("complete", False):
                problems.append(f"sample {sample!r} was not completely written")
                continue
            for key, array in group.arrays():
                problems += verify_array(self.url, f"samples/{sample}/{key}", array, int(array.shape[0]))
        return problems

    def partition_mask(self, partition: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Boolean mask over rows ``start:stop``: which events belong to ``partition``."""
        stop = self.n_events if stop is None else int(stop)
        return partition_mask(self._attrs["partitions"], partition, start, stop)

    def partition_indices(self, partition: str) -> np.ndarray:
        """Event indices of a partition, ascending."""
        return np.flatnonzero(self.partition_mask(partition)).astype(np.int64)

    # -- augmented samples ----------------------------------------------------------------------------
    @property
    def sample_names(self) -> list[str]:
        """Names of the augmented samples under ``samples/``."""
        if "samples" not in self._group:
            return []
        return sorted(name for name, _ in self._group["samples"].groups())

    def write_sample(
        self, name: str, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any], overwrite: bool = False
    ) -> None:
        """Write an augmented sample to ``samples/<name>/<array>`` with ``attrs`` describing how it was made."""
        self._require_writable()
        if "/" in name or not name:
            raise StoreError(f"{self.url}: sample name {name!r} must be non-empty and without '/'")
        with self.writing():
            samples = self._group.require_group("samples")
            if name in samples:
                if not overwrite:
                    raise StoreError(
                        f"{self.url}: sample {name!r} exists (pass overwrite=True to replace it)"
                    )
                del samples[name]
            group = samples.create_group(name)
            group.update_attributes({"complete": False})
            try:
                for key, values in arrays.items():
                    values = np.asarray(values)
                    chunks = (min(max(len(values), 1), self.chunk_size), *values.shape[1:])
                    array = group.create_array(
                        key, shape=values.shape, chunks=chunks, dtype=values.dtype, compressors=_compressors()
                    )
                    array.with_config({"write_empty_chunks": True})[...] = values
            except OSError as err:
                raise StoreError(f"{self.url}: writing sample {name!r} failed: {err}") from err
            made_from = {"n_events": self.n_events, "generation": self.generation}
            group.update_attributes({**dict(attrs), "store_state": made_from, "complete": True})
            self._commit()

    def _sample_group(self, name: str) -> zarr.Group:
        """The group of a completely written sample; StoreError / IncompleteStoreError otherwise."""
        if name not in self.sample_names:
            raise StoreError(f"{self.url}: no sample {name!r}; samples are {self.sample_names}")
        group = self._group["samples"][name]
        if not group.attrs.get("complete", False):
            raise IncompleteStoreError(f"{self.url}: sample {name!r} was not completely written")
        return group

    def sample_arrays(self, name: str) -> dict[str, zarr.Array]:
        """An augmented sample as lazy zarr arrays (read in slices, for data larger than memory)."""
        return dict(self._sample_group(name).arrays())

    def read_sample(self, name: str) -> dict[str, np.ndarray]:
        """An augmented sample as numpy arrays (``attrs`` under the key ``"attrs"`` of the sample group)."""
        group = self._sample_group(name)
        return {
            key: read_checked(self.url, f"samples/{name}/{key}", array, Ellipsis, 0, int(array.shape[0]))
            for key, array in group.arrays()
        }

    def sample_attrs(self, name: str) -> dict[str, Any]:
        """How an augmented sample was made (kind, thetas, seed, effective numbers of events...)."""
        if name not in self.sample_names:
            raise StoreError(f"{self.url}: no sample {name!r}; samples are {self.sample_names}")
        return self._group["samples"][name].attrs.asdict()

    def require_complete(self) -> None:
        """Raise :class:`IncompleteStoreError` if the last append was interrupted."""
        if self.incomplete is not None:
            raise IncompleteStoreError(f"{self.url}: {self.incomplete['message']}")

    def _repr_html_(self) -> str:
        from ..display import html_summary

        rows = [
            ("events", self.n_events),
            ("observables", ", ".join(self.observable_names)),
            ("benchmarks", ", ".join(self.benchmark_names)),
            (
                "input files",
                len(
                    {
                        str(s.get("source", {}).get("sample"))
                        for s in self.sources
                        if isinstance(s.get("source"), dict)
                    }
                ),
            ),
            ("augmented samples", ", ".join(self.sample_names) or "none"),
            ("state", "incomplete" if self.incomplete is not None else "complete"),
        ]
        return html_summary(f"EventStore {self.url}", rows)

    def __repr__(self) -> str:
        state = "" if self.incomplete is None else ", incomplete"
        return (
            f"EventStore({self.url!r}: {self.n_events} events, {len(self.observable_names)} observables, "
            f"{len(self.benchmark_names)} benchmarks{state})"
        )
