"""Train MadMiner 0.9.6's neural estimators on arrays handed over in an npz file, timing the training.

This is the MadMiner half of ``benchmarks/training.py``. It runs under MadMiner's own virtual environment
(madminer is never installed next to columnminer) and prints one JSON line that the other script reads::

    /tmp/madminer-venv/bin/python benchmarks/madminer_training.py --npz DATA.npz \\
        --method {alices,carl,rascal,sally} --epochs E --batch-size B --hidden 100,100 \\
        [--workdir DIR] [--evaluate-npz EVAL.npz --predictions OUT.npy] [--n-workers N] [--seed S] \\
        [--threads T]

Inputs (shapes as MadMiner's ``SampleAugmenter`` writes them; 1-d arrays are made 2-d):

- ``x`` [n, n_observables], ``theta0`` [n, n_parameters], ``theta1`` [n, n_parameters] (the fixed
  reference hypothesis of MadMiner's single-parameterised estimator: every row must be the same),
  ``y`` [n, 1] (0: drawn from theta0, 1: from theta1), ``r_xz`` [n, 1] (joint ratio theta0 / theta1),
  ``t_xz`` [n, n_parameters] (joint score at theta0; for ``sally`` the joint score at the reference
  point the x were drawn from).

What happens:

- ratio methods (``alices``, ``carl``, ``rascal``, and also ``alice``, ``cascal``, ``rolr``):
  ``ParameterizedRatioEstimator(n_hidden=H).train(method, x=..., y=..., theta=theta0, r_xz=..., t_xz=...,
  n_epochs=E, batch_size=B)``;
- ``sally`` / ``sallino``: ``ScoreEstimator(n_hidden=H).train(method, x=..., t_xz=..., n_epochs=E,
  batch_size=B)``.

Everything else keeps MadMiner's defaults (tanh activation, AMSGrad, learning rate decaying exponentially
from 1e-3 to 1e-4, 25 % validation split with early stopping that restores the best epoch, input and
parameter scaling, alpha = 1, ``n_workers=8`` data-loader processes, single precision; CPU unless CUDA is
visible). ``--n-workers`` overrides the data-loader processes (0 loads batches in the main process).

Timing: ``seconds`` is the wall time of the ``train`` call alone (no file I/O, no model saving), after an
untimed warm-up training of one epoch on 256 rows (torch initialises some machinery lazily on the first
optimiser step, about a second; ``--no-warmup`` skips it);
``samples_per_second_per_epoch`` is ``n_samples * epochs_run / seconds`` where ``n_samples`` counts every
row of the npz (each epoch trains on 75 % of them and evaluates the validation loss on the other 25 %) and
``epochs_run`` is the number of completed epochs (MadMiner stops early only if NaNs appear).

With ``--evaluate-npz`` (keys ``x``, ``theta0``, optional ``theta1``) the trained estimator predicts, row by
row, log r(x_i | theta0_i, theta_ref) (``evaluate_log_likelihood_ratio(..., test_all_combinations=False)``)
or, for ``sally``, the score t(x_i) at the reference point [n, n_parameters]; the predictions are saved with
``np.save`` to ``--predictions``.

The last line printed is JSON: madminer_version, method, n_samples, epochs, seconds,
samples_per_second_per_epoch, final_train_loss, final_val_loss (and a few extra fields).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

RATIO_METHODS = ("alice", "alices", "carl", "cascal", "rascal", "rolr")
SCORE_METHODS = ("sally", "sallino")


def _as_2d(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    return array.reshape(-1, 1) if array.ndim == 1 else array


def _parse_hidden(text: str) -> tuple[int, ...]:
    try:
        hidden = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--hidden must be comma-separated integers, got {text!r}") from err
    if not hidden or min(hidden) < 1:
        raise argparse.ArgumentTypeError(f"--hidden needs positive layer widths, got {text!r}")
    return hidden


def _load_training(path: Path, method: str) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        keys = set(npz.files)
        needed = {"x", "t_xz"} if method in SCORE_METHODS else {"x", "theta0", "y"}
        if method in {"alices", "rascal", "cascal"}:
            needed |= {"t_xz"}
        if method in {"alice", "alices", "rascal", "rolr"}:
            needed |= {"r_xz"}
        missing = sorted(needed - keys)
        if missing:
            raise SystemExit(
                f"{path}: method {method} needs the arrays {missing}; the file has {sorted(keys)}"
            )
        data = {
            key: _as_2d(npz[key]) for key in ("x", "theta0", "theta1", "y", "r_xz", "t_xz") if key in keys
        }
    n = data["x"].shape[0]
    for key, value in data.items():
        if value.shape[0] != n:
            raise SystemExit(f"{path}: {key} has {value.shape[0]} rows, x has {n}")
        if not np.isfinite(value).all():
            raise SystemExit(f"{path}: {key} contains non-finite values")
    if method in RATIO_METHODS and "theta1" in data and not np.all(data["theta1"] == data["theta1"][:1]):
        raise SystemExit(
            f"{path}: MadMiner's ParameterizedRatioEstimator needs one fixed theta1 for all rows"
        )
    return data


def _warm_up(args: argparse.Namespace, data: dict[str, np.ndarray]) -> None:
    """One untimed epoch on a few rows: torch's lazy one-off initialisation stays out of the timing."""
    rows = {key: value[:256] for key, value in data.items()}
    small = argparse.Namespace(**{**vars(args), "epochs": 1})
    _train(small, rows)


