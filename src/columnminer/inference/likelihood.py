r"""Negative log-likelihoods over parameter points (histograms, neural estimators) and their fixing,
projection and profiling.

Every likelihood here is a :class:`NegativeLogLikelihood`: a callable that takes parameter points
``thetas`` [T, N] (or one point [N]) and returns :math:`-\log L` [T], vectorised over the points. All
constants that do not depend on the parameters (:math:`\log n_k!`, :math:`\log N!`, Gaussian
normalisations) are dropped, so only differences are meaningful: the test statistic

.. math::

    q(\theta) = -2\,[\log L(\theta) - \log L(\hat\theta)] = 2\,[\mathrm{NLL}(\theta) - \mathrm{NLL}(\hat\theta)]

is asymptotically :math:`\chi^2`-distributed with as many degrees of freedom as tested parameters (Wilks;
Cowan, Cranmer, Gross, Vitells, "Asymptotic formulae for likelihood-based tests of new physics",
arXiv:1007.1727). Histogram likelihoods morph every bin exactly (:mod:`columnminer.inference.binned`);
neural likelihoods sum an estimated :math:`\log \hat r(x|\theta, \theta_\text{ref})` or
:math:`\log\hat p(x|\theta)` over (weighted) events and add the Poisson term of the total rate
(Brehmer, Cranmer, Louppe, Pavez, arXiv:1805.00020; Brehmer, Kling, Espejo, Cranmer, "MadMiner",
arXiv:1907.10621).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from ..errors import EstimatorError, InferenceError, MorphingError, ParameterSpaceError
from ..setup import AnalysisSetup
from ..thetas import theta_items, theta_points
from ..weights import theta_coefficients
from .binned import BinnedWeights, reduce_chunks

__all__ = [
    "LikelihoodScan",
    "NegativeLogLikelihood",
    "asymptotic_p_values",
    "benchmark_totals",
    "event_log_likelihood",
    "fix_params",
    "histogram_log_likelihood",
    "histogram_nll",
    "log_density_function",
    "neural_nll",
    "observed_weights",
    "parameter_grid",
    "positive_luminosity",
    "profile_log_likelihood",
    "project_log_likelihood",
    "resolve_theta_true",
    "resolve_thetas",
]

logger = logging.getLogger(__name__)

#: Smallest expected yield used inside logarithms (events): a bin predicted empty (or negative, from
#: morphing noise) that holds data costs about ``n_k * 23`` units of -log L instead of infinity.
YIELD_FLOOR = 1e-10
#: Largest number of (theta, event) pairs evaluated by an estimator in one call.
MAX_PAIRS = 2_000_000


# -- small helpers --------------------------------------------------------------------------------------------
def _points(thetas: Any, n_parameters: int | None, what: str = "thetas") -> np.ndarray:
    """Parameter points as a float [T, N] array (one point [N] becomes [1, N])."""
    try:
        array = np.asarray(thetas, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InferenceError(f"{what} must be numeric parameter points: {err}") from None
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array[None, :] if n_parameters is None or array.shape[0] == n_parameters else array[:, None]
    if array.ndim != 2 or (n_parameters is not None and array.shape[1] != n_parameters):
        raise InferenceError(
            f"{what} must have shape [n_thetas, {n_parameters if n_parameters is not None else 'N'}], "
            f"got {np.shape(thetas)}"
        )
    return array


def asymptotic_p_values(q: Any, dof: int) -> np.ndarray:
    r"""p-values of the test statistic :math:`q = -2\Delta\log L` in the asymptotic (Wilks) limit:
    :math:`p = 1 - F_{\chi^2_k}(q)` with k = ``dof`` (arXiv:1007.1727).

    Example:
        >>> asymptotic_p_values([0.0, 1.0, 3.84], 1).round(3).tolist()
        [1.0, 0.317, 0.05]
    """
    if int(dof) < 1:
        raise InferenceError(f"dof must be a positive integer, got {dof}")
    return stats.chi2.sf(np.maximum(np.asarray(q, dtype=np.float64), 0.0), int(dof))


def positive_luminosity(luminosity: Any) -> float:
    """The integrated luminosity (pb^-1) as a float, or an :class:`~columnminer.errors.InferenceError` unless
    it is positive.

    Example:
        >>> positive_luminosity(300_000)
        300000.0
    """
    if not float(luminosity) > 0:
        raise InferenceError(f"luminosity must be positive (pb^-1), got {luminosity}")
    return float(luminosity)


def observed_weights(n_events: int, weights: Any = None, n_observed: float | None = None) -> np.ndarray:
    r"""Per-event weights [n] of observed events: ``weights`` (default 1 each), rescaled to
    :math:`w_i\,N_	ext{obs} / \sum_j w_j` when ``n_observed`` is given.

    Example:
        >>> observed_weights(4, n_observed=10.0).tolist()
        [2.5, 2.5, 2.5, 2.5]
    """
    w = np.ones(n_events) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n_events,):
        raise InferenceError(f"weights must have shape ({n_events},), got {w.shape}")
    return w if n_observed is None else w * float(n_observed) / w.sum()


def parameter_grid(
    ranges: Sequence[tuple[float, float]], resolutions: int | Sequence[int] = 25
) -> np.ndarray:
    """A regular grid of parameter points [prod(resolutions), N], the last parameter varying fastest.

    Example:
        >>> parameter_grid([(-1.0, 1.0), (0.0, 1.0)], [3, 2]).tolist()
        [[-1.0, 0.0], [-1.0, 1.0], [0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    ranges = [tuple(float(v) for v in r) for r in ranges]
    if not ranges or any(len(r) != 2 for r in ranges):
        raise InferenceError(f"grid_ranges must be a list of (min, max) pairs, got {ranges}")
    resolutions = [int(resolutions)] * len(ranges) if np.ndim(resolutions) == 0 else list(resolutions)
    if len(resolutions) != len(ranges) or min(resolutions) < 1:
        raise InferenceError(f"grid_resolutions {resolutions} must be positive, one per range")
    axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip(ranges, resolutions, strict=True)]
    return np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)


