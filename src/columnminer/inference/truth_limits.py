r"""Expected limits from exact likelihoods: the stored true per-event weights (labelled, parton level), and a
detector-level mixture density given per event (unlabelled).

**Labelled (parton level)**, :func:`truth_expected_limits`. Where the simulator knows the weight
:math:`w(z|\theta)` of every event at every theta (morphing from the benchmark columns of the store), the
expected log-likelihood for Asimov data at :math:`\theta_\text{true}` is known exactly, without any histogram
or network:

.. math::

    \log L(\theta) = \sum_z L\,w(z|\theta_\text{true}) \log\frac{w(z|\theta)}{\sigma(\theta)}
    + N\log\big(L\sigma(\theta)\big) - L\sigma(\theta), \qquad N = L\sigma(\theta_\text{true}),

with the sum over the events of a partition (weights scaled to the full sample, as everywhere in
:mod:`columnminer.inference`). It is the likelihood of an idealised measurement of every event's parton-level
configuration z *and of the process that produced it*: a background event's weight does not depend on
theta, so it only adds a constant, and a signal event is never diluted by background at the same z. It is
therefore a bound, which an analysis of the detector-level events cannot reach even with perfect
resolution unless the label is a function of z. (For the built-in golden channel it is: the signal has
:math:`m_{4l} = m_H` exactly and the background a continuum, so there this labelled likelihood equals the
unlabelled parton-level :math:`p(z|\theta)`; see :mod:`columnminer.simulators.golden_detector`.) The truth
Fisher information (:func:`~columnminer.inference.fisher.truth_information`) is its curvature at theta_true.

**Unlabelled (detector level)**, :func:`mixture_expected_limits`. Given for every event x of the partition
the signal's quadratic form and the background density,
:math:`f(x|\theta) = \sigma_s(\theta) p_s(x|\theta) + \sigma_b p_b(x) = c(\theta)^T A(x)\, c(\theta) + b(x)`
(any common unit; c the coupling vector in which :math:`|M|^2` is quadratic), the exact likelihood of the
unlabelled events is :math:`p(x|\theta) = f(x|\theta) / \sigma(\theta)` and

.. math::

    \log L(\theta) = \sum_x L\,w(x|\theta_\text{true}) \log\frac{f(x|\theta)}{\sigma(\theta)}
    + N\log\big(L\sigma(\theta)\big) - L\sigma(\theta),

with :math:`\sigma(\theta)` from the selected events' weights. Signal and background events enter alike:
nobody tells the likelihood which is which. With ``normalisation="sample"`` (the default) the density is
normalised on the Asimov events themselves,
:math:`p(x|\theta) = f(x|\theta) / [\sigma(\theta_\text{true})\, \hat s(\theta)]`,
:math:`\hat s(\theta) = \sum_x w(x|\theta_\text{true}) f(x|\theta)/f(x|\theta_\text{true}) / \sum_x
w(x|\theta_\text{true})` (the importance-sampling estimate of :math:`\sigma(\theta)/\sigma(\theta_\text{true})`,
exact in expectation): a finite event sample then cannot move the Asimov maximum away from theta_true
(Jensen's inequality), exactly as for an estimator calibrated on the same events.

The test statistic and p-values follow :mod:`columnminer.inference.limits`:
:math:`q = -2[\log L(\theta) - \max\log L]` over the tested points and :math:`p = 1 - F_{\chi^2_k}(q)`
(Wilks; Asimov data as in Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InferenceError
from .binned import ChunkColumns, reduce_chunks
from .likelihood import YIELD_FLOOR, positive_luminosity, resolve_theta_true, resolve_thetas
from .limits import LimitResult

__all__ = ["mixture_expected_limits", "mixture_log_density", "truth_expected_limits", "truth_log_density"]

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
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.zeros(200), np.random.default_rng(0).uniform(1, 2, (200, 6)), chunk_size=50)
        >>> result = truth_expected_limits(store, "sm", [[0.0, 0.0], [0.2, 0.0], [0.0, 0.2]], 100.0, partition=None)
        >>> result.mode, result.best_fit.tolist(), float(result.p_values[0])
        ('truth', [0.0, 0.0], 1.0)
    """
    luminosity, c_true, point_true, c, points = _resolve(store, theta_true, thetas, luminosity)
    read = {
        "partition": partition,
        "cuts": tuple(cuts),
        "efficiencies": tuple(efficiencies),
        "client": client,
    }
    parts = reduce_chunks(store, _chunk_sums, c, c_true, **read)
    weighted_log_w = luminosity * np.sum([p[0] for p in parts], axis=0)
    totals = np.sum([p[1] for p in parts], axis=0)
    n_total = _positive_total(luminosity * totals @ c_true)
    expected = np.maximum(luminosity * (c @ totals), YIELD_FLOOR)
    kinematic = weighted_log_w - n_total * np.log(expected / luminosity)
    return _exact_result(
        "truth", store, points, point_true, kinematic, expected, luminosity, n_total, include_rate, dof
    )


