"""Quick sanity checks of the demo: morphing against a fixed reference case and exact quadratic weights, the
setup's JSON / zarr round trip, and the completeness of the event store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..morphing import Morpher
from ..setup import AnalysisSetup

__all__ = [
    "REFERENCE_BASIS",
    "REFERENCE_COMPONENTS",
    "REFERENCE_GRADIENTS",
    "REFERENCE_WEIGHTS",
    "morphing_checks",
    "store_check",
]

#: The morphing reference case (also in the design notes of the documentation and in tests/test_morphing.py):
#: components, basis and the expected weights and gradients at theta = (1, 1).
REFERENCE_COMPONENTS = [[4, 0], [3, 1], [2, 2], [1, 3], [0, 4]]
REFERENCE_BASIS = [[1, -5], [1, -4], [1, -3], [1, -2], [1, -1]]
REFERENCE_WEIGHTS = [5.0, -24.0, 45.0, -40.0, 15.0]
REFERENCE_GRADIENTS = [
    [13.5833333333, -66.0, 126.0, -115.3333333333, 45.75],
    [6.4166666667, -30.0, 54.0, -44.6666666667, 14.25],
]


def morphing_checks(
    setup: AnalysisSetup, out: Path, seed: int
) -> tuple[dict[str, tuple[bool, str]], list[Path]]:
    """The morphing and setup checks: name -> (passed, detail), and the files written (setup JSON and zarr).

    Morphed per-event weights of random positive quadratic forms equal the exact ones (relative 1e-9); the
    reference case's weights and gradients; the setup survives a JSON and a zarr round trip unchanged.
    """
    from .reference import quadratic_event_weights

    rng = np.random.default_rng(seed)
    ranges = setup.parameter_space.parameter_ranges
    couplings = rng.normal(size=(2000, 3, 4))
    basis_weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T
    thetas = rng.uniform(ranges[:, 0], ranges[:, 1], size=(50, 2))
    morphed = setup.morphing_weights(thetas) @ basis_weights.T
    exact = quadratic_event_weights(couplings, thetas)
    deviation = float(np.max(np.abs(morphed - exact) / exact))

    reference = Morpher(REFERENCE_COMPONENTS, REFERENCE_BASIS)
    reference_ok = bool(
        np.allclose(reference.weights([1.0, 1.0]), REFERENCE_WEIGHTS, rtol=1e-9)
        and np.allclose(reference.weight_gradients([1.0, 1.0]), REFERENCE_GRADIENTS, rtol=1e-9)
    )

    json_path = setup.save(out / "setup.json")
    zarr_path = out / "setup.zarr"
    setup.to_zarr(str(zarr_path))
    roundtrip = AnalysisSetup.load(json_path) == setup and AnalysisSetup.from_zarr(str(zarr_path)) == setup
    checks = {
        "morphing reference case: weights and gradients at theta = (1, 1)": (
            reference_ok,
            "rtol 1e-9 against columnminer._demo.checks.REFERENCE_WEIGHTS / REFERENCE_GRADIENTS",
        ),
        "morphed = exact quadratic per-event weights": (
            deviation < 1e-9,
            f"max relative deviation {deviation:.1e} (2000 events x 50 thetas)",
        ),
        "setup round trip through JSON and zarr attrs": (
            bool(roundtrip),
            json_path.name + ", " + zarr_path.name,
        ),
    }
    return checks, [json_path, zarr_path]


def store_check(store: Any, n_kept: int) -> tuple[bool, str]:
    """The store is complete: no interrupted append, every selected event committed (``n_kept``), events in
    every partition."""
    fractions = store.partition_spec["fractions"]
    complete = store.incomplete is None and store.n_events == n_kept > 0 and len(store.sources) > 0
    detail = f"{store.n_events} events, {len(store.sources)} chunks, partitions {fractions}"
    return bool(complete and min(fractions.values()) > 0), detail
