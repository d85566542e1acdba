r"""Binned systematic variations: per-bin up / down yields of every nuisance at any theta, systematic bands,
and Poisson likelihoods with the nuisances profiled.

One pass over the store sums, per bin k, benchmark b and nuisance j, the benchmark weights at
:math:`\nu = 0` and at :math:`\nu_j = \pm 1` (the others 0),

.. math::

    W^0_{kb} = \sum_{z\in k} w_b(z), \qquad
    W^\pm_{jkb} = \sum_{z\in k} w_b(z)\, e^{\pm a_j(z) + b_j(z)},

so that, as for :class:`~columnminer.inference.binned.BinnedWeights`, the nominal and varied cross sections
of every bin morph exactly to any theta: :math:`\sigma^{0,\pm}_k(\theta) = \sum_b W_{kb}\, c_b(\theta)`.
Between the variations each bin is interpolated exponentially-quadratically (asymmetric variations),

.. math::

    \sigma_k(\theta,\nu) = \sigma^0_k(\theta)\exp\Big(\sum_j \alpha_{jk}\nu_j + \beta_{jk}\nu_j^2\Big),\quad
    \alpha_{jk} = \tfrac12\log\frac{\sigma^+_{jk}}{\sigma^-_{jk}},\ \beta_{jk} =
    \tfrac12\log\frac{\sigma^+_{jk}\sigma^-_{jk}}{(\sigma^0_k)^2},

exact for normalisation uncertainties and for any per-event log-quadratic variation that is the same for the
events of a bin. :func:`profile_binned_likelihood` maximises the Poisson likelihood with unit Gaussian
constraints over :math:`\nu` for many tested points at once. References: Cranmer et al., HistFactory,
CERN-OPEN-2012-016; Brehmer, Kling, Espejo, Cranmer (MadMiner), arXiv:1907.10621.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InferenceError
from ..io.store import EventStore
from ..nuisances import nuisance_log_variations_at
from ..weights import morph_moments, theta_coefficients
from .binned import ChunkColumns, Feature, as_edges, bin_index, feature_values, reduce_chunks

__all__ = ["BinnedVariations", "binned_variations", "profile_binned_likelihood"]

logger = logging.getLogger(__name__)

#: Yields below this are floored inside logarithms (events).
FLOOR = 1e-300


@dataclass(frozen=True)
class BinnedVariations:
    """Per-bin benchmark-weight sums at nominal and at +-1 sigma of every nuisance (pb).

    ``nominal`` [K, B], ``up`` and ``down`` [N, K, B] over the K bins (flattened, C order, of ``shape``)
    and B benchmarks; ``edges`` per dimension; ``nuisance_names`` in the setup's order.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> v = BinnedVariations((np.array([0.0, 1.0]),), np.ones((1, 6)), np.full((1, 1, 6), 1.1),
        ...                      np.full((1, 1, 6), 0.9), ("lumi",), golden_channel_setup())
        >>> [np.round(a, 6).tolist() for a in v.cross_sections("sm")]
        [[[1.0]], [[[1.1]]], [[[0.9]]]]
    """

    edges: tuple[np.ndarray, ...]
    nominal: np.ndarray
    up: np.ndarray
    down: np.ndarray
    nuisance_names: tuple[str, ...]
    setup: Any

    @property
    def shape(self) -> tuple[int, ...]:
        """The histogram's shape (bins per dimension)."""
        return tuple(len(e) - 1 for e in self.edges)

    def cross_sections(self, thetas: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Nominal [T, K], up [T, N, K] and down [T, N, K] cross sections per bin (pb) at ``thetas``
        (anything :func:`~columnminer.weights.theta_coefficients` takes)."""
        return self.cross_sections_at(theta_coefficients(self.setup, thetas))

    def cross_sections_at(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`cross_sections` for morphing coefficients ``c`` [T, B]."""
        c = np.atleast_2d(np.asarray(c, dtype=np.float64))
        return tuple(morph_moments(sums, None, c)[0] for sums in (self.nominal, self.up, self.down))

    def interpolation(self, thetas: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Nominal cross sections [T, K] and the coefficients :math:`\alpha, \beta` [T, N, K] of the
        exponential-quadratic interpolation (0 in empty bins)."""
        return self.interpolation_at(theta_coefficients(self.setup, thetas))

    def interpolation_at(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`interpolation` for morphing coefficients ``c`` [T, B]."""
        nominal, up, down = self.cross_sections_at(c)
        good = (nominal[:, None, :] > 0) & (up > 0) & (down > 0)
        safe = np.where(good, 1.0, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_up = np.where(good, np.log(np.where(good, up / nominal[:, None, :], 1.0)), 0.0)
            log_down = np.where(good, np.log(np.where(good, down / nominal[:, None, :], 1.0)), 0.0)
        return nominal, 0.5 * (log_up - log_down) * safe, 0.5 * (log_up + log_down) * safe

    def bands(self, theta: Any, luminosity: float | None = None) -> dict[str, np.ndarray]:
        r"""The numbers of a systematic band plot at one theta, in pb per bin (events with ``luminosity``
        in pb^-1): ``nominal`` ``[*shape]``, ``up`` / ``down`` ``[N, *shape]`` per nuisance, and the envelope
        ``low`` / ``high`` ``[*shape]``, the nominal minus / plus the quadrature sums over nuisances of the
        downward / upward shifts, :math:`\Delta^\uparrow_k = (\sum_j \max(\sigma^+_{jk}-\sigma^0_k,
        \sigma^-_{jk}-\sigma^0_k, 0)^2)^{1/2}` and likewise downwards.

        Example:
            >>> from columnminer import AnalysisSetup
            >>> setup = AnalysisSetup()
            >>> _ = setup.add_parameter("toy", 1, name="theta")
            >>> _ = setup.add_benchmark([0.0], name="sm")
            >>> v = BinnedVariations((np.array([0.0, 1.0]),), np.array([[2.0]]), np.array([[[2.2]]]),
            ...                      np.array([[[1.9]]]), ("lumi",), setup)
            >>> {k: np.round(b, 3).tolist() for k, b in v.bands("sm").items() if k in ("low", "high")}
            {'low': [1.9], 'high': [2.2]}
        """
        nominal, up, down = (np.asarray(a)[0] for a in self.cross_sections(theta))
        scale = 1.0 if luminosity is None else float(luminosity)
        shift_up = np.maximum(np.maximum(up - nominal, down - nominal), 0.0)
        shift_down = np.maximum(np.maximum(nominal - up, nominal - down), 0.0)
        shape = self.shape
        return {
            "nominal": scale * nominal.reshape(shape),
            "up": scale * up.reshape(-1, *shape),
            "down": scale * down.reshape(-1, *shape),
            "low": scale * (nominal - np.sqrt(np.sum(shift_down**2, axis=0))).reshape(shape),
            "high": scale * (nominal + np.sqrt(np.sum(shift_up**2, axis=0))).reshape(shape),
        }


def _chunk_variations(
    columns: ChunkColumns, store: EventStore, features: list, edges: tuple, flow: bool
) -> np.ndarray:
    """[1 + 2N, K, B]: nominal, up and down benchmark-weight sums per bin."""
    model = store.setup.nuisance_model()
    n_bins = int(np.prod([len(e) - 1 for e in edges]))
    index, inside = bin_index(feature_values(columns, features), edges, flow)
    a, b = model.coefficients(nuisance_log_variations_at(store, columns.rows))
    factors = np.concatenate([np.ones((len(a), 1)), np.exp(a + b), np.exp(-a + b)], axis=1)[inside]
    weights, index = columns.weights[inside], index[inside]
    out = np.zeros((factors.shape[1], n_bins, weights.shape[1]))
    for v in range(factors.shape[1]):
        for bench in range(weights.shape[1]):
            out[v, :, bench] = np.bincount(index, weights[:, bench] * factors[:, v], minlength=n_bins)
    return out


def binned_variations(
    store: EventStore,
    features: Feature | Sequence[Feature],
    bins: Any,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    flow: bool = True,
    client: Any = None,
) -> BinnedVariations:
    """Per-bin nominal and +-1 sigma benchmark-weight sums of every nuisance, in one pass over the store.

    ``features`` (observable names or callables on :class:`~columnminer.inference.binned.ChunkColumns`),
    ``bins`` (edges per dimension), ``flow``, ``cuts``, ``efficiencies`` and ``partition`` as in
    :func:`~columnminer.inference.binned.binned_weights`.

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0.5, 1.5], [1, 1], [[1.1], [1.0]], norm_variation=1.1)
        >>> v = binned_variations(store, "x", [0.0, 1.0, 2.0])
        >>> [np.round(a, 4).ravel().tolist() for a in v.cross_sections("sm")]
        [[1.0, 1.0], [1.1, 1.0], [0.9091, 1.0]]
    """
    model = store.setup.nuisance_model()
    if not model.n_nuisances or not store.nuisance_benchmark_names:
        raise InferenceError(f"{store.url}: no nuisance parameters (systematics) in the setup and store")
    features = [features] if isinstance(features, str) or callable(features) else list(features)
    edges = as_edges(bins)
    parts = reduce_chunks(
        store,
        _chunk_variations,
        store,
        features,
        edges,
        flow,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
    )
    sums = np.sum(parts, axis=0)
    n = model.n_nuisances
    return BinnedVariations(
        edges, sums[0], sums[1 : 1 + n], sums[1 + n :], tuple(model.nuisance_names), store.setup
    )


def _objective(nu, counts, expected, alpha, beta, include_rate):
    """Profiled objective per point [T] and the varied yields [T, K]."""
    log_factor = np.einsum("tj,tjk->tk", nu, alpha) + np.einsum("tj,tjk->tk", nu**2, beta)
    with np.errstate(over="ignore", invalid="ignore"):  # trial steps that overshoot are halved
        varied = expected * np.exp(log_factor)
        log_varied = np.log(np.maximum(varied, FLOOR))
    with np.errstate(over="ignore", invalid="ignore"):
        if include_rate:
            value = counts @ log_varied.T - varied.sum(axis=1)
        else:
            total = np.maximum(varied.sum(axis=1), FLOOR)
            value = counts @ log_varied.T - counts.sum() * np.log(total)
    return value - 0.5 * np.sum(nu**2, axis=1), varied


def profile_binned_likelihood(
    expected: Any,
    counts: Any,
    alpha: Any,
    beta: Any,
    include_rate: bool = True,
    max_iterations: int = 100,
    tolerance: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Maximise a binned Poisson log-likelihood with unit Gaussian constraints over the nuisances, for T
    tested points at once:

    .. math::

        \log L_t(\nu) = \sum_k \big[n_k \log\mu_{tk}(\nu) - \mu_{tk}(\nu)\big] - \tfrac12\lVert\nu\rVert^2,
        \quad \mu_{tk}(\nu) = \mu_{tk}\exp\Big(\sum_j \alpha_{tjk}\nu_j + \beta_{tjk}\nu_j^2\Big)

    (with ``include_rate=False`` the multinomial :math:`\sum_k n_k\log[\mu_{tk}/\sum_l\mu_{tl}]` replaces
    the Poisson sum). Newton steps with step halving, :math:`-H\delta = \nabla\log L`, where the Hessian is
    negative definite, else Fisher scoring, :math:`(\sum_k \mu_k g_k g_k^T + 1)\,\delta = \nabla\log L`,
    :math:`g_k = \alpha_k + 2\beta_k\nu`. ``expected`` [T, K] events, ``counts`` [K], ``alpha`` and
    ``beta`` [T, N, K]; iterations stop when the predicted gain :math:`\nabla\log L\cdot\delta` is below
    ``tolerance`` everywhere. Returns the maximum [T], the fitted :math:`\hat\nu` [T, N] and the yields
    at :math:`\hat\nu` [T, K].

    Example:
        >>> # one bin, 100 expected, 110 observed, a 10 % normalisation (about 10 k / (1 + 100 k^2), k = log 1.1)
        >>> value, nu, mu = profile_binned_likelihood([[100.0]], [110.0], [[[np.log(1.1)]]], [[[0.0]]])
        >>> round(float(nu[0, 0]), 4)
        0.4938
    """
    expected = np.atleast_2d(np.asarray(expected, dtype=np.float64))
    counts = np.asarray(counts, dtype=np.float64).ravel()
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    n_points, n_bins = expected.shape
    if counts.shape != (n_bins,) or alpha.shape[0] != n_points or alpha.shape[2] != n_bins:
        raise InferenceError(
            f"profile_binned_likelihood: expected {expected.shape}, counts {counts.shape}, alpha {alpha.shape} "
            "do not match ([T, K], [K], [T, N, K])"
        )
    if alpha.shape != beta.shape:
        raise InferenceError(f"alpha {alpha.shape} and beta {beta.shape} differ")
    n_nuisances = alpha.shape[1]
    nu = np.zeros((n_points, n_nuisances))
    value, varied = _objective(nu, counts, expected, alpha, beta, include_rate)
    eye = np.eye(n_nuisances)
    for _ in range(int(max_iterations)):
        g = alpha + 2.0 * beta * nu[:, :, None]  # [T, N, K]
        if include_rate:
            residual = counts[None, :] - varied
            metric = np.einsum("tk,tik,tjk->tij", varied, g, g)
        else:
            p = varied / np.maximum(varied.sum(axis=1, keepdims=True), FLOOR)
            mean_g = np.einsum("tk,tjk->tj", p, g)
            residual = counts[None, :] - counts.sum() * p
            centred = g - mean_g[:, :, None]
            metric = counts.sum() * np.einsum("tk,tik,tjk->tij", p, centred, centred)
        gradient = np.einsum("tk,tjk->tj", residual, g) - nu
        scoring = metric + eye
        newton = scoring - 2.0 * np.einsum("tk,tjk->tj", residual, beta)[:, :, None] * eye  # -Hessian
        convex = np.linalg.eigvalsh(newton)[:, 0] > 0
        curvature = np.where(convex[:, None, None], newton, scoring)
        step = np.linalg.solve(curvature, gradient[:, :, None])[:, :, 0]
        if np.all(np.einsum("tj,tj->t", gradient, step) < tolerance):  # the predicted gain
            break
        scale = np.ones(n_points)
        for _halving in range(30):
            trial = nu + scale[:, None] * step
            trial_value, trial_varied = _objective(trial, counts, expected, alpha, beta, include_rate)
            worse = ~(trial_value >= value - 1e-12 * np.abs(value))
            if not worse.any():
                break
            scale = np.where(worse, 0.5 * scale, scale)
        nu, value, varied = trial, trial_value, trial_varied
    else:
        logger.warning("profile_binned_likelihood: no convergence after %d iterations", max_iterations)
    return value, nu, varied
