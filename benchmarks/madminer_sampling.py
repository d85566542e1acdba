"""Time MadMiner 0.9.6's ``SampleAugmenter.sample_train_ratio`` / ``sample_train_local`` on events in an npz file.

This is the MadMiner half of ``benchmarks/sampling.py``: it runs under MadMiner's own virtual environment
(madminer must never be installed next to columnminer) and prints one JSON line that the other script
reads. Run::

    /tmp/madminer-venv/bin/python benchmarks/madminer_sampling.py --npz EVENTS.npz --n-samples N \\
        --n-thetas T --seed S [--kind ratio|local] [--workdir DIR] [--verbose]

``--kind local`` times ``sample_train_local(theta=benchmark(benchmark_names[0]), n_samples=N,
sample_only_from_closest_benchmark=True, partition="train")`` instead (SALLY training data at the SM;
``--n-thetas`` is ignored). ``--repeats R`` reports the median of R timed calls; ``--reuse`` skips writing
the HDF5 file when ``--workdir`` holds one from an earlier run on the same npz (for interleaved comparisons).

The npz holds ``observables`` [n_events, n_observables], ``observable_names``, ``weights``
[n_events, n_benchmarks] (pb per event, summing to the cross section), ``sampled_from`` [n_events]
(benchmark index, -1 for background), ``parameter_names``, ``parameter_ranges`` [n_params, 2],
``benchmark_names``, ``benchmark_values`` [n_benchmarks, n_params], ``morphing_components``
[n_components, n_params] and ``morphing_basis`` [n_components, n_params].

What happens:

1. A child process (same interpreter, hidden ``--build-only`` mode) writes a MadMiner HDF5 file into the
   work directory: parameters (LHA block ``anomalous_hvv``, ids 2, 3, ..., ``morphing_max_power`` 2, the
   given ranges), the benchmarks by name, a ``PhysicsMorpher`` with exactly the given components and basis
   (``set_components`` + ``set_basis(basis_numpy=...)``, no basis optimisation), and the events through
   ``madminer.utils.interfaces.hdf5.save_events`` the way ``LHEReader.save`` does it (observations, one
   weight column per benchmark, sampling ids, events per benchmark; events shuffled with the seed like
   ``LHEReader.save(shuffle=True)``). MadMiner stores every generated sample normalised to the full cross
   section and multiplies by n_b / n_signal when it uses all events, so the npz weights (which already
   carry that fraction) are divided by it. The file is checked by loading it back: MadMiner's cross
   sections per benchmark must equal the column sums of ``weights`` (relative 1e-10) and the morphing
   weights at the basis points must be the unit vectors.
2. The parent process (which never holds the events from the npz) times
   ``SampleAugmenter(file).sample_train_ratio(theta0=random_morphing_points(T, flat priors over the
   parameter ranges), theta1=benchmark(benchmark_names[0]), n_samples=N,
   sample_only_from_closest_benchmark=True, partition="train")`` with MadMiner's default test/validation
   split (0.2 / 0.2, so the first 60 % of the file is the training partition), writing the .npy outputs to
   the work directory. File creation is excluded. Peak resident memory is VmHWM from /proc/self/status,
   reset (``clear_refs``) just before the timed call where the kernel allows it.
3. The last line printed is JSON: madminer_version, n_events, n_samples (rows MadMiner returned),
   n_thetas, seconds, samples_per_second, peak_rss_mb, note.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path

import numpy as np
from _common import (  # stdlib and numpy only: MadMiner's environment imports it
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
)

LHA_BLOCK = "anomalous_hvv"
H5_NAME = "madminer_events.h5"


def _strings(array) -> list[str]:
    return [str(s) for s in np.asarray(array).tolist()]


# -- step 1: the MadMiner file ---------------------------------------------------------------------------
def _basis_first(benchmark_values: np.ndarray, basis: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Benchmark order with the morphing basis first (MadMiner's morpher uses the first n_components
    benchmarks of the file as its basis; a no-op when the npz already lists them first), and the new index
    of every benchmark."""
    basis_idx: list[int] = []
    for point in basis:
        match = np.flatnonzero(np.all(np.isclose(benchmark_values, point, rtol=0.0, atol=1e-12), axis=1))
        match = [i for i in match if i not in basis_idx]
        if not match:
            raise ValueError(f"morphing basis point {point.tolist()} is not one of the benchmarks")
        basis_idx.append(int(match[0]))
    n_benchmarks = len(benchmark_values)
    order = basis_idx + [i for i in range(n_benchmarks) if i not in basis_idx]
    new_index = np.empty(n_benchmarks, dtype=int)
    new_index[order] = np.arange(n_benchmarks)
    return order, new_index


