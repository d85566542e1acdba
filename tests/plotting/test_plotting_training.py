"""Training plots: loss curves (with loss terms) of a tiny estimator, learned vs exact log r on the toy."""

import numpy as np
import pytest

from columnminer.errors import PlottingError
from columnminer.ml import ParameterizedRatioEstimator
from columnminer.ml.trainer import TrainingHistory
from columnminer.plotting.training import plot_log_ratio_validation, plot_training_history


@pytest.fixture(scope="module")
def trained(toy_store):
    """A tiny ALICES estimator, two epochs on 600 toy events."""
    toy, rng = toy_store["toy"], np.random.default_rng(2)
    theta0 = rng.uniform(-2, 2, 600)
    y = (np.arange(600) >= 300).astype(float)
    x, z = toy.simulate(np.where(y == 0, theta0, 0.0), seed=rng)
    estimator = ParameterizedRatioEstimator(n_hidden=(8,))
    estimator.train(
        "alices",
        x=x[:, None],
        theta=theta0[:, None],
        y=y,
        r_xz=toy.joint_ratio(x, z, theta0, 0.0),
        t_xz=toy.joint_score(x, z, theta0)[:, None],
        n_epochs=2,
        batch_size=100,
        progress=False,
    )
    return estimator


def test_history_of_a_trained_estimator(trained, render):
    fig = plot_training_history(trained)
    render(fig, "training_history")
    ax, parts = fig.axes  # total loss, and the ALICES terms
    assert [len(line.get_xdata()) for line in ax.lines if line.get_linestyle() != ":"] == [2, 2]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), trained.history.train_loss)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation", "best epoch"]
    assert sorted(t.get_text() for t in parts.get_legend().get_texts()) == sorted(
        trained.history.train_components
    )
    assert len(parts.lines) == 2 * len(trained.history.train_components)  # training and validation
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")


def test_several_histories_as_dicts(render):
    a = TrainingHistory(train_loss=[1.0, 0.8, 0.7], validation_loss=[1.1, 0.9, 0.85], best_epoch=2)
    b = TrainingHistory(train_loss=[2.0, 1.0, 0.9, 0.8], best_epoch=3)
    fig = plot_training_history({"a": a, "b": b.to_dict()}, log=True)
    render(fig, "training_two")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(fig.axes) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training",
        "validation",
        "best epoch",
        "a",
        "b",
    ]
    with pytest.raises(PlottingError, match="not been trained"):
        plot_training_history(ParameterizedRatioEstimator(n_hidden=(4,)))
    with pytest.raises(PlottingError, match="labels"):
        plot_training_history([a, b], ["only one"])


def test_learned_against_exact_log_ratio(trained, toy_store, render):
    toy = toy_store["toy"]
    x, _ = toy.simulate(0.0, n=300, seed=9)
    thetas = np.array([[-1.0], [1.0]])
    learned = trained.evaluate_log_likelihood_ratio(x[:, None], thetas)
    exact = toy.log_ratio(x[None, :], thetas, 0.0)
    fig = plot_log_ratio_validation({"alices": learned, "shifted": exact + 0.2}, exact, max_points=250)
    render(fig, "log_ratio_validation")
    ax, residual = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    rms = np.sqrt(np.mean((learned - exact) ** 2))
    assert texts == [f"alices (RMS {rms:.3g})", "shifted (RMS 0.2)"]
    assert [len(c.get_offsets()) for c in ax.collections] == [250, 250]  # subsampled from 600
    np.testing.assert_allclose(residual.collections[1].get_offsets()[:, 1], 0.2)
    assert residual.get_ylabel() == "residual"
    fig = plot_log_ratio_validation(exact.ravel(), exact, residuals=False)
    assert len(fig.axes) == 1
    with pytest.raises(PlottingError, match="exact"):
        plot_log_ratio_validation(learned[:1], exact)
