"""Fisher-information plots: error ellipses with uncertainty bands, eigenvalue / determinant bars, per-bin
information."""

import numpy as np
import pytest

from columnminer.errors import PlottingError
from columnminer.inference.fisher import (
    FisherInformation,
    histogram_information,
    histogram_of_information,
    rate_information,
    truth_information,
)
from columnminer.plotting.fisher import (
    plot_distribution_of_information,
    plot_fisher_barplot,
    plot_fisher_contours,
)

LUMINOSITY = 3e5


@pytest.fixture(scope="module")
def informations(small_golden):
    return {
        "truth": truth_information(small_golden, "sm", LUMINOSITY),
        "rate": rate_information(small_golden, "sm", LUMINOSITY),
        "histogram": histogram_information(small_golden, "sm", LUMINOSITY, "Phi", bins=8),
    }


def test_contours_of_store_informations(informations, render):
    fig = plot_fisher_contours(informations, n_toys=30, resolution=60)
    render(fig, "fisher_contours")
    ax = fig.axes[0]
    # every information has a covariance: a filled band and a contour line each
    assert len(ax.collections) == 2 * len(informations)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(informations)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a2", "a3")
    # the legend says what the ellipse is, for which luminosity, around which point
    assert ax.get_legend().get_title().get_text().split("\n") == [
        r"$\Delta\theta^T I\,\Delta\theta = 1$: 1$\sigma$ (39.3% CL in 2D)",
        r"$L = 300\,\mathrm{fb}^{-1}$",
        "at a2 = 0, a3 = 0",
    ]
    # no ellipse hides another: distinct line styles, the smallest ellipse drawn last and narrowest
    lines = [c for c in ax.collections if c.get_zorder() >= 2]  # the contour lines, above the bands
    widths = [c.get_linewidths()[0] for c in lines]
    assert len(lines) == 3 and widths == sorted(widths, reverse=True) and len(set(widths)) == 3
    assert len({str(c.get_linestyles()[0]) for c in lines}) == 3
    fig = plot_fisher_contours(informations, uncertainties=False, resolution=60, distance=2.45)
    assert len(fig.axes[0].collections) == len(informations)
    assert "(95.0% CL in 2D)" in fig.axes[0].get_legend().get_title().get_text()
    # informations for different luminosities: each entry says its own
    mixed = {"a": informations["truth"], "b": informations["rate"].scaled(1000.0)}
    fig = plot_fisher_contours(mixed, uncertainties=False, resolution=30)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        r"a ($L = 300\,\mathrm{fb}^{-1}$)",
        r"b ($L = 1\,\mathrm{fb}^{-1}$)",
    ]


def test_ellipse_geometry(render):
    """d^2 = theta^T I theta = 1 for I = diag(4, 1) is the ellipse with half-axes 1/2 and 1."""
    info = FisherInformation(np.diag([4.0, 1.0]), None, ("x", "y"), 1.0, "truth", theta=np.array([0.5, 0.0]))
    fig = plot_fisher_contours([info], labels=["exact"], resolution=201, xrange=(-1, 2), yrange=(-2, 2))
    render(fig, "fisher_ellipse")
    (contour,) = fig.axes[0].collections
    vertices = np.concatenate([p.vertices for p in contour.get_paths()])
    assert vertices[:, 0].min() == pytest.approx(0.0, abs=0.02)  # centred on info.theta
    assert vertices[:, 0].max() == pytest.approx(1.0, abs=0.02)
    assert np.abs(vertices[:, 1]).max() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(PlottingError, match="2 x 2"):
        plot_fisher_contours([np.eye(3)])


def test_barplot(informations, render):
    fig = plot_fisher_barplot(informations)
    render(fig, "fisher_barplot")
    top, bottom = fig.axes
    heights = [p.get_height() for p in bottom.patches]
    expected = [max(np.linalg.det(i.information), 0.0) ** 0.5 for i in informations.values()]
    np.testing.assert_allclose(heights, expected, rtol=1e-8, atol=1e-6)  # the rate information is singular
    assert [t.get_text() for t in bottom.get_xticklabels()] == list(informations)
    assert len(top.patches) == 3 * 2 * 2  # 3 matrices x 2 eigenvalues x 2 parameter shares
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["a2", "a3"]
    fig = plot_fisher_barplot([np.diag([4.0, 9.0])], ["one"], determinant_indices=[1], log=False)
    assert fig.axes[1].patches[0].get_height() == pytest.approx(9.0)


def test_distribution_of_information(small_golden, render):
    edges = np.linspace(-np.pi, np.pi, 9)
    truth = histogram_of_information(small_golden, "sm", LUMINOSITY, "Phi", edges, kind="truth")
    counting = histogram_of_information(small_golden, "sm", LUMINOSITY, "Phi", edges)
    fig = plot_distribution_of_information(truth, information_aux=counting, xlabel="Phi")
    render(fig, "information_distribution")
    ax, twin = fig.axes
    assert ax.get_xlabel() == "Phi" and twin.get_ylabel() == "share of the information"
    assert len(ax.patches) == 1 and len(twin.patches) == 4  # cross section; a2, a3 x (truth, counting)
    texts = [t.get_text() for t in twin.get_legend().get_texts()]
    assert texts[0] == "cross section" and len(texts) == 5
    fig = plot_distribution_of_information(edges, truth.sigma, truth.information, measure="determinant")
    assert len(fig.axes[1].patches) == 1
    with pytest.raises(PlottingError, match="sigma"):
        plot_distribution_of_information(edges, truth.sigma[:-1], truth.information)
