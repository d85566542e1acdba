"""Saving and loading estimators: every method round-trips; bad, newer or mismatched files give clear errors."""

import json
import re

import numpy as np
import pytest
import torch
from ml_toy import density_sample, local_sample, ratio_sample

from columnminer.errors import EstimatorError, EstimatorFormatError
from columnminer.ml import (
    FORMAT_VERSION,
    DoubleParameterizedRatioEstimator,
    Ensemble,
    Estimator,
    LikelihoodEstimator,
    ParameterizedRatioEstimator,
    ScoreEstimator,
    TrainingOptions,
    load_estimator,
)

TINY = TrainingOptions(n_epochs=1, batch_size=64, progress=False)
X = np.linspace(-3, 3, 7)[:, None]
THETAS = np.array([[-1.0], [0.5]])

CASES = [
    *[
        (ParameterizedRatioEstimator, m, "ratio")
        for m in ("carl", "rolr", "alice", "rascal", "alices", "cascal")
    ],
    *[
        (DoubleParameterizedRatioEstimator, m, "double")
        for m in ("carl", "rolr", "alice", "rascal", "alices", "cascal")
    ],
    (ScoreEstimator, "sally", "local"),
    (ScoreEstimator, "sallino", "local"),
    (LikelihoodEstimator, "nde", "density"),
    (LikelihoodEstimator, "scandal", "density"),
]


def _sample(kind):
    if kind == "ratio":
        return ratio_sample(400)
    if kind == "double":
        return ratio_sample(400, double=True)
    if kind == "local":
        return local_sample(400)
    return density_sample(400)


def _outputs(estimator):
    """Every evaluation the estimator supports, as a dict of arrays."""
    if isinstance(estimator, ScoreEstimator):
        return {"score": estimator.evaluate_score(X), "fisher": estimator.calculate_fisher_information(X)}
    out = {"score": estimator.evaluate_score(X, THETAS)}
    if isinstance(estimator, ParameterizedRatioEstimator):
        out["log_r"] = estimator.evaluate_log_likelihood_ratio(X, THETAS)
    else:
        out["log_r"] = estimator.evaluate_log_likelihood_ratio(X, THETAS, [[0.0]])
    if isinstance(estimator, LikelihoodEstimator):
        out["log_p"] = estimator.evaluate_log_likelihood(X, THETAS)
    out["fisher"] = estimator.calculate_fisher_information(X, theta=[[0.0]])
    return out


@pytest.mark.parametrize(("klass", "method", "kind"), CASES, ids=[f"{c[0].__name__}-{c[1]}" for c in CASES])
def test_every_method_trains_saves_loads_and_evaluates(klass, method, kind, tmp_path):
    kwargs = {"n_transforms": 2} if klass is LikelihoodEstimator else {}
    estimator = klass(n_hidden=(8, 8), activation="relu", **kwargs)
    history = estimator.train(method, sample=_sample(kind), options=TINY)
    assert history.n_epochs == 1
    before = _outputs(estimator)
    for value in before.values():
        assert np.isfinite(value).all()
    files = estimator.save(tmp_path / "models" / method)
    assert sorted(p.name for p in files.values()) == sorted(
        f"{method}_{suffix}" for suffix in ("settings.json", "state_dict.pt", "scaling.npz")
    )
    meta = json.loads(files["settings"].read_text())
    assert meta["format_version"] == FORMAT_VERSION and meta["estimator"] == klass.__name__
    assert meta["method"] == method and meta["settings"]["n_hidden"] == [8, 8]
    loaded = klass.load(tmp_path / "models" / method)
    assert type(loaded) is klass and loaded.method == method and loaded.activation == "relu"
    after = _outputs(loaded)
    for key, value in before.items():
        np.testing.assert_allclose(after[key], value, rtol=1e-6, atol=1e-7, err_msg=key)
    assert type(load_estimator(tmp_path / "models" / method)) is klass


@pytest.fixture
def saved(tmp_path):
    estimator = ParameterizedRatioEstimator(n_hidden=(8,))
    estimator.train("carl", sample=ratio_sample(200), options=TINY)
    estimator.save(tmp_path / "carl")
    return tmp_path / "carl"


def _edit_settings(path, change):
    file = path.with_name(path.name + "_settings.json")
    meta = json.loads(file.read_text())
    change(meta)
    file.write_text(json.dumps(meta))


