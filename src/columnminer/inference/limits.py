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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..display import html_summary, text_summary
from ..errors import InferenceError
from ..weights import closest_benchmark
from ._histograms import (
    LimitData,
    LimitOptions,
    asimov_weights,
    fixed_binning_terms,
    gather_events,
    per_point_binning_terms,
    profiled_terms,
)
from .binned import ChunkColumns, Feature, reduce_chunks
from .likelihood import (
    YIELD_FLOOR,
    asymptotic_p_values,
    benchmark_totals,
    event_log_likelihood,
    resolve_thetas,
)

__all__ = ["MODES", "LimitResult", "expected_limits", "observed_limits"]

logger = logging.getLogger(__name__)

#: The ways to build the likelihood, see the module docstring.
MODES = ("rate", "histo", "sally", "adaptive-sally", "sallino", "ml")


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
        histograms: per tested point, the model's ``hist.Hist`` of expected events at that point (histogram
            modes with ``return_histograms``), else None.
        data_histograms: the observed / Asimov counts as ``hist.Hist`` (one, or one per tested point when
            the binning differs between points), else None.
        asimov: with ``return_asimov``, the Asimov data: ``x`` [n, n_observables] and ``weights`` [n]
            (``n`` for the rate mode).
        nuisance_names, fitted_nuisances: with ``profile_nuisances``, the nuisance parameters and their
            fitted values :math:`\hat\nu(\theta_t)` [T, N] at every tested point.
        asimov_log_normalisation: expected ml limits: :math:`\log\hat c(\theta_t)` [T], the log of the
            estimator's normalisation on the Asimov events (removed from the kinematic part with
            ``asimov_normalisation``); else None.
        closure: expected ml limits with ``closure``: the
            :class:`~columnminer.ml.calibration.RatioClosure` of the estimator on the Asimov events; else None.
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
    histograms: tuple[Any, ...] | None = None
    data_histograms: tuple[Any, ...] | None = None
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


# -- the likelihood parts per mode: (kinematic [T], rate [T], N, histograms, data histograms) ------------------
def _rate_and_ml(
    store, mode, c, points, luminosity, options: LimitOptions, data: LimitData, extras: dict, theta_true
):
    totals = benchmark_totals(store, **options.read)
    matrix = None  # benchmark weights of the Asimov events (times the per-row factors)
    if data.c_true is not None and (mode == "ml" or extras["return_asimov"] or data.factors is not None):
        gathered = gather_events(store, None, options, want_x=True)
        w = asimov_weights(data, gathered, luminosity)
        keep = w != 0
        x, w = gathered["x"][keep], w[keep]
        matrix = gathered["weights"][keep]
        if data.factors is not None:
            matrix = matrix * data.factors[gathered["rows"][keep]][:, None]
        n_asimov = extras["n_asimov"]
        if n_asimov is not None and int(n_asimov) < len(x):
            pick = np.random.default_rng(extras["seed"]).choice(len(x), int(n_asimov), replace=False)
            x, w, matrix = x[pick], w[pick] * w.sum() / w[pick].sum(), matrix[pick]
        data.x, data.weights = x, w
    if data.c_true is not None:
        n_total = (
            float(data.weights.sum())
            if data.weights is not None
            else float(luminosity * totals @ data.c_true)
        )
    elif data.n_observed is not None:
        n_total = float(data.n_observed)
    elif data.counts is not None:
        n_total = float(np.sum(data.counts))
    else:
        n_total = float(data.weights.sum())
    if mode == "rate" and options.profile_nuisances:
        kinematic, rate = profiled_terms(
            store, None, (np.array([-1.0, 1.0]),), c, luminosity, [n_total], options
        )
        return kinematic, rate, n_total, None, None
    expected = np.maximum(luminosity * c @ totals, YIELD_FLOOR)
    rate = n_total * np.log(expected) - expected
    kinematic = np.zeros(len(c))
    if mode == "ml":
        if data.x is None:
            raise InferenceError("x_observed: the ml mode needs the observed events")
        ref = np.zeros(points.shape[1]) if options.theta_ref is None else options.theta_ref
        if matrix is not None and (options.asimov_normalisation or options.closure):
            offset = rate if options.include_rate else None
            kinematic = _asimov_kinematic(store, points, theta_true, data.x, matrix, n_total, offset, options)
        else:
            w = data.weights * (n_total / data.weights.sum())
            kinematic = event_log_likelihood(options.estimator, data.x, points, w, ref)
    return kinematic, rate, n_total, None, None


