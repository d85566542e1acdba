"""MadMiner HDF5 in and out, checked against MadMiner 0.9.6 itself (run in its own virtual environment).

1. imports ``tests/data/madminer/events.h5`` (or ``--events FILE``) into a store, chunk by chunk;
2. cross sections at 100 thetas and the truth-level Fisher information at the SM with columnminer, timed
   including the import, and the same with MadMiner's ``DataAnalyzer`` / ``FisherInformation`` on the file;
3. exports the store with ``export_madminer`` and has MadMiner read the exported file: its cross sections
   and Fisher information must equal columnminer's (1e-10 relative).

Run: ``python benchmarks/madminer_io.py [--events FILE] [--mm-python /tmp/madminer-venv/bin/python]``.
Exit code 1 when a comparison fails.
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


def relative(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent.parent
    parser.add_argument("--events", default=str(here / "tests/data/madminer/events.h5"))
    parser.add_argument("--mm-python", default="/tmp/madminer-venv/bin/python")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    thetas = rng.uniform(-1, 1, size=(100, 2))
    work = Path(tempfile.mkdtemp())
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
