"""Hand-written gradients of the default networks (columnminer.ml._fused) against autograd, and the trainer
using them: same losses, gradients to float rounding, flat parameters, the direct Adam step."""

import copy

import numpy as np
import pytest
import torch

from columnminer.ml import ParameterizedRatioEstimator, ScoreEstimator, base, losses
from columnminer.ml._fused import AnalyticLoss, analytic_loss, direct_step, flatten_parameters
from columnminer.ml.networks import RatioNetwork, ScoreNetwork
from columnminer.ml.ratio import ratio_loss_function

TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-12}


def _network(method, n_parameters, activation, dtype):
    torch.manual_seed(1)
    if method == "sally":
        net = ScoreNetwork(3, n_parameters, hidden=(20, 30), activation=activation, score_scaling="standard")
        net.score_scaler.shift.fill_(0.3)
        net.score_scaler.scale.fill_(1.7)
    else:
        net = RatioNetwork(3, n_parameters, hidden=(20, 30), activation=activation)
        net.inputs.theta_scaler.shift.fill_(0.2)
        net.inputs.theta_scaler.scale.copy_(torch.linspace(1.9, 0.6, n_parameters))
    net.inputs.x_scaler.scale.fill_(0.7)
    return net.to(dtype).train()


def _batch(n_parameters, dtype, n=64, seed=2):
    g = torch.Generator().manual_seed(seed)
    batch = {
        "x": torch.randn(n, 3, generator=g, dtype=dtype),
        "theta": torch.randn(n, n_parameters, generator=g, dtype=dtype),
        "y": (torch.rand(n, generator=g) < 0.5).to(dtype),
        "r_xz": torch.rand(n, generator=g, dtype=dtype) * 3,
        "t_xz": torch.randn(n, n_parameters, generator=g, dtype=dtype),
    }
    return batch


def _autograd_loss(method, alpha):
    if method == "sally":
        return lambda m, b: losses.sally_loss(m.standardized(b["x"]), m.standardize(b["t_xz"]))
    return ratio_loss_function(method, alpha, lambda m, b, t: m(b["x"], t))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("activation", ["silu", "tanh", "sigmoid"])
@pytest.mark.parametrize("n_parameters", [1, 2])
@pytest.mark.parametrize("method", ["carl", "alice", "alices", "cascal", "sally"])
def test_gradients_equal_autograd(method, n_parameters, activation, dtype):
    net = _network(method, n_parameters, activation, dtype)
    batch = _batch(n_parameters, dtype)
    if method != "sally":  # the score of y = 1 rows is masked: not finite there must not matter
        batch["t_xz"][batch["y"] > 0] = float("nan")
    alpha = torch.tensor([0.5, 2.0]) if n_parameters == 2 else 1.3
    # the reference: autograd in float64 on the same weights and batch (float32 autograd itself is off by
    # up to a few 1e-7 of the gradient's norm)
    twin = copy.deepcopy(net).double()
    total, parts = _autograd_loss(method, alpha)(twin, {k: v.double() for k, v in batch.items()})
    total.backward()
    reference = torch.cat([p.grad.reshape(-1) for p in twin.parameters()]).to(dtype)
    same_dtype = _autograd_loss(method, alpha)(net, batch)[0]
    same_dtype.backward()
    autograd_error = (torch.cat([p.grad.reshape(-1) for p in net.parameters()]) - reference).norm()
    net.zero_grad(set_to_none=True)
    fused_total, fused_parts = AnalyticLoss(net, method, alpha)(batch)
    gradient = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    tolerance = TOLERANCE[dtype]
    assert sorted(fused_parts) == sorted(parts)
    for name, term in parts.items():
        assert fused_parts[name].item() == pytest.approx(term.item(), rel=tolerance)
    assert fused_total.item() == pytest.approx(total.item(), rel=tolerance)
    evaluated, evaluated_parts = AnalyticLoss(net, method, alpha).evaluate(batch)
    assert evaluated.item() == pytest.approx(total.item(), rel=tolerance)
    assert sorted(evaluated_parts) == sorted(parts)
    error = (gradient - reference).norm() / reference.norm()
    assert error.item() < max(tolerance, 2 * autograd_error.item() / reference.norm().item())


def test_which_estimators_get_analytic_gradients():
    def built(kind, **kw):
        estimator = kind(**kw)
        estimator.n_observables, estimator.n_parameters = 2, 1
        estimator.model = estimator._build_model()
        return estimator

    ratio, score = built(ParameterizedRatioEstimator), built(ScoreEstimator)
    for method in ("carl", "alice", "alices", "cascal"):
        assert isinstance(analytic_loss(ratio, method, 1.0), AnalyticLoss)
    assert isinstance(analytic_loss(score, "sally", 1.0), AnalyticLoss)
    assert analytic_loss(ratio, "rascal", 1.0) is None
    assert analytic_loss(ratio, "rolr", 1.0) is None
    assert analytic_loss(built(ParameterizedRatioEstimator, activation="relu"), "alices", 1.0) is None

    class Custom(ParameterizedRatioEstimator):
        def _loss_fn(self, method, alpha, columns):
            return super()._loss_fn(method, alpha, columns)

    assert analytic_loss(built(Custom), "alices", 1.0) is None


