"""Shared Fisher-information terms: theta handling, binning, linear error propagation, chunk kernels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np

from ..errors import InferenceError
from ..io.store import EventStore
from ..io.store_moments import column_sums
from ..setup import AnalysisSetup
from ..thetas import theta_points
from ..weights import theta_coefficients, theta_gradient_coefficients
from .binned import ChunkColumns, reduce_chunks, weighted_quantile_edges

__all__ = [
    "COMPILED_TRUTH_EVENTS",
    "check_luminosity",
    "chunk_binned_truth",
    "chunk_moments",
    "chunk_scores",
    "chunk_truth",
    "coefficients",
    "histogram_edges",
    "is_count",
    "ratio_covariance",
    "ratio_terms",
    "score_estimators",
    "theta_point",
    "warn_if_away_from_training",
]

logger = logging.getLogger(__name__)


# -- theta -------------------------------------------------------------------------------------------------
def coefficients(setup: AnalysisSetup, theta: Any, what: str = "theta") -> tuple[np.ndarray, np.ndarray]:
    r"""The morphing coefficients c(theta) [B] and their gradient dc/dtheta [P, B] at one parameter point, so
    that :math:`\sigma(\theta) = c(\theta) \cdot \sigma_B` and :math:`\partial_i \sigma = \partial_i c \cdot
    \sigma_B` for the benchmark cross sections :math:`\sigma_B` (pb); bad thetas raise an
    :class:`~columnminer.errors.InferenceError` naming ``what``.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> c, dc = coefficients(golden_channel_setup(), "sm")
        >>> c.round(12).tolist(), dc.shape
        ([1.0, 0.0, 0.0, 0.0, 0.0, 0.0], (2, 6))
    """
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
    point (:mod:`columnminer.thetas`); anything else raises an :class:`~columnminer.errors.InferenceError`.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> theta_point(golden_channel_setup(), [0.5, -0.5]).tolist()
        [0.5, -0.5]
    """
    try:
        points = theta_points(setup, theta, what)
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise InferenceError(f"{what}: {err}") from err
    if len(points) != 1:
        raise InferenceError(f"{what} must be one parameter point, got {len(points)}")
    return points[0]


