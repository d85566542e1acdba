r"""The H -> Z Z* -> 2e2mu observables as columns of the event model: masses and the five decay angles.

Z1 is the same-flavour, opposite-charge pair whose mass is closer to m_Z, Z2 the other. In the
four-lepton rest frame, with :math:`\hat n_i \propto \vec p_{i^-} \times \vec p_{i^+}` and the beam axis
:math:`\hat z` (Gao et al., arXiv:1001.3396; Bolognesi et al., arXiv:1208.4018):

- :math:`\Phi = \mathrm{sign}(\hat q_1 \cdot (\hat n_1 \times \hat n_2))\arccos(-\hat n_1 \cdot \hat n_2)`,
  the angle between the two decay planes, in (-pi, pi];
- :math:`\Phi_1`: the same between the Z1 decay plane and the (beam, Z1) plane;
- :math:`\cos\theta^*`: the Z1 direction against the beam axis;
- :math:`\cos\theta_{1,2}`: the negative lepton of Z1 (Z2) against the direction opposite to the other Z,
  in the Z1 (Z2) rest frame.

Events without exactly the needed leptons (one e-, one e+, one mu-, one mu+) give None.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from .analysis import Analysis

__all__ = [
    "M_Z_GEV",
    "OBSERVABLES",
    "OBSERVABLE_INFO",
    "add_four_lepton_observables",
    "first_with_charge",
    "four_lepton_observables",
    "z_candidates",
]

#: The observables, in the order they are added to an analysis.
OBSERVABLES = (
    "m4l",
    "mZ1",
    "mZ2",
    "pt4l",
    "y4l",
    "cos_theta_star",
    "cos_theta1",
    "cos_theta2",
    "Phi",
    "Phi1",
)
#: Axis label (mathtext) and unit of every observable (masses and momenta GeV, angles rad, cosines and the
#: rapidity dimensionless), as :meth:`~columnminer.analysis.Analysis.observable_info` reports them.
OBSERVABLE_INFO = {
    "m4l": {"label": r"$m_{4\ell}$", "unit": "GeV"},
    "mZ1": {"label": r"$m_{Z_1}$", "unit": "GeV"},
    "mZ2": {"label": r"$m_{Z_2}$", "unit": "GeV"},
    "pt4l": {"label": r"$p_T^{4\ell}$", "unit": "GeV"},
    "y4l": {"label": r"$y_{4\ell}$", "unit": ""},
    "cos_theta_star": {"label": r"$\cos\theta^*$", "unit": ""},
    "cos_theta1": {"label": r"$\cos\theta_1$", "unit": ""},
    "cos_theta2": {"label": r"$\cos\theta_2$", "unit": ""},
    "Phi": {"label": r"$\Phi$", "unit": "rad"},
    "Phi1": {"label": r"$\Phi_1$", "unit": "rad"},
}
#: The Z mass used to choose Z1, GeV.
M_Z_GEV = 91.1876


def first_with_charge(collection: ak.Array, sign: float) -> ak.Array:
    """Per event, the first object of ``collection`` whose charge has the sign of ``sign`` (None if none).

    Example:
        >>> leptons = ak.Array([[{"charge": -1.0, "pt": 30.0}, {"charge": 1.0, "pt": 20.0}], []])
        >>> first_with_charge(leptons, +1).pt.tolist()
        [20.0, None]
    """
    return ak.firsts(collection[collection.charge * sign > 0])


def z_candidates(events: ak.Array) -> tuple[ak.Array, ak.Array, ak.Array, ak.Array]:
    """(Z1 negative lepton, Z1 positive lepton, Z2 negative, Z2 positive) for 2e2mu events.

    The leading e-, e+, mu-, mu+ form the ee and mumu pairs; Z1 is the pair closer to m_Z (``M_Z_GEV``).

    Example:
        >>> from columnminer.events import build_collection
        >>> def leptons(pt, eta, phi, pdgid):  # one event, massless leptons, charge from the PDG id
        ...     pt, eta = np.array(pt), np.array(eta)
        ...     arrays = [pt, eta, phi, pt * np.cosh(eta), -np.sign(pdgid), pdgid]
        ...     return build_collection(*(ak.Array([list(a)]) for a in arrays))
        >>> events = ak.zip({"e": leptons([40.0, 30.0], [0.1, -0.4], [0.0, 2.5], [11, -11]),
        ...                  "mu": leptons([20.0, 10.0], [1.0, 0.2], [1.0, -2.0], [13, -13])}, depth_limit=1)
        >>> z1_minus, z1_plus, z2_minus, z2_plus = z_candidates(events)
        >>> z1_minus.pdgid.tolist(), z2_plus.pdgid.tolist()
        ([11], [-13])
    """
    e_minus, e_plus = first_with_charge(events.e, -1.0), first_with_charge(events.e, +1.0)
    mu_minus, mu_plus = first_with_charge(events.mu, -1.0), first_with_charge(events.mu, +1.0)
    ee_first = abs((e_minus + e_plus).mass - M_Z_GEV) <= abs((mu_minus + mu_plus).mass - M_Z_GEV)
    ee_first = ak.fill_none(ee_first, True)
    return (
        ak.where(ee_first, e_minus, mu_minus),
        ak.where(ee_first, e_plus, mu_plus),
        ak.where(ee_first, mu_minus, e_minus),
        ak.where(ee_first, mu_plus, e_plus),
    )


def _four_momenta(lepton: ak.Array) -> np.ndarray:
    """[n, 4] (E, px, py, pz) in GeV, NaN where the lepton is missing."""
    return np.stack(
        [
            np.asarray(ak.to_numpy(ak.fill_none(getattr(lepton, c), np.nan)), dtype=np.float64)
            for c in ("E", "px", "py", "pz")
        ],
        axis=-1,
    )


def _boost_to_rest(p: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Lorentz-boost four-momenta p [..., 4] into the rest frame of ``frame`` [..., 4] (E, px, py, pz)."""
    beta = -frame[..., 1:] / frame[..., :1]
    b2 = np.sum(beta**2, axis=-1, keepdims=True)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p[..., 1:], axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(b2 > 0, (gamma - 1.0) * bp / b2, 0.0)
    energy = gamma * (p[..., :1] + bp)
    return np.concatenate([energy, p[..., 1:] + factor * beta + gamma * beta * p[..., :1]], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _mass(p: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1), 0.0))


