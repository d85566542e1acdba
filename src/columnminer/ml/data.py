r"""TrainingData: named training columns from numpy arrays, ``.npy`` files or a store sample, read in blocks.

A column is any array-like with ``shape`` and contiguous slicing (``numpy.ndarray``, a memory-mapped
``.npy`` file, a ``zarr.Array``); rows are events. Nothing is loaded whole: :meth:`TrainingData.batches`
reads contiguous *blocks* of rows, visits the blocks in a random order, and shuffles rows inside a buffer of
a few blocks (a *block shuffle*). When the data fit in one buffer this is an exact uniform shuffle; for
larger data every batch mixes rows of ``buffer_blocks`` random blocks, which is what lets samples much
larger than memory train. Means, variances and ranges for input scaling come from one streaming pass
(Chan et al.'s pairwise update of mean and sum of squared deviations).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import EstimatorError

__all__ = ["STORE_COLUMNS", "ColumnStatistics", "TrainingData"]

logger = logging.getLogger(__name__)

#: How the arrays of an augmented store sample map onto the estimator column names.
STORE_COLUMNS = {
    "x": "x",
    "theta0": "theta",
    "theta1": "theta1",
    "y": "y",
    "r_xz": "r_xz",
    "t_xz0": "t_xz",
    "t_xz1": "t_xz1",
}

_DEFAULT_BLOCK = 65_536


@dataclass(frozen=True)
class ColumnStatistics:
    """Per-feature count, mean, standard deviation (population), minimum and maximum of one column.

    Example:
        >>> TrainingData({"x": np.arange(4.0)}).statistics("x").mean
        array([1.5])
    """

    count: int
    mean: np.ndarray
    std: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray


def _open_column(name: str, value: Any) -> Any:
    """An array-like for a column given as an array, an array-like, or the path of a ``.npy`` file."""
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if path.suffix != ".npy":
            raise EstimatorError(f"column {name!r}: {path} is not a .npy file")
        if not path.is_file():
            raise EstimatorError(f"column {name!r}: no file {path}")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise EstimatorError(f"column {name!r}: cannot read {path}: {err}") from err
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "__getitem__"):
        return value
    return np.asarray(value)


def _chunk_length(array: Any) -> int | None:
    chunks = getattr(array, "chunks", None)
    if isinstance(chunks, tuple) and chunks and isinstance(chunks[0], int):
        return int(chunks[0])
    return None


class TrainingData:
    """Named columns of equal length, optionally restricted to a sorted subset of rows (a *view*).

    Columns are kept as given (a memory map or a zarr array stays on disk); 1-d columns (``y``, ``r_xz``) stay
    1-d, 2-d ones are ``[n, features]``. ``block_size`` rows are read at a time (rounded up to a multiple of
    the zarr chunk length), ``buffer_blocks`` blocks are shuffled together.

    Example:
        >>> data = TrainingData({"x": np.arange(10.0).reshape(5, 2), "y": np.array([0, 1, 0, 1, 1])})
        >>> train, validation = data.split(0.4, seed=0)
        >>> len(data), len(train), len(validation)
        (5, 3, 2)
        >>> batch = next(data.batches(4, shuffle=False))
        >>> batch["x"].shape, batch["y"].dtype
        (torch.Size([4, 2]), torch.float32)
    """

    def __init__(
        self,
        columns: Mapping[str, Any],
        *,
        block_size: int | None = None,
        buffer_blocks: int = 8,
        indices: np.ndarray | None = None,
    ) -> None:
        if not columns:
            raise EstimatorError("TrainingData needs at least one column")
        self._columns = {str(name): _open_column(str(name), value) for name, value in columns.items()}
        lengths = {name: int(array.shape[0]) for name, array in self._columns.items()}
        if len(set(lengths.values())) != 1:
            raise EstimatorError(f"training columns have different lengths: {lengths}")
        for name, array in self._columns.items():
            if len(array.shape) not in (1, 2):
                raise EstimatorError(f"column {name!r} must be 1-d or 2-d, got shape {tuple(array.shape)}")
        self._n_base = next(iter(lengths.values()))
        if block_size is None:
            block_size = _DEFAULT_BLOCK
            chunk = max((_chunk_length(a) or 1) for a in self._columns.values())
            block_size = chunk * max(1, math.ceil(block_size / chunk))
        if int(block_size) < 1 or int(buffer_blocks) < 1:
            raise EstimatorError("block_size and buffer_blocks must be positive")
        self.block_size = int(block_size)
        self.buffer_blocks = int(buffer_blocks)
        if indices is not None:
            indices = np.unique(np.asarray(indices, dtype=np.int64))
            if indices.size and (indices[0] < 0 or indices[-1] >= self._n_base):
                raise EstimatorError(f"row indices out of range for {self._n_base} rows")
        self._indices = indices
        self._stats: dict[str, ColumnStatistics] = {}

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def from_store(
        cls,
        store: Any,
        name: str,
        columns: Mapping[str, str] | None = None,
        **options: Any,
    ) -> TrainingData:
        """The augmented sample ``samples/<name>`` of an :class:`~columnminer.io.store.EventStore` (or the
        path / URL of one), its zarr arrays read block by block. ``columns`` maps store array names to column
        names (default :data:`STORE_COLUMNS`; arrays not in the map are skipped)."""

        from ..io.store import EventStore

        if not isinstance(store, EventStore):
            store = EventStore.open(str(store))
        attrs = store.sample_attrs(name)  # raises StoreError for an unknown sample
        if not attrs.get("complete", False):
            raise EstimatorError(f"{store.url}: sample {name!r} was not completely written")
        mapping = dict(STORE_COLUMNS if columns is None else columns)
        arrays = store.sample_arrays(name)
        selected = {mapping[key]: arrays[key] for key in arrays if key in mapping}
        if not selected:
            raise EstimatorError(
                f"{store.url}: sample {name!r} has none of the columns {sorted(mapping)}; it has {sorted(arrays)}"
            )
        logger.debug("training data from %s sample %r: %s", store.url, name, sorted(selected))
        return cls(selected, **options)

    def _view(self, columns: Mapping[str, Any], indices: np.ndarray | None) -> TrainingData:
        view = object.__new__(TrainingData)
        view._columns = dict(columns)
        view._n_base = self._n_base
        view.block_size = self.block_size
        view.buffer_blocks = self.buffer_blocks
        view._indices = indices
        view._stats = {}
        return view

    # -- shape --------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n_base if self._indices is None else int(self._indices.size)

    @property
    def names(self) -> list[str]:
        """The column names."""
        return list(self._columns)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def n_features(self, name: str) -> int:
        """Number of features of a column (1 for a 1-d column)."""
        shape = self._column(name).shape
        return 1 if len(shape) == 1 else int(shape[1])

    def _column(self, name: str) -> Any:
        try:
            return self._columns[name]
        except KeyError:
            raise EstimatorError(f"no training column {name!r}; the columns are {self.names}") from None

    def select(self, names: Sequence[str] | Mapping[str, str]) -> TrainingData:
        """A view with only some columns; a mapping ``{old: new}`` also renames them."""
        mapping = dict(names) if isinstance(names, Mapping) else {n: n for n in names}
        return self._view({new: self._column(old) for old, new in mapping.items()}, self._indices)

    def subset(self, indices: np.ndarray) -> TrainingData:
        """A view on rows ``indices`` (positions in this data, sorted and deduplicated)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise EstimatorError(f"row indices out of range for {len(self)} rows")
        base = indices if self._indices is None else self._indices[indices]
        return self._view(self._columns, np.unique(base))

    def shuffled(self, names: Sequence[str], seed: int | None = 0) -> TrainingData:
        """A view in which the columns ``names`` are permuted together over this view's rows, the others
        unchanged: labels no longer belong to their inputs (MadMiner's ``shuffle_labels`` closure test: an
        estimator trained so should learn r = 1 and t = 0). The permuted columns are read into memory.

        Example:
            >>> data = TrainingData({"x": np.arange(6.0), "y": np.arange(6.0)}).shuffled(["y"], seed=1)
            >>> sorted(data.to_numpy("y").tolist()) == data.to_numpy("x").tolist()
            True
        """
        rows = np.arange(self._n_base) if self._indices is None else self._indices
        permutation = np.random.default_rng(seed).permutation(len(rows))
        columns = dict(self._columns)
        for name in names:
            values = np.array(self._column(name)[:])
            values[rows] = values[rows[permutation]]
            columns[name] = values
        return self._view(columns, self._indices)

    def split(self, validation_fraction: float, seed: int | None = 0) -> tuple[TrainingData, TrainingData]:
        """(train, validation) views: a random ``validation_fraction`` of the rows (at least one row each
        when the fraction is positive), the rest for training; deterministic for a given seed."""
        if not 0.0 <= validation_fraction < 1.0:
            raise EstimatorError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
        n = len(self)
        n_val = round(validation_fraction * n)
        if validation_fraction > 0:
            n_val = min(max(n_val, 1), n - 1)
        order = np.random.default_rng(seed).permutation(n)
        return self.subset(np.sort(order[n_val:])), self.subset(np.sort(order[:n_val]))

    # -- reading ------------------------------------------------------------------------------------------
    def _block_rows(self, block: int) -> tuple[int, int, np.ndarray | None]:
        """Base rows [start, stop) of a block and the local rows of this view in it (None = all)."""
        start = block * self.block_size
        stop = min(start + self.block_size, self._n_base)
        if self._indices is None:
            return start, stop, None
        lo, hi = np.searchsorted(self._indices, [start, stop])
        return start, stop, self._indices[lo:hi] - start

    def iter_blocks(
        self, shuffle: bool = False, seed: int | None = None, names: Sequence[str] | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """Blocks of rows as numpy arrays (in random block order when ``shuffle``)."""
        names = self.names if names is None else list(names)
        n_blocks = math.ceil(self._n_base / self.block_size)
        order = np.arange(n_blocks)
        if shuffle:
            order = np.random.default_rng(seed).permutation(n_blocks)
        for block in order:
            start, stop, local = self._block_rows(int(block))
            if local is not None and local.size == 0:
                continue
            out = {}
            for name in names:
                values = np.asarray(self._column(name)[start:stop])
                out[name] = values if local is None else values[local]
            yield out

    def batches(
        self,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        names: Sequence[str] | None = None,
        drop_last: bool = False,
        device: torch.device | str | None = None,
        prepare: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Batches as dicts of float32 tensors (block shuffle when ``shuffle``; see the module docstring).

        The rows of a shuffle buffer are converted to float32 (and moved to ``device``) once; the batches
        are views of those tensors (read-only for the caller). ``prepare`` (optional) maps the tensors of a
        whole buffer to the columns the batches hold (e.g. adds row-wise derived columns once per buffer
        instead of once per batch)."""
        if int(batch_size) < 1:
            raise EstimatorError(f"batch_size must be positive, got {batch_size}")
        batch_size = int(batch_size)
        rng = np.random.default_rng(seed)
        blocks = self.iter_blocks(shuffle, int(rng.integers(2**63)) if shuffle else None, names)
        carry: dict[str, np.ndarray] | None = None
        exhausted = False
        while not exhausted:
            pieces = [] if carry is None else [carry]
            for _ in range(self.buffer_blocks):
                block = next(blocks, None)
                if block is None:
                    exhausted = True
                    break
                pieces.append(block)
            if not pieces:
                break
            buffer = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
            n = len(next(iter(buffer.values())))
            if shuffle:
                order = rng.permutation(n)
                buffer = {k: v[order] for k, v in buffer.items()}
            n_full = n // batch_size * batch_size
            if n_full:  # the full batches: one float32 conversion (and transfer) per buffer, then views
                tensors = _to_tensors(buffer, slice(0, n_full), device, prepare)
                for start in range(0, n_full, batch_size):
                    yield {k: v[start : start + batch_size] for k, v in tensors.items()}
            carry = {k: v[n_full:] for k, v in buffer.items()} if n_full < n else None
        if carry is not None and not drop_last:
            yield _to_tensors(carry, slice(None), device, prepare)

    def to_numpy(self, name: str) -> np.ndarray:
        """One column of this view, loaded whole (for small data and tests)."""
        parts = [block[name] for block in self.iter_blocks(names=[name])]
        if not parts:
            shape = self._column(name).shape
            return np.empty((0, *shape[1:]), dtype=self._column(name).dtype)
        return np.concatenate(parts)

    def statistics(self, name: str) -> ColumnStatistics:
        """Streaming per-feature statistics of a column over this view's rows (float64 accumulators)."""
        if name in self._stats:
            return self._stats[name]
        count, mean, m2 = 0, None, None
        minimum = maximum = None
        for block in self.iter_blocks(names=[name]):
            values = block[name].astype(np.float64, copy=False).reshape(len(block[name]), -1)
            n_b = values.shape[0]
            if n_b == 0:
                continue
            mean_b = values.mean(axis=0)
            m2_b = ((values - mean_b) ** 2).sum(axis=0)
            if mean is None:
                count, mean, m2 = n_b, mean_b, m2_b
                minimum, maximum = values.min(axis=0), values.max(axis=0)
                continue
            delta = mean_b - mean
            total = count + n_b
            mean = mean + delta * n_b / total
            m2 = m2 + m2_b + delta**2 * count * n_b / total
            count = total
            minimum = np.minimum(minimum, values.min(axis=0))
            maximum = np.maximum(maximum, values.max(axis=0))
        if mean is None:
            raise EstimatorError(f"column {name!r} has no rows")
        stats = ColumnStatistics(count, mean, np.sqrt(m2 / count), minimum, maximum)
        self._stats[name] = stats
        return stats

    def __repr__(self) -> str:
        columns = ", ".join(f"{n}{tuple(a.shape[1:])}" for n, a in self._columns.items())
        return f"TrainingData({len(self)} rows: {columns})"


def _to_tensors(
    buffer: Mapping[str, np.ndarray],
    rows: slice,
    device: torch.device | str | None,
    prepare: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
) -> dict[str, torch.Tensor]:
    out = {}
    for key, values in buffer.items():
        tensor = torch.from_numpy(np.ascontiguousarray(values[rows], dtype=np.float32))
        out[key] = tensor if device is None else tensor.to(device)
    return out if prepare is None else prepare(out)
