r"""Chunkwise reductions over the store and exact binned yields: per-bin benchmark-weight sums, morphed to any theta.

Histogram analyses only need, for every bin k, the sums of the benchmark weights of the events in it,
:math:`W_{kb} = \sum_{z \in k} w_b(z)` (pb). Because an event's weight at any theta is linear in its
benchmark weights, :math:`w(z|\theta) = \sum_b c_b(\theta) w_b(z)`
(:func:`~columnminer.weights.theta_coefficients`), one pass over the store gives the exact cross section of
every bin at every theta and its gradient,

.. math::

    \sigma_k(\theta) = \sum_b W_{kb}\, c_b(\theta), \qquad
    \partial_i \sigma_k(\theta) = \sum_b W_{kb}\, \partial_i c_b(\theta), \qquad
    \Delta\sigma_k(\theta)^2 = c(\theta)^T G_k\, c(\theta),\ G_k = \sum_{z\in k} w(z) w(z)^T,

with no re-reading of events per parameter point (the morphing of MadMiner's histograms, done per bin).

Features (what is binned) are observable names or vectorised callables on a :class:`ChunkColumns` (the
observables of one store chunk by name, plus the [n, n_observables] matrix ``x`` for estimators); cuts
return boolean masks and efficiencies per-event factors on the same object. Work runs per store chunk with
dask (threads, or the active ``distributed`` client) and only the reduced arrays travel back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from ..errors import InferenceError
from ..io.store import EventStore
from ..setup import AnalysisSetup
from ..store_chunks import StoreChunk, map_chunks
from ..weights import morph_moments, theta_coefficients, theta_gradient_coefficients

__all__ = [
    "BinnedWeights",
    "ChunkColumns",
    "Feature",
    "bin_index",
    "binned_weights",
    "feature_values",
    "quantile_edges",
    "reduce_chunks",
    "weighted_quantile_edges",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkColumns(Mapping[str, np.ndarray]):
    """The events of one store chunk after cuts: observables by name, the matrix ``x``, benchmark weights.

    ``columns["m4l"]`` is one observable [n]; ``x`` is [n, n_observables] in store order (the input of
    estimators); ``weights`` [n, n_benchmarks] are in pb, already multiplied by the efficiencies and by
    ``1 / fraction`` of the partition used (so sums estimate full-sample cross sections); ``rows`` are the
    events' indices in the store.

    Example:
        >>> columns = ChunkColumns(("a", "b"), np.array([[1.0, 2.0]]), np.ones((1, 6)), np.array([7]))
        >>> columns["b"].tolist(), list(columns), columns.n_events
        ([2.0], ['a', 'b'], 1)
    """

    names: tuple[str, ...]
    x: np.ndarray
    weights: np.ndarray
    rows: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.x[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no observable {name!r}; the store has {list(self.names)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_events(self) -> int:
        """Events in this chunk (after cuts)."""
        return int(self.x.shape[0])


Feature = str | Callable[[ChunkColumns], np.ndarray]
"""An observable name, or a vectorised callable ``ChunkColumns -> [n]`` (or ``[n, d]``) array."""


def _name(fn: Any) -> str:
    return fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))


def feature_values(columns: ChunkColumns, features: Sequence[Feature]) -> np.ndarray:
    """Evaluate features on a chunk: [n_events, n_features] float64 (a callable may return [n, d]).

    Example:
        >>> columns = ChunkColumns(("a",), np.array([[1.0], [2.0]]), np.ones((2, 6)), np.arange(2))
        >>> feature_values(columns, ["a", lambda c: c["a"] ** 2]).tolist()
        [[1.0, 1.0], [2.0, 4.0]]
    """
    parts = []
    for feature in features:
        value = columns[feature] if isinstance(feature, str) else feature(columns)
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 1:
            value = value[:, None]
        if value.ndim != 2 or value.shape[0] != columns.n_events:
            raise InferenceError(
                f"feature {_name(feature)!r} returned shape {value.shape} for {columns.n_events} events; "
                "expected [n_events] or [n_events, d]"
            )
        parts.append(value)
    return np.concatenate(parts, axis=1) if parts else np.empty((columns.n_events, 0))


def _select(
    names: tuple[str, ...],
    columns: ChunkColumns,
    cuts: Sequence[Callable],
    efficiencies: Sequence[Callable],
) -> ChunkColumns:
    """Apply the cuts and efficiencies to one chunk's columns."""
    for cut in cuts:
        mask = np.asarray(cut(columns))
        if mask.dtype != bool or mask.shape != (columns.n_events,):
            raise InferenceError(
                f"cut {_name(cut)!r} must return a boolean mask of shape ({columns.n_events},), got "
                f"{mask.dtype} {mask.shape}"
            )
        columns = ChunkColumns(names, columns.x[mask], columns.weights[mask], columns.rows[mask])
    for efficiency in efficiencies:
        factor = np.asarray(efficiency(columns), dtype=np.float64)
        if factor.shape != (columns.n_events,) or not np.all(np.isfinite(factor)):
            raise InferenceError(
                f"efficiency {_name(efficiency)!r} must return finite factors of shape ({columns.n_events},)"
            )
        columns = ChunkColumns(names, columns.x, columns.weights * factor[:, None], columns.rows)
    return columns


