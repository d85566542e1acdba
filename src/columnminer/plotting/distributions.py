r"""Distributions of observables at several parameter points, morphed exactly per bin, and histogram overlays.

:func:`plot_distributions` histograms the store once per observable
(:func:`~columnminer.inference.binned.binned_weights`, with the event's origin as a second, hidden axis) and
draws, for every parameter point, :math:`\sigma_k(\theta) = \sum_b W_{kb}\, c_b(\theta)` with its Monte Carlo
band :math:`\sigma_k \pm \sqrt{c^T G_k c}`. With ``sample_only_from_closest_benchmark`` only the signal
events generated at the benchmark nearest to theta (and all background) enter, their signal part scaled up to
the full signal cross section at theta: what a sample drawn close to theta sees.
:func:`plot_histograms` overlays given histograms (``hist.Hist`` or arrays) with observed data points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import PlottingError
from ..inference.binned import binned_weights
from ..inference.likelihood import resolve_thetas
from ..thetas import theta_items
from ..weights import closest_benchmark
from ._style import DEFAULT_COLORS, DEFAULT_LINESTYLES, cycle, hep_style, new_figure, panel_grid, theta_label

__all__ = [
    "distribution_edges",
    "morphed_histograms",
    "plot_distributions",
    "plot_histograms",
    "resolve_points",
]


def distribution_edges(
    values: np.ndarray, n_bins: int = 25, quantiles: tuple[float, float] = (0.025, 0.975)
) -> np.ndarray:
    """``n_bins + 1`` equidistant edges between two quantiles of the finite ``values`` (widened by half a
    unit when the values are all equal).

    Example:
        >>> distribution_edges(np.arange(101.0), 4, (0.0, 1.0)).tolist()
        [0.0, 25.0, 50.0, 75.0, 100.0]
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise PlottingError("bins: no finite values to choose a range from")
    low, high = np.quantile(values, [float(quantiles[0]), float(quantiles[1])])
    if not high > low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, int(n_bins) + 1)


def _origin_feature(sampled_from: np.ndarray) -> Callable:
    def origin(columns: Any) -> np.ndarray:
        return sampled_from[columns.rows].astype(np.float64)

    return origin


