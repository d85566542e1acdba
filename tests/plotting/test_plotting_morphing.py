"""Morphing-basis plots: the squared-weight sum in one, two and three parameters, basis points marked."""

import numpy as np
import pytest

from columnminer import AnalysisSetup, Morpher
from columnminer.errors import PlottingError
from columnminer.plotting import theta_label
from columnminer.plotting.morphing import (
    plot_morphing_basis_1d,
    plot_morphing_basis_2d,
    plot_morphing_basis_scatter,
    plot_morphing_basis_slices,
)


@pytest.fixture(scope="module")
def three_parameters():
    setup = AnalysisSetup()
    for lha_id, name in enumerate(("c1", "c2", "c3"), start=1):
        setup.add_parameter("dim6", lha_id, name=name, morphing_max_power=2, parameter_range=(-1.0, 1.0))
    setup.add_benchmark({"c1": 0.0, "c2": 0.0, "c3": 0.0}, name="sm")
    setup.set_morphing(max_overall_power=2, seed=0, n_trials=5)
    return setup


def test_1d_basis(render):
    morpher = Morpher.from_powers([4], [[-1.0], [-0.5], [0.0], [0.4], [1.0]])
    fig = plot_morphing_basis_1d(morpher, xrange=(-1.5, 1.5), resolution=50, xlabel="c")
    render(fig, "morphing_1d")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "c"
    assert len(ax.lines) == 1 + 5 + 5  # the sum, each w_b^2, a vertical line per basis point
    total = ax.lines[0].get_ydata()
    thetas = ax.lines[0].get_xdata()[:, None]
    np.testing.assert_allclose(total, morpher.squared_weight_sum(thetas))
    vertical = [line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1]
    assert sorted(vertical) == [-1.0, -0.5, 0.0, 0.4, 1.0]
    assert len(ax.get_legend().get_texts()) == 6
    fig = plot_morphing_basis_1d(morpher, show_components=False)
    assert len(fig.axes[0].lines) == 1 + 5


def test_2d_basis_from_a_setup(morphing_setup, render):
    fig = plot_morphing_basis_2d(morphing_setup, resolution=30, crange=(0.5, 50.0))
    render(fig, "morphing_2d")
    ax, colorbar = fig.axes
    assert colorbar.get_label() == "<colorbar>"
    mesh, markers = ax.collections
    assert mesh.get_array().shape == (30, 30)
    assert mesh.norm.vmin == 0.5 and mesh.norm.vmax == 50.0
    np.testing.assert_allclose(markers.get_offsets(), morphing_setup.morpher.basis)
    assert [t.get_text() for t in ax.texts] == [theta_label(n) for n in morphing_setup.morphing_benchmarks]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a2", "a3")
    lo, hi = ax.get_xlim()
    assert lo == pytest.approx(-1.2) and hi == pytest.approx(1.2)  # the range plus 10 % on each side
    with pytest.raises(PlottingError, match="2 parameter"):
        plot_morphing_basis_2d(Morpher([[0], [1]], [[0.0], [1.0]]))


def test_nd_scatter_and_slices(three_parameters, render):
    for plot, name in ((plot_morphing_basis_scatter, "scatter"), (plot_morphing_basis_slices, "slices")):
        kwargs = {"n_thetas": 200} if name == "scatter" else {"resolution": 15}
        fig = plot(three_parameters, **kwargs)
        render(fig, f"morphing_{name}")
        panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
        assert len(panels) == 3  # (c1, c2), (c1, c3), (c2, c3)
        assert sorted((ax.get_xlabel(), ax.get_ylabel()) for ax in panels) == [
            ("c1", "c2"),
            ("c1", "c3"),
            ("c2", "c3"),
        ]
        assert all(len(ax.collections) == 2 for ax in panels)  # colour points / mesh, and basis markers
        assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
    fig = plot_morphing_basis_slices(three_parameters, resolution=10, center=[0.5, 0.0, 0.0])
    assert "c1 = 0.5" in {ax.get_title() for ax in fig.axes}
    with pytest.raises(PlottingError, match="center"):
        plot_morphing_basis_slices(three_parameters, center=[0.0, 0.0])
    with pytest.raises(PlottingError, match="two or more"):
        plot_morphing_basis_scatter(Morpher([[0], [1]], [[0.0], [1.0]]))
