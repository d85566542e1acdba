"""Systematic envelopes: combination of variations, nominal + band + ratio panel."""

import numpy as np
import pytest

from columnminer.errors import PlottingError
from columnminer.plotting.systematics import combine_variations, plot_systematics

EDGES = np.linspace(0.0, 100.0, 11)
NOMINAL = 1000.0 * np.exp(-0.5 * (EDGES[1:] + EDGES[:-1]) / 30.0)
VARIATIONS = {"scale": (1.1 * NOMINAL, 0.92 * NOMINAL), "pdf": (1.03 * NOMINAL, 0.97 * NOMINAL)}


def test_combination():
    low, high = combine_variations(NOMINAL, VARIATIONS)
    np.testing.assert_allclose(high / NOMINAL, 1 + np.hypot(0.1, 0.03))
    np.testing.assert_allclose(low / NOMINAL, 1 - np.hypot(0.08, 0.03))
    low, high = combine_variations(NOMINAL, VARIATIONS, "envelope")
    np.testing.assert_allclose([low / NOMINAL, high / NOMINAL], [np.full(10, 0.92), np.full(10, 1.1)])
    # both variations on one side: only that side moves
    low, high = combine_variations([1.0], {"s": ([1.2], [1.1])})
    assert (low.tolist(), high.tolist()) == ([1.0], [1.2])
    with pytest.raises(PlottingError, match="combine"):
        combine_variations(NOMINAL, VARIATIONS, "sum")


def test_nominal_band_variations_and_ratio(render):
    fig = plot_systematics(EDGES, NOMINAL, VARIATIONS, xlabel="pT [GeV]", ratio_range=(0.85, 1.15))
    render(fig, "systematics")
    main, ratio = fig.axes
    assert [t.get_text() for t in main.get_legend().get_texts()] == [
        "nominal",
        "total (quadrature)",
        "scale",
        "pdf",
    ]
    # per panel: the band, up and down per systematic, the nominal
    assert len(main.patches) == len(ratio.patches) == 1 + 2 * 2 + 1
    band = ratio.patches[0]
    np.testing.assert_allclose(band.get_data().values, 1 + np.hypot(0.1, 0.03))
    np.testing.assert_allclose(band.get_data().baseline, 1 - np.hypot(0.08, 0.03))
    assert ratio.get_ylim() == (0.85, 1.15) and ratio.get_xlabel() == "pT [GeV]"
    assert ratio.get_ylabel() == "ratio to nominal"


def test_total_band_only_and_errors(render):
    fig = plot_systematics(EDGES, NOMINAL, band=(0.9 * NOMINAL, 1.1 * NOMINAL), log=True)
    render(fig, "systematics_band")
    main, ratio = fig.axes
    assert main.get_yscale() == "log" and len(main.patches) == 2 and len(ratio.patches) == 2
    assert [t.get_text() for t in main.get_legend().get_texts()] == ["nominal", "total"]
    with pytest.raises(PlottingError, match="variations"):
        plot_systematics(EDGES, NOMINAL)
    with pytest.raises(PlottingError, match="nominal"):
        plot_systematics(EDGES, NOMINAL[:-1], VARIATIONS)
    with pytest.raises(PlottingError, match="up, down"):
        plot_systematics(EDGES, NOMINAL, {"x": (NOMINAL,)})
