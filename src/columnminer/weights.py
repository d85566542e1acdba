r"""Weight kernels: weights and cross sections at any theta, their gradients, joint ratio and joint score.

Everything here is linear in the stored benchmark weights :math:`w_b(z) = w(z|\theta_b)`: a parameter point
is a coefficient vector :math:`c(\theta)` over the benchmark columns (one-hot for a benchmark, the
morphing weights otherwise), so that

.. math::

    w(z|\theta) = \sum_b c_b(\theta)\, w_b(z), \qquad
    \sigma(\theta) = c(\theta) \cdot \sum_z w(z), \qquad
    \Delta\sigma(\theta)^2 = \sum_z w(z|\theta)^2 = c(\theta)^T G\, c(\theta),\ G = \sum_z w(z) w(z)^T,

and one pass over the events (sums and the Gram matrix G) gives cross sections and their statistical
uncertainties at any number of thetas. Per event (Brehmer et al., arXiv:1805.00013, 1805.00020):
joint likelihood ratio :math:`r(x,z|\theta_0,\theta_1) = [w(z|\theta_0)/\sigma(\theta_0)] /
[w(z|\theta_1)/\sigma(\theta_1)]` and joint score :math:`t(x,z|\theta) = \nabla_\theta w(z|\theta) /
w(z|\theta) - \nabla_\theta \sigma(\theta) / \sigma(\theta)`.

Chunk kernels take numpy arrays; the store functions reduce over an :class:`~columnminer.io.store.EventStore`
with dask (threaded, or on a distributed client) and return only the reduced results.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .compute import active_client, run_tasks
from .errors import MorphingError, ParameterSpaceError
from .io.store import EventStore
from .io.store_integrity import ChunkReader
from .io.store_moments import chunk_moments, column_sums, gram_matrix
from .setup import AnalysisSetup
from .store_chunks import StoreChunk, chunks_per_task, map_chunks, task_threads
from .thetas import BenchmarkIndex, benchmark_column, theta_items

__all__ = [
    "closest_benchmark",
    "column_sums",
    "cross_section_gradients",
    "cross_sections",
    "cross_sections_from_moments",
    "event_weight_gradients",
    "event_weight_gradients_at",
    "event_weights",
    "event_weights_at",
    "generated_close_to",
    "gram_matrix",
    "joint_likelihood_ratio",
    "joint_likelihood_ratios",
    "joint_score",
    "joint_scores",
    "morph_moments",
    "ratio_from_weights",
    "score_from_weights",
    "theta_coefficients",
    "theta_gradient_coefficients",
    "weight_gradients_at",
    "weight_moments",
    "weights_at",
]

logger = logging.getLogger(__name__)

ThetaLike = str | BenchmarkIndex | Sequence[float] | np.ndarray


def _theta_list(setup: AnalysisSetup, thetas: Any) -> list[str | BenchmarkIndex | np.ndarray]:
    """Normalise thetas by the package's one rule (:mod:`columnminer.thetas`)."""
    return theta_items(setup, thetas)


def _benchmark_column(setup: AnalysisSetup, item: str | BenchmarkIndex) -> int:
    return benchmark_column(setup, item)


