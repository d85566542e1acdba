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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MadGraphCardError, MadGraphError, MadGraphNotFoundError
from ..systematics import Systematic
from .execute import build_command, call_madgraph, madgraph_environment, require_madgraph
from .param_card import param_card, parameter_space_of, read_card
from .process import (
    benchmark_weight_mapping,
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


@dataclass
class _Where:
    """Where and how the runs of one :func:`run_multiple` call happen."""

    process: Path
    steering: Path
    logs: Path
    mg_directory: Path
    temp: Path | None
    order: str
    initial_command: str | None
    python_executable: str | None
    launcher: Path | None = None
    env: dict[str, str] | None = None


@dataclass
class _Inputs:
    """The cards read (and checked) before anything runs."""

    proc_text: str
    run_card_files: list[PathLike | None]
    extra: dict[str, str]
    ufo: Path | None


def _read_inputs(
    proc_card_file: PathLike,
    param_card_template_file: PathLike,
    run_card_files: Sequence[PathLike | None] | PathLike | None,
    pythia8_card_file: PathLike | None,
    pythia8_settings: Mapping[str, Any] | None,
    madspin_card_file: PathLike | None,
    configuration_file: PathLike | None,
    ufo_model_directory: PathLike | None,
) -> _Inputs:
    """Read every card once, so that a missing or malformed one fails before MadGraph starts."""
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
    return _Inputs(proc_text, list(run_card_files), extra, ufo)


def _create_process(where: _Where, inputs: _Inputs, reuse_process_directory: bool) -> None:
    """``mg5_aMC`` on the process card plus ``output <process>`` (unless an existing one is reused)."""
    process, logs = where.process, where.logs
    if reuse_process_directory and is_process_directory(process):
        logger.info("reusing the process directory %s", process)
        return
    if process.exists():
        logger.warning(
            "%s exists: MadGraph creates the process directory again (its runs may be lost); pass "
            "reuse_process_directory=True to keep it",
            process,
        )
    if inputs.ufo is not None:
        _install_ufo_model(inputs.ufo, where.mg_directory)
    generate = where.steering / "cards" / "generate.mg5"
    generate.parent.mkdir(parents=True, exist_ok=True)
    generate.write_text(inputs.proc_text.rstrip("\n") + f"\n\noutput {process}\n")
    process.parent.mkdir(parents=True, exist_ok=True)
    command = build_command([where.launcher, generate], where.initial_command, where.python_executable)
    call_madgraph(command, logs / "generate.log", "creating the MadGraph process directory", env=where.env)
    if not is_process_directory(process):
        raise MadGraphError(
            f"MadGraph finished without error but {process} is no process directory (no "
            f"bin/generate_events); see the log {logs / 'generate.log'}",
            command=command,
            returncode=0,
            log_path=str(logs / "generate.log"),
        )


def _run_cards(
    i: int,
    run_card_file: PathLike | None,
    benchmark: str,
    space: Any,
    param_card_template_file: PathLike,
    systematics: Sequence[Systematic],
    is_background: bool,
    where: _Where,
    inputs: _Inputs,
    settings: Mapping[str, Any],
) -> dict[str, str]:
    """The card texts of run ``i``: param card at its benchmark, run card, reweight card, extra cards."""
    texts = {"param": param_card(space, benchmark, param_card_template_file)}
    if run_card_file is not None:
        these = dict(settings)
        if int(these.get("iseed", 0) or 0) != 0:
            these["iseed"] = int(these["iseed"]) + i
        texts["run"] = edit_run_card(run_card_file, systematics, where.order, is_background, these)
    elif settings or any(s.effect in ("scale", "pdf") for s in systematics):
        logger.warning(
            "run %d has no run card: run_card_settings and the systematics switches are not applied", i
        )
    others = [name for name in space.benchmark_names if name != benchmark]
    if not is_background and others:
        texts["reweight"] = reweight_card(space, others)
    texts.update(inputs.extra)
    return texts


def _record(
    i: int, benchmark: str, texts: Mapping[str, str], space: Any, is_background: bool, where: _Where
) -> MadGraphRun:
    """Write the steering copies of run ``i``'s cards and describe the run (its weight mapping included)."""
    copies = {kind: where.steering / "cards" / _COPY_NAMES[kind].format(i) for kind in texts}
    for kind, text in texts.items():
        copies[kind].parent.mkdir(parents=True, exist_ok=True)
        copies[kind].write_text(text)
    mapping = {} if is_background else benchmark_weight_mapping(space.benchmark_names, benchmark, where.order)
    return MadGraphRun(
        index=i,
        mg_process_directory=where.process,
        sample_benchmark=benchmark,
        is_background=is_background,
        order=where.order,
        cards=copies,
        log_file=where.logs / f"run_{i}.log",
        weight_mapping=mapping,
    )


def _prepare_script(
    record: MadGraphRun, texts: Mapping[str, str], switches: list[str], where: _Where
) -> None:
    """Write ``<steering>/scripts/run_<i>.sh`` for the run; its name is the one MadGraph will give it."""
    i = record.index
    record.commands_file = where.process / "Cards" / f"columnminer_launch_{i}.mg5"
    record.run_name = f"run_{next_run_number(where.process) + i:02d}"
    record.script = write_script(
        where.steering / "scripts" / f"run_{i}.sh",
        run_script(
            f"columnminer run {i}: events sampled at benchmark {record.sample_benchmark}",
            {card_destination(kind, where.order): text for kind, text in texts.items()},
            switches,
            f"columnminer_launch_{i}.mg5",
            f"run_{i}.log",
            where.mg_directory,
            where.process,
            where.logs,
            where.initial_command,
            where.python_executable,
            where.temp,
        ),
    )


def _launch(record: MadGraphRun, switches: list[str], where: _Where) -> None:
    """Copy the run's cards into the process, launch MadGraph and find the run it wrote."""
    for kind, copy in record.cards.items():
        shutil.copyfile(copy, where.process / card_destination(kind, where.order))
    record.commands_file = where.steering / "cards" / f"mg_commands_{record.index}.mg5"
    record.commands_file.write_text("\n".join([f"launch {where.process}", *switches]) + "\n")
    before = set(run_directories(where.process))
    command = build_command(
        [where.launcher, record.commands_file], where.initial_command, where.python_executable
    )
    what = f"MadGraph run {record.index} (benchmark {record.sample_benchmark})"
    call_madgraph(command, record.log_file, what, env=where.env)
    record.run_name = _find_new_run(where.process, before, where.order, command, record.log_file)
    record.done = True
    logger.info("run %d finished: %s", record.index, record.lhe_file)


def _write_master_scripts(runs: Sequence[MadGraphRun], where: _Where, inputs: _Inputs) -> None:
    """``scripts/create_process.sh`` and ``run.sh`` (everything, in order) in the steering directory."""
    write_script(
        where.steering / "scripts" / "create_process.sh",
        process_script(
            inputs.proc_text,
            where.mg_directory,
            where.process,
            where.logs,
            inputs.ufo,
            where.initial_command,
            where.python_executable,
            where.temp,
        ),
    )
    names = ["scripts/create_process.sh", *(f"scripts/run_{r.index}.sh" for r in runs)]
    script = write_script(
        where.steering / "run.sh", master_script(names, where.mg_directory, where.process, where.logs)
    )
    logger.info(
        "to generate the events run: %s [MG_directory] [MG_process_directory] [log_directory]", script
    )


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

    Every signal run reweights to every benchmark of the setup but its sampling benchmark, each weight named
    after its benchmark (``<name>_nlo`` at NLO, as MadGraph names them). The sampling benchmark is left out
    as in MadMiner: older MadGraph versions skip a card identical to the original and write no weight, newer
    ones spend a whole reweighting pass recomputing the event weight. Its column is the event weight XWGTUP:
    the run's ``weight_mapping`` says so, and ``Sample(**run.sample_kwargs())`` goes straight to
    :func:`columnminer.samples.analyse_samples` (see ``docs/madgraph.md``). Returns one
    :class:`MadGraphRun` per run (also listed in ``<steering>/runs.json``). With ``only_prepare_script`` the
    scripts are ``<steering>/run.sh`` (everything, in order), ``<steering>/scripts/create_process.sh`` and
    ``<steering>/scripts/run_<i>.sh`` (one run each, self-contained for batch jobs); their run names are
    those MadGraph will give when they run in order.

    Example (dry: scripts only, MadGraph need not be installed):
        >>> import tempfile
        >>> from columnminer.madgraph.reweight_card import example_setup
        >>> setup = example_setup()
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "proc_card.dat").write_text("import model sm\\ngenerate p p > h\\n")
        >>> _ = (d / "param_card.dat").write_text("Block dim6\\n    2 0.0e+00 # CWL2\\n")
        >>> runs = run_multiple(setup, d / "MG5", d / "proc_card.dat", d / "param_card.dat",
        ...                     mg_process_directory=d / "MG_process", log_directory=d / "logs",
        ...                     only_prepare_script=True)
        >>> [(r.sample_benchmark, r.run_name, r.weight_mapping) for r in runs]
        [('sm', 'run_01', {'sm': 'XWGTUP'}), ('w', 'run_02', {'w': 'XWGTUP'})]
        >>> [l for l in runs[0].cards["reweight"].read_text().splitlines() if l.startswith("launch")]
        ['launch --rwgt_name=w']
    """
    order = check_order(order)
    space = parameter_space_of(setup)
    process = absolute_path(mg_process_directory if mg_process_directory is not None else "MG_process")
    check_madgraph_path(process, "mg_process_directory")
    where = _Where(
        process=process,
        steering=absolute_path(steering_directory)
        if steering_directory
        else default_steering_directory(process),
        logs=absolute_path(log_directory if log_directory is not None else "logs"),
        mg_directory=absolute_path(mg_directory),
        temp=None if temp_directory is None else absolute_path(temp_directory),
        order=order,
        initial_command=initial_command,
        python_executable=python_executable,
    )
    inputs = _read_inputs(
        proc_card_file,
        param_card_template_file,
        run_card_files,
        pythia8_card_file,
        pythia8_settings,
        madspin_card_file,
        configuration_file,
        ufo_model_directory,
    )
    benchmarks = _sample_benchmarks(space, sample_benchmarks, is_background)
    chosen_systematics = _selected_systematics(setup, systematics)
    if only_prepare_script:
        if not (where.mg_directory / "bin" / "mg5_aMC").is_file():
            logger.warning(
                "%s/bin/mg5_aMC does not exist here; the scripts will need the right path", where.mg_directory
            )
    else:
        where.launcher = require_madgraph(where.mg_directory)
        where.env = madgraph_environment(python_executable, where.temp)
        _create_process(where, inputs, reuse_process_directory)

    runs: list[MadGraphRun] = []
    pairs = itertools.product(inputs.run_card_files, benchmarks)
    for i, (run_card_file, benchmark) in enumerate(pairs):
        texts = _run_cards(
            i,
            run_card_file,
            benchmark,
            space,
            param_card_template_file,
            chosen_systematics,
            is_background,
            where,
            inputs,
            run_card_settings or {},
        )
        record = _record(i, benchmark, texts, space, is_background, where)
        switches = launch_switches(
            order, shower="pythia8" in texts, reweight="reweight" in texts, madspin="madspin" in texts
        )
        logger.info(
            "run %d: sampling benchmark %s, run card %s, cards in %s",
            i,
            benchmark,
            run_card_file,
            where.steering,
        )
        if only_prepare_script:
            _prepare_script(record, texts, switches, where)
        else:
            _launch(record, switches, where)
        runs.append(record)
        # after every run, so that a later failure keeps the finished ones listed
        write_runs(where.steering, runs)
    if only_prepare_script:
        _write_master_scripts(runs, where, inputs)
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

    Example (dry: a script only):
        >>> import tempfile
        >>> from columnminer import AnalysisSetup
        >>> setup = AnalysisSetup()
        >>> _ = setup.add_parameter("dim6", 2, name="CWL2")
        >>> _ = setup.add_benchmark([0.0], name="sm")
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "proc_card.dat").write_text("generate p p > h\\n")
        >>> _ = (d / "param_card.dat").write_text("Block dim6\\n    2 0.0e+00 # CWL2\\n")
        >>> r = run(setup, d / "MG5", d / "proc_card.dat", d / "param_card.dat", mg_process_directory=d / "MG",
        ...         log_directory=d / "logs", only_prepare_script=True)
        >>> r.script.name, r.run_name, sorted(r.cards)  # one benchmark: nothing to reweight
        ('run_0.sh', 'run_01', ['param'])
    """
    space = parameter_space_of(setup)
    if sample_benchmark is None:
        if not space.benchmark_names:
            raise MadGraphCardError("no benchmark to sample from: define benchmarks in the setup first")
        sample_benchmark = space.benchmark_names[0]
    arguments = {k: v for k, v in locals().items() if k not in ("space", "options")}
    arguments["run_card_files"] = [arguments.pop("run_card_file")]
    arguments["sample_benchmarks"] = [arguments.pop("sample_benchmark")]
    return run_multiple(**arguments, **options)[0]