def morphed_histograms(
    store: Any,
    observable: str,
    edges: Any,
    thetas: Any,
    luminosity: float | None = None,
    sample_only_from_closest_benchmark: bool = False,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-bin cross sections (pb; events with ``luminosity`` in pb^-1) and Monte Carlo errors of one
    observable at every theta, both [n_thetas, n_bins]; events outside the edges are left out.

    With ``sample_only_from_closest_benchmark`` the signal part at theta comes from the events generated at the
    closest benchmark only, scaled by :math:`\sigma_\text{sig}(\theta) / \sigma_{\text{sig},b}(\theta)`.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> store = EventStore.create("memory://doc-morphed", golden_channel_setup(), ["m4l"], chunk_size=8)
        >>> _ = store.append(np.arange(10.0)[:, None], np.ones((10, 6)), 0)
        >>> values, errors = morphed_histograms(store, "m4l", [0.0, 5.0, 10.0], ["sm"])
        >>> values.tolist(), errors.round(3).tolist()
        ([[5.0, 5.0]], [[2.236, 2.236]])
    """
    edges = np.asarray(edges, dtype=np.float64)
    sampled_from = np.asarray(store.read("sampled_from")).astype(np.int64)
    groups = np.unique(sampled_from)
    origin_edges = np.arange(groups.min() - 0.5, groups.max() + 1.0)
    binned = binned_weights(
        store,
        [observable, _origin_feature(sampled_from)],
        [edges, origin_edges],
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        flow=False,
    )
    c, points = resolve_points(store.setup, _theta_items(store, thetas))
    values = np.einsum("kgb,tb->tkg", binned.sums, c)  # [T, bins, origins]
    errors = np.sqrt(np.maximum(np.einsum("tb,kgbc,tc->tkg", c, binned.gram, c), 0.0))
    origin_values = origin_edges[:-1] + 0.5
    signal = origin_values >= 0
    present = [int(g) for g in groups if g >= 0]
    if sample_only_from_closest_benchmark and present:
        out_v, out_e = [], []
        for t, point in enumerate(points):
            index = int(np.flatnonzero(origin_values == closest_benchmark(store.setup, point, present))[0])
            kept = values[t, :, index].sum()
            scale = values[t][:, signal].sum() / kept if kept > 0 else 0.0
            background_v = values[t][:, ~signal].sum(axis=1)
            background_e2 = (errors[t][:, ~signal] ** 2).sum(axis=1)
            out_v.append(scale * values[t, :, index] + background_v)
            out_e.append(np.sqrt((scale * errors[t, :, index]) ** 2 + background_e2))
        values, errors = np.array(out_v), np.array(out_e)
    else:
        values, errors = values.sum(axis=2), np.sqrt((errors**2).sum(axis=2))
    scale = 1.0 if luminosity is None else float(luminosity)
    return scale * values, scale * errors


def resolve_points(setup: Any, items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients over the benchmark columns [T, B] and parameter points [T, P] of a list that may mix
    benchmark names and parameter points (see :func:`~columnminer.inference.likelihood.resolve_thetas`).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> c, points = resolve_points(golden_channel_setup(), ["sm", [0.5, 0.0]])
        >>> c.shape, points.tolist()
        ((2, 6), [[0.0, 0.0], [0.5, 0.0]])
    """
    parts = [resolve_thetas(setup, [item] if isinstance(item, str) else item) for item in items]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _theta_items(store: Any, parameter_points: Any) -> list:
    """Benchmark names and parameter points [P] (default: the physics benchmarks), by the package's rule
    (:mod:`columnminer.thetas`: numbers are always parameter values)."""
    space = store.setup.parameter_space
    if parameter_points is None:
        return [name for name, b in space.benchmarks.items() if not b.is_nuisance]
    try:
        return theta_items(space, parameter_points, "parameter_points")
    except ValueError as err:
        raise PlottingError(str(err)) from err


def _band(ax: Any, edges: np.ndarray, low: np.ndarray, high: np.ndarray, **kwargs: Any) -> Any:
    """A filled band between two step functions (a StepPatch)."""
    return ax.stairs(high, edges, baseline=low, fill=True, **kwargs)


def plot_distributions(
    store: Any,
    observables: Sequence[str] | None = None,
    parameter_points: Any = None,
    *,
    bins: int | Sequence[float] | Mapping[str, Any] = 25,
    normalize: bool = False,
    log: bool = False,
    luminosity: float | None = None,
    uncertainties: str = "statistical",
    systematic_bands: Mapping[str, Any] | None = None,
    sample_only_from_closest_benchmark: bool = False,
    observable_labels: Sequence[str] | Mapping[str, str] | None = None,
    line_labels: Sequence[str] | None = None,
    colors: Sequence[str] | str | None = None,
    linestyles: Sequence[str] | str | None = None,
    linewidth: float = 1.6,
    alpha: float = 0.2,
    n_cols: int = 3,
    quantiles_for_range: tuple[float, float] = (0.025, 0.975),
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    style: str | None = "ROOT",
) -> Figure:
    r"""One panel per observable, one step line per parameter point: the morphed distribution
    :math:`\sigma_k(\theta)` per bin (pb, or events for a ``luminosity`` in pb^-1, or with ``normalize`` the
    fraction per bin, :math:`\sigma_k / \sum_k \sigma_k`), with the Monte Carlo band
    :math:`\pm\sqrt{c^T G_k c}` shaded (``uncertainties="statistical"``; ``"none"`` for lines only).

    ``parameter_points``: benchmark names and / or parameter points (default: every physics benchmark).
    ``bins``: a number of bins (equidistant between ``quantiles_for_range`` of the stored values), edges, or a
    mapping observable -> either. ``systematic_bands``: observable -> multiplicative (low, high) factors per
    bin, shape [2, n_bins] (all points) or [n_thetas, 2, n_bins], drawn hatched around each line (give the
    edges they were made for in ``bins``). ``sample_only_from_closest_benchmark``: use only the signal events
    generated at the benchmark nearest to each theta (plus background), see :func:`morphed_histograms`.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> rng = np.random.default_rng(0)
        >>> store = EventStore.create("memory://doc-dist", golden_channel_setup(), ["m4l"], chunk_size=50)
        >>> _ = store.append(rng.normal(125, 2, (100, 1)), rng.uniform(1, 2, (100, 6)), 0)
        >>> fig = plot_distributions(store, ["m4l"], ["sm", [0.5, 0.5]], bins=10)
        >>> len(fig.axes[0].get_legend().get_texts())
        3
    """
    if uncertainties not in ("statistical", "none"):
        raise PlottingError(f"uncertainties must be 'statistical' or 'none', got {uncertainties!r}")
    names = list(store.observable_names) if observables is None else list(observables)
    unknown = sorted(set(names) - set(store.observable_names))
    if unknown or not names:
        raise PlottingError(f"observables: unknown {unknown}; the store has {store.observable_names}")
    items = _theta_items(store, parameter_points)
    _, points = resolve_points(store.setup, items)
    n_thetas = len(points)
    parameter_names = store.setup.parameter_space.parameter_names
    labels = (
        [theta_label(item, parameter_names) for item in items]
        if line_labels is None
        else [str(x) for x in line_labels]
    )
    if len(labels) != n_thetas:
        raise PlottingError(f"line_labels: expected {n_thetas} labels, got {len(labels)}")
    if isinstance(observable_labels, Mapping):
        axis_labels = [observable_labels.get(n, n) for n in names]
    else:
        axis_labels = names if observable_labels is None else list(observable_labels)
    colors = cycle(colors, n_thetas, DEFAULT_COLORS)
    linestyles = cycle(linestyles, n_thetas, DEFAULT_LINESTYLES[:1])
    with hep_style(style):
        fig, axes = panel_grid(len(names), n_cols)
        for ax, name, axis_label in zip(axes, names, axis_labels, strict=True):
            spec = bins.get(name, 25) if isinstance(bins, Mapping) else bins
            if np.ndim(spec) == 0:
                column = store.observable_names.index(name)
                values = np.asarray(store.to_dask("observables")[:, column].compute())
                edges = distribution_edges(values, int(spec), quantiles_for_range)
            else:
                edges = np.asarray(spec, dtype=np.float64)
            values, errors = morphed_histograms(
                store,
                name,
                edges,
                items,
                luminosity,
                sample_only_from_closest_benchmark,
                partition,
                cuts,
                efficiencies,
            )
            if normalize:
                totals = values.sum(axis=1, keepdims=True)
                totals[totals == 0] = 1.0
                values, errors = values / totals, errors / totals
            bands = None
            if systematic_bands is not None and name in systematic_bands:
                bands = np.asarray(systematic_bands[name], dtype=np.float64)
                bands = np.broadcast_to(bands, (n_thetas, *bands.shape[-2:]))
                if bands.shape[1:] != (2, len(edges) - 1):
                    raise PlottingError(
                        f"systematic_bands[{name!r}]: expected shape [2, {len(edges) - 1}] or "
                        f"[{n_thetas}, 2, {len(edges) - 1}], got {np.shape(systematic_bands[name])}"
                    )
            _draw_panel(
                ax,
                edges,
                values,
                errors,
                bands,
                labels,
                colors,
                linestyles,
                linewidth,
                alpha,
                uncertainties == "statistical",
            )
            ax.set_xlabel(axis_label)
            if normalize:
                ax.set_ylabel("Fraction per bin")
            elif luminosity is not None:
                ax.set_ylabel("Events per bin")
            else:
                ax.set_ylabel(r"$\sigma$ per bin [pb]")
            if log:
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0.0)
        handles, _ = axes[0].get_legend_handles_labels()
        if uncertainties == "statistical":
            handles.append(Patch(facecolor="grey", alpha=alpha, label="MC stat. unc."))
        if systematic_bands:
            handles.append(Patch(facecolor="none", edgecolor="grey", hatch="///", label="syst. unc."))
        axes[0].legend(handles=handles, loc="best")
    return fig


