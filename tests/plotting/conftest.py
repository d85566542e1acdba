"""Small stores from the built-in simulators and a PNG-rendering helper for the plotting tests."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest
import torch

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import simulate_golden
from columnminer.simulators.toy import GaussianToy

#: Luminosity of the golden-channel tests, pb^-1 (300 fb^-1).
LUMINOSITY = 3e5


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def small_golden(tmp_path_factory):
    """The golden channel at parton level, kept small: 800 signal events at the SM, 400 at the basis point
    morphing_basis_vector_2 and 200 background events, with the ten four-lepton observables (their labels and
    units in the metadata, parton level, no cuts)."""
    out = tmp_path_factory.mktemp("plotting_golden")
    sm = simulate_golden(None, 800, out / "sm", n_background=200, seed=41)
    setup = AnalysisSetup.load(sm["files"]["setup"])
    bsm = simulate_golden(
        setup, 400, out / "bsm", sampling_benchmark="morphing_basis_vector_2", n_background=0, seed=42
    )
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(out / "golden.zarr"), setup, analysis.observable_names, chunk_size=600)
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(bsm["files"]["signal"], sampled_from_benchmark="morphing_basis_vector_2"),
        Sample(sm["files"]["background"], is_background=True),
    ]
    analyse_samples(samples, analysis, store, progress=False)
    # analyse_samples stores the axis labels and units and the cuts; the level is the user's to say
    store.update_metadata(level="parton")
    return store


@pytest.fixture(scope="session")
def toy_store(tmp_path_factory):
    """The Gaussian toy: 3000 events at theta = 0 reweighted exactly to 13 benchmarks theta_k on [-3, 3]
    (one parameter, no morphing)."""
    toy = GaussianToy()
    grid = np.linspace(-3.0, 3.0, 13)
    x, z = toy.simulate(0.0, n=3000, seed=5)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-3.0, 3.0))
    for k, value in enumerate(grid):
        setup.add_benchmark([float(value)], name=f"theta_{k}")
    weights = np.exp(toy.log_p_z(z[:, None], grid[None, :]) - toy.log_p_z(z, 0.0)[:, None]) / len(x)
    store = EventStore.create(str(tmp_path_factory.mktemp("plotting_toy") / "toy.zarr"), setup, ["x"])
    store.append(x[:, None], weights, 0)
    return {"store": store, "toy": toy, "grid": grid}


@pytest.fixture
def render(tmp_path):
    """``render(fig, name)``: save the figure as PNG (Agg) into tmp_path, check the file is a non-empty PNG
    and return its path."""

    def save(fig, name="figure"):
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=40)
        data = path.read_bytes()
        assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
        return path

    return save
