r"""The two chunk kernels of the sample augmenter: clipped weight sums per distinct draw point, then the draws.

A sample's draw points d (see :mod:`columnminer.sampling.augmenter`) often repeat: every y = 1 point of a
ratio sample against one theta1 is the same. The kernels work on the *distinct* draw points u (same
coefficients, same closest-benchmark group and fraction, same nuisance point), sorted so that the points of
one group are contiguous, and the caller maps them back to the draw points.

Pass 1 (:func:`chunk_masses`) computes, tile by tile, :math:`W_\mathrm{tile} C^T` for a tile of rows and a
slice of points small enough that the product stays in the CPU cache and OpenBLAS runs it on one thread
(``P * T * n_benchmarks <= 2**18``: a multi-threaded BLAS call inside a busy dask worker stalls), clips it
at zero, applies the group factors (and the nuisance factors) and keeps, per point, the sums over blocks of
``coarse_rows`` consecutive rows, the sum of squares, the largest weight and the number of negative
weights. Pass 2 (:func:`chunk_picks`) draws the chunk's uniforms exactly as before (one generator per
(seed, chunk), one call per draw point), finds each pick's block in the cumulative block sums, and computes
the clipped weights of only that block of ``coarse_rows`` rows for that point to find the event (the first
row whose cumulative weight exceeds the uniform). A point with many picks in the chunk (an SM sample) is
instead evaluated over the whole chunk once. Reference: Brehmer, Kling, Espejo, Cranmer, "MadMiner",
arXiv:1907.10621.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.store import partition_mask
from ..store_chunks import StoreChunk
from ._picks import kept_block_picks
from ._products import block_weights, one_point_masses, row_weights, weighted_sums

__all__ = [
    "DrawPoints",
    "chunk_masses",
    "chunk_picks",
    "coarse_rows_for",
    "draw_points",
    "expand_factors",
    "factor_codes",
    "key_factors",
]

#: Elements of one product tile times the number of benchmarks: OpenBLAS keeps a dgemm of at most
#: 2**18 multiply-adds on the calling thread, and the tile (<= 2**18 / n_benchmarks doubles) stays in L2.
TILE_WORK = 2**18
#: Elements of the [picks, coarse_rows, n_benchmarks] gather that pass 2 handles at once (16 MB).
BATCH_WORK = 2**21


@dataclass(frozen=True)
class DrawPoints:
    """The distinct draw points of a sample, grouped by their weight-factor key.

    Attributes:
        coefficients: [U, B] benchmark coefficients of the distinct points (points of a key contiguous).
        nu: [U, N] their nuisance points, or None without nuisances.
        keys: the distinct (closest-benchmark group, fraction) pairs (-2: all events).
        key_of: [U] index into ``keys`` of every distinct point.
        inverse: [D] the distinct point of every draw point.
        coarse_rows: rows per block of the block sums.

    Example:
        >>> points = draw_points(np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]]), np.full(3, -2), np.ones(3))
        >>> len(points), points.inverse.tolist(), points.keys
        (2, [1, 0, 1], [(-2, 1.0)])
    """

    coefficients: np.ndarray
    nu: np.ndarray | None
    keys: list[tuple[int, float]]
    key_of: np.ndarray
    inverse: np.ndarray
    coarse_rows: int = 64

    def __len__(self) -> int:
        return len(self.coefficients)

    def slices(self) -> list[tuple[int, int, int, int]]:
        """(first point, stop, key, rows per tile): runs of points of one key, cut so that a tile of the
        product does at most ``TILE_WORK`` multiply-adds."""
        g, n_benchmarks = self.coarse_rows, max(self.coefficients.shape[1], 1)
        most = max(1, TILE_WORK // (n_benchmarks * g))
        out = []
        cuts = np.flatnonzero(np.diff(self.key_of)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(self)], strict=True):
            for first in range(int(lo), int(hi), most):
                stop = min(first + most, int(hi))
                rows = max(g, TILE_WORK // (n_benchmarks * (stop - first)) // g * g)
                out.append((first, stop, int(self.key_of[first]), rows))
        return out


def coarse_rows_for(n_points: int, n_events: int, budget: int = 2**23) -> int:
    """Rows per block of the block sums: 64, doubled until all chunks' sums (n_points * n_events / rows
    doubles) fit in ``budget`` entries (64 MB of float64 by default).

    Example:
        >>> coarse_rows_for(101, 10**6), coarse_rows_for(1000, 10**7)
        (64, 2048)
    """
    rows = 64
    while n_points * n_events / rows > budget:
        rows *= 2
    return rows


def draw_points(
    draw: np.ndarray,
    groups: np.ndarray,
    fractions: np.ndarray,
    nu: np.ndarray | None = None,
    coarse_rows: int = 64,
) -> DrawPoints:
    """The distinct draw points among ``draw`` [D, B] coefficients with their groups [D], fractions [D]
    and nuisance points [D, N] (None: no nuisances); see :class:`DrawPoints`.

    Example:
        >>> draw_points(np.eye(2), np.array([0, 1]), np.ones(2)).keys
        [(0, 1.0), (1, 1.0)]
    """
    columns = [np.asarray(groups, dtype=float)[:, None], np.asarray(fractions, dtype=float)[:, None], draw]
    if nu is not None:
        columns.append(nu)
    table = np.concatenate(columns, axis=1)
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    pairs, key_of = np.unique(unique[:, :2], axis=0, return_inverse=True)
    n_benchmarks = draw.shape[1]
    return DrawPoints(
        coefficients=np.ascontiguousarray(unique[:, 2 : 2 + n_benchmarks]),
        nu=None if nu is None else np.ascontiguousarray(unique[:, 2 + n_benchmarks :]),
        keys=[(int(g), float(f)) for g, f in pairs],
        key_of=np.asarray(key_of).reshape(-1),
        inverse=np.asarray(inverse).reshape(-1),
        coarse_rows=int(coarse_rows),
    )


def factor_codes(
    sampled_from: np.ndarray, spec: dict, partition: str | None, start: int, keys: list[tuple[int, float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The per-event weight factors of :func:`key_factors` as one byte per event and key: ([K, n] int8
    codes, [K, 3] the factor of each code (0, 1, 1 / fraction), [n] partition mask or None). Code 2: the
    event was generated at the key's benchmark; 1: background, or any event for key -2; 0: neither, or
    outside the partition. A pass keeps these (n bytes per key) instead of the [K, n] float64 factors.

    Example:
        >>> codes, values, _ = factor_codes(np.array([0, 1, -1]), {}, None, 0, [(-2, 1.0), (0, 0.5)])
        >>> codes.tolist(), values[1].tolist()
        ([[1, 1, 1], [2, 0, 1]], [0.0, 1.0, 2.0])
    """
    n = len(sampled_from)
    inside = None if partition is None else partition_mask(spec, partition, start, start + n)
    codes = np.empty((len(keys), n), dtype=np.int8)
    values = np.zeros((len(keys), 3))
    background = None
    for k, (group, fraction) in enumerate(keys):
        values[k] = (0.0, 1.0, 1.0 / fraction)
        if group == -2:
            codes[k] = 1
        else:
            if background is None:
                background = (sampled_from == -1).view(np.int8)
            np.multiply((sampled_from == group).view(np.int8), 2, out=codes[k])
            codes[k] += background
        if inside is not None:
            codes[k] *= inside.view(np.int8)
    return codes, values, inside


