"""The defaults that ``benchmarks/ml_accuracy.py`` measures: what a user gets with no arguments.

The settings checked here are the ones the benchmark's "columnminer defaults" column claims (architecture,
training schedule, per-method alpha and gradient clipping, early stopping with a tolerance, SALLY's
per-component score standardisation), plus two accuracy checks on the Gaussian toy at a reduced size that
MadMiner's settings fail by a wide margin.
"""

import json

import numpy as np
import pytest
import torch
from ml_toy import THETA_GRID, TOY, ratio_sample

from columnminer.errors import EstimatorError
from columnminer.ml import (
    RATIO_METHODS,
    DoubleParameterizedRatioEstimator,
    ParameterizedRatioEstimator,
    ScoreEstimator,
    TrainingData,
    TrainingOptions,
    load_estimator,
    train,
)
from columnminer.ml.trainer import _difference_se

TINY = {"n_epochs": 1, "batch_size": 64, "progress": False}


def _log_r_mse(estimator, x_test):
    log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], THETA_GRID[:, None])
    exact = TOY.log_ratio(x_test[None, :], THETA_GRID[:, None], 0.0)
    return float(np.mean((log_r - exact) ** 2))


# -- the settings -------------------------------------------------------------------------------------------
def test_default_training_options():
    options = TrainingOptions()
    assert (options.optimizer, options.initial_lr, options.final_lr) == ("amsgrad", 3e-3, 1e-5)
    assert (options.n_epochs, options.batch_size, options.validation_split) == (30, 128, 0.25)
    assert options.early_stopping and options.early_stopping_tolerance == 1.0
    assert options.clip_gradient == "auto" and options.early_stopping_patience is None
    madminer = TrainingOptions.madminer(seed=3)
    assert (madminer.initial_lr, madminer.final_lr, madminer.n_epochs, madminer.batch_size) == (
        1e-3,
        1e-4,
        50,
        128,
    )
    assert madminer.early_stopping_tolerance == 0.0 and madminer.clip_gradient is None
    assert madminer.seed == 3 and madminer.optimizer == "amsgrad"
    with pytest.raises(EstimatorError, match="clip_gradient"):
        TrainingOptions(clip_gradient="sometimes")
    with pytest.raises(EstimatorError, match="clip_gradient"):
        TrainingOptions(clip_gradient=0.0)
    with pytest.raises(EstimatorError, match="tolerance"):
        TrainingOptions(early_stopping_tolerance=-1.0)


def test_default_architectures():
    for klass in (ParameterizedRatioEstimator, DoubleParameterizedRatioEstimator, ScoreEstimator):
        estimator = klass()
        assert estimator.n_hidden == (100, 100) and estimator.activation == "silu", klass
    assert ScoreEstimator().score_scaling == "standard"
    with pytest.raises(EstimatorError, match="score_scaling"):
        ScoreEstimator(score_scaling="robust")


@pytest.mark.parametrize("klass", [ParameterizedRatioEstimator, DoubleParameterizedRatioEstimator])
def test_per_method_alpha_and_clipping(klass):
    expected = {method: (1.0, None) for method in RATIO_METHODS}
    expected.update(rascal=(100.0, 1.0), rolr=(1.0, 1.0))
    for method, (alpha, clip) in expected.items():
        assert klass().training_defaults(method) == {"alpha": alpha, "clip_gradient": clip}, method
    with pytest.raises(EstimatorError, match="does not know method"):
        klass().training_defaults("sally")


def test_train_uses_the_method_defaults():
    """alpha=None and clip_gradient="auto" train exactly as the explicit per-method values do."""
    sample = ratio_sample(400, seed=3)

    def history(**kwargs):
        estimator = ParameterizedRatioEstimator(n_hidden=(8,))
        return estimator.train("rascal", sample=sample, **TINY, **kwargs)

    default = history()
    explicit = history(alpha=100.0, clip_gradient=1.0)
    assert default.train_loss == explicit.train_loss
    assert default.train_components["score"] == explicit.train_components["score"]
    assert history(alpha=1.0, clip_gradient=1.0).train_loss != default.train_loss
    assert history(alpha=100.0, clip_gradient=None).train_loss != default.train_loss


# -- early stopping ------------------------------------------------------------------------------------------
def _noisy_line(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1))
    return TrainingData({"x": x, "y": 3 * x[:, 0] + rng.normal(0, 1, n)})


def _mse(model, batch):
    loss = ((model(batch["x"]).squeeze(1) - batch["y"]) ** 2).mean()
    return loss, {"mse": loss}


def _train_line(tolerance):
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    options = TrainingOptions(
        n_epochs=12, batch_size=20, initial_lr=0.2, final_lr=0.2, optimizer="adam",
        early_stopping_tolerance=tolerance, progress=False,
    )  # fmt: skip
    history = train(model, _mse, _noisy_line(), options)
    return model, history


def test_early_stopping_tolerance():
    """Tolerance 0 keeps the epoch of the smallest validation loss; the default keeps the latest epoch within
    one standard error of it; a huge tolerance keeps the last epoch."""
    classic_model, classic = _train_line(0.0)
    assert classic.best_epoch == classic.min_epoch == int(np.argmin(classic.validation_loss))
    lenient_model, lenient = _train_line(1e9)
    assert lenient.best_epoch == lenient.n_epochs - 1 and lenient.min_epoch == classic.min_epoch
    model, default = _train_line(1.0)
    # the line is fitted after a few epochs, the rest is noise: the default keeps a late epoch
    assert default.min_epoch == classic.min_epoch < default.best_epoch
    assert default.validation_loss[default.best_epoch] - default.validation_loss[default.min_epoch] < 0.05
    if default.best_epoch == default.n_epochs - 1:
        assert torch.equal(model.weight, lenient_model.weight)
    assert not torch.equal(model.weight, classic_model.weight)


