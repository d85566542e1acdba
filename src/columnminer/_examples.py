"""Small in-memory event stores for the runnable examples of the weight, nuisance and inference docstrings."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

__all__: list[str] = []


def _url(prefix: str) -> str:
    return f"memory://{prefix}-{uuid.uuid4().hex}"


def toy_nuisance_store(
    x: Any,
    weights: Any,
    nuisance_weights: Any,
    effect: str = "norm",
    name: str = "lumi",
    chunk_size: int = 100_000,
    epsilon: float | None = None,
    **systematic: Any,
) -> Any:
    """A one-parameter store (parameter ``theta``, benchmark ``sm`` at 0; with ``epsilon`` also the
    finite-difference benchmark ``sm_plus_theta`` at ``epsilon``) with one systematic
    (``add_systematics(effect, name, **systematic)``, default a 10 % normalisation ``lumi``); ``x`` [n] or
    [n, 1] is the observable ``x``, every event generated at ``sm``."""
    from .io.store import EventStore
    from .setup import AnalysisSetup

    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta")
    setup.add_benchmark([0.0], name="sm")
    if epsilon is not None:
        setup.finite_differences(epsilon=epsilon)
    setup.add_systematics(effect, name, **systematic)
    store = EventStore.create(_url("toy-nuisances"), setup, ["x"], chunk_size=chunk_size)
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    store.append(
        x, np.asarray(weights, dtype=np.float64).reshape(len(x), -1), 0, nuisance_weights=nuisance_weights
    )
    return store


def golden_store(x: Any, weights: Any = None, chunk_size: int = 4) -> Any:
    """A store of the golden-channel setup (two parameters, six morphing benchmarks) with one observable
    ``m4l`` = ``x`` [n]; ``weights`` [n, 6] default to 1 pb for every benchmark."""
    from .demo import golden_channel_setup
    from .io.store import EventStore

    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    weights = np.ones((len(x), 6)) if weights is None else weights
    store = EventStore.create(_url("golden"), golden_channel_setup(), ["m4l"], chunk_size=chunk_size)
    store.append(x, weights, 0)
    return store


def golden_quadratic_store(n_events: int = 4, chunk_size: int = 2) -> Any:
    """:func:`golden_store` with ``m4l`` = 0, 1, ... and the same quadratic weight for every event,
    :math:`w(z|\\theta) = (1 + a_2 + a_3)^2` pb (``quadratic_event_weights`` of :mod:`columnminer.demo`)."""
    from .demo import golden_channel_setup, quadratic_event_weights

    points = golden_channel_setup().parameter_space.benchmark_array()
    weights = quadratic_event_weights(np.ones((n_events, 3, 1)), points).T
    return golden_store(np.arange(float(n_events)), weights, chunk_size)
