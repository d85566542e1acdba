r"""The event model: pt-ordered object collections with ``vector`` behaviour, and helpers to use them.

An events array (one record per event) has

- ``particles``: every particle of the event in LHE order, as read (Momentum4D, px/py/pz/e);
- ``e``, ``mu``, ``a`` (photons), ``j`` (jets or final-state partons): jagged collections ordered by
  decreasing pt, each object a ``Momentum4D`` record with fields ``pt`` (GeV), ``eta``, ``phi``, ``E``
  (GeV) plus ``charge`` (units of e) and ``pdgid``;
- ``met``: one ``Momentum2D`` record per event (``pt``, ``phi``, GeV): the transverse momentum of the
  invisible particles at parton level, or the detector's missing transverse momentum;
- ``weights`` (a record with one field per weight id or benchmark) and ``sampled_from`` when known.

Analyses use vector's properties (``.pt``, ``.eta``, ``.mass``, ``+``, ``.deltaphi``) and the helpers
below (:func:`nth`, :func:`padded`, :func:`pair_sum`, :func:`signed_delta_phi`, :func:`column`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import awkward as ak
import numpy as np
import vector

from .errors import InputFormatError

__all__ = [
    "CHARGED_LEPTONS",
    "INVISIBLES",
    "JET_PARTONS",
    "build_collection",
    "column",
    "event_model_from_lhe",
    "leptons",
    "make_met",
    "nth",
    "padded",
    "pair_sum",
    "pdg_charge",
    "signed_delta_phi",
]

logger = logging.getLogger(__name__)
vector.register_awkward()

#: ``abs(pdg id)`` of the final-state particles sorted into each collection at parton level.
CHARGED_LEPTONS = {"e": (11,), "mu": (13,)}
PHOTONS = (22,)
JET_PARTONS = (1, 2, 3, 4, 5, 21)
#: ``abs(pdg id)`` of particles that leave no trace: neutrinos and the lightest neutralino.
INVISIBLES = (12, 14, 16, 1000022)


def pdg_charge(pdgid: np.ndarray | ak.Array) -> np.ndarray | ak.Array:
    """Electric charge in units of e from PDG ids: quarks, charged leptons, W; 0 for everything else.

    Example:
        >>> pdg_charge(np.array([11, -11, 2, -1, 21, 24])).tolist()
        [-1.0, 1.0, 0.6666666666666666, 0.3333333333333333, 0.0, 1.0]
    """
    ids = np.asarray(pdgid) if not isinstance(pdgid, ak.Array) else pdgid
    absolute = abs(ids)
    sign = np.sign(ids)
    lepton = ((absolute == 11) | (absolute == 13) | (absolute == 15)) * -1.0
    up = ((absolute == 2) | (absolute == 4) | (absolute == 6)) * (2.0 / 3.0)
    down = ((absolute == 1) | (absolute == 3) | (absolute == 5)) * (-1.0 / 3.0)
    w = (absolute == 24) * 1.0
    return sign * (lepton + up + down + w)


def build_collection(pt, eta, phi, energy, charge, pdgid) -> ak.Array:
    """A pt-ordered Momentum4D collection from jagged pt (GeV), eta, phi, E (GeV), charge and pdgid.

    Example:
        >>> c = build_collection(ak.Array([[10.0, 30.0]]), ak.Array([[0.0, 1.0]]), ak.Array([[0.0, 0.5]]),
        ...                      ak.Array([[10.0, 50.0]]), ak.Array([[-1.0, 1.0]]), ak.Array([[11, -11]]))
        >>> c.pt.tolist(), c.charge.tolist()
        ([[30.0, 10.0]], [[1.0, -1.0]])
    """
    record = ak.zip(
        {"pt": pt, "eta": eta, "phi": phi, "E": energy, "charge": charge, "pdgid": pdgid},
        with_name="Momentum4D",
    )
    order = ak.argsort(record.pt, axis=1, ascending=False, stable=True)
    return record[order]


def make_met(px: np.ndarray | ak.Array, py: np.ndarray | ak.Array) -> ak.Array:
    """One Momentum2D record per event (``pt``, ``phi`` in GeV / rad) from the missing px, py.

    Example:
        >>> make_met(np.array([3.0]), np.array([4.0])).pt.tolist()
        [5.0]
    """
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    return ak.zip({"pt": np.hypot(px, py), "phi": np.arctan2(py, px)}, with_name="Momentum2D")


def _select(particles: ak.Array, ids: tuple[int, ...]) -> ak.Array:
    absolute = abs(particles.id)
    mask = particles.status == 1
    chosen = absolute == ids[0]
    for pid in ids[1:]:
        chosen = chosen | (absolute == pid)
    selected = particles[mask & chosen]
    return build_collection(
        selected.pt, selected.eta, selected.phi, selected.e, pdg_charge(selected.id), selected.id
    )


def event_model_from_lhe(lhe: ak.Array, sampled_from: int | None = None) -> ak.Array:
    """Parton-level event model from LHE events as read by :func:`columnminer.io.lhe.read_lhe`.

    Final-state (status 1) electrons, muons, photons and partons (quarks u..b, gluons) become ``e``,
    ``mu``, ``a`` and ``j``; the transverse momentum of status-1 invisibles (neutrinos, neutralino 1000022)
    becomes ``met``. ``particles``, ``weights`` and the event-info fields are kept.

    Example:
        >>> from columnminer.io.lhe import read_lhe  # doctest: +SKIP
        >>> events = event_model_from_lhe(read_lhe("signal.lhe.gz"))  # doctest: +SKIP
        >>> (events.e[:, 0] + events.e[:, 1]).mass  # doctest: +SKIP
    """
    if "particles" not in ak.fields(lhe):
        raise InputFormatError(f"event_model_from_lhe: no 'particles' field; fields are {ak.fields(lhe)}")
    particles = lhe.particles
    for field in ("id", "status", "px", "py", "pz", "e"):
        if field not in ak.fields(particles):
            raise InputFormatError(f"event_model_from_lhe: particles have no {field!r} field", field=field)
    fields: dict[str, ak.Array] = {"particles": particles}
    for name, ids in CHARGED_LEPTONS.items():
        fields[name] = _select(particles, ids)
    fields["a"] = _select(particles, PHOTONS)
    fields["j"] = _select(particles, JET_PARTONS)
    absolute = abs(particles.id)
    invisible = particles.status == 1
    chosen = absolute == INVISIBLES[0]
    for pid in INVISIBLES[1:]:
        chosen = chosen | (absolute == pid)
    invisible = invisible & chosen
    fields["met"] = make_met(
        ak.to_numpy(ak.sum(particles.px[invisible], axis=1)),
        ak.to_numpy(ak.sum(particles.py[invisible], axis=1)),
    )
    for name in ak.fields(lhe):
        if name not in fields:
            fields[name] = lhe[name]
    if sampled_from is not None:
        fields["sampled_from"] = np.full(len(lhe), int(sampled_from), dtype=np.int16)
    return ak.zip(fields, depth_limit=1)


# -- helpers for analyses -----------------------------------------------------------------------------
def nth(collection: ak.Array, i: int) -> ak.Array:
    """The i-th object of every event (0 = leading), or None where the event has fewer objects.

    Example:
        >>> nth(ak.Array([[1, 2], [3]]), 1).tolist()
        [2, None]
    """
    return ak.pad_none(collection, i + 1, axis=1)[:, i]


def padded(collection: ak.Array, n: int) -> ak.Array:
    """Exactly n objects per event: the first n, padded with None.

    Example:
        >>> padded(ak.Array([[1, 2, 3], []]), 2).tolist()
        [[1, 2], [None, None]]
    """
    return ak.pad_none(collection, n, axis=1, clip=True)


def leptons(events: ak.Array) -> ak.Array:
    """Electrons and muons together, ordered by decreasing pt.

    Example:
        >>> from columnminer.events import build_collection
        >>> def one(pt):
        ...     return build_collection(ak.Array([[pt]]), ak.Array([[0.0]]), ak.Array([[0.0]]),
        ...                             ak.Array([[pt]]), ak.Array([[-1.0]]), ak.Array([[11]]))
        >>> leptons(ak.zip({"e": one(10.0), "mu": one(20.0)}, depth_limit=1)).pt.tolist()
        [[20.0, 10.0]]
    """
    both = ak.concatenate([events.e, events.mu], axis=1)
    return both[ak.argsort(both.pt, axis=1, ascending=False, stable=True)]


def pair_sum(collection: ak.Array, i: int = 0, j: int = 1) -> ak.Array:
    """Four-vector sum of objects i and j (None where either is missing).

    Example:
        >>> c = build_collection(ak.Array([[30.0, 10.0], [5.0]]), ak.Array([[0.0, 0.0], [0.0]]),
        ...                      ak.Array([[0.0, np.pi], [0.0]]), ak.Array([[30.0, 10.0], [5.0]]),
        ...                      ak.Array([[-1.0, 1.0], [1.0]]), ak.Array([[11, -11], [-11]]))
        >>> pair_sum(c).mass.tolist()
        [34.64101615137755, None]
    """
    return nth(collection, i) + nth(collection, j)


def signed_delta_phi(first: ak.Array, second: ak.Array) -> ak.Array:
    r"""Signed azimuthal difference :math:`\Delta\phi = \phi_{\rm fwd} - \phi_{\rm bwd}` in (-pi, pi], with
    "forward" the object of larger rapidity (the VBF convention of Hankele et al., hep-ph/0609075), so
    the sign is independent of the pt order.

    Example:
        >>> a = ak.zip({"pt": [1.0], "eta": [2.0], "phi": [0.5], "E": [5.0]}, with_name="Momentum4D")
        >>> b = ak.zip({"pt": [1.0], "eta": [-1.0], "phi": [-0.5], "E": [5.0]}, with_name="Momentum4D")
        >>> signed_delta_phi(a, b).tolist() == signed_delta_phi(b, a).tolist() == [1.0]
        True
    """
    forward_first = first.rapidity >= second.rapidity
    difference = ak.where(forward_first, first.phi - second.phi, second.phi - first.phi)
    return -(((-difference + np.pi) % (2 * np.pi)) - np.pi)


def column(values: ak.Array | np.ndarray, default: float = np.nan) -> np.ndarray:
    """A flat float64 numpy column from per-event values; None becomes ``default``.

    Example:
        >>> column(ak.Array([1.0, None, 3.0]), default=-1.0).tolist()
        [1.0, -1.0, 3.0]
    """
    if isinstance(values, ak.Array):
        if values.ndim != 1:
            raise ValueError(f"expected one value per event, got an array of type {values.type}")
        values = ak.fill_none(values, default)
        return np.asarray(ak.to_numpy(values), dtype=np.float64)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected one value per event, got shape {array.shape}")
    return array


def _weights_matrix(
    events: ak.Array, names: list[str], mapping: Mapping[str, str] | None = None
) -> np.ndarray:
    """[n_events, len(names)] float64 from the ``weights`` record (``mapping``: name -> field)."""
    mapping = dict(mapping or {})
    fields = ak.fields(events.weights)
    out = np.empty((len(events), len(names)))
    for k, name in enumerate(names):
        field = mapping.get(name, name)
        if field not in fields:
            raise KeyError(field)
        out[:, k] = ak.to_numpy(events.weights[field])
    return out
