"""Full-budget accuracy of every columnminer.ml method on the Gaussian toy (MadMiner's test setup).

Training: 10^4 samples, theta0 ~ U(-4, 4), reference theta1 = 0 (ratio methods); x ~ p(x|0) with the
joint score at 0 (SALLY); theta ~ U(-4, 4) with the joint score (NDE, SCANDAL). Evaluation: 50 x drawn at
theta = 1 against a grid of 20 thetas in [-4, 4]; the metric is the mean squared error against the exact
toy quantity (log r, score at 0, log p). Prints method, alpha, metric, value, target, pass / fail.

Settings: MadMiner's training defaults (amsgrad, 50 epochs, batch 128, learning rate 1e-3 -> 1e-4, 25%
validation with early stopping), ratio networks with two hidden tanh layers of 100 units. alpha is in
standardised units (the default ``alpha_units``: the score term per unit of std(theta0)). RASCAL uses
alpha = 20: its ROLR term is a squared error of ratios up to e^10 (after clipping), which swamps the score
term at alpha = 1 on this toy.

Usage: python benchmarks/ml_accuracy.py [--n-train 10000] [--epochs 50] [--methods carl,alices,...]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch

from columnminer.ml import (
    DoubleParameterizedRatioEstimator,
    LikelihoodEstimator,
    ParameterizedRatioEstimator,
    ScoreEstimator,
    TrainingOptions,
)
from columnminer.simulators.toy import GaussianToy

TOY = GaussianToy()
THETA_GRID = np.linspace(-4.0, 4.0, 20)
#: method -> (estimator kind, metric, target or None for "reported only", alpha)
TARGETS = {
    "carl": ("ratio", "MSE log r", 0.1, 1.0),
    "rolr": ("ratio", "MSE log r", None, 1.0),
    "alice": ("ratio", "MSE log r", None, 1.0),
    "rascal": ("ratio", "MSE log r", 0.02, 20.0),
    "alices": ("ratio", "MSE log r", 0.02, 1.0),
    "cascal": ("ratio", "MSE log r", None, 1.0),
    "double-carl": ("double", "MSE log r", None, 1.0),
    "double-alices": ("double", "MSE log r", None, 1.0),
    "sally": ("score", "MSE t(x|0)", 0.01, 1.0),
    "nde": ("likelihood", "MSE log p", None, 1.0),
    "scandal": ("likelihood", "MSE log p", 0.05, 1.0),
}
#: Hidden layers of the ratio networks (score and flow conditioner networks use one layer of 100).
RATIO_HIDDEN = (100, 100)


def ratio_sample(n: int, seed: int, double: bool = False) -> dict[str, np.ndarray]:
    """Half y = 0 from theta0 ~ U(-4, 4), half y = 1 from theta1 (0, or U(-4, 4) when ``double``)."""
    rng = np.random.default_rng(seed)
    theta0 = rng.uniform(-4, 4, n)
    theta1 = rng.uniform(-4, 4, n) if double else np.zeros(n)
    y = (np.arange(n) >= n // 2).astype(np.float64)
    x, z = TOY.simulate(np.where(y == 0, theta0, theta1), seed=rng)
    return {
        "x": x[:, None],
        "theta": theta0[:, None],
        "theta1": theta1[:, None],
        "y": y,
        "r_xz": TOY.joint_ratio(x, z, theta0, theta1),
        "t_xz": TOY.joint_score(x, z, theta0)[:, None],
        "t_xz1": TOY.joint_score(x, z, theta1)[:, None],
    }


def run(method: str, n_train: int, options: TrainingOptions, x_test: np.ndarray, alpha: float) -> float:
    kind = TARGETS[method][0]
    thetas = THETA_GRID[:, None]
    if kind in ("ratio", "double"):
        data = ratio_sample(n_train, seed=1, double=kind == "double")
        name = method.split("-")[-1]
        if kind == "ratio":
            data.pop("theta1"), data.pop("t_xz1")
            estimator = ParameterizedRatioEstimator(n_hidden=RATIO_HIDDEN)
            estimator.train(name, sample=data, options=options, alpha=alpha)
            log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], thetas)
        else:
            estimator = DoubleParameterizedRatioEstimator(n_hidden=RATIO_HIDDEN)
            estimator.train(name, sample=data, options=options, alpha=alpha)
            log_r = estimator.evaluate_log_likelihood_ratio(x_test[:, None], thetas, [[0.0]])
        exact = TOY.log_ratio(x_test[None, :], THETA_GRID[:, None], 0.0)
        return float(np.mean((log_r - exact) ** 2))
    if kind == "score":
        x, z = TOY.simulate(0.0, n=n_train, seed=2)
        estimator = ScoreEstimator(n_hidden=(100,))
        estimator.train("sally", x=x[:, None], t_xz=TOY.joint_score(x, z, 0.0)[:, None], options=options)
        x0, _ = TOY.simulate(0.0, n=1000, seed=3)
        t_hat = estimator.evaluate_score(x0[:, None])[:, 0]
        return float(np.mean((t_hat - TOY.score(x0, 0.0)) ** 2))
    rng = np.random.default_rng(4)
    theta = rng.uniform(-4, 4, n_train)
    x, z = TOY.simulate(theta, seed=rng)
    estimator = LikelihoodEstimator(n_hidden=(100,), n_transforms=3)
    estimator.train(
        method,
        x=x[:, None],
        theta=theta[:, None],
        t_xz=TOY.joint_score(x, z, theta)[:, None],
        options=options,
        alpha=alpha,
    )
    log_p = estimator.evaluate_log_likelihood(x_test[:, None], thetas)
    exact = TOY.log_p_x(x_test[None, :], THETA_GRID[:, None])
    return float(np.mean((log_p - exact) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--methods", default=",".join(TARGETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    torch.set_num_threads(args.threads)
    options = TrainingOptions(n_epochs=args.epochs, batch_size=128, progress=False, seed=0)
    x_test, _ = TOY.simulate(1.0, n=50, seed=7)
    print(f"Gaussian toy, {args.n_train} training samples, {args.epochs} epochs, torch {torch.__version__}")
    print(f"{'method':<15} {'alpha':>6} {'metric':<12} {'value':>9} {'target':>8}  result   seconds")
    failed = 0
    for method in args.methods.split(","):
        started = time.perf_counter()
        _, metric, target, alpha = TARGETS[method]
        value = run(method, args.n_train, options, x_test, alpha)
        seconds = time.perf_counter() - started
        if target is None:
            verdict, target_text = "info", "-"
        else:
            verdict, target_text = ("pass" if value <= target else "FAIL"), f"{target:.3g}"
            failed += value > target
        print(
            f"{method:<15} {alpha:>6g} {metric:<12} {value:>9.4f} {target_text:>8}  {verdict:<7} {seconds:8.1f}",
            flush=True,
        )
    print("all targets met" if not failed else f"{failed} target(s) missed")


if __name__ == "__main__":
    main()
