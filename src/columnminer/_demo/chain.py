r"""The physics chain of the demo, one function per step: generation, detector and analysis into a store,
the exact detector-level densities, augmented samples, Fisher information, expected limits on an (a2, a3)
grid, areas with bootstrap errors and coverage by toys (the training is in :mod:`columnminer._demo.training`).

Everything runs on the built-in golden channel :math:`H \to ZZ^* \to 2e2\mu` with theta = (a2, a3); no
external tool is needed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._cli.defaults import EVALUATION_PARTITION, VALIDATION_PARTITION
from ..inference import (
    detector_information,
    expected_limits,
    histogram_information,
    rate_information,
    truth_information,
)
from ..inference.likelihood import parameter_grid, resolve_thetas
from ..inference.neyman import fast_estimator
from ..inference.truth_limits import mixture_expected_limits, truth_expected_limits
from ..io.store import EventStore
from ..samples import Sample, analyse_samples
from ..sampling import SampleAugmenter, benchmark, random_morphing_points
from ..setup import AnalysisSetup
from ..simulators.golden import GoldenChannel, simulate_golden
from .config import (
    DETECTOR,
    DETECTORS,
    LEPTON_COLUMNS,
    DemoConfig,
    Smearing,
    make_analysis,
    make_lepton_analysis,
)
from .result import LABELS, ORDER

__all__ = [
    "METHODS",
    "ExactDensities",
    "Steps",
    "analyse",
    "augment",
    "bsm_benchmarks",
    "exact_densities",
    "fisher_informations",
    "generate",
    "limits",
    "uncertainties_and_coverage",
]

logger = logging.getLogger(__name__)

#: The limit methods in the order of the report: key -> label.
METHODS = {key: LABELS[key] for key in ORDER}


class Steps:
    """Times the named steps of the run and advances one tqdm bar over them (``progress=False``: no bar)."""

    def __init__(self, names: list[str], progress: bool) -> None:
        from tqdm.auto import tqdm

        self.timings: dict[str, float] = {}
        self.bar = tqdm(total=len(names), desc="columnminer demo", unit="step", disable=not progress)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one step: its wall time goes to ``timings[name]``."""
        self.bar.set_postfix_str(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = time.perf_counter() - start
            self.bar.update(1)

    def close(self) -> None:
        """Close the progress bar."""
        self.bar.close()


def bsm_benchmarks(setup: AnalysisSetup, n: int) -> list[str]:
    """The ``n`` physics benchmarks other than ``sm`` closest to the SM: where the BSM signal is generated.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> bsm_benchmarks(golden_channel_setup(), 2)
        ['morphing_basis_vector_4', 'morphing_basis_vector_1']
    """
    space = setup.parameter_space
    names = [b.name for b in space.benchmarks.values() if not b.is_nuisance and b.name != "sm"]
    distances = np.linalg.norm(space.benchmark_array(names), axis=1)
    return [names[i] for i in np.argsort(distances, kind="stable")[: int(n)]]


@dataclass
class Generated:
    """The generated samples: per sample its name, benchmark, theta, LHE path, events and cross section."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    background: dict[str, Any] = field(default_factory=dict)


def generate(
    setup: AnalysisSetup, config: DemoConfig, out: Path, seed: int, progress: bool = False
) -> Generated:
    """Signal at the SM (with the background) and at the BSM benchmarks of :func:`bsm_benchmarks`, as LHE."""
    from tqdm.auto import tqdm

    generated = Generated()
    points = ["sm", *bsm_benchmarks(setup, config.n_bsm_benchmarks)]
    bar = tqdm(points, desc="generate", unit="sample", disable=not progress, leave=False)
    for k, name in enumerate(bar):
        n_signal = config.n_events if name == "sm" else config.n_bsm
        info = simulate_golden(
            setup,
            n_signal,
            out / "lhe" / name,
            sampling_benchmark=name,
            seed=1000 * seed + k + 1,
            n_background=config.n_background if name == "sm" else 0,
        )
        theta = setup.parameter_space.benchmarks[name].as_array(setup.parameter_space.parameter_names)
        generated.samples.append(
            {
                "name": name,
                "theta": theta.tolist(),
                "path": info["files"]["signal"],
                "n_generated": n_signal,
                "cross_section_pb": info["sampling_cross_section_pb"],
            }
        )
        if name == "sm":
            generated.background = {
                "name": "background",
                "theta": None,
                "path": info["files"]["background"],
                "n_generated": config.n_background,
                "cross_section_pb": info["background_cross_section_pb"],
            }
    return generated


def _analyse_into(
    name: str,
    analysis: Any,
    setup: AnalysisSetup,
    config: DemoConfig,
    generated: Generated,
    out: Path,
    seed: int,
    progress: bool,
) -> tuple[EventStore, Any]:
    """Read every generated sample, smear it (one detector seed per sample: the same smearing of every chunk in
    every store), select and compute ``analysis`` into the store ``out/name``."""
    store = EventStore.create(
        str(out / name),
        setup,
        analysis.observable_names,
        chunk_size=config.step_size,
        partition_fractions=config.partition_fractions,
        partition_seed=seed,
        overwrite=True,
    )
    entries = [*generated.samples, generated.background]
    samples = [
        Sample(
            e["path"],
            sampled_from_benchmark=None if e["theta"] is None else e["name"],
            is_background=e["theta"] is None,
            transform=Smearing(1000 * seed + k),
        )
        for k, e in enumerate(entries)
    ]
    summary = analyse_samples(samples, analysis, store, step_size=config.step_size, progress=progress)
    record = {  # what the events are, as ``columnminer analyse --detector golden`` records it
        "level": "detector",
        "detector": f"golden: {DETECTORS['golden'][1]}",
        "cuts": [cut.name for cut in analysis.cuts],
        "observables": list(analysis.observable_names),
    }
    store.update_metadata(analysis=record)
    return store, summary


def analyse(
    setup: AnalysisSetup, config: DemoConfig, generated: Generated, out: Path, seed: int, progress: bool
) -> EventStore:
    """Read the LHE files, smear them through the detector, select and compute the observables into a store;
    fills ``n_selected`` of every sample."""
    store, summary = _analyse_into(
        "golden.zarr", make_analysis(), setup, config, generated, out, seed, progress
    )
    for entry in [*generated.samples, generated.background]:
        entry["n_selected"] = int(summary.n_kept.get(entry["path"], 0))
    return store


def analyse_leptons(
    setup: AnalysisSetup, config: DemoConfig, generated: Generated, out: Path, seed: int, progress: bool
) -> EventStore:
    """The sidecar store ``leptons.zarr``: the same samples, detector (same seeds: the same smearing of every
    chunk), selection, partitions and row order as :func:`analyse`, with the measured lepton momenta
    (:data:`~columnminer._demo.config.LEPTON_COLUMNS`) after the ten observables."""
    analysis = make_lepton_analysis()
    return _analyse_into("leptons.zarr", analysis, setup, config, generated, out, seed, progress)[0]


@dataclass
class ExactDensities:
    """The detector-level exact densities of the test events (:mod:`columnminer.simulators.golden_detector`)
    with their rows in the store and diagnostics: ``background_closure`` = (sum over the test events of
    w_SM P(background | x)) / (background cross section in them), which is 1 when the signal and background
    densities are normalised consistently, with its statistical ``closure_error``; ``median_mc_error`` the
    median relative Monte Carlo error of the per-event signal and background densities."""

    densities: Any
    rows: np.ndarray
    background_closure: float
    closure_error: float
    median_mc_error: tuple[float, float]
    background_integral: float


def exact_densities(
    store: EventStore, leptons: EventStore, config: DemoConfig, generated: Generated, seed: int
) -> ExactDensities:
    """Integrate the exact signal forms and background density of every test event over the detector's
    transfer function (:func:`~columnminer.simulators.golden_detector.detector_densities`), after checking
    that the sidecar store holds the same events (all ten observables equal)."""
    from ..simulators.golden_detector import background_normalisation, detector_densities, lepton_transfers

    rows = store.partition_indices(EVALUATION_PARTITION)
    if leptons.n_events != store.n_events or list(leptons.partition_indices(EVALUATION_PARTITION)) != list(
        rows
    ):
        raise RuntimeError("the lepton store does not hold the events of the event store")
    x_main = store.read_rows("observables", rows)
    x_side = leptons.read_rows("observables", rows)
    n_obs = len(store.observable_names)
    if not np.array_equal(x_main, x_side[:, :n_obs]):
        raise RuntimeError("the lepton store's events differ from the event store's (smearing or order)")
    columns = [leptons.observable_names.index(c) for c in LEPTON_COLUMNS]
    measured = x_side[:, columns].reshape(-1, 4, 3)
    electron, muon = lepton_transfers(DETECTOR)
    channel = GoldenChannel()
    integral, _ = background_normalisation(m_ll_min=channel.m_ll_min, ew=channel.ew, seed=seed)
    densities = detector_densities(
        measured,
        electron=electron,
        muon=muon,
        channel=channel,
        background_cross_section_pb=float(generated.background["cross_section_pb"]),
        background_integral=integral,
        n_samples=config.n_integration,
        seed=seed + 7,
    )
    weights = store.read_rows("weights", rows)
    sm = store.setup.parameter_space.benchmark_index("sm")
    w_sm = weights[:, sm]
    is_background = np.asarray(store.read_rows("sampled_from", rows)) < 0
    p_background = 1.0 - densities.signal_probability(channel.couplings(np.zeros(2)))
    expected = float(w_sm[is_background].sum())
    closure = float(np.sum(w_sm * p_background)) / expected
    error = float(np.sqrt(np.sum((w_sm * (is_background - p_background)) ** 2))) / expected
    return ExactDensities(
        densities,
        rows,
        closure,
        error,
        (float(np.median(densities.signal_error)), float(np.median(densities.background_error))),
        integral,
    )


def selected_cross_sections(store: EventStore) -> dict[str, float]:
    """Signal cross section at the SM and background cross section after the selection (pb)."""
    weights = np.asarray(store.read("weights"))
    origin = np.asarray(store.read("sampled_from"))
    sm = store.setup.parameter_space.benchmark_index("sm")
    return {
        "signal_sm_pb": float(weights[origin >= 0, sm].sum()),
        "background_pb": float(weights[origin < 0, sm].sum()),
    }


def fisher_informations(store: EventStore, config: DemoConfig, estimators: dict[str, Any]) -> dict[str, Any]:
    """Fisher information at the SM on the test partition: truth, rate, the 2-d histogram, and the
    detector-level information of every trained estimator in ``estimators`` (key -> estimator)."""
    lum = config.luminosity_pb
    features = list(config.histogram_features)
    infos = {
        "truth": truth_information(store, "sm", lum, partition=EVALUATION_PARTITION),
        "rate": rate_information(store, "sm", lum, partition=EVALUATION_PARTITION),
        "histogram": histogram_information(
            store, "sm", lum, features, bins=config.histogram_bins, partition=EVALUATION_PARTITION
        ),
    }
    for key, estimator in estimators.items():
        infos[key] = detector_information(estimator, store, "sm", lum, partition=EVALUATION_PARTITION)
    return infos


def augment(store: EventStore, config: DemoConfig, seed: int) -> tuple[Any, Any]:
    """The SALLY sample (``train_local`` at the SM) and the ALICES sample (``train_ratio``: theta0 from the
    prior of the config, theta1 = SM), each drawn only from the events generated at the closest benchmark
    and written to ``samples/sally`` and ``samples/alices`` of the store, from its training partition; and
    their validation samples (``samples/sally-validation``, ``samples/alices-validation``: the same draws from
    the validation partition, in proportion to its size) for early stopping."""
    augmenter = SampleAugmenter(store)
    fractions = store.partition_spec["fractions"]
    n_validation = max(1000, int(config.n_train * fractions[VALIDATION_PARTITION] / fractions["train"]))
    theta0 = random_morphing_points(config.n_theta0, config.theta0_prior)
    local = augmenter.sample_train_local(
        benchmark("sm"), config.n_train, seed=seed + 1, name="sally", overwrite=True
    )
    ratio = augmenter.sample_train_ratio(
        theta0, benchmark("sm"), config.n_train, seed=seed + 2, name="alices", overwrite=True
    )
    for name, draw, args in (
        ("sally", augmenter.sample_train_local, (benchmark("sm"),)),
        ("alices", augmenter.sample_train_ratio, (theta0, benchmark("sm"))),
    ):
        draw(
            *args,
            n_validation,
            partition=VALIDATION_PARTITION,
            seed=seed + 3,
            name=f"{name}-validation",
            overwrite=True,
        )
    return local, ratio


def limits(
    store: EventStore, config: DemoConfig, sally: Any, alices: Any, exact: ExactDensities, progress: bool
) -> dict[str, Any]:
    """Expected limits at the SM (Asimov data of the test partition) on the (a2, a3) grid for every method of
    :data:`METHODS` (ALICES through :class:`~columnminer.inference.neyman.MorphedRatio`: the same numbers from
    one network pass per event)."""
    from tqdm.auto import tqdm

    grid = parameter_grid(config.grid_ranges, config.grid_resolution)
    lum = config.luminosity_pb
    common = {"return_histograms": False}
    runs = {
        "rate": lambda: expected_limits(store, "rate", [0.0, 0.0], grid, lum, **common),
        "histogram": lambda: expected_limits(
            store,
            "histo",
            [0.0, 0.0],
            grid,
            lum,
            features=list(config.histogram_features),
            bins=config.histogram_bins,
            **common,
        ),
        "sally": lambda: expected_limits(
            store, "sally", [0.0, 0.0], grid, lum, estimator=sally, bins=config.sally_bins, **common
        ),
        "alices": lambda: expected_limits(
            store, "ml", [0.0, 0.0], grid, lum, estimator=fast_estimator(alices), **common
        ),
        "exact": lambda: mixture_expected_limits(
            store,
            exact.densities.signal_forms,
            exact.densities.background,
            GoldenChannel().couplings,
            [0.0, 0.0],
            grid,
            lum,
            rows=exact.rows,
        ),
        "truth": lambda: truth_expected_limits(store, [0.0, 0.0], grid, lum),
    }
    results = {}
    for key in tqdm(list(METHODS), desc="limits", unit="method", disable=not progress, leave=False):
        results[key] = runs[key]()
    return results


def event_models(
    store: EventStore,
    config: DemoConfig,
    sally: Any,
    alices: Any,
    exact: ExactDensities,
    grid: np.ndarray,
    luminosity: float,
    sample: Any = None,
    alices_normalisation: str = "sample",
) -> dict[str, Any]:
    """Every method's likelihood as an :class:`~columnminer.inference.neyman.EventModel` over the test events
    on ``grid`` at ``luminosity`` (pb^-1): the same binning, densities and yields as :func:`limits`
    (``alices_normalisation``: ``"sample"`` when the ml limits normalise the estimator on the Asimov events,
    ``"weights"`` when they take the raw ratios)."""
    from ..inference.limits import score_function
    from ..inference.neyman import EventModel, estimator_log_density, gather_event_sample
    from ..inference.truth_limits import mixture_log_density, truth_log_density

    sample = sample if sample is not None else gather_event_sample(store, EVALUATION_PARTITION)
    if not np.array_equal(sample.rows, exact.rows):
        raise RuntimeError("the exact densities are not those of the test events")
    features = [sample.observable_names.index(f) for f in config.histogram_features]
    sm = [0.0, 0.0]
    coefficients = resolve_thetas(sample.setup, grid)[0]
    points = np.asarray(grid, dtype=np.float64)
    return {
        "rate": EventModel.rate(sample, grid, sm, luminosity, name="rate"),
        "histogram": EventModel.binned(
            sample, sample.x[:, features], config.histogram_bins, grid, sm, luminosity, name="histogram"
        ),
        "sally": EventModel.binned(
            sample, score_function(sally)(sample.x), config.sally_bins, grid, sm, luminosity, name="sally"
        ),
        "alices": EventModel.unbinned(
            sample,
            estimator_log_density(alices, sample.x, points),
            grid,
            sm,
            luminosity,
            alices_normalisation,
            name="alices",
        ),
        "exact": EventModel.unbinned(
            sample,
            mixture_log_density(
                exact.densities.signal_forms, exact.densities.background, GoldenChannel().couplings(points)
            ),
            grid,
            sm,
            luminosity,
            "sample",
            name="exact",
        ),
        "truth": EventModel.unbinned(
            sample,
            truth_log_density(sample.weights, coefficients),
            grid,
            sm,
            luminosity,
            "none",
            name="truth",
        ),
    }


def _fields(model: Any) -> dict[str, Any]:
    """The constructor arguments of an EventModel (its public fields)."""
    names = ("name", "points", "coefficients", "true_index", "weights", "luminosity", "bins", "n_bins")
    return {
        **{n: getattr(model, n) for n in names},
        "log_density": model.log_density,
        "dof": model.dof,
        "normalisation": model.normalisation,
    }


@dataclass
class Uncertainties:
    """Areas with bootstrap errors (key -> [68 %, 95 %] :class:`~columnminer.inference.areas.AreaEstimate`),
    the largest |q(model) - q(limits)| inside the 95 % regions per method (the event-level models reproduce
    the limits), coverage by toys per luminosity (pb^-1 -> key -> CoverageResult), the grids of the coverage
    toys, and with ``config.neyman`` the areas with toy critical values at the SM."""

    areas: dict[str, list[Any]] = field(default_factory=dict)
    q_agreement: dict[str, float] = field(default_factory=dict)
    coverage: dict[float, dict[str, Any]] = field(default_factory=dict)
    coverage_grids: dict[float, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    neyman_areas: dict[str, list[float]] = field(default_factory=dict)
    n_bootstrap: int = 0


def uncertainties_and_coverage(
    store: EventStore,
    config: DemoConfig,
    sally: Any,
    alices: Any,
    exact: ExactDensities,
    results: dict[str, Any],
    seed: int,
    progress: bool,
) -> Uncertainties:
    """Bootstrap errors of the refined areas of every method's Asimov regions (paired replicas: the same
    Poisson(1) event multipliers for all methods), the check that the event-level models reproduce the
    limits' q, and the coverage of every method's regions by toys at each luminosity of the config (the grid
    of the limits scaled by sqrt(3000 fb^-1 / L), so that the regions fit at lower luminosity)."""
    from tqdm.auto import tqdm

    from ..inference.areas import region_areas
    from ..inference.neyman import (
        EventModel,
        area_estimates,
        bootstrap_multipliers,
        gather_event_sample,
        toy_coverage,
    )
    from .result import CL_68, CL_95

    out = Uncertainties(n_bootstrap=config.n_bootstrap)
    sample = gather_event_sample(store, EVALUATION_PARTITION)
    grid = parameter_grid(config.grid_ranges, config.grid_resolution)
    # the ml limits normalise the estimator on the Asimov events ("sample") or not ("weights"): the model that
    # reproduces them
    models = event_models(store, config, sally, alices, exact, grid, config.luminosity_pb, sample, "sample")
    alices_normalisation = "sample"
    other = EventModel(**{**_fields(models["alices"]), "normalisation": "weights"})
    if np.max(np.abs(other.asimov_q() - results["alices"].q)) < np.max(
        np.abs(models["alices"].asimov_q() - results["alices"].q)
    ):
        models["alices"], alices_normalisation = other, "weights"
    multipliers = bootstrap_multipliers(sample.n_events, config.n_bootstrap, seed=seed + 11)
    for key, model in tqdm(models.items(), desc="bootstrap", disable=not progress, leave=False):
        q_limits = results[key].q
        q_model = model.asimov_q()
        inside = (q_limits < 12.0) | (q_model < 12.0)
        out.q_agreement[key] = float(np.max(np.abs(q_model - q_limits)[inside]))
        out.areas[key] = area_estimates(model, multipliers, (CL_68, CL_95), q_nominal=q_limits)[0]
    lums = list(config.coverage_luminosities_pb)
    for k, lum in enumerate(tqdm(lums, desc="coverage", disable=not progress, leave=False)):
        if config.coverage_toys <= 0:
            break
        factor = float(np.sqrt(config.luminosity_pb / lum))
        ranges = tuple((lo * factor, hi * factor) for lo, hi in config.grid_ranges)
        grid_l = parameter_grid(ranges, config.grid_resolution)
        models_l = (
            models
            if lum == config.luminosity_pb
            else event_models(store, config, sally, alices, exact, grid_l, lum, sample, alices_normalisation)
        )
        out.coverage_grids[lum] = ranges
        out.coverage[lum] = toy_coverage(
            list(models_l.values()), n_toys=config.coverage_toys, seed=seed + 13 + k
        )
    if config.neyman and config.luminosity_pb in out.coverage:
        for key, result in out.coverage[config.luminosity_pb].items():
            thresholds = result.neyman_thresholds
            out.neyman_areas[key] = region_areas(grid, results[key].q, thresholds).tolist()
    return out
