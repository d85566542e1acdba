"""Accumulators of the processors: per-chunk results keyed by chunk, merged exactly, summed in a fixed order."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from coffea.processor import AccumulatorABC

from ..errors import ProcessorError

__all__ = ["ChunkKey", "ChunkResults", "add_payloads"]

logger = logging.getLogger(__name__)


class ChunkKey(NamedTuple):
    """Which events a chunk holds; keys sort in file-set order (dataset, file, first entry).

    Example:
        >>> sorted([ChunkKey(0, 1, 0, 5, "sig", "b.lhe"), ChunkKey(0, 0, 5, 9, "sig", "a.lhe")])[0].filename
        'a.lhe'
    """

    dataset_index: int
    file_index: int
    entry_start: int
    entry_stop: int
    dataset: str
    filename: str

    def describe(self) -> str:
        """``dataset: file entries start..stop`` for messages."""
        return f"{self.dataset}: {self.filename} entries {self.entry_start}..{self.entry_stop}"


def add_payloads(a: Any, b: Any) -> Any:
    """``a + b`` for nested dicts of numbers and numpy arrays (new objects; the inputs are not changed).

    Example:
        >>> import numpy as np
        >>> add_payloads({"n": 1, "w": np.ones(2)}, {"n": 2, "w": np.ones(2)})["w"].tolist()
        [2.0, 2.0]
    """
    if isinstance(a, Mapping):
        if set(a) != set(b):
            raise ProcessorError(f"cannot add chunk results with different keys {sorted(a)} and {sorted(b)}")
        return {key: add_payloads(a[key], b[key]) for key in a}
    return a + b


class ChunkResults(AccumulatorABC):
    """Results of many chunks, ``{ChunkKey: payload}``: an exact coffea accumulator.

    Merging two of them is a union of their chunks (no floating-point operation), so the merged content does
    not depend on the order in which an executor finishes and merges chunks; adding a chunk that is already
    there is an error (a chunk processed twice). :meth:`total` then sums the payloads in key order, which
    gives bit-identical sums on one core, on a LocalCluster or on a batch cluster.

    Example:
        >>> import numpy as np
        >>> a = ChunkResults({ChunkKey(0, 0, 0, 5, "d", "f"): {"w": np.array([1.0])}})
        >>> b = ChunkResults({ChunkKey(0, 0, 5, 9, "d", "f"): {"w": np.array([2.0])}})
        >>> (b + a).total()["w"].tolist(), len(a + b)
        ([3.0], 2)
    """

    def __init__(self, items: Mapping[ChunkKey, Any] | None = None) -> None:
        self.items: dict[ChunkKey, Any] = dict(items or {})

    def identity(self) -> ChunkResults:
        """An empty accumulator."""
        return ChunkResults()

    def add(self, other: ChunkResults) -> None:
        """Merge the chunks of ``other`` into this one (in place); a chunk in both is an error."""
        if not isinstance(other, ChunkResults):
            raise ProcessorError(f"cannot merge chunk results with {type(other).__name__}")
        twice = set(self.items) & set(other.items)
        if twice:
            first = min(twice)
            raise ProcessorError(f"chunk {first.describe()} was accumulated twice ({len(twice)} such chunks)")
        self.items.update(other.items)

    def __len__(self) -> int:
        return len(self.items)

    def keys(self) -> list[ChunkKey]:
        """The chunk keys in file-set order."""
        return sorted(self.items)

    def values(self) -> Iterator[Any]:
        """The payloads in file-set order."""
        for key in self.keys():
            yield self.items[key]

    def total(self) -> Any:
        """The sum of the payloads, taken in file-set order (``None`` when empty)."""
        out = None
        for payload in self.values():
            out = payload if out is None else add_payloads(out, payload)
        return out

    def __repr__(self) -> str:
        return f"ChunkResults({len(self.items)} chunks)"
