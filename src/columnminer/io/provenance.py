"""Content identity of input files and event-range arithmetic: which events of which file a store holds.

A store records, for every append that came from an input file, the file's identity (size and a SHA-256
over its first MiB, its last 64 KiB and its size: the path is kept for messages but is not part of the
identity, so a moved or copied file is recognised) and the exact event range ``[start, stop)`` it holds.
Writers compare planned ranges with the committed ones before writing anything, so that no event of a file
enters a store twice, whatever the chunking of a rerun (see ``docs/design.md``, "Store integrity").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "file_identity",
    "file_key",
    "missing_ranges",
    "overlapping",
    "source_file_key",
    "source_range",
    "split_ranges",
]

_HEAD = 1 << 20
_TAIL = 1 << 16


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """Identity of an input file by content: ``{"path", "size", "digest"}``.

    ``digest`` is the SHA-256 of the file's size, its first MiB and its last 64 KiB (compressed bytes for
    gzip files), so identifying a file of any size costs two small reads.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.lhe"
        >>> _ = p.write_text("<LesHouchesEvents>")
        >>> ident = file_identity(p)
        >>> ident["size"], len(ident["digest"])
        (18, 64)
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(_HEAD))
        if size > _HEAD:
            handle.seek(max(size - _TAIL, _HEAD))
            digest.update(handle.read())
    return {"path": os.path.abspath(path), "size": int(size), "digest": digest.hexdigest()}


def file_key(identity: Mapping[str, Any]) -> str:
    """The comparison key of a file identity: ``"<size>:<digest>"`` (the path does not enter).

    Example:
        >>> file_key({"path": "/x/a.lhe", "size": 3, "digest": "ab"})
        '3:ab'
    """
    return f"{int(identity['size'])}:{identity['digest']}"


def source_file_key(source: Any) -> str | None:
    """The file key of a store source record (``None`` for sources that name no file identity).

    Example:
        >>> source_file_key({"file": {"path": "a.lhe", "size": 3, "digest": "ab"}, "events": [0, 100]})
        '3:ab'
        >>> source_file_key({"events": [0, 100]}) is None
        True
    """
    if isinstance(source, Mapping) and isinstance(source.get("file"), Mapping):
        ident = source["file"]
        if "size" in ident and "digest" in ident:
            return file_key(ident)
    return None


def source_range(source: Any) -> tuple[int, int] | None:
    """The event range ``(start, stop)`` of a source record (``None`` when it names none).

    Example:
        >>> source_range({"file": {"path": "a.lhe"}, "events": [0, 100]}), source_range({})
        ((0, 100), None)
    """
    if isinstance(source, Mapping) and source.get("events") is not None:
        start, stop = source["events"]
        return int(start), int(stop)
    return None


def overlapping(ranges: Iterable[tuple[int, int]], start: int, stop: int) -> list[tuple[int, int]]:
    """The ranges of ``ranges`` that share at least one event with ``[start, stop)``.

    Example:
        >>> overlapping([(0, 10), (10, 20), (30, 40)], 5, 12)
        [(0, 10), (10, 20)]
    """
    return [(a, b) for a, b in ranges if a < stop and start < b and a < b and start < stop]


def missing_ranges(n_events: int, committed: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``[0, n_events)`` not covered by the ``committed`` ranges, ascending.

    Example:
        >>> missing_ranges(5000, [(0, 2000)])
        [(2000, 5000)]
        >>> missing_ranges(10, [(2, 4), (3, 6), (8, 10)])
        [(0, 2), (6, 8)]
    """
    out = []
    position = 0
    for a, b in sorted((int(a), int(b)) for a, b in committed):
        if a > position:
            out.append((position, min(a, n_events)))
        position = max(position, b)
        if position >= n_events:
            break
    if position < n_events:
        out.append((position, int(n_events)))
    return [(a, b) for a, b in out if b > a]


def split_ranges(ranges: Sequence[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """Cut every range into pieces of at most ``step`` events, aligned on multiples of ``step`` from event 0
    (so that a rerun with the same step cuts a file the same way, whatever is already committed).

    Example:
        >>> split_ranges([(0, 5), (7, 12)], 4)
        [(0, 4), (4, 5), (7, 8), (8, 12)]
    """
    step = int(step)
    if step < 1:
        raise ValueError(f"step must be a positive number of events, got {step}")
    out = []
    for a, b in ranges:
        edge = int(a)
        while edge < b:
            nxt = min((edge // step + 1) * step, int(b))
            out.append((edge, nxt))
            edge = nxt
    return out
