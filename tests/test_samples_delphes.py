"""Delphes ROOT files through analyse_samples: the real CMS-card file, with and without matching LHE weights."""

import awkward as ak
import numpy as np
import pytest
import uproot
from conftest_data import data_file

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.errors import InputFormatError, ParameterSpaceError
from columnminer.events import nth
from columnminer.io.lhe import read_lhe
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

DELPHES = ("delphes", "delphes-cms-10events.root")


def jet_analysis():
    analysis = Analysis()
    analysis.add_observable("pt_j1", lambda ev: nth(ev.j, 0).pt, required=True)
    analysis.add_observable("n_jets", lambda ev: ak.num(ev.j))
    analysis.add_observable("met", lambda ev: ev.met.pt)
    return analysis


def raw(path):
    with uproot.open(path) as handle:
        return handle["Delphes"].arrays(["Jet.PT", "MissingET.MET", "Event.Weight"])


def test_delphes_background_uses_the_event_weight(tmp_path):
    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    analysis = jet_analysis()
    store = EventStore.create(str(tmp_path / "d.zarr"), setup, analysis.observable_names)
    summary = analyse_samples(
        [Sample(path, is_background=True)], analysis, store, step_size=4, progress=False
    )
    branches = raw(path)
    has_jet = ak.num(branches["Jet.PT"]) > 0
    assert summary.n_read[path] == 10 and summary.n_kept[path] == int(ak.sum(has_jet))
    observables = store.read("observables")
    np.testing.assert_allclose(
        observables[:, 0], ak.to_numpy(ak.max(branches["Jet.PT"][has_jet], axis=1)), rtol=1e-6
    )
    np.testing.assert_allclose(
        observables[:, 2], ak.to_numpy(branches["MissingET.MET"][has_jet][:, 0]), rtol=1e-6
    )
    weights = store.read("weights")
    expected = (
        ak.to_numpy(branches["Event.Weight"][has_jet][:, 0]) / 10.0
    )  # event_norm average over 10 events
    np.testing.assert_allclose(
        weights, np.repeat(expected[:, None], setup.parameter_space.n_benchmarks, 1), rtol=1e-6
    )
    assert set(store.read("sampled_from").tolist()) == {-1}


def test_delphes_signal_takes_benchmark_weights_from_its_lhe_file(tmp_path):
    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    lhe_path = simulate_golden(setup, 10, tmp_path / "lhe", n_background=0, seed=4)["files"]["signal"]
    analysis = jet_analysis()
    store = EventStore.create(str(tmp_path / "s.zarr"), setup, analysis.observable_names)
    analyse_samples(
        [Sample(path, sampled_from_benchmark="sm", lhe_path=lhe_path)],
        analysis,
        store,
        step_size=3,
        progress=False,
    )
    lhe = read_lhe(lhe_path)
    has_jet = ak.to_numpy(ak.num(raw(path)["Jet.PT"]) > 0)
    for k, name in enumerate(setup.benchmark_names):
        np.testing.assert_allclose(
            store.read("weights")[:, k], ak.to_numpy(lhe.weights[name])[has_jet] / 10, rtol=1e-12
        )
    assert set(store.read("sampled_from").tolist()) == {0}


def test_delphes_configuration_errors(tmp_path):
    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    analysis = jet_analysis()
    store = EventStore.create(str(tmp_path / "e.zarr"), setup, analysis.observable_names)
    with pytest.raises(ParameterSpaceError, match="needs lhe_path"):
        analyse_samples([Sample(path, sampled_from_benchmark="sm")], analysis, store, progress=False)
    other = simulate_golden(setup, 12, tmp_path / "lhe12", n_background=0, seed=5)["files"]["signal"]
    with pytest.raises(InputFormatError, match=r"holds 10 events but its LHE file .* holds 12"):
        analyse_samples(
            [Sample(path, sampled_from_benchmark="sm", lhe_path=other)], analysis, store, progress=False
        )
    assert EventStore.open(store.url).n_events == 0
    not_root = tmp_path / "fake.root"
    not_root.write_text("not a ROOT file")
    with pytest.raises(InputFormatError):
        analyse_samples([Sample(str(not_root), is_background=True)], analysis, store, progress=False)


def test_setup_typo_free_usage():
    """The Sample of a Delphes file knows what it is."""
    assert Sample("events.root", is_background=True).is_delphes
    assert not Sample("events.lhe.gz", sampled_from_benchmark="sm").is_delphes
    assert isinstance(AnalysisSetup, type)
