"""LHE event weights: cross-section normalisation, benchmark columns, scale and PDF variations."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from ..errors import MissingWeightError
from ._lhe_header import LHEHeader, LHEWeightInfo

__all__ = [
    "NOMINAL_WEIGHT",
    "SystematicWeights",
    "benchmark_weight_ids",
    "benchmark_weights",
    "normalize_weights",
    "systematic_weights",
    "weight_scale_factor",
]

#: The weight id that reads the event weight XWGTUP itself (the HEPEUP line) when a file declares no weight of
#: that id: the column of the benchmark a MadGraph run was generated at, which is not reweighted.
NOMINAL_WEIGHT = "XWGTUP"

_PDF_COMBINE = {"replicas", "hessian", "symmhessian", "gaussian", "asymhessian", "hessian_pdfas"}


def weight_scale_factor(header: LHEHeader, *, n_events: int, event_norm: str | None = None) -> float:
    """Factor that turns the event weights of one file into cross-section contributions (pb per event).

    After multiplying by it, the weights of the ``n_events`` events of the file sum to the cross
    section. ``event_norm`` defaults to the MadGraph run card's: ``"average"`` (MadGraph's default:
    each weight is an estimate of the cross section, factor ``1 / n_events``), ``"sum"`` (the weights
    already sum to the cross section, factor 1) or ``"unity"`` (each event carries the same
    magnitude; factor ``xsec / (n_events * |XMAXUP|)`` with the total cross section and the first
    process's maximal weight from ``<init>``). Without a run card the LHEF weighting strategy
    decides: IDWTUP = +-4 means ``average``, +-3 means ``unity``.

    Example::

        >>> from columnminer.io.lhe import example_lhe_file, read_lhe_header
        >>> h = read_lhe_header(example_lhe_file())   # IDWTUP = -4 and no run card: "average"
        >>> weight_scale_factor(h, n_events=2), weight_scale_factor(h, n_events=2, event_norm="sum")
        (0.5, 1.0)
    """
    norm = (event_norm or header.event_norm or "").lower()
    if not norm:
        norm = {4: "average", 3: "unity"}.get(abs(header.weighting_strategy), "")
    if n_events <= 0:
        raise ValueError("n_events must be positive")
    if norm in ("average", "bias"):
        return 1.0 / n_events
    if norm == "sum":
        return 1.0
    if norm == "unity":
        xmax = abs(header.processes[0].max_weight) if header.processes else 1.0
        return header.xsec / (n_events * (xmax or 1.0))
    raise ValueError(
        f"{header.path}: cannot tell how the weights are normalised (event_norm={norm or None!r}, "
        f"IDWTUP={header.weighting_strategy}); pass event_norm='average', 'sum' or 'unity'"
    )


def normalize_weights(events: ak.Array, factor: float) -> ak.Array:
    """Return ``events`` with ``weight`` and every field of ``weights`` multiplied by ``factor``.

    Example::

        >>> from columnminer.io.lhe import example_lhe_file, read_lhe
        >>> normalize_weights(read_lhe(example_lhe_file()), 0.5).weights.sm.tolist()
        [0.5, 1.0]
    """
    out = ak.with_field(events, events.weight * factor, "weight")
    if "weights" in ak.fields(events) and ak.fields(events.weights):
        scaled = ak.zip({f: events.weights[f] * factor for f in ak.fields(events.weights)}, depth_limit=1)
        out = ak.with_field(out, scaled, "weights")
    return out


def _missing_weight(path: str, wid: str, event: int, detail: str) -> MissingWeightError:
    """The :class:`~columnminer.errors.MissingWeightError` of weight ``wid``, first missing in ``event``."""
    return MissingWeightError(f"{path}: {detail}", path=path, event=event, field=wid)


def benchmark_weights(
    events: ak.Array,
    benchmarks: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    *,
    path: str | None = None,
    nominal: np.ndarray | None = None,
) -> np.ndarray:
    """Weights of the named benchmarks as a float64 array of shape [n_events, n_benchmarks].

    MadGraph's reweighting names each weight after its benchmark, so by default benchmark ``b``
    reads weight id ``b``; ``mapping`` ({benchmark: weight_id}) overrides that for some or all.
    ``events`` is an array from :func:`read_lhe` / :func:`iterate_lhe` (or its ``weights`` record).
    The id :data:`NOMINAL_WEIGHT` (``"XWGTUP"``), when the file declares no weight of that id, is the
    event weight itself: ``nominal`` [n_events] when given (e.g. the LHE weights of Delphes events),
    else ``events.weight``. That is the column of the benchmark a MadGraph run was sampled at, which is
    never reweighted (:func:`columnminer.madgraph.process.benchmark_weight_mapping`; older MadGraph
    versions skip a reweighting identical to the generation and write no weight of its name). A weight
    that is absent from the file, or NaN (missing) in some event, raises
    :class:`~columnminer.errors.MissingWeightError` naming the file, the weight id and the first
    event (index in the file) that lacks it. Units: those of the file (pb for MadGraph).

    Example::

        >>> from columnminer.io.lhe import example_lhe_file, read_lhe
        >>> ev = read_lhe(example_lhe_file())
        >>> benchmark_weights(ev, ["sm", "theory"], {"theory": "sm"}).tolist()
        [[1.0, 1.0], [2.0, 2.0]]
        >>> benchmark_weights(ev, ["gen"], {"gen": "XWGTUP"}).tolist()  # the event weight XWGTUP
        [[1.0], [2.0]]
        >>> benchmark_weights(ev, ["bsm"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        columnminer.errors.MissingWeightError: ...: weight 'bsm' (benchmark 'bsm') is missing in event 1 ...
    """
    attrs = events.attrs or {}
    path = path or attrs.get("lhe_path", "<events>")
    first = int(attrs.get("lhe_first_event", 0))
    weights = events.weights if "weights" in ak.fields(events) else events
    present = set(ak.fields(weights))
    mapping = dict(mapping or {})
    out = np.empty((len(weights), len(benchmarks)), np.float64)
    for k, name in enumerate(benchmarks):
        wid = mapping.get(name, name)
        if wid in present:
            col = ak.to_numpy(weights[wid]).astype(np.float64)
        elif wid == NOMINAL_WEIGHT and (nominal is not None or "weight" in ak.fields(events)):
            col = np.asarray(ak.to_numpy(events.weight) if nominal is None else nominal, dtype=np.float64)
        else:
            detail = f"no weight with id {wid!r} (benchmark {name!r}) in the file"
            raise _missing_weight(
                path, wid, first, f"{detail}; event {first} is the first event that lacks it"
            )
        bad = np.flatnonzero(np.isnan(col))
        if bad.size:
            event = first + int(bad[0])
            detail = (
                f"weight {wid!r} (benchmark {name!r}) is missing in event {event} "
                f"(the first of {bad.size} events without it)"
            )
            raise _missing_weight(path, wid, event, detail)
        out[:, k] = col
    return out


def benchmark_weight_ids(
    header: LHEHeader, benchmarks: Sequence[str], mapping: Mapping[str, str] | None = None
) -> list[str]:
    """Weight ids of the named benchmarks, checked against the header's ``<initrwgt>`` declarations.

    Same naming rule as :func:`benchmark_weights` (the id is the benchmark name unless ``mapping``
    says otherwise; :data:`NOMINAL_WEIGHT` is the event weight, which every file has). A benchmark whose
    id the header does not declare raises :class:`~columnminer.errors.MissingWeightError` naming the
    file and the id (event 0: every event of such a file lacks it) before any event is read.

    Example::

        >>> from columnminer.io.lhe import example_lhe_file, read_lhe_header
        >>> benchmark_weight_ids(read_lhe_header(example_lhe_file()), ["sm", "alt"], {"alt": "bsm"})
        ['sm', 'bsm']
    """
    declared = set(header.weight_ids) | {NOMINAL_WEIGHT}
    mapping = dict(mapping or {})
    ids = []
    for name in benchmarks:
        wid = mapping.get(name, name)
        if wid not in declared:
            detail = f"the header declares no weight with id {wid!r} (benchmark {name!r})"
            raise _missing_weight(header.path, wid, 0, f"{detail}; event 0 is the first event that lacks it")
        ids.append(wid)
    return ids


@dataclass
class SystematicWeights:
    """Weight ids sorted into the nominal weight, scale variations, PDF variations and the rest.

    ``scale_factors`` maps a scale-variation id to its (muR, muF) factors (NaN where not stated);
    ``pdf_members`` maps a PDF-variation id to its LHAPDF id when the header states it; the
    ``*_combine`` fields repeat the ``combine`` attributes of the groups (``envelope``, ``replicas``,
    ``hessian``...).

    Example::

        >>> s = SystematicWeights(nominal="1", scale=["2"], scale_factors={"2": (2.0, 2.0)})
        >>> s.nominal, s.scale, s.pdf
        ('1', ['2'], [])
    """

    nominal: str | None = None
    scale: list[str] = field(default_factory=list)
    pdf: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    scale_factors: dict[str, tuple[float, float]] = field(default_factory=dict)
    pdf_members: dict[str, int] = field(default_factory=dict)
    scale_combine: str | None = None
    pdf_combine: str | None = None


def weight_attribute(w: LHEWeightInfo, *names: str) -> str | None:
    """The value of the first of ``names`` (lower case) among the attributes of a ``<weight>`` tag, matched
    case-insensitively; None when it has none of them.

    Example:
        >>> from columnminer.io._lhe_header import LHEWeightInfo
        >>> w = LHEWeightInfo(id="2", description="", attributes={"MUR": "2.0"})
        >>> weight_attribute(w, "mur"), weight_attribute(w, "pdf", "lhapdf")
        ('2.0', None)
    """
    lower = {k.lower(): v for k, v in w.attributes.items()}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _text_value(text: str, key: str) -> float | None:
    m = re.search(rf"\b{key}\s*=\s*([-+0-9.eEdD]+)", text, re.I)
    if not m:
        return None
    try:
        return float(m.group(1).lower().replace("d", "e"))
    except ValueError:
        return None


def optional_float(v: str | None) -> float | None:
    """``float(v)``, or None when ``v`` is None or not a number.

    Example:
        >>> optional_float("0.5"), optional_float("dyn"), optional_float(None)
        (0.5, None, None)
    """
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def systematic_weights(header: LHEHeader) -> SystematicWeights:
    """Sort the declared weights into scale and PDF variations from the header alone.

    A weight is a scale variation when its group says so (``combine="envelope"``, a name or type
    mentioning "scale") or when its ``MUR``/``MUF`` attributes (or ``muR=``/``muF=`` in its text)
    differ from 1 or it sets ``DYN_SCALE``; a PDF variation when its group is a PDF group
    (``combine`` = replicas/hessian/..., a name mentioning "pdf") or its ``PDF`` attribute differs
    from the central set of ``<init>``. The nominal weight is the first with muR = muF = 1, the
    central PDF and no dynamic-scale change. No weight id is hard-coded.

    Example::

        >>> from columnminer.io.lhe import example_lhe_file, read_lhe_header
        >>> s = systematic_weights(read_lhe_header(example_lhe_file()))
        >>> s.nominal, s.scale, s.pdf, s.other     # plain benchmark weights: no variation
        (None, [], [], ['sm', 'bsm'])

        On MadGraph 3.5.8 pp -> jj (44 scale weights, then NNPDF23 member 0..100) this gives
        ``nominal == "45"``, 44 scale and 100 PDF variations.
    """
    out = SystematicWeights()
    groups = {g.name: g for g in header.weight_groups}
    central = header.pdf_sets[0]
    group_first: dict[str, str] = {}
    for w in header.weights:
        g = groups.get(w.group) if w.group else None
        gname = (g.name if g else "").lower() + " " + (g.attributes.get("type", "") if g else "").lower()
        combine = (g.combine or "").lower() if g else ""
        if g is not None:
            group_first.setdefault(g.name, w.id)
        mur = optional_float(weight_attribute(w, "mur")) or _text_value(w.description, "mur")
        muf = optional_float(weight_attribute(w, "muf")) or _text_value(w.description, "muf")
        dyn = weight_attribute(w, "dyn_scale")
        pdf = optional_float(weight_attribute(w, "pdf", "lhapdf"))
        scale_group = combine == "envelope" or "scale" in gname
        pdf_group = combine in _PDF_COMBINE or "pdf" in gname
        off_scale = (mur not in (None, 1.0)) or (muf not in (None, 1.0)) or (dyn not in (None, "", "-1"))
        off_pdf = (
            pdf is not None
            and int(pdf) != central
            and not (pdf_group and g is not None and group_first.get(g.name) == w.id)
        )
        if off_scale:
            out.scale.append(w.id)
            out.scale_factors[w.id] = (mur if mur is not None else 1.0, muf if muf is not None else 1.0)
            out.scale_combine = out.scale_combine or (combine or None)
        elif off_pdf or (pdf_group and g is not None and group_first.get(g.name) != w.id):
            out.pdf.append(w.id)
            if pdf is not None:
                out.pdf_members[w.id] = int(pdf)
            out.pdf_combine = out.pdf_combine or (combine or None)
        elif out.nominal is None and (scale_group or pdf_group or mur is not None or pdf is not None):
            out.nominal = w.id
        else:
            out.other.append(w.id)
    return out
