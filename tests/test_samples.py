"""Tests of columnminer.samples.analyse_samples on real LHE files: weights, normalisation, errors, resume."""

import numpy as np
import pytest
from conftest_data import data_file
from file_copies import distinct_copy

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.errors import AnalysisError, MissingWeightError, ParameterSpaceError
from columnminer.events import nth
from columnminer.io.lhe import read_lhe, read_lhe_header
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.weights import cross_sections

WBJ = ("lhe", "testfile-madgraph-2.0.0-wbj.lhe")


@pytest.fixture
def setup():
    """One benchmark per weight id of the MadGraph 2.0.0 W b j file (ids 1001..1009)."""
    setup = AnalysisSetup()
    setup.add_parameter("b", 1, name="x")
    for i in range(1001, 1010):
        setup.add_benchmark([float(i)], name=str(i))
    return setup


def jet_analysis():
    analysis = Analysis()
    analysis.add_observable("mjj", lambda ev: (nth(ev.j, 0) + nth(ev.j, 1)).mass, required=True)
    analysis.add_observable("pt_j1", lambda ev: nth(ev.j, 0).pt, required=True)
    return analysis


def make_store(tmp_path, setup, analysis, name="s.zarr"):
    return EventStore.create(str(tmp_path / name), setup, analysis.observable_names, chunk_size=16)


def test_weights_and_cross_sections_match_the_file(tmp_path, setup):
    path = data_file(*WBJ)
    analysis = jet_analysis()
    store = make_store(tmp_path, setup, analysis)
    summary = analyse_samples(
        [Sample(str(path), sampled_from_benchmark="1001")], analysis, store, step_size=20, progress=False
    )
    assert summary.n_read[str(path)] == 59 and summary.n_kept[str(path)] == 59
    lhe = read_lhe(path)
    raw = np.column_stack([lhe.weights[str(i)].to_numpy() for i in range(1001, 1010)])
    np.testing.assert_allclose(store.read("weights"), raw / 59, rtol=1e-15)  # event_norm = average
    xsec, _ = cross_sections(store, ["1001"])
    assert xsec[0] == pytest.approx(read_lhe_header(path).xsec, rel=1e-5)
    j = lhe.particles[(lhe.particles.status == 1) & (abs(lhe.particles.id) <= 5)]
    direct = np.sqrt(
        (j.e[:, 0] + j.e[:, 1]) ** 2
        - (j.px[:, 0] + j.px[:, 1]) ** 2
        - (j.py[:, 0] + j.py[:, 1]) ** 2
        - (j.pz[:, 0] + j.pz[:, 1]) ** 2
    ).to_numpy()
    np.testing.assert_allclose(store.read("observables")[:, 0], direct, rtol=1e-9)
    assert set(store.read("sampled_from").tolist()) == {0}


def test_chunking_does_not_change_the_store_and_reruns_skip(tmp_path, setup):
    path = str(data_file(*WBJ))
    analysis = jet_analysis()
    a = make_store(tmp_path, setup, analysis, "a.zarr")
    b = make_store(tmp_path, setup, analysis, "b.zarr")
    analyse_samples([Sample(path, sampled_from_benchmark="1002")], analysis, a, step_size=7, progress=False)
    analyse_samples([Sample(path, sampled_from_benchmark="1002")], analysis, b, step_size=100, progress=False)
    np.testing.assert_array_equal(a.read("weights"), b.read("weights"))
    np.testing.assert_array_equal(a.read("observables"), b.read("observables"))
    again = analyse_samples(
        [Sample(path, sampled_from_benchmark="1002")], analysis, a, step_size=7, progress=False
    )
    assert again.skipped_chunks == 9 and a.n_events == 59


def test_process_mixing_and_background(tmp_path, setup):
    path = str(data_file(*WBJ))
    analysis = jet_analysis()
    store = make_store(tmp_path, setup, analysis)
    samples = [  # one file as three samples: three copies (a store never takes the same events twice)
        Sample(path, sampled_from_benchmark="1001"),
        Sample(distinct_copy(path, tmp_path, 1), sampled_from_benchmark="1005", k_factor=1.0),
        Sample(distinct_copy(path, tmp_path, 2), is_background=True, k_factor=2.0),
    ]
    analyse_samples(samples, analysis, store, progress=False)
    sampled = store.read("sampled_from")
    assert sampled.tolist() == [0] * 59 + [4] * 59 + [-1] * 59
    weights = store.read("weights")
    xsec = read_lhe_header(path).xsec
    signal = weights[sampled >= 0].sum(axis=0)
    assert signal[0] == pytest.approx(xsec, rel=1e-5)  # two samples of one process: each weighted by 1/2
    background = weights[sampled == -1]
    np.testing.assert_array_equal(background, np.repeat(background[:, :1], 9, axis=1))
    assert background[:, 0].sum() == pytest.approx(2.0 * xsec, rel=1e-5)