def _signed_angle(a: np.ndarray, b: np.ndarray, axis: np.ndarray) -> np.ndarray:
    sign = np.sign(np.sum(axis * np.cross(a, b), axis=-1))
    sign = np.where(sign == 0, 1.0, sign)
    return sign * np.arccos(np.clip(-np.sum(a * b, axis=-1), -1.0, 1.0))


def four_lepton_observables(events: ak.Array) -> dict[str, np.ndarray]:
    """``m4l``, ``mZ1``, ``mZ2``, ``pt4l`` (GeV), ``y4l`` and the five angles (see the module docstring),
    as float64 columns with NaN for events that are not 2e2mu.

    Example:
        >>> from columnminer.events import build_collection
        >>> def leptons(pt, eta, phi, pdgid):  # two events, the second without leptons
        ...     pt, eta = np.array(pt), np.array(eta)
        ...     arrays = [pt, eta, phi, pt * np.cosh(eta), -np.sign(pdgid), pdgid]
        ...     return build_collection(*(ak.Array([list(a), []]) for a in arrays))
        >>> events = ak.zip({"e": leptons([40.0, 30.0], [0.1, -0.4], [0.0, 2.5], [11, -11]),
        ...                  "mu": leptons([20.0, 10.0], [1.0, 0.2], [1.0, -2.0], [13, -13])}, depth_limit=1)
        >>> columns = four_lepton_observables(events)
        >>> list(columns) == list(OBSERVABLES), np.isnan(columns["m4l"]).tolist()
        (True, [False, True])
        >>> bool(-np.pi < columns["Phi"][0] <= np.pi), bool(-1 <= columns["cos_theta1"][0] <= 1)
        (True, True)
    """
    leptons = np.stack([_four_momenta(lepton) for lepton in z_candidates(events)], axis=1)  # [n, 4, 4]
    total = leptons.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = _boost_to_rest(leptons, total[:, None, :])
        z1, z2 = rest[:, 0] + rest[:, 1], rest[:, 2] + rest[:, 3]
        n1 = _unit(np.cross(rest[:, 0, 1:], rest[:, 1, 1:]))
        n2 = _unit(np.cross(rest[:, 2, 1:], rest[:, 3, 1:]))
        q1 = _unit(z1[:, 1:])
        n_sc = _unit(np.cross(np.broadcast_to([0.0, 0.0, 1.0], q1.shape), q1))

        def cos_helicity(lepton: np.ndarray, own: np.ndarray, other: np.ndarray) -> np.ndarray:
            return -np.sum(
                _unit(_boost_to_rest(lepton, own)[:, 1:]) * _unit(_boost_to_rest(other, own)[:, 1:]), axis=-1
            )

        pt = np.hypot(total[:, 1], total[:, 2])
        return {
            "m4l": _mass(total),
            "mZ1": _mass(leptons[:, 0] + leptons[:, 1]),
            "mZ2": _mass(leptons[:, 2] + leptons[:, 3]),
            "pt4l": pt,
            "y4l": 0.5 * np.log((total[:, 0] + total[:, 3]) / (total[:, 0] - total[:, 3])),
            "cos_theta_star": q1[:, 2],
            "cos_theta1": cos_helicity(rest[:, 0], z1, z2),
            "cos_theta2": cos_helicity(rest[:, 2], z2, z1),
            "Phi": _signed_angle(n1, n2, q1),
            "Phi1": _signed_angle(n1, n_sc, q1),
        }


def add_four_lepton_observables(analysis: Analysis, required: bool = True) -> None:
    """Add the observables of :func:`four_lepton_observables` to ``analysis``, with their axis labels and
    units (:data:`OBSERVABLE_INFO`; required: events without a 2e2mu final state are dropped).

    Example:
        >>> analysis = Analysis()
        >>> add_four_lepton_observables(analysis)
        >>> analysis.observable_names[:3], analysis.observable_info()["mZ2"]
        (['m4l', 'mZ1', 'mZ2'], {'label': '$m_{Z_2}$', 'unit': 'GeV'})
    """
    cache: list = [None, None]  # computed once per events array, not once per observable

    def observables(events: ak.Array) -> dict[str, np.ndarray]:
        if cache[0] is not events:
            cache[:] = [events, four_lepton_observables(events)]
        return cache[1]

    for name in OBSERVABLES:
        analysis.add_observable(
            name, lambda ev, name=name: observables(ev)[name], required=required, **OBSERVABLE_INFO[name]
        )
