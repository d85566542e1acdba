r"""The exact unlabelled likelihood of the golden channel at the detector level, by integration over the
detector's transfer function.

What "exact" can mean here. At the parton level the golden-channel event is z = the four lepton momenta
(plus a theta-independent recoil). The signal Higgs has a fixed mass (:mod:`columnminer.simulators.golden`):
every signal event has :math:`m_{4l} = m_H` exactly, while the background's :math:`m_{4l}` is continuous
(:mod:`columnminer.simulators._background`). The mixture density

.. math::

    p(z|\theta) = \frac{\sigma_s(\theta)\, p_s(z|\theta) + \sigma_b\, p_b(z)}{\sigma_s(\theta) + \sigma_b}

therefore has the signal on the surface :math:`m_{4l} = m_H`, where the background puts no probability: the
process label is a function of z, and the *labelled* parton-level likelihood of
:mod:`columnminer.inference.truth_limits` (every event's exact weight, background events a constant) *is*
the unlabelled parton-level :math:`p(z|\theta)`. The likelihood that an analysis of the detector-level
events x can at best reach is the one after the detector,

.. math::

    f(x|\theta) \equiv \sigma_s(\theta)\, p_s(x|\theta) + \sigma_b\, p_b(x)
    = \int dz\; T(x|z)\, \big[\sigma_s(\theta)\, p_s(z|\theta) + \sigma_b\, p_b(z)\big],
    \qquad p(x|\theta) = f(x|\theta) / \sigma_\text{sel}(\theta),

with T the transfer function of the demo's detector (:data:`columnminer._demo.config.DETECTOR`): per lepton
a Gaussian of the magnitude v (electrons: the energy, muons: p_T; width :math:`r\,v` of the true value) and
of :math:`\eta, \phi` (absolute widths), the other quantity of each lepton derived on shell (massless). The
reconstruction efficiencies are constants and the acceptance cuts (and the analysis's selection) are
functions of x alone: they multiply signal and background alike and drop out of the likelihood ratio;
:math:`\sigma_\text{sel}(\theta) = \int_\text{sel} f\, dx` is taken from the selected events' weights.

The integral, per measured event and exactly in expectation (Monte Carlo with ``n_samples`` points):

- the true angles are drawn from the transfer function itself (a Gaussian around the measured value);
- the signal density is, with respect to the Lorentz-invariant :math:`\prod_l d^3p_l/2E_l`,
  :math:`F\, c^T Q(z) c\; \delta(m_{4l} - m_H)\, h(P)`, :math:`F = \sigma_{ggH}/(\Gamma_H\, 2 m_H)`,
  Q the :math:`|M|^2` quadratic form, c = (1, a2, a3), :math:`h(P) = f(p_T) f(y) / (m_{4l} p_T)` the
  production spectrum of the four-lepton system (:func:`~columnminer.simulators._phasespace.production_density`)
  divided by the Jacobian :math:`d^4P = m\, dm\, p_T dp_T\, dy\, d\phi`;
- with the angles fixed, :math:`m_{4l}` is homogeneous of degree one in the four magnitudes v, so
  :math:`\int d^4v\, \delta(m_{4l}(v) - m_H) g(v) = m_H^3 \int d\sigma_c(u)\, g(m_H u)` over the cone measure of
  the surface :math:`m_{4l}(u) = 1`. Magnitudes w drawn from :math:`q(w) = \prod_l N(w_l; v'_l, r_l v'_l)`
  (v' measured) and projected, :math:`u = w / m_{4l}(w)`, have the density
  :math:`q_u(u) = \int_0^\infty \lambda^3 q(\lambda u)\, d\lambda
  = \prod_l (2\pi\tau_l^2)^{-1/2}\, e^{-(C - B^2/A)/2} \sqrt{2\pi/A}\, (\mu^3 + 3\mu/A)`
  (:math:`A = \sum u_l^2/\tau_l^2, B = \sum u_l v'_l/\tau_l^2, C = \sum v_l'^2/\tau_l^2, \mu = B/A`, the
  truncation at :math:`\lambda > 0` negligible at :math:`\mu\sqrt A \sim 1/r`), so the signal integral is the
  mean of :math:`m_H^3\, T(v'|m_H u)\, J\, F Q h / q_u(u)` (J the Jacobian of the magnitudes);
- the background density is :math:`\sigma_b |M_b(z)|^2 / (I_b \Delta m)\, h(P)` on its :math:`m_{4l}` window
  (:func:`~columnminer.simulators._background.background_normalisation`), integrated with the magnitudes drawn
  from q itself: the mean of :math:`T(v'|w) J\, \sigma_b |M_b|^2 h / (I_b \Delta m\, q(w))`.

Because :math:`|M|^2` is a quadratic form in c, the signal part is one 3x3 matrix per event,
:math:`f(x|\theta) = c^T A(x)\, c + b(x)`: the integral is done once and evaluated at every theta. Neglected
(all far below the Monte Carlo precision): the redraw of negative smeared magnitudes (:math:`\sim e^{-1250}`),
the lab-frame redraw of momentum fractions above one, and the rare events whose leptons change their pT
order. Constant factors common to signal and background ((2 pi)^n, efficiencies) are dropped.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SimulationError
from ._amplitudes import ElectroweakParameters, quadratic_form
from ._background import background_matrix_element, background_normalisation
from ._phasespace import production_density

__all__ = [
    "DetectorDensities",
    "LeptonTransfer",
    "background_normalisation",
    "detector_densities",
    "lepton_transfers",
]

logger = logging.getLogger(__name__)

#: Lepton order of the measured arrays: e-, e+, mu-, mu+ (as in the generator's records).
LEPTONS = ("e-", "e+", "mu-", "mu+")


@dataclass(frozen=True)
class LeptonTransfer:
    """Gaussian transfer function of one lepton flavour: the magnitude (``"energy"`` or ``"pt"``) with a
    relative resolution, eta and phi with absolute ones (all as in :class:`~columnminer.detector.Resolution`).

    Example:
        >>> LeptonTransfer("energy", 0.02, 0.002, 0.002).magnitude
        'energy'
    """

    magnitude: str
    relative: float
    eta: float
    phi: float

    def __post_init__(self) -> None:
        if self.magnitude not in ("energy", "pt"):
            raise SimulationError(
                f"LeptonTransfer.magnitude must be 'energy' or 'pt', got {self.magnitude!r}"
            )
        if not self.relative > 0 or self.eta < 0 or self.phi < 0:
            raise SimulationError("LeptonTransfer: the relative resolution must be positive, eta / phi >= 0")


def lepton_transfers(config: Any) -> tuple[LeptonTransfer, LeptonTransfer]:
    """(electron, muon) transfer functions of a :class:`~columnminer.detector.DetectorConfig` whose ``e`` and
    ``mu`` smear exactly one magnitude with a purely relative resolution and eta / phi with purely absolute
    ones (the demo's detector); anything else is refused (its likelihood is not what this module computes).

    Example:
        >>> from columnminer._demo.config import DETECTOR
        >>> [t.magnitude for t in lepton_transfers(DETECTOR)]
        ['energy', 'pt']
    """
    out = []
    for name in ("e", "mu"):
        cfg = getattr(config, name)
        if cfg is None:
            raise SimulationError(f"detector: no smearing of {name!r}; the detector-level density needs one")
        smeared = [(k, getattr(cfg, k)) for k in ("energy", "pt") if getattr(cfg, k) is not None]
        if len(smeared) != 1 or smeared[0][1].absolute != 0 or not smeared[0][1].relative > 0:
            raise SimulationError(
                f"detector {name!r}: exactly one of energy / pt must be smeared, with a relative resolution only"
            )
        if cfg.eta.relative != 0 or cfg.phi.relative != 0 or (cfg.mass not in (None, 0.0)):
            raise SimulationError(f"detector {name!r}: eta / phi need absolute resolutions, leptons massless")
        out.append(LeptonTransfer(smeared[0][0], smeared[0][1].relative, cfg.eta.absolute, cfg.phi.absolute))
    return out[0], out[1]


@dataclass(frozen=True)
class DetectorDensities:
    r"""Per measured event: :math:`f(x|\theta) = c^T A(x) c + b(x)` (common arbitrary units, see the module
    docstring).

    Attributes:
        signal_forms: A [n, 3, 3], :math:`\sigma_s(\theta) p_s(x|\theta) = c^T A c`, c = (1, a2, a3).
        background: b [n], :math:`\sigma_b p_b(x)`.
        signal_error, background_error: [n] relative Monte Carlo standard errors of :math:`c_{SM}^T A c_{SM}`
            and of b (0 where the value is 0).
        n_samples: integration points per event.

    Example:
        >>> d = DetectorDensities(np.eye(3)[None], np.array([0.5]), np.zeros(1), np.zeros(1), 16)
        >>> d.signal([[1.0, 0.0, 0.0]]), d.signal_probability([1.0, 0.0, 0.0])
        (array([[1.]]), array([0.66666667]))
    """

    signal_forms: np.ndarray
    background: np.ndarray
    signal_error: np.ndarray
    background_error: np.ndarray
    n_samples: int

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.background)

    def signal(self, couplings: Any) -> np.ndarray:
        """:math:`c^T A c` for couplings [T, 3] -> [T, n]."""
        c = np.atleast_2d(np.asarray(couplings, dtype=np.float64))
        return np.einsum("ti,nij,tj->tn", c, self.signal_forms, c)

    def log_density(self, couplings: Any) -> np.ndarray:
        r""":math:`\log f(x|\theta) = \log(c^T A c + b)` for couplings [T, 3] -> [T, n]."""
        with np.errstate(divide="ignore"):
            return np.log(self.signal(couplings) + self.background[None, :])

    def signal_probability(self, couplings: Any) -> np.ndarray:
        r"""Posterior signal probability :math:`c^T A c / (c^T A c + b)` at one coupling vector -> [n]."""
        s = self.signal(couplings)[0]
        total = s + self.background
        return np.divide(s, total, out=np.zeros_like(s), where=total > 0)


def _momenta(v: np.ndarray, eta: np.ndarray, phi: np.ndarray, energy_like: np.ndarray) -> np.ndarray:
    """Massless four-momenta [..., 4, 4] from magnitudes v (energy where ``energy_like`` [4], else pt)."""
    cosh = np.cosh(eta)
    pt = np.where(energy_like, v / cosh, v)
    return np.stack([pt * cosh, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)


def _mass(p: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1), 0.0))


def _common_log_factors(
    p: np.ndarray, v: np.ndarray, v_meas: np.ndarray, rel: np.ndarray, energy_like: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""log T(v'|v) + log J + log h, and m4l, m_ee, m_mumu of true momenta p [..., 4, 4]."""
    sigma = rel * v
    log_t = np.sum(-0.5 * ((v_meas - v) / sigma) ** 2 - np.log(math.sqrt(2 * math.pi) * sigma), axis=-1)
    pt = np.hypot(p[..., 1], p[..., 2])
    jac = np.where(energy_like, 0.5 * pt * pt / p[..., 0], 0.5 * pt)  # d^3p / 2E per dv deta dphi
    total = p.sum(axis=-2)
    m4l = _mass(total)
    pt4 = np.hypot(total[..., 1], total[..., 2])
    y4 = 0.5 * np.log((total[..., 0] + total[..., 3]) / (total[..., 0] - total[..., 3]))
    with np.errstate(divide="ignore"):
        log_h = np.log(production_density(pt4, y4)) - np.log(m4l * pt4)
    m1 = _mass(p[..., 0, :] + p[..., 1, :])
    m2 = _mass(p[..., 2, :] + p[..., 3, :])
    return log_t + np.sum(np.log(jac), axis=-1) + log_h, m4l, m1, m2


@dataclass(frozen=True)
class _Draws:
    """Monte Carlo points of a chunk of m events, k per event: measured magnitudes ``v_meas`` [m, 1, 4], drawn
    eta, phi and magnitudes ``w`` [m, k, 4], the proposal widths ``tau``, log proposal density [m, k] and the
    four-momenta ``p`` [m, k, 4, 4] of the drawn points."""

    v_meas: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    w: np.ndarray
    tau: np.ndarray
    log_q: np.ndarray
    p: np.ndarray


@dataclass(frozen=True)
class _Smearing:
    """The transfer functions of (e-, e+, mu-, mu+) as arrays [4]: energy or p_T magnitude, relative width
    of the magnitude, widths in eta and phi."""

    energy_like: np.ndarray
    rel: np.ndarray
    s_eta: np.ndarray
    s_phi: np.ndarray

    @classmethod
    def of(cls, electron: LeptonTransfer, muon: LeptonTransfer) -> _Smearing:
        transfers = (electron, electron, muon, muon)
        return cls(
            np.array([t.magnitude == "energy" for t in transfers]),
            np.array([t.relative for t in transfers]),
            np.array([t.eta for t in transfers]),
            np.array([t.phi for t in transfers]),
        )

    def draw(self, xc: np.ndarray, k: int, rng: np.random.Generator) -> _Draws:
        """k proposal points around each measured event of ``xc`` [m, 4, 3] (Gaussian in eta, phi and the
        magnitude, folded to positive magnitudes)."""
        m = len(xc)
        pt_m, eta_m, phi_m = xc[..., 0], xc[..., 1], xc[..., 2]
        v_meas = np.where(self.energy_like, pt_m * np.cosh(eta_m), pt_m)[:, None, :]  # [m, 1, 4]
        eta = eta_m[:, None, :] + self.s_eta * rng.standard_normal((m, k, 4))
        phi = phi_m[:, None, :] + self.s_phi * rng.standard_normal((m, k, 4))
        tau = self.rel * v_meas
        w = np.abs(v_meas + tau * rng.standard_normal((m, k, 4)))
        log_q = np.sum(-0.5 * ((w - v_meas) / tau) ** 2 - np.log(math.sqrt(2 * math.pi) * tau), axis=-1)
        return _Draws(v_meas, eta, phi, w, tau, log_q, _momenta(w, eta, phi, self.energy_like))


def _background_weights(
    d: _Draws,
    sm: _Smearing,
    ew: ElectroweakParameters,
    log_b_norm: float,
    m4l_range: tuple[float, float],
    m_ll_min: float,
) -> np.ndarray:
    """Importance weights [m, k] of b(x): the magnitudes are the proposal's draws."""
    p_b = d.p
    log_c, m4l, m1, m2 = _common_log_factors(p_b, d.w, d.v_meas, sm.rel, sm.energy_like)
    inside = (m4l > m4l_range[0]) & (m4l < m4l_range[1]) & (m1 > m_ll_min) & (m2 > m_ll_min)
    me_b = background_matrix_element(p_b, ew)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inside, np.exp(log_c - d.log_q + log_b_norm) * me_b, 0.0)