def check_luminosity(luminosity: float) -> float:
    """A luminosity (pb^-1) as a positive, finite float, else an :class:`~columnminer.errors.InferenceError`.

    Example:
        >>> check_luminosity(300)
        300.0
        >>> check_luminosity(0.0)
        Traceback (most recent call last):
        ...
        columnminer.errors.InferenceError: luminosity must be positive and finite (pb^-1), got 0.0
    """
    try:
        value = float(luminosity)
    except (TypeError, ValueError):
        raise InferenceError(f"luminosity must be a number (pb^-1), got {luminosity!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise InferenceError(f"luminosity must be positive and finite (pb^-1), got {luminosity!r}")
    return value


# -- histogram binning ----------------------------------------------------------------------------------
def is_count(value: Any) -> bool:
    """Whether ``value`` is a number of bins: a Python or numpy integer, not a bool.

    Example:
        >>> is_count(3), is_count(np.int64(3)), is_count(True), is_count(3.0)
        (True, True, False, False)
    """
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
    r"""The bin edges of a histogram of ``features``: explicit edges as given (one array, or one per feature);
    a number of bins (per feature) becomes edges of equal cross section at ``theta``
    (:func:`~columnminer.inference.binned.weighted_quantile_edges`); with ``events_per_bin`` the number of
    bins per axis is :math:`\lfloor (L \sigma(\theta) / n_{bin})^{1/d} \rfloor`, clipped to
    [1, ``max_bins``] (``luminosity`` L in pb^-1, :math:`\sigma` in pb). ``options`` are passed on to
    :func:`~columnminer.inference.binned.reduce_chunks`.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.arange(10.0))  # m4l, 1 pb per event and benchmark
        >>> histogram_edges(store, ["m4l"], [0.0, 5.0, 10.0], "sm", 1.0, None, 10, {})
        [[0.0, 5.0, 10.0]]
        >>> histogram_edges(store, ["m4l"], None, "sm", 1.0, 5.0, 10, {})[0].size  # 10 events / 5: 2 bins
        3
    """
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
    r"""Per bin :math:`L\, g g^T / s` for bins with s > 0: returns (terms [K, P, P], keep [K],
    J [K, P*P, P+1]) with the Jacobian with respect to (s, g): :math:`\partial I_{ij}/\partial s = -L g_i g_j
    / s^2`, :math:`\partial I_{ij}/\partial g_k = L (\delta_{ik} g_j + g_i \delta_{jk}) / s` (s: cross
    section in pb, g: its gradient, L: ``luminosity`` in pb^-1).

    Example:
        >>> terms, keep, jacobian = ratio_terms(np.array([2.0, 0.0]), np.array([[1.0], [1.0]]), 10.0)
        >>> terms.tolist(), keep.tolist(), jacobian.tolist()
        ([[[5.0]]], [True, False], [[[-2.5, 10.0]]])
    """
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
    r"""Monte Carlo covariance [P*P, P*P] of ratio terms, :math:`\sum_k J_k (A G_k A^T) J_k^T` with
    :math:`A = (c; \partial c)`.

    For one bin k (or the whole selection) the cross section and its gradient are linear in the per-event
    benchmark weights, :math:`u = (\sigma, \partial_1\sigma, \dots) = \sum_z A\, w(z)`, so their Monte
    Carlo covariance is :math:`A G_k A^T` with the weight Gram matrix :math:`G_k = \sum_{z \in k} w(z)
    w(z)^T` (``gram`` [K, B, B]); the Jacobian ``jacobian`` [K, P*P, P+1] of :func:`ratio_terms` carries it
    to the terms: :math:`\mathrm{Cov}[I] = \sum_k J_k\, A G_k A^T J_k^T`.

    Example:
        >>> _, _, jacobian = ratio_terms(np.array([2.0]), np.array([[1.0]]), 10.0)
        >>> gram, c, dc = np.array([[[1.0]]]), np.array([1.0]), np.array([[0.5]])
        >>> ratio_covariance(jacobian, gram, c, dc).tolist()
        [[6.25]]
    """
    a = np.concatenate([c[None, :], dc], axis=0)
    moments = np.einsum("ab,kbc,dc->kad", a, gram, a)
    return np.einsum("kia,kab,kjb->ij", jacobian, moments, jacobian)


# -- chunk kernels ---------------------------------------------------------------------------------------
def chunk_moments(columns: ChunkColumns) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the benchmark weights [B] (pb) and their Gram matrix [B, B] of one chunk.

    Example:
        >>> from columnminer.inference.binned import ChunkColumns
        >>> columns = ChunkColumns(("x",), np.zeros((2, 1)), np.array([[1.0, 2.0], [2.0, 2.0]]), np.arange(2))
        >>> [m.tolist() for m in chunk_moments(columns)]
        [[3.0, 4.0], [[5.0, 6.0], [6.0, 8.0]]]
    """
    w = columns.weights
    return w.sum(axis=0), w.T @ w


def _truth_terms(columns: ChunkColumns, c: np.ndarray, dc: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per event (d_i w)(d_j w)/w, flattened [n, P*P], for the events with w > 0; the weights at theta of
    those events; and the number of events skipped (w <= 0 while the gradient is not zero, or w < 0)."""
    w = columns.weights @ c
    dw = columns.weights @ dc.T
    keep = w > 0
    skipped = 0
    if not keep.all():  # the usual case needs neither the count nor the copies
        skipped = int(np.count_nonzero(~keep & ((w < 0) | np.any(dw != 0.0, axis=1))))
        w, dw = w[keep], dw[keep]
    p = dc.shape[0]
    ratio = dw / w[:, None]
    f = np.empty((len(w), p * p))
    for i in range(p):  # f[:, i P + j] = dw_i (dw_j / w): P column blocks, no [n, P, P] temporaries
        np.multiply(dw[:, i : i + 1], ratio, out=f[:, i * p : (i + 1) * p])
    return f, keep, skipped


#: Rows whose terms are summed on their own before joining the chunk's totals in :func:`chunk_truth`, so that
#: the rounding of the sums grows like (block + n / block) eps rather than n eps.
TRUTH_BLOCK = 1024


@numba.njit(nogil=True, cache=True)
def _truth_kernel(weights, c, dc, sums, gram):  # pragma: no cover - compiled; tested through chunk_truth
    """One pass over [n, B] weights: sums [K] and Gram matrix [K, K] of the terms f_k = dw_i dw_j / w
    (k = i P + j) of the events with w > 0, in blocks of ``TRUTH_BLOCK`` rows; returns the skipped count."""
    n, n_benchmarks = weights.shape
    p = dc.shape[0]
    k_terms = p * p
    dw = np.empty(p)
    f = np.empty(k_terms)
    block_sums = np.empty(k_terms)
    block_gram = np.empty((k_terms, k_terms))
    skipped = 0
    for lo in range(0, n, TRUTH_BLOCK):
        block_sums[:] = 0.0
        block_gram[:] = 0.0
        for z in range(lo, min(lo + TRUTH_BLOCK, n)):
            w = 0.0
            for b in range(n_benchmarks):
                w += weights[z, b] * c[b]
            moving = False
            for i in range(p):
                g = 0.0
                for b in range(n_benchmarks):
                    g += weights[z, b] * dc[i, b]
                dw[i] = g
                moving = moving or g != 0.0
            if not w > 0.0:
                skipped += w < 0.0 or moving
                continue
            for i in range(p):
                for j in range(p):
                    f[i * p + j] = dw[i] * dw[j] / w
            for k in range(k_terms):
                block_sums[k] += f[k]
                for m in range(k + 1):
                    block_gram[k, m] += f[k] * f[m]
        for k in range(k_terms):
            sums[k] += block_sums[k]
            for m in range(k + 1):
                gram[k, m] += block_gram[k, m]
    for k in range(k_terms):
        for m in range(k):
            gram[m, k] = gram[k, m]
    return skipped


#: Events from which truth-level sums run in the compiled kernel: numba's first call in a process costs about
#: 1 s (it loads the numba extensions of the environment: awkward, vector), the numpy path about 0.3 s per
#: 10^6 events; below this many events numpy is faster in a fresh process.
COMPILED_TRUTH_EVENTS = 3_000_000


def chunk_truth(
    columns: ChunkColumns, c: np.ndarray, dc: np.ndarray, compiled: bool = True
) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Sum over the events of one chunk of the truth-level terms :math:`\partial_i w\, \partial_j w / w`
    [P*P] (w = weights @ c in pb, :math:`\partial w` = weights @ dc^T), their Gram matrix [P*P, P*P], and the
    number of events skipped (w <= 0 with a non-zero gradient, or w < 0).

    With ``compiled`` one pass over the weights in a compiled kernel that releases the GIL (no per-event
    temporaries), so that threads share the work; otherwise numpy (per-event terms, then their sums and
    ``f.T @ f``: no compilation, the choice for small stores, see :data:`COMPILED_TRUTH_EVENTS`). The two
    agree up to rounding (another summation order: relative differences of order 1e-15).

    Example:
        >>> from columnminer.inference.binned import ChunkColumns
        >>> columns = ChunkColumns(("x",), np.zeros((2, 1)), np.array([[1.0, 2.0], [2.0, 2.0]]), np.arange(2))
        >>> terms, gram, skipped = chunk_truth(columns, np.array([1.0, 0.0]), np.array([[-1.0, 1.0]]))
        >>> terms.tolist(), gram.tolist(), skipped
        ([1.0], [[1.0]], 0)
        >>> chunk_truth(columns, np.array([1.0, 0.0]), np.array([[-1.0, 1.0]]), compiled=False)[0].tolist()
        [1.0]
    """
    if not compiled:
        f, _, skipped = _truth_terms(columns, c, dc)
        return column_sums(f), f.T @ f, skipped
    weights = np.ascontiguousarray(columns.weights, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    dc = np.ascontiguousarray(dc, dtype=np.float64)
    k_terms = dc.shape[0] ** 2
    sums, gram = np.zeros(k_terms), np.zeros((k_terms, k_terms))
    skipped = _truth_kernel(weights, c, dc, sums, gram)
    return sums, gram, int(skipped)


def chunk_binned_truth(
    columns: ChunkColumns, feature: Any, edges: np.ndarray, c: np.ndarray, dc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per bin of one feature (flow into the edge bins, NaN in no bin): cross section [K] (pb) and truth-level
    information [K, P*P] (the terms of :func:`chunk_truth`); events skipped.

    Example:
        >>> from columnminer.inference.binned import ChunkColumns
        >>> x, weights = np.array([[0.5], [1.5]]), np.array([[1.0, 2.0], [2.0, 2.0]])
        >>> columns = ChunkColumns(("x",), x, weights, np.arange(2))
        >>> c, dc = np.array([1.0, 0.0]), np.array([[-1.0, 1.0]])
        >>> sigma, info, skipped = chunk_binned_truth(columns, "x", np.array([0.0, 1.0, 2.0]), c, dc)
        >>> sigma.tolist(), info.tolist(), skipped
        ([1.0, 2.0], [[1.0], [0.0]], 0)
    """
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
    ``mean_score``, and the Gram matrix of the per-event terms of the member mean (Monte Carlo covariance);
    the estimated scores :math:`\hat t(x|\theta)` are each member's ``fisher_scores``, in batches of
    ``batch_size`` events.

    Example:
        >>> from columnminer.inference.binned import ChunkColumns
        >>> class Member:  # a score estimator whose score is the observable
        ...     def fisher_scores(self, x, theta):
        ...         return x
        >>> x, weights = np.array([[0.5], [1.5]]), np.array([[1.0, 2.0], [2.0, 2.0]])
        >>> columns = ChunkColumns(("x",), x, weights, np.arange(2))
        >>> c, dc = np.array([1.0, 0.0]), np.array([[-1.0, 1.0]])
        >>> out = chunk_scores(columns, [Member()], np.zeros(1), c, dc, batch_size=1, mean_score=False)
        >>> float(out["sigma"]), out["dsigma"].tolist(), out["members"].tolist()
        (3.0, [1.0], [[[4.75]]])
    """
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
    """The members of an :class:`~columnminer.ml.ensemble.Ensemble` (or the estimator itself) and whether they
    are an ensemble; anything but a trained columnminer estimator raises an
    :class:`~columnminer.errors.InferenceError`.

    Example:
        >>> score_estimators(object())
        Traceback (most recent call last):
        ...
        columnminer.errors.InferenceError: estimator must be a trained columnminer estimator or Ensemble, ...
    """
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
    """SALLY estimates the score at its training point only: warn (log) when theta is elsewhere (if known,
    from ``trained_at`` or the members' ``reference_theta``); members that are not
    :class:`~columnminer.ml.score.ScoreEstimator` are not checked.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> warn_if_away_from_training(golden_channel_setup(), [object()], np.zeros(2), None) is None
        True
    """
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
