"""A coffea user's own processor with columnminer's morphed weights at 50 parameter points.

The processor is plain coffea: coffea's Runner reads the Delphes file and hands it NanoEvents. The
columnminer-specific part is marked ``# cm``: at most 10 lines that give every event its weight at 50 points
of (a2, a3), read from the matching LHE file once per chunk (O(chunk), through the file's event-offset index),
and fill a histogram whose ``theta`` axis names the points (``h[{"theta": "a2=0.5,a3=0"}]``).

The Delphes test file ships without its LHE file; a 10-event golden-channel LHE file (the same number of
events, with the benchmark weights of the golden setup) stands in for it here.

Run: python examples/08_coffea_user_processor.py [OUT_DIR] [DELPHES_FILE]
"""

import sys
from pathlib import Path

import hist
import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema

from columnminer.hists import fill_thetas  # cm
from columnminer.processors import MorphedWeights  # cm
from columnminer.simulators.golden import golden_setup, simulate_golden

HERE = Path(__file__).resolve().parent
DELPHES = HERE.parent / "tests" / "data" / "delphes" / "delphes-cms-10events.root"


class MissingEtProcessor(processor.ProcessorABC):
    """Missing transverse momentum at every theta, and the per-event weights of every chunk."""

    def __init__(self, weights):
        self.weights = weights  # cm

    def process(self, events):
        met = events["MissingET/MissingET.MET"][:, 0]
        w = self.weights(events)  # cm: [n_events, 50] morphed weights in pb
        h = hist.Hist(
            self.weights.axis, hist.axis.Regular(10, 0.0, 100.0, name="met"), storage="weight"
        )  # cm
        fill_thetas(h, w, met=np.asarray(met))  # cm
        return {"met": h, "weights": {int(events.metadata["entrystart"]): w}}

    def postprocess(self, accumulator):
        return accumulator


def run(out_dir, delphes=DELPHES, chunksize=4):
    """Run the processor under coffea's Runner; returns (output, the 50 thetas, the LHE file, the setup)."""
    setup = golden_setup(n_trials=10)
    lhe = simulate_golden(setup, 10, Path(out_dir) / "lhe", n_background=0, seed=4)["files"]["signal"]
    grid = np.linspace(-1.0, 1.0, 10)
    thetas = np.stack(np.meshgrid(grid, grid[::2], indexing="ij"), axis=-1).reshape(-1, 2)  # 50 points
    weights = MorphedWeights(setup, thetas, lhe_paths={str(delphes): lhe})  # cm
    runner = processor.Runner(
        processor.IterativeExecutor(status=False), schema=BaseSchema, chunksize=chunksize
    )
    out = runner({"signal": {"files": {str(delphes): "Delphes"}}}, MissingEtProcessor(weights))
    return out, thetas, lhe, setup


def main(argv):
    out_dir = Path(argv[1]) if len(argv) > 1 else Path("example-08-output")
    delphes = Path(argv[2]) if len(argv) > 2 else DELPHES
    out, _, _, _ = run(out_dir, delphes)
    h = out["met"]
    print(f"{len(h.axes['theta'])} thetas, {sum(len(w) for w in out['weights'].values())} events")
    for name in ("a2=-1,a3=-1", "a2=0.111111,a3=-0.555556"):
        print(f"sigma({name}) = {h[{'theta': name}].sum().value:.6g} pb")


if __name__ == "__main__":
    main(sys.argv)