def _draw_panel(ax, edges, values, errors, bands, labels, colors, linestyles, linewidth, alpha, stat):
    import mplhep

    for t in range(len(values)):
        if stat:
            _band(ax, edges, values[t] - errors[t], values[t] + errors[t], color=colors[t], alpha=alpha, lw=0)
        if bands is not None:
            low, high = np.minimum(bands[t, 0], bands[t, 1]), np.maximum(bands[t, 0], bands[t, 1])
            _band(
                ax,
                edges,
                values[t] * low,
                values[t] * high,
                facecolor="none",
                edgecolor=colors[t],
                hatch="///",
                lw=0,
                alpha=0.7,
            )
        mplhep.histplot(
            values[t],
            edges,
            ax=ax,
            color=colors[t],
            ls=linestyles[t],
            lw=linewidth,
            label=labels[t],
            flow="none",
        )


def _hist_parts(item: Any, edges: np.ndarray | None, what: str) -> tuple[np.ndarray, np.ndarray, Any, str]:
    """(values, edges, variances or None, axis label) of a 1-d hist.Hist or of an array with given edges."""
    if hasattr(item, "axes") and hasattr(item, "values"):
        if len(item.axes) != 1:
            raise PlottingError(f"{what}: only 1-d histograms can be drawn, got {len(item.axes)} axes")
        return (
            np.asarray(item.values(), dtype=np.float64),
            np.asarray(item.axes[0].edges, dtype=np.float64),
            item.variances(),
            str(item.axes[0].label or item.axes[0].name or ""),
        )
    if edges is None:
        raise PlottingError(f"{what}: arrays of bin contents need the bin edges (edges=...)")
    values = np.asarray(item, dtype=np.float64)
    if values.shape != (len(edges) - 1,):
        raise PlottingError(f"{what}: expected {len(edges) - 1} bin contents, got shape {values.shape}")
    return values, edges, None, ""


