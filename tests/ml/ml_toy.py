"""Gaussian-toy training samples for the ml tests, made directly with GaussianToy (imported by the tests)."""

import numpy as np

from columnminer.simulators.toy import GaussianToy

TOY = GaussianToy()
THETA_GRID = np.linspace(-4.0, 4.0, 20)


def ratio_sample(n: int, seed: int = 1, double: bool = False) -> dict[str, np.ndarray]:
    """Half y = 0 from theta0 ~ U(-4, 4), half y = 1 from theta1 (0, or U(-4, 4) when ``double``), with the
    joint ratio r(x,z|theta0,theta1) and the joint scores at theta0 and theta1."""
    rng = np.random.default_rng(seed)
    theta0 = rng.uniform(-4, 4, n)
    theta1 = rng.uniform(-4, 4, n) if double else np.zeros(n)
    y = (np.arange(n) >= n // 2).astype(np.float64)
    x, z = TOY.simulate(np.where(y == 0, theta0, theta1), seed=rng)
    sample = {
        "x": x[:, None],
        "theta": theta0[:, None],
        "y": y,
        "r_xz": TOY.joint_ratio(x, z, theta0, theta1),
        "t_xz": TOY.joint_score(x, z, theta0)[:, None],
    }
    if double:
        sample.update(theta1=theta1[:, None], t_xz1=TOY.joint_score(x, z, theta1)[:, None])
    return sample


def local_sample(n: int, seed: int = 2, theta: float = 0.0) -> dict[str, np.ndarray]:
    """x ~ p(x|theta) with the joint score at theta (SALLY)."""
    x, z = TOY.simulate(theta, n=n, seed=seed)
    return {"x": x[:, None], "t_xz": TOY.joint_score(x, z, theta)[:, None]}


def density_sample(n: int, seed: int = 3) -> dict[str, np.ndarray]:
    """theta ~ U(-4, 4), x ~ p(x|theta), with the joint score at theta (NDE, SCANDAL)."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-4, 4, n)
    x, z = TOY.simulate(theta, seed=rng)
    return {"x": x[:, None], "theta": theta[:, None], "t_xz": TOY.joint_score(x, z, theta)[:, None]}
