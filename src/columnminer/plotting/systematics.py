r"""Systematic uncertainties of a distribution: the nominal histogram, the envelope of nuisance variations and
their ratio to the nominal.

Takes plain numbers (per-bin yields), so any source works: the store's nuisance weights, a reweighted
sample, another tool. Per systematic s with varied yields :math:`u_{sk}, d_{sk}` around the nominal
:math:`n_k` the upward and downward shifts are :math:`\delta^+_{sk} = \max(u_{sk} - n_k, d_{sk} - n_k, 0)`
and :math:`\delta^-_{sk} = \max(n_k - u_{sk}, n_k - d_{sk}, 0)`; the total band is
:math:`n_k + \sqrt{\sum_s (\delta^\pm_{sk})^2}` (``combine="quadrature"``, independent sources) or
:math:`n_k + \max_s \delta^\pm_{sk}` (``combine="envelope"``, e.g. scale choices of one calculation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import PlottingError
from ._style import DEFAULT_COLORS, annotate, axis_label, cycle, hep_style, new_figure, step

__all__ = ["combine_variations", "plot_systematics"]


def _yields(values: Any, n_bins: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n_bins,):
        raise PlottingError(f"{what}: expected {n_bins} per-bin yields, got shape {array.shape}")
    return array


def combine_variations(
    nominal: Any, variations: Mapping[str, Any], combine: str = "quadrature"
) -> tuple[np.ndarray, np.ndarray]:
    """The total (low, high) band around ``nominal`` from per-systematic (up, down) yields (see the module
    docstring for the two ways to combine).

    Example:
        >>> low, high = combine_variations([10.0, 10.0], {"a": ([13, 10], [7, 10]), "b": ([14, 11], [10, 9])})
        >>> low.tolist(), high.tolist()
        ([7.0, 9.0], [15.0, 11.0])
    """
    if combine not in ("quadrature", "envelope"):
        raise PlottingError(f"combine must be 'quadrature' or 'envelope', got {combine!r}")
    nominal = np.asarray(nominal, dtype=np.float64)
    ups, downs = [], []
    for name, pair in variations.items():
        up, down = _pair(pair, len(nominal), name)
        ups.append(np.maximum.reduce([up - nominal, down - nominal, np.zeros_like(nominal)]))
        downs.append(np.maximum.reduce([nominal - up, nominal - down, np.zeros_like(nominal)]))
    if not ups:
        return nominal.copy(), nominal.copy()
    if combine == "quadrature":
        up_total, down_total = (
            np.sqrt(np.sum(np.square(ups), axis=0)),
            np.sqrt(np.sum(np.square(downs), axis=0)),
        )
    else:
        up_total, down_total = np.max(ups, axis=0), np.max(downs, axis=0)
    return nominal - down_total, nominal + up_total


def _ratio(values: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    return np.divide(values, nominal, out=np.ones_like(values), where=nominal != 0)


def plot_systematics(
    edges: Sequence[float],
    nominal: Sequence[float],
    variations: Mapping[str, Any] | None = None,
    *,
    band: tuple[Any, Any] | None = None,
    combine: str = "quadrature",
    show_variations: bool = True,
    xlabel: str = "",
    observable: str | None = None,
    observable_labels: Mapping[str, str] | None = None,
    observable_units: Mapping[str, str] | None = None,
    ylabel: str = "Events per bin",
    nominal_label: str = "nominal",
    band_label: str | None = None,
    ratio_range: tuple[float, float] = (0.8, 1.2),
    log: bool = False,
    line_color: str = "black",
    band_color: str = "#F2A900",
    colors: Sequence[str] | str | None = None,
    band_alpha: float = 0.35,
    style: str | None = "ROOT",
    annotation: str | None = None,
) -> Figure:
    r"""The nominal histogram (black step line), the total systematic band (filled; ``band`` = (low, high)
    yields, else combined from ``variations`` as in :func:`combine_variations`) and, with ``show_variations``,
    every systematic's up (solid) and down (dashed) variation in its colour; a ratio panel below shows all of
    it divided by the nominal, within ``ratio_range``.

    ``edges``: the n_bins + 1 bin edges; ``nominal``: per-bin yields; ``variations``: name -> (up, down)
    per-bin yields. The x axis reads ``xlabel``, else ``label [unit]`` of ``observable`` from
    ``observable_labels`` / ``observable_units`` (name -> text, e.g. a store's metadata); ``annotation``
    (level, selection, luminosity) is written above the plot.

    Example:
        >>> fig = plot_systematics([0, 1, 2, 3], [10.0, 8.0, 4.0], {"scale": ([11, 9, 4.5], [9, 7, 3.5])},
        ...                        observable="pt", observable_units={"pt": "GeV"}, annotation="parton level")
        >>> main, ratio = fig.axes
        >>> [t.get_text() for t in main.get_legend().get_texts()], ratio.get_ylabel(), ratio.get_xlabel()
        (['nominal', 'total (quadrature)', 'scale'], 'ratio to nominal', 'pt [GeV]')
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise PlottingError("edges: expected increasing bin edges")
    nominal = _yields(nominal, len(edges) - 1, "nominal")
    variations = {str(name): _pair(pair, len(nominal), name) for name, pair in (variations or {}).items()}
    if band is not None:
        if len(band) != 2:
            raise PlottingError("band: expected (low, high) per-bin yields")
        low, high = (_yields(v, len(nominal), "band") for v in band)
        low, high = np.minimum(low, high), np.maximum(low, high)
        band_label = band_label or "total"
    elif variations:
        low, high = combine_variations(nominal, variations, combine)
        band_label = band_label or f"total ({combine})"
    else:
        raise PlottingError("give variations (name -> (up, down)) or a total band (low, high)")
    shown = variations if show_variations else {}
    colors = cycle(colors, max(len(shown), 1), DEFAULT_COLORS)
    if not xlabel and observable is not None:
        xlabel = axis_label(observable, None, observable_labels, observable_units)
    with hep_style(style):
        fig, (main, ratio) = new_figure(
            2, 1, figsize=(6.0, 6.0), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
        lines = [
            (values, color, 1.2, ls, label)
            for (name, (up, down)), color in zip(shown.items(), colors, strict=False)
            for values, ls, label in ((up, "-", name), (down, "--", None))
        ]
        lines.append((nominal, line_color, 2.0, "-", nominal_label))
        band_style = {"color": band_color, "alpha": band_alpha, "label": band_label}
        _draw_panel(main, edges, np.ones_like(nominal), (low, high), band_style, lines)
        _draw_panel(ratio, edges, nominal, (low, high), band_style, lines, in_ratio=True)
        _finish(main, ratio, nominal_label, band_label, xlabel, ylabel, log, ratio_range)
        annotate(main, annotation or "")
    return fig


def _draw_panel(ax, edges, scale, band, band_style, lines, in_ratio=False) -> None:
    """The band and the lines (values, colour, width, style, label) divided by ``scale``; in the ratio panel
    without labels and without the vertical step edges."""
    low, high = band
    label = None if in_ratio else band_style["label"]
    style = {"color": band_style["color"], "alpha": band_style["alpha"]}
    ax.stairs(_ratio(high, scale), edges, baseline=_ratio(low, scale), fill=True, lw=0, label=label, **style)
    for values, color, width, ls, label in lines:
        label = None if in_ratio else label
        step(ax, _ratio(values, scale), edges, color=color, lw=width, ls=ls, label=label, edges=not in_ratio)


def _pair(pair: Any, n_bins: int, name: Any) -> tuple[np.ndarray, np.ndarray]:
    """A systematic's (up, down) per-bin yields, checked."""
    if len(pair) != 2:
        raise PlottingError(f"variations[{name!r}]: expected (up, down) yields")
    up, down = (_yields(v, n_bins, f"variations[{name!r}]") for v in pair)
    return up, down


def _finish(main, ratio, nominal_label, band_label, xlabel, ylabel, log, ratio_range) -> None:
    """The legend (nominal and total band first), axis labels and ranges of the two panels."""
    handles, texts = main.get_legend_handles_labels()
    order = [texts.index(nominal_label), texts.index(band_label)]
    order += [i for i in range(len(texts)) if i not in order]
    main.legend([handles[i] for i in order], [texts[i] for i in order], loc="best")
    main.set_ylabel(ylabel)
    if log:
        main.set_yscale("log")
    else:
        main.set_ylim(bottom=0.0)
    ratio.set_ylim(*ratio_range)
    ratio.set_ylabel("ratio to nominal")
    ratio.set_xlabel(xlabel)
    main.set_xlabel("")