def plot_histograms(
    histograms: Sequence[Any] | Mapping[str, Any],
    observed: Any = None,
    *,
    edges: Sequence[float] | None = None,
    observed_events: Any = None,
    observed_weights: Any = None,
    labels: Sequence[str] | None = None,
    observed_label: str = "Data",
    xlabel: str | None = None,
    ylabel: str = "Events per bin",
    log: bool = False,
    colors: Sequence[str] | str | None = None,
    linestyles: Sequence[str] | str | None = None,
    linewidth: float = 1.6,
    marker_color: str = "black",
    style: str | None = "ROOT",
) -> Figure:
    r"""Overlay 1-d histograms as step lines and the observed data as points with error bars.

    ``histograms``: ``hist.Hist`` objects (e.g. ``LimitResult.histograms``) or arrays of bin contents with
    ``edges``; a mapping gives the legend labels. ``observed``: a ``hist.Hist`` (error bars from its variances
    when it has weights, else :math:`\sqrt{n}`) or counts per bin; or ``observed_events`` (values, optional
    ``observed_weights``) histogrammed with the model's edges, error bars :math:`\sqrt{\sum w^2}`.

    Example:
        >>> fig = plot_histograms([[3.0, 5.0, 2.0], [4.0, 4.0, 2.0]], [3, 6, 1], edges=[0, 1, 2, 3],
        ...                       labels=["a", "b"])
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['a', 'b', 'Data']
    """
    import mplhep

    items, names = (
        (list(histograms.values()), [str(k) for k in histograms])
        if isinstance(histograms, Mapping)
        else (list(histograms), None)
    )
    if not items:
        raise PlottingError("histograms: nothing to draw")
    if labels is not None:
        names = [str(x) for x in labels]
    if names is None:
        names = [f"histogram {i}" for i in range(len(items))]
    if len(names) != len(items):
        raise PlottingError(f"labels: expected {len(items)} labels, got {len(names)}")
    base_edges = None if edges is None else np.asarray(edges, dtype=np.float64)
    colors = cycle(colors, len(items), DEFAULT_COLORS)
    linestyles = cycle(linestyles, len(items), DEFAULT_LINESTYLES[:1])
    with hep_style(style):
        fig, ax = new_figure(figsize=(6.0, 4.8))
        axis_label = ""
        model_edges = None
        for i, item in enumerate(items):
            values, item_edges, _, axis_label_i = _hist_parts(item, base_edges, f"histograms[{i}]")
            axis_label = axis_label or axis_label_i
            model_edges = item_edges if model_edges is None else model_edges
            mplhep.histplot(
                values,
                item_edges,
                ax=ax,
                color=colors[i],
                ls=linestyles[i],
                lw=linewidth,
                label=names[i],
                flow="none",
            )
        data = _observed(observed, observed_events, observed_weights, model_edges)
        if data is not None:
            values, data_edges, errors = data
            mplhep.histplot(
                values,
                data_edges,
                yerr=errors,
                ax=ax,
                histtype="errorbar",
                color=marker_color,
                label=observed_label,
                flow="none",
            )
        ax.set_xlabel(xlabel if xlabel is not None else axis_label)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0.0)
        ax.legend(loc="best")
    return fig


def _observed(observed, events, weights, edges):
    if observed is None and events is None:
        return None
    if observed is not None:
        values, data_edges, variances, _ = _hist_parts(observed, edges, "observed")
        if variances is None or np.allclose(variances, values):
            errors = np.sqrt(np.maximum(values, 0.0))
        else:
            errors = np.sqrt(np.maximum(variances, 0.0))
        return values, data_edges, errors
    events = np.asarray(events, dtype=np.float64).ravel()
    w = np.ones_like(events) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != events.shape:
        raise PlottingError(f"observed_weights: expected shape {events.shape}, got {w.shape}")
    values, _ = np.histogram(events, bins=edges, weights=w)
    sumw2, _ = np.histogram(events, bins=edges, weights=w**2)
    return values, edges, np.sqrt(sumw2)
