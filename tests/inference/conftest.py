"""Stores for the inference tests, made with the built-in simulators (session-scoped: built once)."""

import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import simulate_golden
from columnminer.simulators.toy import GaussianToy

#: The toy store's benchmark grid: theta_k = TOY_GRID[k], named f"theta_{k}".
TOY_GRID = np.linspace(-3.0, 3.0, 25)
TOY_EVENTS = 20_000


@pytest.fixture(scope="session")
def golden_store(tmp_path_factory):
    """The golden channel at parton level: 8000 signal events at the SM, 3000 at a BSM basis point and 2000
    background events, with the ten four-lepton observables; the summaries carry the generator's exact
    cross-section matrix. Returns ``{"store", "sm", "bsm"}`` (the simulate_golden summaries)."""
    out = tmp_path_factory.mktemp("golden_inference")
    sm = simulate_golden(None, 8000, out / "sm", n_background=2000, seed=31)
    setup = AnalysisSetup.load(sm["files"]["setup"])
    bsm = simulate_golden(
        setup, 3000, out / "bsm", sampling_benchmark="morphing_basis_vector_2", n_background=0, seed=32
    )
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(out / "golden.zarr"), setup, analysis.observable_names, chunk_size=2500)
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(bsm["files"]["signal"], sampled_from_benchmark="morphing_basis_vector_2"),
        Sample(sm["files"]["background"], is_background=True),
    ]
    analyse_samples(samples, analysis, store, step_size=4000, progress=False)
    return {"store": store, "sm": sm, "bsm": bsm}


@pytest.fixture(scope="session")
def toy_store(tmp_path_factory):
    """The Gaussian toy (x ~ N(theta, sqrt 5)) with 20000 events generated at theta = 0 and exactly reweighted
    to 25 benchmarks theta_k on [-3, 3] (no morphing: thetas are the benchmarks ``theta_<k>``), total cross
    section 1 pb at every theta. Returns ``{"store", "model", "x", "z", "grid"}``."""
    model = GaussianToy()
    x, z = model.simulate(0.0, n=TOY_EVENTS, seed=11)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-3.0, 3.0))
    for k, value in enumerate(TOY_GRID):
        setup.add_benchmark([float(value)], name=f"theta_{k}")
    weights = np.exp(model.log_p_z(z[:, None], TOY_GRID[None, :]) - model.log_p_z(z, 0.0)[:, None])
    weights /= TOY_EVENTS
    path = tmp_path_factory.mktemp("toy_inference") / "toy.zarr"
    store = EventStore.create(str(path), setup, ["x"], chunk_size=5000)
    store.append(x[:, None], weights, 12)
    return {"store": store, "model": model, "x": x, "z": z, "grid": TOY_GRID}
