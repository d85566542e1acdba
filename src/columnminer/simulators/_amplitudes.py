r"""Tree-level amplitudes of H -> Z Z(*) -> e- e+ mu- mu+ with the general spin-0 HVV vertex, two ways.

Conventions (all momenta are arrays ``[..., 4]`` holding (E, px, py, pz) in GeV):

- metric :math:`g = \mathrm{diag}(1, -1, -1, -1)`, Levi-Civita :math:`\epsilon_{0123} = +1`
  (so :math:`\epsilon^{0123} = -1`, as in Peskin & Schroeder), Weyl (chiral) basis for the Dirac matrices,
  :math:`\gamma_5 = \mathrm{diag}(-1, -1, 1, 1)`, :math:`P_{L,R} = (1 \mp \gamma_5)/2`.
- HVV vertex (Bolognesi et al., arXiv:1208.4018, eq. 3, with all couplings divided by the SM value of
  their :math:`a_1`, i.e. their :math:`a_i = 2 \times` ours), contracted with the Z polarisations (or the
  lepton currents) :math:`\epsilon_1, \epsilon_2` of momenta :math:`q_1, q_2`:

  .. math::

      A(H \to Z Z) = \frac{2}{v}\Big[a_1 m_Z^2\, \epsilon_1^* \cdot \epsilon_2^*
          + a_2\, f^{*(1)}_{\mu\nu} f^{*(2)\,\mu\nu} + a_3\, f^{*(1)}_{\mu\nu} \tilde f^{*(2)\,\mu\nu}\Big],

  :math:`f^{(i)\mu\nu} = \epsilon_i^\mu q_i^\nu - \epsilon_i^\nu q_i^\mu`,
  :math:`\tilde f_{\mu\nu} = \tfrac12 \epsilon_{\mu\nu\rho\sigma} f^{\rho\sigma}`, which is the tensor

  .. math::

      V_{\mu\nu} = a_1 m_Z^2 g_{\mu\nu} + 2 a_2 \big[(q_1\cdot q_2) g_{\mu\nu} - q_{1\nu} q_{2\mu}\big]
          + 2 a_3\, \epsilon_{\mu\nu\rho\sigma} q_1^\rho q_2^\sigma .

  The SM is :math:`a_1 = 1, a_2 = a_3 = 0` (vertex :math:`2 m_Z^2/v\, g_{\mu\nu}`); :math:`a_2` is CP-even,
  :math:`a_3` CP-odd. |M|^2 is a quadratic form in :math:`(a_1, a_2, a_3)`.
- Z propagators :math:`1/(s - m_Z^2 + i m_Z \Gamma_Z)` (fixed width; the :math:`q^\mu q^\nu` part drops
  against conserved massless currents), Z-lepton couplings :math:`g_L = (2 m_Z/v)(-\tfrac12 + s_W^2)`,
  :math:`g_R = (2 m_Z/v) s_W^2`; no virtual photon.

Two independent evaluations: :func:`amplitude_components` builds massless helicity spinors and the four
helicity amplitudes (one complex number per lepton-helicity combination and per coupling);
:func:`squared_me_trace` contracts Dirac-trace lepton tensors (explicit 4x4 gamma matrices) with the vertex
tensor. They agree to rounding.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np

from ._phasespace import BLOCK_ROWS, default_threads, in_blocks

__all__ = [
    "DIRAC_GAMMA",
    "GAMMA5",
    "LEVI_CIVITA",
    "METRIC",
    "ElectroweakParameters",
    "amplitude_components",
    "hvv_helicity_amplitudes",
    "lepton_currents",
    "minkowski_dot",
    "quadratic_form",
    "squared_me",
    "squared_me_trace",
]

logger = logging.getLogger(__name__)

METRIC = np.diag([1.0, -1.0, -1.0, -1.0])
_SIGMA = np.array(
    [[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
    dtype=np.complex128,
)
_I2 = np.eye(2, dtype=np.complex128)
_Z2 = np.zeros((2, 2), dtype=np.complex128)
#: Dirac matrices gamma^mu in the Weyl basis, shape [4, 4, 4] (upper index mu first).
DIRAC_GAMMA = np.array(
    [np.block([[_Z2, _I2], [_I2, _Z2]])] + [np.block([[_Z2, s], [-s, _Z2]]) for s in _SIGMA],
)
#: gamma_5 = i gamma^0 gamma^1 gamma^2 gamma^3 = diag(-1, -1, 1, 1) in the Weyl basis.
GAMMA5 = 1j * DIRAC_GAMMA[0] @ DIRAC_GAMMA[1] @ DIRAC_GAMMA[2] @ DIRAC_GAMMA[3]


def _levi_civita() -> np.ndarray:
    eps = np.zeros((4, 4, 4, 4))
    for perm in itertools.permutations(range(4)):
        inversions = sum(1 for i in range(4) for j in range(i + 1, 4) if perm[i] > perm[j])
        eps[perm] = -1.0 if inversions % 2 else 1.0
    return eps


#: epsilon_{mu nu rho sigma} with lower indices, epsilon_{0123} = +1.
LEVI_CIVITA = _levi_civita()


@dataclass(frozen=True)
class ElectroweakParameters:
    """Masses (GeV), widths (GeV) and the weak mixing angle used by the amplitudes (G_F scheme for v).

    Example:
        >>> ew = ElectroweakParameters()
        >>> round(ew.g_left, 4), round(ew.g_right, 4)
        (-0.1991, 0.1713)
    """

    m_h: float = 125.0
    m_z: float = 91.1876
    gamma_z: float = 2.4952
    vev: float = 246.21965
    sin2w: float = 0.23122

    @property
    def g_left(self) -> float:
        """Z coupling to left-handed charged leptons, (2 m_Z / v)(-1/2 + sin^2 theta_W)."""
        return 2.0 * self.m_z / self.vev * (-0.5 + self.sin2w)

    @property
    def g_right(self) -> float:
        """Z coupling to right-handed charged leptons, (2 m_Z / v) sin^2 theta_W."""
        return 2.0 * self.m_z / self.vev * self.sin2w


def minkowski_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.b = a^0 b^0 - a_vec . b_vec over the last axis (complex entries are not conjugated).

    Example:
        >>> float(minkowski_dot(np.array([2.0, 1, 0, 0]), np.array([2.0, 1, 0, 0])))
        3.0
    """
    return a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1] - a[..., 2] * b[..., 2] - a[..., 3] * b[..., 3]


