"""Systematic variations read from LHE headers: the PDF set of a file and the weight ids of each nuisance column.

MadGraph's systematics module (and SysCalc before it) declares one weight per scale and PDF variation in
``<initrwgt>``. :func:`pdf_systematic` turns the PDF group of such a header into the keyword arguments of
``AnalysisSetup.add_systematics("pdf", ...)``; :func:`variation_weight_ids` finds, for a
:class:`~columnminer.systematics.Systematic`, the weight id that fills each of its ``nuisance_weights``
columns. Variations a file lacks raise :class:`~columnminer.errors.MissingVariationError` naming the file,
the systematic and the variations the file has.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MissingVariationError
from ..systematics import Systematic
from ._lhe_header import LHEHeader, parse_header_text
from ._lhe_weights import optional_float, systematic_weights, weight_attribute

__all__ = [
    "PDFSet",
    "pdf_sets",
    "pdf_systematic",
    "reference_weight_ids",
    "scale_weights",
    "variation_weight_ids",
]

logger = logging.getLogger(__name__)

_SET_NAME = re.compile(r"^[A-Za-z][\w.+\-]*$")
_GENERIC = re.compile(r"^(pdf)?[_\s-]*(variations?|reweighting|weights?|sets?|errors?|pdf)?$", re.I)


@dataclass(frozen=True)
class PDFSet:
    """A PDF error set declared in an LHE header.

    Attributes:
        name: the set name (the weight group's name when it is an LHAPDF name, else the LHAPDF id).
        kind: "replicas", "hessian" or "symmhessian" (from the group's ``combine`` rule or the name).
        lhapdf_id: LHAPDF id of the central member (None when the header does not say).
        central: weight id of the central member (None when absent).
        members: weight ids of the error members, in header order (without alpha_s variations).
        alphas_members: weight ids of the alpha_s variations of a ``+as`` set (LHAPDF puts them last,
            two of them); they are no PDF error members and are left out of ``members``.

    Example:
        >>> s = PDFSet("NNPDF23_lo_as_0130_qed", "replicas", 247000, "8", ("9", "10"))
        >>> s.kind, s.central, len(s.members), s.alphas_members
        ('replicas', '8', 2, ())
    """

    name: str
    kind: str | None
    lhapdf_id: int | None
    central: str | None
    members: tuple[str, ...]
    alphas_members: tuple[str, ...] = ()


def _header(header_or_path: LHEHeader | str | os.PathLike) -> LHEHeader:
    if isinstance(header_or_path, LHEHeader):
        return header_or_path
    from ._lhe_source import ByteSource, read_header

    source = ByteSource(header_or_path, 1 << 20)
    try:
        return read_header(source)[0]
    finally:
        source.close()


def _kind(combine: str | None, name: str, n_members: int) -> str | None:
    rule = (combine or "").lower()
    if rule.startswith("symmhessian"):
        return "symmhessian"
    if rule.startswith(("hessian", "asymhessian")):
        return "hessian"
    if rule.startswith(("replicas", "gaussian")):
        return "replicas"
    upper = name.upper()
    if "NNPDF" in upper or upper.endswith("_MC"):
        return "replicas"
    if "PDF4LHC" in upper:
        return "symmhessian"
    return "hessian" if n_members % 2 == 0 and n_members else None


def _split_central(members: list[str], lhapdf: dict[str, float | None]) -> tuple[list[str], str | None]:
    """(error members, central member) of a set other than the generation PDF, whose central member is
    sorted among the variations: the first member, when the others follow its LHAPDF id (id + 1, ...)."""
    ids = [lhapdf.get(m) for m in members]
    if len(members) < 2 or any(i is None for i in ids):
        return members, None
    first = ids[0]
    if all(i > first for i in ids[1:]) and min(ids[1:]) == first + 1:  # type: ignore[operator]
        return members[1:], members[0]
    return members, None


def pdf_sets(header_or_path: LHEHeader | str | os.PathLike) -> list[PDFSet]:
    """The PDF error sets of an LHE file (header or path), one per weight group holding PDF variations.

    Example:
        >>> [(s.name, s.kind, s.lhapdf_id, s.central, s.members) for s in pdf_sets(_example_header())]
        [('NNPDF23_lo_as_0130_qed', 'replicas', 247000, '8', ('9', '10'))]
    """
    header = _header(header_or_path)
    variations = set(systematic_weights(header).pdf)
    groups = {g.name: g for g in header.weight_groups}
    by_group: dict[str | None, list[str]] = {}
    for w in header.weights:
        if w.id in variations:
            by_group.setdefault(w.group, []).append(w.id)
    lhapdf = {w.id: optional_float(weight_attribute(w, "pdf", "lhapdf")) for w in header.weights}
    out = []
    for group_name, members in by_group.items():
        group = groups.get(group_name) if group_name else None
        central = group.weight_ids[0] if group and group.weight_ids[0] not in variations else None
        if central is None:
            members, central = _split_central(members, lhapdf)
        ids = [lhapdf[m] for m in members if lhapdf[m] is not None]
        lhapdf_id = lhapdf.get(central) if central else None
        lhapdf_id = int(lhapdf_id) if lhapdf_id is not None else (int(min(ids)) - 1 if ids else None)
        label = group_name or ""
        if not _SET_NAME.match(label) or _GENERIC.match(label):
            label = str(lhapdf_id) if lhapdf_id is not None else (label or "pdf")
        combine = group.combine if group else None
        n_alphas = 2 if "+as" in (combine or "").lower() and len(members) > 2 else 0
        errors, alphas = members[: len(members) - n_alphas], members[len(members) - n_alphas :]
        kind = _kind(combine, label, len(errors))
        out.append(PDFSet(label, kind, lhapdf_id, central, tuple(errors), tuple(alphas)))
    return out


def _describe_sets(sets: Sequence[PDFSet]) -> str:
    return ", ".join(f"{s.name} (LHAPDF {s.lhapdf_id}, {len(s.members)} members)" for s in sets) or "none"


def pdf_systematic(
    header_or_path: LHEHeader | str | os.PathLike,
    name: str = "pdf",
    n_components: int | None = None,
    pdf_variation: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``setup.add_systematics("pdf", **...)`` for the PDF error set of an LHE file.

    ``pdf_variation`` (a set name or LHAPDF id) picks one of several sets; by default the set of the
    file's central PDF, else the first. The kind comes from the group's ``combine`` rule (``gaussian``
    counts as replicas), else from the set name (NNPDF: replicas, PDF4LHC: symmetric Hessian), else
    Hessian. The two alpha_s members of a ``+as`` set (``combine="hessian+as"``...) are no error
    members and are not counted (LHAPDF's convention: they come last).

    Example:
        >>> pdf_systematic(_example_header())
        {'systematic_name': 'pdf', 'pdf_variation': 'NNPDF23_lo_as_0130_qed', 'pdf_members': 2,
         'pdf_kind': 'replicas', 'n_components': None}
    """
    header = _header(header_or_path)
    chosen = _pdf_set(header, pdf_variation, name)
    if chosen.kind is None:
        raise MissingVariationError(
            f"{header.path}: cannot tell whether PDF set {chosen.name!r} is Hessian or replicas; give "
            "pdf_kind to add_systematics yourself",
            path=header.path,
            field=chosen.name,
        )
    return {
        "systematic_name": name,
        "pdf_variation": chosen.name,
        "pdf_members": len(chosen.members),
        "pdf_kind": chosen.kind,
        "n_components": n_components,
    }


def _pdf_set(header: LHEHeader, pdf_variation: str | None, systematic: str) -> PDFSet:
    sets = pdf_sets(header)
    if not sets:
        raise MissingVariationError(
            f"{header.path}: no PDF variation weights for systematic {systematic!r}; the file declares "
            f"{len(header.weights)} weights and none varies the PDF",
            path=header.path,
            field="pdf",
        )
    if pdf_variation is None:
        central = [s for s in sets if s.lhapdf_id == header.pdf_sets[0]]
        return (central or sets)[0]
    wanted = str(pdf_variation).strip().lower()
    for s in sets:
        if wanted in (s.name.lower(), str(s.lhapdf_id)):
            return s
    raise MissingVariationError(
        f"{header.path}: no weights of PDF set {pdf_variation!r} for systematic {systematic!r}; PDF sets "
        f"present: {_describe_sets(sets)}",
        path=header.path,
        field=str(pdf_variation),
    )


def scale_weights(header_or_path: LHEHeader | str | os.PathLike) -> dict[str, tuple[float, float]]:
    """Static scale variations of an LHE file: weight id -> (muR, muF) factors (no dynamic-scale change).

    Example:
        >>> scale_weights(_example_header())
        {'1': (2.0, 2.0), '3': (0.5, 0.5), '4': (2.0, 1.0), '5': (0.5, 1.0), '6': (1.0, 2.0), '7': (1.0, 0.5)}
    """
    header = _header(header_or_path)
    sorted_ = systematic_weights(header)
    static = {}
    for w in header.weights:
        if w.id not in sorted_.scale_factors:
            continue
        dyn = weight_attribute(w, "dyn_scale")
        dynamic = dyn not in (None, "", "-1") or (dyn is None and "dyn_scale" in w.description.lower())
        if not dynamic:
            static[w.id] = sorted_.scale_factors[w.id]
    return static


def _scale_ids(header: LHEHeader, systematic: Systematic) -> dict[str, str | None]:
    static = scale_weights(header)
    up, down = systematic.scale_factors
    out: dict[str, str | None] = {}
    for column, factor in ((f"{systematic.name}_up", up), (f"{systematic.name}_down", down)):
        if factor is None:
            continue
        target = {"mu": (factor, factor), "mur": (factor, 1.0), "muf": (1.0, factor)}[systematic.scale]
        found = [
            wid
            for wid, pair in static.items()
            if all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(pair, target, strict=True))
        ]
        if not found:
            present = ", ".join(f"MUR={r:g} MUF={f:g} [{wid}]" for wid, (r, f) in static.items()) or "none"
            raise MissingVariationError(
                f"no weight with MUR={target[0]:g} MUF={target[1]:g} for systematic {systematic.name!r} in "
                f"{header.path}; scale weights present: {present}",
                path=header.path,
                field=f"MUR={target[0]:g} MUF={target[1]:g}",
            )
        out[column] = found[0]
    return out


def variation_weight_ids(
    header_or_path: LHEHeader | str | os.PathLike, systematic: Systematic
) -> dict[str, str | None]:
    """The LHE weight id for each nuisance column of ``systematic`` (None: computed from the nominal weight).

    Scale: the static weight with (muR, muF) = (f, f) for ``scale="mu"``, (f, 1) for "mur", (1, f) for
    "muf" at the up and down factors. PDF: the error members of the systematic's set in order, without
    the central member. Norm: no weight (nominal times ``norm_variation``).

    Example:
        >>> header = _example_header()
        >>> variation_weight_ids(header, Systematic("mu", "scale", scale="mur"))
        {'mu_up': '4', 'mu_down': '5'}
        >>> variation_weight_ids(header, Systematic("pdf", "pdf", pdf_members=2))
        {'pdf_member_1': '9', 'pdf_member_2': '10'}
        >>> variation_weight_ids(header, Systematic("lumi", "norm"))
        {'lumi': None}
    """
    header = _header(header_or_path)
    if systematic.effect == "norm":
        return {column: None for column in systematic.column_names}
    if systematic.effect == "scale":
        return _scale_ids(header, systematic)
    chosen = _pdf_set(header, systematic.pdf_variation, systematic.name)
    if len(chosen.members) != systematic.pdf_members:
        raise MissingVariationError(
            f"{header.path}: PDF set {chosen.name!r} has {len(chosen.members)} error members but systematic "
            f"{systematic.name!r} expects {systematic.pdf_members}",
            path=header.path,
            field=chosen.name,
        )
    return dict(zip(systematic.column_names, chosen.members, strict=True))


def reference_weight_ids(
    header_or_path: LHEHeader | str | os.PathLike, systematic: Systematic
) -> dict[str, str | None]:
    """The LHE weight id each nuisance column of ``systematic`` is measured against (None: the nominal weight).

    PDF members are varied against their own set's central member (member 0), not against the generation
    weight, so that a set other than the generation PDF gives :math:`L_k - L_0` (see
    :func:`columnminer.systematics.relative_to_reference`); when the header has no central member of the
    set, the nominal weight is the reference. Norm and scale columns: always the nominal weight.

    Example:
        >>> header = _example_header()
        >>> reference_weight_ids(header, Systematic("pdf", "pdf", pdf_members=2))
        {'pdf_member_1': '8', 'pdf_member_2': '8'}
        >>> reference_weight_ids(header, Systematic("mu", "scale"))
        {'mu_up': None, 'mu_down': None}
    """
    if systematic.effect != "pdf":
        return {column: None for column in systematic.column_names}
    header = _header(header_or_path)
    central = _pdf_set(header, systematic.pdf_variation, systematic.name).central
    return {column: central for column in systematic.column_names}


_EXAMPLE = """<LesHouchesEvents version="3.0">
<header>
<initrwgt>
<weightgroup name="Central scale variation" combine="envelope">
<weight id="1" MUR="2.0" MUF="2.0" PDF="247000"> MUR=2 MUF=2 </weight>
<weight id="2" MUR="2.0" MUF="2.0" DYN_SCALE="1" PDF="247000"> dynamic </weight>
<weight id="3" MUR="0.5" MUF="0.5" PDF="247000"> </weight>
<weight id="4" MUR="2.0" MUF="1.0" PDF="247000"> </weight>
<weight id="5" MUR="0.5" MUF="1.0" PDF="247000"> </weight>
<weight id="6" MUR="1.0" MUF="2.0" PDF="247000"> </weight>
<weight id="7" MUR="1.0" MUF="0.5" PDF="247000"> </weight>
</weightgroup>
<weightgroup name="NNPDF23_lo_as_0130_qed" combine="replicas">
<weight id="8" MUR="1.0" MUF="1.0" PDF="247000"> </weight>
<weight id="9" MUR="1.0" MUF="1.0" PDF="247001"> </weight>
<weight id="10" MUR="1.0" MUF="1.0" PDF="247002"> </weight>
</weightgroup>
</initrwgt>
</header>
<init>
2212 2212 6500 6500 0 0 247000 247000 -4 1
1.0 0.1 1.0 1
</init>
"""


def _example_header() -> LHEHeader:
    """A MadGraph-style header with static and dynamic scale weights and a two-replica PDF set."""
    return parse_header_text(_EXAMPLE, "example.lhe")
