"""Tests of columnminer.setup: morphing on the setup, JSON and zarr round trips, corrupt inputs."""

import json

import numpy as np
import pytest
import zarr

from columnminer import AnalysisSetup, LinearTransform, MorphingError, SetupFormatError, SetupVersionError
from columnminer.setup import SCHEMA_VERSION


def test_set_morphing_keeps_existing_benchmarks(morphing_setup):
    setup = morphing_setup
    assert setup.morphing_benchmarks[0] == "sm"
    assert setup.benchmark_names == ["sm"] + [f"morphing_basis_vector_{i}" for i in range(5)]
    assert setup.morpher.n_components == 6
    np.testing.assert_allclose(
        setup.morpher.basis, setup.parameter_space.benchmark_array(setup.morphing_benchmarks)
    )
    # at a basis point the morphing weights select that benchmark's column
    np.testing.assert_allclose(setup.morphing_weights([0.0, 0.0]), np.eye(6)[0], atol=1e-10)


def test_morphing_weights_fill_all_benchmark_columns(morphing_setup, rng):
    setup = morphing_setup
    setup.add_benchmark([0.3, 0.3], name="extra")  # simulated, not in the basis
    thetas = rng.uniform(-1, 1, size=(7, 2))
    weights = setup.morphing_weights(thetas)
    gradients = setup.morphing_weight_gradients(thetas)
    assert weights.shape == (7, 7)
    assert gradients.shape == (7, 2, 7)
    assert np.all(weights[:, 6] == 0) and np.all(gradients[..., 6] == 0)
    np.testing.assert_allclose(weights[:, :6], setup.morpher.weights(thetas))


def test_quadratic_weights_are_morphed_exactly(morphing_setup, rng):
    """Per-event weights that are quadratic forms in theta are reproduced at any theta."""
    from columnminer.demo import quadratic_event_weights

    couplings = rng.normal(size=(500, 3, 2))
    event_weights = quadratic_event_weights(couplings, morphing_setup.parameter_space.benchmark_array()).T
    thetas = rng.uniform(-3, 3, size=(40, 2))  # also outside the ranges of interest
    morphed = morphing_setup.morphing_weights(thetas) @ event_weights.T
    exact = quadratic_event_weights(couplings, thetas)
    np.testing.assert_allclose(morphed, exact, rtol=1e-9, atol=1e-9 * exact.max())


def test_include_existing_false_and_overdetermined():
    setup = AnalysisSetup()
    setup.add_parameter("b", 1, name="x", morphing_max_power=2, parameter_range=(-1, 1))
    setup.add_benchmark([5.0], name="far_away")
    setup.set_morphing(include_existing_benchmarks=False, n_basis=5, seed=0)
    assert "far_away" not in setup.morphing_benchmarks
    assert len(setup.morphing_benchmarks) == 5
    assert setup.morpher.matrix.shape == (3, 5)


def test_manual_basis_and_errors(space):
    setup = AnalysisSetup(space)
    with pytest.raises(MorphingError, match="no morphing setup"):
        setup.morphing_weights([0.0, 0.0])
    setup.set_benchmarks([[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]])
    with pytest.raises(MorphingError, match="6 basis points cannot determine 9 morphing components"):
        setup.set_morphing_basis(setup.benchmark_names)  # no overall limit: 3 x 3 components
    setup.set_morphing_basis(setup.benchmark_names, max_overall_power=2)
    assert setup.morpher.n_basis == 6
    with pytest.raises(ValueError, match="unknown benchmark 'zz'"):
        setup.set_morphing_basis(["zz"])


def test_replacing_benchmarks_drops_morphing(morphing_setup, caplog):
    morphing_setup.set_benchmarks({"a": [0.0, 0.0]})
    assert morphing_setup.morpher is None and morphing_setup.morphing_benchmarks == []
    assert "morphing setup removed" in caplog.text


def test_json_roundtrip(tmp_path, morphing_setup):
    morphing_setup.finite_differences(0.01)
    morphing_setup.metadata["process"] = "h > z z > e+ e- mu+ mu-"
    path = morphing_setup.save(tmp_path / "setup.json")
    loaded = AnalysisSetup.load(path)
    assert loaded == morphing_setup
    np.testing.assert_array_equal(loaded.morpher.matrix, morphing_setup.morpher.matrix)
    assert (
        loaded.parameter_space.finite_difference_benchmarks
        == morphing_setup.parameter_space.finite_difference_benchmarks
    )
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert AnalysisSetup.load(path, disable_morphing=True).morpher is None


