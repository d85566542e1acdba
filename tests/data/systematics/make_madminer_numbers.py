"""Known answers for tests/test_systematics_known_answers.py, computed by MadMiner 0.9.6's own NuisanceMorpher.

Run in MadMiner's virtual environment (never next to columnminer):

    /tmp/madminer-venv/bin/python tests/data/systematics/make_madminer_numbers.py

It writes madminer_nuisance_morpher.json next to itself: the event weights it was given (with negative
weights: MadMiner's a and b use the ratios w_k / w_0, so they keep the variation of negative events), the
coefficients a, b (``calculate_a`` / ``calculate_b``) and the nuisance factors
(``calculate_nuisance_factors``) at a few nuisance points, plus sigma(nu) / sigma(0).
"""

import json
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path

import numpy as np
from madminer.models import NuisanceParameter
from madminer.utils.morphing import NuisanceMorpher

#: five events: nominal weights (two negative) and per-event ratios of each variation to the nominal
NOMINAL = [2.0, -1.0, 0.5, -0.3, 1.5]
RATIOS = {
    "lumi": [1.1] * 5,  # norm systematic, norm_variation 1.1
    "mu_up": [1.2, 0.9, 1.05, 1.3, 0.8],
    "mu_down": [0.85, 1.1, 0.97, 0.75, 1.25],
    "pdf_member_1": [1.03, 0.98, 1.01, 1.04, 0.99],  # one Hessian pair (generation PDF = the set's central)
    "pdf_member_2": [0.98, 1.01, 0.995, 0.97, 1.02],
}
NUS = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1], [0.5, -0.7, 0.3]]


def main() -> None:
    names = ["nominal", *RATIOS]
    nominal = np.array(NOMINAL)
    weights = np.column_stack([nominal] + [nominal * np.array(r) for r in RATIOS.values()])
    parameters = OrderedDict(
        lumi=NuisanceParameter("lumi", "lumi", "lumi", None),
        mu=NuisanceParameter("mu", "mu", "mu_up", "mu_down"),
        pdf_0=NuisanceParameter("pdf_0", "pdf", "pdf_member_1", "pdf_member_2"),
    )
    morpher = NuisanceMorpher(parameters, names, "nominal")
    a = morpher.calculate_a(weights.copy())
    b = morpher.calculate_b(weights.copy())
    factors = [morpher.calculate_nuisance_factors(np.array(nu, float), weights.copy()).tolist() for nu in NUS]
    ratios = [float(np.sum(nominal * np.array(f)) / np.sum(nominal)) for f in factors]
    out = {
        "madminer_version": version("madminer"),
        "nuisance_names": list(parameters),
        "column_names": list(RATIOS),
        "nominal": NOMINAL,
        "nuisance_weights": weights[:, 1:].tolist(),
        "nus": NUS,
        "a": a.T.tolist(),  # [n_events, n_nuisances]
        "b": b.T.tolist(),
        "factors": np.array(factors).T.tolist(),  # [n_events, n_points]
        "sigma_ratios": ratios,
    }
    path = Path(__file__).with_name("madminer_nuisance_morpher.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
