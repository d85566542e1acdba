r"""One histogram convention for results at many parameter points: a ``theta`` axis of readable names.

A histogram of an observable at T parameter points is a ``hist.Hist`` with

- a first axis ``hist.axis.StrCategory`` named ``"theta"`` (no flow bin) whose categories name the points
  the way users wrote them: a benchmark by its name (``"sm"``), a point by its parameter values with the
  setup's parameter names, ``"a2=0.5,a3=0"`` (numbers in ``%g`` format, so ``0.0`` reads ``0``), an explicit
  column (:func:`columnminer.thetas.benchmark_index`) by its benchmark's name;
- the numeric values in the axis ``metadata``: ``{"parameters": [names], "values": [[theta_1..theta_P], ...]}``
  (JSON-able lists, one row per category; :func:`theta_values` reads them back), and the axis ``label``
  ``"parameter point (a2, a3)"``;
- then the observable axes, and ``hist.storage.Weight`` storage: per bin the sum of the event weights (pb,
  a cross section) and the sum of their squares (its Monte Carlo variance, pb^2).

So ``h[{"theta": "sm"}]`` and ``h[{"theta": "a2=0.5,a3=0"}]`` are the histograms at those points, and
``theta_values(h)`` the [T, P] parameter values in category order. Thetas are read by the package's one rule
(:mod:`columnminer.thetas`: strings are benchmark names, numbers are parameter values).
:func:`theta_hist` builds such a histogram from values ``[T, *bins]`` (and variances) with hist axes or bin edges
for the observables; :func:`fill_thetas` fills one from per-event weights [n_events, T].
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import hist
import numpy as np

from .errors import ParameterSpaceError
from .thetas import theta_items, theta_points

__all__ = ["THETA_AXIS", "fill_thetas", "theta_axis", "theta_hist", "theta_names", "theta_values"]

logger = logging.getLogger(__name__)

#: The name of the parameter-point axis of every histogram at many thetas.
THETA_AXIS = "theta"


def theta_names(setup: Any, thetas: Any) -> list[str]:
    """Readable names of parameter points: benchmark names, or ``"a2=0.5,a3=0"`` for points.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> theta_names(golden_channel_setup(), ["sm", [0.5, 0.0], [-0.25, 1e-3]])
        ['sm', 'a2=0.5,a3=0', 'a2=-0.25,a3=0.001']
    """
    space = getattr(setup, "parameter_space", setup)
    parameters = list(space.parameter_names)
    names = []
    for item in theta_items(space, thetas):
        if isinstance(item, np.ndarray):
            names.append(",".join(f"{p}={float(v) + 0.0:g}" for p, v in zip(parameters, item, strict=True)))
        elif isinstance(item, str):
            names.append(item)
        else:
            names.append(space.benchmark_names[item.index])
    return names


def theta_axis(setup: Any, thetas: Any) -> hist.axis.StrCategory:
    """The ``theta`` axis of ``thetas`` (see the module docstring): readable categories, values in metadata.

    Two thetas with the same name (the same point given twice) are an error.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> axis = theta_axis(golden_channel_setup(), ["sm", [0.5, 0.0]])
        >>> list(axis), axis.metadata["values"], axis.label
        (['sm', 'a2=0.5,a3=0'], [[0.0, 0.0], [0.5, 0.0]], 'parameter point (a2, a3)')
    """
    space = getattr(setup, "parameter_space", setup)
    names = theta_names(space, thetas)
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ParameterSpaceError(f"theta axis: the points {twice} are given more than once")
    parameters = [str(p) for p in space.parameter_names]
    metadata = {"parameters": parameters, "values": theta_points(space, thetas).tolist()}
    label = f"parameter point ({', '.join(parameters)})"
    return hist.axis.StrCategory(names, name=THETA_AXIS, label=label, metadata=metadata, flow=False)


def _observable_axis(spec: Any, k: int) -> Any:
    """A hist axis, or a Variable axis from edges (``(name, edges)`` or bare edges, named ``x<k>``)."""
    if isinstance(spec, hist.axis.AxesMixin):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        return hist.axis.Variable(np.asarray(spec[1], dtype=np.float64), name=spec[0])
    return hist.axis.Variable(np.asarray(spec, dtype=np.float64), name=f"x{k}")


def theta_hist(
    axis: hist.axis.StrCategory,
    values: np.ndarray,
    variances: np.ndarray | None = None,
    axes: Sequence[Any] = (),
) -> hist.Hist:
    """A Weight-storage histogram ``(theta, *axes)`` from per-theta bin contents.

    ``values`` (pb) and ``variances`` (pb^2; default zero) have shape ``[T, *bins]``, with or without the flow
    bins of the observable axes; ``axes`` are hist axes or bin edges (``(name, edges)``, or bare edges named
    ``x0, x1, ...``). The numbers are copied in, not refilled.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> axis = theta_axis(golden_channel_setup(), ["sm", [0.5, 0.0]])
        >>> h = theta_hist(axis, np.array([[1.0, 2.0], [3.0, 4.0]]), axes=[("m4l", [120.0, 125.0, 130.0])])
        >>> h[{"theta": "a2=0.5,a3=0"}].values().tolist(), h.axes.name
        ([3.0, 4.0], ('theta', 'm4l'))
    """
    observables = [_observable_axis(spec, k) for k, spec in enumerate(axes)]
    h = hist.Hist(axis, *observables, storage=hist.storage.Weight())
    values = np.asarray(values, dtype=np.float64)
    flow = values.shape == h.view(flow=True).shape
    if not flow and values.shape != h.view().shape:
        raise ValueError(
            f"theta_hist: values of shape {values.shape} fit neither {h.view().shape} nor, with flow bins, "
            f"{h.view(flow=True).shape}"
        )
    view = h.view(flow=flow)
    view["value"] = values
    view["variance"] = 0.0 if variances is None else np.asarray(variances, dtype=np.float64)
    return h


def theta_values(h: hist.Hist) -> np.ndarray:
    """The parameter values [T, P] of a histogram's ``theta`` categories (from the axis metadata).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> h = hist.Hist(theta_axis(golden_channel_setup(), [[0.5, 0.0], "sm"]), storage=hist.storage.Weight())
        >>> theta_values(h).tolist()
        [[0.5, 0.0], [0.0, 0.0]]
    """
    axis = h.axes[THETA_AXIS]
    metadata = axis.metadata if isinstance(axis.metadata, dict) else {}
    if "values" not in metadata:
        raise ValueError(f"the {THETA_AXIS!r} axis carries no parameter values in its metadata")
    return np.asarray(metadata["values"], dtype=np.float64).reshape(len(axis), -1)


def fill_thetas(h: hist.Hist, weights: np.ndarray, **values: Any) -> hist.Hist:
    """Fill a theta histogram with every event at every theta: ``weights`` [n_events, T] (pb), ``values``
    the observables by axis name (one value per event). Returns ``h``.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> axis = theta_axis(golden_channel_setup(), ["sm", [0.5, 0.0]])
        >>> h = hist.Hist(axis, hist.axis.Regular(2, 0.0, 2.0, name="x"), storage=hist.storage.Weight())
        >>> fill_thetas(h, np.array([[1.0, 2.0], [3.0, 4.0]]), x=np.array([0.5, 1.5]))["sm", :].values().tolist()
        [1.0, 3.0]
    """
    axis = h.axes[THETA_AXIS]
    weights = np.asarray(weights, dtype=np.float64)
    n, t = weights.shape
    if t != len(axis):
        raise ValueError(f"fill_thetas: {t} weight columns for the {len(axis)} thetas of the histogram")
    repeated = {name: np.repeat(np.asarray(v), t) for name, v in values.items()}
    categories = np.tile(np.asarray(list(axis), dtype=object), n)
    return h.fill(**{THETA_AXIS: categories}, **repeated, weight=weights.reshape(-1))
