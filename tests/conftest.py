"""Shared fixtures: small parameter spaces and setups built in code."""

import os

# One BLAS thread: the tests' matrices are small, and on a 2-core machine OpenBLAS threads fighting over the
# cores (scipy's Delaunay triangulation, small matmuls) cost more than they gain. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pytest

from columnminer import AnalysisSetup, ParameterSpace


@pytest.fixture
def space() -> ParameterSpace:
    """Two parameters of the dim6 block, as in MadMiner's VBF tutorial."""
    space = ParameterSpace()
    space.add_parameter("dim6", 2, name="cwl2", morphing_max_power=2, parameter_range=(-20.0, 20.0))
    space.add_parameter("dim6", 5, name="cpwl2", morphing_max_power=2, parameter_range=(-20.0, 20.0))
    return space


@pytest.fixture
def morphing_setup() -> AnalysisSetup:
    """A quadratic two-parameter setup with an SM benchmark and an optimised morphing basis."""
    setup = AnalysisSetup()
    setup.add_parameter("anomalous_hvv", 2, name="a2", morphing_max_power=2, parameter_range=(-1.0, 1.0))
    setup.add_parameter("anomalous_hvv", 3, name="a3", morphing_max_power=2, parameter_range=(-1.0, 1.0))
    setup.add_benchmark({"a2": 0.0, "a3": 0.0}, name="sm")
    setup.set_morphing(max_overall_power=2, seed=3, n_trials=50)
    return setup


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
