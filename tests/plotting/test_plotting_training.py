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
    history = trained.history
    ax, *parts = fig.axes  # the total loss, then one axis per ALICES term
    assert [len(line.get_xdata()) for line in ax.lines if line.get_linestyle() != ":"] == [2, 2]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history.train_loss)
    best = f"best epoch ({history.best_epoch + 1})"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation", best]
    assert [a.get_ylabel() for a in parts] == ["cross entropy", "score MSE"]
    for a, name in zip(parts, ["cross_entropy", "score"], strict=True):
        curves = [line for line in a.lines if line.get_linestyle() != ":"]
        np.testing.assert_allclose(curves[0].get_ydata(), history.train_components[name])
        np.testing.assert_allclose(curves[1].get_ydata(), history.validation_components[name])
        assert [line.get_xdata()[0] for line in a.lines if line.get_linestyle() == ":"] == [
            history.best_epoch + 1
        ]
    assert (ax.get_ylabel(), parts[-1].get_xlabel()) == ("total loss", "epoch")
    assert len(plot_training_history(trained, components=False).axes) == 1


def test_components_of_different_size_get_their_own_scale():
    """Cross entropy ~0.69 and a score MSE falling from 0.3 to 0.003: separate axes, the latter logarithmic."""
    parts = {"cross_entropy": [0.69, 0.68, 0.68], "score": [0.3, 0.01, 0.003]}
    history = TrainingHistory(
        train_loss=[0.99, 0.69, 0.683],
        train_components=parts,
        validation_loss=[1.0, 0.7, 0.69],
        validation_components=parts,
        best_epoch=2,
    )
    fig = plot_training_history(history)
    assert [(a.get_ylabel(), a.get_yscale()) for a in fig.axes] == [
        ("total loss", "linear"),
        ("cross entropy", "linear"),
        ("score MSE", "log"),
    ]
    carl = TrainingHistory(train_loss=[0.7, 0.69], train_components={"cross_entropy": [0.7, 0.69]})
    assert [a.get_ylabel() for a in plot_training_history(carl).axes] == ["loss (cross entropy)"]


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