def _signal_weights(d: _Draws, sm: _Smearing, channel: Any) -> np.ndarray:
    """Importance weights [m, k, 3, 3] of A(x): the draws projected on the surface m4l = m_H, weighted by
    1 / q_u (the proposal density along the projection)."""
    ew: ElectroweakParameters = channel.ew
    m_h = ew.m_h
    m, k = d.log_q.shape
    u = d.w / _mass(d.p.sum(axis=-2))[..., None]
    a = np.sum(u**2 / d.tau**2, axis=-1)
    b = np.sum(u * d.v_meas / d.tau**2, axis=-1)
    c = np.sum(d.v_meas**2 / d.tau**2, axis=-1)
    mu = b / a
    log_qu = (
        np.sum(-np.log(math.sqrt(2 * math.pi) * d.tau), axis=-1)
        - 0.5 * (c - b * b / a)
        + 0.5 * np.log(2 * math.pi / a)
        + np.log(mu**3 + 3 * mu / a)
    )
    v_s = m_h * u
    p_s = _momenta(v_s, d.eta, d.phi, sm.energy_like)
    log_c, _, m1, m2 = _common_log_factors(p_s, v_s, d.v_meas, sm.rel, sm.energy_like)
    allowed = (m1 > channel.m_ll_min) & (m2 > channel.m_ll_min)
    log_f = math.log(channel._weight_factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(allowed, np.exp(3 * math.log(m_h) + log_c - log_qu + log_f), 0.0)
    q = quadratic_form(p_s.reshape(-1, 4, 4), ew).reshape(m, k, 3, 3)
    return scale[..., None, None] * q


def detector_densities(
    measured: Any,
    *,
    electron: LeptonTransfer,
    muon: LeptonTransfer,
    channel: Any = None,
    background_cross_section_pb: float = 1.0e-3,
    background_m4l_range: tuple[float, float] = (115.0, 135.0),
    background_m_ll_min: float = 12.0,
    background_integral: float | None = None,
    n_samples: int = 64,
    seed: int | None = 0,
    chunk_size: int = 512,
) -> DetectorDensities:
    r"""The detector-level signal forms A(x) and background density b(x) of measured golden-channel events
    (module docstring): :math:`f(x|\theta) = c^T A(x) c + b(x)`, in one common unit for signal and background.

    ``measured`` [n, 4, 3]: (p_T [GeV], eta, phi) of the reconstructed e-, e+, mu-, mu+. ``electron`` /
    ``muon``: their transfer functions (:func:`lepton_transfers` of the detector that made them).
    ``channel``: the :class:`~columnminer.simulators.golden.GoldenChannel` of the signal (default one);
    ``background_*``: the settings of :func:`~columnminer.simulators._background.background_events` (its
    cross section in pb, m4l window, pair-mass cut) and its normalisation integral :math:`I_b` (computed with
    :func:`~columnminer.simulators._background.background_normalisation` when None). ``n_samples`` Monte
    Carlo points per event (drawn with ``seed``), ``chunk_size`` events at a time.

    Example:
        >>> from columnminer._demo.config import DETECTOR
        >>> e, mu = lepton_transfers(DETECTOR)
        >>> x = np.array([[[40.0, 0.3, 0.1], [30.0, -0.5, 2.0], [25.0, 1.0, -2.5], [15.0, 0.1, -0.9]]])
        >>> d = detector_densities(x, electron=e, muon=mu, n_samples=16, background_integral=1.47e-6)
        >>> d.signal_forms.shape, bool(d.background[0] >= 0)
        ((1, 3, 3), True)
    """
    from .golden import GoldenChannel

    channel = channel or GoldenChannel()
    ew: ElectroweakParameters = channel.ew
    x = np.asarray(measured, dtype=np.float64)
    if x.ndim != 3 or x.shape[1:] != (4, 3) or not np.all(np.isfinite(x)) or np.any(x[..., 0] <= 0):
        raise SimulationError(
            f"measured must be finite [n, 4, 3] (pt > 0, eta, phi of e-, e+, mu-, mu+), got shape {x.shape}"
        )
    if int(n_samples) < 2:
        raise SimulationError(f"n_samples must be at least 2, got {n_samples}")
    k = int(n_samples)
    low, high = (float(v) for v in background_m4l_range)
    if background_integral is None:
        background_integral = background_normalisation(
            m4l_range=(low, high), m_ll_min=background_m_ll_min, ew=ew, seed=seed
        )[0]
    log_b_norm = math.log(float(background_cross_section_pb) / (float(background_integral) * (high - low)))
    smearing = _Smearing.of(electron, muon)
    rng = np.random.default_rng(seed)
    n = len(x)
    forms = np.zeros((n, 3, 3))
    background = np.zeros(n)
    signal_error = np.zeros(n)
    background_error = np.zeros(n)
    c_sm = channel.couplings(np.zeros(2))
    for start in range(0, n, int(chunk_size)):
        draws = smearing.draw(x[start : start + int(chunk_size)], k, rng)
        m = len(draws.v_meas)
        wb = _background_weights(draws, smearing, ew, log_b_norm, (low, high), background_m_ll_min)
        ws = _signal_weights(draws, smearing, channel)
        forms[start : start + m] = ws.mean(axis=1)
        background[start : start + m] = wb.mean(axis=1)
        sm = np.einsum("i,mkij,j->mk", c_sm, ws, c_sm)
        for values, out in ((sm, signal_error), (wb, background_error)):
            mean = values.mean(axis=1)
            err = values.std(axis=1, ddof=1) / math.sqrt(k)
            out[start : start + m] = np.divide(err, mean, out=np.zeros(m), where=mean > 0)
    if not (np.all(np.isfinite(forms)) and np.all(np.isfinite(background))):
        raise SimulationError("detector_densities: non-finite densities (measured values out of range?)")
    logger.info(
        "detector-level densities of %d events (%d points each): median MC error signal %.3f, background %.3f",
        n,
        k,
        float(np.median(signal_error)),
        float(np.median(background_error)),
    )
    return DetectorDensities(forms, background, signal_error, background_error, k)
