"""ScoreEstimator (SALLY): accuracy on the toy, Fisher information, nuisance profiling, training from a store."""

import numpy as np
import pytest
from ml_toy import TOY, local_sample

from columnminer import AnalysisSetup
from columnminer.errors import EstimatorError
from columnminer.io.store import EventStore
from columnminer.ml import ScoreEstimator, TrainingData, TrainingOptions, load_estimator
from columnminer.sampling import SampleAugmenter, benchmark

SMALL = TrainingOptions(n_epochs=10, batch_size=64, initial_lr=3e-3, final_lr=3e-4, progress=False)


@pytest.fixture(scope="module")
def sally():
    estimator = ScoreEstimator(n_hidden=(32,))
    estimator.train("sally", sample=local_sample(3000), options=SMALL)
    return estimator


def test_sally_learns_the_toy_score(sally):
    x = TOY.simulate(0.0, n=1000, seed=9)[0]
    t_hat = sally.evaluate_score(x[:, None])
    assert t_hat.shape == (1000, 1)
    assert np.mean((t_hat[:, 0] - TOY.score(x, 0.0)) ** 2) < 0.01
    # the score ignores theta; a 1-d x works for one observable
    np.testing.assert_array_equal(sally.evaluate_score(x, theta=[[3.0]]), t_hat)


def test_fisher_information_of_the_toy(sally):
    x = TOY.simulate(0.0, n=4000, seed=10)[0][:, None]
    info = sally.calculate_fisher_information(x, n_events=10)
    assert info.shape == (1, 1)
    assert info[0, 0] == pytest.approx(10 * TOY.fisher_information(), rel=0.15)
    per_event = sally.calculate_fisher_information(x, sum_events=False)
    assert per_event.shape == (4000, 1, 1)
    np.testing.assert_allclose(per_event.sum(axis=0), info / 10, rtol=1e-10)
    weights = np.where(np.arange(4000) < 2000, 1.0, 0.0)  # weights are normalised
    half = sally.calculate_fisher_information(x, weights=weights)
    np.testing.assert_allclose(half, sally.calculate_fisher_information(x[:2000]), rtol=1e-10)
    with pytest.raises(EstimatorError, match="weights must have shape"):
        sally.calculate_fisher_information(x, weights=np.ones(3))


def _two_parameter_estimator():
    """A SALLY estimator with a 2-d score: (t, 2 t + 1) for the toy's t."""
    sample = local_sample(2000)
    t = sample["t_xz"]
    estimator = ScoreEstimator(n_hidden=(16,))
    estimator.train("sallino", x=sample["x"], t_xz=np.concatenate([t, 2 * t + 1], axis=1), n_epochs=2)
    return estimator


