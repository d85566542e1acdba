"""analyse_samples with systematics: nuisance_weights from real MadGraph scale / PDF weights, norm factors,
nominal copies for samples without a systematic, clear errors before anything is written."""

import awkward as ak
import numpy as np
import pytest
from conftest_data import data_file
from file_copies import distinct_copy

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.errors import MissingVariationError, ParameterSpaceError, StoreMismatchError
from columnminer.events import nth
from columnminer.io.lhe import pdf_systematic, read_lhe, variation_weight_ids
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

MG358 = ("lhe", "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")
DELPHES = ("delphes", "delphes-cms-10events.root")
PT_CUT = 25.0


def jj_setup(path, *, scale_variations=(0.5, 1.0, 2.0)):
    """One benchmark ("sm", read from the nominal weight id 45) plus norm, two scale and a PDF systematic."""
    setup = AnalysisSetup()
    setup.add_parameter("b", 1, name="x")
    setup.add_benchmark([0.0], name="sm")
    setup.add_systematics("norm", "lumi", norm_variation=1.05)
    setup.add_systematics("scale", "mu", scale_variations=scale_variations)
    setup.add_systematics("scale", "mur", scale="mur")
    setup.add_systematics("pdf", **pdf_systematic(path))
    return setup


def jet_analysis():
    analysis = Analysis()
    analysis.add_observable("pt_j1", lambda ev: nth(ev.j, 0).pt, required=True)
    analysis.add_cut(lambda ev: nth(ev.j, 0).pt > PT_CUT, name="pt_j1 > 25")
    return analysis


def leading_jet_pt(events):
    particles = events.particles
    jet_like = (abs(particles.id) <= 5) | (particles.id == 21)
    partons = particles[(particles.status == 1) & jet_like]
    return ak.to_numpy(ak.max(partons.pt, axis=1))


@pytest.fixture(scope="module")
def jj():
    path = str(data_file(*MG358))
    return path, read_lhe(path)


def test_nuisance_columns_are_the_lhe_variations_normalised_like_the_nominal(tmp_path, jj):
    path, lhe = jj
    setup = jj_setup(path)
    analysis = jet_analysis()
    store = EventStore.create(str(tmp_path / "jj.zarr"), setup, analysis.observable_names, chunk_size=128)
    assert store.nuisance_benchmark_names == setup.nuisance_benchmark_names  # the default
    samples = [
        Sample(
            path,
            sampled_from_benchmark="sm",
            weight_mapping={"sm": "45"},
            k_factor=1.3,
            systematics=["lumi", "mu", "mur", "pdf"],
        ),
        Sample(distinct_copy(path, tmp_path, 1), is_background=True, k_factor=2.0),  # no systematic: nominal
    ]
    analyse_samples(samples, analysis, store, step_size=300, progress=False)

    keep = leading_jet_pt(lhe) > PT_CUT
    n_kept = int(keep.sum())
    assert 100 < n_kept < 1000 and store.n_events == 2 * n_kept
    signal, background = slice(0, n_kept), slice(n_kept, None)
    weights, nuisance = store.read("weights"), store.read("nuisance_weights")
    columns = store.nuisance_benchmark_names
    assert nuisance.shape == (2 * n_kept, 1 + 2 + 2 + 100)

    # signal: the nominal is the weight at its sampled_from benchmark (id 45), normalised and k-factored
    norm = 1.3 / 1000  # event_norm average over 1000 events; the background is a process of its own
    nominal = ak.to_numpy(lhe.weights["45"])[keep] * norm
    np.testing.assert_allclose(weights[signal, 0], nominal, rtol=1e-14)
    np.testing.assert_allclose(nuisance[signal, columns.index("lumi")], 1.05 * nominal, rtol=1e-14)
    ids = {}
    for systematic in setup.systematics:
        ids.update(variation_weight_ids(path, systematic))
    assert (ids["mu_up"], ids["mu_down"], ids["mur_up"], ids["mur_down"]) == ("40", "1", "35", "6")
    for k, column in enumerate(columns):
        if ids[column] is not None:
            expected = ak.to_numpy(lhe.weights[ids[column]])[keep] * norm
            np.testing.assert_allclose(nuisance[signal, k], expected, rtol=1e-14, err_msg=column)
    assert not np.allclose(nuisance[signal, columns.index("mu_up")], nominal)  # a real variation

    # background without systematics: every nuisance column is its nominal weight (no variation)
    np.testing.assert_array_equal(
        nuisance[background], np.repeat(weights[background, :1], len(columns), axis=1)
    )
    np.testing.assert_allclose(weights[background, 0], ak.to_numpy(lhe.weight)[keep] * 2.0 / 1000)


