"""Analysis: observables, cuts and efficiencies as vectorised callables on an events array."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from .display import html_summary, text_summary
from .errors import AnalysisError
from .events import leptons, nth

__all__ = ["Analysis", "AnalysisResult", "Cut", "Efficiency", "Observable"]

logger = logging.getLogger(__name__)

EventFunction = Callable[[ak.Array], Any]

#: (attribute, name prefix, symbol, unit) of the kinematic observables of an object in
#: :meth:`Analysis.add_default_observables`.
_KINEMATICS = (
    ("E", "e", "E", "GeV"),
    ("pt", "pt", "p_T", "GeV"),
    ("eta", "eta", r"\eta", ""),
    ("phi", "phi", r"\phi", "rad"),
)


@dataclass(frozen=True)
class Observable:
    r"""A named column: ``fn(events)`` returns one number per event.

    Undefined values (None from a missing object, NaN) drop the event when ``required``; otherwise they
    become ``default``. With neither, an undefined value is an error that names the observable.
    ``label`` (mathtext / LaTeX, e.g. ``r"$m_{4\ell}$"``) and ``unit`` (``"GeV"``, ``"rad"``, ``""`` for a
    dimensionless number; None: not known) are what plots write on an axis (see
    :meth:`Analysis.observable_info`).

    Example:
        >>> o = Observable("pt4l", lambda ev: ev.pt4l, required=True, label="$p_T^{4l}$", unit="GeV")
        >>> o.info(), Observable("n_jets", lambda ev: ev.n).info()
        ({'label': '$p_T^{4l}$', 'unit': 'GeV'}, {'label': 'n_jets', 'unit': ''})
    """

    name: str
    fn: EventFunction
    required: bool = False
    default: float | None = None
    label: str | None = None
    unit: str | None = None

    def info(self) -> dict[str, str]:
        """The JSON-able axis description ``{"label": label or name, "unit": unit or ""}``."""
        return {"label": self.label or self.name, "unit": self.unit or ""}


@dataclass(frozen=True)
class Cut:
    """A selection: ``fn(events)`` returns one bool per event (True = keep).

    ``required``: the cut must be evaluable; events where it is undefined (None, e.g. a missing object)
    fail it. With ``required=False`` such events pass.

    Example:
        >>> import awkward as ak
        >>> analysis = Analysis()
        >>> analysis.add_cut(lambda ev: ev.x > 1.0, name="x > 1")
        >>> analysis.cuts[0].name, analysis.evaluate(ak.Array({"x": [0.5, 2.0]})).keep.tolist()
        ('x > 1', [False, True])
    """

    name: str
    fn: EventFunction
    required: bool = True


@dataclass(frozen=True)
class Efficiency:
    """A per-event factor multiplying every weight (trigger, identification...); undefined -> ``default``.

    Example:
        >>> import awkward as ak
        >>> analysis = Analysis()
        >>> analysis.add_efficiency(lambda ev: ev.eff, name="trigger")
        >>> analysis.evaluate(ak.Array({"eff": [0.9, None]})).efficiencies.tolist()
        [0.9, 1.0]
    """

    name: str
    fn: EventFunction
    default: float = 1.0


@dataclass
class AnalysisResult:
    """What :meth:`Analysis.evaluate` returns for one chunk of events.

    ``keep`` [n_events] selects the surviving events; ``observables`` [n_kept, n_observables] and
    ``efficiencies`` [n_kept] (the product of all efficiency factors) are for the survivors only;
    ``counts`` maps each definition to (n_evaluated, n_passed).

    Example:
        >>> import awkward as ak
        >>> analysis = Analysis()
        >>> analysis.add_observable("x", lambda ev: ev.x, required=True)
        >>> result = analysis.evaluate(ak.Array({"x": [1.0, None, 3.0]}))
        >>> result.keep.tolist(), result.observables.tolist(), result.counts
        ([True, False, True], [[1.0], [3.0]], {'observable x': (3, 2)})
        >>> result.merge_counts({"observable x": (10, 9)})
        {'observable x': (13, 11)}
    """

    keep: np.ndarray
    observables: np.ndarray
    efficiencies: np.ndarray
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def merge_counts(self, other: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Counts summed with ``other`` (for totals over chunks)."""
        merged = dict(other)
        for name, (n, passed) in self.counts.items():
            n0, p0 = merged.get(name, (0, 0))
            merged[name] = (n0 + n, p0 + passed)
        return merged


