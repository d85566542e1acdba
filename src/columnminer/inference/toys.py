r"""Coverage of histogram likelihood regions by Poisson pseudo-experiments (toys).

For a binned analysis with exactly morphed yields :math:`\nu_k(\theta) = L\sigma_k(\theta)`, draw toys
:math:`n_k \sim \mathrm{Poisson}(\nu_k(\theta_\text{true}))`, compute for each toy

.. math::

    q(\theta_\text{true}) = 2\,[\max_{\theta \in \text{grid}}\log L(\theta) - \log L(\theta_\text{true})],
    \qquad \log L(\theta) = \sum_k [n_k\log\nu_k(\theta) - \nu_k(\theta)]

(or the multinomial shape-only version), and count the toys whose true point lies inside the region
:math:`q < F^{-1}_{\chi^2_k}(\mathrm{CL})`. Wilks' theorem predicts the fraction CL (Cowan, Cranmer,
Gross, Vitells, arXiv:1007.1727); the binomial uncertainty of a fraction f from M toys is
:math:`\sqrt{f(1-f)/M}`. All toys are evaluated at once (a [toys, bins] x [bins, points] product); the
maximum over a grid is slightly below the true maximum, so a coarse grid over-covers a little
(``optimise=True`` refines each toy's maximum with scipy, which needs morphing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from ..errors import InferenceError
from .binned import BinnedWeights
from .likelihood import YIELD_FLOOR, positive_luminosity, resolve_theta_true, resolve_thetas

__all__ = ["CoverageResult", "check_levels", "coverage", "coverage_fractions"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of the likelihood regions by toys.

    Attributes:
        levels: the nominal confidence levels.
        fractions: the fraction of toys with theta_true inside each region.
        errors: binomial standard errors of the fractions, sqrt(f (1 - f) / n_toys).
        thresholds: the q thresholds chi2.ppf(level, dof).
        q_true: q(theta_true) per toy [n_toys].
        best_fit: each toy's best point [n_toys, P].
        n_toys, dof, luminosity_pb, theta_true: the settings.
        method: the likelihood's name (toys of :mod:`columnminer.inference.neyman`).
        at_edge: fraction of toys whose best grid point lies on the border of the grid (their q is then a
            lower bound, which can only over-cover).
        neyman_thresholds, neyman_fractions, neyman_errors: toy-based critical values of q at theta_true (the
            quantiles at ``levels`` of half of the toys) and the coverage they give on the other half, or None.

    Example:
        >>> levels = np.array([0.6827])
        >>> result = CoverageResult(levels, np.array([0.70]), np.array([0.02]), np.array([1.0]), np.zeros(400),
        ...                         np.zeros((400, 1)), 400, 1, 1000.0, np.zeros(1))
        >>> result.pulls().round(2).tolist(), result.is_nominal()
        ([0.74], True)
    """

    levels: np.ndarray
    fractions: np.ndarray
    errors: np.ndarray
    thresholds: np.ndarray
    q_true: np.ndarray
    best_fit: np.ndarray
    n_toys: int
    dof: int
    luminosity_pb: float
    theta_true: np.ndarray
    method: str = ""
    at_edge: float = 0.0
    neyman_thresholds: np.ndarray | None = None
    neyman_fractions: np.ndarray | None = None
    neyman_errors: np.ndarray | None = None

    def pulls(self) -> np.ndarray:
        """(fraction - level) / (binomial error at the nominal level) per level."""
        nominal_error = np.sqrt(self.levels * (1.0 - self.levels) / self.n_toys)
        return (self.fractions - self.levels) / nominal_error

    def is_nominal(self, tolerance: float = 0.02, n_sigma: float = 1.0) -> bool:
        r"""Whether every level's coverage is within ``tolerance`` of nominal, up to ``n_sigma`` binomial errors
        (at the nominal level) of the toys: :math:`|f - \mathrm{CL}| \le` tolerance + n_sigma * error."""
        nominal_error = np.sqrt(self.levels * (1.0 - self.levels) / self.n_toys)
        return bool(np.all(np.abs(self.fractions - self.levels) <= tolerance + n_sigma * nominal_error))


def check_levels(levels: Sequence[float]) -> np.ndarray:
    """Confidence levels as an array [L], each in (0, 1), or an :class:`~columnminer.errors.InferenceError`.

    Example:
        >>> check_levels([0.6827, 0.9545]).tolist()
        [0.6827, 0.9545]
    """
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or np.any((levels <= 0) | (levels >= 1)):
        raise InferenceError(f"levels must be confidence levels in (0, 1), got {levels}")
    return levels


