r"""Training diagnostics: loss curves per epoch and learned against exact log likelihood ratios.

:func:`plot_training_history` reads the :class:`~columnminer.ml.trainer.TrainingHistory` an estimator keeps
after ``train`` (or its ``to_dict`` form, or an ensemble's ``histories``). :func:`plot_log_ratio_validation`
compares :math:`\log\hat r(x|\theta_0,\theta_1)` with the exact :math:`\log r` of a reference process (the
Gaussian toy's ``log_ratio``, or the golden channel's exact parton-level densities): points on the diagonal
and a flat residual :math:`\log\hat r - \log r` around zero mean the estimator learned the ratio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import PlottingError
from ._style import DEFAULT_COLORS, cycle, hep_style, new_figure

__all__ = ["LOG_SPAN", "LOSS_LABELS", "plot_log_ratio_validation", "plot_training_history"]


def _history_dict(item: Any, what: str) -> dict[str, Any]:
    """A history as a dict with list values (TrainingHistory, its to_dict(), or an estimator holding one)."""
    history = getattr(item, "history", item)
    if history is None:
        raise PlottingError(f"{what}: the estimator has not been trained (no history)")
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    if not isinstance(history, Mapping) or not history.get("train_loss"):
        raise PlottingError(f"{what}: expected a TrainingHistory (or estimator) with training losses")
    return dict(history)


def _histories(histories: Any, labels: Sequence[str] | None) -> tuple[list[dict], list[str | None]]:
    if hasattr(histories, "histories"):  # an ensemble
        histories = list(histories.histories)
    if isinstance(histories, Mapping) and "train_loss" not in histories:
        items, names = list(histories.values()), [str(k) for k in histories]
    elif isinstance(histories, Sequence) and not isinstance(histories, str | Mapping):
        items, names = list(histories), [None] * len(histories)
        if len(items) > 1:
            names = [f"run {i}" for i in range(len(items))]
    else:
        items, names = [histories], [None]
    if labels is not None:
        names = [str(x) for x in labels]
        if len(names) != len(items):
            raise PlottingError(f"labels: expected {len(items)} labels, got {len(names)}")
    if not items:
        raise PlottingError("histories: nothing to draw")
    return [_history_dict(item, f"histories[{i}]") for i, item in enumerate(items)], names


#: Axis labels of the named loss components of :mod:`columnminer.ml.losses` (others: the name).
LOSS_LABELS = {
    "cross_entropy": "cross entropy",
    "score": "score MSE",
    "score1": r"score MSE at $\theta_1$",
    "ratio_num": r"ratio MSE ($y = 0$, $1/r$)",
    "ratio_den": r"ratio MSE ($y = 1$, $r$)",
    "nll": "negative log likelihood",
}
#: Values of one axis spanning more than this factor get a log scale.
LOG_SPAN = 30.0


def _loss_label(name: str) -> str:
    return LOSS_LABELS.get(name, name.replace("_", " "))


def _wants_log(curves: Sequence[Sequence[float]]) -> bool:
    """Whether positive values spanning more than :data:`LOG_SPAN` are drawn on a log axis."""
    values = np.concatenate([np.asarray(c, dtype=np.float64) for c in curves if len(c)] or [np.ones(1)])
    values = values[np.isfinite(values)]
    return bool(values.size and values.min() > 0 and values.max() / values.min() > LOG_SPAN)


def _panels(dicts: list[dict], components: bool) -> list[tuple[str, str, str | None]]:
    """The panels (y label, training key, component name): the total, then each component of a loss with
    several (an axis each: the terms differ by orders of magnitude)."""
    names = sorted({name for h in dicts for name in (h.get("train_components") or {})})
    if len(names) == 1:
        return [(f"loss ({_loss_label(names[0])})", "train_loss", None)]
    if not components or not names:
        return [("loss", "train_loss", None)]
    return [("total loss", "train_loss", None)] + [(_loss_label(n), "train_components", n) for n in names]


def _curves(h: dict, key: str, component: str | None) -> tuple[list[float], list[float]]:
    """The training and validation values of one panel for one history."""
    if component is None:
        return list(h["train_loss"]), list(h.get("validation_loss") or [])
    train = (h.get("train_components") or {}).get(component) or []
    return list(train), list((h.get("validation_components") or {}).get(component) or [])


def _draw_panel(
    ax: Any,
    dicts: list[dict],
    colors: list[str],
    panel: tuple[str, str, str | None],
    log: bool,
    mark_best: bool,
) -> None:
    """The curves of every history on one axis: training solid, validation dashed, the best epoch dotted."""
    label, key, component = panel
    drawn = []
    for h, color in zip(dicts, colors, strict=True):
        train, validation = _curves(h, key, component)
        if train:
            ax.plot(np.arange(1, len(train) + 1), train, color=color, ls="-", marker=".", ms=4)
        if validation:
            ax.plot(np.arange(1, len(validation) + 1), validation, color=color, ls="--")
        drawn += [train, validation]
        best = int(h.get("best_epoch", -1))
        if mark_best and best >= 0:
            ax.axvline(best + 1, color=color, ls=":", lw=1.5)
    ax.set_ylabel(label)
    if log or _wants_log(drawn):
        ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)


def _legend_handles(dicts: list[dict], names: list[str | None], colors: list[str], mark_best: bool) -> list:
    single = "grey" if len(dicts) > 1 else colors[0]
    handles = [Line2D([], [], color=single, ls="-", marker=".", label="training")]
    if any(h.get("validation_loss") for h in dicts):
        handles.append(Line2D([], [], color=single, ls="--", label="validation"))
    best = [int(h.get("best_epoch", -1)) for h in dicts]
    if mark_best and any(b >= 0 for b in best):
        text = f"best epoch ({best[0] + 1})" if len(dicts) == 1 else "best epoch"
        handles.append(Line2D([], [], color="grey", ls=":", label=text))
    if len(dicts) > 1 or names[0] is not None:
        handles += [Line2D([], [], color=c, lw=4, label=n) for c, n in zip(colors, names, strict=True) if n]
    return handles


def plot_training_history(
    histories: Any,
    labels: Sequence[str] | None = None,
    *,
    components: bool = True,
    log: bool = False,
    mark_best: bool = True,
    colors: Sequence[str] | str | None = None,
    style: str | None = "ROOT",
) -> Figure:
    r"""Loss per epoch (epochs counted from 1): training solid, validation dashed, one colour per run; the
    best epoch (the state the model keeps, early stopping) marked by a dotted vertical line with a legend
    entry. With ``components`` and a loss made of several named terms (e.g. the cross entropy and the score
    MSE of ALICES, which differ by orders of magnitude), every term gets its own panel below the total, on
    its own y scale and labelled by its name ("cross entropy", "score MSE", ...). A panel whose values span
    more than a factor :data:`LOG_SPAN` is drawn on a log scale (``log=True``: every panel).

    ``histories``: a :class:`~columnminer.ml.trainer.TrainingHistory`, a trained estimator, a dict from
    ``TrainingHistory.to_dict()``, an :class:`~columnminer.ml.ensemble.Ensemble` (its members' histories), or
    a sequence / mapping (label -> history) of those.

    Example:
        >>> from columnminer.ml.trainer import TrainingHistory
        >>> h = TrainingHistory(train_loss=[1.0, 0.6, 0.5], validation_loss=[1.1, 0.7, 0.65], best_epoch=2)
        >>> fig = plot_training_history(h)
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['training', 'validation', 'best epoch (3)']
        >>> parts = {"cross_entropy": [0.69, 0.68], "score": [0.004, 0.003]}
        >>> h = TrainingHistory(train_loss=[0.694, 0.683], train_components=parts, best_epoch=1)
        >>> [(ax.get_ylabel(), ax.get_yscale()) for ax in plot_training_history(h).axes]
        [('total loss', 'linear'), ('cross entropy', 'linear'), ('score MSE', 'linear')]
    """
    dicts, names = _histories(histories, labels)
    colors = cycle(colors, len(dicts), DEFAULT_COLORS)
    panels = _panels(dicts, components)
    with hep_style(style):
        if len(panels) == 1:
            fig, axes = new_figure(figsize=(6.0, 4.6))
            axes = [axes]
        else:
            fig, axes = new_figure(len(panels), 1, figsize=(6.0, 2.0 + 2.2 * len(panels)), sharex=True)
        for ax, panel in zip(axes, panels, strict=True):
            _draw_panel(ax, dicts, colors, panel, log, mark_best)
        axes[0].legend(handles=_legend_handles(dicts, names, colors, mark_best), loc="best")
        axes[-1].set_xlabel("epoch")
        n_epochs = max(len(h["train_loss"]) for h in dicts)
        axes[-1].set_xlim(0.5, n_epochs + 0.5)  # room for the best-epoch line at the last epoch
    return fig


def plot_log_ratio_validation(
    learned: Any,
    exact: Any,
    *,
    labels: Sequence[str] | None = None,
    residuals: bool = True,
    max_points: int | None = 5000,
    seed: int | None = 0,
    xlabel: str = r"exact $\log r(x|\theta_0, \theta_1)$",
    ylabel: str = r"learned $\log \hat r(x|\theta_0, \theta_1)$",
    colors: Sequence[str] | str | None = None,
    alpha: float = 0.4,
    style: str | None = "ROOT",
) -> Figure:
    r"""Scatter of learned against exact log likelihood ratios, with the diagonal; below (``residuals``) the
    residual :math:`\log\hat r - \log r` against the exact value, with zero marked. Each estimator's legend
    entry gives its root-mean-square residual.

    ``learned``: an array (any shape, flattened; e.g. ``evaluate_log_likelihood_ratio`` output [T, n]), or a
    mapping label -> array / a sequence of arrays for several estimators; ``exact``: the matching exact values.
    At most ``max_points`` random points per estimator are drawn (all are used for the RMS).

    Example:
        >>> exact = np.linspace(-2, 2, 50)
        >>> fig = plot_log_ratio_validation({"alices": exact + 0.1}, exact)
        >>> len(fig.axes), fig.axes[0].get_legend().get_texts()[0].get_text()
        (2, 'alices (RMS 0.1)')
    """
    exact = np.asarray(exact, dtype=np.float64).ravel()
    if isinstance(learned, Mapping):
        items, names = [learned[k] for k in learned], [str(k) for k in learned]
    elif isinstance(learned, np.ndarray) or np.ndim(learned) == 0 or np.ndim(learned[0]) == 0:
        items, names = [learned], ["estimator"]
    else:
        items = list(learned)
        names = [f"estimator {i}" for i in range(len(items))]
    if labels is not None:
        names = [str(x) for x in labels]
        if len(names) != len(items):
            raise PlottingError(f"labels: expected {len(items)} labels, got {len(names)}")
    arrays = []
    for i, item in enumerate(items):
        values = np.asarray(item, dtype=np.float64).ravel()
        if values.shape != exact.shape:
            raise PlottingError(f"learned[{i}]: {values.size} values but {exact.size} exact ones")
        arrays.append(values)
    colors = cycle(colors, len(arrays), DEFAULT_COLORS)
    rng = np.random.default_rng(seed)
    finite_exact = exact[np.isfinite(exact)]
    if finite_exact.size == 0:
        raise PlottingError("exact: no finite values")
    low, high = float(finite_exact.min()), float(finite_exact.max())
    with hep_style(style):
        if residuals:
            fig, (ax, ax_res) = new_figure(
                2, 1, figsize=(5.6, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 1.2]}
            )
        else:
            fig, ax = new_figure(figsize=(5.6, 5.0))
            ax_res = None
        for values, name, color in zip(arrays, names, colors, strict=True):
            keep = np.flatnonzero(np.isfinite(values) & np.isfinite(exact))
            rms = float(np.sqrt(np.mean((values[keep] - exact[keep]) ** 2))) if keep.size else float("nan")
            if max_points is not None and keep.size > int(max_points):
                keep = rng.choice(keep, int(max_points), replace=False)
            label = f"{name} (RMS {rms:.3g})"
            ax.scatter(
                exact[keep], values[keep], s=6, color=color, alpha=alpha, lw=0, label=label, rasterized=True
            )
            if ax_res is not None:
                ax_res.scatter(
                    exact[keep],
                    values[keep] - exact[keep],
                    s=6,
                    color=color,
                    alpha=alpha,
                    lw=0,
                    rasterized=True,
                )
        ax.plot([low, high], [low, high], color="black", ls="--", lw=1.0)
        ax.set_ylabel(ylabel)
        legend = ax.legend(loc="upper left", markerscale=3)
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)
        if ax_res is not None:
            ax_res.axhline(0.0, color="black", ls="--", lw=1.0)
            ax_res.set_ylabel("residual")
            ax_res.set_xlabel(xlabel)
        else:
            ax.set_xlabel(xlabel)
    return fig
