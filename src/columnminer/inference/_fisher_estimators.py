r"""Private helpers of :mod:`columnminer.inference.fisher`: theta handling, histogram binning, linear error
propagation and the chunk kernels (truth level, estimated scores).

Linear error propagation of a ratio term. For one bin (or the whole selection) the cross section and its
gradient are linear in the per-event benchmark weights, :math:`u = (\sigma, \partial_1\sigma, \dots) =
\sum_z A\, w(z)` with :math:`A = (c; \partial c)`, so their Monte Carlo covariance is :math:`A G A^T` with
the weight Gram matrix :math:`G = \sum_z w(z) w(z)^T`. The term :math:`I_{ij} = L\, g_i g_j / s` then has
the Jacobian :math:`\partial I_{ij}/\partial s = -L g_i g_j / s^2`, :math:`\partial I_{ij}/\partial g_k = L
(\delta_{ik} g_j + g_i \delta_{jk}) / s`, and :math:`\mathrm{Cov}[I] = J\, A G A^T J^T`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InferenceError
from ..io.store import EventStore
from ..setup import AnalysisSetup
from ..thetas import theta_points
from ..weights import theta_coefficients, theta_gradient_coefficients
from .binned import ChunkColumns, reduce_chunks, weighted_quantile_edges

__all__: list[str] = []

logger = logging.getLogger(__name__)


# -- theta -------------------------------------------------------------------------------------------------
def coefficients(setup: AnalysisSetup, theta: Any, what: str = "theta") -> tuple[np.ndarray, np.ndarray]:
    """c(theta) [B] and dc/dtheta [P, B] at one parameter point; bad thetas raise an InferenceError naming
    ``what``."""
    try:
        c = theta_coefficients(setup, theta)
        dc = theta_gradient_coefficients(setup, theta)
    except (ValueError, TypeError, KeyError) as err:
        raise InferenceError(f"{what}: {err}") from err
    if len(c) != 1:
        raise InferenceError(f"{what} must be one parameter point, got {len(c)}")
    return c[0], dc[0]


def theta_point(setup: AnalysisSetup, theta: Any, what: str = "theta") -> np.ndarray:
    """The parameter values [P] of one benchmark (name or :func:`~columnminer.thetas.benchmark_index`) or
    point (:mod:`columnminer.thetas`)."""
    try:
        points = theta_points(setup, theta, what)
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise InferenceError(f"{what}: {err}") from err
    if len(points) != 1:
        raise InferenceError(f"{what} must be one parameter point, got {len(points)}")
    return points[0]


def check_luminosity(luminosity: float) -> float:
    """A positive, finite luminosity in pb^-1."""
    try:
        value = float(luminosity)
    except (TypeError, ValueError):
        raise InferenceError(f"luminosity must be a number (pb^-1), got {luminosity!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise InferenceError(f"luminosity must be positive and finite (pb^-1), got {luminosity!r}")
    return value


# -- histogram binning ----------------------------------------------------------------------------------
def is_count(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_edge_array(value: Any) -> bool:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return array.ndim == 1 and len(array) >= 2


def histogram_edges(
    store: EventStore,
    features: list[Any],
    bins: Any,
    theta: Any,
    luminosity: float,
    events_per_bin: float | None,
    max_bins: int,
    options: dict[str, Any],
) -> Any:
    """Explicit edges as given, or adaptive (equal cross section at theta) edges for bin counts."""
    if events_per_bin is not None:
        if bins is not None:
            raise InferenceError("bins: give either bins or events_per_bin, not both")
        if not events_per_bin > 0:
            raise InferenceError(f"events_per_bin must be positive, got {events_per_bin}")
        c, _ = coefficients(store.setup, theta)
        total = np.sum([r[0] for r in reduce_chunks(store, chunk_moments, **options)], axis=0)
        expected = luminosity * float(c @ total)
        per_axis = int(np.floor((max(expected, 0.0) / events_per_bin) ** (1.0 / len(features))))
        n = int(np.clip(per_axis, 1, max_bins))
        logger.info("%.4g expected events at theta: %d adaptive bins per axis", expected, n)
        bins = [n] * len(features)
    if bins is None:
        raise InferenceError("bins: give bin edges, a number of bins, or events_per_bin")
    if is_count(bins):
        bins = [bins] * len(features)
    per_feature = len(bins) == len(features) and all(is_count(b) for b in bins)
    if not per_feature and _is_edge_array(bins):
        bins = [bins]  # one edge array
    if not any(is_count(b) for b in bins):
        return list(bins)  # explicit edges (checked by binned_weights)
    if len(bins) != len(features):
        raise InferenceError(f"bins: {len(bins)} entries for {len(features)} features")
    edges = []
    for feature, spec in zip(features, bins, strict=True):
        if is_count(spec):
            edges.append(weighted_quantile_edges(store, feature, theta, int(spec), **options))
        else:
            edges.append(np.asarray(spec, dtype=np.float64))
    return edges


# -- linear error propagation ------------------------------------------------------------------------------
def ratio_terms(
    sigma: np.ndarray, dsigma: np.ndarray, luminosity: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per bin :math:`L\, g g^T / s` for bins with s > 0: returns (terms [K, P, P], keep [K], J [K, P*P, P+1])
    with the Jacobian with respect to (s, g)."""
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    dsigma = np.asarray(dsigma, dtype=np.float64).reshape(len(sigma), -1)
    keep = sigma > 0
    s, g = sigma[keep], dsigma[keep]
    n, p = g.shape
    terms = luminosity * g[:, :, None] * g[:, None, :] / s[:, None, None]
    jacobian = np.zeros((n, p, p, p + 1))
    jacobian[..., 0] = -terms / s[:, None, None]
    eye = np.eye(p)
    jacobian[..., 1:] = (
        luminosity
        * (eye[None, :, None, :] * g[:, None, :, None] + g[:, :, None, None] * eye[None, None, :, :])
    ) / s[:, None, None, None]
    return terms, keep, jacobian.reshape(n, p * p, p + 1)


