"""Streaming processor runs into an EventStore: the store of analyse_samples, resumable, safe against lost workers."""

import numpy as np
import pytest
from coffea.processor import DaskExecutor, IterativeExecutor
from processor_helpers import CHUNKSIZE, Sabotage, combined, golden_analysis

from columnminer.errors import ProcessorError
from columnminer.io.store import EventStore
from columnminer.processors import StoreRun, analyse_fileset, run_work_items

ARRAYS = ("observables", "weights", "sampled_from")


def new_store(golden, path):
    return EventStore.create(str(path), golden["setup"], golden_analysis().observable_names, chunk_size=1000)


def assert_same_events(store, reference):
    assert store.n_events == reference.n_events and store.incomplete is None
    for name in ARRAYS:
        np.testing.assert_array_equal(store.read(name), reference.read(name), err_msg=name)
    assert store._attrs["sampling_fractions"] == reference._attrs["sampling_fractions"]


def test_run_into_the_store_equals_analyse_samples(golden, tmp_path):
    store = new_store(golden, tmp_path / "s.zarr")
    summary = analyse_fileset(golden["fileset"], golden_analysis(), store, chunksize=CHUNKSIZE)
    assert_same_events(store, golden["reference"])
    assert summary.n_kept == golden["summary"].n_kept and summary.counts == golden["summary"].counts
    assert [s["source"]["entry_start"] for s in store.sources] == [0, 667, 1334, 0, 0]
    assert not (tmp_path / "s.zarr.staging").exists()
    again = analyse_fileset(
        golden["fileset"], golden_analysis(), EventStore.open(store.url, "a"), chunksize=CHUNKSIZE
    )
    assert again.skipped_chunks == 5 and not again.n_read
    assert EventStore.open(store.url).n_events == golden["reference"].n_events


def test_an_interrupted_run_resumes_without_redoing_finished_chunks(golden, tmp_path):
    store = new_store(golden, tmp_path / "s.zarr")
    flag = tmp_path / "fail"
    flag.write_text("")
    run = StoreRun(golden["fileset"], golden_analysis(), store, chunksize=CHUNKSIZE)
    broken = Sabotage(run.processor(), golden["signal"], 1334, flag=flag)
    with pytest.raises(Exception, match="sabotaged chunk"):
        run_work_items(run.pending, broken, IterativeExecutor(status=False, retries=0))
    assert EventStore.open(store.url).n_events == 0  # nothing committed, two chunks staged
    assert len(list((tmp_path / "s.zarr.staging").glob("*.zarr"))) == 2
    flag.unlink()
    summary = analyse_fileset(golden["fileset"], golden_analysis(), store, chunksize=CHUNKSIZE)
    assert summary.skipped_chunks == 2  # the two staged chunks were committed, not recomputed
    assert_same_events(EventStore.open(store.url), golden["reference"])


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(golden, client, runs, tmp_path):
    """One pass (events to the store, histograms, Fisher) on the LocalCluster; the worker of one chunk dies
    right after staging it. dask runs the chunk again elsewhere: the store gets every event once and the
    in-memory sums equal those of the undisturbed runs bit for bit."""
    store = new_store(golden, tmp_path / "s.zarr")
    marker = tmp_path / "killed"
    run = StoreRun(golden["fileset"], golden_analysis(), store, chunksize=CHUNKSIZE)
    killer = Sabotage(
        combined(run.plan, events=run.processor()), golden["signal"], 667, marker=marker, after=True
    )
    out = run_work_items(run.pending, killer, DaskExecutor(client=client, status=False))
    assert marker.exists()  # a worker process did die
    run.commit()
    assert_same_events(EventStore.open(store.url), golden["reference"])
    clean = runs["iterative"]
    assert out["hist"].chunks == clean["hist"].chunks and len(out["hist"].chunks) == 5
    np.testing.assert_array_equal(out["hist"]["m4l"].view(flow=True), clean["hist"]["m4l"].view(flow=True))
    np.testing.assert_array_equal(out["fisher"].xsec, clean["fisher"].xsec)
    np.testing.assert_array_equal(out["fisher"].truth[1].information, clean["fisher"].truth[1].information)
    client.wait_for_workers(2, timeout=120)


def test_another_chunking_of_the_same_files_is_refused(golden, tmp_path):
    store = new_store(golden, tmp_path / "s.zarr")
    fileset = {"background": golden["fileset"]["background"]}
    analyse_fileset(fileset, golden_analysis(), store, chunksize=1000)
    with pytest.raises(ProcessorError, match=r"holds events 0..600 of .*another chunking"):
        analyse_fileset(fileset, golden_analysis(), store, chunksize=300)
