"""The ``columnminer`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ._version import __version__
from .errors import ColumnMinerError

__all__ = ["main"]


def _format_demo(result) -> str:
    setup = result.setup
    space = setup.parameter_space
    names = space.parameter_names
    lines = [
        f"columnminer {__version__} demo: parameter space, morphing and analysis setup",
        "",
        "Parameters",
    ]
    for p in space.parameters.values():
        lines.append(
            f"  {p.name:4s} LHA ({p.lha_block}, {p.lha_id})  max power {p.morphing_max_power}  "
            f"range [{p.parameter_range[0]:g}, {p.parameter_range[1]:g}]"
        )
    morpher = setup.morpher
    lines += [
        "",
        f"Morphing basis: {morpher.n_components} components, {morpher.n_basis} points, "
        f"condition number {morpher.condition_number:.3g}",
        "  " + f"{'benchmark':26s}" + "".join(f"{n:>10s}" for n in names),
    ]
    for name, row in zip(
        setup.morphing_benchmarks, space.benchmark_array(setup.morphing_benchmarks), strict=True
    ):
        lines.append("  " + f"{name:26s}" + "".join(f"{v:10.4f}" for v in row))
    checks = [
        (
            "mean sum of squared morphing weights",
            f"{result.squared_weight_sum_optimised:.3f} optimised "
            f"vs {result.squared_weight_sum_random:.3f} for random bases (median)",
        ),
        (
            f"per-event weights, {result.n_events} events x {result.n_thetas} thetas",
            f"max relative deviation from exact {result.max_event_deviation:.1e}",
        ),
        (
            "cross sections on a 100 x 100 grid",
            f"max relative deviation from exact {result.max_xsec_deviation:.1e}",
        ),
        ("morphing weights throughput", f"{result.thetas_per_second:,.0f} thetas/s"),
        ("DESIGN.md reference weights and gradients", "OK" if result.reference_ok else "FAILED"),
        ("setup round trip through JSON and zarr attrs", "OK" if result.roundtrip_ok else "FAILED"),
    ]
    lines += ["", "Checks"] + [f"  {label:46s} {value}" for label, value in checks]
    lines += ["", "Files: " + ", ".join(str(f) for f in result.files)]
    lines += ["", "demo " + ("passed" if result.ok else "FAILED")]
    return "\n".join(lines)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(args.out, n_events=args.events, quick=args.quick, seed=args.seed)
    print(_format_demo(result))
    return 0 if result.ok else 1


def _cmd_setup(args: argparse.Namespace) -> int:
    from .setup import AnalysisSetup

    path = str(args.path)
    setup = AnalysisSetup.from_zarr(path) if path.rstrip("/").endswith(".zarr") else AnalysisSetup.load(path)
    print(setup)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    if args.process == "golden":
        from .simulators.golden import simulate_golden

        summary = simulate_golden(
            None,
            args.events,
            args.out,
            sampling_benchmark=args.benchmark,
            seed=args.seed,
            n_background=args.background,
            gzip=not args.no_gzip,
        )
        print(
            f"golden channel: {summary['n_events']} signal events sampled at {summary['sampling_benchmark']} "
            f"(sigma = {summary['sampling_cross_section_pb']:.6g} +- "
            f"{summary['sampling_cross_section_error_pb']:.2g} pb, unweighting efficiency "
            f"{summary['unweighting_efficiency']:.3f}), {summary['n_background']} background events"
        )
        for name, xsec in summary["cross_section_pb"].items():
            print(f"  sigma({name}) = {xsec:.6g} pb")
    else:
        from .simulators.toy import simulate_toy

        summary = simulate_toy(args.out, args.events, args.theta0, args.theta1, seed=args.seed)
        print(
            f"gaussian toy: {summary['n_events']} events, theta0 = {summary['theta0']:g}, "
            f"theta1 = {summary['theta1']:g}"
        )
    for label, path in summary["files"].items():
        print(f"  {label:10s} {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``columnminer`` command."""
    parser = argparse.ArgumentParser(
        prog="columnminer",
        description="Machine-learning-based inference for particle physics, columnar and distributed.",
    )
    parser.add_argument("--version", action="version", version=f"columnminer {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the end-to-end demonstration and print its checks")
    demo.add_argument("--out", default="columnminer-demo", help="output directory (default: %(default)s)")
    demo.add_argument("--events", type=int, default=100_000, help="number of events (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.set_defaults(func=_cmd_demo)

    setup = commands.add_parser("setup", help="print a saved analysis setup (JSON file or zarr store)")
    setup.add_argument("path", help="setup JSON file or zarr store")
    setup.set_defaults(func=_cmd_setup)

    simulate = commands.add_parser("simulate", help="run a built-in reference simulator")
    processes = simulate.add_subparsers(dest="process", required=True)
    golden = processes.add_parser("golden", help="H -> ZZ* -> 2e2mu signal and background as LHE files")
    golden.add_argument("--events", type=int, default=10_000, help="signal events (default: %(default)s)")
    golden.add_argument("--out", required=True, help="output directory")
    golden.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    golden.add_argument("--benchmark", default="sm", help="sampling benchmark (default: %(default)s)")
    golden.add_argument(
        "--background", type=int, default=None, help="background events (default: as many as signal)"
    )
    golden.add_argument("--no-gzip", action="store_true", help="write plain .lhe instead of .lhe.gz")
    golden.set_defaults(func=_cmd_simulate)
    toy = processes.add_parser("toy", help="the Gaussian toy: x, z and exact ratios and scores (npz)")
    toy.add_argument("--events", type=int, default=10_000, help="events per theta (default: %(default)s)")
    toy.add_argument("--out", required=True, help="output directory")
    toy.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    toy.add_argument("--theta0", type=float, default=0.0, help="numerator hypothesis (default: %(default)s)")
    toy.add_argument(
        "--theta1", type=float, default=1.0, help="denominator hypothesis (default: %(default)s)"
    )
    toy.set_defaults(func=_cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 success, 1 a failed check, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except (ColumnMinerError, FileNotFoundError) as err:
        print(f"columnminer: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
