"""Shared plotting helpers: the HEP style context, figure creation, colour and line-style cycles, argument checks.

Figures are plain :class:`matplotlib.figure.Figure` objects made without pyplot, so nothing is registered with
a GUI backend: they render headless (Agg) through ``fig.savefig`` and are freed when the last reference goes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..errors import PlottingError

__all__ = [
    "DEFAULT_COLORS",
    "DEFAULT_LINESTYLES",
    "as_list",
    "cycle",
    "hep_style",
    "labelled_items",
    "new_figure",
    "panel_grid",
    "place_legend",
    "theta_label",
]

#: Colours of successive curves (Okabe-Ito, readable for colour-blind eyes), then matplotlib's tab10.
DEFAULT_COLORS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
#: Line styles of successive curves.
DEFAULT_LINESTYLES = ("-", "--", ":", "-.")


@contextlib.contextmanager
def hep_style(style: str | dict | None = "ROOT") -> Iterator[None]:
    """Temporarily apply an mplhep style (``"ROOT"``, ``"CMS"``, ``"ATLAS"``, ``"LHCb2"``, ... or an rcParams
    dict; None leaves matplotlib's settings as they are) plus the columnminer touches (constrained layout, a
    modest font size, no LaTeX, DejaVu maths); the global rcParams are restored afterwards. Fonts are looked up
    when a figure is drawn, so figures saved after the context use the default font families.

    Example:
        >>> with hep_style():
        ...     fig, ax = new_figure()
        >>> type(fig).__name__
        'Figure'
    """
    import mplhep

    styles: list[Any] = []
    if isinstance(style, str):
        found = getattr(mplhep.style, style, None)
        if found is None:
            raise PlottingError(f"style: mplhep has no style {style!r}")
        styles.append(found)
    elif style is not None:
        styles.append(style)
    touches = {
        "font.size": 12,
        "axes.labelsize": 13,
        "legend.fontsize": 10,
        "text.usetex": False,
        "axes.linewidth": 1.2,
        "xtick.major.size": 6,
        "ytick.major.size": 6,
        "xtick.minor.size": 3,
        "ytick.minor.size": 3,
        # texts keep their maths font set but read its fonts from the rcParams at draw time (after the
        # context): a set that needs no rcParams renders the same later
        "mathtext.fontset": "dejavusans",
    }
    with mpl.style.context([*styles, touches]):
        yield


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    figsize: tuple[float, float] | None = None,
    squeeze: bool = True,
    **kwargs: Any,
) -> tuple[Figure, Any]:
    """A new headless figure with a grid of axes (``Figure.subplots``; constrained layout), its size scaled
    with the grid unless given.

    Example:
        >>> fig, axes = new_figure(2, 3)
        >>> axes.shape, fig.get_size_inches().tolist()
        ((2, 3), [13.5, 8.0])
    """
    if figsize is None:
        figsize = (4.5 * ncols, 4.0 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, **kwargs)
    return fig, axes


def panel_grid(
    n_panels: int, n_cols: int, panel_size: tuple[float, float] = (4.5, 4.0)
) -> tuple[Figure, list]:
    """A figure with ``n_panels`` axes laid out ``n_cols`` per row; spare axes are hidden. Returns the figure
    and the list of the used axes.

    Example:
        >>> fig, axes = panel_grid(5, 3)
        >>> len(axes), sum(ax.get_visible() for ax in fig.axes)
        (5, 5)
    """
    if n_panels < 1:
        raise PlottingError("nothing to draw: no panels")
    n_cols = max(1, min(int(n_cols), n_panels))
    n_rows = math.ceil(n_panels / n_cols)
    fig, axes = new_figure(n_rows, n_cols, (panel_size[0] * n_cols, panel_size[1] * n_rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def place_legend(ax: Any, handles: Sequence[Any] | None = None, loc: str = "best", **kwargs: Any) -> Any:
    """A legend at ``loc`` (any matplotlib location), or with ``"outside"`` to the right of the axes (the
    constrained layout makes room for it).

    Example:
        >>> fig, ax = new_figure()
        >>> _ = ax.plot([0, 1], label="line")
        >>> place_legend(ax, loc="outside").get_texts()[0].get_text()
        'line'
    """
    if handles is not None:
        kwargs["handles"] = list(handles)
    if loc == "outside":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)
    return ax.legend(loc=loc, **kwargs)


def as_list(value: Any, n: int, what: str) -> list[Any]:
    """Broadcast one value (a string, number or None) or check a sequence of ``n`` values.

    Example:
        >>> as_list("red", 2, "colors"), as_list([1, 2], 2, "linewidths")
        (['red', 'red'], [1, 2])
    """
    if value is None or isinstance(value, str | int | float | dict):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise PlottingError(f"{what}: expected {n} values, got {len(values)}")
    return values


def cycle(values: Sequence[Any] | str | None, n: int, default: Sequence[Any]) -> list[Any]:
    """``n`` values: the given one(s) (a single value is repeated, a shorter list cycles) or the default cycle.

    Example:
        >>> cycle(None, 3, DEFAULT_LINESTYLES), cycle(["k", "r"], 3, DEFAULT_COLORS)
        (['-', '--', ':'], ['k', 'r', 'k'])
    """
    if values is None:
        values = default
    elif isinstance(values, str):
        values = [values]
    values = list(values)
    if not values:
        raise PlottingError("an empty list of styles")
    return [values[i % len(values)] for i in range(n)]


def labelled_items(items: Any, labels: Sequence[str | None] | None, what: str) -> tuple[list, list]:
    """Items and their labels from a mapping ``label -> item`` or a sequence (with optional ``labels``).

    Example:
        >>> labelled_items({"a": 1, "b": 2}, None, "things")
        ([1, 2], ['a', 'b'])
    """
    if isinstance(items, Mapping):
        values, names = list(items.values()), [str(k) for k in items]
        if labels is not None:
            names = as_list(labels, len(values), "labels")
    else:
        values = list(items)
        names = [None] * len(values) if labels is None else as_list(labels, len(values), "labels")
    if not values:
        raise PlottingError(f"{what}: nothing to draw")
    return values, names


def theta_label(theta: Any, parameter_names: Sequence[str] | None = None, digits: int = 3) -> str:
    """A legend label for a parameter point: a benchmark name as it is, a point as ``name = value, ...``.

    Example:
        >>> theta_label([0.5, -1.0], ["a2", "a3"]), theta_label("sm")
        ('a2 = 0.5, a3 = -1', 'sm')
    """
    if isinstance(theta, str):
        return theta
    values = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    if parameter_names is None or len(parameter_names) != len(values):
        parameter_names = [f"θ{i}" for i in range(len(values))]
    return ", ".join(f"{n} = {v:.{digits}g}" for n, v in zip(parameter_names, values, strict=True))
