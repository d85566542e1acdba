r"""Closure tests of likelihood-ratio estimators on held-out events of a store.

A ratio estimator :math:`\hat r(x|\theta,\theta_1)` that is trained well in the bulk can still be off in
its normalisation, and for an unbinned likelihood that is what counts: summed over N events, an error
:math:`\epsilon(\theta)` of :math:`\log E_{\theta_1}[\hat r]` shifts :math:`\log L(\theta)` by
:math:`N\epsilon(\theta)`, which moves the best fit and excludes the true point without any other sign
(arXiv:1805.00020, section on calibration).
The remedy is :func:`~columnminer.ml.calibration.calibrate_ratio`; this module checks the result.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EstimatorError, InferenceError
from ._heldout import (
    jsonable,
    log_ratio_fn,
    normalised,
    point_of,
    reference_events,
    resolve,
    theta_blocks,
    weighted_log_mean_exp,
)

__all__ = ["RatioClosure", "ratio_closure"]

logger = logging.getLogger(__name__)

#: Per-event floor of w(z|theta) relative to the event's largest benchmark weight (as the truth limits).
_RELATIVE_WEIGHT_FLOOR = 1e-12
#: Absolute floor of the standard errors (float32 networks: rounding noise at theta ~ theta1).
_ERROR_FLOOR = 1e-6


@dataclass(frozen=True)
class RatioClosure:
    r"""The closure check of a ratio estimator on held-out events (module docstring for the definitions).

    Per tested point [T]: ``normalisation`` :math:`\hat c` (should be 1) and ``normalisation_error``;
    ``inverse_normalisation`` :math:`E_\theta[1/\hat r]` (information only) and its error;
    ``log_likelihood`` :math:`\hat\Lambda` (learned, per event, normalised on these events),
    ``log_likelihood_truth`` :math:`\Lambda_z` (parton-level bound) and ``log_likelihood_error``;
    ``relevant`` (points the limits can reach), ``failed_normalisation`` and ``failed_sharpness``.
    ``n_events``: the expected events N the effects are scaled to (None: significance only).

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.linspace(120.0, 130.0, 200), chunk_size=100)  # 1 pb per event and benchmark
        >>> flat = lambda x, t: 0.0 * t[:, :1] + 0.0 * x[None, :, 0]  # r_hat = 1
        >>> closure = ratio_closure(flat, store, [[0.5, 0.0]], theta_ref=[0.0, 0.0], partition=None)
        >>> closure.passed, closure.normalisation.round(6).tolist(), closure.to_dict()["n_sample"]
        (True, [1.0], 200)
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
        return {"passed": self.passed, **{name: jsonable(getattr(self, name)) for name in _RECORD_FIELDS}}


#: The fields of :meth:`RatioClosure.to_dict`, in order.
_RECORD_FIELDS = (
    "partition",
    "theta_ref",
    "n_sample",
    "n_effective",
    "n_events",
    "calibration_events",
    "n_sigma",
    "q_tolerance",
    "thetas",
    "normalisation",
    "normalisation_error",
    "inverse_normalisation",
    "inverse_normalisation_error",
    "log_likelihood",
    "log_likelihood_truth",
    "log_likelihood_error",
    "relevant",
    "failed_normalisation",
    "failed_sharpness",
    "notes",
)