def _epsilon_contract(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    r""":math:`\epsilon_{\mu\nu\rho\sigma} a^\mu b^\nu c^\rho d^\sigma` = det[a; b; c; d] (rows), by Laplace
    expansion along the time column (vectorised; complex entries allowed)."""

    def det3(x, y, z):
        return (
            x[..., 1] * (y[..., 2] * z[..., 3] - y[..., 3] * z[..., 2])
            - x[..., 2] * (y[..., 1] * z[..., 3] - y[..., 3] * z[..., 1])
            + x[..., 3] * (y[..., 1] * z[..., 2] - y[..., 2] * z[..., 1])
        )

    return (
        a[..., 0] * det3(b, c, d)
        - b[..., 0] * det3(a, c, d)
        + c[..., 0] * det3(a, b, d)
        - d[..., 0] * det3(a, b, c)
    )


def _helicity_spinors(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Two-component helicity eigenstates :math:`\xi_\pm(\hat p)` times :math:`\sqrt{2E}`, shape [..., 2].

    :math:`\xi_+ = (\cos\tfrac\theta2, e^{i\phi}\sin\tfrac\theta2)`,
    :math:`\xi_- = (-e^{-i\phi}\sin\tfrac\theta2, \cos\tfrac\theta2)`, written with the momentum components
    directly so that directions along -z stay regular.
    """
    e = p[..., 0]
    px, py, pz = p[..., 1], p[..., 2], p[..., 3]
    mod = np.sqrt(px * px + py * py + pz * pz)
    # sqrt(2E) cos(theta/2) = sqrt(E + pz) (massless: E = |p|); sqrt(2E) sin(theta/2) e^{i phi} = (px+i py)/...
    plus = np.sqrt(np.maximum(mod + pz, 0.0))
    safe = plus > 1e-9 * np.maximum(mod, 1e-300)
    # along -z (plus = 0): theta = pi, choose phi = 0, so sqrt(2E) sin(theta/2) e^{i phi} = sqrt(2E)
    phase_sin = np.where(safe, (px + 1j * py) / np.where(safe, plus, 1.0), np.sqrt(2.0 * mod) + 0j)
    scale = np.sqrt(e / np.maximum(mod, 1e-300))  # = 1 for massless momenta
    xi_plus = np.stack([plus + 0j, phase_sin], axis=-1) * scale[..., None]
    xi_minus = np.stack([-np.conj(phase_sin), plus + 0j], axis=-1) * scale[..., None]
    return xi_plus, xi_minus


def _sandwich(a: np.ndarray, b: np.ndarray, sign: float) -> np.ndarray:
    r""":math:`a^\dagger \sigma^\mu b` (sign=+1) or :math:`a^\dagger \bar\sigma^\mu b` (sign=-1), shape [..., 4]."""
    ac = np.conj(a)
    t = ac[..., 0] * b[..., 0] + ac[..., 1] * b[..., 1]
    x = ac[..., 0] * b[..., 1] + ac[..., 1] * b[..., 0]
    y = -1j * ac[..., 0] * b[..., 1] + 1j * ac[..., 1] * b[..., 0]
    z = ac[..., 0] * b[..., 0] - ac[..., 1] * b[..., 1]
    return np.stack([t, sign * x, sign * y, sign * z], axis=-1)


def lepton_currents(fermion: np.ndarray, antifermion: np.ndarray) -> np.ndarray:
    r"""Massless currents :math:`J^\mu_\lambda = \bar u_\lambda(p_1) \gamma^\mu P_\lambda v(p_2)`, shape
    [..., 2, 4] with lambda = (L, R): the left-handed fermion (helicity -1/2) with its right-handed partner,
    and the reverse.

    In the Weyl basis :math:`\bar u \gamma^\mu P_L v = u_L^\dagger \bar\sigma^\mu v_L` and
    :math:`\bar u \gamma^\mu P_R v = u_R^\dagger \sigma^\mu v_R`, with
    :math:`u_L = \sqrt{2E_1}\,\xi_-(p_1)`, :math:`v_L = \sqrt{2E_2}\,\xi_-(p_2)`,
    :math:`u_R = \sqrt{2E_1}\,\xi_+(p_1)`, :math:`v_R = -\sqrt{2E_2}\,\xi_+(p_2)` (Peskin & Schroeder ch. 3).

    Example:
        >>> j = lepton_currents(np.array([1.0, 0, 0, 1]), np.array([1.0, 0, 0, -1]))
        >>> np.round(np.abs(j), 6).tolist()
        [[0.0, 2.0, 2.0, 0.0], [0.0, 2.0, 2.0, 0.0]]
    """
    plus1, minus1 = _helicity_spinors(fermion)
    plus2, minus2 = _helicity_spinors(antifermion)
    left = _sandwich(minus1, minus2, -1.0)
    right = -_sandwich(plus1, plus2, +1.0)
    return np.stack([left, right], axis=-2)


def amplitude_components(momenta: np.ndarray, ew: ElectroweakParameters | None = None) -> np.ndarray:
    r"""Helicity amplitudes per coupling: :math:`M = \sum_i a_i\, M_i^{(\lambda_1\lambda_2)}`.

    ``momenta`` has shape [..., 4, 4]: (e-, e+, mu-, mu+) four-momenta (E, px, py, pz) in GeV in any frame.
    Returns complex [..., 4, 3]: axis -2 the lepton helicity combinations (LL, LR, RL, RR for the electron
    and muon currents), axis -1 the couplings (a1, a2, a3). Amplitudes are in GeV^-1 (1 -> 4 decay).

    .. math::

        M_i = \frac{2}{v} \frac{g_{\lambda_1} g_{\lambda_2}}{D(q_1^2) D(q_2^2)}\, J_1^\mu J_2^\nu V^{(i)}_{\mu\nu},

    with :math:`J_1 \cdot J_2`, :math:`(q_1\cdot q_2)(J_1\cdot J_2) - (J_1\cdot q_2)(J_2\cdot q_1)` and
    :math:`\epsilon_{\mu\nu\rho\sigma} J_1^\mu J_2^\nu q_1^\rho q_2^\sigma` evaluated as dot products and a
    determinant (reference: Bolognesi et al., arXiv:1208.4018).

    Example:
        >>> from columnminer.simulators._phasespace import decay_momenta_at_rest
        >>> p = decay_momenta_at_rest(91.0, 30.0, np.zeros(6) + 0.3)
        >>> amplitude_components(p).shape
        (4, 3)
    """
    ew = ew or ElectroweakParameters()
    p = np.asarray(momenta, dtype=np.float64)
    j1 = lepton_currents(p[..., 0, :], p[..., 1, :])  # [..., 2, 4]
    j2 = lepton_currents(p[..., 2, :], p[..., 3, :])
    q1 = p[..., 0, :] + p[..., 1, :]
    q2 = p[..., 2, :] + p[..., 3, :]
    j1 = j1[..., :, None, :]  # [..., 2, 1, 4]
    j2 = j2[..., None, :, :]  # [..., 1, 2, 4]
    q1b, q2b = q1[..., None, None, :], q2[..., None, None, :]
    j1j2 = minkowski_dot(j1, j2)
    q1q2 = minkowski_dot(q1, q2)[..., None, None]
    t1 = ew.m_z**2 * j1j2
    t2 = 2.0 * (q1q2 * j1j2 - minkowski_dot(j1, q2b) * minkowski_dot(j2, q1b))
    t3 = 2.0 * _epsilon_contract(j1, j2, q1b.astype(np.complex128), q2b.astype(np.complex128))
    couplings = np.array([ew.g_left, ew.g_right])
    s1, s2 = minkowski_dot(q1, q1), minkowski_dot(q2, q2)
    mz2, mzw = ew.m_z**2, ew.m_z * ew.gamma_z
    prop = 1.0 / ((s1 - mz2 + 1j * mzw) * (s2 - mz2 + 1j * mzw))
    factor = (2.0 / ew.vev) * prop[..., None, None] * couplings[:, None] * couplings[None, :]
    amps = np.stack([t1, t2, t3], axis=-1) * factor[..., None]  # [..., 2, 2, 3]
    return amps.reshape(*amps.shape[:-3], 4, 3)


def quadratic_form(momenta: np.ndarray, ew: ElectroweakParameters | None = None) -> np.ndarray:
    r"""The real symmetric matrix Q with :math:`|M|^2 = a^T Q a`, a = (a1, a2, a3), shape [..., 3, 3].

    :math:`Q_{ij} = \sum_{\lambda} \mathrm{Re}\, M_i^{(\lambda)} M_j^{(\lambda)*}`, summed over the four
    lepton helicity combinations (see :func:`amplitude_components`).

    Example:
        >>> from columnminer.simulators._phasespace import decay_momenta_at_rest
        >>> q = quadratic_form(decay_momenta_at_rest(91.0, 30.0, np.zeros(6) + 0.3))
        >>> bool(np.allclose(q, q.T)) and bool(np.all(np.linalg.eigvalsh(q) > -1e-12 * q.max()))
        True
    """
    momenta = np.asarray(momenta, dtype=np.float64)
    if momenta.ndim == 3 and momenta.shape[0] > BLOCK_ROWS:  # in cache-sized blocks, threads: same bits
        return in_blocks(lambda p: quadratic_form(p, ew), momenta, threads=default_threads())
    amps = amplitude_components(momenta, ew)
    return np.einsum("...hi,...hj->...ij", amps, np.conj(amps)).real


def squared_me(
    momenta: np.ndarray, couplings: np.ndarray, ew: ElectroweakParameters | None = None
) -> np.ndarray:
    r""":math:`|M|^2` summed over lepton helicities for couplings (a1, a2, a3) (helicity-amplitude method).

    ``couplings`` broadcasts against the events: shape [3] or [..., 3].

    Example:
        >>> from columnminer.simulators._phasespace import decay_momenta_at_rest
        >>> p = decay_momenta_at_rest(91.0, 30.0, np.zeros(6) + 0.3)
        >>> bool(squared_me(p, [1.0, 0.0, 0.0]) > 0)
        True
    """
    q = quadratic_form(momenta, ew)
    a = np.asarray(couplings, dtype=np.float64)
    return np.einsum("...i,...ij,...j->...", a, q, a)


def _slash(p: np.ndarray) -> np.ndarray:
    r""":math:`\not p = \gamma^\mu p_\mu`, shape [..., 4, 4]."""
    lowered = p * np.diag(METRIC)
    return np.einsum("...m,mab->...ab", lowered.astype(np.complex128), DIRAC_GAMMA)


def _lepton_tensor(p1: np.ndarray, p2: np.ndarray, g_left: float, g_right: float) -> np.ndarray:
    r""":math:`L^{\mu\alpha} = \mathrm{Tr}[\not p_1 \Gamma^\mu \not p_2 \bar\Gamma^\alpha]` with
    :math:`\Gamma^\mu = \gamma^\mu (g_L P_L + g_R P_R)`, :math:`\bar\Gamma^\alpha = (g_L P_R + g_R P_L)\gamma^\alpha`,
    the spin sum of :math:`J^\mu J^{\alpha *}`, shape [..., 4, 4] (upper indices)."""
    eye = np.eye(4)
    pl, pr = (eye - GAMMA5) / 2, (eye + GAMMA5) / 2
    chiral = g_left * pl + g_right * pr
    chiral_bar = g_left * pr + g_right * pl
    gam = np.einsum("mab,bc->mac", DIRAC_GAMMA, chiral)  # Gamma^mu
    gam_bar = np.einsum("ab,mbc->mac", chiral_bar, DIRAC_GAMMA)
    s1, s2 = _slash(p1), _slash(p2)
    left = np.einsum("...ab,mbc->...mac", s1, gam)  # pslash1 Gamma^mu
    right = np.einsum("...ab,mbc->...mac", s2, gam_bar)  # pslash2 Gammabar^alpha
    return np.einsum("...mab,...nba->...mn", left, right)


def squared_me_trace(
    momenta: np.ndarray, couplings: np.ndarray, ew: ElectroweakParameters | None = None
) -> np.ndarray:
    r""":math:`|M|^2` by the trace technique: lepton tensors from explicit Dirac matrices contracted with the
    explicit vertex tensor,

    .. math::

        |M|^2 = \frac{4}{v^2} \frac{L_1^{\mu\alpha} L_2^{\nu\beta} V_{\mu\nu} V^*_{\alpha\beta}}
            {|D(q_1^2)|^2 |D(q_2^2)|^2}.

    Independent of the spinor phases and of the dot-product formulas of :func:`amplitude_components`;
    slow (for validation only). ``momenta`` [..., 4, 4] (e-, e+, mu-, mu+), ``couplings`` [3].

    Example:
        >>> from columnminer.simulators._phasespace import decay_momenta_at_rest
        >>> p = decay_momenta_at_rest(91.0, 30.0, np.zeros(6) + 0.3)
        >>> a = [1.0, 0.3, -0.5]
        >>> bool(np.isclose(squared_me_trace(p, a), squared_me(p, a), rtol=1e-10))
        True
    """
    ew = ew or ElectroweakParameters()
    p = np.asarray(momenta, dtype=np.float64)
    a1, a2, a3 = (float(c) for c in couplings)
    q1 = p[..., 0, :] + p[..., 1, :]
    q2 = p[..., 2, :] + p[..., 3, :]
    lower = np.diag(METRIC)
    q1l, q2l = q1 * lower, q2 * lower
    q1q2 = minkowski_dot(q1, q2)[..., None, None]
    vertex = (
        a1 * ew.m_z**2 * METRIC
        + 2.0 * a2 * (q1q2 * METRIC - q2l[..., :, None] * q1l[..., None, :])
        + 2.0 * a3 * np.einsum("mnrs,...r,...s->...mn", LEVI_CIVITA, q1, q2)
    )
    l1 = _lepton_tensor(p[..., 0, :], p[..., 1, :], ew.g_left, ew.g_right)
    l2 = _lepton_tensor(p[..., 2, :], p[..., 3, :], ew.g_left, ew.g_right)
    contracted = np.einsum("...ma,...nb,...mn,...ab->...", l1, l2, vertex, vertex)
    s1, s2 = minkowski_dot(q1, q1), minkowski_dot(q2, q2)
    mz2, mzw = ew.m_z**2, ew.m_z * ew.gamma_z
    denominator = ((s1 - mz2) ** 2 + mzw**2) * ((s2 - mz2) ** 2 + mzw**2)
    return (4.0 / ew.vev**2) * contracted.real / denominator


def hvv_helicity_amplitudes(
    m1: float | np.ndarray,
    m2: float | np.ndarray,
    couplings: np.ndarray,
    ew: ElectroweakParameters | None = None,
) -> np.ndarray:
    r"""The three H -> Z1 Z2 helicity amplitudes (A00, A++, A--) for Z masses m1, m2 (GeV).

    Computed by contracting the vertex tensor :math:`V_{\mu\nu}` with explicit polarisation vectors in the
    Higgs rest frame (Z1 along +z, Z2 along -z; transverse :math:`\epsilon(\pm) = (0, \mp 1, -i, 0)/\sqrt2`
    about each boson's own direction), times 2/v. Expectations (Bolognesi et al., arXiv:1208.4018, sec. II):
    a1 and a2 give :math:`A_{++} = A_{--}`; the CP-odd a3 gives :math:`A_{00} = 0` and :math:`A_{++} = -A_{--}`.
    Returns complex [..., 3] in GeV.

    Example:
        >>> amps = hvv_helicity_amplitudes(91.0, 30.0, [0.0, 0.0, 1.0])
        >>> bool(abs(amps[0]) < 1e-12 * abs(amps[1])) and bool(np.isclose(amps[1], -amps[2]))
        True
    """
    ew = ew or ElectroweakParameters()
    m1 = np.asarray(m1, dtype=np.float64)
    m2 = np.asarray(m2, dtype=np.float64)
    mh = ew.m_h
    pmod = np.sqrt(np.maximum((mh**2 - (m1 + m2) ** 2) * (mh**2 - (m1 - m2) ** 2), 0.0)) / (2 * mh)
    e1 = np.sqrt(pmod**2 + m1**2)
    e2 = np.sqrt(pmod**2 + m2**2)
    zero = np.zeros_like(pmod)
    q1 = np.stack([e1, zero, zero, pmod], -1)
    q2 = np.stack([e2, zero, zero, -pmod], -1)
    eps1 = {
        0: np.stack([pmod, zero, zero, e1], -1) / m1[..., None] + 0j,
        1: np.stack([zero, -np.ones_like(pmod), -1j * np.ones_like(pmod), zero], -1) / np.sqrt(2),
        -1: np.stack([zero, np.ones_like(pmod), -1j * np.ones_like(pmod), zero], -1) / np.sqrt(2),
    }
    # Z2 moves along -z: its helicity states are those of +z rotated by pi about the y axis
    eps2 = {
        0: np.stack([pmod, zero, zero, -e2], -1) / m2[..., None] + 0j,
        1: np.stack([zero, np.ones_like(pmod), -1j * np.ones_like(pmod), zero], -1) / np.sqrt(2),
        -1: np.stack([zero, -np.ones_like(pmod), -1j * np.ones_like(pmod), zero], -1) / np.sqrt(2),
    }
    a1, a2, a3 = (float(c) for c in couplings)
    lower = np.diag(METRIC)
    q1q2 = minkowski_dot(q1, q2)[..., None, None]
    vertex = (
        a1 * ew.m_z**2 * METRIC
        + 2.0 * a2 * (q1q2 * METRIC - (q2 * lower)[..., :, None] * (q1 * lower)[..., None, :])
        + 2.0 * a3 * np.einsum("mnrs,...r,...s->...mn", LEVI_CIVITA, q1, q2)
    )
    out = [
        (2.0 / ew.vev) * np.einsum("...m,...mn,...n->...", np.conj(eps1[h]), vertex, np.conj(eps2[h]))
        for h in (0, 1, -1)
    ]
    return np.stack(out, axis=-1)
