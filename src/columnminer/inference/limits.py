r"""Asymptotic expected and observed limits: p-values on a grid of parameter points, six ways to build the
likelihood (rate, histograms of observables, SALLY, SALLINO, adaptive SALLY, neural likelihood).

For every tested point :math:`\theta_t` the log-likelihood is split into a kinematic and a rate part,
:math:`\log L = \log L_\text{kin} + \log L_\text{rate}` with :math:`\log L_\text{rate} = N\log\nu(\theta) -
\nu(\theta)`, :math:`\nu = L\sigma(\theta)` (Poisson in the total count N); then
:math:`q_t = -2[\log L(\theta_t) - \max_{t'}\log L(\theta_{t'})]` and :math:`p_t = 1 - F_{\chi^2_k}(q_t)`
with k = ``dof`` (default: the number of parameters). Expected limits use Asimov data at theta_true
(Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727); the modes follow MadMiner's ``AsymptoticLimits``
(Brehmer, Kling, Espejo, Cranmer, arXiv:1907.10621; SALLY / SALLINO from Brehmer, Cranmer, Louppe,
Pavez, arXiv:1805.00020):

- ``"rate"``: the total count only.
- ``"histo"``: a histogram of one or more observables / callables (``features``).
- ``"sally"``: a histogram of the estimated score components :math:`\hat t(x)` (``score_components``).
- ``"sallino"``: per tested point, a 1-d histogram of :math:`h_t(x) = \hat t(x)\cdot(\theta_t -
  \theta_\text{ref})`, the locally sufficient statistic along the line from theta_ref to theta_t.
- ``"adaptive-sally"``: per tested point, the score components plus :math:`h_t` as an extra dimension.
- ``"ml"``: unbinned, :math:`\sum_i w_i\log\hat p(x_i|\theta)` from a density or ratio estimator.

Binning. An int number of bins gives adaptive edges with equal expected events (weighted quantiles of
each dimension) under ``thetas_binning`` (default theta_true; for observed limits the grid point nearest
the grid's centre); several binning points are mixed with equal weight per normalised distribution. By
default the binning is decided once for histo and sally (one histogram, exactly morphed per bin) and per
tested point for sallino and adaptive-sally (``fix_adaptive_binning`` overrides: True decides every binning
at ``thetas_binning``, False bins every tested point at its own distribution). With a binning per point the
kinematic part is :math:`\sum_k n_{tk}\log[p_{tk}(\theta_t) / p_{tk}(\theta_\text{ref})]` (bin
probabilities p in that point's binning): the histogram estimate of :math:`\log r(x|\theta_t,
\theta_\text{ref})`, so that points with different binnings compare on one scale; with one binning it is
:math:`\sum_k n_k\log p_k(\theta_t)`. Default bins: 25 for one dimension, 8 per dimension for two, 5 for
more; events outside the edges go to the edge bins.

Data. Expected limits read the model (histograms, cross sections) and the Asimov events from
``partition`` (default "test"; weights scaled to the full sample). Histogram and rate Asimov data are the
model's own expectation at theta_true, so the best fit is exactly there; the ml mode uses the weighted
events at theta_true (summing to :math:`L\sigma(\theta_\text{true})`), see below. With
``sample_only_from_closest_benchmark`` the Asimov events are only those generated at the benchmark
closest to theta_true (plus background), their signal weights scaled up to the full signal cross section.

Unbinned Asimov likelihood (ml). With the Asimov events :math:`x_i` (weights :math:`w_i`, :math:`\sum_i w_i
= N`) and the estimator's ratio to the Asimov point, :math:`\hat r_i(\theta) = \hat p(x_i|\theta) /
\hat p(x_i|\theta_\text{true})`, the kinematic part is

.. math::

    \log L_\text{kin}(\theta) = \sum_i w_i\log\hat r_i(\theta) - N\log\hat c(\theta), \qquad
    \hat c(\theta) = \frac1N\sum_i w_i\,\hat r_i(\theta)

(``asimov_normalisation``, the default): the model :math:`\hat p(x|\theta)` is normalised on the events
that make the Asimov data, as the histogram modes take their model histograms, the rate term its cross
sections and the exact likelihood its :math:`\sigma(\theta)` from them. Then :math:`\log L_\text{kin}
\le 0 = \log L_\text{kin}(\theta_\text{true})` (Jensen's inequality), so the best fit is theta_true. Without
it, a finite Asimov sample of n events adds :math:`N[\hat c(\theta) - 1]`, a term linear in
:math:`\theta - \theta_\text{true}` with a standard deviation of about :math:`\sqrt{N/n}` times the
expected one-sigma change of :math:`\log L`, even for the exact ratio: with n < N it moves the best fit by
more than the 68% region. Whether the estimator is right is a separate question, which the normalisation
cannot hide: :math:`\hat c(\theta)` must be 1 within its statistical error for a calibrated estimator
(:func:`~columnminer.ml.calibration.calibrate_ratio` on held-out events), and the learned
:math:`\log L_\text{kin}` may not fall faster than the parton-level one; the ``closure`` check
(:func:`~columnminer.ml.calibration.ratio_closure` on the Asimov events, which the training and, by
default, the calibration never saw) tests both and warns when the estimator fails
(:attr:`LimitResult.closure`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..display import html_summary, text_summary
from ..errors import InferenceError
from ..weights import closest_benchmark
from ._histograms import (
    LimitData,
    LimitTerms,
    asimov_weights,
    fixed_binning_terms,
    gather_events,
    per_point_binning_terms,
    profiled_terms,
    score_function,
)
from .binned import ChunkColumns, reduce_chunks
from .likelihood import (
    YIELD_FLOOR,
    asymptotic_p_values,
    benchmark_totals,
    event_log_likelihood,
    observed_weights,
    positive_luminosity,
    resolve_theta_true,
    resolve_thetas,
)
from .limit_options import MODES, LimitOptions, check_mode, limit_options

__all__ = [
    "MODES",
    "LimitOptions",
    "LimitResult",
    "expected_limits",
    "limit_options",
    "observed_limits",
    "score_function",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitResult:
    r"""p-values over a grid of parameter points.

    Attributes:
        mode: how the likelihood was built (:data:`MODES`).
        parameter_names: the P parameters.
        thetas: the tested points [T, P].
        p_values: asymptotic p-values [T].
        q: :math:`-2\Delta\log L` against the best point [T].
        log_likelihood, log_likelihood_kinematic, log_likelihood_rate: [T], each up to a constant.
        best_fit_index: index of the best point.
        dof: degrees of freedom of the p-values.
        luminosity_pb: integrated luminosity (pb^-1).
        n_observed: the (expected) number of observed events.
        theta_true: the Asimov point [P] (expected limits) or None.
        histograms: the model's expected events in the package's histogram convention
            (:mod:`columnminer.hists`; histogram modes with ``return_histograms``, else None): with one binning
            for all points, one ``hist.Hist`` whose ``theta`` axis names every distinct tested point, so
            ``histograms[{"theta": "a2=0.5,a3=0"}]`` is the model there; with a binning per point (sallino,
            adaptive-sally, ``fix_adaptive_binning=False``) a tuple of such histograms, one per point.
        data_histograms: the observed / Asimov counts as a ``hist.Hist`` (a tuple of them, one per tested point,
            when the binning differs between points), else None.
        asimov: with ``return_asimov``, the Asimov data: ``x`` [n, n_observables] and ``weights`` [n]
            (``n`` for the rate mode).
        nuisance_names, fitted_nuisances: with ``profile_nuisances``, the nuisance parameters and their
            fitted values :math:`\hat\nu(\theta_t)` [T, N] at every tested point.
        asimov_log_normalisation: expected ml limits: :math:`\log\hat c(\theta_t)` [T], the log of the
            estimator's normalisation on the Asimov events (removed from the kinematic part with
            ``asimov_normalisation``); else None.
        closure: expected ml limits with ``closure``: the
            :class:`~columnminer.ml.calibration.RatioClosure` of the estimator on the Asimov events; else None.

    Build with :meth:`from_log_likelihood` (every limit function does).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> points = np.array([[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]])
        >>> rate = np.array([-1.0, 0.0, -2.0])  # log L_rate, up to a constant
        >>> result = LimitResult.from_log_likelihood("rate", golden_channel_setup(), points, np.zeros(3), rate,
        ...                                          1000.0, 50.0)
        >>> result.best_fit.tolist(), result.q[[0, 2]].tolist(), result.p_values.round(3).tolist()
        ([0.5, 0.0], [2.0, 4.0], [0.368, 1.0, 0.135])
    """

    mode: str
    parameter_names: tuple[str, ...]
    thetas: np.ndarray
    p_values: np.ndarray
    q: np.ndarray
    log_likelihood: np.ndarray
    log_likelihood_kinematic: np.ndarray
    log_likelihood_rate: np.ndarray
    best_fit_index: int
    dof: int
    luminosity_pb: float
    n_observed: float
    theta_true: np.ndarray | None = None
    histograms: Any = None
    data_histograms: Any = None
    asimov: dict[str, Any] | None = None
    nuisance_names: tuple[str, ...] = ()
    fitted_nuisances: np.ndarray | None = None
    asimov_log_normalisation: np.ndarray | None = None
    closure: Any = None

    @property
    def best_fit(self) -> np.ndarray:
        """The best-fit point [P]."""
        return self.thetas[self.best_fit_index]

    @classmethod
    def from_log_likelihood(
        cls,
        mode: str,
        setup: Any,
        thetas: np.ndarray,
        kinematic: np.ndarray,
        rate: np.ndarray,
        luminosity_pb: float,
        n_observed: float,
        dof: int | None = None,
        **extras: Any,
    ) -> LimitResult:
        r"""The result of a scan from its log-likelihood parts: total, best fit, :math:`q = -2\Delta\log L`
        and the asymptotic p-values with ``dof`` (default: the number of parameters) degrees of freedom.
        ``extras`` fill the optional fields (``theta_true``, ``histograms``, ...)."""
        total = kinematic + rate
        if not np.any(np.isfinite(total)):
            raise InferenceError("the log-likelihood is not finite at any tested point")
        best = int(np.nanargmax(total))
        q = -2.0 * (total - total[best])
        space = setup.parameter_space
        dof = space.n_parameters if dof is None else int(dof)
        return cls(
            mode=mode,
            parameter_names=tuple(space.parameter_names),
            thetas=thetas,
            p_values=asymptotic_p_values(q, dof),
            q=q,
            log_likelihood=total,
            log_likelihood_kinematic=kinematic,
            log_likelihood_rate=rate,
            best_fit_index=best,
            dof=dof,
            luminosity_pb=luminosity_pb,
            n_observed=float(n_observed),
            **extras,
        )

    def _summary_rows(self) -> list[tuple[str, Any]]:
        point = ", ".join(f"{n} = {v:+.4g}" for n, v in zip(self.parameter_names, self.best_fit, strict=True))
        ranges = ", ".join(
            f"{n} in [{c.min():.4g}, {c.max():.4g}]"
            for n, c in zip(self.parameter_names, self.thetas.T, strict=True)
        )
        rows = [
            ("mode", self.mode),
            ("grid", f"{len(self.thetas)} points, {ranges}"),
            ("luminosity", f"{self.luminosity_pb:.6g} pb^-1 ({self.luminosity_pb / 1000:.6g} fb^-1)"),
            (
                "events",
                f"{self.n_observed:.6g} ({'expected, Asimov' if self.theta_true is not None else 'observed'})",
            ),
            ("best fit", point),
            (
                "points inside 68% / 95% CL",
                f"{int(np.sum(self.p_values > 0.3173))} / {int(np.sum(self.p_values > 0.05))}",
            ),
        ]
        if self.theta_true is not None:
            rows.append(("theta_true", np.asarray(self.theta_true).round(6).tolist()))
        if self.closure is not None:
            rows.append(("closure", "passed" if getattr(self.closure, "passed", False) else "FAILED"))
        return rows

    def __repr__(self) -> str:
        return text_summary("LimitResult", self._summary_rows())

    def _repr_html_(self) -> str:
        return html_summary("LimitResult", self._summary_rows())

    def threshold(self, cl: float) -> float:
        """The q below which points are inside the region of confidence level ``cl``."""
        return float(stats.chi2.ppf(cl, self.dof))

    def interval(self, cl: float = 0.6827) -> tuple[float, float]:
        """The confidence interval of a one-parameter scan around the best fit (q crossing the threshold,
        linearly interpolated between grid points; an end that reaches the grid edge is the grid edge)."""
        if self.thetas.shape[1] != 1:
            raise InferenceError("interval: only for one-parameter scans (use region_volume)")
        order = np.argsort(self.thetas[:, 0])
        x, q = self.thetas[order, 0], self.q[order]
        level = self.threshold(cl)
        best = int(np.flatnonzero(order == self.best_fit_index)[0])
        ends = []
        for direction in (-1, 1):
            i = best
            while 0 <= i + direction < len(x) and q[i + direction] < level:
                i += direction
            j = i + direction
            if not 0 <= j < len(x):
                ends.append(float(x[i]))
                continue
            fraction = (level - q[i]) / (q[j] - q[i])
            ends.append(float(x[i] + fraction * (x[j] - x[i])))
        return ends[0], ends[1]

    def region_volume(self, cl: float = 0.6827) -> float:
        """Volume (area for two parameters) of the region with q below the threshold, for a regular grid:
        the number of points inside times the grid cell volume."""
        steps = []
        for column in self.thetas.T:
            values = np.unique(column)
            steps.append((values[-1] - values[0]) / (len(values) - 1) if len(values) > 1 else 1.0)
        if int(np.prod([len(np.unique(c)) for c in self.thetas.T])) != len(self.thetas):
            raise InferenceError("region_volume needs a regular grid of points (see parameter_grid)")
        return float(np.sum(self.q < self.threshold(cl)) * np.prod(steps))


# -- the likelihood parts per mode ----------------------------------------------------------------------------
def _asimov_events(store: Any, options: LimitOptions, data: LimitData, luminosity: float) -> np.ndarray:
    """Put the Asimov events at theta_true (a random subset of ``n_asimov`` of them, the total kept) into
    ``data.x`` / ``data.weights``; returns their benchmark weights [n, B] times the per-row factors."""
    gathered = gather_events(store, None, options, want_x=True)
    w = asimov_weights(data, gathered, luminosity)
    keep = w != 0
    x, w = gathered["x"][keep], w[keep]
    matrix = gathered["weights"][keep]
    if data.factors is not None:
        matrix = matrix * data.factors[gathered["rows"][keep]][:, None]
    n_asimov = options.asimov.n_asimov
    if n_asimov is not None and int(n_asimov) < len(x):
        pick = np.random.default_rng(options.asimov.seed).choice(len(x), int(n_asimov), replace=False)
        x, w, matrix = x[pick], w[pick] * w.sum() / w[pick].sum(), matrix[pick]
    data.x, data.weights = x, w
    return matrix


def _n_total(data: LimitData, totals: np.ndarray, luminosity: float) -> float:
    r"""N: the Asimov events' weight sum (without events: :math:`L\sigma(\theta_\text{true})`), or the observed
    count (``n_observed``, the sum of the counts or of the event weights)."""
    if data.c_true is not None:
        if data.weights is not None:
            return float(data.weights.sum())
        return float(luminosity * totals @ data.c_true)
    if data.n_observed is not None:
        return float(data.n_observed)
    if data.counts is not None:
        return float(np.sum(data.counts))
    return float(data.weights.sum())


def _rate_and_ml(
    store: Any, mode: str, c, points, luminosity: float, options: LimitOptions, data: LimitData, theta_true
) -> LimitTerms:
    """The rate term :math:`N\\log\\nu(\\theta) - \\nu(\\theta)` and, for ml, the unbinned kinematic term."""
    totals = benchmark_totals(store, **options.read.as_kwargs())
    matrix = None  # benchmark weights of the Asimov events (times the per-row factors)
    if data.c_true is not None and (mode == "ml" or options.asimov.return_asimov or data.factors is not None):
        matrix = _asimov_events(store, options, data, luminosity)
    n_total = _n_total(data, totals, luminosity)
    if mode == "rate" and options.nuisances.profile_nuisances:
        return profiled_terms(store, None, (np.array([-1.0, 1.0]),), c, luminosity, [n_total], options)
    expected = np.maximum(luminosity * c @ totals, YIELD_FLOOR)
    terms = LimitTerms(np.zeros(len(c)), n_total * np.log(expected) - expected, n_total)
    if mode != "ml":
        return terms
    if data.x is None:
        raise InferenceError("x_observed: the ml mode needs the observed events")
    ml = options.estimator
    if matrix is not None and (ml.asimov_normalisation or ml.closure):
        offset = terms.rate if options.include_rate else None
        _asimov_kinematic(store, points, theta_true, data.x, matrix, offset, options, terms)
    else:
        ref = np.zeros(points.shape[1]) if ml.theta_ref is None else ml.theta_ref
        w = data.weights * (n_total / data.weights.sum())
        terms.kinematic = event_log_likelihood(ml.estimator, data.x, points, w, ref)
    return terms


def _asimov_kinematic(
    store, points, theta_true, x, matrix, offset, options: LimitOptions, terms: LimitTerms
) -> None:
    r"""The ml kinematic term on the Asimov events at theta_true, with the closure statistics of the estimator
    on them (module docstring): :math:`N[\hat\Lambda(\theta) - \log\hat c(\theta)]`, or without the
    Asimov normalisation :math:`\sum_i w_i\log\hat r_i(\theta)`. Fills ``terms`` (kinematic, log c, closure)."""
    from ..ml.calibration import ratio_closure

    n_total = terms.n_total
    closure = ratio_closure(
        options.estimator.estimator,
        store,
        points,
        partition=options.read.partition,
        theta_ref=theta_true,
        events=(x, matrix),
        n_events=n_total,
        log_likelihood_offset=offset,
    )
    log_c = np.log(closure.normalisation)
    terms.asimov_log_normalisation = log_c
    if options.estimator.closure:
        terms.closure = closure
        if not closure.passed:
            message = (
                "ml limits: the estimator fails the closure check on the Asimov events, so its limits are not "
                "reliable (the best fit is theta_true by construction, the regions may be wrong):\n"
                + closure.summary()
            )
            warnings.warn(message, UserWarning, stacklevel=4)
    if options.estimator.asimov_normalisation:
        terms.kinematic = n_total * closure.log_likelihood
    else:
        terms.kinematic = n_total * (closure.log_likelihood + log_c)


def _histogram_terms(
    store: Any, mode: str, c, points, luminosity: float, options: LimitOptions, data: LimitData, theta_true
) -> LimitTerms:
    """The histogram modes: the binning points (``thetas_binning``, theta_true, or the tested point nearest
    the grid's centre; normalised distributions mixed with equal weight), then one binning or one per point."""
    binning = options.histogram.thetas_binning
    if binning is None and theta_true is not None:
        binning = theta_true[None, :]
    elif binning is None:
        binning = points[[np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1))]]
    binning_c = resolve_thetas(store.setup, binning)[0]
    totals = benchmark_totals(store, **options.read.as_kwargs())
    binning_c = (binning_c / np.maximum(binning_c @ totals, YIELD_FLOOR)[:, None]).mean(axis=0)
    fix = options.histogram.fix_adaptive_binning
    if mode in ("sallino", "adaptive-sally") or fix is False:
        return per_point_binning_terms(
            store, mode, c, points, luminosity, options, data, binning_c, bool(fix)
        )
    return fixed_binning_terms(store, mode, c, points, luminosity, options, data, binning_c)


