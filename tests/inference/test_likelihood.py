"""Likelihood functions against direct scipy computations and analytic Gaussian / counting cases."""

import numpy as np
import pytest
from scipy import optimize, special, stats

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.errors import InferenceError
from columnminer.inference.binned import binned_weights
from columnminer.inference.likelihood import (
    NegativeLogLikelihood,
    asymptotic_p_values,
    event_log_likelihood,
    fix_params,
    histogram_log_likelihood,
    histogram_nll,
    neural_nll,
    parameter_grid,
    profile_log_likelihood,
    project_log_likelihood,
    resolve_thetas,
)
from columnminer.io.store import EventStore
from columnminer.simulators.toy import GaussianToy

N = 2000


@pytest.fixture(scope="module")
def store():
    """Quadratic (physical) event weights on the golden-channel morphing setup, one observable."""
    setup = golden_channel_setup()
    rng = np.random.default_rng(5)
    couplings = rng.normal(size=(N, 3, 2)) * np.array([1.0, 0.5, 0.3])[None, :, None]
    couplings[:, 0, 0] += 1.5
    weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T / N
    x = couplings[:, 1, 0] + 0.3 * rng.normal(size=N)  # an observable sensitive to a2
    s = EventStore.create("memory://likelihood-tests", setup, ["x"], chunk_size=500)
    s.append(x[:, None], weights, 0)
    return s


@pytest.fixture(scope="module")
def binned(store):
    return binned_weights(store, "x", [-3.0, -1.0, -0.3, 0.3, 1.0, 3.0])


def test_histogram_nll_equals_scipy_poisson_and_multinomial(binned):
    thetas = np.array([[0.0, 0.0], [0.4, -0.2], [-0.7, 0.9]])
    luminosity = 150.0
    yields = binned.yields(thetas, luminosity).reshape(3, -1)
    counts = np.random.default_rng(1).poisson(yields[1]).astype(float)
    log_factorials = special.gammaln(counts + 1).sum()
    nll = histogram_nll(binned, counts, luminosity)
    expected = -stats.poisson.logpmf(counts[None, :], yields).sum(axis=1) - log_factorials
    np.testing.assert_allclose(nll(thetas), expected, rtol=1e-10)
    # shape only: the multinomial likelihood of the counts given their total
    shape = histogram_nll(binned, counts, luminosity, include_rate=False)
    n = int(counts.sum())
    multinomial = np.array([stats.multinomial.logpmf(counts, n, y / y.sum()) for y in yields])
    np.testing.assert_allclose(
        shape(thetas), -(multinomial - special.gammaln(n + 1) + log_factorials), rtol=1e-10
    )
    # kinematic + rate decomposition, and one point as [P] returns [1]
    kinematic, rate = histogram_log_likelihood(yields, counts)
    np.testing.assert_allclose(-(kinematic + rate), nll(thetas), rtol=1e-12)
    np.testing.assert_allclose(rate, stats.poisson.logpmf(n, yields.sum(axis=1)) + special.gammaln(n + 1))
    assert nll(thetas[1]).shape == (1,)
    with pytest.raises(InferenceError, match="observed"):
        histogram_nll(binned, counts[:3], luminosity)
    with pytest.raises(InferenceError, match="thetas"):
        nll(np.zeros((2, 3)))


