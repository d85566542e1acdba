r"""Histogram machinery of the limits: summary statistics, adaptive binning, binned likelihood terms.

Private to :mod:`columnminer.inference.limits` (see its docstring for the conventions): the per-event summary
statistic of each histogram mode, bins of equal expected events from weighted quantiles, and the kinematic
and rate log-likelihood terms for one binning shared by all tested points (exactly morphed
:class:`~columnminer.inference.binned.BinnedWeights`) or a binning per tested point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EstimatorError, InferenceError
from ..hists import theta_axis, theta_hist
from .binned import ChunkColumns, bin_index, binned_weights, feature_values, quantile_edges, reduce_chunks
from .likelihood import YIELD_FLOOR, histogram_log_likelihood, resolve_thetas
from .limit_options import LimitOptions
from .systematic_bins import binned_variations, profile_binned_likelihood

__all__ = [
    "LimitData",
    "LimitTerms",
    "adaptive_edges",
    "asimov_weights",
    "bins_per_dimension",
    "columns_of",
    "fixed_binning_terms",
    "gather_events",
    "make_hist",
    "observed_summary",
    "per_point_binning_terms",
    "score_function",
    "summary_dimensions",
    "summary_statistic",
    "weighted_histogram",
]

logger = logging.getLogger(__name__)


@dataclass
class LimitData:
    """Asimov data (coefficients at theta_true, optional per-row factors) or observed events / counts."""

    c_true: np.ndarray | None = None
    factors: np.ndarray | None = None
    x: np.ndarray | None = None
    weights: np.ndarray | None = None
    counts: np.ndarray | None = None
    n_observed: float | None = None


@dataclass
class LimitTerms:
    """The log-likelihood parts [T] of one mode with what the result reports beside them (the optional fields
    of :class:`~columnminer.inference.limits.LimitResult`)."""

    kinematic: np.ndarray
    rate: np.ndarray
    n_total: float
    histograms: Any = None
    data_histograms: Any = None
    nuisance_names: tuple[str, ...] = ()
    fitted_nuisances: np.ndarray | None = None
    asimov_log_normalisation: np.ndarray | None = None
    closure: Any = None

    def reported(self) -> dict[str, Any]:
        """The optional fields of the result (keywords of ``LimitResult.from_log_likelihood``)."""
        names = ("histograms", "data_histograms", "nuisance_names", "fitted_nuisances")
        return {name: getattr(self, name) for name in (*names, "asimov_log_normalisation", "closure")}


# -- summaries: what the histograms are made of ---------------------------------------------------------------
def score_function(estimator: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``x [n, n_obs] -> t_hat(x) [n, P]`` from a ScoreEstimator (an ensemble: the member mean)."""
    if estimator is None or not hasattr(estimator, "evaluate_score"):
        raise InferenceError("estimator: this mode needs a trained ScoreEstimator (or an ensemble of them)")

    def score(x: np.ndarray) -> np.ndarray:
        try:
            value = estimator.evaluate_score(x)
        except EstimatorError as err:
            raise InferenceError(
                f"estimator: cannot evaluate the score on the store's events: {err}"
            ) from err
        return np.asarray(value.mean if hasattr(value, "members") else value, dtype=np.float64)

    return score


def summary_statistic(mode: str, options: LimitOptions, n_parameters: int) -> tuple[Callable, list[str]]:
    """The per-event summary [n, d] and its labels: the features (histo), the chosen score components
    (sally), or the full score (sallino, adaptive-sally: projected per tested point later)."""
    if mode == "histo":
        features = options.histogram.features
        features = [features] if isinstance(features, str) or callable(features) else list(features)
        labels = [
            f if isinstance(f, str) else getattr(f, "__name__", f"feature_{i}")
            for i, f in enumerate(features)
        ]

        def values(columns: ChunkColumns) -> np.ndarray:
            return feature_values(columns, features)

    else:
        score = score_function(options.estimator.estimator)
        components = None if mode in ("sallino", "adaptive-sally") else options.histogram.score_components
        labels = [f"score_{i}" for i in (range(n_parameters) if components is None else components)]

        def values(columns: ChunkColumns) -> np.ndarray:
            t = score(columns.x)
            if t.ndim != 2 or (components is None and t.shape[1] != n_parameters):
                raise InferenceError(
                    f"estimator: the score has shape {t.shape}, expected [n, {n_parameters}] (one component "
                    "per parameter)"
                )
            return t if components is None else t[:, list(components)]

    post = options.histogram.postprocessing
    if post is None:
        return values, labels

    def processed(columns: ChunkColumns) -> np.ndarray:
        out = np.asarray(post(values(columns)), dtype=np.float64)
        return out[:, None] if out.ndim == 1 else out

    return processed, labels