def _closest_factors(
    store: Any, theta_true: np.ndarray, c_true: np.ndarray, options: LimitOptions
) -> np.ndarray:
    """Per-row factors: events generated at the benchmark closest to theta_true (signal scaled up to the full
    signal cross section at theta_true) and background (1); 0 for the others."""
    sampled_from = np.asarray(store.read("sampled_from"))
    present = np.unique(sampled_from[sampled_from >= 0])
    if not len(present):
        return np.ones(len(sampled_from))
    closest = closest_benchmark(store.setup, theta_true, present)

    def sums(columns: ChunkColumns) -> np.ndarray:
        origin = sampled_from[columns.rows]
        w = columns.weights @ c_true
        return np.array([w[origin >= 0].sum(), w[origin == closest].sum()])

    signal_all, signal_kept = np.sum(reduce_chunks(store, sums, **options.read.as_kwargs()), axis=0)
    if signal_kept <= 0:
        raise InferenceError("sample_only_from_closest_benchmark: no signal from the closest benchmark")
    factors = np.where(sampled_from == closest, signal_all / signal_kept, 0.0)
    factors[sampled_from == -1] = 1.0
    logger.info("Asimov data: benchmark %d only, signal scaled by %.4f", closest, signal_all / signal_kept)
    return factors


def _asimov_output(
    store: Any, options: LimitOptions, data: LimitData, n_total: float, luminosity: float
) -> dict[str, Any]:
    """``return_asimov``: the Asimov events ``x`` [n, n_observables], their ``weights`` [n] and ``n``."""
    if data.x is None and data.c_true is not None:
        gathered = gather_events(store, None, options, want_x=True)
        data.x, data.weights = gathered["x"], asimov_weights(data, gathered, luminosity)
    return {"n": float(n_total), "x": data.x, "weights": data.weights}