def _train(args: argparse.Namespace, data: dict[str, np.ndarray]):
    from madminer.ml import ParameterizedRatioEstimator, ScoreEstimator

    common = {"n_epochs": args.epochs, "batch_size": args.batch_size, "verbose": "none"}
    if args.n_workers is not None:
        common["n_workers"] = args.n_workers
    if args.method in SCORE_METHODS:
        estimator = ScoreEstimator(n_hidden=args.hidden)
        start = time.perf_counter()
        losses_train, losses_val = estimator.train(args.method, x=data["x"], t_xz=data["t_xz"], **common)
    else:
        estimator = ParameterizedRatioEstimator(n_hidden=args.hidden)
        start = time.perf_counter()
        losses_train, losses_val = estimator.train(
            args.method,
            x=data["x"],
            y=data["y"],
            theta=data["theta0"],
            r_xz=data.get("r_xz"),
            t_xz=data.get("t_xz"),
            **common,
        )
    seconds = time.perf_counter() - start
    return estimator, seconds, np.asarray(losses_train), np.asarray(losses_val)


def _final(losses: np.ndarray) -> float | None:
    if losses.size == 0:
        return None
    value = losses.reshape(len(losses), -1)[-1, 0] if losses.ndim > 1 else losses[-1]
    return float(value) if value is not None and np.isfinite(value) else None


def _predict(estimator, method: str, path: Path) -> np.ndarray:
    with np.load(path) as npz:
        if "x" not in npz.files:
            raise SystemExit(f"{path}: the evaluation file needs x")
        x = _as_2d(npz["x"])
        theta0 = _as_2d(npz["theta0"]) if "theta0" in npz.files else None
    if method in SCORE_METHODS:
        return np.asarray(estimator.evaluate_score(x), dtype=np.float64)
    if theta0 is None or theta0.shape[0] != x.shape[0]:
        raise SystemExit(f"{path}: ratio predictions need theta0 with one row per x")
    log_r, _ = estimator.evaluate_log_likelihood_ratio(x, theta0, test_all_combinations=False)
    return np.asarray(log_r, dtype=np.float64).reshape(-1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npz", type=Path, required=True)
    parser.add_argument("--method", required=True, choices=RATIO_METHODS + SCORE_METHODS)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=_parse_hidden, default=(100, 100))
    parser.add_argument("--workdir", type=Path, default=None, help="keep the trained model here")
    parser.add_argument("--evaluate-npz", type=Path, default=None)
    parser.add_argument("--predictions", type=Path, default=None)
    parser.add_argument("--n-workers", type=int, default=None, help="data-loader processes (MadMiner: 8)")
    parser.add_argument("--seed", type=int, default=None, help="seed numpy and torch before training")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up epoch")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    if (args.evaluate_npz is None) != (args.predictions is None):
        parser.error("--evaluate-npz and --predictions go together")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.seed is not None:
        np.random.seed(args.seed)  # noqa: NPY002 - MadMiner splits with the legacy global generator
        torch.manual_seed(args.seed)

    data = _load_training(args.npz, args.method)
    if not args.no_warmup:
        _warm_up(args, data)
        if args.seed is not None:
            np.random.seed(args.seed)  # noqa: NPY002 - as above
            torch.manual_seed(args.seed)
    estimator, seconds, losses_train, losses_val = _train(args, data)
    epochs_run = len(losses_train)
    n_samples = int(data["x"].shape[0])

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        estimator.save(str(args.workdir / f"madminer_{args.method}"))
    if args.evaluate_npz is not None:
        predictions = _predict(estimator, args.method, args.evaluate_npz)
        args.predictions.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.predictions, predictions)

    result = {
        "madminer_version": version("madminer"),
        "method": args.method,
        "n_samples": n_samples,
        "epochs": epochs_run,
        "seconds": seconds,
        "samples_per_second_per_epoch": n_samples * epochs_run / seconds if seconds > 0 else None,
        "final_train_loss": _final(losses_train),
        "final_val_loss": _final(losses_val),
        "seconds_per_epoch": seconds / max(epochs_run, 1),
        "batch_size": args.batch_size,
        "hidden": list(args.hidden),
        "n_workers": args.n_workers if args.n_workers is not None else 8,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
