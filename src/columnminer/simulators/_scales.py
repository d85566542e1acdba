r"""A simplified QCD scale dependence of the golden channel: per-event renormalisation / factorisation factors.

This is a *model*, not a calculation: smooth, theta-independent per-event factors with the sign and the size
of the leading-order scale dependence, so that scale nuisances can be tested end to end. For a variation of
the renormalisation and factorisation scales :math:`\mu_R = k_R \mu_0`, :math:`\mu_F = k_F \mu_0` the weight
of an event with four-lepton (Higgs) transverse momentum :math:`p_T` becomes

.. math::

    w(k_R, k_F) = w \cdot R(k_R, p_T) \cdot F(k_F, p_T), \qquad
    R = \left[\frac{\alpha_s(k_R \mu_0)}{\alpha_s(\mu_0)}\right]^{n + h(p_T)}, \qquad
    F = k_F^{\,c_F\, (2 h(p_T) - 1)}, \qquad h(p_T) = \frac{p_T^2}{p_T^2 + p_0^2},

with the one-loop running coupling (five flavours)

.. math::

    \alpha_s(\mu) = \frac{\alpha_s(m_Z)}{1 + \alpha_s(m_Z)\, b_0 \log(\mu^2 / m_Z^2)}, \qquad
    b_0 = \frac{33 - 2 n_f}{12 \pi} = 0.610, \quad \alpha_s(m_Z) = 0.118, \quad m_Z = 91.1876\ \mathrm{GeV}.

- ``mur``: the coupling power :math:`n` (2 for gluon fusion at LO, 0 for q qbar -> ZZ) grows smoothly to
  :math:`n + 1` in the hard tail (:math:`h \to 1` for :math:`p_T \gg p_0`: H + jet is of order
  :math:`\alpha_s^3`): a normalisation with a mild shape.
- ``muf``: a pure shape, raising :math:`\mu_F` hardens the spectrum (events below :math:`p_0` lose,
  events above gain, up to :math:`k_F^{\pm c_F}`); its sign is a convention of the model.
- :math:`R = F = 1` exactly at :math:`k_R = k_F = 1`, both factors are positive for every k.

Sizes for gluon fusion (:data:`GGH_SCALES`: :math:`\mu_0 = m_H = 125` GeV, :math:`n = 2`, :math:`c_F = 0.1`,
:math:`p_0 = 15` GeV): :math:`\alpha_s(m_H) = 0.1129`, :math:`\alpha_s(2 m_H) = 0.1030`,
:math:`\alpha_s(m_H/2) = 0.1248`, so the normalisation at low :math:`p_T` moves by -16.7 % (k_R = 2) and
+22.2 % (k_R = 1/2), in the tail by -23.9 % / +35.1 %; the factorisation shape by at most
:math:`2^{\pm 0.1} - 1 = +7.2 / -6.7` %. Averaged over the golden channel's Higgs spectrum (Gamma(1.6, 12.5
GeV), median 16 GeV) the cross section moves by +28.6 % (k_R = 1/2) and -20.4 % (k_R = 2), by less than
0.2 % for k_F alone (a shape), and by +28.5 % / -20.4 % for k_R = k_F. The q qbar -> ZZ background
(:data:`QQZZ_SCALES`) is :math:`\alpha_s`-independent at LO (n = 0, no extra power) and only gets a
weaker shape, :math:`c_F = 0.05` (at most 3.5 %), with :math:`\mu_0 = 2 m_Z`.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GGH_SCALES",
    "QQZZ_SCALES",
    "ScaleModel",
    "alpha_s",
    "scale_points",
    "scale_weight_attributes",
    "scale_weight_id",
    "scale_weights",
]

logger = logging.getLogger(__name__)

#: alpha_s(m_Z), m_Z (GeV) and the number of light flavours of the one-loop running.
ALPHA_S_MZ = 0.118
M_Z = 91.1876
N_FLAVOURS = 5


def alpha_s(
    mu: float | np.ndarray, alpha_s_mz: float = ALPHA_S_MZ, m_z: float = M_Z, n_f: int = N_FLAVOURS
) -> np.ndarray:
    r"""One-loop running :math:`\alpha_s(\mu) = \alpha_s(m_Z) / (1 + \alpha_s(m_Z) b_0 \log(\mu^2/m_Z^2))`,
    :math:`b_0 = (33 - 2 n_f)/(12\pi)`, for scales ``mu`` in GeV (any shape).

    Example:
        >>> round(float(alpha_s(91.1876)), 4), round(float(alpha_s(125.0)), 4)
        (0.118, 0.1129)
    """
    mu = np.asarray(mu, dtype=np.float64)
    if np.any(mu <= 0):
        raise ValueError("alpha_s needs positive scales")
    b0 = (33.0 - 2.0 * n_f) / (12.0 * math.pi)
    return alpha_s_mz / (1.0 + alpha_s_mz * b0 * np.log(mu**2 / m_z**2))


@dataclass(frozen=True)
class ScaleModel:
    r"""Per-event scale factors :math:`R(k_R, p_T)\, F(k_F, p_T)` (formulas in the module docstring).

    Attributes:
        mu0: central scale :math:`\mu_0` (GeV).
        alpha_s_power: the LO power n of :math:`\alpha_s` (2 for gg -> H, 0 for q qbar -> ZZ).
        tail_power: the extra power reached in the hard tail (1: H + jet; 0: none).
        muf_shape: :math:`c_F`, the strength of the factorisation-scale shape.
        pt_ref: :math:`p_0` (GeV), where the shape changes sign and the tail power is half on.

    Example:
        >>> m = ScaleModel()
        >>> m.factors([10.0, 40.0], 1.0, 1.0).tolist()
        [1.0, 1.0]
        >>> bool(m.factors(10.0, 2.0, 1.0) < 1 < m.factors(10.0, 0.5, 1.0))
        True
    """

    mu0: float = 125.0
    alpha_s_power: float = 2.0
    tail_power: float = 1.0
    muf_shape: float = 0.1
    pt_ref: float = 15.0

    def tail_fraction(self, pt: float | np.ndarray) -> np.ndarray:
        r""":math:`h(p_T) = p_T^2 / (p_T^2 + p_0^2)` in [0, 1)."""
        pt2 = np.asarray(pt, dtype=np.float64) ** 2
        return pt2 / (pt2 + self.pt_ref**2)

    def renormalisation(self, pt: float | np.ndarray, k_r: float | np.ndarray) -> np.ndarray:
        r""":math:`R(k_R, p_T) = [\alpha_s(k_R\mu_0)/\alpha_s(\mu_0)]^{n + t\, h(p_T)}` (broadcast)."""
        k_r = np.asarray(k_r, dtype=np.float64)
        ratio = alpha_s(k_r * self.mu0) / alpha_s(self.mu0)
        return ratio ** (self.alpha_s_power + self.tail_power * self.tail_fraction(pt))

    def factorisation(self, pt: float | np.ndarray, k_f: float | np.ndarray) -> np.ndarray:
        r""":math:`F(k_F, p_T) = k_F^{c_F (2 h(p_T) - 1)}` (broadcast)."""
        k_f = np.asarray(k_f, dtype=np.float64)
        if np.any(k_f <= 0):
            raise ValueError("scale factors must be positive")
        return k_f ** (self.muf_shape * (2.0 * self.tail_fraction(pt) - 1.0))

    def factors(self, pt: float | np.ndarray, k_r: float | np.ndarray, k_f: float | np.ndarray) -> np.ndarray:
        """The weight factor :math:`R(k_R, p_T) F(k_F, p_T)` for transverse momenta ``pt`` (GeV); the three
        arguments broadcast against each other."""
        return self.renormalisation(pt, k_r) * self.factorisation(pt, k_f)


#: Gluon fusion gg -> H: mu0 = m_H, alpha_s^2 at LO, alpha_s^3 in the H + jet tail, c_F = 0.1.
GGH_SCALES = ScaleModel(mu0=125.0, alpha_s_power=2.0, tail_power=1.0, muf_shape=0.1, pt_ref=15.0)
#: q qbar -> ZZ: alpha_s-independent at LO, only a weak factorisation-scale shape, mu0 = 2 m_Z.
QQZZ_SCALES = ScaleModel(mu0=2.0 * M_Z, alpha_s_power=0.0, tail_power=0.0, muf_shape=0.05, pt_ref=15.0)


def scale_points(variations: Sequence[float]) -> list[tuple[float, float]]:
    """(k_R, k_F) of MadGraph's ``systematics`` scale weights: the nominal (1, 1) first, then every other
    combination of the factors, k_R outer and k_F inner (MadGraph's order). The factor 1 is always among
    them, so that muR-only and muF-only variations exist: (0.5, 2) gives the same 9 points as (0.5, 1, 2).

    Example:
        >>> scale_points((0.5, 1.0, 2.0))[:4]
        [(1.0, 1.0), (0.5, 0.5), (0.5, 1.0), (0.5, 2.0)]
        >>> len(scale_points((0.5, 1.0, 2.0))), len(scale_points((0.5, 2.0)))
        (9, 9)
    """
    factors = sorted({float(k) for k in variations} | {1.0})
    if not factors or any(not (k > 0 and math.isfinite(k)) for k in factors):
        raise ValueError(f"scale variations must be positive and finite, got {tuple(variations)}")
    points = [(1.0, 1.0)]
    points += [p for p in itertools.product(factors, factors) if p != (1.0, 1.0)]
    return points


def _tag(k: float) -> str:
    return f"{k:g}".replace(".", "p").replace("-", "m").replace("+", "")


def scale_weight_id(k_r: float, k_f: float) -> str:
    """The LHE weight id of a scale point, e.g. ``mur0p5_muf2`` (no dots, so it is a plain field name).

    Example:
        >>> scale_weight_id(0.5, 2.0), scale_weight_id(1.0, 1.0)
        ('mur0p5_muf2', 'mur1_muf1')
    """
    return f"mur{_tag(k_r)}_muf{_tag(k_f)}"


def scale_weight_attributes(k_r: float, k_f: float) -> tuple[dict[str, str], str]:
    """MadGraph-systematics attributes and text of a scale weight: ``MUR="0.5" MUF="2.0"`` and
    ``MUR=0.5 MUF=2.0`` (factors equal to 1 left out of the text, as MadGraph does).

    Example:
        >>> scale_weight_attributes(0.5, 1.0)
        ({'MUR': '0.5', 'MUF': '1.0'}, 'MUR=0.5')
    """
    attributes = {"MUR": str(float(k_r)), "MUF": str(float(k_f))}
    text = " ".join(f"{key}={value}" for key, value in attributes.items() if float(value) != 1.0)
    return attributes, text


def scale_weights(
    nominal: np.ndarray, pt: np.ndarray, variations: Sequence[float], model: ScaleModel = GGH_SCALES
) -> dict[str, np.ndarray]:
    """Weight id -> per-event weights ``nominal * model.factors(pt, k_R, k_F)`` at every :func:`scale_points`
    point (the nominal, id ``mur1_muf1``, first and unchanged).

    Example:
        >>> w = scale_weights(np.array([2.0]), np.array([15.0]), (0.5, 1.0, 2.0))
        >>> list(w)[:3], float(w["mur1_muf1"][0]), round(float(w["mur1_muf2"][0]), 12)
        (['mur1_muf1', 'mur0p5_muf0p5', 'mur0p5_muf1'], 2.0, 2.0)
    """
    nominal = np.asarray(nominal, dtype=np.float64)
    pt = np.asarray(pt, dtype=np.float64)
    out = {}
    for k_r, k_f in scale_points(variations):
        factor = 1.0 if (k_r, k_f) == (1.0, 1.0) else model.factors(pt, k_r, k_f)
        out[scale_weight_id(k_r, k_f)] = nominal * factor
    logger.debug("scale weights at %d points for %d events", len(out), nominal.size)
    return out