def test_nuisance_projection_and_profiling(tmp_path):
    estimator = _two_parameter_estimator()
    x = TOY.simulate(0.0, n=20, seed=4)[0]
    full = estimator.evaluate_score(x)
    assert full.shape == (20, 2)
    np.testing.assert_array_equal(estimator.evaluate_score(x, nuisance_mode="auto"), full)
    with pytest.raises(EstimatorError, match="set_nuisance"):
        estimator.evaluate_score(x, nuisance_mode="profile")
    info = np.array([[2.0, 0.5], [0.5, 4.0]])
    estimator.set_nuisance(info, [0])
    np.testing.assert_allclose(estimator.evaluate_score(x, nuisance_mode="project"), full[:, :1])
    profiled = full[:, 0] - 0.5 / 4.0 * full[:, 1]
    np.testing.assert_allclose(
        estimator.evaluate_score(x, nuisance_mode="profile")[:, 0], profiled, rtol=1e-6
    )
    np.testing.assert_allclose(estimator.evaluate_score(x)[:, 0], profiled, rtol=1e-6)  # auto = profile now
    np.testing.assert_array_equal(estimator.evaluate_score(x, nuisance_mode="keep"), full)
    # the profiled score is uncorrelated with the nuisance score under I: I_pn - I_pn I_nn^-1 I_nn = 0
    p = estimator.nuisance_profile_matrix
    assert (p @ info)[0, 1] == pytest.approx(0.0)
    estimator.save(tmp_path / "sally")
    loaded = load_estimator(tmp_path / "sally")
    np.testing.assert_allclose(loaded.evaluate_score(x), estimator.evaluate_score(x))
    with pytest.raises(EstimatorError, match="distinct indices"):
        estimator.set_nuisance(info, [0, 0])
    with pytest.raises(EstimatorError, match="size 3"):
        estimator.set_nuisance(np.eye(3), [0])
    with pytest.raises(EstimatorError, match="singular"):
        estimator.set_nuisance(np.array([[1.0, 0.0], [0.0, 0.0]]), [0])
    with pytest.raises(EstimatorError, match="unknown nuisance_mode"):
        estimator.evaluate_score(x, nuisance_mode="marginalise")
    with pytest.raises(EstimatorError, match="does not estimate likelihood ratios"):
        estimator.evaluate_log_likelihood_ratio(x, [[0.0]], [[1.0]])


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory):
    """6000 toy events generated at theta = 0 and exactly reweighted to theta = -1, 0, 1 (as in the sampling
    tests), with a SALLY training sample drawn by the SampleAugmenter at theta = 0."""
    n = 6000
    x, z = TOY.simulate(0.0, n=n, seed=5)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-2.0, 2.0))
    for name, value in {"gen": 0.0, "minus": -1.0, "plus": 1.0}.items():
        setup.add_benchmark([value], name=name)
    setup.finite_differences(1e-5)
    values = setup.parameter_space.benchmark_array()[:, 0]
    weights = np.exp(TOY.log_p_z(z[:, None], values[None, :]) - TOY.log_p_z(z, 0.0)[:, None]) / n
    store = EventStore.create(str(tmp_path_factory.mktemp("toy") / "toy.zarr"), setup, ["x"], chunk_size=2000)
    store.append(x[:, None], weights, 0, source="toy")
    SampleAugmenter(store).sample_train_local(benchmark("gen"), 4000, seed=1, name="local")
    return store


def test_sally_trains_from_a_store_sample(toy_store, tmp_path):
    estimator = ScoreEstimator(n_hidden=(32,))
    history = estimator.train("sally", sample="local", store=toy_store, options=SMALL)
    assert history.n_train + history.n_validation == 4000
    x = TOY.simulate(0.0, n=1000, seed=9)[0]
    assert np.mean((estimator.evaluate_score(x)[:, 0] - TOY.score(x, 0.0)) ** 2) < 0.02
    # the same sample through the store's path and a (store, name) pair
    again = ScoreEstimator(n_hidden=(32,))
    again.train("sally", sample=(toy_store.url, "local"), options=SMALL)
    np.testing.assert_allclose(again.evaluate_score(x), estimator.evaluate_score(x), rtol=1e-5, atol=1e-6)


def test_sally_trains_out_of_core_from_memory_mapped_files(tmp_path):
    """Small blocks and a two-block shuffle buffer, as for data far larger than memory."""
    paths = {}
    for name, values in local_sample(3000, seed=6).items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], values)
    data = TrainingData(paths, block_size=128, buffer_blocks=2)
    estimator = ScoreEstimator(n_hidden=(32,))
    history = estimator.train("sally", sample=data, options=SMALL)
    assert history.n_train == 2250
    x = TOY.simulate(0.0, n=1000, seed=9)[0]
    assert np.mean((estimator.evaluate_score(x)[:, 0] - TOY.score(x, 0.0)) ** 2) < 0.02


def test_limit_samplesize_and_shuffled_labels():
    sample = local_sample(4000, seed=9)
    estimator = ScoreEstimator(n_hidden=(32,))
    history = estimator.train(
        "sally", **sample, n_epochs=3, limit_samplesize=1000, validation_split=0.2, progress=False
    )
    assert (history.n_train, history.n_validation) == (800, 200)
    # closure test: with labels permuted against x the best constant is the mean score, ~0 everywhere
    shuffled = ScoreEstimator(n_hidden=(32,))
    shuffled.train("sally", **sample, n_epochs=15, shuffle_labels=True, progress=False)
    x = np.linspace(-5, 5, 11)[:, None]
    t_null = shuffled.evaluate_score(x)[:, 0]
    exact = TOY.score(x[:, 0], 0.0)
    assert np.max(np.abs(t_null)) < 0.25 * np.max(np.abs(exact))
    with pytest.raises(EstimatorError, match="limit_samplesize"):
        TrainingOptions(limit_samplesize=0)
