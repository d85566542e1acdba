"""The demo's figures, written as PNG files: expected limits of every method, Fisher ellipses, observables at
several parameter points, training curves.

Each figure comes from :mod:`columnminer.plotting`; if that fails (the plotting layer is young), a plain
matplotlib version of the same content is drawn instead and a note says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .result import CL_68, CL_95, DemoResult

__all__ = ["DISTRIBUTION_POINTS", "FIGURES", "OBSERVABLES", "copy_figures", "write_plots"]

logger = logging.getLogger(__name__)

#: The figures, under stable names (``plots/<name>``; ``columnminer demo --images DIR`` copies them to DIR).
FIGURES = ("limits.png", "fisher.png", "distributions.png", "training_sally.png", "training_alices.png")
#: Observables and parameter points of the distributions figure.
OBSERVABLES = ("m4l", "mZ2", "cos_theta1", "cos_theta2", "Phi", "Phi1")
DISTRIBUTION_POINTS = ("sm", [0.5, 0.0], [-0.5, 0.0], [0.0, 1.0])
AXES = (r"$a_2$", r"$a_3$")


def _labels(result: DemoResult, keys: list[str]) -> dict[str, str]:
    return {result._label(k): k for k in keys}


def _limits(result: DemoResult) -> Any:
    from ..plotting import plot_limits

    keys = [k for k in ("rate", "histogram", "sally", "alices", "exact", "truth") if k in result.limits]
    return plot_limits(
        {label: result.limits[k] for label, k in _labels(result, keys).items()},
        cls=(CL_68, CL_95),
        xlabel=AXES[0],
        ylabel=AXES[1],
    )


def _limits_fallback(result: DemoResult) -> Any:
    fig, ax = _figure()
    for i, (key, res) in enumerate(result.limits.items()):
        xs, ys = np.unique(res.thetas[:, 0]), np.unique(res.thetas[:, 1])
        q = np.full((len(ys), len(xs)), np.nan)
        q[np.searchsorted(ys, res.thetas[:, 1]), np.searchsorted(xs, res.thetas[:, 0])] = res.q
        levels = [res.threshold(CL_68), res.threshold(CL_95)]
        ax.contour(xs, ys, q, levels=levels, colors=[f"C{i}"], linestyles=["-", "--"])
        ax.plot([], [], color=f"C{i}", label=result._label(key))
    ax.plot([0.0], [0.0], "k*", label="SM (Asimov)")
    ax.set_xlabel(AXES[0])
    ax.set_ylabel(AXES[1])
    ax.legend(fontsize=8)
    ax.set_title("expected 68% (solid) and 95% (dashed) CL regions")
    return fig


def _fisher(result: DemoResult) -> Any:
    from ..plotting import plot_fisher_contours

    keys = [k for k in ("histogram", "sally", "alices", "truth") if k in result.fisher]
    return plot_fisher_contours(
        {label: result.fisher[k] for label, k in _labels(result, keys).items()},
        distance=1.0,
        xrange=result.config.grid_ranges[0],
        yrange=result.config.grid_ranges[1],
        xlabel=AXES[0],
        ylabel=AXES[1],
        uncertainties=False,
    )


def _fisher_fallback(result: DemoResult) -> Any:
    fig, ax = _figure()
    angle = np.linspace(0.0, 2.0 * np.pi, 200)
    for i, key in enumerate(k for k in ("histogram", "sally", "alices", "truth") if k in result.fisher):
        values, vectors = np.linalg.eigh(np.asarray(result.fisher[key].information))
        if np.any(values <= 0):
            continue
        circle = np.stack([np.cos(angle), np.sin(angle)])
        ellipse = vectors @ (circle / np.sqrt(values)[:, None])
        ax.plot(ellipse[0], ellipse[1], color=f"C{i}", label=result._label(key))
    ax.set_xlabel(AXES[0])
    ax.set_ylabel(AXES[1])
    ax.legend(fontsize=8)
    ax.set_title("Fisher information: 1-sigma ellipses at the SM")
    return fig


def _distributions(result: DemoResult, store: Any) -> Any:
    from ..plotting import plot_distributions

    return plot_distributions(
        store, list(OBSERVABLES), list(DISTRIBUTION_POINTS), bins=20, normalize=True, n_cols=3
    )


def _distributions_fallback(result: DemoResult, store: Any) -> Any:
    from ..weights import theta_coefficients

    x = np.asarray(store.read("observables"))
    weights = np.asarray(store.read("weights"))
    coefficients = theta_coefficients(
        store.setup,
        [np.asarray(p, dtype=float) if not isinstance(p, str) else p for p in DISTRIBUTION_POINTS],
    )
    fig, axes = _figure(2, 3)
    for ax, name in zip(axes.ravel(), OBSERVABLES, strict=True):
        values = x[:, store.observable_names.index(name)]
        edges = np.linspace(*np.quantile(values, [0.01, 0.99]), 21)
        for i, (point, c) in enumerate(zip(DISTRIBUTION_POINTS, coefficients, strict=True)):
            w = weights @ c
            ax.hist(values, edges, weights=w / w.sum(), histtype="step", color=f"C{i}", label=str(point))
        ax.set_xlabel(name)
    axes.ravel()[0].legend(fontsize=7)
    return fig


def _training(result: DemoResult, key: str) -> Any:
    from ..plotting import plot_training_history

    return plot_training_history({LABELS_TRAINING[key]: result.histories[key]})


def _training_fallback(result: DemoResult, key: str) -> Any:
    fig, ax = _figure()
    history = result.histories[key]
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, label="training")
    if history.validation_loss:
        ax.plot(epochs, history.validation_loss, "--", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(LABELS_TRAINING[key])
    ax.legend(fontsize=8)
    return fig


LABELS_TRAINING = {"sally": "SALLY (score in units of its spread)", "alices": "ALICES"}


def _fewer_ticks(fig: Any) -> Any:
    """At most five major ticks on the a2 axis (its labels are long)."""
    from matplotlib.ticker import MaxNLocator

    fig.axes[0].xaxis.set_major_locator(MaxNLocator(5))
    return fig


def _figure(rows: int = 1, cols: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.8 * cols, 4.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=rows * cols == 1)
    return fig, axes


def write_plots(result: DemoResult, store: Any, directory: Path) -> list[Path]:
    """Write limits.png, fisher.png, distributions.png, training_sally.png and training_alices.png into
    ``directory``; returns the paths (fallback drawings are noted in ``result.notes``)."""
    directory.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("limits", lambda: _fewer_ticks(_limits(result)), lambda: _fewer_ticks(_limits_fallback(result))),
        ("fisher", lambda: _fewer_ticks(_fisher(result)), lambda: _fewer_ticks(_fisher_fallback(result))),
        (
            "distributions",
            lambda: _distributions(result, store),
            lambda: _distributions_fallback(result, store),
        ),
    ]
    for key in result.histories:
        figures.append(
            (
                f"training_{key}",
                lambda k=key: _training(result, k),
                lambda k=key: _training_fallback(result, k),
            )
        )
    paths = []
    for name, draw, fallback in figures:
        try:
            fig = draw()
        except Exception as err:  # the plotting layer is optional here: fall back, say so
            logger.warning("plot %s: columnminer.plotting failed (%s); drawing a plain version", name, err)
            result.notes.append(
                f"plots/{name}.png drawn by the demo's fallback ({type(err).__name__}: {err})"
            )
            fig = fallback()
        path = directory / f"{name}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths


def copy_figures(files: list[Path], directory: Path) -> list[Path]:
    """Copy the figures among ``files`` (those named in :data:`FIGURES`) into ``directory`` under the same
    names, replacing older copies; returns the copies.

    Example:
        >>> import tempfile
        >>> source = Path(tempfile.mkdtemp()) / "limits.png"
        >>> _ = source.write_bytes(b"png")
        >>> [p.name for p in copy_figures([source, Path("summary.md")], Path(tempfile.mkdtemp()) / "images")]
        ['limits.png']
    """
    import shutil

    directory.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(f, directory / f.name)) for f in files if Path(f).name in FIGURES]
