"""A simplified, theta-independent q qbar -> Z Z(*) -> 2e2mu continuum background for the golden channel."""

from __future__ import annotations

import logging

import numpy as np

from ..errors import SimulationError
from ._amplitudes import ElectroweakParameters
from ._events import BACKGROUND_LEPTONS, unweight
from ._phasespace import boost, lab_kinematics, sample_decay

__all__ = ["background_events"]

logger = logging.getLogger(__name__)


def background_events(
    n_events: int,
    seed: int | None = 0,
    cross_section_pb: float = 1.0e-3,
    m4l_range: tuple[float, float] = (115.0, 135.0),
    m_ll_min: float = 12.0,
    ew: ElectroweakParameters | None = None,
    chunk_size: int = 131_072,
) -> tuple[np.ndarray, float]:
    r"""A simplified, theta-independent non-resonant q qbar -> Z Z(*) -> 2e2mu continuum.

    Simplifications (documented, not a calculation): the four-lepton mass is uniform in ``m4l_range``; the
    pair masses follow phase space times two Z Breit-Wigner propagators,
    :math:`|M|^2 \propto s_1 s_2 / |D(s_1)|^2 |D(s_2)|^2` (unpolarised Z bosons, isotropic decays); the total
    cross section is the input ``cross_section_pb`` (default 1 fb, the size of the ZZ* continuum under the
    signal window at 13 TeV); lab kinematics as for the signal. Events are unweighted exactly (running
    maximum with thinning). Returns (momenta [n, 9, 4] for u u~ -> Z Z (-> e- e+ mu- mu+) g, cross section).

    Example:
        >>> p, xs = background_events(100, seed=1)
        >>> p.shape, xs
        ((100, 9, 4), 0.001)
    """
    ew = ew or ElectroweakParameters()
    low, high = (float(x) for x in m4l_range)
    if not 2 * m_ll_min < low < high:
        raise SimulationError(f"m4l_range must satisfy 2 m_ll_min < low < high, got {m4l_range}")
    if n_events < 1 or cross_section_pb <= 0:
        raise SimulationError("background_events needs n_events >= 1 and a positive cross section")
    rng = np.random.default_rng(seed)

    def trial(k: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        m4l = rng.uniform(low, high, k)
        decay = sample_decay(rng, k, m4l, ew.m_z, ew.gamma_z, m_ll_min)
        q1 = decay.momenta[:, 0] + decay.momenta[:, 1]
        q2 = decay.momenta[:, 2] + decay.momenta[:, 3]
        s1 = q1[:, 0] ** 2 - np.sum(q1[:, 1:] ** 2, axis=1)
        s2 = q2[:, 0] ** 2 - np.sum(q2[:, 1:] ** 2, axis=1)
        mz2, mzw = ew.m_z**2, ew.m_z * ew.gamma_z
        me = s1 * s2 / (((s1 - mz2) ** 2 + mzw**2) * ((s2 - mz2) ** 2 + mzw**2))
        return (decay.momenta, m4l), me * decay.phase_space_weight

    (rest, m4l), _, _ = unweight(rng, trial, n_events, chunk_size)
    system, recoil, parton1, parton2 = lab_kinematics(rng, n_events, m4l)
    beta = system[:, 1:] / system[:, :1]
    leptons = boost(rest, beta[:, None, :])
    out = np.empty((n_events, 9, 4))
    out[:, 0], out[:, 1] = parton1, parton2
    out[:, 2] = leptons[:, 0] + leptons[:, 1]
    out[:, 3] = leptons[:, 2] + leptons[:, 3]
    out[:, BACKGROUND_LEPTONS] = leptons
    out[:, 8] = recoil
    return out, float(cross_section_pb)
