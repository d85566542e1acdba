r"""Fisher information: error ellipses in two parameters, bar charts of determinants and eigenvalues, and the
distribution of the information over an observable.

In the local (tangent-space) approximation the distance of theta from a reference point theta_0 is
:math:`d(\theta)^2 = (\theta - \theta_0)^T I\, (\theta - \theta_0)`; its contour d = 1 is the expected
one-sigma error ellipse of an efficient estimator (Cramér-Rao), with half-axes :math:`1/\sqrt{\lambda_k}` along
the eigenvectors of I. Matrices can be given as arrays or as
:class:`~columnminer.inference.fisher.FisherInformation` (then their Monte Carlo covariance, parameter names
and theta are used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from ..errors import PlottingError
from . import _style

__all__ = ["plot_distribution_of_information", "plot_fisher_barplot", "plot_fisher_contours"]


def _matrix(item: Any, what: str) -> np.ndarray:
    matrix = np.asarray(getattr(item, "information", item), dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.all(np.isfinite(matrix)):
        raise PlottingError(f"{what}: expected a finite square matrix, got shape {matrix.shape}")
    return 0.5 * (matrix + matrix.T)


def _extent(matrix: np.ndarray, distance: float) -> np.ndarray:
    """Half-widths of the ellipse d = distance along each axis, sqrt(d^2 (I^-1)_ii); inf when I is singular
    (to numerical precision: an eigenvalue below 1e-10 of the largest), where the contour is an open band."""
    eigenvalues = np.linalg.eigvalsh(matrix)
    if eigenvalues[-1] <= 0 or eigenvalues[0] <= 1e-10 * eigenvalues[-1]:
        return np.full(len(matrix), np.inf)
    return distance * np.sqrt(np.diag(np.linalg.inv(matrix)))


def _toy_distances(matrix, covariance, dx, dy, n_toys, rng) -> np.ndarray:
    """d(theta) on the grid for ``n_toys`` matrices drawn from N(I, Cov[I]) (symmetrised)."""
    toys = rng.multivariate_normal(matrix.ravel(), covariance.reshape(4, 4), size=n_toys, method="eigh")
    toys = toys.reshape(n_toys, 2, 2)
    toys = 0.5 * (toys + toys.transpose(0, 2, 1))
    d2 = (
        toys[:, 0, 0, None, None] * dx**2
        + 2 * toys[:, 0, 1, None, None] * dx * dy
        + toys[:, 1, 1, None, None] * dy**2
    )
    return np.sqrt(np.maximum(d2, 0.0))


def plot_fisher_contours(
    informations: Sequence[Any] | Mapping[str, Any],
    *,
    labels: Sequence[str] | None = None,
    reference_thetas: Sequence[Any] | None = None,
    distance: float = 1.0,
    xrange: tuple[float, float] | None = None,
    yrange: tuple[float, float] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    covariances: Sequence[Any] | None = None,
    uncertainties: bool = True,
    sigma_uncertainties: float = 1.0,
    n_toys: int = 100,
    seed: int | None = 0,
    resolution: int = 150,
    colors: Sequence[str] | str | None = None,
    linestyles: Sequence[str] | str | None = None,
    linewidth: float = 1.6,
    band_alpha: float = 0.25,
    inline_labels: bool = False,
    legend_loc: str = "outside",
    style: str | None = "ROOT",
    luminosity: float | None = None,
) -> Figure:
    r"""Contours :math:`d(\theta) = ` ``distance`` of several 2 x 2 informations: one contour set per matrix,
    around its reference point (``reference_thetas``; default the ``theta`` of a FisherInformation, else the
    origin). With a covariance (given, or the FisherInformation's; ``uncertainties=False`` hides it) a band
    shows where the contour moves for ``n_toys`` matrices drawn from :math:`N(I, \mathrm{Cov}[I])`: the region
    whose toy distances straddle ``distance`` within the central ``sigma_uncertainties``-sigma quantiles.
    ``legend_loc``: a matplotlib location, or "outside" (right of the axes).

    The legend's title says what the contours are: :math:`\Delta\theta^T I\, \Delta\theta = d^2`, for d = 1
    the one-sigma ellipse, which holds :math:`P(\chi^2_2 \le 1) = 39.3\%` of a two-dimensional Gaussian
    (d = 1.52 for 68.3 %, d = 2.45 for 95 %), the luminosity the information is for (``luminosity`` in pb^-1, default
    the FisherInformations' ``luminosity_pb``; per entry when they differ) and the reference point when all
    share one. No contour hides another: the largest ellipse is drawn first and widest, the smallest last and
    narrowest, each in its own line style.

    Example:
        >>> informations = {"a": np.diag([4.0, 1.0]), "b": [[2.0, 1.0], [1.0, 2.0]]}
        >>> fig = plot_fisher_contours(informations, luminosity=3e5)
        >>> ax = fig.axes[0]
        >>> len(ax.collections), [t.get_text() for t in ax.get_legend().get_texts()]
        (2, ['a', 'b'])
        >>> print(ax.get_legend().get_title().get_text())
        $\Delta\theta^T I\,\Delta\theta = 1$: 1$\sigma$ (39.3% CL in 2D)
        $L = 300\,\mathrm{fb}^{-1}$
    """
    items, names = _style.labelled_items(informations, labels, "informations")
    n = len(items)
    matrices = [_matrix(item, f"informations[{i}]") for i, item in enumerate(items)]
    if any(m.shape != (2, 2) for m in matrices):
        raise PlottingError(
            "plot_fisher_contours draws 2 x 2 informations; use project_information or profile_information "
            "first"
        )
    references = _per_item(items, reference_thetas, "theta", "reference_thetas")
    references = [
        np.zeros(2) if r is None else np.asarray(r, dtype=np.float64).reshape(2) for r in references
    ]
    covariances = _per_item(items, covariances, "covariance", "covariances")
    colors = _style.cycle(colors, n, _style.DEFAULT_COLORS)
    linestyles = _style.cycle(linestyles, n, _style.DEFAULT_LINESTYLES)
    extents = np.array([_extent(m, distance) for m in matrices])
    xs, ys = (
        _axis_grid(extents[:, a], np.array(references)[:, a], given, resolution)
        for a, given in ((0, xrange), (1, yrange))
    )
    parameter_names = next((item.parameter_names for item in items if hasattr(item, "parameter_names")), None)
    default_labels = list(parameter_names) if parameter_names is not None else [r"$\theta_0$", r"$\theta_1$"]
    title, names = _contour_title(items, names, distance, luminosity, references, parameter_names)
    # largest ellipse first, at the bottom (equal ones in the given order)
    order = np.argsort([-_area(m) for m in matrices], kind="stable")
    widths = dict(zip(order.tolist(), _style.layered_widths(n, linewidth), strict=True))
    rng = np.random.default_rng(seed)
    with _style.hep_style(style):
        fig, ax = _style.new_figure(figsize=(8.4 if legend_loc == "outside" else 6.0, 5.0))
        for rank, i in enumerate(order):
            band = None
            if uncertainties and covariances[i] is not None:
                band = (covariances[i], sigma_uncertainties, n_toys, rng, i, band_alpha)
            line = {"colors": [colors[i]], "linestyles": [linestyles[i]], "linewidths": widths[i]}
            contours = _draw_ellipse(ax, xs, ys, matrices[i], references[i], distance, band, line, rank / n)
            if inline_labels and names[i] is not None:
                ax.clabel(contours, fmt={distance**2: names[i]}, fontsize=9)
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(ys[0], ys[-1])
        ax.set_xlabel(xlabel if xlabel is not None else default_labels[0])
        ax.set_ylabel(ylabel if ylabel is not None else default_labels[1])
        handles = [
            Line2D([], [], color=colors[i], ls=linestyles[i], lw=widths[i], label=names[i])
            for i in range(n)
            if names[i] is not None
        ]
        if handles:
            _style.place_legend(ax, handles, legend_loc, title=title, alignment="left")
        else:
            _style.annotate(ax, title.replace("\n", "; "))
    return fig


def _per_item(items: list, given: Sequence[Any] | None, attribute: str, what: str) -> list:
    """One entry per information: the given ones (checked) or each item's ``attribute`` (None if absent)."""
    if given is None:
        return [getattr(item, attribute, None) for item in items]
    given = list(given)
    if len(given) != len(items):
        raise PlottingError(f"{what}: expected {len(items)} entries, got {len(given)}")
    return given


def _axis_grid(extents: np.ndarray, centres: np.ndarray, given: Any, resolution: int) -> np.ndarray:
    """Grid values along one parameter: over the given range, else over every ellipse with a 30 % margin."""
    if given is not None:
        low, high = (float(v) for v in given)
    else:
        finite = np.isfinite(extents)
        if finite.any():
            low = float(np.min(centres[finite] - 1.3 * extents[finite]))
            high = float(np.max(centres[finite] + 1.3 * extents[finite]))
        else:
            low, high = -1.0, 1.0
    return np.linspace(low, high, int(resolution))


def _area(matrix: np.ndarray) -> float:
    """Proportional to the ellipse's area, 1 / sqrt(det I) (inf when I is singular)."""
    det = float(np.linalg.det(matrix))
    return 1.0 / np.sqrt(det) if det > 0 else np.inf


def _draw_ellipse(ax, xs, ys, matrix, reference, distance, band, line, layer) -> Any:
    """The contour d = ``distance`` around ``reference`` (``line``: contour style keywords) above, with
    ``band`` = (covariance, sigma, n_toys, rng, index, alpha), its toy band; ``layer`` in [0, 1) orders the
    ellipses (bands under every line)."""
    dx, dy = np.meshgrid(xs - reference[0], ys - reference[1])
    if band is not None:
        *toys, alpha = band
        straddle = _toy_band(matrix, toys[0], dx, dy, distance, *toys[1:])
        ax.contourf(
            xs, ys, straddle, levels=[0.0, np.inf], colors=line["colors"], alpha=alpha, zorder=1 + layer
        )
    d2 = matrix[0, 0] * dx**2 + 2 * matrix[0, 1] * dx * dy + matrix[1, 1] * dy**2
    return ax.contour(xs, ys, d2, levels=[distance**2], zorder=2 + layer, **line)


def _toy_band(matrix, covariance, dx, dy, distance, sigma, n_toys, rng, index) -> np.ndarray:
    """>= 0 exactly where the toy distances' central ``sigma`` quantiles straddle ``distance`` (continuous, so
    the band's edges are smooth)."""
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance.shape != (2, 2, 2, 2):
        raise PlottingError(f"covariances[{index}]: expected shape (2, 2, 2, 2), got {covariance.shape}")
    d = _toy_distances(matrix, covariance, dx, dy, int(n_toys), rng)
    low, high = np.quantile(d, stats.norm.cdf([-sigma, sigma]), axis=0)
    return (distance - low) * (high - distance)


def _contour_title(items, names, distance, luminosity, references, parameter_names) -> tuple[str, list]:
    """The legend title (what the contour is, L, the reference point) and the entry names (with L appended
    when the informations are for different luminosities)."""
    cl = 100.0 * stats.chi2.cdf(distance**2, 2)
    sigma = r"1$\sigma$ " if distance == 1.0 else ""
    lines = [rf"$\Delta\theta^T I\,\Delta\theta = {distance**2:.3g}$: {sigma}({cl:.1f}% CL in 2D)"]
    common, names = _luminosity_note(items, names, luminosity)
    if common:
        lines.append(common)
    if any(getattr(item, "theta", None) is not None for item in items) and all(
        np.allclose(r, references[0]) for r in references
    ):
        lines.append(f"at {_style.theta_label(references[0], parameter_names)}")
    return "\n".join(lines), names


def plot_fisher_barplot(
    informations: Sequence[Any] | Mapping[str, Any],
    labels: Sequence[str] | None = None,
    *,
    determinant_indices: Sequence[int] | None = None,
    eigenvalue_colors: Sequence[str] | None = None,
    bar_colors: Sequence[str] | str | None = None,
    log: bool = True,
    style: str | None = "ROOT",
    luminosity: float | None = None,
) -> Figure:
    r"""Two panels comparing informations: on top the eigenvalues of every matrix as grouped bars (largest
    first; each bar split into parameter colours in proportion to :math:`v_{ik}^2`, the weight of parameter i
    in the eigenvector, equal shares of the visual height on the log axis), below the geometric mean of the
    eigenvalues, :math:`(\det I)^{1/P}`, one bar per matrix (over ``determinant_indices`` only, when given:
    the information on those parameters with the others known). The luminosity the informations are for
    (``luminosity`` in pb^-1, default their common ``luminosity_pb``) is written above.

    Example:
        >>> fig = plot_fisher_barplot([np.diag([4.0, 1.0]), np.diag([9.0, 1.0])], ["truth", "histogram"])
        >>> [round(float(p.get_height()), 6) for p in fig.axes[1].patches]
        [2.0, 3.0]
    """
    items, names = _style.labelled_items(informations, labels, "informations")
    names = [f"matrix {i}" if name is None else name for i, name in enumerate(names)]
    common, names = _luminosity_note(items, names, luminosity)
    matrices = [_matrix(item, f"informations[{i}]") for i, item in enumerate(items)]
    p = matrices[0].shape[0]
    if any(m.shape != (p, p) for m in matrices):
        raise PlottingError("informations: all matrices must have the same size")
    parameter_names = next((list(i.parameter_names) for i in items if hasattr(i, "parameter_names")), None)
    parameter_names = parameter_names or [f"θ{i}" for i in range(p)]
    eigen_colors = _style.cycle(eigenvalue_colors, p, _style.DEFAULT_COLORS[2:] + _style.DEFAULT_COLORS[:2])
    bar_colors = _style.cycle(bar_colors, len(matrices), _style.DEFAULT_COLORS)
    indices = list(range(p)) if determinant_indices is None else [int(i) for i in determinant_indices]
    decompositions = []
    for matrix in matrices:
        values, vectors = np.linalg.eigh(matrix)
        order = np.argsort(values)[::-1]
        decompositions.append((np.maximum(values[order], 0.0), vectors[:, order]))
    positive = [v for values, _ in decompositions for v in values if v > 0]
    floor = 0.1 * min(positive) if positive else 1.0
    with _style.hep_style(style):
        fig, (top, bottom) = _style.new_figure(2, 1, figsize=(max(5.0, 0.8 * len(matrices) * p + 2.0), 7.0))
        positions = np.arange(len(matrices))
        for m, (values, vectors) in enumerate(decompositions):
            _eigenvalue_bars(top, positions[m], values, vectors, eigen_colors, floor, log)
            _determinant_bar(bottom, positions[m], matrices[m][np.ix_(indices, indices)], bar_colors[m])
        _style.place_legend(
            top,
            [Patch(color=eigen_colors[i], label=parameter_names[i]) for i in range(p)],
            "outside",
            title="eigenvector\ncontent",
        )
        top.set_ylabel("eigenvalues of I")
        bottom.set_ylabel(r"$(\det I)^{1/P}$")
        for ax in (top, bottom):
            ax.set_xticks(positions, names)
            ax.minorticks_off()
            ax.set_xlim(-0.6, len(matrices) - 0.4)
        if log:
            top.set_yscale("log")
            top.set_ylim(floor, 3.0 * max(max(values) for values, _ in decompositions))
        bottom.set_ylim(0.0, 1.15 * bottom.get_ylim()[1])
        _style.annotate(top, common)
    return fig


def _luminosity_note(items: list, names: list, luminosity: float | None) -> tuple[str, list]:
    """``L = ...`` for the given luminosity (pb^-1) or the items' ``luminosity_pb``: once when they share
    it, else appended to each name (see :func:`~columnminer.plotting._style.per_item_note`)."""
    if luminosity is not None:
        return _style.luminosity_label(luminosity), list(names)
    notes = [_style.luminosity_label(getattr(item, "luminosity_pb", None)) or "L unknown" for item in items]
    common, names = _style.per_item_note(notes, names)
    return ("" if common == "L unknown" else common), names


def _eigenvalue_bars(ax, centre, values, vectors, colors, floor, log) -> None:
    """One matrix's eigenvalue bars, each split into its parameters' shares :math:`v_{ik}^2`."""
    p = len(values)
    width = 0.8 / p
    for k in range(p):
        x = centre - 0.4 + (k + 0.5) * width
        shares = np.concatenate([[0.0], np.cumsum(vectors[:, k] ** 2)])
        shares /= shares[-1]
        if log:  # equal visual shares on the log axis between the floor and the eigenvalue
            edges = floor * (max(values[k], floor) / floor) ** shares
        else:
            edges = values[k] * shares
        ax.bar(
            np.full(p, x),
            np.diff(edges),
            width * 0.9,
            bottom=edges[:-1],
            color=colors,
            edgecolor="black",
            lw=0.5,
        )


def _determinant_bar(ax, x, matrix, color) -> None:
    r"""A bar of :math:`(\det I)^{1/P}` (0 for a singular matrix, one with an eigenvalue below 1e-10 of the
    largest), its value written on top."""
    eigenvalues = np.linalg.eigvalsh(matrix)
    singular = eigenvalues[-1] <= 0 or eigenvalues[0] <= 1e-10 * eigenvalues[-1]
    geometric = 0.0 if singular else float(np.exp(np.mean(np.log(eigenvalues))))
    ax.bar(x, geometric, 0.6, color=color)
    ax.annotate(
        f"{geometric:.3g}",
        (x, geometric),
        ha="center",
        va="bottom",
        fontsize=9,
        xytext=(0, 2),
        textcoords="offset points",
    )


def _per_bin(matrices: Any, n_bins: int, measure: str, what: str) -> np.ndarray:
    """Per bin the information measure, normalised to unit sum over the bins: [n_bins, n_lines]."""
    array = np.asarray(matrices, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None, None]
    if array.ndim != 3 or array.shape[0] != n_bins or array.shape[1] != array.shape[2]:
        raise PlottingError(f"{what}: expected shape [{n_bins}, P, P], got {array.shape}")
    if measure == "diagonal":
        values = np.diagonal(array, axis1=1, axis2=2).copy()
    elif measure == "trace":
        values = np.trace(array, axis1=1, axis2=2)[:, None]
    else:
        dets = np.linalg.det(array)
        values = np.where(dets > 0, np.abs(dets) ** (1.0 / array.shape[1]), 0.0)[:, None]
    totals = values.sum(axis=0, keepdims=True)
    return np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)


def plot_distribution_of_information(
    edges: Any,
    sigma: Any = None,
    information: Any = None,
    *,
    information_aux: Any = None,
    measure: str = "diagonal",
    parameter_names: Sequence[str] | None = None,
    xlabel: str | None = None,
    observable: str | None = None,
    observable_labels: Mapping[str, str] | None = None,
    observable_units: Mapping[str, str] | None = None,
    xrange: tuple[float, float] | None = None,
    log_xsec: bool = False,
    norm_xsec: bool = True,
    aux_label: str = "auxiliary",
    colors: Sequence[str] | str | None = None,
    style: str | None = "ROOT",
    annotation: str | None = None,
) -> Figure:
    r"""Where the information sits along an observable: the cross section per bin :math:`\sigma_k` (filled,
    left axis; normalised to unit sum with ``norm_xsec``) and, on the right axis, the share of the information
    in each bin (each line normalised to unit sum over the bins): with ``measure="diagonal"`` one line per
    parameter, :math:`I_{k,ii} / \sum_k I_{k,ii}`; ``"trace"`` the trace; ``"determinant"``
    :math:`(\det I_k)^{1/P}` (zero for the rank-one information of a single counting bin, so use it with
    truth-level per-bin informations). ``information_aux`` is drawn dashed in the same colours.

    Takes ``edges, sigma, information`` ([n_bins + 1], [n_bins], [n_bins, P, P]) or one
    :class:`~columnminer.inference.fisher.InformationHistogram` (from
    :func:`~columnminer.inference.fisher.histogram_of_information`) as the first argument. The x axis reads
    ``xlabel``, else ``label [unit]`` of ``observable`` from ``observable_labels`` / ``observable_units``
    (name -> text); ``annotation`` (level, selection) is written above the axes.

    Example:
        >>> info = np.array([[[1.0]], [[3.0]], [[0.0]]])
        >>> fig = plot_distribution_of_information([0, 1, 2, 3], [2.0, 1.0, 1.0], info, observable="x",
        ...                                        observable_units={"x": "GeV"})
        >>> len(fig.axes), fig.axes[0].get_xlabel(), len(fig.axes[1].patches)
        (2, 'x [GeV]', 1)
    """
    if measure not in ("diagonal", "trace", "determinant"):
        raise PlottingError(f"measure must be 'diagonal', 'trace' or 'determinant', got {measure!r}")
    if sigma is None and information is None:
        if not hasattr(edges, "edges"):
            raise PlottingError("pass edges, sigma and information, or an InformationHistogram")
        parameter_names = parameter_names or list(edges.parameter_names)
        edges, sigma, information = edges.edges, edges.sigma, edges.information
    edges = np.asarray(edges, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    n_bins = len(edges) - 1
    if sigma.shape != (n_bins,):
        raise PlottingError(
            f"sigma: expected {n_bins} values for {n_bins + 1} edges, got shape {sigma.shape}"
        )
    main = _per_bin(information, n_bins, measure, "information")
    aux = None
    if information_aux is not None:
        aux = _per_bin(
            getattr(information_aux, "information", information_aux), n_bins, measure, "information_aux"
        )
    line_labels = _measure_labels(measure, parameter_names, main.shape[1])
    colors = _style.cycle(colors, main.shape[1], _style.DEFAULT_COLORS)
    shown = sigma / sigma.sum() if norm_xsec and sigma.sum() > 0 else sigma
    if xlabel is None:
        xlabel = (
            ""
            if observable is None
            else _style.axis_label(observable, None, observable_labels, observable_units)
        )
    with _style.hep_style(style):
        fig, ax = _style.new_figure(figsize=(6.0, 4.8))
        _style.step(ax, shown, edges, histtype="fill", color="#BBBBBB", alpha=0.8, label="cross section")
        ax.set_ylabel("normalised cross section" if norm_xsec else r"$\sigma$ per bin [pb]")
        if log_xsec:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0.0, 1.3 * max(float(shown.max()), 1e-300))  # room for the legend
        twin = ax.twinx()
        for i in range(main.shape[1]):
            _style.step(twin, main[:, i], edges, color=colors[i], lw=2.0, label=line_labels[i])
            if aux is not None:
                label = f"{line_labels[i]} ({aux_label})"
                _style.step(twin, aux[:, i], edges, color=colors[i], lw=1.4, ls="--", label=label)
        twin.set_ylabel("share of the information")
        twin.set_ylim(bottom=0.0, top=1.25 * max(twin.get_ylim()[1], 1e-12))
        ax.set_xlabel(xlabel)
        if xrange is not None:
            ax.set_xlim(*xrange)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        twin.legend(handles=handles, loc="upper right", ncols=2 if len(handles) > 4 else 1)
        _style.annotate(ax, annotation or "")
    return fig


def _measure_labels(measure: str, parameter_names: Sequence[str] | None, n_lines: int) -> list[str]:
    """Legend names of the information lines: per parameter for "diagonal", else the measure."""
    if measure != "diagonal":
        return ["tr I" if measure == "trace" else r"$(\det I)^{1/P}$"]
    names = list(parameter_names) if parameter_names is not None else [f"θ{i}" for i in range(n_lines)]
    if len(names) != n_lines:
        raise PlottingError(f"parameter_names: expected {n_lines} names, got {len(names)}")
    return [f"$I_{{ii}}$, {name}" for name in names]