def _asimov_kinematic(
    store, points, theta_true, x, matrix, n_total, offset, options: LimitOptions
) -> np.ndarray:
    r"""The ml kinematic term on the Asimov events at theta_true, with the closure statistics of the estimator
    on them (module docstring): :math:`N[\hat\Lambda(\theta) - \log\hat c(\theta)]`, or without the
    Asimov normalisation :math:`\sum_i w_i\log\hat r_i(\theta)`. Fills ``options.closure_result``."""
    from ..ml.calibration import ratio_closure

    closure = ratio_closure(
        options.estimator,
        store,
        points,
        partition=options.partition,
        theta_ref=theta_true,
        events=(x, matrix),
        n_events=n_total,
        log_likelihood_offset=offset,
    )
    log_c = np.log(closure.normalisation)
    options.closure_result = closure
    options.asimov_log_normalisation = log_c
    if options.closure and not closure.passed:
        message = (
            "ml limits: the estimator fails the closure check on the Asimov events, so its limits are not "
            "reliable (the best fit is theta_true by construction, the regions may be wrong):\n"
            + closure.summary()
        )
        warnings.warn(message, UserWarning, stacklevel=4)
    if options.asimov_normalisation:
        return n_total * closure.log_likelihood
    return n_total * (closure.log_likelihood + log_c)


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

    signal_all, signal_kept = np.sum(reduce_chunks(store, sums, **options.read), axis=0)
    if signal_kept <= 0:
        raise InferenceError("sample_only_from_closest_benchmark: no signal from the closest benchmark")
    factors = np.where(sampled_from == closest, signal_all / signal_kept, 0.0)
    factors[sampled_from == -1] = 1.0
    logger.info("Asimov data: benchmark %d only, signal scaled by %.4f", closest, signal_all / signal_kept)
    return factors


