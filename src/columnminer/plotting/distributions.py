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
from . import _style

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
    observable_units: Mapping[str, str] | None = None,
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
    annotation: str | None = None,
) -> Figure:
    r"""One panel per observable, one step line per parameter point: the morphed distribution
    :math:`\sigma_k(\theta)` per bin (pb, or events for a ``luminosity`` in pb^-1, or with ``normalize`` the
    fraction per bin, :math:`\sigma_k / \sum_k \sigma_k`), with the Monte Carlo band
    :math:`\pm\sqrt{c^T G_k c}` shaded (``uncertainties="statistical"``; ``"none"`` for lines only).

    ``parameter_points``: benchmark names and / or parameter points (default: every physics benchmark),
    named in the legend as in :func:`~columnminer.plotting._style.theta_label` ("SM (a2 = 0, a3 = 0)",
    "a2 = 0.5, a3 = 0") unless ``line_labels`` are given.
    ``bins``: a number of bins (equidistant between ``quantiles_for_range`` of the stored values), edges, or a
    mapping observable -> either. ``systematic_bands``: observable -> multiplicative (low, high) factors per
    bin, shape [2, n_bins] (all points) or [n_thetas, 2, n_bins], drawn hatched around each line (give the
    edges they were made for in ``bins``). ``sample_only_from_closest_benchmark``: use only the signal events
    generated at the benchmark nearest to each theta (plus background), see :func:`morphed_histograms`.

    Axes read ``label [unit]`` from the store's metadata ``"observable_info"`` (the name where it has
    none); ``observable_labels`` (full axis labels, a list or a mapping) and ``observable_units`` (a
    mapping) override it. Above the panels: the level and selection of the events (the metadata, see
    :func:`~columnminer.plotting._style.selection_annotation`, or ``annotation``; ``""`` for none) and the
    luminosity when one is given.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.store import EventStore
        >>> rng = np.random.default_rng(0)
        >>> store = EventStore.create("memory://doc-dist", golden_channel_setup(), ["m4l"], chunk_size=50)
        >>> _ = store.append(rng.normal(125, 2, (100, 1)), rng.uniform(1, 2, (100, 6)), 0)
        >>> info = {"m4l": {"label": "$m_{4l}$", "unit": "GeV"}}
        >>> store.update_metadata(observable_info=info, level="parton")
        >>> fig = plot_distributions(store, ["m4l"], ["sm", [0.5, 0.5]], bins=10)
        >>> ax = fig.axes[0]
        >>> [t.get_text() for t in ax.get_legend().get_texts()], ax.get_xlabel(), ax.get_title(loc="left")
        (['SM (a2 = 0, a3 = 0)', 'a2 = 0.5, a3 = 0.5', 'MC stat. unc.'], '$m_{4l}$ [GeV]', 'parton level')
    """
    if uncertainties not in ("statistical", "none"):
        raise PlottingError(f"uncertainties must be 'statistical' or 'none', got {uncertainties!r}")
    names = _checked_observables(store, observables)
    items = _theta_items(store, parameter_points)
    _, points = resolve_points(store.setup, items)
    n_thetas = len(points)
    labels = _line_labels(store, items, points, line_labels)
    axis_labels = _axis_labels(store, names, observable_labels, observable_units)
    colors = _style.cycle(colors, n_thetas, _style.DEFAULT_COLORS)
    linestyles = _style.cycle(linestyles, n_thetas, _style.DEFAULT_LINESTYLES[:1])
    if normalize:
        ylabel = "Fraction per bin"
    else:
        ylabel = r"$\sigma$ per bin [pb]" if luminosity is None else "Events per bin"
    options = {
        "luminosity": luminosity,
        "sample_only_from_closest_benchmark": sample_only_from_closest_benchmark,
        "partition": partition,
        "cuts": cuts,
        "efficiencies": efficiencies,
    }
    with _style.hep_style(style):
        fig, axes = _style.panel_grid(len(names), n_cols)
        for ax, name, axis_label_ in zip(axes, names, axis_labels, strict=True):
            edges = _edges(store, name, bins, quantiles_for_range)
            values, errors = morphed_histograms(store, name, edges, items, **options)
            if normalize:
                totals = values.sum(axis=1, keepdims=True)
                totals[totals == 0] = 1.0
                values, errors = values / totals, errors / totals
            bands = _systematic_band(systematic_bands, name, n_thetas, len(edges) - 1)
            lines = (labels, colors, linestyles, linewidth, alpha, uncertainties == "statistical")
            _draw_panel(ax, edges, values, errors, bands, *lines)
            _finish_axes(ax, axis_label_, ylabel, log)
        _distribution_legend(axes[0], uncertainties == "statistical", alpha, bool(systematic_bands))
        note = _style.selection_annotation(getattr(store, "metadata", None), annotation)
        _style.annotate(fig if len(axes) > 1 else axes[0], note, _style.luminosity_label(luminosity))
    return fig