def test_a_sample_gets_only_the_systematics_it_lists(tmp_path, jj):
    path, lhe = jj
    setup = jj_setup(path)
    analysis = jet_analysis()
    store = EventStore.create(str(tmp_path / "mu.zarr"), setup, analysis.observable_names)
    sample = Sample(path, sampled_from_benchmark="sm", weight_mapping={"sm": "45"}, systematics=["mu"])
    analyse_samples([sample], analysis, store, progress=False)
    nuisance, nominal = store.read("nuisance_weights"), store.read("weights")[:, 0]
    columns = store.nuisance_benchmark_names
    varied = [columns.index("mu_up"), columns.index("mu_down")]
    others = [k for k in range(len(columns)) if k not in varied]
    np.testing.assert_array_equal(nuisance[:, others], np.repeat(nominal[:, None], len(others), axis=1))
    keep = leading_jet_pt(lhe) > PT_CUT
    np.testing.assert_allclose(
        nuisance[:, varied[0]], ak.to_numpy(lhe.weights["40"])[keep] / 1000, rtol=1e-14
    )


def test_missing_variations_fail_before_anything_is_written(tmp_path, jj):
    path, _ = jj
    setup = jj_setup(path, scale_variations=(0.25, 1.0, 4.0))
    analysis = jet_analysis()
    store = EventStore.create(str(tmp_path / "bad.zarr"), setup, analysis.observable_names)
    fine = Sample(path, sampled_from_benchmark="sm", weight_mapping={"sm": "45"}, systematics=["lumi"])
    bad = Sample(path, is_background=True, systematics=["mu"])  # MUR = MUF = 4 is not in the file
    with pytest.raises(MissingVariationError) as info:
        analyse_samples([fine, bad], analysis, store, progress=False)
    message = str(info.value)
    assert f"no weight with MUR=4 MUF=4 for systematic 'mu' in {path}" in message
    assert "scale weights present: MUR=0.5 MUF=0.5 [1]" in message
    with pytest.raises(ParameterSpaceError, match=r"unknown systematic\(s\) \['jes'\]"):
        analyse_samples(
            [Sample(path, is_background=True, systematics=["jes"])], analysis, store, progress=False
        )
    reopened = EventStore.open(store.url)
    assert reopened.n_events == 0 and reopened.incomplete is None
    # a store whose nuisance columns are not the setup's is refused
    with pytest.raises(StoreMismatchError, match="differ from those of the setup's systematics"):
        EventStore.create(str(tmp_path / "x.zarr"), setup, ["pt_j1"], nuisance_benchmarks=["lumi"])


def test_golden_channel_with_a_norm_systematic_and_delphes(tmp_path):
    setup = golden_setup(n_trials=10)
    setup.add_systematics("norm", "lumi", norm_variation=1.1)
    info = simulate_golden(setup, 200, tmp_path / "lhe", n_background=100, seed=3)
    analysis = Analysis()
    analysis.add_observable("n_particles", lambda ev: ak.num(ev.particles))
    store = EventStore.create(str(tmp_path / "g.zarr"), setup, analysis.observable_names)
    samples = [
        Sample(info["files"]["signal"], sampled_from_benchmark="sm", systematics=["lumi"]),
        Sample(info["files"]["background"], is_background=True),
    ]
    analyse_samples(samples, analysis, store, progress=False)
    weights, nuisance = store.read("weights"), store.read("nuisance_weights")[:, 0]
    sampled = store.read("sampled_from")
    signal = sampled == 0
    assert signal.sum() == 200 and (sampled == -1).sum() == 100
    np.testing.assert_allclose(nuisance[signal], 1.1 * weights[signal, 0], rtol=1e-14)
    np.testing.assert_array_equal(nuisance[~signal], weights[~signal, 0])

    # Delphes: norm from the nominal LHE weight; a scale systematic needs LHE weights the file lacks
    delphes = str(data_file(*DELPHES))
    lhe10 = simulate_golden(setup, 10, tmp_path / "lhe10", n_background=0, seed=4)["files"]["signal"]
    jets = Analysis()
    jets.add_observable("n_jets", lambda ev: ak.num(ev.j))
    dstore = EventStore.create(str(tmp_path / "d.zarr"), setup, jets.observable_names)
    analyse_samples(
        [Sample(delphes, sampled_from_benchmark="sm", lhe_path=lhe10, systematics=["lumi"])],
        jets,
        dstore,
        progress=False,
    )
    np.testing.assert_allclose(dstore.read("nuisance_weights")[:, 0], 1.1 * dstore.read("weights")[:, 0])
    setup.add_systematics("scale", "mu")
    scale_store = EventStore.create(str(tmp_path / "e.zarr"), setup, jets.observable_names)
    with pytest.raises(MissingVariationError, match=r"no weight with MUR=2 MUF=2 for systematic 'mu'"):
        analyse_samples(
            [Sample(delphes, sampled_from_benchmark="sm", lhe_path=lhe10, systematics=["mu"])],
            jets,
            scale_store,
            progress=False,
        )
    with pytest.raises(MissingVariationError, match="needs LHE variation weights, but this Delphes sample"):
        analyse_samples(
            [Sample(delphes, is_background=True, systematics=["mu"])], jets, scale_store, progress=False
        )
    assert EventStore.open(scale_store.url).n_events == 0