def build_madminer_file(npz_path: str, h5_path: str, seed: int) -> dict:
    """Write the MadMiner HDF5 file for the events in ``npz_path`` and check it; returns a summary."""
    from madminer.core import MadMiner
    from madminer.models import Observable
    from madminer.utils.interfaces.hdf5 import save_events
    from madminer.utils.morphing import PhysicsMorpher

    data = np.load(npz_path, allow_pickle=False)
    parameter_names = _strings(data["parameter_names"])
    parameter_ranges = np.asarray(data["parameter_ranges"], dtype=np.float64)
    benchmark_names = _strings(data["benchmark_names"])
    benchmark_values = np.asarray(data["benchmark_values"], dtype=np.float64)
    components = np.asarray(data["morphing_components"], dtype=int)
    basis = np.asarray(data["morphing_basis"], dtype=np.float64)
    n_benchmarks = len(benchmark_names)

    order, new_index = _basis_first(benchmark_values, basis)

    miner = MadMiner()
    for i, (name, (lo, hi)) in enumerate(zip(parameter_names, parameter_ranges, strict=True)):
        miner.add_parameter(
            lha_block=LHA_BLOCK,
            lha_id=i + 2,
            parameter_name=name,
            morphing_max_power=2,
            parameter_range=(float(lo), float(hi)),
        )
    for b in order:
        values = {p: float(v) for p, v in zip(parameter_names, benchmark_values[b], strict=True)}
        miner.add_benchmark(values, benchmark_names[b], verbose=False)
    morpher = PhysicsMorpher(parameters_from_madminer=miner.parameters)
    morpher.set_components(components)
    morpher.set_basis(basis_numpy=benchmark_values[order[: len(components)]])
    miner.morpher = morpher
    miner.export_morphing = True
    miner.save(h5_path)

    # Events, as LHEReader.save hands them to save_events (after its shuffle).
    weights = np.asarray(data["weights"], dtype=np.float64)
    sampled_from = np.asarray(data["sampled_from"]).astype(int)
    n_events = len(weights)
    xsec_npz = weights.sum(axis=0)
    perm = np.random.default_rng(seed).permutation(n_events)
    weights = weights[perm][:, order]
    sampled_from = sampled_from[perm]
    signal = sampled_from >= 0
    sampled_from[signal] = new_index[sampled_from[signal]]
    n_per_benchmark = np.bincount(sampled_from[signal], minlength=n_benchmarks)
    n_signal = int(signal.sum())
    fraction = np.ones(n_benchmarks + 1)  # last entry: background (index -1), factor 1 in MadMiner
    fraction[:n_benchmarks] = n_per_benchmark / max(n_signal, 1)
    weights /= fraction[sampled_from][:, None]

    observable_names = _strings(data["observable_names"])
    observables = np.asarray(data["observables"], dtype=np.float64)[perm]
    del data
    save_events(
        file_name=h5_path,
        file_override=True,
        observables=OrderedDict((n, Observable(n, n)) for n in observable_names),
        observations=OrderedDict((n, observables[:, j]) for j, n in enumerate(observable_names)),
        weights=OrderedDict((benchmark_names[b], weights[:, j]) for j, b in enumerate(order)),
        sampling_benchmarks=sampled_from,
        num_signal_events=[int(n) for n in n_per_benchmark],
        num_background_events=int((~signal).sum()),
    )
    del weights, observables

    rel = _check_file(h5_path, n_events, benchmark_names, benchmark_values, order, components, xsec_npz)
    phi = np.prod(benchmark_values[order[: len(components)], None, :] ** components[None, :, :], axis=2)
    return {
        "n_events": n_events,
        "n_signal_per_benchmark": n_per_benchmark.tolist(),
        "max_rel_xsec_diff": float(rel.max()),
        "morphing_condition_number": float(np.linalg.cond(phi)),
        "benchmarks_reordered": order != list(range(n_benchmarks)),
    }


