"""Areas, their errors and coverage on a finished golden-channel demo: grid dependence, integration points,
more toys.

Reads a ``columnminer demo --out DIR`` directory (the event store, the lepton sidecar store and the trained
SALLY / ALICES models) and, without retraining anything:

1. grid dependence: the 68 % area of every method from the grid count and from the interpolated q
   (:func:`columnminer.inference.areas.region_area`) on 21^2, 41^2 and 81^2 grids (the issue: the grid
   count of the labelled truth moved by 4 % between 41^2 and 81^2);
2. the detector-level exact density's Monte Carlo integration: its 68 % area for ``--points`` per event;
3. the bootstrap replicas of every area (mean, standard deviation, 16-84 % half width: outliers show up as a
   standard deviation larger than the half width);
4. coverage of every method by ``--toys`` toys at 300 and 3000 fb^-1 (``0``: skip), with the Neyman critical
   values, and the time each part takes.

Usage: python benchmarks/golden_exact_coverage.py DIR [--toys 3000] [--points 32 64 128] [--grids 21 41 81]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from columnminer._demo import chain
from columnminer._demo.config import DemoConfig
from columnminer.inference.areas import region_area
from columnminer.inference.likelihood import parameter_grid
from columnminer.inference.neyman import (
    area_estimates,
    bootstrap_multipliers,
    gather_event_sample,
    toy_coverage,
)
from columnminer.io.store import EventStore
from columnminer.ml.base import load_estimator


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--toys", type=int, default=2000)
    parser.add_argument("--points", type=int, nargs="*", default=[32, 64, 128])
    parser.add_argument("--grids", type=int, nargs="*", default=[21, 41, 81])
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = args.directory
    config = DemoConfig.make(coverage_toys=max(args.toys, 20))
    store = EventStore.open(str(out / "golden.zarr"))
    leptons = EventStore.open(str(out / "leptons.zarr"))
    sally, alices = load_estimator(out / "models" / "sally"), load_estimator(out / "models" / "alices")
    summary = json.loads((out / "lhe" / "sm" / "summary.json").read_text())
    generated = chain.Generated(background={"cross_section_pb": summary["background_cross_section_pb"]})
    report: dict = {}

    start = time.perf_counter()
    exact = {}
    for k in sorted(set(args.points) | {config.n_integration}):
        t0 = time.perf_counter()
        cfg = DemoConfig(**{**config.to_dict(), "n_integration": k})
        exact[k] = chain.exact_densities(store, leptons, cfg, generated, args.seed)
        print(f"exact densities, {k} points per event: {time.perf_counter() - t0:.1f} s")
    nominal = exact[config.n_integration]
    sample = gather_event_sample(store, "test")

    # 1. grid dependence (and 2. integration points on the demo grid)
    rows = {}
    for n in args.grids:
        t0 = time.perf_counter()
        grid = parameter_grid(config.grid_ranges, [n, n])
        results = chain.limits(
            store,
            DemoConfig(**{**config.to_dict(), "grid_resolution": (n, n)}),
            sally,
            alices,
            nominal,
            progress=False,
        )
        for key, result in results.items():
            rows.setdefault(key, {})[n] = (result.region_volume(0.6827), region_area(grid, result.q, 2.2977))
        print(f"grid {n}x{n}: {time.perf_counter() - t0:.1f} s")
    print("\n68% areas: grid count / interpolated")
    print("method".ljust(10) + "".join(f"{n}^2".rjust(24) for n in args.grids))
    for key, values in rows.items():
        print(
            key.ljust(10) + "".join(f"{values[n][0]:.5f} / {values[n][1]:.5f}".rjust(24) for n in args.grids)
        )
    report["grid_dependence"] = rows
    grid = parameter_grid(config.grid_ranges, config.grid_resolution)
    for k, densities in exact.items():
        models = chain.event_models(
            store, config, sally, alices, densities, grid, config.luminosity_pb, sample
        )
        area = region_area(grid, models["exact"].asimov_q(), 2.2977)
        report.setdefault("integration_points", {})[k] = area
        print(f"exact detector-level 68% area with {k} points per event: {area:.5f}")

    # 3. bootstrap replicas
    t0 = time.perf_counter()
    models = chain.event_models(store, config, sally, alices, nominal, grid, config.luminosity_pb, sample)
    multipliers = bootstrap_multipliers(sample.n_events, args.bootstrap, seed=args.seed + 11)
    areas = {}
    for key, model in models.items():
        (a68, _), replicas = area_estimates(model, multipliers)
        lo, hi = np.percentile(replicas[:, 0], [16, 84])
        areas[key] = replicas[:, 0]
        print(
            f"bootstrap {key:10s} nominal {a68.value:.5f} mean {replicas[:, 0].mean():.5f} std {a68.error:.5f} "
            f"half 16-84% {(hi - lo) / 2:.5f}"
        )
    for key in ("alices", "sally", "truth"):
        r = areas[key] / areas["exact"]
        lo, hi = np.percentile(r, [16, 84])
        print(f"ratio {key}/exact: std {r.std(ddof=1):.4f}, half 16-84% {(hi - lo) / 2:.4f}")
    print(f"bootstrap: {time.perf_counter() - t0:.1f} s")

    # 4. coverage with more toys
    if args.toys > 0:
        for lum in config.coverage_luminosities_pb:
            t0 = time.perf_counter()
            factor = float(np.sqrt(config.luminosity_pb / lum))
            ranges = [(lo * factor, hi * factor) for lo, hi in config.grid_ranges]
            grid_l = parameter_grid(ranges, config.grid_resolution)
            models_l = chain.event_models(store, config, sally, alices, nominal, grid_l, lum, sample)
            t1 = time.perf_counter()
            results = toy_coverage(list(models_l.values()), n_toys=args.toys, seed=args.seed + 5)
            print(
                f"\ncoverage at {lum / 1000:g} fb^-1 ({args.toys} toys; models {t1 - t0:.1f} s, toys "
                f"{time.perf_counter() - t1:.1f} s)"
            )
            for key, r in results.items():
                print(
                    f"  {key:10s} 68%: {r.fractions[0]:.3f} +- {r.errors[0]:.3f}  95%: {r.fractions[1]:.4f} +- "
                    f"{r.errors[1]:.4f}  toy c: {r.neyman_thresholds.round(2).tolist()}  edge {r.at_edge:.3f}"
                )
                report.setdefault("coverage", {}).setdefault(f"{lum / 1000:g}", {})[key] = {
                    "fractions": r.fractions.tolist(),
                    "errors": r.errors.tolist(),
                    "toy_critical_values": r.neyman_thresholds.tolist(),
                }
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    path = Path(__file__).parent / "results" / "golden_exact_coverage.json"
    path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