def _run_chunk(chunk: StoreChunk, fn, names, cuts, efficiencies, args):
    """The partition rows of one chunk as :class:`ChunkColumns`, after cuts and efficiencies, into ``fn``
    (without the observables read: no names and an [n, 0] ``x``)."""
    weights = chunk["weights"] if chunk.scale == 1.0 else chunk["weights"] * chunk.scale  # x * 1.0 == x
    x = chunk.arrays.get("observables")
    if x is None:
        names, x = (), np.empty((len(weights), 0))
    columns = ChunkColumns(names, x, weights, chunk.rows)
    return fn(_select(names, columns, cuts, efficiencies), *args)


def reduce_chunks(
    store: EventStore,
    fn: Callable[..., Any],
    *args: Any,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
    observables: bool = True,
) -> list[Any]:
    """Run ``fn(columns, *args)`` on every store chunk (after partition, cuts, efficiencies); return the
    per-chunk results in event order.

    ``observables=False`` is for kernels that use the weights alone: without cuts and efficiencies the
    observables are then not read (a third less to read with six benchmarks and three observables) and
    ``columns`` has no names and an [n, 0] ``x``.

    ``fn`` should reduce (sums, histograms) so that little travels back; it runs in dask tasks (threads, or
    the workers of the active ``distributed`` client, so it must be picklable by cloudpickle there). The
    :class:`ChunkColumns` view of :func:`columnminer.store_chunks.map_chunks`.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.ones(10))  # m4l, 1 pb per event and benchmark
        >>> sum(reduce_chunks(store, lambda c: c.weights[:, 0].sum()))
        np.float64(10.0)
    """
    return map_chunks(
        store,
        _run_chunk,
        fn,
        tuple(store.observable_names),
        tuple(cuts),
        tuple(efficiencies),
        args,
        columns=("observables", "weights") if observables or cuts or efficiencies else ("weights",),
        partition=partition,
        client=client,
        error=InferenceError,
    )


def bin_index(values: np.ndarray, edges: Sequence[np.ndarray], flow: bool) -> tuple[np.ndarray, np.ndarray]:
    """Flat (C-order) bin index per event for values [n, d] and edges per dimension, and a mask of the events
    that land in a bin (NaN never does; with ``flow`` values outside the edges go to the edge bins).

    Example:
        >>> index, inside = bin_index(np.array([[0.5], [1.5], [9.0]]), (np.array([0.0, 1.0, 2.0]),), flow=False)
        >>> index.tolist(), inside.tolist()
        ([0, 1, 1], [True, True, False])
    """
    shape = tuple(len(e) - 1 for e in edges)
    keep = np.all(np.isfinite(values), axis=1)
    flat = np.zeros(len(values), dtype=np.int64)
    for d, e in enumerate(edges):
        index = np.searchsorted(e, values[:, d], side="right") - 1
        index[values[:, d] == e[-1]] = len(e) - 2  # the last edge belongs to the last bin
        if flow:
            index = np.clip(index, 0, len(e) - 2)
        else:
            keep &= (index >= 0) & (index < len(e) - 1)
            index = np.clip(index, 0, len(e) - 2)
        flat = flat * shape[d] + index
    return flat, keep


@numba.njit(nogil=True, cache=True)
def _binned_kernel(flat, keep, weights, sums, gram, counts):  # pragma: no cover - compiled
    """Per kept event in order: ``sums[bin, b] += w_b``, ``gram[bin, b B + c] += w_b w_c``, ``counts[bin] += 1``
    with the GIL released: the additions of ``np.bincount`` in the same order, so bit-identical to it (the
    full square, not a triangle: the fixed-length inner loop vectorises, 1.6x faster)."""
    n_benchmarks = weights.shape[1]
    for z in range(len(flat)):
        if not keep[z]:
            continue
        k = flat[z]
        counts[k] += 1
        for b in range(n_benchmarks):
            wb = weights[z, b]
            sums[k, b] += wb
            for c in range(n_benchmarks):
                gram[k, b * n_benchmarks + c] += wb * weights[z, c]


