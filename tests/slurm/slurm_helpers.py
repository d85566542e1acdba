"""Helpers of the SLURM tests: the processors of one pass, a chunk that holds its worker job, comparisons."""

import os
import subprocess
import time
from pathlib import Path

import hist
import numpy as np
from coffea.processor import ProcessorABC

from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.processors import (
    AnalysisProcessor,
    CombinedProcessor,
    CrossSectionProcessor,
    FisherProcessor,
    HistogramProcessor,
    chunk_metadata,
)

CHUNKSIZE = 700
THETAS = np.array([[0.0, 0.0], [0.4, -0.3], [-0.8, 0.5], [1.0, 1.0]])
LUMINOSITY = 300.0
M4L = hist.axis.Regular(24, 118.0, 132.0, name="m4l")
PHI = hist.axis.Regular(8, -np.pi, np.pi, name="Phi")
# generous timeouts: the tests share two cores with whatever else runs
TIMEOUTS = {"distributed.comm.timeouts.connect": "90s", "distributed.comm.timeouts.tcp": "90s"}


def squeue_jobs() -> set[str]:
    """The ids of the jobs in the queue (pending or running)."""
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def golden_analysis() -> Analysis:
    """The four-lepton observables and a cut on the leading electron."""
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    analysis.add_cut(lambda ev: ev.e.pt[:, 0] > 10.0, name="leading electron pt > 10 GeV")
    return analysis


def combined(plan, events=None):
    """The analysis (events in memory or through a store sink), histogram, cross-section and Fisher
    processors in one pass."""
    return CombinedProcessor(
        {
            "events": events if events is not None else AnalysisProcessor(plan),
            "hist": HistogramProcessor(plan, THETAS, {"m4l": M4L, "Phi": PHI}),
            "xsec": CrossSectionProcessor(plan, [*THETAS, "sm"]),
            "fisher": FisherProcessor(plan, [*THETAS, "sm"], LUMINOSITY),
        }
    )


def assert_identical(out, reference, events=True):
    """Every sum bit for bit, the same chunks (each once) and, with ``events``, the same event arrays."""
    assert out["hist"].chunks == reference["hist"].chunks
    assert len(set(out["hist"].chunks)) == len(out["hist"].chunks)
    for name in ("m4l", "Phi"):
        np.testing.assert_array_equal(
            out["hist"][name].view(flow=True), reference["hist"][name].view(flow=True)
        )
    for field in ("xsec", "xsec_error", "xsec_gradient", "gram"):
        np.testing.assert_array_equal(getattr(out["xsec"], field), getattr(reference["xsec"], field))
    for got, want in zip(out["fisher"].truth, reference["fisher"].truth, strict=True):
        np.testing.assert_array_equal(got.information, want.information)
    if events:
        assert out["events"].chunks == reference["events"].chunks
        for field in ("observables", "weights", "sampled_from"):
            np.testing.assert_array_equal(getattr(out["events"], field), getattr(reference["events"], field))


class HoldOnce(ProcessorABC):
    """Wraps a processor; the first time the chunk of ``filename`` starting at ``entrystart`` runs, it writes
    the SLURM job id of its worker to ``marker`` and sleeps (up to ``seconds``) so that the job can be
    cancelled or run out of wall time under it. Later runs of the chunk (elsewhere) go straight through."""

    def __init__(self, inner, filename, entrystart, marker, seconds=240.0):
        self.inner = inner
        self.filename = str(filename)
        self.entrystart = int(entrystart)
        self.marker = str(marker)
        self.seconds = seconds

    def process(self, events):
        meta = chunk_metadata(events)
        if meta["filename"] == self.filename and int(meta["entrystart"]) == self.entrystart:
            if not os.path.exists(self.marker):
                Path(self.marker).write_text(os.environ.get("SLURM_JOB_ID", "none"))
                time.sleep(self.seconds)
        return self.inner.process(events)

    def postprocess(self, accumulator):
        return self.inner.postprocess(accumulator)