def theta_coefficients(setup: AnalysisSetup, thetas: Any) -> np.ndarray:
    r"""Coefficients :math:`c_b(\theta)` over the benchmark columns, shape [n_thetas, n_benchmarks].

    ``thetas`` (:mod:`columnminer.thetas`): a benchmark name or :func:`~columnminer.thetas.benchmark_index`
    (one-hot column), a parameter point (morphing weights), or a list / [n_thetas, n_parameters] array of
    those; numbers are always parameter values.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.thetas import benchmark_index
        >>> theta_coefficients(golden_channel_setup(), ["sm", benchmark_index(2)]).tolist()[0]
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    items = _theta_list(setup, thetas)
    out = np.zeros((len(items), setup.parameter_space.n_benchmarks))
    points = [i for i, item in enumerate(items) if isinstance(item, np.ndarray)]
    if points:
        out[points] = setup.morphing_weights(np.stack([items[i] for i in points]))
    for i, item in enumerate(items):
        if not isinstance(item, np.ndarray):
            out[i, _benchmark_column(setup, item)] = 1.0
    return out


def theta_gradient_coefficients(setup: AnalysisSetup, thetas: Any) -> np.ndarray:
    r""":math:`\partial c_b / \partial \theta_i`, shape [n_thetas, n_parameters, n_benchmarks].

    With morphing these are the morphing-weight gradients (benchmarks given by name are evaluated at
    their parameter point). Without morphing, benchmarks with finite-difference partners (see
    :meth:`~columnminer.parameters.ParameterSpace.finite_differences`) give
    :math:`(e_{b+\epsilon e_i} - e_b)/\epsilon`; anything else is an error.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> theta_gradient_coefficients(golden_channel_setup(), "sm").shape  # [n_thetas, P, B]
        (1, 2, 6)
    """
    items = _theta_list(setup, thetas)
    space = setup.parameter_space
    if setup.morpher is not None:
        points = np.stack(
            [
                item
                if isinstance(item, np.ndarray)
                else space.benchmark_array()[_benchmark_column(setup, item)]
                for item in items
            ]
        )
        return setup.morphing_weight_gradients(points)
    out = np.zeros((len(items), space.n_parameters, space.n_benchmarks))
    for t, item in enumerate(items):
        name = (
            space.benchmark_names[_benchmark_column(setup, item)]
            if not isinstance(item, np.ndarray)
            else None
        )
        shifted = space.finite_difference_benchmarks.get(name) if name else None
        if not shifted:
            raise MorphingError(
                f"no gradient available at {item!r}: the setup has no morphing and no finite-difference "
                "benchmarks for it (use set_morphing() or finite_differences())"
            )
        epsilon = space.finite_difference_epsilon
        for i, parameter in enumerate(space.parameter_names):
            out[t, i, space.benchmark_index(shifted[parameter])] += 1.0 / epsilon
            out[t, i, space.benchmark_index(name)] -= 1.0 / epsilon
    return out


# -- chunk kernels (numpy) ----------------------------------------------------------------------------
def weights_at(weights: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    r""":math:`w(z|\theta_t) = \sum_b c_{tb} w_b(z)`: [n_events, n_benchmarks] x [n_thetas, n_benchmarks]
    -> [n_events, n_thetas] (pb).

    Example:
        >>> weights_at(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
        [[1.0, 1.5]]
    """
    return np.asarray(weights, dtype=np.float64) @ np.asarray(coefficients, dtype=np.float64).T


def weight_gradients_at(weights: np.ndarray, gradient_coefficients: np.ndarray) -> np.ndarray:
    r""":math:`\partial_i w(z|\theta_t)`: [n_events, n_benchmarks] x [n_thetas, n_parameters, n_benchmarks]
    -> [n_events, n_thetas, n_parameters].

    Example:
        >>> weight_gradients_at(np.array([[1.0, 2.0]]), np.array([[[1.0, -1.0]]])).tolist()
        [[[-1.0]]]
    """
    gradient_coefficients = np.asarray(gradient_coefficients, dtype=np.float64)
    n_thetas, n_parameters, n_benchmarks = gradient_coefficients.shape
    flat = np.asarray(weights, dtype=np.float64) @ gradient_coefficients.reshape(-1, n_benchmarks).T
    return flat.reshape(-1, n_thetas, n_parameters)


def event_weights_at(weights: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    r""":math:`w(z_n|\theta_n) = \sum_b c_{nb} w_b(z_n)` with one parameter point per event (pb):
    [n_events, n_benchmarks] x [n_events, n_benchmarks] -> [n_events].

    Example:
        >>> event_weights_at(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
        [1.0, 1.5]
    """
    return np.einsum("nb,nb->n", weights, coefficients)


def event_weight_gradients_at(weights: np.ndarray, gradient_coefficients: np.ndarray) -> np.ndarray:
    r""":math:`\partial_i w(z_n|\theta_n)` with one parameter point per event: [n_events, n_benchmarks] x
    [n_events, n_parameters, n_benchmarks] -> [n_events, n_parameters] (pb per unit theta).

    Example:
        >>> event_weight_gradients_at(np.array([[1.0, 2.0]]), np.array([[[1.0, -1.0]]])).tolist()
        [[-1.0]]
    """
    return np.einsum("nb,npb->np", weights, gradient_coefficients)


def ratio_from_weights(w0: Any, w1: Any, xsec0: Any, xsec1: Any) -> np.ndarray:
    r"""The joint likelihood ratio from weights and cross sections (pb), broadcast elementwise:
    :math:`r = [w(z|\theta_0)/\sigma(\theta_0)] / [w(z|\theta_1)/\sigma(\theta_1)]` (Brehmer et al.,
    arXiv:1805.00013). +inf where w1 = 0, nan where both vanish.

    Example:
        >>> ratio_from_weights(np.array([1.0, 2.0]), np.array([3.0, 0.0]), 2.0, 4.0).tolist()
        [0.6666666666666666, inf]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return (w0 / xsec0) / (w1 / xsec1)


def score_from_weights(w: Any, dw: Any, xsec: Any, xsec_gradients: Any) -> np.ndarray:
    r"""The joint score from weights [...], weight gradients [..., P], cross sections [...] and their
    gradients [..., P]: :math:`t = \nabla_\theta w/w - \nabla_\theta\sigma/\sigma` (Brehmer et al.,
    arXiv:1805.00020; per unit theta).

    Example:
        >>> score_from_weights(np.array([2.0]), np.array([[0.5]]), np.array([4.0]), np.array([[1.0]])).tolist()
        [[0.0]]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return dw / w[..., None] - xsec_gradients / xsec[..., None]


def joint_likelihood_ratio(
    weights: np.ndarray,
    coefficients0: np.ndarray,
    coefficients1: np.ndarray,
    xsec0: np.ndarray,
    xsec1: np.ndarray,
) -> np.ndarray:
    r""":math:`r(x,z|\theta_0,\theta_1) = \frac{w(z|\theta_0)\,\sigma(\theta_1)}{w(z|\theta_1)\,\sigma(\theta_0)}`
    for pairs (theta0_t, theta1_t); returns [n_events, n_pairs]. Events with w(z|theta1) = 0 get +inf
    (or nan when both weights vanish), as the density ratio is undefined there (:func:`ratio_from_weights`).

    Example:
        >>> joint_likelihood_ratio(np.array([[1.0, 3.0]]), np.eye(2)[:1], np.eye(2)[1:], [2.0], [4.0]).tolist()
        [[0.6666666666666666]]
    """
    w0, w1 = weights_at(weights, coefficients0), weights_at(weights, coefficients1)
    return ratio_from_weights(
        w0, w1, np.asarray(xsec0, dtype=np.float64), np.asarray(xsec1, dtype=np.float64)
    )


def joint_score(
    weights: np.ndarray,
    coefficients: np.ndarray,
    gradient_coefficients: np.ndarray,
    xsec: np.ndarray,
    xsec_gradients: np.ndarray,
) -> np.ndarray:
    r""":math:`t(x,z|\theta) = \nabla_\theta w(z|\theta)/w(z|\theta) - \nabla_\theta\sigma(\theta)/\sigma(\theta)`;
    returns [n_events, n_thetas, n_parameters] (:func:`score_from_weights`).

    Example:
        >>> joint_score(np.array([[2.0]]), np.array([[1.0]]), np.array([[[0.5]]]), [4.0], [[1.0]]).tolist()
        [[[0.25]]]
    """
    w, dw = weights_at(weights, coefficients), weight_gradients_at(weights, gradient_coefficients)
    xsec, xsec_gradients = np.asarray(xsec, dtype=np.float64), np.asarray(xsec_gradients, dtype=np.float64)
    return score_from_weights(w, dw, xsec, xsec_gradients)


def morph_moments(
    sums: np.ndarray, gram: np.ndarray | None, coefficients: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Per-bin values :math:`c_t \cdot W_k` and variances :math:`c_t^T G_k c_t` at every theta.

    ``sums`` [..., B], ``gram`` [..., B, B], ``coefficients`` [T, B] -> values and variances [T, ...]
    (variances clipped at 0 against rounding; None when ``gram`` is None, for the values alone).

    Example:
        >>> values, variances = morph_moments(np.array([[1.0, 2.0]]), np.array([[[1.0, 0.0], [0.0, 4.0]]]),
        ...                                   np.array([[1.0, 1.0], [1.0, 0.0]]))
        >>> values.tolist(), variances.tolist()
        ([[3.0], [1.0]], [[5.0], [1.0]])
    """
    values = np.einsum("tb,...b->t...", coefficients, sums)
    if gram is None:
        return values, None
    variances = np.einsum("tb,...bc,tc->t...", coefficients, gram, coefficients)
    return values, np.maximum(variances, 0.0)


def cross_sections_from_moments(
    total: np.ndarray, gram: np.ndarray, coefficients: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cross sections :math:`c \cdot \sum_z w` and statistical uncertainties :math:`\sqrt{c^T G c}` (pb)
    from the per-benchmark weight sums [n_benchmarks] and Gram matrix [n_benchmarks, n_benchmarks].

    Example:
        >>> xs, err = cross_sections_from_moments(np.array([2.0, 4.0]), np.array([[2.0, 0.0], [0.0, 8.0]]),
        ...                                       np.eye(2))
        >>> xs.tolist(), err.tolist()
        ([2.0, 4.0], [1.4142135623730951, 2.8284271247461903])
    """
    coefficients = np.atleast_2d(np.asarray(coefficients, dtype=np.float64))
    xsec, variance = morph_moments(
        np.asarray(total, dtype=np.float64), np.asarray(gram, dtype=np.float64), coefficients
    )
    return xsec, np.sqrt(variance)


def closest_benchmark(
    setup: AnalysisSetup, theta: Sequence[float] | np.ndarray, candidates: Sequence[int] | None = None
) -> int:
    """Index of the benchmark closest to ``theta`` (Euclidean, in parameter units) among ``candidates``
    (default: all physics benchmarks).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> closest_benchmark(golden_channel_setup(), [0.01, -0.02])
        0
    """
    space = setup.parameter_space
    if candidates is None:
        candidates = [i for i, b in enumerate(space.benchmarks.values()) if not b.is_nuisance]
    candidates = np.asarray(list(candidates), dtype=np.int64)
    if candidates.size == 0:
        raise ParameterSpaceError("closest_benchmark: no candidate benchmarks")
    distances = np.linalg.norm(
        space.benchmark_array()[candidates] - np.asarray(theta, dtype=np.float64), axis=1
    )
    return int(candidates[np.argmin(distances)])


def generated_close_to(
    sampled_from: np.ndarray,
    setup: AnalysisSetup,
    theta: Sequence[float] | np.ndarray,
    candidates: Sequence[int] | None = None,
) -> np.ndarray:
    """Mask of events generated at the benchmark closest to ``theta`` (among ``candidates``, default the
    benchmarks that appear in ``sampled_from``), plus all background events (``sampled_from == -1``).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> generated_close_to(np.array([0, 1, -1, 0]), golden_channel_setup(), [0.0, 0.0]).tolist()
        [True, False, True, True]
    """
    sampled_from = np.asarray(sampled_from)
    if candidates is None:
        candidates = np.unique(sampled_from[sampled_from >= 0])
    closest = closest_benchmark(setup, theta, candidates)
    return (sampled_from == closest) | (sampled_from == -1)


# -- reductions over a store (dask) -------------------------------------------------------------------
def _chunk_moments(chunk: StoreChunk) -> tuple[np.ndarray, np.ndarray]:
    """(sum_z w [B], sum_z w w^T [B, B]) of one store chunk's rows (those of the partition, unscaled)."""
    return chunk_moments(chunk["weights"])


def _recorded_or_read(
    reader: ChunkReader, indices: range, checksums: dict[int, int]
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """One task: for each chunk of ``indices``, None where the chunk file still ends with the crc32c its
    moments were recorded with (read and checked, not decoded), else the chunk's moments, read and computed.
    Only the checksums travel to the task and only the recomputed moments back."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for index in indices:
        recorded = checksums.get(index)
        if recorded is not None and reader.checksum(index) == recorded:
            out.append(None)
        else:
            out.append(chunk_moments(reader.chunk(index)))
    return out


#: Tasks per worker thread when the recorded moments are checked on a ``distributed`` cluster: a task
#: only reads files and checks their crc32c (about 1 ms per 10^5 rows of six weights), less than a
#: scheduler's round trip per task, so a few large tasks beat many small ones there.
_CHECK_TASKS_PER_THREAD = 1


def _recorded_moments(store: EventStore, client: Any) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The per-chunk moments of all events from the entries recorded at write time
    (:mod:`columnminer.io.store_moments`), chunks without a valid entry read; None without entries."""
    entries = store.weight_moment_entries()
    if not entries:
        return None
    reader = store.chunk_reader("weights")
    n_chunks = reader.n_chunks
    client = active_client(client)
    threads = task_threads(client)
    if client is None:
        group = chunks_per_task(n_chunks, reader.rows_per_chunk, threads)
    else:
        group = max(1, -(-n_chunks // (_CHECK_TASKS_PER_THREAD * threads)))
    tasks = []
    for lo in range(0, n_chunks, group):
        indices = range(lo, min(lo + group, n_chunks))
        checksums = {i: entries[i][0] for i in indices if i in entries}
        tasks.append(functools.partial(_recorded_or_read, reader, indices, checksums))
    results = [part for task in run_tasks(tasks, client=client) for part in task]
    return [(entries[i][1], entries[i][2]) if part is None else part for i, part in enumerate(results)]


def weight_moments(
    store: EventStore, partition: str | None = None, client: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""One pass over the store: :math:`\sum_z w_b(z)` [n_benchmarks] and :math:`G_{bc} = \sum_z w_b(z) w_c(z)`
    [n_benchmarks, n_benchmarks], over all events or one partition. The events of a partition count with
    weight 1 / fraction (sums / f, Gram / f^2), so that they estimate the full-sample totals with the right
    statistical uncertainty, as :func:`columnminer.inference.binned.reduce_chunks` does; ratios of cross
    sections are unaffected.

    Each chunk is reduced to B + B^2 numbers in the task that reads it (one task per chunk,
    :func:`~columnminer.store_chunks.map_chunks`), then the client adds them up: memory is a few chunks
    whatever the number of events, and only the reduced results reach the client.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> total, gram = weight_moments(store)
        >>> total.shape, gram.shape
        ((6,), (6, 6))
    """
    n_benchmarks = store.setup.parameter_space.n_benchmarks
    if store.n_events == 0:
        return np.zeros(n_benchmarks), np.zeros((n_benchmarks, n_benchmarks))
    parts = _recorded_moments(store, client) if partition is None else None
    if parts is None:
        parts = map_chunks(store, _chunk_moments, partition=partition, client=client)
    total = np.sum([part[0] for part in parts], axis=0)
    gram = np.sum([part[1] for part in parts], axis=0)
    if partition is not None:  # the events of one partition, reweighted by 1 / fraction, estimate the totals
        fraction = float(store.partition_spec["fractions"][partition])
        total, gram = total / fraction, gram / fraction**2
    return total, gram


def cross_sections(
    store: EventStore, thetas: Any = None, partition: str | None = None, client: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cross sections (pb) and statistical uncertainties at many thetas in one pass over the store.

    ``thetas`` as in :func:`theta_coefficients`; ``None`` means every benchmark. Returns ``(xsec, error)``,
    each [n_thetas].

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> xsec, error = cross_sections(store, ["sm", [1.0, 0.0]])
        >>> xsec.round(6).tolist(), error.round(6).tolist()
        ([4.0, 16.0], [2.0, 8.0])
    """
    coefficients = (
        np.eye(store.setup.parameter_space.n_benchmarks)
        if thetas is None
        else theta_coefficients(store.setup, thetas)
    )
    total, gram = weight_moments(store, partition, client)
    return cross_sections_from_moments(total, gram, coefficients)


def cross_section_gradients(
    store: EventStore, thetas: Any, partition: str | None = None, client: Any = None
) -> np.ndarray:
    r""":math:`\nabla_\theta \sigma(\theta) = \partial c(\theta) \cdot \sum_z w(z)` (pb per unit of theta),
    shape [n_thetas, n_parameters].

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> cross_section_gradients(store, "sm").round(6).tolist()  # 4 x 2 (1 + a2 + a3)
        [[8.0, 8.0]]
    """
    gradient_coefficients = theta_gradient_coefficients(store.setup, thetas)
    total, _ = weight_moments(store, partition, client)
    return gradient_coefficients @ total


def event_weights(store: EventStore, thetas: Any) -> Any:
    r"""Lazy :math:`w(z|\theta_t)` for every event, a dask array [n_events, n_thetas] chunked like the store.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> event_weights(store, ["sm", [1.0, 0.0]]).compute()[0].round(6).tolist()
        [1.0, 4.0]
    """
    coefficients = theta_coefficients(store.setup, thetas)
    weights = store.to_dask("weights")
    return weights.map_blocks(weights_at, coefficients, chunks=(weights.chunks[0], (len(coefficients),)))


def event_weight_gradients(store: EventStore, thetas: Any) -> Any:
    r"""Lazy :math:`\partial_i w(z|\theta_t)`, a dask array [n_events, n_thetas, n_parameters].

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> event_weight_gradients(store, "sm").compute()[0].round(6).tolist()
        [[2.0, 2.0]]
    """
    gradient_coefficients = theta_gradient_coefficients(store.setup, thetas)
    weights = store.to_dask("weights")
    return weights.map_blocks(
        weight_gradients_at,
        gradient_coefficients,
        chunks=(weights.chunks[0], (gradient_coefficients.shape[0],), (gradient_coefficients.shape[1],)),
        new_axis=2,
    )


def joint_likelihood_ratios(store: EventStore, thetas0: Any, thetas1: Any, client: Any = None) -> Any:
    r"""Lazy :math:`r(x,z|\theta_0,\theta_1)` for pairs (thetas0[t], thetas1[t]), [n_events, n_pairs].

    The cross sections are computed first (one pass); the result stays lazy.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> joint_likelihood_ratios(store, ["sm"], [[1.0, 0.0]]).compute()[:, 0].round(6).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    c0, c1 = theta_coefficients(store.setup, thetas0), theta_coefficients(store.setup, thetas1)
    if c0.shape != c1.shape:
        raise MorphingError(f"theta0 and theta1 must pair up: {len(c0)} vs {len(c1)} points")
    total, _ = weight_moments(store, client=client)
    weights = store.to_dask("weights")
    return weights.map_blocks(
        joint_likelihood_ratio, c0, c1, c0 @ total, c1 @ total, chunks=(weights.chunks[0], (len(c0),))
    )


def joint_scores(store: EventStore, thetas: Any, client: Any = None) -> Any:
    r"""Lazy joint score :math:`t(x,z|\theta_t)`, [n_events, n_thetas, n_parameters] (cross sections first).

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # 4 events, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> joint_scores(store, "sm").compute()[0].round(6).tolist()  # every event has the same shape
        [[0.0, 0.0]]
    """
    coefficients = theta_coefficients(store.setup, thetas)
    gradient_coefficients = theta_gradient_coefficients(store.setup, thetas)
    total, _ = weight_moments(store, client=client)
    weights = store.to_dask("weights")
    return weights.map_blocks(
        joint_score,
        coefficients,
        gradient_coefficients,
        coefficients @ total,
        gradient_coefficients @ total,
        chunks=(weights.chunks[0], (len(coefficients),), (gradient_coefficients.shape[1],)),
        new_axis=2,
    )
