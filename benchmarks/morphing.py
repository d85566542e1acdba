"""Morphing-weight throughput for many thetas, against the bare matrix product it reduces to.

For 2..5 parameters and two polynomial orders (quadratic: one anomalous vertex; quartic: production and
decay), evaluate the morphing weights (and their gradients) of 10^4 thetas and print:

- thetas/s of ``Morpher.weights`` and ``Morpher.weight_gradients`` (median of repeats);
- thetas/s of the bare product ``phi @ M`` with phi precomputed: the limit, since everything else is
  the cost of the monomials;
- thetas/s of a per-theta Python loop doing the same arithmetic (how a non-vectorised implementation,
  such as MadMiner's per-theta morphing-weight call, scales);
- peak memory of one weights call (tracemalloc).

Run: ``python benchmarks/morphing.py [--thetas 10000] [--repeats 7]``
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np
from _common import median_time

from columnminer.morphing import Morpher, component_values, find_components, optimize_basis


def per_theta_loop(morpher: Morpher, thetas: np.ndarray) -> np.ndarray:
    """Reference: one theta at a time, monomials as a Python loop over components."""
    out = np.empty((thetas.shape[0], morpher.n_basis))
    comps = morpher.components
    for t, theta in enumerate(thetas):
        phi = np.array([np.prod(theta**k) for k in comps])
        out[t] = phi @ morpher.matrix
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thetas", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    header = (
        f"{'order':9s} {'params':>6s} {'comps':>5s} {'weights/s':>12s} {'grads/s':>12s} {'matmul/s':>12s} "
        f"{'limit ratio':>11s} {'loop/s':>10s} {'vs loop':>8s} {'peak MB':>8s}"
    )
    print(f"morphing weights for {args.thetas} thetas, median of {args.repeats} runs")
    print(header)
    print("-" * len(header))
    for order, power in (("quadratic", 2), ("quartic", 4)):
        for n_params in range(2, 6):
            comps = find_components([power] * n_params, power)
            ranges = np.array([(-1.0, 1.0)] * n_params)
            basis = optimize_basis(comps, ranges, n_trials=20, refine=False, seed=1)
            morpher = Morpher(comps, basis)
            thetas = rng.uniform(-1, 1, size=(args.thetas, n_params))
            phi = component_values(thetas, comps)
            matrix = morpher.matrix

            t_weights = median_time(lambda m=morpher, th=thetas: m.weights(th), args.repeats)
            t_grads = median_time(lambda m=morpher, th=thetas: m.weight_gradients(th), args.repeats)
            t_matmul = median_time(lambda p=phi, mm=matrix: p @ mm, args.repeats)
            n_loop = min(args.thetas, 1000)
            t_loop = (
                median_time(lambda m=morpher, th=thetas[:n_loop]: per_theta_loop(m, th), 1)
                * args.thetas
                / n_loop
            )
            np.testing.assert_allclose(
                per_theta_loop(morpher, thetas[:50]), morpher.weights(thetas[:50]), rtol=1e-9
            )

            tracemalloc.start()
            morpher.weights(thetas)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()

            n = args.thetas
            print(
                f"{order:9s} {n_params:6d} {len(comps):5d} {n / t_weights:12.3g} {n / t_grads:12.3g} "
                f"{n / t_matmul:12.3g} {t_weights / t_matmul:11.1f} {n / t_loop:10.3g} "
                f"{t_loop / t_weights:8.0f} {peak:8.2f}"
            )
    print()
    print("limit ratio = time(weights) / time(phi @ M); vs loop = time(per-theta loop) / time(weights)")


if __name__ == "__main__":
    main()