def _run(store, mode, thetas, luminosity, options: LimitOptions, data: LimitData, theta_true) -> LimitResult:
    """The limits of checked ``options``: the mode's likelihood terms, then the result."""
    luminosity = positive_luminosity(luminosity)
    setup = store.setup
    c, points = resolve_thetas(setup, thetas)
    if data.c_true is not None and options.asimov.sample_only_from_closest_benchmark:
        data.factors = _closest_factors(store, theta_true, data.c_true, options)
    parts = _rate_and_ml if mode in ("rate", "ml") else _histogram_terms
    terms = parts(store, mode, c, points, luminosity, options, data, theta_true)
    if not options.include_rate:
        terms.rate = np.zeros(len(c))
    asimov = None
    if options.asimov.return_asimov:
        asimov = _asimov_output(store, options, data, terms.n_total, luminosity)
    result = LimitResult.from_log_likelihood(
        mode,
        setup,
        points,
        terms.kinematic,
        terms.rate,
        luminosity,
        terms.n_total,
        options.dof,
        theta_true=theta_true,
        asimov=asimov,
        **terms.reported(),
    )
    logger.info("%s limits: best fit %s of %d points", mode, result.best_fit.tolist(), len(points))
    return result


def expected_limits(
    store: Any,
    mode: str,
    theta_true: Any,
    thetas: Any,
    luminosity: float,
    *,
    options: LimitOptions | None = None,
    **keywords: Any,
) -> LimitResult:
    r"""Expected p-values on the points ``thetas`` for Asimov data at ``theta_true`` (see the module
    docstring for the modes, binning and data conventions).

    ``thetas``: parameter points [T, P] (any with morphing; benchmarks without) or benchmark names;
    ``theta_true`` one of those. ``luminosity`` in pb^-1. The options are an
    :class:`~columnminer.inference.limit_options.LimitOptions` (``options``) and / or keywords, put into their
    families and checked for ``mode`` by :func:`~columnminer.inference.limit_options.limit_options` (an
    unknown keyword, or one the mode does not use, is an :class:`~columnminer.errors.InferenceError`):

    - what is read (:class:`~columnminer.inference.limit_options.ReadOptions`): ``partition`` (default
      "test"; weights scaled to the full sample), ``cuts``, ``efficiencies``, ``client``;
    - histograms (:class:`~columnminer.inference.limit_options.HistogramOptions`): ``features`` (histo:
      observable names or callables on :class:`~columnminer.inference.binned.ChunkColumns`),
      ``score_components`` (sally, adaptive-sally), ``bins`` (an int, or per dimension an int (adaptive) or
      edges), ``thetas_binning``, ``fix_adaptive_binning``, ``postprocessing`` (maps the summary statistics
      [n, d] before binning);
    - the estimator (:class:`~columnminer.inference.limit_options.EstimatorOptions`): ``estimator`` (a
      ScoreEstimator for sally, sallino, adaptive-sally; a LikelihoodEstimator, ratio estimator, Ensemble or
      callable ``f(x, thetas) -> [T, n]`` of log densities for ml, see
      :func:`~columnminer.inference.likelihood.event_log_likelihood`), ``theta_ref`` (the reference point
      of sallino / adaptive-sally, default the origin, and of the doubly parameterised ratio estimators);
      ml: ``asimov_normalisation`` normalises the estimator's model on the Asimov events (module docstring;
      False: the raw :math:`\sum_i w_i\log\hat r_i`), ``closure`` checks the estimator on them
      (:func:`~columnminer.ml.calibration.ratio_closure`: normalisation and learned against parton-level
      log-likelihood, with their statistical errors), puts the result in ``closure`` and warns when it fails;
    - the Asimov data (:class:`~columnminer.inference.limit_options.AsimovOptions`):
      ``sample_only_from_closest_benchmark``, ``n_asimov`` (ml: a random subset of that many Asimov events,
      drawn with ``seed``), ``return_asimov``;
    - nuisances (:class:`~columnminer.inference.limit_options.NuisanceOptions`): ``profile_nuisances=True``
      (rate, histo and sally with one binning; a setup with systematics and a store with nuisance weights)
      profiles the nuisance parameters (True: all; or their names, the others fixed at their nominal values)
      at every tested point: per-bin exponential-quadratic variations and unit Gaussian constraints
      (:mod:`~columnminer.inference.systematic_bins`); the fitted values are in ``fitted_nuisances``;
    - every mode: ``include_rate=False`` drops the Poisson term of the total count, ``dof`` (default the
      number of parameters), ``return_histograms``.

    Reference: Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727; MadMiner, arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_store
        >>> rng = np.random.default_rng(0)
        >>> store = golden_store(rng.normal(125, 5, 200), rng.uniform(1, 2, (200, 6)), chunk_size=50)
        >>> result = expected_limits(store, "rate", [0.0, 0.0], [[0.0, 0.0], [0.5, 0.5]], 10.0, partition=None)
        >>> result.best_fit.tolist(), result.p_values[0]
        ([0.0, 0.0], np.float64(1.0))
        >>> options = limit_options("histo", features="m4l", bins=4, partition=None)
        >>> expected_limits(store, "histo", "sm", [[0.0, 0.0], [0.5, 0.5]], 10.0, options=options).best_fit_index
        0
    """
    options = limit_options(mode, "expected", options, **keywords)
    coefficients, point = resolve_theta_true(store.setup, theta_true)
    return _run(store, check_mode(mode), thetas, luminosity, options, LimitData(c_true=coefficients), point)


