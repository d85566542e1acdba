r"""Likelihood-ratio estimators: singly parameterised (fixed reference theta1) and doubly parameterised.

A network outputs :math:`\log\hat r(x|\theta_0,\theta_1)`; the classifier decision function is
:math:`\hat s = 1/(1+\hat r)` and the estimated score is
:math:`\hat t(x|\theta_0) = \nabla_{\theta_0}\log\hat r(x|\theta_0,\theta_1)` by autograd (exact for the
exact ratio because :math:`\log r = \log p(x|\theta_0) - \log p(x|\theta_1)`). The methods CARL, ROLR,
ALICE, RASCAL, ALICES, CASCAL train on the losses of :mod:`columnminer.ml.losses`. References: Cranmer,
Pavez, Louppe, arXiv:1506.02169 (CARL); Brehmer, Cranmer, Louppe, Pavez, arXiv:1805.00013 and
arXiv:1805.00020 (ROLR, RASCAL, CASCAL); Stoye et al., arXiv:1808.00973 (ALICE, ALICES).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import EstimatorError
from . import losses
from .base import Estimator, value_and_gradient
from .data import TrainingData
from .networks import DoubleRatioNetwork, RatioNetwork
from .trainer import LossFunction

__all__ = [
    "RATIO_DEFAULT_ALPHA",
    "RATIO_DEFAULT_CLIP_GRADIENT",
    "RATIO_METHODS",
    "DoubleParameterizedRatioEstimator",
    "ParameterizedRatioEstimator",
    "RatioEstimatorBase",
    "ratio_loss_function",
]

logger = logging.getLogger(__name__)

#: The ratio methods, and those whose loss includes the score term.
RATIO_METHODS = ("carl", "rolr", "alice", "rascal", "alices", "cascal")

#: Default ``alpha`` (standardised units) of the ratio methods with a score term. RASCAL's ratio term is a
#: squared error of ratios with heavy tails (r_xz up to e^10 after clipping): at alpha = 1 it swamps the
#: score term and the estimate is a noisy ROLR; alpha = 100 lets the score fix the theta dependence and the
#: ratio term the rest. The cross-entropy methods keep alpha = 1. (``benchmarks/ml_accuracy.py
#: --ablation`` measures both choices against alpha = 1 and alpha = 10.)
RATIO_DEFAULT_ALPHA = {"rascal": 100.0, "alices": 1.0, "cascal": 1.0}
#: Default gradient-norm clipping of the ratio methods for ``clip_gradient="auto"``: the ratio-MSE losses of
#: ROLR and RASCAL have heavy-tailed gradients, which clipping at norm 1 tames; the cross-entropy methods
#: train unclipped.
RATIO_DEFAULT_CLIP_GRADIENT = {"rolr": 1.0, "rascal": 1.0}


def ratio_loss_function(
    method: str,
    alpha: losses.Alpha,
    log_ratio: Callable[[nn.Module, Mapping[str, torch.Tensor], torch.Tensor], torch.Tensor],
) -> LossFunction:
    r"""The training loss of a ratio ``method`` for a network whose log ratio is
    ``log_ratio(model, batch, theta0)``; for the methods with a score term the score
    :math:`\hat t = \nabla_{\theta_0}\log\hat r` comes by autograd (see :func:`~columnminer.ml.losses.ratio_loss`).

    Example:
        >>> loss_fn = ratio_loss_function("cascal", 1.0, lambda model, batch, theta: model(theta)[:, 0])
        >>> batch = {"theta": torch.ones(2, 1), "y": torch.zeros(2), "t_xz": torch.full((2, 1), 2.0)}
        >>> sorted(loss_fn(torch.nn.Linear(1, 1), batch)[1])
        ['cross_entropy', 'score']
    """
    with_score = method in losses.SCORE_TERM_METHODS

    def loss_fn(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> losses.LossResult:
        if not with_score:
            return losses.ratio_loss(method, log_ratio(model, batch, batch["theta"]), None, batch, alpha)
        log_r, t_hat = value_and_gradient(
            lambda theta: log_ratio(model, batch, theta), batch["theta"], create_graph=model.training
        )
        return losses.ratio_loss(method, log_r, t_hat, batch, alpha)

    return loss_fn


class RatioEstimatorBase(Estimator):
    r"""The evaluation shared by the likelihood-ratio estimators (not used directly): a network
    ``model(x, *thetas)`` for :math:`\log\hat r(x|\theta_0,\theta_1)` and its scores by autograd.

    Subclasses implement ``_ratio_thetas(theta0, theta1)`` (the parameter arrays the network takes) and
    ``_log_r_and_scores(x, *thetas)`` (log r_hat and the score(s), tensors); ``_score_thetas(theta,
    theta1)`` gives the arrays for the score at theta (default: ``_ratio_thetas(theta, theta1)``).

    Example:
        >>> issubclass(ParameterizedRatioEstimator, RatioEstimatorBase)
        True
    """

    methods: ClassVar[tuple[str, ...]] = RATIO_METHODS

    def _required_columns(self, method: str) -> tuple[str, ...]:
        return ("x", "theta", *losses.RATIO_LOSS_INPUTS[method])

    def _ratio_thetas(self, theta0: Any, theta1: Any) -> list[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_r_and_scores(self, x: torch.Tensor, *thetas: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _score_thetas(self, theta: Any, theta1: Any) -> list[np.ndarray]:
        """The parameter arrays for the score at theta: theta0 = theta, theta1 (default: theta; the exact
        score does not depend on it)."""
        theta = self._theta(theta)
        return self._ratio_thetas(theta, theta if theta1 is None else theta1)

    def evaluate_log_likelihood_ratio(
        self,
        x: Any,
        theta0: Any,
        theta1: Any = None,
        test_all_combinations: bool = True,
        evaluate_score: bool = False,
    ) -> Any:
        """log r_hat(x|theta0, theta1): shape ``[n_theta, n_x]`` with ``test_all_combinations``, else ``[n]``
        (rows paired; theta0 and theta1 pair up point by point, length 1 broadcasts). Which theta1 the
        estimator takes: see the class. With ``evaluate_score`` returns a tuple, log r_hat and the scores
        (at theta0, and for the doubly parameterised estimator at theta1), each ``[..., P]``."""
        x = self._x(x)
        thetas = self._ratio_thetas(theta0, theta1)
        if evaluate_score:
            return tuple(self._evaluate(self._log_r_and_scores, x, thetas, test_all_combinations, grad=True))
        (log_r,) = self._evaluate(lambda xb, *tb: (self.model(xb, *tb),), x, thetas, test_all_combinations)
        return log_r

    def evaluate_score(
        self, x: Any, theta: Any = None, test_all_combinations: bool = True, theta1: Any = None
    ) -> np.ndarray:
        r"""t_hat(x|theta) = grad_theta0 log r_hat(x|theta0, theta1) at theta0 = theta (for an estimator that
        takes theta1, it defaults to theta; the exact score does not depend on it): ``[n_theta, n_x, P]`` or
        ``[n, P]``."""
        if theta is None:
            raise EstimatorError("evaluate_score needs the parameter point(s) theta")
        x = self._x(x)
        thetas = self._score_thetas(theta, theta1)
        return self._evaluate(self._log_r_and_scores, x, thetas, test_all_combinations, grad=True)[1]


class ParameterizedRatioEstimator(RatioEstimatorBase):
    r"""Estimates :math:`\log r(x|\theta_0, \theta_1)` as a function of x and theta0 against the reference
    hypothesis theta1 that the training sample was drawn with (fixed, not an input).

    Training columns: ``x`` [n, n_obs], ``theta`` (theta0) [n, P], ``y`` [n], ``r_xz`` [n], ``t_xz`` (joint
    score at theta0) [n, P], as the method needs (see :data:`RATIO_METHODS`).

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy, rng = GaussianToy(), np.random.default_rng(0)
        >>> theta0 = rng.uniform(-2, 2, 400)
        >>> y = np.repeat([0.0, 1.0], 200)
        >>> x, z = toy.simulate(np.where(y == 0, theta0, 0.0), seed=1)
        >>> estimator = ParameterizedRatioEstimator(n_hidden=(16,))
        >>> _ = estimator.train("carl", x=x[:, None], y=y, theta=theta0[:, None], n_epochs=2)
        >>> estimator.evaluate_log_likelihood_ratio(x[:5, None], np.array([[0.0], [1.0]])).shape
        (2, 5)
    """

    default_alpha: ClassVar[Mapping[str, float]] = RATIO_DEFAULT_ALPHA
    default_clip_gradient: ClassVar[Mapping[str, float]] = RATIO_DEFAULT_CLIP_GRADIENT
    optional_columns: ClassVar[tuple[str, ...]] = ("y", "r_xz", "t_xz")
    network_class = RatioNetwork

    def _validate(self, data: TrainingData, what: str) -> None:
        """A ``theta1`` column (from a store sample) must hold one reference point."""
        if "theta1" in data:
            stats = data.statistics("theta1")
            if np.any(stats.minimum != stats.maximum):
                raise EstimatorError(
                    f"the {what} data have several theta1 points; ParameterizedRatioEstimator needs one fixed "
                    "reference hypothesis (use DoubleParameterizedRatioEstimator)"
                )

    def _loss_fn(self, method: str, alpha: losses.Alpha, columns: Sequence[str]) -> LossFunction:
        return ratio_loss_function(method, alpha, lambda model, batch, theta: model(batch["x"], theta))

    def _log_r_and_scores(self, x: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return value_and_gradient(lambda t: self.model(x, t), theta)

    def _ratio_thetas(self, theta0: Any, theta1: Any) -> list[np.ndarray]:
        """theta0 only: the reference theta1 is fixed by the training data (``theta1`` must be None)."""
        if theta1 is not None:
            raise EstimatorError(
                "ParameterizedRatioEstimator estimates ratios against the fixed reference of its training "
                "sample; pass theta1=None (or use DoubleParameterizedRatioEstimator)"
            )
        return [self._theta(theta0, "theta0")]

    def _score_thetas(self, theta: Any, theta1: Any) -> list[np.ndarray]:
        return self._ratio_thetas(self._theta(theta), theta1)


class DoubleParameterizedRatioEstimator(RatioEstimatorBase):
    r"""Estimates :math:`\log r(x|\theta_0,\theta_1)` with both hypotheses as inputs, antisymmetric by
    construction: :math:`\log\hat r = f(x,\theta_0,\theta_1) - f(x,\theta_1,\theta_0)`.

    Training columns as for :class:`ParameterizedRatioEstimator` plus ``theta1`` [n, P]; with ``t_xz1`` (the
    joint score at theta1) the score losses add :math:`\alpha\langle y\,|-\nabla_{\theta_1}\log\hat r -
    t_{xz}(\theta_1)|^2\rangle` on the y = 1 events (component ``score1``).

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy, rng = GaussianToy(), np.random.default_rng(0)
        >>> theta0, theta1 = rng.uniform(-2, 2, (2, 400, 1))
        >>> y = np.repeat([0.0, 1.0], 200)
        >>> x, z = toy.simulate(np.where(y == 0, theta0[:, 0], theta1[:, 0]), seed=1)
        >>> estimator = DoubleParameterizedRatioEstimator(n_hidden=(16,))
        >>> _ = estimator.train("carl", x=x[:, None], y=y, theta=theta0, theta1=theta1, n_epochs=2)
        >>> estimator.evaluate_log_likelihood_ratio(x[:3, None], [[1.0]], [[1.0]]).tolist()
        [[0.0, 0.0, 0.0]]
    """

    default_alpha: ClassVar[Mapping[str, float]] = RATIO_DEFAULT_ALPHA
    default_clip_gradient: ClassVar[Mapping[str, float]] = RATIO_DEFAULT_CLIP_GRADIENT
    optional_columns: ClassVar[tuple[str, ...]] = ("y", "r_xz", "t_xz", "t_xz1")
    network_class = DoubleRatioNetwork

    def _required_columns(self, method: str) -> tuple[str, ...]:
        return ("x", "theta", "theta1", *losses.RATIO_LOSS_INPUTS[method])

    def _loss_fn(self, method: str, alpha: losses.Alpha, columns: Sequence[str]) -> LossFunction:
        with_score = method in losses.SCORE_TERM_METHODS
        with_score1 = with_score and "t_xz1" in columns

        def loss_fn(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> losses.LossResult:
            theta0, theta1 = batch["theta"], batch["theta1"]
            if with_score:
                theta0 = theta0.clone().requires_grad_(True)
                theta1 = theta1.clone().requires_grad_(with_score1)
            log_r = model(batch["x"], theta0, theta1)
            t0_hat = None
            if with_score:
                inputs = (theta0, theta1) if with_score1 else (theta0,)
                grads = torch.autograd.grad(log_r.sum(), inputs, create_graph=model.training)
                t0_hat = grads[0]
            total, components = losses.ratio_loss(method, log_r, t0_hat, batch, alpha)
            if with_score1:
                components = dict(components)
                components["score1"] = losses.score_mse(-grads[1], batch["t_xz1"], batch["y"], alpha)
                total = sum(components.values())
            return total, components

        return loss_fn

    def _log_r_and_scores(
        self, x: torch.Tensor, theta0: torch.Tensor, theta1: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        theta0 = theta0.clone().requires_grad_(True)
        theta1 = theta1.clone().requires_grad_(True)
        log_r = self.model(x, theta0, theta1)
        t0, t1 = torch.autograd.grad(log_r.sum(), (theta0, theta1))
        return log_r, t0, -t1

    def _ratio_thetas(self, theta0: Any, theta1: Any) -> list[np.ndarray]:
        """theta0 and theta1, both required (the scores: at theta0 and at theta1, ``-grad_theta1 log r``)."""
        if theta1 is None:
            raise EstimatorError("DoubleParameterizedRatioEstimator needs theta1")
        return [self._theta(theta0, "theta0"), self._theta(theta1, "theta1")]
