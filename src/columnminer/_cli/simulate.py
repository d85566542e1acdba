"""The ``simulate`` command: run a built-in reference simulator (golden channel LHE files, Gaussian toy).

Bad simulator settings are exit code 2 here (1 in the other commands).
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    add_arguments,
    add_command,
    finite_float,
    non_negative_int,
    positive_float,
    remove_on_failure,
)

__all__ = ["register", "run_simulate"]


def run_simulate(args: argparse.Namespace) -> int:
    """``columnminer simulate golden|toy``: write the files and print what was made (an output directory
    created here is removed again if the simulation fails)."""
    with remove_on_failure(args.out):
        return _simulate(args)


def _simulate(args: argparse.Namespace) -> int:
    """Run the simulator and print the summary."""
    if args.process == "golden":
        from ..simulators.golden import simulate_golden

        summary = simulate_golden(
            None,
            args.events,
            args.out,
            sampling_benchmark=args.benchmark,
            seed=args.seed,
            n_background=args.background,
            background_cross_section_pb=args.background_xsec,
            gzip=not args.no_gzip,
            scale_variations=args.scale_variations,
        )
        print(
            f"golden channel: {summary['n_events']} signal events sampled at {summary['sampling_benchmark']} "
            f"(sigma = {summary['sampling_cross_section_pb']:.6g} +- "
            f"{summary['sampling_cross_section_error_pb']:.2g} pb, unweighting efficiency "
            f"{summary['unweighting_efficiency']:.3f}), {summary['n_background']} background events"
        )
        for name, xsec in summary["cross_section_pb"].items():
            print(f"  sigma({name}) = {xsec:.6g} pb")
        if "scale_variations" in summary:
            print(f"  scale variations: {len(summary['scale_variations']['points'])} weights per event")
    else:
        from ..simulators.toy import simulate_toy

        summary = simulate_toy(args.out, args.events, args.theta0, args.theta1, seed=args.seed)
        print(
            f"gaussian toy: {summary['n_events']} events, theta0 = {summary['theta0']:g}, "
            f"theta1 = {summary['theta1']:g}"
        )
    for label, path in summary["files"].items():
        print(f"  {label:10s} {path}")
    return 0


def register(commands: Any) -> None:
    """Add ``simulate golden`` and ``simulate toy`` to the subcommands."""
    simulate = add_command(commands, "simulate", run_simulate, __doc__)
    processes = simulate.add_subparsers(dest="process", required=True, metavar="{golden,toy}")
    golden = add_command(
        processes,
        "golden",
        run_simulate,
        help="H -> ZZ* -> 2e2mu signal and background as LHE files",
        description="H -> ZZ* -> 2e2mu signal (weights at every benchmark) and q qbar -> ZZ background as "
        "MadGraph-style LHE files, plus setup.json and summary.json.",
    )
    add_arguments(golden, "events", "out", "seed", events="signal events (default: %(default)s)")
    golden.add_argument("--benchmark", default="sm", help="sampling benchmark (default: %(default)s)")
    golden.add_argument(
        "--background",
        type=non_negative_int,
        default=None,
        help="background events (default: as many as signal)",
    )
    golden.add_argument(
        "--background-xsec",
        type=positive_float,
        default=1.0e-3,
        metavar="PB",
        help="background cross section in pb (default: %(default)s)",
    )
    golden.add_argument(
        "--scale-variations",
        type=positive_float,
        nargs="+",
        default=None,
        metavar="K",
        help="add MadGraph-style scale-variation weights for these factors, e.g. 0.5 1 2",
    )
    golden.add_argument("--no-gzip", action="store_true", help="write plain .lhe instead of .lhe.gz")
    toy = add_command(
        processes,
        "toy",
        run_simulate,
        help="the Gaussian toy: x, z and exact ratios and scores (npz)",
        description="The Gaussian toy: events at theta0 and theta1 with every exact quantity, in toy.npz.",
    )
    add_arguments(toy, "events", "out", "seed", events="events per theta (default: %(default)s)")
    for name, value, role in (("--theta0", 0.0, "numerator"), ("--theta1", 1.0, "denominator")):
        toy.add_argument(
            name, type=finite_float, default=value, help=f"{role} hypothesis (default: %(default)s)"
        )
    for parser in (simulate, golden, toy):
        parser.set_defaults(error_exit_code=2)
