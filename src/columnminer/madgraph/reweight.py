"""``reweight_existing_sample``: add benchmark weights to an existing MadGraph run (``bin/madevent reweight``)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import MadGraphError, MadGraphNotFoundError
from .execute import build_command, call_madgraph
from .param_card import parameter_space_of
from .process import benchmark_weight_mapping, card_destination, check_order, event_file_name
from .record import MadGraphRun, absolute_path, default_steering_directory
from .reweight_card import reweight_card
from .scripts import reweight_script, write_script

__all__ = ["existing_weight_ids", "reweight_existing_sample"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def existing_weight_ids(lhe_file: PathLike) -> list[str]:
    """The weight ids an LHE file declares in its header (empty if it has none).

    Example:
        >>> from columnminer.io.lhe import example_lhe_file
        >>> existing_weight_ids(example_lhe_file())
        ['sm', 'bsm']
    """
    from ..io.lhe import read_lhe_header

    return list(read_lhe_header(lhe_file).weight_ids)


def _weight_present(benchmark: str, present: Sequence[str], order: str) -> bool:
    """Whether a benchmark's reweighted weight is in the file (``<name>_nlo`` for NLO events)."""
    return benchmark in present or (order == "NLO" and f"{benchmark}_nlo" in present)


def _check_run(process: Path, lhe_file: Path, run_name: str) -> None:
    """Raise :class:`~columnminer.errors.MadGraphNotFoundError` unless the run's event file is there."""
    madevent = process / "bin" / "madevent"
    if not process.is_dir():
        raise MadGraphNotFoundError(f"MadGraph process directory {process} does not exist", path=str(process))
    if not madevent.is_file():
        raise MadGraphNotFoundError(
            f"{process} is not a MadGraph process directory: {madevent} does not exist", path=str(madevent)
        )
    if not lhe_file.is_file():
        raise MadGraphNotFoundError(f"run {run_name!r} has no event file {lhe_file}", path=str(lhe_file))


def _reweight_targets(
    space: Any, sample_benchmark: str, reweight_benchmarks: Sequence[str] | None, lhe_file: Path, order: str
) -> list[str]:
    """The benchmarks to reweight to: never the sampling benchmark (its column is XWGTUP)."""
    if reweight_benchmarks is not None:
        targets = [str(name) for name in reweight_benchmarks]
    else:
        present = existing_weight_ids(lhe_file) if lhe_file.is_file() else []
        targets = [name for name in space.benchmark_names if not _weight_present(name, present, order)]
    if sample_benchmark in targets:
        logger.info(
            "not reweighting to the sampling benchmark %s: its weight is the event weight", sample_benchmark
        )
    return [name for name in targets if name != sample_benchmark]


def _run_reweighting(
    record: MadGraphRun, card: Path, targets: Sequence[str], lhe_file: Path, initial_command: str | None
) -> None:
    """Copy the card into the process, call ``bin/madevent reweight <run> -f`` and check the new weights."""
    process, run_name, log_file = record.mg_process_directory, record.run_name, record.log_file
    shutil.copyfile(card, process / card_destination("reweight", record.order))
    command = build_command([process / "bin" / "madevent", "reweight", run_name, "-f"], initial_command)
    call_madgraph(command, log_file, f"MadGraph reweighting of run {run_name}")
    present = existing_weight_ids(lhe_file)
    missing = [name for name in targets if not _weight_present(name, present, record.order)]
    if missing:
        raise MadGraphError(
            f"MadGraph reweighting of run {run_name} finished without error but {lhe_file} lacks the weights "
            f"{missing}; see the log {log_file}",
            command=command,
            returncode=0,
            log_path=str(log_file),
        )
    record.done = True


def reweight_existing_sample(
    setup: Any,
    mg_process_directory: PathLike,
    run_name: str,
    sample_benchmark: str,
    reweight_benchmarks: Sequence[str] | None = None,
    only_prepare_script: bool = False,
    log_directory: PathLike | None = None,
    initial_command: str | None = None,
    *,
    order: str = "LO",
    steering_directory: PathLike | None = None,
) -> MadGraphRun:
    """Add one weight per benchmark to the events of an existing run ``<process>/Events/<run_name>``.

    As in MadMiner, MadGraph's reweighting module is called on the run: ``<process>/bin/madevent reweight
    <run_name> -f`` after a reweight card is written to ``Cards/reweight_card.dat`` (or, with
    ``only_prepare_script``, a script ``<steering>/scripts/reweight_<run_name>.sh`` does both). The events
    must have been generated at ``sample_benchmark``. ``reweight_benchmarks`` defaults to every benchmark
    of the setup whose weight the event file does not have yet; the sampling benchmark is never reweighted
    (as in MadMiner: older MadGraph versions skip a card identical to the original and write no weight,
    newer ones spend a whole pass recomputing XWGTUP): its column is the event weight, see the returned
    run's ``weight_mapping``. When nothing is missing nothing is run. The log is
    ``<log_directory>/reweight_<run_name>.log`` (default ``./logs``); the steering directory defaults to
    ``<process>_columnminer``. Systematics are not added (as in MadMiner).

    Example:
        >>> import tempfile
        >>> from columnminer.madgraph.reweight_card import example_setup
        >>> setup = example_setup()
        >>> d = tempfile.mkdtemp()
        >>> record = reweight_existing_sample(setup, f"{d}/MG_process", "run_01", "sm", only_prepare_script=True,
        ...                                   log_directory=f"{d}/logs", order="NLO")
        >>> record.script.name, record.weight_mapping
        ('reweight_run_01.sh', {'sm': 'XWGTUP', 'w': 'w_nlo'})
        >>> [line for line in record.cards["reweight"].read_text().splitlines() if line.startswith("launch")]
        ['launch --rwgt_name=w']
    """
    order = check_order(order)
    space = parameter_space_of(setup)
    space.benchmark_index(sample_benchmark)
    process = absolute_path(mg_process_directory)
    logs = absolute_path(log_directory if log_directory is not None else "logs")
    steering = (
        absolute_path(steering_directory) if steering_directory else default_steering_directory(process)
    )
    lhe_file = process / "Events" / run_name / event_file_name(order)
    if not only_prepare_script:
        _check_run(process, lhe_file, run_name)
    targets = _reweight_targets(space, sample_benchmark, reweight_benchmarks, lhe_file, order)
    log_file = logs / f"reweight_{run_name}.log"
    record = MadGraphRun(
        index=0,
        mg_process_directory=process,
        sample_benchmark=sample_benchmark,
        order=order,
        log_file=log_file,
        run_name=run_name,
        weight_mapping=benchmark_weight_mapping(space.benchmark_names, sample_benchmark, order),
    )
    if not targets:
        logger.info("%s already has a weight for every benchmark; nothing to reweight", lhe_file)
        record.done = True
        return record
    logger.info("reweighting run %s (sampled at %s) to %s", run_name, sample_benchmark, targets)
    card = steering / "cards" / f"reweight_card_{run_name}.dat"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(reweight_card(space, targets))
    record.cards = {"reweight": card}
    if only_prepare_script:
        record.script = write_script(
            steering / "scripts" / f"reweight_{run_name}.sh",
            reweight_script(run_name, card.read_text(), log_file.name, process, logs, initial_command),
        )
        logger.info("to reweight the run: %s [MG_process_directory] [log_directory]", record.script)
        return record
    _run_reweighting(record, card, targets, lhe_file, initial_command)
    return record
