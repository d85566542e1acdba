r"""Calibration and closure tests of likelihood-ratio estimators on held-out events of a store.

A ratio estimator :math:`\hat r(x|\theta,\theta_1)` that is trained well in the bulk can still be off in
its normalisation, and for an unbinned likelihood that is what counts: summed over N events, an error
:math:`\epsilon(\theta)` of :math:`\log E_{\theta_1}[\hat r]` shifts :math:`\log L(\theta)` by
:math:`N\epsilon(\theta)`, which moves the best fit and excludes the true point without any other sign
(arXiv:1805.00020, section on calibration).

Calibration (:func:`calibrate_ratio`). Any density ratio obeys

.. math::

    E_{x\sim p(x|\theta_1)}\big[r(x|\theta,\theta_1)\big] = \int p(x|\theta)\,dx = 1
    \qquad\text{for every }\theta .

The held-out events of a store partition (default "validation": neither the training sample, drawn from
"train", nor the Asimov data of the limits, "test") weighted at :math:`\theta_1`, :math:`w_i =
w(z_i|\theta_1)`, estimate the left-hand side as :math:`\hat c(\theta) = \sum_i w_i\hat r(x_i|\theta,
\theta_1) / \sum_i w_i`; the calibrated estimator is :math:`\log\hat r \to \log\hat r - \log\hat c(\theta)`.

- For a :class:`~columnminer.ml.morphing_aware.MorphingAwareRatioEstimator` this is exact for every theta
  at once: with :math:`\hat N(x|\theta) = \sum_b w_b(\theta)e^{\hat g_b(x)}`, :math:`\hat c(\theta) = 1`
  for all theta when the log cross sections are :math:`e^{\hat k_b} = S\,E_{\theta_1}[e^{\hat g_b(x)} /
  \hat N(x|\theta_1)]` (any S > 0: :math:`\sum_b w_b(\theta_1)e^{\hat k_b} = S`), because both sides are
  linear in the morphing weights. The B numbers :math:`\hat k_b` are replaced in place (and saved with the
  estimator).
- Any other ratio estimator (singly or doubly parameterised, an ensemble) gets
  :class:`CalibratedRatioEstimator`, which divides by :math:`\hat c(\theta)` computed on the held-out
  events for each theta it is asked about.
- ``method="histogram"``: the calibration of CARL (Cranmer, Pavez, Louppe, arXiv:1506.02169): per theta,
  the estimator's output :math:`s = \log\hat r(x|\theta,\theta_1)` is binned (equal-weight bins of the
  mixture) and :math:`\hat r_\text{cal}(x|\theta,\theta_1) = \hat p(s(x)|\theta) / \hat p(s(x)|\theta_1)`,
  with both histograms from the held-out events weighted at theta and at theta1 (morphing weights; no
  new simulation). It is normalised by construction and exact for the statistic s, whatever the
  estimator's calibration; piecewise constant in s.

Closure (:func:`ratio_closure`). On events held out from training *and* calibration (default "test"),
weighted at the reference :math:`\theta_1` (normalised weights :math:`\tilde w_i`, effective size
:math:`n_\text{eff} = 1/\sum_i\tilde w_i^2`), per tested theta:

- the normalisation :math:`\hat c(\theta) = \sum_i\tilde w_i\hat r_i`, which must be 1, with the
  standard error :math:`\sigma_c^2 = \sum_i\tilde w_i^2(\hat r_i - \hat c)^2`, enlarged by
  :math:`\sqrt{1 + n_\text{eff}/n_\text{cal}}` when the estimator was calibrated on :math:`n_\text{cal}`
  effective events (the calibration's own noise);
- the learned Asimov log-likelihood per event, normalised on these events, :math:`\hat\Lambda(\theta) =
  \sum_i\tilde w_i\log\hat r_i - \log\hat c(\theta)` (:math:`\le 0`, equality at theta1, by Jensen), and
  the expected parton-level bound from the stored weights, :math:`\Lambda_z(\theta) = \sum_i\tilde w_i
  \log[w(z_i|\theta)\,\sigma(\theta_1) / (w(z_i|\theta_1)\,\sigma(\theta))]`. For the exact ratio
  :math:`E[\log r(x)] = -\mathrm{KL}_x \ge -\mathrm{KL}_z = E[\log r(x,z)]` (the observables carry at
  most the information of the parton-level event), so :math:`\hat\Lambda < \Lambda_z` means the learned
  likelihood falls faster than any correct one: its limits are too narrow;
- as information, the normalisation from the other side, :math:`E_{\theta}[1/\hat r(x|\theta,\theta_1)]
  = 1`, with the events reweighted to theta.

With N expected events, a tested point *fails* when a deviation is both significant and relevant:
:math:`|\hat c - 1| > n_\sigma\sigma_c` and :math:`2N|\log\hat c| >` ``q_tolerance`` (it shifts
:math:`q = -2\Delta\log L` by more than that), or :math:`\Lambda_z - \hat\Lambda > n_\sigma\sigma_\Lambda`
and :math:`2N(\Lambda_z - \hat\Lambda) >` ``q_tolerance``; only points that the limits can reach count,
those with learned or parton-level q below the ``relevant_cl`` quantile of :math:`\chi^2_P`. Without N
only the significance counts, at every point.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EstimatorError, InferenceError

__all__ = [
    "CALIBRATION_METHODS",
    "CalibratedRatioEstimator",
    "RatioCalibration",
    "RatioClosure",
    "calibrate_ratio",
    "ratio_closure",
]

logger = logging.getLogger(__name__)

#: The calibration methods of :func:`calibrate_ratio`.
CALIBRATION_METHODS = ("normalisation", "histogram")
#: Largest number of (theta, event) pairs evaluated at once.
_MAX_PAIRS = 2_000_000
#: Per-event floor of w(z|theta) relative to the event's largest benchmark weight (as the truth limits).
_RELATIVE_WEIGHT_FLOOR = 1e-12
#: Absolute floor of the standard errors (float32 networks: rounding noise at theta ~ theta1).
_ERROR_FLOOR = 1e-6


# -- events and log ratios ------------------------------------------------------------------------------------
def _events(
    store: Any, partition: str | None, cuts: Sequence[Callable], efficiencies: Sequence[Callable], client: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Observables x [n, d] and benchmark weights [n, B] of a store partition (weights scaled to the full
    sample, as everywhere in :mod:`columnminer.inference`)."""
    from ..inference.binned import reduce_chunks

    parts = reduce_chunks(
        store,
        lambda c: (c.x, c.weights),
        partition=partition,
        cuts=tuple(cuts),
        efficiencies=tuple(efficiencies),
        client=client,
    )
    x = np.concatenate([p[0] for p in parts])
    weights = np.concatenate([p[1] for p in parts])
    if not len(x):
        raise InferenceError(f"{store.url}: no events in partition {partition or 'all'!r}")
    return x, weights


