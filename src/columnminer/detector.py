r"""Vectorised, seeded detector smearing, efficiencies, acceptance cuts and MET noise for events arrays.

Conventions follow MadMiner's parton-level smearing: a quantity X (E, pt in GeV; eta; phi) is measured
as X + sigma * z with z standard normal and :math:`\sigma = a + b\,|X|` (``absolute`` a, ``relative``
b, of the true value). Energies and transverse momenta that come out negative are drawn again. Either
the energy or the pt (not both) can instead be derived from the other and the on-shell mass:
:math:`p_T = \sqrt{E^2 - m^2} / \cosh\eta` (0 when E < m) or :math:`E = \sqrt{(p_T\cosh\eta)^2 + m^2}`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import vector

__all__ = [
    "COLLECTIONS",
    "DetectorConfig",
    "MetNoise",
    "ObjectSmearing",
    "Resolution",
    "smear_events",
]

logger = logging.getLogger(__name__)
vector.register_awkward()

#: The object collections of the event model that a :class:`DetectorConfig` describes, in the order
#: in which their random numbers are drawn.
COLLECTIONS = ("e", "mu", "a", "j")

_MAX_REDRAWS = 100


@dataclass(frozen=True)
class Resolution:
    r"""A Gaussian resolution :math:`\sigma(X) = a + b\,|X|`: ``absolute`` a (units of X, GeV for E
    and pt) plus ``relative`` b times the magnitude of the true value.

    Example:
        >>> Resolution(absolute=1.0, relative=0.1).sigma(np.array([10.0, -20.0])).tolist()
        [2.0, 3.0]
    """

    absolute: float = 0.0
    relative: float = 0.0

    def __post_init__(self) -> None:
        for name in ("absolute", "relative"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"Resolution.{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def is_zero(self) -> bool:
        """True when sigma vanishes for every value."""
        return self.absolute == 0.0 and self.relative == 0.0

    def sigma(self, value: np.ndarray) -> np.ndarray:
        r"""The width :math:`a + b\,|v|` for each true value :math:`v`."""
        return self.absolute + self.relative * np.abs(value)


@dataclass(frozen=True)
class ObjectSmearing:
    r"""Smearing, acceptance and efficiency of one object class (electrons, muons, photons or jets).

    ``energy`` / ``pt``: the :class:`Resolution` of E and pt, or ``None`` to derive that quantity from
    the other one and the on-shell mass m (not both ``None``); ``eta`` / ``phi``: their resolutions.
    ``mass``: m in GeV for the on-shell relation; ``None`` uses each object's own true invariant mass
    :math:`m = \sqrt{\max(E^2 - p^2, 0)}`. Acceptance after smearing: ``pt_min`` (GeV) and
    ``abs_eta_max`` (``None``: no cut). ``efficiency``: probability in [0, 1] that an object is
    reconstructed at all (objects are dropped at random with the seeded generator).

    Example:
        >>> ObjectSmearing(energy=Resolution(0.5, 0.05), pt=None, pt_min=10.0).pt is None
        True
    """

    energy: Resolution | None = Resolution()
    pt: Resolution | None = Resolution()
    eta: Resolution = Resolution()
    phi: Resolution = Resolution()
    mass: float | None = None
    pt_min: float | None = None
    abs_eta_max: float | None = None
    efficiency: float = 1.0

    def __post_init__(self) -> None:
        if self.energy is None and self.pt is None:
            raise ValueError("ObjectSmearing: energy and pt cannot both be derived (both None)")
        if not 0.0 <= self.efficiency <= 1.0:
            raise ValueError(f"ObjectSmearing.efficiency must lie in [0, 1], got {self.efficiency!r}")
        if self.mass is not None and not self.mass >= 0:
            raise ValueError(f"ObjectSmearing.mass must be >= 0 GeV or None, got {self.mass!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (resolutions as ``{"absolute": a, "relative": b}`` or ``None``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectSmearing:
        """The inverse of :meth:`to_dict`; unknown keys are an error."""
        _check_keys(cls, data)
        kwargs = dict(data)
        for name in ("energy", "pt", "eta", "phi"):
            if name in kwargs and kwargs[name] is not None:
                kwargs[name] = _resolution(kwargs[name], name)
            elif name in ("eta", "phi") and name in kwargs:
                raise ValueError(f"ObjectSmearing.{name} cannot be None")
        return cls(**kwargs)


@dataclass(frozen=True)
class MetNoise:
    r"""Missing-transverse-momentum response.

    With ``propagate`` the MET absorbs the change of the visible transverse momentum, so that
    :math:`\vec p_T^{\,\rm miss} \to \vec p_T^{\,\rm miss} - \sum_{\rm objects}(\vec p_T^{\,\rm smeared}
    - \vec p_T^{\,\rm true})` (over every smeared object, before acceptance and efficiency). Then a
    Gaussian of width :math:`\sigma = a + b\,H_T` is added to each of its x and y components, with
    :math:`H_T` the scalar sum of the true pt of all objects in ``e, mu, a, j`` (GeV).

    Example:
        >>> MetNoise(absolute=5.0, relative=0.02).relative
        0.02
    """

    absolute: float = 0.0
    relative: float = 0.0
    propagate: bool = True

    def __post_init__(self) -> None:
        for name in ("absolute", "relative"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"MetNoise.{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class DetectorConfig:
    """An immutable description of the detector: one :class:`ObjectSmearing` per collection (``None``:
    the collection is left exactly as it is) and the :class:`MetNoise`.

    Example:
        >>> config = DetectorConfig(j=ObjectSmearing(energy=Resolution(relative=0.1), pt=None, pt_min=20.0),
        ...                         met=MetNoise(absolute=10.0))
        >>> DetectorConfig.from_dict(config.to_dict()) == config
        True
    """

    e: ObjectSmearing | None = None
    mu: ObjectSmearing | None = None
    a: ObjectSmearing | None = None
    j: ObjectSmearing | None = None
    met: MetNoise = MetNoise()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole configuration."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectorConfig:
        """The inverse of :meth:`to_dict`; unknown keys are an error."""
        _check_keys(cls, data)
        kwargs: dict[str, Any] = {}
        for name in COLLECTIONS:
            if data.get(name) is not None:
                kwargs[name] = ObjectSmearing.from_dict(data[name])
        if data.get("met") is not None:
            _check_keys(MetNoise, data["met"])
            kwargs["met"] = MetNoise(**data["met"])
        return cls(**kwargs)


def _check_keys(cls: type, data: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}; known are {sorted(known)}")


def _resolution(data: Any, name: str) -> Resolution:
    if isinstance(data, Resolution):
        return data
    _check_keys(Resolution, data)
    return Resolution(**data)


# -- the smearing itself ---------------------------------------------------------------------------------
def _wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Angles into [-pi, pi]; values already inside are returned bit for bit."""
    return np.where(np.abs(phi) > np.pi, (phi + np.pi) % (2 * np.pi) - np.pi, phi)


