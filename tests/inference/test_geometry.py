"""Information geometry: metrics from formulas and grids, Christoffel symbols, geodesics, distance contours.

Checked against geometries with closed-form distances: a constant metric (straight lines,
d^2 = dtheta^T I dtheta), the hyperbolic half-plane g = I / y^2, the 1-d metric 1 / theta^2 and the
Fisher information of the Gaussian location-scale family N(mu, sigma).
"""

import numpy as np
import pytest
from scipy import stats

from columnminer.errors import InferenceError
from columnminer.inference.geometry import (
    DistanceContours,
    InformationMetric,
    Trajectory,
    christoffel_symbols,
    distance_contours,
    geodesic,
    geodesics,
    information_from_formula,
    information_from_grid,
)
from columnminer.simulators.toy import GaussianToy

CONSTANT = np.array([[2.0, 0.5], [0.5, 1.0]])


def half_plane(thetas: np.ndarray) -> np.ndarray:
    """Vectorised hyperbolic metric g = 1 / y^2 on (x, y), y > 0."""
    return np.eye(2)[None] / thetas[:, 1, None, None] ** 2


def half_plane_distance(theta1: np.ndarray, theta2: np.ndarray) -> np.ndarray:
    (x1, y1), (x2, y2) = np.asarray(theta1).T, np.asarray(theta2).T
    return np.arccosh(1.0 + ((x2 - x1) ** 2 + (y2 - y1) ** 2) / (2.0 * y1 * y2))


def location_scale_distance(theta1: np.ndarray, theta2: np.ndarray) -> np.ndarray:
    """Fisher-Rao distance of N(mu, sigma): I = diag(1, 2) / sigma^2 is sqrt(2) x the half-plane metric in
    (mu / sqrt(2), sigma)."""
    (m1, s1), (m2, s2) = np.asarray(theta1).T, np.asarray(theta2).T
    return np.sqrt(2.0) * np.arccosh(1.0 + ((m2 - m1) ** 2 / 2.0 + (s2 - s1) ** 2) / (2.0 * s1 * s2))


