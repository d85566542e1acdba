"""Helpers of the processor tests: the golden-channel analysis, and processors that fail or kill their worker."""

import os
from pathlib import Path

import awkward as ak
import hist
import numpy as np
from coffea.processor import ProcessorABC

from columnminer.analysis import Analysis
from columnminer.events import nth
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.processors import (
    AnalysisProcessor,
    CombinedProcessor,
    FisherProcessor,
    HistogramProcessor,
    chunk_metadata,
)

CHUNKSIZE = 700
THETAS = np.array([[0.0, 0.0], [0.4, -0.3], [-0.8, 0.5], [0.1, 0.9], [1.0, 1.0]])
LUMINOSITY = 300.0
M4L = hist.axis.Regular(24, 118.0, 132.0, name="m4l")
PHI = hist.axis.Regular(8, -np.pi, np.pi, name="Phi")
COS = hist.axis.Variable([-1.0, -0.5, 0.0, 0.3, 1.0], name="cos_theta1", flow=False)


def golden_analysis() -> Analysis:
    """The four-lepton observables, a cut on mZ2 and a lepton-identification efficiency."""
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    analysis.add_cut(lambda ev: ev.e.pt[:, 0] > 10.0, name="leading electron pt > 10 GeV")
    analysis.add_efficiency(lambda ev: np.full(len(ev), 0.9), name="identification")
    return analysis


def jet_analysis() -> Analysis:
    """For the Delphes file: leading jet pt (required), number of jets, missing pt."""
    analysis = Analysis()
    analysis.add_observable("pt_j1", lambda ev: nth(ev.j, 0).pt, required=True)
    analysis.add_observable("n_jets", lambda ev: ak.num(ev.j))
    analysis.add_observable("met", lambda ev: ev.met.pt)
    return analysis


def combined(plan, events=None, ordered=True):
    """Events (in memory, or through a store sink), two histograms and the Fisher information in one pass."""
    return CombinedProcessor(
        {
            "events": events if events is not None else AnalysisProcessor(plan),
            "hist": HistogramProcessor(plan, THETAS, {"m4l": M4L, "phi_cos": (PHI, COS)}, ordered=ordered),
            "fisher": FisherProcessor(plan, [*THETAS, "sm"], LUMINOSITY, ordered=ordered),
        }
    )


class Sabotage(ProcessorABC):
    """Wraps a processor; on the chunk starting at ``entrystart`` of ``filename`` it kills its worker process
    (``os._exit``) once, or raises while ``flag`` exists. ``after=True``: kill after the inner processor ran
    (e.g. after a staged part was written)."""

    def __init__(self, inner, filename, entrystart, marker=None, flag=None, after=False):
        self.inner = inner
        self.filename = str(filename)
        self.entrystart = int(entrystart)
        self.marker = None if marker is None else str(marker)
        self.flag = None if flag is None else str(flag)
        self.after = after

    def _target(self, events):
        meta = chunk_metadata(events)
        return meta["filename"] == self.filename and int(meta["entrystart"]) == self.entrystart

    def _kill_once(self):
        if self.marker is not None and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)

    def process(self, events):
        target = self._target(events)
        if target and self.flag is not None and os.path.exists(self.flag):
            raise RuntimeError("sabotaged chunk")
        if target and not self.after:
            self._kill_once()
        out = self.inner.process(events)
        if target and self.after:
            self._kill_once()
        return out

    def postprocess(self, accumulator):
        return self.inner.postprocess(accumulator)
