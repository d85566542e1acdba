"""Columnar Les Houches Event (LHE) reader: whole files, chunked iteration, and a dask-awkward source."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

import awkward as ak
import numpy as np

from ._lhe_header import LHEGenerator, LHEHeader, LHEProcess, LHEWeightGroup, LHEWeightInfo
from ._lhe_parallel import read_all
from ._lhe_read import (
    EVENT_FIELDS,
    INVALID_MODES,
    PARTICLE_FIELDS,
    InvalidMode,
    iter_chunks,
    scan_event_offsets,
)
from ._lhe_source import DEFAULT_BLOCK, ByteSource, read_header
from ._lhe_weights import (
    NOMINAL_WEIGHT,
    SystematicWeights,
    benchmark_weight_ids,
    benchmark_weights,
    normalize_weights,
    systematic_weights,
    weight_scale_factor,
)
from .lhe_systematics import (
    PDFSet,
    pdf_sets,
    pdf_systematic,
    reference_weight_ids,
    scale_weights,
    variation_weight_ids,
)

__all__ = [
    "EVENT_FIELDS",
    "NOMINAL_WEIGHT",
    "PARTICLE_FIELDS",
    "LHEGenerator",
    "LHEHeader",
    "LHEProcess",
    "LHEWeightGroup",
    "LHEWeightInfo",
    "PDFSet",
    "SystematicWeights",
    "benchmark_weight_ids",
    "benchmark_weights",
    "count_lhe_events",
    "event_offsets",
    "example_lhe_file",
    "iterate_lhe",
    "lhe_to_dask",
    "normalize_weights",
    "pdf_sets",
    "pdf_systematic",
    "read_lhe",
    "read_lhe_header",
    "reference_weight_ids",
    "scale_weights",
    "systematic_weights",
    "variation_weight_ids",
    "weight_scale_factor",
]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def read_lhe_header(path: PathLike) -> LHEHeader:
    """Parse everything before the first event of an LHE file (plain or gzip).

    Returns an :class:`LHEHeader` with the ``<init>`` block (beams, energies, PDF ids, weighting
    strategy IDWTUP, and one :class:`LHEProcess` — cross section, error, maximal weight, id — per
    process line), the weights declared in ``<initrwgt>`` (ids, descriptions, attributes such as
    ``MUR``/``MUF``/``PDF``, and their ``<weightgroup>``), the MadGraph run card entries
    (``header.nevents``, ``header.event_norm``) and the generators named by the file (LHEF 3
    ``<generator>`` tags, ``<MGVersion>``, or the leading comment of POWHEG, Pythia, GiBUU files).

    Example::

        >>> h = read_lhe_header(example_lhe_file())
        >>> h.beam_energies, h.xsec, h.weight_ids, h.generator.name
        ((6500.0, 6500.0), 2.5, ['sm', 'bsm'], 'example')
    """
    source = ByteSource(path, 1 << 20)
    try:
        return read_header(source)[0]
    finally:
        source.close()


def iterate_lhe(
    path: PathLike,
    step_size: int = 100_000,
    *,
    block_size: int = DEFAULT_BLOCK,
    invalid: InvalidMode = "raise",
) -> Iterator[ak.Array]:
    """Yield the events of an LHE file as awkward arrays of at most ``step_size`` events each.

    The file (plain text or gzip, detected from its first bytes) is read ``block_size`` bytes at a
    time; an event cut by a block boundary is carried over to the next block, so memory stays of
    the order of one block plus one chunk whatever the file size. Each chunk has the layout of
    :func:`read_lhe`; ``chunk.attrs["lhe_first_event"]`` is the index of its first event in the file.

    Weight ids that the header does not declare are appended to the ``weights`` record when first
    seen, so chunks before that point lack them.

    On malformed input an :class:`~columnminer.errors.LHEFormatError` is raised naming the file,
    the event (0-based index in the file), the line and the field; every complete event before the
    bad one is yielded first (the last chunk may be short), and ``error.n_complete_events`` says how
    many events were delivered in total. Besides unreadable numbers, a wrong number of numbers on a
    line and a particle count that differs from NUP, an event is invalid when NUP is not a positive
    integer, a particle's ``id``, ``status``, ``mother1/2`` or ``color1/2`` (or the event's NUP or
    IDPRUP) is not an integer, a weight id appears twice in it, or ``px``, ``py``, ``pz``, ``e``,
    ``lhe_mass`` or the event ``weight`` is NaN or infinite.

    ``invalid="drop"`` leaves such events out instead: each chunk then holds ``step_size`` valid
    events (but the last), ``chunk.attrs["lhe_dropped_events"]`` lists the file indices of the events
    dropped since the previous chunk, ``lhe_first_event`` is the file index of the chunk's first event,
    and one warning of the ``columnminer.io._lhe_read`` logger gives their number and first indices.
    A structurally broken file (truncated, an event without ``</event>``) raises in both modes;
    ``n_complete_events`` then counts the valid events delivered before it.

    Example::

        >>> for chunk in iterate_lhe(example_lhe_file(), step_size=1):
        ...     print(len(chunk), chunk.attrs["lhe_first_event"], chunk.weights.bsm.tolist())
        1 0 [1.5]
        1 1 [nan]
    """
    if int(step_size) < 1:
        raise ValueError("step_size must be a positive number of events")
    _check_invalid(invalid)
    for _, chunk in iter_chunks(path, int(step_size), int(block_size), invalid=invalid):
        yield chunk


def _check_invalid(invalid: object) -> None:
    """Reject an unknown ``invalid`` mode before any file is opened."""
    if invalid not in INVALID_MODES:
        raise ValueError(f"invalid must be one of {INVALID_MODES}, not {invalid!r}")


def read_lhe(
    path: PathLike,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    *,
    normalize: bool = False,
    event_norm: str | None = None,
    invalid: InvalidMode = "raise",
) -> ak.Array:
    """Read the events of an LHE file (plain or gzip) into one awkward array: all of them, or events
    ``entry_start:entry_stop`` (0-based, stop exclusive, as uproot's ``entry_start`` / ``entry_stop``).

    One record per event with the event-information fields ``nparticles``, ``pid`` (int64) and
    ``weight``, ``scale``, ``aqed``, ``aqcd`` (float64); ``particles``, a jagged list of records in
    file order with ``id``, ``status``, ``mother1``, ``mother2``, ``color1``, ``color2`` (int64) and
    ``px``, ``py``, ``pz``, ``e``, ``lhe_mass``, ``lifetime``, ``spin`` (float64) carrying ``vector``'s
    ``Momentum4D`` behaviour (so ``.pt``, ``.eta``, ``.mass`` and sums work; the mass column of the
    file is called ``lhe_mass`` because vector accepts only one of energy and mass as a field); and
    ``weights``, a record with one float64 field per weight id (``<rwgt>``/``<wgt id=...>`` and
    positional LHEF 3 ``<weights>``) in header order, NaN where an event lacks that weight.
    ``attrs["lhe_path"]`` names the file.

    Speed: blocks of the text are parsed by a numba kernel on all cores; gzip files are inflated by
    ISA-L (python-isal) in a background thread, overlapping the parse (without python-isal: the
    system's libdeflate in one go where installed, else zlib block by block; the same arrays); plain
    files of 64 MB and more are memory-mapped and parsed in place, as uproot reads local ROOT files (like
    any mapped reader, a process that truncates the file in place while it is read makes the reading
    process fail with SIGBUS; :func:`~columnminer.io.lhe_writer.write_lhe` replaces files atomically). Use
    :func:`iterate_lhe` when the text of the file should not be held in memory at once. With an entry
    range, the file is first scanned for its event offsets (:func:`event_offsets`, no parsing; pass
    ``offsets=`` to :func:`columnminer.io.lhe_ranges.read_lhe_range` to reuse them) and only the range is
    parsed.

    With ``normalize=True`` the ``weight`` and ``weights`` fields are scaled by
    :func:`weight_scale_factor` (MadGraph's ``event_norm`` or ``event_norm=``) so that the sum over
    the events of the file is the cross section in pb (the factor is that of the whole file, also for
    a range).

    Malformed input raises :class:`~columnminer.errors.LHEFormatError` (file, event, line, field and
    ``n_complete_events``, as :func:`iterate_lhe` describes) since no partial array is returned;
    ``invalid="drop"`` leaves out the events whose content is invalid instead, lists their indices
    in ``attrs["lhe_dropped_events"]`` and logs one warning (``normalize`` then counts the events
    kept). A structurally broken file raises in both modes.

    Example::

        >>> ev = read_lhe(example_lhe_file())
        >>> ev.nparticles.tolist(), ev.particles.id.tolist(), ev.weights.sm.tolist()
        ([1, 2], [[23], [11, -11]], [1.0, 2.0])
        >>> z = ev.particles[0, 0]
        >>> float(z.pt), round(float(z.mass), 2), float(z.lhe_mass)   # vector's mass is from (E, p)
        (5.0, 91.32, 91.0)
        >>> read_lhe(example_lhe_file(), 1, 2).weight.tolist()
        [2.0]
    """
    _check_invalid(invalid)
    if entry_start is None and entry_stop is None:
        events = read_all(path)
        if events is None:  # unusual content: the sequential reader (reference results and errors)
            chunks = [c for _, c in iter_chunks(path, 1 << 62, DEFAULT_BLOCK, whole=True, invalid=invalid)]
            events = chunks[0] if len(chunks) == 1 else ak.concatenate(chunks)
        elif invalid == "drop":  # the parallel reader returns only files without invalid events
            events.attrs["lhe_dropped_events"] = []
        n_file = None
    else:
        from .lhe_ranges import read_lhe_range

        offsets = scan_event_offsets(path)
        n_file = len(offsets)
        start = 0 if entry_start is None else int(entry_start)
        stop = n_file if entry_stop is None else min(int(entry_stop), n_file)
        if not 0 <= start <= stop:
            raise ValueError(f"{path}: entry range {entry_start}..{entry_stop} is not within 0..{n_file}")
        events = read_lhe_range(str(path), start, stop, offsets=offsets, invalid=invalid)
    if normalize:
        header = read_lhe_header(path)
        whole = entry_start is None and entry_stop is None  # the events kept, or those of the whole file
        factor = weight_scale_factor(header, n_events=len(events) if whole else n_file, event_norm=event_norm)
        events = normalize_weights(events, factor)
    return events


def event_offsets(path: PathLike) -> np.ndarray:
    """Offsets of every ``<event>`` tag in the decompressed text (counted from the first event), found by a
    scan without parsing: the index that lets :func:`read_lhe` and
    :func:`columnminer.io.lhe_ranges.read_lhe_range` read any event range in O(range).

    Example::

        >>> len(event_offsets(example_lhe_file()))
        2
    """
    return scan_event_offsets(path)


def count_lhe_events(path: PathLike) -> int:
    """Count the ``<event>`` records of an LHE file without parsing them.

    Example::

        >>> count_lhe_events(example_lhe_file())
        2
    """
    return len(scan_event_offsets(path))


def _read_partition(part: tuple[str, int, int, int], step: int) -> ak.Array:
    path, start, stop, first = part
    out = [c for _, c in iter_chunks(path, step, DEFAULT_BLOCK, byte_range=(start, stop), first_event=first)]
    arr = out[0] if len(out) == 1 else ak.concatenate(out)
    return arr


class _PartitionReader:
    """Callable for dask-awkward's ``from_map``: reads one byte range and conforms it to the meta."""

    def __init__(self, fields: list[str], step: int) -> None:
        self.fields = fields
        self.step = step

    def __call__(self, part: tuple[str, int, int, int]) -> ak.Array:
        return self.conform(_read_partition(part, self.step), part[0])

    def conform(self, arr: ak.Array, path: str) -> ak.Array:
        """Give ``arr.weights`` exactly the collection's fields (NaN for absent ids)."""
        present = set(ak.fields(arr.weights))
        cols = {f: (arr.weights[f] if f in present else np.full(len(arr), np.nan)) for f in self.fields}
        dropped = present - set(self.fields)
        if dropped:
            log.warning("%s: weights %s are not in the collection's schema; dropped", path, sorted(dropped))
        weights = ak.zip(cols, depth_limit=1) if cols else arr.weights[[]]
        return ak.with_field(arr, weights, "weights")


def lhe_to_dask(paths: PathLike | Sequence[PathLike], step_size: int = 100_000):
    """One lazy dask-awkward collection over LHE files, one partition per ``step_size`` events.

    Each file is scanned once for its event offsets (cheap: no parsing) so that partitions are
    exact event ranges with known divisions; computing a partition reads only its byte range (gzip
    files are decompressed from their start). The ``weights`` fields of the collection are those of
    the first file (declared ids plus undeclared ones met in its first chunk); other files are
    conformed to them (missing ids give NaN).

    Example::

        >>> coll = lhe_to_dask([example_lhe_file(), example_lhe_file()], step_size=1)
        >>> coll.npartitions, coll.divisions
        (4, (0, 1, 2, 3, 4))
        >>> coll.partitions[1].compute().weight.tolist()
        [2.0]
    """
    import dask_awkward as dak

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [str(p) for p in paths]
    if not paths:
        raise ValueError("lhe_to_dask needs at least one path")
    step = int(step_size)
    parts: list[tuple[str, int, int, int]] = []
    divisions = [0]
    declared: dict[str, None] = {}
    for p in paths:
        offsets, header = scan_event_offsets(p, with_header=True)
        declared.update(dict.fromkeys(header.weight_ids))
        n = len(offsets)
        for k in range(0, max(n, 1), step):
            stop = int(offsets[k + step]) if k + step < n else 1 << 62
            start = int(offsets[k]) if n else 0
            parts.append((p, start, stop, k))
            divisions.append(divisions[-1] + min(step, n - k) if n else divisions[-1])
    first = _read_partition(parts[0], step)
    fields = list(declared) + [f for f in ak.fields(first.weights) if f not in declared]
    reader = _PartitionReader(fields, step)
    meta = ak.Array(
        reader.conform(first, parts[0][0]).layout.to_typetracer(forget_length=True), behavior=first.behavior
    )
    return dak.from_map(reader, parts, label="read-lhe", meta=meta, divisions=tuple(divisions))


_EXAMPLE = """<LesHouchesEvents version="3.0">
<header>
<initrwgt><weightgroup name="benchmarks"><weight id="sm">SM</weight><weight id='bsm'>BSM</weight>
</weightgroup></initrwgt>
</header>
<init>
2212 2212 6500 6500 0 0 247000 247000 -4 1
2.5 0.1 2.5 1
<generator name="example" version="1.0">a two-event file for docstrings</generator>
</init>
<event>
1 1 1.0 91.2 0.0078 0.118
23 1 0 0 0 0 3.0 4.0 10.0 92.0 91.0 0 9
<rwgt><wgt id='sm'>1.0</wgt><wgt id="bsm">1.5</wgt></rwgt>
</event>
<event>
2 1 2.0 91.2 0.0078 0.118
11 1 0 0 0 0 1.0 0.0 0.0 1.0 0.0 0 -1
-11 1 0 0 0 0 -1.0 0.0 0.0 1.0 0.0 0 1
<rwgt><wgt id='sm'>2.0</wgt></rwgt>
</event>
</LesHouchesEvents>
"""


def example_lhe_file() -> str:
    """Write a tiny two-event LHE file (two declared weights, one missing in event 1) and return its path.

    Used by the examples of this module. The file goes to a fresh temporary directory.

    Example::

        >>> read_lhe(example_lhe_file()).weights.fields
        ['sm', 'bsm']
    """
    import tempfile

    path = os.path.join(tempfile.mkdtemp(prefix="columnminer-lhe-"), "example.lhe")
    with open(path, "w") as fh:
        fh.write(_EXAMPLE)
    return path
