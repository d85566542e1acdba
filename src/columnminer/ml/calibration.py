r"""Calibration of likelihood-ratio estimators on held-out events of a store.

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

The closure test of a (calibrated) estimator is :func:`~columnminer.ml.closure.ratio_closure`, re-exported
here.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EstimatorError
from ._heldout import (
    jsonable,
    log_ratio_fn,
    normalised,
    reference_events,
    resolve,
    theta_blocks,
    weighted_log_mean_exp,
)
from .closure import RatioClosure, ratio_closure

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

    Example:
        >>> record = RatioCalibration(None, "normalisation", "validation", np.zeros(2), 100, 80.0)
        >>> record.info()["theta_ref"], record.info()["n_effective"]
        ([0.0, 0.0], 80.0)
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
        names = ("method", "partition", "theta_ref", "n_events", "n_effective", "log_xsec_shifts")
        return {name: jsonable(getattr(self, name)) for name in names}


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
        self._log_r = log_ratio_fn(estimator, self.theta_ref)
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
        for rows in theta_blocks(len(todo), len(self.x)):
            block = todo[rows]
            values = self._log_r(self.x, block)
            if self.method == "normalisation":
                logs = weighted_log_mean_exp(values, self.weights)
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
        return weighted_log_mean_exp(self._log_r(self.x, points), self.weights)

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
        for block in theta_blocks(len(points), len(x)):
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
        >>> from columnminer._examples import golden_store
        >>> rng = np.random.default_rng(0)
        >>> store = golden_store(rng.normal(125, 5, 2000), rng.uniform(1, 2, (2000, 6)), chunk_size=500)
        >>> wrong = lambda x, t: 0.1 * t[:, :1] + 0.0 * x[None, :, 0]  # log r_hat = 0.1 a2: not normalised
        >>> result = calibrate_ratio(wrong, store, "validation", theta_ref=[0.0, 0.0])
        >>> round(float(result.estimator.evaluate_log_likelihood_ratio(np.ones((1, 1)), [[0.5, 0.0]])[0, 0]), 9)
        0.0
    """
    if method not in CALIBRATION_METHODS:
        raise EstimatorError(f"method: unknown calibration {method!r}; choose one of {CALIBRATION_METHODS}")
    if partition == "test" and events is None:
        warnings.warn(
            "calibrate_ratio on the 'test' partition: those are the events of the Asimov data of the limits, "
            "so a closure check on them is no longer a test; calibrate on 'validation'",
            UserWarning,
            stacklevel=2,
        )
    x, matrix, w, ref_point = reference_events(
        estimator, store, theta_ref, partition, events, cuts, efficiencies, client, EstimatorError
    )
    if np.any(w < 0) or not w.sum() > 0:
        raise EstimatorError(
            f"calibration: the event weights at theta_ref = {ref_point.tolist()} must be non-negative with a "
            "positive sum"
        )
    w, n_effective = normalised(w)
    shifts = None
    if method == "normalisation" and _is_morphing_aware(estimator):
        shifts = _normalise_members(estimator, x, w, ref_point)
        calibrated = estimator
    else:
        setup = store.setup

        def weights_at(theta: np.ndarray) -> np.ndarray:
            return matrix @ resolve(setup, theta[None, :])[0][0]

        calibrated = CalibratedRatioEstimator(estimator, x, w, ref_point, method, weights_at, bins)
    result = RatioCalibration(calibrated, method, partition, ref_point, len(x), n_effective, shifts)
    info = result.info()
    calibrated.calibration_info = info
    if hasattr(calibrated, "estimators"):
        for member in calibrated:
            member.calibration_info = info
    return result


def _normalise_members(estimator: Any, x: np.ndarray, w: np.ndarray, theta_ref: np.ndarray) -> np.ndarray:
    """:func:`_normalise_morphing_aware` for an estimator or every member of an ensemble; the shifts [B] or
    [M, B]."""
    members = list(estimator) if hasattr(estimator, "estimators") else [estimator]
    shifts = np.array([_normalise_morphing_aware(m, x, w, theta_ref) for m in members])
    shifts = shifts if hasattr(estimator, "estimators") else shifts[0]
    logger.info("calibrated the log cross sections on %d events: shifts %s", len(x), np.round(shifts, 5))
    return shifts
