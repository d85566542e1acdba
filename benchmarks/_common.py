"""Helpers shared by the benchmark scripts: median timings, peak memory, the golden store, MadMiner's side."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = [
    "LHE_PROBE",
    "MADMINER_HELPER",
    "environment",
    "environment_line",
    "export_npz",
    "golden_store",
    "interleave",
    "lhe_difference",
    "lhe_probe",
    "line",
    "markdown_table",
    "max_rel",
    "median_time",
    "peak_rss_mb",
    "pow10",
    "reset_peak_rss",
    "rss_mb",
    "sin_work",
    "stream_ceiling",
    "stream_work",
    "thread_ceiling",
    "timed",
    "train_alices",
]


def median_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls (after one warm-up call)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _status_mb(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1e3
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of the calling process (VmHWM), MB; NaN where /proc is not available."""
    return _status_mb("VmHWM")


def rss_mb() -> float:
    """Resident memory of the calling process now (VmRSS), MB; NaN where /proc is not available."""
    return _status_mb("VmRSS")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current resident memory (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def interleave(sides: dict[str, Callable[[], float | None]], repeats: int) -> dict[str, list[float]]:
    """Seconds of every side, the sides run in turn ``repeats`` times (run by run, so that load from other
    processes hits all alike). Each callable returns its own seconds (a subprocess reports the timed part);
    None drops that run (a side that could not run)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            seconds = fn()
            if seconds is not None:
                times[name].append(float(seconds))
    return times


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """``fn`` made to return its wall time in seconds."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def golden_store(path: Path, n_events: int, chunk_size: int = 100_000, seed: int = 0):
    """The events of ``benchmarks/sampling.py``: quadratic golden-channel weights (pb) at the six benchmarks,
    three standard-normal observables, all sampled from the SM; opened read-only when already there."""
    from columnminer.demo import golden_channel_setup, quadratic_event_weights
    from columnminer.io.store import EventStore

    if (path / ".built").exists():
        return EventStore.open(str(path))
    setup = golden_channel_setup()
    store = EventStore.create(str(path), setup, ["x0", "x1", "x2"], chunk_size=chunk_size, overwrite=True)
    rng = np.random.default_rng(seed)
    for start in range(0, n_events, 1_000_000):
        n = min(1_000_000, n_events - start)
        couplings = rng.normal(size=(n, 3, 2))
        weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T / n_events
        store.append(rng.normal(size=(n, 3)), weights, 0)
    (path / ".built").touch()
    return store


def export_npz(store, npz: Path) -> None:
    """The events and setup of ``store`` as the npz that ``madminer_sampling.py`` reads."""
    setup = store.setup
    np.savez(
        npz,
        observables=store.read("observables"),
        observable_names=np.array(store.observable_names),
        weights=store.read("weights"),
        sampled_from=store.read("sampled_from"),
        parameter_names=np.array(setup.parameter_names),
        parameter_ranges=setup.parameter_space.parameter_ranges,
        benchmark_names=np.array(setup.benchmark_names),
        benchmark_values=setup.parameter_space.benchmark_array(),
        morphing_components=setup.morpher.components,
        morphing_basis=setup.morpher.basis,
    )


def _version(python: str, module: str) -> str:
    code = f"from importlib.metadata import version; print(version({module!r}))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "-"


def environment(madminer_python: str | None) -> dict:
    """CPU model, cores, load and the versions of columnminer, numpy, torch, pylhe and MadMiner."""
    model = platform.processor() or "-"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {m: _version(sys.executable, m) for m in ("columnminer", "numpy", "torch", "pylhe", "dask")}
    versions["madminer"] = _version(madminer_python, "madminer") if madminer_python else "not run"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load": list(os.getloadavg()),
        "python": platform.python_version(),
        "versions": versions,
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# -- the table's lines -----------------------------------------------------------------------------------
def line(work: str, unit: str, ours: list[float], ref: list[float] | None = None, ref_name: str = "",
         target: tuple[str, float, str] | None = None, check: dict | None = None, note: str = "",
         speedup: bool = True) -> dict:  # fmt: skip
    """One table line. ``ours`` / ``ref``: the runs (seconds, or a rate when ``speedup`` is False);
    ratio = ref / ours for times (a speed-up), ours / ref for rates; ``target`` = (op, number, "ratio" or
    "value"), e.g. (">=", 30, "ratio")."""
    median = statistics.median(ours) if ours else None
    ref_median = statistics.median(ref) if ref else None
    ratio = None
    if median and ref_median:
        ratio = ref_median / median if speedup else median / ref_median
    met = None
    if target is not None:
        op, number, what = target
        value = ratio if what == "ratio" else median
        if value is not None:
            met = bool(value >= number) if op == ">=" else bool(value <= number)
    return {"work": work, "unit": unit, "times": ours, "median": median, "reference": ref_name,
            "reference_times": ref or [], "reference_median": ref_median, "ratio": ratio,
            "target": None if target is None else list(target), "met": met, "check": check or {},
            "note": note}  # fmt: skip


def max_rel(a, b) -> float:
    """max |a - b| / max |b| (0 for equal arrays)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _value(median: float | None, unit: str) -> str:
    if median is None:
        return "—"
    return f"{median:.3g} {unit}" if unit != "x" else f"{median:.2f}x"


def markdown_table(results: dict) -> str:
    """The README's table: work | MadMiner / reference | columnminer | ratio | target | met? | peak | load."""
    rows = ["| work | MadMiner / reference | columnminer | ratio | target | met? | peak MB (+growth) | load |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in results["rows"]:
        peak = "—" if row.get("peak_mb") is None else f"{row['peak_mb']:.0f}"
        if row.get("peak_growth_mb") is not None:
            peak += f" ({row['peak_growth_mb']:+.0f})"
        load = f"{row['load_before']:.1f} / {row['load_after']:.1f}"
        if "error" in row:
            rows.append(f"| {row['row']} | | error: {row['error'][-80:]} | | | | | {load} |")
        for item in row.get("lines", []):
            ref = (
                f"{_value(item['reference_median'], item['unit'])} ({item['reference']})"
                if item["reference"]
                else "—"
            )
            if item["reference"] and item["reference_median"] is None:
                ref = item["reference"]
            ours = _value(item["median"], item["unit"]) if item["times"] else item["note"] or "—"
            ratio = "—" if item["ratio"] is None else f"{item['ratio']:.2f}x"
            target = "—"
            if item["target"]:
                op, number, what = item["target"]
                target = f"{op} {number:g}" + (
                    "x" if what == "ratio" else f" {item['unit']}".replace(" x", "x")
                )
            met = {True: "yes", False: "**no**", None: "—"}[item["met"]]
            rows.append(f"| {item['work']} | {ref} | {ours} | {ratio} | {target} | {met} | {peak} | {load} |")
    return "\n".join(rows)


def environment_line(env: dict) -> str:
    """CPU, cores, load and versions in one line."""
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    load = ", ".join(f"{x:.2f}" for x in env["load"])
    return (
        f"{env['cpu']}, {env['cores']} cores, load {load}; Python {env['python']}, {versions}; {env['time']}"
    )


# MadMiner's side of the reductions and of LHE reading, run by MadMiner's own interpreter: argv = kind (truth,
# xsecs, lhe), the HDF5 file (the LHE file for lhe), JSON of the thetas; prints one JSON line with the seconds
# of the timed part and the result.
MADMINER_HELPER = """
import json, logging, sys, time
import numpy as np
logging.basicConfig(level=logging.WARNING)
kind, h5, thetas = sys.argv[1], sys.argv[2], np.array(json.loads(sys.argv[3]), dtype=float)
if kind == "lhe":  # what LHEReader.analyse_samples does per file: XML events, one observable
    from collections import OrderedDict
    from madminer.models import Observable
    from madminer.utils.interfaces.lhe import parse_lhe_file
    start = time.perf_counter()
    observations, _ = parse_lhe_file(h5, "sm", OrderedDict(pt=Observable("pt", "j[0].pt")),
                                     benchmark_names=["sm"], is_background=True, systematics_dict={})
    info = [len(observations["pt"])]
elif kind == "truth":
    from madminer.fisherinformation import FisherInformation
    start = time.perf_counter()
    info, _ = FisherInformation(h5).truth_information(theta=thetas[0], luminosity=1.0)
else:
    from madminer.analysis import DataAnalyzer
    start = time.perf_counter()
    info, _ = DataAnalyzer(h5).xsecs(thetas=list(thetas), partition="all")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "result": np.asarray(info).tolist()}))
"""

# A fresh process reading an LHE file: argv = "read" (read_lhe) or "iter" (iterate_lhe), the file, this folder;
# prints the seconds, the growth of its resident memory (VmHWM after - VmRSS before) and the bytes returned.
LHE_PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from _common import peak_rss_mb, reset_peak_rss, rss_mb
from columnminer.io.lhe import example_lhe_file, iterate_lhe, read_lhe
read_lhe(example_lhe_file())
rss = rss_mb()
reset = reset_peak_rss()
start = time.perf_counter()
if sys.argv[1] == "read":
    nbytes = read_lhe(sys.argv[2]).nbytes
else:
    nbytes = sum(chunk.nbytes for chunk in iterate_lhe(sys.argv[2]))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "growth_mb": peak_rss_mb() - rss if reset else None, "nbytes": nbytes}))
