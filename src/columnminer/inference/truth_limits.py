r"""Expected limits from the exact parton-level likelihood: the stored true per-event weights themselves.

Where the simulator knows the weight :math:`w(z|\theta)` of every event at every theta (morphing from the
benchmark columns of the store), the expected log-likelihood for Asimov data at :math:`\theta_\text{true}`
is known exactly, without any histogram or network:

.. math::

    \log L(\theta) = \sum_z L\,w(z|\theta_\text{true}) \log\frac{w(z|\theta)}{\sigma(\theta)}
    + N\log\big(L\sigma(\theta)\big) - L\sigma(\theta), \qquad N = L\sigma(\theta_\text{true}),

with the sum over the events of a partition (weights scaled to the full sample, as everywhere in
:mod:`columnminer.inference`). It is the likelihood of an idealised measurement of every event's parton-level
configuration z (and of which process produced it: background events, whose weights do not depend on theta,
only add a constant), so its regions are the smallest any analysis of the same events can reach; the truth
Fisher information (:func:`~columnminer.inference.fisher.truth_information`) is its curvature at
theta_true. The test statistic and p-values follow :mod:`columnminer.inference.limits`:
:math:`q = -2[\log L(\theta) - \max\log L]` over the tested points and :math:`p = 1 - F_{\chi^2_k}(q)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InferenceError
from .binned import ChunkColumns, reduce_chunks
from .likelihood import YIELD_FLOOR, asymptotic_p_values, resolve_thetas
from .limits import LimitResult

__all__ = ["truth_expected_limits"]

#: Per-event floor of :math:`w(z|\theta)` relative to the event's largest benchmark weight (morphing noise
#: can push a weight that is exactly zero slightly below it).
RELATIVE_WEIGHT_FLOOR = 1e-12


def _chunk_sums(columns: ChunkColumns, c: np.ndarray, c_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk: :math:`\\sum_z w(z|\\theta_\\text{true}) \\log w(z|\\theta)` [T] and the benchmark totals [B]."""
    weights = columns.weights
    w_true = weights @ c_true
    keep = w_true != 0
    weights, w_true = weights[keep], w_true[keep]
    if not len(weights):
        return np.zeros(len(c)), columns.weights.sum(axis=0)
    floor = RELATIVE_WEIGHT_FLOOR * np.max(np.abs(weights), axis=1) + np.finfo(np.float64).tiny
    w_theta = weights @ c.T  # [n, T]
    log_w = np.log(np.maximum(w_theta, floor[:, None]))
    return w_true @ log_w, columns.weights.sum(axis=0)


def truth_expected_limits(
    store: Any,
    theta_true: Any,
    thetas: Any,
    luminosity: float,
    *,
    include_rate: bool = True,
    partition: str | None = "test",
    dof: int | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
) -> LimitResult:
    r"""Expected p-values on ``thetas`` for Asimov data at ``theta_true`` from the exact per-event weights
    (see the module docstring); the result is a :class:`~columnminer.inference.limits.LimitResult` with
    ``mode="truth"``, comparable point by point with :func:`~columnminer.inference.limits.expected_limits`.

    ``thetas``: parameter points [T, P] (any with morphing) or benchmark names; ``theta_true`` one point or
    name; ``luminosity`` in pb^-1. ``include_rate=False`` drops the Poisson term of the total count (the
    shape alone). ``partition``, ``cuts``, ``efficiencies``, ``client`` as in
    :func:`~columnminer.inference.binned.reduce_chunks`; ``dof`` defaults to the number of parameters.

    Example:
        >>> from columnminer.demo import golden_channel_setup, quadratic_event_weights
        >>> from columnminer.io.store import EventStore
        >>> setup = golden_channel_setup()
        >>> couplings = np.random.default_rng(0).normal(size=(400, 3, 2))
        >>> w = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T
        >>> store = EventStore.create("memory://doc-truth-limits", setup, ["m4l"], chunk_size=100)
        >>> _ = store.append(np.zeros((400, 1)), w, 0)
        >>> grid = [[a2, a3] for a2 in (-0.5, 0.0, 0.5) for a3 in (-0.5, 0.0, 0.5)]
        >>> result = truth_expected_limits(store, [0.0, 0.0], grid, 1.0, partition=None)
        >>> result.mode, result.best_fit.tolist(), float(result.p_values[4])
        ('truth', [0.0, 0.0], 1.0)
    """
    if not float(luminosity) > 0:
        raise InferenceError(f"luminosity must be positive (pb^-1), got {luminosity}")
    luminosity = float(luminosity)
    setup = store.setup
    c_true, point_true = resolve_thetas(setup, theta_true)
    if len(point_true) != 1:
        raise InferenceError(f"theta_true must be one parameter point, got {len(point_true)}")
    c, points = resolve_thetas(setup, thetas)
    parts = reduce_chunks(
        store,
        _chunk_sums,
        c,
        c_true[0],
        partition=partition,
        cuts=tuple(cuts),
        efficiencies=tuple(efficiencies),
        client=client,
    )
    weighted_log_w = luminosity * np.sum([p[0] for p in parts], axis=0)
    totals = np.sum([p[1] for p in parts], axis=0)
    sigma = c @ totals
    n_total = float(luminosity * totals @ c_true[0])
    if not n_total > 0:
        raise InferenceError(f"the expected number of events at theta_true is not positive ({n_total})")
    expected = np.maximum(luminosity * sigma, YIELD_FLOOR)
    kinematic = weighted_log_w - n_total * np.log(expected / luminosity)
    rate = n_total * np.log(expected) - expected if include_rate else np.zeros(len(c))
    total = kinematic + rate
    if not np.any(np.isfinite(total)):
        raise InferenceError("the log-likelihood is not finite at any tested point")
    best = int(np.nanargmax(total))
    q = -2.0 * (total - total[best])
    space = setup.parameter_space
    dof = space.n_parameters if dof is None else int(dof)
    return LimitResult(
        mode="truth",
        parameter_names=tuple(space.parameter_names),
        thetas=points,
        p_values=asymptotic_p_values(q, dof),
        q=q,
        log_likelihood=total,
        log_likelihood_kinematic=kinematic,
        log_likelihood_rate=rate,
        best_fit_index=best,
        dof=dof,
        luminosity_pb=luminosity,
        n_observed=n_total,
        theta_true=point_true[0],
    )
