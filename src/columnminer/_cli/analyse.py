"""The ``analyse`` command: LHE / Delphes samples through an analysis into a zarr event store.

Read LHE (plain or gzip) or Delphes ROOT samples chunk by chunk, evaluate the analysis (observables, cuts,
efficiencies) and write the surviving events with their weights at every benchmark into a zarr event store.
The analysis comes from --analysis (a module with a function analysis() or an Analysis named analysis), from a
TOML / JSON --config naming callables by 'module:function' paths, from --observable options, or, by default,
the four-lepton observables. LHE events are parton level unless --detector smears them; the store records the
level, the detector and the cuts (see `columnminer inspect`). Example: columnminer analyse golden.zarr
--sample golden/signal.lhe.gz:sm --background golden/background.lhe.gz --detector golden
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..setup import DEFAULT_PARTITION_FRACTIONS
from .common import (
    add_arguments,
    add_command,
    fraction,
    non_negative_int,
    positive_int,
    progress_enabled,
    remove_on_failure,
)
from .config import (
    PRESETS,
    SampleSpec,
    build_analysis,
    parse_background_spec,
    parse_observable_spec,
    parse_signal_spec,
    read_config,
    samples_from_config,
)

__all__ = ["DETECTOR_CHOICES", "level_record", "level_text", "register", "run_analyse"]

#: Choices of ``--detector``: none (the events as read) or a detector model of the demo.
DETECTOR_CHOICES = ("none", "golden")


def _load_setup(path: str, where: str) -> Any:
    from ..setup import AnalysisSetup

    if "://" not in path and not Path(path).exists():
        raise ConfigError(f"{where}: no such setup file {path}")
    if path.rstrip("/").endswith(".zarr"):
        return AnalysisSetup.from_zarr(path)
    return AnalysisSetup.load(path)


def _find_setup(args: argparse.Namespace, config: dict, base: Path | None, samples: list) -> tuple[Any, str]:
    """The setup: --setup, the configuration's, the existing store's (with --append) or a setup.json beside
    the first sample."""
    if args.setup is not None:
        return _load_setup(args.setup, "--setup"), args.setup
    if "setup" in config:
        path = str(config["setup"])
        path = str(base / path) if base is not None and not Path(path).is_absolute() else path
        return _load_setup(path, f"{args.config}: setup"), path
    if args.append and Path(args.store).exists():
        return None, args.store
    for spec, spec_base in samples:
        candidate = Path(spec.to_sample(spec_base).path).parent / "setup.json"
        if candidate.is_file():
            return _load_setup(str(candidate), "setup"), str(candidate)
    raise ConfigError(
        "no analysis setup: pass --setup FILE (a setup.json as written by `columnminer simulate` or "
        "AnalysisSetup.save), name one in the configuration file, or put setup.json beside the samples"
    )


def _check_samples(samples: list[Any], specs: list[SampleSpec], setup: Any) -> None:
    """Before the store is touched: every file exists and every signal benchmark is in the setup."""
    names = setup.parameter_space.benchmark_names
    for sample, spec in zip(samples, specs, strict=True):
        for path in (sample.path, sample.lhe_path):
            if path is not None and "://" not in path and not Path(path).is_file():
                raise ConfigError(f"{spec.where}: no such file {path}")
        if not sample.is_background and sample.sampled_from_benchmark not in names:
            raise ConfigError(
                f"{spec.where}: unknown benchmark {sample.sampled_from_benchmark!r}; the setup's benchmarks "
                f"are {names}"
            )


#: The smallest allowed value of the integer settings (others: 1).
_MINIMUM = {"partition_seed": 0}


class _PartitionFractions(argparse.Action):
    """``--partition-fractions TRAIN VALIDATION TEST``: three fractions that sum to 1 (else a usage error)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if not math.isclose(sum(values), 1.0):
            parser.error(
                f"argument {option_string}: the fractions must sum to 1, got {' + '.join(map(str, values))}"
            )
        setattr(namespace, self.dest, list(values))


def _setting(args_value: Any, config: dict, key: str, default: Any, source: str) -> Any:
    """A store / analysis setting: the command line's, else the configuration's (type-checked), else default."""
    if args_value is not None:
        return args_value
    value = config.get(key, default)
    if key == "partition_fractions":
        if not (
            isinstance(value, list | tuple)
            and len(value) == 3
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            and all(0.0 <= v <= 1.0 for v in value)
            and math.isclose(sum(value), 1.0)
        ):
            raise ConfigError(
                f"{source}: {key} must be three fractions (train, validation, test) summing to 1, "
                f"got {value!r}"
            )
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{source}: {key} must be an integer, got {value!r}")
    elif value < _MINIMUM.get(key, 1):
        raise ConfigError(f"{source}: {key} must be at least {_MINIMUM.get(key, 1)}, got {value!r}")
    return value