def resolve_thetas(setup: AnalysisSetup, thetas: Any) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients over the benchmark columns [T, B] and parameter points [T, P] of ``thetas``.

    ``thetas`` (:mod:`columnminer.thetas`): a benchmark name or
    :func:`~columnminer.thetas.benchmark_index`, parameter points ([P] or [T, P]; numbers are always
    points), or a list mixing them. With morphing any
    point works; without it every point must coincide with a benchmark (then that benchmark's weight column
    is used).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> c, points = resolve_thetas(golden_channel_setup(), ["sm"])
        >>> c.shape, points.tolist()
        ((1, 6), [[0.0, 0.0]])
        >>> resolve_thetas(golden_channel_setup(), ["sm", [0.5, 0.0]])[1].tolist()
        [[0.0, 0.0], [0.5, 0.0]]
    """
    space = setup.parameter_space
    benchmark_points = space.benchmark_array()
    names = space.benchmark_names
    try:
        items = theta_items(setup, thetas)
    except ParameterSpaceError as err:
        raise InferenceError(str(err)) from err
    if setup.morpher is None:  # every point must be a benchmark: use its weight column
        for k, item in enumerate(items):
            if isinstance(item, np.ndarray):
                close = np.isclose(benchmark_points, item, rtol=1e-9, atol=1e-9)
                match = np.flatnonzero(np.all(close, axis=1))
                if not len(match):
                    raise InferenceError(
                        f"thetas: the setup has no morphing, so every parameter point must be a benchmark; "
                        f"{item.tolist()} is none of {names}"
                    )
                items[k] = names[int(match[0])]
    try:
        return theta_coefficients(setup, items), theta_points(setup, items)
    except (ParameterSpaceError, MorphingError) as err:
        raise InferenceError(f"thetas: {err}") from err


def resolve_theta_true(setup: AnalysisSetup, theta_true: Any) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients [B] and parameter point [P] of one point ``theta_true`` (see :func:`resolve_thetas`); more
    than one point is an :class:`~columnminer.errors.InferenceError`.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> c, point = resolve_theta_true(golden_channel_setup(), "sm")
        >>> c.shape, point.tolist()
        ((6,), [0.0, 0.0])
    """
    coefficients, points = resolve_thetas(setup, theta_true)
    if len(points) != 1:
        raise InferenceError(f"theta_true must be one parameter point, got {len(points)}")
    return coefficients[0], points[0]


def benchmark_totals(
    store: Any,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    client: Any = None,
) -> np.ndarray:
    r"""Per-benchmark cross sections :math:`\sum_z w_b(z)` (pb) [B] after cuts and efficiencies, from one
    partition scaled to the full sample (so :math:`\sigma(\theta) = c(\theta)\cdot` totals).

    Example:
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.ones(10))
        >>> benchmark_totals(store).tolist()
        [10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    """
    parts = reduce_chunks(
        store,
        lambda c: c.weights.sum(axis=0),
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
    )
    return np.sum(parts, axis=0)