def test_difference_standard_error():
    best = [(1.0, 10), (2.0, 10), (3.0, 10)]
    assert _difference_se([(1.5, 10), (2.5, 10), (3.5, 10)], best) == 0.0  # a constant shift
    se = _difference_se([(1.0, 10), (2.0, 10), (4.0, 10)], best)
    diffs = np.array([0.0, 0.0, 1.0])
    expected = np.sqrt(10 * ((diffs - diffs.mean()) ** 2).sum() / 2 / 30)
    assert se == pytest.approx(expected)
    assert _difference_se([(1.0, 10)], [(2.0, 10)]) == 0.0


# -- SALLY's score standardisation --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_scale_sally():
    """Scores of two components a factor 100 apart in spread: t = (x/5, x/500) plus noise."""
    x, z = TOY.simulate(0.0, n=4000, seed=5)
    joint = TOY.joint_score(x, z, 0.0)
    t_xz = np.stack([joint, joint / 100.0], axis=1)
    estimator = ScoreEstimator(n_hidden=(32, 32))
    estimator.train("sally", x=x[:, None], t_xz=t_xz, n_epochs=10, progress=False)
    return estimator, t_xz


def test_score_network_learns_standardised_scores(two_scale_sally):
    estimator, t_xz = two_scale_sally
    arrays = estimator.model.score_scaler.arrays()
    # fitted on the training part of the data (the default validation split holds out 25%)
    stats = TrainingData({"t": t_xz}).split(0.25, seed=0)[0].statistics("t")
    np.testing.assert_allclose(arrays["scale"], stats.std, rtol=1e-6)
    np.testing.assert_allclose(arrays["shift"], stats.mean, rtol=1e-6, atol=1e-9)
    x = TOY.simulate(0.0, n=200, seed=6)[0][:, None]
    t_hat = estimator.evaluate_score(x)
    with torch.no_grad():
        u = estimator.model.standardized(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    # the network output is on the standardised scale; the estimator returns physical units
    np.testing.assert_allclose(t_hat, u * arrays["scale"] + arrays["shift"], rtol=1e-5, atol=1e-9)
    assert 0.3 < u.std(axis=0).min() and u.std(axis=0).max() < 1.5
    # both components learnt alike, relative to their own spread (t(x|0) = x / 5 and x / 500)
    exact = np.stack([TOY.score(x[:, 0], 0.0), TOY.score(x[:, 0], 0.0) / 100.0], axis=1)
    relative = np.mean((t_hat - exact) ** 2, axis=0) / np.var(exact, axis=0)
    # (unstandardised, the loss all but ignores the narrow component: 0.0004 and 0.019 here)
    assert relative.max() < 0.01, relative
    assert relative[1] < 5 * relative[0] + 0.002, relative


def test_score_scaling_survives_save_and_load(two_scale_sally, tmp_path):
    estimator, _ = two_scale_sally
    estimator.save(tmp_path / "sally")
    loaded = load_estimator(tmp_path / "sally")
    assert loaded.score_scaling == "standard"
    x = TOY.simulate(0.0, n=50, seed=8)[0][:, None]
    np.testing.assert_array_equal(loaded.evaluate_score(x), estimator.evaluate_score(x))
    for key, value in estimator.model.score_scaler.arrays().items():
        np.testing.assert_array_equal(loaded.model.score_scaler.arrays()[key], value)


def test_score_estimators_saved_before_score_scaling_load_unscaled(tmp_path):
    """Files written before ``score_scaling`` existed have no such setting and no scaler arrays."""
    x, z = TOY.simulate(0.0, n=300, seed=9)
    estimator = ScoreEstimator(n_hidden=(8,), score_scaling="none")
    estimator.train("sally", x=x[:, None], t_xz=TOY.joint_score(x, z, 0.0)[:, None], **TINY)
    assert estimator.model.score_scaler is None
    files = estimator.save(tmp_path / "old")
    meta = json.loads(files["settings"].read_text())
    del meta["settings"]["score_scaling"]
    files["settings"].write_text(json.dumps(meta))
    loaded = load_estimator(tmp_path / "old")
    assert loaded.score_scaling == "none"
    np.testing.assert_array_equal(loaded.evaluate_score(x[:5, None]), estimator.evaluate_score(x[:5, None]))


# -- accuracy with nothing but the data ---------------------------------------------------------------------
@pytest.mark.parametrize(("method", "limit"), [("alices", 0.03), ("rascal", 0.06)])
def test_defaults_learn_the_toy(method, limit, x_test):
    """3000 rows and nothing else: MSE of log r about 0.003-0.008 (alices) and 0.008-0.02 (rascal) over
    seeds; MadMiner's settings (``TrainingOptions.madminer()``, one layer of 100 tanh, alpha = 1) give
    0.09-0.13 and 0.3-1.2 on these samples."""
    sample = ratio_sample(3000, seed=12)
    estimator = ParameterizedRatioEstimator()
    estimator.train(method, **sample)
    assert _log_r_mse(estimator, x_test) < limit
