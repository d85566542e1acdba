"""Likelihood-ratio estimators on the Gaussian toy: every method trains, accuracy on a small budget, shapes."""

import numpy as np
import pytest
from ml_toy import THETA_GRID, TOY, ratio_sample

from columnminer.errors import EstimatorError
from columnminer.ml import (
    RATIO_METHODS,
    DoubleParameterizedRatioEstimator,
    ParameterizedRatioEstimator,
    TrainingData,
    TrainingOptions,
)

SMALL = TrainingOptions(n_epochs=12, batch_size=64, initial_lr=3e-3, final_lr=3e-4, progress=False)


def _log_r_mse(log_r, x_test, theta1=0.0):
    exact = TOY.log_ratio(x_test[None, :], THETA_GRID[:, None], theta1)
    return float(np.mean((log_r - exact) ** 2))


@pytest.fixture(scope="module")
def sample():
    return ratio_sample(3000, seed=11)


@pytest.fixture(scope="module")
def trained(sample):
    """One small ALICES estimator shared by the shape tests."""
    estimator = ParameterizedRatioEstimator(n_hidden=(32, 32))
    estimator.train("alices", sample=sample, options=SMALL)
    return estimator


@pytest.mark.parametrize("method", RATIO_METHODS)
def test_every_ratio_method_trains_and_learns_the_toy(method, sample, x_test):
    estimator = ParameterizedRatioEstimator(n_hidden=(32, 32))
    history = estimator.train(method, sample=sample, options=SMALL)
    assert history.n_epochs == SMALL.n_epochs and np.isfinite(history.train_loss).all()
    log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], THETA_GRID[:, None])
    assert log_r.shape == (20, 50)
    # small budget: far better than ignoring x (log r = 0 gives an MSE of about 1.5 here)
    assert _log_r_mse(np.zeros_like(log_r), x_test) > 1.0
    limit = {"carl": 0.4, "rolr": 0.5, "rascal": 0.4, "cascal": 0.3}.get(
        method, 0.2
    )  # about twice the typical
    assert _log_r_mse(log_r, x_test) < limit, method


def test_score_methods_are_more_accurate_than_carl(sample, x_test, trained):
    carl = ParameterizedRatioEstimator(n_hidden=(32, 32))
    carl.train("carl", sample=sample, options=SMALL)
    grid = THETA_GRID[:, None]
    mse_carl = _log_r_mse(carl.evaluate_log_likelihood_ratio(x_test[:, None], grid), x_test)
    mse_alices = _log_r_mse(trained.evaluate_log_likelihood_ratio(x_test[:, None], grid), x_test)
    assert mse_alices < mse_carl


def test_score_of_the_ratio_estimator(trained, x_test):
    theta = np.array([[-1.0], [0.5], [2.0]])
    score = trained.evaluate_score(x_test[:, None], theta)
    assert score.shape == (3, 50, 1)
    exact = TOY.score(x_test[None, :], theta)
    assert np.mean((score[..., 0] - exact) ** 2) < 0.02
    _, score2 = trained.evaluate_log_likelihood_ratio(x_test[:, None], theta, evaluate_score=True)
    np.testing.assert_allclose(score2, score, rtol=1e-6)
    fisher = trained.calculate_fisher_information(TOY.simulate(0.5, n=2000, seed=3)[0][:, None], theta=[0.5])
    assert fisher.shape == (1, 1) and fisher[0, 0] == pytest.approx(TOY.fisher_information(), rel=0.3)


def test_evaluation_shapes_and_pairing(trained, x_test):
    x = x_test[:, None]
    grid = THETA_GRID[:, None]
    all_pairs = trained.evaluate_log_likelihood_ratio(x, grid)
    paired = trained.evaluate_log_likelihood_ratio(x[:20], grid, test_all_combinations=False)
    np.testing.assert_allclose(paired, np.diag(all_pairs[:, :20]), rtol=1e-5, atol=1e-6)
    one_theta = trained.evaluate_log_likelihood_ratio(x, [[1.0]], test_all_combinations=False)
    assert one_theta.shape == (50,)
    # 1-d inputs for one observable / one parameter, and batching over many rows
    trained.eval_batch_size = 7
    np.testing.assert_allclose(
        trained.evaluate_log_likelihood_ratio(x_test, THETA_GRID), all_pairs, rtol=1e-5, atol=1e-6
    )
    trained.eval_batch_size = 50_000
    with pytest.raises(EstimatorError, match="as many x"):
        trained.evaluate_log_likelihood_ratio(x[:3], grid[:4], test_all_combinations=False)
    with pytest.raises(EstimatorError, match="fixed reference"):
        trained.evaluate_log_likelihood_ratio(x, grid, grid)
    with pytest.raises(EstimatorError, match="does not estimate the likelihood"):
        trained.evaluate_log_likelihood(x, grid)
    with pytest.raises(EstimatorError, match="shape"):
        trained.evaluate_log_likelihood_ratio(np.zeros((3, 2)), grid)


