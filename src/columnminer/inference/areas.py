r"""Areas of likelihood regions beyond grid counting, with their Monte Carlo uncertainty.

Counting grid points inside :math:`\{q(\theta) < q_\text{crit}\}` and multiplying by the cell area moves by
several per cent with the grid when the region spans a few dozen cells. Here the test statistic is
interpolated instead: on a regular grid, an interpolating bicubic spline of :math:`q` (FITPACK's
``RectBivariateSpline`` with ``s = 0``, exact for polynomials up to third order, so for the quadratic
:math:`q` of a Gaussian likelihood) is evaluated on a grid ``refine`` times finer, q is re-referenced to its
interpolated minimum (a likelihood maximum between grid points), and the area is that of the polygons of
the filled contour :math:`q < q_\text{crit}` (contourpy, linear between the fine nodes; shoelace formula).
One parameter: the interval length from the linearly interpolated crossings; more than two: the grid count.

The Monte Carlo uncertainty of an area (the finite event sample that makes both the model and the Asimov
data) comes from a bootstrap over events: each replica multiplies every event's weight by an independent
Poisson(1) number (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993; the Poisson bootstrap of
Hanley & MacGibbon, 2006), the Asimov likelihood is re-evaluated and the area recomputed; the standard
deviation of the replicas is the error (see :mod:`columnminer.inference.neyman` for the replicas of each
likelihood). :func:`format_value_error` prints a value to the digits its error allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import interpolate

from ..errors import InferenceError

__all__ = ["FINE_NODES", "AreaEstimate", "format_value_error", "grid_axes", "region_area", "region_areas"]


#: Default number of nodes per axis of the interpolated grid: the polygon of a region spanning a few
#: coarse cells is then within about 1e-4 of its area.
FINE_NODES = 321


@dataclass(frozen=True)
class AreaEstimate:
    """An area with its bootstrap uncertainty.

    Attributes:
        value: the area of the nominal likelihood (refined, see the module docstring).
        error: standard deviation of the bootstrap replicas (NaN without replicas).
        replicas: the replicas' areas [B].
        reaches_edge: whether the nominal region touches the border of the grid (the area is a lower bound).

    Example:
        >>> str(AreaEstimate(1.234, 0.05, np.array([1.2, 1.3]))), str(AreaEstimate(2.0, 0.1, np.array([]), True))
        ('1.234 ± 0.050', '2.00 ± 0.10*')
    """

    value: float
    error: float
    replicas: np.ndarray
    reaches_edge: bool = False

    def __str__(self) -> str:
        return format_value_error(self.value, self.error) + ("*" if self.reaches_edge else "")


def grid_axes(thetas: Any) -> tuple[list[np.ndarray], tuple[int, ...], np.ndarray]:
    """The axes of a regular grid of points [T, P] (any order), the grid shape, and the permutation that puts
    the points in C order (last parameter fastest) on that shape.

    Example:
        >>> axes, shape, order = grid_axes([[0.0, 1.0], [0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
        >>> shape, order.tolist()
        ((2, 2), [1, 0, 2, 3])
    """
    points = np.asarray(thetas, dtype=np.float64)
    if points.ndim != 2:
        raise InferenceError(f"thetas must be [T, P] points, got shape {points.shape}")
    axes = [np.unique(points[:, d]) for d in range(points.shape[1])]
    shape = tuple(len(a) for a in axes)
    if int(np.prod(shape)) != len(points):
        raise InferenceError("the points are not a regular grid (see parameter_grid)")
    index = np.zeros(len(points), dtype=np.int64)
    for d, axis in enumerate(axes):
        index = index * len(axis) + np.searchsorted(axis, points[:, d])
    order = np.argsort(index, kind="stable")
    if not np.array_equal(index[order], np.arange(len(points))):
        raise InferenceError("the points are not a regular grid (duplicates)")
    return axes, shape, order


def _finite(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    finite = np.isfinite(q)
    if not finite.any():
        raise InferenceError("q is not finite anywhere")
    big = 2.0 * float(np.max(np.abs(q[finite]))) + 1.0
    return np.where(finite, q, big)


def _interval_length(axis: np.ndarray, q: np.ndarray, threshold: float) -> float:
    """Length of {q < threshold} along one axis, linear crossings between grid points."""
    inside = q < threshold
    length = 0.0
    for i in range(len(axis) - 1):
        a, b = q[i], q[i + 1]
        if inside[i] and inside[i + 1]:
            length += axis[i + 1] - axis[i]
        elif inside[i] != inside[i + 1]:
            t = (threshold - a) / (b - a)
            part = t if inside[i] else 1.0 - t
            length += part * (axis[i + 1] - axis[i])
    return float(length)


def region_areas(thetas: Any, q: Any, thresholds: Any, refine: int | None = None) -> np.ndarray:
    r"""Areas (volumes) of :math:`\{q < q_\text{crit}\}` for each threshold, for one q [T] or many [R, T] on the
    same regular grid ``thetas`` [T, P] -> [R, n_thresholds] (or [n_thresholds] for one q).

    Two parameters: bicubic interpolation on a grid ``refine`` times finer (default: at least
    :data:`FINE_NODES` nodes per axis), q re-referenced to its interpolated minimum, contour polygons; one:
    linear crossings; more: grid count (module docstring).

    Example:
        >>> from columnminer.inference.likelihood import parameter_grid
        >>> grid = parameter_grid([(-3, 3), (-3, 3)], [13, 13])
        >>> q = np.sum(grid**2, axis=1)  # a unit Gaussian: the region q < 2.30 is a disc of area 2.30 pi
        >>> round(float(region_areas(grid, q, [2.30])[0]) / (2.30 * np.pi), 3)
        1.0
    """
    points = np.asarray(thetas, dtype=np.float64)
    values = np.asarray(q, dtype=np.float64)
    single = values.ndim == 1
    values = np.atleast_2d(values)
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    axes, shape, order = grid_axes(points)
    if values.shape[1] != len(points):
        raise InferenceError(f"q has {values.shape[1]} values for {len(points)} points")
    out = np.empty((len(values), len(thresholds)))
    if len(shape) == 2 and min(shape) >= 4:
        x, y = axes
        if refine is None:
            refine = math.ceil((FINE_NODES - 1) / (min(shape) - 1))
        refine = max(1, int(refine))
        fx = np.linspace(x[0], x[-1], (len(x) - 1) * refine + 1)
        fy = np.linspace(y[0], y[-1], (len(y) - 1) * refine + 1)
        for r, row in enumerate(values):
            grid_q = _finite(row[order]).reshape(shape)
            spline = interpolate.RectBivariateSpline(x, y, grid_q, kx=3, ky=3, s=0)
            fine = spline(fx, fy, grid=True)
            fine = fine - min(float(fine.min()), float(grid_q.min()))
            out[r] = [_filled_area(fx, fy, fine, t) for t in thresholds]
    elif len(shape) == 1:
        for r, row in enumerate(values):
            line = _finite(row[order])
            line = line - line.min()
            out[r] = [_interval_length(axes[0], line, t) for t in thresholds]
    else:
        steps = [(a[-1] - a[0]) / (len(a) - 1) if len(a) > 1 else 1.0 for a in axes]
        for r, row in enumerate(values):
            out[r] = [np.count_nonzero(_finite(row) < t) * float(np.prod(steps)) for t in thresholds]
    return out[0] if single else out


def _filled_area(x: np.ndarray, y: np.ndarray, z: np.ndarray, threshold: float) -> float:
    """Area of {z < threshold} for z [nx, ny] on the grid (x, y): the polygons of the filled contour
    (contourpy, linear between nodes; holes wind the other way) summed by the shoelace formula."""
    import contourpy

    generator = contourpy.contour_generator(x, y, z.T, fill_type=contourpy.FillType.OuterCode)
    polygons, codes = generator.filled(float(z.min()) - 1.0, float(threshold))
    total = 0.0
    for points, code in zip(polygons, codes, strict=True):
        starts = np.flatnonzero(code == 1)
        for begin, end in zip(starts, [*starts[1:], len(code)], strict=True):
            px, py = points[begin:end, 0], points[begin:end, 1]
            total += 0.5 * float(np.dot(px, np.roll(py, -1)) - np.dot(np.roll(px, -1), py))
    return abs(total)


def region_area(thetas: Any, q: Any, threshold: float, refine: int | None = None) -> float:
    """Area of one region (see :func:`region_areas`).

    Example:
        >>> from columnminer.inference.likelihood import parameter_grid
        >>> grid = parameter_grid([(-2, 2), (-2, 2)], [9, 9])
        >>> round(region_area(grid, grid[:, 0] ** 2 + 4 * grid[:, 1] ** 2, 1.0) / (np.pi / 2), 3)
        1.0
    """
    return float(region_areas(thetas, q, [threshold], refine)[0])


def format_value_error(value: float, error: float, digits: int = 2) -> str:
    """``value ± error`` with the error to ``digits`` significant digits and the value to the same decimal
    place (no error: the value to four significant digits).

    Example:
        >>> format_value_error(0.0150712, 0.000213), format_value_error(1.1734, 0.0412)
        ('0.01507 ± 0.00021', '1.173 ± 0.041')
        >>> format_value_error(0.5, float("nan"))
        '0.5'
    """
    if not math.isfinite(value):
        return "inf" if value > 0 else str(value)
    if not (math.isfinite(error) and error > 0):
        return f"{value:.4g}"
    exponent = math.floor(math.log10(abs(error)))
    decimals = max(0, digits - 1 - exponent)
    if decimals == 0:
        return f"{round(value, digits - 1 - exponent):.0f} ± {round(error, digits - 1 - exponent):.0f}"
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"
