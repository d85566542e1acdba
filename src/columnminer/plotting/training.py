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

__all__ = ["plot_log_ratio_validation", "plot_training_history"]


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
    best epoch (the state the model keeps) marked by a dotted vertical line. With ``components`` and a loss
    made of named terms (e.g. the ratio and score terms of RASCAL / ALICES), a second panel shows every term.

    ``histories``: a :class:`~columnminer.ml.trainer.TrainingHistory`, a trained estimator, a dict from
    ``TrainingHistory.to_dict()``, an :class:`~columnminer.ml.ensemble.Ensemble` (its members' histories), or
    a sequence / mapping (label -> history) of those.

    Example:
        >>> from columnminer.ml.trainer import TrainingHistory
        >>> h = TrainingHistory(train_loss=[1.0, 0.6, 0.5], validation_loss=[1.1, 0.7, 0.65], best_epoch=2)
        >>> fig = plot_training_history(h)
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['training', 'validation', 'best epoch']
    """
    dicts, names = _histories(histories, labels)
    colors = cycle(colors, len(dicts), DEFAULT_COLORS)
    component_names = sorted(
        {name for h in dicts for name in (h.get("train_components") or {})} if components else set()
    )
    show_components = len(component_names) > 1
    with hep_style(style):
        if show_components:
            fig, (ax, ax_parts) = new_figure(1, 2, figsize=(11.0, 4.6))
        else:
            fig, ax = new_figure(figsize=(6.0, 4.6))
            ax_parts = None
        for h, color in zip(dicts, colors, strict=True):
            epochs = np.arange(1, len(h["train_loss"]) + 1)
            ax.plot(epochs, h["train_loss"], color=color, ls="-", marker=".", ms=4)
            if h.get("validation_loss"):
                ax.plot(epochs[: len(h["validation_loss"])], h["validation_loss"], color=color, ls="--")
            best = int(h.get("best_epoch", -1))
            if mark_best and best >= 0:
                ax.axvline(best + 1, color=color, ls=":", lw=1.0)
            if ax_parts is not None:
                part_colors = cycle(None, len(component_names), DEFAULT_COLORS[2:] + DEFAULT_COLORS[:2])
                for part, part_color in zip(component_names, part_colors, strict=True):
                    values = (h.get("train_components") or {}).get(part)
                    if values:
                        ax_parts.plot(epochs[: len(values)], values, color=part_color, ls="-")
                    values = (h.get("validation_components") or {}).get(part)
                    if values:
                        ax_parts.plot(epochs[: len(values)], values, color=part_color, ls="--")
        handles = [Line2D([], [], color="grey" if len(dicts) > 1 else colors[0], ls="-", label="training")]
        if any(h.get("validation_loss") for h in dicts):
            handles.append(
                Line2D([], [], color="grey" if len(dicts) > 1 else colors[0], ls="--", label="validation")
            )
        if mark_best and any(int(h.get("best_epoch", -1)) >= 0 for h in dicts):
            handles.append(Line2D([], [], color="grey", ls=":", label="best epoch"))
        if len(dicts) > 1 or names[0] is not None:
            handles += [
                Line2D([], [], color=c, lw=4, label=n) for c, n in zip(colors, names, strict=True) if n
            ]
        ax.legend(handles=handles, loc="best")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log:
            ax.set_yscale("log")
        if ax_parts is not None:
            part_colors = cycle(None, len(component_names), DEFAULT_COLORS[2:] + DEFAULT_COLORS[:2])
            ax_parts.legend(
                handles=[
                    Line2D([], [], color=c, label=n)
                    for c, n in zip(part_colors, component_names, strict=True)
                ],
                loc="best",
            )
            ax_parts.set_xlabel("epoch")
            ax_parts.set_ylabel("loss terms")
            if log:
                ax_parts.set_yscale("log")
        for a in (ax, ax_parts):
            if a is not None:
                a.xaxis.get_major_locator().set_params(integer=True)
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
