r"""The physics chain of the demo, one function per step: generation, detector and analysis into a store,
augmented samples, Fisher information, expected limits on an (a2, a3) grid (the training is in
:mod:`columnminer._demo.training`).

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

from ..inference import (
    detector_information,
    expected_limits,
    histogram_information,
    rate_information,
    truth_information,
)
from ..inference.likelihood import parameter_grid
from ..inference.truth_limits import truth_expected_limits
from ..io.store import EventStore
from ..samples import Sample, analyse_samples
from ..sampling import SampleAugmenter, benchmark, random_morphing_points
from ..setup import AnalysisSetup
from ..simulators.golden import simulate_golden
from .config import DemoConfig, Smearing, make_analysis

__all__ = [
    "METHODS",
    "Steps",
    "analyse",
    "augment",
    "bsm_benchmarks",
    "fisher_informations",
    "generate",
    "limits",
]

logger = logging.getLogger(__name__)

#: The limit methods in the order of the report: key -> label.
METHODS = {
    "rate": "rate only",
    "histogram": "2-d histogram",
    "sally": "SALLY",
    "alices": "ALICES",
    "truth": "exact likelihood",
}
#: Train / validation / test fractions of the store (the test partition holds the Asimov data).
PARTITIONS = (0.75, 0.05, 0.2)


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


def analyse(
    setup: AnalysisSetup, config: DemoConfig, generated: Generated, out: Path, seed: int, progress: bool
) -> EventStore:
    """Read the LHE files, smear them through the detector, select and compute the observables into a store;
    fills ``n_selected`` of every sample."""
    analysis = make_analysis()
    store = EventStore.create(
        str(out / "golden.zarr"),
        setup,
        analysis.observable_names,
        chunk_size=config.step_size,
        partition_fractions=PARTITIONS,
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
    for entry in entries:
        entry["n_selected"] = int(summary.n_kept.get(entry["path"], 0))
    return store


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
        "truth": truth_information(store, "sm", lum, partition="test"),
        "rate": rate_information(store, "sm", lum, partition="test"),
        "histogram": histogram_information(
            store, "sm", lum, features, bins=config.histogram_bins, partition="test"
        ),
    }
    for key, estimator in estimators.items():
        infos[key] = detector_information(estimator, store, "sm", lum, partition="test")
    return infos


def augment(store: EventStore, config: DemoConfig, seed: int) -> tuple[Any, Any]:
    """The SALLY sample (``train_local`` at the SM) and the ALICES sample (``train_ratio``: theta0 from the
    prior of the config, theta1 = SM), each drawn only from the events generated at the closest benchmark
    and written to ``samples/sally`` and ``samples/alices`` of the store."""
    augmenter = SampleAugmenter(store)
    local = augmenter.sample_train_local(
        benchmark("sm"), config.n_train, seed=seed + 1, name="sally", overwrite=True
    )
    ratio = augmenter.sample_train_ratio(
        random_morphing_points(config.n_theta0, config.theta0_prior),
        benchmark("sm"),
        config.n_train,
        seed=seed + 2,
        name="alices",
        overwrite=True,
    )
    return local, ratio


def limits(store: EventStore, config: DemoConfig, sally: Any, alices: Any, progress: bool) -> dict[str, Any]:
    """Expected limits at the SM (Asimov data of the test partition) on the (a2, a3) grid for every method of
    :data:`METHODS`."""
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
        "alices": lambda: expected_limits(store, "ml", [0.0, 0.0], grid, lum, estimator=alices, **common),
        "truth": lambda: truth_expected_limits(store, [0.0, 0.0], grid, lum),
    }
    results = {}
    for key in tqdm(list(METHODS), desc="limits", unit="method", disable=not progress, leave=False):
        results[key] = runs[key]()
    return results
