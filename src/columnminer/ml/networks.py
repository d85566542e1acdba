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
import torch.nn.functional as F
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
    "linked_score",
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


#: d act(a) / d a from the pre-activation a and the activation h = act(a), for the activations whose
#: derivative :meth:`RatioNetwork.forward_with_score` propagates forward.
_DERIVATIVES = {
    nn.Tanh: lambda a, h: 1.0 - h * h,
    nn.Sigmoid: lambda a, h: h * (1.0 - h),
    nn.ReLU: lambda a, h: (a > 0).to(a.dtype),
    nn.SiLU: lambda a, h: h + torch.sigmoid(a) * (1.0 - h),  # s + a s (1 - s) with h = a s
}


class _ScoreLink(torch.autograd.Function):
    """Identity on log r_hat whose gradient with respect to theta0 is the given (differentiable) score: the
    autograd link that lets ``torch.autograd.grad(log_r.sum(), theta0, create_graph=True)`` return the score
    propagated forward, so that the training loss needs a first-order backward instead of a double one."""

    @staticmethod
    def forward(ctx: Any, log_r: torch.Tensor, theta0: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(score)
        ctx.theta_shape = theta0.shape
        return log_r.view_as(log_r)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        (score,) = ctx.saved_tensors
        return grad, (grad[:, None] * score).reshape(ctx.theta_shape), None


def linked_score(value: torch.Tensor, theta: torch.Tensor) -> torch.Tensor | None:
    """The score a :class:`RatioNetwork` in training mode linked to its output ``value`` as the gradient with
    respect to the leaf ``theta`` (exactly what ``torch.autograd.grad(value.sum(), theta)`` returns, without
    running the autograd engine); None when ``value`` is not such an output of ``theta``.

    Example:
        >>> net = RatioNetwork(1, 1, hidden=(4,)).train()
        >>> x, theta = torch.zeros(3, 1), torch.ones(3, 1, requires_grad=True)
        >>> log_r = net(x, theta)
        >>> score = linked_score(log_r, theta)
        >>> torch.allclose(score, torch.autograd.grad(log_r.sum(), theta)[0])
        True
        >>> linked_score(net.eval()(x, theta), theta) is None
        True
    """
    node = value.grad_fn
    if type(node) is not _ScoreLink._backward_cls:
        return None
    if getattr(node.next_functions[1][0], "variable", None) is not theta:
        return None
    return node.saved_tensors[0].reshape(theta.shape)


class RatioNetwork(_InputNetwork):
    r"""log r_hat(x|theta0, theta_ref) = f(scaled x, scaled theta0): a ratio against a fixed reference theta1.

    In training mode, with ``theta0`` requiring a gradient (the score term of ALICES, RASCAL, CASCAL), the
    forward pass also propagates :math:`\partial/\partial\theta_0` through the network
    (:meth:`forward_with_score`) and hands it to autograd as the gradient of the output with respect to
    ``theta0``: the same score as reverse mode (to float rounding), but the loss that contains it trains with
    a first-order backward instead of a double backward. Second derivatives with respect to ``theta0`` are
    then not available (call :meth:`eval` for them); evaluation mode always runs the plain network.

    Example:
        >>> RatioNetwork(2, 1, hidden=(8,))(torch.zeros(4, 2), torch.zeros(4, 1)).shape
        torch.Size([4])
    """

    def forward(self, x: torch.Tensor, theta0: torch.Tensor) -> torch.Tensor:
        """log r_hat, shape ``[n]``."""
        if self.training and theta0.requires_grad and torch.is_grad_enabled() and self._forward_mode_ok:
            log_r, score = self.forward_with_score(x, theta0.detach())
            return _ScoreLink.apply(log_r, theta0, score)
        return self.mlp(torch.cat([self.inputs.x(x), self.inputs.theta(theta0)], dim=1)).squeeze(1)

    @property
    def _forward_mode_ok(self) -> bool:
        """Whether :meth:`forward_with_score` handles this network (computed once)."""
        ok = self.__dict__.get("_forward_mode")
        if ok is None:
            ok = all(isinstance(layer, nn.Linear) or type(layer) in _DERIVATIVES for layer in self.mlp)
            self.__dict__["_forward_mode"] = ok
        return ok

    def forward_with_score(self, x: torch.Tensor, theta0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""log r_hat [n] and its score :math:`\hat t = \nabla_{\theta_0}\log\hat r` [n, P] in one forward
        pass (forward-mode differentiation: the tangents :math:`\partial h_k/\partial\theta_{0,j}` [P, n,
        width] go through every layer, :math:`\dot h_{k+1} = \sigma'(a_{k+1}) \odot W_{k+1} \dot h_k`,
        starting from the theta0 columns of the first weight matrix divided by the theta scale); both outputs
        stay differentiable with respect to the weights. Needs activations in :data:`_DERIVATIVES` and no
        dropout.

        Example:
            >>> net = RatioNetwork(1, 1, hidden=(8,))
            >>> x, theta = torch.zeros(3, 1), torch.ones(3, 1, requires_grad=True)
            >>> log_r, score = net.forward_with_score(x, theta)
            >>> reverse = torch.autograd.grad(net.eval()(x, theta).sum(), theta)[0]
            >>> torch.allclose(score, reverse, atol=1e-6)
            True
        """
        if not self._forward_mode_ok:
            raise EstimatorError("forward_with_score needs activations with known derivatives and no dropout")
        value = torch.cat([self.inputs.x(x), self.inputs.theta(theta0)], dim=1)
        n_x = value.shape[1] - self.inputs.n_parameters
        tangent = None
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                if tangent is None:  # d(first pre-activation) / d theta0_j: [P, 1, width]
                    tangent = (layer.weight[:, n_x:] / self.inputs.theta_scaler.scale).T[:, None, :]
                else:
                    tangent = F.linear(tangent, layer.weight)
                value = F.linear(value, layer.weight, layer.bias)  # what layer(value) computes, without hooks
            else:
                activated = layer.forward(value)
                tangent = tangent * _DERIVATIVES[type(layer)](value, activated)
                value = activated
        return value.squeeze(1), tangent[..., 0].T.expand(value.shape[0], -1)


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