def _closure_sums(
    log_r: np.ndarray, w: np.ndarray, matrix: np.ndarray, c: np.ndarray, log_joint_ref: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-theta statistics of one block of points: log r_hat [t, n], normalised weights at theta1 [n]."""
    log_c = weighted_log_mean_exp(log_r, w)  # log c_hat
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
        >>> from columnminer._examples import golden_store
        >>> rng = np.random.default_rng(0)
        >>> store = golden_store(rng.normal(125, 5, 2000), rng.uniform(1, 2, (2000, 6)), chunk_size=500)
        >>> flat = lambda x, t: 0.0 * t[:, :1] + 0.0 * x[None, :, 0]  # r_hat = 1: normalised, uninformative
        >>> ratio_closure(flat, store, [[0.5, 0.0]], theta_ref=[0.0, 0.0]).passed
        True
        >>> wrong = lambda x, t: 0.2 * t[:, :1] + 0.0 * x[None, :, 0]
        >>> ratio_closure(wrong, store, [[0.5, 0.0]], theta_ref=[0.0, 0.0]).passed
        False
    """
    c, points = resolve(store.setup, thetas)
    x, matrix, w, ref_point = reference_events(
        estimator, store, theta_ref, partition, events, cuts, efficiencies, client, InferenceError
    )
    keep = w > 0
    if not keep.any():
        raise InferenceError(f"closure: no event with a positive weight at theta_ref = {point_of(ref_point)}")
    x, matrix = x[keep], matrix[keep]
    w, n_effective = normalised(w[keep])
    info = getattr(estimator, "calibration_info", None) or {}
    if calibration_events is None:
        calibration_events = info.get("n_effective")
    s = _closure_statistics(log_ratio_fn(estimator, ref_point), x, w, matrix, c, points)
    normalisation = np.exp(s["log_c"])
    inflate = 1.0 if not calibration_events else np.sqrt(1.0 + n_effective / float(calibration_events))
    error_c = np.sqrt((s["error_c"] * inflate) ** 2 + _ERROR_FLOOR**2)
    error_d = np.sqrt(s["error_d"] ** 2 + (s["error_c"] / normalisation) ** 2 + _ERROR_FLOOR**2)
    significant_c = np.abs(normalisation - 1.0) > n_sigma * error_c
    significant_d = s["truth"] - s["learned"] > n_sigma * error_d
    relevant = np.ones(len(points), dtype=bool)
    if n_events is not None:
        relevant, relevant_c, relevant_d = _relevance(
            s, float(n_events), log_likelihood_offset, q_tolerance, relevant_cl, points.shape[1]
        )
        significant_c &= relevant_c
        significant_d &= relevant_d
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
        log_likelihood=s["learned"],
        log_likelihood_truth=s["truth"],
        log_likelihood_error=error_d,
        relevant=relevant,
        failed_normalisation=significant_c & relevant,
        failed_sharpness=significant_d & relevant,
        n_sigma=float(n_sigma),
        q_tolerance=float(q_tolerance),
        notes=_notes(info, partition),
    )
    logger.info("ratio closure: %s", result.summary())
    return result


def _notes(info: dict[str, Any], partition: str | None) -> tuple[str, ...]:
    """The notes of a closure whose events include those the estimator was calibrated on."""
    if info and (info.get("partition") in (partition, None) or partition is None):
        return (
            f"the events include the calibration events (partition {info.get('partition') or 'all'}): "
            "the normalisation check is not independent of the calibration",
        )
    return ()


def _closure_statistics(
    log_r_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    w: np.ndarray,
    matrix: np.ndarray,
    c: np.ndarray,
    points: np.ndarray,
) -> dict[str, np.ndarray]:
    """:func:`_closure_sums` of every tested point [T], evaluated in memory-bounded blocks of points."""
    log_joint_ref = np.log(w)  # w(z|theta1) / sigma(theta1), the weights normalised
    sums: dict[str, list[np.ndarray]] = {}
    for block in theta_blocks(len(points), len(x)):
        try:
            log_r = log_r_fn(x, points[block])
        except EstimatorError as err:
            raise InferenceError(f"estimator: cannot evaluate it on these events / thetas: {err}") from err
        for key, value in _closure_sums(log_r, w, matrix, c[block], log_joint_ref).items():
            sums.setdefault(key, []).append(value)
    return {key: np.concatenate(value) for key, value in sums.items()}


def _relevance(
    s: dict[str, np.ndarray],
    n: float,
    offset: Any,
    q_tolerance: float,
    relevant_cl: float,
    n_parameters: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """With N expected events: the points the limits can reach (learned or parton-level q below the
    ``relevant_cl`` quantile of chi^2_P) and whether the normalisation / sharpness effects exceed
    ``q_tolerance`` in q."""
    from scipy import stats

    learned, truth = s["learned"], s["truth"]
    offset = np.zeros(len(learned)) if offset is None else np.asarray(offset)
    total_learned, total_truth = n * learned + offset, n * truth + offset
    q_learned = -2.0 * (total_learned - np.max(total_learned))
    q_truth = -2.0 * (total_truth - np.max(total_truth))
    relevant = np.minimum(q_learned, q_truth) <= float(stats.chi2.ppf(relevant_cl, n_parameters))
    return relevant, 2.0 * n * np.abs(s["log_c"]) > q_tolerance, 2.0 * n * (truth - learned) > q_tolerance