"""


# -- helpers of run.py's rows ------------------------------------------------------------------------------
def pow10(number: int) -> str:
    """10^k for powers of ten, else with thousands separators."""
    k = round(np.log10(number))
    return f"10^{k}" if 10**k == number else f"{number:,}"


def lhe_difference(ours, theirs) -> float:
    """Largest relative difference of the momenta and event weights of read_lhe against pylhe's arrays."""
    import awkward as ak

    pairs = [(ours.weight, theirs.eventinfo.weight)]
    pairs += [(ours.particles[c], theirs.particles.vector[c]) for c in ("px", "py", "pz", "e")]
    return max(max_rel(ak.flatten(a, axis=None), ak.flatten(b, axis=None)) for a, b in pairs)


def lhe_probe(mode: str, path: Path, out: dict) -> Callable[[], float]:
    """One :data:`LHE_PROBE` run (``mode`` "read" or "iter") on ``path`` in a fresh process: its seconds; the
    whole result is appended to ``out[mode]``."""

    def run() -> float:
        command = [sys.executable, "-c", LHE_PROBE, mode, str(path), str(Path(__file__).resolve().parent)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        out.setdefault(mode, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
        return out[mode][-1]["seconds"]

    return run


def sin_work(_: int = 0) -> float:
    values = np.random.default_rng(0).random(2_000_000)
    return float(sum(np.sin(values).sum() for _ in range(10)))


def thread_ceiling(k: int) -> None:
    """Two units of GIL-free numpy work on ``k`` threads: what the machine allows right now."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(k) as pool:
        list(pool.map(sin_work, range(2)))


_STREAM: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def stream_work(unit: int = 0) -> float:
    """Memory-bound work: four copies of a 48 MB float64 array (far larger than any cache) into another. The
    arrays of each ``unit`` are made and touched on first use in this process and kept, so that only the
    copies are timed: the DRAM bandwidth that two cores share, the ceiling of a reduction streaming through
    memory (reading chunks from the page cache, decoding them), as np.sin's is of work that stays in cache."""
    pair = _STREAM.get(unit)
    if pair is None:
        source = np.ones(6_000_000)
        pair = _STREAM[unit] = (source, np.zeros_like(source))
    for _ in range(4):
        np.copyto(pair[1], pair[0])
    return float(pair[1][0])


def stream_ceiling(k: int) -> None:
    """Two units of memory-bound work (:func:`stream_work`) on ``k`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(k) as pool:
        list(pool.map(stream_work, range(2)))


def train_alices(
    npz: Path, epochs: int, device: str, batch_size: int = 128, threads: int | None = None
) -> Callable[[], float]:
    """Seconds per epoch of columnminer's ALICES with its defaults (torch's threads: all cores, or
    ``threads``) on ``device``."""
    import torch

    from columnminer.ml import ParameterizedRatioEstimator

    with np.load(npz) as data:
        columns = {k: data[k] for k in ("x", "y", "r_xz", "t_xz")} | {"theta": data["theta0"]}

    def run() -> float:
        estimator, default_threads = ParameterizedRatioEstimator(n_hidden=(100, 100)), torch.get_num_threads()
        torch.set_num_threads(threads or default_threads)
        start = time.perf_counter()
        history = estimator.train("alices", **columns, n_epochs=epochs, batch_size=batch_size, device=device,
                                  progress=False)  # fmt: skip
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        torch.set_num_threads(default_threads)
        return (time.perf_counter() - start) / history.n_epochs

    return run
