"""MadMiner 0.9.6 HDF5 files (made by tests/data/madminer/make_files.py) read, imported and written back."""

import json

import h5py
import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.errors import InputFormatError, SetupFormatError, SetupVersionError, StoreError
from columnminer.inference.fisher import truth_information
from columnminer.inference.nuisance_fisher import truth_information_with_nuisances
from columnminer.io.store import EventStore
from columnminer.madminer import (
    export_madminer,
    import_madminer,
    read_madminer_setup,
    transform_from_madminer,
    transform_to_madminer,
)
from columnminer.nuisances import cross_sections_with_nuisances
from columnminer.parameters import LinearTransform, UnsavedTransform
from columnminer.weights import cross_section_gradients, cross_sections
from tests.conftest_data import data_file

EXPECTED = json.loads(data_file("madminer", "expected.json").read_text())


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return import_madminer(
        data_file("madminer", "events.h5"), str(tmp_path_factory.mktemp("mm") / "s.zarr"), 128
    )


def test_setup_parameters_benchmarks_systematics():
    setup = read_madminer_setup(data_file("madminer", "setup.h5"))
    a, b = setup.parameter_space.parameters.values()
    assert (a.lha_block, a.lha_id, a.morphing_max_power, a.parameter_range) == (
        "anoinputs",
        2,
        2,
        (-1.0, 1.0),
    )
    assert a.param_card_transform is None and b.param_card_transform == LinearTransform(2.0, 0.0)
    assert setup.benchmark_names == EXPECTED["benchmark_names"][:6]
    assert setup.morphing_benchmarks == setup.benchmark_names
    assert np.allclose(setup.morpher.matrix, EXPECTED["morphing_matrix"], rtol=1e-12)
    assert setup.morpher.components.tolist() == EXPECTED["morphing_components"]
    assert [(s.name, s.effect) for s in setup.systematics] == [("lumi", "norm"), ("scale", "scale")]
    assert setup.systematics[0].norm_variation == 1.1
    assert setup.nuisance_benchmark_names == ["lumi", "scale_up", "scale_down"]


def test_import_cross_sections_match_madminer(store):
    assert store.n_events == 600 and store.observable_names == ["x0", "x1"]
    assert store.nuisance_benchmark_names == ["scale_up", "scale_down"]
    sampled = store.read("sampled_from")
    assert np.bincount(sampled + 1).tolist() == [100, 300, 200]
    xsec, error = cross_sections(store)
    np.testing.assert_allclose(xsec, EXPECTED["xsecs_benchmarks"][:6], rtol=1e-10)
    np.testing.assert_allclose(error, EXPECTED["xsec_errors_benchmarks"][:6], rtol=1e-10)
    thetas = [np.array(t) for t in EXPECTED["thetas"]]
    np.testing.assert_allclose(cross_sections(store, thetas)[0], EXPECTED["xsecs"], rtol=1e-10)
    gradients = cross_section_gradients(store, thetas)
    np.testing.assert_allclose(gradients, np.array(EXPECTED["xsec_gradients"])[:, :2], rtol=1e-10)


def test_import_fisher_information_matches_madminer(store):
    lumi = EXPECTED["luminosity"]
    info = np.asarray(truth_information(store, np.zeros(2), luminosity=lumi))
    np.testing.assert_allclose(info, EXPECTED["truth_information_sm"], rtol=1e-10)
    info = np.asarray(truth_information(store, np.array(EXPECTED["thetas"][1]), luminosity=lumi))
    np.testing.assert_allclose(info, EXPECTED["truth_information_theta1"], rtol=1e-10)
    # MadMiner's truth_information leaves the N(0, 1) constraint out
    info = truth_information_with_nuisances(store, np.zeros(2), luminosity=lumi, include_constraint=False)
    np.testing.assert_allclose(np.asarray(info), EXPECTED["truth_information_sm_with_nuisances"], rtol=1e-10)


def test_import_records_provenance_and_streams(store, tmp_path):
    assert [s["source"]["events"] for s in store.sources] == [
        [0, 128],
        [128, 256],
        [256, 384],
        [384, 512],
        [512, 600],
    ]
    seen = []
    import_madminer(
        data_file("madminer", "events.h5"), str(tmp_path / "t.zarr"), 250, progress=lambda *a: seen.append(a)
    )
    assert seen == [(250, 600), (500, 600), (600, 600)]


