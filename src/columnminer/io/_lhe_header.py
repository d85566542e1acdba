"""Parsing of the LHE preamble: ``<header>`` (weight declarations, MadGraph cards) and ``<init>``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from ..errors import LHEFormatError

__all__ = [
    "LHEGenerator",
    "LHEHeader",
    "LHEProcess",
    "LHEWeightGroup",
    "LHEWeightInfo",
    "parse_header_text",
]

log = logging.getLogger(__name__)

_ATTR = re.compile(r"""([A-Za-z_][\w:.\-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_ROOT = re.compile(r"<LesHouchesEvents\b([^>]*)>")
_RWGT_TOKENS = re.compile(
    r"<weightgroup\b([^>]*)>|</weightgroup\s*>|<weight\b([^>]*?)(?:/>|>(.*?)</weight\s*>)", re.S
)
_GENERATOR = re.compile(r"<generator\b([^>]*)>(.*?)</generator\s*>", re.S)
_MGVERSION = re.compile(r"<MGVersion>\s*#?\s*([^\s<]+)")
_MG_BANNER = re.compile(r"#\*\s+VERSION\s+(\S+)")
_RUNCARD_LINE = re.compile(r"\n\s*([^=!#\n]+?)\s*=\s*([\w.+\-]+)")  # a line "value = name ! comment"
_WRITTEN_BY = re.compile(r"(?:generated|written)\s+(?:by|with)\s+([A-Za-z][\w+.:\-]*)", re.I)


class _Element:
    """The first ``<name ...>body</name>`` of a text, as ``re.search(r"<name\\b[^>]*>(.*?)</name\\s*>", text,
    re.S).group(1)`` finds it, but with two searches for literal-led patterns instead of a lazy ``.*?``
    that tries the closing tag at every character (0.2 ms per 20 kB header)."""

    def __init__(self, name: str) -> None:
        self._open = re.compile(rf"<{name}\b[^>]*>")
        self._close = re.compile(rf"</{name}\s*>")

    def body(self, text: str) -> str | None:
        """The text between the first opening tag and the first closing tag after it (None without)."""
        opened = self._open.search(text)
        if opened is None:  # (no closing tag after the first opening tag: none after a later one either)
            return None
        closed = self._close.search(text, opened.end())
        return None if closed is None else text[opened.end() : closed.start()]


_INIT, _HEADER, _INITRWGT, _MG_RUNCARD = (_Element(n) for n in ("init", "header", "initrwgt", "MGRunCard"))


def _attrs(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    # findall gives "" for the quote form that did not match: the value is that of the other (4x faster
    # than Match.group calls, 0.7 ms for MadGraph's 145 weights)
    return {name: double or single for name, double, single in _ATTR.findall(text)}


@dataclass(frozen=True)
class LHEProcess:
    """One process line of ``<init>``: cross section and error (pb), maximal weight, process id."""

    xsec: float
    error: float
    max_weight: float
    process_id: int


@dataclass(frozen=True)
class LHEWeightInfo:
    """A weight declared in ``<initrwgt>``: its id, description text, attributes and group name."""

    id: str
    description: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    group: str | None = None


@dataclass(frozen=True)
class LHEWeightGroup:
    """A ``<weightgroup>``: its name (``name`` or ``type`` attribute), ``combine`` rule, attributes, ids."""

    name: str
    combine: str | None
    attributes: dict[str, str]
    weight_ids: tuple[str, ...]


@dataclass(frozen=True)
class LHEGenerator:
    """A generator named by the file: LHEF 3 ``<generator>`` tag, ``<MGVersion>`` or a comment line."""

    name: str
    version: str | None = None
    description: str = ""


@dataclass
class LHEHeader:
    """Everything in an LHE file before its first event.

    Attributes: ``path``; ``version`` (of the LHEF format); ``beam_ids``, ``beam_energies`` (GeV),
    ``pdf_groups``, ``pdf_sets`` (pairs, beam A then B); ``weighting_strategy`` (IDWTUP);
    ``processes`` (list of :class:`LHEProcess`); ``weights`` (declared weights in header order);
    ``weight_groups``; ``generators``; ``run_card`` (MadGraph run card entries, name -> value text);
    ``raw_header`` and ``comment`` (text of the ``<header>`` block and of the leading XML comment).
    """

    path: str
    version: str | None
    beam_ids: tuple[int, int]
    beam_energies: tuple[float, float]
    pdf_groups: tuple[int, int]
    pdf_sets: tuple[int, int]
    weighting_strategy: int
    processes: list[LHEProcess]
    weights: list[LHEWeightInfo]
    weight_groups: list[LHEWeightGroup]
    generators: list[LHEGenerator]
    run_card: dict[str, str]
    raw_header: str = ""
    comment: str = ""
    header_weight_count: int = 0

    @property
    def weight_ids(self) -> list[str]:
        """Declared weight ids in header order."""
        return [w.id for w in self.weights]

    @property
    def xsec(self) -> float:
        """Total cross section (pb): the sum over the ``<init>`` processes."""
        return float(sum(p.xsec for p in self.processes))

    @property
    def xsec_error(self) -> float:
        """Error of the total cross section (pb), the process errors added in quadrature."""
        return float(sum(p.error**2 for p in self.processes) ** 0.5)

    @property
    def nevents(self) -> int | None:
        """``nevents`` of the MadGraph run card (events requested), or None."""
        value = self.run_card.get("nevents")
        try:
            return int(float(value)) if value is not None else None
        except ValueError:
            return None

    @property
    def event_norm(self) -> str | None:
        """``event_norm`` of the MadGraph run card (``average``, ``sum``, ``unity``, ``bias``), or None."""
        value = self.run_card.get("event_norm")
        return value.lower() if value else None

    @property
    def generator(self) -> LHEGenerator | None:
        """The first generator found (MadGraph's version block comes before LHEF 3 tags), or None."""
        return self.generators[0] if self.generators else None


def _parse_initrwgt(text: str) -> tuple[list[LHEWeightInfo], list[LHEWeightGroup]]:
    weights: list[LHEWeightInfo] = []
    groups: list[LHEWeightGroup] = []
    current: tuple[str, str | None, dict[str, str], list[str]] | None = None
    for m in _RWGT_TOKENS.finditer(text):
        token = m.group(0)
        if token.startswith("<weightgroup"):
            attrs = _attrs(m.group(1))
            name = attrs.get("name", attrs.get("type", f"group{len(groups)}"))
            current = (name, attrs.get("combine"), attrs, [])
        elif token.startswith("</weightgroup"):
            if current is not None:
                groups.append(LHEWeightGroup(current[0], current[1], current[2], tuple(current[3])))
            current = None
        else:
            attrs = _attrs(m.group(2))
            if "id" not in attrs:
                continue
            wid = attrs["id"].strip()
            desc = (m.group(3) or "").strip()
            weights.append(LHEWeightInfo(wid, desc, attrs, current[0] if current else None))
            if current is not None:
                current[3].append(wid)
    return weights, groups


def _find_generators(header: str, comment: str, init_text: str) -> list[LHEGenerator]:
    gens: list[LHEGenerator] = []
    m = _MGVERSION.search(header)
    banner = _MG_BANNER.search(header) if "<MG5ProcCard" in header else None
    if m or banner:
        # the proc-card banner states the release; <MGVersion> of MG5 2.x reads e.g. "5.2.2.1"
        gens.append(LHEGenerator("MadGraph5_aMC@NLO", banner.group(1) if banner else m.group(1)))
    for text in (header, init_text):
        for g in _GENERATOR.finditer(text):
            attrs = _attrs(g.group(1))
            body = g.group(2).strip()
            name = attrs.get("name") or body
            gen = LHEGenerator(name, attrs.get("version"), body)
            if not any(x.name == gen.name and x.version == gen.version for x in gens):
                gens.append(gen)
    if not gens and comment:
        w = _WRITTEN_BY.search(comment)
        if w:
            name = w.group(1).split("::")[0].rstrip(".")
            version = None
            pv = re.match(r"(POWHEG-BOX)-(\S+)", name)
            if pv:
                name, version = pv.group(1), pv.group(2)
            gens.append(LHEGenerator(name, version, comment.strip().splitlines()[0].strip()))
    return gens


def _numbers(line: str, path: str, lineno: int, what: str) -> list[float]:
    try:
        return [float(t.replace("d", "e").replace("D", "e")) for t in line.split()]
    except ValueError:
        raise LHEFormatError(
            f"{path}: line {lineno}: non-numeric value in the {what} of <init>: {line.strip()!r}",
            path=path,
            line=lineno,
            field=what,
        ) from None


def _init_values(line: str, path: str, lineno: int, what: str, n_min: int, need: str) -> list[float]:
    """The numbers of one ``<init>`` line; at least ``n_min`` of them, else an error saying ``need``."""
    vals = _numbers(line, path, lineno, what)
    if len(vals) < n_min:
        raise LHEFormatError(
            f"{path}: line {lineno}: {need.format(n=len(vals))}", path=path, line=lineno, field="init"
        )
    return vals


def _parse_init(text: str, init_text: str, path: str) -> tuple[list[float], list[LHEProcess]]:
    """The beam line (10 numbers) and the process lines of the ``<init>`` block ``init_text``."""
    init_line0 = text[: text.find("<init")].count("\n") + 1 if "<init" in text else None
    numeric_lines: list[tuple[int, str]] = []
    for k, line in enumerate(init_text.split("\n")):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("<"):
            break
        numeric_lines.append(((init_line0 or 0) + k, s))
    if not numeric_lines:
        raise LHEFormatError(f"{path}: empty <init> block", path=path, line=init_line0, field="init")
    lineno, first = numeric_lines[0]
    need = "the first <init> line needs 10 numbers, got {n}"
    vals = _init_values(first, path, lineno, "beam line", 10, need)
    nprup = int(vals[9])
    processes = []
    for lineno, line in numeric_lines[1 : 1 + max(nprup, 0)]:
        pv = _init_values(line, path, lineno, "process line", 4, "an <init> process line needs 4 numbers")
        processes.append(LHEProcess(pv[0], pv[1], pv[2], int(pv[3])))
    if len(processes) != nprup:
        log.warning("%s: <init> announces %d processes but lists %d", path, nprup, len(processes))
    return vals, processes


def _weight_declarations(
    header: str, init_text: str
) -> tuple[list[LHEWeightInfo], list[LHEWeightGroup], int]:
    """Declared weights (first of each id), their groups and the count of positional header weights.

    ``<initrwgt>`` in ``<header>`` first (as pylhe), else the LHEF 3 place inside ``<init>``.
    """
    weights: list[LHEWeightInfo] = []
    groups: list[LHEWeightGroup] = []
    header_weight_count = 0
    rw = _INITRWGT.body(header)
    if rw is not None:
        weights, groups = _parse_initrwgt(_CDATA.sub(r"\1", rw))
        header_weight_count = len(weights)
    else:
        rw = _INITRWGT.body(init_text)
        if rw is not None:
            weights, groups = _parse_initrwgt(rw)
    first: dict[str, LHEWeightInfo] = {}
    for w in weights:
        first.setdefault(w.id, w)
    unique = list(first.values())
    return unique, groups, header_weight_count if len(unique) == len(weights) else len(unique)


def _run_card(header: str) -> dict[str, str]:
    """``name -> value`` of the MadGraph run card (``<MGRunCard>``) in the header; {} without one."""
    run_card: dict[str, str] = {}
    rc = _MG_RUNCARD.body(header)
    if rc is not None:
        # "\n" + the text: a literal first character, which the search finds by a fast scan, where ``^``
        # with re.M is tried at every character (0.1 ms per run card); the same matches
        for m in _RUNCARD_LINE.finditer("\n" + _CDATA.sub(r"\1", rc)):
            run_card[m.group(2).strip()] = m.group(1).strip()
    return run_card


def parse_header_text(text: str, path: str) -> LHEHeader:
    """Parse the text before the first ``<event>`` of an LHE file into an :class:`LHEHeader`."""
    root = _ROOT.search(text)
    if root is None:
        raise LHEFormatError(
            f"{path}: not a Les Houches Event file (no <LesHouchesEvents> tag before the first event)",
            path=path,
            line=1,
        )
    version = _attrs(root.group(1)).get("version")
    comments = _COMMENT.findall(text[: text.find("<header")] if "<header" in text else text)
    comment = comments[0][4:-3] if comments else ""
    body = _COMMENT.sub("", text)
    header = _HEADER.body(body) or ""
    init_text = _INIT.body(body)
    if init_text is None:
        raise LHEFormatError(f"{path}: no complete <init> block before the first event", path=path)
    vals, processes = _parse_init(text, init_text, path)
    weights, groups, header_weight_count = _weight_declarations(header, init_text)
    return LHEHeader(
        path=path,
        version=version,
        beam_ids=(int(vals[0]), int(vals[1])),
        beam_energies=(vals[2], vals[3]),
        pdf_groups=(int(vals[4]), int(vals[5])),
        pdf_sets=(int(vals[6]), int(vals[7])),
        weighting_strategy=int(vals[8]),
        processes=processes,
        weights=weights,
        weight_groups=groups,
        generators=_find_generators(header, comment, init_text),
        run_card=_run_card(header),
        raw_header=header,
        comment=comment.strip(),
        header_weight_count=header_weight_count,
    )
