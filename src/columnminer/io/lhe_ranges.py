"""Exact event ranges of LHE files: byte ranges from the event offsets, and reading ``start:stop``."""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..errors import LHEFormatError

__all__ = ["lhe_byte_range", "read_lhe_range"]


def lhe_byte_range(offsets: np.ndarray, start: int, stop: int) -> tuple[int, int]:
    """Byte range of events ``start:stop`` from the offsets of every event tag (decompressed bytes counted
    from the first event, as :func:`columnminer.io.lhe.scan_event_offsets` gives them).

    Example:
        >>> lhe_byte_range(np.array([0, 100, 250]), 1, 2)
        (100, 250)
    """
    first = int(offsets[start]) if len(offsets) else 0
    last = int(offsets[stop]) if stop < len(offsets) else 1 << 62
    return first, last


def read_lhe_range(
    path: str,
    entry_start: int,
    entry_stop: int,
    offsets: np.ndarray | None = None,
    byte_range: tuple[int, int] | None = None,
    invalid: str = "raise",
) -> ak.Array:
    """Events ``entry_start:entry_stop`` of an LHE file (0-based, stop exclusive), reading only their bytes
    (gzip files are decompressed from the start); checks that exactly those events were read.

    ``offsets`` (from :func:`columnminer.io.lhe.scan_event_offsets`) or the range's ``byte_range``
    (:func:`lhe_byte_range`) save a scan of the file when many ranges of it are read. ``invalid="drop"``
    leaves out events with invalid content (see :func:`columnminer.io.lhe.iterate_lhe`); their file indices
    are in ``attrs["lhe_dropped_events"]`` of the result, and read + dropped events make up the range.

    Example:
        >>> from columnminer.io.lhe import example_lhe_file
        >>> read_lhe_range(example_lhe_file(), 1, 2).weight.tolist()
        [2.0]
    """
    from ._lhe_read import iter_chunks, scan_event_offsets

    start, stop = int(entry_start), int(entry_stop)
    n = stop - start
    if byte_range is None:
        offsets = scan_event_offsets(path) if offsets is None else offsets
        byte_range = lhe_byte_range(offsets, start, stop)
    byte_range = (int(byte_range[0]), int(byte_range[1]))
    parts = [
        chunk
        for _, chunk in iter_chunks(
            path, max(n, 1), byte_range=byte_range, first_event=start, invalid=invalid
        )
    ]
    dropped = [int(i) for part in parts for i in part.attrs.get("lhe_dropped_events", [])]
    events = parts[0] if len(parts) == 1 else ak.concatenate(parts)
    if len(events) + len(dropped) != n:
        raise LHEFormatError(
            f"{path}: read {len(events)} events for entries {start}..{stop}", path=str(path), event=start
        )
    if dropped:
        events = ak.Array(events, attrs={**(events.attrs or {}), "lhe_dropped_events": dropped})
    return events
