"""Tests of columnminer.morphing: reference values, gradients, property tests, basis optimisation."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from columnminer import Morpher, MorphingError, find_components, morphing_matrix, optimize_basis
from columnminer.morphing import component_gradients, component_values

COMPONENTS = [[4, 0], [3, 1], [2, 2], [1, 3], [0, 4]]
BASIS = [[1, -5], [1, -4], [1, -3], [1, -2], [1, -1]]


def test_reference_weights_and_gradients():
    """The reference case of docs/design.md: exact basis of five points on the line theta_0 = 1."""
    morpher = Morpher(COMPONENTS, BASIS)
    np.testing.assert_allclose(morpher.weights([1.0, 1.0]), [5, -24, 45, -40, 15], rtol=1e-10)
    np.testing.assert_allclose(
        morpher.weight_gradients([1.0, 1.0]),
        [[13.5833333333, -66, 126, -115.3333333333, 45.75], [6.4166666667, -30, 54, -44.6666666667, 14.25]],
        rtol=1e-9,
    )


def test_reference_overdetermined_pseudo_inverse():
    """Seven basis points theta = (1, -5) ... (1, 1): first row of A^+ (components x basis points)."""
    basis = [[1, k] for k in range(-5, 2)]
    matrix = Morpher(COMPONENTS, basis).matrix
    assert matrix.shape == (5, 7)
    np.testing.assert_allclose(
        matrix[0],
        [-0.04112554, 0.15151515, -0.14069264, -0.12987013, 0.33549784, 0.77056277, 0.05411255],
        atol=5e-9,
    )
    np.testing.assert_allclose(morphing_matrix(basis, COMPONENTS), matrix)


def test_find_components():
    comps = find_components([2, 2], 2)
    assert comps.tolist() == [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    assert len(find_components([4, 4], 4)) == 15
    assert len(find_components([4, 4, 4, 4, 4], 4)) == 126  # C(9, 4)
    assert len(find_components([2, 2, 2, 2, 2], 4)) == 96  # each power capped at 2
    assert len(find_components([1, 3])) == 8  # no overall limit: full product of ranges
    assert find_components([0, 2], 2).tolist() == [[0, 0], [0, 1], [0, 2]]
    with pytest.raises(MorphingError, match="non-negative"):
        find_components([2, -1])


def test_component_values_and_gradients_at_zero():
    comps = np.array([[0, 0], [1, 0], [2, 1], [0, 3]])
    np.testing.assert_array_equal(component_values([0.0, 0.0], comps), [1, 0, 0, 0])
    grads = component_gradients([0.0, 0.0], comps)
    assert np.isfinite(grads).all()
    np.testing.assert_array_equal(grads, [[0, 1, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(component_gradients([2.0, 3.0], comps), [[0, 1, 12, 0], [0, 0, 4, 27]])


def test_broadcasting_over_leading_axes(rng):
    morpher = Morpher.from_powers([2, 2], rng.uniform(-1, 1, size=(6, 2)), max_overall_power=2)
    thetas = rng.uniform(-1, 1, size=(4, 5, 2))
    weights = morpher.weights(thetas)
    gradients = morpher.weight_gradients(thetas)
    assert weights.shape == (4, 5, 6)
    assert gradients.shape == (4, 5, 2, 6)
    np.testing.assert_allclose(weights[2, 3], morpher.weights(thetas[2, 3]), rtol=1e-13)
    np.testing.assert_allclose(gradients[1, 4], morpher.weight_gradients(thetas[1, 4]), rtol=1e-13)
    np.testing.assert_allclose(morpher.squared_weight_sum(thetas), (weights**2).sum(-1))


def test_weights_are_one_hot_at_exact_basis_points(rng):
    basis = rng.uniform(-1, 1, size=(6, 2))
    morpher = Morpher.from_powers([2, 2], basis, max_overall_power=2)
    np.testing.assert_allclose(morpher.weights(basis), np.eye(6), atol=1e-9)


@pytest.mark.parametrize(
    ("components", "basis", "message"),
    [
        (COMPONENTS, BASIS[:4], "4 basis points cannot determine 5 morphing components"),
        (COMPONENTS, [*BASIS[:4], BASIS[0]], "degenerate"),
        ([[0, 0], [1, 0], [0, 0]], [[0, 0], [1, 0], [2, 0]], "duplicate rows"),
        ([[0, -1]], [[1, 1]], "non-negative integer powers"),
        (COMPONENTS, [[1, -5, 0]] * 5, r"shape \[\.\.\., 2\]"),
        (COMPONENTS, [[1, np.nan]] * 5, "non-finite"),
    ],
)
def test_invalid_morphers(components, basis, message):
    with pytest.raises(MorphingError, match=message):
        Morpher(components, basis)


def test_bad_thetas_are_named():
    morpher = Morpher(COMPONENTS, BASIS)
    with pytest.raises(MorphingError, match=r"got shape \(3,\)"):
        morpher.weights([1.0, 2.0, 3.0])
    with pytest.raises(MorphingError, match=r"non-finite values, first at index \(1,\)"):
        morpher.weights([[1.0, 2.0], [np.inf, 0.0]])


def test_matrix_is_read_only():
    morpher = Morpher(COMPONENTS, BASIS)
    with pytest.raises(ValueError, match="read-only"):
        morpher.matrix[0, 0] = 1.0


# -- property tests ------------------------------------------------------------------------------------
powers = st.lists(st.integers(0, 3), min_size=1, max_size=3)


def grid_floats(bound: float):
    """Floats on a 1e-6 grid: parameter values as physicists write them, no subnormal underflow."""
    return st.integers(-int(bound * 1e6), int(bound * 1e6)).map(lambda i: i * 1e-6)


@st.composite
def polynomial_problems(draw):
    """A random allowed polynomial, a random basis (possibly over-determined) and test points."""
    max_powers = draw(powers)
    overall = draw(st.integers(max(1, max(max_powers) if max_powers else 1), sum(max_powers) or 1))
    components = find_components(max_powers, overall)
    n_extra = draw(st.integers(0, 3))
    n_params = len(max_powers)
    basis = draw(arrays(np.float64, (len(components) + n_extra, n_params), elements=grid_floats(2)))
    coefficients = draw(arrays(np.float64, len(components), elements=grid_floats(10)))
    thetas = draw(arrays(np.float64, (5, n_params), elements=grid_floats(2)))
    return components, basis, coefficients, thetas


@settings(max_examples=150, deadline=None)
@given(polynomial_problems())
def test_morphing_reproduces_any_allowed_polynomial(problem):
    r"""f(theta) = sum_c a_c phi_c(theta) is reproduced from its values at the basis points to 1e-9."""
    components, basis, coefficients, thetas = problem
    try:
        morpher = Morpher(components, basis)
    except MorphingError:
        assume(False)
    assume(morpher.condition_number < 1e4)
    at_basis = component_values(basis, components) @ coefficients
    exact = component_values(thetas, components) @ coefficients
    morphed = morpher.weights(thetas) @ at_basis
    # relative 1e-9 to the size of the data being interpolated (the error of a linear solve with
    # condition number kappa is ~ eps * kappa * |f_b|), and to the value itself away from cancellations
    data_scale = np.abs(at_basis).max()
    assert np.all(np.abs(morphed - exact) <= 1e-9 * (np.abs(exact) + data_scale) + 1e-300)
    big = np.abs(exact) > 1e-2 * data_scale
    np.testing.assert_allclose(morphed[big], exact[big], rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(polynomial_problems())
def test_gradients_match_finite_differences(problem):
    components, basis, _, thetas = problem
    try:
        morpher = Morpher(components, basis)
    except MorphingError:
        assume(False)
    assume(morpher.condition_number < 1e4)
    h = 1e-6
    analytic = morpher.weight_gradients(thetas)
    for i in range(components.shape[1]):
        step = np.zeros(components.shape[1])
        step[i] = h
        numeric = (morpher.weights(thetas + step) - morpher.weights(thetas - step)) / (2 * h)
        scale = np.abs(morpher.weights(thetas)).max() + 1.0
        np.testing.assert_allclose(analytic[:, i, :], numeric, rtol=0, atol=1e-5 * scale)


# -- basis optimisation --------------------------------------------------------------------------------
def test_optimize_basis_keeps_fixed_points_and_beats_random(rng):
    comps = find_components([2, 2], 2)
    ranges = [(-1.0, 1.0), (-2.0, 2.0)]
    fixed = [[0.0, 0.0], [0.5, 0.5]]
    basis = optimize_basis(comps, ranges, fixed=fixed, n_trials=50, seed=7)
    assert basis.shape == (6, 2)
    np.testing.assert_array_equal(basis[:2], fixed)
    assert (basis[:, 0] >= -1).all() and (basis[:, 0] <= 1).all()
    assert (basis[:, 1] >= -2).all() and (basis[:, 1] <= 2).all()
    optimised = Morpher(comps, basis).expected_squared_weight_sum(ranges)
    random_scores = []
    for _ in range(30):
        points = np.concatenate([fixed, rng.uniform([-1, -2], [1, 2], size=(4, 2))])
        random_scores.append(Morpher(comps, points).expected_squared_weight_sum(ranges))
    assert optimised < min(random_scores)


def test_optimize_basis_is_reproducible_and_refine_helps():
    comps = find_components([2, 2], 2)
    ranges = [(-1.0, 1.0), (-1.0, 1.0)]
    a = optimize_basis(comps, ranges, seed=11, n_trials=20)
    b = optimize_basis(comps, ranges, seed=11, n_trials=20)
    np.testing.assert_array_equal(a, b)
    rough = optimize_basis(comps, ranges, seed=11, n_trials=20, refine=False)
    assert Morpher(comps, a).expected_squared_weight_sum(ranges) <= Morpher(
        comps, rough
    ).expected_squared_weight_sum(ranges)


def test_overdetermined_basis_lowers_squared_weights():
    comps = find_components([2, 2], 2)
    ranges = [(-1.0, 1.0), (-1.0, 1.0)]
    exact = Morpher(comps, optimize_basis(comps, ranges, seed=2))
    over = Morpher(comps, optimize_basis(comps, ranges, n_basis=10, seed=2))
    assert over.n_basis == 10
    assert over.expected_squared_weight_sum(ranges) < exact.expected_squared_weight_sum(ranges)


def test_optimize_basis_errors():
    comps = find_components([2], 2)
    with pytest.raises(MorphingError, match="n_basis=2 is below the number of components"):
        optimize_basis(comps, [(-1, 1)], n_basis=2)
    with pytest.raises(MorphingError, match="expected 1 parameter ranges, got 2"):
        optimize_basis(comps, [(-1, 1), (0, 1)])
    with pytest.raises(MorphingError, match="exceed n_basis"):
        optimize_basis(comps, [(-1, 1)], fixed=[[0.0], [0.1], [0.2], [0.3]])
    with pytest.raises(MorphingError, match="degenerate"):
        optimize_basis(comps, [(-1, 1)], fixed=[[0.0], [0.0], [0.5]])


def test_morpher_roundtrip_and_repr():
    morpher = Morpher(COMPONENTS, BASIS)
    again = Morpher.from_dict(morpher.to_dict())
    np.testing.assert_array_equal(again.matrix, morpher.matrix)
    assert "5 components" in repr(morpher)
    assert morpher.with_basis([[1, k] for k in range(-5, 1)]).n_basis == 6
