r"""Streaming Les Houches Event (LHE) writer with MadGraph-style headers and per-event reweighting weights.

The file layout follows the Les Houches accord (Alwall et al., hep-ph/0609017; LHEF 3.0, arXiv:1405.1067)
and the conventions of MadGraph5_aMC@NLO 3.x (Alwall et al., arXiv:1405.0301) that downstream tools rely
on, MadMiner's LHE reader in particular:

- a ``<header>`` holding an ``<MGRunCard>`` (CDATA) with lines ``  <value> = nevents ! ...`` and
  ``  average = event_norm ! ...``, an optional ``<slha>`` parameter card and an ``<initrwgt>`` weight
  group whose ``<weight id='...'>`` ids name the reweighting points (optionally further groups with a
  ``combine`` rule and per-weight attributes, as MadGraph's systematics module writes scale variations:
  :class:`WeightGroup`), plus ``<MGGenerationInfo>``;
- an ``<init>`` block (beams, IDWTUP, one line per process with cross section and error in pb);
- events ``<event>`` with the HEPEUP line ``NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP``, one line per
  particle ``IDUP ISTUP MOTHUP(2) ICOLUP(2) PUP(5) VTIMUP SPINUP`` and ``<rwgt><wgt id='name'> w </wgt>...</rwgt>``.

Numbers use MadGraph's fixed formats (momenta ``%+.10e``, weights ``%+.7e``). Events are formatted a chunk at a
time by a numba kernel that gives exactly the text of Python's ``%`` (no Python loop over events or particles);
numbers shared by every event of a chunk (ids, status, mothers, colours, lifetimes, spins, often the weight
and scale) are formatted once into the chunk's format (:func:`~columnminer.io._lhe_format.fold_constants`),
chunks are formatted and compressed in parallel threads; a ``.gz`` suffix writes gzip (level 1 by default,
ISA-L's deflate when python-isal is installed).
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

try:  # python-isal (ISA-L): deflate at levels 1-3 several times faster than zlib, optional
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _isal_zlib = None

from .._version import __version__
from ._lhe_format import CompiledFormat, compile_format, fold_constants, format_table
from ._lhe_source import available_cpus

__all__ = ["LHEEvents", "LHEInit", "WeightGroup", "madgraph_run_card", "write_lhe"]

logger = logging.getLogger(__name__)

_EVENT_LINE = "%2d %6d %+.7e %.8e %.8e %.8e\n"
_PARTICLE_LINE = "%9d %2d %4d %4d %4d %4d %+.10e %+.10e %+.10e %.10e %.10e %.4e %.4e\n"


@dataclass
class LHEEvents:
    """A block of events with the same number of particles, as columns.

    Attributes:
        momenta: [n_events, n_particles, 4] four-momenta (E, px, py, pz) in GeV.
        pdgid: [n_particles] or [n_events, n_particles] PDG ids.
        status: same shape, LHE status (-1 incoming, 1 final, 2 intermediate resonance).
        mothers: [n_particles, 2] or [n_events, n_particles, 2], 1-based mother indices (0 none).
        colours: like ``mothers``, colour and anticolour tags (0 none).
        weight: [n_events] or scalar, XWGTUP (pb; for ``event_norm = average`` each equals the cross section).
        weights: name -> [n_events], the reweighting weights written in ``<rwgt>`` (pb).
        masses: optional [n_events, n_particles] (GeV); by default the invariant mass of each momentum,
            rounded to zero for massless particles.
        scale: [n_events] or scalar SCALUP (GeV). aqed, aqcd: couplings. process_id: IDPRUP.
        lifetime, spin: VTIMUP (mm) and SPINUP (9 = unknown / summed).

    Example:
        >>> ev = LHEEvents(momenta=np.array([[[5.0, 0, 0, 5], [5.0, 0, 0, -5]]]), pdgid=[11, -11],
        ...                status=[1, 1], mothers=[[0, 0], [0, 0]], colours=[[0, 0], [0, 0]], weight=1.0)
        >>> ev.n_events, ev.n_particles
        (1, 2)
    """

    momenta: np.ndarray
    pdgid: Any
    status: Any
    mothers: Any
    colours: Any
    weight: Any
    weights: Mapping[str, np.ndarray] = field(default_factory=dict)
    masses: np.ndarray | None = None
    scale: Any = 0.0
    aqed: float = 7.546771e-03
    aqcd: float = 0.118
    process_id: int = 1
    lifetime: float = 0.0
    spin: float = 9.0

    def __post_init__(self) -> None:
        self.momenta = np.asarray(self.momenta, dtype=np.float64)
        if self.momenta.ndim != 3 or self.momenta.shape[-1] != 4:
            raise ValueError(f"momenta must have shape [n_events, n_particles, 4], got {self.momenta.shape}")

    @property
    def n_events(self) -> int:
        """Number of events in the block."""
        return int(self.momenta.shape[0])

    @property
    def n_particles(self) -> int:
        """Number of particles per event."""
        return int(self.momenta.shape[1])

    def columns(self, start: int, stop: int, weight_names: Sequence[str]) -> np.ndarray:
        """The numbers of events [start, stop) in file order, shape [n, 6 + 13 n_particles + n_weights]."""
        n, k = stop - start, self.n_particles
        p = self.momenta[start:stop]

        def per_particle(x, tail=()):
            x = np.asarray(x, dtype=np.float64)
            if x.ndim == 1 + len(tail):
                x = np.broadcast_to(x, (n, k, *tail))
            else:
                x = x[start:stop]
            return x

        if self.masses is None:
            m2 = p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1)
            scale = np.maximum(p[..., 0] ** 2, 1e-300)
            masses = np.where(np.abs(m2) < 1e-9 * scale, 0.0, np.sqrt(np.abs(m2)))
        else:
            masses = np.asarray(self.masses, dtype=np.float64)[start:stop]
        missing = [name for name in weight_names if name not in self.weights]
        if missing:
            raise ValueError(f"events lack the weights {missing} declared in the header")
        table = np.empty((n, 6 + 13 * k + len(weight_names)))  # filled in place: no concatenation
        # splitting the contiguous last axis: always a view of the table, never a copy
        particles = table[:, 6 : 6 + 13 * k].reshape(n, k, 13)
        particles[..., 0] = per_particle(self.pdgid)
        particles[..., 1] = per_particle(self.status)
        particles[..., 2:4] = per_particle(self.mothers, (2,))
        particles[..., 4:6] = per_particle(self.colours, (2,))
        particles[..., 6:9] = p[..., 1:]
        particles[..., 9] = p[..., 0]
        particles[..., 10] = masses
        particles[..., 11] = self.lifetime
        particles[..., 12] = self.spin
        table[:, 0] = k
        table[:, 1] = self.process_id
        table[:, 2] = _rows(self.weight, start, stop)
        table[:, 3] = _rows(self.scale, start, stop)
        table[:, 4] = self.aqed
        table[:, 5] = self.aqcd
        for j, name in enumerate(weight_names):
            table[:, 6 + 13 * k + j] = _rows(self.weights[name], start, stop)
        return table


def _rows(x: Any, start: int, stop: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.broadcast_to(x, (stop - start,)) if x.ndim == 0 else x[start:stop]


@dataclass
class LHEInit:
    """The ``<init>`` block: beams, PDFs, weighting strategy and one (xsec, error, max weight, id) per process.

    Cross sections and errors in pb. The defaults describe 13 TeV proton-proton collisions and MadGraph's
    IDWTUP = -4.

    Example:
        >>> LHEInit(processes=[(1.0, 0.01, 1.0, 1)]).text().splitlines()[1]
        '2212 2212 6.500000e+03 6.500000e+03 0 0 0 0 -4 1'
    """

    processes: Sequence[tuple[float, float, float, int]]
    beam_ids: tuple[int, int] = (2212, 2212)
    beam_energies: tuple[float, float] = (6500.0, 6500.0)
    pdf_groups: tuple[int, int] = (0, 0)
    pdf_sets: tuple[int, int] = (0, 0)
    weighting_strategy: int = -4
    generator: tuple[str, str] = ("columnminer", __version__)

    def text(self) -> str:
        """The ``<init>...</init>`` block."""
        lines = [
            "<init>",
            f"{self.beam_ids[0]} {self.beam_ids[1]} {self.beam_energies[0]:.6e} {self.beam_energies[1]:.6e} "
            f"{self.pdf_groups[0]} {self.pdf_groups[1]} {self.pdf_sets[0]} {self.pdf_sets[1]} "
            f"{self.weighting_strategy} {len(self.processes)}",
        ]
        for xsec, xerr, xmax, lprup in self.processes:
            lines.append(f"{xsec:.6e} {xerr:.6e} {xmax:.6e} {int(lprup)}")
        lines.append(f"<generator name='{self.generator[0]}' version='{self.generator[1]}'></generator>")
        lines.append("</init>")
        return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute_text(attributes: Mapping[str, str], where: str) -> str:
    parts = []
    for key, value in attributes.items():
        key, value = str(key), str(value)
        if not key.isidentifier() or key.lower() == "id":
            raise ValueError(f"{where}: attribute name {key!r} cannot be written to an LHE header")
        if any(c in value for c in "'<>&\""):
            raise ValueError(f"{where}: attribute {key}={value!r} cannot be written to an LHE header")
        parts.append(f' {key}="{value}"')
    return "".join(parts)


@dataclass(frozen=True)
class WeightGroup:
    """A ``<weightgroup>`` of the ``<initrwgt>`` block, MadGraph-systematics style.

    Written as ``<weightgroup name="..." combine="...">`` with one
    ``<weight id="..." KEY="value" ...> text </weight>`` per member, e.g. a scale variation
    ``<weight id="3" MUR="0.5" MUF="2.0"> MUR=0.5 MUF=2.0 </weight>`` in the group
    "Central scale variation" with ``combine="envelope"``.

    Attributes:
        name: the group name.
        weight_ids: its members, each also listed in ``write_lhe``'s ``weight_names``.
        combine: the ``combine`` attribute (``envelope``, ``replicas``, ``hessian``...) or None.
        attributes: weight id -> extra attributes of its ``<weight>`` element (e.g. ``MUR``, ``MUF``, ``PDF``).
        descriptions: weight id -> the element's text (default: ``write_lhe``'s ``weight_descriptions``).

    Example:
        >>> g = WeightGroup("Central scale variation", ["up"], "envelope", {"up": {"MUR": "2.0"}}, {"up": "MUR=2.0"})
        >>> print(g.text())
        <weightgroup name="Central scale variation" combine="envelope">
        <weight id="up" MUR="2.0"> MUR=2.0 </weight>
        </weightgroup>
    """

    name: str
    weight_ids: Sequence[str]
    combine: str | None = None
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def text(self, descriptions: Mapping[str, str] | None = None) -> str:
        """The ``<weightgroup>...</weightgroup>`` lines; ``descriptions`` fills texts this group lacks."""
        head = {"name": self.name} | ({"combine": self.combine} if self.combine else {})
        lines = [f"<weightgroup{_attribute_text(head, 'weight group')}>"]
        for wid in self.weight_ids:
            attrs = _attribute_text(self.attributes.get(wid, {}), f"weight {wid!r}")
            desc = self.descriptions.get(wid, (descriptions or {}).get(wid, ""))
            lines.append(f'<weight id="{wid}"{attrs}> {_escape(desc)} </weight>')
        lines.append("</weightgroup>")
        return "\n".join(lines)


def madgraph_run_card(
    n_events: int,
    event_norm: str = "average",
    seed: int = 0,
    beam_energies: tuple[float, float] = (6500.0, 6500.0),
    extra: Mapping[str, tuple[Any, str]] | None = None,
) -> str:
    """Run-card text in MadGraph's ``  value = name ! comment`` layout (the lines MadMiner parses).

    Example:
        >>> "10 = nevents ! Number of unweighted events requested" in madgraph_run_card(10)
        True
    """
    entries: list[tuple[Any, str, str]] = [
        ("columnminer", "run_tag", "name of the run"),
        (int(n_events), "nevents", "Number of unweighted events requested"),
        (int(seed), "iseed", "rnd seed (0=assigned automatically=default))"),
        (1, "lpp1", "beam 1 type"),
        (1, "lpp2", "beam 2 type"),
        (beam_energies[0], "ebeam1", "beam 1 total energy in GeV"),
        (beam_energies[1], "ebeam2", "beam 2 total energy in GeV"),
        (event_norm, "event_norm", "average/sum. Normalization of the weight in the LHEF"),
    ]
    for name, (value, comment) in (extra or {}).items():
        entries.append((value, name, comment))
    lines = [
        "#*********************************************************************",
        "#                       columnminer built-in generator               *",
        "#   run_card.dat in the MadEvent layout:  value = variable ! comment *",
        "#*********************************************************************",
    ]
    lines += [f"  {value} = {name} ! {comment}" for value, name, comment in entries]
    return "\n".join(lines) + "\n"


def _header(
    run_card: str,
    param_card: str | None,
    weight_names: Sequence[str],
    weight_descriptions: Mapping[str, str],
    weight_group: str,
    n_events: int,
    integrated_weight: float,
    comment: str | None,
    weight_groups: Sequence[WeightGroup] = (),
) -> str:
    out = ['<LesHouchesEvents version="3.0">', "<header>"]
    if comment:
        out += ["<!--", comment.replace("--", "- -"), "-->"]
    out += ["<MGRunCard>", "<![CDATA[", run_card.rstrip("\n"), "]]>", "</MGRunCard>"]
    if param_card:
        out += ["<slha>", param_card.rstrip("\n"), "</slha>"]
    grouped = {wid for group in weight_groups for wid in group.weight_ids}
    ungrouped = [name for name in weight_names if name not in grouped]
    if weight_names:
        out.append("<initrwgt>")
        if ungrouped:
            out.append(f"<weightgroup name='{weight_group}' weight_name_strategy='includeIdInWeightName'>")
            for name in ungrouped:
                out.append(f"<weight id='{name}'>{_escape(weight_descriptions.get(name, ''))}</weight>")
            out.append("</weightgroup>")
        out += [group.text(weight_descriptions) for group in weight_groups]
        out.append("</initrwgt>")
    out += [
        "<MGGenerationInfo>",
        f"#  Number of Events        :       {n_events}",
        f"#  Integrated weight (pb)  :       {integrated_weight:.10g}",
        "</MGGenerationInfo>",
        "</header>",
    ]
    return "\n".join(out) + "\n"


def _event_format(n_particles: int, weight_names: Sequence[str], weight_digits: int) -> str:
    fmt = "<event>\n" + _EVENT_LINE + _PARTICLE_LINE * n_particles
    if weight_names:
        fmt += "<rwgt>\n"
        for name in weight_names:
            fmt += f"<wgt id='{name.replace('%', '%%')}'> %+.{weight_digits}e </wgt>\n"
        fmt += "</rwgt>\n"
    return fmt + "</event>\n"


def write_lhe(
    path: str | os.PathLike,
    events: LHEEvents | Iterable[LHEEvents],
    *,
    init: LHEInit,
    weight_names: Sequence[str] = (),
    weight_descriptions: Mapping[str, str] | None = None,
    n_events: int | None = None,
    event_norm: str = "average",
    run_card: str | None = None,
    param_card: str | None = None,
    comment: str | None = None,
    weight_group: str = "mg_reweighting",
    weight_groups: Sequence[WeightGroup] | None = None,
    chunk_size: int = 20_000,
    weight_digits: int = 7,
    compresslevel: int = 1,
    threads: int | None = None,
) -> Path:
    """Write events to an LHE file (gzip when the name ends in ``.gz``), streaming chunk by chunk.

    Args:
        path: output file; written to ``<path>.tmp`` and renamed when complete, so an interrupted write
            never leaves a truncated file under the final name.
        events: one :class:`LHEEvents` block or an iterable of blocks (e.g. a generator yielding chunks).
        init: the ``<init>`` block (cross section in pb).
        weight_names: the weight ids of the ``<initrwgt>`` group and of each event's ``<rwgt>`` (order kept).
        weight_descriptions: optional text of each ``<weight>`` element (e.g. ``set param_card ...``).
        n_events: written to the run card as ``nevents`` (default: the number of events of a single block;
            required for an iterable, which is consumed once).
        event_norm: ``average`` (XWGTUP ~ cross section, MadGraph's default) or ``sum``.
        run_card: full run-card text; default :func:`madgraph_run_card`.
        param_card, comment: optional ``<slha>`` text and header comment.
        weight_group: the name of the group of the weights that no :class:`WeightGroup` lists.
        weight_groups: optional further groups (e.g. MadGraph-systematics scale variations with ``MUR`` /
            ``MUF`` attributes and ``combine="envelope"``), written after that group; every member must be
            in ``weight_names`` and in at most one group. Without them the output is unchanged.
        chunk_size: events formatted (and, for gzip, compressed) per task. weight_digits: digits after the
            point of weights.
        compresslevel: deflate level of gzip output (1: fastest, about 20 % larger than level 6); levels
            1-3 use ISA-L (python-isal) when it is installed, zlib otherwise (same text, other bytes).
        threads: threads formatting and compressing chunks in parallel (default: the CPUs available).

    The text is exactly what ``fmt % values`` gives event by event (MadGraph's printf formats, formatted by
    the numba kernel of :mod:`columnminer.io._lhe_format`). A gzip file is one member whose deflate stream
    is cut at chunk boundaries (pigz-style), with modification time 0: for given events, ``chunk_size`` and
    ``compresslevel`` the bytes are identical from run to run, whatever ``threads`` (with or without python-isal
    installed the compressed bytes differ, the decompressed text does not).

    Returns the path written. Example:

        >>> import tempfile
        >>> ev = LHEEvents(momenta=np.array([[[5.0, 0, 0, 5], [5.0, 0, 0, -5]]]), pdgid=[11, -11],
        ...                status=[1, 1], mothers=[[0, 0], [0, 0]], colours=[[0, 0], [0, 0]], weight=2.0,
        ...                weights={"sm": [2.0]})
        >>> out = write_lhe(Path(tempfile.mkdtemp()) / "x.lhe", ev, init=LHEInit([(2.0, 0.0, 2.0, 1)]),
        ...                 weight_names=["sm"])
        >>> "<wgt id='sm'> +2.0000000e+00 </wgt>" in out.read_text()
        True
    """
    path = Path(path)
    weight_names = list(weight_names)
    threads = available_cpus() if threads is None else int(threads)
    blocks: Iterable[LHEEvents]
    if isinstance(events, LHEEvents):
        blocks = [events]
        if n_events is None:
            n_events = events.n_events
    else:
        blocks = events
        if n_events is None:
            raise ValueError("write_lhe: n_events is required when events is an iterable of blocks")
    if event_norm not in ("average", "sum"):
        raise ValueError(f"event_norm must be 'average' or 'sum', got {event_norm!r}")
    groups = list(weight_groups or ())
    _check_weight_ids(weight_names, groups)
    if run_card is None:
        run_card = madgraph_run_card(n_events, event_norm, beam_energies=init.beam_energies)
    total_xsec = float(sum(p[0] for p in init.processes))
    header = _header(
        run_card,
        param_card,
        weight_names,
        dict(weight_descriptions or {}),
        weight_group,
        n_events,
        total_xsec,
        comment,
        groups,
    )
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = _Sink(open(tmp, "wb"), compresslevel if path.suffix == ".gz" else None)
    try:
        try:
            sink.write((header + init.text()).encode("ascii"))
            written = _write_events(sink, blocks, weight_names, chunk_size, weight_digits, threads)
            sink.write(b"</LesHouchesEvents>\n")
        finally:
            sink.close()
        if written != n_events:
            logger.warning("%s: header announces %d events, %d were written", path, n_events, written)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("wrote %d events to %s", written, path)
    return path


def _check_weight_ids(weight_names: Sequence[str], groups: Sequence[WeightGroup]) -> None:
    """Refuse weight ids that cannot stand in an LHE attribute, and groups with unknown or shared members."""
    for name in weight_names:
        if not name or any(c in name for c in "'<>&\"") or name.strip() != name:
            raise ValueError(f"weight id {name!r} cannot be written to an LHE attribute")
    members = [wid for group in groups for wid in group.weight_ids]
    if len(set(members)) != len(members) or not set(members) <= set(weight_names):
        raise ValueError("weight_groups: every member must be one of weight_names, in one group only")


def _write_events(
    sink: _Sink,
    blocks: Iterable[LHEEvents],
    weight_names: Sequence[str],
    chunk_size: int,
    weight_digits: int,
    threads: int,
) -> int:
    """Write the ``<event>`` records of every block to ``sink``, ``chunk_size`` events at a time: each chunk
    is tabulated, formatted (:mod:`._lhe_format`, GIL released) and compressed by a pool of ``threads``
    threads, and written in order; returns the number of events written."""
    formats: dict[int, CompiledFormat] = {}

    def render(block: LHEEvents, start: int, stop: int) -> tuple[bytes | np.ndarray, bytes | np.ndarray]:
        # numbers shared by every event of the chunk (ids, status, mothers, colours, often the weight and
        # scale) are formatted once into the literal text: the same bytes, half the formatting work
        folded, values = fold_constants(formats[block.n_particles], block.columns(start, stop, weight_names))
        text = format_table(folded, values, copy=False)  # bytes or the kernel's uint8 array: both buffers
        return text, sink.pack(text)

    def tasks() -> Iterator[tuple[LHEEvents, int, int]]:
        for block in blocks:
            k = block.n_particles
            if k not in formats:
                formats[k] = compile_format(_event_format(k, weight_names, weight_digits))
            for start in range(0, block.n_events, chunk_size):
                yield block, start, min(start + chunk_size, block.n_events)

    written = 0
    with ThreadPoolExecutor(max(int(threads), 1)) as pool:
        pending: deque = deque()
        for block, start, stop in tasks():
            pending.append((pool.submit(render, block, start, stop), stop - start))
            while len(pending) > 2 * max(int(threads), 1):
                written += _drain(sink, pending)
        while pending:
            written += _drain(sink, pending)
    return written


def _drain(sink: _Sink, pending: deque) -> int:
    """Write the oldest pending chunk; returns its number of events."""
    future, n = pending.popleft()
    sink.write(*future.result())
    return n


class _Sink:
    """The output file: plain text, or one gzip member built from independently compressed chunks.

    Each chunk is raw-deflated on its own and ended by a sync flush (as pigz does), so chunks compress in
    parallel threads and concatenate into one valid deflate stream; the CRC-32 and length of the trailer
    are accumulated in order. The gzip header has no file name and modification time 0, so the bytes
    depend only on the text, the chunking, the compression level and the deflater: ISA-L's
    (python-isal, ``isal.isal_zlib``, about 3x faster than zlib at level 1 and no larger) at levels 1-3
    when it is installed, zlib otherwise; the decompressed text is the same either way.
    """

    _GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

    def __init__(self, handle: BinaryIO, compresslevel: int | None) -> None:
        self.handle, self.level = handle, compresslevel
        self.crc, self.size = 0, 0
        if compresslevel is not None:
            handle.write(self._GZIP_HEADER)

    def pack(self, text: bytes | np.ndarray) -> bytes | np.ndarray:
        """The bytes that stand for ``text`` (bytes or a uint8 array) in the file (thread-safe: zlib and ISA-L
        release the GIL)."""
        if self.level is None:
            return text
        codec = _isal_zlib if _isal_zlib is not None and 1 <= self.level <= 3 else zlib
        packer = codec.compressobj(self.level, codec.DEFLATED, -15)
        return packer.compress(text) + packer.flush(codec.Z_SYNC_FLUSH)

    def write(self, text: bytes | np.ndarray, packed: bytes | np.ndarray | None = None) -> None:
        """Append ``text`` (``packed`` = :meth:`pack` of it, computed here when not given)."""
        self.handle.write(self.pack(text) if packed is None else packed)
        if self.level is not None:
            self.crc = (_isal_zlib or zlib).crc32(text, self.crc)
            self.size += len(text)

    def close(self) -> None:
        """End the gzip member (an empty final block, CRC-32 and length) and close the file."""
        if self.level is not None:
            self.handle.write(zlib.compressobj(self.level, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))
            self.handle.write(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))
        self.handle.close()
