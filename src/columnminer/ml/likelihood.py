r"""LikelihoodEstimator: NDE and SCANDAL, a conditional masked autoregressive flow for p(x|theta).

The flow (zuko's ``MAF`` on scaled x, conditioned on scaled theta) gives :math:`\log\hat p(x|\theta)`
directly; the score :math:`\hat t(x|\theta) = \nabla_\theta\log\hat p(x|\theta)` and likelihood ratios
:math:`\log\hat p(x|\theta_0) - \log\hat p(x|\theta_1)` follow. NDE maximises the likelihood; SCANDAL adds
:math:`\alpha\langle|\hat t(x|\theta) - t(x,z|\theta)|^2\rangle`. References: Papamakarios, Pavlakou, Murray,
arXiv:1705.07057 (MAF); Brehmer, Louppe, Pavez, Cranmer, arXiv:1805.12244 (SCANDAL).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import EstimatorError
from . import losses
from .base import Estimator, value_and_gradient
from .networks import FlowNetwork
from .trainer import LossFunction

__all__ = ["LikelihoodEstimator"]

logger = logging.getLogger(__name__)


class LikelihoodEstimator(Estimator):
    r"""Estimates the density :math:`p(x|\theta)` with a conditional MAF of ``n_transforms`` autoregressive
    affine transforms, each conditioner an MLP with hidden layers ``n_hidden``.

    Training columns: ``x`` [n, n_obs], ``theta`` [n, P] (the point each x was drawn at), and for SCANDAL
    ``t_xz`` [n, P] (the joint score at that point; from a store: a ``train_density`` sample).

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy, rng = GaussianToy(), np.random.default_rng(0)
        >>> theta = rng.uniform(-2, 2, 400)
        >>> x, z = toy.simulate(theta, seed=1)
        >>> estimator = LikelihoodEstimator(n_hidden=(16,), n_transforms=2)
        >>> _ = estimator.train("nde", x=x[:, None], theta=theta[:, None], n_epochs=2)
        >>> estimator.evaluate_log_likelihood(x[:5, None], [[0.0], [1.0], [2.0]]).shape
        (3, 5)
    """

    methods: ClassVar[tuple[str, ...]] = ("nde", "scandal")
    optional_columns: ClassVar[tuple[str, ...]] = ("t_xz",)
    network_class = FlowNetwork

    def __init__(
        self,
        features: Sequence[int] | None = None,
        n_hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        n_transforms: int = 3,
        scaling: str = "standard",
        dropout_prob: float = 0.0,
    ) -> None:
        if dropout_prob:
            raise EstimatorError("LikelihoodEstimator does not support dropout")
        super().__init__(features, n_hidden, activation, 0.0, scaling)
        if int(n_transforms) < 1:
            raise EstimatorError(f"n_transforms must be positive, got {n_transforms}")
        self.n_transforms = int(n_transforms)

    def settings(self) -> dict[str, Any]:
        """The constructor arguments (saved with the model)."""
        return {**super().settings(), "n_transforms": self.n_transforms}

    def _required_columns(self, method: str) -> tuple[str, ...]:
        return ("x", "theta", "t_xz") if method == "scandal" else ("x", "theta")

    def _network_options(self) -> dict[str, Any]:
        options = super()._network_options()
        del options["dropout"]
        return {**options, "transforms": self.n_transforms}

    def _loss_fn(self, method: str, alpha: losses.Alpha, columns: Sequence[str]) -> LossFunction:
        with_score = method == "scandal"

        def loss_fn(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> losses.LossResult:
            if not with_score:
                return losses.nde_loss(model.log_prob(batch["x"], batch["theta"]))
            log_p, t_hat = value_and_gradient(
                lambda theta: model.log_prob(batch["x"], theta), batch["theta"], create_graph=model.training
            )
            return losses.scandal_loss(log_p, t_hat, batch["t_xz"], alpha)

        return loss_fn

    def _log_p_and_score(self, x: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return value_and_gradient(lambda t: self.model.log_prob(x, t), theta)

    def evaluate_log_likelihood(
        self, x: Any, theta: Any, test_all_combinations: bool = True, evaluate_score: bool = False
    ) -> Any:
        """log p_hat(x|theta): ``[n_theta, n_x]`` with ``test_all_combinations``, else ``[n]`` (rows paired);
        with ``evaluate_score`` also the score, ``[..., P]``."""
        x, theta = self._x(x), self._theta(theta)
        if evaluate_score:
            log_p, score = self._evaluate(self._log_p_and_score, x, [theta], test_all_combinations, grad=True)
            return log_p, score
        (log_p,) = self._evaluate(
            lambda xb, tb: (self.model.log_prob(xb, tb),), x, [theta], test_all_combinations
        )
        return log_p

    def evaluate_log_likelihood_ratio(
        self, x: Any, theta0: Any, theta1: Any = None, test_all_combinations: bool = True
    ) -> np.ndarray:
        """log p_hat(x|theta0) - log p_hat(x|theta1), theta0 and theta1 paired point by point (length 1
        broadcasts): ``[n_theta, n_x]`` or ``[n]``."""
        if theta1 is None:
            raise EstimatorError("LikelihoodEstimator.evaluate_log_likelihood_ratio needs theta1")
        x = self._x(x)
        thetas = [self._theta(theta0, "theta0"), self._theta(theta1, "theta1")]

        def fn(xb: torch.Tensor, t0: torch.Tensor, t1: torch.Tensor) -> tuple[torch.Tensor]:
            return (self.model.log_prob(xb, t0) - self.model.log_prob(xb, t1),)

        return self._evaluate(fn, x, thetas, test_all_combinations)[0]

    def evaluate_score(self, x: Any, theta: Any = None, test_all_combinations: bool = True) -> np.ndarray:
        """grad_theta log p_hat(x|theta): ``[n_theta, n_x, P]`` or ``[n, P]``."""
        if theta is None:
            raise EstimatorError("evaluate_score needs the parameter point(s) theta")
        x, theta = self._x(x), self._theta(theta)
        return self._evaluate(self._log_p_and_score, x, [theta], test_all_combinations, grad=True)[1]
