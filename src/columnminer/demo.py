"""The end-to-end check behind ``columnminer demo``: what exists of the chain, run and validated."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .morphing import Morpher
from .setup import AnalysisSetup

__all__ = ["DemoResult", "golden_channel_setup", "quadratic_event_weights", "run_demo"]

logger = logging.getLogger(__name__)

#: The DESIGN.md reference case: components, basis and the expected weights and gradients at theta = (1, 1).
REFERENCE_COMPONENTS = [[4, 0], [3, 1], [2, 2], [1, 3], [0, 4]]
REFERENCE_BASIS = [[1, -5], [1, -4], [1, -3], [1, -2], [1, -1]]
REFERENCE_WEIGHTS = [5.0, -24.0, 45.0, -40.0, 15.0]
REFERENCE_GRADIENTS = [
    [13.5833333333, -66.0, 126.0, -115.3333333333, 45.75],
    [6.4166666667, -30.0, 54.0, -44.6666666667, 14.25],
]


def golden_channel_setup(seed: int = 0) -> AnalysisSetup:
    """The parameter space of the H -> ZZ* -> 2e2mu reference process: theta = (a2, a3), |M|^2 quadratic
    (:func:`columnminer.simulators.golden.golden_setup`: the SM and an optimised six-point morphing basis)."""
    from .simulators.golden import golden_setup

    return golden_setup(seed=seed)


def quadratic_event_weights(couplings: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    r"""Exact per-event weights :math:`w(z|\theta) = \lVert L_z^T v(\theta) \rVert^2`, v = (1, theta).

    ``couplings`` has shape [n_events, n_parameters + 1, k] (an amplitude per helicity-like channel k), so
    each weight is a positive quadratic form in theta, the form of a tree-level |M|^2 with one
    anomalous vertex. Returns shape [n_thetas, n_events].
    """
    thetas = np.atleast_2d(thetas)
    v = np.concatenate([np.ones((thetas.shape[0], 1)), thetas], axis=1)
    amplitudes = np.einsum("tj,njk->tnk", v, couplings)
    return np.sum(amplitudes**2, axis=-1)


@dataclass
class DemoResult:
    """What :func:`run_demo` measured; ``ok`` is True when every check passed."""

    setup: AnalysisSetup
    n_events: int
    n_thetas: int
    max_event_deviation: float
    max_xsec_deviation: float
    squared_weight_sum_optimised: float
    squared_weight_sum_random: float
    thetas_per_second: float
    reference_ok: bool
    roundtrip_ok: bool
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.reference_ok
            and self.roundtrip_ok
            and self.max_event_deviation < 1e-9
            and self.max_xsec_deviation < 1e-9
            and self.squared_weight_sum_optimised <= self.squared_weight_sum_random
        )


def run_demo(out: str | Path, n_events: int = 100_000, quick: bool = False, seed: int = 0) -> DemoResult:
    """Build the golden-channel setup, morph exact per-event weights and cross sections, save and reload.

    Checks: morphed per-event weights and cross sections equal the exact quadratic forms (relative 1e-9);
    the DESIGN.md reference weights and gradients; the optimised basis beats random bases; the setup
    survives a JSON and a zarr round trip unchanged.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if quick:
        n_events = min(n_events, 10_000)
    rng = np.random.default_rng(seed)
    setup = golden_channel_setup(seed)
    morpher = setup.morpher
    assert morpher is not None
    ranges = setup.parameter_space.parameter_ranges

    couplings = rng.normal(size=(n_events, 3, 4))
    basis_weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T

    n_thetas = 50 if quick else 200
    thetas = rng.uniform(ranges[:, 0], ranges[:, 1], size=(n_thetas, 2))
    morphed = setup.morphing_weights(thetas) @ basis_weights.T
    exact = quadratic_event_weights(couplings, thetas)
    max_event_deviation = float(np.max(np.abs(morphed - exact) / exact))

    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 100), np.linspace(-1, 1, 100)), -1).reshape(-1, 2)
    start = time.perf_counter()
    grid_weights = setup.morphing_weights(grid)
    elapsed = time.perf_counter() - start
    xsec_morphed = grid_weights @ basis_weights.sum(axis=0)
    q = np.einsum("njk,nlk->jl", couplings, couplings)
    v = np.concatenate([np.ones((grid.shape[0], 1)), grid], axis=1)
    xsec_exact = np.einsum("tj,jl,tl->t", v, q, v)
    max_xsec_deviation = float(np.max(np.abs(xsec_morphed - xsec_exact) / xsec_exact))

    random_sums = []
    for _ in range(20):
        try:
            candidate = morpher.with_basis(rng.uniform(ranges[:, 0], ranges[:, 1], size=morpher.basis.shape))
        except ValueError:
            continue
        random_sums.append(candidate.expected_squared_weight_sum(ranges))

    reference = Morpher(REFERENCE_COMPONENTS, REFERENCE_BASIS)
    reference_ok = bool(
        np.allclose(reference.weights([1.0, 1.0]), REFERENCE_WEIGHTS, rtol=1e-9)
        and np.allclose(reference.weight_gradients([1.0, 1.0]), REFERENCE_GRADIENTS, rtol=1e-9)
    )

    json_path = setup.save(out / "setup.json")
    zarr_path = out / "setup.zarr"
    setup.to_zarr(str(zarr_path))
    roundtrip_ok = AnalysisSetup.load(json_path) == setup and AnalysisSetup.from_zarr(str(zarr_path)) == setup

    return DemoResult(
        setup=setup,
        n_events=n_events,
        n_thetas=n_thetas,
        max_event_deviation=max_event_deviation,
        max_xsec_deviation=max_xsec_deviation,
        squared_weight_sum_optimised=morpher.expected_squared_weight_sum(ranges),
        squared_weight_sum_random=float(np.median(random_sums)),
        thetas_per_second=grid.shape[0] / max(elapsed, 1e-9),
        reference_ok=reference_ok,
        roundtrip_ok=roundtrip_ok,
        files=[json_path, zarr_path],
    )
