"""The parameter values an LHE file declares (reweighting ``set`` lines, param card), checked against a setup."""

from __future__ import annotations

import html
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BenchmarkMismatchError, MissingTransformError

if TYPE_CHECKING:
    from ..parameters import Parameter
    from ._lhe_header import LHEHeader

__all__ = ["check_sample_benchmarks", "declared_benchmark_cards", "generation_card"]

logger = logging.getLogger(__name__)

#: A param-card entry: (block name in lower case, LHA id), e.g. ``("dim6", 2)``; DECAY widths are ``("decay", pdg)``.
CardKey = tuple[str, int]

_CARD_TAG = re.compile(r"<(slha|MGParamCard)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_NAME = re.compile(r"[A-Za-z_][\w]*")
_BLOCK_ALIASES = {"width": "decay"}  # MadGraph reads ``width`` as the DECAY block
_SKIPPED_BLOCKS = {"qnumbers"}  # one block per particle, same name: no parameter lives there
_MAX_LISTED = 20


def _block(name: str) -> str:
    name = name.lower()
    return _BLOCK_ALIASES.get(name, name)


def _key(parameter: Parameter) -> CardKey:
    return (_block(parameter.lha_block), int(parameter.lha_id))


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _number(text: str) -> float | None:
    """A card number (Fortran ``1.0d-3`` accepted); None for text such as ``auto`` or a ``scan:`` list."""
    try:
        value = float(text.replace("d", "e").replace("D", "e"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class _Card:
    """A parsed param card: entry values and the parameter names of its comments (``# mt``)."""

    values: dict[CardKey, float] = field(default_factory=dict)
    names: dict[str, CardKey | None] = field(default_factory=dict)

    def name(self, comment: str, key: CardKey) -> None:
        words = comment.split()
        if words and _NAME.fullmatch(words[0]):
            name = words[0].lower()
            # a name given to two entries is ambiguous: it resolves to nothing
            self.names[name] = key if self.names.get(name, key) == key else None


def _parse_card(text: str) -> _Card:
    """Entries ``<id> <value>`` of every BLOCK and ``DECAY <pdg> <width>`` lines; matrix entries are skipped."""
    card = _Card()
    block: str | None = None
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        tokens = line.split()
        if not tokens:
            continue
        head = tokens[0].lower()
        if head == "block":
            block = _block(tokens[1]) if len(tokens) > 1 else None
            if block in _SKIPPED_BLOCKS:
                block = None
        elif head == "decay":
            block = None  # the branching-ratio lines that follow are not parameters
            if len(tokens) >= 3 and (pdg := _int(tokens[1])) is not None:
                value = _number(tokens[2])
                if value is not None:
                    card.values[("decay", pdg)] = value
                    card.name(comment, ("decay", pdg))
        elif block is not None and len(tokens) == 2 and (lha_id := _int(tokens[0])) is not None:
            value = _number(tokens[1])
            if value is not None:
                card.values[(block, lha_id)] = value
                card.name(comment, (block, lha_id))
    return card


def _generation(header: LHEHeader | None) -> _Card | None:
    if header is None:
        return None
    match = _CARD_TAG.search(header.raw_header or "")
    if match is None:
        return None
    card = _parse_card(_CDATA.sub(r"\1", match.group(2)))
    return card if card.values else None


@dataclass
class _Declared:
    """What the reweighting text of one weight sets."""

    values: dict[CardKey, float] = field(default_factory=dict)
    #: entries set to something that is not a number (``auto``, a ``scan:`` list)
    unknown: set[CardKey] = field(default_factory=set)
    #: ``set <name> <value>`` lines whose parameter name the param card does not resolve
    unresolved: list[str] = field(default_factory=list)
    #: lines that are not reweight-card syntax (a free description such as ``MUR=2.0``)
    other_lines: int = 0

    @property
    def sets_anything(self) -> bool:
        return bool(self.values or self.unknown or self.unresolved)

    def put(self, key: CardKey, text: str) -> None:
        value = _number(text)
        if value is None:
            self.values.pop(key, None)
            self.unknown.add(key)
        else:
            self.unknown.discard(key)
            self.values[key] = value


def _launch_name(arguments: Sequence[str]) -> str | None:
    for k, argument in enumerate(arguments):
        option, eq, value = argument.lstrip("-").partition("=")
        if option.lower() == "rwgt_name":
            if eq:
                return value
            return arguments[k + 1] if k + 1 < len(arguments) else None
    return None


def _parse_reweight_text(text: str, weight_id: str, names: Mapping[str, CardKey | None]) -> _Declared:
    """The entries a weight's ``<initrwgt>`` text sets, MadGraph reweight-card syntax.

    ``set [param_card] <block> <id> <value>``, ``set [param_card] <name> <value>`` (resolved through the
    param-card comments in ``names``), ``# comments``, ``change ...`` lines, ``BLOCK``/``DECAY`` card lines
    (MadGraph writes the whole new card when the model changes) and ``launch [--rwgt_name=X]`` lines: the
    lines after a launch that names another weight belong to that weight and are skipped.
    """
    out = _Declared()
    mine = True
    block: str | None = None
    for raw in html.unescape(text).splitlines():
        tokens = raw.partition("#")[0].split()
        if not tokens:
            continue
        head = tokens[0].lower()
        if head == "launch":
            name = _launch_name(tokens[1:])
            mine = name is None or name == weight_id
            block = None
            continue
        if not mine or head == "change":
            continue
        if head == "set":
            args = tokens[1:]
            if args and args[0].lower() == "param_card":
                args = args[1:]
            if len(args) >= 3 and all(_int(a) is not None for a in args[1:-1]):
                if len(args) == 3:  # entries with several indices (matrices) are no setup parameter
                    out.put((_block(args[0]), int(args[1])), args[2])
            elif len(args) == 2:
                key = names.get(args[0].lower())
                if key is None:
                    out.unresolved.append(args[0])
                else:
                    out.put(key, args[1])
            else:
                out.other_lines += 1
        elif head == "block":
            block = _block(tokens[1]) if len(tokens) > 1 else None
            if block in _SKIPPED_BLOCKS:
                block = None
        elif head == "decay" and len(tokens) >= 3 and _int(tokens[1]) is not None:
            out.put(("decay", int(tokens[1])), tokens[2])
            block = None
        elif block is not None and _int(tokens[0]) is not None:
            if len(tokens) == 2:
                out.put((block, int(tokens[0])), tokens[1])
        else:
            out.other_lines += 1
    return out


def _declarations(header: LHEHeader | None, card: _Card | None) -> dict[str, _Declared]:
    """Per weight id, what its reweighting text sets (see :func:`declared_benchmark_cards`)."""
    if header is None:
        return {}
    names = card.names if card is not None else {}
    parsed = {w.id: _parse_reweight_text(w.description, w.id, names) for w in header.weights}
    groups_that_set = {w.group for w in header.weights if parsed[w.id].sets_anything}
    out = {}
    for w in header.weights:
        declared = parsed[w.id]
        # MadGraph writes only the entries that differ from the original card: an empty text in a
        # reweighting group (one whose other weights set entries) is a point equal to the generation card
        empty_diff = declared.other_lines == 0 and w.group in groups_that_set
        if declared.sets_anything or empty_diff:
            out[w.id] = declared
    return out


def generation_card(header: LHEHeader) -> dict[CardKey, float] | None:
    """The param card of the header (``<slha>``, or MadGraph's older ``<MGParamCard>``): the point the events
    were generated at, ``{(block, id): value}`` with lower-case block names; ``DECAY`` widths are
    ``("decay", pdg)``. None when the header holds no card (or one without entries).

    Example:
        >>> from columnminer.io._lhe_header import parse_header_text
        >>> text = (
        ...     "<LesHouchesEvents version='3.0'><header><slha>\\nBLOCK DIM6 #\\n  2 5.000000e-01 # cwl2\\n"
        ...     "DECAY 25 4.07e-03 # wh\\n</slha></header>\\n<init>\\n2212 2212 6500 6500 0 0 0 0 3 0\\n</init>"
        ... )
        >>> generation_card(parse_header_text(text, "x.lhe"))
        {('dim6', 2): 0.5, ('decay', 25): 0.00407}
    """
    card = _generation(header)
    return None if card is None else dict(card.values)


def declared_benchmark_cards(header: LHEHeader) -> dict[str, dict[CardKey, float]]:
    """Per weight id, the param-card entries ``{(block, id): value}`` that its ``<initrwgt>`` text sets.

    The text is read as MadGraph's reweighting writes it (``set param_card dim6 2 0.5 # orig: 0.0``, one line
    per changed entry) and as a reweight card reads (``set dim6 2 0.5``, ``set <name> <value>`` with the name
    resolved through the comments of the header's param card, ``launch --rwgt_name=...`` and ``change`` lines,
    ``# comments``). Block names are lower case (``width`` is ``decay``); entries with several indices and
    non-numeric values (``auto``) are left out. A weight with an empty text in a group whose other weights set
    entries maps to ``{}``: MadGraph writes only the entries that differ from the generation card, so that
    weight is the generation point. Weights with free descriptions (``MUR=2.0``) are absent.

    Example:
        >>> from columnminer.io._lhe_header import parse_header_text
        >>> text = (
        ...     "<LesHouchesEvents version='3.0'><header><initrwgt>"
        ...     "<weightgroup name='mg_reweighting'><weight id='sm'></weight>"
        ...     "<weight id='bsm'>set param_card DIM6 2 0.5 # orig: 0.0\\n</weight></weightgroup>"
        ...     "</initrwgt></header>\\n<init>\\n2212 2212 6500 6500 0 0 0 0 3 0\\n</init>"
        ... )
        >>> declared_benchmark_cards(parse_header_text(text, "x.lhe"))
        {'sm': {}, 'bsm': {('dim6', 2): 0.5}}
    """
    return {wid: dict(d.values) for wid, d in _declarations(header, _generation(header)).items()}


def _expected(parameter: Parameter, theta: float) -> tuple[float | None, str | None]:
    """The setup's param-card value of ``parameter`` at ``theta``, or (None, why it is unknown)."""
    try:
        value = parameter.card_value(theta)
    except (MissingTransformError, ValueError, ArithmeticError, TypeError) as err:
        return None, f"its param-card transform cannot be evaluated ({err})"
    if not math.isfinite(value):
        return None, f"its param-card transform gives {value} at {theta!r}"
    return value, None


def _setup_text(parameter: Parameter, theta: float, value: float) -> str:
    if parameter.param_card_transform is None:
        return f"{value:.10g}"
    return f"{value:.10g} (param-card value of {parameter.name} = {theta:.10g})"


@dataclass
class _Checker:
    path: str
    rtol: float
    atol: float
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def compare(
        self,
        parameter: Parameter,
        theta: float,
        file_value: float | None,
        what: str,
        source: str,
        benchmark: str,
        weight_id: str | None,
    ) -> str | None:
        """None when the values agree (and were both known), else the reason the parameter is unverified."""
        if file_value is None:
            return "the file does not declare it"
        expected, why = _expected(parameter, theta)
        if expected is None:
            return why
        if math.isclose(file_value, expected, rel_tol=self.rtol, abs_tol=self.atol):
            return None
        self.mismatches.append(
            {
                "benchmark": benchmark,
                "weight_id": weight_id,
                "parameter": parameter.name,
                "lha_block": parameter.lha_block,
                "lha_id": int(parameter.lha_id),
                "file_value": file_value,
                "setup_value": expected,
                "theta": float(theta),
                "source": source,
            }
        )
        self.lines.append(
            f"  {what}, parameter {parameter.name!r} (LHA {parameter.lha_block} {parameter.lha_id}): "
            f"the file's value is {file_value:.10g} ({source}), the setup's value is "
            f"{_setup_text(parameter, theta, expected)}"
        )
        return None

    def raise_mismatches(self) -> None:
        """Raise :class:`~columnminer.errors.BenchmarkMismatchError` listing the differences, if any."""
        if not self.mismatches:
            return
        lines = self.lines[:_MAX_LISTED]
        if len(self.lines) > _MAX_LISTED:
            lines.append(f"  ... and {len(self.lines) - _MAX_LISTED} more")
        raise BenchmarkMismatchError(
            f"{self.path}: the file was made at other parameter values than the analysis setup's "
            f"({len(self.mismatches)} difference(s); rtol {self.rtol:g}, atol {self.atol:g}):\n"
            + "\n".join(lines),
            path=self.path,
            mismatches=tuple(self.mismatches),
        )


@dataclass
class _Tally:
    """What the check found so far: benchmarks verified, partly verified, unchecked, and why."""

    verified: list[str] = field(default_factory=list)
    #: benchmark -> the parameters not verified for it
    partial: dict[str, list[str]] = field(default_factory=dict)
    #: benchmarks whose weight has no reweighting text
    unchecked: list[str] = field(default_factory=list)
    #: parameter -> why it is unverified (the first reason met)
    why: dict[str, str] = field(default_factory=dict)
    #: generation-point parameter -> why it is unverified
    generation_missing: dict[str, str] = field(default_factory=dict)
    n_compared: int = 0


def _file_value(
    declared: _Declared, card: _Card | None, key: CardKey, wid: str
) -> tuple[float | None, str, str | None]:
    """(value, source, None) of an LHA entry for weight ``wid``, or (None, "", why it is unknown).

    An entry the weight's text does not set keeps the generation card's value (MadGraph's reweighting);
    the value is None with no reason when neither declares it (the checker then says so).
    """
    if key in declared.values:
        return declared.values[key], f"set by the reweighting text of weight {wid!r}", None
    if key in declared.unknown:
        return None, "", "the file sets it to a value that is not a number"
    if declared.unresolved:
        return None, "", f"the weight sets names the param card does not resolve: {declared.unresolved}"
    if card is not None and key in card.values:
        return (
            card.values[key],
            f"weight {wid!r} does not set it, so it keeps the generation card's value",
            None,
        )
    return None, "", None


def _check_weights(
    checker: _Checker,
    tally: _Tally,
    space: Any,
    names: Sequence[str],
    mapping: Mapping[str, str],
    header: LHEHeader | None,
    card: _Card | None,
) -> None:
    """Compare, for each benchmark in ``names``, the entries its weight declares with the setup's values."""
    declarations = _declarations(header, card)
    declared_ids = set(header.weight_ids) if header is not None else set()
    all_benchmarks = space.benchmarks
    for name in names:
        wid = mapping.get(name, name)
        if wid not in declared_ids:
            continue  # the weight reader names missing weights
        declared = declarations.get(wid)
        if declared is None:
            tally.unchecked.append(name)
            continue
        theta = all_benchmarks[name].values
        missing = []
        for p in space.parameters.values():
            value, source, reason = _file_value(declared, card, _key(p), wid)
            if reason is None:
                what = f"benchmark {name!r} (weight {wid!r})"
                reason = checker.compare(p, theta[p.name], value, what, source, name, wid)
            if reason is None:
                tally.n_compared += 1
            else:
                missing.append(p.name)
                tally.why.setdefault(p.name, reason)
        if missing:
            tally.partial[name] = missing
        else:
            tally.verified.append(name)


def _check_generation(
    checker: _Checker, tally: _Tally, space: Any, card: _Card | None, sampled_from_benchmark: str | None
) -> str:
    """Compare the header's param card with ``sampled_from_benchmark``: "verified", "partial", ... ."""
    if sampled_from_benchmark is None:
        return "not checked"
    if card is None:
        return "unverified"
    theta = space.benchmarks[sampled_from_benchmark].values
    parameters = list(space.parameters.values())
    what = f"generation point (the header's param card) vs sampled_from_benchmark {sampled_from_benchmark!r}"
    n_gen = 0
    for p in parameters:
        reason = checker.compare(
            p, theta[p.name], card.values.get(_key(p)), what, "generation card", sampled_from_benchmark, None
        )
        if reason is None:
            n_gen += 1
        else:
            tally.generation_missing[p.name] = reason
    tally.n_compared += n_gen
    return "verified" if n_gen == len(parameters) else "partial" if n_gen else "unverified"


def _unverified_reason(
    tally: _Tally, header: LHEHeader | None, card: _Card | None, sampled_from_benchmark: str | None
) -> str:
    """Why nothing at all could be compared."""
    if header is None:
        return "no LHE header"
    reasons = [
        "no weight of a benchmark has a reweighting text (set lines)"
        if not (tally.verified or tally.partial)
        else "the reweighting texts set none of the setup's parameters"
    ]
    if card is None:
        reasons.append("the header has no param card")
    elif sampled_from_benchmark is not None:
        reasons.append("its param card has none of the setup's LHA entries")
    return "; ".join(reasons)


def _partial_reason(tally: _Tally, generation: str, card: _Card | None) -> str:
    """What was left unchecked, for a partly verified file."""
    reasons = []
    if tally.unchecked:
        reasons.append(f"weights of {tally.unchecked} have no reweighting text")
    if tally.partial:
        details = ", ".join(f"{p} ({r})" for p, r in tally.why.items())
        reasons.append(f"parameters unchecked for {sorted(tally.partial)}: {details}")
    if generation == "unverified" and card is None:
        reasons.append("the header has no param card (generation point unchecked)")
    elif generation in ("partial", "unverified"):
        reasons.append(
            f"generation point {generation}: "
            + ", ".join(f"{p} ({r})" for p, r in tally.generation_missing.items())
        )
    return "; ".join(reasons)


def _note(
    path: str,
    tally: _Tally,
    generation: str,
    header: LHEHeader | None,
    card: _Card | None,
    sampled_from_benchmark: str | None,
) -> dict[str, Any]:
    """The provenance note of a check without mismatches (see :func:`check_sample_benchmarks`); logged."""
    note: dict[str, Any] = {
        "benchmark_check": "verified",
        "benchmarks": tally.verified,
        "generation": generation,
    }
    if tally.partial:
        note["partial"] = tally.partial
    if tally.unchecked:
        note["unchecked"] = tally.unchecked
    if tally.n_compared == 0:
        note = {
            "benchmark_check": "unverified",
            "reason": _unverified_reason(tally, header, card, sampled_from_benchmark),
        }
        if tally.unchecked:
            note["unchecked"] = tally.unchecked
        logger.warning(
            "%s: the benchmark values of this file could not be checked against the setup (%s); "
            "its weights are trusted to be at the setup's benchmarks",
            path,
            note["reason"],
        )
    elif tally.partial or tally.unchecked or generation in ("partial", "unverified"):
        note["benchmark_check"] = "partial"
        note["reason"] = _partial_reason(tally, generation, card)
        logger.warning("%s: benchmark values only partly checked against the setup: %s", path, note["reason"])
    else:
        logger.debug("%s: benchmark values verified for %s, generation %s", path, tally.verified, generation)
    return note


def check_sample_benchmarks(
    path: str | os.PathLike,
    header: LHEHeader | None,
    setup: Any,
    *,
    sampled_from_benchmark: str | None = None,
    is_background: bool = False,
    weight_mapping: Mapping[str, str] | None = None,
    benchmarks: Sequence[str] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-10,
) -> dict[str, Any]:
    """Check that an LHE file was made at the setup's parameter values; return a provenance note.

    For every benchmark of ``setup`` (an ``AnalysisSetup`` or ``ParameterSpace``; ``benchmarks`` restricts
    them) whose weight id (the benchmark name, or ``weight_mapping[name]``) the header declares with a
    reweighting text, the value of each parameter at its LHA entry is compared with
    ``parameter.card_value(theta_b)`` (the forward param-card transform: nothing is inverted). As in
    MadGraph's reweighting, an entry the weight's text does not set keeps the value of the generation card
    (the header's ``<slha>`` param card). For a signal sample the generation card is also compared with
    ``sampled_from_benchmark``. Values agree within ``rtol`` (relative) or ``atol`` (absolute); entries of
    the file that no parameter uses (SM inputs) are ignored.

    Any difference raises :class:`~columnminer.errors.BenchmarkMismatchError` naming the file, the benchmark,
    the parameter, its LHA entry and both values (all differences, one per line). Otherwise the returned
    JSON-ready note says what was verified: ``{"benchmark_check": "verified", "benchmarks": [checked names],
    "generation": "verified"}``; ``"partial"`` (with ``"partial"``: benchmark -> unverified parameters,
    ``"unchecked"``: benchmarks whose weight has no reweighting text, and a ``"reason"``) or ``"unverified"``
    (nothing could be compared, e.g. no reweighting text and no param card, or ``header`` None) log a warning.
    ``generation`` is ``"verified"``, ``"partial"``, ``"unverified"`` or ``"not checked"`` (no
    ``sampled_from_benchmark``). Background samples (their nominal weight goes to every benchmark) are not
    checked: ``{"benchmark_check": "not applicable", ...}``, logged at info level.

    Example:
        >>> import tempfile
        >>> from columnminer.io.lhe import read_lhe_header
        >>> from columnminer.simulators.golden import golden_setup, simulate_golden
        >>> setup = golden_setup()
        >>> info = simulate_golden(setup, 20, tempfile.mkdtemp(), n_background=0)
        >>> path = info["files"]["signal"]
        >>> note = check_sample_benchmarks(path, read_lhe_header(path), setup, sampled_from_benchmark="sm")
        >>> note["benchmark_check"], note["generation"], len(note["benchmarks"])
        ('verified', 'verified', 6)
    """
    path = os.fspath(path)
    space = getattr(setup, "parameter_space", setup)
    if is_background:
        logger.info("%s: background sample, its benchmark weights are not checked against the setup", path)
        return {
            "benchmark_check": "not applicable",
            "reason": "background sample: its nominal weight goes to every benchmark",
        }
    if sampled_from_benchmark is not None:
        space.benchmark_index(sampled_from_benchmark)  # raises naming unknown benchmarks
    names = space.benchmark_names if benchmarks is None else [str(b) for b in benchmarks]
    for name in names:
        space.benchmark_index(name)
    card = _generation(header)
    checker = _Checker(path, float(rtol), float(atol))
    tally = _Tally()
    _check_weights(checker, tally, space, names, dict(weight_mapping or {}), header, card)
    generation = _check_generation(checker, tally, space, card, sampled_from_benchmark)
    checker.raise_mismatches()
    return _note(path, tally, generation, header, card, sampled_from_benchmark)
