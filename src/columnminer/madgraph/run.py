"""``run`` / ``run_multiple``: create the MadGraph process, write every card, and generate events (or scripts).

MadGraph is driven as MadMiner drives it: ``<mg_directory>/bin/mg5_aMC <file>`` with the process card plus
``output <process directory>`` creates the process; each run copies its cards into ``<process>/Cards/`` and
calls ``<mg_directory>/bin/mg5_aMC <file>`` on a command file ``launch <process directory>`` followed by the
launch switches (shower, MadSpin, reweighting...). Steering files (card copies, command files, scripts, the
``runs.json`` manifest) live in a steering directory next to the process directory, so that MadGraph
re-creating the process never deletes them.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import MadGraphCardError, MadGraphError, MadGraphNotFoundError
from ..systematics import Systematic
from .execute import build_command, call_madgraph, madgraph_environment, require_madgraph
from .param_card import param_card, parameter_space_of, read_card
from .process import (
    card_destination,
    check_madgraph_path,
    check_order,
    event_file_name,
    is_process_directory,
    launch_switches,
    next_run_number,
    run_directories,
)
from .record import MadGraphRun, absolute_path, default_steering_directory, write_runs
from .reweight_card import reweight_card
from .run_card import edit_run_card, set_shower_card_entries
from .scripts import master_script, process_script, run_script, write_script

__all__ = ["run", "run_multiple"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: The file name of each card kind's steering copy; ``{}`` is the run index.
_COPY_NAMES = {
    "param": "param_card_{}.dat",
    "run": "run_card_{}.dat",
    "reweight": "reweight_card_{}.dat",
    "pythia8": "pythia8_card_{}.dat",
    "madspin": "madspin_card_{}.dat",
    "configuration": "configuration_{}.txt",
}


def _selected_systematics(setup: Any, names: Sequence[str] | None) -> list[Systematic]:
    available = list(getattr(setup, "systematics", []))
    if names is None:
        return available
    by_name = {s.name: s for s in available}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise MadGraphCardError(f"unknown systematics {unknown}; the setup has {sorted(by_name)}")
    return [by_name[name] for name in names]


def _sample_benchmarks(space: Any, names: Sequence[str] | str | None, is_background: bool) -> list[str]:
    if names is None:
        names = space.benchmark_names[:1] if is_background else space.benchmark_names
    elif isinstance(names, str):
        names = [names]
    names = [str(name) for name in names]
    if not names:
        raise MadGraphCardError("no benchmark to sample from: define benchmarks in the setup first")
    for name in names:
        space.benchmark_index(name)
    return names


def _proc_card(proc_card_file: PathLike) -> str:
    text = read_card(proc_card_file, "process card")
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip().split(" ", 1)[0].lower()
        if word in ("output", "launch"):
            raise MadGraphCardError(
                f"process card {proc_card_file}: remove the line {line.strip()!r}; columnminer adds the "
                "output command itself and launches the runs separately"
            )
    return text


def _install_ufo_model(ufo_model_directory: Path, mg_directory: Path) -> None:
    destination = mg_directory / "models" / ufo_model_directory.name
    if destination.exists():
        logger.info("UFO model %s is already installed in %s", ufo_model_directory.name, destination.parent)
        return
    shutil.copytree(ufo_model_directory, destination)
    logger.info("installed UFO model %s into %s", ufo_model_directory, destination)


def _find_new_run(process: Path, before: set[Path], order: str, command: list[str], log_file: Path) -> str:
    new = [run for run in run_directories(process) if run not in before]
    name = event_file_name(order)
    done = [run for run in new if (run / name).is_file()]
    if not done:
        raise MadGraphError(
            f"MadGraph finished without error but wrote no new Events/<run>/{name} in {process}; see the log "
            f"{log_file}",
            command=command,
            returncode=0,
            log_path=str(log_file),
        )
    return done[-1].name


def run_multiple(
    setup: Any,
    mg_directory: PathLike,
    proc_card_file: PathLike,
    param_card_template_file: PathLike,
    run_card_files: Sequence[PathLike | None] | PathLike | None = None,
    mg_process_directory: PathLike | None = None,
    pythia8_card_file: PathLike | None = None,
    configuration_file: PathLike | None = None,
    sample_benchmarks: Sequence[str] | None = None,
    is_background: bool = False,
    only_prepare_script: bool = False,
    ufo_model_directory: PathLike | None = None,
    log_directory: PathLike | None = None,
    temp_directory: PathLike | None = None,
    initial_command: str | None = None,
    systematics: Sequence[str] | None = None,
    order: str = "LO",
    python_executable: str | None = None,
    *,
    run_card_settings: Mapping[str, Any] | None = None,
    pythia8_settings: Mapping[str, Any] | None = None,
    madspin_card_file: PathLike | None = None,
    steering_directory: PathLike | None = None,
    reuse_process_directory: bool = False,
) -> list[MadGraphRun]:
    """Create the MadGraph process and generate events for every (run card, sampling benchmark) pair.

    MadMiner's options: ``mg_directory`` (the MG5_aMC folder), ``proc_card_file`` (without ``output``),
    ``param_card_template_file`` (its LHA entries of the parameters are set per sampling benchmark),
    ``run_card_files`` (None: the process's default card), ``mg_process_directory`` (default
    ``./MG_process``), ``pythia8_card_file`` (shower with Pythia8; the shower card at NLO),
    ``configuration_file`` (MadGraph configuration), ``sample_benchmarks`` (default: every benchmark; the
    first one only for a background), ``is_background`` (no reweighting), ``only_prepare_script`` (write
    scripts, run nothing), ``ufo_model_directory`` (copied into ``<mg_directory>/models`` if missing),
    ``log_directory`` (default ``./logs``), ``temp_directory`` (``TMPDIR`` of MadGraph), ``initial_command``
    (shell code run first, e.g. to set up an environment), ``systematics`` (names of the setup's systematics,
    default all), ``order`` ("LO" or "NLO"), ``python_executable`` (runs MadGraph's scripts, and goes first
    on ``PATH``).

    columnminer's additions: ``run_card_settings`` (e.g. ``{"nevents": 10000, "iseed": 1}``; a non-zero
    ``iseed`` is increased by the run index so that runs differ), ``pythia8_settings`` (``Key = value``
    entries of the Pythia8 card), ``madspin_card_file`` (switches MadSpin on), ``steering_directory``
    (default :func:`default_steering_directory`), ``reuse_process_directory`` (keep an existing process
    directory instead of creating it again).

    Every signal run reweights to every benchmark of the setup, each weight named after its benchmark, the
    sampling benchmark included, so each LHE file can go straight to
    :func:`columnminer.samples.analyse_samples`. Returns one :class:`MadGraphRun` per run (also listed in
    ``<steering>/runs.json``). With ``only_prepare_script`` the scripts are ``<steering>/run.sh`` (everything,
    in order), ``<steering>/scripts/create_process.sh`` and ``<steering>/scripts/run_<i>.sh`` (one run each,
    self-contained for batch jobs); their run names are those MadGraph will give when they run in order.
    """
    order = check_order(order)
    space = parameter_space_of(setup)
    process = absolute_path(mg_process_directory if mg_process_directory is not None else "MG_process")
    check_madgraph_path(process, "mg_process_directory")
    logs = absolute_path(log_directory if log_directory is not None else "logs")
    steering = (
        absolute_path(steering_directory) if steering_directory else default_steering_directory(process)
    )
    mg_directory = absolute_path(mg_directory)
    temp = None if temp_directory is None else absolute_path(temp_directory)

    proc_text = _proc_card(proc_card_file)
    read_card(param_card_template_file, "param card template")
    if run_card_files is None or isinstance(run_card_files, str | os.PathLike):
        run_card_files = [run_card_files]
    for path in run_card_files:
        if path is not None:
            read_card(path, "run card")
    extra: dict[str, str] = {}
    if pythia8_card_file is not None:
        extra["pythia8"] = set_shower_card_entries(
            read_card(pythia8_card_file, "Pythia8 card"), pythia8_settings or {}
        )
    elif pythia8_settings:
        raise MadGraphCardError("pythia8_settings need a pythia8_card_file")
    if madspin_card_file is not None:
        extra["madspin"] = read_card(madspin_card_file, "MadSpin card")
    if configuration_file is not None:
        extra["configuration"] = read_card(configuration_file, "configuration file")
    ufo = None if ufo_model_directory is None else absolute_path(ufo_model_directory)
    if ufo is not None and not ufo.is_dir():
        raise MadGraphNotFoundError(f"UFO model directory {ufo} does not exist", path=str(ufo))
    benchmarks = _sample_benchmarks(space, sample_benchmarks, is_background)
    chosen_systematics = _selected_systematics(setup, systematics)
    weights_card = None if is_background else reweight_card(space)
    settings = dict(run_card_settings or {})

    if only_prepare_script:
        if not (mg_directory / "bin" / "mg5_aMC").is_file():
            logger.warning(
                "%s/bin/mg5_aMC does not exist here; the scripts will need the right path", mg_directory
            )
        launcher, env = mg_directory / "bin" / "mg5_aMC", None
    else:
        launcher = require_madgraph(mg_directory)
        env = madgraph_environment(python_executable, temp)
        if not (reuse_process_directory and is_process_directory(process)):
            if process.exists():
                logger.warning(
                    "%s exists: MadGraph creates the process directory again (its runs may be lost); pass "
                    "reuse_process_directory=True to keep it",
                    process,
                )
            if ufo is not None:
                _install_ufo_model(ufo, mg_directory)
            generate = steering / "cards" / "generate.mg5"
            generate.parent.mkdir(parents=True, exist_ok=True)
            generate.write_text(proc_text.rstrip("\n") + f"\n\noutput {process}\n")
            process.parent.mkdir(parents=True, exist_ok=True)
            command = build_command([launcher, generate], initial_command, python_executable)
            call_madgraph(command, logs / "generate.log", "creating the MadGraph process directory", env=env)
            if not is_process_directory(process):
                raise MadGraphError(
                    f"MadGraph finished without error but {process} is no process directory (no "
                    f"bin/generate_events); see the log {logs / 'generate.log'}",
                    command=command,
                    returncode=0,
                    log_path=str(logs / "generate.log"),
                )
        else:
            logger.info("reusing the process directory %s", process)

    first_run = next_run_number(process)
    runs: list[MadGraphRun] = []
    for i, (run_card_file, benchmark) in enumerate(itertools.product(run_card_files, benchmarks)):
        texts = {"param": param_card(space, benchmark, param_card_template_file)}
        if run_card_file is not None:
            these = dict(settings)
            if int(these.get("iseed", 0) or 0) != 0:
                these["iseed"] = int(these["iseed"]) + i
            texts["run"] = edit_run_card(run_card_file, chosen_systematics, order, is_background, these)
        elif settings or any(s.effect in ("scale", "pdf") for s in chosen_systematics):
            logger.warning(
                "run %d has no run card: run_card_settings and the systematics switches are not applied", i
            )
        if weights_card is not None:
            texts["reweight"] = weights_card
        texts.update(extra)
        copies = {kind: steering / "cards" / _COPY_NAMES[kind].format(i) for kind in texts}
        for kind, text in texts.items():
            copies[kind].parent.mkdir(parents=True, exist_ok=True)
            copies[kind].write_text(text)
        switches = launch_switches(
            order, shower="pythia8" in texts, reweight=not is_background, madspin="madspin" in texts
        )
        record = MadGraphRun(
            index=i,
            mg_process_directory=process,
            sample_benchmark=benchmark,
            is_background=is_background,
            order=order,
            cards=copies,
            log_file=logs / f"run_{i}.log",
        )
        logger.info(
            "run %d: sampling benchmark %s, run card %s, cards in %s", i, benchmark, run_card_file, steering
        )
        if only_prepare_script:
            record.commands_file = process / "Cards" / f"columnminer_launch_{i}.mg5"
            record.run_name = f"run_{first_run + i:02d}"
            record.script = write_script(
                steering / "scripts" / f"run_{i}.sh",
                run_script(
                    f"columnminer run {i}: events sampled at benchmark {benchmark}",
                    {card_destination(kind, order): text for kind, text in texts.items()},
                    switches,
                    f"columnminer_launch_{i}.mg5",
                    f"run_{i}.log",
                    mg_directory,
                    process,
                    logs,
                    initial_command,
                    python_executable,
                    temp,
                ),
            )
        else:
            for kind in texts:
                shutil.copyfile(copies[kind], process / card_destination(kind, order))
            record.commands_file = steering / "cards" / f"mg_commands_{i}.mg5"
            record.commands_file.write_text("\n".join([f"launch {process}", *switches]) + "\n")
            before = set(run_directories(process))
            command = build_command([launcher, record.commands_file], initial_command, python_executable)
            call_madgraph(command, record.log_file, f"MadGraph run {i} (benchmark {benchmark})", env=env)
            record.run_name = _find_new_run(process, before, order, command, record.log_file)
            record.done = True
            logger.info("run %d finished: %s", i, record.lhe_file)
        runs.append(record)
        write_runs(steering, runs)  # after every run, so that a later failure keeps the finished ones listed
    if only_prepare_script:
        write_script(
            steering / "scripts" / "create_process.sh",
            process_script(
                proc_text, mg_directory, process, logs, ufo, initial_command, python_executable, temp
            ),
        )
        names = ["scripts/create_process.sh", *(f"scripts/run_{r.index}.sh" for r in runs)]
        script = write_script(steering / "run.sh", master_script(names, mg_directory, process, logs))
        logger.info(
            "to generate the events run: %s [MG_directory] [MG_process_directory] [log_directory]", script
        )
    return runs


def run(
    setup: Any,
    mg_directory: PathLike,
    proc_card_file: PathLike,
    param_card_template_file: PathLike,
    run_card_file: PathLike | None = None,
    mg_process_directory: PathLike | None = None,
    pythia8_card_file: PathLike | None = None,
    configuration_file: PathLike | None = None,
    sample_benchmark: str | None = None,
    is_background: bool = False,
    only_prepare_script: bool = False,
    ufo_model_directory: PathLike | None = None,
    log_directory: PathLike | None = None,
    temp_directory: PathLike | None = None,
    initial_command: str | None = None,
    systematics: Sequence[str] | None = None,
    order: str = "LO",
    python_executable: str | None = None,
    **options: Any,
) -> MadGraphRun:
    """One run: :func:`run_multiple` with one run card and one sampling benchmark (default: the first).

    ``options`` are :func:`run_multiple`'s keyword-only arguments (``run_card_settings``, ...).
    """
    space = parameter_space_of(setup)
    if sample_benchmark is None:
        if not space.benchmark_names:
            raise MadGraphCardError("no benchmark to sample from: define benchmarks in the setup first")
        sample_benchmark = space.benchmark_names[0]
    return run_multiple(
        setup,
        mg_directory,
        proc_card_file,
        param_card_template_file,
        [run_card_file],
        mg_process_directory,
        pythia8_card_file,
        configuration_file,
        [sample_benchmark],
        is_background,
        only_prepare_script,
        ufo_model_directory,
        log_directory,
        temp_directory,
        initial_command,
        systematics,
        order,
        python_executable,
        **options,
    )[0]
