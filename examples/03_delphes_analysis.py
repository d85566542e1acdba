"""Tutorial 3: Delphes detector output through the same analysis, with weights from the matching LHE file.

Reads a Delphes ROOT file (the 10-event CMS-card file of tests/data/ by default) into the same
event model as parton-level LHE: pt-ordered ``e``, ``mu``, ``a``, ``j`` and ``met``. Benchmark weights come
from the LHE file the Delphes events were made from; here a 10-event golden-channel LHE file stands in for
it, to show the mechanics. Also shows what a detector-level observable looks like next to parton level.

Run: ``python examples/03_delphes_analysis.py [OUTPUT_DIR] [DELPHES_FILE]``
"""

import sys
from pathlib import Path

import awkward as ak
import numpy as np

from columnminer.analysis import Analysis
from columnminer.events import nth
from columnminer.io.delphes import read_delphes
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output")
default = Path(__file__).resolve().parents[1] / "tests" / "data" / "delphes" / "delphes-cms-10events.root"
delphes_file = Path(sys.argv[2]) if len(sys.argv) > 2 else default
if not delphes_file.exists():
    sys.exit(f"no Delphes file at {delphes_file}: pass one as the second argument")

# 1. The detector-level event model, straight from the ROOT file.
events = read_delphes(delphes_file)
print(
    f"{len(events)} Delphes events: jets per event {ak.num(events.j).tolist()}, MET {np.round(events.met.pt, 1)}"
)

# 2. An analysis on detector objects.
analysis = Analysis()
analysis.add_observable("pt_j1", lambda ev: nth(ev.j, 0).pt, required=True)
analysis.add_observable("mjj", lambda ev: (nth(ev.j, 0) + nth(ev.j, 1)).mass, default=0.0)
analysis.add_observable("met", lambda ev: ev.met.pt)
analysis.add_cut(lambda ev: ak.num(ev.j) >= 1, name="at least one jet")

# 3. Signal weights at every benchmark from the matching LHE file (same events, same order).
setup = golden_setup(n_trials=20)
lhe = simulate_golden(setup, len(events), out / "lhe", n_background=0, seed=3)["files"]["signal"]
store = EventStore.create(str(out / "delphes.zarr"), setup, analysis.observable_names, overwrite=True)
summary = analyse_samples(
    [Sample(str(delphes_file), sampled_from_benchmark="sm", lhe_path=lhe)],
    analysis,
    store,
    step_size=5,
    progress=False,
)
print(summary.table())
print("weights per benchmark [pb]:", np.round(store.read("weights").sum(axis=0), 6))
print(f"store: {store}")
