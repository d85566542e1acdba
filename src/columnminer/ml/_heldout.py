r"""Held-out events for the calibration and closure of ratio estimators: reading them, weighting them at the
reference point, and log ratios of any estimator on them in memory-bounded blocks.

Shared by :mod:`columnminer.ml.calibration` and :mod:`columnminer.ml.closure` (see there for the maths).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import EstimatorError, InferenceError

__all__ = [
    "MAX_PAIRS",
    "jsonable",
    "log_ratio_fn",
    "normalised",
    "point_of",
    "reference_events",
    "resolve",
    "theta_blocks",
    "weighted_log_mean_exp",
]

#: Largest number of (theta, event) pairs evaluated at once.
MAX_PAIRS = 2_000_000


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


def resolve(setup: Any, thetas: Any) -> tuple[np.ndarray, np.ndarray]:
    """The morphing coefficients and the points [T, P] of ``thetas`` (names or points, see
    :func:`columnminer.inference.likelihood.resolve_thetas`)."""
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


def log_ratio_fn(estimator: Any, theta_ref: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
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


def theta_blocks(n_thetas: int, n_events: int) -> list[slice]:
    """Slices of the points [T] so that each block has at most :data:`MAX_PAIRS` (theta, event) pairs."""
    step = max(1, MAX_PAIRS // max(n_events, 1))
    return [slice(start, start + step) for start in range(0, n_thetas, step)]


def weighted_log_mean_exp(log_r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """log sum_i w_i exp(log_r[t, i]) for normalised non-negative w, stable for large log_r."""
    shift = np.max(np.where(w[None, :] > 0, log_r, -np.inf), axis=1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return np.log(np.exp(log_r - shift) @ w) + shift[:, 0]


def point_of(theta: np.ndarray) -> str:
    """``(0, 0.5)``: a parameter point for messages."""
    return "(" + ", ".join(f"{float(v):.4g}" for v in np.ravel(theta)) + ")"


def jsonable(value: Any) -> Any:
    """``value`` for JSON: arrays and tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value.item() if isinstance(value, np.generic) else value


def reference_events(
    estimator: Any,
    store: Any,
    theta_ref: Any,
    partition: str | None,
    events: Any,
    cuts: Sequence[Callable],
    efficiencies: Sequence[Callable],
    client: Any,
    error: type[Exception],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The held-out events and their weights at the reference point theta1: ``(x [n, d], benchmark weights
    [n, B], w(z|theta1) [n] in pb, theta1 [P])``. The events are those of ``partition`` of ``store``, or
    ``events=(x, weights)``; theta_ref defaults to the estimator's reference; ``error`` is the error class
    raised for a theta_ref that is not one point.
    """
    c_ref, ref_point = resolve(store.setup, _default_reference(estimator, theta_ref))
    if len(ref_point) != 1:
        raise error(f"theta_ref must be one parameter point, got {len(ref_point)}")
    if events is None:
        x, matrix = _events(store, partition, cuts, efficiencies, client)
    else:
        x, matrix = _given_events(events, len(store.benchmark_names))
    return x, matrix, matrix @ c_ref[0], ref_point[0]


def normalised(w: np.ndarray) -> tuple[np.ndarray, float]:
    """The weights normalised to sum 1 and their effective number (sum w)^2 / sum w^2."""
    return w / w.sum(), float(w.sum() ** 2 / np.sum(w**2))