def _check_file(
    h5_path, n_events, benchmark_names, benchmark_values, order, components, xsec_npz
) -> np.ndarray:
    """Load the file back: benchmarks, events, cross sections (relative 1e-10; returned) and the morphing
    weights at the basis points (unit vectors) must be what was written."""
    from madminer.analysis import DataAnalyzer

    analyzer = DataAnalyzer(h5_path)
    assert list(analyzer.benchmarks) == [benchmark_names[b] for b in order]
    assert analyzer.n_samples == n_events
    xsec_mm, _ = analyzer.xsecs(thetas=list(benchmark_names), partition="all")
    rel = np.abs(xsec_mm - xsec_npz) / np.abs(xsec_npz)
    if not np.all(rel < 1e-10):
        raise RuntimeError(f"MadMiner cross sections {xsec_mm} differ from npz column sums {xsec_npz}")
    np.testing.assert_array_equal(analyzer.morphing_components, components)
    for j in range(len(components)):
        unit = np.zeros(len(components))
        unit[j] = 1.0
        w = analyzer.morpher.calculate_morphing_weights(benchmark_values[order[j]])
        np.testing.assert_allclose(w, unit, atol=1e-8)
    return rel


# -- step 2: the timed sampling ----------------------------------------------------------------------------
def time_local(npz_path: str, h5_path: str, out_dir: str, n_samples: int, seed: int) -> dict:
    """Time ``sample_train_local`` at the first benchmark (the SM), as :func:`time_sampling` does the ratio."""
    from madminer.sampling import SampleAugmenter, benchmark

    with np.load(npz_path, allow_pickle=False) as data:
        theta_name = _strings(data["benchmark_names"])[0]
    np.random.seed(seed)  # noqa: NPY002

    def sample() -> tuple:  # opening the file is part of the time
        augmenter = SampleAugmenter(h5_path)
        return augmenter, augmenter.sample_train_local(
            theta=benchmark(theta_name),
            n_samples=n_samples,
            folder=out_dir,
            filename="train_local",
            sample_only_from_closest_benchmark=True,
            partition="train",
        )

    (augmenter, (x, _theta, t_xz, n_eff)), memory = _timed(sample)
    return {
        "n_events": int(augmenter.n_samples),
        "n_out": len(x),
        "n_eff_min": float(np.min(n_eff)),
        "t_xz_mean": np.mean(t_xz, axis=0).tolist(),
        "x_mean": np.mean(x, axis=0).tolist(),
        **memory,
    }


def _timed(call) -> tuple:
    """``call()``'s result and {seconds, peak_mb, baseline_mb, hwm_reset} (resident memory of this process)."""
    baseline_mb = rss_mb()
    reset = reset_peak_rss()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    return result, {
        "seconds": seconds,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline_mb,
        "hwm_reset": reset,
    }


def time_sampling(
    npz_path: str, h5_path: str, out_dir: str, n_samples: int, n_thetas: int, seed: int
) -> dict:
    from madminer.sampling import SampleAugmenter, benchmark, random_morphing_points

    with np.load(npz_path, allow_pickle=False) as data:  # only the small arrays are read
        ranges = np.asarray(data["parameter_ranges"], dtype=np.float64)
        theta1_name = _strings(data["benchmark_names"])[0]

    # MadMiner draws thetas and events with the legacy global numpy generator
    np.random.seed(seed)  # noqa: NPY002

    def sample() -> tuple:  # opening the file is part of the time
        augmenter = SampleAugmenter(h5_path)
        points = random_morphing_points(n_thetas, [("flat", float(lo), float(hi)) for lo, hi in ranges])
        return augmenter, augmenter.sample_train_ratio(
            theta0=points,
            theta1=benchmark(theta1_name),
            n_samples=n_samples,
            folder=out_dir,
            filename="train_ratio",
            sample_only_from_closest_benchmark=True,
            partition="train",
        )

    (augmenter, (x, theta0, _theta1, y, r_xz, t_xz, n_eff)), memory = _timed(sample)
    if not (np.all(np.isfinite(r_xz)) and np.all(np.isfinite(t_xz))):
        logging.warning("MadMiner returned non-finite r_xz or t_xz")
    return {
        "n_events": int(augmenter.n_samples),
        "n_out": len(x),
        "n_theta0_points": len(np.unique(theta0, axis=0)),
        "n_y1": int(y.sum()),
        "n_eff_min": float(n_eff),
        **memory,
    }


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npz", required=True, help="events and setup (see the module docstring)")
    parser.add_argument("--n-samples", type=int, required=True, help="total samples requested (N)")
    parser.add_argument("--n-thetas", type=int, required=True, help="random theta0 points (T)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", choices=("ratio", "local"), default="ratio", help="which sample to time")
    parser.add_argument("--repeats", type=int, default=1, help="timed calls (the median is reported)")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the HDF5 file a previous run left in --workdir (same npz)"
    )
    parser.add_argument("--workdir", default=None, help="where the HDF5 file and outputs go (default: temp)")
    parser.add_argument("--verbose", action="store_true", help="show MadMiner's INFO logging")
    parser.add_argument("--build-only", default=None, help=argparse.SUPPRESS)  # internal: child mode
    return parser.parse_args(argv)