def _positive_gauss(value: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """value + sigma * z, drawing z again where the result is negative (E and pt are >= 0)."""
    out = value + sigma * rng.standard_normal(value.shape)
    for _ in range(_MAX_REDRAWS):
        negative = np.flatnonzero(out < 0)
        if negative.size == 0:
            return out
        out[negative] = value[negative] + sigma[negative] * rng.standard_normal(negative.size)
    negative = out < 0
    logger.warning("%d values stayed negative after %d redraws; set to 0", int(negative.sum()), _MAX_REDRAWS)
    return np.where(negative, 0.0, out)


def _smear_collection(
    collection: ak.Array, cfg: ObjectSmearing, rng: np.random.Generator
) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """(smeared, pt-ordered collection after cuts; per-event shift of px; of py)."""
    counts = ak.to_numpy(ak.num(collection, axis=1))
    flat = ak.flatten(collection, axis=1)
    pt0 = np.asarray(ak.to_numpy(flat["pt"]), dtype=np.float64)
    eta0 = np.asarray(ak.to_numpy(flat["eta"]), dtype=np.float64)
    phi0 = np.asarray(ak.to_numpy(flat["phi"]), dtype=np.float64)
    e0 = np.asarray(ak.to_numpy(flat["E"]), dtype=np.float64)
    n = pt0.size
    if cfg.mass is not None:
        mass = np.full(n, float(cfg.mass))
    else:
        mass = np.sqrt(np.maximum(e0**2 - (pt0 * np.cosh(eta0)) ** 2, 0.0))

    eta = eta0 + cfg.eta.sigma(eta0) * rng.standard_normal(n)
    phi = _wrap_phi(phi0 + cfg.phi.sigma(phi0) * rng.standard_normal(n))
    energy = _positive_gauss(e0, cfg.energy.sigma(e0), rng) if cfg.energy is not None else None
    pt = _positive_gauss(pt0, cfg.pt.sigma(pt0), rng) if cfg.pt is not None else None
    if pt is None:
        pt = np.sqrt(np.maximum(energy**2 - mass**2, 0.0)) / np.cosh(eta)
    if energy is None:
        energy = np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)

    keep = np.ones(n, dtype=bool)
    if cfg.efficiency < 1.0:
        keep &= rng.random(n) < cfg.efficiency
    if cfg.pt_min is not None:
        keep &= pt >= cfg.pt_min
    if cfg.abs_eta_max is not None:
        keep &= np.abs(eta) <= cfg.abs_eta_max

    event_of = np.repeat(np.arange(counts.size), counts)
    dpx = np.bincount(event_of, pt * np.cos(phi) - pt0 * np.cos(phi0), minlength=counts.size)
    dpy = np.bincount(event_of, pt * np.sin(phi) - pt0 * np.sin(phi0), minlength=counts.size)

    for name, values in (("pt", pt), ("eta", eta), ("phi", phi), ("E", energy)):
        flat = ak.with_field(flat, values, name)
    smeared = ak.unflatten(flat, counts)
    smeared = smeared[ak.unflatten(keep, counts)]
    order = ak.argsort(smeared["pt"], axis=1, ascending=False, stable=True)
    return smeared[order], dpx, dpy


