r"""Accuracy of the likelihood-ratio estimators on MadMiner's Gaussian toy, following MadMiner's protocol.

The protocol is MadMiner 0.9.6's ``tests/test_ratio_estimation.py``, step by step:

- simulator: :math:`z \sim N(\theta + 10, 2)`, :math:`x \sim N(z, 1)` (standard deviations), so
  :math:`x \sim N(\theta + 10, \sqrt5)` and the exact :math:`\log r(x|\theta_0, \theta_1)` is a difference of
  two such normal log densities;
- training sample: 5,000 parameter points :math:`\theta_0 \sim U(-4, 4)` and :math:`\theta_1 = 0`; for every
  point one event drawn at :math:`\theta_0` (y = 0) and one at :math:`\theta_1` (y = 1), both rows carrying
  that :math:`\theta_0` (10,000 rows in all), the joint ratio :math:`r(x,z|\theta_0,\theta_1) =
  p(z|\theta_0)/p(z|\theta_1)` and the joint score at :math:`\theta_0`,
  :math:`t(x,z|\theta_0) = (z - \theta_0 - 10)/4`. (MadMiner's test computes the joint score from x instead of
  z, a bug not copied here; both the MadMiner runs and ours train on the correct one.);
- evaluation: 100 x drawn at :math:`\theta = 1` against the 100 points of ``np.linspace(-4, 4, 100)``;
  the metric is the mean squared error of the estimated :math:`\log\hat r(x|\theta, 0)` against the exact
  one over the 100 x 100 grid. (MadMiner's test prints its square root.)

Every seed s in ``--seeds`` (default 0 to 4) draws its own training sample and test points from
``np.random.default_rng(s)``; the table shows mean +- standard deviation over the seeds. Columns:

- *MadMiner 0.9.6, its defaults* (with ``--madminer-python``): ``ParameterizedRatioEstimator()`` (one hidden
  layer of 100 tanh units) and ``train(method, x, y, theta, r_xz, t_xz)`` with nothing else: alpha = 1,
  50 epochs, batches of 128, AMSGrad with the learning rate decaying from 1e-3 to 1e-4, 25% validation,
  early stopping, input and parameter scaling, 8 data-loader processes. It runs in MadMiner's own
  virtual environment through ``benchmarks/madminer_training.py`` (numpy and torch seeded with s, one torch
  thread, an untimed one-epoch warm-up) on the very arrays columnminer trains on.
- *columnminer, MadMiner's settings*: ``ParameterizedRatioEstimator(n_hidden=(100,), activation="tanh")``
  trained with :meth:`TrainingOptions.madminer() <columnminer.ml.TrainingOptions.madminer>` (the settings
  above, early stopping to the epoch of the smallest validation loss) and alpha = 1, seed s.
- *columnminer defaults*: ``ParameterizedRatioEstimator()`` and ``train(method, x=..., y=..., theta=...,
  r_xz=..., t_xz=...)`` with nothing but the data (so the training seed is the default, 0, for every s).
- *target*: the issue's goal for the defaults (mean over the seeds): 0.02 for alices, rascal and cascal,
  0.1 for carl, rolr and alice; *pass* means the mean meets it and, when MadMiner ran, the defaults took
  no more wall time than MadMiner's defaults.
- *wall*: mean seconds of one ``train`` call (training only: no data generation, no evaluation) of our
  defaults and of MadMiner's defaults, and their ratio. Both run on one torch thread, interleaved method
  by method, after an untimed warm-up. ``--madminer-n-workers 8,0`` also times MadMiner with its data
  loading in the main process (``n_workers=0``; its accuracy is not affected) and adds that ratio.

``--extra`` adds rows without targets on the same toy: the doubly parameterised estimator (carl and
alices; theta0 and theta1 both ~ U(-4, 4), evaluated at theta1 = 0) and SALLY (10,000 events at theta = 0,
the MSE of t_hat(x|0) against the exact (x - 10) / 5 at the 100 test points), with columnminer's defaults
and with MadMiner's settings. ``--ablation`` adds a second table: columnminer's defaults with one setting
changed at a time (MadMiner's network, tanh, MadMiner's learning-rate schedule, classic early stopping,
alpha = 1 for rascal, alpha = 10 for alices and cascal, no gradient clipping for rolr and rascal), which
shows what each default contributes.

Usage::

    python benchmarks/ml_accuracy.py [--seeds 0,1,2,3,4] [--methods carl,rolr,...] \
        [--madminer-python /tmp/madminer-venv/bin/python] [--madminer-n-workers 8,0] [--extra] \
        [--ablation] [--json results.json]

Result (2026-12-07; ``--madminer-python /tmp/madminer-venv/bin/python --madminer-n-workers 8,0 --extra``,
seeds 0-4; a shared 2-core AMD EPYC VM, CPU only, torch 2.13 on one thread; wall times move with the load of
the other users of the machine, the ratios compare runs made side by side). MSE of log r, mean +- sd over
the 5 seeds; wall = mean seconds of one ``train`` call. The full tables, with the ``--extra`` rows and the
``--ablation`` table, are in ``benchmarks/README.md``::

    method  MadMiner 0.9.6  columnminer,     columnminer     target pass  wall s: ours / MadMiner
            its defaults    MadMiner's sett. defaults                     (ratio; n_workers=0: s, ratio)
    carl    0.301 +- 0.115  0.301 +- 0.116   0.037 +- 0.029  0.1    pass  1.7 / 32.0 (0.05; 4.8: 0.36)
    rolr    0.476 +- 0.342  0.296 +- 0.105   0.033 +- 0.006  0.1    pass  2.0 / 35.4 (0.06; 6.3: 0.32)
    alice   0.160 +- 0.064  0.162 +- 0.062   0.009 +- 0.006  0.1    pass  1.7 / 32.2 (0.05; 4.9: 0.35)
    rascal  0.299 +- 0.178  0.224 +- 0.097   0.011 +- 0.003  0.02   pass  3.5 / 39.0 (0.09; 8.3: 0.43)
    alices  0.095 +- 0.040  0.095 +- 0.041   0.003 +- 0.002  0.02   pass  3.0 / 36.1 (0.08; 7.6: 0.39)
    cascal  0.132 +- 0.059  0.130 +- 0.061   0.007 +- 0.005  0.02   pass  3.0 / 30.5 (0.10; 6.3: 0.48)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from columnminer.ml import (
    DoubleParameterizedRatioEstimator,
    ParameterizedRatioEstimator,
    ScoreEstimator,
    TrainingOptions,
)

__all__ = [
    "METHODS",
    "TARGETS",
    "THETA_GRID",
    "exact_log_r",
    "main",
    "simulate",
    "test_points",
    "training_sample",
]

logger = logging.getLogger(__name__)

#: The ratio methods and the issue's targets for the mean MSE of log r with columnminer's defaults.
TARGETS = {"carl": 0.1, "rolr": 0.1, "alice": 0.1, "rascal": 0.02, "alices": 0.02, "cascal": 0.02}
METHODS = tuple(TARGETS)
#: MadMiner's evaluation grid of theta0.
THETA_GRID = np.linspace(-4.0, 4.0, 100)
Z_OFFSET, Z_STD, X_STD = 10.0, 2.0, 1.0
N_POINTS, N_TEST = 5000, 100
MADMINER_RUNNER = Path(__file__).with_name("madminer_training.py")


# -- MadMiner's toy -----------------------------------------------------------------------------------------
def _log_normal(value: np.ndarray, mean: np.ndarray, std: float) -> np.ndarray:
    return -0.5 * ((value - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2.0 * math.pi)


def simulate(theta: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(x, z) for every entry of ``theta``: z ~ N(theta + 10, 2), x ~ N(z, 1)."""
    z = rng.normal(np.asarray(theta, dtype=np.float64) + Z_OFFSET, Z_STD)
    return rng.normal(z, X_STD), z


