"""A SLURM worker job that runs out of wall time mid-chunk is replaced and the run completes unchanged."""

import subprocess
import time

import dask
import pytest
from slurm_helpers import CHUNKSIZE, TIMEOUTS, HoldOnce, assert_identical, combined, squeue_jobs

from columnminer.processors import batch_executor, run_fileset

pytestmark = pytest.mark.slurm


def test_a_job_hitting_its_walltime_is_replaced(golden, tmp_path):
    """One worker job at a time with a 1-minute wall time; the second chunk sleeps through it on the first
    job. SLURM ends the job (state TIMEOUT), the adaptive scaling submits another and the chunk runs there:
    every chunk once, the sums bit-identical to the iterative executor."""
    marker = tmp_path / "held"
    with (
        dask.config.set(TIMEOUTS),
        batch_executor(
            "slurm",
            minimum_jobs=1,
            maximum_jobs=1,
            timeout=180,
            memory="2GB",
            walltime="00:01:00",
            log_directory=tmp_path / "logs",
        ) as executor,
    ):
        held = HoldOnce(combined(golden["plan"]), golden["signal"], 667, marker, seconds=300)
        start = time.monotonic()
        out = run_fileset(golden["fileset"], held, executor, chunksize=CHUNKSIZE)
        seconds = time.monotonic() - start
        job = marker.read_text()
        assert job not in squeue_jobs()
        state = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
        assert "JobState=TIMEOUT" in state, state
        assert 55 < seconds < 240
    assert_identical(out, golden["iterative"])