def test_flat_parameters_and_direct_step_match_torch():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    twin.load_state_dict(net.state_dict())
    flat, grad = flatten_parameters(twin)
    reference = torch.optim.Adam(net.parameters(), lr=1e-2, amsgrad=True, fused=True)
    step = direct_step(torch.optim.Adam([flat], lr=1e-2, amsgrad=True, fused=True))
    for _ in range(5):
        x = torch.randn(8, 3)
        reference.zero_grad()
        net(x).square().mean().backward()
        reference.step()
        grad.copy_(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
        step()
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)
        assert b.data_ptr() >= flat.data_ptr()


@pytest.mark.parametrize(
    ("method", "changes"),
    [
        ("alices", {}),
        ("carl", {}),
        ("sally", {}),
        ("alices", {"clip_gradient": 0.05, "optimizer": "adam", "weight_decay": 1e-3}),
        ("cascal", {"optimizer": "sgd", "nesterov_momentum": 0.9, "early_stopping_patience": 1}),
    ],
)
def test_estimator_training_with_analytic_gradients_matches_autograd(monkeypatch, method, changes):
    rng = np.random.default_rng(0)
    n = 600
    theta = rng.uniform(-2, 2, (n, 1))
    y = (np.arange(n) % 2).astype(float)
    x = rng.normal(theta, 1.0)
    columns = {"x": x, "t_xz": rng.normal(size=(n, 1))}
    if method != "sally":
        columns.update(theta=theta, y=y, r_xz=np.exp(rng.normal(size=n)))
    kind = ScoreEstimator if method == "sally" else ParameterizedRatioEstimator
    results = {}
    for analytic in (True, False):
        monkeypatch.setattr(base, "ANALYTIC_GRADIENTS", analytic)
        estimator = kind(n_hidden=(16, 16))
        history = estimator.train(method, **columns, n_epochs=3, progress=False, **changes)
        params = torch.cat([p.detach().reshape(-1) for p in estimator.model.parameters()])
        results[analytic] = history, params, estimator
    (h1, p1, e1), (h0, p0, _) = results[True], results[False]
    np.testing.assert_allclose(h1.train_loss, h0.train_loss, rtol=1e-4)
    np.testing.assert_allclose(h1.validation_loss, h0.validation_loss, rtol=1e-4)
    assert h1.best_epoch == h0.best_epoch
    torch.testing.assert_close(p1, p0, rtol=1e-3, atol=1e-4)
    # the parameters have their own storage again after training
    pointers = {p.untyped_storage().data_ptr() for p in e1.model.parameters()}
    assert len(pointers) == len(list(e1.model.parameters()))


def test_loss_weights_train_with_autograd(monkeypatch):
    called = []
    original = AnalyticLoss.__call__

    def spy(self, batch):
        called.append(1)
        return original(self, batch)

    monkeypatch.setattr(AnalyticLoss, "__call__", spy)
    rng = np.random.default_rng(1)
    x, theta = rng.normal(size=(200, 1)), rng.uniform(-1, 1, (200, 1))
    columns = dict(x=x, theta=theta, y=(np.arange(200) % 2) * 1.0, r_xz=np.ones(200), t_xz=x)
    estimator = ParameterizedRatioEstimator(n_hidden=(8,))
    estimator.train("alices", **columns, n_epochs=1, progress=False, loss_weights={"score": 2.0})
    assert not called
    estimator.train("alices", **columns, n_epochs=1, progress=False)
    assert called


@pytest.mark.parametrize("method", ["alice", "alices", "carl", "sally"])
def test_prepared_buffer_gives_the_same_loss_and_gradients(method):
    net = _network(method, 2, "silu", torch.float32)
    buffer = _batch(2, torch.float32, n=96)
    loss = AnalyticLoss(net, method, 1.0)
    total, _ = loss({k: v[32:64] for k, v in buffer.items()})
    plain = [p.grad.clone() for p in net.parameters()]
    prepared = loss.prepare(buffer)
    assert "_inputs" in prepared
    again, _ = loss({k: v[32:64] for k, v in prepared.items()})
    assert torch.equal(total, again)
    for a, p in zip(plain, net.parameters(), strict=True):
        assert torch.equal(a, p.grad)