def _run(
    store, mode, thetas, luminosity, options: LimitOptions, data: LimitData, theta_true, extras
) -> LimitResult:
    mode = str(mode).lower()
    if mode not in MODES:
        raise InferenceError(f"mode: unknown mode {mode!r}; choose one of {list(MODES)}")
    if options.profile_nuisances and (
        mode in ("ml", "sallino", "adaptive-sally") or options.fix_adaptive_binning is False
    ):
        raise InferenceError(
            f"profile_nuisances: mode {mode!r} with a binning per tested point or unbinned is not supported; "
            "use rate, histo or sally with one binning"
        )
    if mode == "ml" and options.estimator is None:
        raise InferenceError("estimator: the ml mode needs a likelihood or likelihood-ratio estimator")
    if not float(luminosity) > 0:
        raise InferenceError(f"luminosity must be positive (pb^-1), got {luminosity}")
    luminosity = float(luminosity)
    setup = store.setup
    c, points = resolve_thetas(setup, thetas)
    options.read = {
        "partition": options.partition,
        "cuts": tuple(options.cuts),
        "efficiencies": tuple(options.efficiencies),
        "client": options.client,
    }
    if data.c_true is not None and extras["closest"]:
        data.factors = _closest_factors(store, theta_true, data.c_true, options)
    if mode in ("rate", "ml"):
        parts = _rate_and_ml(store, mode, c, points, luminosity, options, data, extras, theta_true)
    else:
        if options.thetas_binning is not None:
            binning = options.thetas_binning
        elif theta_true is not None:
            binning = theta_true[None, :]
        else:
            binning = points[[np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1))]]
        binning_c = resolve_thetas(setup, binning)[0]
        totals = benchmark_totals(store, **options.read)
        binning_c = (binning_c / np.maximum(binning_c @ totals, YIELD_FLOOR)[:, None]).mean(axis=0)
        fix = options.fix_adaptive_binning
        if mode in ("sallino", "adaptive-sally") or fix is False:
            parts = per_point_binning_terms(
                store, mode, c, points, luminosity, options, data, binning_c, bool(fix)
            )
        else:
            parts = fixed_binning_terms(store, mode, c, points, luminosity, options, data, binning_c)
    kinematic, rate, n_total, histograms, data_histograms = parts
    if not options.include_rate:
        rate = np.zeros(len(c))
    asimov = None
    if extras["return_asimov"]:
        if data.x is None and data.c_true is not None:
            gathered = gather_events(store, None, options, want_x=True)
            data.x, data.weights = gathered["x"], asimov_weights(data, gathered, luminosity)
        asimov = {"n": float(n_total), "x": data.x, "weights": data.weights}
    result = LimitResult.from_log_likelihood(
        mode,
        setup,
        points,
        kinematic,
        rate,
        luminosity,
        n_total,
        options.dof,
        theta_true=theta_true,
        histograms=histograms,
        data_histograms=data_histograms,
        asimov=asimov,
        nuisance_names=options.profiled_names,
        fitted_nuisances=options.fitted_nuisances,
        asimov_log_normalisation=options.asimov_log_normalisation,
        closure=options.closure_result if options.closure else None,
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
    estimator: Any = None,
    features: Feature | Sequence[Feature] | None = None,
    score_components: Sequence[int] | None = None,
    bins: Any = None,
    thetas_binning: Any = None,
    fix_adaptive_binning: bool | None = None,
    theta_ref: Any = None,
    include_rate: bool = True,
    partition: str | None = "test",
    sample_only_from_closest_benchmark: bool = False,
    n_asimov: int | None = None,
    postprocessing: Callable[[np.ndarray], np.ndarray] | None = None,
    return_asimov: bool = False,
    return_histograms: bool = True,
    dof: int | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
    seed: int | None = 0,
    profile_nuisances: bool | str | Sequence[str] = False,
    asimov_normalisation: bool = True,
    closure: bool = True,
) -> LimitResult:
    r"""Expected p-values on the points ``thetas`` for Asimov data at ``theta_true`` (see the module
    docstring for the modes, binning and data conventions).

    ``thetas``: parameter points [T, P] (any with morphing; benchmarks without) or benchmark names;
    ``theta_true`` one of those. ``luminosity`` in pb^-1. ``estimator``: a ScoreEstimator for sally,
    sallino, adaptive-sally; a LikelihoodEstimator, ratio estimator, Ensemble or callable
    ``f(x, thetas) -> [T, n]`` of log densities for ml (see
    :func:`~columnminer.inference.likelihood.event_log_likelihood`). ``features``: what histo bins (observable
    names or callables on :class:`~columnminer.inference.binned.ChunkColumns`); ``bins``: an int, or per
    dimension an int (adaptive) or edges; ``postprocessing`` maps the summary statistics [n, d] before
    binning (the score, for sallino / adaptive-sally). ``theta_ref``: the reference point of sallino /
    adaptive-sally (default the origin) and of the doubly parameterised ratio estimators. ``n_asimov``:
    use a random subset of that many Asimov events (ml). ``include_rate=False`` drops the Poisson term of
    the total count. ``profile_nuisances=True`` (rate, histo and sally with one binning; a setup with
    systematics and a store with nuisance weights) profiles the nuisance parameters (True: all; or their
    names, the others fixed at their nominal values) at every tested point:
    per-bin exponential-quadratic variations and unit Gaussian constraints
    (:mod:`~columnminer.inference.systematic_bins`); the fitted values are in ``fitted_nuisances``.
    ml: ``asimov_normalisation`` normalises the estimator's model on the Asimov events (module docstring;
    False: the raw :math:`\sum_i w_i\log\hat r_i`); ``closure`` checks the estimator on them
    (:func:`~columnminer.ml.calibration.ratio_closure`: normalisation and learned against parton-level
    log-likelihood, with their statistical errors), puts the result in ``closure`` and warns when it fails.
    Reference: Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727; MadMiner, arXiv:1907.10621.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> rng = np.random.default_rng(0)
        >>> store = EventStore.create("memory://doc-limits", golden_channel_setup(), ["m4l"], chunk_size=50)
        >>> _ = store.append(rng.normal(125, 5, (200, 1)), rng.uniform(1, 2, (200, 6)), 0)
        >>> result = expected_limits(store, "rate", [0.0, 0.0], [[0.0, 0.0], [0.5, 0.5]], 10.0, partition=None)
        >>> result.best_fit.tolist(), result.p_values[0]
        ([0.0, 0.0], np.float64(1.0))
    """
    coefficients, point = resolve_thetas(store.setup, theta_true)
    if len(point) != 1:
        raise InferenceError(f"theta_true must be one parameter point, got {len(point)}")
    options = LimitOptions(
        estimator=estimator,
        features=features,
        score_components=score_components,
        bins=bins,
        thetas_binning=thetas_binning,
        fix_adaptive_binning=fix_adaptive_binning,
        theta_ref=theta_ref,
        include_rate=include_rate,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        postprocessing=postprocessing,
        return_histograms=return_histograms,
        dof=dof,
        client=client,
        profile_nuisances=profile_nuisances,
        asimov_normalisation=bool(asimov_normalisation),
        closure=bool(closure),
    )
    extras = {
        "return_asimov": return_asimov,
        "n_asimov": n_asimov,
        "seed": seed,
        "closest": sample_only_from_closest_benchmark,
    }
    return _run(store, mode, thetas, luminosity, options, LimitData(c_true=coefficients[0]), point[0], extras)


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
    estimator: Any = None,
    features: Feature | Sequence[Feature] | None = None,
    score_components: Sequence[int] | None = None,
    bins: Any = None,
    thetas_binning: Any = None,
    fix_adaptive_binning: bool | None = None,
    theta_ref: Any = None,
    include_rate: bool = True,
    partition: str | None = None,
    postprocessing: Callable[[np.ndarray], np.ndarray] | None = None,
    return_histograms: bool = True,
    dof: int | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
    profile_nuisances: bool | str | Sequence[str] = False,
) -> LimitResult:
    r"""p-values on the points ``thetas`` for observed data: events ``x_observed`` [n, n_observables] (in the
    store's observable order) with optional per-event ``weights``, or for the rate and fixed-binning
    histogram modes the bin ``counts`` (with explicit ``bins``) / ``n_observed`` alone.

    ``n_observed`` rescales the events to that many (the rate term uses it as the count). The model
    (histograms, cross sections) is read from ``partition`` (default: all events). Adaptive bins are
    decided at ``thetas_binning`` (default: the tested point nearest the grid's centre). Other arguments as
    in :func:`expected_limits`. Reference: arXiv:1007.1727, arXiv:1907.10621.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> store = EventStore.create("memory://doc-observed", golden_channel_setup(), ["m4l"], chunk_size=50)
        >>> _ = store.append(np.full((100, 1), 125.0), np.ones((100, 6)), 0)
        >>> result = observed_limits(store, "rate", None, ["sm"], 1.0, n_observed=100)
        >>> round(float(result.log_likelihood_rate[0]), 3)  # 100 log 100 - 100
        360.517
    """
    data = LimitData()
    if x_observed is not None:
        x = np.asarray(x_observed, dtype=np.float64)
        x = x[:, None] if x.ndim == 1 and len(store.observable_names) == 1 else x
        if x.ndim != 2 or x.shape[1] != len(store.observable_names):
            raise InferenceError(
                f"x_observed must have shape [n, {len(store.observable_names)}] (the store's observables), "
                f"got {np.shape(x_observed)}"
            )
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(x),):
            raise InferenceError(f"weights must have shape ({len(x)},), got {w.shape}")
        if n_observed is not None:
            w = w * float(n_observed) / w.sum()
        data.x, data.weights = x, w
    elif counts is not None:
        data.counts = np.asarray(counts, dtype=np.float64)
    elif n_observed is None:
        raise InferenceError("x_observed: give the observed events, or counts / n_observed")
    data.n_observed = n_observed
    options = LimitOptions(
        estimator=estimator,
        features=features,
        score_components=score_components,
        bins=bins,
        thetas_binning=thetas_binning,
        fix_adaptive_binning=fix_adaptive_binning,
        theta_ref=theta_ref,
        include_rate=include_rate,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        postprocessing=postprocessing,
        return_histograms=return_histograms,
        dof=dof,
        client=client,
        profile_nuisances=profile_nuisances,
    )
    extras = {"return_asimov": False, "n_asimov": None, "seed": None, "closest": False}
    return _run(store, mode, thetas, luminosity, options, data, None, extras)
