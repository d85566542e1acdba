"""MadMiner 0.9.6 augmented samples (.npy) and trained estimators (made by tests/data/madminer/make_files.py)."""

import json
import shutil

import numpy as np
import pytest
import torch

from columnminer.errors import EstimatorFormatError, InputFormatError
from columnminer.madminer import (
    import_madminer,
    import_madminer_sample,
    load_madminer_estimator,
    madminer_training_data,
    read_madminer_sample,
    write_madminer_sample,
)
from columnminer.ml import DoubleParameterizedRatioEstimator, ParameterizedRatioEstimator, ScoreEstimator
from columnminer.ml.data import TrainingData
from tests.conftest_data import data_file

EXPECTED = json.loads(data_file("madminer", "expected.json").read_text())
SAMPLES = data_file("madminer", "samples")
#: filename -> the arrays MadMiner wrote for it (its prefixes)
MADMINER_FILES = {
    "train_local": ["x", "theta", "t_xz"],
    "train_ratio": ["x", "theta0", "theta1", "y", "r_xz", "t_xz"],
    "train_ratio_param": ["x", "theta0", "theta1", "y", "r_xz", "t_xz"],
    "train_more_ratios": ["x", "theta0", "theta1", "y", "r_xz", "t_xz0", "t_xz1"],
    "test": ["x", "theta"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return import_madminer(
        data_file("madminer", "events.h5"), str(tmp_path_factory.mktemp("mm") / "s.zarr"), 128
    )


@pytest.mark.parametrize("filename", sorted(MADMINER_FILES))
def test_read_sample_names_and_shapes(filename):
    arrays = read_madminer_sample(SAMPLES, filename)
    n = len(np.load(SAMPLES / f"x_{filename}.npy"))
    for key, values in arrays.items():
        assert len(values) == n, key
    for key in ("y", "r_xz"):
        if key in arrays:
            assert arrays[key].shape == (n,)
    theta = "theta" if "theta" in MADMINER_FILES[filename] else "theta0"
    np.testing.assert_array_equal(arrays["theta0"], np.load(SAMPLES / f"{theta}_{filename}.npy"))


@pytest.mark.parametrize("filename", sorted(MADMINER_FILES))
def test_write_sample_round_trip_madminer_names(tmp_path, filename):
    paths = write_madminer_sample(read_madminer_sample(SAMPLES, filename), tmp_path, filename)
    assert sorted(p.name for p in paths) == sorted(f"{k}_{filename}.npy" for k in MADMINER_FILES[filename])
    for path in paths:
        original = np.load(SAMPLES / path.name)
        written = np.load(path)
        assert written.shape == original.shape, path.name
        np.testing.assert_array_equal(written, original)


def test_training_data_columns():
    data = madminer_training_data(SAMPLES, "train_more_ratios")
    assert isinstance(data, TrainingData)
    assert data.names == ["x", "theta", "theta1", "y", "r_xz", "t_xz", "t_xz1"]
    np.testing.assert_array_equal(data.to_numpy("t_xz"), np.load(SAMPLES / "t_xz0_train_more_ratios.npy"))


def test_sample_errors(tmp_path):
    with pytest.raises(InputFormatError, match=r"no x_nothing\.npy"):
        read_madminer_sample(SAMPLES, "nothing")
    for prefix in ("x", "theta", "theta0"):
        shutil.copy(
            SAMPLES / f"{prefix if prefix != 'theta0' else 'theta'}_train_local.npy",
            tmp_path / f"{prefix}_s.npy",
        )
    with pytest.raises(InputFormatError, match=r"both theta0_s\.npy and theta_s\.npy"):
        read_madminer_sample(tmp_path, "s")
    np.save(tmp_path / "x_short.npy", np.zeros((3, 2)))
    np.save(tmp_path / "y_short.npy", np.zeros((4, 1)))
    with pytest.raises(InputFormatError, match="different lengths"):
        read_madminer_sample(tmp_path, "short")
    (tmp_path / "x_bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InputFormatError, match=r"x_bad\.npy"):
        read_madminer_sample(tmp_path, "bad")


def test_import_sample_into_store_splits_nuisances(store, tmp_path):
    sample = import_madminer_sample(store, SAMPLES, "train_ratio")
    stored = store.read_sample("train_ratio")
    theta0 = np.load(SAMPLES / "theta0_train_ratio.npy")
    assert sample.attrs["kind"] == "train_ratio"
    np.testing.assert_array_equal(stored["theta0"], theta0[:, :2])
    np.testing.assert_array_equal(stored["nu0"], theta0[:, 2:])
    np.testing.assert_array_equal(stored["y"], np.load(SAMPLES / "y_train_ratio.npy")[:, 0])
    data = TrainingData.from_store(store, "train_ratio")
    assert {"x", "theta", "theta1", "y", "r_xz", "t_xz"} <= set(data.names)
    # and back out under MadMiner's names, nuisances appended to theta again
    paths = write_madminer_sample(store.read_sample("train_ratio"), tmp_path, "train_ratio")
    for path in paths:
        np.testing.assert_array_equal(np.load(path), np.load(SAMPLES / path.name))
    with pytest.raises(InputFormatError, match="observables"):
        np.save(tmp_path / "x_wide.npy", np.zeros((2, 5)))
        import_madminer_sample(store, tmp_path, "wide")


def test_sally_scores_equal_madminer():
    estimator = load_madminer_estimator(data_file("madminer", "sally") / "sally")
    assert isinstance(estimator, ScoreEstimator)
    expected = EXPECTED["sally"]
    t_hat = estimator.evaluate_score(np.array(expected["inputs"]))
    np.testing.assert_allclose(t_hat, expected["t_hat"], rtol=1e-6, atol=1e-6)


def test_alices_log_r_and_score_equal_madminer():
    models = EXPECTED["ratio_models"]
    estimator = load_madminer_estimator(data_file("madminer", "alices") / "alices")
    assert isinstance(estimator, ParameterizedRatioEstimator)
    assert estimator.features == [1, 0] and estimator.activation == "relu"
    log_r, t_hat = estimator.evaluate_log_likelihood_ratio(
        np.array(models["inputs"]), np.array(models["theta0"]), evaluate_score=True
    )
    np.testing.assert_allclose(log_r, models["alices"]["log_r_hat"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(t_hat, models["alices"]["t_hat"], rtol=1e-5, atol=1e-6)


def test_double_ratio_log_r_equal_madminer():
    models = EXPECTED["ratio_models"]
    path = data_file("madminer", "rascal2") / "rascal2"
    estimator = load_madminer_estimator(path)
    assert isinstance(estimator, DoubleParameterizedRatioEstimator)
    args = (np.array(models["inputs"]), np.array(models["theta0"]), np.array(models["theta1"]))
    log_r = estimator.evaluate_log_likelihood_ratio(*args)
    np.testing.assert_allclose(log_r, models["rascal2"]["log_r_hat"], rtol=1e-6, atol=1e-6)
    trained = load_madminer_estimator(path, madminer_evaluation=False)  # the scaling of the training
    theta_stds = np.load(f"{path}_theta_stds.npy")
    assert trained.model.inputs.theta_scaler.scale.numpy() == pytest.approx(theta_stds, rel=1e-6)
    assert np.abs(trained.evaluate_log_likelihood_ratio(*args) - log_r).max() > 1e-4


def test_loaded_estimator_saves_and_loads_as_columnminer(tmp_path):
    estimator = load_madminer_estimator(data_file("madminer", "alices") / "alices")
    estimator.save(tmp_path / "alices")
    again = ParameterizedRatioEstimator.load(tmp_path / "alices")
    x, theta = np.array(EXPECTED["ratio_models"]["inputs"]), np.array(EXPECTED["ratio_models"]["theta0"])
    np.testing.assert_array_equal(
        again.evaluate_log_likelihood_ratio(x, theta), estimator.evaluate_log_likelihood_ratio(x, theta)
    )


def _copy_model(tmp_path, name="sally"):
    for file in data_file("madminer", name).iterdir():
        shutil.copy(file, tmp_path / file.name)
    return tmp_path / name


def _edit_settings(prefix, **changes):
    file = prefix.with_name(prefix.name + "_settings.json")
    settings = json.loads(file.read_text())
    settings.update(changes)
    file.write_text(json.dumps(settings))


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"activation": "selu"}, "field 'activation' is 'selu'"),
        ({"dropout_prob": 0.1}, "field 'dropout_prob'"),
        ({"estimator_type": "likelihood"}, "field 'estimator_type' is 'likelihood'"),
        ({"n_hidden": [9]}, "field 'layers'"),
    ],
)
def test_unrepresentable_models_raise(tmp_path, changes, match):
    prefix = _copy_model(tmp_path)
    _edit_settings(prefix, **changes)
    with pytest.raises(EstimatorFormatError, match=match) as info:
        load_madminer_estimator(prefix)
    assert "sally_s" in str(info.value)


def test_missing_and_unsafe_files_raise(tmp_path):
    with pytest.raises(EstimatorFormatError, match="missing"):
        load_madminer_estimator(tmp_path / "nothing")
    prefix = _copy_model(tmp_path)
    torch.save({"layers.0.weight": object()}, prefix.with_name("sally_state_dict.pt"))  # a pickled object
    with pytest.raises(EstimatorFormatError, match=r"sally_state_dict\.pt"):
        load_madminer_estimator(prefix)
    prefix.with_name("sally_state_dict.pt").unlink()
    with pytest.raises(EstimatorFormatError, match="missing"):
        load_madminer_estimator(prefix)