# -- the callable ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NegativeLogLikelihood:
    r""":math:`-\log L(\theta)` as a vectorised callable: ``nll(thetas)`` with thetas [T, N] (or one point
    [N]) returns [T]. ``parameter_names`` name the N input components (parameters, then nuisances).

    Example:
        >>> nll = NegativeLogLikelihood(lambda t: 0.5 * (t**2).sum(axis=1), ("a", "b"))
        >>> nll([[1.0, 1.0], [0.0, 2.0]]).tolist(), nll([3.0, 0.0]).tolist()
        ([1.0, 2.0], [4.5])
    """

    fn: Callable[[np.ndarray], np.ndarray]
    parameter_names: tuple[str, ...]

    @property
    def n_parameters(self) -> int:
        """The number N of input components."""
        return len(self.parameter_names)

    def __call__(self, thetas: Any) -> np.ndarray:
        points = _points(thetas, self.n_parameters)
        return np.asarray(self.fn(points), dtype=np.float64).reshape(len(points))


def _as_nll(nll: Any, n_parameters: int | None) -> NegativeLogLikelihood:
    if isinstance(nll, NegativeLogLikelihood):
        return nll
    if not callable(nll):
        raise InferenceError(f"nll must be callable, got {type(nll).__name__}")
    if n_parameters is None:
        raise InferenceError("n_parameters is needed for a plain callable nll (or pass theta_start)")
    return NegativeLogLikelihood(nll, tuple(f"theta_{i}" for i in range(int(n_parameters))))


