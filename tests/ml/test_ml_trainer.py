"""The training loop: optimisers, learning-rate schedule, validation, early stopping, clipping, seeds, errors."""

import logging

import numpy as np
import pytest
import torch

from columnminer.errors import EstimatorError
from columnminer.ml import TrainingData, TrainingOptions, losses, resolve_device, train


def _line(n=200, slope=3.0, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 1))
    return TrainingData({"x": x, "y": slope * x[:, 0]})


def _mse(model, batch):
    loss = ((model(batch["x"]).squeeze(1) - batch["y"]) ** 2).mean()
    return loss, {"mse": loss}


def _fresh(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(1, 1)


@pytest.mark.parametrize("optimizer", ["adam", "amsgrad", "sgd"])
def test_every_optimizer_fits_a_line(optimizer):
    model = _fresh()
    options = TrainingOptions(
        optimizer=optimizer, n_epochs=30, batch_size=20, initial_lr=0.1, final_lr=0.02, nesterov_momentum=0.9
    )
    history = train(model, _mse, _line(), options)
    assert history.n_epochs == 30 and history.n_train == 150 and history.n_validation == 50
    assert history.validation_loss[-1] < 0.01 * history.validation_loss[0]
    assert model.weight.item() == pytest.approx(3.0, abs=0.1)
    assert history.train_components["mse"][-1] == pytest.approx(history.train_loss[-1])
    assert not model.training


def test_learning_rate_decays_exponentially_from_initial_to_final():
    options = TrainingOptions(n_epochs=5, initial_lr=1e-2, final_lr=1e-4, validation_split=0.0)
    history = train(_fresh(), _mse, _line(), options)
    np.testing.assert_allclose(history.learning_rates, [1e-2, 10**-2.5, 1e-3, 10**-3.5, 1e-4])
    assert history.validation_loss == [] and history.best_epoch == 4


def test_early_stopping_restores_the_best_state_and_patience_stops():
    # validation data want slope 0 while training pulls the slope to 3: validation gets worse every epoch
    model = _fresh()
    with torch.no_grad():
        model.weight.fill_(0.0), model.bias.fill_(0.0)
    validation = _line(slope=0.0, seed=1)
    options = TrainingOptions(
        n_epochs=20, initial_lr=0.05, final_lr=0.05, optimizer="adam", early_stopping_patience=3
    )
    history = train(model, _mse, _line(), options, validation_data=validation)
    assert history.stopped_early and history.n_epochs == 4 and history.best_epoch == 0
    # the model holds the state of the best epoch: its validation loss is the recorded best
    x = torch.as_tensor(validation.to_numpy("x"), dtype=torch.float32)
    with torch.no_grad():
        loss = (model(x).squeeze(1) ** 2).mean().item()
    assert loss == pytest.approx(history.validation_loss[0], rel=1e-5)
    assert loss < history.validation_loss[-1]


def test_without_early_stopping_the_last_state_stays():
    model = _fresh()
    options = TrainingOptions(n_epochs=4, initial_lr=0.05, optimizer="adam", early_stopping=False)
    history = train(model, _mse, _line(), options, validation_data=_line(slope=0.0, seed=1))
    assert history.best_epoch == 3 and not history.stopped_early


def test_training_is_reproducible_for_a_seed():
    def run(seed):
        model = torch.nn.Sequential(
            torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1)
        )
        with torch.random.fork_rng():
            torch.manual_seed(0)
            for p in model.parameters():
                torch.nn.init.normal_(p, std=0.5)
        return train(model, _mse, _line(), TrainingOptions(n_epochs=3, seed=seed)).train_loss

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_gradient_clipping_bounds_each_step():
    model = _fresh()
    start = torch.cat([p.detach().flatten() for p in model.parameters()]).clone()
    options = TrainingOptions(
        optimizer="sgd",
        n_epochs=1,
        batch_size=200,
        initial_lr=1.0,
        final_lr=1.0,
        clip_gradient=1e-3,
        validation_split=0,
    )
    train(model, _mse, _line(slope=100.0), options)
    step = torch.cat([p.detach().flatten() for p in model.parameters()]) - start
    assert step.norm().item() <= 1e-3 + 1e-7