def _checked_observables(store: Any, observables: Sequence[str] | None) -> list[str]:
    names = list(store.observable_names) if observables is None else list(observables)
    unknown = sorted(set(names) - set(store.observable_names))
    if unknown or not names:
        raise PlottingError(f"observables: unknown {unknown}; the store has {store.observable_names}")
    return names


def _line_labels(store: Any, items: list, points: np.ndarray, line_labels: Sequence[str] | None) -> list[str]:
    """Legend names of the parameter points (:func:`theta_label`), or the given ones checked."""
    if line_labels is None:
        parameter_names = store.setup.parameter_space.parameter_names
        return [_style.theta_label(i, parameter_names, point=p) for i, p in zip(items, points, strict=True)]
    labels = [str(x) for x in line_labels]
    if len(labels) != len(points):
        raise PlottingError(f"line_labels: expected {len(points)} labels, got {len(labels)}")
    return labels


def _axis_labels(store: Any, names: list[str], observable_labels: Any, units: Any) -> list[str]:
    """``label [unit]`` per observable from the store's metadata, overridden by the given labels / units."""
    if observable_labels is not None and not isinstance(observable_labels, Mapping):
        return [str(x) for x in observable_labels]
    info = _style.observable_info(store)
    given = dict(observable_labels or {})
    return [given[n] if n in given else _style.axis_label(n, info, units=units) for n in names]


def _edges(store: Any, name: str, bins: Any, quantiles: tuple[float, float]) -> np.ndarray:
    """The bin edges of one observable: given, or equidistant between quantiles of its stored values."""
    spec = bins.get(name, 25) if isinstance(bins, Mapping) else bins
    if np.ndim(spec) != 0:
        return np.asarray(spec, dtype=np.float64)
    column = store.observable_names.index(name)
    values = np.asarray(store.to_dask("observables")[:, column].compute())
    return distribution_edges(values, int(spec), quantiles)


def _systematic_band(bands: Mapping[str, Any] | None, name: str, n_thetas: int, n_bins: int) -> Any:
    """The (low, high) factors [n_thetas, 2, n_bins] of one observable, or None."""
    if bands is None or name not in bands:
        return None
    band = np.asarray(bands[name], dtype=np.float64)
    band = np.broadcast_to(band, (n_thetas, *band.shape[-2:]))
    if band.shape[1:] != (2, n_bins):
        raise PlottingError(
            f"systematic_bands[{name!r}]: expected shape [2, {n_bins}] or [{n_thetas}, 2, {n_bins}], got "
            f"{np.shape(bands[name])}"
        )
    return band


