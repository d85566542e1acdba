"""Limit plots: contours of several methods with best fits, p-value maps, one-parameter curves."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from columnminer.errors import PlottingError
from columnminer.inference.likelihood import parameter_grid
from columnminer.inference.limits import expected_limits
from columnminer.plotting.limits import grid_values, plot_limits, plot_p_value_maps

GRID = parameter_grid([(-0.4, 0.4), (-1.0, 1.0)], 9)


@pytest.fixture(scope="module")
def results(small_golden):
    common = {"theta_true": [0.0, 0.0], "thetas": GRID, "luminosity": 3e5, "partition": None}
    return {
        "rate": expected_limits(small_golden, "rate", **common),
        "histo": expected_limits(small_golden, "histo", features="Phi", bins=6, **common),
    }


def test_grid_values_reorders_and_rejects_incomplete_grids():
    xs, ys, z = grid_values(GRID, GRID[:, 0] + 10 * GRID[:, 1])
    assert z.shape == (9, 9)
    np.testing.assert_allclose(z, xs[None, :] + 10 * ys[:, None])
    shuffled = np.random.default_rng(0).permutation(len(GRID))
    np.testing.assert_allclose(grid_values(GRID[shuffled], (GRID[:, 0] + 10 * GRID[:, 1])[shuffled])[2], z)
    assert grid_values(GRID[:-1], np.ones(len(GRID) - 1)) is None


def test_several_methods_on_one_figure(results, render):
    fig = plot_limits(results, show_index=1, cls=(0.68, 0.95))
    render(fig, "limits")
    ax = fig.axes[0]
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(contours) == 2
    for contour in contours:
        np.testing.assert_allclose(contour.levels, [0.05, 0.32])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["rate", "histo", "68% CL", "95% CL", "best fit", "true θ (a2 = 0, a3 = 0)"]
    # the data and the luminosity are stated; the first method is drawn wider than the second
    assert ax.get_legend().get_title().get_text() == r"expected (Asimov), $L = 300\,\mathrm{fb}^{-1}$"
    assert contours[0].get_linewidths()[0] > contours[1].get_linewidths()[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a2", "a3")
    assert fig.axes[1].get_ylabel() == "p-value (histo)"  # the colour bar of the shown map
    best = [c.get_offsets()[0].tolist() for c in ax.collections if c.get_offsets().shape == (1, 2)]
    assert [0.0, 0.0] in best  # Asimov data: the best fit is theta_true
    fig = plot_limits(list(results.values()), labels=["a", "b"], mark_best_fit=False, mark_truth=False)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b", "68.3% CL", "95.5% CL"]
    assert len(fig.axes) == 1  # no map, no colour bar


def test_p_value_maps(results, render):
    fig = plot_p_value_maps(results, n_cols=2)
    render(fig, "p_value_maps")
    assert fig.get_suptitle() == r"expected (Asimov), $L = 300\,\mathrm{fb}^{-1}$"
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in panels] == ["rate", "histo"]
    for ax, result in zip(panels, results.values(), strict=True):
        mesh = ax.collections[0]
        assert mesh.get_array().size == len(GRID)
        assert np.nanmax(mesh.get_array()) == pytest.approx(1.0)
        assert result.p_values.max() == 1.0


def test_one_parameter_and_scattered_points(render):
    thetas = np.linspace(-2, 2, 21)[:, None]
    curves = {
        name: SimpleNamespace(
            thetas=thetas, p_values=stats.chi2.sf((thetas[:, 0] / w) ** 2, 1), best_fit_index=10, mode=name
        )
        for name, w in (("narrow", 0.5), ("wide", 1.0))
    }
    fig = plot_limits(curves)
    render(fig, "limits_1d")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "p-value"
    assert len([line for line in ax.lines if len(line.get_xdata()) == 21]) == 2
    # points not on a grid: contours on a triangulation
    points = np.random.default_rng(1).uniform(-1, 1, (200, 2))
    scattered = SimpleNamespace(
        thetas=points, p_values=np.exp(-4 * (points**2).sum(axis=1)), best_fit_index=0
    )
    fig = plot_limits([scattered], show_index=0)
    render(fig, "limits_scattered")
    with pytest.raises(PlottingError, match="same one or two"):
        plot_limits([scattered, curves["wide"]])
    with pytest.raises(PlottingError, match="cls"):
        plot_limits([scattered], cls=[1.5])
    with pytest.raises(PlottingError, match="two-parameter"):
        plot_p_value_maps(curves)
    with pytest.raises(PlottingError, match="p_values"):
        plot_limits([SimpleNamespace(thetas=points)])