def _store(args: argparse.Namespace, config: dict, setup: Any, observables: list[str]) -> tuple[Any, bool]:
    from ..io.store import EventStore

    exists = "://" not in args.store and Path(args.store).exists()
    if exists and args.append:
        return EventStore.open(args.store, "a", setup=setup), False
    if exists and not args.overwrite:
        raise ConfigError(
            f"{args.store}: a store already exists; pass --append to add samples to it (finished chunks are "
            "skipped) or --overwrite to replace it"
        )
    source = str(args.config)
    store = EventStore.create(
        args.store,
        setup,
        observables,
        chunk_size=_setting(args.chunk_size, config, "chunk_size", 100_000, source),
        partition_fractions=_setting(
            args.partition_fractions, config, "partition_fractions", list(DEFAULT_PARTITION_FRACTIONS), source
        ),
        partition_seed=_setting(args.partition_seed, config, "partition_seed", 0, source),
        overwrite=bool(args.overwrite),
    )
    return store, True


def _add_detector(
    args: argparse.Namespace, samples: list[Any], specs: list[SampleSpec], analysis: Any
) -> list[Any]:
    """``--detector golden``: the (LHE) samples, each smeared by the demo's detector (one seed per sample,
    from ``--seed``); the demo's selection cuts are added to the analysis."""
    if args.detector == "none":
        return samples
    import dataclasses

    from .._demo.config import DETECTORS, Smearing, add_selection

    detector = DETECTORS[args.detector][0]
    for sample, spec in zip(samples, specs, strict=True):
        if sample.path.endswith(".root"):
            raise ConfigError(
                f"{spec.where}: --detector {args.detector}: a Delphes file is detector level already"
            )
        if sample.transform is not None:
            raise ConfigError(
                f"{spec.where}: --detector {args.detector}: the sample has a transform of its own"
            )
    smeared = [
        dataclasses.replace(sample, transform=Smearing(1000 * args.seed + k, detector))
        for k, sample in enumerate(samples)
    ]
    add_selection(analysis)
    return smeared


def level_record(samples: list[Any], analysis: Any, detector: str) -> dict[str, Any]:
    """What ``analyse`` stores in the store's metadata (key ``analysis``, shown by ``inspect``): the level of
    the events (parton: LHE as generated; detector: smeared by ``--detector`` or Delphes; mixed), the
    detector, the cuts and the observables.

    Example:
        >>> from types import SimpleNamespace
        >>> from columnminer.analysis import Analysis
        >>> level_record([SimpleNamespace(path="signal.lhe.gz")], Analysis(), "none")["level"]
        'parton'
    """
    from .._demo.config import DETECTORS

    delphes = [str(sample.path).endswith(".root") for sample in samples]
    if detector != "none":
        level, model = "detector", f"{detector}: {DETECTORS[detector][1]}"
    elif all(delphes):
        level, model = "detector", "Delphes"
    else:
        level, model = ("mixed" if any(delphes) else "parton"), "none"
    return {
        "level": level,
        "detector": model,
        "cuts": [cut.name for cut in analysis.cuts],
        "observables": list(analysis.observable_names),
    }


def level_text(record: dict[str, Any] | None) -> str:
    """The level line of ``analyse`` and ``inspect``.

    Example:
        >>> level_text({"level": "parton", "detector": "none", "cuts": []})
        'level: parton (detector: none); cuts: none'
    """
    if record is None:
        return "level: not recorded (a store written before columnminer analyse recorded it)"
    return f"level: {record['level']} (detector: {record['detector']}); cuts: {', '.join(record['cuts']) or 'none'}"


def _record_level(store: Any, record: dict[str, Any], created: bool) -> None:
    """Write ``record`` into a new store; an appended store must hold events of the same level and cuts."""
    if created:
        store.update_metadata(analysis=record)
        return
    before = store.metadata.get("analysis")
    keys = ("level", "detector", "cuts")
    if before is not None and any(before.get(k) != record[k] for k in keys):
        raise ConfigError(
            f"{store.url}: --append: the store holds {before['level']}-level events (detector "
            f"{before['detector']}, cuts {before['cuts'] or 'none'}), these samples would be "
            f"{record['level']}-level (detector {record['detector']}, cuts {record['cuts'] or 'none'})"
        )


def run_analyse(args: argparse.Namespace) -> int:
    """``columnminer analyse STORE ...``: analyse the samples into the store and print the pass counts.

    Everything is checked before the store is touched; a store this call creates is removed if it fails.
    """
    config: dict = {}
    base = None
    name = ""
    if args.config is not None:
        config = read_config(args.config)
        name = str(args.config)
        base = Path(args.config).parent
    pairs = [(spec, base) for spec in samples_from_config(config, name)]
    pairs += [(spec, None) for spec in args.samples]
    if not pairs:
        raise ConfigError(
            "no samples: pass --sample FILE:BENCHMARK and / or --background FILE, or list [[samples]] in "
            "the configuration file"
        )
    samples = [spec.to_sample(spec_base) for spec, spec_base in pairs]
    specs = [spec for spec, _ in pairs]
    setup, setup_source = _find_setup(args, config, base, pairs)
    analysis, origin = build_analysis(
        config, name, base, args.analysis, args.preset, args.observables, args.cuts
    )
    samples = _add_detector(args, samples, specs, analysis)
    if setup is None:  # --append to an existing store: its own setup
        from ..io.store import EventStore

        setup = EventStore.open(args.store).setup
    _check_samples(samples, specs, setup)
    step_size = _setting(args.step_size, config, "step_size", 100_000, name)
    # a store created here is removed again if anything below fails (one appended to is left alone);
    # an interrupted run keeps it: --append resumes it, skipping the finished chunks
    with remove_on_failure(args.store, keep_on_interrupt=True):
        return _fill_store(args, config, setup, analysis, origin, setup_source, samples, step_size)


