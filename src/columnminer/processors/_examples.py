"""A small golden-channel file set and plan for the runnable examples of the processor docstrings."""

from __future__ import annotations

import tempfile
from typing import Any

__all__: list[str] = []


def golden_fileset(n_events: int = 300, seed: int = 0, benchmark: str = "sm") -> tuple[dict[str, Any], Any]:
    """(file set, :class:`~columnminer.processors.fileset.FilesetPlan`) of ``n_events`` simulated
    H -> ZZ* -> 4l events at ``benchmark`` (no background), with the four-lepton observables."""
    from ..analysis import Analysis
    from ..fourlepton import add_four_lepton_observables
    from ..simulators.golden import golden_setup, simulate_golden
    from .fileset import FilesetPlan

    setup = golden_setup()
    info = simulate_golden(setup, n_events, tempfile.mkdtemp(), benchmark, n_background=0, seed=seed)
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    fileset = {
        benchmark: {"files": [info["files"]["signal"]], "metadata": {"sampled_from_benchmark": benchmark}}
    }
    return fileset, FilesetPlan.build(fileset, analysis, setup)


def lhe_example_setup() -> Any:
    """A one-parameter setup (``c``) with the benchmark ``sm`` whose weight id the file of
    :func:`columnminer.io.lhe.example_lhe_file` carries."""
    from ..setup import AnalysisSetup

    setup = AnalysisSetup()
    setup.add_parameter("LHA", 1, name="c", morphing_max_power=0, parameter_range=(-1, 1))
    setup.add_benchmark([0.0], "sm")
    return setup
