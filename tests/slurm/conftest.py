"""SLURM tests: a real one-node batch system (processors/slurm/local-slurm.sh start), dask-jobqueue workers.

They fail, not skip, when SLURM is not up: CI starts it before pytest."""

import shutil
import subprocess

import cloudpickle
import dask
import pytest
import slurm_helpers
from coffea.processor import IterativeExecutor
from slurm_helpers import CHUNKSIZE, TIMEOUTS, combined, golden_analysis

from columnminer.io.store import EventStore
from columnminer.processors import FilesetPlan, batch_executor, run_fileset
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

cloudpickle.register_pickle_by_value(slurm_helpers)  # the worker jobs need not import the tests

START = "processors/slurm/local-slurm.sh start"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slurm: needs a running SLURM cluster (processors/slurm/local-slurm.sh)"
    )


def require_slurm() -> None:
    """Fail (not skip) unless sinfo shows a node that takes jobs."""
    if shutil.which("sinfo") is None:
        pytest.fail(f"SLURM is not installed: run {START}", pytrace=False)
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    states = done.stdout.split()
    if done.returncode or not any(s.rstrip("*") in ("idle", "mix", "alloc") for s in states):
        pytest.fail(f"SLURM is not up (sinfo: {states or done.stderr.strip()}): run {START}", pytrace=False)


@pytest.fixture(scope="session")
def golden(tmp_path_factory):
    """2000 SM signal events (3 chunks) and 600 background events (1 chunk), the store of analyse_samples
    and the results of one pass on the iterative executor."""
    require_slurm()
    out = tmp_path_factory.mktemp("golden")
    setup = golden_setup()
    sm = simulate_golden(setup, 2000, out / "sm", n_background=600, seed=21)
    fileset = {
        "signal": {"files": [sm["files"]["signal"]], "metadata": {"sampled_from_benchmark": "sm"}},
        "background": {"files": [sm["files"]["background"]], "metadata": {"is_background": True}},
    }
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(sm["files"]["background"], is_background=True),
    ]
    analysis = golden_analysis()
    store = EventStore.create(str(out / "reference.zarr"), setup, analysis.observable_names, chunk_size=1000)
    analyse_samples(samples, analysis, store, step_size=500, progress=False)
    plan = FilesetPlan.build(fileset, analysis, setup)
    iterative = run_fileset(fileset, combined(plan), IterativeExecutor(status=False), chunksize=CHUNKSIZE)
    return {
        "dir": out,
        "setup": setup,
        "fileset": fileset,
        "plan": plan,
        "reference": store,
        "iterative": iterative,
        "signal": sm["files"]["signal"],
    }


@pytest.fixture(scope="module")
def slurm_executor(golden, tmp_path_factory):
    """A DaskExecutor on SLURM worker jobs (1 core, 2 GB, 10 min each; adaptive, 1 to 2 jobs): the node's two
    CPUs. Module scope: the next module's cluster gets the CPUs back."""
    with (
        dask.config.set(TIMEOUTS),
        batch_executor(
            "slurm",
            minimum_jobs=1,
            maximum_jobs=2,
            wait_for_workers=1,
            timeout=180,
            memory="2GB",
            walltime="00:10:00",
            log_directory=tmp_path_factory.mktemp("slurm-logs"),
        ) as executor,
    ):
        yield executor
