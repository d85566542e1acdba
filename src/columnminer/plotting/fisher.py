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
from ._style import (
    DEFAULT_COLORS,
    DEFAULT_LINESTYLES,
    cycle,
    hep_style,
    labelled_items,
    new_figure,
    place_legend,
)

__all__ = ["plot_distribution_of_information", "plot_fisher_barplot", "plot_fisher_contours"]


def _matrix(item: Any, what: str) -> np.ndarray:
    matrix = np.asarray(getattr(item, "information", item), dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.all(np.isfinite(matrix)):
        raise PlottingError(f"{what}: expected a finite square matrix, got shape {matrix.shape}")
    return 0.5 * (matrix + matrix.T)


def _extent(matrix: np.ndarray, distance: float) -> np.ndarray:
    """Half-widths of the ellipse d = distance along each axis, sqrt(d^2 (I^-1)_ii) (inf if singular)."""
    try:
        inverse = np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return np.full(len(matrix), np.inf)
    diagonal = np.diag(inverse)
    return np.where(diagonal > 0, distance * np.sqrt(np.abs(diagonal)), np.inf)


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
) -> Figure:
    r"""Contours :math:`d(\theta) = ` ``distance`` of several 2 x 2 informations: one contour set per matrix,
    around its reference point (``reference_thetas``; default the ``theta`` of a FisherInformation, else the
    origin). With a covariance (given, or the FisherInformation's; ``uncertainties=False`` hides it) a band
    shows where the contour moves for ``n_toys`` matrices drawn from :math:`N(I, \mathrm{Cov}[I])`: the region
    whose toy distances straddle ``distance`` within the central ``sigma_uncertainties``-sigma quantiles.
    ``legend_loc``: a matplotlib location, or "outside" (right of the axes).

    Example:
        >>> fig = plot_fisher_contours({"a": np.diag([4.0, 1.0]), "b": [[2.0, 1.0], [1.0, 2.0]]})
        >>> ax = fig.axes[0]
        >>> len(ax.collections), [t.get_text() for t in ax.get_legend().get_texts()]
        (2, ['a', 'b'])
    """
    items, names = labelled_items(informations, labels, "informations")
    n = len(items)
    matrices = [_matrix(item, f"informations[{i}]") for i, item in enumerate(items)]
    if any(m.shape != (2, 2) for m in matrices):
        raise PlottingError(
            "plot_fisher_contours draws 2 x 2 informations; use project_information or profile_information "
            "first"
        )
    if reference_thetas is None:
        references = [getattr(item, "theta", None) for item in items]
    else:
        references = list(reference_thetas)
        if len(references) != n:
            raise PlottingError(f"reference_thetas: expected {n} points, got {len(references)}")
    references = [
        np.zeros(2) if r is None else np.asarray(r, dtype=np.float64).reshape(2) for r in references
    ]
    if covariances is None:
        covariances = [getattr(item, "covariance", None) for item in items]
    elif len(covariances) != n:
        raise PlottingError(f"covariances: expected {n} entries, got {len(covariances)}")
    colors = cycle(colors, n, DEFAULT_COLORS)
    linestyles = cycle(linestyles, n, DEFAULT_LINESTYLES[:1])
    extents = np.array([_extent(m, distance) for m in matrices])
    centres = np.array(references)
    ranges = []
    for axis, given in ((0, xrange), (1, yrange)):
        if given is not None:
            ranges.append(tuple(float(v) for v in given))
            continue
        finite = np.isfinite(extents[:, axis])
        if finite.any():
            low = np.min(centres[finite, axis] - 1.3 * extents[finite, axis])
            high = np.max(centres[finite, axis] + 1.3 * extents[finite, axis])
        else:
            low, high = -1.0, 1.0
        ranges.append((float(low), float(high)))
    xs = np.linspace(*ranges[0], int(resolution))
    ys = np.linspace(*ranges[1], int(resolution))
    gx, gy = np.meshgrid(xs, ys)
    parameter_names = next((item.parameter_names for item in items if hasattr(item, "parameter_names")), None)
    default_labels = list(parameter_names) if parameter_names is not None else [r"$\theta_0$", r"$\theta_1$"]
    rng = np.random.default_rng(seed)
    quantiles = stats.norm.cdf([-sigma_uncertainties, sigma_uncertainties])
    with hep_style(style):
        fig, ax = new_figure(figsize=(6.0, 5.0))
        handles = []
        for i, (matrix, reference) in enumerate(zip(matrices, references, strict=True)):
            dx, dy = gx - reference[0], gy - reference[1]
            covariance = covariances[i]
            if uncertainties and covariance is not None:
                covariance = np.asarray(covariance, dtype=np.float64)
                if covariance.shape != (2, 2, 2, 2):
                    raise PlottingError(
                        f"covariances[{i}]: expected shape (2, 2, 2, 2), got {covariance.shape}"
                    )
                d = _toy_distances(matrix, covariance, dx, dy, int(n_toys), rng)
                low, high = np.quantile(d, quantiles, axis=0)
                # >= 0 exactly where low <= distance <= high; continuous, so the band edges are smooth
                straddle = (distance - low) * (high - distance)
                ax.contourf(xs, ys, straddle, levels=[0.0, np.inf], colors=[colors[i]], alpha=band_alpha)
            d2 = matrix[0, 0] * dx**2 + 2 * matrix[0, 1] * dx * dy + matrix[1, 1] * dy**2
            contours = ax.contour(
                xs,
                ys,
                d2,
                levels=[distance**2],
                colors=[colors[i]],
                linestyles=[linestyles[i]],
                linewidths=linewidth,
            )
            if inline_labels and names[i] is not None:
                ax.clabel(contours, fmt={distance**2: names[i]}, fontsize=9)
            handles.append(Line2D([], [], color=colors[i], ls=linestyles[i], lw=linewidth, label=names[i]))
        ax.set_xlim(*ranges[0])
        ax.set_ylim(*ranges[1])
        ax.set_xlabel(xlabel if xlabel is not None else default_labels[0])
        ax.set_ylabel(ylabel if ylabel is not None else default_labels[1])
        if any(name is not None for name in names):
            shown = [h for h, name in zip(handles, names, strict=True) if name is not None]
            place_legend(ax, shown, legend_loc)
    return fig


