r"""Numerics of :mod:`columnminer.inference.geometry`: finite-difference connection, RK4 geodesic solver.

Everything here works on a *batched* metric, a callable ``thetas [n, P] -> g [n, P, P]`` that may return
non-finite values where the metric is undefined; the public module wraps user input into that form.

With :math:`\partial_l g_{ij}` from central differences, the Christoffel symbols of the first kind are
:math:`\Gamma_{l,ij} = \tfrac12(\partial_i g_{jl} + \partial_j g_{il} - \partial_l g_{ij})` and those of the
second kind :math:`\Gamma^k_{ij} = g^{kl}\Gamma_{l,ij}` (by a linear solve, never an explicit inverse).
The geodesic equation :math:`\ddot\theta^k = -\Gamma^k_{ij}\dot\theta^i\dot\theta^j` is integrated for many
trajectories at once by classical fourth-order Runge-Kutta in the affine parameter ``s``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

__all__ = ["christoffel", "first_kind", "integrate", "metric_and_derivatives", "solve"]

logger = logging.getLogger(__name__)

BatchedMetric = Callable[[np.ndarray], np.ndarray]


def metric_and_derivatives(
    evaluate: BatchedMetric, thetas: np.ndarray, steps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """g [m, P, P] at ``thetas`` [m, P] and dg [m, P, P, P] with ``dg[:, l, i, j]`` = d_l g_ij (central)."""
    m, p = thetas.shape
    offsets = np.diag(steps)
    stencil = np.concatenate(
        [thetas[:, None, :], thetas[:, None, :] + offsets, thetas[:, None, :] - offsets], axis=1
    )
    values = evaluate(stencil.reshape(-1, p)).reshape(m, 2 * p + 1, p, p)
    dg = (values[:, 1 : p + 1] - values[:, p + 1 :]) / (2.0 * steps)[None, :, None, None]
    return values[:, 0], dg


def first_kind(dg: np.ndarray) -> np.ndarray:
    """Gamma_{l,ij} [m, P(l), P(i), P(j)] from dg[m, a, b, c] = d_a g_bc."""
    d_i_g_jl = np.transpose(dg, (0, 3, 1, 2))  # [m, l, i, j] <- dg[m, i, j, l]
    d_j_g_il = np.transpose(dg, (0, 3, 2, 1))  # [m, l, i, j] <- dg[m, j, i, l]
    return 0.5 * (d_i_g_jl + d_j_g_il - dg)


def solve(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched g x = b (b [m, P, k]); rows with a singular or non-finite g give NaN instead of raising."""
    out = np.full(b.shape, np.nan)
    good = np.all(np.isfinite(g), axis=(1, 2)) & np.all(np.isfinite(b), axis=(1, 2))
    if not np.any(good):
        return out
    try:
        out[good] = np.linalg.solve(g[good], b[good])
    except np.linalg.LinAlgError:
        for i in np.flatnonzero(good):
            try:
                out[i] = np.linalg.solve(g[i], b[i])
            except np.linalg.LinAlgError:
                pass
    return out


