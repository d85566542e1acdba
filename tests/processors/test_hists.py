"""The histogram convention of columnminer.hists and the HistogramProcessor's theta axis."""

import hist
import numpy as np
import pytest

from columnminer.errors import ParameterSpaceError
from columnminer.hists import fill_thetas, theta_axis, theta_hist, theta_names, theta_values
from columnminer.simulators.golden import golden_setup
from columnminer.thetas import benchmark_index


def test_theta_axis_names_values_and_selection():
    setup = golden_setup(n_trials=10)
    thetas = ["sm", [0.5, 0.0], benchmark_index(1), np.array([[-0.0, 2.5e-3]])[0]]
    axis = theta_axis(setup, thetas)
    names = list(axis)
    assert names[:2] == ["sm", "a2=0.5,a3=0"] and names[2] == setup.benchmark_names[1]
    assert names[3] == "a2=0,a3=0.0025"
    assert axis.name == "theta" and axis.metadata["parameters"] == ["a2", "a3"]
    values = np.arange(4 * 3, dtype=float).reshape(4, 3)
    h = theta_hist(axis, values, values / 10, [("x", [0.0, 1.0, 2.0, 3.0])])
    np.testing.assert_array_equal(h[{"theta": "a2=0.5,a3=0"}].values(), values[1])
    np.testing.assert_array_equal(h[{"theta": "sm"}].variances(), values[0] / 10)
    np.testing.assert_allclose(theta_values(h)[1], [0.5, 0.0])
    np.testing.assert_allclose(theta_values(h)[2], setup.parameter_space.benchmark_array()[1])
    with pytest.raises(ParameterSpaceError):
        theta_axis(setup, ["sm", [0.0, 0.0], [0.0, 0.0]])
    assert theta_names(setup, np.array([[1.0, -1.0]])) == ["a2=1,a3=-1"]


def test_fill_thetas_equals_one_fill_per_theta():
    setup = golden_setup(n_trials=10)
    axis = theta_axis(setup, [[0.0, 0.0], [0.3, 0.1], [1.0, -1.0]])
    x = np.random.default_rng(1).normal(size=50)
    w = np.random.default_rng(2).uniform(size=(50, 3))
    h = fill_thetas(hist.Hist(axis, hist.axis.Regular(5, -2, 2, name="x"), storage="weight"), w, x=x)
    for t, name in enumerate(axis):
        direct = hist.Hist(hist.axis.Regular(5, -2, 2, name="x"), storage="weight").fill(x, weight=w[:, t])
        np.testing.assert_allclose(
            h[{"theta": name}].view(flow=True)["value"], direct.view(flow=True)["value"]
        )
        np.testing.assert_allclose(
            h[{"theta": name}].view(flow=True)["variance"], direct.view(flow=True)["variance"]
        )