def test_training_data_forms_and_errors(sample, tmp_path):
    paths = {}
    for name in ("x", "theta", "y"):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], sample[name][:400])
    estimator = ParameterizedRatioEstimator(n_hidden=(8,))
    history = estimator.train(
        "carl", **{k: str(v) for k, v in paths.items()}, n_epochs=1, validation_split=0.0
    )
    assert history.n_train == 400 and history.validation_loss == []
    validation = TrainingData({k: v[400:500] for k, v in sample.items()})
    history = estimator.train(
        "carl", sample={k: v[:400] for k, v in sample.items()}, validation=validation, n_epochs=1
    )
    assert history.n_validation == 100
    with pytest.raises(EstimatorError, match="needs the training column"):
        estimator.train("rolr", x=sample["x"], theta=sample["theta"], y=sample["y"])
    with pytest.raises(EstimatorError, match="does not know method"):
        estimator.train("sally", sample=sample)
    with pytest.raises(EstimatorError, match="not both"):
        estimator.train("carl", sample=sample, x=sample["x"])
    with pytest.raises(EstimatorError, match="no training data"):
        estimator.train("carl")
    with pytest.raises(EstimatorError, match="components"):
        estimator.train("cascal", sample={**sample, "t_xz": np.zeros((3000, 2))})
    with pytest.raises(EstimatorError, match="several theta1 points"):
        estimator.train("carl", sample=ratio_sample(300, double=True))
    with pytest.raises(EstimatorError, match="not trained"):
        ParameterizedRatioEstimator().evaluate_score(sample["x"], [[0.0]])


def test_feature_selection(sample, x_test):
    """Only the selected observable columns enter the network (the second column here is noise)."""
    noise = np.random.default_rng(0).normal(size=(3000, 1)) * 100
    data = {**sample, "x": np.concatenate([sample["x"], noise], axis=1)}
    estimator = ParameterizedRatioEstimator(features=[0], n_hidden=(32, 32))
    estimator.train("alices", sample=data, options=SMALL)
    x = np.stack([x_test, np.full(50, 1e4)], axis=1)  # the noise column is ignored, even far out
    log_r = estimator.evaluate_log_likelihood_ratio(x, THETA_GRID[:, None])
    assert _log_r_mse(log_r, x_test) < 0.15
    with pytest.raises(EstimatorError, match="out of range"):
        ParameterizedRatioEstimator(features=[3]).train("carl", sample=data, n_epochs=1)


@pytest.mark.parametrize("method", ["carl", "alices"])
def test_double_parameterized_ratio(method, x_test):
    sample = ratio_sample(3000, seed=12, double=True)
    estimator = DoubleParameterizedRatioEstimator(n_hidden=(32, 32))
    history = estimator.train(method, sample=sample, options=SMALL)
    if method == "alices":
        assert set(history.train_components) == {"cross_entropy", "score", "score1"}
    grid = THETA_GRID[:, None]
    log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], grid, [[0.0]])
    assert log_r.shape == (20, 50)
    assert _log_r_mse(log_r, x_test) < (0.6 if method == "carl" else 0.3)
    # antisymmetric by construction
    swapped = estimator.evaluate_log_likelihood_ratio(x_test[:, None], [[0.0]], grid)
    np.testing.assert_array_equal(swapped, -log_r)
    same = estimator.evaluate_log_likelihood_ratio(x_test[:, None], grid, grid)
    np.testing.assert_array_equal(same, 0.0)
    log_r2, t0, t1 = estimator.evaluate_log_likelihood_ratio(
        x_test[:, None], grid, [[0.0]], evaluate_score=True
    )
    np.testing.assert_allclose(log_r2, log_r, rtol=1e-6)
    assert t0.shape == t1.shape == (20, 50, 1)
    score = estimator.evaluate_score(x_test[:, None], [[0.0]])
    assert score.shape == (1, 50, 1)
    with pytest.raises(EstimatorError, match="needs theta1"):
        estimator.evaluate_log_likelihood_ratio(x_test, grid)