def test_one_bin_normalisation_nuisance_profile(store):
    r"""Counting experiment with a log-normal normalisation nuisance, mu = nu(theta) (1 + delta)^eta,
    Gaussian constraint on eta. Profiling solves s (mu - n) + eta = 0 (s = log(1 + delta)); for small
    deviations q_profiled = q_stat / (1 + n s^2), the Gaussian variance n inflated by (n s)^2."""
    one_bin = binned_weights(store, "x", [-10.0, 10.0])
    luminosity, delta = 2000.0, 0.05
    s = np.log1p(delta)
    n = float(one_bin.yields([0.0, 0.0], luminosity)[0, 0])  # Asimov at the SM
    nll = histogram_nll(one_bin, [n], luminosity, modifiers=[delta], modifier_names=["norm"])
    assert nll.parameter_names == ("a2", "a3", "norm")
    grid = np.column_stack([np.linspace(-0.06, 0.06, 7), np.zeros(7)])
    scan = profile_log_likelihood(nll, [0, 1], thetas=grid)
    nu = one_bin.yields(grid, luminosity)[:, 0]

    def exact(nu_t):
        eta = optimize.brentq(lambda e: s * (nu_t * np.exp(s * e) - n) + e, -50, 50)
        mu = nu_t * np.exp(s * eta)
        return 2 * (mu - n * np.log(mu) + 0.5 * eta**2 - (n - n * np.log(n)))

    np.testing.assert_allclose(scan.q, [exact(v) for v in nu], rtol=1e-5, atol=1e-7)
    assert scan.best_fit.tolist() == [0.0, 0.0] and scan.dof == 2
    q_stat = 2 * (nu - n - n * np.log(nu / n))
    inflation = 1 + n * s**2
    inside = q_stat > 0
    np.testing.assert_allclose(scan.q[inside] * inflation, q_stat[inside], rtol=0.05)
    # the profiled nuisance pulls the yield back towards the data
    assert np.all(np.sign(scan.other_values[inside, 0]) == -np.sign(nu[inside] - n))
    with pytest.raises(InferenceError, match="modifiers"):
        histogram_nll(one_bin, [n], luminosity, modifiers=[[0.1, 0.2]])


def _gaussian(mean, covariance):
    precision = np.linalg.inv(covariance)

    def fn(t):
        d = t - mean
        return 0.5 * np.einsum("ti,ij,tj->t", d, precision, d)

    return NegativeLogLikelihood(fn, ("a", "b", "c"))


def test_fix_project_profile_on_a_gaussian():
    mean = np.array([0.5, -1.0, 2.0])
    covariance = np.array([[1.0, 0.6, 0.2], [0.6, 2.0, -0.3], [0.2, -0.3, 0.5]])
    nll = _gaussian(mean, covariance)
    precision = np.linalg.inv(covariance)
    points = np.column_stack([np.linspace(-2, 3, 11), np.linspace(-3, 1, 11)])
    d = points - mean[:2]
    # profile over c: the marginal covariance of (a, b)
    profiled = profile_log_likelihood(nll, [0, 1], thetas=points)
    marginal = np.linalg.inv(covariance[:2, :2])
    np.testing.assert_allclose(
        profiled.q - profiled.q.min(),
        np.einsum("ti,ij,tj->t", d, marginal, d) - np.einsum("ti,ij,tj->t", d, marginal, d).min(),
        atol=1e-6,
    )
    expected_c = mean[2] + (covariance[2, :2] @ np.linalg.solve(covariance[:2, :2], d.T))
    np.testing.assert_allclose(profiled.other_values[:, 0], expected_c, atol=1e-4)
    np.testing.assert_allclose(profiled.p_values, stats.chi2.sf(profiled.q, 2))
    # projection with c fixed at its mean: the conditional precision block
    projected = project_log_likelihood(nll, [0, 1], thetas=points, fixed_values=[mean[2]])
    conditional = np.einsum("ti,ij,tj->t", d, precision[:2, :2], d)
    np.testing.assert_allclose(projected.q, conditional - conditional.min(), atol=1e-10)
    # one remaining component on a grid, reordered components, and dof
    scan = profile_log_likelihood(nll, [1], grid_ranges=[(-4.0, 2.0)], grid_resolutions=61, dof=3)
    assert scan.best_fit == pytest.approx([-1.0]) and scan.dof == 3
    np.testing.assert_allclose(scan.q, (scan.thetas[:, 0] + 1.0) ** 2 / covariance[1, 1], atol=1e-6)
    reordered = project_log_likelihood(nll, [2, 0], thetas=[[2.0, 0.5]], fixed_values=[-1.0])
    assert reordered.nll[0] == pytest.approx(0.0) and reordered.remaining_components == (2, 0)
    # fix_params: components in their original order
    fixed = fix_params(nll, [2.0, 0.5], [2, 0])
    assert fixed.parameter_names == ("b",)
    np.testing.assert_allclose(fixed([[-1.0], [0.0]]), nll([[0.5, -1.0, 2.0], [0.5, 0.0, 2.0]]))
    plain = fix_params(lambda t: (t**2).sum(axis=1), [1.0], n_parameters=2)
    assert plain([[2.0]]).tolist() == [5.0]
    with pytest.raises(InferenceError, match="components"):
        fix_params(nll, [1.0, 2.0], [0, 0])
    with pytest.raises(InferenceError, match="fixed_values"):
        project_log_likelihood(nll, [0], thetas=[[0.0]], fixed_values=[1.0])
    with pytest.raises(InferenceError, match="n_parameters"):
        profile_log_likelihood(lambda t: t[:, 0], [0], thetas=[[0.0]])
    # a plain callable takes its size from theta_start; Nelder-Mead works too
    scan = profile_log_likelihood(
        lambda t: (t[:, 0] - t[:, 1]) ** 2 + t[:, 1] ** 2,
        [0],
        thetas=[[0.0], [2.0]],
        theta_start=[0.0, 0.0],
        method="Nelder-Mead",
    )
    assert scan.q[1] == pytest.approx(4.0, abs=1e-3) and scan.other_values[1, 0] == pytest.approx(
        1.0, abs=1e-2
    )


