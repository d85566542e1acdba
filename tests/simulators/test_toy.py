"""The Gaussian toy: sampling, exact and joint likelihood ratios and scores, vectorisation, files."""

import numpy as np
import pytest
from scipy import stats

from columnminer.errors import SimulationError
from columnminer.simulators.toy import GaussianToy, simulate_toy

TOY = GaussianToy()


def test_sampling_distributions():
    """z ~ N(theta, 2) and x ~ N(theta, sqrt 5): Kolmogorov-Smirnov p-values above 1e-3, for one theta per
    event (vectorised) and for a scalar theta with n."""
    rng = np.random.default_rng(1)
    thetas = rng.uniform(-2, 2, 20_000)
    x, z = TOY.simulate(thetas, seed=2)
    assert stats.kstest((z - thetas) / 2.0, "norm").pvalue > 1e-3
    assert stats.kstest((x - thetas) / np.sqrt(5.0), "norm").pvalue > 1e-3
    assert stats.kstest(x - z, "norm").pvalue > 1e-3
    x1, _ = TOY.simulate(1.5, n=20_000, seed=3)
    assert abs(x1.mean() - 1.5) < 4 * np.sqrt(5.0 / 20_000)
    # seeded
    assert np.array_equal(TOY.simulate(thetas, seed=2)[0], x)


def test_exact_quantities_closed_form():
    """log r(x) and t(x) from the N(theta, sqrt 5) marginal; joint ones from z only, with variance 4."""
    x = np.array([-1.0, 0.0, 2.5])
    assert np.allclose(TOY.log_ratio(x, 0.0, 1.0), (-(x**2) + (x - 1) ** 2) / 10)
    assert np.allclose(TOY.score(x, 0.5), (x - 0.5) / 5)
    z = np.array([0.3, -2.0, 1.0])
    assert np.allclose(TOY.joint_log_ratio(x, z, 0.0, 1.0), (-(z**2) + (z - 1) ** 2) / 8)
    assert np.allclose(TOY.joint_score(x, z, 0.5), (z - 0.5) / 4)
    assert np.allclose(TOY.joint_ratio(x, z, 0.2, 0.2), 1.0)
    assert TOY.fisher_information() == pytest.approx(0.2)


def test_joint_quantities_are_unbiased_estimators():
    """E[t(x,z|theta) | x] = t(x|theta): the regression slope of the joint score on x is 1/5 (exact score),
    and E_theta1[r(x,z|theta0,theta1)] = 1, E_theta1[r(x,z) | x] = r(x) (bin averages within errors)."""
    theta0, theta1 = 0.0, 1.0
    x, z = TOY.simulate(theta0, n=200_000, seed=4)
    slope = np.polyfit(x, TOY.joint_score(x, z, theta0), 1)[0]
    assert abs(slope - 0.2) < 0.005
    x1, z1 = TOY.simulate(theta1, n=200_000, seed=5)
    r_xz = TOY.joint_ratio(x1, z1, theta0, theta1)
    assert abs(r_xz.mean() - 1.0) < 4 * r_xz.std() / np.sqrt(r_xz.size)
    bins = np.digitize(x1, [-1.0, 0.0, 1.0, 2.0, 3.0])
    for b in range(1, 5):
        sel = bins == b
        exact = TOY.ratio(x1[sel], theta0, theta1).mean()
        assert abs(r_xz[sel].mean() - exact) < 4 * r_xz[sel].std() / np.sqrt(sel.sum()) + 0.01 * exact


def test_vectorised_over_theta_arrays():
    """Thetas of shape [T, 1] against events [n] broadcast to [T, n] and equal the per-theta results."""
    x, z = TOY.simulate(0.0, n=50, seed=6)
    thetas = np.linspace(-1, 1, 7)[:, None]
    grid = TOY.joint_log_ratio(x, z, thetas, 0.0)
    assert grid.shape == (7, 50)
    assert np.allclose(grid[3], TOY.joint_log_ratio(x, z, 0.0, 0.0))
    assert TOY.score(x, thetas).shape == (7, 50)
    assert np.allclose(TOY.log_p_x(x, thetas)[2], stats.norm.logpdf(x, thetas[2, 0], np.sqrt(5)))


def test_simulate_toy_file_and_errors(tmp_path):
    """simulate_toy writes every exact array; bad requests raise SimulationError."""
    summary = simulate_toy(tmp_path, 100, theta0=0.5, theta1=-0.5, seed=1)
    data = np.load(summary["files"]["events"])
    assert data["x"].shape == (200,) and data["y"].sum() == 100
    assert np.allclose(data["log_r_x"], TOY.log_ratio(data["x"], 0.5, -0.5))
    assert np.allclose(data["t_xz"], (data["z"] - 0.5) / 4)
    with pytest.raises(SimulationError):
        simulate_toy(tmp_path, 0)
    with pytest.raises(SimulationError):
        GaussianToy(sigma_z=-1.0)
    with pytest.raises(SimulationError):
        TOY.simulate(np.array([np.nan]))
    with pytest.raises(SimulationError):
        TOY.simulate(np.zeros(3), n=5)