def test_loss_weights_scale_components():
    def two_parts(model, batch):
        fit = ((model(batch["x"]).squeeze(1) - batch["y"]) ** 2).mean()
        pull = (model.weight**2).sum()  # pulls the slope to 0
        return fit + pull, {"fit": fit, "pull": pull}

    weights = []
    for loss_weights in (None, {"pull": 0.0}):
        model = _fresh()
        options = TrainingOptions(
            n_epochs=30, initial_lr=0.1, final_lr=0.05, optimizer="adam", loss_weights=loss_weights
        )
        train(model, two_parts, _line(), options)
        weights.append(model.weight.item())
    assert weights[0] < 2.0 and weights[1] == pytest.approx(3.0, abs=0.1)
    with pytest.raises(EstimatorError, match="unknown components"):
        train(_fresh(), two_parts, _line(), TrainingOptions(n_epochs=1, loss_weights={"other": 1.0}))


def test_non_finite_loss_is_a_clear_error():
    data = TrainingData({"x": np.array([[np.nan]] * 10), "y": np.zeros(10)})
    with pytest.raises(EstimatorError, match="not finite"):
        train(_fresh(), _mse, data, TrainingOptions(n_epochs=1, validation_split=0))


def test_options_are_validated():
    with pytest.raises(EstimatorError, match="unknown optimizer"):
        TrainingOptions(optimizer="rmsprop")
    with pytest.raises(EstimatorError, match="validation_split"):
        TrainingOptions(validation_split=1.0)
    with pytest.raises(EstimatorError, match="unknown training option"):
        TrainingOptions().replace(epochs=3)
    assert TrainingOptions().replace(n_epochs=3).n_epochs == 3
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert TrainingOptions().to_dict()["optimizer"] == "amsgrad"


def test_progress_and_logging(caplog):
    with caplog.at_level(logging.DEBUG, logger="columnminer.ml.trainer"):
        train(_fresh(), _mse, _line(), TrainingOptions(n_epochs=2, progress=False))
    text = caplog.text
    assert "epoch 2/2" in text and "validation loss" in text and "training finished" in text


def test_loss_functions_follow_the_conventions():
    """y = 0 from theta0, y = 1 from theta1, s = 1/(1+r); totals are the sums of the components."""
    log_r = torch.tensor([2.0, -1.0, 0.5])
    y = torch.tensor([0.0, 1.0, 1.0])
    r = torch.tensor([3.0, 0.5, 1.0])
    s_hat = 1 / (1 + log_r.exp())
    carl = -(y * s_hat.log() + (1 - y) * (1 - s_hat).log()).mean()
    assert losses.carl_loss(log_r, y)[0].item() == pytest.approx(carl.item(), rel=1e-6)
    s = 1 / (1 + r)
    alice = -(s * s_hat.log() + (1 - s) * (1 - s_hat).log()).mean()
    assert losses.alice_loss(log_r, r)[0].item() == pytest.approx(alice.item(), rel=1e-6)
    total, parts = losses.rolr_loss(log_r, y, r)
    num = ((1 - y) * (1 / log_r.exp() - 1 / r)) ** 2
    den = (y * (log_r.exp() - r)) ** 2
    assert parts["ratio_num"].item() == pytest.approx(num.mean().item(), rel=1e-6)
    assert parts["ratio_den"].item() == pytest.approx(den.mean().item(), rel=1e-6)
    t_hat, t_xz = torch.tensor([[1.0], [5.0], [5.0]]), torch.tensor([[0.0], [0.0], [float("nan")]])
    total, parts = losses.alices_loss(log_r, t_hat, y, r, t_xz, alpha=2.0)
    assert parts["score"].item() == pytest.approx(2.0 * 1.0 / 3)  # only the y = 0 row counts, NaN ignored
    assert total.item() == pytest.approx(sum(p.item() for p in parts.values()))
    total, parts = losses.scandal_loss(
        torch.tensor([-1.0, -2.0]), torch.ones(2, 1), torch.zeros(2, 1), alpha=0.5
    )
    assert parts == {"nll": pytest.approx(1.5), "score": pytest.approx(0.5)}


