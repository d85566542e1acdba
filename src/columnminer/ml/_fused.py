r"""Hand-written loss gradients of the default networks: a few large tensor operations per training step.

For a :class:`~columnminer.ml.networks.RatioNetwork` or :class:`~columnminer.ml.networks.ScoreNetwork`
whose MLP is Linear layers with SiLU (columnminer's default), tanh or sigmoid activations and no dropout,
:class:`AnalyticLoss` computes the loss of a batch *and* the gradients of all weights in one pass without
autograd (CARL, ALICE, ALICES, CASCAL; SALLY / SALLINO). For the ratio methods with a score term the
tangents :math:`\dot h_k = \partial h_k/\partial\theta_{0,j}` are pushed forward through the layers beside
the activations (as in :meth:`~columnminer.ml.networks.RatioNetwork.forward_with_score`), stacked as slots
``[1 + P, n, width]`` so that each layer is one matrix product; the backward pass then runs through both
chains at once. With :math:`h = f(a)`, :math:`\dot h_j = f'(a)\,\dot a_j` and incoming gradients
:math:`\bar h, \bar{\dot h}_j`:

.. math::

    \bar{\dot a}_j = f'(a)\,\bar{\dot h}_j, \qquad
    \bar a = f'(a)\,\bar h + f''(a) \sum_j \bar{\dot h}_j\,\dot a_j, \qquad
    \bar W = \sum_{\text{slots}} \bar a_{\text{slot}}^T\, h^{\text{in}}_{\text{slot}},

and the first layer's tangent seed :math:`\dot a_j = W_{:,\theta_j}/\sigma_{\theta_j}` collects
:math:`\sum_n f'(a)\,\bar{\dot h}_j / \sigma_{\theta_j}` into the theta columns of the first weight
matrix (:math:`f'' = -2hf'` for tanh, :math:`\sigma(1-\sigma)(2 + a - 2h)` for SiLU).
The gradients equal autograd's up to float rounding (summation order); the trainer falls back to autograd for
every other network, loss, or loss weighting. :func:`flatten_parameters` puts all parameters in one buffer
(views for the layers) so that the optimiser updates one tensor per step. Reference for the losses: Brehmer,
Cranmer, Louppe, Pavez, arXiv:1805.00020; Stoye et al., arXiv:1808.00973.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from .networks import RatioNetwork, ScoreNetwork, check_columns, select_observables

__all__ = ["AnalyticLoss", "analytic_loss", "direct_step", "flatten_parameters", "unflatten_parameters"]

logger = logging.getLogger(__name__)

#: The ratio methods :class:`AnalyticLoss` handles: cross-entropy losses, with or without the score term.
RATIO_METHODS = frozenset({"carl", "alice", "alices", "cascal"})
#: The score methods it handles.
SCORE_METHODS = frozenset({"sally", "sallino"})


def flatten_parameters(model: nn.Module) -> tuple[nn.Parameter, torch.Tensor]:
    """Move the trainable parameters of ``model`` into one flat buffer (each parameter becomes a view of it)
    and give it a flat gradient buffer of the same layout; returns (flat parameter, flat gradient). Each
    parameter's ``.grad`` is its view of the flat gradient.

    Example:
        >>> net = nn.Linear(2, 3)
        >>> flat, grad = flatten_parameters(net)
        >>> flat.shape, net.weight.data_ptr() == flat.data_ptr()
        (torch.Size([9]), True)
    """
    parameters = [p for p in model.parameters() if p.requires_grad]
    first = parameters[0]
    flat = torch.cat([p.detach().reshape(-1) for p in parameters])
    grad = torch.zeros_like(flat)
    offset = 0
    for p in parameters:
        size = p.numel()
        p.data = flat[offset : offset + size].view_as(p)
        p.grad = grad[offset : offset + size].view_as(p)
        offset += size
    flat_parameter = nn.Parameter(flat, requires_grad=first.requires_grad)
    flat_parameter.grad = grad
    return flat_parameter, grad


def unflatten_parameters(model: nn.Module) -> None:
    """Give every parameter of ``model`` its own storage again (after :func:`flatten_parameters`).

    Example:
        >>> net = nn.Linear(2, 3)
        >>> flat, _ = flatten_parameters(net)
        >>> unflatten_parameters(net)
        >>> net.weight.data_ptr() == flat.data_ptr(), net.weight.grad is None
        (False, True)
    """
    for p in model.parameters():
        p.data = p.data.clone()
        p.grad = None


def _tanh(a: torch.Tensor, out: torch.Tensor, second: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    h = torch.tanh(a, out=out)
    g = torch.addcmul(torch.ones_like(h), h, h, value=-1.0)  # 1 - h^2
    return g, (-2.0 * h * g if second else None)


def _silu(a: torch.Tensor, out: torch.Tensor, second: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    sigma = torch.sigmoid(a)
    h = torch.mul(a, sigma, out=out)
    g = torch.addcmul(sigma + h, h, sigma, value=-1.0)  # sigma + h (1 - sigma) = sigma (1 + a (1 - sigma))
    if not second:
        return g, None
    # f'' = sigma (1 - sigma) (2 + a (1 - 2 sigma)) = sigma (1 - sigma) (2 + a - 2 h)
    return g, torch.addcmul(sigma, sigma, sigma, value=-1.0).mul_(
        torch.add(a, h, alpha=-2.0).add_(_constant(2, a))
    )


def _sigmoid(a: torch.Tensor, out: torch.Tensor, second: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    h = torch.sigmoid(a, out=out)
    g = h * (1.0 - h)
    return g, (g * (1.0 - 2.0 * h) if second else None)


#: activation(a, out, second) -> (f'(a), f''(a) or None), h = f(a) written into ``out``: the activations
#: :class:`AnalyticLoss` differentiates by hand.
_ACTIVATIONS = {nn.Tanh: _tanh, nn.SiLU: _silu, nn.Sigmoid: _sigmoid}


def _mlp_layers(mlp: nn.Sequential) -> tuple[list[nn.Linear], list[Any]] | None:
    """The linear layers and the activation functions of an MLP of alternating Linear and activation layers
    (of :data:`_ACTIVATIONS`, no dropout) ending with a Linear; else None."""
    layers = list(mlp)
    if not layers or len(layers) % 2 != 1:
        return None
    linear = layers[0::2]
    if not all(type(layer) is nn.Linear for layer in linear):
        return None
    if not all(type(layer) in _ACTIVATIONS for layer in layers[1::2]):
        return None
    return linear, [_ACTIVATIONS[type(layer)] for layer in layers[1::2]]


class AnalyticLoss:
    r"""Loss and weight gradients of one batch for a default ratio or score network, without autograd.

    ``AnalyticLoss(model, method, alpha)(batch)`` returns ``(total, {component: term})`` as the estimator's
    loss function does (see :mod:`columnminer.ml.losses`) and writes the gradient of ``total`` into each
    parameter's ``.grad`` (allocated when missing; overwritten, not accumulated). Use :func:`analytic_loss`
    to get one only where it applies.

    Example:
        >>> from columnminer.ml.networks import RatioNetwork
        >>> net = RatioNetwork(1, 1, hidden=(8, 8))
        >>> batch = {"x": torch.randn(4, 1), "theta": torch.randn(4, 1), "y": torch.tensor([0.0, 1, 0, 1]),
        ...          "r_xz": torch.rand(4) + 0.5, "t_xz": torch.randn(4, 1)}
        >>> total, parts = AnalyticLoss(net, "alices", 1.0)(batch)
        >>> sorted(parts), net.mlp[0].weight.grad.shape
        (['cross_entropy', 'score'], torch.Size([8, 2]))
    """

    def __init__(self, model: nn.Module, method: str, alpha: float | torch.Tensor = 1.0) -> None:
        self.model = model
        self.method = method
        self.ratio = type(model) is RatioNetwork
        if method not in (RATIO_METHODS if self.ratio else SCORE_METHODS):
            raise TypeError(f"AnalyticLoss does not handle method {method!r} for {type(model).__name__}")
        if not self.ratio and type(model) is not ScoreNetwork:
            raise TypeError(f"AnalyticLoss needs a RatioNetwork or ScoreNetwork, not {type(model).__name__}")
        found = _mlp_layers(model.mlp)
        if found is None:
            names = sorted(kind.__name__ for kind in _ACTIVATIONS)
            raise TypeError(f"AnalyticLoss needs an MLP of Linear and {names} layers")
        self.layers, self.activations = found
        self.weights = [layer.weight for layer in self.layers]  # the Parameter objects (their data may move)
        self.biases = [layer.bias for layer in self.layers]
        self.inputs = model.inputs
        self.with_score = self.ratio and method in ("alices", "cascal")
        self.alpha = alpha

    # -- forward --------------------------------------------------------------------------------------------
    def prepare(self, columns: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``columns`` (a whole shuffle buffer) with the row-wise inputs of the loss added: the scaled network
        inputs ``_inputs`` and, for the ratio losses, the cross-entropy target ``_target`` (and
        ``_target_minus_one``); the batches, views of these, then skip computing them (same values)."""
        with torch.no_grad():
            dtype = self.weights[0].dtype
            prepared = dict(columns)
            prepared["_inputs"] = self._inputs(columns, dtype)
            if self.ratio:
                target = self._target(columns, dtype)
                prepared["_target"] = target
                prepared["_target_minus_one"] = target - _constant(1, target)
        return prepared

    def _target(self, batch: Mapping[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        """The cross-entropy target s of the ratio loss: y (CARL, CASCAL) or 1 / (1 + r_xz) (ALICE, ALICES)."""
        if self.method in ("carl", "cascal"):
            return batch["y"].to(dtype).reshape(-1)
        r_xz = batch["r_xz"].to(dtype).reshape(-1)
        return torch.reciprocal(r_xz + _constant(1, r_xz))  # 1 / (1 + r)

    def _inputs(self, batch: Mapping[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        """The scaled network inputs, as ``model.inputs`` computes them (without the module calls)."""
        prepared = batch.get("_inputs")
        if prepared is not None:
            return prepared
        inputs = self.inputs
        x = select_observables(batch["x"].to(dtype), inputs.n_observables, inputs.features)
        x = (x - inputs.x_scaler.shift) / inputs.x_scaler.scale
        if not self.ratio:
            return x
        theta = check_columns(
            batch["theta"].to(dtype), inputs.n_parameters, "theta has {} parameters", "the network expects"
        )
        return torch.cat([x, (theta - inputs.theta_scaler.shift) / inputs.theta_scaler.scale], dim=1)

    def _forward(
        self, u: torch.Tensor, second: bool = True
    ) -> tuple[list[torch.Tensor], list[tuple], torch.Tensor, list]:
        """Stacked activations S_k [1 + T, n, width] (slot 0 the primal, slots 1.. the tangents), the
        derivatives (f'(a_k), f''(a_k)) of the activations (f'' only with tangents and ``second``), the
        output [1 + T, n, out] and the tangent pre-activations [T, n or 1, width] per hidden layer."""
        weights, biases = self.weights, self.biases
        a = torch.addmm(biases[0], u, weights[0].T)
        n_tangents = self.inputs.n_parameters if self.with_score else 0
        stacked = a.new_empty((1 + n_tangents, *a.shape))
        pre = []
        if n_tangents:
            seed = (weights[0][:, u.shape[1] - n_tangents :] / self.inputs.theta_scaler.scale).T
            pre.append(seed[:, None, :])
        activations, derivatives = [], []
        for k in range(len(self.layers) - 1):
            if k:
                a = torch.matmul(stacked, weights[k].T)
                a[0] += biases[k]
                stacked = torch.empty_like(a)
                if n_tangents:
                    pre.append(a[1:])
                a = a[0]
            g, g2 = self.activations[k](a, stacked[0], second and bool(n_tangents))
            if n_tangents:
                torch.mul(pre[-1], g, out=stacked[1:])
            activations.append(stacked)
            derivatives.append((g, g2))
        out = torch.matmul(stacked, weights[-1].T)
        out[0] += biases[-1]
        return activations, derivatives, out, pre

    # -- losses ---------------------------------------------------------------------------------------------
    def _loss(self, out: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        """The loss components and dL/d(out) [1 + T, n, out]."""
        dtype = out.dtype
        n = out.shape[1]
        grad_out = torch.empty_like(out)
        if not self.ratio:
            u = out[0]
            target = batch["t_xz"].to(dtype)
            target = (target[:, None] if target.ndim == 1 else target).reshape(u.shape)
            target = self.model.standardize(target)
            difference = u - target
            torch.mul(difference, _constant(2.0 / difference.numel(), u), out=grad_out[0])
            return {"score": (difference * difference).mean()}, grad_out
        log_r = out[0, :, 0]
        target = batch.get("_target")
        if target is None:
            target = self._target(batch, dtype)
            target_minus_one = target - _constant(1, out)
        else:
            target_minus_one = batch["_target_minus_one"]
        # d/dl [s softplus(l) + (1 - s) softplus(-l)] = s sigma(l) - (1 - s) sigma(-l), in this form (not
        # sigma(l) - (1 - s)) so that rows with sigma(l) near 1 keep their relative precision
        slope = torch.addcmul(target * torch.sigmoid(log_r), target_minus_one, torch.sigmoid(-log_r))
        torch.div(slope, _constant(n, out), out=grad_out[0, :, 0])
        # s softplus(l) + (1 - s) softplus(-l) = softplus(-l) + s l
        entropy = torch.addcmul(torch.nn.functional.softplus(-log_r), target, log_r)
        components = {"cross_entropy": entropy.mean()}
        if self.with_score:
            components["score"] = self._score_term(out, batch, grad_out)
        return components, grad_out

    def _score_term(
        self, out: torch.Tensor, batch: Mapping[str, torch.Tensor], grad_out: torch.Tensor
    ) -> torch.Tensor:
        r"""alpha-weighted masked score MSE (:func:`~columnminer.ml.losses.score_mse` with mask 1 - y) and its
        gradient into the tangent slots of ``grad_out``."""
        t_hat = out[1:, :, 0]  # [P, n]
        n_parameters, n = t_hat.shape
        t_xz = batch["t_xz"].to(out.dtype).reshape(n, n_parameters).T
        keep = batch["y"].reshape(1, n) < _constant(1, batch["y"])  # the rows of mask 1 - y > 0
        difference = torch.where(keep, t_hat - t_xz, _constant(0, out))
        alpha = self.alpha
        if isinstance(alpha, torch.Tensor):
            weights = alpha.to(out).reshape(n_parameters, 1) * difference
        else:
            weights = difference * _constant(alpha, out)
        size = difference.numel()
        torch.mul(weights, _constant(2.0 / size, out), out=grad_out[1:, :, 0])
        return torch.dot(weights.reshape(-1), difference.reshape(-1)) / _constant(size, out)

    # -- backward -------------------------------------------------------------------------------------------
    def _backward(
        self,
        u: torch.Tensor,
        activations: list[torch.Tensor],
        derivatives: list[torch.Tensor],
        pre: list[torch.Tensor],
        grad_out: torch.Tensor,
    ) -> None:
        """The weight gradients from dL/d(out), into each parameter's ``.grad``."""
        grads = [(_grad(weight), _grad(bias)) for weight, bias in zip(self.weights, self.biases, strict=True)]
        _slot_sum_mm(grad_out, activations[-1], grads[-1][0])
        torch.sum(grad_out[0], 0, out=grads[-1][1])
        upstream = torch.matmul(grad_out, self.weights[-1])  # dL/dS of the last hidden layer
        for k in range(len(self.layers) - 2, -1, -1):
            g, second = derivatives[k]
            grad_pre = upstream * g  # dL/d(pre-activations), slots as S
            if pre:  # + f'' times sum_j (dL/d tangent_j) * (tangent pre-activation_j) in the primal slot
                products = upstream[1:] * pre[k]
                grad_pre[0].addcmul_(second, products[0] if len(products) == 1 else products.sum(0))
            weight, bias = grads[k]
            torch.sum(grad_pre[0], 0, out=bias)
            if k == 0:
                torch.mm(grad_pre[0].T, u, out=weight)
                if pre:
                    n_p = pre[0].shape[0]
                    seed_grad = grad_pre[1:].sum(1) / self.inputs.theta_scaler.scale[:, None]
                    weight[:, u.shape[1] - n_p :] += seed_grad.T
                break
            below = activations[k - 1]
            _slot_sum_mm(grad_pre, below, weight)
            upstream = torch.matmul(grad_pre, self.weights[k])

    def bind(self, model: nn.Module) -> AnalyticLoss:
        """The same loss for another network of the same kind (this one for its own network)."""
        return self if model is self.model else AnalyticLoss(model, self.method, self.alpha)

    def evaluate(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(total, components)`` of ``batch`` without the gradients (validation)."""
        with torch.no_grad():
            out = self._forward(self._inputs(batch, self.weights[0].dtype), second=False)[2]
            components = self._loss(out, batch)[0]
            return _sum(components), components

    def __call__(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(total, components)`` of ``batch``; the weight gradients go into the parameters' ``.grad``."""
        with torch.no_grad():
            dtype = self.weights[0].dtype
            u = self._inputs(batch, dtype)
            activations, derivatives, out, pre = self._forward(u)
            components, grad_out = self._loss(out, batch)
            self._backward(u, activations, derivatives, pre, grad_out)
        return _sum(components), components


_CONSTANTS: dict[tuple[float, torch.dtype, torch.device], torch.Tensor] = {}


def _constant(value: float, like: torch.Tensor) -> torch.Tensor:
    """``value`` as a 0-d tensor of ``like``'s dtype and device (cached): the same arithmetic as the Python
    number in an operation, without torch converting the number into a tensor on every call."""
    key = (float(value), like.dtype, like.device)
    tensor = _CONSTANTS.get(key)
    if tensor is None:
        tensor = _CONSTANTS[key] = torch.tensor(float(value), dtype=like.dtype, device=like.device)
    return tensor


def _sum(components: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The total of the loss components, in their order (as ``losses._total`` sums them)."""
    terms = list(components.values())
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _slot_sum_mm(grad: torch.Tensor, inputs: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """sum over slots s of grad_s^T inputs_s ([S, n, a] and [S, n, b] -> [a, b]): one matrix product."""
    return torch.mm(grad.reshape(-1, grad.shape[-1]).T, inputs.reshape(-1, inputs.shape[-1]), out=out)


def _grad(parameter: torch.Tensor) -> torch.Tensor:
    """The ``.grad`` buffer of a parameter (allocated once)."""
    if parameter.grad is None:
        parameter.grad = torch.zeros_like(parameter)
    return parameter.grad


def analytic_loss(estimator: Any, method: str, alpha: float | torch.Tensor) -> AnalyticLoss | None:
    """An :class:`AnalyticLoss` for ``estimator.model`` trained with ``method`` when the estimator is a
    plain :class:`~columnminer.ml.ratio.ParameterizedRatioEstimator` (CARL, ALICE, ALICES, CASCAL) or
    :class:`~columnminer.ml.score.ScoreEstimator` (SALLY, SALLINO) with a Linear + tanh network and its own
    loss; None otherwise (train with autograd).

    Example:
        >>> from columnminer.ml import ParameterizedRatioEstimator
        >>> estimator = ParameterizedRatioEstimator(n_hidden=(8,))
        >>> estimator.n_observables, estimator.n_parameters = 1, 1
        >>> estimator.model = estimator._build_model()
        >>> type(analytic_loss(estimator, "alices", 1.0)).__name__, analytic_loss(estimator, "rascal", 1.0)
        ('AnalyticLoss', None)
    """
    from .ratio import ParameterizedRatioEstimator
    from .score import ScoreEstimator

    kind = type(estimator)
    if kind._loss_fn is ParameterizedRatioEstimator._loss_fn:
        ok = method in RATIO_METHODS
    elif kind._loss_fn is ScoreEstimator._loss_fn:
        ok = method in SCORE_METHODS
    else:
        ok = False
    model = getattr(estimator, "model", None)
    if not ok or model is None:
        return None
    parameters = list(model.parameters())
    if not all(p.requires_grad and p.dtype == parameters[0].dtype for p in parameters):
        return None
    try:
        return AnalyticLoss(model, method, alpha)
    except TypeError as err:
        logger.debug("training with autograd: %s", err)
        return None


def direct_step(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    """``optimizer.step`` for a fused Adam / AMSGrad over one parameter tensor (see
    :func:`flatten_parameters`) as a direct call of the kernel torch's ``Adam.step`` calls, with the same
    state tensors and the group's current learning rate: the same update, bit for bit, without ~0.1 ms of
    Python bookkeeping per step. Any other optimiser gets its own ``step``.

    Example:
        >>> p = nn.Parameter(torch.ones(3))
        >>> optimizer = torch.optim.Adam([p], lr=0.1, fused=True)
        >>> p.grad = torch.ones(3)
        >>> step = direct_step(optimizer)
        >>> step(); step()
        >>> [round(v, 4) for v in p.tolist()]
        [0.8, 0.8, 0.8]
    """
    kernel = getattr(torch, "_fused_adam_", None)
    group = optimizer.param_groups[0]
    if (
        kernel is None
        or type(optimizer) is not torch.optim.Adam
        or len(optimizer.param_groups) != 1
        or len(group["params"]) != 1
        or not group.get("fused")
        or group.get("capturable")
        or group.get("differentiable")
        or group.get("maximize")
        or group.get("decoupled_weight_decay")
        or isinstance(group["lr"], torch.Tensor)
    ):
        return optimizer.step
    (parameter,) = group["params"]

    def step() -> None:
        state = optimizer.state[parameter]
        if not state:  # the first step creates the state
            optimizer.step()
            return
        amsgrad = group["amsgrad"]
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            state["step"].add_(_constant(1, state["step"]))
            kernel(
                [parameter],
                [parameter.grad],
                [state["exp_avg"]],
                [state["exp_avg_sq"]],
                [state["max_exp_avg_sq"]] if amsgrad else [],
                [state["step"]],
                amsgrad=amsgrad,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )

    return step
