r"""Polynomial morphing of event weights between parameter points (vectorised over many thetas).

If the squared matrix element is a polynomial in theta, every event weight is a linear combination of
the weights at a few basis points theta_b:

.. math::

    w(z|\theta) = \sum_b w_b(\theta)\, w(z|\theta_b), \qquad
    w_b(\theta) = \sum_c \phi_c(\theta)\, [A^{+}]_{cb}, \qquad A_{bc} = \phi_c(\theta_b),

with monomial components :math:`\phi_c(\theta) = \prod_i \theta_i^{k_{ci}}` and :math:`A^{+}` the inverse
(or Moore-Penrose pseudo-inverse for over-determined bases) of the n_basis x n_components matrix A.
Reference: J. Brehmer, F. Kling, I. Espejo, K. Cranmer, "MadMiner", arXiv:1907.10621, and the ATLAS
morphing note ATL-PHYS-PUB-2015-047.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import MorphingError

__all__ = [
    "Morpher",
    "component_gradients",
    "component_values",
    "find_components",
    "morphing_matrix",
    "optimize_basis",
]

logger = logging.getLogger(__name__)

#: Bases whose matrix A has a condition number above this are treated as degenerate.
MAX_CONDITION_NUMBER = 1e12


def find_components(max_powers: Sequence[int], max_overall_power: int | None = None) -> np.ndarray:
    r"""All exponent vectors k with :math:`0 \le k_i \le` ``max_powers[i]`` and :math:`\sum_i k_i \le`
    ``max_overall_power``, shape [n_components, n_parameters], ordered by total power, then lexicographically
    with higher powers of earlier parameters first.

    Example:
        >>> find_components([2, 2], 2).tolist()
        [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    """
    max_powers = [int(p) for p in max_powers]
    if not max_powers or min(max_powers) < 0:
        raise MorphingError(f"max_powers must be a non-empty list of non-negative integers, got {max_powers}")
    if max_overall_power is None:
        max_overall_power = sum(max_powers)
    grid = itertools.product(*(range(p + 1) for p in max_powers))
    components = [k for k in grid if sum(k) <= max_overall_power]
    components.sort(key=lambda k: (sum(k), tuple(-x for x in k)))
    return np.array(components, dtype=np.int64).reshape(-1, len(max_powers))


def _check_thetas(thetas: np.ndarray | Sequence, n_parameters: int) -> np.ndarray:
    thetas = np.asarray(thetas, dtype=np.float64)
    if thetas.ndim == 0 or thetas.shape[-1] != n_parameters:
        raise MorphingError(
            f"thetas must have shape [..., {n_parameters}] (one value per parameter), got shape {thetas.shape}"
        )
    if not np.isfinite(thetas).all():
        bad = np.argwhere(~np.isfinite(thetas).all(axis=-1))[0]
        raise MorphingError(f"thetas contain non-finite values, first at index {tuple(bad.tolist())}")
    return thetas


@functools.lru_cache(maxsize=64)
def _monomial_plan(components: tuple[tuple[int, ...], ...]) -> tuple[int, tuple]:
    """How to build every component by one multiplication from a monomial of one degree less.

    The monomials needed are the requested components (stored first, in their order) plus any missing
    ancestors (downward closure). Each step is one degree: ``(positions, parent positions, parameters)``
    with phi[positions] = phi[parents] * theta[parameters]. Returns (number of monomials, (constants, steps)).
    """

    def parent_of(k: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
        i = next(j for j, power in enumerate(k) if power > 0)
        return (*k[:i], k[i] - 1, *k[i + 1 :]), i

    index = {k: i for i, k in enumerate(components)}
    order = list(components)
    queue = list(components)
    while queue:
        k = queue.pop()
        if sum(k) > 0:
            parent, _ = parent_of(k)
            if parent not in index:
                index[parent] = len(order)
                order.append(parent)
                queue.append(parent)
    steps = []
    for degree in range(1, max(sum(k) for k in order) + 1):
        rows = [(index[k], index[parent_of(k)[0]], parent_of(k)[1]) for k in order if sum(k) == degree]
        steps.append(tuple(np.array(column, dtype=np.intp) for column in zip(*rows, strict=True)))
    constants = [i for i, k in enumerate(order) if sum(k) == 0]
    return len(order), (constants, tuple(steps))


def _monomials(thetas: np.ndarray, components: np.ndarray, derivative: bool) -> tuple:
    """Component-major monomials phi [n_monomials, N] (and gradients [n_parameters, n_monomials, N]).

    ``thetas`` is flattened to [N, n_parameters]; rows 0..n_components-1 are the requested components.
    One vectorised multiplication per degree: the minimal arithmetic, and no division (finite at theta = 0).
    """
    n_monomials, (constants, steps) = _monomial_plan(tuple(map(tuple, components.tolist())))
    columns = np.ascontiguousarray(thetas.reshape(-1, components.shape[1]).T)  # [n_parameters, N]
    phi = np.empty((n_monomials, columns.shape[1]))
    phi[constants] = 1.0
    gradients = None
    if derivative:
        gradients = np.zeros((components.shape[1], n_monomials, columns.shape[1]))
    for positions, parents, parameters in steps:
        phi[positions] = phi[parents] * columns[parameters]
        if gradients is not None:
            # product rule: d(phi_p theta_j)/d theta_i = (d phi_p/d theta_i) theta_j + delta_ij phi_p
            gradients[:, positions] = gradients[:, parents] * columns[parameters]
            gradients[parameters, positions] += phi[parents]
    return phi, gradients


def component_values(thetas: np.ndarray | Sequence, components: np.ndarray) -> np.ndarray:
    r""":math:`\phi_c(\theta) = \prod_i \theta_i^{k_{ci}}` for thetas of shape [..., n_parameters];
    returns shape [..., n_components].

    Example:
        >>> component_values([2.0, 3.0], np.array([[0, 0], [1, 0], [1, 1]])).tolist()
        [1.0, 2.0, 6.0]
    """
    components = np.asarray(components, dtype=np.int64)
    thetas = _check_thetas(thetas, components.shape[1])
    phi, _ = _monomials(thetas, components, derivative=False)
    return phi[: components.shape[0]].T.reshape(*thetas.shape[:-1], components.shape[0])


def component_gradients(thetas: np.ndarray | Sequence, components: np.ndarray) -> np.ndarray:
    r""":math:`\partial \phi_c / \partial \theta_i = k_{ci}\,\theta_i^{k_{ci}-1} \prod_{j\ne i}\theta_j^{k_{cj}}`;
    returns shape [..., n_parameters, n_components] (exact zero where k_ci = 0, also at theta_i = 0).

    Example:
        >>> component_gradients([2.0, 3.0], np.array([[1, 1], [2, 0]])).tolist()
        [[3.0, 4.0], [2.0, 0.0]]
    """
    components = np.asarray(components, dtype=np.int64)
    thetas = _check_thetas(thetas, components.shape[1])
    _, gradients = _monomials(thetas, components, derivative=True)
    out = np.moveaxis(gradients[:, : components.shape[0]], 2, 0)  # [N, n_parameters, n_components]
    return out.reshape(*thetas.shape[:-1], *components.shape[::-1])


def _matrix_and_condition(basis: np.ndarray, components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-inverses [..., n_components, n_basis] and condition numbers of (stacks of) basis matrices."""
    a = component_values(basis, components)  # [..., n_basis, n_components]
    singular = np.linalg.svd(a, compute_uv=False)
    with np.errstate(divide="ignore", over="ignore"):
        condition = np.where(singular[..., -1] > 0, singular[..., 0] / singular[..., -1], np.inf)
    return np.linalg.pinv(a), condition


def morphing_matrix(basis: np.ndarray | Sequence, components: np.ndarray | Sequence) -> np.ndarray:
    r"""The morphing matrix :math:`M = A^{+}`, shape [n_components, n_basis], with :math:`A_{bc} =
    \phi_c(\theta_b)`; the exact inverse when n_basis = n_components, else the Moore-Penrose pseudo-inverse
    (the least-squares fit of the components to the basis weights).

    Example:
        >>> morphing_matrix([[0.0], [1.0]], [[0], [1]]).tolist()
        [[1.0, 0.0], [-1.0, 1.0]]
    """
    components = np.asarray(components, dtype=np.int64)
    basis = _check_thetas(basis, components.shape[1])
    if basis.ndim != 2:
        raise MorphingError(f"basis must have shape [n_basis, n_parameters], got {basis.shape}")
    if basis.shape[0] < components.shape[0]:
        raise MorphingError(
            f"{basis.shape[0]} basis points cannot determine {components.shape[0]} morphing components; "
            f"at least {components.shape[0]} are needed"
        )
    matrix, condition = _matrix_and_condition(basis, components)
    if condition < MAX_CONDITION_NUMBER and basis.shape[0] == components.shape[0]:
        matrix = np.linalg.inv(component_values(basis, components))  # exact basis: plain inverse
    if not condition < MAX_CONDITION_NUMBER:
        raise MorphingError(
            f"the morphing basis is degenerate (condition number {condition:.3g}): some basis points do not "
            "add independent information on the components; move or add basis points"
        )
    return matrix


def _uniform(rng: np.random.Generator, ranges: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(ranges[:, 0], ranges[:, 1], size=(*shape, ranges.shape[0]))


def optimize_basis(
    components: np.ndarray | Sequence,
    parameter_ranges: np.ndarray | Sequence,
    n_basis: int | None = None,
    fixed: np.ndarray | Sequence | None = None,
    n_trials: int = 100,
    n_test_thetas: int = 100,
    refine: bool = True,
    seed: int | None = None,
) -> np.ndarray:
    r"""Choose basis points that keep the morphing weights small over the parameter ranges.

    Minimises the expected squared-weight sum :math:`\langle \sum_b w_b(\theta)^2 \rangle` over
    ``n_test_thetas`` points drawn uniformly in ``parameter_ranges``: ``n_trials`` random completions of the
    ``fixed`` points are scored at once (stacked pseudo-inverses), and the best is optionally polished by
    L-BFGS-B inside the ranges (``refine``). The fixed points come first in the returned basis, shape
    [n_basis, n_parameters]; ``n_basis`` defaults to the number of components (an exact basis).

    Example:
        >>> comps = find_components([2], 2)
        >>> optimize_basis(comps, [(-1.0, 1.0)], fixed=[[0.0]], seed=1).shape
        (3, 1)
    """
    components = np.asarray(components, dtype=np.int64)
    ranges = np.asarray(parameter_ranges, dtype=np.float64).reshape(-1, 2)
    n_components, n_parameters = components.shape
    if ranges.shape[0] != n_parameters:
        raise MorphingError(f"expected {n_parameters} parameter ranges, got {ranges.shape[0]}")
    fixed_points = np.zeros((0, n_parameters)) if fixed is None else _check_thetas(fixed, n_parameters)
    fixed_points = fixed_points.reshape(-1, n_parameters)
    n_basis = n_components if n_basis is None else int(n_basis)
    if n_basis < n_components:
        raise MorphingError(f"n_basis={n_basis} is below the number of components ({n_components})")
    n_free = n_basis - fixed_points.shape[0]
    if n_free < 0:
        raise MorphingError(f"{fixed_points.shape[0]} fixed basis points exceed n_basis={n_basis}")
    rng = np.random.default_rng(seed)
    test_phi = component_values(_uniform(rng, ranges, (int(n_test_thetas),)), components)

    def score(bases: np.ndarray) -> np.ndarray:
        matrices, condition = _matrix_and_condition(bases, components)
        weights = test_phi @ matrices  # [..., n_test, n_basis]
        value = np.mean(np.sum(weights**2, axis=-1), axis=-1)
        return np.where(condition < MAX_CONDITION_NUMBER, value, np.inf)

    if n_free == 0:
        basis = fixed_points.copy()
    else:
        trials = _uniform(rng, ranges, (int(n_trials), n_free))
        stacked = np.concatenate(
            [np.broadcast_to(fixed_points, (int(n_trials), *fixed_points.shape)), trials], 1
        )
        scores = score(stacked)
        best = int(np.argmin(scores))
        if not np.isfinite(scores[best]):
            raise MorphingError(f"none of the {n_trials} random bases is regular; increase n_trials")
        basis = stacked[best].copy()
        logger.info("best of %d random bases: mean squared weight sum %.4g", n_trials, scores[best])
        if refine:
            lows = np.tile(ranges[:, 0], n_free)
            highs = np.tile(ranges[:, 1], n_free)
            span = highs - lows

            def objective(u: np.ndarray) -> float:
                free = (lows + u * span).reshape(n_free, n_parameters)
                value = score(np.concatenate([fixed_points, free]))
                return float(np.log(value)) if np.isfinite(value) else 1e300

            start = (basis[fixed_points.shape[0] :].ravel() - lows) / span
            from scipy import optimize  # deferred: scipy.optimize takes a third of a second to import

            result = optimize.minimize(objective, start, method="L-BFGS-B", bounds=[(0.0, 1.0)] * start.size)
            if result.fun < objective(start):
                basis[fixed_points.shape[0] :] = (lows + result.x * span).reshape(n_free, n_parameters)
                logger.info("refined basis: mean squared weight sum %.4g", np.exp(result.fun))
    morphing_matrix(basis, components)  # raises if degenerate
    return basis


class Morpher:
    r"""Morphing weights :math:`w_b(\theta) = \sum_c \phi_c(\theta) M_{cb}` and their gradients.

    Immutable: a new basis gives a new :class:`Morpher`. All evaluations take thetas of shape
    [..., n_parameters] and broadcast over the leading axes (no Python loop over thetas).

    Example:
        >>> m = Morpher([[4, 0], [3, 1], [2, 2], [1, 3], [0, 4]],
        ...             [[1, -5], [1, -4], [1, -3], [1, -2], [1, -1]])
        >>> np.round(m.weights([1.0, 1.0]), 6).tolist()
        [5.0, -24.0, 45.0, -40.0, 15.0]
    """

    def __init__(self, components: np.ndarray | Sequence, basis: np.ndarray | Sequence) -> None:
        components = np.array(components, dtype=np.int64)
        if components.ndim != 2 or components.shape[0] == 0 or (components < 0).any():
            raise MorphingError(
                f"components must be a non-empty [n_components, n_parameters] array of non-negative "
                f"integer powers, got {components.tolist()}"
            )
        if len({tuple(row) for row in components.tolist()}) != components.shape[0]:
            raise MorphingError(f"components contain duplicate rows: {components.tolist()}")
        self._components = components
        self._basis = np.array(_check_thetas(basis, components.shape[1]), dtype=np.float64)
        self._matrix = morphing_matrix(self._basis, components)
        for array in (self._components, self._basis, self._matrix):
            array.setflags(write=False)

    @classmethod
    def from_powers(
        cls, max_powers: Sequence[int], basis: np.ndarray | Sequence, max_overall_power: int | None = None
    ) -> Morpher:
        """A morpher whose components come from :func:`find_components`."""
        return cls(find_components(max_powers, max_overall_power), basis)

    @property
    def components(self) -> np.ndarray:
        """Exponents k_ci, shape [n_components, n_parameters] (read-only)."""
        return self._components

    @property
    def basis(self) -> np.ndarray:
        """Basis points theta_b, shape [n_basis, n_parameters] (read-only)."""
        return self._basis

    @property
    def matrix(self) -> np.ndarray:
        """Morphing matrix M = A^+, shape [n_components, n_basis] (read-only)."""
        return self._matrix

    n_components = property(lambda self: self._components.shape[0], doc="Number of components.")
    n_basis = property(lambda self: self._basis.shape[0], doc="Number of basis points.")
    n_parameters = property(lambda self: self._components.shape[1], doc="Number of parameters.")

    @property
    def condition_number(self) -> float:
        """Condition number of A: large values mean the basis amplifies statistical fluctuations."""
        return float(_matrix_and_condition(self._basis, self._components)[1])

    def with_basis(self, basis: np.ndarray | Sequence) -> Morpher:
        """The same components on another basis."""
        return Morpher(self._components, basis)

    def weights(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        """Morphing weights w_b(theta), shape [..., n_basis]."""
        thetas = _check_thetas(thetas, self.n_parameters)
        phi, _ = _monomials(thetas, self._components, derivative=False)
        weights = phi[: self.n_components].T @ self._matrix
        return weights.reshape(*thetas.shape[:-1], self.n_basis)

    def weight_gradients(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        r""":math:`\partial w_b / \partial \theta_i`, shape [..., n_parameters, n_basis]."""
        thetas = _check_thetas(thetas, self.n_parameters)
        _, gradients = _monomials(thetas, self._components, derivative=True)
        # one BLAS product per parameter, [n_parameters, N, n_basis], then events first
        per_parameter = np.matmul(gradients[:, : self.n_components].transpose(0, 2, 1), self._matrix)
        out = np.ascontiguousarray(per_parameter.transpose(1, 0, 2))
        return out.reshape(*thetas.shape[:-1], self.n_parameters, self.n_basis)

    def squared_weight_sum(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        r""":math:`\sum_b w_b(\theta)^2`, shape [...]: how much the basis amplifies per-event fluctuations."""
        return np.sum(self.weights(thetas) ** 2, axis=-1)

    def expected_squared_weight_sum(
        self, parameter_ranges: np.ndarray | Sequence, n_thetas: int = 1000, seed: int | None = 0
    ) -> float:
        """Mean of :meth:`squared_weight_sum` over thetas drawn uniformly in ``parameter_ranges``."""
        ranges = np.asarray(parameter_ranges, dtype=np.float64).reshape(-1, 2)
        thetas = _uniform(np.random.default_rng(seed), ranges, (int(n_thetas),))
        return float(np.mean(self.squared_weight_sum(thetas)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the matrix is recomputed on load)."""
        return {"components": self._components.tolist(), "basis": self._basis.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Morpher:
        return cls(data["components"], data["basis"])

    def __repr__(self) -> str:
        return (
            f"Morpher({self.n_parameters} parameters, {self.n_components} components, {self.n_basis} basis "
            f"points, condition number {self.condition_number:.3g})"
        )
