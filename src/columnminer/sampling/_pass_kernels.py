r"""The per-chunk work of :class:`~columnminer.sampling.SampleAugmenter`'s two passes: the plan of draw points,
pass 1's clipped sums (and, for SM samples from large stores, pass 2's likely rows), pass 2's draws with their
joint likelihood ratios and scores, and the sink that puts each chunk's drawn events at their shuffled places.

Joint quantities of a drawn event z at draw point d (Brehmer, Kling, Espejo, Cranmer, "MadMiner",
arXiv:1907.10621): :math:`r(x,z|\theta_0,\theta_1) = [w(z|\theta_0)/\sigma(\theta_0)] / [w(z|\theta_1)/
\sigma(\theta_1)]` and :math:`t(x,z|\theta) = \nabla w(z|\theta)/w(z|\theta) - \nabla\sigma(\theta)/\sigma(\theta)`,
with nuisance factors :math:`\exp(a\cdot\nu + b\cdot\nu^2)` on the weights where a sample has nuisances.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from ..store_chunks import StoreChunk
from ..weights import (
    event_weight_gradients_at,
    event_weights_at,
    ratio_from_weights,
    score_from_weights,
)
from ._draws import DrawPoints, chunk_masses, chunk_picks, expand_factors, factor_codes
from ._nuisance_terms import chunk_coefficients
from ._products import row_weights

__all__ = [
    "Plan",
    "SampleSink",
    "benchmark_bincount",
    "benchmark_counts",
    "chunk_candidates",
    "chunk_draws",
    "chunk_totals",
    "covered_draws",
    "joint_quantities",
]


@dataclass(frozen=True)
class Plan:
    """The draw points of one sample (all arrays have the draw-point axis first)."""

    draw: np.ndarray  # [D, B] coefficients of theta_d
    counts: np.ndarray  # [D] samples per draw point
    groups: np.ndarray  # [D] closest benchmark index, or -2 for all events
    fractions: np.ndarray  # [D] share of the signal events generated at that benchmark (1 when unrestricted)
    c0: np.ndarray  # [D, B]
    c1: np.ndarray  # [D, B]
    dc0: np.ndarray  # [D, P, B]
    dc1: np.ndarray  # [D, P, B]
    sigma0: np.ndarray  # [D]
    sigma1: np.ndarray  # [D]
    dsigma0: np.ndarray  # [D, P]
    dsigma1: np.ndarray  # [D, P]
    theta0: np.ndarray  # [D, P]
    theta1: np.ndarray  # [D, P]
    y: np.ndarray  # [D]
    # nuisance parameters (a_matrix is None when the sample ignores them)
    nu0: np.ndarray | None = None  # [D, N]
    nu1: np.ndarray | None = None  # [D, N]
    dnu_sigma0: np.ndarray | None = None  # [D, N]
    dnu_sigma1: np.ndarray | None = None  # [D, N]
    a_matrix: np.ndarray | None = None  # [N, K]
    b_matrix: np.ndarray | None = None  # [N, K]
    nuisance_score: bool = False

    @property
    def nu_draw(self) -> np.ndarray:
        """[D, N] the nuisance point each draw point samples at."""
        return np.where(self.y[:, None] == 1.0, self.nu1, self.nu0)

    def with_totals(self, total: np.ndarray) -> Plan:
        """The plan with sigma(theta0), sigma(theta1) and their gradients from the weight sums [B] (pb)."""
        return replace(
            self,
            sigma0=self.c0 @ total,
            sigma1=self.c1 @ total,
            dsigma0=self.dc0 @ total,
            dsigma1=self.dc1 @ total,
        )

    def coefficients(self, chunk: StoreChunk) -> tuple[np.ndarray, np.ndarray] | None:
        """a(z), b(z) of a chunk, or None without nuisances (then no column of the chunk is read)."""
        if self.a_matrix is None:
            return None
        arrays = chunk.arrays
        weights, sampled_from, nuisance = (
            arrays["weights"],
            arrays["sampled_from"],
            arrays.get("nuisance_weights"),
        )
        return chunk_coefficients(weights, sampled_from, nuisance, self.a_matrix, self.b_matrix)


def chunk_totals(
    chunk: StoreChunk, plan: Plan, points: DrawPoints, spec, partition, seed, candidates, memo: dict | None
) -> dict[str, np.ndarray]:
    """Pass 1 on one chunk (:func:`~columnminer.sampling._draws.chunk_masses`): per distinct draw point the
    clipped weight sums per block of rows, sum of squares, largest weight and negative weights; the sums of
    the benchmark weights over the partition's events [B] (for the cross sections). ``memo`` (passes on this
    process's threads): where the chunk's nuisance coefficients, key factors and single-point weights are
    left for pass 2 (in process), or only the key factors' codes; None (a client's task). With
    ``candidates`` > 0 (a store read twice) the first draws of pass 2 (:func:`chunk_candidates`) are
    returned as "candidates", for the caller to draw the chunks they cover (:func:`covered_draws`)."""
    ab = plan.coefficients(chunk)
    if memo is None and not candidates:
        return chunk_masses(chunk, points, spec, partition, ab)
    codes = factor_codes(chunk["sampled_from"], spec, partition, chunk.start, points.keys)
    factors = expand_factors(*codes)
    if memo is None or memo.get("compact"):  # columns not kept: one byte per event and key for pass 2
        if memo is not None:
            memo.update(codes=codes[:2])
        out = chunk_masses(chunk, points, spec, partition, ab, factors, keep=bool(candidates))
        point_weights = out.pop("point_weights", None)  # only for the candidates: not kept
        if candidates:  # they travel back with the sums
            out["candidates"] = chunk_candidates(
                chunk, points, spec, partition, seed, candidates, out, factors, point_weights
            )
        return out
    out = chunk_masses(chunk, points, spec, partition, ab, factors, keep=True)
    memo.update(ab=ab, factors=factors, point_weights=out.pop("point_weights", None))
    return out


def chunk_candidates(
    chunk, points, spec, partition, seed, most, out, factors, point_weights=None
) -> tuple | None:
    """For a sample of one draw point (no nuisances) from a store read twice: the rows pass 2 draws with
    the first ``most`` uniforms of the chunk's generator (fewer than rows / ``coarse_rows``, where pass 2
    would evaluate the whole chunk instead), with their observables and benchmark weights. Pass 2 takes the
    first ``counts`` of them whenever its count is no larger: the same rows (its uniforms are the first of
    the same stream, and each is found on its own), without reading the chunk again. None where nothing
    would be drawn. ``point_weights`` [n]: pass 1's clipped weights of every row, which the picks take
    instead of computing them again for every block they look into."""
    most = min(int(most), -(-chunk.n_events // points.coarse_rows) - 1)
    if most < 1 or not out["coarse"].sum() > 0:
        return None
    rows, _ = chunk_picks(
        chunk, points, spec, partition, seed, np.array([most]), out["coarse"], None, factors, point_weights
    )
    return rows, np.take(chunk["observables"], rows, axis=0), np.take(chunk["weights"], rows, axis=0)


def chunk_draws(
    chunk: StoreChunk,
    plan: Plan,
    points: DrawPoints,
    spec,
    partition,
    seed,
    want,
    keys,
    sink: SampleSink | None,
    counts,
    coarse,
    memo,
) -> dict[str, np.ndarray] | None:
    """Pass 2 on one chunk: draw ``counts[d]`` events per draw point
    (:func:`~columnminer.sampling._draws.chunk_picks`), compute their joint quantities and the per-point
    arrays ``keys`` (theta0, ...), and put them in ``sink`` (None: return them); ``memo``: what
    pass 1 left (in process; on this process's threads otherwise, the factor codes only, and without
    nuisances ``sampled_from`` is not read), or None (a distributed client)."""
    if memo is None or memo.get("compact"):
        ab = plan.coefficients(chunk)
        factors = None if memo is None else expand_factors(*memo["codes"], None)
        rows, d = chunk_picks(chunk, points, spec, partition, seed, counts, coarse, ab, factors)
    else:
        ab = memo["ab"]
        factors, point_weights = memo["factors"], memo["point_weights"]
        rows, d = chunk_picks(
            chunk, points, spec, partition, seed, counts, coarse, ab, factors, point_weights
        )
    x = np.take(chunk["observables"], rows, axis=0)  # take: 4x faster than fancy indexing
    chosen = np.take(chunk["weights"], rows, axis=0)
    piece = {"x": x, "event": rows + chunk.start}
    piece |= {key: np.take(getattr(plan, key), d, axis=0) for key in keys}
    piece |= joint_quantities(chosen, ab, rows, d, plan, want)
    if sink is None:
        return piece
    sink.put(chunk.index, piece)
    return None


def covered_draws(chunks: list[tuple[int, tuple, int]], plan: Plan, want, keys) -> dict[str, np.ndarray]:
    """Pass 2 of the chunks whose draws pass 1's candidates cover (one draw point, no nuisances), all at
    once: ``chunks`` = (first row, candidates (rows, observables, benchmark weights), count) per chunk; the
    drawn events of all of them as one piece, chunk after chunk (:meth:`SampleSink.put_chunks`). Each event
    is what :func:`chunk_draws` makes of it, bit for bit: the joint quantities are computed row by row."""
    rows = np.concatenate([kept[0][:n] + start for start, kept, n in chunks])
    x = np.concatenate([kept[1][:n] for _, kept, n in chunks])
    chosen = np.concatenate([kept[2][:n] for _, kept, n in chunks])
    d = np.zeros(len(rows), dtype=np.int64)
    piece = {"x": x, "event": rows}
    piece |= {key: np.take(getattr(plan, key), d, axis=0) for key in keys}
    piece |= joint_quantities(chosen, None, rows, d, plan, want)
    return piece


class SampleSink:
    """The arrays of a sample being drawn: chunk j's drawn events (``offsets[j]:offsets[j + 1]`` in chunk
    order) go to rows ``places[offsets[j]:offsets[j + 1]]`` (the shuffle), put there by the task that drew
    them; each array is made by the first piece that has it."""

    def __init__(self, places: np.ndarray, offsets: np.ndarray) -> None:
        self.places = places
        self.offsets = offsets
        self.arrays: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def put(self, index: int, piece: dict[str, np.ndarray]) -> None:
        """Chunk ``index``'s drawn events ``piece`` (arrays of its draws in chunk order) at their places."""
        self._place(self.places[self.offsets[index] : self.offsets[index + 1]], piece)

    def put_chunks(self, indices: list[int], piece: dict[str, np.ndarray]) -> None:
        """The drawn events of the chunks ``indices``, one chunk after the other in ``piece``."""
        self._place(
            np.concatenate([self.places[self.offsets[j] : self.offsets[j + 1]] for j in indices]), piece
        )

    def _place(self, at: np.ndarray, piece: dict[str, np.ndarray]) -> None:
        for key, values in piece.items():
            if key not in self.arrays:
                with self._lock:
                    if key not in self.arrays:
                        shape = (len(self.places), *values.shape[1:])
                        self.arrays[key] = np.empty(shape, dtype=values.dtype)
            _rows(self.arrays[key])[at] = _rows(np.ascontiguousarray(values))