def quadrature_information(mu: float, sigma: float) -> np.ndarray:
    """I = E[t t^T] of N(mu, sigma) by Gauss-Hermite quadrature of the score t = d log p / d(mu, sigma)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(30)
    x = mu + sigma * nodes
    score = np.stack([(x - mu) / sigma**2, ((x - mu) ** 2 - sigma**2) / sigma**3])
    return np.einsum("in,jn,n->ij", score, score, weights / weights.sum())


# --------------------------------------------------------------------------------------- metrics


def test_formula_metric_single_batch_and_vectorised():
    per_point = information_from_formula(lambda t: np.eye(2) / t[1] ** 2, 2)
    vectorised = information_from_formula(half_plane, 2, vectorized=True)
    assert isinstance(per_point, InformationMetric) and per_point.n_parameters == 2
    np.testing.assert_allclose(per_point([3.0, 2.0]), np.eye(2) / 4.0)
    points = np.array([[0.0, 1.0], [1.0, 0.5], [-2.0, 4.0]])
    assert per_point(points).shape == (3, 2, 2)
    np.testing.assert_allclose(per_point(points), vectorised(points))
    scalar = information_from_formula(lambda t: 1.0 / t**2, 1)  # P = 1: a scalar is one point too
    np.testing.assert_allclose(scalar(2.0), [[0.25]])
    np.testing.assert_allclose(scalar([2.0]), [[0.25]])
    np.testing.assert_allclose(scalar(np.array([[1.0], [2.0]]))[:, 0, 0], [1.0, 0.25])


@pytest.mark.parametrize(
    "method, tolerance, scattered_tolerance", [("linear", 2e-2, 6e-2), ("smooth", 1e-4, 2e-2)]
)
def test_grid_metric_reproduces_formula_between_points(method, tolerance, scattered_tolerance):
    """11 x 11 rectangular grid on [-1, 1]^2 (multilinear / cubic splines) and 304 scattered points
    (Delaunay / thin-plate RBF); checked at random points off the nodes."""

    def formula(t):
        x, y = t[:, 0], t[:, 1]
        off = 0.3 * x * y
        return np.stack([np.stack([1.0 + x**2, off], -1), np.stack([off, 2.0 + np.sin(y)], -1)], 1)

    axis = np.linspace(-1.0, 1.0, 11)
    nodes = np.stack([g.ravel() for g in np.meshgrid(axis, axis, indexing="ij")], axis=1)
    metric = information_from_grid(nodes, formula(nodes), method)
    query = np.random.default_rng(5).uniform(-0.95, 0.95, size=(200, 2))
    np.testing.assert_allclose(metric(query), formula(query), atol=tolerance)
    np.testing.assert_allclose(metric(nodes), formula(nodes), atol=1e-9)  # interpolates the nodes

    rng = np.random.default_rng(6)
    scattered = np.concatenate([rng.uniform(-1.0, 1.0, size=(300, 2)), [[-1, -1], [-1, 1], [1, -1], [1, 1]]])
    metric = information_from_grid(scattered, formula(scattered), method)
    np.testing.assert_allclose(metric(query), formula(query), atol=scattered_tolerance)


@pytest.mark.parametrize("method, tolerance", [("linear", 1e-2), ("smooth", 2e-4)])
def test_grid_metric_one_dimensional(method, tolerance):
    axis = np.linspace(1.0, 3.0, 21)
    metric = information_from_grid(axis, 1.0 / axis**2, method)  # P = 1 takes [n] and [n] too
    query = np.linspace(1.05, 2.95, 17)
    np.testing.assert_allclose(metric(query[:, None])[:, 0, 0], 1.0 / query**2, atol=tolerance)


def test_grid_metric_outside():
    axis = np.linspace(0.0, 1.0, 5)
    nodes = np.stack([g.ravel() for g in np.meshgrid(axis, axis, indexing="ij")], axis=1)
    values = np.eye(2) * (1.0 + nodes[:, 0])[:, None, None]
    clamped = information_from_grid(nodes, values)  # nearest point of the box
    np.testing.assert_allclose(clamped([1.5, 0.5]), 2.0 * np.eye(2))
    strict = information_from_grid(nodes, values, outside="error")
    with pytest.raises(InferenceError, match="outside the information grid"):
        strict([1.5, 0.5])
    scattered = information_from_grid(nodes[:-1], values[:-1], outside="error")  # not a full grid: hull
    with pytest.raises(InferenceError, match="outside"):
        scattered([0.99, 0.99])


# --------------------------------------------------------------------------------------- connection


def test_christoffel_symbols_of_the_half_plane():
    """Analytic: Gamma^x_xy = Gamma^x_yx = -1/y, Gamma^y_xx = 1/y, Gamma^y_yy = -1/y, others 0."""
    points = np.array([[0.0, 1.0], [0.7, 0.4], [-3.0, 2.5]])
    gamma = christoffel_symbols(information_from_formula(half_plane, 2, vectorized=True), points)
    assert gamma.shape == (3, 2, 2, 2)
    for theta, computed in zip(points, gamma, strict=True):
        y = theta[1]
        expected = np.zeros((2, 2, 2))
        expected[0, 0, 1] = expected[0, 1, 0] = -1.0 / y
        expected[1, 0, 0], expected[1, 1, 1] = 1.0 / y, -1.0 / y
        np.testing.assert_allclose(computed, expected, atol=1e-6)
    single = christoffel_symbols(lambda t: np.eye(2) / t[1] ** 2, [0.7, 0.4])  # plain callable, one point
    np.testing.assert_allclose(single, gamma[1], atol=1e-6)
    np.testing.assert_allclose(christoffel_symbols(CONSTANT, [1.0, 2.0]), 0.0, atol=1e-9)


# --------------------------------------------------------------------------------------- geodesics


def test_constant_metric_geodesics_are_straight_lines():
    theta0, direction = np.array([0.3, -0.2]), np.array([1.0, 2.0])
    path = geodesic(CONSTANT, theta0, direction, limits=[[-2.0, 2.0], [-2.0, 2.0]])
    assert isinstance(path, Trajectory)
    unit = direction / np.sqrt(direction @ CONSTANT @ direction)
    np.testing.assert_allclose(path.thetas, theta0 + path.distances[:, None] * unit, atol=1e-10)
    assert np.all(np.diff(path.distances) > 0)
    np.testing.assert_allclose(path.thetas[-1, 1], 2.0)  # ends on the boundary it leaves through

    paths = geodesics(CONSTANT, theta0, 16, distance_max=1.5, step_size=0.1)
    assert len(paths) == 16
    for thetas, distances in paths:
        delta = thetas - theta0
        np.testing.assert_allclose(np.einsum("ni,ij,nj->n", delta, CONSTANT, delta), distances**2, atol=1e-10)
        assert distances[-1] == pytest.approx(1.5)


def test_half_plane_geodesic_is_a_semicircle():
    """From (0, 1) heading along x the geodesic is the unit semicircle (tanh s, 1 / cosh s)."""
    metric = information_from_formula(half_plane, 2, vectorized=True)
    path = geodesic(metric, [0.0, 1.0], [1.0, 0.0], distance_max=2.0, step_size=0.05)
    s = path.distances
    assert s[-1] == pytest.approx(2.0)
    np.testing.assert_allclose(path.thetas[:, 0], np.tanh(s), atol=1e-6)
    np.testing.assert_allclose(path.thetas[:, 1], 1.0 / np.cosh(s), atol=1e-6)
    np.testing.assert_allclose(half_plane_distance([0.0, 1.0], path.thetas[1:]), s[1:], rtol=1e-6)


def test_one_dimensional_logarithmic_distance():
    """g = 1 / theta^2: d(theta0, theta) = |log(theta / theta0)|; geodesics are theta0 exp(+-s)."""
    metric = information_from_formula(lambda t: 1.0 / t**2, 1)
    (up, down) = geodesics(metric, [1.5], limits=[[0.2, 6.0]])
    np.testing.assert_allclose(up.thetas[:, 0], 1.5 * np.exp(up.distances), rtol=1e-6)
    np.testing.assert_allclose(down.thetas[:, 0], 1.5 * np.exp(-down.distances), rtol=1e-6)
    # the last step is shortened to end on the limit (to within O(ds^3))
    assert down.thetas[-1, 0] == pytest.approx(0.2, rel=1e-4) and up.thetas[-1, 0] == pytest.approx(
        6.0, rel=1e-4
    )

    grid = np.linspace(0.25, 5.0, 40)
    result = distance_contours(metric, [1.5], [grid], limits=[[0.2, 6.0]])
    np.testing.assert_allclose(result.distances, np.abs(np.log(grid / 1.5)), atol=1e-4)
    np.testing.assert_allclose(result.p_values, stats.chi2.sf(np.log(grid / 1.5) ** 2, df=1), atol=1e-4)
    assert not result.extrapolated.any()


# --------------------------------------------------------------------------------------- distances


def test_constant_metric_distance_contours_and_p_values():
    theta0 = np.array([0.3, -0.2])
    axes = [np.linspace(-2.0, 2.0, 21), np.linspace(-1.5, 2.5, 17)]
    result = distance_contours(CONSTANT, theta0, axes, n_directions=32, return_trajectories=True)
    assert isinstance(result, DistanceContours)
    assert result.grid_shape == (21, 17) and result.thetas.shape == (21 * 17, 2)
    np.testing.assert_allclose(result.thetas.reshape(21, 17, 2)[3, 5], [axes[0][3], axes[1][5]])
    delta = result.thetas - theta0
    exact = np.sqrt(np.einsum("ni,ij,nj->n", delta, CONSTANT, delta))
    # exact to rounding, not just ~1e-3: the interpolated ratio d / |w| is identically 1 for a constant metric
    np.testing.assert_allclose(result.distances, exact, atol=1e-8)
    np.testing.assert_allclose(result.p_values, stats.chi2.sf(exact**2, df=2), atol=1e-8)
    np.testing.assert_allclose(result.p_values, stats.chi2.sf(result.distances**2, df=2))
    assert not result.extrapolated.any()
    assert len(result.trajectories) == 32
    assert len(geodesics(CONSTANT, theta0, limits=[[-2, 2], [-2, 2]])) == 128  # the default fan for P = 2

    # P = 3: random directions leave corners uncovered; their ratio d/|w| is extrapolated (exact here)
    information = np.diag([1.0, 2.0, 3.0]) + 0.2
    points = np.random.default_rng(2).uniform(-1.0, 1.0, size=(60, 3))
    result = distance_contours(information, np.zeros(3), points, n_directions=40, seed=3)
    assert result.grid_shape is None and result.extrapolated.any()
    exact = np.sqrt(np.einsum("ni,ij,nj->n", points, information, points))
    np.testing.assert_allclose(result.distances, exact, atol=1e-6)
    no_fill = distance_contours(information, np.zeros(3), points, n_directions=40, seed=3, extrapolate=False)
    assert np.isnan(no_fill.distances[result.extrapolated]).all()
    np.testing.assert_allclose(
        no_fill.distances[~result.extrapolated], exact[~result.extrapolated], atol=1e-6
    )


def test_half_plane_distance_contours():
    """Curved geometry: the shot-and-interpolated distances match arccosh(...) to 3e-4 (64 directions)."""
    metric = information_from_formula(half_plane, 2, vectorized=True)
    theta0 = np.array([0.0, 1.0])
    axes = [np.linspace(-1.0, 1.0, 15), np.linspace(0.5, 2.0, 12)]
    result = distance_contours(metric, theta0, axes, n_directions=64)
    exact = half_plane_distance(theta0, result.thetas)
    np.testing.assert_allclose(result.distances, exact, atol=3e-4)
    np.testing.assert_allclose(result.p_values, stats.chi2.sf(exact**2, df=2), atol=3e-4)
    assert not result.extrapolated.any()


@pytest.mark.parametrize("method, tolerance", [("smooth", 2e-3), ("linear", 4e-2)])
def test_gaussian_location_scale_fisher_information(method, tolerance):
    """Fisher information of N(mu, sigma) computed by quadrature on a grid, interpolated, turned into
    distances: they match the closed-form Fisher-Rao distance sqrt(2) arccosh(...) to 2e-3 (cubic splines)
    and 4e-2 (multilinear; the error is that of interpolating 1 / sigma^2 between grid nodes)."""
    mus, sigmas = np.linspace(-1.5, 1.5, 13), np.linspace(0.5, 2.5, 11)
    nodes = np.array([[mu, sigma] for mu in mus for sigma in sigmas])
    informations = np.array([quadrature_information(mu, sigma) for mu, sigma in nodes])
    np.testing.assert_allclose(informations[:, [0, 1], [0, 1]], [1.0, 2.0] / nodes[:, 1:] ** 2, rtol=1e-10)
    metric = information_from_grid(nodes, informations, method)
    theta0 = np.array([0.2, 1.0])
    axes = [np.linspace(-1.0, 1.0, 9), np.linspace(0.6, 2.0, 8)]
    result = distance_contours(metric, theta0, axes, n_directions=64, limits=[[-1.5, 1.5], [0.5, 2.5]])
    np.testing.assert_allclose(
        result.distances, location_scale_distance(theta0, result.thetas), atol=tolerance
    )


def test_gaussian_toy_distance_is_the_asimov_likelihood_ratio():
    """The toy simulator's x ~ N(theta, sqrt5): for n events d^2 = n I (theta - theta0)^2 equals the Asimov
    q(theta) = -2 n E_theta0[log r(x|theta, theta0)], computed here from the simulator's exact log ratio."""
    toy, n_events, theta0 = GaussianToy(), 50, 0.5
    grid = np.linspace(-1.5, 2.5, 9)
    result = distance_contours(np.array([[n_events * toy.fisher_information()]]), [theta0], [grid])
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    x = theta0 + toy.sigma_marginal * nodes
    q = np.array(
        [-2 * n_events * np.sum(weights * toy.log_ratio(x, theta, theta0)) / weights.sum() for theta in grid]
    )
    np.testing.assert_allclose(result.distances**2, q, atol=1e-8)
    np.testing.assert_allclose(result.p_values, stats.chi2.sf(q, df=1), atol=1e-8)


