"""Areas of likelihood regions from the interpolated q, their formatting, and bootstrap errors."""

import math

import numpy as np
import pytest

from columnminer.errors import InferenceError
from columnminer.inference.areas import format_value_error, grid_axes, region_area, region_areas
from columnminer.inference.likelihood import parameter_grid
from columnminer.inference.neyman import EventModel, area_estimates, bootstrap_multipliers

INFO = np.array(
    [[4000.0, 300.0], [300.0, 60.0]]
)  # a correlated Gaussian in (a2, a3), like the golden channel


def _ellipse_q(grid, centre=(0.003, -0.02)):
    d = grid - np.asarray(centre)
    return np.einsum("ti,ij,tj->t", d, INFO, d)


@pytest.mark.parametrize("n", [9, 13, 21, 41])
def test_gaussian_ellipse_area_on_coarse_grids(n):
    """q of a Gaussian likelihood (off-grid maximum, correlated): the 68 % and 95 % ellipses' areas
    2.30 pi / sqrt(det I) and 6.18 pi / sqrt(det I) to better than 0.5 % even on a 9 x 9 grid; the grid
    count is far off there."""
    grid = parameter_grid([(-0.1, 0.1), (-0.7, 0.7)], [n, n])
    q = _ellipse_q(grid)
    q = q - q.min()
    exact = np.array([2.30, 6.18]) * math.pi / math.sqrt(np.linalg.det(INFO))
    areas = region_areas(grid, q, [2.30, 6.18])
    assert np.all(np.abs(areas / exact - 1) < 0.005), areas / exact - 1
    if n == 9:
        step = (0.2 / 8) * (1.4 / 8)
        assert abs(np.count_nonzero(q < 2.30) * step / exact[0] - 1) > 0.05


def test_area_independent_of_point_order_and_many_rows():
    grid = parameter_grid([(-0.1, 0.1), (-0.7, 0.7)], [15, 17])
    q = _ellipse_q(grid)
    perm = np.random.default_rng(0).permutation(len(grid))
    a = region_area(grid, q, 2.30)
    assert region_area(grid[perm], q[perm], 2.30) == pytest.approx(a, rel=1e-12)
    many = region_areas(grid, np.stack([q, 4 * q]), [2.30])
    assert many.shape == (2, 1) and many[1, 0] == pytest.approx(a / 4, rel=2e-3)


def test_region_touching_the_edge_and_holes():
    """A region cut by the grid border is the part inside the grid; an annulus subtracts its hole."""
    grid = parameter_grid([(0.0, 2.0), (-2.0, 2.0)], [21, 41])
    r2 = np.sum(grid**2, axis=1)
    assert region_area(grid, r2, 1.0) == pytest.approx(math.pi / 2, rel=2e-3)
    grid = parameter_grid([(-2.0, 2.0), (-2.0, 2.0)], [41, 41])
    r = np.sqrt(np.sum(grid**2, axis=1))
    annulus = region_area(grid, (r - 1.2) ** 2, 0.09)
    assert annulus == pytest.approx(math.pi * (1.5**2 - 0.9**2), rel=2e-3)


def test_one_dimensional_interval_and_errors():
    grid = np.linspace(-2, 2, 9)[:, None]
    assert region_area(grid, grid[:, 0] ** 2, 1.0) == pytest.approx(2.0, rel=0.03)
    with pytest.raises(InferenceError, match="regular grid"):
        grid_axes(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(InferenceError, match="not finite"):
        region_area(parameter_grid([(0, 1), (0, 1)], [5, 5]), np.full(25, np.nan), 1.0)


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (0.0150712, 0.000213, "0.01507 ± 0.00021"),
        (1.1734, 0.0412, "1.173 ± 0.041"),
        (0.6901, 0.0146, "0.690 ± 0.015"),
        (1234.5, 56.0, "1234 ± 56"),
        (0.5, float("nan"), "0.5"),
        (math.inf, 0.1, "inf"),
    ],
)
def test_format_value_error(value, error, text):
    assert format_value_error(value, error) == text


def _gaussian_model(n_events, n_asimov=400.0, seed=0):
    """Unbinned 2-d Gaussian location model: x ~ N(0, 1), log f(x|theta) = -|x - theta|^2 / 2, the expected
    number of events n_asimov whatever the number of simulated events."""
    x = np.random.default_rng(seed).normal(size=(n_events, 2))
    grid = parameter_grid([(-0.3, 0.3), (-0.3, 0.3)], [21, 21])
    log_density = -0.5 * np.sum((x[:, None, :] - grid[None, :, :]) ** 2, axis=-1)
    weights = np.full((n_events, 1), n_asimov / n_events)
    return EventModel("gauss", grid, np.ones((len(grid), 1)), 220, weights, 1.0, log_density=log_density)


def test_bootstrap_error_scales_like_one_over_sqrt_n():
    """The Poisson bootstrap's area error at a fixed expected number of events falls like 1/sqrt(N) with the
    number N of simulated events (here 1000 -> 4000: a factor 2), and the area is the Gaussian's."""
    errors = []
    for n in (1000, 4000):
        model = _gaussian_model(n)
        estimates, replicas = area_estimates(model, bootstrap_multipliers(n, 200, seed=3))
        assert replicas.shape == (200, 2)
        assert estimates[0].value == pytest.approx(2.30 * math.pi / 400.0, rel=0.1)
        assert not estimates[0].reaches_edge
        errors.append(estimates[0].error / estimates[0].value)
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.3)
    assert "±" in str(estimates[0])