def exact_log_r(x: np.ndarray, theta0: np.ndarray, theta1: float | np.ndarray = 0.0) -> np.ndarray:
    r"""Exact :math:`\log r(x|\theta_0,\theta_1)` with :math:`x \sim N(\theta + 10, \sqrt5)` (numpy broadcasting)."""
    std = math.hypot(Z_STD, X_STD)
    return _log_normal(x, theta0 + Z_OFFSET, std) - _log_normal(x, theta1 + Z_OFFSET, std)


def training_sample(
    rng: np.random.Generator, n_points: int = N_POINTS, double: bool = False
) -> dict[str, np.ndarray]:
    """MadMiner's training sample: per parameter point theta0 ~ U(-4, 4) one event at theta0 (y = 0) and one
    at theta1 (y = 1; theta1 = 0, or ~ U(-4, 4) per point when ``double``), both with that theta0, the joint
    ratio p(z|theta0) / p(z|theta1) and the joint score at theta0 (and, when ``double``, at theta1)."""
    theta0 = rng.uniform(-4.0, 4.0, n_points)
    theta1 = rng.uniform(-4.0, 4.0, n_points) if double else np.zeros(n_points)
    x0, z0 = simulate(theta0, rng)
    x1, z1 = simulate(theta1, rng)
    x, z = np.concatenate([x0, x1]), np.concatenate([z0, z1])
    t0, t1 = np.tile(theta0, 2), np.tile(theta1, 2)
    sample = {
        "x": x[:, None],
        "y": np.concatenate([np.zeros(n_points), np.ones(n_points)]),
        "theta": t0[:, None],
        "r_xz": np.exp(_log_normal(z, t0 + Z_OFFSET, Z_STD) - _log_normal(z, t1 + Z_OFFSET, Z_STD)),
        "t_xz": ((z - t0 - Z_OFFSET) / Z_STD**2)[:, None],
    }
    if double:
        sample["theta1"] = t1[:, None]
        sample["t_xz1"] = ((z - t1 - Z_OFFSET) / Z_STD**2)[:, None]
    return sample