def _evaluate(kind: str, name: str, fn: EventFunction, events: ak.Array) -> np.ndarray:
    """Call a definition; return a flat float64 array with NaN for undefined entries."""
    try:
        values = fn(events)
    except (AttributeError, KeyError, ak.errors.FieldNotFoundError) as err:
        raise AnalysisError(
            f"{kind} {name!r} failed: {type(err).__name__}: {err}. The events have fields {ak.fields(events)}"
        ) from err
    except Exception as err:
        raise AnalysisError(f"{kind} {name!r} failed: {type(err).__name__}: {err}") from err
    n = len(events)
    if isinstance(values, int | float | bool | np.number | np.bool_):
        return np.full(n, float(values))
    if isinstance(values, ak.Array):
        if values.ndim != 1:
            raise AnalysisError(
                f"{kind} {name!r} must give one value per event, got an array of type {values.type}; "
                "pick one object per event (e.g. columnminer.events.nth(events.j, 0).pt)"
            )
        values = ak.to_numpy(ak.fill_none(values, np.nan), allow_missing=False)
    if isinstance(values, np.ma.MaskedArray):  # e.g. to_numpy() of an option type: masked = undefined
        values = values.astype(np.float64).filled(np.nan)
    array = np.asarray(values)
    if array.shape != (n,):
        raise AnalysisError(f"{kind} {name!r} must give {n} values (one per event), got shape {array.shape}")
    if array.dtype == object:
        raise AnalysisError(f"{kind} {name!r} returned Python objects, not numbers")
    return array.astype(np.float64)