def ratio_covariance(jacobian: np.ndarray, gram: np.ndarray, c: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Sum over bins of J_k (A G_k A^T) J_k^T, with A = (c; dc): [P*P, P*P]."""
    a = np.concatenate([c[None, :], dc], axis=0)
    moments = np.einsum("ab,kbc,dc->kad", a, gram, a)
    return np.einsum("kia,kab,kjb->ij", jacobian, moments, jacobian)


# -- chunk kernels ---------------------------------------------------------------------------------------------
def chunk_moments(columns: ChunkColumns) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the benchmark weights [B] and their Gram matrix [B, B] of one chunk."""
    w = columns.weights
    return w.sum(axis=0), w.T @ w


def _truth_terms(columns: ChunkColumns, c: np.ndarray, dc: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per event (d_i w)(d_j w)/w, flattened [n, P*P], for the events with w > 0; the weights at theta of
    those events; and the number of events skipped (w <= 0 while the gradient is not zero, or w < 0)."""
    w = columns.weights @ c
    dw = columns.weights @ dc.T
    keep = w > 0
    skipped = int(np.count_nonzero(~keep & ((w < 0) | np.any(dw != 0.0, axis=1))))
    w, dw = w[keep], dw[keep]
    f = (dw[:, :, None] * dw[:, None, :] / w[:, None, None]).reshape(len(w), -1)
    return f, keep, skipped


def chunk_truth(columns: ChunkColumns, c: np.ndarray, dc: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sum of the truth-level terms [P*P], their Gram matrix [P*P, P*P], events skipped."""
    f, _, skipped = _truth_terms(columns, c, dc)
    return f.sum(axis=0), f.T @ f, skipped


def chunk_binned_truth(
    columns: ChunkColumns, feature: Any, edges: np.ndarray, c: np.ndarray, dc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per bin of one feature (flow into the edge bins, NaN in no bin): cross section [K] and truth-level
    information [K, P*P]; events skipped."""
    from .binned import bin_index, feature_values

    values = feature_values(columns, [feature])
    index, inside = bin_index(values, (edges,), flow=True)
    n_bins = len(edges) - 1
    w = columns.weights @ c
    sigma = np.bincount(index[inside], w[inside], minlength=n_bins)
    f, keep, skipped = _truth_terms(columns, c, dc)
    index, inside = index[keep], inside[keep]
    info = np.stack(
        [np.bincount(index[inside], f[inside, k], minlength=n_bins) for k in range(f.shape[1])], axis=1
    )
    return sigma, info, skipped


def chunk_scores(
    columns: ChunkColumns,
    members: Sequence[Any],
    theta: np.ndarray,
    c: np.ndarray,
    dc: np.ndarray,
    batch_size: int,
    mean_score: bool,
) -> dict[str, Any]:
    r"""One chunk of the detector-level information: :math:`\sum w`, :math:`\sum \nabla w`, the weight Gram
    matrix, per member :math:`\sum w\,\hat t \hat t^T` [M, P, P], the same for the mean score when
    ``mean_score``, and the Gram matrix of the per-event terms of the member mean (Monte Carlo covariance)."""
    w_b = columns.weights
    w = w_b @ c
    p = dc.shape[0]
    out = {
        "sigma": w.sum(),
        "dsigma": (w_b @ dc.T).sum(axis=0),
        "gram": w_b.T @ w_b,
        "members": np.zeros((len(members), p, p)),
        "mean": np.zeros((p, p)),
        "second": np.zeros((p * p, p * p)),
    }
    for start in range(0, columns.n_events, batch_size):
        x = columns.x[start : start + batch_size]
        wb = w[start : start + batch_size]
        scores = np.stack([np.asarray(m.fisher_scores(x, theta[None, :]), dtype=np.float64) for m in members])
        if scores.shape[1:] != (len(x), p):
            raise InferenceError(
                f"the estimator returns scores of shape {scores.shape[1:]}; the setup has {p} parameters"
            )
        terms = wb[None, :, None, None] * scores[:, :, :, None] * scores[:, :, None, :]  # [M, n, P, P]
        out["members"] += terms.sum(axis=1)
        flat = terms.mean(axis=0).reshape(len(x), p * p)
        out["second"] += flat.T @ flat
        if mean_score:
            t = scores.mean(axis=0)
            out["mean"] += np.einsum("n,ni,nj->ij", wb, t, t)
    return out


def score_estimators(estimator: Any) -> tuple[list[Any], bool]:
    """The members of an Ensemble (or the estimator itself) and whether they are an ensemble."""
    from ..ml.base import Estimator
    from ..ml.ensemble import Ensemble

    if isinstance(estimator, Ensemble):
        estimator._require_members()
        return list(estimator.estimators), True
    if isinstance(estimator, Estimator):
        estimator._require_model()
        return [estimator], False
    raise InferenceError(
        f"estimator must be a trained columnminer estimator or Ensemble, got {type(estimator).__name__}"
    )


def warn_if_away_from_training(
    setup: AnalysisSetup, members: Sequence[Any], theta: np.ndarray, trained_at: Any
) -> None:
    """SALLY estimates the score at its training point only: warn when theta is elsewhere (if known)."""
    from ..ml.score import ScoreEstimator

    if not any(isinstance(m, ScoreEstimator) for m in members):
        return
    reference = trained_at
    if reference is None:
        reference = next((getattr(m, "reference_theta", None) for m in members), None)
    if reference is None:
        logger.info(
            "a score estimator (SALLY) gives the score at the point it was trained at; the information at "
            "theta = %s is only right if it was trained there (pass trained_at= to check)",
            theta.tolist(),
        )
        return
    reference = theta_point(setup, reference, "trained_at")
    if not np.allclose(reference, theta, rtol=1e-9, atol=1e-12):
        logger.warning(
            "the score estimator was trained at %s but the information is asked for at theta = %s: the "
            "estimated score (and information) refer to the training point",
            reference.tolist(),
            theta.tolist(),
        )