# --------------------------------------------------------------------------------------- errors


def test_metric_errors_name_the_problem():
    wrong_shape = information_from_formula(lambda t: np.eye(3), 2)
    with pytest.raises(InferenceError, match=r"formula '<lambda>' returned shape \(3, 3\)"):
        wrong_shape([0.0, 0.0])
    asymmetric = information_from_formula(lambda t: np.array([[1.0, 0.5], [0.0, 1.0]]), 2)
    with pytest.raises(InferenceError, match="not symmetric at theta"):
        asymmetric([0.0, 0.0])
    with pytest.raises(InferenceError, match="not finite at theta"):
        information_from_formula(lambda t: np.full((2, 2), np.inf), 2)([0.0, 0.0])
    with pytest.raises(InferenceError, match="theta has shape"):
        information_from_formula(lambda t: np.eye(2), 2)(np.zeros(3))
    with pytest.raises(InferenceError, match="formula must be callable"):
        information_from_formula(np.eye(2), 2)
    with pytest.raises(InferenceError, match="n_parameters"):
        information_from_formula(lambda t: np.eye(2), 0)


def test_grid_errors_name_the_argument():
    nodes = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    good = np.repeat(np.eye(2)[None], 4, axis=0)
    with pytest.raises(InferenceError, match="informations has shape"):
        information_from_grid(nodes, good[:, :1])
    with pytest.raises(InferenceError, match="informations holds matrices that are not symmetric"):
        information_from_grid(nodes, good + np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(InferenceError, match="method"):
        information_from_grid(nodes, good, "cubic")
    with pytest.raises(InferenceError, match="outside"):
        information_from_grid(nodes, good, outside="extrapolate")
    with pytest.raises(InferenceError, match="duplicate"):
        information_from_grid(np.concatenate([nodes, nodes[:1]]), np.concatenate([good, good[:1]]))
    with pytest.raises(InferenceError, match="do not vary"):
        information_from_grid(np.array([[0.0, 2.0], [1.0, 2.0], [2.0, 2.0], [3.0, 2.0]]), good)
    with pytest.raises(InferenceError, match="thetas must be"):
        information_from_grid(np.zeros((2, 2, 2)), good)


def test_geodesic_errors_name_the_argument():
    limits = [[-1.0, 1.0], [-1.0, 1.0]]
    with pytest.raises(InferenceError, match=r"theta0=\[2.0, 0.0\] lies outside limits"):
        geodesic(CONSTANT, [2.0, 0.0], [1.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match="limits must be"):
        geodesic(CONSTANT, [0.0, 0.0], [1.0, 0.0], limits=[[1.0, -1.0], [-1.0, 1.0]])
    with pytest.raises(InferenceError, match="limits must be"):
        geodesic(CONSTANT, [0.0, 0.0], [1.0, 0.0], limits=[-1.0, 1.0])
    with pytest.raises(InferenceError, match="direction must be non-zero"):
        geodesic(CONSTANT, [0.0, 0.0], [0.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match="direction has shape"):
        geodesic(CONSTANT, [0.0, 0.0], [1.0, 0.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match="theta0 is not finite"):
        geodesic(CONSTANT, [np.nan, 0.0], [1.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match="not positive definite"):
        geodesic(np.diag([1.0, -1.0]), [0.0, 0.0], [1.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match="constant information must be"):
        geodesic(np.eye(3), [0.0, 0.0], [1.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match=r"theta0 has shape \(3,\); expected \[2\]"):
        geodesics(information_from_formula(half_plane, 2, vectorized=True), [0.0, 1.0, 0.0], 4)
    with pytest.raises(InferenceError, match="give limits, a finite distance_max"):
        geodesic(CONSTANT, [0.0, 0.0], [1.0, 0.0])
    with pytest.raises(InferenceError, match="directions must be"):
        geodesics(CONSTANT, [0.0, 0.0], directions=[1.0, 0.0], limits=limits)
    with pytest.raises(InferenceError, match="grid array has shape"):
        distance_contours(CONSTANT, [0.0, 0.0], np.zeros((5, 3)))
    with pytest.raises(InferenceError, match="grid must be 2 one-dimensional axes"):
        distance_contours(CONSTANT, [0.0, 0.0], [np.linspace(0, 1, 3)])


def test_geodesic_stops_where_the_metric_breaks_down():
    """A metric undefined (NaN) below y = 0.5: the geodesic aimed down stops before, without raising."""

    def metric(t):
        return np.eye(2) / t[1] ** 2 if t[1] > 0.5 else np.full((2, 2), np.nan)

    path = geodesic(metric, [0.0, 1.0], [0.0, -1.0], distance_max=3.0)
    assert 0.6 < path.distances[-1] <= np.log(2.0) and path.thetas[-1, 1] > 0.5
    np.testing.assert_allclose(path.thetas[:, 1], np.exp(-path.distances), rtol=1e-6)
    np.testing.assert_allclose(path.thetas[:, 0], 0.0, atol=1e-12)
