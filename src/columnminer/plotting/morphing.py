r"""Morphing bases: where the basis amplifies per-event fluctuations, in one, two and more parameters.

With morphing weights :math:`w_b(\theta)` a morphed event weight is :math:`\sum_b w_b(\theta)\,
w(z|\theta_b)`; for independent fluctuations of the basis samples its variance grows with
:math:`\sum_b w_b(\theta)^2` (:meth:`~columnminer.morphing.Morpher.squared_weight_sum`). The plots show that
sum over the parameter space (log colour scale) with the basis points marked, so a bad basis (large sums
inside the region of interest) stands out. Every function takes a :class:`~columnminer.morphing.Morpher` or
an :class:`~columnminer.setup.AnalysisSetup` (then ranges, parameter names and basis names come from it).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..errors import PlottingError
from ..morphing import Morpher
from ._style import DEFAULT_COLORS, hep_style, new_figure, place_legend, theta_label

__all__ = [
    "plot_morphing_basis_1d",
    "plot_morphing_basis_2d",
    "plot_morphing_basis_scatter",
    "plot_morphing_basis_slices",
]


def _unpack(morpher: Any, n_parameters: int | None = None) -> tuple[Morpher, np.ndarray | None, list, list]:
    """(morpher, the setup's parameter ranges or None, parameter names, basis labels)."""
    if isinstance(morpher, Morpher):
        m, ranges, names = morpher, None, [f"θ{i}" for i in range(morpher.n_parameters)]
        basis_names = [f"basis {b}" for b in range(m.n_basis)]
    elif getattr(morpher, "morpher", None) is not None:
        m = morpher.morpher
        space = morpher.parameter_space
        ranges, names = np.asarray(space.parameter_ranges, dtype=np.float64), list(space.parameter_names)
        basis_names = [theta_label(name) for name in morpher.morphing_benchmarks]
    else:
        raise PlottingError("morpher: expected a Morpher or an AnalysisSetup with morphing")
    if n_parameters is not None and m.n_parameters != n_parameters:
        raise PlottingError(f"this plot needs {n_parameters} parameter(s), the morpher has {m.n_parameters}")
    return m, ranges, names, basis_names


def _norm(crange: tuple[float, float] | None, values: np.ndarray) -> LogNorm:
    """A log colour scale over ``crange``, or over the finite positive values (at least a factor 10)."""
    if crange is not None:
        return LogNorm(*crange)
    finite = values[np.isfinite(values) & (values > 0)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (1.0, 10.0)
    return LogNorm(low, max(high, 10.0 * low))


def _range(given: Any, ranges: np.ndarray | None, index: int, basis: np.ndarray) -> tuple[float, float]:
    if given is not None:
        low, high = (float(v) for v in given)
    elif ranges is not None:
        low, high = (float(v) for v in ranges[index])
        pad = 0.1 * (high - low)  # basis points often sit on the edges
        low, high = low - pad, high + pad
    else:
        low, high = float(basis[:, index].min()), float(basis[:, index].max())
        pad = 0.1 * (high - low) if high > low else 1.0
        low, high = low - pad, high + pad
    if not high > low:
        raise PlottingError(f"parameter range ({low}, {high}) of parameter {index} is empty")
    return low, high


def plot_morphing_basis_1d(
    morpher: Any,
    *,
    xrange: tuple[float, float] | None = None,
    resolution: int = 200,
    xlabel: str | None = None,
    show_components: bool = True,
    style: str | None = "ROOT",
) -> Figure:
    r"""One parameter: :math:`\sum_b w_b(\theta)^2` against theta (thick black, log scale), each
    :math:`w_b(\theta)^2` thin in its basis point's colour, and the basis points as dotted vertical lines.

    Example:
        >>> m = Morpher([[0], [1], [2]], [[-1.0], [0.0], [1.0]])
        >>> fig = plot_morphing_basis_1d(m, xrange=(-2, 2))
        >>> len(fig.axes[0].lines)  # the sum, three weights, three basis lines
        7
    """
    m, ranges, names, basis_names = _unpack(morpher, 1)
    low, high = _range(xrange, ranges, 0, m.basis)
    thetas = np.linspace(low, high, int(resolution))[:, None]
    weights = m.weights(thetas)
    with hep_style(style):
        fig, ax = new_figure(figsize=(8.0, 4.5))
        ax.plot(thetas[:, 0], np.sum(weights**2, axis=1), color="black", lw=2.2, label=r"$\sum_b w_b^2$")
        for b in range(m.n_basis):
            color = DEFAULT_COLORS[b % len(DEFAULT_COLORS)]
            if show_components:
                ax.plot(
                    thetas[:, 0],
                    weights[:, b] ** 2,
                    color=color,
                    lw=1.0,
                    label=f"$w^2$ {basis_names[b]} ({theta_label(m.basis[b], names)})",
                )
            ax.axvline(m.basis[b, 0], color=color, ls=":", lw=1.2)
        ax.set_yscale("log")
        ax.set_xlim(low, high)
        ax.set_xlabel(xlabel if xlabel is not None else names[0])
        ax.set_ylabel("squared morphing weights")
        place_legend(ax, loc="outside")
    return fig


def _mark_basis(ax: Any, points: np.ndarray, labels: Sequence[str] | None) -> None:
    ax.scatter(
        points[:, 0],
        points[:, 1],
        s=70,
        marker="o",
        facecolor="white",
        edgecolor="black",
        lw=1.5,
        zorder=5,
        label="basis points",
    )
    if labels is not None:  # labels point inwards, so that they stay inside the axes
        right = points[:, 0] > 0.5 * (points[:, 0].min() + points[:, 0].max())
        for (x, y), text, inward in zip(points, labels, right, strict=True):
            offset, align = ((-5, 5), "right") if inward else ((5, 5), "left")
            ax.annotate(
                text, (x, y), xytext=offset, textcoords="offset points", ha=align, fontsize=8, zorder=6
            )


def plot_morphing_basis_2d(
    morpher: Any,
    *,
    xrange: tuple[float, float] | None = None,
    yrange: tuple[float, float] | None = None,
    crange: tuple[float, float] | None = None,
    resolution: int = 100,
    xlabel: str | None = None,
    ylabel: str | None = None,
    label_basis: bool = True,
    cmap: str = "viridis_r",
    style: str | None = "ROOT",
) -> Figure:
    r"""Two parameters: a map of :math:`\sum_b w_b(\theta)^2` on a ``resolution`` x ``resolution`` grid,
    coloured on a log scale clipped to ``crange`` (default: the range of the values), with the basis points
    marked (and named).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> fig = plot_morphing_basis_2d(golden_channel_setup(), resolution=20)
        >>> len(fig.axes), len(fig.axes[0].collections)  # map and colour bar; mesh and basis markers
        (2, 2)
    """
    m, ranges, names, basis_names = _unpack(morpher, 2)
    (x0, x1), (y0, y1) = _range(xrange, ranges, 0, m.basis), _range(yrange, ranges, 1, m.basis)
    xs, ys = np.linspace(x0, x1, int(resolution)), np.linspace(y0, y1, int(resolution))
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # [ny, nx, 2]
    values = m.squared_weight_sum(grid)
    norm = _norm(crange, values)
    with hep_style(style):
        fig, ax = new_figure(figsize=(6.0, 5.0))
        mesh = ax.pcolormesh(
            xs,
            ys,
            np.clip(values, norm.vmin, norm.vmax),
            norm=norm,
            cmap=cmap,
            shading="nearest",
            rasterized=True,
        )
        fig.colorbar(mesh, ax=ax, label=r"$\sum_b w_b(\theta)^2$")
        _mark_basis(ax, m.basis, basis_names if label_basis else None)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel(xlabel if xlabel is not None else names[0])
        ax.set_ylabel(ylabel if ylabel is not None else names[1])
    return fig


def _pair_axes(n_parameters: int, panel: float = 3.6) -> tuple[Figure, dict]:
    """A lower-triangle grid: the panel of (i, j), i < j, has parameter i on x and j on y."""
    n = n_parameters - 1
    fig, axes = new_figure(n, n, (panel * n + 1.2, panel * n), squeeze=False)
    pairs = {}
    for row in range(n):
        for col in range(n):
            if col > row:
                axes[row, col].set_visible(False)
            else:
                pairs[(col, row + 1)] = axes[row, col]
    return fig, pairs


def plot_morphing_basis_scatter(
    morpher: Any,
    *,
    ranges: Sequence[tuple[float, float]] | None = None,
    crange: tuple[float, float] | None = None,
    n_thetas: int = 1000,
    seed: int | None = 0,
    cmap: str = "viridis_r",
    style: str | None = "ROOT",
) -> Figure:
    r"""Any number of parameters: ``n_thetas`` points drawn uniformly in the ranges, shown in every pair of
    parameters as a scatter coloured by :math:`\sum_b w_b(\theta)^2` (log scale over ``crange``, default the
    range of the values), basis points marked. Points
    are drawn in increasing order of the sum so the worst stay visible.

    Example:
        >>> m = Morpher.from_powers([1, 1, 1], np.eye(4, 3) + 0.1 * np.arange(4)[:, None], max_overall_power=1)
        >>> fig = plot_morphing_basis_scatter(m, ranges=[(-1, 1)] * 3, n_thetas=50)
        >>> sum(ax.get_visible() for ax in fig.axes) - 1  # three pairs (plus the colour bar)
        3
    """
    m, setup_ranges, names, _ = _unpack(morpher)
    if m.n_parameters < 2:
        raise PlottingError("plot_morphing_basis_scatter needs two or more parameters (use the 1-d plot)")
    lims = [
        _range(None if ranges is None else ranges[i], setup_ranges, i, m.basis) for i in range(m.n_parameters)
    ]
    rng = np.random.default_rng(seed)
    lows, highs = np.array(lims).T
    thetas = rng.uniform(lows, highs, size=(int(n_thetas), m.n_parameters))
    values = m.squared_weight_sum(thetas)
    norm = _norm(crange, values)
    values = np.clip(values, norm.vmin, norm.vmax)
    order = np.argsort(values)
    thetas, values = thetas[order], values[order]
    with hep_style(style):
        fig, pairs = _pair_axes(m.n_parameters)
        scatter = None
        for (i, j), ax in pairs.items():
            scatter = ax.scatter(
                thetas[:, i], thetas[:, j], c=values, norm=norm, cmap=cmap, s=12, lw=0, rasterized=True
            )
            _mark_basis(ax, m.basis[:, [i, j]], None)
            ax.set_xlim(*lims[i])
            ax.set_ylim(*lims[j])
            ax.set_xlabel(names[i])
            ax.set_ylabel(names[j])
        fig.colorbar(scatter, ax=list(pairs.values()), label=r"$\sum_b w_b(\theta)^2$")
    return fig


def plot_morphing_basis_slices(
    morpher: Any,
    *,
    ranges: Sequence[tuple[float, float]] | None = None,
    center: Sequence[float] | None = None,
    crange: tuple[float, float] | None = None,
    resolution: int = 50,
    cmap: str = "viridis_r",
    style: str | None = "ROOT",
) -> Figure:
    r"""Any number of parameters: for every pair (i, j) the map of :math:`\sum_b w_b(\theta)^2` on the
    two-dimensional slice through ``center`` (default: 0 where inside the range, else the range's middle) in
    which only theta_i and theta_j vary (log colours over ``crange``, default the range of the values); basis
    points projected onto each slice are marked.

    Example:
        >>> m = Morpher.from_powers([1, 1, 1], np.eye(4, 3) + 0.1 * np.arange(4)[:, None], max_overall_power=1)
        >>> fig = plot_morphing_basis_slices(m, ranges=[(-1, 1)] * 3, resolution=10)
        >>> [len(ax.collections) for ax in fig.axes if ax.get_label() != "<colorbar>"]  # mesh + basis per pair
        [2, 0, 2, 2]
    """
    m, setup_ranges, names, _ = _unpack(morpher)
    if m.n_parameters < 2:
        raise PlottingError("plot_morphing_basis_slices needs two or more parameters (use the 1-d plot)")
    p = m.n_parameters
    lims = [_range(None if ranges is None else ranges[i], setup_ranges, i, m.basis) for i in range(p)]
    if center is None:
        center = [0.0 if lo <= 0.0 <= hi else 0.5 * (lo + hi) for lo, hi in lims]
    center = np.asarray(center, dtype=np.float64)
    if center.shape != (p,):
        raise PlottingError(f"center: expected {p} values, got shape {center.shape}")
    slices = {}
    for i, j in itertools.combinations(range(p), 2):
        xs = np.linspace(*lims[i], int(resolution))
        ys = np.linspace(*lims[j], int(resolution))
        grid = np.broadcast_to(center, (len(ys), len(xs), p)).copy()
        grid[..., i], grid[..., j] = np.meshgrid(xs, ys)
        slices[(i, j)] = xs, ys, m.squared_weight_sum(grid)
    norm = _norm(crange, np.concatenate([v.ravel() for _, _, v in slices.values()]))
    with hep_style(style):
        fig, pairs = _pair_axes(p)
        mesh = None
        for (i, j), ax in pairs.items():
            xs, ys, values = slices[(i, j)]
            values = np.clip(values, norm.vmin, norm.vmax)
            mesh = ax.pcolormesh(xs, ys, values, norm=norm, cmap=cmap, shading="nearest", rasterized=True)
            _mark_basis(ax, m.basis[:, [i, j]], None)
            ax.set_xlim(*lims[i])
            ax.set_ylim(*lims[j])
            ax.set_xlabel(names[i])
            ax.set_ylabel(names[j])
            others = [f"{names[k]} = {center[k]:.3g}" for k in range(p) if k not in (i, j)]
            if others:
                ax.set_title(", ".join(others), fontsize=9)
        fig.colorbar(mesh, ax=list(pairs.values()), label=r"$\sum_b w_b(\theta)^2$")
    return fig