def christoffel(evaluate: BatchedMetric, thetas: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Gamma^k_ij [m, P(k), P(i), P(j)] at ``thetas`` [m, P]."""
    m, p = thetas.shape
    g, dg = metric_and_derivatives(evaluate, thetas, steps)
    lower = first_kind(dg).reshape(m, p, p * p)
    return solve(g, lower).reshape(m, p, p, p)


def _acceleration(g: np.ndarray, dg: np.ndarray, v: np.ndarray) -> np.ndarray:
    """-Gamma^k_ij v^i v^j [m, P] from the metric and its derivatives."""
    lower = np.einsum("mlij,mi,mj->ml", first_kind(dg), v, v)
    return -solve(g, lower[:, :, None])[:, :, 0]


def _exit_fraction(start: np.ndarray, end: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Fraction t in [0, 1] of each step start -> end at which it first crosses the box ``limits``."""
    delta = end - start
    with np.errstate(divide="ignore", invalid="ignore"):
        t_low = np.where(end < limits[:, 0], (limits[:, 0] - start) / delta, 1.0)
        t_high = np.where(end > limits[:, 1], (limits[:, 1] - start) / delta, 1.0)
    return np.clip(np.nan_to_num(np.minimum(t_low, t_high).min(axis=1), nan=0.0), 0.0, 1.0)


def integrate(
    evaluate: BatchedMetric,
    theta0: np.ndarray,
    velocities: np.ndarray,
    *,
    step_size: float,
    max_theta_step: np.ndarray | None,
    max_velocity_change: float,
    distance_max: float,
    max_steps: int,
    limits: np.ndarray | None,
    fd_steps: np.ndarray,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Integrate geodesics from ``theta0`` [P] with initial velocities [m, P] (unit length in the metric).

    Each RK4 step uses ``ds = min(step_size, max_velocity_change / |a|_g, min_i max_theta_step_i / |v_i|,
    distance_max - s)``, where ``|a|_g`` is the metric length of the coordinate acceleration (so the unit
    velocity turns by at most ``max_velocity_change`` per step); the velocity is projected back to unit
    length at the start of every step. A trajectory stops when a step would leave ``limits`` (the last
    step is shortened to land on the boundary), when it reaches ``distance_max``, when the metric turns
    non-finite or singular (the offending step is dropped), or after ``max_steps`` steps.

    Returns one ``(thetas [n_i, P], distances [n_i])`` per trajectory, starting with ``(theta0, 0)``.
    """
    m = len(velocities)
    theta = np.repeat(theta0[None, :], m, axis=0)
    velocity = velocities.astype(np.float64, copy=True)
    distance = np.zeros(m)
    active = np.ones(m, dtype=bool)
    points: list[list[np.ndarray]] = [[theta0.copy()] for _ in range(m)]
    lengths: list[list[float]] = [[0.0] for _ in range(m)]

    def rhs(th: np.ndarray, v: np.ndarray) -> np.ndarray:
        g, dg = metric_and_derivatives(evaluate, th, fd_steps)
        return _acceleration(g, dg, v)

    def rk4(th: np.ndarray, v: np.ndarray, a1: np.ndarray, ds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One classical RK4 step of (theta, v)' = (v, a(theta, v)); a1 = a(th, v) is given."""
        h = ds[:, None]
        v2 = v + 0.5 * h * a1
        a2 = rhs(th + 0.5 * h * v, v2)
        v3 = v + 0.5 * h * a2
        a3 = rhs(th + 0.5 * h * v2, v3)
        v4 = v + h * a3
        a4 = rhs(th + h * v3, v4)
        return th + h / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4), v + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)

    n_steps = 0
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        while np.any(active) and n_steps < max_steps:
            n_steps += 1
            idx = np.flatnonzero(active)
            th, v, s = theta[idx], velocity[idx], distance[idx]
            g, dg = metric_and_derivatives(evaluate, th, fd_steps)
            norm2 = np.einsum("mi,mij,mj->m", v, g, v)
            ok = np.isfinite(norm2) & (norm2 > 0)
            v = v / np.sqrt(np.where(ok, norm2, 1.0))[:, None]
            a1 = _acceleration(g, dg, v)
            turn = np.sqrt(np.abs(np.einsum("mi,mij,mj->m", a1, g, a1)))
            ds = np.minimum(np.full(len(idx), step_size), distance_max - s)
            ds = np.minimum(ds, max_velocity_change / turn)
            if max_theta_step is not None:
                ds = np.minimum(ds, np.min(max_theta_step / np.abs(v), axis=1))
            ok &= np.isfinite(ds) & (ds > 0)
            ds = np.where(ok, ds, 0.0)
            new_theta, new_velocity = rk4(th, v, a1, ds)
            ok &= np.all(np.isfinite(new_theta), axis=1) & np.all(np.isfinite(new_velocity), axis=1)

            leaving = np.zeros(len(idx), dtype=bool)
            if limits is not None:
                leaving = ok & np.any((new_theta < limits[:, 0]) | (new_theta > limits[:, 1]), axis=1)
                if np.any(leaving):
                    # land on the boundary: two secant refinements of the step length, then clip the
                    # remaining O(ds^3) overshoot
                    ls, lth, lv, la = ds[leaving], th[leaving], v[leaving], a1[leaving]
                    end = new_theta[leaving]
                    for _ in range(2):
                        ls = ls * _exit_fraction(lth, end, limits)
                        end, _ = rk4(lth, lv, la, ls)
                        end = np.where(np.isfinite(end), end, lth)
                    new_theta[leaving] = np.clip(end, limits[:, 0], limits[:, 1])
                    ds[leaving] = ls
            new_distance = s + ds

            for j, i in enumerate(idx):
                if ok[j]:
                    points[i].append(new_theta[j])
                    lengths[i].append(float(new_distance[j]))
            theta[idx], velocity[idx], distance[idx] = new_theta, new_velocity, new_distance
            done = ~ok | leaving | (new_distance >= distance_max * (1.0 - 1e-12))
            active[idx[done]] = False

    if np.any(active):
        logger.warning(
            "%d of %d geodesics were still running after max_steps=%d steps", active.sum(), m, max_steps
        )
    logger.debug("integrated %d geodesics in %d vectorised RK4 steps", m, n_steps)
    return [(np.asarray(pts), np.asarray(lens)) for pts, lens in zip(points, lengths, strict=True)]
