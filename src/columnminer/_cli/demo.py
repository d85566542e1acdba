"""The ``demo`` and ``setup`` commands: the end-to-end demonstration and printing a saved setup."""

from __future__ import annotations

import argparse
from typing import Any

from .._version import __version__

__all__ = ["format_demo", "register", "run_demo_command", "run_setup_command"]


def format_demo(result: Any) -> str:
    """The report of :func:`columnminer.demo.run_demo` as printed by ``columnminer demo``."""
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


def run_demo_command(args: argparse.Namespace) -> int:
    """``columnminer demo``: 0 when every check passes, 1 otherwise."""
    from ..demo import run_demo

    result = run_demo(args.out, n_events=args.events, quick=args.quick, seed=args.seed)
    print(format_demo(result))
    return 0 if result.ok else 1


def run_setup_command(args: argparse.Namespace) -> int:
    """``columnminer setup PATH``: print a setup saved as JSON or in a zarr store."""
    from ..setup import AnalysisSetup

    path = str(args.path)
    setup = AnalysisSetup.from_zarr(path) if path.rstrip("/").endswith(".zarr") else AnalysisSetup.load(path)
    print(setup)
    return 0


def register(commands: Any) -> None:
    """Add ``demo`` and ``setup`` to the subcommands."""
    demo = commands.add_parser(
        "demo",
        help="run the end-to-end demonstration and print its checks",
        description="Run the end-to-end demonstration and print its checks (exit code 1 if one fails).",
    )
    demo.add_argument("--out", default="columnminer-demo", help="output directory (default: %(default)s)")
    demo.add_argument("--events", type=int, default=100_000, help="number of events (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.set_defaults(func=run_demo_command)

    setup = commands.add_parser(
        "setup",
        help="print a saved analysis setup (JSON file or zarr store)",
        description="Print a saved analysis setup. Exit code 2 when it cannot be read (kept from earlier "
        "versions; the other commands use 1).",
    )
    setup.add_argument("path", help="setup JSON file or zarr store")
    setup.set_defaults(func=run_setup_command, error_exit_code=2)
