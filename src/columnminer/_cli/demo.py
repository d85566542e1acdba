"""The ``demo`` and ``setup`` commands: the end-to-end demonstration and printing a saved setup."""

from __future__ import annotations

import argparse
from typing import Any

from .common import non_negative_int, positive_int, remove_on_failure

__all__ = ["coverage_toys", "register", "run_demo_command", "run_setup_command"]


def run_demo_command(args: argparse.Namespace) -> int:
    """``columnminer demo``: 0 when every check passes, 1 otherwise. An output directory created here is
    removed again if the run raises (a run whose checks fail keeps it: the summary says what failed)."""
    from ..demo import run_demo

    with remove_on_failure(args.out):
        result = run_demo(
            args.out,
            n_events=args.events,
            quick=args.quick,
            seed=args.seed,
            progress=True,
            coverage_toys=args.coverage_toys,
            neyman=args.neyman,
        )
    print(result.summary_text())
    return 0 if result.ok else 1


def run_setup_command(args: argparse.Namespace) -> int:
    """``columnminer setup PATH``: print a setup saved as JSON or in a zarr store."""
    from ..setup import AnalysisSetup

    path = str(args.path)
    setup = AnalysisSetup.from_zarr(path) if path.rstrip("/").endswith(".zarr") else AnalysisSetup.load(path)
    print(setup)
    return 0


def coverage_toys(text: str) -> int:
    """argparse type of ``--coverage-toys``: 0 (no coverage) or at least 20."""
    value = non_negative_int(text)
    if 0 < value < 20:
        raise argparse.ArgumentTypeError(f"must be 0 (no coverage) or at least 20, got {value}")
    return value


def register(commands: Any) -> None:
    """Add ``demo`` and ``setup`` to the subcommands."""
    demo = commands.add_parser(
        "demo",
        help="run the whole chain on the built-in golden channel and print the summary",
        description="The whole chain on the built-in H -> ZZ* -> 2e2mu process: generate, read, smear, select, "
        "store, Fisher information, augmented samples, train SALLY and ALICES, expected limits (histogram, "
        "SALLY, ALICES, exact likelihood), plots and a summary table (summary.md, summary.json, plots/ in "
        "--out). Exit code 1 if a check fails.",
    )
    demo.add_argument("--out", default="demo-output", help="output directory (default: %(default)s)")
    demo.add_argument(
        "--events",
        type=positive_int,
        default=None,
        help="SM signal events to generate (default: 80000, 20000 with --quick)",
    )
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run (about a minute)")
    demo.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument(
        "--coverage-toys",
        type=coverage_toys,
        default=None,
        help="toys per luminosity (300, 3000 fb^-1) for the coverage of every method (default: 2000, 300 with "
        "--quick; 0: no coverage; at least 20 otherwise)",
    )
    demo.add_argument(
        "--neyman",
        action="store_true",
        help="also the areas with toy-based (Neyman) critical values of q at the SM",
    )
    demo.set_defaults(func=run_demo_command)

    setup = commands.add_parser(
        "setup",
        help="print a saved analysis setup (JSON file or zarr store)",
        description="Print a saved analysis setup. Exit code 2 when it cannot be read (kept from earlier "
        "versions; the other commands use 1).",
    )
    setup.add_argument("path", help="setup JSON file or zarr store")
    setup.set_defaults(func=run_setup_command, error_exit_code=2)
