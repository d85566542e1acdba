r"""A simplified, theta-independent q qbar -> Z Z(*) -> 2e2mu continuum background for the golden channel.

Its density is known in closed form up to one Monte Carlo integral (:func:`background_normalisation`): with
respect to :math:`dm_{4l}\, d\Phi_4(m_{4l})` times the production spectrum of
:func:`~columnminer.simulators._phasespace.lab_kinematics`,

.. math::

    \sigma_b\, p_b(z) = \frac{\sigma_b}{I_b}\, \frac{1}{m_{high} - m_{low}}\, |M_b(z)|^2
    \, \mathbb{1}[m_{low} < m_{4l} < m_{high}]\, \mathbb{1}[m_{e e}, m_{\mu\mu} > m_{ll}^{min}],
    \qquad I_b = \frac{1}{m_{high} - m_{low}} \int dm_{4l} \int d\Phi_4\, |M_b|^2,

(:func:`background_matrix_element` is :math:`|M_b|^2`), which is what
:mod:`columnminer.simulators.golden_detector` integrates against the detector's transfer function.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import SimulationError
from ._amplitudes import ElectroweakParameters
from ._events import BACKGROUND_LEPTONS, unweight
from ._phasespace import boost, in_blocks, lab_kinematics, sample_decay

__all__ = ["background_events", "background_matrix_element", "background_normalisation"]

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
        me = in_blocks(lambda p: background_matrix_element(p, ew), decay.momenta)
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


def background_matrix_element(
    lepton_momenta: np.ndarray, ew: ElectroweakParameters | None = None
) -> np.ndarray:
    r"""The background's :math:`|M_b|^2 = s_1 s_2 / (|D(s_1)|^2 |D(s_2)|^2)`,
    :math:`|D(s)|^2 = (s - m_Z^2)^2 + m_Z^2\Gamma_Z^2`, for (e-, e+, mu-, mu+) momenta [..., 4, 4] in any frame
    (:math:`s_1 = m_{ee}^2`, :math:`s_2 = m_{\mu\mu}^2`; GeV^-4, Lorentz invariant).

    Example:
        >>> from ._phasespace import decay_momenta_at_rest
        >>> p = decay_momenta_at_rest(91.1876, 30.0, np.zeros(6))
        >>> float(background_matrix_element(p)) > 0
        True
    """
    ew = ew or ElectroweakParameters()
    p = np.asarray(lepton_momenta, dtype=np.float64)
    q1 = p[..., 0, :] + p[..., 1, :]
    q2 = p[..., 2, :] + p[..., 3, :]
    s1 = q1[..., 0] ** 2 - np.sum(q1[..., 1:] ** 2, axis=-1)
    s2 = q2[..., 0] ** 2 - np.sum(q2[..., 1:] ** 2, axis=-1)
    mz2, mzw = ew.m_z**2, ew.m_z * ew.gamma_z
    return s1 * s2 / (((s1 - mz2) ** 2 + mzw**2) * ((s2 - mz2) ** 2 + mzw**2))


def background_normalisation(
    n_points: int = 400_000,
    seed: int | None = 0,
    m4l_range: tuple[float, float] = (115.0, 135.0),
    m_ll_min: float = 12.0,
    ew: ElectroweakParameters | None = None,
    chunk_size: int = 100_000,
) -> tuple[float, float]:
    r""":math:`I_b = \langle |M_b|^2\, w_{\Phi_4} \rangle` over trial points with :math:`m_{4l}` uniform in
    ``m4l_range`` (exactly the trial distribution of :func:`background_events`), and its Monte Carlo standard
    error: the normalisation of the background density of the module docstring (GeV^0: |M_b|^2 in GeV^-4
    times :math:`d\Phi_4 / ds_1 ds_2` in GeV^0 per GeV^4).

    Example:
        >>> value, error = background_normalisation(20_000, seed=1)
        >>> bool(value > 0 and error < 0.05 * value)
        True
    """
    ew = ew or ElectroweakParameters()
    low, high = (float(x) for x in m4l_range)
    rng = np.random.default_rng(seed)
    total, total_sq, done = 0.0, 0.0, 0
    while done < int(n_points):
        k = min(int(chunk_size), int(n_points) - done)
        m4l = rng.uniform(low, high, k)
        decay = sample_decay(rng, k, m4l, ew.m_z, ew.gamma_z, m_ll_min)
        w = background_matrix_element(decay.momenta, ew) * decay.phase_space_weight
        total += float(w.sum())
        total_sq += float(np.sum(w * w))
        done += k
    mean = total / done
    return mean, float(np.sqrt(max(total_sq / done - mean * mean, 0.0) / done))
