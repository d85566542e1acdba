"""Distributions at several parameter points (morphed per bin) and histogram overlays with data."""

import hist
import numpy as np
import pytest

from columnminer.errors import PlottingError
from columnminer.inference.binned import binned_weights
from columnminer.plotting.distributions import (
    distribution_edges,
    morphed_histograms,
    plot_distributions,
    plot_histograms,
)
from columnminer.weights import theta_coefficients

THETAS = ["sm", [0.5, 0.0], [0.0, -0.5]]
LUMINOSITY = 3e5


def test_distributions_panels_lines_bands_and_legend(small_golden, render):
    fig = plot_distributions(small_golden, ["Phi", "cos_theta1", "pt4l"], THETAS, bins=12, n_cols=2)
    render(fig, "distributions")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 3 and len(fig.axes) == 4  # one spare axes hidden
    # axis labels with units from the store's metadata (dimensionless: no brackets)
    for ax, label in zip(panels, [r"$\Phi$ [rad]", r"$\cos\theta_1$", r"$p_T^{4\ell}$ [GeV]"], strict=True):
        assert ax.get_xlabel() == label
        assert ax.get_ylabel() == r"$\sigma$ per bin [pb]"
        assert len(ax.patches) == 2 * len(THETAS)  # a step line and a statistical band per point
    texts = [t.get_text() for t in panels[0].get_legend().get_texts()]
    assert texts == ["SM (a2 = 0, a3 = 0)", "a2 = 0.5, a3 = 0", "a2 = 0, a3 = -0.5", "MC stat. unc."]
    assert fig.get_suptitle() == "parton level, no selection"
    # an annotation and units given by hand win over the metadata
    fig = plot_distributions(
        small_golden, ["Phi"], ["sm"], bins=6, annotation="my note", observable_units={"Phi": "deg"}
    )
    assert fig.axes[0].get_xlabel() == r"$\Phi$ [deg]" and fig.axes[0].get_title(loc="left") == "my note"


def test_distribution_values_are_the_exactly_morphed_bins(small_golden):
    edges = np.linspace(-np.pi, np.pi, 9)
    values, errors = morphed_histograms(small_golden, "Phi", edges, THETAS, luminosity=LUMINOSITY)
    binned = binned_weights(small_golden, "Phi", edges, flow=False)
    np.testing.assert_allclose(values, LUMINOSITY * binned.cross_sections(THETAS), rtol=1e-10)
    np.testing.assert_allclose(errors, LUMINOSITY * binned.cross_section_errors(THETAS), rtol=1e-10)
    # only from the closest benchmark: the signal is rescaled, so the totals do not change
    closest, _ = morphed_histograms(
        small_golden, "Phi", edges, THETAS, luminosity=LUMINOSITY, sample_only_from_closest_benchmark=True
    )
    np.testing.assert_allclose(closest.sum(axis=1), values.sum(axis=1), rtol=1e-10)
    # a2 = 0.5 is closest to the SM (not to the basis point (1.0, 0.74)): SM signal scaled up, plus background
    origin = small_golden.read("sampled_from")
    phi = small_golden.read("observables")[:, small_golden.observable_names.index("Phi")]
    w = small_golden.read("weights") @ theta_coefficients(small_golden.setup, [[0.5, 0.0]])[0]

    def part(keep):
        return LUMINOSITY * np.histogram(phi[keep], edges, weights=w[keep])[0]

    sm_signal, all_signal, background = part(origin == 0), part(origin >= 0), part(origin == -1)
    expected = sm_signal * all_signal.sum() / sm_signal.sum() + background
    np.testing.assert_allclose(closest[1], expected, rtol=1e-10)
    assert not np.allclose(closest[1], values[1])


def test_normalised_log_systematics_and_closest(small_golden, render):
    edges = np.linspace(0.0, 100.0, 11)
    bands = {"pt4l": np.stack([np.full(10, 0.9), np.full(10, 1.2)])}
    fig = plot_distributions(
        small_golden,
        ["pt4l"],
        ["sm", [0.3, 0.3]],
        bins={"pt4l": edges},
        normalize=True,
        log=True,
        systematic_bands=bands,
        sample_only_from_closest_benchmark=True,
        observable_labels={"pt4l": "pT [GeV]"},
        uncertainties="none",
    )
    render(fig, "distributions_syst")
    ax = fig.axes[0]
    assert (
        ax.get_yscale() == "log" and ax.get_xlabel() == "pT [GeV]" and ax.get_ylabel() == "Fraction per bin"
    )
    assert len(ax.patches) == 4  # a hatched systematic band and a line per point
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "syst. unc."
    with pytest.raises(PlottingError, match="systematic_bands"):
        plot_distributions(
            small_golden, ["pt4l"], ["sm"], bins=edges, systematic_bands={"pt4l": np.ones((2, 3))}
        )
    with pytest.raises(PlottingError, match="unknown"):
        plot_distributions(small_golden, ["nope"], ["sm"])


def test_distribution_edges():
    assert distribution_edges(np.r_[np.arange(11.0), np.nan], 5, (0.0, 1.0)).tolist() == [0, 2, 4, 6, 8, 10]
    assert distribution_edges(np.ones(4), 2).tolist() == [0.5, 1.0, 1.5]


def test_histograms_with_hist_objects_and_data(render):
    axis = hist.axis.Regular(5, 0.0, 5.0, name="x", label="x [GeV]")
    models = {}
    for name, scale in (("model a", 10.0), ("model b", 12.0)):
        h = hist.Hist(axis, storage=hist.storage.Weight())
        h.view()["value"] = scale * np.arange(1, 6)
        h.view()["variance"] = scale * np.arange(1, 6)
        models[name] = h
    observed = hist.Hist(axis).fill(np.random.default_rng(0).uniform(0, 5, 150))
    fig = plot_histograms(models, observed)
    render(fig, "histograms")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["model a", "model b", "Data"]
    assert ax.get_xlabel() == "x [GeV]" and len(ax.containers) == 1  # one errorbar set for the data
    data = ax.containers[0].lines[0].get_ydata()
    np.testing.assert_allclose(data, observed.values())
    # raw events with weights, binned with the model's edges
    fig = plot_histograms([np.ones(3)], edges=[0, 1, 2, 3], observed_events=[0.5, 1.5, 1.6], labels=["flat"])
    np.testing.assert_allclose(fig.axes[0].containers[0].lines[0].get_ydata(), [1, 2, 0])
    with pytest.raises(PlottingError, match="edges"):
        plot_histograms([np.ones(3)])
    with pytest.raises(PlottingError, match="1-d"):
        plot_histograms([hist.Hist(axis, hist.axis.Regular(2, 0.0, 1.0, name="y"))])


def test_histograms_with_a_theta_axis(small_golden, render):
    """The package's histograms (a theta axis first): one line per point, named as everywhere."""
    binned = binned_weights(small_golden, "Phi", np.linspace(-np.pi, np.pi, 7))
    fig = plot_histograms([binned.to_hist(["sm", [0.5, 0.0]], LUMINOSITY)], observable="Phi")
    render(fig, "histograms_theta")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SM (a2 = 0, a3 = 0)", "a2 = 0.5, a3 = 0"]
    fig = plot_histograms({"model": binned.to_hist([[0.5, 0.0]], LUMINOSITY)})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["model"]
    assert fig.axes[0].get_xlabel() == "Phi"  # the hist axis's name: no units without a mapping
