"""The ``columnminer`` command line.

Commands (``columnminer COMMAND --help`` for each): ``demo``, ``setup``, ``simulate {golden,toy}``,
``analyse``, ``inspect``, ``augment``, ``train``, ``fisher``, ``limits``, ``import-madminer``,
``export-madminer``. They live in :mod:`columnminer._cli`, one module per command group.

Exit codes: 0 success; 1 a columnminer error (bad input file, unknown benchmark or observable, a failed
check) or a failed file operation (disk full, permission denied), reported as one line
``columnminer: error: ...`` naming the file, option or field; 2 a usage error (argparse: unknown option,
malformed or nonsensical value such as ``--hidden 0``). ``setup`` and ``simulate`` also answer 2 for a setup
file or simulator settings they cannot use. A command that fails removes the outputs it created (a new store,
model directory or output directory); what existed before is left alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ._version import __version__
from .errors import ColumnMinerError

__all__ = ["build_parser", "main"]

#: The command modules of :mod:`columnminer._cli`, in the order ``--help`` lists them.
_COMMAND_MODULES = (
    "demo",
    "simulate",
    "analyse",
    "inspect_store",
    "augment",
    "train",
    "fisher",
    "limits",
    "madminer",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``columnminer`` command (one subcommand per module of
    :mod:`columnminer._cli`; their shared options are defined once in ``columnminer._cli.common``).

    Example:
        >>> args = build_parser().parse_args(["limits", "golden.zarr", "rate"])
        >>> args.command, args.luminosity, args.partition
        ('limits', 3000000.0, 'test')
    """
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


#: The options (first one set wins) naming the path an OSError without a file name is reported against.
_PATH_OPTIONS = ("store", "out", "path")


def _os_error_message(err: OSError, args: argparse.Namespace) -> str:
    """``PATH: what went wrong (ErrorType)`` for an OSError; PATH is the file the error names, else the
    command's store / output."""
    path = err.filename
    if path is None:
        path = next((getattr(args, o) for o in _PATH_OPTIONS if getattr(args, o, None) is not None), None)
    elif err.filename2 is not None:
        path = f"{err.filename} -> {err.filename2}"
    reason = err.strerror or (str(err.args[0]) if err.args else "") or "failed"
    message = f"{reason} ({type(err).__name__})"
    return f"{os.fspath(path)}: {message}" if path is not None else message


def _report(message: str, verbose: int) -> None:
    """One line ``columnminer: error: <first line>``; further lines (tables) only with -v."""
    lines = message.strip().splitlines() or ["failed"]
    if len(lines) == 1:
        print(f"columnminer: error: {lines[0]}", file=sys.stderr)
    elif verbose:
        print(f"columnminer: error: {lines[0]}", file=sys.stderr)
        print("\n".join(lines[1:]), file=sys.stderr)
    else:
        print(f"columnminer: error: {lines[0]} (run with -v for the details)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 success, 1 a columnminer error, 2 a usage error).

    Example:
        >>> main(["inspect", "no-such-store.zarr"])  # the one-line message goes to stderr
        1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ColumnMinerError as err:
        _report(str(err) or type(err).__name__, args.verbose)
        return int(getattr(args, "error_exit_code", 1))
    except OSError as err:  # unexpected: disk full, permission denied, a file removed underneath
        _report(_os_error_message(err, args), args.verbose)
        return int(getattr(args, "error_exit_code", 1))
    except KeyboardInterrupt:
        print("columnminer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
