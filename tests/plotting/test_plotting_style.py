"""The shared style helpers: the HEP style context restores matplotlib's settings; grids, cycles, labels."""

import matplotlib as mpl
import pytest

from columnminer.errors import PlottingError
from columnminer.plotting._style import (
    as_list,
    cycle,
    hep_style,
    labelled_items,
    new_figure,
    panel_grid,
    place_legend,
    theta_label,
)


def test_hep_style_is_temporary_and_figures_render(render):
    before = dict(mpl.rcParams)
    with hep_style("CMS"):
        assert mpl.rcParams["xtick.direction"] == "in"
        assert mpl.rcParams["mathtext.fontset"] == "dejavusans"
        fig, ax = new_figure()
        ax.plot([0, 1], [1, 0], label="x")
        place_legend(ax, loc="outside")
    assert dict(mpl.rcParams) == before
    render(fig, "style")
    with pytest.raises(PlottingError, match="no style"):
        with hep_style("NoSuchExperiment"):
            pass


def test_panel_grid_hides_spare_axes():
    fig, axes = panel_grid(4, 3)
    assert len(axes) == 4 and len(fig.axes) == 6
    assert [ax.get_visible() for ax in fig.axes] == [True] * 4 + [False] * 2
    with pytest.raises(PlottingError):
        panel_grid(0, 2)


def test_cycles_lists_and_labels():
    assert cycle("red", 3, ["k"]) == ["red"] * 3
    assert cycle(None, 5, ["a", "b"]) == ["a", "b", "a", "b", "a"]
    assert as_list(None, 2, "x") == [None, None]
    with pytest.raises(PlottingError, match="expected 3"):
        as_list([1, 2], 3, "linewidths")
    assert labelled_items([1, 2], ["a", "b"], "items") == ([1, 2], ["a", "b"])
    with pytest.raises(PlottingError, match="nothing to draw"):
        labelled_items({}, None, "items")
    assert theta_label([0.25, -1.0], ["a2", "a3"]) == "a2 = 0.25, a3 = -1"
    assert theta_label([0.5]) == "θ0 = 0.5"
