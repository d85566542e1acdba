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
from ._style import (
    DEFAULT_COLORS,
    DEFAULT_LINESTYLES,
    cycle,
    hep_style,
    labelled_items,
    new_figure,
    panel_grid,
    place_legend,
)

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
    dotted lines at :math:`1 - \mathrm{CL}`, best fits marked on the curves. ``legend_loc``: a matplotlib
    location, or "outside" (right of the axes).

    Example:
        >>> from types import SimpleNamespace
        >>> from scipy import stats
        >>> g = np.stack(np.meshgrid(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11)), -1).reshape(-1, 2)
        >>> def result(scale):  # q = scale |theta|^2, two degrees of freedom
        ...     p = stats.chi2.sf(scale * (g**2).sum(axis=1), 2)
        ...     return SimpleNamespace(thetas=g, p_values=p, best_fit_index=60, parameter_names=("a", "b"))
        >>> fig = plot_limits({"histo": result(10.0), "ml": result(20.0)}, show_index=0)
        >>> ax = fig.axes[0]
        >>> [t.get_text() for t in ax.get_legend().get_texts()]
        ['histo', 'ml', '68.3% CL', '95.5% CL', 'best fit']
    """
    items, names = labelled_items(results, labels, "results")
    names = [
        getattr(r, "mode", f"method {i}") if n is None else n
        for i, (r, n) in enumerate(zip(items, names, strict=True))
    ]
    n_dims = _check(items, "results")
    cls = sorted(float(c) for c in cls)
    if not cls or not all(0.0 < c < 1.0 for c in cls):
        raise PlottingError(f"cls: confidence levels must lie in (0, 1), got {cls}")
    colors = cycle(colors, len(items), DEFAULT_COLORS)
    cl_styles = cycle(linestyles, len(cls), DEFAULT_LINESTYLES)
    xlabel, ylabel = _labels(items, xlabel, ylabel)
    if show_index is not None and not 0 <= int(show_index) < len(items):
        raise PlottingError(f"show_index {show_index} out of range for {len(items)} results")
    with hep_style(style):
        fig, ax = new_figure(figsize=(6.4, 5.2))
        handles = [Line2D([], [], color=c, lw=linewidth, label=n) for c, n in zip(colors, names, strict=True)]
        handles += [
            Line2D([], [], color="grey", ls=s, lw=linewidth, label=f"{100 * c:.3g}% CL")
            for c, s in zip(cls, cl_styles, strict=True)
        ]
        if n_dims == 1:
            _one_parameter(ax, items, colors, cls, linewidth, mark_best_fit, p_value_range)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("p-value")
        else:
            if show_index is not None:
                mesh = _map(ax, items[int(show_index)], LogNorm(*p_value_range), cmap)
                mesh.set_alpha(map_alpha)
                fig.colorbar(mesh, ax=ax, label=f"p-value ({names[int(show_index)]})")
            levels = [1.0 - c for c in reversed(cls)]
            for result, color in zip(items, colors, strict=True):
                _contour(
                    ax,
                    result,
                    levels,
                    colors=[color],
                    linestyles=list(reversed(cl_styles)),
                    linewidths=linewidth,
                )
                if mark_best_fit:
                    best = np.asarray(result.thetas)[int(result.best_fit_index)]
                    ax.scatter(best[0], best[1], marker="o", s=50, color=color, edgecolor="white", zorder=5)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
        if mark_best_fit:
            handles.append(Line2D([], [], color="grey", marker="o", ls="", label="best fit"))
        truth = _truth(items)
        if mark_truth and truth is not None:
            if n_dims == 2:
                ax.scatter(truth[0], truth[1], marker="*", s=160, color="black", zorder=6)
            else:
                ax.axvline(truth[0], color="black", lw=1.0)
            handles.append(Line2D([], [], color="black", marker="*", ls="", ms=10, label="true θ"))
        place_legend(
            ax, handles, legend_loc, frameon=legend_loc != "outside", facecolor="white", edgecolor="none"
        )
    return fig


def _one_parameter(ax, results, colors, cls, linewidth, mark_best_fit, p_value_range):
    for result, color in zip(results, colors, strict=True):
        thetas = np.asarray(result.thetas, dtype=np.float64)[:, 0]
        p_values = np.asarray(result.p_values, dtype=np.float64)
        order = np.argsort(thetas)
        ax.plot(thetas[order], np.clip(p_values[order], *p_value_range), color=color, lw=linewidth)
        if mark_best_fit:
            best = int(result.best_fit_index)
            ax.scatter(thetas[best], np.clip(p_values[best], *p_value_range), color=color, s=40, zorder=5)
    for c in cls:
        ax.axhline(1.0 - c, color="grey", ls=":", lw=1.0)
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
    items, names = labelled_items(results, labels, "results")
    names = [
        getattr(r, "mode", f"method {i}") if n is None else n
        for i, (r, n) in enumerate(zip(items, names, strict=True))
    ]
    if _check(items, "results") != 2:
        raise PlottingError("plot_p_value_maps needs two-parameter results (use plot_limits for one)")
    xlabel, ylabel = _labels(items, xlabel, ylabel)
    cls = sorted(float(c) for c in cls)
    levels = [1.0 - c for c in reversed(cls)]
    styles = list(reversed(cycle(None, len(cls), DEFAULT_LINESTYLES)))
    norm = LogNorm(*p_value_range)
    truth = _truth(items)
    with hep_style(style):
        fig, axes = panel_grid(len(items), n_cols)
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
    return fig
