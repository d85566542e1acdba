"""Shared plotting helpers: the HEP style context, figure creation, colour and line-style cycles, argument checks,
and the words on a figure (axis labels with units, names of parameter points, luminosity and selection notes).

Figures are plain :class:`matplotlib.figure.Figure` objects made without pyplot, so nothing is registered with
a GUI backend: they render headless (Agg) through ``fig.savefig`` and are freed when the last reference goes.

Conventions of the words (the same in every plot): an observable's axis reads ``label [unit]`` (the label and
unit from the event store's metadata ``"observable_info"``, written from
:meth:`~columnminer.analysis.Analysis.observable_info`; no brackets for a dimensionless one); a parameter point
in a legend reads ``a2 = 0.5, a3 = 0``, a benchmark ``SM (a2 = 0, a3 = 0)`` (its name, "sm" written "SM", and
its values); a luminosity reads ``L = 300 fb^-1`` (fb^-1 from 1 fb^-1 = 1000 pb^-1 up, else pb^-1).
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
    "annotate",
    "as_list",
    "axis_label",
    "cycle",
    "hep_style",
    "labelled_items",
    "layered_widths",
    "luminosity_label",
    "new_figure",
    "observable_info",
    "panel_grid",
    "per_item_note",
    "place_legend",
    "selection_annotation",
    "step",
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


def _number(value: float, digits: int) -> str:
    """``value`` with ``digits`` significant digits, never "-0"."""
    text = f"{value:.{digits}g}"
    return "0" if float(text) == 0.0 else text


def theta_label(
    theta: Any,
    parameter_names: Sequence[str] | None = None,
    digits: int = 3,
    point: Any = None,
) -> str:
    """The legend name of a parameter point, the same in every plot: a point as ``name = value, ...``; a
    benchmark by its name ("sm" written "SM"), followed by its values in brackets when ``point`` (its
    parameter values) is given. Without parameter names the parameters are called θ0, θ1, ...

    Example:
        >>> theta_label([0.5, -0.0], ["a2", "a3"]), theta_label("sm")
        ('a2 = 0.5, a3 = 0', 'SM')
        >>> theta_label("sm", ["a2", "a3"], point=[0, 0])
        'SM (a2 = 0, a3 = 0)'
    """
    if isinstance(theta, str):
        name = "SM" if theta.lower() == "sm" else theta
        if point is None:
            return name
        return f"{name} ({theta_label(point, parameter_names, digits)})"
    values = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    if parameter_names is None or len(parameter_names) != len(values):
        parameter_names = [f"θ{i}" for i in range(len(values))]
    return ", ".join(f"{n} = {_number(v, digits)}" for n, v in zip(parameter_names, values, strict=True))


def observable_info(store: Any) -> dict[str, dict[str, str]]:
    """The axis labels and units of a store's observables, ``{name: {"label": ..., "unit": ...}}``, from its
    metadata key ``"observable_info"`` (empty when the store has none).

    Example:
        >>> from types import SimpleNamespace
        >>> info = {"m4l": {"label": "$m_{4l}$", "unit": "GeV"}}
        >>> store = SimpleNamespace(metadata={"observable_info": info})
        >>> observable_info(store), observable_info(SimpleNamespace(metadata={}))
        ({'m4l': {'label': '$m_{4l}$', 'unit': 'GeV'}}, {})
    """
    metadata = getattr(store, "metadata", None)
    info = metadata.get("observable_info") if isinstance(metadata, Mapping) else None
    return dict(info) if isinstance(info, Mapping) else {}


def axis_label(
    name: str,
    info: Mapping[str, Mapping[str, str]] | None = None,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
) -> str:
    r"""The axis label ``label [unit]`` of observable ``name``: label and unit from ``labels`` / ``units``
    (name -> text) if given there, else from ``info`` (:func:`observable_info`), else the name and no unit;
    a dimensionless observable (unit "") gets no brackets.

    Example:
        >>> info = {"mZ2": {"label": "$m_{Z_2}$", "unit": "GeV"}, "Phi": {"label": "$\\Phi$", "unit": "rad"}}
        >>> axis_label("mZ2", info), axis_label("y4l", info), axis_label("Phi", info, labels={"Phi": "phi"})
        ('$m_{Z_2}$ [GeV]', 'y4l', 'phi [rad]')
    """
    entry = (info or {}).get(name, {})
    label = (labels or {}).get(name, entry.get("label") or name)
    unit = (units or {}).get(name, entry.get("unit") or "")
    return f"{label} [{unit}]" if unit else str(label)


def luminosity_label(luminosity_pb: float | None) -> str:
    r"""``L = ... fb^-1`` (mathtext) for an integrated luminosity in pb^-1 (fb^-1 from 1000 pb^-1 up, else
    pb^-1); "" for None.

    Example:
        >>> print(luminosity_label(3e6), luminosity_label(20.0), repr(luminosity_label(None)))
        $L = 3000\,\mathrm{fb}^{-1}$ $L = 20\,\mathrm{pb}^{-1}$ ''
    """
    if luminosity_pb is None:
        return ""
    value, unit = (luminosity_pb / 1000.0, "fb") if luminosity_pb >= 1000.0 else (luminosity_pb, "pb")
    return rf"$L = {_number(value, 6)}\,\mathrm{{{unit}}}^{{-1}}$"


def selection_annotation(metadata: Mapping[str, Any] | None, annotation: str | None = None) -> str:
    """The note on the level and selection of the events shown: ``annotation`` when given (``""`` for
    none), else from the store's metadata: ``"level"`` ("parton", "detector", "mixed") and ``"cuts"`` (the
    cut names, or a text; an empty list reads "no selection"), at the top level or in the record
    ``"analysis"`` that ``columnminer analyse`` writes (with the ``"detector"`` used); "" when neither is
    there.

    Example:
        >>> record = {"level": "detector", "detector": "cms: smearing", "cuts": ["a", "b"]}
        >>> selection_annotation({"analysis": record})
        'detector level (cms), after selection (2 cuts)'
        >>> selection_annotation({"level": "parton", "cuts": []}), selection_annotation({}, "my note")
        ('parton level, no selection', 'my note')
    """
    if annotation is not None:
        return str(annotation)
    metadata = metadata or {}
    record = metadata.get("analysis") if isinstance(metadata.get("analysis"), Mapping) else {}
    parts = []
    level = metadata.get("level") or record.get("level")
    if level:
        level = str(level)
        parts.append(level if "level" in level else f"{level} level")
        detector = str(record.get("detector") or "none").split(":")[0]
        if level.startswith("detector") and detector != "none":
            parts[-1] += f" ({detector})"
    cuts = metadata.get("cuts", record.get("cuts"))
    if isinstance(cuts, str) and cuts:
        parts.append(cuts)
    elif isinstance(cuts, Sequence) and not isinstance(cuts, str):
        n = len(cuts)
        parts.append(f"after selection ({n} cut{'s' if n != 1 else ''})" if n else "no selection")
    return ", ".join(parts)


def per_item_note(notes: Sequence[str], names: Sequence[str | None]) -> tuple[str, list[str | None]]:
    """A note (e.g. the luminosity) said once when every item shares it, else appended to each item's name in
    brackets: returns (the shared note or "", the names).

    Example:
        >>> per_item_note(["L = 1", "L = 1"], ["a", "b"]), per_item_note(["L = 1", "L = 2"], ["a", None])
        (('L = 1', ['a', 'b']), ('', ['a (L = 1)', None]))
    """
    if len(set(notes)) <= 1:
        return (notes[0] if notes else ""), list(names)
    return "", [
        name if name is None or not note else f"{name} ({note})"
        for name, note in zip(names, notes, strict=True)
    ]


def annotate(target: Any, *texts: str) -> str:
    """Write the non-empty ``texts`` (joined by "; ") above an axes (left-aligned title) or, for a figure,
    as its small suptitle; returns the text written ("" writes nothing).

    Example:
        >>> fig, ax = new_figure()
        >>> annotate(ax, "detector level", "", luminosity_label(3e5)) == ax.get_title(loc="left")
        True
    """
    text = "; ".join(t for t in texts if t)
    if text:
        if isinstance(target, Figure):
            target.suptitle(text, fontsize=11)
        else:
            target.set_title(text, loc="left", fontsize=10)
    return text


def layered_widths(n: int, linewidth: float, spread: float | None = None) -> list[float]:
    """Line widths for ``n`` curves drawn in order, from ``(1 + spread) * linewidth`` for the first (drawn
    at the bottom) down to ``linewidth`` for the last (on top): where curves coincide, the ones below still
    show on both sides of the ones above. The default spread, ``min(2, 0.5 (n - 1))``, keeps 0.5
    ``linewidth`` between neighbours (less for more than five curves) and the widest line at most three times
    ``linewidth``.

    Example:
        >>> layered_widths(3, 1.5), layered_widths(2, 1.0, spread=0.5)
        ([3.0, 2.25, 1.5], [1.5, 1.0])
    """
    if n <= 1:
        return [float(linewidth)] * n
    spread = min(2.0, 0.5 * (n - 1)) if spread is None else float(spread)
    return [round(float(linewidth) * (1.0 + spread * (n - 1 - k) / (n - 1)), 6) for k in range(n)]


def step(ax: Any, values: np.ndarray, bin_edges: np.ndarray, **kwargs: Any) -> Any:
    """A histogram as a step line (``mplhep.histplot``, no under- or overflow), keyword arguments passed on
    (``color``, ``ls``, ``lw``, ``label``, ``histtype``, ``yerr``, ``edges`` ...).

    Example:
        >>> fig, ax = new_figure()
        >>> _ = step(ax, np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0]), color="k", label="nominal")
        >>> ax.get_legend_handles_labels()[1]
        ['nominal']
    """
    import mplhep

    return mplhep.histplot(values, bin_edges, ax=ax, flow="none", **kwargs)