def test_export_round_trip(store, tmp_path):
    path = export_madminer(store, tmp_path / "out.h5")
    again = import_madminer(path, str(tmp_path / "again.zarr"), 1000)
    assert again.setup.benchmark_names == store.setup.benchmark_names
    np.testing.assert_allclose(again.read("weights"), store.read("weights"), rtol=1e-14)
    np.testing.assert_allclose(again.read("nuisance_weights"), store.read("nuisance_weights"), rtol=1e-12)
    np.testing.assert_array_equal(again.read("sampled_from"), store.read("sampled_from"))
    with h5py.File(path) as f:  # MadMiner's layout and normalisation: MadMiner multiplies by N_s / N
        assert f["sample_summary/signal_events"][()].tolist() == [300, 200, 0, 0, 0, 0]
        raw = f["samples/weights"][()]
        ids = f["samples/sampling_benchmarks"][()]
    total = 0.6 * raw[ids == 0, 0].sum() + 0.4 * raw[ids == 1, 0].sum() + raw[ids == -1, 0].sum()
    np.testing.assert_allclose(total, EXPECTED["xsecs_benchmarks"][0], rtol=1e-12)
    with pytest.raises(StoreError, match="exists already"):
        export_madminer(store, path)


def test_errors_name_file_and_field(tmp_path):
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(InputFormatError, match=r"text\.h5: not a MadMiner file"):
        read_madminer_setup(text)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = [1, 2]
    with pytest.raises(InputFormatError, match="no 'parameters' or 'benchmarks'"):
        read_madminer_setup(tmp_path / "other.h5")
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f["parameters/names"] = [b"a"]
        f["benchmarks/names"] = [b"sm"]
    with pytest.raises(SetupVersionError, match=r"old\.h5: field 'parameters/lha_blocks'"):
        read_madminer_setup(tmp_path / "old.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(data_file("madminer", "setup.h5").read_bytes())
    with h5py.File(bad, "a") as f:
        f["morphing/morphing_matrix"][0, 0] += 0.5
    with pytest.raises(SetupFormatError, match=r"bad\.h5: field 'morphing/morphing_matrix' disagrees"):
        read_madminer_setup(bad)
    with pytest.raises(InputFormatError, match="'samples/observations' is missing"):
        import_madminer(data_file("madminer", "setup.h5"), str(tmp_path / "x.zarr"))


def test_transforms():
    assert transform_from_madminer("_", "a") is None
    assert transform_from_madminer("theta / 4 - 1", "a") == LinearTransform(0.25, -1.0)
    assert isinstance(transform_from_madminer("theta**2", "a"), UnsavedTransform)
    assert isinstance(transform_from_madminer("__import__('os')", "a"), UnsavedTransform)
    assert transform_from_madminer(transform_to_madminer(LinearTransform(3.0, 0.5)), "a") == LinearTransform(
        3.0, 0.5
    )


EXPECTED_PDF = json.loads(data_file("madminer", "expected_pdf.json").read_text())


def test_pdf_systematic_from_madminer(tmp_path):
    """A PDF set as MadMiner's LHEReader.save writes it (one one-sided nuisance parameter per error member)
    imports as a symmetric Hessian set whose nuisance-morphed cross sections equal MadMiner's NuisanceMorpher;
    exported and imported again, nothing changes."""
    assert EXPECTED_PDF["madminer_data_analyzer_loads"].startswith("no")  # MadMiner itself cannot open it
    store = import_madminer(data_file("madminer", "events_pdf.h5"), str(tmp_path / "pdf.zarr"))
    (pdf,) = store.setup.systematics
    assert (pdf.effect, pdf.pdf_kind, pdf.pdf_members, pdf.pdf_variation) == ("pdf", "symmhessian", 3, "CT10")
    assert store.setup.nuisance_parameter_names == ["pdf_0", "pdf_1", "pdf_2"]
    nus = np.array(EXPECTED_PDF["nus"])
    ours = cross_sections_with_nuisances(store, "sm", nus)[0]
    np.testing.assert_allclose(ours, EXPECTED_PDF["xsec_sm_at_nus"], rtol=1e-12)
    assert abs(ours[1] / ours[0] - 1) > 1e-3  # the members move the cross section
    exported = export_madminer(store, tmp_path / "pdf.h5")
    with h5py.File(exported, "r") as f:
        rows = [
            [v.decode() for v in f[f"nuisance_parameters/{c}"][()]] for c in ("names", "benchmark_negative")
        ]
    assert rows == [[f"pdf_nuisance_param_{k}" for k in (1, 2, 3)], ["None"] * 3]
    again = import_madminer(exported, str(tmp_path / "again.zarr"))
    assert again.setup.systematics == store.setup.systematics
    np.testing.assert_allclose(cross_sections_with_nuisances(again, "sm", nus)[0], ours, rtol=1e-12)


def test_hessian_pdf_round_trip_and_replicas_refused(tmp_path):
    """A Hessian set (+- member pairs) goes out as two-sided nuisance parameters, MadMiner's exponential-
    quadratic interpolation being columnminer's, and comes back the same; a replica set cannot be written."""
    setup = golden_channel_setup()
    setup.add_systematics("pdf", "pdf", pdf_variation="CT14nlo", pdf_members=4, pdf_kind="hessian")
    store = EventStore.create(str(tmp_path / "h.zarr"), setup, ["x"], chunk_size=50)
    rng = np.random.default_rng(3)
    n = 120
    weights = rng.uniform(0.5, 1.5, size=(n, len(setup.benchmark_names))) / n
    members = weights[:, :1] * (1 + 0.05 * rng.normal(size=(n, 4)))
    store.append(rng.normal(size=(n, 1)), weights, np.zeros(n, dtype=int), nuisance_weights=members)
    exported = export_madminer(store, tmp_path / "h.h5")
    with h5py.File(exported, "r") as f:
        negative = [v.decode() for v in f["nuisance_parameters/benchmark_negative"][()]]
    assert negative == ["pdf_member_2", "pdf_member_4"]
    again = import_madminer(exported, str(tmp_path / "again.zarr"))
    assert again.setup.systematics == store.setup.systematics
    nus = np.array([[0.0, 0.0], [1.0, -0.5], [-2.0, 0.7]])
    np.testing.assert_allclose(
        cross_sections_with_nuisances(again, "sm", nus),
        cross_sections_with_nuisances(store, "sm", nus),
        rtol=1e-12,
    )
    replicas = golden_channel_setup()
    replicas.add_systematics("pdf", "nn", pdf_variation="NNPDF31", pdf_members=3, pdf_kind="replicas")
    plain = EventStore.create(str(tmp_path / "r.zarr"), replicas, ["x"], chunk_size=50)
    with pytest.raises(SetupFormatError, match="replica set cannot be written"):
        export_madminer(plain, tmp_path / "r.h5")


def test_pdf_systematic_errors_name_file_and_field(tmp_path):
    """A PDF systematic without its members' nuisance parameters, or with one- and two-sided members mixed, is
    refused before any store is written, naming the file and the field."""
    source = data_file("madminer", "events_pdf.h5").read_bytes()
    bare = tmp_path / "bare.h5"
    bare.write_bytes(source)
    with h5py.File(bare, "a") as f:
        del f["nuisance_parameters"]
    with pytest.raises(
        SetupFormatError, match=r"bare\.h5: field 'systematics/types': PDF systematic 'pdf' has no"
    ):
        import_madminer(bare, str(tmp_path / "bare.zarr"))
    mixed = tmp_path / "mixed.h5"
    mixed.write_bytes(source)
    with h5py.File(mixed, "a") as f:
        negative = f["nuisance_parameters/benchmark_negative"]
        negative[0] = b"pdf_nuisance_param_2_benchmark_0"
    with pytest.raises(
        SetupFormatError,
        match=r"mixed\.h5: field 'nuisance_parameters/benchmark_negative': PDF systematic 'pdf' mixes",
    ):
        import_madminer(mixed, str(tmp_path / "mixed.zarr"))
    assert not (tmp_path / "bare.zarr").exists() and not (tmp_path / "mixed.zarr").exists()
