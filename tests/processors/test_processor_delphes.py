"""Delphes ROOT files through coffea's normal path (Runner.preprocess + Runner) with the processors."""

import numpy as np
from coffea.processor import DaskExecutor
from conftest_data import data_file
from processor_helpers import jet_analysis

from columnminer.io.store import EventStore
from columnminer.processors import AnalysisProcessor, FilesetPlan, run_fileset, work_items
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

DELPHES = ("delphes", "delphes-cms-10events.root")


def reference(tmp_path, setup, samples):
    store = EventStore.create(str(tmp_path / "ref.zarr"), setup, jet_analysis().observable_names)
    analyse_samples(samples, jet_analysis(), store, step_size=3, progress=False)
    return store


def assert_equal(out, store):
    for name in ("observables", "weights", "sampled_from"):
        np.testing.assert_array_equal(getattr(out, name), store.read(name), err_msg=name)


def test_delphes_background_through_coffeas_runner(tmp_path, client):
    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    fileset = {"delphes": {"files": {path: "Delphes"}, "metadata": {"is_background": True}}}
    items = work_items(fileset, chunksize=3)  # coffea: round(10 / 3) = 3 chunks of at most ceil(10 / 3)
    assert [(i.treename, i.entrystart, i.entrystop) for i in items] == [
        ("Delphes", 0, 4),
        ("Delphes", 4, 8),
        ("Delphes", 8, 10),
    ]
    store = reference(tmp_path, setup, [Sample(path, is_background=True)])
    plan = FilesetPlan.build(fileset, jet_analysis(), setup)
    out = run_fileset(
        fileset, AnalysisProcessor(plan), DaskExecutor(client=client, status=False), chunksize=5
    )
    assert_equal(out, store)
    assert out.summary.n_read == {path: 10} and [k.entry_start for k in out.chunks] == [0, 5]


def test_delphes_signal_with_lhe_weights(tmp_path):
    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    lhe = simulate_golden(setup, 10, tmp_path / "lhe", n_background=0, seed=4)["files"]["signal"]
    fileset = {
        "sig": {"files": [path], "metadata": {"sampled_from_benchmark": "sm", "lhe_paths": {path: lhe}}}
    }
    store = reference(tmp_path, setup, [Sample(path, sampled_from_benchmark="sm", lhe_path=lhe)])
    out = run_fileset(
        fileset, AnalysisProcessor(FilesetPlan.build(fileset, jet_analysis(), setup)), chunksize=4
    )
    assert_equal(out, store)


def test_delivered_nanoevents_are_used_without_reading_the_file_again(tmp_path, monkeypatch):
    import columnminer.io.delphes as delphes

    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    fileset = {"delphes": {"files": {path: "Delphes"}, "metadata": {"is_background": True}}}
    store = reference(tmp_path, setup, [Sample(path, is_background=True)])
    plan = FilesetPlan.build(fileset, jet_analysis(), setup)

    def no_reread(*args, **kwargs):
        raise AssertionError("read_delphes called: the delivered NanoEvents were not used")

    monkeypatch.setattr(delphes, "read_delphes", no_reread)
    assert_equal(run_fileset(fileset, AnalysisProcessor(plan), chunksize=4), store)


def test_histogram_theta_axis_reads_by_name(tmp_path):
    import hist

    from columnminer.processors import HistogramProcessor

    path = str(data_file(*DELPHES))
    setup = golden_setup(n_trials=10)
    fileset = {"delphes": {"files": {path: "Delphes"}, "metadata": {"is_background": True}}}
    plan = FilesetPlan.build(fileset, jet_analysis(), setup)
    axes = {"met": hist.axis.Regular(5, 0.0, 100.0, name="met")}
    out = run_fileset(fileset, HistogramProcessor(plan, ["sm", [0.5, 0.0]], axes), chunksize=5)
    h = out["met"]
    assert list(h.axes["theta"]) == ["sm", "a2=0.5,a3=0"]
    np.testing.assert_allclose(h[{"theta": "sm"}].values(), h[{"theta": "a2=0.5,a3=0"}].values(), rtol=1e-9)
    assert h[{"theta": "sm"}].sum(flow=True).value > 0.0
