r"""The options of :func:`~columnminer.inference.limits.expected_limits` / ``observed_limits``, one home per family.

As pyhf keeps a calculator's settings together (``pyhf.infer.utils.create_calculator`` and the calculator
classes), every family of limit options is one frozen dataclass, and :class:`LimitOptions` holds one of each:

- :class:`ReadOptions`: what is read from the store (partition, cuts, efficiencies, dask client);
- :class:`HistogramOptions`: what the histogram modes bin and how (features, score components, bins,
  binning points, per-point binning, postprocessing);
- :class:`EstimatorOptions`: the estimator of the score / ml modes, its reference point, and the Asimov
  normalisation and closure check of the ml mode;
- :class:`AsimovOptions`: which Asimov events expected limits use (subset, closest benchmark) and whether
  they are returned;
- :class:`NuisanceOptions`: which nuisance parameters are profiled;

plus the options of every mode (``include_rate``, ``dof``, ``return_histograms``). :func:`limit_options` is the
one factory: it builds the options of a mode from keywords (the keyword names of ``expected_limits``) and
checks them. A keyword that is no option is an :class:`~columnminer.errors.InferenceError` naming it, and so is
an option set (to other than its default) for a mode that does not use it, or an Asimov option for observed
limits. The modes and the conventions are those of :mod:`columnminer.inference.limits` (MadMiner's
``AsymptoticLimits``, Brehmer, Kling, Espejo, Cranmer, arXiv:1907.10621).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InferenceError

__all__ = [
    "HISTOGRAM_MODES",
    "MODES",
    "AsimovOptions",
    "EstimatorOptions",
    "HistogramOptions",
    "LimitOptions",
    "NuisanceOptions",
    "ReadOptions",
    "check_mode",
    "limit_options",
]

#: The ways to build the likelihood (see :mod:`columnminer.inference.limits`).
MODES = ("rate", "histo", "sally", "adaptive-sally", "sallino", "ml")
#: The modes that bin a summary statistic.
HISTOGRAM_MODES = ("histo", "sally", "adaptive-sally", "sallino")
#: The modes that need an estimator.
ESTIMATOR_MODES = ("sally", "adaptive-sally", "sallino", "ml")


@dataclass(frozen=True)
class ReadOptions:
    """What every pass over the store reads (the keywords of
    :func:`~columnminer.inference.binned.reduce_chunks`).

    Attributes:
        partition: the partition whose events make the model (and the Asimov data), weights scaled to the
            full sample (pb per event); None: all events.
        cuts: callables on :class:`~columnminer.inference.binned.ChunkColumns` -> bool [n] keeping events.
        efficiencies: callables -> per-event efficiencies [n] multiplying the weights.
        client: a dask client for the passes, or None (in process).

    Example:
        >>> ReadOptions(partition="test").as_kwargs()
        {'partition': 'test', 'cuts': (), 'efficiencies': (), 'client': None}
    """

    partition: str | None = None
    cuts: Sequence[Callable] = ()
    efficiencies: Sequence[Callable] = ()
    client: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cuts", tuple(self.cuts))
        object.__setattr__(self, "efficiencies", tuple(self.efficiencies))

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of a store pass."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class HistogramOptions:
    """What the histogram modes (histo, sally, sallino, adaptive-sally) bin, and how.

    Attributes:
        features: histo: observable names or callables on
            :class:`~columnminer.inference.binned.ChunkColumns` (their units, e.g. GeV).
        score_components: sally / adaptive-sally: the indices of the score components to bin (default all).
        bins: an int (adaptive bins of equal expected events per dimension), or per dimension an int or edges.
        thetas_binning: the parameter point(s) at which adaptive bins are decided (default theta_true, or for
            observed limits the tested point nearest the grid's centre).
        fix_adaptive_binning: True: one binning at ``thetas_binning``; False: a binning per tested point;
            None: the mode's default (see :mod:`columnminer.inference.limits`).
        postprocessing: a map of the summary statistics [n, d] -> [n, d'] before binning.

    Example:
        >>> HistogramOptions(features="m4l", bins=10).bins
        10
    """

    features: Any = None
    score_components: Sequence[int] | None = None
    bins: Any = None
    thetas_binning: Any = None
    fix_adaptive_binning: bool | None = None
    postprocessing: Callable | None = None


@dataclass(frozen=True)
class EstimatorOptions:
    r"""The estimator of the sally, sallino, adaptive-sally and ml modes.

    Attributes:
        estimator: a ScoreEstimator (score modes); a likelihood or ratio estimator, Ensemble, or callable
            ``f(x, thetas) -> [T, n]`` of log densities (ml).
        theta_ref: the reference point [P] of sallino / adaptive-sally / a per-point binning and of doubly
            parameterised ratio estimators (default the origin).
        asimov_normalisation: expected ml limits: normalise the estimator's model on the Asimov events,
            :math:`\hat c(\theta)` (see :mod:`columnminer.inference.limits`).
        closure: expected ml limits: check the estimator on the Asimov events and warn when it fails
            (:func:`~columnminer.ml.calibration.ratio_closure`).

    Example:
        >>> EstimatorOptions(estimator=lambda x, t: x, closure=False).asimov_normalisation
        True
    """

    estimator: Any = None
    theta_ref: Any = None
    asimov_normalisation: bool = True
    closure: bool = True


@dataclass(frozen=True)
class AsimovOptions:
    """Which Asimov events expected limits use (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727).

    Attributes:
        sample_only_from_closest_benchmark: only the events generated at the benchmark closest to theta_true
            (plus background), their signal weights scaled to the full signal cross section.
        n_asimov: ml: a random subset of that many Asimov events (the expected count kept).
        seed: the seed of that subset.
        return_asimov: put the Asimov events and weights (events per pb^-1 times L) into the result.

    Example:
        >>> AsimovOptions(n_asimov=500).seed
        0
    """

    sample_only_from_closest_benchmark: bool = False
    n_asimov: int | None = None
    seed: int | None = 0
    return_asimov: bool = False


@dataclass(frozen=True)
class NuisanceOptions:
    """Profiling of nuisance parameters (rate, histo, sally with one binning;
    :mod:`~columnminer.inference.systematic_bins`).

    Attributes:
        profile_nuisances: True: profile every nuisance of the setup at each tested point; a name or names:
            those (the others fixed at nominal); False: none.

    Example:
        >>> NuisanceOptions(profile_nuisances=["lumi"]).profile_nuisances
        ['lumi']
    """

    profile_nuisances: bool | str | Sequence[str] = False


@dataclass(frozen=True)
class LimitOptions:
    """All options of one limit calculation: one object per family, plus the options of every mode.

    Attributes:
        read, histogram, estimator, asimov, nuisances: the families (:class:`ReadOptions`, ...).
        include_rate: add the Poisson term of the total count (False: the shape alone).
        dof: degrees of freedom of the asymptotic p-values (default the number of parameters).
        return_histograms: put the model and data histograms (``hist.Hist``) into the result.

    Build with :func:`limit_options` (which checks the options against a mode) or directly; a directly built
    ``ReadOptions`` reads all events unless given a ``partition``.

    Example:
        >>> options = LimitOptions(histogram=HistogramOptions(features="m4l"), include_rate=False)
        >>> options.histogram.features, options.read.partition, options.include_rate
        ('m4l', None, False)
    """

    read: ReadOptions = field(default_factory=ReadOptions)
    histogram: HistogramOptions = field(default_factory=HistogramOptions)
    estimator: EstimatorOptions = field(default_factory=EstimatorOptions)
    asimov: AsimovOptions = field(default_factory=AsimovOptions)
    nuisances: NuisanceOptions = field(default_factory=NuisanceOptions)
    include_rate: bool = True
    dof: int | None = None
    return_histograms: bool = True

    def check(self, mode: str, kind: str = "expected") -> None:
        """Raise :class:`~columnminer.errors.InferenceError` for an option set for a ``mode`` (or ``kind``,
        "expected" / "observed") that does not use it, and for a missing estimator or features.

        Example:
            >>> LimitOptions(histogram=HistogramOptions(bins=5)).check("rate")
            Traceback (most recent call last):
            ...
            columnminer.errors.InferenceError: bins: not supported by the 'rate' mode (only histo, sally, ...
        """
        mode = check_mode(mode)
        for name, value, default in _set_options(self):
            modes, observed = _RULES.get(name, (None, True))
            if not _differs(value, default):
                continue
            if modes is not None and mode not in modes:
                raise InferenceError(f"{name}: not supported by the {mode!r} mode (only {', '.join(modes)})")
            if kind == "observed" and not observed:
                raise InferenceError(f"{name}: an option of expected limits only, not of observed limits")
        if mode in ESTIMATOR_MODES and self.estimator.estimator is None:
            raise InferenceError(
                f"estimator: the {mode} mode needs "
                + (
                    "a likelihood or likelihood-ratio estimator"
                    if mode == "ml"
                    else "a trained ScoreEstimator"
                )
            )
        if mode == "histo" and self.histogram.features is None:
            raise InferenceError("features: the histo mode needs the observables (names or callables) to bin")
        if _differs(self.nuisances.profile_nuisances, False) and self.histogram.fix_adaptive_binning is False:
            raise InferenceError(
                "profile_nuisances: not supported with a binning per tested point (fix_adaptive_binning=False)"
            )


#: The family attribute of :class:`LimitOptions` of every keyword (None: an option of every mode).
_FAMILIES = {
    "read": ReadOptions,
    "histogram": HistogramOptions,
    "estimator": EstimatorOptions,
    "asimov": AsimovOptions,
    "nuisances": NuisanceOptions,
}
_FAMILY_OF: dict[str, str | None] = {
    **{f.name: attr for attr, cls in _FAMILIES.items() for f in dataclasses.fields(cls)},
    **{name: None for name in ("include_rate", "dof", "return_histograms")},
}
#: Per option: the modes that use it (None: all), and whether observed limits take it.
_RULES: dict[str, tuple[tuple[str, ...] | None, bool]] = {
    "features": (("histo",), True),
    "score_components": (("sally", "adaptive-sally"), True),
    **{name: (HISTOGRAM_MODES, True) for name in ("bins", "thetas_binning", "fix_adaptive_binning")},
    "postprocessing": (HISTOGRAM_MODES, True),
    "estimator": (ESTIMATOR_MODES, True),
    "theta_ref": ((*HISTOGRAM_MODES, "ml"), True),
    "asimov_normalisation": (("ml",), False),
    "closure": (("ml",), False),
    "n_asimov": (("ml",), False),
    "seed": (("ml",), False),
    "sample_only_from_closest_benchmark": (None, False),
    "return_asimov": (None, False),
    "profile_nuisances": (("rate", "histo", "sally"), True),
}


def _differs(value: Any, default: Any) -> bool:
    """Whether an option is set: for a default of False, a true value; of True, a false one; of None, any
    other; of a number, another number."""
    if default is False:
        return bool(value)
    if default is True:
        return not value
    if default is None:
        return value is not None
    if isinstance(default, int | float) and isinstance(value, int | float):
        return value != default
    return value is not default


def _set_options(options: LimitOptions) -> list[tuple[str, Any, Any]]:
    """(name, value, default) of every option of ``options``."""
    out = []
    for name, attr in _FAMILY_OF.items():
        holder = options if attr is None else getattr(options, attr)
        default = next(f for f in dataclasses.fields(holder) if f.name == name).default
        out.append((name, getattr(holder, name), default))
    return out


def check_mode(mode: str) -> str:
    """The mode in lower case, or an :class:`~columnminer.errors.InferenceError` for an unknown one.

    Example:
        >>> check_mode("SALLY")
        'sally'
    """
    name = str(mode).lower()
    if name not in MODES:
        raise InferenceError(f"mode: unknown mode {mode!r}; choose one of {list(MODES)}")
    return name


def limit_options(
    mode: str, kind: str = "expected", options: LimitOptions | None = None, **keywords: Any
) -> LimitOptions:
    """The checked options of ``mode`` for ``kind`` ("expected" or "observed") limits: ``options`` (default:
    the defaults, with ``partition="test"`` for expected limits) with ``keywords`` (the keyword names of
    :func:`~columnminer.inference.limits.expected_limits`) put into their families. Unknown keywords, options
    the mode does not use and Asimov options of observed limits are an
    :class:`~columnminer.errors.InferenceError` naming the option.

    Example:
        >>> options = limit_options("histo", features="m4l", bins=8, include_rate=False)
        >>> options.histogram.bins, options.read.partition, options.include_rate
        (8, 'test', False)
        >>> limit_options("rate", bins=8)
        Traceback (most recent call last):
        ...
        columnminer.errors.InferenceError: bins: not supported by the 'rate' mode (only histo, sally, ...
        >>> limit_options("rate", bin=8)
        Traceback (most recent call last):
        ...
        columnminer.errors.InferenceError: bin: not an option of the limits; the options are ...
    """
    if kind not in ("expected", "observed"):
        raise InferenceError(f"kind must be 'expected' or 'observed', got {kind!r}")
    if options is None:
        options = LimitOptions(read=ReadOptions(partition="test" if kind == "expected" else None))
    elif not isinstance(options, LimitOptions):
        raise InferenceError(f"options: a LimitOptions is needed, got {type(options).__name__}")
    unknown = [name for name in keywords if name not in _FAMILY_OF]
    if unknown:
        raise InferenceError(
            f"{unknown[0]}: not an option of the limits; the options are {sorted(_FAMILY_OF)}"
        )
    changes: dict[str | None, dict[str, Any]] = {}
    for name, value in keywords.items():
        changes.setdefault(_FAMILY_OF[name], {})[name] = value
    families = {
        attr: dataclasses.replace(getattr(options, attr), **values)
        for attr, values in changes.items()
        if attr is not None
    }
    options = dataclasses.replace(options, **changes.get(None, {}), **families)
    options.check(mode, kind)
    return options
