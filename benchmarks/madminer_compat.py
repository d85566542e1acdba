"""Read a columnminer golden-channel LHE file with MadMiner 0.9.6's LHEReader and compare with columnminer.

MadMiner lives in its own virtual environment (default ``/work/mm-venv``; it must never be installed next
to columnminer). This script, run with columnminer's Python:

1. generates signal (and background) LHE files with :func:`columnminer.simulators.golden.simulate_golden`;
2. runs a helper under MadMiner's Python that builds a MadMiner setup with the same parameters and
   benchmarks, reads the files with ``madminer.lhe.LHEReader`` (``add_sample`` with ``sampled_from_benchmark``,
   background with ``is_background=True``), computes observables and saves the result;
3. compares MadMiner's weights per benchmark (after its ``event_norm = average`` division by ``nevents``)
   and observables with columnminer's reader and the generator's own numbers, and prints a table.

Run: ``python benchmarks/madminer_compat.py [--events 2000] [--mm-python /work/mm-venv/bin/python]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from columnminer.io.lhe import read_lhe
from columnminer.simulators.golden import golden_setup, simulate_golden

HELPER = textwrap.dedent(
    """
    import json, sys, logging
    import numpy as np
    import h5py
    logging.basicConfig(level=logging.WARNING)
    from madminer.core import MadMiner
    from madminer.lhe import LHEReader

    spec = json.load(open(sys.argv[1]))
    miner = MadMiner()
    for p in spec["parameters"]:
        miner.add_parameter(lha_block=p["lha_block"], lha_id=p["lha_id"], parameter_name=p["name"],
                            morphing_max_power=p["morphing_max_power"], parameter_range=tuple(p["range"]))
    for name, values in spec["benchmarks"].items():
        miner.add_benchmark(values, name)
    miner.set_morphing(include_existing_benchmarks=True, max_overall_power=2)
    miner.save(spec["setup_h5"])

    reader = LHEReader(spec["setup_h5"])
    reader.add_sample(spec["signal"], sampled_from_benchmark="sm")
    if spec.get("background"):
        reader.add_sample(spec["background"], sampled_from_benchmark="sm", is_background=True)
    for name, definition in spec["observables"].items():
        reader.add_observable(name, definition, required=True)
    reader.analyse_samples()
    reader.save(spec["events_h5"], shuffle=False)
    with h5py.File(spec["events_h5"], "r") as f:
        np.savez(spec["out_npz"], observations=f["samples/observations"][()], weights=f["samples/weights"][()],
                 sampling=f["samples/sampling_benchmarks"][()])
    with h5py.File(spec["setup_h5"], "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["benchmarks/names"][()]]
    print(json.dumps({"madminer_benchmarks": names}))
    """
)

OBSERVABLES = {
    "m4l": "(e[0] + e[1] + mu[0] + mu[1]).m",
    "pt_e1": "e[0].pt",
    "pt_mu2": "mu[1].pt",
    "m_ee": "(e[0] + e[1]).m",
}


def columnminer_observables(path: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Observables (pt-ordered leptons like MadMiner) and weights from columnminer's own reader."""
    events = read_lhe(path)
    ids = np.asarray(events.particles.id)
    status = np.asarray(events.particles.status)
    p = np.stack([np.asarray(events.particles[f]) for f in ("e", "px", "py", "pz")], axis=-1)
    pt = np.hypot(p[..., 1], p[..., 2])

    def pick(flavour):
        mask = (np.abs(ids) == flavour) & (status == 1)
        idx = np.argsort(np.where(mask, -pt, np.inf), axis=1)[:, :2]
        return np.take_along_axis(p, idx[..., None], axis=1), np.take_along_axis(pt, idx, axis=1)

    (e, e_pt), (mu, mu_pt) = pick(11), pick(13)

    def mass(v):
        return np.sqrt(np.maximum(v[..., 0] ** 2 - np.sum(v[..., 1:] ** 2, axis=-1), 0.0))

    observables = {
        "m4l": mass(e.sum(axis=1) + mu.sum(axis=1)),
        "pt_e1": e_pt[:, 0],
        "pt_mu2": mu_pt[:, 1],
        "m_ee": mass(e.sum(axis=1)),
    }
    weights = {name: np.asarray(events.weights[name]) for name in events.weights.fields}
    return observables, weights, len(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--background", type=int, default=500)
    parser.add_argument("--mm-python", default="/work/mm-venv/bin/python")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mm-compat-"))
    setup = golden_setup()
    info = simulate_golden(setup, args.events, work, seed=args.seed, n_background=args.background)
    space = setup.parameter_space
    spec = {
        "parameters": [
            {
                "name": p.name,
                "lha_block": p.lha_block,
                "lha_id": p.lha_id,
                "morphing_max_power": p.morphing_max_power,
                "range": list(p.parameter_range),
            }
            for p in space.parameters.values()
        ],
        "benchmarks": {b.name: dict(b.values) for b in space.benchmarks.values()},
        "signal": info["files"]["signal"],
        "background": info["files"].get("background"),
        "observables": OBSERVABLES,
        "setup_h5": str(work / "mm_setup.h5"),
        "events_h5": str(work / "mm_events.h5"),
        "out_npz": str(work / "mm_out.npz"),
    }
    (work / "spec.json").write_text(json.dumps(spec))
    (work / "helper.py").write_text(HELPER)
    run = subprocess.run(
        [args.mm_python, str(work / "helper.py"), str(work / "spec.json")], capture_output=True, text=True
    )
    if run.returncode != 0:
        print("MadMiner helper failed:\n" + run.stdout[-3000:] + run.stderr[-5000:])
        return 1
    mm_names = json.loads(run.stdout.strip().splitlines()[-1])["madminer_benchmarks"]
    mm = np.load(spec["out_npz"])

    obs_s, w_s, n_s = columnminer_observables(spec["signal"])
    obs_b, w_b, n_b = columnminer_observables(spec["background"])
    n_mm = mm["weights"].shape[0]
    print(f"MadMiner 0.9.6 LHEReader on columnminer files in {work}")
    print(f"  events: MadMiner {n_mm}, columnminer reader {n_s} signal + {n_b} background")
    ok = n_mm == n_s + n_b
    print(f"  benchmark order: MadMiner {mm_names}")
    print(
        f"  {'benchmark':26s} {'sigma MadMiner (pb)':>20s} {'sigma columnminer (pb)':>22s} {'max rel dev/event':>18s}"
    )
    for b, name in enumerate(mm_names):
        ours = np.concatenate([w_s[name] / n_s, w_b[name] / n_b])
        theirs = mm["weights"][:, b]
        dev = float(np.max(np.abs(theirs - ours) / np.abs(ours)))
        ok &= dev < 1e-6
        print(f"  {name:26s} {theirs.sum():20.8g} {ours.sum():22.8g} {dev:18.2e}")
    print(f"  {'observable':26s} {'max abs dev':>20s} {'mean value':>22s}")
    for i, name in enumerate(OBSERVABLES):
        ours = np.concatenate([obs_s[name], obs_b[name]])
        dev = float(np.max(np.abs(mm["observations"][:, i] - ours)))
        ok &= dev < 1e-6 * max(1.0, float(np.max(np.abs(ours))))
        print(f"  {name:26s} {dev:20.2e} {ours.mean():22.6g}")
    expected = {name: info["cross_section_pb"][name] for name in mm_names}
    print("  generator cross sections (pb): " + ", ".join(f"{k} {v:.6g}" for k, v in expected.items()))
    print("compatible" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
