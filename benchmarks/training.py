"""Training speed and accuracy of columnminer's estimators beside MadMiner 0.9.6's, on the same toy data.

For each method (default ALICES, CARL, SALLY) this trains

- columnminer's estimator (``ParameterizedRatioEstimator`` / ``ScoreEstimator``) on the CPU, and again on
  the GPU when ``torch.cuda.is_available()``;
- MadMiner's estimator on the same arrays, same epochs, batch size and hidden layers, through
  ``benchmarks/madminer_training.py`` run by MadMiner's own interpreter (``--madminer-python``, default
  ``/tmp/madminer-venv/bin/python``; skipped when it does not exist or with ``--no-madminer``), once with its
  default 8 data-loader worker processes and once with 0 (batches made in the main process: its fastest
  setting on a small machine). MadMiner keeps its other defaults (AMSGrad, learning rate 1e-3 -> 1e-4,
  25 % validation split with early stopping); columnminer uses the same defaults (its ``TrainingOptions``).
- For ALICES / RASCAL / CASCAL also columnminer with ``alpha_units="physical"`` ("physical a"): by default
  (``"standardized"``, MadMiner's convention) the score term is in units of the spread of the training
  thetas, t_scaled = std(theta) t, so alpha = 1 means the same objective in both engines; the physical row
  shows what the score term per unit of theta gives (an effective alpha 1 / var(theta0) ~ 0.19 here).

Each configuration trains ``--repeats`` times with seeds seed, seed + 1, ... on the same data; the table
gives the median s/epoch and the mean and standard deviation of the MSE.

Data (Gaussian toy, ``columnminer.simulators.toy.GaussianToy``: z ~ N(theta, 2), x ~ N(z, 1)): ratio methods
train on ``--n-train`` samples with theta0 ~ U(-4, 4) and reference theta1 = 0 (half y = 0 drawn at theta0,
half y = 1 at theta1) with the joint ratio and the joint score at theta0; SALLY on ``--n-train`` x ~ p(x|0)
with the joint score at 0. Accuracy: 50 x drawn at theta = 1 against 20 thetas in [-4, 4]; the MSE of
log r_hat(x|theta, 0) against the exact log r (ratio methods), or of t_hat(x) against the exact score
t(x|0) = x / 5 (SALLY).

Timing: ``s/epoch`` is the wall time of the ``train`` call divided by the epochs run; ``samples/s`` counts
every row of the training set (75 % trained on, 25 % validated) per epoch, the definition
``madminer_training.py`` uses. Both engines first run an untimed warm-up training (torch initialises some
machinery lazily on the first optimiser step) and use ``--threads`` torch CPU threads (default 1: small
networks gain little from more, and one thread keeps timings on shared machines steadier). The machine
may be shared, so repeat runs vary.

``--speed`` (:func:`training_speed`, the function ``benchmarks/run.py`` can call) runs only the ALICES speed
comparison of the issue: 10^5 samples, 10 epochs, each engine with its own defaults (columnminer's trainer
runs small batches on one torch thread per training thread and validates epoch e in a second thread while
epoch e + 1 trains; MadMiner with torch's default threads), and returns the numbers as a dict.

Before / after, round 2 (2026-12-07, the shared 2-core AMD EPYC VM, CPU only, torch 2.13, no GPU; load
2.6-3.5 from other users throughout; :func:`training_speed` with ``repeats=1`` in fresh processes, HEAD from a
``git worktree`` (autograd) against the working tree (hand-written gradients), sides alternating; s/epoch):

=========================================  ==============================  ======
side                                       runs                            median
=========================================  ==============================  ======
columnminer before (autograd, round 1)     1.162, 1.933, 1.087, 1.251      1.21
columnminer after (analytic gradients)     0.503, 0.553, 0.641, 0.588      0.57
MadMiner 0.9.6 default (8 workers), once   15.3 (beside the 0.588 run)     -
=========================================  ==============================  ======

After / before: 2.1x on the medians (in one process, alternating the two paths of the working tree with
``columnminer.ml.base.ANALYTIC_GRADIENTS``, 2 epochs x 3: wall 0.95 -> 0.48 s/epoch, main-thread CPU 0.83 ->
0.42 s/epoch, also 2.0x). Against the quiet table's 0.918 s/epoch that projects to ~0.44 s/epoch and
~11x MadMiner's quiet 4.94 s/epoch (26x beside it in the loaded run above; the quiet rerun of
``benchmarks/run.py`` decides). Where the time went: at batch 128 a step was ~1.4 ms of which ~0.25 ms
is the arithmetic (three 256 x 100 x 100 matrix products for the primal and the score tangent, compute
bound at 60-70 GFLOP/s on one core) and the rest autograd's graph building, per-tensor optimiser work and
per-operation dispatch. Round 2 (``columnminer/ml/_fused.py``): the loss and all weight gradients by hand
(forward tangent, backward through both chains: a few dozen large tensor operations per step and no
graph), all parameters in one flat buffer updated by one direct call of the fused AMSGrad kernel (bit for
bit the update of ``torch.optim.Adam(fused=True)``), the scaled inputs and the cross-entropy target computed
once per shuffle buffer, Python numbers as cached 0-d tensors (torch converts a number operand into a tensor
on every call), and the validation loss from the same forward pass. The gradients equal autograd's to
float rounding (tests/ml/test_ml_fused.py: 1e-6 of the norm in float32, 1e-12 in float64), so trained
weights differ from round 1 at that level: on ``benchmarks/ml_accuracy.py --seeds 0,1,2 --methods
alices,carl --extra`` every MSE agrees with HEAD's to 6e-6 relative (identical to the 4 digits printed;
the train call 2.1x faster for alices, 1.8x for carl). Not used: two torch threads (the idle threads'
spinning; the second core validates), ``torch.compile`` (its compile time exceeds a 10-epoch training).

Round 1 (same machine, load 2.0-4.9): columnminer's default before round 1 with torch's 2 threads 4.09
s/epoch (15 s in one run: idle intra-op threads spinning against the machine's other users), 1 thread 1.04;
after round 1 (fused Adam, the score propagated forward, one thread, background validation) 0.97; MadMiner
0.9.6 default 16.9, ``n_workers=0`` 2.49.

Usage::

    python benchmarks/training.py [--n-train 10000] [--epochs 20] [--batch-size 128] [--hidden 100,100]
        [--methods alices,carl,sally] [--threads 1] [--no-madminer] [--madminer-python PATH]
        [--madminer-workers N] [--no-gpu] [--json OUT.json]
    python benchmarks/training.py --speed [--n-train 100000] [--epochs 10] [--repeats 3] [--json OUT.json]
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
from pathlib import Path

import numpy as np
import torch

from columnminer.ml import ParameterizedRatioEstimator, ScoreEstimator
from columnminer.simulators.toy import GaussianToy

TOY = GaussianToy()
THETA_GRID = np.linspace(-4.0, 4.0, 20)
HERE = Path(__file__).resolve().parent
METHODS = ("alices", "carl", "rascal", "sally")
SCORE_TERM_METHODS = ("alices", "rascal")


def make_data(directory: Path, n: int, seed: int) -> dict[str, Path]:
    """Write ratio.npz, local.npz (SALLY) and eval.npz into ``directory``; returns their paths."""
    rng = np.random.default_rng(seed)
    theta0 = rng.uniform(-4, 4, n)
    theta1 = np.zeros(n)
    y = (np.arange(n) >= n // 2).astype(np.float64)
    x, z = TOY.simulate(np.where(y == 0, theta0, theta1), seed=rng)
    order = rng.permutation(n)  # mixed classes in every block of rows
    paths = {
        "ratio": directory / "ratio.npz",
        "local": directory / "local.npz",
        "eval": directory / "eval.npz",
    }
    np.savez(
        paths["ratio"],
        x=x[order, None],
        theta0=theta0[order, None],
        theta1=theta1[order, None],
        y=y[order, None],
        r_xz=TOY.joint_ratio(x, z, theta0, theta1)[order, None],
        t_xz=TOY.joint_score(x, z, theta0)[order, None],
    )
    x_local, z_local = TOY.simulate(0.0, n=n, seed=rng)
    np.savez(
        paths["local"],
        x=x_local[:, None],
        theta0=np.zeros((n, 1)),
        t_xz=TOY.joint_score(x_local, z_local, 0.0)[:, None],
    )
    x_eval = TOY.simulate(1.0, n=50, seed=rng)[0]
    grid_theta, grid_x = np.meshgrid(THETA_GRID, x_eval, indexing="ij")  # theta-major rows
    np.savez(
        paths["eval"],
        x=grid_x.reshape(-1, 1),
        theta0=grid_theta.reshape(-1, 1),
        theta1=np.zeros((grid_x.size, 1)),
        x_unique=x_eval,
        log_r=TOY.log_ratio(grid_x, grid_theta, 0.0),
        score=TOY.score(x_eval, 0.0),
    )
    return paths


def mse(method: str, prediction: np.ndarray, truth: np.lib.npyio.NpzFile) -> float:
    """MSE of log r [20, 50] (or of the score [50]) against the exact toy values."""
    if method == "sally":  # [50] unique x, or the [20 x 50] grid rows (theta does not enter)
        prediction = np.asarray(prediction).reshape(-1, len(truth["score"]))
        return float(np.mean((prediction - truth["score"]) ** 2))
    return float(np.mean((np.asarray(prediction).reshape(truth["log_r"].shape) - truth["log_r"]) ** 2))


def run_columnminer(
    method: str,
    paths: dict[str, Path],
    args: argparse.Namespace,
    device: str,
    seed: int,
    alpha_units: str = "standardized",
) -> dict:
    """Train columnminer's estimator on ``device``; timing and accuracy."""
    with np.load(paths["local" if method == "sally" else "ratio"]) as npz:
        data = {key: npz[key] for key in npz.files}
    options = {
        "n_epochs": args.epochs,
        "batch_size": args.batch_size,
        "device": device,
        "progress": False,
        "seed": seed,
    }
    if method == "sally":
        estimator = ScoreEstimator(n_hidden=args.hidden)
        columns = {"x": data["x"], "t_xz": data["t_xz"]}
    else:
        estimator = ParameterizedRatioEstimator(n_hidden=args.hidden)
        columns = {k: data[k] for k in ("x", "y", "r_xz", "t_xz")}
        columns["theta"] = data["theta0"]
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    if method == "sally":
        history = estimator.train(method, **columns, **options)
    else:
        history = estimator.train(method, **columns, alpha_units=alpha_units, **options)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    with np.load(paths["eval"]) as truth:
        x_eval = truth["x_unique"][:, None]
        if method == "sally":
            prediction = estimator.evaluate_score(x_eval)[:, 0]
        else:
            prediction = estimator.evaluate_log_likelihood_ratio(x_eval, THETA_GRID[:, None])
        error = mse(method, prediction, truth)
    n = len(data["x"])
    return {
        "method": method,
        "engine": "columnminer",
        "device": device,
        "epochs": history.n_epochs,
        "seconds": seconds,
        "seconds_per_epoch": seconds / history.n_epochs,
        "samples_per_second": n * history.n_epochs / seconds,
        "mse": error,
        "final_train_loss": history.train_loss[-1],
        "final_val_loss": history.validation_loss[-1] if history.validation_loss else None,
    }