def _chunk_binned(columns: ChunkColumns, features, edges, flow: bool) -> tuple[np.ndarray, ...]:
    values = feature_values(columns, features)
    if values.shape[1] != len(edges):
        raise InferenceError(f"the features give {values.shape[1]} dimensions but bins has {len(edges)}")
    n_bins = int(np.prod([len(e) - 1 for e in edges]))
    n_benchmarks = columns.weights.shape[1]
    flat, keep = bin_index(values, edges, flow)
    sums = np.zeros((n_bins, n_benchmarks))
    gram = np.zeros((n_bins, n_benchmarks**2))
    counts = np.zeros(n_bins, dtype=np.int64)
    weights = np.ascontiguousarray(columns.weights, dtype=np.float64)
    _binned_kernel(flat, keep, weights, sums, gram, counts)
    return sums, gram, counts, np.int64((~keep).sum())


@dataclass(frozen=True)
class BinnedWeights:
    r"""Per-bin sums of the benchmark weights: the exact, morphable content of a histogram.

    Attributes:
        setup: the analysis setup (benchmarks and morphing).
        edges: bin edges per dimension.
        labels: a name per dimension.
        sums: :math:`W_{kb}` ``[*bins, n_benchmarks]`` (pb).
        gram: :math:`G_k` ``[*bins, n_benchmarks, n_benchmarks]`` (pb^2), for Monte Carlo uncertainties.
        counts: Monte Carlo events per bin ``[*bins]``.
        n_outside: events that landed in no bin (NaN features, or outside the edges without ``flow``).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> binned = BinnedWeights(golden_channel_setup(), (np.array([0.0, 1.0]),), ("x",), np.ones((1, 6)),
        ...                        np.ones((1, 6, 6)), np.array([1]))
        >>> binned.cross_sections("sm").tolist(), binned.cross_section_errors("sm").tolist(), binned.shape
        ([[1.0]], [[1.0]], (1,))
    """

    setup: AnalysisSetup
    edges: tuple[np.ndarray, ...]
    labels: tuple[str, ...]
    sums: np.ndarray
    gram: np.ndarray
    counts: np.ndarray
    n_outside: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of bins per dimension."""
        return tuple(len(e) - 1 for e in self.edges)

    def cross_sections(self, thetas: Any) -> np.ndarray:
        r""":math:`\sigma_k(\theta)` (pb), shape ``[n_thetas, *bins]``."""
        return morph_moments(self.sums, None, theta_coefficients(self.setup, thetas))[0]

    def cross_section_gradients(self, thetas: Any) -> np.ndarray:
        r""":math:`\partial_i \sigma_k(\theta)` (pb per unit theta), shape ``[n_thetas, n_parameters, *bins]``."""
        return np.einsum("...b,tib->ti...", self.sums, theta_gradient_coefficients(self.setup, thetas))

    def cross_section_errors(self, thetas: Any) -> np.ndarray:
        r"""Monte Carlo uncertainty :math:`\sqrt{c^T G_k c}` (pb), shape ``[n_thetas, *bins]``."""
        return np.sqrt(morph_moments(self.sums, self.gram, theta_coefficients(self.setup, thetas))[1])

    def yields(self, thetas: Any, luminosity: float) -> np.ndarray:
        """Expected events per bin, luminosity (pb^-1) times :meth:`cross_sections`, ``[n_thetas, *bins]``."""
        return float(luminosity) * self.cross_sections(thetas)

    def to_hist(self, thetas: Any, luminosity: float | None = None) -> Any:
        """The package's histogram at ``thetas`` (:mod:`columnminer.hists`): a Weight-storage ``hist.Hist``
        with a first ``theta`` axis named by benchmark or point, then the observable axes; cross sections (pb),
        or expected events for a luminosity (pb^-1), with the Monte Carlo variances.

        Example:
            >>> from columnminer._examples import golden_store
            >>> store = golden_store(np.linspace(110.0, 140.0, 20))
            >>> binned = binned_weights(store, ["m4l"], [110.0, 125.0, 140.0])
            >>> h = binned.to_hist(["sm", [0.5, 0.0]], luminosity=3e6)
            >>> h.axes.name, list(h.axes["theta"])
            (('theta', 'm4l'), ['sm', 'a2=0.5,a3=0'])
            >>> bool(h[{"theta": "sm"}].sum().value > 0)
            True
        """
        from ..hists import theta_axis, theta_hist

        scale = 1.0 if luminosity is None else float(luminosity)
        values = scale * self.cross_sections(thetas)
        variances = (scale * self.cross_section_errors(thetas)) ** 2
        axes = [(label, edges) for edges, label in zip(self.edges, self.labels, strict=True)]
        return theta_hist(theta_axis(self.setup, thetas), values, variances, axes)


def as_edges(bins: Any) -> tuple[np.ndarray, ...]:
    """The bin edges of every dimension as float64 arrays, from one edge array or one per dimension.

    Each edge array must be strictly increasing with at least two values (else :class:`InferenceError`).

    Example:
        >>> [e.tolist() for e in as_edges([0, 1, 2])]
        [[0.0, 1.0, 2.0]]
        >>> len(as_edges([[0.0, 1.0], [0.0, 5.0, 10.0]]))
        2
    """
    edges = [bins] if np.ndim(bins[0]) == 0 else list(bins)
    out = []
    for e in edges:
        e = np.asarray(e, dtype=np.float64)
        if e.ndim != 1 or len(e) < 2 or not np.all(np.diff(e) > 0):
            raise InferenceError(f"bins: edges must be increasing with at least two values, got {e}")
        out.append(e)
    return tuple(out)


def binned_weights(
    store: EventStore,
    features: Feature | Sequence[Feature],
    bins: Any,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    flow: bool = True,
    client: Any = None,
) -> BinnedWeights:
    """Histogram every benchmark-weight column of the store in one pass: a :class:`BinnedWeights`.

    ``features``: one or several observable names or callables (a callable returning [n, d] counts as d
    features); ``bins``: the edges (one array, or one per feature). With ``flow`` (the default) events
    below / above the edges go to the first / last bin, so no cross section is lost; NaN never counts.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.arange(10.0))  # m4l, 1 pb per event and benchmark
        >>> binned_weights(store, "m4l", [0.0, 5.0, 10.0]).cross_sections("sm").tolist()
        [[5.0, 5.0]]
    """
    features = [features] if isinstance(features, str) or callable(features) else list(features)
    edges = as_edges(bins)
    n_dims = len(edges)
    results = reduce_chunks(
        store,
        _chunk_binned,
        features,
        edges,
        flow,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
    )
    shape = tuple(len(e) - 1 for e in edges)
    n_benchmarks = len(store.benchmark_names)
    sums = np.sum([r[0] for r in results], axis=0).reshape(*shape, n_benchmarks)
    gram = np.sum([r[1] for r in results], axis=0).reshape(*shape, n_benchmarks, n_benchmarks)
    counts = np.sum([r[2] for r in results], axis=0).reshape(shape)
    outside = int(np.sum([r[3] for r in results]))
    labels = [_name(f) for f in features]
    if len(labels) != n_dims:
        labels = [f"{labels[0]}_{d}" for d in range(n_dims)]
    if outside:
        logger.info("%s: %d events fell in no bin", store.url, outside)
    return BinnedWeights(store.setup, edges, tuple(labels), sums, gram, counts, outside)


def _chunk_values(columns: ChunkColumns, feature: Feature, coefficients: np.ndarray):
    values = feature_values(columns, [feature])[:, 0]
    return values, columns.weights @ coefficients


def quantile_edges(values: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges of ``n_bins`` bins of equal total weight from in-memory values and weights (outer edges: the
    extreme values; non-finite values and non-positive weights ignored; tied edges merge, logged).

    Example:
        >>> quantile_edges(np.arange(10.0), np.ones(10), 2).tolist()
        [0.0, 4.5, 9.0]
    """
    if int(n_bins) < 1:
        raise InferenceError(f"n_bins must be positive, got {n_bins}")
    values, weights = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(values) & (weights > 0)
    values, weights = values[keep], weights[keep]
    if len(values) == 0:
        raise InferenceError("adaptive binning: no event with a finite value and a positive weight")
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cumulative = np.cumsum(weights)
    middle = (cumulative - 0.5 * weights) / cumulative[-1]
    inner = np.interp(np.arange(1, n_bins) / n_bins, middle, values)
    edges = np.unique(np.concatenate([[values[0]], inner, [values[-1]]]))
    if len(edges) < 2:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    if len(edges) - 1 < n_bins:
        logger.info("adaptive binning: tied values, %d bins instead of %d", len(edges) - 1, n_bins)
    return edges


def weighted_quantile_edges(
    store: EventStore,
    feature: Feature,
    theta: Any,
    n_bins: int,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
) -> np.ndarray:
    r"""Edges of ``n_bins`` bins with equal cross section at ``theta`` (adaptive binning), from the exact
    weighted quantiles of one feature; the outer edges are the smallest and largest values.

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.arange(10.0))  # m4l, 1 pb per event and benchmark
        >>> weighted_quantile_edges(store, "m4l", "sm", 2).tolist()
        [0.0, 4.5, 9.0]
    """
    if int(n_bins) < 1:
        raise InferenceError(f"n_bins must be positive, got {n_bins}")
    coefficients = theta_coefficients(store.setup, theta)
    if len(coefficients) != 1:
        raise InferenceError("adaptive binning takes one parameter point")
    parts = reduce_chunks(
        store,
        _chunk_values,
        feature,
        coefficients[0],
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
    )
    values = np.concatenate([p[0] for p in parts])
    weights = np.concatenate([p[1] for p in parts])
    return quantile_edges(values, weights, int(n_bins))
