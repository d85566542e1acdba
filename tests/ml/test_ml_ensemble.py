"""Ensembles of estimators: training, mean / covariance of predictions, Fisher information, save / load."""

import json

import numpy as np
import pytest
from ml_toy import THETA_GRID, TOY, local_sample, ratio_sample

from columnminer.errors import EstimatorError, EstimatorFormatError
from columnminer.ml.ensemble import Ensemble, EnsembleFisherInformation, EnsemblePrediction
from columnminer.ml.ratio import ParameterizedRatioEstimator
from columnminer.ml.score import ScoreEstimator


@pytest.fixture(scope="module")
def sally_ensemble():
    # two layers of 32 and 10 epochs: the default learning rate decays to 1e-5 by the last epoch, and the
    # (16,) networks of 4 epochs this test used with MadMiner's schedule stay far from the score
    ensemble = Ensemble.create(ScoreEstimator, 3, n_hidden=(32, 32))
    histories = ensemble.train_all("sally", **local_sample(1500), n_epochs=10, progress=False)
    assert len(histories) == 3
    return ensemble


@pytest.fixture(scope="module")
def ratio_ensemble():
    ensemble = Ensemble.create(ParameterizedRatioEstimator, 2, n_hidden=(16,))
    ensemble.train_all("alices", **ratio_sample(1500), n_epochs=3, progress=False)
    return ensemble


def test_prediction_statistics():
    members = np.random.default_rng(0).normal(size=(5, 7, 2))
    prediction = EnsemblePrediction(members)
    assert prediction.n_members == 5
    np.testing.assert_allclose(prediction.mean, members.mean(0))
    np.testing.assert_allclose(prediction.std, members.std(0, ddof=1))
    covariance = prediction.covariance()
    assert covariance.shape == (7, 2, 2)
    np.testing.assert_allclose(covariance[3], np.cov(members[:, 3].T))
    single = EnsemblePrediction(members[:1])
    assert np.all(single.std == 0) and np.all(single.covariance() == 0)


def test_members_differ_and_mean_is_the_average(sally_ensemble, x_test):
    prediction = sally_ensemble.evaluate_score(x_test[:, None])
    assert prediction.members.shape == (3, 50, 1)
    # different seeds: different networks
    assert np.ptp(prediction.members[:, :, 0], axis=0).max() > 1e-4
    by_hand = np.mean([e.evaluate_score(x_test[:, None]) for e in sally_ensemble], axis=0)
    np.testing.assert_allclose(prediction.mean, by_hand)
    # close to the exact score t(x|0) = x / 5 after a short training
    assert np.mean((prediction.mean[:, 0] - TOY.score(x_test, 0.0)) ** 2) < 0.05


def test_fisher_information_with_uncertainty(sally_ensemble):
    x = TOY.simulate(0.0, n=2000, seed=11)[0][:, None]
    fisher = sally_ensemble.calculate_fisher_information(x, n_events=10.0)
    assert isinstance(fisher, EnsembleFisherInformation)
    assert fisher.information.shape == (1, 1) and fisher.members.shape == (3, 1, 1)
    assert fisher.covariance.shape == (1, 1, 1, 1)
    members = [e.calculate_fisher_information(x, n_events=10.0) for e in sally_ensemble]
    np.testing.assert_allclose(fisher.members, np.stack(members), rtol=1e-10)
    np.testing.assert_allclose(fisher.information, np.mean(members, axis=0), rtol=1e-10)
    np.testing.assert_allclose(fisher.uncertainty[0, 0], np.std(np.ravel(members), ddof=1), rtol=1e-8)
    # the exact information is 10 * 0.2 = 2; SALLY underestimates a little at most
    assert 1.0 < fisher.information[0, 0] < 2.6
    from_mean_score = sally_ensemble.calculate_fisher_information(x, n_events=10.0, mode="score")
    assert from_mean_score.information[0, 0] <= fisher.information[0, 0] + 1e-9  # Jensen
    weighted = sally_ensemble.calculate_fisher_information(x, weights=np.ones(len(x)) * 3.0, n_events=10.0)
    np.testing.assert_allclose(weighted.information, fisher.information, rtol=1e-10)
    with pytest.raises(EstimatorError, match="mode"):
        sally_ensemble.calculate_fisher_information(x, mode="median")


def test_ratio_ensemble_shapes(ratio_ensemble, x_test):
    log_r = ratio_ensemble.evaluate_log_likelihood_ratio(x_test[:, None], THETA_GRID[:, None])
    assert log_r.members.shape == (2, 20, 50) and log_r.std.shape == (20, 50)
    paired = ratio_ensemble.evaluate_log_likelihood_ratio(
        x_test[:, None], np.full((50, 1), 1.0), test_all_combinations=False
    )
    assert paired.mean.shape == (50,)
    score = ratio_ensemble.evaluate_score(x_test[:, None], [[1.0]])
    assert score.members.shape == (2, 1, 50, 1)
    fisher = ratio_ensemble.calculate_fisher_information(x_test[:, None], theta=[[1.0]])
    assert fisher.information.shape == (1, 1)


def test_save_load_round_trip(sally_ensemble, tmp_path, x_test):
    index = sally_ensemble.save(tmp_path / "ens")
    meta = json.loads(index.read_text())
    assert meta["estimator"] == "ScoreEstimator" and meta["members"] == [
        "member_000",
        "member_001",
        "member_002",
    ]
    assert all((tmp_path / "ens" / name).is_dir() for name in meta["members"])
    loaded = Ensemble.load(tmp_path / "ens")
    assert len(loaded) == 3 and loaded.estimator_class is ScoreEstimator
    np.testing.assert_allclose(
        loaded.evaluate_score(x_test[:, None]).members,
        sally_ensemble.evaluate_score(x_test[:, None]).members,
        rtol=1e-6,
    )
    # corrupt index / newer format / missing member: clear errors
    meta["format_version"] = 99
    index.write_text(json.dumps(meta))
    with pytest.raises(EstimatorFormatError, match="format version 99"):
        Ensemble.load(tmp_path / "ens")
    meta["format_version"] = 1
    meta["members"].append("member_009")
    index.write_text(json.dumps(meta))
    with pytest.raises(EstimatorFormatError, match="member_009"):
        Ensemble.load(tmp_path / "ens")
    index.write_text("{not json")
    with pytest.raises(EstimatorFormatError, match="JSON"):
        Ensemble.load(tmp_path / "ens")
    with pytest.raises(EstimatorFormatError, match="missing"):
        Ensemble.load(tmp_path / "nothing")


def test_one_kind_only_and_train_one():
    ensemble = Ensemble([ScoreEstimator(n_hidden=(4,))])
    with pytest.raises(EstimatorError, match="one kind"):
        ensemble.add(ParameterizedRatioEstimator())
    with pytest.raises(EstimatorError, match="not trained"):
        ensemble.evaluate_score(np.zeros((3, 1)))
    with pytest.raises(EstimatorError, match="no ensemble member 3"):
        ensemble.train_one(3, "sally", **local_sample(100))
    history = ensemble.train_one(0, "sally", **local_sample(200), n_epochs=1, progress=False)
    assert history.n_epochs == 1 and ensemble.histories[0] is history
    with pytest.raises(EstimatorError, match="member_kwargs"):
        ensemble.train_all("sally", member_kwargs=[{}, {}], **local_sample(100))
    with pytest.raises(EstimatorError, match="at least one"):
        Ensemble.create(ScoreEstimator, 0)
    with pytest.raises(EstimatorError, match="empty"):
        Ensemble().evaluate_score(np.zeros((3, 1)))