def test_zarr_roundtrip(tmp_path, morphing_setup):
    store = tmp_path / "store.zarr"
    group = zarr.open_group(str(store), mode="w")
    morphing_setup.to_zarr(group)
    assert AnalysisSetup.from_zarr(str(store)) == morphing_setup
    assert zarr.open_group(str(store), mode="r").attrs["columnminer"]


def test_transform_survives_json(tmp_path):
    setup = AnalysisSetup()
    setup.add_parameter("dim6", 2, name="c", param_card_transform=LinearTransform(16.52))
    setup.add_benchmark([1.0], name="p")
    loaded = AnalysisSetup.load(setup.save(tmp_path / "s.json"))
    assert loaded.parameter_space.card_values("p") == {("dim6", 2): 16.52}


def test_save_is_atomic(tmp_path, morphing_setup, monkeypatch):
    path = morphing_setup.save(tmp_path / "setup.json")
    before = path.read_text()

    def broken_dumps(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dumps", broken_dumps)
    with pytest.raises(RuntimeError):
        morphing_setup.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["setup.json"]


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), SetupVersionError, "upgrade columnminer"),
        (lambda d: d.update(schema="something.else"), SetupFormatError, "field 'schema'"),
        (lambda d: d.pop("parameters"), SetupFormatError, "field 'parameters' is missing"),
        (
            lambda d: d["parameters"][1].pop("lha_id"),
            SetupFormatError,
            r"field 'parameters\[1\]\.lha_id' is missing",
        ),
        (
            lambda d: d["parameters"][0].update(lha_id="2"),
            SetupFormatError,
            r"parameters\[0\]\.lha_id' should be int",
        ),
        (
            lambda d: d["benchmarks"][2]["values"].update(a2="x"),
            SetupFormatError,
            r"benchmarks\[2\]\.values\.a2",
        ),
        (
            lambda d: d["benchmarks"][0]["values"].pop("a3"),
            SetupFormatError,
            r"no value for parameter\(s\) \['a3'\]",
        ),
        (lambda d: d["morphing"]["basis"][0].__setitem__(0, 0.5), SetupFormatError, "disagrees"),
        (lambda d: d["morphing"].pop("components"), SetupFormatError, "morphing.components"),
    ],
)
def test_corrupt_setups_name_the_field(tmp_path, morphing_setup, mutate, error, message):
    data = morphing_setup.to_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(error, match=message) as info:
        AnalysisSetup.load(path)
    assert str(path) in str(info.value)


def test_truncated_and_binary_files(tmp_path, morphing_setup):
    path = morphing_setup.save(tmp_path / "setup.json")
    path.write_text(path.read_text()[:100])
    with pytest.raises(SetupFormatError, match=r"not valid JSON \(line"):
        AnalysisSetup.load(path)
    path.write_bytes(b"\x89HDF\r\n\x1a\n\xff\xfe")
    with pytest.raises(SetupFormatError, match="not"):
        AnalysisSetup.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(SetupFormatError, match="must be a JSON object"):
        AnalysisSetup.load(path)


def test_zarr_without_setup(tmp_path):
    zarr.open_group(str(tmp_path / "empty.zarr"), mode="w")
    with pytest.raises(SetupFormatError, match="no 'setup' attribute"):
        AnalysisSetup.from_zarr(str(tmp_path / "empty.zarr"))
    with pytest.raises(SetupFormatError, match="no zarr group"):
        AnalysisSetup.from_zarr(str(tmp_path / "missing.zarr"))


def test_saved_setup_gets_the_mode_of_any_new_file(tmp_path, morphing_setup):
    """setup.json is written 0644 under the usual umask 022 (not the 0600 of a temporary file), and follows
    the umask."""
    import os
    import stat

    previous = os.umask(0o022)
    try:
        path = morphing_setup.save(tmp_path / "setup.json")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        path = morphing_setup.save(tmp_path / "private.json")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(previous)