def run_madminer(
    method: str, paths: dict[str, Path], args: argparse.Namespace, workdir: Path, seed: int, workers: int
) -> dict:
    """Train MadMiner's estimator in its own interpreter; timing and accuracy."""
    predictions = workdir / f"madminer_{method}.npy"
    command = [
        str(args.madminer_python),
        str(HERE / "madminer_training.py"),
        "--npz",
        str(paths["local" if method == "sally" else "ratio"]),
        "--method",
        method,
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--hidden",
        ",".join(map(str, args.hidden)),
        "--evaluate-npz",
        str(paths["eval"]),
        "--predictions",
        str(predictions),
        "--seed",
        str(seed),
    ]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    command += ["--n-workers", str(workers)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"madminer_training.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(paths["eval"]) as truth:
        error = mse(method, np.load(predictions), truth)
    return {
        "method": method,
        "engine": f"madminer {result['madminer_version']}" + ("" if workers == 8 else f" w={workers}"),
        "device": result.get("device", "cpu"),
        "epochs": result["epochs"],
        "seconds": result["seconds"],
        "seconds_per_epoch": result["seconds"] / max(result["epochs"], 1),
        "samples_per_second": result["samples_per_second_per_epoch"],
        "mse": error,
        "final_train_loss": result["final_train_loss"],
        "final_val_loss": result["final_val_loss"],
    }


def warm_up(args: argparse.Namespace, devices: list[str]) -> None:
    """Untimed tiny trainings: torch's lazy one-off initialisation stays out of the timing (as in
    ``madminer_training.py``)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 1))
    for device in devices:
        for method in ("alices", "sally"):
            columns = {"x": x, "t_xz": x}
            if method != "sally":
                columns.update(theta=x, y=(rng.uniform(size=256) < 0.5) * 1.0, r_xz=np.ones(256))
            kind = ScoreEstimator if method == "sally" else ParameterizedRatioEstimator
            kind(n_hidden=args.hidden).train(method, **columns, n_epochs=1, device=device, progress=False)


def summarise(key: tuple[str, str, str], values: list[dict]) -> dict:
    """One table row from the repeats: median time per epoch, mean and spread of the MSE."""
    method, engine, device = key
    per_epoch = float(np.median([v["seconds_per_epoch"] for v in values]))
    errors = np.array([v["mse"] for v in values])
    n = values[0]["samples_per_second"] * values[0]["seconds_per_epoch"]  # rows per epoch
    return {
        "method": method,
        "engine": engine,
        "device": device,
        "repeats": len(values),
        "seconds_per_epoch": per_epoch,
        "samples_per_second": n / per_epoch,
        "mse": float(errors.mean()),
        "mse_std": float(errors.std(ddof=1)) if len(errors) > 1 else 0.0,
        "runs": values,
    }


DEFAULT_MADMINER_PYTHON = Path("/tmp/madminer-venv/bin/python")


def _median_run(rows: list[dict], key: str = "seconds_per_epoch") -> float | None:
    return float(np.median([row[key] for row in rows])) if rows else None


def _gpu_rates(paths: dict[str, Path], n: int, epochs: int = 2) -> dict:
    """samples/s of columnminer's default ALICES on the GPU and the CPU per batch size, and the smallest batch
    size at which the GPU is faster (``"no GPU on this machine"`` without CUDA)."""
    if not torch.cuda.is_available():
        return {"gpu": "no GPU on this machine"}
    rates = {}
    for batch in (128, 512, 2048, 8192):
        args = argparse.Namespace(epochs=epochs, batch_size=batch, hidden=(100, 100))
        gpu, cpu = (run_columnminer("alices", paths, args, device, 0) for device in ("cuda", "cpu"))
        rates[batch] = {"gpu": gpu["samples_per_second"], "cpu": cpu["samples_per_second"]}
    beats = [batch for batch, rate in rates.items() if rate["gpu"] > rate["cpu"]]
    return {
        "gpu": torch.cuda.get_device_name(),
        "samples_per_second_by_batch": rates,
        "gpu_beats_cpu_from_batch": min(beats) if beats else None,
        "n_train": n,
    }


def training_speed(
    n_train: int = 100_000,
    epochs: int = 10,
    repeats: int = 3,
    madminer_python: str | Path | None = DEFAULT_MADMINER_PYTHON,
    madminer_workers: tuple[int, ...] = (8, 0),
    seed: int = 0,
    gpu: bool = True,
    madminer_threads: int | None = None,
) -> dict:
    """ALICES training speed, columnminer's defaults against MadMiner 0.9.6's, as a dict (for
    ``benchmarks/run.py``; ``python benchmarks/training.py --speed`` prints it).

    Both train the Gaussian toy's ``n_train`` ALICES rows (:func:`make_data`; 75 % trained on, 25 % validated
    every epoch) for ``epochs`` epochs with batches of 128 and two hidden layers of 100, each engine with
    its own defaults otherwise: columnminer's ``ParameterizedRatioEstimator().train("alices", ...)`` (its
    trainer uses one torch thread per training thread and validates on the second core), MadMiner's
    through ``madminer_training.py`` in its own interpreter with its default data loader (8 worker
    processes) and with ``n_workers=0``, with ``madminer_threads`` torch threads (None: torch's default, all
    cores). The sides alternate ``repeats`` times
    after an untimed warm-up; medians. Returns ``columnminer_s_per_epoch``, ``columnminer_samples_per_s``
    (every row, trained or validated, per second), ``madminer_s_per_epoch`` (its default loader),
    ``madminer_n_workers_0_s_per_epoch``, ``ratio`` (MadMiner's default / columnminer), ``ratio_n_workers_0``,
    the load averages before and after, torch's threads, ``gpu`` (the GPU rates of :func:`_gpu_rates`, or
    ``"no GPU on this machine"``) and the single runs.
    """
    use_madminer = madminer_python is not None and Path(madminer_python).exists()
    args = argparse.Namespace(
        epochs=epochs,
        batch_size=128,
        hidden=(100, 100),
        threads=madminer_threads,
        madminer_python=madminer_python,
    )
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"columnminer": []}
    with tempfile.TemporaryDirectory(prefix="cm-training-speed-") as tmp:
        workdir = Path(tmp)
        paths = make_data(workdir, n_train, seed)
        warm_up(args, ["cpu"])
        for _ in range(repeats):
            runs["columnminer"].append(run_columnminer("alices", paths, args, "cpu", seed))
            for workers in madminer_workers if use_madminer else ():
                row = run_madminer("alices", paths, args, workdir, seed, workers)
                runs.setdefault(f"madminer_n_workers_{workers}", []).append(row)
        gpu_rates = _gpu_rates(paths, n_train) if gpu else {"gpu": "not measured"}
    ours = _median_run(runs["columnminer"])
    theirs = _median_run(runs.get("madminer_n_workers_8", []))
    theirs_0 = _median_run(runs.get("madminer_n_workers_0", []))
    return {
        "work": f"ALICES training, {n_train} samples, {epochs} epochs, batch 128, hidden 100,100, CPU",
        "columnminer_s_per_epoch": ours,
        "columnminer_samples_per_s": n_train / ours,
        "madminer_s_per_epoch": theirs,
        "madminer_n_workers_0_s_per_epoch": theirs_0,
        "ratio": None if theirs is None else theirs / ours,
        "ratio_n_workers_0": None if theirs_0 is None else theirs_0 / ours,
        "repeats": repeats,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "torch_threads": torch.get_num_threads(),
        "madminer_torch_threads": madminer_threads or torch.get_num_threads(),
        "cpus": os.cpu_count(),
        **gpu_rates,
        "runs": runs,
    }


def _hidden(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=None, help="default 10000 (--speed: 100000)")
    parser.add_argument("--epochs", type=int, default=None, help="default 20 (--speed: 10)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=_hidden, default=(100, 100))
    parser.add_argument("--methods", default="alices,carl,sally")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="training seeds per engine (data fixed)")
    parser.add_argument("--no-madminer", action="store_true")
    parser.add_argument("--madminer-python", type=Path, default=DEFAULT_MADMINER_PYTHON)
    parser.add_argument(
        "--madminer-workers",
        default="8,0",
        help="MadMiner data-loader processes, one run per value (8 is its default; 0 loads in-process)",
    )
    parser.add_argument("--no-gpu", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads, both engines (0: torch's default)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument(
        "--speed",
        action="store_true",
        help="only the ALICES speed comparison of speed() (--n-train, --epochs, --repeats; default "
        "100000 samples, 10 epochs), printed as JSON",
    )
    return parser


def _speed_main(args: argparse.Namespace) -> int:
    """``--speed``: :func:`training_speed` printed (and written to ``--json``) as JSON."""
    result = training_speed(
        n_train=args.n_train or 100_000,
        epochs=args.epochs or 10,
        repeats=args.repeats,
        madminer_python=None if args.no_madminer else args.madminer_python,
        madminer_workers=tuple(int(w) for w in str(args.madminer_workers).split(",") if w.strip()),
        seed=args.seed,
        gpu=not args.no_gpu,
    )
    text = json.dumps(result, indent=2, default=float)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


def _runs(
    args: argparse.Namespace,
    methods: list[str],
    devices: list[str],
    use_madminer: bool,
    mm_workers: list[int],
) -> dict[tuple[str, str, str], list[dict]]:
    """Every training of the table: per method and repeat, columnminer on each device (and with physical
    alpha units), then MadMiner with each number of loader workers."""
    runs: dict[tuple[str, str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="cm-training-") as tmp:
        workdir = Path(tmp)
        paths = make_data(workdir, args.n_train, args.seed)
        warm_up(args, devices)
        for method in methods:
            variants = [("columnminer", "standardized")]
            if method in SCORE_TERM_METHODS:
                variants.append(("columnminer physical a", "physical"))
            for repeat in range(args.repeats):
                seed = args.seed + repeat
                for device in devices:
                    for engine, units in variants:
                        row = run_columnminer(method, paths, args, device, seed, units)
                        runs.setdefault((method, engine, device), []).append(row)
                for workers in mm_workers if use_madminer else []:
                    row = run_madminer(method, paths, args, workdir, seed, workers)
                    runs.setdefault((method, row["engine"], row["device"]), []).append(row)
                print(f"# done: {method} repeat {repeat + 1}/{args.repeats}", file=sys.stderr, flush=True)

    return runs


def _print_table(rows: list[dict], args: argparse.Namespace) -> None:
    """The table of the summarised rows, with the speed against MadMiner's default loader."""
    mm_version = next((r["engine"].split()[1] for r in rows if r["engine"].startswith("madminer")), "")
    print(
        f"# Gaussian toy, {args.n_train} training samples, {args.epochs} epochs, batch {args.batch_size}, "
        f"hidden {','.join(map(str, args.hidden))}, {args.repeats} training seed(s) each, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), {os.cpu_count()} CPUs"
    )
    print(
        "# alpha = 1 everywhere; 'physical a': columnminer with the score term per unit of theta instead of "
        "per unit of std(theta0) (MadMiner's and columnminer's default)"
    )
    print("# speed vs MM: MadMiner's s/epoch with its default 8 data-loader workers / this row's")
    metric = {"sally": "MSE t(x|0)"}
    header = f"{'method':<7} {'engine':<20} {'device':<6} {'s/epoch':>8} {'samples/s':>10} {'metric':<10} "
    header += f"{'MSE mean':>9} {'MSE std':>9} {'speed vs MM':>11}"
    print(header)
    print("-" * len(header))
    for row in rows:
        reference = next(
            (r for r in rows if r["method"] == row["method"] and r["engine"] == f"madminer {mm_version}"),
            None,
        )
        speed = (
            "" if reference is None else f"{reference['seconds_per_epoch'] / row['seconds_per_epoch']:.2f}x"
        )
        print(
            f"{row['method']:<7} {row['engine']:<20} {row['device']:<6} {row['seconds_per_epoch']:>8.3f} "
            f"{row['samples_per_second']:>10.0f} {metric.get(row['method'], 'MSE log r'):<10} "
            f"{row['mse']:>9.4g} {row['mse_std']:>9.2g} {speed:>11}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.speed:
        return _speed_main(args)
    args.n_train = args.n_train or 10_000
    args.epochs = args.epochs or 20
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
    logging.basicConfig(level=logging.WARNING)
    if args.threads == 0:
        args.threads = None
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.no_gpu else [])
    use_madminer = not args.no_madminer and args.madminer_python.exists()
    if not args.no_madminer and not use_madminer:
        print(f"# {args.madminer_python} not found: MadMiner rows skipped", file=sys.stderr)
    mm_workers = [int(w) for w in str(args.madminer_workers).split(",") if w.strip()]
    runs = _runs(args, methods, devices, use_madminer, mm_workers)
    rows = [summarise(key, values) for key, values in runs.items()]
    _print_table(rows, args)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
