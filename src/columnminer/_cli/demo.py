"""The ``demo`` and ``setup`` commands: the end-to-end demonstration and printing a saved setup."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_arguments, add_command, add_flags, non_negative_int, positive_int, remove_on_failure

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
            images=args.images,
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
    demo = add_command(
        commands,
        "demo",
        run_demo_command,
        help="run the whole chain on the built-in golden channel and print the summary",
        description="The whole chain on the built-in H -> ZZ* -> 2e2mu process: generate, read, smear, select, "
        "store, Fisher information, augmented samples, train SALLY and ALICES, expected limits (histogram, "
        "SALLY, ALICES, exact likelihood), plots and a summary table (summary.md, summary.json, plots/ in "
        "--out). Exit code 1 also when a check fails.",
        epilog="The luminosity (3000 fb^-1) and the partitions (0.8 / 0.1 / 0.1) are those of the other "
        "commands. The default run takes several times longer than --quick.",
    )
    add_arguments(
        demo,
        "out",
        "seed",
        out={"default": "demo-output", "required": False, "help": "output directory (default: %(default)s)"},
    )
    demo.add_argument(
        "--events",
        type=positive_int,
        default=None,
        help="SM signal events to generate (default: 80000, 20000 with --quick)",
    )
    demo.add_argument(
        "--coverage-toys",
        type=coverage_toys,
        default=None,
        help="toys per luminosity (300, 3000 fb^-1) for the coverage of every method (default: 2000, 300 with "
        "--quick; 0: no coverage; at least 20 otherwise)",
    )
    add_flags(
        demo,
        {
            "--quick": "a smaller, faster run (fewer events and epochs)",
            "--neyman": "also the areas with toy-based (Neyman) critical values of q at the SM",
        },
    )
    demo.add_argument(
        "--images",
        metavar="DIR",
        help="also copy the figures into DIR under their stable names (limits.png, fisher.png, "
        "distributions.png, training_sally.png, training_alices.png), e.g. docs/images",
    )
    setup = add_command(
        commands,
        "setup",
        run_setup_command,
        help="print a saved analysis setup (JSON file or zarr store)",
        description="Print a saved analysis setup. A setup that cannot be read is exit code 2 here (1 in "
        "the other commands).",
    )
    setup.add_argument("path", help="setup JSON file or zarr store")
    setup.set_defaults(error_exit_code=2)
