r"""The torch networks behind the estimators: MLPs, parameterised ratio / score networks and a conditional flow.

Every network takes *unscaled* inputs and scales them itself (:class:`~columnminer.ml.scaling.Scaler`), so
derivatives with respect to theta and x are taken in physical units. ``features`` selects observable
columns of x before scaling. References: Brehmer, Cranmer, Louppe, Pavez, arXiv:1805.00020 (parameterised
ratio and score networks); Papamakarios, Pavlakou, Murray, arXiv:1705.07057 (masked autoregressive flows).
"""

from __future__ import annotations

from collections.abc import Sequence

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
    "make_activation",
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
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.n_observables:
            raise EstimatorError(f"x has {x.shape[1]} observables, the network expects {self.n_observables}")
        if self.features is not None:
            x = x[:, self.features]
        return self.x_scaler(x)

    def theta(self, theta: torch.Tensor) -> torch.Tensor:
        if theta.ndim == 1:
            theta = theta[:, None]
        if theta.shape[1] != self.n_parameters:
            raise EstimatorError(
                f"theta has {theta.shape[1]} parameters, the network expects {self.n_parameters}"
            )
        return self.theta_scaler(theta)


class RatioNetwork(nn.Module):
    r"""log r_hat(x|theta0, theta_ref) = f(scaled x, scaled theta0): a ratio against a fixed reference theta1.

    Example:
        >>> RatioNetwork(2, 1, hidden=(8,))(torch.zeros(4, 2), torch.zeros(4, 1)).shape
        torch.Size([4])
    """

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
        self.inputs = _Inputs(n_observables, n_parameters, features, scaling)
        self.mlp = MLP(self.inputs.x_scaler.n_features + n_parameters, 1, hidden, activation, dropout)

    def forward(self, x: torch.Tensor, theta0: torch.Tensor) -> torch.Tensor:
        """log r_hat, shape ``[n]``."""
        return self.mlp(torch.cat([self.inputs.x(x), self.inputs.theta(theta0)], dim=1)).squeeze(1)


class DoubleRatioNetwork(nn.Module):
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
        self.inputs = _Inputs(n_observables, n_parameters, features, scaling)
        self.mlp = MLP(self.inputs.x_scaler.n_features + 2 * n_parameters, 1, hidden, activation, dropout)

    def forward(self, x: torch.Tensor, theta0: torch.Tensor, theta1: torch.Tensor) -> torch.Tensor:
        """log r_hat(x|theta0, theta1), shape ``[n]``."""
        u, t0, t1 = self.inputs.x(x), self.inputs.theta(theta0), self.inputs.theta(theta1)
        # two calls of identical shape, so that swapping theta0 and theta1 flips the sign bit for bit
        return (self.mlp(torch.cat([u, t0, t1], 1)) - self.mlp(torch.cat([u, t1, t0], 1))).squeeze(1)


class ScoreNetwork(nn.Module):
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

    def __init__(
        self,
        n_observables: int,
        n_parameters: int,
        hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        dropout: float = 0.0,
        features: Sequence[int] | None = None,
        scaling: str = "standard",
        score_scaling: str = "none",
    ) -> None:
        super().__init__()
        self.inputs = _Inputs(n_observables, 0, features, scaling)
        self.mlp = MLP(self.inputs.x_scaler.n_features, n_parameters, hidden, activation, dropout)
        self.score_scaler = None if score_scaling == "none" else Scaler(n_parameters, score_scaling)

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