class Analysis:
    """Observables, cuts and efficiencies, evaluated together on an events array (see
    :mod:`columnminer.events` for the event model). Every definition is a callable; nothing is ever
    parsed from a string.

    Example:
        >>> import awkward as ak, numpy as np
        >>> from columnminer.events import build_collection, make_met
        >>> e = build_collection(ak.Array([[40.0, 30.0], [25.0]]), ak.Array([[0.1, -0.4], [1.0]]),
        ...                      ak.Array([[0.0, 2.0], [1.0]]), ak.Array([[41.0, 33.0], [40.0]]),
        ...                      ak.Array([[-1.0, 1.0], [-1.0]]), ak.Array([[11, -11], [11]]))
        >>> events = ak.zip({"e": e, "met": make_met(np.zeros(2), np.ones(2))}, depth_limit=1)
        >>> analysis = Analysis()
        >>> from columnminer.events import pair_sum
        >>> analysis.add_observable("mee", lambda ev: pair_sum(ev.e).mass, required=True)
        >>> analysis.add_cut(lambda ev: ev.met.pt < 10.0, name="low met")
        >>> result = analysis.evaluate(events)
        >>> result.keep.tolist(), result.observables.shape  # event 2 has one electron: no mee
        ([True, False], (1, 1))
    """

    def __init__(self) -> None:
        self.observables: list[Observable] = []
        self.cuts: list[Cut] = []
        self.efficiencies: list[Efficiency] = []

    @property
    def observable_names(self) -> list[str]:
        return [o.name for o in self.observables]

    def _summary_rows(self) -> list[tuple[str, Any]]:
        return [
            ("observables", ", ".join(self.observable_names) or "none"),
            ("cuts", ", ".join(c.name for c in self.cuts) or "none"),
            ("efficiencies", ", ".join(e.name for e in self.efficiencies) or "none"),
        ]

    def __repr__(self) -> str:
        return text_summary("Analysis", self._summary_rows())

    def _repr_html_(self) -> str:
        return html_summary("Analysis", self._summary_rows())

    def add_observable(
        self,
        name: str,
        fn: EventFunction,
        required: bool = False,
        default: float | None = None,
        label: str | None = None,
        unit: str | None = None,
    ) -> None:
        """Add an observable ``fn(events) -> one number per event`` (see :class:`Observable`), with an
        optional axis ``label`` and ``unit`` ("GeV", "rad", "" when dimensionless)."""
        if not callable(fn):
            raise AnalysisError(
                f"observable {name!r}: the definition must be a callable on the events array, got {fn!r}"
            )
        if name in self.observable_names:
            raise AnalysisError(f"duplicate observable name {name!r}")
        self.observables.append(
            Observable(name, fn, bool(required), None if default is None else float(default), label, unit)
        )

    def observable_info(self) -> dict[str, dict[str, str]]:
        """Per observable its axis label and unit, ``{name: {"label": ..., "unit": ...}}`` (JSON-able; the
        name and "" where none was given). Stored in an event store's metadata under ``"observable_info"``,
        where the plots read it.

        Example:
            >>> analysis = Analysis()
            >>> analysis.add_observable("mZ2", lambda ev: ev.mZ2, label="$m_{Z_2}$", unit="GeV")
            >>> analysis.add_observable("n_jets", lambda ev: ev.n)
            >>> analysis.observable_info()
            {'mZ2': {'label': '$m_{Z_2}$', 'unit': 'GeV'}, 'n_jets': {'label': 'n_jets', 'unit': ''}}
        """
        return {o.name: o.info() for o in self.observables}

    def add_cut(self, fn: EventFunction, name: str | None = None, required: bool = True) -> None:
        """Add a cut ``fn(events) -> one bool per event`` (see :class:`Cut`)."""
        if not callable(fn):
            raise AnalysisError(f"cut {name!r}: the definition must be a callable, got {fn!r}")
        self.cuts.append(Cut(name or f"cut_{len(self.cuts)}", fn, bool(required)))

    def add_efficiency(self, fn: EventFunction, name: str | None = None, default: float = 1.0) -> None:
        """Add an efficiency ``fn(events) -> one factor per event`` (see :class:`Efficiency`)."""
        if not callable(fn):
            raise AnalysisError(f"efficiency {name!r}: the definition must be a callable, got {fn!r}")
        self.efficiencies.append(
            Efficiency(name or f"efficiency_{len(self.efficiencies)}", fn, float(default))
        )

    def reset_observables(self) -> None:
        self.observables = []

    def reset_cuts(self) -> None:
        self.cuts = []

    def reset_efficiencies(self) -> None:
        self.efficiencies = []

    def add_default_observables(
        self,
        n_leptons_max: int = 2,
        n_photons_max: int = 2,
        n_jets_max: int = 2,
        include_met: bool = True,
        include_visible_sum: bool = True,
        include_numbers: bool = True,
        include_charge: bool = True,
    ) -> None:
        """MadMiner's standard set: E, pt, eta, phi (GeV, rad) of the leading leptons (electrons and muons
        together, ``l1``, ``l2``...), photons (``a1``...) and jets (``j1``...), lepton charges, missing pt
        and its phi, the four-momentum of the sum of visible objects, and object counts. Missing objects
        give 0 (these observables are never required).
        """

        def of(collection: Callable[[ak.Array], ak.Array], i: int, attribute: str) -> EventFunction:
            return lambda ev: getattr(nth(collection(ev), i), attribute)

        groups = [
            ("l", r"\ell", leptons, n_leptons_max),
            ("a", r"\gamma", lambda ev: ev.a, n_photons_max),
            ("j", "j", lambda ev: ev.j, n_jets_max),
        ]
        for key, symbol, collection, n_max in groups:
            for i in range(n_max):
                quantities = list(_KINEMATICS)
                if key == "l" and include_charge:
                    quantities.append(("charge", "charge", "q", "e"))
                for attribute, prefix, tex, unit in quantities:
                    self.add_observable(
                        f"{prefix}_{key}{i + 1}",
                        of(collection, i, attribute),
                        default=0.0,
                        label=f"${tex}({symbol}_{i + 1})$",
                        unit=unit,
                    )
        if include_met:
            self.add_observable(
                "et_miss", lambda ev: ev.met.pt, default=0.0, label=r"$E_T^\mathrm{miss}$", unit="GeV"
            )
            self.add_observable(
                "phi_miss", lambda ev: ev.met.phi, default=0.0, label=r"$\phi^\mathrm{miss}$", unit="rad"
            )
        if include_visible_sum:

            def visible(ev: ak.Array) -> ak.Array:
                objects = ak.concatenate([ev.e, ev.mu, ev.a, ev.j], axis=1)
                return ak.zip(
                    {
                        "px": ak.sum(objects.px, axis=1),
                        "py": ak.sum(objects.py, axis=1),
                        "pz": ak.sum(objects.pz, axis=1),
                        "E": ak.sum(objects.E, axis=1),
                    },
                    with_name="Momentum4D",
                )

            for attribute, prefix, tex, unit in _KINEMATICS:
                self.add_observable(
                    f"{prefix}_visible",
                    lambda ev, attribute=attribute: getattr(visible(ev), attribute),
                    default=0.0,
                    label=f"${tex}" + r"^\mathrm{vis}$",
                    unit=unit,
                )
        if include_numbers:
            self.add_observable(
                "n_leptons", lambda ev: ak.num(ev.e) + ak.num(ev.mu), label=r"$n_\ell$", unit=""
            )
            self.add_observable("n_photons", lambda ev: ak.num(ev.a), label=r"$n_\gamma$", unit="")
            self.add_observable("n_jets", lambda ev: ak.num(ev.j), label="$n_j$", unit="")

    def evaluate(self, events: ak.Array) -> AnalysisResult:
        """Evaluate every definition on ``events``; raise :class:`AnalysisError` naming a failing one."""
        n = len(events)
        keep = np.ones(n, dtype=bool)
        counts: dict[str, tuple[int, int]] = {}
        columns = []
        for observable in self.observables:
            values = _evaluate("observable", observable.name, observable.fn, events)
            undefined = ~np.isfinite(values)
            if observable.required:
                keep &= ~undefined
            elif undefined.any():
                if observable.default is None:
                    first = int(np.flatnonzero(undefined)[0])
                    raise AnalysisError(
                        f"observable {observable.name!r} is undefined (None or NaN) for {int(undefined.sum())} of "
                        f"{n} events, first at event {first}; make it required=True to drop those events or "
                        "give a default"
                    )
                values = np.where(undefined, observable.default, values)
            counts[f"observable {observable.name}"] = (n, int((~undefined).sum()))
            columns.append(values)
        for cut in self.cuts:
            values = _evaluate("cut", cut.name, cut.fn, events)
            undefined = np.isnan(values)
            passed = np.where(undefined, not cut.required, values != 0)
            counts[f"cut {cut.name}"] = (n, int(passed.sum()))
            keep &= passed
        factors = np.ones(n)
        for efficiency in self.efficiencies:
            values = _evaluate("efficiency", efficiency.name, efficiency.fn, events)
            values = np.where(np.isfinite(values), values, efficiency.default)
            if (values < 0).any():
                raise AnalysisError(f"efficiency {efficiency.name!r} is negative for some events")
            counts[f"efficiency {efficiency.name}"] = (n, int((values > 0).sum()))
            factors *= values
        for name, (total, passed) in counts.items():
            logger.debug("%s: %d of %d events pass", name, passed, total)
        observables = np.column_stack(columns)[keep] if columns else np.zeros((int(keep.sum()), 0))
        return AnalysisResult(keep=keep, observables=observables, efficiencies=factors[keep], counts=counts)
