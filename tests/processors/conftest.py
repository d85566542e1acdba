"""Shared data for the processor tests: a small golden-channel file set, its single-process store, a cluster."""

import cloudpickle
import dask
import processor_helpers
import pytest
from coffea.processor import DaskExecutor, FuturesExecutor, IterativeExecutor
from processor_helpers import CHUNKSIZE, combined, golden_analysis

from columnminer.io.store import EventStore
from columnminer.processors import FilesetPlan, run_fileset
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

cloudpickle.register_pickle_by_value(processor_helpers)  # workers need not import the tests

# generous timeouts: the tests share two cores with whatever else runs
TIMEOUTS = {
    "distributed.comm.timeouts.connect": "90s",
    "distributed.comm.timeouts.tcp": "90s",
    "distributed.deploy.lost-worker-timeout": "60s",
}


@pytest.fixture(scope="session")
def golden(tmp_path_factory):
    """2000 SM signal events (3 chunks), 600 at another benchmark and 600 background events (1 chunk each)."""
    out = tmp_path_factory.mktemp("golden")
    setup = golden_setup()
    sm = simulate_golden(setup, 2000, out / "sm", n_background=600, seed=11)
    other = simulate_golden(setup, 600, out / "bsm", "morphing_basis_vector_0", n_background=0, seed=12)
    fileset = {
        "signal_sm": {"files": [sm["files"]["signal"]], "metadata": {"sampled_from_benchmark": "sm"}},
        "signal_bsm": {
            "files": [other["files"]["signal"]],
            "metadata": {"sampled_from_benchmark": "morphing_basis_vector_0"},
        },
        "background": {"files": [sm["files"]["background"]], "metadata": {"is_background": True}},
    }
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(other["files"]["signal"], sampled_from_benchmark="morphing_basis_vector_0"),
        Sample(sm["files"]["background"], is_background=True),
    ]
    analysis = golden_analysis()
    store = EventStore.create(str(out / "reference.zarr"), setup, analysis.observable_names, chunk_size=1000)
    summary = analyse_samples(samples, analysis, store, step_size=500, progress=False)
    return {
        "dir": out,
        "setup": setup,
        "fileset": fileset,
        "samples": samples,
        "reference": store,
        "summary": summary,
        "signal": sm["files"]["signal"],
    }


@pytest.fixture(scope="session")
def plan(golden):
    return FilesetPlan.build(golden["fileset"], golden_analysis(), golden["setup"])


@pytest.fixture(scope="session")
def client():
    """A 2-process LocalCluster (one thread each), shared by the tests of the session."""
    distributed = pytest.importorskip("distributed")
    with dask.config.set(TIMEOUTS):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # its HTTP server: any free port, not 8787
        )
        # not the default client: later tests (in-memory stores) must keep computing in this process
        client = distributed.Client(cluster, timeout="90s", set_as_default=False)
        client.wait_for_workers(2, timeout=120)
        yield client
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def runs(golden, plan, client):
    """One combined run per executor. The FuturesExecutor submits to the cluster's concurrent.futures
    interface (its worker processes are warm already); chunks finish and are merged in whatever order they
    come, as with a local process pool."""
    executors = {
        "iterative": IterativeExecutor(status=False),
        "futures": FuturesExecutor(pool=client.get_executor(), workers=2, status=False),
        "dask": DaskExecutor(client=client, status=False),
    }
    return {
        name: run_fileset(golden["fileset"], combined(plan), executor, chunksize=CHUNKSIZE)
        for name, executor in executors.items()
    }