def test_points(rng: np.random.Generator, n: int = N_TEST) -> np.ndarray:
    """MadMiner's test points: ``n`` x drawn at theta = 1."""
    return simulate(np.ones(n), rng)[0]


def _mse(log_r: np.ndarray, x_test: np.ndarray) -> float:
    exact = exact_log_r(x_test[None, :], THETA_GRID[:, None])
    return float(np.mean((np.asarray(log_r).reshape(exact.shape) - exact) ** 2))


# -- the runs -------------------------------------------------------------------------------------------------
@dataclass
class Runs:
    """MSE and wall-time values per (column, method), one per seed."""

    mse: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, column: str, method: str, mse: float | None, seconds: float | None) -> None:
        if mse is not None:
            self.mse.setdefault((column, method), []).append(float(mse))
        if seconds is not None:
            self.seconds.setdefault((column, method), []).append(float(seconds))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mse": {f"{c}/{m}": v for (c, m), v in self.mse.items()},
            "seconds": {f"{c}/{m}": v for (c, m), v in self.seconds.items()},
        }


def _train_timed(estimator: Any, method: str, **kwargs: Any) -> float:
    """Seconds of ``estimator.train(method, **kwargs)``."""
    started = time.perf_counter()
    estimator.train(method, **kwargs)
    return time.perf_counter() - started


def run_columnminer(method: str, sample: dict[str, np.ndarray], x_test: np.ndarray, settings: str, seed: int):
    """(MSE, training seconds) of ``ParameterizedRatioEstimator`` with ``settings`` "defaults" or
    "mm-settings" (MadMiner's)."""
    columns = {"x", "y", "theta", "r_xz", "t_xz"}
    data = {key: value for key, value in sample.items() if key in columns}
    if settings == "defaults":
        estimator = ParameterizedRatioEstimator()
        seconds = _train_timed(estimator, method, **data)
    else:
        estimator = ParameterizedRatioEstimator(n_hidden=(100,), activation="tanh")
        options = TrainingOptions.madminer(seed=seed, progress=False)
        seconds = _train_timed(estimator, method, sample=data, options=options, alpha=1.0)
    log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], THETA_GRID[:, None])
    return _mse(log_r, x_test), seconds