def expand_factors(codes: np.ndarray, values: np.ndarray, inside: np.ndarray | None) -> tuple:
    """:func:`key_factors` from :func:`factor_codes`: ([K, n] factors, [K] whether a row is all ones, [n]
    partition mask as 0 / 1); the factor values are looked up, so they are those of :func:`key_factors`
    bit for bit.

    Example:
        >>> factors, ones, base = expand_factors(*factor_codes(np.array([0, -1]), {}, None, 0, [(0, 0.5)]))
        >>> factors.tolist(), ones.tolist(), base.tolist()
        ([[2.0, 1.0]], [False], [1.0, 1.0])
    """
    n = codes.shape[1]
    base = np.ones(n) if inside is None else inside.astype(float)
    factors = np.empty((len(codes), n))
    for k in range(len(codes)):
        np.take(values[k], codes[k], out=factors[k])
    return factors, np.all(factors == 1.0, axis=1), base


def key_factors(
    sampled_from: np.ndarray, spec: dict, partition: str | None, start: int, keys: list[tuple[int, float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-event weight factors, one row per key: ([K, n] factors, [K] whether a row is all ones, [n]
    partition mask as 0 / 1).

    0 outside the partition or the closest-benchmark subset; inside the subset, signal events are scaled by
    1 / (their sample's share of the signal events), so that the subset still estimates the full
    distribution (background is never split). Built from :func:`factor_codes`.

    Example:
        >>> factors, ones, base = key_factors(np.array([0, 1, -1]), {}, None, 0, [(-2, 1.0), (0, 0.5)])
        >>> factors.tolist(), ones.tolist()
        ([[1.0, 1.0, 1.0], [2.0, 0.0, 1.0]], [True, False])
    """
    return expand_factors(*factor_codes(sampled_from, spec, partition, start, keys))


def _nuisance_factor(ab, nu: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """:math:`\\exp(a \\cdot \\nu + b \\cdot \\nu^2)` of rows lo:hi at the points ``nu`` [P, N]: [P, hi - lo]
    (einsum, not BLAS: one point would be a gemv, which OpenBLAS threads)."""
    return np.exp(np.einsum("pk,tk->pt", nu, ab[0][lo:hi]) + np.einsum("pk,tk->pt", nu**2, ab[1][lo:hi]))


def _product(c: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[P, T] weights of the rows ``weights`` [T, B] at the points ``c`` [P, B] (pb). A BLAS dgemm of at most
    ``TILE_WORK`` multiply-adds runs on the calling thread; one point would be forwarded to a threaded gemv,
    so it goes through :func:`~._products.row_weights`, as :func:`_point_weights` and :func:`_block_picks`
    do (the same values, bit for bit)."""
    return row_weights(weights, c[0])[None, :] if len(c) == 1 else c @ weights.T


def chunk_masses(
    chunk: StoreChunk,
    points: DrawPoints,
    spec: dict,
    partition: str | None,
    ab: tuple | None = None,
    factors: tuple | None = None,
    keep: bool = False,
) -> dict[str, np.ndarray]:
    r"""Pass 1 on one chunk: per distinct point u the clipped weight sums over blocks k of ``coarse_rows``
    rows, :math:`s_{uk} = \sum_{z \in k} f(z) \max(w(z|\theta_u), 0)` (pb; "coarse" [U, n_blocks]), the
    sum of squares, the largest weight and the number of negative weights (before clipping, over all rows of
    the chunk), and the partition's benchmark weight sums ("total" [B], pb). ``ab``: the chunk's nuisance
    coefficients (a, b), or None; ``factors``: the chunk's :func:`key_factors` when already computed. With
    ``keep``, one point and no nuisances, "point_weights" [n] holds the clipped weights
    :math:`f(z) \max(w(z|\theta_u), 0)` of every row (pb), for :func:`chunk_picks` to reuse.

    Example:
        >>> chunk = StoreChunk(0, 0, np.arange(3), {"weights": np.array([[1.0], [2.0], [-1.0]]),
        ...                                         "sampled_from": np.zeros(3, dtype=np.int16)})
        >>> out = chunk_masses(chunk, draw_points(np.ones((1, 1)), np.full(1, -2), np.ones(1)), {}, None)
        >>> out["coarse"].tolist(), out["negative"].tolist(), out["top"].tolist()
        ([[3.0]], [1], [2.0])
    """
    weights, g = chunk["weights"], points.coarse_rows
    if factors is None:
        factors = key_factors(chunk["sampled_from"], spec, partition, chunk.start, points.keys)
    factors, ones, base = factors
    n, n_points = len(weights), len(points)
    if n_points == 1 and ab is None:  # the same numbers in one read of the weights
        out = one_point_masses(weights, points.coefficients[0], factors[points.key_of[0]], base, g)
        if not keep:
            del out["point_weights"]
        return out
    coarse = np.zeros((n_points, -(-n // g)))
    squares, top = np.zeros(n_points), np.zeros(n_points)
    negative = np.zeros(n_points, dtype=np.int64)
    for first, stop, key, tile in points.slices():
        c = points.coefficients[first:stop]
        for lo in range(0, n, tile):
            hi = min(lo + tile, n)
            x = _product(c, weights[lo:hi])
            low = x.min(axis=1)
            if low.min() < 0.0:
                negative[first:stop] += np.count_nonzero(x < 0.0, axis=1)
            np.maximum(x, 0.0, out=x)
            if ab is not None:
                x *= _nuisance_factor(ab, points.nu[first:stop], lo, hi)
            if not ones[key]:
                x *= factors[key, lo:hi]
            full = (hi - lo) // g * g
            coarse[first:stop, lo // g : (lo + full) // g] = x[:, :full].reshape(stop - first, -1, g).sum(2)
            if full < hi - lo:
                coarse[first:stop, -1] = x[:, full:].sum(axis=1)
            squares[first:stop] += np.einsum("ij,ij->i", x, x)
            np.maximum(top[first:stop], x.max(axis=1), out=top[first:stop])
    total = weighted_sums(base, weights)  # not BLAS: a threaded gemv stalls busy dask workers
    return {"coarse": coarse, "squares": squares, "top": top, "negative": negative, "total": total}


def _uniforms(rng: np.random.Generator, counts: np.ndarray, cdf: np.ndarray, inverse: np.ndarray):
    """The chunk's uniforms, one generator call per draw point in order (as the samples have always been
    drawn), scaled to the point's chunk mass: ([m] draw point, [m] uniform)."""
    drawn = np.flatnonzero(counts)
    pieces = [rng.random(int(counts[d])) * cdf[inverse[d], -1] for d in drawn]
    u = np.concatenate(pieces) if pieces else np.zeros(0)
    return np.repeat(drawn, counts[drawn]).astype(np.int64), u


def _search(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cumulative, u, side="right")``, clipped to the first index of the last value (the
    last entry with weight where rounding puts u at or past the end): the keys are searched in sorted order,
    which keeps the binary searches in cache."""
    order = np.argsort(u)
    found = np.empty(len(u), dtype=np.int64)
    found[order] = np.searchsorted(cumulative, u[order], side="right")
    return np.minimum(found, np.argmax(cumulative))


def _point_weights(weights, points: DrawPoints, p: int, factors, ones, ab) -> np.ndarray:
    """Clipped, masked weights of every row of the chunk at the distinct point ``p`` [n]."""
    x = row_weights(weights, points.coefficients[p])
    np.maximum(x, 0.0, out=x)
    if ab is not None:
        nu = points.nu[p]
        x *= np.exp(np.einsum("nk,k->n", ab[0], nu) + np.einsum("nk,k->n", ab[1], nu**2))
    key = points.key_of[p]
    if not ones[key]:
        x *= factors[key]
    return x


def _block_picks(weights, points: DrawPoints, p, block, u, factors, ones, ab) -> np.ndarray:
    """Rows of picks that lie in block ``block`` [m] of point ``p`` [m] at ``u`` [m] past the block's
    start: the clipped weights of the block's ``coarse_rows`` rows, their cumulative sum, the first row whose
    cumulative weight exceeds u (the block's last row with weight where rounding puts u past the end).
    (With one draw point and pass 1's clipped weights kept, :func:`~._picks.kept_block_picks` does the same.)"""
    n, g = len(weights), points.coarse_rows
    pos = block[:, None] * g + np.arange(g)
    valid = pos < n
    np.minimum(pos, n - 1, out=pos)
    x = block_weights(weights, pos, points.coefficients[p])
    np.maximum(x, 0.0, out=x)
    if ab is not None:
        nu = points.nu[p]
        a, b = np.take(ab[0], pos, axis=0), np.take(ab[1], pos, axis=0)
        x *= np.exp(np.einsum("mgk,mk->mg", a, nu) + np.einsum("mgk,mk->mg", b, nu**2))
    key = points.key_of[p]
    if not np.all(ones[key]):
        x *= np.take(factors[key[0]], pos) if np.all(key == key[0]) else factors[key[:, None], pos]
    if not valid.all():
        x *= valid
    cum = np.cumsum(x, axis=1)
    index = np.minimum(np.count_nonzero(cum <= u[:, None], axis=1), np.argmax(cum, axis=1))
    return pos[np.arange(len(pos)), index]


def chunk_picks(
    chunk: StoreChunk,
    points: DrawPoints,
    spec: dict,
    partition: str | None,
    seed: int,
    counts: np.ndarray,
    coarse: np.ndarray,
    ab: tuple | None = None,
    factors: tuple | None = None,
    point_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 on one chunk: ``counts[d]`` events per draw point, drawn with replacement with probabilities
    proportional to the clipped weights (inverse CDF: the first row whose cumulative weight exceeds a
    uniform on [0, chunk mass)); returns ([m] chunk rows, [m] draw points), draw point by draw point.
    ``coarse``: the chunk's block sums from :func:`chunk_masses`; ``factors`` its :func:`key_factors` and
    ``point_weights`` its "point_weights" (one point) when pass 1 kept them.

    Example:
        >>> chunk = StoreChunk(0, 0, np.arange(3), {"weights": np.array([[1.0], [0.0], [-1.0]]),
        ...                                         "sampled_from": np.zeros(3, dtype=np.int16)})
        >>> points = draw_points(np.ones((1, 1)), np.full(1, -2), np.ones(1))
        >>> coarse = chunk_masses(chunk, points, {}, None)["coarse"]
        >>> [rows.tolist() for rows in chunk_picks(chunk, points, {}, None, 1, np.array([4]), coarse)]
        [[0, 0, 0, 0], [0, 0, 0, 0]]
    """
    weights = chunk["weights"]
    if factors is None:
        factors = key_factors(chunk["sampled_from"], spec, partition, chunk.start, points.keys)
    factors, ones, _ = factors
    rng = np.random.default_rng([int(seed), 104729, int(chunk.index)])
    cdf = np.cumsum(coarse, axis=1)
    d, u = _uniforms(rng, counts, cdf, points.inverse)
    p = points.inverse[d]
    rows = np.empty(len(d), dtype=np.int64)
    n, g = len(weights), points.coarse_rows
    kept = point_weights if len(points) == 1 else None
    sparse = []
    by_point = np.argsort(p, kind="stable")
    cuts = np.flatnonzero(np.diff(p[by_point])) + 1
    for mine in np.split(by_point, cuts) if len(p) else []:
        point = p[mine[0]]
        if len(mine) * g >= n:  # many picks: one cumulative sum over the whole chunk
            x = kept
            if x is None:
                x = _point_weights(weights, points, point, factors, ones, ab)
            rows[mine] = _search(np.cumsum(x), u[mine])
            continue
        block = _search(cdf[point], u[mine])
        below = np.where(block > 0, cdf[point][np.maximum(block - 1, 0)], 0.0)
        sparse.append((mine, block, u[mine] - below))
    if sparse:
        mine, block, rest = (np.concatenate(parts) for parts in zip(*sparse, strict=True))
        if kept is not None:  # one point: the cumulative sums of the picked blocks only, one look per pick
            rows[mine] = kept_block_picks(kept, g, block, rest)
            return rows, d
        batch = max(1, BATCH_WORK // (g * max(weights.shape[1], 1)))
        for lo in range(0, len(mine), batch):
            at = slice(lo, lo + batch)
            rows[mine[at]] = _block_picks(
                weights, points, p[mine[at]], block[at], rest[at], factors, ones, ab
            )
    return rows, d