def bins_per_dimension(bins: Any, n_dims: int) -> list[Any]:
    """Per dimension: a number of adaptive bins (int) or an edge array."""
    if bins is None:
        return [25 if n_dims == 1 else 8 if n_dims == 2 else 5] * n_dims
    if np.ndim(bins) == 0:
        return [int(bins)] * n_dims
    bins = list(bins)
    if n_dims == 1 and len(bins) > 1 and all(np.ndim(b) == 0 for b in bins):
        bins = [bins]  # one edge array for one dimension
    if len(bins) != n_dims:
        raise InferenceError(f"bins: {len(bins)} entries for {n_dims} histogram dimension(s)")
    out: list[Any] = []
    for b in bins:
        if np.ndim(b) == 0:
            out.append(int(b))
            continue
        edges = np.asarray(b, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
            raise InferenceError(f"bins: edges must be increasing with at least two values, got {b}")
        out.append(edges)
    return out


def adaptive_edges(spec: list[Any], values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Edges per dimension: the given arrays, or ``spec[d]`` bins of equal weight (``weights`` per event)."""
    return tuple(
        s if isinstance(s, np.ndarray) else quantile_edges(values[:, d], weights, s)
        for d, s in enumerate(spec)
    )


def weighted_histogram(values: np.ndarray, weights: np.ndarray, edges: Sequence[np.ndarray]) -> np.ndarray:
    """Flat weighted histogram [n_bins] of ``values`` [n, d] (flow into the edge bins, NaN rows dropped)."""
    flat, keep = bin_index(values, edges, flow=True)
    n_bins = int(np.prod([len(e) - 1 for e in edges]))
    return np.bincount(flat[keep], weights[keep], minlength=n_bins)


def make_hist(edges: Sequence[np.ndarray], labels: Sequence[str], values: Any, variances: Any) -> Any:
    """A ``hist.Hist`` with Variable axes and Weight storage holding ``values`` and ``variances``."""
    import hist

    axes = [hist.axis.Variable(e, name=n, label=n) for e, n in zip(edges, labels, strict=True)]
    h = hist.Hist(*axes, storage=hist.storage.Weight())
    shape = tuple(len(e) - 1 for e in edges)
    h.view()["value"] = np.asarray(values).reshape(shape)
    h.view()["variance"] = np.asarray(variances).reshape(shape)
    return h


def gather_events(
    store: Any, fn: Callable | None, options: LimitOptions, want_x: bool = False
) -> dict[str, np.ndarray]:
    """Per-event arrays of the partition: ``weights`` [n, B], ``rows``, and ``values`` (fn) / ``x``."""

    def chunk(columns: ChunkColumns) -> tuple:
        v = None if fn is None else np.asarray(fn(columns), dtype=np.float64).reshape(columns.n_events, -1)
        return v, columns.weights, columns.rows, columns.x if want_x else None

    parts = reduce_chunks(store, chunk, **options.read.as_kwargs())
    out = {"weights": np.concatenate([p[1] for p in parts]), "rows": np.concatenate([p[2] for p in parts])}
    if fn is not None:
        out["values"] = np.concatenate([p[0] for p in parts])
    if want_x:
        out["x"] = np.concatenate([p[3] for p in parts])
    return out


def columns_of(store: Any, x: np.ndarray) -> ChunkColumns:
    """A :class:`~columnminer.inference.binned.ChunkColumns` for events outside the store (zero weights)."""
    n_benchmarks = len(store.benchmark_names)
    return ChunkColumns(tuple(store.observable_names), x, np.zeros((len(x), n_benchmarks)), np.arange(len(x)))


def asimov_weights(data: LimitData, gathered: dict, luminosity: float) -> np.ndarray:
    """Asimov event weights: L times the events' weights at theta_true (times the per-row factors)."""
    w = luminosity * gathered["weights"] @ data.c_true
    return w if data.factors is None else w * data.factors[gathered["rows"]]


def summary_dimensions(store: Any, fn: Callable) -> int:
    """Width d of the summary statistic, from the first few stored events."""
    x = np.asarray(store.read("observables", 0, min(store.n_events, 16)))
    return observed_summary(store, fn, x).shape[1]


def observed_summary(store: Any, fn: Callable, x: np.ndarray) -> np.ndarray:
    """The summary statistic [n, d] of events ``x`` [n, n_observables] outside the store."""
    return np.asarray(fn(columns_of(store, x)), dtype=np.float64).reshape(len(x), -1)


def fixed_binning_terms(
    store, mode, c, points, luminosity, options: LimitOptions, data: LimitData, binning_c
):
    """One binning for all points: the histogram morphs exactly (BinnedWeights)."""
    fn, labels = summary_statistic(mode, options, points.shape[1])
    spec = bins_per_dimension(options.histogram.bins, summary_dimensions(store, fn))
    probe = None
    if any(not isinstance(s, np.ndarray) for s in spec) or (
        data.c_true is not None and data.factors is not None
    ):
        probe = gather_events(store, fn, options)
    edges = adaptive_edges(
        spec,
        None if probe is None else probe["values"],
        None if probe is None else probe["weights"] @ binning_c,
    )
    binned = binned_weights(store, fn, edges, flow=True, **options.read.as_kwargs())
    if len(labels) != len(edges):
        labels = [f"{labels[0]}_{d}" for d in range(len(edges))]
    n_bins = int(np.prod(binned.shape))
    sums = binned.sums.reshape(n_bins, -1)
    expected = luminosity * c @ sums.T
    if data.c_true is not None:
        if data.factors is None:
            counts = luminosity * sums @ data.c_true
        else:
            counts = weighted_histogram(probe["values"], asimov_weights(data, probe, luminosity), edges)
    elif data.counts is not None:
        counts = np.asarray(data.counts, dtype=np.float64).ravel()
        if counts.size != n_bins:
            raise InferenceError(f"counts: {counts.size} values for the {binned.shape} bins")
    else:
        counts = weighted_histogram(observed_summary(store, fn, data.x), data.weights, edges)
    if options.nuisances.profile_nuisances:
        terms = profiled_terms(store, fn, edges, c, luminosity, counts, options)
    else:
        terms = LimitTerms(*histogram_log_likelihood(expected, counts), float(counts.sum()))
    if options.return_histograms:
        gram = binned.gram.reshape(n_bins, *binned.gram.shape[-2:])
        variances = luminosity**2 * np.einsum("tb,kbc,tc->tk", c, gram, c)
        # one category per distinct tested point (a grid may repeat one; its histogram is the same)
        _, first = np.unique(points, axis=0, return_index=True)
        first = np.sort(first)
        shape = (len(first), *(len(e) - 1 for e in edges))
        axes = list(zip(labels, edges, strict=True))
        terms.histograms = theta_hist(
            theta_axis(store.setup, points[first]),
            expected[first].reshape(shape),
            variances[first].reshape(shape),
            axes,
        )
        terms.data_histograms = make_hist(edges, labels, counts, counts)
    return terms


def per_point_binning_terms(
    store, mode, c, points, luminosity, options: LimitOptions, data: LimitData, binning_c, fix: bool
):
    """A binning per tested point (sallino, adaptive-sally, or histo / sally with fix_adaptive_binning=False)."""
    fn, labels = summary_statistic(mode, options, points.shape[1])
    gathered = gather_events(store, fn, options)
    values, weights = gathered["values"], gathered["weights"]
    if data.c_true is not None:
        data_values, data_w = values, asimov_weights(data, gathered, luminosity)
    elif data.x is not None:
        data_values, data_w = observed_summary(store, fn, data.x), data.weights
    else:
        raise InferenceError(
            f"x_observed: mode {mode!r} bins every tested point differently; counts do not do"
        )
    theta_ref = options.estimator.theta_ref
    ref_point = np.zeros(points.shape[1]) if theta_ref is None else np.asarray(theta_ref, float)
    try:
        c_ref = resolve_thetas(store.setup, ref_point)[0][0]
    except InferenceError as err:
        raise InferenceError(f"theta_ref: {err}") from None
    components = options.histogram.score_components
    keep = list(range(points.shape[1])) if components is None else list(components)
    if mode == "sallino":
        labels = ["h"]
    elif mode == "adaptive-sally":
        labels = [f"score_{i}" for i in keep] + ["h"]
    elif len(labels) != values.shape[1]:
        labels = [f"{labels[0]}_{d}" for d in range(values.shape[1])]
    spec = bins_per_dimension(options.histogram.bins, len(labels))

    def statistic(v: np.ndarray, t: int) -> np.ndarray:
        if mode not in ("sallino", "adaptive-sally"):
            return v
        h = v @ (points[t] - ref_point)
        return h[:, None] if mode == "sallino" else np.column_stack([v[:, keep], h])

    totals = weights.sum(axis=0)
    n_total = float(data_w.sum())
    kinematic, rate = np.zeros(len(c)), np.zeros(len(c))
    histograms, data_histograms = [], []
    for t in range(len(c)):
        nu_total = max(luminosity * totals @ c[t], YIELD_FLOOR)
        rate[t] = n_total * np.log(nu_total) - nu_total
        model_values = statistic(values, t)
        edges = adaptive_edges(spec, model_values, weights @ (binning_c if fix else c[t]))
        flat, ok = bin_index(model_values, edges, flow=True)
        n_bins = int(np.prod([len(e) - 1 for e in edges]))
        sums = np.stack(
            [np.bincount(flat[ok], weights[ok, b], minlength=n_bins) for b in range(weights.shape[1])], axis=1
        )
        counts = weighted_histogram(statistic(data_values, t), data_w, edges)
        nu, nu_ref = luminosity * sums @ c[t], luminosity * sums @ c_ref
        log_p = np.log(np.maximum(nu, YIELD_FLOOR) / max(nu.sum(), YIELD_FLOOR))
        log_p_ref = np.log(np.maximum(nu_ref, YIELD_FLOOR) / max(nu_ref.sum(), YIELD_FLOOR))
        kinematic[t] = np.sum(np.where(counts > 0, counts * (log_p - log_p_ref), 0.0))
        if options.return_histograms:
            variance = luminosity**2 * np.bincount(flat[ok], (weights[ok] @ c[t]) ** 2, minlength=n_bins)
            shape = (1, *(len(e) - 1 for e in edges))
            axis = theta_axis(store.setup, points[t : t + 1])
            axes = list(zip(labels, edges, strict=True))
            histograms.append(theta_hist(axis, nu.reshape(shape), variance.reshape(shape), axes))
            data_histograms.append(make_hist(edges, labels, counts, counts))
    if not options.return_histograms:
        return LimitTerms(kinematic, rate, n_total)
    return LimitTerms(kinematic, rate, n_total, tuple(histograms), tuple(data_histograms))


def profiled_terms(
    store: Any, fn: Callable | None, edges: Sequence[np.ndarray], c, luminosity, counts, options: LimitOptions
) -> LimitTerms:
    """Kinematic and rate parts [T] with the nuisances profiled per tested point (see
    :mod:`~columnminer.inference.systematic_bins`), with the profiled names and their fitted values [T, N].
    The rate part carries the constraint term; without ``include_rate`` the multinomial is profiled. Only
    the nuisances named in ``profile_nuisances`` (all for True) float; the others stay at 0."""
    feature = fn if fn is not None else (lambda columns: np.zeros(columns.n_events))
    variations = binned_variations(store, feature, edges, flow=True, **options.read.as_kwargs())
    nominal, alpha, beta = variations.interpolation_at(c)
    names = variations.nuisance_names
    profile = options.nuisances.profile_nuisances
    if profile is not True:
        wanted = [profile] if isinstance(profile, str) else list(profile)
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise InferenceError(
                f"profile_nuisances: unknown nuisance(s) {unknown}; the setup has {list(names)}"
            )
        keep = [names.index(n) for n in wanted]
        alpha, beta, names = alpha[:, keep], beta[:, keep], tuple(wanted)
    counts = np.asarray(counts, dtype=np.float64).ravel()
    value, nu, varied = profile_binned_likelihood(
        luminosity * nominal, counts, alpha, beta, include_rate=options.include_rate
    )
    logger.info("profiled %d nuisance(s) %s at %d points", nu.shape[1], names, len(nu))
    if not options.include_rate:
        kinematic, rate = value, np.zeros(len(value))
    else:
        kinematic, rate = histogram_log_likelihood(varied, counts)
        rate = rate - 0.5 * np.sum(nu**2, axis=1)
    return LimitTerms(kinematic, rate, float(counts.sum()), nuisance_names=names, fitted_nuisances=nu)
