r"""Store-level nuisance kernels: log variations, cross sections and scores at (theta, nu), replica PCA.

The systematics of a setup (:mod:`columnminer.systematics`) give every event nuisance coefficients
:math:`a(z) = A\,L(z)`, :math:`b(z) = B\,L(z)` from the log variations
:math:`L_k(z) = \log[w_k(z)/w_0(z)]` of the store's ``nuisance_weights`` columns against the event's nominal
weight :math:`w_0(z)` (its weight at its ``sampled_from`` benchmark; background rows, ``sampled_from = -1``,
use column 0, all columns being equal for them). The weight at (theta, nu) is

.. math::

    w(z|\theta,\nu) = w(z|\theta)\,\exp\Big(\sum_j a_j(z)\nu_j + b_j(z)\nu_j^2\Big), \qquad
    \sigma(\theta,\nu) = \sum_z w(z|\theta,\nu),

so one pass over the store gives :math:`\sigma` at any number of (theta, nu) points, its gradient
:math:`\partial_{\nu_j}\sigma = \sum_z w(z|\theta,\nu)(a_j + 2 b_j\nu_j)` and the nuisance part of the joint
score :math:`t_\nu(x,z) = \partial_\nu\log w(z|\theta,\nu) - \partial_\nu\log\sigma(\theta,\nu)`.
:func:`fit_replica_components` reduces a PDF replica set to its principal components.

Work runs chunk by chunk in dask tasks (threads, or the active ``distributed`` client); only reduced
arrays come back. Reference: Brehmer, Kling, Espejo, Cranmer, "MadMiner", arXiv:1907.10621.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .errors import ParameterSpaceError, StoreError
from .io.store import EventStore
from .store_chunks import StoreChunk, map_chunks
from .systematics import NuisanceModel, Systematic, log_variations
from .weights import theta_coefficients

__all__ = [
    "cross_sections_with_nuisances",
    "fit_replica_components",
    "map_store_chunks",
    "nominal_weights",
    "nuisance_cross_section_gradients",
    "nuisance_joint_scores",
    "nuisance_log_variations",
    "nuisance_log_variations_at",
]

logger = logging.getLogger(__name__)

#: The store arrays a nuisance kernel reads per chunk.
NUISANCE_COLUMNS = ("weights", "sampled_from", "nuisance_weights")


def nominal_weights(weights: np.ndarray, sampled_from: np.ndarray) -> np.ndarray:
    """The nominal weight :math:`w_0(z)` [n]: the weight in the event's ``sampled_from`` column (column 0
    for background rows, ``sampled_from = -1``).

    Example:
        >>> nominal_weights(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1, -1])).tolist()
        [2.0, 3.0]
    """
    weights = np.asarray(weights, dtype=np.float64)
    column = np.maximum(np.asarray(sampled_from, dtype=np.int64), 0)
    return weights[np.arange(len(weights)), column]


def _require_nuisances(store: EventStore) -> None:
    if not store.nuisance_benchmark_names:
        raise StoreError(f"{store.url}: store has no nuisance_weights columns (no systematics)")


def nuisance_log_variations(store: EventStore, start: int = 0, stop: int | None = None) -> np.ndarray:
    r"""The log variations :math:`L_k(z) = \log[w_k(z)/w_0(z)]` of store rows start to stop, [n, K].

    The nominal weight comes from ``sampled_from``; L is 0 where the ratio is not positive.

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0, 0], [1.0, 2.0], [[1.1], [2.2]], norm_variation=1.1)
        >>> nuisance_log_variations(store).round(4).tolist()
        [[0.0953], [0.0953]]
    """
    _require_nuisances(store)
    weights = store.read("weights", start, stop)
    sampled = store.read("sampled_from", start, stop)
    return log_variations(store.read("nuisance_weights", start, stop), nominal_weights(weights, sampled))


def nuisance_log_variations_at(store: EventStore, rows: np.ndarray) -> np.ndarray:
    """The log variations of :func:`nuisance_log_variations` for given rows [n], such as a chunk's after cuts.

    Reads the contiguous range ``rows.min() .. rows.max()`` once and indexes it.

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0, 0, 0], [1, 1, 1], [[2.0], [1.0], [4.0]], norm_variation=2.0)
        >>> nuisance_log_variations_at(store, np.array([2, 0])).round(4).tolist()
        [[1.3863], [0.6931]]
    """
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return np.zeros((0, len(store.nuisance_benchmark_names)))
    first, last = int(rows.min()), int(rows.max()) + 1
    return nuisance_log_variations(store, first, last)[rows - first]


def _nuisance_chunk(chunk: StoreChunk, fn: Callable, args: tuple) -> Any:
    """Call ``fn(rows, weights, nominal, log_ratios, *args)`` on one chunk (weights and nominal scaled)."""
    weights = chunk["weights"]
    nominal = nominal_weights(weights, chunk["sampled_from"])
    log_ratios = log_variations(chunk["nuisance_weights"], nominal)
    return fn(chunk.rows, weights * chunk.scale, nominal * chunk.scale, log_ratios, *args)


def map_store_chunks(
    store: EventStore, fn: Callable[..., Any], *args: Any, partition: str | None = None, client: Any = None
) -> list[Any]:
    """Run ``fn(rows, weights, nominal, log_ratios, *args)`` on every store chunk (dask tasks) and return the
    results in order: ``rows`` [n] store indices, ``weights`` [n, n_benchmarks] and ``nominal`` [n]
    (:func:`nominal_weights`; both divided by the partition's fraction when ``partition`` is given, so sums
    estimate full-sample totals), ``log_ratios`` [n, K] (:func:`nuisance_log_variations`). The nuisance
    view of :func:`columnminer.store_chunks.map_chunks`.

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store(np.zeros(5), np.ones(5), np.ones((5, 1)), chunk_size=2)
        >>> map_store_chunks(store, lambda rows, w, w0, L: len(rows))
        [2, 2, 1]
    """
    _require_nuisances(store)
    return map_chunks(
        store,
        _nuisance_chunk,
        fn,
        args,
        columns=NUISANCE_COLUMNS,
        partition=partition,
        client=client,
    )


def _nu_points(model: NuisanceModel, nus: Any, what: str = "nus") -> np.ndarray:
    points = np.atleast_2d(np.asarray(nus, dtype=np.float64))
    if points.ndim != 2 or points.shape[1] != model.n_nuisances:
        raise ParameterSpaceError(
            f"{what} must have shape [n_points, {model.n_nuisances}] (nuisances {list(model.nuisance_names)}), "
            f"got {np.shape(nus)}"
        )
    return points


def _chunk_sigma(rows, weights, nominal, log_ratios, c, a_matrix, b_matrix, nus):
    w = weights @ c.T  # [n, T]
    a, b = log_ratios @ a_matrix.T, log_ratios @ b_matrix.T  # [n, N]
    factors = np.exp(a @ nus.T + b @ (nus**2).T)  # [n, M]
    return w.T @ factors


def cross_sections_with_nuisances(
    store: EventStore, thetas: Any, nus: Any, partition: str | None = None, client: Any = None
) -> np.ndarray:
    r""":math:`\sigma(\theta_t, \nu_m) = \sum_z w(z|\theta_t)\exp(a(z)\cdot\nu_m + b(z)\cdot\nu_m^2)` (pb),
    [T, M], in one pass; ``thetas`` as in :func:`~columnminer.weights.theta_coefficients`, ``nus`` [M, N].

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0, 0], [1, 1], [[1.1], [1.1]], norm_variation=1.1)
        >>> cross_sections_with_nuisances(store, "sm", [[0.0], [1.0], [2.0]]).round(4).tolist()
        [[2.0, 2.2, 2.42]]
    """
    model = store.setup.nuisance_model()
    points = _nu_points(model, nus)
    c = theta_coefficients(store.setup, thetas)
    parts = map_store_chunks(
        store, _chunk_sigma, c, model.a, model.b, points, partition=partition, client=client
    )
    return np.sum(parts, axis=0)


def _chunk_nu_gradient(rows, weights, nominal, log_ratios, c, a_matrix, b_matrix, nu):
    w = weights @ c
    a, b = log_ratios @ a_matrix.T, log_ratios @ b_matrix.T
    w_nu = w * np.exp(a @ nu + b @ nu**2)
    return np.concatenate([[w_nu.sum()], w_nu @ (a + 2.0 * b * nu)])


def _sigma_and_gradient(store, theta, nu, partition, client):
    model = store.setup.nuisance_model()
    point = _nu_points(model, nu, "nu")
    if len(point) != 1:
        raise ParameterSpaceError(f"nu must be one nuisance point, got {len(point)}")
    c = theta_coefficients(store.setup, theta)
    if len(c) != 1:
        raise ParameterSpaceError(f"theta must be one parameter point, got {len(c)}")
    parts = map_store_chunks(
        store, _chunk_nu_gradient, c[0], model.a, model.b, point[0], partition=partition, client=client
    )
    total = np.sum(parts, axis=0)
    return model, c[0], point[0], total[0], total[1:]


def nuisance_cross_section_gradients(
    store: EventStore, theta: Any, nu: Any, partition: str | None = None, client: Any = None
) -> np.ndarray:
    r""":math:`\partial_{\nu_j}\sigma(\theta,\nu) = \sum_z w(z|\theta,\nu)\,(a_j(z) + 2 b_j(z)\nu_j)` (pb), [N],
    at one theta and one nuisance point ``nu`` [N].

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0, 0], [1, 1], [[np.e], [np.e]], norm_variation=np.e)
        >>> nuisance_cross_section_gradients(store, "sm", [0.0]).round(4).tolist()  # sum_z a(z) w(z)
        [2.0]
    """
    return _sigma_and_gradient(store, theta, nu, partition, client)[4]


def nuisance_joint_scores(
    store: EventStore,
    theta: Any,
    nu: Any,
    start: int = 0,
    stop: int | None = None,
    partition: str | None = None,
    client: Any = None,
) -> np.ndarray:
    r"""The nuisance part of the joint score for rows ``start:stop``, [n, N]:

    .. math::

        t_{\nu_j}(x,z|\theta,\nu) = \partial_{\nu_j}\log w(z|\theta,\nu) - \partial_{\nu_j}\log\sigma(\theta,\nu)
        = a_j(z) + 2 b_j(z)\nu_j - \frac{\partial_{\nu_j}\sigma}{\sigma},

    with :math:`\sigma` from one pass over the store (or one ``partition``).

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0, 0], [1, 1], [[np.e], [1.0]], norm_variation=np.e)
        >>> nuisance_joint_scores(store, "sm", [0.0]).round(4).tolist()  # a = (1, 0), mean 0.5
        [[0.5], [-0.5]]
    """
    model, _, point, sigma, dsigma = _sigma_and_gradient(store, theta, nu, partition, client)
    if not sigma > 0:
        raise ParameterSpaceError(f"theta: the cross section at ({theta!r}, nu={point.tolist()}) is {sigma}")
    a, b = model.coefficients(nuisance_log_variations(store, start, stop))
    return a + 2.0 * b * point - dsigma / sigma


def _chunk_replicas(rows, weights, nominal, log_ratios, columns):
    d = log_ratios[:, columns]
    d = d - d.mean(axis=1, keepdims=True)
    return (d * nominal[:, None]).T @ d


def fit_replica_components(
    store: EventStore,
    systematic_name: str,
    n_components: int | None = None,
    variance_fraction: float = 0.95,
    client: Any = None,
) -> Systematic:
    r"""Principal components of a PDF replica systematic, fitted on the store's events.

    With the R replica log variations :math:`L(z)` and their replica mean :math:`\bar L(z)`,

    .. math::

        M = \sum_z w_0(z)\,(L(z) - \bar L(z))(L(z) - \bar L(z))^T = U\,\mathrm{diag}(\lambda)\,U^T,

    the leading ``n_components`` eigenvectors (default: the fewest whose eigenvalues hold
    ``variance_fraction`` of the trace) become the systematic's ``components`` :math:`U_{:k}/\sqrt{R-1}`, so
    that :math:`a_k(z) = u_k\cdot(L - \bar L)/\sqrt{R-1}` and :math:`\sum_k a_k(z) a_k(z') \approx
    \frac1{R-1}\sum_r (L_r(z) - \bar L(z))(L_r(z') - \bar L(z'))`, the replica covariance with LHAPDF's
    unbiased :math:`1/(R-1)` (the replica standard deviation of LHAPDF's ``PDFSet.uncertainty``; Buckley
    et al., LHAPDF6, arXiv:1412.7420). Returns a new
    :class:`~columnminer.systematics.Systematic` (put it in the setup with ``replace_systematic``).

    Example:
        >>> from columnminer import AnalysisSetup
        >>> setup = AnalysisSetup()
        >>> _ = setup.add_parameter("toy", 1, name="theta")
        >>> _ = setup.add_benchmark([0.0], name="sm")
        >>> _ = setup.add_systematics("pdf", "pdf", pdf_variation="set", pdf_members=3, pdf_kind="replicas")
        >>> store = EventStore.create("memory://doc-pca", setup, ["x"])
        >>> w = np.exp(np.array([[0.1, -0.1, 0.0], [0.2, -0.2, 0.0]]))
        >>> _ = store.append(np.zeros((2, 1)), np.ones((2, 1)), 0, nuisance_weights=w)
        >>> fitted = fit_replica_components(store, "pdf")
        >>> fitted.nuisance_names, np.round(np.abs(fitted.components), 4).tolist()
        (['pdf_0'], [[0.5], [0.5], [0.0]])
    """
    systematics = {s.name: s for s in store.setup.systematics}
    if systematic_name not in systematics:
        raise ParameterSpaceError(
            f"systematic_name: no systematic {systematic_name!r}; the setup has {list(systematics)}"
        )
    systematic = systematics[systematic_name]
    if systematic.effect != "pdf" or systematic.pdf_kind != "replicas":
        raise ParameterSpaceError(
            f"systematic_name: {systematic_name!r} is not a PDF replica set (effect {systematic.effect!r})"
        )
    if not 0.0 < float(variance_fraction) <= 1.0:
        raise ParameterSpaceError(f"variance_fraction must lie in (0, 1], got {variance_fraction}")
    names = store.nuisance_benchmark_names
    columns = np.array([names.index(c) for c in systematic.column_names], dtype=np.int64)
    n_replicas = len(columns)
    if n_replicas < 2:
        raise ParameterSpaceError(
            f"systematic_name: {systematic_name!r} needs at least two replicas, has {n_replicas}"
        )
    if n_components is not None and not 1 <= int(n_components) <= n_replicas:
        raise ParameterSpaceError(f"n_components must lie in 1..{n_replicas}, got {n_components}")
    parts = map_store_chunks(store, _chunk_replicas, columns, client=client)
    matrix = np.sum(parts, axis=0)
    eigenvalues, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = np.maximum(eigenvalues[order], 0.0), vectors[:, order]
    if n_components is None:
        total = eigenvalues.sum()
        if total <= 0:
            raise ParameterSpaceError(f"systematic_name: the replicas of {systematic_name!r} do not vary")
        n_components = int(
            np.searchsorted(np.cumsum(eigenvalues) / total, float(variance_fraction) - 1e-12) + 1
        )
    k = int(min(n_components, n_replicas))
    kept = float(eigenvalues[:k].sum() / max(eigenvalues.sum(), np.finfo(float).tiny))
    logger.info(
        "%s: %d of %d replica components hold %.4f of the variance", systematic_name, k, n_replicas, kept
    )
    components = vectors[:, :k] / np.sqrt(n_replicas - 1)
    return replace(
        systematic, n_components=k, components=tuple(tuple(float(v) for v in row) for row in components)
    )