def _build(args: argparse.Namespace, h5_path: str) -> dict:
    """Write the HDF5 file in a child process (or reuse the one a previous run left); its summary."""
    t0 = time.perf_counter()
    summary = Path(h5_path + ".json")
    if args.reuse and summary.exists() and Path(h5_path).exists():
        build = json.loads(summary.read_text())
        print(f"reusing {h5_path}: {json.dumps(build)}", flush=True)
        return build
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--npz",
        args.npz,
        "--n-samples",
        "0",
        "--n-thetas",
        "0",
    ]
    cmd += ["--seed", str(args.seed), "--build-only", h5_path] + (["--verbose"] if args.verbose else [])
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    build = json.loads(done.stdout.strip().splitlines()[-1])
    summary.write_text(json.dumps(build))
    print(f"built {h5_path} in {time.perf_counter() - t0:.1f} s: {json.dumps(build)}", flush=True)
    return build


def _note(args: argparse.Namespace, build: dict, result: dict, n_runs: int) -> str:
    """What was timed, in words (the JSON line's ``note``)."""
    if args.kind == "local":
        return (
            "sample_train_local at the first benchmark, MadMiner defaults test_split=0.2, validation_split=0.2, "
            f"sample_only_from_closest_benchmark=True; .npy saving included; median of {n_runs} calls; "
            f"max |xsec/npz - 1| = {build['max_rel_xsec_diff']:.1e}"
        )
    per_theta = max(round((args.n_samples // 2) / max(args.n_thetas, 1)), 1)
    return (
        f"sample_train_ratio, MadMiner defaults test_split=0.2, validation_split=0.2 (train = first 60% of "
        f"the shuffled file); half the samples from {args.n_thetas} random theta0 (y=0, {per_theta} each), "
        f"half from theta1=benchmark (y=1) in {args.n_thetas} separate passes with a fresh set of random "
        f"theta0; sample_only_from_closest_benchmark=True: only events generated at the benchmark closest to "
        f"the sampling theta are used (cross sections, r_xz, t_xz too); every theta re-reads the whole HDF5 "
        f"file at least 3 times (xsecs, xsec gradients, sampling); float32 outputs, .npy saving included; "
        f"n_samples = rows returned; peak RSS includes ~{result['baseline_mb']:.0f} MB interpreter+imports"
        f"{'' if result['hwm_reset'] else ' (VmHWM not reset: includes everything before)'}; "
        f"morphing: given components and basis set with PhysicsMorpher.set_components/set_basis; "
        f"max |xsec/npz - 1| = {build['max_rel_xsec_diff']:.1e}"
    )


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.build_only is not None:
        print(json.dumps(build_madminer_file(args.npz, args.build_only, args.seed)))
        return
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="madminer_sampling_")
        workdir = Path(tmp.name)
    else:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    h5_path, out_dir = str(workdir / H5_NAME), str(workdir / "samples")
    try:
        build = _build(args, h5_path)
        runs = []
        for _ in range(max(args.repeats, 1)):
            if args.kind == "local":
                runs.append(time_local(args.npz, h5_path, out_dir, args.n_samples, args.seed))
            else:
                runs.append(
                    time_sampling(args.npz, h5_path, out_dir, args.n_samples, args.n_thetas, args.seed)
                )
        result = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    finally:
        if tmp is not None:
            tmp.cleanup()
    output = {
        "madminer_version": version("madminer"),
        "kind": args.kind,
        "n_events": result["n_events"],
        "n_samples": result["n_out"],
        "n_thetas": args.n_thetas,
        "seconds": round(result["seconds"], 4),
        "samples_per_second": round(result["n_out"] / result["seconds"], 1),
        "peak_rss_mb": round(result["peak_mb"], 1),
        "note": _note(args, build, result, len(runs)),
    }
    print(json.dumps(output))


if __name__ == "__main__":
    main()