def test_alpha_units_standardise_the_score_term():
    from columnminer.ml.base import Estimator

    theta = np.column_stack([np.linspace(-4, 4, 101), np.linspace(0, 0.1, 101)])
    data = TrainingData({"x": np.zeros((101, 1)), "theta": theta})
    scaled = Estimator._loss_alpha(data, 2.0, "standardized")
    np.testing.assert_allclose(scaled.numpy(), 2.0 * theta.var(axis=0), rtol=1e-5)
    assert Estimator._loss_alpha(data, 2.0, "physical") == 2.0
    constant = TrainingData({"x": np.zeros((3, 1)), "theta": np.zeros((3, 1))})
    assert Estimator._loss_alpha(constant, 2.0, "standardized").tolist() == [2.0]
    with pytest.raises(EstimatorError, match="alpha_units"):
        Estimator._loss_alpha(data, 1.0, "natural")
    # per-parameter weights enter the score error component by component
    term = losses.score_mse(torch.ones(3, 2), torch.zeros(3, 2), torch.ones(3), scaled)
    assert term.item() == pytest.approx(float(scaled.sum()) / 2)


# -- the mechanics of speed: they must not change what is computed ---------------------------------------------
@pytest.mark.parametrize(
    ("activation", "n_parameters", "hidden"),
    [("silu", 1, (16, 16)), ("tanh", 2, (8,)), ("relu", 3, (8, 8)), ("sigmoid", 1, ()), ("gelu", 2, (8,))],
)
def test_forward_score_in_training_equals_reverse_mode(activation, n_parameters, hidden):
    from columnminer.ml.base import value_and_gradient
    from columnminer.ml.networks import RatioNetwork

    torch.manual_seed(0)
    net = RatioNetwork(2, n_parameters, hidden=hidden, activation=activation)
    x, theta = torch.randn(32, 2), torch.randn(32, n_parameters)
    batch = {"y": (torch.rand(32) < 0.5).float(), "r_xz": torch.rand(32) + 0.5}
    batch["t_xz"] = torch.randn(32, n_parameters)
    results = []
    for training in (False, True):  # eval: reverse mode (double backward); train: forward-mode score
        net.train(training)
        net.zero_grad()
        log_r, t_hat = value_and_gradient(lambda t: net(x, t), theta, create_graph=True)
        losses.alices_loss(log_r, t_hat, batch["y"], batch["r_xz"], batch["t_xz"])[0].backward()
        results.append((log_r.detach(), t_hat.detach(), [p.grad.clone() for p in net.parameters()]))
    (log_r0, t0, grads0), (log_r1, t1, grads1) = results
    assert torch.equal(log_r0, log_r1)
    torch.testing.assert_close(t1, t0, rtol=1e-5, atol=1e-6)
    for g0, g1 in zip(grads0, grads1, strict=True):
        torch.testing.assert_close(g1, g0, rtol=1e-4, atol=1e-6)


def testlinked_score_is_what_autograd_returns():
    from columnminer.ml.networks import RatioNetwork, linked_score

    net = RatioNetwork(1, 2, hidden=(8,))
    theta = torch.randn(5, 2, requires_grad=True)
    log_r = net(torch.randn(5, 1), theta)
    (reverse,) = torch.autograd.grad(log_r.sum(), theta, retain_graph=True)
    assert torch.equal(linked_score(log_r, theta), reverse)
    assert linked_score(2 * log_r, theta) is None and linked_score(log_r, theta.detach().clone()) is None


@pytest.mark.parametrize(
    "changes",
    [{}, {"early_stopping_patience": 1, "early_stopping_tolerance": 0.0, "initial_lr": 0.5, "final_lr": 0.4}],
)
def test_background_validation_changes_nothing(monkeypatch, changes):
    from columnminer.ml import trainer

    options = TrainingOptions(n_epochs=8, batch_size=16, optimizer="adam", **changes)
    outcomes = []
    for background in (True, False):
        monkeypatch.setattr(trainer, "BACKGROUND_VALIDATION", background)
        model = _fresh()
        history = train(model, _mse, _line(n=120, seed=3), options)
        outcomes.append((model.weight.item(), model.bias.item(), history.to_dict() | {"seconds": 0}))
    assert outcomes[0] == outcomes[1]
    if changes:  # the patience ran out: the epoch trained meanwhile was dropped again
        assert outcomes[0][2]["stopped_early"] and len(outcomes[0][2]["train_loss"]) < 8


def test_small_batches_train_on_one_thread_and_restore_the_setting():
    seen = []

    def loss_fn(model, batch):
        seen.append(torch.get_num_threads())
        return _mse(model, batch)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train(
            _fresh(), loss_fn, _line(n=40), TrainingOptions(n_epochs=2, batch_size=8)
        )  # background validation
        assert len(seen) == 2 * (4 + 2) and set(seen) == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