def test_missing_benchmark_weight_is_named_and_store_stays_valid(tmp_path, setup):
    path = str(data_file(*WBJ))
    setup.add_benchmark([0.0], name="not_in_file")
    analysis = jet_analysis()
    store = make_store(tmp_path, setup, analysis)
    with pytest.raises(MissingWeightError, match=r"no weight with id 'not_in_file'.*event 0") as info:
        analyse_samples([Sample(path, sampled_from_benchmark="1001")], analysis, store, progress=False)
    assert path in str(info.value)
    reopened = EventStore.open(store.url)
    assert reopened.n_events == 0 and reopened.incomplete is None


def test_zero_survivors_and_nan_observables(tmp_path, setup, caplog):
    path = str(data_file(*WBJ))
    analysis = jet_analysis()
    analysis.add_cut(lambda ev: nth(ev.j, 0).pt > 1e6, name="absurd pt")
    store = make_store(tmp_path, setup, analysis)
    with pytest.raises(AnalysisError, match=r"no event survives(.|\n)*cut absurd pt\s+0 / 59"):
        analyse_samples([Sample(path, sampled_from_benchmark="1001")], analysis, store, progress=False)
    assert "no event of" in caplog.text
    assert EventStore.open(store.url).n_events == 0

    nan_analysis = Analysis()
    nan_analysis.add_observable("log_neg", lambda ev: np.log(-nth(ev.j, 0).pt.to_numpy()))
    nan_store = make_store(tmp_path, setup, nan_analysis, "nan.zarr")
    with pytest.raises(AnalysisError, match="'log_neg' is undefined"):
        analyse_samples(
            [Sample(path, sampled_from_benchmark="1001")], nan_analysis, nan_store, progress=False
        )
    assert EventStore.open(nan_store.url).n_events == 0


def test_configuration_errors(tmp_path, setup):
    path = str(data_file(*WBJ))
    analysis = jet_analysis()
    store = make_store(tmp_path, setup, analysis)
    with pytest.raises(ParameterSpaceError, match="unknown benchmark 'sm'"):
        analyse_samples([Sample(path, sampled_from_benchmark="sm")], analysis, store, progress=False)
    with pytest.raises(ParameterSpaceError, match="needs sampled_from_benchmark"):
        analyse_samples([Sample(path)], analysis, store, progress=False)
    other = Analysis()
    other.add_observable("something_else", lambda ev: ev.met.pt)
    with pytest.raises(AnalysisError, match=r"the store's observables \['mjj', 'pt_j1'\] differ"):
        analyse_samples([Sample(path, sampled_from_benchmark="1001")], other, store, progress=False)


def test_distributed_gives_the_same_store(tmp_path, setup):
    distributed = pytest.importorskip("distributed")
    path = str(data_file(*WBJ))
    analysis = jet_analysis()
    local = make_store(tmp_path, setup, analysis, "local.zarr")
    analyse_samples(
        [Sample(path, sampled_from_benchmark="1001")], analysis, local, step_size=10, progress=False
    )
    remote = make_store(tmp_path, setup, analysis, "remote.zarr")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            analyse_samples(
                [Sample(path, sampled_from_benchmark="1001")],
                analysis,
                remote,
                step_size=10,
                client=client,
                progress=False,
            )
    np.testing.assert_array_equal(local.read("weights"), remote.read("weights"))
    np.testing.assert_array_equal(local.read("observables"), remote.read("observables"))


def test_the_store_records_cuts_and_observable_info(tmp_path, setup):
    analysis = jet_analysis()
    analysis.add_cut(lambda ev: nth(ev.j, 0).pt > 0.0, name="a leading jet")
    store = make_store(tmp_path, setup, analysis)
    analyse_samples([Sample(str(data_file(*WBJ)), "1001")], analysis, store, progress=False)
    metadata = EventStore.open(store.url).metadata
    assert metadata["cuts"] == ["a leading jet"]
    assert set(metadata["observable_info"]) == {"mjj", "pt_j1"}
    assert metadata["sampling_fractions"] == {"0": 1.0}