def smear_events(
    events: ak.Array, config: DetectorConfig, rng: np.random.Generator | int | None = None
) -> ak.Array:
    r"""Apply the detector described by ``config`` to an events array; a new array is returned.

    For each collection ``e, mu, a, j`` with a configuration (in that order, so that a seed gives the
    same result every time): eta and phi are smeared (phi wrapped into [-pi, pi]), then E and / or pt
    with :math:`\sigma = a + b\,|X|` (negative values drawn again) or derived on shell, see
    :class:`ObjectSmearing`; objects failing the efficiency draw or the acceptance cuts are removed and
    the rest re-sorted by decreasing pt. Extra object fields (charge, pdgid, btag...) are kept. Then
    ``met`` (if present) follows :class:`MetNoise`. Other fields are untouched. With all resolutions 0,
    no cuts and efficiency 1 the output equals the input exactly.

    ``rng``: a ``numpy.random.Generator``, a seed, or ``None`` (fresh entropy). Smearing chunks one by
    one gives other (equally valid) random numbers than smearing the whole sample at once.

    Example:
        >>> from columnminer.events import build_collection, make_met
        >>> jets = build_collection(ak.Array([[50.0, 30.0]]), ak.Array([[0.0, 1.0]]), ak.Array([[0.0, 2.0]]),
        ...                         ak.Array([[50.0, 46.3]]), ak.Array([[0.0, 0.0]]), ak.Array([[0, 0]]))
        >>> events = ak.zip({"j": jets, "met": make_met([10.0], [0.0])}, depth_limit=1)
        >>> config = DetectorConfig(j=ObjectSmearing(energy=Resolution(relative=0.1), pt=None))
        >>> smeared = smear_events(events, config, rng=42)
        >>> ak.num(smeared.j).tolist(), bool(smeared.j.pt[0, 0] != 50.0)
        ([2], True)
        >>> smear_events(events, config, rng=42).j.pt.tolist() == smeared.j.pt.tolist()
        True
    """
    if not isinstance(config, DetectorConfig):
        raise TypeError(f"smear_events: config must be a DetectorConfig, got {type(config).__name__}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    fields = ak.fields(events)
    n_events = len(events)
    dpx = np.zeros(n_events)
    dpy = np.zeros(n_events)
    ht = np.zeros(n_events)
    replaced: dict[str, ak.Array] = {}
    for name in COLLECTIONS:
        if name not in fields:
            continue
        ht += np.asarray(ak.to_numpy(ak.sum(events[name]["pt"], axis=1)), dtype=np.float64)
        cfg = getattr(config, name)
        if cfg is None:
            continue
        replaced[name], shift_x, shift_y = _smear_collection(events[name], cfg, generator)
        dpx += shift_x
        dpy += shift_y

    noise = config.met
    if "met" in fields and (noise.propagate or noise.absolute > 0 or noise.relative > 0):
        met = events["met"]
        pt0 = np.asarray(ak.to_numpy(met["pt"]), dtype=np.float64)
        phi0 = np.asarray(ak.to_numpy(met["phi"]), dtype=np.float64)
        sigma = noise.absolute + noise.relative * ht
        shift = generator.standard_normal((n_events, 2)) * sigma[:, None]
        if noise.propagate:
            shift[:, 0] -= dpx
            shift[:, 1] -= dpy
        mx = pt0 * np.cos(phi0) + shift[:, 0]
        my = pt0 * np.sin(phi0) + shift[:, 1]
        unchanged = (shift[:, 0] == 0) & (shift[:, 1] == 0)
        replaced["met"] = ak.zip(
            {
                "pt": np.where(unchanged, pt0, np.hypot(mx, my)),
                "phi": np.where(unchanged, phi0, np.arctan2(my, mx)),
            },
            with_name="Momentum2D",
        )
    out = events
    for name, value in replaced.items():
        out = ak.with_field(out, value, name)
    return out
