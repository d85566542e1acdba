"""MadGraphRun: what one prepared or finished MadGraph run used and produced, and the runs.json manifest."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MadGraphNotFoundError
from .process import event_file_name

__all__ = [
    "MANIFEST",
    "MadGraphRun",
    "absolute_path",
    "default_steering_directory",
    "load_runs",
    "write_runs",
]

logger = logging.getLogger(__name__)

#: The file in the steering directory that lists the runs.
MANIFEST = "runs.json"


def absolute_path(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` expanded, made absolute (symbolic links are kept).

    Example:
        >>> absolute_path("~/MG_process") == Path.home() / "MG_process"
        True
    """
    return Path(path).expanduser().absolute()


def default_steering_directory(mg_process_directory: str | os.PathLike) -> Path:
    """Where columnminer keeps the cards, scripts and manifest of a process directory: ``<process>_columnminer``.

    It sits beside the process directory, not inside it, so that MadGraph re-creating the process directory
    never deletes it.

    Example:
        >>> default_steering_directory("/work/MG_process").as_posix()
        '/work/MG_process_columnminer'
    """
    process = Path(mg_process_directory)
    return process.with_name(process.name + "_columnminer")


@dataclass
class MadGraphRun:
    """One MadGraph run prepared (``done`` False) or finished (``done`` True) by columnminer.

    Attributes:
        index: the run's number among those prepared together (names its cards, script and log).
        mg_process_directory: the process directory it runs in.
        sample_benchmark: the benchmark whose param card generates the events (None: reweighting only).
        is_background: no reweighting; the events' nominal weight counts for every benchmark.
        order: "LO" or "NLO".
        cards: card kind (param, run, reweight, pythia8, madspin, configuration) -> the steering copy.
        commands_file: the launch command file given to ``mg5_aMC`` (None for reweighting runs).
        log_file: where MadGraph's output goes.
        script: the bash script that performs the run (only when scripts were prepared).
        run_name: the folder under ``Events/``: found after running, expected (MadGraph numbers runs
            ``run_01``, ``run_02``... in the order they start) when only prepared.
        done: whether columnminer ran it and found its event file.
        weight_mapping: ``{benchmark: LHE weight id}`` where a benchmark's weight is not named after it
            (:func:`~columnminer.madgraph.process.benchmark_weight_mapping`: the sampling benchmark is the
            event weight XWGTUP, NLO reweighting names end in ``_nlo``).

    Example:
        >>> r = MadGraphRun(0, Path("/work/MG_process"), "sm", run_name="run_01")
        >>> r.lhe_file.as_posix()
        '/work/MG_process/Events/run_01/unweighted_events.lhe.gz'
        >>> r.sample_kwargs()["sampled_from_benchmark"]
        'sm'
    """

    index: int
    mg_process_directory: Path
    sample_benchmark: str | None
    is_background: bool = False
    order: str = "LO"
    cards: dict[str, Path] = field(default_factory=dict)
    commands_file: Path | None = None
    log_file: Path | None = None
    script: Path | None = None
    run_name: str | None = None
    done: bool = False
    weight_mapping: dict[str, str] = field(default_factory=dict)

    @property
    def events_directory(self) -> Path | None:
        """``<process>/Events/<run_name>`` (None while the run name is unknown)."""
        return None if self.run_name is None else Path(self.mg_process_directory) / "Events" / self.run_name

    @property
    def lhe_file(self) -> Path | None:
        """The LHE file of this run (``unweighted_events.lhe.gz`` at LO, ``events.lhe.gz`` at NLO)."""
        directory = self.events_directory
        return None if directory is None else directory / event_file_name(self.order)

    def sample_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`columnminer.samples.Sample` describing this run's LHE file.

        Raises :class:`~columnminer.errors.MadGraphNotFoundError` while the run name is unknown.
        """
        if self.lhe_file is None:
            raise MadGraphNotFoundError(
                f"run {self.index} in {self.mg_process_directory} has no known run name yet; use "
                "columnminer.madgraph.find_event_files() after it has run",
                path=str(self.mg_process_directory),
            )
        kwargs: dict[str, Any] = {
            "path": str(self.lhe_file),
            "sampled_from_benchmark": None if self.is_background else self.sample_benchmark,
            "is_background": self.is_background,
        }
        if self.weight_mapping and not self.is_background:
            kwargs["weight_mapping"] = dict(self.weight_mapping)
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (paths as strings)."""

        def text(path: Path | None) -> str | None:
            return None if path is None else str(path)

        return {
            "index": self.index,
            "mg_process_directory": str(self.mg_process_directory),
            "sample_benchmark": self.sample_benchmark,
            "is_background": self.is_background,
            "order": self.order,
            "cards": {kind: str(path) for kind, path in self.cards.items()},
            "commands_file": text(self.commands_file),
            "log_file": text(self.log_file),
            "script": text(self.script),
            "run_name": self.run_name,
            "done": self.done,
            "weight_mapping": dict(self.weight_mapping),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MadGraphRun:
        """Inverse of :meth:`to_dict`."""

        def path(value: str | None) -> Path | None:
            return None if value is None else Path(value)

        return cls(
            index=int(data["index"]),
            mg_process_directory=Path(data["mg_process_directory"]),
            sample_benchmark=data.get("sample_benchmark"),
            is_background=bool(data.get("is_background", False)),
            order=str(data.get("order", "LO")),
            cards={kind: Path(p) for kind, p in data.get("cards", {}).items()},
            commands_file=path(data.get("commands_file")),
            log_file=path(data.get("log_file")),
            script=path(data.get("script")),
            run_name=data.get("run_name"),
            done=bool(data.get("done", False)),
            weight_mapping={str(k): str(v) for k, v in data.get("weight_mapping", {}).items()},
        )


def write_runs(steering_directory: str | os.PathLike, runs: Sequence[MadGraphRun]) -> Path:
    """Write ``runs.json`` into the steering directory (replacing an older one) and return its path.

    Example:
        >>> import tempfile
        >>> path = write_runs(tempfile.mkdtemp(), [MadGraphRun(0, Path("/p"), "sm", run_name="run_01")])
        >>> path.name, json.loads(path.read_text())[0]["run_name"]
        ('runs.json', 'run_01')
    """
    path = Path(steering_directory) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps([run.to_dict() for run in runs], indent=2) + "\n")
    os.replace(tmp, path)
    return path


def load_runs(steering_directory: str | os.PathLike) -> list[MadGraphRun]:
    """The runs listed in a steering directory's ``runs.json`` (e.g. after batch jobs have run them).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = write_runs(d, [MadGraphRun(0, Path("/p"), "sm", run_name="run_01")])
        >>> load_runs(d)[0].run_name
        'run_01'
    """
    path = Path(steering_directory) / MANIFEST
    if not path.is_file():
        raise MadGraphNotFoundError(f"no run manifest {path}", path=str(path))
    return [MadGraphRun.from_dict(item) for item in json.loads(path.read_text())]
