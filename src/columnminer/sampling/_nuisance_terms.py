r"""Nuisance terms of augmented samples: per-event coefficients and sigma(theta, nu) with its gradients.

With the log-linear nuisance morphing of :mod:`columnminer.systematics`,
:math:`w(z|\theta,\nu) = w(z|\theta)\exp(a(z)\cdot\nu + b(z)\cdot\nu^2)`; the augmenter needs, per draw
point d, :math:`\sigma(\theta_d,\nu_d)`, :math:`\nabla_\theta\sigma` and :math:`\nabla_\nu\sigma =
\sum_z w(z|\theta_d,\nu_d)(a(z) + 2 b(z)\nu_d)`, from one pass over the store.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import StoreError
from ..io.store import EventStore
from ..nuisances import map_store_chunks, nominal_weights
from ..systematics import NuisanceModel, log_variations

__all__ = ["chunk_coefficients", "nuisance_model_for", "sigma_terms"]

#: Rows per block inside a chunk: bounds the [block, n_points] work arrays.
ROW_BLOCK = 16_384


def nuisance_model_for(store: EventStore) -> NuisanceModel:
    """The setup's nuisance model, checked against the store's ``nuisance_weights`` columns."""
    model = store.setup.nuisance_model()
    columns = store.nuisance_benchmark_names
    if not model.n_nuisances or not columns:
        raise StoreError(
            f"{store.url}: nuisance sampling needs systematics in the setup and nuisance_weights in the store "
            f"(setup nuisances {list(model.nuisance_names)}, store columns {columns})"
        )
    if list(columns) != list(model.column_names):
        raise StoreError(
            f"{store.url}: the store's nuisance columns {columns} differ from the setup's "
            f"{list(model.column_names)}"
        )
    return model


def chunk_coefficients(
    weights: np.ndarray, sampled_from: np.ndarray, nuisance_weights: np.ndarray, a_matrix, b_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """a(z), b(z) [n, N] of one chunk from its weights, sampled_from and nuisance_weights.

    Example:
        >>> a, b = chunk_coefficients(np.ones((2, 1)), np.zeros(2, int), np.array([[np.e], [1.0]]),
        ...                           np.ones((1, 1)), np.zeros((1, 1)))
        >>> a.ravel().tolist(), b.ravel().tolist()
        ([1.0, 0.0], [0.0, 0.0])
    """
    log_ratios = log_variations(nuisance_weights, nominal_weights(weights, sampled_from))
    return log_ratios @ a_matrix.T, log_ratios @ b_matrix.T


def _chunk_terms(rows, weights, nominal, log_ratios, c, dc, nus, a_matrix, b_matrix):
    a, b = log_ratios @ a_matrix.T, log_ratios @ b_matrix.T
    n_points, n_par = dc.shape[0], dc.shape[1]
    sigma = np.zeros(n_points)
    dtheta = np.zeros((n_points, n_par))
    dnu = np.zeros((n_points, nus.shape[1]))
    for lo in range(0, len(rows), ROW_BLOCK):
        hi = min(lo + ROW_BLOCK, len(rows))
        factors = np.exp(a[lo:hi] @ nus.T + b[lo:hi] @ (nus**2).T)  # [m, D]
        w = (weights[lo:hi] @ c.T) * factors
        sigma += w.sum(axis=0)
        for p in range(n_par):
            dtheta[:, p] += np.einsum("md,md->d", weights[lo:hi] @ dc[:, p, :].T, factors)
        dnu += w.T @ a[lo:hi] + 2.0 * nus * (w.T @ b[lo:hi])
    return sigma, dtheta, dnu


def sigma_terms(
    store: EventStore,
    c: np.ndarray,
    dc: np.ndarray,
    nus: np.ndarray,
    partition: str | None = None,
    client: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per point d: :math:`\sigma(\theta_d,\nu_d)` [D] (pb), :math:`\nabla_\theta\sigma` [D, P] and
    :math:`\nabla_\nu\sigma` [D, N], for theta coefficients ``c`` [D, B], their gradients ``dc`` [D, P, B]
    and nuisance points ``nus`` [D, N]; one pass over the store (full-sample estimates from ``partition``).
    """
    model = nuisance_model_for(store)
    parts = map_store_chunks(
        store,
        _chunk_terms,
        c,
        dc,
        np.asarray(nus, float),
        model.a,
        model.b,
        partition=partition,
        client=client,
    )
    return tuple(np.sum([p[i] for p in parts], axis=0) for i in range(3))