def coverage_fractions(
    q: np.ndarray, levels: np.ndarray, dof: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Wilks thresholds :math:`F^{-1}_{\chi^2_k}(\mathrm{CL})` [L], the fraction of toys with q below each
    [L], and their binomial errors :math:`\sqrt{f(1-f)/M}` [L], for the toys' :math:`q(\theta_\text{true})` [M].

    Example:
        >>> thresholds, fractions, errors = coverage_fractions(np.array([0.5, 2.0, 5.0, 0.1]), [0.6827], 1)
        >>> thresholds.round(3).tolist(), fractions.tolist(), errors.round(3).tolist()
        ([1.0], [0.5], [0.25])
    """
    thresholds = stats.chi2.ppf(levels, dof)
    fractions = np.mean(q[:, None] < thresholds[None, :], axis=0)
    return thresholds, fractions, np.sqrt(fractions * (1.0 - fractions) / len(q))


def _log_likelihood(counts: np.ndarray, expected: np.ndarray, include_rate: bool) -> np.ndarray:
    """[M, K] counts x [T, K] yields -> [M, T] log-likelihoods (constants dropped)."""
    expected = np.maximum(expected, YIELD_FLOOR)
    totals = expected.sum(axis=1)
    if include_rate:
        return counts @ np.log(expected).T - totals[None, :]
    return counts @ np.log(expected / totals[:, None]).T


def coverage(
    binned: BinnedWeights,
    theta_true: Any,
    thetas: Any,
    luminosity: float,
    n_toys: int = 1000,
    include_rate: bool = True,
    levels: Sequence[float] = (0.6827, 0.9545),
    dof: int | None = None,
    seed: int | None = None,
    optimise: bool = False,
    batch_size: int = 1000,
) -> CoverageResult:
    r"""Fraction of Poisson toys at ``theta_true`` whose likelihood region of each level contains
    ``theta_true`` (see the module docstring; Wilks: the fraction equals the level asymptotically).

    ``binned``: the histogram model (:func:`~columnminer.inference.binned.binned_weights`); ``thetas``: the
    grid over which each toy's best fit is taken ([T, P] points or benchmark names; theta_true is added);
    ``luminosity`` in pb^-1; ``dof`` defaults to the number of parameters; ``include_rate=False`` uses the
    shape-only likelihood. ``optimise`` refines every toy's best fit by L-BFGS-B from its best grid point
    (a loop over toys; needs morphing). Reference: arXiv:1007.1727.

    Example:
        >>> from columnminer._examples import golden_store
        >>> from columnminer.inference.binned import binned_weights
        >>> rng = np.random.default_rng(1)
        >>> store = golden_store(rng.normal(size=400), rng.uniform(1, 2, size=(400, 6)), chunk_size=100)
        >>> model = binned_weights(store, "m4l", [-3.0, 0.0, 3.0])
        >>> grid = np.column_stack([np.linspace(-0.5, 0.5, 21), np.zeros(21)])
        >>> result = coverage(model, [0.0, 0.0], grid, 1.0, n_toys=200, dof=1, seed=2)
        >>> result.thresholds.round(2).tolist(), result.fractions.shape
        ([1.0, 4.0], (2,))
    """
    if int(n_toys) < 1:
        raise InferenceError(f"n_toys must be positive, got {n_toys}")
    scale = positive_luminosity(luminosity)
    levels = check_levels(levels)
    setup = binned.setup
    c_true, point_true = resolve_theta_true(setup, theta_true)
    c_grid, points = resolve_thetas(setup, thetas)
    c_grid, points = np.concatenate([c_grid, c_true[None, :]]), np.concatenate([points, point_true[None, :]])
    if optimise and setup.morpher is None:
        raise InferenceError("optimise: refining the best fit needs a setup with morphing")
    dof = setup.parameter_space.n_parameters if dof is None else int(dof)
    sums = binned.sums.reshape(-1, binned.sums.shape[-1])
    expected = scale * c_grid @ sums.T
    nu_true = np.maximum(expected[-1], 0.0)
    rng = np.random.default_rng(seed)
    q = np.empty(int(n_toys))
    best = np.empty((int(n_toys), points.shape[1]))
    for start in range(0, int(n_toys), int(batch_size)):
        m = min(int(batch_size), int(n_toys) - start)
        counts = rng.poisson(nu_true, size=(m, len(nu_true))).astype(np.float64)
        ll = _log_likelihood(counts, expected, include_rate)
        index = np.argmax(ll, axis=1)
        q[start : start + m] = 2.0 * (ll[np.arange(m), index] - ll[:, -1])
        best[start : start + m] = points[index]
        if optimise:
            batch = slice(start, start + m)
            _refine_best_fits(
                setup, scale, sums, counts, ll, points[index], include_rate, q[batch], best[batch]
            )
    thresholds, fractions, errors = coverage_fractions(q, levels, dof)
    logger.info("coverage at %s: %s (%d toys)", point_true.tolist(), fractions.round(4).tolist(), len(q))
    return CoverageResult(levels, fractions, errors, thresholds, q, best, int(n_toys), dof, scale, point_true)


def _refine_best_fits(
    setup: Any,
    scale: float,
    sums: np.ndarray,
    counts: np.ndarray,
    ll: np.ndarray,
    starts: np.ndarray,
    include_rate: bool,
    q: np.ndarray,
    best: np.ndarray,
) -> None:
    """Refine each toy's best grid point by L-BFGS-B over the morphed yields ``scale * sums`` (L in pb^-1
    times the per-bin benchmark cross sections [K, B] in pb); where that raises the maximum, update the toy's
    ``q`` and ``best`` in place (the last column of ``ll`` [M, T] is theta_true)."""
    for i, toy in enumerate(counts):

        def nll(theta: np.ndarray, toy: np.ndarray = toy) -> float:
            nu = scale * setup.morphing_weights(theta[None, :]) @ sums.T
            return -float(_log_likelihood(toy[None, :], nu, include_rate)[0, 0])

        result = optimize.minimize(nll, starts[i], method="L-BFGS-B")
        if -result.fun > ll[i].max():
            q[i] = 2.0 * (-result.fun - ll[i, -1])
            best[i] = result.x
