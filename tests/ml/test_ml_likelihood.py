"""LikelihoodEstimator (NDE, SCANDAL) on the Gaussian toy: normalisation, accuracy, score, ratios."""

import numpy as np
import pytest
from ml_toy import THETA_GRID, TOY, density_sample

from columnminer.errors import EstimatorError
from columnminer.ml import LikelihoodEstimator, TrainingOptions

SMALL = TrainingOptions(n_epochs=8, batch_size=64, initial_lr=3e-3, final_lr=3e-4, progress=False)


@pytest.fixture(scope="module")
def scandal():
    estimator = LikelihoodEstimator(n_hidden=(32,), n_transforms=2)
    history = estimator.train("scandal", sample=density_sample(3000), options=SMALL)
    assert set(history.train_components) == {"nll", "score"}
    return estimator


def test_scandal_learns_the_toy_density(scandal, x_test):
    log_p = scandal.evaluate_log_likelihood(x_test[:, None], THETA_GRID[:, None])
    assert log_p.shape == (20, 50)
    exact = TOY.log_p_x(x_test[None, :], THETA_GRID[:, None])
    assert np.mean((log_p - exact) ** 2) < 0.05


def test_density_is_normalised_in_the_units_of_x(scandal):
    """The scaling Jacobian is included: exp(log p) integrates to one over x."""
    grid = np.linspace(-15, 15, 3001)
    log_p = scandal.evaluate_log_likelihood(grid[:, None], [[-1.0], [2.0]])
    integrals = np.exp(log_p).sum(axis=1) * (grid[1] - grid[0])
    np.testing.assert_allclose(integrals, 1.0, atol=0.01)


def test_score_and_ratio_from_the_flow(scandal, x_test):
    thetas = np.array([[-1.0], [0.0], [1.5]])
    score = scandal.evaluate_score(x_test[:, None], thetas)
    assert score.shape == (3, 50, 1)
    assert np.mean((score[..., 0] - TOY.score(x_test[None, :], thetas)) ** 2) < 0.02
    log_p, score2 = scandal.evaluate_log_likelihood(x_test[:, None], thetas, evaluate_score=True)
    np.testing.assert_allclose(score2, score, rtol=1e-5)
    log_r = scandal.evaluate_log_likelihood_ratio(x_test[:, None], thetas, [[0.0]])
    log_p0 = scandal.evaluate_log_likelihood(x_test[:, None], [[0.0]])
    np.testing.assert_allclose(log_r, log_p - log_p0, rtol=1e-5, atol=1e-5)
    paired = scandal.evaluate_log_likelihood(x_test[:3, None], thetas, test_all_combinations=False)
    np.testing.assert_allclose(paired, np.diag(log_p[:, :3]), rtol=1e-5)
    fisher = scandal.calculate_fisher_information(TOY.simulate(0.0, n=2000, seed=8)[0], theta=[[0.0]])
    assert fisher[0, 0] == pytest.approx(TOY.fisher_information(), rel=0.3)
    with pytest.raises(EstimatorError, match="needs theta1"):
        scandal.evaluate_log_likelihood_ratio(x_test, thetas)


def test_nde_trains_and_samples(x_test):
    estimator = LikelihoodEstimator(n_hidden=(32,), n_transforms=2)
    history = estimator.train(
        "nde", **{k: v for k, v in density_sample(3000).items() if k != "t_xz"}, options=SMALL
    )
    assert set(history.train_components) == {"nll"}
    log_p = estimator.evaluate_log_likelihood(x_test, THETA_GRID)
    exact = TOY.log_p_x(x_test[None, :], THETA_GRID[:, None])
    assert np.mean((log_p - exact) ** 2) < 0.1
    import torch

    draws = estimator.model.sample(torch.full((4000, 1), 2.0)).numpy()[:, 0]
    assert draws.mean() == pytest.approx(2.0, abs=0.2) and draws.std() == pytest.approx(np.sqrt(5), rel=0.1)


def test_likelihood_settings_are_checked():
    with pytest.raises(EstimatorError, match="n_transforms"):
        LikelihoodEstimator(n_transforms=0)
    with pytest.raises(EstimatorError, match="dropout"):
        LikelihoodEstimator(dropout_prob=0.1)
    with pytest.raises(EstimatorError, match="needs the training column"):
        LikelihoodEstimator().train("scandal", x=np.zeros((5, 1)), theta=np.zeros((5, 1)))
    with pytest.raises(EstimatorError, match="unknown activation"):
        LikelihoodEstimator(activation="swish").train("nde", x=np.zeros((5, 1)), theta=np.zeros((5, 1)))
