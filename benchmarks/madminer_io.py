"""MadMiner HDF5 in and out, checked against MadMiner 0.9.6 itself (run in its own virtual environment).

1. imports ``tests/data/madminer/events.h5`` (or ``--events FILE``) into a store, chunk by chunk;
2. cross sections at 100 thetas and the truth-level Fisher information at the SM with columnminer, timed
   including the import, and the same with MadMiner's ``DataAnalyzer`` / ``FisherInformation`` on the file;
3. exports the store with ``export_madminer`` and has MadMiner read the exported file: its cross sections
   and Fisher information must equal columnminer's (1e-10 relative).

With ``--n-events N`` (e.g. 1000000) it first has MadMiner write an event file of N events (the layout
of ``tests/data/madminer/make_files.py``, in MadMiner's own environment) and prints a timing table: the
columnminer import, cross sections at 100 thetas + truth information, and export, against MadMiner's own
reading (``DataAnalyzer`` + ``xsecs`` + ``FisherInformation.truth_information``), each step in a fresh
process with its peak resident memory.

Run: ``python benchmarks/madminer_io.py [--events FILE | --n-events N] [--mm-python /tmp/madminer-venv/bin/python]``.
Exit code 1 when a comparison fails.

Measured with ``--n-events 1000000`` (88 MB MadMiner file) on the 2-core machine with nothing else running,
2026-12-07 (two runs: 14.8x and 15.3x; each time includes starting Python and its imports; the MadMiner import
path loads neither torch nor scipy, and truth information on fewer than 3x10^6 events sums in numpy rather
than paying numba's first-call cost):

| step | seconds | events/s | MB/s | peak memory (MB) | MadMiner / this |
|---|---|---|---|---|---|
| MadMiner: DataAnalyzer + xsecs (100 thetas) + truth_information | 17.91 | 5.58e+04 | 4.9 | 848 | 1.0 |
| columnminer: import only | 0.80 | 1.25e+06 | 110.3 | - | 22.5 |
| columnminer: import + cross sections (100 thetas) + truth_information | 1.21 | 8.28e+05 | 72.9 | 249 | 14.8 |
| columnminer: export_madminer | 0.49 | 2.06e+06 | 181.2 | 116 | 36.9 |

Before (same machine, quieter than usual, store codec already blosc lz4): 2.98 s including the import, 6.2x;
Python start and imports took 1.9 s of it (torch and scipy through the package namespaces).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from columnminer.inference.fisher import truth_information
from columnminer.madminer import export_madminer, import_madminer
from columnminer.weights import cross_sections

HELPER = textwrap.dedent(
    """
    import json, sys, time, logging
    import numpy as np
    logging.basicConfig(level=logging.ERROR)
    from madminer.analysis import DataAnalyzer
    from madminer.fisherinformation import FisherInformation
    path, thetas = sys.argv[1], np.array(json.loads(sys.argv[2]))
    start = time.perf_counter()
    xsecs, _ = DataAnalyzer(path).xsecs(thetas=list(thetas))
    seconds = time.perf_counter() - start
    info, _ = FisherInformation(path).truth_information(
        np.zeros(thetas.shape[1]), luminosity=3e5, include_nuisance_parameters=False)
    print(json.dumps({"xsecs": xsecs.tolist(), "info": info.tolist(), "seconds": seconds}))
    """
)


def madminer_numbers(python: str, path: str, thetas: np.ndarray) -> dict:
    """Cross sections at ``thetas`` and truth information at the SM from MadMiner on ``path``."""
    out = subprocess.run(
        [python, "-c", HELPER, path, json.dumps(thetas.tolist())], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


#: Child-process steps: each prints one JSON line with its seconds and peak resident memory (MB).
STEPS = {
    "make": """
import sys, json, shutil, time, resource
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import make_files as mf
n, out = int(sys.argv[2]), Path(sys.argv[3])
mf.N_SM, mf.N_BSM = n // 2, 3 * n // 10
mf.N_BKG = n - mf.N_SM - mf.N_BSM
miner = mf.make_setup(out.with_name("setup.h5"))
mf.make_events(miner, out.with_name("setup.h5"), out)
print(json.dumps({"seconds": 0.0, "peak_mb": 0.0}))
""",
    "madminer": """
import json, sys, time, resource, logging
import numpy as np
logging.basicConfig(level=logging.ERROR)
start = time.perf_counter()
from madminer.analysis import DataAnalyzer
from madminer.fisherinformation import FisherInformation
path, thetas = sys.argv[1], np.array(json.loads(sys.argv[2]))
xsecs, _ = DataAnalyzer(path).xsecs(thetas=list(thetas))
info, _ = FisherInformation(path).truth_information(
    np.zeros(thetas.shape[1]), luminosity=3e5, include_nuisance_parameters=False)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "xsecs": xsecs.tolist()}))
""",
    "import": """
