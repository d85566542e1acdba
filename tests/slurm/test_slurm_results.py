"""The processors on SLURM worker jobs: bit-identical to the iterative executor, a scancel survived, the store
written by the client only."""

import subprocess
import threading
import time

import numpy as np
import pytest
from slurm_helpers import CHUNKSIZE, HoldOnce, assert_identical, combined, golden_analysis, squeue_jobs

from columnminer.io.store import EventStore
from columnminer.processors import StoreRun, run_fileset, run_work_items

pytestmark = pytest.mark.slurm

ARRAYS = ("observables", "weights", "sampled_from")


def new_store(golden, path):
    return EventStore.create(str(path), golden["setup"], golden_analysis().observable_names, chunk_size=1000)


def assert_same_events(store, reference):
    assert store.n_events == reference.n_events and store.incomplete is None
    for name in ARRAYS:
        np.testing.assert_array_equal(store.read(name), reference.read(name), err_msg=name)


def test_results_on_slurm_are_bit_identical_to_the_iterative_executor(golden, slurm_executor):
    """Events, histograms, cross sections and Fisher information from SLURM worker jobs equal those of one
    process bit for bit (the ordered accumulators sum in file-set order; the jobs run single-threaded BLAS)."""
    out = run_fileset(golden["fileset"], combined(golden["plan"]), slurm_executor, chunksize=CHUNKSIZE)
    assert_identical(out, golden["iterative"])
    assert len(out["hist"].chunks) == 4


def test_the_store_is_written_by_the_client_only(golden, slurm_executor, tmp_path):
    """Worker jobs stage one part per chunk beside the store and never write the store itself; the client
    commits the parts (the store's single-writer append) in file-set order."""
    store = new_store(golden, tmp_path / "s.zarr")
    run = StoreRun(golden["fileset"], golden_analysis(), store, slurm_executor, CHUNKSIZE)
    out = run_work_items(run.pending, combined(run.plan, events=run.processor()), slurm_executor)
    assert EventStore.open(store.url).n_events == 0  # the workers are done; the store is untouched
    assert len(list((tmp_path / "s.zarr.staging").glob("*.zarr"))) == 4
    run.commit()
    assert_same_events(EventStore.open(store.url), golden["reference"])
    assert not (tmp_path / "s.zarr.staging").exists()
    assert_identical(out, golden["iterative"], events=False)


def test_a_scancelled_worker_job_loses_and_duplicates_nothing(golden, slurm_executor, tmp_path):
    """One pass into a store on up to two worker jobs (adaptive: the second is submitted while chunks wait);
    the job running the second chunk is scancelled mid-chunk. dask reruns the chunk on another job (the
    adaptive scaling replaces the cancelled one): the store gets every event once, the sums are unchanged."""
    store = new_store(golden, tmp_path / "s.zarr")
    marker = tmp_path / "held"
    run = StoreRun(golden["fileset"], golden_analysis(), store, slurm_executor, CHUNKSIZE)
    held = HoldOnce(combined(run.plan, events=run.processor()), golden["signal"], 667, marker)
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(out=run_work_items(run.pending, held, slurm_executor)), daemon=True
    )
    worker.start()
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    job = marker.read_text()
    assert job in squeue_jobs()
    subprocess.run(["scancel", job], check=True)
    worker.join(timeout=180)
    assert "out" in result, "the run did not finish after the scancel"
    assert job not in squeue_jobs()
    run.commit()
    assert_same_events(EventStore.open(store.url), golden["reference"])
    assert_identical(result["out"], golden["iterative"], events=False)
    slurm_executor.client.wait_for_workers(1, timeout=180)  # a job replaced the cancelled one