def _finish_axes(ax: Any, xlabel: str, ylabel: str, log: bool) -> None:
    """Axis labels and the y scale (log, or linear from 0) of a histogram panel."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0.0)


def _distribution_legend(ax: Any, stat: bool, alpha: float, systematics: bool) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if stat:
        handles.append(Patch(facecolor="grey", alpha=alpha, label="MC stat. unc."))
    if systematics:
        handles.append(Patch(facecolor="none", edgecolor="grey", hatch="///", label="syst. unc."))
    ax.legend(handles=handles, loc="best")


def _draw_panel(ax, edges, values, errors, bands, labels, colors, linestyles, linewidth, alpha, stat):
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
        _style.step(ax, values[t], edges, color=colors[t], ls=linestyles[t], lw=linewidth, label=labels[t])


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
    observable: str | None = None,
    observable_labels: Mapping[str, str] | None = None,
    observable_units: Mapping[str, str] | None = None,
    ylabel: str = "Events per bin",
    log: bool = False,
    colors: Sequence[str] | str | None = None,
    linestyles: Sequence[str] | str | None = None,
    linewidth: float = 1.6,
    marker_color: str = "black",
    style: str | None = "ROOT",
    annotation: str | None = None,
) -> Figure:
    r"""Overlay 1-d histograms as step lines and the observed data as points with error bars.

    ``histograms``: ``hist.Hist`` objects (e.g. ``LimitResult.histograms``) or arrays of bin contents with
    ``edges``; a mapping gives the legend labels. ``observed``: a ``hist.Hist`` (error bars from its variances
    when it has weights, else :math:`\sqrt{n}`) or counts per bin; or ``observed_events`` (values, optional
    ``observed_weights``) histogrammed with the model's edges, error bars :math:`\sqrt{\sum w^2}`.

    The x axis reads ``xlabel`` if given, else ``label [unit]`` of the ``observable`` (default: the name of
    the first histogram's axis) from ``observable_labels`` / ``observable_units`` (name -> text, e.g. from a
    store's metadata, see :func:`~columnminer.plotting._style.axis_label`). ``annotation`` (e.g. "detector
    level, after selection") is written above the axes.

    Example:
        >>> fig = plot_histograms([[3.0, 5.0, 2.0], [4.0, 4.0, 2.0]], [3, 6, 1], edges=[0, 1, 2, 3],
        ...                       labels=["a", "b"], observable="m", observable_units={"m": "GeV"})
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()], fig.axes[0].get_xlabel()
        (['a', 'b', 'Data'], 'm [GeV]')
    """
    items, names = _histogram_items(histograms, labels)
    base_edges = None if edges is None else np.asarray(edges, dtype=np.float64)
    colors = _style.cycle(colors, len(items), _style.DEFAULT_COLORS)
    linestyles = _style.cycle(linestyles, len(items), _style.DEFAULT_LINESTYLES[:1])
    with _style.hep_style(style):
        fig, ax = _style.new_figure(figsize=(6.0, 4.8))
        axis_name = ""
        model_edges = None
        for i, item in enumerate(items):
            values, item_edges, _, axis_name_i = _hist_parts(item, base_edges, f"histograms[{i}]")
            axis_name = axis_name or axis_name_i
            model_edges = item_edges if model_edges is None else model_edges
            _style.step(
                ax, values, item_edges, color=colors[i], ls=linestyles[i], lw=linewidth, label=names[i]
            )
        data = _observed(observed, observed_events, observed_weights, model_edges)
        if data is not None:
            values, data_edges, errors = data
            _style.step(
                ax,
                values,
                data_edges,
                yerr=errors,
                histtype="errorbar",
                color=marker_color,
                label=observed_label,
            )
        if xlabel is None:
            name = observable or axis_name
            xlabel = _style.axis_label(name, None, observable_labels, observable_units) if name else ""
        _finish_axes(ax, xlabel, ylabel, log)
        ax.legend(loc="best")
        _style.annotate(ax, annotation or "")
    return fig


def _histogram_items(histograms: Any, labels: Sequence[str] | None) -> tuple[list, list[str]]:
    """The histograms and their legend names (the mapping's keys, ``labels``, or "histogram i"); a
    ``hist.Hist`` with a ``theta`` axis (:mod:`columnminer.hists`) gives one histogram per parameter point."""
    if isinstance(histograms, Mapping):
        items, names = list(histograms.values()), [str(k) for k in histograms]
    else:
        items, names = list(histograms), [None] * len(histograms)
    if not items:
        raise PlottingError("histograms: nothing to draw")
    pairs = [pair for item, name in zip(items, names, strict=True) for pair in _per_theta(item, name)]
    items, names = [item for item, _ in pairs], [name for _, name in pairs]
    if labels is not None:
        names = [str(x) for x in labels]
    names = [f"histogram {i}" if name is None else name for i, name in enumerate(names)]
    if len(names) != len(items):
        raise PlottingError(f"labels: expected {len(items)} labels, got {len(names)}")
    return items, names


def _per_theta(item: Any, name: str | None) -> list[tuple[Any, str | None]]:
    """``(histogram, name)`` per category of a ``theta`` axis (named as in :func:`theta_label`, after
    ``name`` when there are several), or the item itself."""
    axes = getattr(item, "axes", None)
    if axes is None or "theta" not in getattr(axes, "name", ()):
        return [(item, name)]
    axis = axes["theta"]
    metadata = axis.metadata if isinstance(axis.metadata, Mapping) else {}
    parameters, values = metadata.get("parameters"), metadata.get("values") or [None] * len(axis)
    out = []
    for category, point in zip(axis, values, strict=True):
        if point is None:
            label = _style.theta_label(category)
        elif "=" in category:  # a point named by its values
            label = _style.theta_label(point, parameters)
        else:  # a benchmark
            label = _style.theta_label(category, parameters, point=point)
        if name is not None:
            label = name if len(axis) == 1 else f"{name}, {label}"
        out.append((item[{"theta": category}], label))
    return out


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