def _given_events(events: Any, n_benchmarks: int) -> tuple[np.ndarray, np.ndarray]:
    x, weights = (np.asarray(a, dtype=np.float64) for a in events)
    x = x[:, None] if x.ndim == 1 else x
    if weights.ndim != 2 or weights.shape != (len(x), n_benchmarks):
        raise InferenceError(
            f"events: benchmark weights must have shape [{len(x)}, {n_benchmarks}], got {weights.shape}"
        )
    return x, weights


def _resolve(setup: Any, thetas: Any) -> tuple[np.ndarray, np.ndarray]:
    from ..inference.likelihood import resolve_thetas

    return resolve_thetas(setup, thetas)


def _default_reference(estimator: Any, theta_ref: Any) -> Any:
    """theta_ref, or the reference point the estimator (or its first member) was built with."""
    if theta_ref is not None:
        return theta_ref
    members = list(estimator) if hasattr(estimator, "estimators") else [estimator]
    reference = getattr(members[0], "reference", None) if members else None
    if reference is None:
        raise EstimatorError(
            "theta_ref: give the reference point theta1 of the estimator's ratios (the point its y = 1 "
            "training events were drawn at)"
        )
    return np.asarray(reference, dtype=np.float64)


def _log_ratio_fn(estimator: Any, theta_ref: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    r"""``f(x, thetas) -> [T, n]``: :math:`\log\hat r(x|\theta,\theta_1)` for any estimator that the limits
    take (ratio, density, ensemble, callable), as the difference of its log densities at theta and theta1
    (so :math:`\hat r(x|\theta_1,\theta_1) = 1` exactly). The theta1 term is evaluated once per array x."""
    from ..inference.likelihood import log_density_function

    log_p = log_density_function(estimator, theta_ref)
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def fn(x: np.ndarray, thetas: np.ndarray) -> np.ndarray:
        entry = cache.get(id(x))
        if entry is None or entry[0] is not x:
            if len(cache) >= 4:
                cache.clear()
            base = np.asarray(log_p(x, theta_ref[None, :]), dtype=np.float64).reshape(1, len(x))
            entry = cache[id(x)] = (x, base)
        values = np.asarray(log_p(x, thetas), dtype=np.float64).reshape(len(thetas), len(x))
        return values - entry[1]

    return fn


def _theta_blocks(n_thetas: int, n_events: int) -> range:
    return range(0, n_thetas, max(1, _MAX_PAIRS // max(n_events, 1)))


def _weighted_log_mean_exp(log_r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """log sum_i w_i exp(log_r[t, i]) for normalised non-negative w, stable for large log_r."""
    shift = np.max(np.where(w[None, :] > 0, log_r, -np.inf), axis=1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return np.log(np.exp(log_r - shift) @ w) + shift[:, 0]


# -- calibration ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RatioCalibration:
    """What :func:`calibrate_ratio` did.

    Attributes:
        estimator: the calibrated estimator to use (the same object for the in-place normalisation of a
            morphing-aware estimator, else a :class:`CalibratedRatioEstimator`).
        method: "normalisation" or "histogram".
        partition: the store partition of the calibration events (None: all events).
        theta_ref: the reference point theta1 [P].
        n_events: the calibration events.
        n_effective: their effective number at theta1, :math:`(\\sum w)^2 / \\sum w^2`.
        log_xsec_shifts: morphing-aware normalisation: the change of the log cross sections k_b [B] (an
            ensemble: [M, B]); else None.
    """

    estimator: Any
    method: str
    partition: str | None
    theta_ref: np.ndarray
    n_events: int
    n_effective: float
    log_xsec_shifts: np.ndarray | None = None

    def info(self) -> dict[str, Any]:
        """A JSON-able record (what the command line writes beside a calibrated model)."""
        return {
            "method": self.method,
            "partition": self.partition,
            "theta_ref": self.theta_ref.tolist(),
            "n_events": int(self.n_events),
            "n_effective": float(self.n_effective),
            "log_xsec_shifts": None if self.log_xsec_shifts is None else self.log_xsec_shifts.tolist(),
        }


def _is_morphing_aware(estimator: Any) -> bool:
    from .morphing_aware import MorphingAwareRatioEstimator

    if hasattr(estimator, "estimators"):
        return bool(estimator.estimators) and all(
            isinstance(e, MorphingAwareRatioEstimator) for e in estimator.estimators
        )
    return isinstance(estimator, MorphingAwareRatioEstimator)


def _normalise_morphing_aware(
    estimator: Any, x: np.ndarray, w: np.ndarray, theta_ref: np.ndarray
) -> np.ndarray:
    r"""Replace the log cross sections of a morphing-aware estimator so that :math:`E_{\theta_1}[\hat r] =
    1` for every theta on the events (x, normalised weights w); returns the shifts of k_b."""
    import torch

    from .morphing_aware import XSEC_STEP

    g, k = estimator.evaluate_benchmark_log_densities(x)  # [n, B], [B]
    weights = np.asarray(estimator.morpher.weights(theta_ref[None, :]), dtype=np.float64)[0]  # [B]
    shift = g.max(axis=1, keepdims=True)
    terms = np.exp(g - shift)
    total = terms @ weights
    floor = estimator.positivity_floor * (terms @ np.abs(weights))
    log_n_ref = np.log(np.maximum(total, floor)) + shift[:, 0]  # log N_hat(x|theta1)
    ratios = np.exp(g - log_n_ref[:, None])  # e^{g_b} / N_hat(x|theta1)
    means = w @ ratios
    if not np.all(np.isfinite(means) & (means > 0)):
        raise EstimatorError(
            "calibration: the per-benchmark means are not all positive (negative event weights at theta_ref?)"
        )
    k_shift = k.max()
    old_scale = np.log(max(float(np.exp(k - k_shift) @ weights), 1e-300)) + k_shift  # log S
    new = old_scale + np.log(means)
    raw = estimator.model.raw_log_xsec
    with torch.no_grad():
        raw.copy_(torch.as_tensor(new / XSEC_STEP, dtype=raw.dtype))
    return new - k


class CalibratedRatioEstimator:
    r"""A ratio estimator calibrated on held-out events, per theta (see the module docstring): divided by
    its normalisation :math:`\hat c(\theta) = E_{\theta_1}[\hat r(x|\theta,\theta_1)]`
    (``method="normalisation"``) or replaced by the CARL histogram ratio of its output
    (``method="histogram"``). The per-theta calibrations are computed when first asked for and cached.

    It evaluates :math:`\log\hat r_\text{cal}(x|\theta,\theta_1)` with :meth:`evaluate_log_likelihood_ratio`,
    so the limits and likelihoods of :mod:`columnminer.inference` take it like any ratio estimator. It lives
    in memory only (it holds the calibration events); save the underlying ``estimator``.

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy = GaussianToy()
        >>> exact = lambda x, t: toy.log_p_x(x[None, :, 0], t[:, :1]) + 0.3 * t[:, :1]  # off by e^{0.3 theta}
        >>> x = toy.simulate(np.zeros(4000), seed=1)[0][:, None]
        >>> calibrated = CalibratedRatioEstimator(exact, x, np.ones(len(x)), [0.0])
        >>> float(np.round(calibrated.log_normalisation([[1.0]])[0], 1))
        0.3
    """

    def __init__(
        self,
        estimator: Any,
        x: Any,
        weights: Any,
        theta_ref: Any,
        method: str = "normalisation",
        weights_at: Callable[[np.ndarray], np.ndarray] | None = None,
        bins: int = 20,
    ) -> None:
        if method not in CALIBRATION_METHODS:
            raise EstimatorError(
                f"method: unknown calibration {method!r}; choose one of {CALIBRATION_METHODS}"
            )
        if method == "histogram" and weights_at is None:
            raise EstimatorError(
                "the histogram calibration needs the event weights at every theta (weights_at)"
            )
        self.estimator = estimator
        self.method = method
        self.theta_ref = np.asarray(theta_ref, dtype=np.float64).reshape(-1)
        self.x = np.asarray(x, dtype=np.float64)
        self.x = self.x[:, None] if self.x.ndim == 1 else self.x
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.x),) or not np.all(np.isfinite(w)) or not w.sum() > 0:
            raise EstimatorError(f"weights must be finite, shape ({len(self.x)},), with a positive sum")
        self.weights = w / w.sum()
        self.weights_at = weights_at
        self.bins = int(bins)
        self.calibration_info: dict[str, Any] | None = None
        self._log_r = _log_ratio_fn(estimator, self.theta_ref)
        self._cache: dict[bytes, Any] = {}

    @property
    def n_parameters(self) -> int:
        """The number of parameters P."""
        return len(self.theta_ref)

    @property
    def n_observables(self) -> int:
        """The number of observables of x."""
        return int(self.x.shape[1])

    @property
    def reference(self) -> np.ndarray:
        """The reference point theta1 of the calibrated ratios."""
        return self.theta_ref

    def _theta(self, theta: Any) -> np.ndarray:
        points = np.asarray(theta, dtype=np.float64)
        points = points.reshape(1, -1) if points.ndim <= 1 and points.size == self.n_parameters else points
        points = points.reshape(-1, 1) if points.ndim == 1 else points
        if points.ndim != 2 or points.shape[1] != self.n_parameters:
            raise EstimatorError(f"theta must have shape [n, {self.n_parameters}], got {np.shape(theta)}")
        return points

    def _calibrations(self, points: np.ndarray) -> list[Any]:
        """The calibration of each point [T, P]: log c_hat (normalisation) or (edges, log ratios) (histogram),
        computing the missing ones in blocks."""
        keys = [np.round(p, 12).tobytes() for p in points]
        pending = {key: p for key, p in zip(keys, points, strict=True) if key not in self._cache}
        todo = np.array(list(pending.values())).reshape(-1, self.n_parameters)
        for start in _theta_blocks(len(todo), len(self.x)):
            block = todo[start : start + max(1, _MAX_PAIRS // len(self.x))]
            values = self._log_r(self.x, block)
            if self.method == "normalisation":
                logs = _weighted_log_mean_exp(values, self.weights)
                for point, value in zip(block, logs, strict=True):
                    self._cache[np.round(point, 12).tobytes()] = float(value)
            else:
                for point, row in zip(block, values, strict=True):
                    self._cache[np.round(point, 12).tobytes()] = self._histogram(row, point)
        return [self._cache[key] for key in keys]

    def _histogram(self, values: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from ..inference.binned import quantile_edges

        w_theta = np.asarray(self.weights_at(theta), dtype=np.float64)
        w_theta = np.where(w_theta > 0, w_theta, 0.0)
        if not w_theta.sum() > 0:
            raise EstimatorError(
                f"histogram calibration: no positive event weight at theta = {theta.tolist()}"
            )
        w_theta = w_theta / w_theta.sum()
        edges = quantile_edges(values, 0.5 * (w_theta + self.weights), self.bins)
        index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
        p_theta = np.bincount(index, w_theta, len(edges) - 1)
        p_ref = np.bincount(index, self.weights, len(edges) - 1)
        floor = 1e-3 / len(values)
        return edges, np.log(np.maximum(p_theta, floor)) - np.log(np.maximum(p_ref, floor))

    def log_normalisation(self, theta: Any) -> np.ndarray:
        r""":math:`\log\hat c(\theta)` [T] of the uncalibrated estimator on the calibration events."""
        points = self._theta(theta)
        return _weighted_log_mean_exp(self._log_r(self.x, points), self.weights)

    def evaluate_log_likelihood_ratio(
        self, x: Any, theta0: Any, theta1: Any = None, test_all_combinations: bool = True
    ) -> np.ndarray:
        r""":math:`\log\hat r_\text{cal}(x|\theta_0,\theta_1)` [n_theta, n_x]; ``theta1`` must be None or the
        calibration's reference point (the calibration holds for that one)."""
        if theta1 is not None and not np.allclose(
            np.asarray(theta1, dtype=np.float64).ravel(), self.theta_ref
        ):
            raise EstimatorError(
                f"this calibrated estimator gives ratios against theta1 = {self.theta_ref.tolist()} only"
            )
        if not test_all_combinations:
            raise EstimatorError("CalibratedRatioEstimator evaluates all (theta, x) combinations only")
        x = np.asarray(x, dtype=np.float64)
        x = x[:, None] if x.ndim == 1 else x
        points = self._theta(theta0)
        out = np.empty((len(points), len(x)))
        for start in _theta_blocks(len(points), len(x)):
            block = slice(start, start + max(1, _MAX_PAIRS // max(len(x), 1)))
            values = self._log_r(x, points[block])
            for row, value, calibration in zip(
                range(len(points))[block], values, self._calibrations(points[block]), strict=True
            ):
                if self.method == "normalisation":
                    out[row] = value - calibration
                else:
                    edges, log_ratio = calibration
                    index = np.clip(np.searchsorted(edges, value, side="right") - 1, 0, len(log_ratio) - 1)
                    out[row] = log_ratio[index]
        return out

    def __repr__(self) -> str:
        return (
            f"CalibratedRatioEstimator({self.method}, theta_ref={self.theta_ref.tolist()}, "
            f"{len(self.x)} calibration events, estimator={self.estimator!r})"
        )


def calibrate_ratio(
    estimator: Any,
    store: Any,
    partition: str | None = "validation",
    *,
    theta_ref: Any = None,
    method: str = "normalisation",
    bins: int = 20,
    events: Any = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
) -> RatioCalibration:
    r"""Calibrate a likelihood-ratio estimator on held-out events of ``store`` so that
    :math:`E_{x\sim p(x|\theta_1)}[\hat r(x|\theta,\theta_1)] = 1` for every theta (see the module docstring
    for the maths).

    ``partition``: the calibration events (default "validation": held out from the training sample, drawn
    from "train", and from the Asimov data of the limits, "test"); ``events=(x [n, d], weights [n, B])``
    gives them directly instead (benchmark weights as in the store). ``theta_ref``: the estimator's
    reference point theta1 (default: its ``reference``; a benchmark name or a point). ``method``:
    "normalisation" (in place for a :class:`~columnminer.ml.morphing_aware.MorphingAwareRatioEstimator` or
    an ensemble of them, exact for every theta; a :class:`CalibratedRatioEstimator` otherwise) or
    "histogram" (CARL, arXiv:1506.02169; ``bins`` equal-weight bins per theta; a
    :class:`CalibratedRatioEstimator`). The calibrated estimator carries the record as
    ``calibration_info`` (used by :func:`ratio_closure` for the calibration's own statistical error).
    References: Cranmer, Pavez, Louppe, arXiv:1506.02169; Brehmer, Cranmer, Louppe, Pavez,
    arXiv:1805.00020; Brehmer, Kling, Espejo, Cranmer, arXiv:1907.10621.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> rng = np.random.default_rng(0)
        >>> store = EventStore.create("memory://doc-calibrate", golden_channel_setup(), ["m4l"], chunk_size=500)
        >>> _ = store.append(rng.normal(125, 5, (2000, 1)), rng.uniform(1, 2, (2000, 6)), 0)
        >>> wrong = lambda x, t: 0.1 * t[:, :1] + 0.0 * x[None, :, 0]  # log r_hat = 0.1 a2: not normalised
        >>> result = calibrate_ratio(wrong, store, "validation", theta_ref=[0.0, 0.0])
        >>> round(float(result.estimator.evaluate_log_likelihood_ratio(np.ones((1, 1)), [[0.5, 0.0]])[0, 0]), 9)
        0.0
    """
    if method not in CALIBRATION_METHODS:
        raise EstimatorError(f"method: unknown calibration {method!r}; choose one of {CALIBRATION_METHODS}")
    setup = store.setup
    c_ref, ref_point = _resolve(setup, _default_reference(estimator, theta_ref))
    if len(ref_point) != 1:
        raise EstimatorError(f"theta_ref must be one parameter point, got {len(ref_point)}")
    ref_point = ref_point[0]
    if partition == "test" and events is None:
        warnings.warn(
            "calibrate_ratio on the 'test' partition: those are the events of the Asimov data of the limits, "
            "so a closure check on them is no longer a test; calibrate on 'validation'",
            UserWarning,
            stacklevel=2,
        )
    if events is None:
        x, matrix = _events(store, partition, cuts, efficiencies, client)
    else:
        x, matrix = _given_events(events, len(store.benchmark_names))
    w = matrix @ c_ref[0]
    if np.any(w < 0) or not w.sum() > 0:
        raise EstimatorError(
            f"calibration: the event weights at theta_ref = {ref_point.tolist()} must be non-negative with a "
            "positive sum"
        )
    n_effective = float(w.sum() ** 2 / np.sum(w**2))
    w = w / w.sum()
    shifts = None
    if method == "normalisation" and _is_morphing_aware(estimator):
        members = list(estimator) if hasattr(estimator, "estimators") else [estimator]
        shifts = np.array([_normalise_morphing_aware(m, x, w, ref_point) for m in members])
        shifts = shifts if hasattr(estimator, "estimators") else shifts[0]
        calibrated = estimator
        logger.info("calibrated the log cross sections on %d events: shifts %s", len(x), np.round(shifts, 5))
    else:

        def weights_at(theta: np.ndarray) -> np.ndarray:
            return matrix @ _resolve(setup, theta[None, :])[0][0]

        calibrated = CalibratedRatioEstimator(estimator, x, w, ref_point, method, weights_at, bins)
    result = RatioCalibration(calibrated, method, partition, ref_point, len(x), n_effective, shifts)
    info = result.info()
    calibrated.calibration_info = info
    if hasattr(calibrated, "estimators"):
        for member in calibrated:
            member.calibration_info = info
    return result


# -- closure --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RatioClosure:
    r"""The closure check of a ratio estimator on held-out events (module docstring for the definitions).

    Per tested point [T]: ``normalisation`` :math:`\hat c` (should be 1) and ``normalisation_error``;
    ``inverse_normalisation`` :math:`E_\theta[1/\hat r]` (information only) and its error;
    ``log_likelihood`` :math:`\hat\Lambda` (learned, per event, normalised on these events),
    ``log_likelihood_truth`` :math:`\Lambda_z` (parton-level bound) and ``log_likelihood_error``;
    ``relevant`` (points the limits can reach), ``failed_normalisation`` and ``failed_sharpness``.
    ``n_events``: the expected events N the effects are scaled to (None: significance only).
    """

    thetas: np.ndarray
    theta_ref: np.ndarray
    partition: str | None
    n_sample: int
    n_effective: float
    n_events: float | None
    calibration_events: float | None
    normalisation: np.ndarray
    normalisation_error: np.ndarray
    inverse_normalisation: np.ndarray
    inverse_normalisation_error: np.ndarray
    log_likelihood: np.ndarray
    log_likelihood_truth: np.ndarray
    log_likelihood_error: np.ndarray
    relevant: np.ndarray
    failed_normalisation: np.ndarray
    failed_sharpness: np.ndarray
    n_sigma: float
    q_tolerance: float
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when no relevant point fails."""
        return not bool(np.any(self.failed_normalisation | self.failed_sharpness))

    @property
    def normalisation_pull(self) -> np.ndarray:
        r""":math:`(\hat c - 1) / \sigma_c` [T]."""
        return (self.normalisation - 1.0) / self.normalisation_error

    @property
    def sharpness_pull(self) -> np.ndarray:
        r""":math:`(\hat\Lambda - \Lambda_z) / \sigma_\Lambda` [T] (negative: sharper than the truth)."""
        return (self.log_likelihood - self.log_likelihood_truth) / self.log_likelihood_error

    @property
    def q_shift(self) -> np.ndarray | None:
        r"""The shift of :math:`q` the normalisation error would cause, :math:`2N\log\hat c` [T] (None
        without N)."""
        return None if self.n_events is None else 2.0 * self.n_events * np.log(self.normalisation)

    @property
    def q_learned(self) -> np.ndarray | None:
        r"""The learned kinematic Asimov :math:`q = -2N\hat\Lambda` [T] (None without N)."""
        return None if self.n_events is None else -2.0 * self.n_events * self.log_likelihood

    @property
    def q_truth(self) -> np.ndarray | None:
        r"""The parton-level kinematic bound :math:`q_z = -2N\Lambda_z` [T] (None without N)."""
        return None if self.n_events is None else -2.0 * self.n_events * self.log_likelihood_truth

    def _worst(self, values: np.ndarray, mask: np.ndarray) -> int:
        candidates = np.where(mask & np.isfinite(values), np.abs(values), -1.0)
        return int(np.argmax(candidates))

    def summary(self) -> str:
        """A few lines: the verdict, the worst normalisation and sharpness of the relevant points."""

        def point(t: int) -> str:
            return point_of(self.thetas[t])

        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"closure {verdict} on {self.n_sample} events of partition {self.partition or 'all'} "
            f"(n_eff {self.n_effective:.0f}) weighted at theta_ref = {point_of(self.theta_ref)}, "
            f"{int(self.relevant.sum())} of {len(self.thetas)} points relevant, {self.n_sigma:g} sigma"
        ]
        mask = self.relevant if self.relevant.any() else np.ones(len(self.thetas), dtype=bool)
        mask = mask & ~np.all(np.isclose(self.thetas, self.theta_ref[None, :], rtol=0.0, atol=1e-12), axis=1)
        t = self._worst(self.normalisation_pull, mask)
        shift = "" if self.q_shift is None else f", shifts q by {self.q_shift[t]:+.3g}"
        lines.append(
            f"  normalisation E[r_hat] = {self.normalisation[t]:.4f} +- {self.normalisation_error[t]:.4f} at "
            f"{point(t)} (pull {self.normalisation_pull[t]:+.2f}{shift}); "
            f"{int(self.failed_normalisation.sum())} point(s) fail"
        )
        t = int(np.argmin(np.where(mask, self.sharpness_pull, np.inf)))
        if self.n_events is not None:
            detail = f"kinematic q {self.q_learned[t]:.3g}, parton-level bound {self.q_truth[t]:.3g}"
        else:
            detail = (
                f"learned {self.log_likelihood[t]:.4g} vs parton-level {self.log_likelihood_truth[t]:.4g}"
            )
        lines.append(
            f"  learned Asimov log-likelihood: {detail} at {point(t)} (pull {self.sharpness_pull[t]:+.2f}); "
            f"{int(self.failed_sharpness.sum())} point(s) sharper than the truth"
        )
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (arrays as lists)."""
        return {
            "passed": self.passed,
            "partition": self.partition,
            "theta_ref": self.theta_ref.tolist(),
            "n_sample": int(self.n_sample),
            "n_effective": float(self.n_effective),
            "n_events": self.n_events,
            "calibration_events": self.calibration_events,
            "n_sigma": self.n_sigma,
            "q_tolerance": self.q_tolerance,
            "thetas": self.thetas.tolist(),
            "normalisation": self.normalisation.tolist(),
            "normalisation_error": self.normalisation_error.tolist(),
            "inverse_normalisation": self.inverse_normalisation.tolist(),
            "inverse_normalisation_error": self.inverse_normalisation_error.tolist(),
            "log_likelihood": self.log_likelihood.tolist(),
            "log_likelihood_truth": self.log_likelihood_truth.tolist(),
            "log_likelihood_error": self.log_likelihood_error.tolist(),
            "relevant": self.relevant.tolist(),
            "failed_normalisation": self.failed_normalisation.tolist(),
            "failed_sharpness": self.failed_sharpness.tolist(),
            "notes": list(self.notes),
        }


def point_of(theta: np.ndarray) -> str:
    """``(0, 0.5)``: a parameter point for messages."""
    return "(" + ", ".join(f"{float(v):.4g}" for v in np.ravel(theta)) + ")"


def _closure_sums(
    log_r: np.ndarray, w: np.ndarray, matrix: np.ndarray, c: np.ndarray, log_joint_ref: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-theta statistics of one block of points: log r_hat [t, n], normalised weights at theta1 [n]."""
    log_c = _weighted_log_mean_exp(log_r, w)  # log c_hat
    relative = np.exp(log_r - log_c[:, None])  # r_hat / c_hat
    error_c = np.sqrt(((relative - 1.0) ** 2) @ (w**2)) * np.exp(log_c)
    learned = log_r @ w - log_c
    # the parton-level (joint) log ratio, normalised on these events
    w_theta = matrix @ c.T  # [n, t]
    floor = _RELATIVE_WEIGHT_FLOOR * np.max(np.abs(matrix), axis=1) + np.finfo(np.float64).tiny
    sigma = np.sum(np.where(w_theta > 0, w_theta, 0.0), axis=0)
    log_joint = (
        np.log(np.maximum(w_theta, floor[:, None])).T
        - np.log(np.maximum(sigma, 1e-300))[:, None]
        - log_joint_ref
    )
    truth = log_joint @ w
    difference = log_r - log_c[:, None] - log_joint
    error_d = np.sqrt(((difference - (difference @ w)[:, None]) ** 2) @ (w**2))
    # the other side: E_theta[1 / r_hat] with the events reweighted to theta
    w_th = np.where(w_theta > 0, w_theta, 0.0) / np.maximum(sigma, 1e-300)
    inverse_terms = np.exp(-(log_r - log_c[:, None]))  # against the normalised r_hat
    inverse = np.einsum("tn,nt->t", inverse_terms, w_th)
    error_inv = np.sqrt(np.einsum("tn,nt->t", (inverse_terms - inverse[:, None]) ** 2, w_th**2))
    return {
        "log_c": log_c,
        "error_c": error_c,
        "learned": learned,
        "truth": truth,
        "error_d": error_d,
        "inverse": inverse,
        "error_inv": error_inv,
    }


def ratio_closure(
    estimator: Any,
    store: Any,
    thetas: Any,
    *,
    partition: str | None = "test",
    theta_ref: Any = None,
    events: Any = None,
    n_events: float | None = None,
    log_likelihood_offset: Any = None,
    n_sigma: float = 4.0,
    q_tolerance: float = 1.0,
    relevant_cl: float = 0.999,
    calibration_events: float | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
) -> RatioClosure:
    r"""Closure check of a likelihood-ratio (or density) estimator on held-out events: per point of
    ``thetas``, the normalisation :math:`E_{\theta_1}[\hat r(x|\theta,\theta_1)] = 1` and the learned
    against the parton-level Asimov log-likelihood at the reference point, each with its statistical
    uncertainty; see the module docstring for the definitions and the pass / fail rule.

    ``partition``: the events (default "test": held out from training and, with the defaults of
    :func:`calibrate_ratio`, from the calibration); or ``events=(x [n, d], weights [n, B])`` (then
    ``partition`` only names them). ``theta_ref``:
    the reference point theta1, where the events are weighted (default: the estimator's reference; a
    benchmark name or a point); ``thetas``: the tested points [T, P] (or names). ``n_events``: the expected
    number of events N of the measurement (effects in units of q, and the relevance cut at the
    ``relevant_cl`` quantile of :math:`\chi^2_P`, with ``log_likelihood_offset`` [T], e.g. the rate term,
    added to both log-likelihoods); None: significance alone. ``calibration_events``: the effective number of
    events the estimator was calibrated on (default: from its ``calibration_info``), whose noise enlarges
    the normalisation error. ``n_sigma``, ``q_tolerance``: the thresholds of the rule.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> rng = np.random.default_rng(0)
        >>> store = EventStore.create("memory://doc-closure", golden_channel_setup(), ["m4l"], chunk_size=500)
        >>> _ = store.append(rng.normal(125, 5, (2000, 1)), rng.uniform(1, 2, (2000, 6)), 0)
        >>> flat = lambda x, t: 0.0 * t[:, :1] + 0.0 * x[None, :, 0]  # r_hat = 1: normalised, uninformative
        >>> ratio_closure(flat, store, [[0.5, 0.0]], theta_ref=[0.0, 0.0]).passed
        True
        >>> wrong = lambda x, t: 0.2 * t[:, :1] + 0.0 * x[None, :, 0]
        >>> ratio_closure(wrong, store, [[0.5, 0.0]], theta_ref=[0.0, 0.0]).passed
        False
    """
    from scipy import stats

    setup = store.setup
    c_ref, ref_point = _resolve(setup, _default_reference(estimator, theta_ref))
    if len(ref_point) != 1:
        raise InferenceError(f"theta_ref must be one parameter point, got {len(ref_point)}")
    ref_point = ref_point[0]
    c, points = _resolve(setup, thetas)
    notes = []
    info = getattr(estimator, "calibration_info", None) or {}
    if calibration_events is None:
        calibration_events = info.get("n_effective")
    if info and (info.get("partition") in (partition, None) or partition is None):
        notes.append(
            f"the events include the calibration events (partition {info.get('partition') or 'all'}): "
            "the normalisation check is not independent of the calibration"
        )
    if events is None:
        x, matrix = _events(store, partition, cuts, efficiencies, client)
    else:
        x, matrix = _given_events(events, len(store.benchmark_names))
    w = matrix @ c_ref[0]
    keep = w > 0
    if not keep.any():
        raise InferenceError(f"closure: no event with a positive weight at theta_ref = {point_of(ref_point)}")
    x, matrix, w = x[keep], matrix[keep], w[keep]
    n_effective = float(w.sum() ** 2 / np.sum(w**2))
    w = w / w.sum()
    log_joint_ref = np.log(w)  # w(z|theta1) / sigma(theta1), the weights normalised
    log_r_fn = _log_ratio_fn(estimator, ref_point)
    sums: dict[str, list[np.ndarray]] = {}
    for start in _theta_blocks(len(points), len(x)):
        block = slice(start, start + max(1, _MAX_PAIRS // len(x)))
        try:
            log_r = log_r_fn(x, points[block])
        except EstimatorError as err:
            raise InferenceError(f"estimator: cannot evaluate it on these events / thetas: {err}") from err
        for key, value in _closure_sums(log_r, w, matrix, c[block], log_joint_ref).items():
            sums.setdefault(key, []).append(value)
    s = {key: np.concatenate(value) for key, value in sums.items()}
    normalisation = np.exp(s["log_c"])
    inflate = 1.0 if not calibration_events else np.sqrt(1.0 + n_effective / float(calibration_events))
    error_c = np.sqrt((s["error_c"] * inflate) ** 2 + _ERROR_FLOOR**2)
    error_d = np.sqrt(s["error_d"] ** 2 + (s["error_c"] / normalisation) ** 2 + _ERROR_FLOOR**2)
    learned, truth = s["learned"], s["truth"]
    significant_c = np.abs(normalisation - 1.0) > n_sigma * error_c
    significant_d = truth - learned > n_sigma * error_d
    if n_events is not None:
        n = float(n_events)
        offset = np.zeros(len(points)) if log_likelihood_offset is None else np.asarray(log_likelihood_offset)
        total_learned, total_truth = n * learned + offset, n * truth + offset
        q_learned = -2.0 * (total_learned - np.max(total_learned))
        q_truth = -2.0 * (total_truth - np.max(total_truth))
        q_max = float(stats.chi2.ppf(relevant_cl, points.shape[1]))
        relevant = np.minimum(q_learned, q_truth) <= q_max
        significant_c &= 2.0 * n * np.abs(s["log_c"]) > q_tolerance
        significant_d &= 2.0 * n * (truth - learned) > q_tolerance
    else:
        relevant = np.ones(len(points), dtype=bool)
    result = RatioClosure(
        thetas=points,
        theta_ref=ref_point,
        partition=partition,
        n_sample=len(x),
        n_effective=n_effective,
        n_events=None if n_events is None else float(n_events),
        calibration_events=None if not calibration_events else float(calibration_events),
        normalisation=normalisation,
        normalisation_error=error_c,
        inverse_normalisation=s["inverse"],
        inverse_normalisation_error=np.sqrt(s["error_inv"] ** 2 + _ERROR_FLOOR**2),
        log_likelihood=learned,
        log_likelihood_truth=truth,
        log_likelihood_error=error_d,
        relevant=relevant,
        failed_normalisation=significant_c & relevant,
        failed_sharpness=significant_d & relevant,
        n_sigma=float(n_sigma),
        q_tolerance=float(q_tolerance),
        notes=tuple(notes),
    )
    logger.info("ratio closure: %s", result.summary())
    return result
