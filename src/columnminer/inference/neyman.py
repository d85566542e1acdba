r"""Coverage by pseudo-experiments for every kind of likelihood, bootstrap replicas of the Asimov likelihood,
and toy-based (Neyman) critical values where Wilks' theorem fails.

One representation serves the rate, histogram, SALLY (a histogram of the estimated score), neural (ALICES and
any other ratio or density estimator) and exact likelihoods: an :class:`EventModel` over the n weighted
events of a partition (the Asimov events), tested on a grid of T points :math:`\theta_t`. Its extended
log-likelihood for per-event counts :math:`n_i` (real numbers for Asimov data, integers for toys) is

.. math::

    \log L(\theta_t) = \sum_u N_u \log\mu_u(\theta_t) - \nu(\theta_t),
    \qquad \nu(\theta) = L \sum_i w_i(\theta),

with units u the bins (binned: :math:`N_k = \sum_{i \in k} n_i`, :math:`\mu_k(\theta) = L \sum_{i\in k}
w_i(\theta)`, exactly morphed; the rate is one bin) or the events themselves (unbinned: :math:`N_i = n_i`,
:math:`\log\mu_i(\theta_t)` = the per-event matrix ``log_density`` [n, T], e.g. :math:`\log \hat r(x_i|\theta_t)
+ \log\sigma(\theta_t)` for a ratio estimator, :math:`\log w_i(\theta_t)` for the exact parton-level weights).
Constants that do not depend on theta are dropped; q is :math:`-2[\log L(\theta) - \max \log L]`.
The per-event densities come in three normalisations (``normalisation``): ``"none"``, already
:math:`\log[\sigma(\theta) p(x_i|\theta)]` up to a per-event constant (exact weights); ``"weights"``, a
normalised density or a ratio to a fixed reference, so :math:`N\log\sigma(\theta)` is added with
:math:`\sigma` from the weights (the extended likelihood of a neural estimator, as in
:mod:`columnminer.inference.limits`); ``"sample"``, an unnormalised :math:`f(x|\theta) \propto
\sigma(\theta) p(x|\theta)` normalised on the events themselves,
:math:`\log p(x_i|\theta) = \log f_i(\theta) - \log \hat s(\theta)`,
:math:`\hat s(\theta) = \sum_j w_j(\theta_\text{true}) f_j(\theta)/f_j(\theta_\text{true}) / \sum_j
w_j(\theta_\text{true})` (the importance-sampling estimate of :math:`\sigma(\theta)/\sigma(\theta_\text{true})`),
plus :math:`N\log\sigma(\theta)`: the Asimov likelihood then peaks at theta_true exactly (Jensen), just as
for an estimator calibrated on the Asimov events.

- Asimov data (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727): :math:`n_i = L w_i(\theta_\text{true})`.
- Bootstrap (:meth:`EventModel.asimov_q` with multipliers): each event's weight times :math:`u_i \sim`
  Poisson(1) in the data *and* in the model's yields (the histograms, :math:`\sigma(\theta)`), the estimator
  or exact per-event densities held fixed; the spread of a derived quantity (an area) over the replicas is
  its Monte Carlo uncertainty from the finite event sample (not from the training of an estimator).
- Toys (:func:`toy_coverage`): :math:`n_i \sim \mathrm{Poisson}(L w_i(\theta_\text{true}))` independently per
  event, i.e. unbinned pseudo-data drawn from the weighted events themselves, shared by all methods; binned
  methods sum them into their bins (equivalent to Poisson bin counts). Per toy,
  :math:`q(\theta_\text{true}) = 2[\max_\theta \log L - \log L(\theta_\text{true})]`, the maximum over the grid
  refined by a quadratic through the 3 x 3 neighbourhood of the best point (a coarse grid would otherwise
  under-estimate q and over-cover). Wilks' theorem (Wilks 1938) says :math:`q \sim \chi^2_k`, so the region
  :math:`q < F^{-1}_{\chi^2_k}(\mathrm{CL})` covers theta_true with probability CL; the fraction of toys
  inside, with its binomial error :math:`\sqrt{f(1-f)/M}`, tests that.
- Neyman construction (Neyman 1937; the Feldman-Cousins ordering by the likelihood ratio,
  arXiv:physics/9711021): the critical value at theta is the CL quantile of the toy distribution of
  :math:`q(\theta)` at that theta (:func:`neyman_critical_values`); the region :math:`\{\theta: q(\theta) <
  c_\text{CL}(\theta)\}` covers exactly by construction. :func:`toy_coverage` calibrates the critical values
  at theta_true on half of its toys and measures their coverage on the other half.

Everything is vectorised: a batch of toys is one [M, n] x [n, T] product (float32 for the unbinned densities,
taken relative to theta_true so that the sums keep their precision).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..errors import InferenceError
from .areas import AreaEstimate, grid_axes, region_areas
from .binned import bin_index, quantile_edges, reduce_chunks
from .likelihood import MAX_PAIRS, YIELD_FLOOR, resolve_theta_true, resolve_thetas
from .toys import CoverageResult, check_levels, coverage_fractions

__all__ = [
    "EventModel",
    "EventSample",
    "MorphedRatio",
    "area_estimates",
    "bootstrap_multipliers",
    "estimator_log_density",
    "fast_estimator",
    "gather_event_sample",
    "models_by_name",
    "neyman_critical_values",
    "ratio_estimate",
    "toy_counts",
    "toy_coverage",
    "toy_q",
]

logger = logging.getLogger(__name__)

#: Confidence levels of the usual 1 and 2 sigma regions.
LEVELS = (0.6827, 0.9545)


@dataclass(frozen=True)
class EventSample:
    """Weighted events of one partition: ``x`` [n, d] observables, ``weights`` [n, B] benchmark weights in pb
    (scaled to the full sample), ``rows`` [n] store rows, and the store's observable names and setup.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> sample = EventSample(np.zeros((3, 1)), np.ones((3, 6)), np.arange(3), ("m4l",), golden_channel_setup())
        >>> sample.n_events, float(sample.weights.sum(axis=0)[0])
        (3, 3.0)
    """

    x: np.ndarray
    weights: np.ndarray
    rows: np.ndarray
    observable_names: tuple[str, ...]
    setup: Any

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.rows)


def gather_event_sample(store: Any, partition: str | None = "test", client: Any = None) -> EventSample:
    """The events of ``partition`` (all with None) with weights scaled to the full sample, in row order.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.full(100, 125.0), np.random.default_rng(0).uniform(1, 2, (100, 6)), 50)
        >>> sample = gather_event_sample(store, partition=None)
        >>> sample.n_events, sample.weights.shape, sample.observable_names
        (100, (100, 6), ('m4l',))
    """
    parts = reduce_chunks(store, lambda c: (c.x, c.weights, c.rows), partition=partition, client=client)
    return EventSample(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        tuple(store.observable_names),
        store.setup,
    )


class MorphedRatio:
    r"""A morphing-aware ratio estimator (:class:`~columnminer.ml.morphing_aware.MorphingAwareRatioEstimator`)
    evaluated on many thetas from *one* network evaluation per event: its
    :math:`\log\hat r(x|\theta, \theta_\text{ref}) = \ell(w(\theta), \hat g(x)) - \ell(w(\theta), \hat k)
    - [\ell(w_\text{ref}, \hat g(x)) - \ell(w_\text{ref}, \hat k)]`, :math:`\ell(w, l) = \log\max(\sum_b w_b
    e^{l_b}, \epsilon \sum_b |w_b| e^{l_b})`, written out in numpy for all (theta, x) pairs instead of one
    network pass per pair. Every other attribute is the estimator's. The first evaluation is compared with the
    estimator's own :meth:`evaluate_log_likelihood_ratio` on a few events and thetas; a difference above
    :attr:`TOLERANCE` raises :class:`~columnminer.errors.InferenceError` (use the estimator itself then).

    Example:
        >>> MorphedRatio.applies(lambda x, thetas: x)  # a plain callable has no morphing-aware structure
        False
    """

    TOLERANCE = 1e-4

    def __init__(self, estimator: Any) -> None:
        self._estimator = estimator
        self._verified = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._estimator, name)

    @staticmethod
    def applies(estimator: Any) -> bool:
        """Whether ``estimator`` has the morphing-aware structure this needs."""
        model = getattr(estimator, "model", None)
        return (
            hasattr(estimator, "evaluate_benchmark_log_densities")
            and model is not None
            and hasattr(model, "morphing_weights")
            and hasattr(model, "positivity_floor")
            and getattr(model, "reference", None) is not None
        )

    def _weights(self, thetas: np.ndarray) -> np.ndarray:
        import torch

        model = self._estimator.model
        with torch.no_grad():
            return model.morphing_weights(torch.as_tensor(thetas, dtype=torch.float64)).double().numpy()

    def _fast(self, x: np.ndarray, thetas: np.ndarray) -> np.ndarray:
        model = self._estimator.model
        g, k = self._estimator.evaluate_benchmark_log_densities(x)
        g, k = np.asarray(g, dtype=np.float64), np.asarray(k, dtype=np.float64)
        reference = np.asarray(model.reference.detach().cpu(), dtype=np.float64).reshape(1, -1)
        w, w_ref = self._weights(thetas), self._weights(reference)
        floor = float(model.positivity_floor)

        def ell(weights: np.ndarray, logs: np.ndarray) -> np.ndarray:  # [n, T]
            shift = logs.max(axis=1, keepdims=True)
            terms = np.exp(logs - shift)
            total = terms @ weights.T
            return np.log(np.maximum(total, floor * (terms @ np.abs(weights).T))) + shift

        log_r = ell(w, g) - ell(w, k[None, :]) - (ell(w_ref, g) - ell(w_ref, k[None, :]))
        return log_r.T

    def evaluate_log_likelihood_ratio(self, x: Any, theta0: Any, theta1: Any = None, **kwargs: Any) -> Any:
        """[T, n] for all combinations of ``theta0`` and x against the reference; other uses go to the
        estimator."""
        if theta1 is not None or kwargs.get("evaluate_score") or kwargs.get("test_all_combinations") is False:
            return self._estimator.evaluate_log_likelihood_ratio(x, theta0, theta1, **kwargs)
        x = np.asarray(x, dtype=np.float64)
        thetas = np.atleast_2d(np.asarray(theta0, dtype=np.float64))
        out = self._fast(x, thetas)
        if not self._verified:
            rows = np.linspace(0, len(x) - 1, min(len(x), 200)).astype(int)
            cols = np.unique(np.linspace(0, len(thetas) - 1, min(len(thetas), 4)).astype(int))
            slow = np.asarray(self._estimator.evaluate_log_likelihood_ratio(x[rows], thetas[cols]))
            difference = float(np.max(np.abs(slow - out[np.ix_(cols, rows)])))
            if not difference < self.TOLERANCE:
                raise InferenceError(
                    f"MorphedRatio: the fast evaluation differs from the estimator's by {difference:.2e}"
                )
            self._verified = True
        return out


def fast_estimator(estimator: Any) -> Any:
    """:class:`MorphedRatio` for a morphing-aware ratio estimator, else the estimator itself.

    Example:
        >>> density = lambda x, thetas: -0.5 * (x[None, :, 0] - thetas[:, :1]) ** 2
        >>> fast_estimator(density) is density
        True
    """
    return MorphedRatio(estimator) if MorphedRatio.applies(estimator) else estimator


def estimator_log_density(estimator: Any, x: Any, thetas: Any, theta_ref: Any = None) -> np.ndarray:
    r"""Per-event :math:`\log\hat p(x_i|\theta_t)` (or :math:`\log\hat r(x_i|\theta_t, \theta_\text{ref})`) [n, T]
    of any estimator :func:`~columnminer.inference.likelihood.event_log_likelihood` accepts, a few thetas per
    call (a morphing-aware ratio estimator through :class:`MorphedRatio`: one network pass per event).

    Example:
        >>> shift = lambda x, t: x[None, :, 0] - t[:, :1]
        >>> estimator_log_density(shift, np.zeros((3, 1)), [[0.0], [1.0]]).tolist()
        [[0.0, -1.0], [0.0, -1.0], [0.0, -1.0]]
    """
    from .likelihood import log_density_function

    x = np.asarray(x, dtype=np.float64)
    points = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
    ref = None if theta_ref is None else np.atleast_2d(np.asarray(theta_ref, dtype=np.float64))[0]
    log_p = log_density_function(fast_estimator(estimator), ref)
    step = max(1, MAX_PAIRS // max(len(x), 1))
    out = np.empty((len(x), len(points)))
    for start in range(0, len(points), step):
        chunk = points[start : start + step]
        out[:, start : start + step] = np.asarray(log_p(x, chunk), dtype=np.float64).reshape(len(chunk), -1).T
    return out


@dataclass
class EventModel:
    r"""One method's extended likelihood over weighted events on a grid (module docstring).

    Build with :meth:`rate`, :meth:`binned` or :meth:`unbinned`. Attributes: ``name``; ``points`` [T, P] and
    their morphing ``coefficients`` [T, B]; ``true_index`` (theta_true among the points); ``weights`` [n, B]
    (pb); ``luminosity`` (pb^-1); ``bins`` [n] and ``n_bins`` (binned) or ``log_density`` [n, T]
    (unbinned, float32, relative to theta_true); ``dof``.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.full(100, 125.0), np.random.default_rng(0).uniform(1, 2, (100, 6)), 50)
        >>> model = EventModel.rate(gather_event_sample(store, None), [[0.0, 0.0], [0.5, 0.0]], [0.0, 0.0], 100.0)
        >>> model.true_index, model.dof, round(float(model.asimov_q()[1]), 3)
        (0, 2, 0.152)
    """

    name: str
    points: np.ndarray
    coefficients: np.ndarray
    true_index: int
    weights: np.ndarray
    luminosity: float
    bins: np.ndarray | None = None
    n_bins: int = 1
    log_density: np.ndarray | None = None
    dof: int = 2
    normalisation: str = "none"
    _grid: Any = field(default=None, repr=False)
    _toy_offset: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64)
        self.coefficients = np.asarray(self.coefficients, dtype=np.float64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        n, t = len(self.weights), len(self.points)
        if self.coefficients.shape != (t, self.weights.shape[1]):
            raise InferenceError(
                f"coefficients must be [{t}, {self.weights.shape[1]}], got {self.coefficients.shape}"
            )
        if not 0 <= int(self.true_index) < t:
            raise InferenceError(f"true_index {self.true_index} is not one of the {t} points")
        if (self.bins is None) == (self.log_density is None):
            raise InferenceError(
                "an EventModel is binned (bins) or unbinned (log_density), not both or neither"
            )
        if self.bins is not None:
            self.bins = np.asarray(self.bins, dtype=np.int64)
            if (
                self.bins.shape != (n,)
                or self.bins.min(initial=0) < 0
                or self.bins.max(initial=0) >= self.n_bins
            ):
                raise InferenceError(f"bins must be [{n}] integers in [0, {self.n_bins})")
        else:
            ld = np.asarray(self.log_density, dtype=np.float64)
            if ld.shape != (n, t):
                raise InferenceError(f"log_density must be [{n}, {t}], got {ld.shape}")
            ld = ld - ld[:, [int(self.true_index)]]
            if not np.all(np.isfinite(ld)):
                raise InferenceError(f"{self.name}: non-finite per-event log densities")
            self.log_density = ld.astype(np.float32)
        if self.normalisation not in ("none", "weights", "sample"):
            raise InferenceError(
                f"normalisation must be 'none', 'weights' or 'sample', got {self.normalisation!r}"
            )
        # per event-count offset of the toys' log-likelihood: log sigma(theta) (- log s_hat(theta))
        offset = np.zeros(t)
        if self.log_density is not None and self.normalisation != "none":
            offset += np.log(np.maximum(self.coefficients @ self.weights.sum(axis=0), YIELD_FLOOR))
            if self.normalisation == "sample":
                offset -= self._log_sample_norm(np.ones((1, n)))[0]
        self._toy_offset = offset
        try:
            self._grid = grid_axes(self.points)
        except InferenceError:
            self._grid = None

    # -- construction ---------------------------------------------------------------------------------------
    @staticmethod
    def _common(sample: EventSample, thetas: Any, theta_true: Any, luminosity: float) -> dict[str, Any]:
        """The fields every model shares: the grid, its coefficients, theta_true's index among the points (an
        error unless it is one), the events' weights, the luminosity and dof (the number of parameters)."""
        c, points = resolve_thetas(sample.setup, thetas)
        point_true = resolve_theta_true(sample.setup, theta_true)[1]
        match = np.flatnonzero(np.all(np.isclose(points, point_true, rtol=0, atol=1e-12), axis=1))
        if not len(match):
            raise InferenceError(f"theta_true {point_true.tolist()} must be one of the grid points")
        return {
            "points": points,
            "coefficients": c,
            "true_index": int(match[0]),
            "weights": sample.weights,
            "luminosity": float(luminosity),
            "dof": points.shape[1],
        }

    @classmethod
    def rate(
        cls, sample: EventSample, thetas: Any, theta_true: Any, luminosity: float, name: str = "rate"
    ) -> EventModel:
        """The total count alone (one bin)."""
        common = cls._common(sample, thetas, theta_true, luminosity)
        return cls(name, bins=np.zeros(sample.n_events, int), n_bins=1, **common)

    @classmethod
    def binned(
        cls,
        sample: EventSample,
        values: Any,
        bins: int | Sequence[int],
        thetas: Any,
        theta_true: Any,
        luminosity: float,
        name: str = "histogram",
    ) -> EventModel:
        """A histogram of ``values`` [n, d] (observables, or the estimated score for SALLY) with ``bins``
        adaptive bins per dimension of equal expected events at theta_true (weighted quantiles, values beyond
        the outer edges in the edge bins): the binning of :func:`~columnminer.inference.limits.expected_limits`."""
        common = cls._common(sample, thetas, theta_true, luminosity)
        values = np.asarray(values, dtype=np.float64)
        values = values[:, None] if values.ndim == 1 else values
        spec = [int(bins)] * values.shape[1] if np.ndim(bins) == 0 else [int(b) for b in bins]
        w_true = sample.weights @ common["coefficients"][common["true_index"]]
        edges = tuple(quantile_edges(values[:, d], w_true, s) for d, s in enumerate(spec))
        index, keep = bin_index(values, edges, flow=True)
        if not keep.all():
            raise InferenceError(f"{name}: {int((~keep).sum())} events with non-finite values")
        n_bins = int(np.prod([len(e) - 1 for e in edges]))
        return cls(name, bins=index, n_bins=n_bins, **common)

    @classmethod
    def unbinned(
        cls,
        sample: EventSample,
        log_density: Any,
        thetas: Any,
        theta_true: Any,
        luminosity: float,
        normalisation: str = "none",
        name: str = "unbinned",
    ) -> EventModel:
        r"""Per-event log densities [n, T] on the grid with their ``normalisation`` (module docstring):
        ``"weights"`` for an estimator's :math:`\log\hat p(x|\theta)` or :math:`\log\hat r(x|\theta,
        \theta_\text{ref})`, ``"none"`` for :math:`\log[\sigma(\theta) p(x|\theta)]` up to per-event constants
        (exact weights), ``"sample"`` for an unnormalised density normalised on the events. Values are taken
        relative to theta_true (float32); non-finite ones are an error."""
        common = cls._common(sample, thetas, theta_true, luminosity)
        return cls(name, log_density=log_density, normalisation=normalisation, **common)

    # -- pieces -----------------------------------------------------------------------------------------------
    @property
    def is_binned(self) -> bool:
        """Whether the model is a histogram (or the rate)."""
        return self.bins is not None

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.weights)

    def expected_counts(self, index: int | None = None) -> np.ndarray:
        """Per-event expected counts :math:`L w_i(\\theta)` at the point ``index`` (default theta_true), >= 0."""
        c = self.coefficients[self.true_index if index is None else int(index)]
        mu = self.luminosity * self.weights @ c
        if np.any(mu < 0):
            logger.warning(
                "%s: %d negative event weights at this point set to 0 for the toys",
                self.name,
                int(np.sum(mu < 0)),
            )
        return np.maximum(mu, 0.0)

    def _onehot_weights(self, multipliers: np.ndarray) -> np.ndarray:
        """[R, K, B] per-bin benchmark-weight sums with per-event multipliers [R, n]."""
        b = self.weights.shape[1]
        spread = np.zeros((self.n_events, self.n_bins * b))
        cols = self.bins[:, None] * b + np.arange(b)[None, :]
        np.put_along_axis(spread, cols, self.weights, axis=1)
        return (multipliers @ spread).reshape(len(multipliers), self.n_bins, b)

    def _log_sample_norm(self, multipliers: np.ndarray) -> np.ndarray:
        """:math:`\\log\\hat s(\theta)` [R, T] of the events re-weighted by ``multipliers`` [R, n]."""
        data = multipliers * self.expected_counts()[None, :]
        ratio = np.exp(self.log_density.astype(np.float64))
        return np.log(np.maximum(data @ ratio, YIELD_FLOOR)) - np.log(data.sum(axis=1, keepdims=True))

    def log_likelihood(self, counts: Any) -> np.ndarray:
        """Extended log-likelihood [M, T] of per-event counts [M, n] (constants dropped), the model fixed."""
        n = np.atleast_2d(np.asarray(counts, dtype=np.float64))
        total = self.luminosity * self.coefficients @ self.weights.sum(axis=0)  # [T]
        if self.is_binned:
            onehot = np.zeros((self.n_events, self.n_bins))
            onehot[np.arange(self.n_events), self.bins] = 1.0
            sums = onehot.T @ self.weights  # [K, B]
            mu = np.maximum(self.luminosity * sums @ self.coefficients.T, YIELD_FLOOR)  # [K, T]
            return (n @ onehot) @ np.log(mu) - total[None, :]
        ll = (n.astype(np.float32) @ self.log_density).astype(np.float64)
        return ll + n.sum(axis=1, keepdims=True) * self._toy_offset[None, :] - total[None, :]

    def asimov_log_likelihood(self, multipliers: Any = None) -> np.ndarray:
        """Log-likelihood [R, T] of the Asimov data at theta_true for bootstrap ``multipliers`` [R, n] (None:
        the nominal sample, one row): data, yields and the ``"sample"`` normalisation all from the re-weighted
        events (estimators and exact densities fixed)."""
        u = (
            np.ones((1, self.n_events))
            if multipliers is None
            else np.atleast_2d(np.asarray(multipliers, dtype=np.float64))
        )
        sigma = np.maximum((u @ self.weights) @ self.coefficients.T, YIELD_FLOOR / self.luminosity)  # [R, T]
        totals = self.luminosity * sigma
        if self.is_binned:
            sums = self._onehot_weights(u)  # [R, K, B]
            mu = np.maximum(self.luminosity * sums @ self.coefficients.T, YIELD_FLOOR)  # [R, K, T]
            data = mu[:, :, self.true_index]
            return np.einsum("rk,rkt->rt", data, np.log(mu)) - totals
        data = u * self.expected_counts()[None, :]
        n_data = data.sum(axis=1, keepdims=True)
        ll = (data.astype(np.float32) @ self.log_density).astype(np.float64)
        if self.normalisation != "none":
            ll += n_data * np.log(sigma)
        if self.normalisation == "sample":
            ll -= n_data * self._log_sample_norm(u)
        return ll - totals

    def asimov_q(self, multipliers: Any = None) -> np.ndarray:
        """:math:`q = -2[\\log L - \\max_\\text{grid}\\log L]` of the Asimov data, [T] (nominal) or [R, T]."""
        ll = self.asimov_log_likelihood(multipliers)
        q = -2.0 * (ll - ll.max(axis=1, keepdims=True))
        return q[0] if multipliers is None else q

    # -- maxima of toys -------------------------------------------------------------------------------------
    def refined_maximum(self, ll: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row of ``ll`` [M, T]: the maximum refined by a quadratic through the 3 x 3 neighbourhood of the
        best grid point (regular 2-d grids; else the grid maximum), the refined best point [M, P], and
        whether the best grid point lies on the border of the grid."""
        m = len(ll)
        rows = np.arange(m)
        best = np.argmax(ll, axis=1)
        if self._grid is None or len(self._grid[1]) != 2 or min(self._grid[1]) < 3:
            return ll[rows, best], self.points[best], np.zeros(m, dtype=bool)
        axes, (n1, n2), order = self._grid
        g = ll[:, order].reshape(m, n1, n2)
        flat = np.argmax(g.reshape(m, -1), axis=1)
        i, j = np.divmod(flat, n2)
        edge = (i == 0) | (i == n1 - 1) | (j == 0) | (j == n2 - 1)
        ic, jc = np.clip(i, 1, n1 - 2), np.clip(j, 1, n2 - 2)

        def v(di: int, dj: int) -> np.ndarray:
            return g[rows, ic + di, jc + dj]

        v0 = v(0, 0)
        gx, gy = 0.5 * (v(1, 0) - v(-1, 0)), 0.5 * (v(0, 1) - v(0, -1))
        hxx, hyy = v(1, 0) - 2 * v0 + v(-1, 0), v(0, 1) - 2 * v0 + v(0, -1)
        hxy = 0.25 * (v(1, 1) - v(1, -1) - v(-1, 1) + v(-1, -1))
        det = hxx * hyy - hxy * hxy
        with np.errstate(divide="ignore", invalid="ignore"):
            dx = -(hyy * gx - hxy * gy) / det
            dy = -(hxx * gy - hxy * gx) / det
        ok = (hxx < 0) & (det > 0) & (np.abs(dx) <= 1) & (np.abs(dy) <= 1)
        refined = np.where(ok, v0 + 0.5 * (gx * dx + gy * dy), v0)
        top = g[rows, i, j]
        use = ok & (refined > top)
        step_x, step_y = axes[0][1] - axes[0][0], axes[1][1] - axes[1][0]
        point = np.stack(
            [
                np.where(use, axes[0][ic] + np.where(ok, dx, 0) * step_x, axes[0][i]),
                np.where(use, axes[1][jc] + np.where(ok, dy, 0) * step_y, axes[1][j]),
            ],
            axis=1,
        )
        return np.where(use, refined, top), point, edge


# -- toys ---------------------------------------------------------------------------------------------------------
def toy_counts(expected: np.ndarray, n_toys: int, rng: np.random.Generator) -> np.ndarray:
    """Per-event Poisson counts [n_toys, n] with means ``expected`` [n].

    Example:
        >>> toy_counts(np.array([0.5, 2.0, 4.0]), 10, np.random.default_rng(0)).shape
        (10, 3)
    """
    return rng.poisson(
        np.asarray(expected, dtype=np.float64)[None, :], size=(int(n_toys), len(expected))
    ).astype(np.float32)


def toy_q(
    model: EventModel, counts: np.ndarray, index: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per toy: :math:`q(\\theta_t) = 2[\\max\\log L - \\log L(\\theta_t)]` at the point ``index`` (default
    theta_true) with the refined maximum, the best point, and the border flag.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.full(100, 125.0), np.random.default_rng(0).uniform(1, 2, (100, 6)), 50)
        >>> model = EventModel.rate(gather_event_sample(store, None), [[0.0, 0.0], [0.5, 0.0]], [0.0, 0.0], 100.0)
        >>> q, best, edge = toy_q(model, toy_counts(model.expected_counts(), 3, np.random.default_rng(1)))
        >>> q.shape, best.shape, edge.tolist()
        ((3,), (3, 2), [False, False, False])
    """
    ll = model.log_likelihood(counts)
    top, point, edge = model.refined_maximum(ll)
    t = model.true_index if index is None else int(index)
    return np.maximum(2.0 * (top - ll[:, t]), 0.0), point, edge


def _check_common(models: Sequence[EventModel]) -> np.ndarray:
    first = models[0]
    mu = first.expected_counts()
    for m in models[1:]:
        if m.n_events != first.n_events or not np.allclose(m.expected_counts(), mu, rtol=1e-9, atol=0):
            raise InferenceError(
                f"toy_coverage: model {m.name!r} is not built on the same events / theta_true as {first.name!r}"
            )
    return mu


def toy_coverage(
    models: Sequence[EventModel],
    n_toys: int = 1000,
    levels: Sequence[float] = LEVELS,
    seed: int | None = 0,
    batch_size: int = 250,
    neyman: bool = True,
) -> dict[str, CoverageResult]:
    """Coverage of every model's Wilks regions at theta_true by the same per-event Poisson toys (module
    docstring); with ``neyman`` the toy critical values of :math:`q(\\theta_\\text{true})` from the even toys and
    their coverage on the odd ones. All models must share the events, theta_true and the luminosity.

    Example:
        >>> from columnminer.inference.likelihood import parameter_grid
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(4000, 2))
        >>> grid = parameter_grid([(-0.5, 0.5), (-0.5, 0.5)], [21, 21])
        >>> ld = -0.5 * ((x[:, None, :] - grid[None, :, :]) ** 2).sum(axis=-1)
        >>> model = EventModel("gauss", grid, np.ones((len(grid), 1)), 220, np.full((4000, 1), 5e-5), 1000.0,
        ...                    log_density=ld)
        >>> result = toy_coverage([model], n_toys=400, seed=1)["gauss"]
        >>> bool(abs(result.pulls()[0]) < 4 and abs(result.pulls()[1]) < 4)
        True
    """
    if not models:
        raise InferenceError("toy_coverage: no models")
    if int(n_toys) < 2:
        raise InferenceError(f"n_toys must be at least 2, got {n_toys}")
    levels = check_levels(levels)
    mu = _check_common(models)
    rng = np.random.default_rng(seed)
    q = {m.name: np.empty(int(n_toys)) for m in models}
    best = {m.name: np.empty((int(n_toys), m.points.shape[1])) for m in models}
    edge = {m.name: np.empty(int(n_toys), dtype=bool) for m in models}
    for start in range(0, int(n_toys), int(batch_size)):
        size = min(int(batch_size), int(n_toys) - start)
        counts = toy_counts(mu, size, rng)
        for m in models:
            qq, bb, ee = toy_q(m, counts)
            q[m.name][start : start + size] = qq
            best[m.name][start : start + size] = bb
            edge[m.name][start : start + size] = ee
    out = {}
    for m in models:
        out[m.name] = _coverage_result(m, q[m.name], best[m.name], edge[m.name], levels, neyman)
        logger.info("coverage of %s: %s", m.name, out[m.name].fractions.round(4).tolist())
    return out


def _coverage_result(
    model: EventModel, q: np.ndarray, best: np.ndarray, edge: np.ndarray, levels: np.ndarray, neyman: bool
) -> CoverageResult:
    thresholds, fractions, errors = coverage_fractions(q, levels, model.dof)
    extra: dict[str, Any] = {}
    if neyman and len(q) >= 4:
        calibration, check = q[0::2], q[1::2]
        critical = np.quantile(calibration, levels)
        f = np.mean(check[:, None] < critical[None, :], axis=0)
        extra = {
            "neyman_thresholds": critical,
            "neyman_fractions": f,
            "neyman_errors": np.sqrt(f * (1.0 - f) / len(check)),
        }
    return CoverageResult(
        levels,
        fractions,
        errors,
        thresholds,
        q,
        best,
        len(q),
        model.dof,
        model.luminosity,
        model.points[model.true_index],
        method=model.name,
        at_edge=float(np.mean(edge)),
        **extra,
    )


def neyman_critical_values(
    model: EventModel,
    at: Sequence[int] | None = None,
    levels: Sequence[float] = LEVELS,
    n_toys: int = 1000,
    seed: int | None = 0,
    batch_size: int = 250,
) -> np.ndarray:
    r"""Toy-based critical values :math:`c_\text{CL}(\theta_t)` [len(at), n_levels]: the CL quantiles of
    :math:`q(\theta_t)` over toys generated *at* :math:`\theta_t` (per-event Poisson counts with means
    :math:`L w_i(\theta_t)`), for the grid indices ``at`` (default: theta_true). A point is inside the Neyman
    region when its q is below its own critical value (Neyman 1937; arXiv:physics/9711021).

    Example:
        >>> from columnminer.inference.likelihood import parameter_grid
        >>> x = np.random.default_rng(0).normal(size=(3000, 2))
        >>> grid = parameter_grid([(-0.5, 0.5), (-0.5, 0.5)], [11, 11])
        >>> ld = -0.5 * ((x[:, None, :] - grid[None, :, :]) ** 2).sum(axis=-1)
        >>> model = EventModel("g", grid, np.ones((121, 1)), 60, np.full((3000, 1), 5e-5), 1000.0, log_density=ld)
        >>> c = neyman_critical_values(model, n_toys=400, seed=2)
        >>> c.shape, bool(1.6 < c[0, 0] < 3.0)
        ((1, 2), True)
    """
    at = [model.true_index] if at is None else [int(a) for a in at]
    levels = np.asarray(levels, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out = np.empty((len(at), len(levels)))
    for k, index in enumerate(at):
        mu = model.expected_counts(index)
        values = []
        for start in range(0, int(n_toys), int(batch_size)):
            size = min(int(batch_size), int(n_toys) - start)
            values.append(toy_q(model, toy_counts(mu, size, rng), index)[0])
        out[k] = np.quantile(np.concatenate(values), levels)
    return out


# -- bootstrap -------------------------------------------------------------------------------------------------
def bootstrap_multipliers(n_events: int, n_replicas: int, seed: int | None = 0) -> np.ndarray:
    """Poisson(1) weight multipliers [n_replicas, n_events] of the event bootstrap (one set shared by all
    methods, so that ratios of their areas get correlated errors).

    Example:
        >>> u = bootstrap_multipliers(1000, 3, seed=1)
        >>> u.shape, bool(abs(u.mean() - 1.0) < 0.05)
        ((3, 1000), True)
    """
    return np.random.default_rng(seed).poisson(1.0, size=(int(n_replicas), int(n_events))).astype(np.float64)


def area_estimates(
    model: EventModel,
    multipliers: np.ndarray | None,
    levels: Sequence[float] = LEVELS,
    q_nominal: Any = None,
    thresholds: Any = None,
    batch_size: int = 50,
) -> tuple[list[AreaEstimate], np.ndarray]:
    """The refined areas of the Asimov regions at each level (:func:`~columnminer.inference.areas.region_areas`)
    with their bootstrap errors: the nominal from ``q_nominal`` (e.g. a
    :class:`~columnminer.inference.limits.LimitResult`'s q on the same grid; default the model's own Asimov q),
    the replicas from the model with ``multipliers`` [R, n]. ``thresholds`` default to the chi^2 quantiles.
    Returns the estimates per level and the replicas' areas [R, n_levels].

    Example:
        >>> from columnminer.inference.likelihood import parameter_grid
        >>> x = np.random.default_rng(0).normal(size=(2000, 2))
        >>> grid = parameter_grid([(-0.3, 0.3), (-0.3, 0.3)], [7, 7])
        >>> ld = -0.5 * ((x[:, None, :] - grid[None, :, :]) ** 2).sum(axis=-1)  # unit Gaussian, 100 events
        >>> model = EventModel("gauss", grid, np.ones((49, 1)), 24, np.full((2000, 1), 5e-5), 1000.0, log_density=ld)
        >>> estimates, replicas = area_estimates(model, bootstrap_multipliers(2000, 5, seed=1), levels=[0.6827])
        >>> round(estimates[0].value / (2.30 * np.pi / 100), 2), replicas.shape  # the disc q < 2.30
        (1.0, (5, 1))
    """
    levels = np.asarray(levels, dtype=np.float64)
    crit = (
        stats.chi2.ppf(levels, model.dof) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    )
    q0 = model.asimov_q() if q_nominal is None else np.asarray(q_nominal, dtype=np.float64)
    nominal = region_areas(model.points, q0, crit)
    edge = [_touches_border(model, q0, t) for t in crit]
    if multipliers is None or len(multipliers) < 2:
        replicas = np.empty((0, len(levels)))
    else:
        parts = []
        for start in range(0, len(multipliers), int(batch_size)):
            qb = model.asimov_q(multipliers[start : start + int(batch_size)])
            parts.append(region_areas(model.points, qb, crit))
        replicas = np.concatenate(parts)
    estimates = [
        AreaEstimate(
            float(nominal[k]),
            float(np.std(replicas[:, k], ddof=1)) if len(replicas) > 1 else math.nan,
            replicas[:, k],
            edge[k],
        )
        for k in range(len(levels))
    ]
    return estimates, replicas


def _touches_border(model: EventModel, q: np.ndarray, threshold: float) -> bool:
    inside = model.points[np.asarray(q) < threshold]
    low, high = model.points.min(axis=0), model.points.max(axis=0)
    return bool(len(inside) and (np.any(inside.min(axis=0) <= low) or np.any(inside.max(axis=0) >= high)))


def ratio_estimate(numerator: AreaEstimate, denominator: AreaEstimate) -> tuple[float, float]:
    """A ratio of two areas and its error from their paired bootstrap replicas (same multipliers).

    Example:
        >>> ratio_estimate(AreaEstimate(2.0, 0.1, np.array([2.0, 2.2])), AreaEstimate(1.0, 0.0, np.ones(2)))
        (2.0, 0.1414213562373...)
    """
    value = numerator.value / denominator.value if denominator.value > 0 else math.inf
    n = min(len(numerator.replicas), len(denominator.replicas))
    if n < 2:
        return value, math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        r = numerator.replicas[:n] / denominator.replicas[:n]
    r = r[np.isfinite(r)]
    return value, float(np.std(r, ddof=1)) if len(r) > 1 else math.nan


def models_by_name(models: Sequence[EventModel]) -> Mapping[str, EventModel]:
    """The models keyed by name (duplicates are an error).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> sample = EventSample(np.zeros((3, 1)), np.ones((3, 6)), np.arange(3), ("m4l",), golden_channel_setup())
        >>> models = [EventModel.rate(sample, ["sm"], "sm", 1.0, name=n) for n in ("a", "b")]
        >>> list(models_by_name(models))
        ['a', 'b']
    """
    out: dict[str, EventModel] = {}
    for m in models:
        if m.name in out:
            raise InferenceError(f"two models named {m.name!r}")
        out[m.name] = m
    return out