#: One change each to columnminer's defaults: name -> (methods, estimator settings, training keywords).
ABLATIONS: dict[str, tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = {
    "one layer of 100 tanh (MadMiner's network)": (METHODS, {"n_hidden": (100,), "activation": "tanh"}, {}),
    "two layers of 100 tanh": (METHODS, {"activation": "tanh"}, {}),
    "learning rate 1e-3 -> 1e-4, 50 epochs (MadMiner's)": (
        METHODS,
        {},
        {"initial_lr": 1e-3, "final_lr": 1e-4, "n_epochs": 50},
    ),
    "early stopping to the smallest validation loss": (METHODS, {}, {"early_stopping_tolerance": 0.0}),
    "alpha = 1": (("rascal",), {}, {"alpha": 1.0}),
    "alpha = 10": (("alices", "cascal"), {}, {"alpha": 10.0}),
    "no gradient clipping": (("rolr", "rascal"), {}, {"clip_gradient": None}),
}


def run_ablation(name: str, method: str, sample: dict[str, np.ndarray], x_test: np.ndarray) -> float:
    """MSE of columnminer's defaults with the one change ``ABLATIONS[name]``."""
    _, settings, keywords = ABLATIONS[name]
    data = {key: value for key, value in sample.items() if key in {"x", "y", "theta", "r_xz", "t_xz"}}
    estimator = ParameterizedRatioEstimator(**settings)
    estimator.train(method, **data, **keywords)
    return _mse(estimator.evaluate_log_likelihood_ratio(x_test[:, None], THETA_GRID[:, None]), x_test)


def ablation_table(runs: Runs, methods: list[str]) -> str:
    """Mean +- sd MSE of each one-change variant of the defaults, per method."""
    head = ["columnminer defaults, but", *methods]
    rows = [["(nothing changed)", *(_stat(runs.mse.get(("defaults", m))) for m in methods)]]
    for name, (targets, _, _) in ABLATIONS.items():
        if any(m in targets for m in methods):
            rows.append([name, *(_stat(runs.mse.get((f"ablation:{name}", m))) for m in methods)])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [head, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def run_madminer(
    python: str,
    method: str,
    sample: dict[str, np.ndarray],
    x_test: np.ndarray,
    seed: int,
    n_workers: int | None,
    workdir: Path,
) -> tuple[float, float]:
    """(MSE, training seconds) of MadMiner 0.9.6 with its defaults, run in its own virtual environment."""
    data = workdir / "train.npz"
    evaluation = workdir / "evaluate.npz"
    predictions = workdir / "predictions.npy"
    if not data.exists():
        np.savez(
            data,
            x=sample["x"],
            theta0=sample["theta"],
            theta1=np.zeros_like(sample["theta"]),
            y=sample["y"][:, None],
            r_xz=sample["r_xz"][:, None],
            t_xz=sample["t_xz"],
        )
        grid_theta, grid_x = np.meshgrid(THETA_GRID, x_test, indexing="ij")
        np.savez(evaluation, x=grid_x.reshape(-1, 1), theta0=grid_theta.reshape(-1, 1))
    command = [
        python,
        str(MADMINER_RUNNER),
        "--npz",
        str(data),
        "--method",
        method,
        "--epochs",
        "50",
        "--batch-size",
        "128",
        "--hidden",
        "100",
        "--seed",
        str(seed),
        "--threads",
        "1",
        "--evaluate-npz",
        str(evaluation),
        "--predictions",
        str(predictions),
    ]
    if n_workers is not None:
        command += ["--n-workers", str(n_workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"MadMiner run failed ({' '.join(command)}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return _mse(np.load(predictions), x_test), float(result["seconds"])


def run_extra(rng_seed: int, runs: Runs) -> None:
    """Rows without targets: doubly parameterised carl / alices and SALLY, defaults vs MadMiner's settings."""
    rng = np.random.default_rng([rng_seed, 1])
    sample = training_sample(rng, double=True)
    x_test = test_points(rng)
    grid = THETA_GRID[:, None]
    madminer = {"options": TrainingOptions.madminer(seed=rng_seed, progress=False)}
    for method in ("carl", "alices"):
        estimator = DoubleParameterizedRatioEstimator()
        seconds = _train_timed(estimator, method, sample=sample)
        log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], grid, [[0.0]])
        runs.add("defaults", f"double-{method}", _mse(log_r, x_test), seconds)
        estimator = DoubleParameterizedRatioEstimator(n_hidden=(100,), activation="tanh")
        seconds = _train_timed(estimator, method, sample=sample, alpha=1.0, **madminer)
        log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], grid, [[0.0]])
        runs.add("mm-settings", f"double-{method}", _mse(log_r, x_test), seconds)
    x, z = simulate(np.zeros(2 * N_POINTS), rng)
    local = {"x": x[:, None], "t_xz": ((z - Z_OFFSET) / Z_STD**2)[:, None]}
    exact = (x_test - Z_OFFSET) / (Z_STD**2 + X_STD**2)
    for settings, estimator, extra in (
        ("defaults", ScoreEstimator(), {}),
        ("mm-settings", ScoreEstimator(n_hidden=(100,), activation="tanh", score_scaling="none"), madminer),
    ):
        seconds = _train_timed(estimator, "sally", **local, **extra)
        t_hat = estimator.evaluate_score(x_test[:, None])[:, 0]
        runs.add(settings, "sally", float(np.mean((t_hat - exact) ** 2)), seconds)


