r"""The Gaussian toy simulator: a latent z ~ N(theta, 2) observed as x ~ N(z, 1), with every likelihood exact.

The model (standard deviations, not variances):

.. math::

    z \sim \mathcal N(\theta, \sigma_z = 2), \qquad x \mid z \sim \mathcal N(z, \sigma_x = 1)
    \quad\Rightarrow\quad x \sim \mathcal N\big(\theta, \sqrt{\sigma_z^2 + \sigma_x^2} = \sqrt5\big).

Because p(x|z) does not depend on theta, the joint likelihood ratio and joint score only involve z,

.. math::

    r(x, z|\theta_0, \theta_1) = \frac{p(z|\theta_0)}{p(z|\theta_1)}, \qquad
    t(x, z|\theta) = \frac{z - \theta}{\sigma_z^2},

and they are unbiased estimators of the exact :math:`r(x|\theta_0, \theta_1)` and score
:math:`t(x|\theta) = (x - \theta)/5` (Brehmer et al., "Mining gold from implicit models",
arXiv:1805.12244; Brehmer, Cranmer, Louppe, Pavez, arXiv:1805.00020).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SimulationError

__all__ = ["GaussianToy", "simulate_toy"]

logger = logging.getLogger(__name__)


def _log_normal(x: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    return -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class GaussianToy:
    """The toy model; every method broadcasts over events and theta arrays (numpy rules).

    Example:
        >>> toy = GaussianToy()
        >>> x, z = toy.simulate(np.zeros(1000), seed=1)
        >>> x.shape, round(float(toy.score(np.array(5.0), 0.0)), 6)
        ((1000,), 1.0)
    """

    sigma_z: float = 2.0
    sigma_x: float = 1.0

    def __post_init__(self) -> None:
        if not (self.sigma_z > 0 and self.sigma_x > 0):
            raise SimulationError(
                f"the toy needs positive widths, got sigma_z={self.sigma_z}, sigma_x={self.sigma_x}"
            )

    @property
    def sigma_marginal(self) -> float:
        """Width of p(x|theta): sqrt(sigma_z^2 + sigma_x^2) = sqrt(5)."""
        return math.hypot(self.sigma_z, self.sigma_x)

    def simulate(
        self, thetas: np.ndarray | float, n: int | None = None, seed: int | np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw (x, z): one event per entry of ``thetas``, or ``n`` events at a scalar theta."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if not np.isfinite(thetas).all():
            raise SimulationError("the toy thetas must be finite")
        if n is not None:
            if thetas.ndim != 0 or n < 0:
                raise SimulationError("pass n only with a scalar theta, and n >= 0")
            thetas = np.full(int(n), float(thetas))
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        z = thetas + self.sigma_z * rng.standard_normal(thetas.shape)
        x = z + self.sigma_x * rng.standard_normal(thetas.shape)
        return x, z

    def log_p_z(self, z: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
        """log p(z|theta) = log N(z; theta, sigma_z)."""
        return _log_normal(np.asarray(z, dtype=np.float64), np.asarray(theta, dtype=np.float64), self.sigma_z)

    def log_p_x(self, x: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
        """Exact log p(x|theta) = log N(x; theta, sqrt(5))."""
        return _log_normal(
            np.asarray(x, dtype=np.float64), np.asarray(theta, dtype=np.float64), self.sigma_marginal
        )

    def joint_log_ratio(self, x: np.ndarray, z: np.ndarray, theta0: Any, theta1: Any) -> np.ndarray:
        """log r(x, z|theta0, theta1) = log p(z|theta0) - log p(z|theta1) (x does not enter)."""
        z = np.asarray(z, dtype=np.float64)
        return self.log_p_z(z, theta0) - self.log_p_z(z, theta1) + 0.0 * np.asarray(x)

    def joint_ratio(self, x: np.ndarray, z: np.ndarray, theta0: Any, theta1: Any) -> np.ndarray:
        """r(x, z|theta0, theta1) = exp(:meth:`joint_log_ratio`)."""
        return np.exp(self.joint_log_ratio(x, z, theta0, theta1))

    def joint_score(self, x: np.ndarray, z: np.ndarray, theta: Any) -> np.ndarray:
        """t(x, z|theta) = d/dtheta log p(z|theta) = (z - theta) / sigma_z^2."""
        z = np.asarray(z, dtype=np.float64)
        return (z - np.asarray(theta, dtype=np.float64)) / self.sigma_z**2 + 0.0 * np.asarray(x)

    def log_ratio(self, x: np.ndarray, theta0: Any, theta1: Any) -> np.ndarray:
        """Exact log r(x|theta0, theta1) = log p(x|theta0) - log p(x|theta1)."""
        return self.log_p_x(x, theta0) - self.log_p_x(x, theta1)

    def ratio(self, x: np.ndarray, theta0: Any, theta1: Any) -> np.ndarray:
        """Exact r(x|theta0, theta1)."""
        return np.exp(self.log_ratio(x, theta0, theta1))

    def score(self, x: np.ndarray, theta: Any) -> np.ndarray:
        """Exact score t(x|theta) = (x - theta) / (sigma_z^2 + sigma_x^2)."""
        return (
            np.asarray(x, dtype=np.float64) - np.asarray(theta, dtype=np.float64)
        ) / self.sigma_marginal**2

    def fisher_information(self) -> float:
        """Fisher information per event of x about theta, 1 / (sigma_z^2 + sigma_x^2) = 0.2."""
        return 1.0 / self.sigma_marginal**2


def simulate_toy(
    out_dir: str | os.PathLike,
    n_events: int,
    theta0: float = 0.0,
    theta1: float = 1.0,
    seed: int | None = 0,
    toy: GaussianToy | None = None,
) -> dict[str, Any]:
    """Draw ``n_events`` at theta0 and at theta1 and write ``toy.npz`` with every exact quantity.

    Arrays: ``theta`` (the generating value), ``y`` (0 for theta0, 1 for theta1), ``x``, ``z``,
    ``log_r_xz`` (joint, theta0 vs theta1), ``t_xz`` (joint score at theta0), ``log_r_x`` and ``t_x``
    (exact). Also ``summary.json``. Returns the summary.

    Example:
        >>> import tempfile
        >>> simulate_toy(tempfile.mkdtemp(), 10)["n_events"]
        20
    """
    if n_events < 1:
        raise SimulationError(f"n_events must be positive, got {n_events}")
    toy = toy or GaussianToy()
    rng = np.random.default_rng(seed)
    theta = np.concatenate([np.full(n_events, float(theta0)), np.full(n_events, float(theta1))])
    x, z = toy.simulate(theta, seed=rng)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "toy.npz"
    np.savez(
        path,
        theta=theta,
        y=(np.arange(2 * n_events) >= n_events).astype(np.int8),
        x=x,
        z=z,
        log_r_xz=toy.joint_log_ratio(x, z, theta0, theta1),
        t_xz=toy.joint_score(x, z, theta0),
        log_r_x=toy.log_ratio(x, theta0, theta1),
        t_x=toy.score(x, theta0),
    )
    summary = {
        "simulator": "gaussian toy",
        "sigma_z": toy.sigma_z,
        "sigma_x": toy.sigma_x,
        "theta0": float(theta0),
        "theta1": float(theta1),
        "n_events": int(2 * n_events),
        "seed": seed,
        "files": {"events": str(path), "summary": str(out / "summary.json")},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    logger.info("toy: wrote %d events to %s", 2 * n_events, path)
    return summary
