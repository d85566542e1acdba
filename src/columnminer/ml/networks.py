r"""The torch networks behind the estimators: MLPs, parameterised ratio / score networks and a conditional flow.

Every network takes *unscaled* inputs and scales them itself (:class:`~columnminer.ml.scaling.Scaler`), so
derivatives with respect to theta and x are taken in physical units. ``features`` selects observable
columns of x before scaling. References: Brehmer, Cranmer, Louppe, Pavez, arXiv:1805.00020 (parameterised
ratio and score networks); Papamakarios, Pavlakou, Murray, arXiv:1705.07057 (masked autoregressive flows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors import EstimatorError
from .scaling import Scaler

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "DoubleRatioNetwork",
    "FlowNetwork",
    "RatioNetwork",
    "ScoreNetwork",
    "check_columns",
    "make_activation",
    "select_observables",
]

#: Activation names understood by :func:`make_activation`.
ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "leaky_relu": nn.LeakyReLU,
}


def make_activation(name: str) -> type[nn.Module]:
    """The activation class for a name in :data:`ACTIVATIONS`.

    Example:
        >>> make_activation("tanh")
        <class 'torch.nn.modules.activation.Tanh'>
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise EstimatorError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


class MLP(nn.Sequential):
    r"""A fully connected network :math:`h_{k+1} = \sigma(W_k h_k + b_k)` with a linear last layer.

    Example:
        >>> MLP(3, 2, hidden=(8, 8))(torch.zeros(5, 3)).shape
        torch.Size([5, 2])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        dropout: float = 0.0,
    ) -> None:
        act = make_activation(activation)
        if not 0.0 <= dropout < 1.0:
            raise EstimatorError(f"dropout probability must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        width = int(in_features)
        for size in hidden:
            layers += [nn.Linear(width, int(size)), act()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(size)
        layers.append(nn.Linear(width, int(out_features)))
        super().__init__(*layers)


def check_columns(values: torch.Tensor, width: int, what: str, owner: str) -> torch.Tensor:
    """``values`` as rows ``[n, width]`` (a 1-d tensor is one column); an :class:`EstimatorError` names
    ``what`` ("x has 3 observables") and ``owner`` ("the network expects") when the width is wrong.

    Example:
        >>> check_columns(torch.zeros(4), 1, "theta has {} parameters", "the network expects").shape
        torch.Size([4, 1])
    """
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[1] != width:
        raise EstimatorError(f"{what.format(values.shape[1])}, {owner} {width}")
    return values


def select_observables(x: torch.Tensor, n_observables: int, features: Sequence[int] | None) -> torch.Tensor:
    """The observable columns ``features`` of ``x`` ``[n, n_observables]`` (all of them for None).

    Example:
        >>> select_observables(torch.arange(6.0).reshape(2, 3), 3, [2]).tolist()
        [[2.0], [5.0]]
    """
    x = check_columns(x, n_observables, "x has {} observables", "the network expects")
    return x if features is None else x[:, features]


class _Inputs(nn.Module):
    """Feature selection and scaling of x and of parameter points."""

    def __init__(
        self, n_observables: int, n_parameters: int, features: Sequence[int] | None, scaling: str
    ) -> None:
        super().__init__()
        self.features = None if features is None else [int(i) for i in features]
        n_x = n_observables if self.features is None else len(self.features)
        self.n_observables = int(n_observables)
        self.n_parameters = int(n_parameters)
        self.x_scaler = Scaler(n_x, scaling)
        self.theta_scaler = Scaler(n_parameters, scaling) if n_parameters else None

    def x(self, x: torch.Tensor) -> torch.Tensor:
        return self.x_scaler(select_observables(x, self.n_observables, self.features))

    def theta(self, theta: torch.Tensor) -> torch.Tensor:
        theta = check_columns(theta, self.n_parameters, "theta has {} parameters", "the network expects")
        return self.theta_scaler(theta)


class _InputNetwork(nn.Module):
    """An MLP on the scaled observables and ``n_theta_inputs`` scaled parameter points (base of the ratio and
    score networks); ``n_outputs(n_parameters)`` is the width of its output."""

    n_theta_inputs: int = 1

    def __init__(
        self,
        n_observables: int,
        n_parameters: int,
        hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        dropout: float = 0.0,
        features: Sequence[int] | None = None,
        scaling: str = "standard",
    ) -> None:
        super().__init__()
        width = n_parameters if self.n_theta_inputs else 0
        self.inputs = _Inputs(n_observables, width, features, scaling)
        n_in = self.inputs.x_scaler.n_features + self.n_theta_inputs * n_parameters
        self.mlp = MLP(n_in, self.n_outputs(n_parameters), hidden, activation, dropout)

    @staticmethod
    def n_outputs(n_parameters: int) -> int:
        """The output width: one log ratio."""
        return 1


class RatioNetwork(_InputNetwork):
    r"""log r_hat(x|theta0, theta_ref) = f(scaled x, scaled theta0): a ratio against a fixed reference theta1.

    Example:
        >>> RatioNetwork(2, 1, hidden=(8,))(torch.zeros(4, 2), torch.zeros(4, 1)).shape
        torch.Size([4])
    """

    def forward(self, x: torch.Tensor, theta0: torch.Tensor) -> torch.Tensor:
        """log r_hat, shape ``[n]``."""
        return self.mlp(torch.cat([self.inputs.x(x), self.inputs.theta(theta0)], dim=1)).squeeze(1)


class DoubleRatioNetwork(_InputNetwork):
    r"""Antisymmetric doubly parameterised ratio
    :math:`\log \hat r(x|\theta_0,\theta_1) = f(x,\theta_0,\theta_1) - f(x,\theta_1,\theta_0)`,
    so that :math:`\hat r(x|\theta,\theta) = 1` and :math:`\hat r(x|\theta_1,\theta_0) = 1/\hat r(x|\theta_0,\theta_1)`
    hold exactly.

    Example:
        >>> net = DoubleRatioNetwork(1, 1, hidden=(8,))
        >>> theta = torch.ones(3, 1)
        >>> net(torch.zeros(3, 1), theta, theta).abs().max().item()
        0.0
    """

    n_theta_inputs = 2

    def forward(self, x: torch.Tensor, theta0: torch.Tensor, theta1: torch.Tensor) -> torch.Tensor:
        """log r_hat(x|theta0, theta1), shape ``[n]``."""
        u, t0, t1 = self.inputs.x(x), self.inputs.theta(theta0), self.inputs.theta(theta1)
        # two calls of identical shape, so that swapping theta0 and theta1 flips the sign bit for bit
        return (self.mlp(torch.cat([u, t0, t1], 1)) - self.mlp(torch.cat([u, t1, t0], 1))).squeeze(1)


class ScoreNetwork(_InputNetwork):
    r"""t_hat(x) = f(scaled x): the score at the reference point, one output per parameter.

    With ``score_scaling`` other than "none" the MLP predicts the *standardised* score
    :math:`u = (t - \mu) / \sigma` per component (``score_scaler``, fitted on the training targets) and
    :meth:`forward` returns :math:`t = \mu + \sigma u` in physical units; :meth:`standardized` and
    :meth:`standardize` give the network output and the targets on the standardised scale, where the
    estimator's loss is computed.

    Example:
        >>> ScoreNetwork(3, 2, hidden=(8,))(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """

    n_theta_inputs = 0

    def __init__(self, *args: Any, score_scaling: str = "none", **kwargs: Any) -> None:
        """``args`` / ``kwargs``: ``n_observables``, ``n_parameters``, ``hidden``, ``activation``, ``dropout``,
        ``features``, ``scaling`` as for :class:`RatioNetwork`."""
        super().__init__(*args, **kwargs)
        self.score_scaler = (
            None if score_scaling == "none" else Scaler(self.mlp[-1].out_features, score_scaling)
        )

    @staticmethod
    def n_outputs(n_parameters: int) -> int:
        """The output width: one score component per parameter."""
        return n_parameters

    def standardized(self, x: torch.Tensor) -> torch.Tensor:
        """The network output: the standardised score (the physical one without ``score_scaling``)."""
        return self.mlp(self.inputs.x(x))

    def standardize(self, t: torch.Tensor) -> torch.Tensor:
        """Scores in physical units on the scale of :meth:`standardized`."""
        return t if self.score_scaler is None else self.score_scaler(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """t_hat in physical units, shape ``[n, n_parameters]``."""
        u = self.standardized(x)
        return u if self.score_scaler is None else self.score_scaler.inverse(u)


class FlowNetwork(nn.Module):
    r"""Conditional masked autoregressive flow for p(x|theta) (zuko's ``MAF``) on scaled x and theta:

    .. math::

        \log \hat p(x|\theta) = \log q\big(u(x) \,\big|\, \tilde\theta\big) - \sum_i \log \mathrm{scale}_i ,

    with u the scaled x and :math:`\tilde\theta` the scaled theta; the Jacobian term puts the density back in
    the units of x.

    Example:
        >>> flow = FlowNetwork(2, 1, transforms=2, hidden=(8,))
        >>> flow.log_prob(torch.zeros(5, 2), torch.zeros(5, 1)).shape
        torch.Size([5])
    """

    def __init__(
        self,
        n_observables: int,
        n_parameters: int,
        transforms: int = 3,
        hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        features: Sequence[int] | None = None,
        scaling: str = "standard",
    ) -> None:
        import zuko

        super().__init__()
        self.inputs = _Inputs(n_observables, n_parameters, features, scaling)
        self.flow = zuko.flows.MAF(
            self.inputs.x_scaler.n_features,
            n_parameters,
            transforms=int(transforms),
            hidden_features=tuple(int(h) for h in hidden),
            activation=make_activation(activation),
        )

    def log_prob(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """log p_hat(x|theta), shape ``[n]``."""
        u = self.inputs.x(x)
        return self.flow(self.inputs.theta(theta)).log_prob(u) + self.inputs.x_scaler.log_abs_det_jacobian()

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`log_prob`."""
        return self.log_prob(x, theta)

    def sample(self, theta: torch.Tensor) -> torch.Tensor:
        """One draw x ~ p_hat(x|theta) per row of theta (in the units of x, selected features only)."""
        u = self.flow(self.inputs.theta(theta)).sample()
        scaler = self.inputs.x_scaler
        return u * scaler.scale + scaler.shift