import json, sys, time, resource
import numpy as np
start = time.perf_counter()
from columnminer.inference.fisher import truth_information
from columnminer.madminer import import_madminer
from columnminer.weights import cross_sections
path, store_url, thetas = sys.argv[1], sys.argv[2], np.array(json.loads(sys.argv[3]))
store = import_madminer(path, store_url, overwrite=True)
imported = time.perf_counter() - start
xsecs, _ = cross_sections(store, list(thetas))
truth_information(store, np.zeros(thetas.shape[1]), luminosity=3e5)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "import_seconds": imported, "peak_mb": peak, "xsecs": xsecs.tolist()}))
""",
    "export": """
import json, sys, time, resource
start = time.perf_counter()
from columnminer.madminer import export_madminer
export_madminer(sys.argv[1], sys.argv[2], overwrite=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
""",
}


def run_step(python: str, step: str, *args: str) -> dict:
    """Run one of :data:`STEPS` in a fresh process; its JSON result."""
    out = subprocess.run([python, "-c", STEPS[step], *args], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"step {step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timing_table(mm_python: str, n_events: int, work: Path, thetas: np.ndarray) -> int:
    """Make an N-event MadMiner file, time the steps, print the table; 1 when cross sections disagree."""
    here = Path(__file__).resolve().parent.parent
    events = work / "events.h5"
    if not events.exists():  # --work reuses a file made before
        run_step(mm_python, "make", str(here / "tests/data/madminer"), str(n_events), str(events))
    size_mb = events.stat().st_size / 1e6
    theta_json = json.dumps(thetas.tolist())
    theirs = run_step(mm_python, "madminer", str(events), theta_json)
    ours = run_step(sys.executable, "import", str(events), str(work / "big.zarr"), theta_json)
    exported = run_step(sys.executable, "export", str(work / "big.zarr"), str(work / "exported.h5"))
    rows = [
        (
            "MadMiner: DataAnalyzer + xsecs (100 thetas) + truth_information",
            theirs["seconds"],
            theirs["peak_mb"],
        ),
        ("columnminer: import only", ours["import_seconds"], None),
        (
            "columnminer: import + cross sections (100 thetas) + truth_information",
            ours["seconds"],
            ours["peak_mb"],
        ),
        ("columnminer: export_madminer", exported["seconds"], exported["peak_mb"]),
    ]
    print(f"\n{n_events} events, MadMiner file {size_mb:.1f} MB")
    print("| step | seconds | events/s | MB/s | peak memory (MB) | MadMiner / this |")
    print("|---|---|---|---|---|---|")
    for label, seconds, peak in rows:
        peak_text = "-" if peak is None else f"{peak:.0f}"
        print(
            f"| {label} | {seconds:.2f} | {n_events / seconds:.3g} | {size_mb / seconds:.1f} | {peak_text} | "
            f"{theirs['seconds'] / seconds:.1f} |"
        )
    difference = relative(ours["xsecs"], theirs["xsecs"])
    print(f"cross sections: max relative difference {difference:.1e} (tolerance 1e-8)")
    return int(difference > 1e-8)


def relative(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent.parent
    parser.add_argument("--events", default=str(here / "tests/data/madminer/events.h5"))
    parser.add_argument("--mm-python", default="/tmp/madminer-venv/bin/python")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--n-events", type=int, default=0, help="time an N-event file made by MadMiner")
    parser.add_argument(
        "--work", help="folder for the files (an events.h5 there is reused); default a new one"
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    thetas = rng.uniform(-1, 1, size=(100, 2))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp())
    if args.n_events:
        return timing_table(args.mm_python, args.n_events, work, thetas)
    start = time.perf_counter()
    store = import_madminer(args.events, str(work / "store.zarr"), chunk_size=args.chunk_size)
    ours, _ = cross_sections(store, list(thetas))
    ours_seconds = time.perf_counter() - start
    info = np.asarray(truth_information(store, np.zeros(2), luminosity=3e5))
    theirs = madminer_numbers(args.mm_python, args.events, thetas)
    exported = export_madminer(store, work / "exported.h5")
    again = madminer_numbers(args.mm_python, str(exported), thetas)
    rows = [
        ("cross sections, MadMiner file", relative(ours, theirs["xsecs"]), 1e-8),
        ("truth information, MadMiner file", relative(info, theirs["info"]), 1e-8),
        ("cross sections, exported file", relative(ours, again["xsecs"]), 1e-10),
        ("truth information, exported file", relative(info, again["info"]), 1e-10),
    ]
    failed = False
    for label, value, tolerance in rows:
        ok = value <= tolerance
        failed |= not ok
        print(
            f"{label:36s} max relative difference {value:.2e} (tolerance {tolerance:.0e}) {'ok' if ok else 'FAIL'}"
        )
    print(
        f"{store.n_events} events, 100 thetas: columnminer {ours_seconds:.3f} s including the import, "
        f"MadMiner DataAnalyzer.xsecs {theirs['seconds']:.3f} s (without loading python/torch)"
    )
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