def plot_fisher_barplot(
    informations: Sequence[Any] | Mapping[str, Any],
    labels: Sequence[str] | None = None,
    *,
    determinant_indices: Sequence[int] | None = None,
    eigenvalue_colors: Sequence[str] | None = None,
    bar_colors: Sequence[str] | str | None = None,
    log: bool = True,
    style: str | None = "ROOT",
) -> Figure:
    r"""Two panels comparing informations: on top the eigenvalues of every matrix as grouped bars (largest
    first; each bar split into parameter colours in proportion to :math:`v_{ik}^2`, the weight of parameter i
    in the eigenvector, equal shares of the visual height on the log axis), below the geometric mean of the
    eigenvalues, :math:`(\det I)^{1/P}`, one bar per matrix (over ``determinant_indices`` only, when given:
    the information on those parameters with the others known).

    Example:
        >>> fig = plot_fisher_barplot([np.diag([4.0, 1.0]), np.diag([9.0, 1.0])], ["truth", "histogram"])
        >>> [round(float(p.get_height()), 6) for p in fig.axes[1].patches]
        [2.0, 3.0]
    """
    items, names = labelled_items(informations, labels, "informations")
    names = [f"matrix {i}" if name is None else name for i, name in enumerate(names)]
    matrices = [_matrix(item, f"informations[{i}]") for i, item in enumerate(items)]
    p = matrices[0].shape[0]
    if any(m.shape != (p, p) for m in matrices):
        raise PlottingError("informations: all matrices must have the same size")
    parameter_names = next((list(i.parameter_names) for i in items if hasattr(i, "parameter_names")), None)
    parameter_names = parameter_names or [f"θ{i}" for i in range(p)]
    eigen_colors = cycle(eigenvalue_colors, p, DEFAULT_COLORS[2:] + DEFAULT_COLORS[:2])
    bar_colors = cycle(bar_colors, len(matrices), DEFAULT_COLORS)
    indices = list(range(p)) if determinant_indices is None else [int(i) for i in determinant_indices]
    decompositions = []
    for matrix in matrices:
        values, vectors = np.linalg.eigh(matrix)
        order = np.argsort(values)[::-1]
        decompositions.append((np.maximum(values[order], 0.0), vectors[:, order]))
    positive = [v for values, _ in decompositions for v in values if v > 0]
    floor = 0.1 * min(positive) if positive else 1.0
    with hep_style(style):
        fig, (top, bottom) = new_figure(2, 1, figsize=(max(5.0, 0.8 * len(matrices) * p + 2.0), 7.0))
        width = 0.8 / p
        positions = np.arange(len(matrices))
        for m, (values, vectors) in enumerate(decompositions):
            for k in range(p):
                x = positions[m] - 0.4 + (k + 0.5) * width
                shares = np.concatenate([[0.0], np.cumsum(vectors[:, k] ** 2)])
                shares /= shares[-1]
                if log:  # equal visual shares on the log axis between the floor and the eigenvalue
                    edges = floor * (max(values[k], floor) / floor) ** shares
                else:
                    edges = values[k] * shares
                for i in range(p):
                    top.bar(
                        x,
                        edges[i + 1] - edges[i],
                        width * 0.9,
                        bottom=edges[i],
                        color=eigen_colors[i],
                        edgecolor="black",
                        lw=0.5,
                    )
            sub = matrices[m][np.ix_(indices, indices)]
            det = float(np.linalg.det(sub))
            geometric = det ** (1.0 / len(indices)) if det > 0 else 0.0
            bottom.bar(positions[m], geometric, 0.6, color=bar_colors[m])
            bottom.annotate(
                f"{geometric:.3g}",
                (positions[m], geometric),
                ha="center",
                va="bottom",
                fontsize=9,
                xytext=(0, 2),
                textcoords="offset points",
            )
        place_legend(
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
    return fig


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
    xrange: tuple[float, float] | None = None,
    log_xsec: bool = False,
    norm_xsec: bool = True,
    aux_label: str = "auxiliary",
    colors: Sequence[str] | str | None = None,
    style: str | None = "ROOT",
) -> Figure:
    r"""Where the information sits along an observable: the cross section per bin :math:`\sigma_k` (filled,
    left axis; normalised to unit sum with ``norm_xsec``) and, on the right axis, the share of the information
    in each bin (each line normalised to unit sum over the bins): with ``measure="diagonal"`` one line per
    parameter, :math:`I_{k,ii} / \sum_k I_{k,ii}`; ``"trace"`` the trace; ``"determinant"``
    :math:`(\det I_k)^{1/P}` (zero for the rank-one information of a single counting bin, so use it with
    truth-level per-bin informations). ``information_aux`` is drawn dashed in the same colours.

    Takes ``edges, sigma, information`` ([n_bins + 1], [n_bins], [n_bins, P, P]) or one
    :class:`~columnminer.inference.fisher.InformationHistogram` (from
    :func:`~columnminer.inference.fisher.histogram_of_information`) as the first argument.

    Example:
        >>> info = np.array([[[1.0]], [[3.0]], [[0.0]]])
        >>> fig = plot_distribution_of_information([0, 1, 2, 3], [2.0, 1.0, 1.0], info, xlabel="x")
        >>> len(fig.axes), fig.axes[0].get_xlabel(), len(fig.axes[1].patches)
        (2, 'x', 1)
    """
    import mplhep

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
        aux_info = getattr(information_aux, "information", information_aux)
        aux = _per_bin(aux_info, n_bins, measure, "information_aux")
    if measure == "diagonal":
        names = (
            list(parameter_names) if parameter_names is not None else [f"θ{i}" for i in range(main.shape[1])]
        )
        if len(names) != main.shape[1]:
            raise PlottingError(f"parameter_names: expected {main.shape[1]} names, got {len(names)}")
        line_labels = [f"$I_{{ii}}$, {name}" for name in names]
    else:
        line_labels = ["tr I" if measure == "trace" else r"$(\det I)^{1/P}$"]
    colors = cycle(colors, main.shape[1], DEFAULT_COLORS)
    shown = sigma / sigma.sum() if norm_xsec and sigma.sum() > 0 else sigma
    with hep_style(style):
        fig, ax = new_figure(figsize=(6.0, 4.8))
        mplhep.histplot(
            shown,
            edges,
            ax=ax,
            histtype="fill",
            color="#BBBBBB",
            alpha=0.8,
            label="cross section",
            flow="none",
        )
        ax.set_ylabel("normalised cross section" if norm_xsec else r"$\sigma$ per bin [pb]")
        if log_xsec:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0.0)
        twin = ax.twinx()
        for i in range(main.shape[1]):
            mplhep.histplot(
                main[:, i], edges, ax=twin, color=colors[i], lw=2.0, label=line_labels[i], flow="none"
            )
            if aux is not None:
                mplhep.histplot(
                    aux[:, i],
                    edges,
                    ax=twin,
                    color=colors[i],
                    lw=1.4,
                    ls="--",
                    label=f"{line_labels[i]} ({aux_label})",
                    flow="none",
                )
        twin.set_ylabel("share of the information")
        twin.set_ylim(bottom=0.0, top=1.25 * max(twin.get_ylim()[1], 1e-12))
        ax.set_xlabel("" if xlabel is None else xlabel)
        if xrange is not None:
            ax.set_xlim(*xrange)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        twin.legend(handles=handles, loc="upper right", ncols=2 if len(handles) > 4 else 1)
    return fig
