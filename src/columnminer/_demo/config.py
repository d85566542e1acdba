"""Settings of a demo run: event counts, training and grid sizes, the detector model and the event selection.

:meth:`DemoConfig.make` picks the sizes: the default run or ``quick`` (a smaller, faster one), with the number
of generated SM signal events as the one knob that scales the rest. The luminosity and the partitions are
the command line's (:mod:`columnminer._cli.defaults`). The detector model and the selection are also
``columnminer analyse --detector golden`` (:data:`DETECTORS`, :func:`add_selection`).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from .._cli.defaults import DEFAULT_LUMINOSITY, DEFAULT_PARTITION_FRACTIONS
from ..analysis import Analysis
from ..detector import DetectorConfig, ObjectSmearing, Resolution, smear_events
from ..fourlepton import add_four_lepton_observables, four_lepton_observables

__all__ = [
    "DETECTOR",
    "DETECTORS",
    "LEPTON_COLUMNS",
    "SELECTION",
    "DemoConfig",
    "Smearing",
    "add_selection",
    "make_analysis",
    "make_lepton_analysis",
]

#: The detector of the demo: electrons with a 2 % energy resolution, muons with 1.5 % in pt, small angular
#: smearing, the usual acceptance (pt > 7 / 5 GeV, |eta| < 2.5 / 2.4) and reconstruction efficiencies.
DETECTOR = DetectorConfig(
    e=ObjectSmearing(
        energy=Resolution(relative=0.02),
        pt=None,
        eta=Resolution(absolute=0.002),
        phi=Resolution(absolute=0.002),
        pt_min=7.0,
        abs_eta_max=2.5,
        efficiency=0.95,
    ),
    mu=ObjectSmearing(
        energy=None,
        pt=Resolution(relative=0.015),
        eta=Resolution(absolute=0.001),
        phi=Resolution(absolute=0.001),
        pt_min=5.0,
        abs_eta_max=2.4,
        efficiency=0.97,
    ),
)


@dataclass(frozen=True)
class DemoConfig:
    """The sizes and physics settings of one demo run (all of them end up in the summary).

    Example:
        >>> DemoConfig.make(quick=True).n_events, DemoConfig.make().n_events
        (20000, 80000)
    """

    n_events: int
    n_bsm: int
    n_background: int
    n_bsm_benchmarks: int = 2
    luminosity_pb: float = DEFAULT_LUMINOSITY
    partition_fractions: tuple[float, float, float] = DEFAULT_PARTITION_FRACTIONS
    n_train: int = 150_000
    n_theta0: int = 1000
    theta0_prior: tuple[tuple[str, float, float], ...] = (("gaussian", 0.0, 0.2), ("gaussian", 0.0, 0.6))
    #: training epochs (None: the library's default schedule, :class:`~columnminer.ml.TrainingOptions`)
    epochs: int | None = None
    hidden: tuple[int, ...] = (100, 100)
    alpha: float = 1.0
    grid_ranges: tuple[tuple[float, float], ...] = ((-0.1, 0.1), (-0.7, 0.7))
    grid_resolution: tuple[int, ...] = (41, 41)
    histogram_features: tuple[str, ...] = ("mZ2", "Phi")
    histogram_bins: int = 8
    sally_bins: int = 8
    step_size: int = 20_000
    n_integration: int = 64
    n_bootstrap: int = 100
    coverage_toys: int = 2000
    coverage_luminosities_pb: tuple[float, ...] = (3.0e5, DEFAULT_LUMINOSITY)
    neyman: bool = False
    quick: bool = False

    @classmethod
    def make(
        cls,
        n_events: int | None = None,
        quick: bool = False,
        coverage_toys: int | None = None,
        neyman: bool = False,
    ) -> DemoConfig:
        """The default sizes (``quick``: a smaller, faster run); ``n_events`` SM signal events (generated,
        before the selection) scale the other samples and the training size. ``coverage_toys``: toys per
        luminosity for the coverage of every method (default 2000, 300 with ``quick``; 0: no coverage);
        ``neyman``: the regions of the limits table use the toy critical values of q at the SM (needs toys)."""
        default = 20_000 if quick else 80_000
        n = default if n_events is None else int(n_events)
        if n < 1000:
            raise ValueError(f"n_events must be at least 1000, got {n}")
        toys = (300 if quick else 2000) if coverage_toys is None else int(coverage_toys)
        if toys < 0 or 0 < toys < 20:
            raise ValueError(f"coverage_toys must be 0 (no coverage) or at least 20, got {toys}")
        if neyman and toys == 0:
            raise ValueError("neyman needs toys: coverage_toys must not be 0")
        n_train = int(np.clip(2 * n, 5000, 40_000 if quick else 150_000))
        return cls(
            n_events=n,
            n_bsm=max(n // 4, 250),
            n_background=max(n // 4, 250),
            n_train=n_train,
            n_theta0=300 if quick else 1000,
            epochs=15 if quick else None,
            grid_resolution=(31, 31) if quick else (41, 41),
            n_integration=32 if quick else 64,
            n_bootstrap=50 if quick else 100,
            coverage_toys=toys,
            neyman=bool(neyman),
            quick=bool(quick),
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


#: The detector models of ``columnminer analyse --detector``: name -> (configuration, description).
DETECTORS = {
    "golden": (
        DETECTOR,
        "the demo's: electron energy 2 %, muon pt 1.5 %, pt > 7 / 5 GeV, |eta| < 2.5 / 2.4, "
        "efficiencies 0.95 / 0.97",
    )
}


class Smearing:
    """The detector as a ``Sample.transform``: :func:`~columnminer.detector.smear_events` with :data:`DETECTOR`,
    seeded per chunk from ``seed`` and the chunk's content, so that a rerun smears every chunk the same way
    whatever the order in which dask runs them.

    Example:
        >>> Smearing(3).seed, Smearing(3).config is DETECTOR
        (3, True)
    """

    def __init__(self, seed: int, config: DetectorConfig = DETECTOR) -> None:
        self.seed = int(seed)
        self.config = config

    def __call__(self, events: ak.Array) -> ak.Array:
        key = np.asarray(ak.to_numpy(ak.flatten(events.particles.px[:4])), dtype=np.float64)
        rng = np.random.default_rng([self.seed, len(events), zlib.crc32(key.tobytes())])
        return smear_events(events, self.config, rng=rng)


def _cached_observables() -> Callable[[ak.Array], dict[str, np.ndarray]]:
    cache: list[Any] = [None, None]

    def observables(events: ak.Array) -> dict[str, np.ndarray]:
        if cache[0] is not events:
            cache[:] = [events, four_lepton_observables(events)]
        return cache[1]

    return observables


#: The usual H -> 4l selection: (observable, low, high) windows in GeV.
SELECTION = (("mZ1", 40.0, 120.0), ("mZ2", 12.0, 120.0), ("m4l", 115.0, 135.0))


def add_selection(analysis: Analysis) -> list[str]:
    """Add the cuts of :data:`SELECTION` (40 < mZ1 < 120 GeV, 12 < mZ2 < 120 GeV, 115 < m4l < 135 GeV, on the
    four-lepton observables of each event, whichever observables the analysis has); returns their names.

    Example:
        >>> add_selection(Analysis())
        ['40 < mZ1 < 120 GeV', '12 < mZ2 < 120 GeV', '115 < m4l < 135 GeV']
    """
    observables = _cached_observables()
    names = []
    for name, low, high in SELECTION:

        def cut(events: ak.Array, name: str = name, low: float = low, high: float = high) -> np.ndarray:
            value = np.asarray(observables(events)[name], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                return (value > low) & (value < high)

        names.append(f"{low:g} < {name} < {high:g} GeV")
        analysis.add_cut(cut, name=names[-1])
    return names


def make_analysis() -> Analysis:
    """The ten four-lepton observables (events without an e+ e- mu+ mu- final state after the detector are
    dropped) and the selection of :func:`add_selection`.

    Example:
        >>> make_analysis().observable_names[:3]
        ['m4l', 'mZ1', 'mZ2']
    """
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    add_selection(analysis)
    return analysis


#: The sidecar store's extra columns: (pt [GeV], eta, phi) of the reconstructed e-, e+, mu-, mu+ (the
#: leading one of each charge and flavour, as :func:`~columnminer.fourlepton.z_candidates` picks them).
LEPTON_COLUMNS = tuple(f"{lepton}_{v}" for lepton in ("e-", "e+", "mu-", "mu+") for v in ("pt", "eta", "phi"))


def make_lepton_analysis() -> Analysis:
    """:func:`make_analysis` plus the twelve :data:`LEPTON_COLUMNS`: the same events in the same order (the
    four-lepton observables and the selection are the same definitions), for the detector-level exact
    likelihood, which needs the measured lepton momenta that the observables do not keep. Written to a
    separate store so that the estimators never see these columns.

    Example:
        >>> make_lepton_analysis().observable_names[10:13]
        ['e-_pt', 'e-_eta', 'e-_phi']
    """
    from ..fourlepton import first_with_charge

    analysis = make_analysis()
    for k, name in enumerate(LEPTON_COLUMNS):
        flavour = "e" if name.startswith("e") else "mu"
        sign = -1.0 if name.split("_")[0].endswith("-") else 1.0
        attribute = ("pt", "eta", "phi")[k % 3]

        def column(events: ak.Array, flavour: str = flavour, sign: float = sign, attribute: str = attribute):
            return getattr(first_with_charge(getattr(events, flavour), sign), attribute)

        analysis.add_observable(name, column, required=True)
    return analysis