def test_a_newer_format_version_is_refused(saved):
    _edit_settings(saved, lambda meta: meta.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(EstimatorFormatError, match=r"format version 2.*reads up to version 1"):
        Estimator.load(saved)


def test_a_mismatched_architecture_is_a_clear_error(saved):
    _edit_settings(saved, lambda meta: meta["settings"].update(n_hidden=[16]))
    with pytest.raises(EstimatorFormatError, match="do not match the architecture"):
        ParameterizedRatioEstimator.load(saved)


def test_wrong_class_missing_files_and_corrupt_json(saved):
    with pytest.raises(EstimatorFormatError, match="not a ScoreEstimator"):
        ScoreEstimator.load(saved)
    with pytest.raises(EstimatorFormatError, match="missing"):
        Estimator.load(saved.with_name("nothing"))
    saved.with_name(saved.name + "_settings.json").write_text("{not json")
    with pytest.raises(EstimatorFormatError, match="unreadable JSON"):
        Estimator.load(saved)


def test_unknown_estimator_and_bad_scaling(saved):
    scaling = saved.with_name(saved.name + "_scaling.npz")
    np.savez(scaling, nothing=np.zeros(1))
    with pytest.raises(EstimatorFormatError, match="bad scaling"):
        Estimator.load(saved)
    _edit_settings(saved, lambda meta: meta.update(estimator="Pickled"))
    with pytest.raises(EstimatorFormatError, match="unknown estimator class"):
        Estimator.load(saved)


class _Payload:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_state_dict_is_never_unpickled_as_arbitrary_objects(saved, capsys):
    state = saved.with_name(saved.name + "_state_dict.pt")
    torch.save({"mlp.0.weight": _Payload()}, state)
    with pytest.raises(EstimatorFormatError, match="cannot read the state dict"):
        Estimator.load(saved)
    assert "arbitrary code ran" not in capsys.readouterr().out


def test_untrained_estimators_cannot_be_saved_or_evaluated(tmp_path):
    with pytest.raises(EstimatorError, match="not trained"):
        ScoreEstimator().save(tmp_path / "x")
    with pytest.raises(EstimatorError, match="not trained"):
        LikelihoodEstimator().evaluate_log_likelihood(X, THETAS)
    assert "untrained" in repr(ScoreEstimator())


def test_loaded_estimators_run_on_the_cpu(saved):
    loaded = Estimator.load(saved)
    assert loaded.device.type == "cpu" and not loaded.model.training


@pytest.mark.parametrize("suffix", ["_scaling.npz", "_state_dict.pt", "_settings.json"])
@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_a_truncated_file_is_a_format_error_naming_it(saved, suffix, keep):
    file = saved.with_name(saved.name + suffix)
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(EstimatorFormatError, match="truncated or corrupt") as info:
        Estimator.load(saved)
    message = str(info.value)
    assert message.startswith(f"{file}: ") and len(message.splitlines()) == 1


def test_a_corrupt_scaling_archive_and_settings_that_are_not_text(saved):
    scaling = saved.with_name(saved.name + "_scaling.npz")
    data = bytearray(scaling.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 8] = b"\xff" * 8  # inside the stored arrays: a CRC error
    scaling.write_bytes(bytes(data))
    with pytest.raises(EstimatorFormatError, match=re.escape(f"{scaling}: cannot read the scaling arrays")):
        Estimator.load(saved)
    settings = saved.with_name(saved.name + "_settings.json")
    settings.write_bytes(b"\xff\xfe{")
    with pytest.raises(EstimatorFormatError, match=r"unreadable JSON.*UnicodeDecodeError"):
        Estimator.load(saved)


def test_a_truncated_ensemble_member_names_the_member_file(tmp_path):
    ensemble = Ensemble.create(ParameterizedRatioEstimator, 2, n_hidden=(4,))
    ensemble.train_all("carl", sample=ratio_sample(200), options=TINY)
    index = ensemble.save(tmp_path / "ensemble")
    members = sorted(p for p in (tmp_path / "ensemble").rglob("*_state_dict.pt"))
    members[1].write_bytes(members[1].read_bytes()[:50])
    with pytest.raises(EstimatorFormatError, match="cannot read the state dict") as info:
        Ensemble.load(tmp_path / "ensemble")
    assert str(info.value).startswith(f"{members[1]}: ")
    index.write_text(index.read_text()[:20])
    with pytest.raises(EstimatorFormatError, match=re.escape(f"{index}: unreadable JSON")):
        Ensemble.load(tmp_path / "ensemble")


def test_a_failed_save_keeps_the_earlier_estimator(saved, monkeypatch):
    before = {p.name: p.read_bytes() for p in saved.parent.iterdir()}
    estimator = Estimator.load(saved)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        estimator.save(saved)
    assert {p.name: p.read_bytes() for p in saved.parent.iterdir()} == before  # no temporary files either