def test_grid_p_values_and_thetas():
    grid = parameter_grid([(0.0, 1.0), (-1.0, 1.0)], [2, 3])
    assert grid.shape == (6, 2) and grid[-1].tolist() == [1.0, 1.0]
    np.testing.assert_allclose(asymptotic_p_values([2.30, 6.18], 2), [0.3166, 0.0455], atol=1e-3)
    with pytest.raises(InferenceError, match="dof"):
        asymptotic_p_values([1.0], 0)
    setup = golden_channel_setup()
    c, points = resolve_thetas(setup, "sm")
    assert c[0].tolist() == [1, 0, 0, 0, 0, 0] and points.tolist() == [[0.0, 0.0]]
    c, points = resolve_thetas(setup, [0, 0])  # numeric lists are points
    np.testing.assert_allclose(c[0], [1, 0, 0, 0, 0, 0], atol=1e-10)
    with pytest.raises(InferenceError, match="thetas"):
        resolve_thetas(setup, ["no-such-benchmark"])


def test_event_and_neural_likelihood_with_the_exact_toy_density(store):
    toy = GaussianToy()
    exact = lambda x, t: toy.log_p_x(x[None, :, 0], t[:, :1])  # noqa: E731
    x = toy.simulate(0.7, n=300, seed=4)[0][:, None]
    thetas = np.linspace(-1, 2, 13)[:, None]
    ll = event_log_likelihood(exact, x, thetas)
    np.testing.assert_allclose(ll, toy.log_p_x(x[:, 0][None, :], thetas).sum(axis=1))
    w = np.random.default_rng(0).uniform(0.5, 1.5, 300)
    np.testing.assert_allclose(
        event_log_likelihood(exact, x, thetas, weights=w), toy.log_p_x(x[:, 0][None, :], thetas) @ w
    )
    nll = neural_nll(exact, x, luminosity=1.0, include_rate=False, n_observed=600)
    np.testing.assert_allclose(nll(thetas), -2 * ll)
    # with the rate term from a store (two parameters; the toy density ignores the second one)
    luminosity = 200.0
    nll = neural_nll(exact, x, luminosity, store=store, weights=w)
    points = np.column_stack([thetas[:, 0] * 0.1, np.zeros(13)])
    sigma = binned_weights(store, "x", [-10.0, 10.0]).cross_sections(points)[:, 0]
    expected = -(toy.log_p_x(x[:, 0][None, :], points[:, :1]) @ w) - (
        w.sum() * np.log(luminosity * sigma) - luminosity * sigma
    )
    np.testing.assert_allclose(nll(points), expected, rtol=1e-9)
    assert nll.parameter_names == ("a2", "a3")
    with pytest.raises(InferenceError, match="store"):
        neural_nll(exact, x, 1.0)
    with pytest.raises(InferenceError, match="weights"):
        event_log_likelihood(exact, x, thetas, weights=np.ones(3))
    with pytest.raises(InferenceError, match="estimator"):
        event_log_likelihood(object(), x, thetas)