def _resolve(
    store: Any, theta_true: Any, thetas: Any, luminosity: Any
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Luminosity (pb^-1), coefficients [B] and point [P] of theta_true, coefficients [T, B] and points [T, P]."""
    c_true, point_true = resolve_theta_true(store.setup, theta_true)
    return (positive_luminosity(luminosity), c_true, point_true, *resolve_thetas(store.setup, thetas))


def _positive_total(n_total: float) -> float:
    """N = L sigma(theta_true), which must be positive."""
    if not n_total > 0:
        raise InferenceError(f"the expected number of events at theta_true is not positive ({n_total})")
    return float(n_total)


def _exact_result(
    mode: str,
    store,
    points,
    point_true,
    kinematic,
    expected,
    luminosity: float,
    n_total: float,
    include_rate,
    dof,
) -> LimitResult:
    r"""The result from the kinematic part and the expected counts :math:`L\sigma(\theta)` [T]: the rate part
    :math:`N\log(L\sigma) - L\sigma` (zero without ``include_rate``)."""
    rate = n_total * np.log(expected) - expected if include_rate else np.zeros(len(points))
    return LimitResult.from_log_likelihood(
        mode, store.setup, points, kinematic, rate, luminosity, n_total, dof, theta_true=point_true
    )


def truth_log_density(weights: Any, coefficients: Any) -> np.ndarray:
    r"""Per-event :math:`\log w_i(\theta_t)` [n, T] of the exact weights [n, B] at morphing ``coefficients``
    [T, B] (floored at :data:`RELATIVE_WEIGHT_FLOOR` of each event's largest benchmark weight): the
    per-event densities of the labelled likelihood, up to per-event constants.

    Example:
        >>> truth_log_density([[1.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]]).round(4).tolist()
        [[0.0, 0.6931]]
    """
    w = np.asarray(weights, dtype=np.float64)
    c = np.asarray(coefficients, dtype=np.float64)
    floor = RELATIVE_WEIGHT_FLOOR * np.max(np.abs(w), axis=1) + np.finfo(np.float64).tiny
    return np.log(np.maximum(w @ c.T, floor[:, None]))


def mixture_log_density(signal_forms: Any, background: Any, couplings: Any) -> np.ndarray:
    r"""Per-event :math:`\log f(x_i|\theta_t) = \log(c_t^T A_i c_t + b_i)` [n, T] for ``signal_forms`` A
    [n, C, C], ``background`` b [n] and ``couplings`` c [T, C]; values below :data:`RELATIVE_WEIGHT_FLOOR`
    of the event's largest entry are floored (an event that neither process can produce).

    Example:
        >>> forms = np.array([np.diag([1.0, 4.0])])
        >>> mixture_log_density(forms, [1.0], [[1.0, 0.0], [1.0, 1.0]]).round(4).tolist()
        [[0.6931, 1.7918]]
    """
    a = np.asarray(signal_forms, dtype=np.float64)
    b = np.asarray(background, dtype=np.float64)
    c = np.atleast_2d(np.asarray(couplings, dtype=np.float64))
    if a.ndim != 3 or a.shape[1:] != (c.shape[1], c.shape[1]) or b.shape != (len(a),):
        raise InferenceError(
            f"signal_forms [n, {c.shape[1]}, {c.shape[1]}] and background [n] needed, got {a.shape}, {b.shape}"
        )
    f = np.einsum("ti,nij,tj->nt", c, a, c) + b[:, None]
    scale = np.max(np.abs(a.reshape(len(a), -1)), axis=1) + np.abs(b)
    floor = RELATIVE_WEIGHT_FLOOR * scale + np.finfo(np.float64).tiny
    return np.log(np.maximum(f, floor[:, None]))


def mixture_expected_limits(
    store: Any,
    signal_forms: Any,
    background: Any,
    couplings: Callable[[np.ndarray], np.ndarray],
    theta_true: Any,
    thetas: Any,
    luminosity: float,
    *,
    rows: Any = None,
    partition: str | None = "test",
    dof: int | None = None,
    mode: str = "truth-unlabelled",
    normalisation: str = "sample",
) -> LimitResult:
    r"""Expected p-values on ``thetas`` for Asimov data at ``theta_true`` from the exact unlabelled mixture
    density of every event of ``partition`` (module docstring): ``signal_forms`` [n, C, C] and ``background``
    [n] in the partition's row order (``rows``, if given, must be those rows), ``couplings(points [T, P]) ->
    [T, C]`` (e.g. :meth:`~columnminer.simulators.golden.GoldenChannel.couplings`). ``normalisation``:
    ``"sample"`` (default) or ``"weights"`` (:math:`\sigma(\theta)` from the weights; module docstring).
    Returns a :class:`~columnminer.inference.limits.LimitResult` with ``mode`` (default
    ``"truth-unlabelled"``).

    Example:
        >>> from columnminer._examples import golden_store
        >>> from columnminer.demo import golden_channel_setup, quadratic_event_weights
        >>> couplings = np.random.default_rng(0).normal(size=(400, 3, 2))
        >>> benchmarks = golden_channel_setup().parameter_space.benchmark_array()
        >>> store = golden_store(np.zeros(400), quadratic_event_weights(couplings, benchmarks).T, chunk_size=100)
        >>> forms = np.einsum("nik,njk->nij", couplings, couplings)  # w(theta) = c^T A c, c = (1, theta)
        >>> cfn = lambda t: np.concatenate([np.ones((len(t), 1)), t], axis=1)
        >>> grid = [[a2, a3] for a2 in (-0.5, 0.0, 0.5) for a3 in (-0.5, 0.0, 0.5)]
        >>> args = (store, forms, np.zeros(400), cfn, [0.0, 0.0], grid, 1.0)
        >>> r = mixture_expected_limits(*args, partition=None, normalisation="weights")
        >>> bool(np.allclose(r.q, truth_expected_limits(store, [0.0, 0.0], grid, 1.0, partition=None).q))
        True
    """
    luminosity, c_true, point_true, c, points = _resolve(store, theta_true, thetas, luminosity)
    parts = reduce_chunks(store, lambda cols: (cols.weights, cols.rows), partition=partition)
    weights = np.concatenate([p[0] for p in parts])
    event_rows = np.concatenate([p[1] for p in parts])
    if rows is not None and not np.array_equal(np.asarray(rows), event_rows):
        raise InferenceError("rows: the densities are not those of the partition's events (order or content)")
    if len(np.asarray(background)) != len(weights):
        raise InferenceError(f"{len(np.asarray(background))} densities for the {len(weights)} events")
    if normalisation not in ("sample", "weights"):
        raise InferenceError(f"normalisation must be 'sample' or 'weights', got {normalisation!r}")
    log_f = mixture_log_density(signal_forms, background, couplings(points))  # [n, T]
    log_f_true = mixture_log_density(signal_forms, background, couplings(point_true[None, :]))  # [n, 1]
    log_f = log_f - log_f_true
    data = luminosity * weights @ c_true
    sigma = np.maximum(c @ weights.sum(axis=0), YIELD_FLOOR / luminosity)
    n_total = _positive_total(float(data.sum()))
    if normalisation == "sample":
        norm = np.log(np.maximum(data @ np.exp(log_f), YIELD_FLOOR) / n_total)
    else:
        norm = np.log(sigma)
    kinematic = data @ log_f - n_total * norm
    return _exact_result(
        mode, store, points, point_true, kinematic, luminosity * sigma, luminosity, n_total, True, dof
    )
