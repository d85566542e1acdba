"""Tutorial 2: the golden channel H -> ZZ* -> 2e2mu from generation to an event store.

We generate signal events at the SM point with weights at every benchmark (as MadGraph's reweighting
would), plus a theta-independent background, write them as LHE, and analyse them columnar: the four-lepton
masses and the five decay angles, a cut on the off-shell Z mass, and a lepton-identification efficiency.
The survivors go into a zarr event store, from which we read cross sections at any (a2, a3).

Run: ``python examples/02_golden_channel_analysis.py [OUTPUT_DIR] [N_EVENTS]``
"""

import sys
from pathlib import Path

import numpy as np

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables, four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import simulate_golden
from columnminer.weights import cross_sections

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output")
n_events = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000

# 1. Events: signal sampled at the SM with weights at all six benchmarks, and background.
info = simulate_golden(None, n_events, out / "lhe", n_background=n_events // 4, seed=7)
setup = AnalysisSetup.load(info["files"]["setup"])
print(f"generated {n_events} signal events: sigma(SM) = {info['sampling_cross_section_pb']:.4g} pb")


# 2. The analysis: plain Python callables on the event model, no strings.
def off_shell_z_mass(events):
    """mZ2 in GeV: the lepton pair farther from the Z mass."""
    return four_lepton_observables(events)["mZ2"]


analysis = Analysis()
add_four_lepton_observables(analysis)  # m4l, mZ1, mZ2, pt4l, y4l, cos_theta_star, cos_theta1/2, Phi, Phi1
analysis.add_cut(lambda ev: off_shell_z_mass(ev) > 12.0, name="mZ2 > 12 GeV")
analysis.add_efficiency(lambda ev: 0.95**4 * np.ones(len(ev)), name="lepton identification")


# 3. Into the store, chunk by chunk with dask.
store = EventStore.create(str(out / "golden.zarr"), setup, analysis.observable_names, overwrite=True)
samples = [
    Sample(info["files"]["signal"], sampled_from_benchmark="sm"),
    Sample(info["files"]["background"], is_background=True),
]
summary = analyse_samples(samples, analysis, store, step_size=10_000, progress=False)
print(summary.table())

# 4. Cross sections after the selection, at the benchmarks and anywhere in between (morphing).
xsec, error = cross_sections(store)
for name, value, err in zip(setup.benchmark_names, xsec, error, strict=True):
    theta = setup.parameter_space.benchmarks[name].values
    print(f"  {name:26s} a2={theta['a2']:+.3f} a3={theta['a3']:+.3f}: {value:.4g} +- {err:.2g} pb")
grid = np.array([[a2, 0.0] for a2 in np.linspace(-1, 1, 5)])
print("sigma(a2, a3=0) after cuts [pb]:", np.array2string(cross_sections(store, grid)[0], precision=5))
print(f"store: {store}")
