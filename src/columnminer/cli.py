"""The ``columnminer`` command line.

Commands (``columnminer COMMAND --help`` for each): ``demo``, ``setup``, ``simulate {golden,toy}``,
``analyse``, ``inspect``, ``augment``, ``train``, ``fisher``, ``limits``. They live in
:mod:`columnminer._cli`, one module per command group.

Exit codes: 0 success; 1 a columnminer error (bad input file, unknown benchmark or observable, a failed
check), reported as one line ``columnminer: error: ...`` naming the file, option or field; 2 a usage error
(argparse: unknown option, malformed value). ``setup`` and ``simulate`` keep their earlier convention of
exit code 2 for bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ._version import __version__
from .errors import ColumnMinerError

__all__ = ["build_parser", "main"]

#: The command modules of :mod:`columnminer._cli`, in the order ``--help`` lists them.
_COMMAND_MODULES = ("demo", "simulate", "analyse", "inspect_store", "augment", "train", "fisher", "limits")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``columnminer`` command."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="columnminer",
        description="Machine-learning-based inference for particle physics, columnar and distributed.",
        epilog="Exit codes: 0 success, 1 a columnminer error (one line naming the file or option), "
        "2 a usage error.",
    )
    parser.add_argument("--version", action="version", version=f"columnminer {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"._cli.{name}", __package__).register(commands)
    return parser


def _report(err: BaseException, verbose: int) -> None:
    """``columnminer: error: <first line>``; further lines (tables) only with -v."""
    lines = str(err).strip().splitlines() or [type(err).__name__]
    print(f"columnminer: error: {lines[0]}", file=sys.stderr)
    if len(lines) > 1:
        if verbose:
            print("\n".join(lines[1:]), file=sys.stderr)
        else:
            print("  (run with -v for the details)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 success, 1 a columnminer error, 2 a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except (ColumnMinerError, OSError) as err:
        _report(err, args.verbose)
        return int(getattr(args, "error_exit_code", 1))
    except KeyboardInterrupt:
        print("columnminer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