def _warm_up() -> None:
    """An untimed tiny training: torch initialises some machinery lazily on the first optimiser step."""
    sample = training_sample(np.random.default_rng(12345), n_points=128)
    ParameterizedRatioEstimator(n_hidden=(8,)).train("alices", sample=sample, n_epochs=1, progress=False)


# -- the table --------------------------------------------------------------------------------------------
def _stat(values: list[float] | None) -> str:
    """``mean +- sd`` (4 decimals, or 2 significant digits in scientific notation below 1e-3)."""
    if not values:
        return "-"
    mean = float(np.mean(values))
    form = "{:.4f}" if abs(mean) >= 1e-3 else "{:.1e}"
    if len(values) == 1:
        return form.format(mean)
    return f"{form.format(mean)} +- {form.format(float(np.std(values, ddof=1)))}"


def table(runs: Runs, methods: list[str], workers: list[int | None], extra: bool) -> tuple[str, int]:
    """The result table and the number of methods that miss their target (accuracy or wall time)."""
    main_mm = f"madminer-{workers[0]}" if workers else None
    head = [
        "method",
        "MadMiner 0.9.6 (its defaults)",
        "columnminer, MadMiner's settings",
        "columnminer defaults",
        "target",
        "pass",
        "wall s ours",
        "wall s MadMiner",
        "ours/MadMiner",
    ]
    head += [f"ours/MadMiner n_workers={w}" for w in workers[1:]]
    rows, failed = [], 0
    for method in methods:
        ours = runs.mse.get(("defaults", method))
        target = TARGETS.get(method)
        t_ours = runs.seconds.get(("defaults", method))
        t_mm = runs.seconds.get((main_mm, method)) if main_mm else None
        ratio = np.mean(t_ours) / np.mean(t_mm) if t_ours and t_mm else None
        verdict = "-"
        if target is not None and ours:
            ok = np.mean(ours) <= target and (ratio is None or ratio <= 1.0)
            verdict = "pass" if ok else "FAIL"
            failed += not ok
        row = [
            method,
            _stat(runs.mse.get((main_mm, method)) if main_mm else None),
            _stat(runs.mse.get(("mm-settings", method))),
            _stat(ours),
            "-" if target is None else f"{target:g}",
            verdict,
            "-" if not t_ours else f"{np.mean(t_ours):.1f}",
            "-" if not t_mm else f"{np.mean(t_mm):.1f}",
            "-" if ratio is None else f"{ratio:.2f}",
        ]
        for w in workers[1:]:
            other = runs.seconds.get((f"madminer-{w}", method))
            row.append(f"{np.mean(t_ours) / np.mean(other):.2f}" if t_ours and other else "-")
        rows.append(row)
    if extra:
        for method in ("double-carl", "double-alices", "sally"):
            t_ours = runs.seconds.get(("defaults", method))
            rows.append(
                [
                    method,
                    "-",
                    _stat(runs.mse.get(("mm-settings", method))),
                    _stat(runs.mse.get(("defaults", method))),
                    "-",
                    "-",
                    "-" if not t_ours else f"{np.mean(t_ours):.1f}",
                    "-",
                    "-",
                ]
                + ["-"] * (len(workers) - 1)
            )
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [head, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    others = [("mm-settings", "columnminer with MadMiner's settings")]
    others += [(f"madminer-{w}", f"MadMiner n_workers={w}") for w in workers[1:]]
    for column, label in others:
        times = [(m, runs.seconds.get((column, m))) for m in methods]
        if any(t for _, t in times):
            lines.append(f"wall s {label}: " + ", ".join(f"{m} {np.mean(t):.1f}" for m, t in times if t))
    return "\n".join(lines), failed


def _workers(text: str) -> list[int | None]:
    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        values.append(None if part in ("", "default") else int(part))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds (default: 0,1,2,3,4)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--madminer-python", help="python of a virtual environment with madminer 0.9.6")
    parser.add_argument(
        "--madminer-n-workers",
        type=_workers,
        default=[None],
        help="MadMiner data-loader processes, comma-separated: the first is the table's MadMiner column "
        "(default: MadMiner's own default, 8), the others add wall-time ratios (e.g. 8,0)",
    )
    parser.add_argument("--extra", action="store_true", help="also doubly parameterised ratios and SALLY")
    parser.add_argument(
        "--ablation", action="store_true", help="also the defaults with one setting changed at a time"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--json", type=Path, help="write every per-seed value here")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = [m.strip() for m in args.methods.split(",")]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
    workers = [w if w is not None else 8 for w in args.madminer_n_workers] if args.madminer_python else []
    if args.madminer_python:
        version = subprocess.run(
            [
                args.madminer_python,
                "-c",
                "from importlib.metadata import version; print(version('madminer'))",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if version.returncode != 0:
            parser.error(f"{args.madminer_python} cannot import madminer: {version.stderr.strip()[-500:]}")
        print(f"MadMiner {version.stdout.strip()} from {args.madminer_python}", flush=True)
    print(
        f"MadMiner's Gaussian toy: {2 * N_POINTS} training rows, {N_TEST} x at theta = 1 x "
        f"{len(THETA_GRID)} theta in [-4, 4]; seeds {seeds}; torch {torch.__version__} on {args.threads} "
        f"thread(s), {os.cpu_count()} CPUs",
        flush=True,
    )
    _warm_up()
    runs = Runs()
    for seed in seeds:
        rng = np.random.default_rng(seed)
        sample = training_sample(rng)
        x_test = test_points(rng)
        with tempfile.TemporaryDirectory(prefix="ml_accuracy_") as tmp:
            for method in methods:
                for w in workers:
                    mse, seconds = run_madminer(
                        args.madminer_python, method, sample, x_test, seed, w, Path(tmp)
                    )
                    # accuracy from the first (main) MadMiner setting only; timings from all
                    runs.add(f"madminer-{w}", method, mse if w == workers[0] else None, seconds)
                for settings in ("defaults", "mm-settings"):
                    mse, seconds = run_columnminer(method, sample, x_test, settings, seed)
                    runs.add(settings, method, mse, seconds)
                shown = {
                    c: runs.mse[(c, method)][-1]
                    for c in ("defaults", "mm-settings", f"madminer-{workers[0]}" if workers else "")
                    if (c, method) in runs.mse
                }
                print(
                    f"  seed {seed} {method:<7} " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()),
                    flush=True,
                )
        if args.ablation:
            for name, (targets, _, _) in ABLATIONS.items():
                for method in (m for m in methods if m in targets):
                    runs.add(f"ablation:{name}", method, run_ablation(name, method, sample, x_test), None)
        if args.extra:
            run_extra(seed, runs)
    text, failed = table(runs, methods, workers, args.extra)
    print()
    print(f"MSE of log r (mean +- sd over seeds {seeds}); wall time = mean seconds of one train call")
    print(text)
    print("all targets met" if not failed else f"{failed} method(s) miss the target")
    if args.ablation:
        print()
        print("Ablation: MSE of log r (mean +- sd over the seeds) with one setting of the defaults changed")
        print(ablation_table(runs, methods))
    if args.json:
        args.json.write_text(json.dumps({"seeds": seeds, "workers": workers, **runs.to_dict()}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
