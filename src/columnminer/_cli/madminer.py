"""The ``import-madminer`` and ``export-madminer`` commands: MadMiner HDF5 event files to and from a store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (
    add_arguments,
    add_command,
    add_flags,
    open_store,
    positive_int,
    progress_enabled,
    remove_on_failure,
)

__all__ = ["register", "run_export", "run_import"]


def _progress(enabled: bool, what: str) -> Any:
    """A ``progress(done, total)`` callback printing ``what: done / total events`` to stderr, or None."""
    if not enabled:
        return None

    def report(done: int, total: int) -> None:
        print(f"\r{what}: {done} / {total} events", end="\n" if done >= total else "", file=sys.stderr)

    return report


def run_import(args: argparse.Namespace) -> int:
    """``columnminer import-madminer FILE.h5 STORE``: stream a MadMiner event file into a new store.

    Example:
        >>> import tempfile
        >>> from columnminer.madminer.h5_write import _demo_events_file
        >>> args = argparse.Namespace(file=_demo_events_file(), store=tempfile.mkdtemp() + "/s.zarr",
        ...                           chunk_size=100, overwrite=False, progress=False)
        >>> run_import(args)
        120 events of ... imported into .../s.zarr (2 observables, 6 benchmarks, 2 nuisance columns)
        0
    """
    from ..madminer import import_madminer

    with remove_on_failure(args.store):
        store = import_madminer(
            args.file,
            args.store,
            chunk_size=args.chunk_size,
            overwrite=args.overwrite,
            progress=_progress(progress_enabled(args.progress), "import"),
        )
    print(
        f"{store.n_events} events of {args.file} imported into {args.store} ({len(store.observable_names)} "
        f"observables, {len(store.benchmark_names)} benchmarks, {len(store.nuisance_benchmark_names)} "
        "nuisance columns)"
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``columnminer export-madminer STORE FILE.h5``: write a store as a MadMiner event file.

    Example:
        >>> import tempfile
        >>> from columnminer.madminer.h5_write import _demo_store
        >>> args = argparse.Namespace(store=_demo_store().url, file=tempfile.mkdtemp() + "/e.h5",
        ...                           overwrite=False, progress=False)
        >>> run_export(args)
        120 events of ... written to .../e.h5 (MadMiner 0.9 layout)
        0
    """
    from ..madminer import export_madminer

    store = open_store(args.store)
    export_madminer(
        store,
        args.file,
        overwrite=args.overwrite,
        progress=_progress(progress_enabled(args.progress), "export"),
    )
    print(f"{store.n_events} events of {args.store} written to {args.file} (MadMiner 0.9 layout)")
    return 0


#: The two commands: name, function, positional arguments (in order), one-line help, description.
_COMMANDS = (
    (
        "import-madminer",
        run_import,
        (("file", "the MadMiner HDF5 file"), ("store", "the new zarr event store")),
        "import a MadMiner HDF5 event file into a new store",
        "Read a MadMiner event file (LHEReader / DelphesReader .save, combine_and_shuffle) chunk by chunk into "
        "a new event store: its setup (parameters, benchmarks, morphing checked against the file's matrix, "
        "systematics), observables, weights per benchmark, sampled_from and nuisance weights.",
    ),
    (
        "export-madminer",
        run_export,
        (("store", "the zarr event store"), ("file", "the MadMiner HDF5 file to write")),
        "write a store as a MadMiner HDF5 event file",
        "Write an event store as a MadMiner 0.9 event file that MadMiner's DataAnalyzer, SampleAugmenter and "
        "FisherInformation read with the same cross sections and Fisher information.",
    ),
)


#: Options of one command only: command -> ((flags, keywords), ...).
_OPTIONS = {
    "import-madminer": (
        (
            ("--chunk-size",),
            {"type": positive_int, "default": 100_000, "help": "events per chunk (default: %(default)s)"},
        ),
    ),
}


def register(commands: Any) -> None:
    """Add ``import-madminer`` and ``export-madminer`` to the subcommands.

    Example:
        >>> parser = argparse.ArgumentParser(prog="columnminer")
        >>> register(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["export-madminer", "s.zarr", "e.h5"]).file
        'e.h5'
    """
    for name, func, positionals, summary, description in _COMMANDS:
        parser = add_command(commands, name, func, help=summary, description=description)
        for argument, text in positionals:
            parser.add_argument(argument, help=text)
        for flags, keywords in _OPTIONS.get(name, ()):
            parser.add_argument(*flags, **keywords)
        add_flags(parser, {"--overwrite": "replace an existing output"})
        add_arguments(parser, "progress")
