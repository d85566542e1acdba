"""Tutorial 1: a parameter space with morphing, as in MadMiner's VBF H -> gamma gamma tutorial.

Two dimension-six operators of the EWdim6 model, CWL2 and CPWL2 (param-card block ``dim6``, ids 2 and 5),
each entering |M|^2 at most quadratically. We keep the SM point as a benchmark, let columnminer choose
the other morphing basis points, look at how much the basis amplifies statistical fluctuations over the
parameter ranges, and save the setup.

Run: ``python examples/01_parameter_space_and_morphing.py [OUTPUT_DIR]``
"""

import sys
from pathlib import Path

import numpy as np

from columnminer import AnalysisSetup, LinearTransform

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output")
out.mkdir(parents=True, exist_ok=True)

# 1. Parameters: theta is the Wilson coefficient in units of TeV^-2; the card wants 16.52 theta.
setup = AnalysisSetup()
for lha_id, name in ((2, "CWL2"), (5, "CPWL2")):
    setup.add_parameter(
        "dim6",
        lha_id,
        name=name,
        morphing_max_power=2,
        parameter_range=(-20.0, 20.0),
        param_card_transform=LinearTransform(scale=16.52),
    )

# 2. Benchmarks: the SM, then an optimised morphing basis for a quadratic |M|^2 in two parameters.
setup.add_benchmark({"CWL2": 0.0, "CPWL2": 0.0}, name="sm")
setup.set_morphing(max_overall_power=2, n_trials=200, seed=42)
print(setup)

# 3. What MadGraph will be told for each benchmark (block, id) -> value.
for name in setup.benchmark_names:
    entries = ", ".join(
        f"{block} {lha_id} = {value:9.3f}"
        for (block, lha_id), value in setup.parameter_space.card_values(name).items()
    )
    print(f"  param card of {name:26s}: {entries}")

# 4. Morphing quality: sum of squared morphing weights on a grid (1 at a basis point, large = noisy).
grid = np.stack(np.meshgrid(np.linspace(-20, 20, 41), np.linspace(-20, 20, 41)), axis=-1)
squared = setup.morpher.squared_weight_sum(grid)  # evaluated for all 1681 points at once
print(
    f"sum of squared morphing weights on the grid: median {np.median(squared):.2f}, max {squared.max():.2f}"
)

# 5. Gradients of the morphing weights give the score of every event later on.
gradients = setup.morphing_weight_gradients([[0.0, 0.0], [5.0, -5.0]])
print("d w_b / d theta at the SM (rows: CWL2, CPWL2):")
print(np.array2string(gradients[0], precision=4, suppress_small=True))

path = setup.save(out / "setup.json")
reloaded = AnalysisSetup.load(path)
assert reloaded == setup
print(f"saved and reloaded {path}")
