r"""Limits: p-value maps and confidence contours of several methods on one figure, best fits marked.

Takes :class:`~columnminer.inference.limits.LimitResult` objects (or anything with ``thetas`` [T, P],
``p_values`` [T] and ``best_fit_index``). A region at confidence level CL is :math:`\{\theta: p(\theta) >
1 - \mathrm{CL}\}`, so its contour is drawn at :math:`p = 1 - \mathrm{CL}`. Two-parameter results on a
regular grid are contoured on the grid (else on a Delaunay triangulation of the points); one-parameter
results are drawn as p-value curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import PlottingError
from . import _style

__all__ = ["grid_values", "plot_limits", "plot_p_value_maps"]


def grid_values(thetas: Any, values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(xs, ys, Z[ny, nx])`` when the two-parameter points ``thetas`` form a complete regular grid (in any
    order), else None.

    Example:
        >>> thetas = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> xs, ys, z = grid_values(thetas, [1.0, 2.0, 3.0, 4.0])
        >>> z.tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    xs, ix = np.unique(thetas[:, 0], return_inverse=True)
    ys, iy = np.unique(thetas[:, 1], return_inverse=True)
    if len(xs) * len(ys) != len(thetas) or len(xs) < 2 or len(ys) < 2:
        return None
    z = np.full((len(ys), len(xs)), np.nan)
    z[iy, ix] = values
    if np.isnan(z).any():
        return None
    return xs, ys, z


def _check(results: list, what: str) -> int:
    dims = set()
    for i, r in enumerate(results):
        for attribute in ("thetas", "p_values", "best_fit_index"):
            if not hasattr(r, attribute):
                raise PlottingError(f"{what}[{i}] has no {attribute!r}: pass LimitResult objects")
        thetas = np.asarray(r.thetas)
        if thetas.ndim != 2 or len(thetas) != len(np.asarray(r.p_values)):
            raise PlottingError(f"{what}[{i}]: thetas [T, P] and p_values [T] do not fit")
        dims.add(thetas.shape[1])
    if len(dims) != 1 or dims.pop() not in (1, 2):
        raise PlottingError(f"{what}: all results must have the same one or two parameters")
    return int(np.asarray(results[0].thetas).shape[1])


def _contour(ax: Any, result: Any, levels: list[float], **kwargs: Any) -> Any:
    """Contours of the p-values of one result at the given p levels (ascending)."""
    thetas = np.asarray(result.thetas, dtype=np.float64)
    p_values = np.asarray(result.p_values, dtype=np.float64)
    gridded = grid_values(thetas, p_values)
    if gridded is not None:
        return ax.contour(*gridded, levels=levels, **kwargs)
    if len(thetas) < 3:
        raise PlottingError("a two-parameter result needs at least three points to draw contours")
    return ax.tricontour(thetas[:, 0], thetas[:, 1], p_values, levels=levels, **kwargs)


def _map(ax: Any, result: Any, norm: LogNorm, cmap: str) -> Any:
    thetas = np.asarray(result.thetas, dtype=np.float64)
    p_values = np.clip(np.asarray(result.p_values, dtype=np.float64), norm.vmin, norm.vmax)
    gridded = grid_values(thetas, p_values)
    if gridded is not None:
        return ax.pcolormesh(*gridded, norm=norm, cmap=cmap, shading="nearest", rasterized=True)
    return ax.tripcolor(thetas[:, 0], thetas[:, 1], p_values, norm=norm, cmap=cmap, shading="gouraud")


def _labels(results: list, xlabel: str | None, ylabel: str | None) -> tuple[str, str]:
    names = getattr(results[0], "parameter_names", None) or (r"$\theta_0$", r"$\theta_1$")
    names = list(names) + [r"$\theta_1$"] * (2 - len(names))
    return (names[0] if xlabel is None else xlabel), (names[1] if ylabel is None else ylabel)


def _truth(results: list) -> np.ndarray | None:
    for r in results:
        truth = getattr(r, "theta_true", None)
        if truth is not None:
            return np.asarray(truth, dtype=np.float64)
    return None


def plot_limits(
    results: Sequence[Any] | Mapping[str, Any],
    *,
    labels: Sequence[str] | None = None,
    cls: Sequence[float] = (0.6827, 0.9545),
    show_index: int | None = None,
    p_value_range: tuple[float, float] = (1e-3, 1.0),
    xlabel: str | None = None,
    ylabel: str | None = None,
    colors: Sequence[str] | str | None = None,
    linestyles: Sequence[str] | str | None = None,
    linewidth: float = 1.6,
    mark_best_fit: bool = True,
    mark_truth: bool = True,
    cmap: str = "Greys",
    map_alpha: float = 0.6,
    legend_loc: str = "outside",
    style: str | None = "ROOT",
) -> Figure:
    r"""Several methods on one axes. Two parameters: each method's contours at :math:`p = 1 - \mathrm{CL}` for
    every CL in ``cls`` (one colour per method, one line style per CL), its best fit as a marker of its
    colour, theta_true as a black star, and (``show_index``) one method's p-value map in the background (log
    colours over ``p_value_range``, drawn with ``map_alpha``). One parameter: p-value curves on a log axis,
    dotted lines at :math:`1 - \mathrm{CL}` labelled with their CL, best fits marked on the curves, one line
    style per method.
    ``legend_loc``: a matplotlib location, or "outside" (right of the axes).

    The legend's title states the data, "expected (Asimov)" for results with a ``theta_true`` and "observed"
    for those without, and the luminosity (``luminosity_pb``), once when the methods share them, else per
    method. Methods are drawn in order with decreasing line widths, so that coinciding contours (an estimator
    that reproduces the exact likelihood) stay visible, the earlier one around the later.

    Example:
        >>> from types import SimpleNamespace
        >>> from scipy import stats
        >>> g = np.stack(np.meshgrid(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11)), -1).reshape(-1, 2)
        >>> def result(scale):  # q = scale |theta|^2, two degrees of freedom; Asimov data at (0, 0)
        ...     p = stats.chi2.sf(scale * (g**2).sum(axis=1), 2)
        ...     return SimpleNamespace(thetas=g, p_values=p, best_fit_index=60, parameter_names=("a", "b"),
        ...                            theta_true=np.zeros(2), luminosity_pb=3e5)
        >>> fig = plot_limits({"histo": result(10.0), "ml": result(20.0)}, show_index=0)
        >>> legend = fig.axes[0].get_legend()
        >>> [t.get_text() for t in legend.get_texts()]
        ['histo', 'ml', '68.3% CL', '95.5% CL', 'best fit', 'true θ (a = 0, b = 0)']
        >>> print(legend.get_title().get_text())
        expected (Asimov), $L = 300\,\mathrm{fb}^{-1}$
    """
    items, names = _style.labelled_items(results, labels, "results")
    names = [
        getattr(r, "mode", f"method {i}") if n is None else n
        for i, (r, n) in enumerate(zip(items, names, strict=True))
    ]
    n_dims = _check(items, "results")
    cls = sorted(float(c) for c in cls)
    if not cls or not all(0.0 < c < 1.0 for c in cls):
        raise PlottingError(f"cls: confidence levels must lie in (0, 1), got {cls}")
    title, names = _data_note(items, names)
    lines = {
        "colors": _style.cycle(colors, len(items), _style.DEFAULT_COLORS),
        "widths": _style.layered_widths(len(items), linewidth),
        "cl_styles": _style.cycle(linestyles, len(cls), _style.DEFAULT_LINESTYLES),
        # one parameter: the line styles tell the methods apart (two: they tell the CLs apart)
        "styles": _style.cycle(None if n_dims == 1 else "-", len(items), _style.DEFAULT_LINESTYLES),
    }
    xlabel, ylabel = _labels(items, xlabel, ylabel)
    if show_index is not None and not 0 <= int(show_index) < len(items):
        raise PlottingError(f"show_index {show_index} out of range for {len(items)} results")
    with _style.hep_style(style):
        width = 6.4 + (2.2 if legend_loc == "outside" else 0.0) + (1.2 if show_index is not None else 0.0)
        fig, ax = _style.new_figure(figsize=(width, 5.2))
        if n_dims == 1:
            _one_parameter(ax, items, lines, cls, mark_best_fit, p_value_range)
            ylabel = "p-value"
        else:
            if show_index is not None:
                mesh = _map(ax, items[int(show_index)], LogNorm(*p_value_range), cmap)
                mesh.set_alpha(map_alpha)
                fig.colorbar(mesh, ax=ax, label=f"p-value ({names[int(show_index)]})")
            _two_parameters(ax, items, lines, cls, mark_best_fit)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        handles = _limit_handles(names, lines, cls if n_dims == 2 else None, linewidth, mark_best_fit)
        truth = _truth(items)
        if mark_truth and truth is not None:
            if n_dims == 2:
                ax.scatter(truth[0], truth[1], marker="*", s=160, color="black", zorder=6)
            else:
                ax.axvline(truth[0], color="black", lw=1.0)
            label = f"true θ ({_style.theta_label(truth, getattr(items[0], 'parameter_names', None))})"
            handles.append(Line2D([], [], color="black", marker="*", ls="", ms=10, label=label))
        frame = {"frameon": legend_loc != "outside", "facecolor": "white", "edgecolor": "none"}
        _style.place_legend(ax, handles, legend_loc, title=title or None, alignment="left", **frame)
    return fig


def _data_note(items: list, names: list) -> tuple[str, list]:
    """The legend title: the data ("expected (Asimov)" with a theta_true, else "observed") and the luminosity,
    said once when shared, else appended to the method names (see
    :func:`~columnminer.plotting._style.per_item_note`)."""
    kinds = [
        "" if not hasattr(r, "theta_true") else ("observed" if r.theta_true is None else "expected (Asimov)")
        for r in items
    ]
    kind, names = _style.per_item_note(kinds, names)
    luminosity, names = _style.per_item_note(
        [_style.luminosity_label(getattr(r, "luminosity_pb", None)) for r in items], names
    )
    return ", ".join(t for t in (kind, luminosity) if t), names


def _limit_handles(names, lines, cls, linewidth, mark_best_fit) -> list:
    """Legend entries: the methods (colour, width), the confidence levels (line style; none for ``cls=None``)
    and the best fit."""
    handles = [
        Line2D([], [], color=c, lw=w, ls=s, label=n)
        for c, w, s, n in zip(lines["colors"], lines["widths"], lines["styles"], names, strict=True)
    ]
    handles += [
        Line2D([], [], color="grey", ls=s, lw=linewidth, label=f"{100 * c:.3g}% CL")
        for c, s in zip(cls or [], lines["cl_styles"], strict=False)
    ]
    if mark_best_fit:
        handles.append(Line2D([], [], color="grey", marker="o", ls="", label="best fit"))
    return handles


def _two_parameters(ax, results, lines, cls, mark_best_fit) -> None:
    """Each method's contours at p = 1 - CL (one line style per CL, widths decreasing in drawing order) and
    its best fit."""
    levels = [1.0 - c for c in reversed(cls)]
    n = len(results)
    for k, (result, color, width) in enumerate(zip(results, lines["colors"], lines["widths"], strict=True)):
        styles = list(reversed(lines["cl_styles"]))
        _contour(ax, result, levels, colors=[color], linestyles=styles, linewidths=width, zorder=2 + k / n)
        if mark_best_fit:
            best = np.asarray(result.thetas)[int(result.best_fit_index)]
            ax.scatter(best[0], best[1], marker="o", s=50, color=color, edgecolor="white", zorder=5)


def _one_parameter(ax, results, lines, cls, mark_best_fit, p_value_range):
    styles = zip(lines["colors"], lines["widths"], lines["styles"], strict=True)
    for result, (color, width, style) in zip(results, styles, strict=True):
        thetas = np.asarray(result.thetas, dtype=np.float64)[:, 0]
        p_values = np.asarray(result.p_values, dtype=np.float64)
        order = np.argsort(thetas)
        ax.plot(thetas[order], np.clip(p_values[order], *p_value_range), color=color, lw=width, ls=style)
        if mark_best_fit:
            best = int(result.best_fit_index)
            ax.scatter(thetas[best], np.clip(p_values[best], *p_value_range), color=color, s=40, zorder=5)
    for c in cls:  # labelled on the line: the legend's CL styles are those of the two-parameter contours
        ax.axhline(1.0 - c, color="grey", ls=":", lw=1.0)
        ax.annotate(
            f"{100 * c:.3g}% CL",
            (0.01, 1.0 - c),
            xycoords=("axes fraction", "data"),
            va="bottom",
            fontsize=9,
            color="grey",
        )
    ax.set_yscale("log")
    ax.set_ylim(*p_value_range)


def plot_p_value_maps(
    results: Sequence[Any] | Mapping[str, Any],
    *,
    labels: Sequence[str] | None = None,
    cls: Sequence[float] = (0.6827, 0.9545),
    p_value_range: tuple[float, float] = (1e-3, 1.0),
    xlabel: str | None = None,
    ylabel: str | None = None,
    n_cols: int = 3,
    cmap: str = "viridis",
    style: str | None = "ROOT",
) -> Figure:
    r"""One panel per method (two parameters): its p-value map (log colours over ``p_value_range``, one
    shared colour bar), white contours at :math:`p = 1 - \mathrm{CL}` and its best fit (and theta_true, if
    known) marked.

    Example:
        >>> from types import SimpleNamespace
        >>> g = np.stack(np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5)), -1).reshape(-1, 2)
        >>> r = SimpleNamespace(thetas=g, p_values=np.exp(-(g**2).sum(axis=1)), best_fit_index=12)
        >>> fig = plot_p_value_maps([r, r], labels=["a", "b"])
        >>> [ax.get_title() for ax in fig.axes[:2]]
        ['a', 'b']
    """
    items, names = _style.labelled_items(results, labels, "results")
    names = [
        getattr(r, "mode", f"method {i}") if n is None else n
        for i, (r, n) in enumerate(zip(items, names, strict=True))
    ]
    if _check(items, "results") != 2:
        raise PlottingError("plot_p_value_maps needs two-parameter results (use plot_limits for one)")
    note, names = _data_note(items, names)
    xlabel, ylabel = _labels(items, xlabel, ylabel)
    cls = sorted(float(c) for c in cls)
    levels = [1.0 - c for c in reversed(cls)]
    styles = list(reversed(_style.cycle(None, len(cls), _style.DEFAULT_LINESTYLES)))
    norm = LogNorm(*p_value_range)
    truth = _truth(items)
    with _style.hep_style(style):
        fig, axes = _style.panel_grid(len(items), n_cols)
        mesh = None
        for ax, result, name in zip(axes, items, names, strict=True):
            mesh = _map(ax, result, norm, cmap)
            _contour(ax, result, levels, colors=["white"], linestyles=styles)
            best = np.asarray(result.thetas)[int(result.best_fit_index)]
            ax.scatter(best[0], best[1], marker="o", s=40, color="white", edgecolor="black", zorder=5)
            if truth is not None:
                ax.scatter(truth[0], truth[1], marker="*", s=120, color="black", zorder=6)
            ax.set_title(name)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
        fig.colorbar(mesh, ax=axes, label="p-value")
        _style.annotate(fig, note)
    return fig
