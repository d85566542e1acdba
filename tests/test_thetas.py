"""One theta rule for the whole package: numbers are parameter values, names (or benchmark_index) select
benchmarks. ``[0, 1]`` means the point (0, 1) to every public function that takes thetas."""

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.errors import ParameterSpaceError
from columnminer.hists import theta_axis, theta_names, theta_values
from columnminer.inference.binned import binned_weights
from columnminer.inference.fisher_terms import theta_point
from columnminer.inference.likelihood import resolve_thetas
from columnminer.io.store import EventStore
from columnminer.plotting.distributions import resolve_points
from columnminer.processors._thetas import theta_table
from columnminer.thetas import benchmark_index, theta_items, theta_points
from columnminer.weights import cross_sections, theta_coefficients, theta_gradient_coefficients

POINT = [0, 1]


@pytest.fixture(scope="module")
def store():
    setup = golden_channel_setup()
    store = EventStore.create("memory://test-thetas.zarr", setup, ["x"], overwrite=True)
    rng = np.random.default_rng(0)
    couplings = rng.normal(size=(200, 3, 2))
    weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T
    store.append(rng.normal(size=(200, 1)), weights, 0)
    return store


def test_every_public_function_reads_0_1_as_the_point_0_1(store):
    setup = store.setup
    expected = setup.morphing_weights([0.0, 1.0])[None, :]
    np.testing.assert_allclose(theta_coefficients(setup, POINT), expected)
    assert theta_gradient_coefficients(setup, POINT).shape == (1, 2, 6)
    c, points = resolve_thetas(setup, POINT)
    np.testing.assert_allclose(c, expected)
    assert points.tolist() == [[0.0, 1.0]]
    assert theta_point(setup, POINT).tolist() == [0.0, 1.0]
    _, points, c = theta_table(setup, POINT)
    assert points.tolist() == [[0.0, 1.0]] and np.allclose(c, expected)
    c, points = resolve_points(setup, [POINT])
    assert points.tolist() == [[0.0, 1.0]] and np.allclose(c, expected)
    assert theta_points(setup, POINT).tolist() == [[0.0, 1.0]]
    sigma = cross_sections(store, POINT)[0]
    np.testing.assert_allclose(sigma, store.read("weights").sum(0) @ expected[0])
    binned = binned_weights(store, "x", [-5.0, 0.0, 5.0])
    np.testing.assert_allclose(binned.cross_sections(POINT)[0].sum(), sigma[0])
    # the histogram convention names the point by its values, and keeps them
    assert theta_names(setup, POINT) == ["a2=0,a3=1"]
    h = binned.to_hist(POINT)
    assert list(h.axes["theta"]) == ["a2=0,a3=1"] and theta_values(h).tolist() == [[0.0, 1.0]]
    assert theta_axis(setup, POINT).metadata["values"] == [[0.0, 1.0]]


def test_benchmarks_by_name_or_explicit_index_only():
    setup = golden_channel_setup()
    by_name = theta_coefficients(setup, ["sm", "morphing_basis_vector_1"])
    by_index = theta_coefficients(setup, [benchmark_index(0), benchmark_index(2)])
    np.testing.assert_array_equal(by_name, np.eye(6)[[0, 2]])
    np.testing.assert_array_equal(by_index, np.eye(6)[[0, 2]])
    mixed = theta_items(setup, ["sm", [0.5, 0.0], benchmark_index(2)])
    assert isinstance(mixed[1], np.ndarray) and mixed[1].tolist() == [0.5, 0.0]
    with pytest.raises(ParameterSpaceError, match="bare number 2"):
        theta_items(setup, 2)
    with pytest.raises(ParameterSpaceError, match="must have 2 values"):
        theta_items(setup, ["sm", 2])


def test_one_parameter_setups_read_number_lists_as_points():
    from columnminer import AnalysisSetup

    setup = AnalysisSetup()
    setup.add_parameter("b", 1, name="x", parameter_range=(-1.0, 1.0))
    setup.add_benchmark([0.0], name="a")
    setup.add_benchmark([1.0], name="b")
    assert theta_points(setup, [0, 1]).tolist() == [[0.0], [1.0]]
    assert theta_points(setup, 0.5).tolist() == [[0.5]]