def _fill_store(
    args: argparse.Namespace,
    config: dict,
    setup: Any,
    analysis: Any,
    origin: str,
    setup_source: str,
    samples: list[Any],
    step_size: int,
) -> int:
    """Create or open the store, analyse the samples into it and print the summary."""
    from ..samples import analyse_samples

    store, created = _store(args, config, setup, analysis.observable_names)
    record = level_record(samples, analysis, args.detector)
    _record_level(store, record, created)
    before = store.n_events
    print(
        f"analysis ({origin}): {len(analysis.observables)} observables "
        f"({', '.join(analysis.observable_names)}), {len(analysis.cuts)} cuts, "
        f"{len(analysis.efficiencies)} efficiencies; setup from {setup_source}"
    )
    print(
        f"level: {record['level']} (detector: {record['detector']}; cuts: {', '.join(record['cuts']) or 'none'})"
    )
    summary = analyse_samples(
        samples,
        analysis,
        store,
        step_size=step_size,
        progress=progress_enabled(args.progress),
    )
    print(summary.table())
    print(
        f"{store.url}: {store.n_events} events ({store.n_events - before} added"
        f"{', store created' if created else ''}, {summary.skipped_chunks} chunks already there), "
        f"{len(store.observable_names)} observables, {len(store.benchmark_names)} benchmarks"
    )
    return 0


def register(commands: Any) -> None:
    """Add ``analyse`` to the subcommands."""
    parser = add_command(commands, "analyse", run_analyse, __doc__)
    add_arguments(parser, "store", store="the zarr event store to create (or to add to, with --append)")
    parser.add_argument(
        "--config", help="TOML or JSON analysis configuration (keys: see the command-line documentation)"
    )
    parser.add_argument(
        "--analysis", metavar="MODULE", help="analysis module: a dotted name or a .py file (optionally :attr)"
    )
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        help="built-in observables (default: fourlepton when nothing else defines observables)",
    )
    _add_definitions(parser)
    parser.add_argument(
        "--detector",
        choices=DETECTOR_CHOICES,
        default="none",
        help="none: the events as read (LHE: parton level); golden: the demo's lepton smearing, acceptance "
        "and efficiencies, and its selection 40 < mZ1 < 120, 12 < mZ2 < 120, 115 < m4l < 135 GeV "
        "(default: %(default)s)",
    )
    add_arguments(parser, "seed", seed="seed of the --detector smearing (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--append",
        action="store_true",
        help="add to an existing store (only the events of each file that it does not hold yet)",
    )
    mode.add_argument("--overwrite", action="store_true", help="replace an existing store")
    parser.add_argument("--chunk-size", type=positive_int, help="rows per store chunk (default: 100000)")
    parser.add_argument("--step-size", type=positive_int, help="events per analysis task (default: 100000)")
    parser.add_argument(
        "--partition-fractions",
        type=fraction,
        nargs=3,
        action=_PartitionFractions,
        metavar=("TRAIN", "VALIDATION", "TEST"),
        help="train / validation / test fractions of a new store, summing to 1 (default: "
        + " ".join(f"{f:g}" for f in DEFAULT_PARTITION_FRACTIONS)
        + ")",
    )
    parser.add_argument(
        "--partition-seed", type=non_negative_int, help="seed of the partition hash (default: 0)"
    )
    add_arguments(parser, "progress")


def _add_definitions(parser: argparse.ArgumentParser) -> None:
    """The repeatable definitions: observables, cuts, the setup, signal and background samples."""
    parser.add_argument(
        "--observable",
        dest="observables",
        action="append",
        default=[],
        type=parse_observable_spec,
        metavar="NAME=module:function",
        help="an observable: a callable events -> one number per event (repeatable)",
    )
    parser.add_argument(
        "--cut",
        dest="cuts",
        action="append",
        default=[],
        metavar="module:function",
        help="a cut: a callable events -> one bool per event, True keeps (repeatable)",
    )
    parser.add_argument(
        "--setup", help="setup JSON (or zarr); default: the config's, or setup.json beside the samples"
    )
    parser.add_argument(
        "--sample",
        dest="samples",
        action="append",
        default=[],
        type=parse_signal_spec,
        metavar="FILE:BENCHMARK[,key=value]",
        help="a signal sample generated at BENCHMARK; options k_factor=, lhe= (Delphes: its LHE file), "
        "process=, event_norm=, systematics=a+b, invalid=drop (leave out and count events with invalid content "
        "instead of stopping) (repeatable)",
    )
    parser.add_argument(
        "--background",
        dest="samples",
        action="append",
        type=parse_background_spec,
        metavar="FILE[,key=value]",
        help="a background sample, the same weight at every benchmark (repeatable)",
    )