# -- histograms -----------------------------------------------------------------------------------------------
def histogram_log_likelihood(expected: Any, observed: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""The kinematic (shape) and rate parts of a Poisson histogram log-likelihood, each [T].

    With :math:`\nu_{tk}` the expected events in bin k at point t ([T, K], or ``[T, *bins]``) and :math:`n_k`
    the observed counts (any non-negative reals, e.g. Asimov yields),

    .. math::

        \sum_k [n_k\log\nu_{tk} - \nu_{tk}] =
        \underbrace{\sum_k n_k \log\frac{\nu_{tk}}{\nu_t}}_\text{kinematic (multinomial)} +
        \underbrace{N\log\nu_t - \nu_t}_\text{rate (Poisson)},
        \quad \nu_t = \sum_k\nu_{tk},\ N = \sum_k n_k,

    dropping :math:`-\sum_k\log n_k!`. Yields below :data:`YIELD_FLOOR` are floored inside the logarithms.

    Example:
        >>> kin, rate = histogram_log_likelihood([[1.0, 3.0]], [2.0, 2.0])
        >>> round(float(kin[0] + rate[0]), 6), round(float(2 * np.log(3.0) - 4.0), 6)
        (-1.802775, -1.802775)
    """
    observed = np.asarray(observed, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64)
    expected = expected.reshape(len(expected), -1) if expected.ndim > 1 else expected[None, :]
    if expected.shape[1] != observed.shape[0]:
        raise InferenceError(
            f"observed has {observed.shape[0]} bins but the expected yields have {expected.shape[1]}"
        )
    if np.any(observed < 0) or not np.all(np.isfinite(observed)):
        raise InferenceError("observed counts must be finite and non-negative")
    total = np.maximum(expected.sum(axis=1), YIELD_FLOOR)
    log_nu = np.log(np.maximum(expected, YIELD_FLOOR))
    n_total = observed.sum()
    kinematic = np.where(observed > 0, observed * (log_nu - np.log(total)[:, None]), 0.0).sum(axis=1)
    rate = n_total * np.log(total) - total if n_total > 0 else -total
    return kinematic, rate


def _relative_variations(modifiers: Any, n_bins: int, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Relative yield variations [J, n_bins] from [J, *bins] or [J] (the same in every bin), each > -1."""
    deltas = np.asarray(modifiers, dtype=np.float64)
    if deltas.ndim == 1:
        deltas = np.repeat(deltas[:, None], n_bins, axis=1)
    else:
        deltas = deltas.reshape(len(deltas), -1)
    if deltas.shape[1] != n_bins or np.any(deltas <= -1.0):
        raise InferenceError(
            f"{what} must have shape [n_nuisance, {shape}] with values > -1, got {np.shape(modifiers)}"
        )
    return deltas


def _modifier_coefficients(
    modifiers: Any, down_modifiers: Any, n_bins: int, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The per-bin coefficients (alpha, beta) [J, n_bins] of ``histogram_nll``'s nuisances (None: none)."""
    if modifiers is None:
        if down_modifiers is not None:
            raise InferenceError("down_modifiers needs modifiers (the up-variations)")
        return None
    log_up = np.log1p(_relative_variations(modifiers, n_bins, shape, "modifiers"))
    if down_modifiers is None:  # log-linear: the down-variation mirrors the up-variation
        return log_up, np.zeros_like(log_up)
    log_down = np.log1p(_relative_variations(down_modifiers, n_bins, shape, "down_modifiers"))
    if log_down.shape != log_up.shape:
        raise InferenceError(
            f"down_modifiers {np.shape(down_modifiers)} and modifiers {np.shape(modifiers)} differ in shape"
        )
    return 0.5 * (log_up - log_down), 0.5 * (log_up + log_down)


def histogram_nll(
    binned: BinnedWeights,
    observed: Any,
    luminosity: float,
    include_rate: bool = True,
    modifiers: Any = None,
    modifier_names: Sequence[str] | None = None,
    down_modifiers: Any = None,
) -> NegativeLogLikelihood:
    r"""Binned Poisson likelihood of observed counts, with exactly morphed yields
    :math:`\nu_k(\theta) = L\,\sigma_k(\theta)` (:class:`~columnminer.inference.binned.BinnedWeights`):

    .. math::

        -\log L(\theta) = \sum_k [\nu_k(\theta) - n_k\log\nu_k(\theta)]
        \quad\text{or, with ``include_rate=False``,}\quad
        -\sum_k n_k\log\frac{\nu_k(\theta)}{\sum_j\nu_j(\theta)}

    (the multinomial shape-only likelihood; constants :math:`\log n_k!` dropped). ``observed``: counts
    ``[*bins]`` (for Asimov data use ``binned.yields(theta_true, luminosity)[0]``).

    Nuisance parameters: ``modifiers`` ``[J, *bins]`` (or [J], the same in every bin) are relative
    up-variations :math:`\delta^+_{jk}` of the yields at :math:`\eta_j = +1`, ``down_modifiers`` (same
    shape, optional) the relative down-variations :math:`\delta^-_{jk}` at :math:`\eta_j = -1`
    (:func:`~columnminer.inference.systematic_bins.binned_variations` gives both). Nuisance j scales bin k by

    .. math::

        e^{\alpha_{jk}\eta_j + \beta_{jk}\eta_j^2},\quad
        \alpha_{jk} = \tfrac12\log\frac{1+\delta^+_{jk}}{1+\delta^-_{jk}},\
        \beta_{jk} = \tfrac12\log[(1+\delta^+_{jk})(1+\delta^-_{jk})],

    the exponential-quadratic interpolation of
    :func:`~columnminer.inference.systematic_bins.profile_binned_likelihood`, which keeps both sides of an
    asymmetric variation (a scale variation) and the yields positive. Without ``down_modifiers`` the
    down-variation mirrors the up-variation, :math:`1+\delta^- = 1/(1+\delta^+)`: log-linear,
    :math:`(1+\delta^+_{jk})^{\eta_j}` (exact for a normalisation uncertainty). A unit Gaussian
    constraint adds :math:`\tfrac12\sum_j\eta_j^2`. The callable then takes points
    :math:`(\theta, \eta)` [T, P + J]; profile over :math:`\eta` with :func:`profile_log_likelihood`.
    Without morphing, the :math:`\theta` part of every point must be a benchmark. References: Cranmer et
    al., HistFactory, CERN-OPEN-2012-016.

    Example:
        >>> from columnminer._examples import golden_store
        >>> from columnminer.inference.binned import binned_weights
        >>> store = golden_store(np.arange(10.0))
        >>> binned = binned_weights(store, "m4l", [0.0, 5.0, 10.0])
        >>> nll = histogram_nll(binned, [5.0, 5.0], luminosity=1.0)
        >>> round(float(nll([0.0, 0.0])[0]), 4)  # 2 * (5 - 5 log 5)
        -6.0944
        >>> scale = histogram_nll(binned, [5.0, 5.0], 1.0, modifiers=[0.2], down_modifiers=[-0.1])
        >>> (scale([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]) - 0.5).round(4).tolist()  # eta = +-1: yields 6 and 4.5
        [-5.9176, -6.0408]
        >>> [round(float(2 * (mu - 5 * np.log(mu))), 4) for mu in (6.0, 4.5)]  # 2 bins (mu - n log mu), by hand
        [-5.9176, -6.0408]
    """
    setup = binned.setup
    n_par = setup.parameter_space.n_parameters
    n_bins = int(np.prod(binned.shape))
    observed = np.asarray(observed, dtype=np.float64)
    if observed.size != n_bins:
        raise InferenceError(f"observed must have {binned.shape} bins, got shape {observed.shape}")
    sums = binned.sums.reshape(n_bins, -1)
    coefficients = _modifier_coefficients(modifiers, down_modifiers, n_bins, binned.shape)
    n_nuisance = 0 if coefficients is None else len(coefficients[0])
    names = list(setup.parameter_space.parameter_names)
    if n_nuisance:
        extra = list(modifier_names) if modifier_names is not None else [f"nu_{j}" for j in range(n_nuisance)]
        if len(extra) != n_nuisance:
            raise InferenceError(f"modifier_names needs {n_nuisance} names, got {len(extra)}")
        names += extra
    scale = float(luminosity)

    def fn(points: np.ndarray) -> np.ndarray:
        c, _ = resolve_thetas(setup, points[:, :n_par])
        expected = scale * c @ sums.T
        constraint = 0.0
        if n_nuisance:
            eta = points[:, n_par:]
            expected = expected * np.exp(eta @ coefficients[0] + eta**2 @ coefficients[1])
            constraint = 0.5 * (eta**2).sum(axis=1)
        kinematic, rate = histogram_log_likelihood(expected, observed)
        return -(kinematic + rate if include_rate else kinematic) + constraint

    return NegativeLogLikelihood(fn, tuple(names))


# -- neural likelihoods ---------------------------------------------------------------------------------------
def log_density_function(
    estimator: Any, theta_ref: np.ndarray | None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    r"""``f(x [n, d], thetas [T, P]) -> [T, n]``: :math:`\log\hat p(x|\theta)` of a likelihood estimator,
    :math:`\log\hat r(x|\theta, \theta_\text{ref})` of a ratio estimator (the mean of an ensemble's members;
    a doubly parameterised one needs ``theta_ref``), or a plain callable's values.

    Example:
        >>> log_p = log_density_function(lambda x, t: -0.5 * (x[None, :, 0] - t[:, :1]) ** 2, None)
        >>> log_p(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]])).tolist()
        [[-0.0, -0.5], [-0.5, -0.0]]
    """
    kind = getattr(estimator, "estimator_class", None) or type(estimator)
    names = {k.__name__ for k in getattr(kind, "__mro__", ())}

    def mean(value: Any) -> np.ndarray:  # an ensemble's prediction -> the member mean
        return np.asarray(value.mean if hasattr(value, "members") else value, dtype=np.float64)

    if "LikelihoodEstimator" in names:
        return lambda x, t: mean(estimator.evaluate_log_likelihood(x, t))
    if "DoubleParameterizedRatioEstimator" in names:
        if theta_ref is None:
            raise InferenceError(
                "theta_ref: a doubly parameterised ratio estimator needs the reference point"
            )
        return lambda x, t: mean(estimator.evaluate_log_likelihood_ratio(x, t, theta_ref[None, :]))
    if hasattr(estimator, "evaluate_log_likelihood_ratio"):
        return lambda x, t: mean(estimator.evaluate_log_likelihood_ratio(x, t))
    if callable(estimator):
        return lambda x, t: np.asarray(estimator(x, t), dtype=np.float64)
    raise InferenceError(
        f"estimator: a {type(estimator).__name__} gives neither log p(x|theta) nor log r(x|theta, theta_ref)"
    )


def event_log_likelihood(
    estimator: Any,
    x: Any,
    thetas: Any,
    weights: Any = None,
    theta_ref: Any = None,
) -> np.ndarray:
    r"""Kinematic log-likelihood of events, :math:`\sum_i w_i \log\hat p(x_i|\theta_t)` [T], up to a
    theta-independent constant.

    ``estimator``: a :class:`~columnminer.ml.likelihood.LikelihoodEstimator` (log p), a ratio estimator
    (:math:`\log\hat r(x|\theta,\theta_\text{ref}) = \log\hat p(x|\theta) - \log p(x|\theta_\text{ref})`; the
    reference term is the constant), an :class:`~columnminer.ml.ensemble.Ensemble` of those (the member mean),
    or a plain callable ``f(x [n, n_obs], thetas [T, P]) -> [T, n]`` of log densities. The estimator sees all
    (theta, event) combinations, a few thetas per call (at most :data:`MAX_PAIRS` pairs). ``weights``
    default to one per event.

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy = GaussianToy()
        >>> exact = lambda x, t: toy.log_p_x(x[None, :, 0], t[:, :1])
        >>> ll = event_log_likelihood(exact, np.zeros((4, 1)), [[0.0], [1.0]])
        >>> round(float(ll[0] - ll[1]), 6)  # 4 events * 1 / (2 * 5)
        0.4
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or len(x) == 0:
        raise InferenceError(f"x must be a non-empty [n_events, n_observables] array, got shape {x.shape}")
    points = _points(thetas, None)
    w = observed_weights(len(x), weights)
    reference = None if theta_ref is None else _points(theta_ref, points.shape[1], "theta_ref")[0]
    log_p = log_density_function(estimator, reference)
    step = max(1, MAX_PAIRS // len(x))
    out = np.empty(len(points))
    for start in range(0, len(points), step):
        chunk = points[start : start + step]
        try:
            values = np.asarray(log_p(x, chunk), dtype=np.float64).reshape(len(chunk), len(x))
        except EstimatorError as err:
            raise InferenceError(f"estimator: cannot evaluate it on these events / thetas: {err}") from err
        out[start : start + step] = values @ w
    if not np.all(np.isfinite(out)):
        logger.warning("event_log_likelihood: non-finite values (check the estimator's range)")
    return out


def neural_nll(
    estimator: Any,
    x: Any,
    luminosity: float,
    store: Any = None,
    weights: Any = None,
    n_observed: float | None = None,
    include_rate: bool = True,
    theta_ref: Any = None,
    partition: str | None = None,
) -> NegativeLogLikelihood:
    r"""Unbinned likelihood of events x from a neural estimator plus the Poisson term of the total rate:

    .. math::

        -\log L(\theta) = -\sum_i w_i\log\hat p(x_i|\theta) - [N\log(L\sigma(\theta)) - L\sigma(\theta)],
        \qquad N = \sum_i w_i,

    (Brehmer et al., arXiv:1805.00020, eq. for the extended likelihood; a ratio estimator gives
    :math:`\log\hat p` up to a constant, see :func:`event_log_likelihood`). ``weights``: per-event weights
    (Asimov data: weighted events at theta_true summing to :math:`L\sigma(\theta_\text{true})`); else every
    event counts ``n_observed / n`` (default 1). The rate term needs ``store`` (cross sections
    :math:`\sigma(\theta)` from its benchmark-weight totals over ``partition``); ``include_rate=False`` drops it.

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy = GaussianToy()
        >>> exact = lambda x, t: toy.log_p_x(x[None, :, 0], t[:, :1])
        >>> nll = neural_nll(exact, np.zeros((4, 1)), luminosity=1.0, include_rate=False)
        >>> round(float(nll([1.0])[0] - nll([0.0])[0]), 6)
        0.4
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    w = observed_weights(len(x), weights, n_observed)
    setup = getattr(store, "setup", None)
    totals = None
    if include_rate:
        if store is None:
            raise InferenceError(
                "store: the rate term needs the store's cross sections (or include_rate=False)"
            )
        totals = benchmark_totals(store, partition)
    if setup is not None:
        names = tuple(setup.parameter_space.parameter_names)
    else:
        names = tuple(f"theta_{i}" for i in range(int(getattr(estimator, "n_parameters", None) or 1)))
    n_total = float(w.sum())
    scale = float(luminosity)

    def fn(points: np.ndarray) -> np.ndarray:
        value = event_log_likelihood(estimator, x, points, w, theta_ref)
        if totals is not None:
            coefficients, _ = resolve_thetas(setup, points)
            expected = np.maximum(scale * coefficients @ totals, YIELD_FLOOR)
            value = value + n_total * np.log(expected) - expected
        return -value

    return NegativeLogLikelihood(fn, names)


# -- fixing, projecting, profiling ----------------------------------------------------------------------------
def _components(fixed_components: Any, n: int, m: int) -> list[int]:
    components = list(range(m)) if fixed_components is None else [int(i) for i in fixed_components]
    if (
        len(components) != m
        or len(set(components)) != m
        or (components and not 0 <= min(components) <= max(components) < n)
    ):
        raise InferenceError(f"components {components} must be {m} distinct indices in [0, {n})")
    return components


def fix_params(
    nll: Any, theta_fixed_values: Any, fixed_components: Any = None, n_parameters: int | None = None
) -> NegativeLogLikelihood:
    r"""The likelihood with some components held fixed: :math:`\mathrm{NLL}'(\theta_\text{free}) =
    \mathrm{NLL}(\theta_\text{free} \cup \theta_\text{fixed})`, a function of the N - m other components in
    their original order. ``fixed_components`` default to the first m.

    Example:
        >>> nll = NegativeLogLikelihood(lambda t: (t[:, 0] - 1) ** 2 + t[:, 1] ** 2, ("a", "b"))
        >>> fixed = fix_params(nll, [2.0], [1])
        >>> fixed.parameter_names, fixed([[1.0]]).tolist()
        (('a',), [4.0])
    """
    nll = _as_nll(nll, n_parameters)
    values = np.atleast_1d(np.asarray(theta_fixed_values, dtype=np.float64))
    n = nll.n_parameters
    fixed = _components(fixed_components, n, len(values))
    free = [i for i in range(n) if i not in fixed]

    def fn(points: np.ndarray) -> np.ndarray:
        return nll(_assemble(n, free, points, fixed, values))

    return NegativeLogLikelihood(fn, tuple(nll.parameter_names[i] for i in free))


@dataclass(frozen=True)
class LikelihoodScan:
    r"""A likelihood evaluated on points of the remaining components.

    ``thetas`` [T, M] (remaining components, in the order asked for), ``nll`` [T], ``q`` = 2 (nll - min)
    [T], ``p_values`` [T] (:func:`asymptotic_p_values` with ``dof``), ``best_fit_index``, and
    ``other_values`` [T, N - M]: the values the other components took (fixed for a projection, the
    minimisers for a profile).

    Example:
        >>> scan = LikelihoodScan(np.array([[0.0], [1.0]]), np.array([1.0, 1.5]), np.array([0.0, 1.0]),
        ...                       asymptotic_p_values([0.0, 1.0], 1), 0, 1, (0,), np.zeros((2, 1)))
        >>> scan.best_fit.tolist(), scan.p_values.round(3).tolist()
        ([0.0], [1.0, 0.317])
    """

    thetas: np.ndarray
    nll: np.ndarray
    q: np.ndarray
    p_values: np.ndarray
    best_fit_index: int
    dof: int
    remaining_components: tuple[int, ...]
    other_values: np.ndarray

    @property
    def best_fit(self) -> np.ndarray:
        """The remaining components at the best fit [M]."""
        return self.thetas[self.best_fit_index]


def _assemble(
    n: int, first: list[int], first_values: Any, second: list[int], second_values: Any
) -> np.ndarray:
    """Points [T, n] whose components ``first`` are ``first_values`` [T, len(first)] and ``second`` are
    ``second_values`` (broadcast)."""
    full = np.empty((len(first_values), n))
    full[:, first] = first_values
    full[:, second] = second_values
    return full


def _scan_setup(
    nll: Any,
    remaining_components: Any,
    thetas: Any,
    grid_ranges: Any,
    grid_resolutions: Any,
    n_parameters: Any,
) -> tuple[NegativeLogLikelihood, list[int], list[int], np.ndarray]:
    """The likelihood, the remaining and the other components, and the points [T, M] of a scan (``thetas``,
    or a grid from ``grid_ranges`` / ``grid_resolutions``)."""
    nll = _as_nll(nll, n_parameters)
    n = nll.n_parameters
    remaining = (
        list(range(n))
        if remaining_components is None
        else _components(remaining_components, n, len(remaining_components))
    )
    others = [i for i in range(n) if i not in remaining]
    if thetas is not None:
        points = _points(thetas, len(remaining))
    elif grid_ranges is None:
        raise InferenceError("thetas: give the points to evaluate, or grid_ranges")
    else:
        points = _points(parameter_grid(grid_ranges, grid_resolutions), len(remaining))
    return nll, remaining, others, points


def _scan(
    nll_values: np.ndarray, points: np.ndarray, remaining: list[int], others: np.ndarray, dof: int | None
) -> LikelihoodScan:
    if not np.any(np.isfinite(nll_values)):
        raise InferenceError("the likelihood is not finite at any point")
    best = int(np.nanargmin(nll_values))
    q = 2.0 * (nll_values - nll_values[best])
    dof = len(remaining) if dof is None else int(dof)
    return LikelihoodScan(
        points, nll_values, q, asymptotic_p_values(q, dof), best, dof, tuple(remaining), others
    )


def project_log_likelihood(
    nll: Any,
    remaining_components: Any = None,
    thetas: Any = None,
    grid_ranges: Any = None,
    grid_resolutions: Any = 25,
    fixed_values: Any = None,
    dof: int | None = None,
    n_parameters: int | None = None,
) -> LikelihoodScan:
    r"""Scan the likelihood over the remaining components with the others held at ``fixed_values``
    (default 0): the *conditional* likelihood :math:`L(\theta_r, \theta_o = \theta_o^0)`. For a Gaussian
    likelihood with covariance :math:`\Sigma` the projected width is the conditional one,
    :math:`(\Sigma^{-1})_{rr}^{-1}`. Points: ``thetas`` [T, M], or a grid from ``grid_ranges`` /
    ``grid_resolutions``; ``dof`` defaults to M.

    Example:
        >>> nll = NegativeLogLikelihood(lambda t: 0.5 * (t**2).sum(axis=1), ("a", "b"))
        >>> scan = project_log_likelihood(nll, [0], thetas=[[0.0], [1.0]])
        >>> scan.q.tolist(), scan.best_fit.tolist()
        ([0.0, 1.0], [0.0])
    """
    nll, remaining, others, points = _scan_setup(
        nll, remaining_components, thetas, grid_ranges, grid_resolutions, n_parameters
    )
    values = (
        np.zeros(len(others))
        if fixed_values is None
        else np.atleast_1d(np.asarray(fixed_values, dtype=np.float64))
    )
    if values.shape != (len(others),):
        raise InferenceError(
            f"fixed_values needs {len(others)} values (components {others}), got {values.shape}"
        )
    full = _assemble(nll.n_parameters, remaining, points, others, values)
    return _scan(
        nll(full), points, remaining, np.broadcast_to(values, (len(points), len(others))).copy(), dof
    )


def _minimise(
    nll: NegativeLogLikelihood,
    full: np.ndarray,
    others: list[int],
    start: np.ndarray,
    method: str,
    bounds: Any,
    step: float,
):
    """Minimise over the ``others`` components of one point; value and gradient from one batched call."""
    k = len(others)

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        h = step * np.maximum(1.0, np.abs(v))
        batch = np.repeat(full[None, :], 2 * k + 1, axis=0)
        batch[:, others] = v
        batch[1 : k + 1, others] += np.diag(h)
        batch[k + 1 :, others] -= np.diag(h)
        values = nll(batch)
        return float(values[0]), (values[1 : k + 1] - values[k + 1 :]) / (2 * h)

    if method.upper() in ("L-BFGS-B", "TNC", "BFGS", "SLSQP", "CG"):
        result = optimize.minimize(fun, start, jac=True, method=method, bounds=bounds)
    else:
        result = optimize.minimize(lambda v: fun(v)[0], start, method=method, bounds=bounds)
    return float(result.fun), np.asarray(result.x, dtype=np.float64)


def profile_log_likelihood(
    nll: Any,
    remaining_components: Any = None,
    thetas: Any = None,
    grid_ranges: Any = None,
    grid_resolutions: Any = 25,
    theta_start: Any = None,
    dof: int | None = None,
    n_parameters: int | None = None,
    method: str = "L-BFGS-B",
    bounds: Any = None,
    step: float = 1e-5,
) -> LikelihoodScan:
    r"""Profile likelihood scan: at every point of the remaining components, minimise over the others,
    :math:`\mathrm{NLL}_p(\theta_r) = \min_{\theta_o}\mathrm{NLL}(\theta_r, \theta_o)`, then
    :math:`q = 2[\mathrm{NLL}_p - \min\mathrm{NLL}_p]`. For a Gaussian likelihood the profiled width is the
    marginal one, :math:`\Sigma_{rr}`.

    Each point is minimised with ``scipy.optimize.minimize`` (``method``; ``bounds`` for the profiled
    components) twice: from ``theta_start`` (its profiled components; default 0) and from the minimiser
    found at the best point of the first pass; the lower minimum is kept. Gradients are central
    differences with relative step ``step``, evaluated in one vectorised call (use a larger ``step``, or
    ``method="Nelder-Mead"``, for float32 neural likelihoods). ``dof`` defaults to M.

    Example:
        >>> def quadratic(t):  # covariance [[1, 1], [1, 2]]
        ...     return 0.5 * (2 * t[:, 0] ** 2 - 2 * t[:, 0] * t[:, 1] + t[:, 1] ** 2)
        >>> nll = NegativeLogLikelihood(quadratic, ("a", "b"))
        >>> scan = profile_log_likelihood(nll, [0], thetas=[[0.0], [1.0]])
        >>> [round(v, 6) for v in scan.q.tolist()], [round(v, 4) for v in scan.other_values[:, 0].tolist()]
        ([0.0, 1.0], [0.0, 1.0])
    """
    if n_parameters is None and theta_start is not None and not isinstance(nll, NegativeLogLikelihood):
        n_parameters = len(np.atleast_1d(theta_start))
    nll, remaining, others, points = _scan_setup(
        nll, remaining_components, thetas, grid_ranges, grid_resolutions, n_parameters
    )
    n = nll.n_parameters
    start = np.zeros(n) if theta_start is None else np.asarray(theta_start, dtype=np.float64).ravel()
    if start.shape != (n,):
        raise InferenceError(f"theta_start must have {n} components, got {start.shape}")
    full = _assemble(n, remaining, points, others, start[others])
    if not others:
        return _scan(nll(full), points, remaining, np.empty((len(points), 0)), dof)
    values = np.empty(len(points))
    solutions = np.empty((len(points), len(others)))
    for t in range(len(points)):
        values[t], solutions[t] = _minimise(nll, full[t], others, start[others], method, bounds, step)
    best = int(np.nanargmin(values))
    second = solutions[best].copy()
    for t in range(len(points)):
        if t == best or np.allclose(second, start[others]):
            continue
        value, solution = _minimise(nll, full[t], others, second, method, bounds, step)
        if value < values[t]:
            values[t], solutions[t] = value, solution
    return _scan(values, points, remaining, solutions, dof)