def _observed_data(store: Any, x_observed: Any, counts: Any, weights: Any, n_observed: Any) -> LimitData:
    """The observed events (weights rescaled to ``n_observed`` when given), counts, or count alone."""
    data = LimitData(n_observed=n_observed)
    if x_observed is not None:
        n_obs = len(store.observable_names)
        x = np.asarray(x_observed, dtype=np.float64)
        x = x[:, None] if x.ndim == 1 and n_obs == 1 else x
        if x.ndim != 2 or x.shape[1] != n_obs:
            raise InferenceError(
                f"x_observed must have shape [n, {n_obs}] (the store's observables), got {np.shape(x_observed)}"
            )
        data.x, data.weights = x, observed_weights(len(x), weights, n_observed)
    elif counts is not None:
        data.counts = np.asarray(counts, dtype=np.float64)
    elif n_observed is None:
        raise InferenceError("x_observed: give the observed events, or counts / n_observed")
    return data


def observed_limits(
    store: Any,
    mode: str,
    x_observed: Any,
    thetas: Any,
    luminosity: float,
    *,
    counts: Any = None,
    weights: Any = None,
    n_observed: float | None = None,
    options: LimitOptions | None = None,
    **keywords: Any,
) -> LimitResult:
    r"""p-values on the points ``thetas`` for observed data: events ``x_observed`` [n, n_observables] (in the
    store's observable order) with optional per-event ``weights``, or for the rate and fixed-binning
    histogram modes the bin ``counts`` (with explicit ``bins``) / ``n_observed`` alone.

    ``n_observed`` rescales the events to that many (the rate term uses it as the count). The model
    (histograms, cross sections) is read from ``partition`` (default: all events). Adaptive bins are
    decided at ``thetas_binning`` (default: the tested point nearest the grid's centre). The options
    (``options`` and / or keywords) are those of :func:`expected_limits` but the Asimov ones
    (``sample_only_from_closest_benchmark``, ``n_asimov``, ``seed``, ``return_asimov``,
    ``asimov_normalisation``, ``closure``). Reference: arXiv:1007.1727, arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.full(100, 125.0), chunk_size=50)
        >>> result = observed_limits(store, "rate", None, ["sm"], 1.0, n_observed=100)
        >>> round(float(result.log_likelihood_rate[0]), 3)  # 100 log 100 - 100
        360.517
    """
    options = limit_options(mode, "observed", options, **keywords)
    data = _observed_data(store, x_observed, counts, weights, n_observed)
    return _run(store, check_mode(mode), thetas, luminosity, options, data, None)