def _rows(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array with more than one axis as a 1-D array of its rows (one opaque item per row):
    assigning rows at scattered indices then moves each row as one item, 3-4x faster than numpy's
    indexing of the first axis of a 2-D array."""
    items = int(np.prod(array.shape[1:], dtype=np.int64))
    if array.ndim < 2 or items == 0 or not array.flags.c_contiguous:
        return array
    rows = array.reshape(len(array), items)  # a view (C-contiguous)
    return rows.view(np.dtype((np.void, array.itemsize * items))).reshape(len(array))


def benchmark_bincount(sampled_from: np.ndarray, size: int) -> np.ndarray:
    """Events per ``sampled_from`` value + 1 (background first) [size]. A chunk of one value (events are
    appended benchmark by benchmark) is counted from its minimum and maximum, 5x faster than ``bincount``.

    Example:
        >>> benchmark_bincount(np.array([-1, 0, 0, 2], dtype=np.int16), 4).tolist()
        [1, 2, 0, 1]
    """
    if len(sampled_from) and (first := int(sampled_from.min())) == int(sampled_from.max()) and first >= -1:
        counts = np.zeros(size, dtype=np.intp)
        if first + 1 < size:
            counts[first + 1] = len(sampled_from)
        return counts
    return np.bincount(sampled_from + 1, minlength=size)[:size]


def benchmark_counts(chunk: StoreChunk, size: int, memo: dict | None) -> np.ndarray:
    """:func:`benchmark_bincount` of one chunk's ``sampled_from`` (a pass kernel)."""
    return benchmark_bincount(chunk["sampled_from"], size)


def joint_quantities(chosen, ab, rows, d, plan: Plan, want) -> dict[str, np.ndarray]:
    r"""``r_xz``, ``t_xz0``, ``t_xz1`` (as wanted) of the drawn events: their benchmark weights ``chosen``
    [n, B], chunk rows ``rows`` and draw points ``d`` [n]; with nuisance coefficients ``ab`` the weights
    are :math:`w(z|\theta,\nu) = w(z|\theta)\exp(a\cdot\nu + b\cdot\nu^2)`."""
    out = {}
    if len(d) and ab is None and not np.any(d != d[0]):  # one draw point (SM samples): no per-event copies
        return _joint_quantities_at_one_point(chosen, int(d[0]), plan, want)
    w0 = event_weights_at(chosen, plan.c0[d])
    w1 = event_weights_at(chosen, plan.c1[d])
    if ab is not None:
        a, b = ab[0][rows], ab[1][rows]
        f0 = np.exp(np.sum(a * plan.nu0[d] + b * plan.nu0[d] ** 2, axis=1))
        f1 = np.exp(np.sum(a * plan.nu1[d] + b * plan.nu1[d] ** 2, axis=1))
    else:
        f0 = f1 = 1.0
    if "r_xz" in want:
        out["r_xz"] = ratio_from_weights(w0 * f0, w1 * f1, plan.sigma0[d], plan.sigma1[d])
    for key, c_grad, w, sigma, dsigma, nu, dnu_sigma in (
        ("t_xz0", plan.dc0, w0, plan.sigma0, plan.dsigma0, plan.nu0, plan.dnu_sigma0),
        ("t_xz1", plan.dc1, w1, plan.sigma1, plan.dsigma1, plan.nu1, plan.dnu_sigma1),
    ):
        if key not in want:
            continue
        score = score_from_weights(w, event_weight_gradients_at(chosen, c_grad[d]), sigma[d], dsigma[d])
        if plan.nuisance_score:
            nuisance_score = a + 2.0 * b * nu[d] - dnu_sigma[d] / sigma[d][:, None]
            score = np.concatenate([score, nuisance_score], axis=1)
        out[key] = score
    return out


def _joint_quantities_at_one_point(chosen, point: int, plan: Plan, want) -> dict[str, np.ndarray]:
    """:func:`joint_quantities` when every drawn event has the same draw point (no nuisances): the point's
    coefficients broadcast over the events instead of being copied per event (:mod:`._products`: 2x
    faster than einsum, each event's value its own)."""
    weights = {0: row_weights(chosen, plan.c0[point])}
    if want & {"r_xz", "t_xz1"}:
        weights[1] = row_weights(chosen, plan.c1[point])
    out = {}
    if "r_xz" in want:
        out["r_xz"] = ratio_from_weights(weights[0], weights[1], plan.sigma0[point], plan.sigma1[point])
    for side, (c_grad, sigma, dsigma) in enumerate(
        ((plan.dc0, plan.sigma0, plan.dsigma0), (plan.dc1, plan.sigma1, plan.dsigma1))
    ):
        if f"t_xz{side}" in want:
            gradients = np.stack([row_weights(chosen, c) for c in c_grad[point]], axis=1)
            out[f"t_xz{side}"] = score_from_weights(weights[side], gradients, sigma[point], dsigma[point])
    return out
