r"""Information geometry: the Fisher information as a metric on the parameter space, geodesics, distances.

Following Brehmer, Kling, Plehn and Tait, "Better Higgs boson measurements through information geometry"
(arXiv:1612.05261), the Fisher information :math:`I_{ij}(\theta)` is read as a metric :math:`g_{ij}` on
the parameter space. The length of a curve :math:`\theta(s)` is :math:`\int \sqrt{\dot\theta^T
I(\theta)\,\dot\theta}\,ds`, and the shortest curves (geodesics) obey

.. math::

    \frac{d^2\theta^k}{ds^2} = -\Gamma^k_{ij}\,\frac{d\theta^i}{ds}\frac{d\theta^j}{ds}, \qquad
    \Gamma^k_{ij} = \tfrac12\, g^{kl}\,(\partial_i g_{jl} + \partial_j g_{il} - \partial_l g_{ij}).

Started with unit speed, :math:`\dot\theta^T I\,\dot\theta = 1`, the affine parameter ``s`` *is* the
information distance :math:`d(\theta_0, \theta)`. For a constant information,
:math:`d^2 = (\theta - \theta_0)^T I\, (\theta - \theta_0)` is the asymptotic log-likelihood-ratio statistic
``q`` of the local (linearised) model, so :math:`p = \chi^2_P\text{-sf}(d^2)`; the geodesic distance is the
natural generalisation to a Fisher information that changes over the parameter space.

A *metric* here is an :class:`InformationMetric`, built by :func:`information_from_formula` (a callable)
or :func:`information_from_grid` (matrices on a grid, interpolated). Functions that take a metric also
accept a constant ``[P, P]`` matrix or a plain callable ``theta [P] -> [P, P]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import interpolate, spatial, stats
from scipy.sparse import linalg as sparse_linalg

from ..errors import InferenceError
from . import _geodesics

__all__ = [
    "DistanceContours",
    "InformationMetric",
    "Trajectory",
    "christoffel_symbols",
    "distance_contours",
    "geodesic",
    "geodesics",
    "information_from_formula",
    "information_from_grid",
]

logger = logging.getLogger(__name__)

MetricLike = Any  # InformationMetric | array [P, P] | Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class InformationMetric:
    """A Fisher information field ``theta -> I(theta)`` used as the metric of the parameter space.

    Attributes:
        n_parameters: the dimension P of the parameter space.
        function: batched evaluation ``thetas [n, P] -> [n, P, P]`` (no checks; use the call instead).
        description: what the metric is, for messages.

    Calling it with one point ``[P]`` gives ``[P, P]``; with ``[n, P]`` it gives ``[n, P, P]``. The result
    is checked (shape, symmetry, finiteness; :class:`~columnminer.errors.InferenceError` otherwise) and
    symmetrised.

    Example:
        >>> metric = InformationMetric(1, lambda thetas: (1.0 + thetas**2)[:, :, None])
        >>> metric([2.0]).tolist(), metric(np.array([[0.0], [1.0]])).shape
        ([[5.0]], (2, 1, 1))
    """

    n_parameters: int
    function: Callable[[np.ndarray], np.ndarray]
    description: str = "information"

    def __call__(self, theta: Any) -> np.ndarray:
        arr = np.asarray(theta, dtype=np.float64)
        single = arr.ndim <= 1
        values = self.evaluate(_points(arr, self.n_parameters, "theta"))
        return values[0] if single else values

    def evaluate(self, thetas: np.ndarray, *, finite: bool = True) -> np.ndarray:
        """Checked ``[n, P, P]`` at ``thetas [n, P]``; ``finite=False`` lets NaN/inf through (for solvers)."""
        p = self.n_parameters
        values = np.asarray(self.function(thetas), dtype=np.float64)
        if values.shape != (len(thetas), p, p):
            raise InferenceError(
                f"{self.description} returned shape {values.shape} for {len(thetas)} points, "
                f"expected {(len(thetas), p, p)}"
            )
        transposed = np.swapaxes(values, 1, 2)
        with np.errstate(invalid="ignore"):
            scale = np.max(np.abs(values), axis=(1, 2), keepdims=True)
            asymmetric = np.abs(values - transposed) > 1e-8 * scale + 1e-300
        if np.any(asymmetric):
            bad = int(np.flatnonzero(np.any(asymmetric, axis=(1, 2)))[0])
            raise InferenceError(f"{self.description} is not symmetric at theta={thetas[bad].tolist()}")
        if finite and not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.all(np.isfinite(values), axis=(1, 2)))[0])
            raise InferenceError(f"{self.description} is not finite at theta={thetas[bad].tolist()}")
        return 0.5 * (values + transposed)


class Trajectory(NamedTuple):
    """A geodesic: points ``thetas [n, P]`` and the information distance ``distances [n]`` along it.

    Example:
        >>> thetas, distances = Trajectory(np.zeros((2, 1)), np.array([0.0, 0.5]))
        >>> thetas.shape, distances.tolist()
        ((2, 1), [0.0, 0.5])
    """

    thetas: np.ndarray
    distances: np.ndarray


@dataclass(frozen=True)
class DistanceContours:
    """Information distances from ``theta0`` on a grid and their asymptotic p-values.

    Attributes:
        theta0: the reference point [P].
        thetas: grid points [n, P] (C order of the axes when the grid was given as axes).
        distances: d(theta0, theta) [n].
        p_values: ``chi2.sf(d**2, df=P)`` [n].
        extrapolated: [n] bool, True where the point lies outside the region covered by the geodesics and
            its distance was extrapolated (see :func:`distance_contours`).
        grid_shape: the axes lengths when the grid was given as axes (reshape with it), else None.
        trajectories: the geodesics used, when asked for.

    Example:
        >>> contours = distance_contours(np.eye(1), [0.0], [np.array([-1.0, 0.5])], distance_max=2.0)
        >>> contours.distances.round(6).tolist(), contours.grid_shape
        ([1.0, 0.5], (2,))
    """

    theta0: np.ndarray
    thetas: np.ndarray
    distances: np.ndarray
    p_values: np.ndarray
    extrapolated: np.ndarray
    grid_shape: tuple[int, ...] | None = None
    trajectories: tuple[Trajectory, ...] | None = None


# --------------------------------------------------------------------------------------- input checking


def _points(arr: np.ndarray, p: int, name: str) -> np.ndarray:
    """``arr`` as ``[n, P]``: a batch ``[n, P]``, one point ``[P]`` or, for P = 1, a scalar."""
    if arr.ndim == 0 and p == 1:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != p:
        raise InferenceError(f"{name} has shape {arr.shape}; expected [{p}] or [n, {p}]")
    return arr


def _point(theta: Any, p: int | None, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    if arr.ndim != 1 or (p is not None and arr.shape != (p,)):
        raise InferenceError(f"{name} has shape {arr.shape}; expected [{p if p is not None else 'P'}]")
    if not np.all(np.isfinite(arr)):
        raise InferenceError(f"{name} is not finite: {arr.tolist()}")
    return arr


def _limits(limits: Any, p: int) -> np.ndarray | None:
    if limits is None:
        return None
    arr = np.asarray(limits, dtype=np.float64)
    if arr.shape != (p, 2) or np.any(np.isnan(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise InferenceError(f"limits must be [{p}, 2] with min < max per parameter, got {arr.tolist()}")
    return arr


def _as_metric(metric: MetricLike, p: int) -> InformationMetric:
    """An :class:`InformationMetric` from a metric, a constant matrix or a per-point callable."""
    if isinstance(metric, InformationMetric):
        if metric.n_parameters != p:
            raise InferenceError(f"metric has {metric.n_parameters} parameters but theta0 has {p}")
        return metric
    if callable(metric):
        return information_from_formula(metric, p)
    matrix = np.asarray(metric, dtype=np.float64)
    if matrix.shape != (p, p):
        raise InferenceError(f"a constant information must be [{p}, {p}], got shape {matrix.shape}")
    constant = InformationMetric(
        p, lambda th: np.broadcast_to(matrix, (len(th), p, p)), "constant information"
    )
    constant.evaluate(np.zeros((1, p)))  # symmetry and finiteness, once
    return constant


# --------------------------------------------------------------------------------------- building metrics


def information_from_formula(
    formula: Callable[[np.ndarray], np.ndarray], n_parameters: int, *, vectorized: bool = False
) -> InformationMetric:
    """Wrap a callable Fisher information ``formula(theta [P]) -> I [P, P]`` as a metric.

    With ``vectorized=True`` the formula takes ``[n, P]`` and returns ``[n, P, P]`` (much faster in the
    geodesic solvers); otherwise it is called once per point. Results are checked for shape, symmetry
    and finiteness when the metric is called.

    Example:
        >>> metric = information_from_formula(lambda t: np.diag([1.0, 2.0]) / t[1] ** 2, 2)
        >>> metric([0.0, 2.0]).tolist()
        [[0.25, 0.0], [0.0, 0.5]]
        >>> metric([[0.0, 1.0], [0.0, 2.0]]).shape
        (2, 2, 2)
    """
    if not callable(formula):
        raise InferenceError(f"formula must be callable, got {type(formula).__name__}")
    if int(n_parameters) != n_parameters or n_parameters < 1:
        raise InferenceError(f"n_parameters must be a positive integer, got {n_parameters!r}")
    p = int(n_parameters)
    name = getattr(formula, "__name__", type(formula).__name__)

    if vectorized:
        function = formula
    else:

        def function(thetas: np.ndarray) -> np.ndarray:
            out = np.empty((len(thetas), p, p))
            for n, theta in enumerate(thetas):
                value = np.asarray(formula(theta), dtype=np.float64)
                if value.size != p * p or value.ndim > 2:
                    raise InferenceError(
                        f"formula {name!r} returned shape {value.shape} at theta={theta.tolist()}, "
                        f"expected {(p, p)}"
                    )
                out[n] = value.reshape(p, p)
            return out

    return InformationMetric(p, function, f"formula {name!r}")


def _regular_axes(thetas: np.ndarray) -> list[np.ndarray] | None:
    """The axes if ``thetas`` is exactly a full rectangular grid, else None."""
    axes = [np.unique(column) for column in thetas.T]
    if int(np.prod([len(axis) for axis in axes])) != len(thetas):
        return None
    return axes


def _checked_grid(thetas: Any, informations: Any, method: str, outside: str) -> tuple[np.ndarray, np.ndarray]:
    """The grid of :func:`information_from_grid` as arrays ``[n, P]`` and ``[n, P, P]``, checked."""
    if method not in ("linear", "smooth"):
        raise InferenceError(f"method must be 'linear' or 'smooth', got {method!r}")
    if outside not in ("nearest", "error"):
        raise InferenceError(f"outside must be 'nearest' or 'error', got {outside!r}")
    thetas = np.asarray(thetas, dtype=np.float64)
    if thetas.ndim == 1:
        thetas = thetas[:, None]
    if thetas.ndim != 2:
        raise InferenceError(f"thetas must be [n, P], got shape {thetas.shape}")
    n, p = thetas.shape
    informations = np.asarray(informations, dtype=np.float64)
    if p == 1 and informations.shape == (n,):
        informations = informations.reshape(n, 1, 1)
    if informations.shape != (n, p, p):
        raise InferenceError(f"informations has shape {informations.shape}; expected {(n, p, p)} for thetas")
    if not (np.all(np.isfinite(thetas)) and np.all(np.isfinite(informations))):
        raise InferenceError("thetas and informations must be finite")
    scale = np.max(np.abs(informations), axis=(1, 2))[:, None, None]
    if np.any(np.abs(informations - np.swapaxes(informations, 1, 2)) > 1e-8 * scale + 1e-300):
        raise InferenceError("informations holds matrices that are not symmetric")
    if len(np.unique(thetas, axis=0)) != n:
        raise InferenceError("thetas holds duplicate points")
    if n < p + 1:
        raise InferenceError(f"thetas has {n} points; at least {p + 1} are needed for {p} parameters")
    span = np.ptp(thetas, axis=0)
    if np.any(span == 0):
        raise InferenceError(f"thetas do not vary in parameter(s) {np.flatnonzero(span == 0).tolist()}")

    return thetas, informations


def _element_interpolator(
    points: np.ndarray, values: np.ndarray, axes: Any, hull: Any, method: str
) -> Callable[[np.ndarray], np.ndarray]:
    """The interpolator of the matrix elements ``values [n, K]`` known at ``points [n, P]`` (scaled to the unit
    box): ``inner(u [m, P]) -> [m, K]`` (see :func:`information_from_grid` for which one is used where)."""
    n, p = points.shape
    if p == 1:
        order = np.argsort(points[:, 0])
        x, y = points[order, 0], values[order]
        if method == "linear":

            def inner(u: np.ndarray) -> np.ndarray:
                return np.stack([np.interp(u[:, 0], x, y[:, k]) for k in range(y.shape[1])], axis=1)

        else:
            spline = interpolate.CubicSpline(x, y, axis=0)

            def inner(u: np.ndarray) -> np.ndarray:
                return spline(u[:, 0])

    elif axes is not None and (method == "linear" or min(len(axis) for axis in axes) >= 4):
        index = tuple(np.searchsorted(axis, points[:, i]) for i, axis in enumerate(axes))
        gridded = np.empty((*[len(axis) for axis in axes], values.shape[1]))
        gridded[index] = values
        if method == "linear":
            inner = interpolate.RegularGridInterpolator(axes, gridded, method="linear")
        else:  # a direct solve, so that the splines pass through the nodes exactly
            inner = interpolate.RegularGridInterpolator(
                axes, gridded, method="cubic", solver=sparse_linalg.spsolve
            )
    elif method == "linear":
        inner = interpolate.LinearNDInterpolator(hull, values)
    else:
        inner = interpolate.RBFInterpolator(points, values, neighbors=None if n <= 2000 else 64)

    return inner


def information_from_grid(
    thetas: Any, informations: Any, method: str = "linear", *, outside: str = "nearest"
) -> InformationMetric:
    r"""Interpolate Fisher informations ``informations [n, P, P]`` known at points ``thetas [n, P]``.

    Each independent element :math:`I_{ij}, i \le j` is interpolated separately:

    - ``"linear"``: multilinear on a full rectangular grid (``RegularGridInterpolator``), piecewise linear
      on a Delaunay triangulation for scattered points (``LinearNDInterpolator``), ``np.interp`` for
      P = 1. Convex combinations of positive-definite matrices stay positive definite.
    - ``"smooth"``: tensor-product cubic splines on a full rectangular grid with at least 4 points per
      axis (``RegularGridInterpolator(method="cubic")``), a cubic spline for P = 1, otherwise a
      thin-plate-spline ``RBFInterpolator`` on coordinates scaled to the unit box. Smooth (good Christoffel
      symbols) but positive definiteness is not guaranteed.

    Outside the grid (its bounding box for a rectangular grid or P = 1, the convex hull otherwise):
    ``outside="nearest"`` (default) uses the value at the closest point of the box (the nearest grid point
    for scattered grids), so geodesic solvers may step slightly past the grid; ``outside="error"`` raises
    :class:`~columnminer.errors.InferenceError`.

    Example:
        >>> axis = np.linspace(1.0, 3.0, 5)
        >>> metric = information_from_grid(axis[:, None], (1.0 / axis**2)[:, None, None])
        >>> round(float(metric([2.25])[0, 0]), 4)  # exact: 1 / 2.25**2 = 0.1975
        0.205
        >>> smooth = information_from_grid(axis[:, None], (1.0 / axis**2)[:, None, None], "smooth")
        >>> round(float(smooth([2.25])[0, 0]), 4)
        0.1989
    """
    thetas, informations = _checked_grid(thetas, informations, method, outside)
    n, p = thetas.shape
    low, span = thetas.min(axis=0), np.ptp(thetas, axis=0)
    upper = np.triu_indices(p)
    values = informations[:, upper[0], upper[1]]  # [n, K]
    points = (thetas - low) / span
    axes = _regular_axes(points) if p > 1 else None
    box = p == 1 or axes is not None
    hull = None if box else spatial.Delaunay(points)
    nearest = None if box else interpolate.NearestNDInterpolator(points, values)
    inner = _element_interpolator(points, values, axes, hull, method)

    def function(query: np.ndarray) -> np.ndarray:
        u = (np.asarray(query, dtype=np.float64) - low) / span
        if box:
            outside_mask = np.any((u < 0) | (u > 1), axis=1)
        else:
            outside_mask = hull.find_simplex(u) < 0
        if np.any(outside_mask) and outside == "error":
            bad = query[np.flatnonzero(outside_mask)[0]]
            raise InferenceError(f"theta={bad.tolist()} lies outside the information grid")
        if box:
            elements = inner(np.clip(u, 0.0, 1.0))
        else:
            elements = np.empty((len(u), values.shape[1]))
            inside = ~outside_mask
            if np.any(inside):
                elements[inside] = inner(u[inside])
            if np.any(outside_mask):
                elements[outside_mask] = nearest(u[outside_mask])
        out = np.empty((len(u), p, p))
        out[:, upper[0], upper[1]] = elements
        out[:, upper[1], upper[0]] = elements
        return out

    kind = "rectangular" if axes is not None else "scattered"
    logger.debug("information grid: %d %s points, %d parameters, method %s", n, kind, p, method)
    return InformationMetric(p, function, f"information interpolated ({method}) from {n} grid points")


# --------------------------------------------------------------------------------------- connection


def christoffel_symbols(
    metric: MetricLike, theta: Any, *, step: float | Sequence[float] | None = None
) -> np.ndarray:
    r"""Christoffel symbols :math:`\Gamma^k_{ij}` of the metric, ``[P(k), P(i), P(j)]`` (``[n, P, P, P]``
    for ``[n, P]`` input).

    :math:`\Gamma^k_{ij} = \tfrac12 g^{kl}(\partial_i g_{jl} + \partial_j g_{il} - \partial_l g_{ij})` with
    central differences of step ``step`` (a scalar or one per parameter; default
    ``1e-5 * max(1, |theta_i|)``), error :math:`O(h^2)`.

    Example:
        >>> gamma = christoffel_symbols(lambda t: np.eye(2) / t[1] ** 2, [0.0, 2.0])
        >>> np.round(gamma[1], 6).tolist()  # Gamma^y_ij = diag(1/y, -1/y) on the half-plane
        [[0.5, 0.0], [0.0, -0.5]]
    """
    arr = np.asarray(theta, dtype=np.float64)
    if isinstance(metric, InformationMetric):
        p = metric.n_parameters
    elif arr.ndim == 0:
        p = 1
    else:
        p = arr.shape[-1]
    metric = _as_metric(metric, p)
    thetas = _points(arr, p, "theta")
    steps = _fd_steps(step, thetas, p)
    gamma = _geodesics.christoffel(metric.evaluate, thetas, steps)
    return gamma[0] if arr.ndim <= 1 else gamma


def _fd_steps(step: Any, thetas: np.ndarray, p: int) -> np.ndarray:
    if step is None:
        return 1e-5 * np.maximum(1.0, np.max(np.abs(thetas), axis=0))
    steps = np.broadcast_to(np.asarray(step, dtype=np.float64), (p,)).copy()
    if np.any(~np.isfinite(steps) | (steps <= 0)):
        raise InferenceError(f"step must be positive, got {steps.tolist()}")
    return steps


# --------------------------------------------------------------------------------------- geodesics


def _solver_settings(
    limits: np.ndarray | None,
    distance_max: float,
    step_size: float | None,
    max_theta_step: Any,
    max_velocity_change: float,
    fd_step: Any,
    theta0: np.ndarray,
) -> dict[str, Any]:
    p = len(theta0)
    if not distance_max > 0:
        raise InferenceError(f"distance_max must be positive, got {distance_max}")
    if max_theta_step is None and limits is not None:
        max_theta_step = (limits[:, 1] - limits[:, 0]) / 100.0
    if max_theta_step is not None:
        max_theta_step = np.broadcast_to(np.asarray(max_theta_step, dtype=np.float64), (p,)).copy()
        if np.any(~(max_theta_step > 0)):
            raise InferenceError(f"max_theta_step must be positive, got {max_theta_step.tolist()}")
    if step_size is None:
        if max_theta_step is not None:
            step_size = np.inf
        elif np.isfinite(distance_max):
            step_size = distance_max / 100.0
        else:
            raise InferenceError("give limits, a finite distance_max, step_size or max_theta_step")
    if not step_size > 0:
        raise InferenceError(f"step_size must be positive, got {step_size}")
    if not max_velocity_change > 0:
        raise InferenceError(f"max_velocity_change must be positive, got {max_velocity_change}")
    if fd_step is None:
        fd_steps = 1e-4 * (limits[:, 1] - limits[:, 0]) if limits is not None else None
    else:
        fd_steps = fd_step
    fd_steps = _fd_steps(fd_steps, theta0[None, :], p)
    return {
        "step_size": float(step_size),
        "max_theta_step": max_theta_step,
        "max_velocity_change": float(max_velocity_change),
        "distance_max": float(distance_max),
        "fd_steps": fd_steps,
    }


def _start(
    metric: MetricLike, theta0: Any, limits: Any
) -> tuple[InformationMetric, np.ndarray, Any, np.ndarray]:
    """Checked metric, theta0, limits and the Cholesky factor L (I = L L^T) at theta0."""
    if isinstance(metric, InformationMetric):
        theta0 = _point(theta0, metric.n_parameters, "theta0")
    else:
        theta0 = _point(theta0, None, "theta0")
    p = len(theta0)
    metric = _as_metric(metric, p)
    limits = _limits(limits, p)
    if limits is not None and np.any((theta0 < limits[:, 0]) | (theta0 > limits[:, 1])):
        raise InferenceError(f"theta0={theta0.tolist()} lies outside limits {limits.tolist()}")
    information = metric(theta0)
    try:
        cholesky = np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        raise InferenceError(
            f"the information at theta0={theta0.tolist()} is not positive definite: {information.tolist()}"
        ) from None
    return metric, theta0, limits, cholesky


def _run(
    metric: InformationMetric,
    theta0: np.ndarray,
    velocities: np.ndarray,
    limits: Any,
    max_steps: int,
    settings: dict,
) -> list[Trajectory]:
    raw = _geodesics.integrate(
        lambda th: metric.evaluate(th, finite=False),
        theta0,
        velocities,
        limits=limits,
        max_steps=int(max_steps),
        **settings,
    )
    return [Trajectory(thetas, distances) for thetas, distances in raw]


def geodesic(
    metric: MetricLike,
    theta0: Any,
    direction: Any,
    *,
    limits: Any = None,
    distance_max: float = np.inf,
    step_size: float | None = None,
    max_theta_step: float | Sequence[float] | None = None,
    max_velocity_change: float = 0.05,
    max_steps: int = 10_000,
    fd_step: float | Sequence[float] | None = None,
) -> Trajectory:
    r"""Integrate the geodesic from ``theta0`` in ``direction`` (rescaled to unit length in the metric).

    Solves :math:`\ddot\theta^k = -\Gamma^k_{ij}\dot\theta^i\dot\theta^j` by RK4 with
    :math:`\dot\theta(0)^T I(\theta_0)\dot\theta(0) = 1`, so the affine parameter is the information
    distance. Each step advances ``s`` by the smallest of ``step_size``, ``max_velocity_change / |a|_g``
    (``|a|_g`` the metric length of the coordinate acceleration: the unit velocity turns by at most that
    much per step, which keeps RK4 accurate where the information varies fast), ``max_theta_step_i /
    |dtheta_i/ds|`` and ``distance_max - s``; the velocity is re-normalised to unit length at every step.
    The path stops at ``distance_max``, where it leaves ``limits`` (``[P, 2]``; the last step is shortened
    to end on the boundary), where the metric turns non-finite or singular, or after ``max_steps`` steps
    (with a warning). Defaults: ``max_theta_step = (max - min) / 100`` per parameter when ``limits`` are
    given; finite-difference step ``fd_step = 1e-4 * (max - min)`` (else ``1e-5 * max(1, |theta0_i|)``).

    Returns:
        :class:`Trajectory` ``(thetas [n, P], distances [n])``, starting at ``(theta0, 0)``.

    Example:
        >>> path = geodesic(np.diag([4.0, 1.0]), [0.0, 0.0], [1.0, 0.0], distance_max=1.0, step_size=0.25)
        >>> (path.thetas[-1].round(6) + 0.0).tolist(), path.distances.tolist()
        ([0.5, 0.0], [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    metric, theta0, limits, cholesky = _start(metric, theta0, limits)
    direction = _point(direction, len(theta0), "direction")
    norm2 = float(direction @ cholesky @ cholesky.T @ direction)
    if not norm2 > 0:
        raise InferenceError(f"direction must be non-zero, got {direction.tolist()}")
    settings = _solver_settings(
        limits, distance_max, step_size, max_theta_step, max_velocity_change, fd_step, theta0
    )
    return _run(metric, theta0, (direction / np.sqrt(norm2))[None, :], limits, max_steps, settings)[0]


def _unit_velocities(cholesky: np.ndarray, n_directions: int | None, seed: int | None) -> np.ndarray:
    """Initial velocities with unit metric length, uniform in the orthonormal frame at theta0.

    ``u`` unit vectors (both signs for P = 1; evenly spaced angles for P = 2; uniform random on the sphere,
    seeded, for P > 2) are mapped by ``L^{-T}``, so that ``v^T I v = u^T u = 1``.
    """
    p = len(cholesky)
    if p == 1:
        units = np.array([[1.0], [-1.0]])
    elif p == 2:
        n = 128 if n_directions is None else int(n_directions)
        angles = 2.0 * np.pi * np.arange(n) / n
        units = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        n = 64 * p if n_directions is None else int(n_directions)
        units = np.random.default_rng(seed).standard_normal((n, p))
        units /= np.linalg.norm(units, axis=1, keepdims=True)
    return np.linalg.solve(cholesky.T, units.T).T


def geodesics(
    metric: MetricLike,
    theta0: Any,
    n_directions: int | None = None,
    *,
    directions: Any = None,
    seed: int | None = 0,
    limits: Any = None,
    distance_max: float = np.inf,
    step_size: float | None = None,
    max_theta_step: float | Sequence[float] | None = None,
    max_velocity_change: float = 0.05,
    max_steps: int = 10_000,
    fd_step: float | Sequence[float] | None = None,
) -> list[Trajectory]:
    """Many geodesics from ``theta0``, integrated together (same solver and arguments as :func:`geodesic`).

    Without ``directions [m, P]`` the initial velocities are spread uniformly in the frame that is
    orthonormal for the metric at theta0 (``I = L L^T``, ``v = L^{-T} u`` with ``|u| = 1``): both signs for
    P = 1, ``n_directions`` (default 128) evenly spaced angles for P = 2, ``n_directions`` (default 64 P)
    random, ``seed``-ed points of the unit sphere for P > 2.

    Example:
        >>> paths = geodesics(np.eye(2), [0.0, 0.0], 4, distance_max=1.0)
        >>> (np.round([path.thetas[-1] for path in paths], 6) + 0.0).tolist()
        [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    """
    metric, theta0, limits, cholesky = _start(metric, theta0, limits)
    p = len(theta0)
    if directions is None:
        if n_directions is not None and n_directions < 1:
            raise InferenceError(f"n_directions must be positive, got {n_directions}")
        velocities = _unit_velocities(cholesky, n_directions, seed)
    else:
        directions = np.asarray(directions, dtype=np.float64)
        if directions.ndim != 2 or directions.shape[1] != p or not np.all(np.isfinite(directions)):
            raise InferenceError(f"directions must be finite and [m, {p}], got shape {directions.shape}")
        norm2 = np.einsum("mi,ij,mj->m", directions, cholesky @ cholesky.T, directions)
        if np.any(~(norm2 > 0)):
            raise InferenceError("directions holds a zero vector")
        velocities = directions / np.sqrt(norm2)[:, None]
    settings = _solver_settings(
        limits, distance_max, step_size, max_theta_step, max_velocity_change, fd_step, theta0
    )
    return _run(metric, theta0, velocities, limits, max_steps, settings)


# --------------------------------------------------------------------------------------- distances


def _grid_points(grid: Any, p: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """``[n, P]`` points from a list of P axes (meshgrid, ``ij`` order) or an ``[n, P]`` array."""
    if isinstance(grid, list | tuple):
        axes = [np.atleast_1d(np.asarray(axis, dtype=np.float64)) for axis in grid]
        if len(axes) != p or any(axis.ndim != 1 or len(axis) == 0 for axis in axes):
            raise InferenceError(f"grid must be {p} one-dimensional axes or an [n, {p}] array")
        mesh = np.meshgrid(*axes, indexing="ij")
        points, shape = np.stack([m.ravel() for m in mesh], axis=1), tuple(len(axis) for axis in axes)
    else:
        points, shape = np.asarray(grid, dtype=np.float64), None
        if points.ndim != 2 or points.shape[1] != p:
            raise InferenceError(f"grid array has shape {points.shape}; expected [n, {p}]")
    if not np.all(np.isfinite(points)):
        raise InferenceError("grid is not finite")
    return points, shape


def distance_contours(
    metric: MetricLike,
    theta0: Any,
    grid: Any,
    *,
    n_directions: int | None = None,
    seed: int | None = 0,
    limits: Any = None,
    padding: float = 0.1,
    distance_max: float = np.inf,
    extrapolate: bool = True,
    step_size: float | None = None,
    max_theta_step: float | Sequence[float] | None = None,
    max_velocity_change: float = 0.05,
    max_steps: int = 10_000,
    fd_step: float | Sequence[float] | None = None,
    return_trajectories: bool = False,
) -> DistanceContours:
    r"""Information distance :math:`d(\theta_0, \theta)` and p-values on a grid, by shooting geodesics.

    A fan of geodesics (see :func:`geodesics`) is integrated from theta0 until each leaves ``limits``
    (default: the bounding box of the grid and theta0 widened by ``padding`` times its range on each side,
    so that the fan covers the grid; give ``limits`` inside the domain where the information is defined)
    or reaches ``distance_max``. The distance known along the trajectories is then interpolated onto the
    grid. With :math:`I(\theta_0) = L L^T` and :math:`w = L^T(\theta - \theta_0)`, the interpolated
    quantity is the ratio :math:`d / |w|` — smooth at theta0 where d itself has a cone, and exactly 1 for
    a constant information — on a Delaunay triangulation of the trajectory points in ``w``: piecewise cubic
    (Clough-Tocher, C1) for P = 2, piecewise linear for P > 2, and a cubic spline along the line for P = 1.
    Grid points outside the region the trajectories cover (typically corners for P > 2, where the
    directions are random, or points beyond ``distance_max``) take the ratio of the nearest trajectory
    point when ``extrapolate`` (flagged in ``extrapolated``; exact for a constant information) and NaN
    otherwise. The p-values are ``chi2.sf(d**2, df=P)``, exact asymptotically for a constant information,
    where :math:`d^2 = (\theta-\theta_0)^T I (\theta-\theta_0)` is the log-likelihood-ratio statistic.

    Step control as in :func:`geodesic`, with ``max_theta_step`` defaulting to 1/100 of the range of each
    parameter in ``limits``. The interpolation error falls quickly with ``n_directions``: for the
    hyperbolic half-plane on a box of distances up to 1.5, 32 / 64 / 128 directions give 5e-4 / 1.3e-4 /
    3e-5.

    Args:
        grid: a list of P one-dimensional axes (the product grid, ``ij`` order, ``grid_shape`` set) or an
            ``[n, P]`` array of points.

    Example:
        >>> result = distance_contours(lambda t: 1.0 / t**2, [1.0], [[0.5, 1.0, 2.0]])
        >>> np.round(result.distances, 3).tolist(), np.round(result.p_values, 3).tolist()
        ([0.693, 0.0, 0.693], [0.488, 1.0, 0.488])
    """
    if not padding >= 0:
        raise InferenceError(f"padding must be >= 0, got {padding}")
    metric, theta0, user_limits, cholesky = _start(metric, theta0, limits)
    p = len(theta0)
    points, shape = _grid_points(grid, p)
    if user_limits is None:
        low, high = np.minimum(points.min(axis=0), theta0), np.maximum(points.max(axis=0), theta0)
        width = np.where(high > low, high - low, np.maximum(1.0, np.abs(theta0)))
        user_limits = np.stack([low - padding * width, high + padding * width], axis=1)
    paths = geodesics(
        metric,
        theta0,
        n_directions,
        seed=seed,
        limits=user_limits,
        distance_max=distance_max,
        step_size=step_size,
        max_theta_step=max_theta_step,
        max_velocity_change=max_velocity_change,
        max_steps=max_steps,
        fd_step=fd_step,
    )
    along = np.concatenate([theta0[None, :]] + [path.thetas[1:] for path in paths])
    values = np.concatenate([[0.0]] + [path.distances[1:] for path in paths])
    # In w = L^T (theta - theta0), orthonormal at theta0, the ratio d / |w| is smooth (-> 1 at theta0, no
    # cone) and exactly 1 for a constant information: interpolate it, not d.
    w_along = np.einsum("ni,ij->nj", along - theta0, cholesky)  # (einsum: no threaded BLAS call)
    w_grid = np.einsum("ni,ij->nj", points - theta0, cholesky)
    r_along, r_grid = np.linalg.norm(w_along, axis=1), np.linalg.norm(w_grid, axis=1)
    ratio = np.divide(values, r_along, out=np.ones_like(values), where=r_along > 0)
    if p == 1:
        # along the line d / |w| is smooth through theta0: a cubic spline, nearest value outside
        w_unique, first = np.unique(w_along[:, 0], return_index=True)
        spline = interpolate.CubicSpline(w_unique, ratio[first]) if len(w_unique) > 1 else None
        inside = (w_grid[:, 0] >= w_unique[0]) & (w_grid[:, 0] <= w_unique[-1])
        clipped = np.clip(w_grid[:, 0], w_unique[0], w_unique[-1])
        ratio_grid = spline(clipped) if spline is not None else np.ones(len(w_grid))
    else:
        # P = 2: piecewise cubic, C1 (Clough-Tocher); P > 2: piecewise linear, both on a Delaunay mesh
        scattered = interpolate.CloughTocher2DInterpolator if p == 2 else interpolate.LinearNDInterpolator
        ratio_grid = scattered(w_along, ratio)(w_grid)
        inside = np.isfinite(ratio_grid)
        if extrapolate and not np.all(inside):
            ratio_grid[~inside] = interpolate.NearestNDInterpolator(w_along, ratio)(w_grid[~inside])
    if not extrapolate:
        ratio_grid = np.where(inside, ratio_grid, np.nan)
    distances = ratio_grid * r_grid
    n_outside = int(np.sum(~inside))
    if n_outside:
        logger.log(
            logging.INFO if extrapolate else logging.WARNING,
            "%d of %d grid points lie outside the region covered by geodesics; %s",
            n_outside,
            len(points),
            "extrapolated with the nearest d/|w|" if extrapolate else "distance NaN",
        )
    p_values = stats.chi2.sf(distances**2, df=p)
    return DistanceContours(
        theta0=theta0,
        thetas=points,
        distances=distances,
        p_values=p_values,
        extrapolated=~inside if extrapolate else np.zeros(len(points), dtype=bool),
        grid_shape=shape,
        trajectories=tuple(paths) if return_trajectories else None,
    )
