"""The MadGraph process directory: card names at LO and NLO, launch switches, runs and their event files."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import MadGraphCardError, MadGraphNotFoundError
from ..io.lhe import NOMINAL_WEIGHT

__all__ = [
    "NOMINAL_WEIGHT",
    "ORDERS",
    "benchmark_weight_mapping",
    "card_destination",
    "check_madgraph_path",
    "check_order",
    "event_file",
    "event_file_name",
    "find_event_files",
    "is_process_directory",
    "launch_commands",
    "launch_switches",
    "next_run_number",
    "run_directories",
]

logger = logging.getLogger(__name__)

ORDERS = ("LO", "NLO")
#: The suffix MadGraph appends to a reweighting name for NLO events (``<rwgt_name>_nlo``).
_NLO_SUFFIX = {"LO": "", "NLO": "_nlo"}

#: Where each card goes inside a process directory. The Pythia8 card of an aMC@NLO process is its shower card.
_CARDS = {
    "LO": {
        "param": "Cards/param_card.dat",
        "run": "Cards/run_card.dat",
        "reweight": "Cards/reweight_card.dat",
        "pythia8": "Cards/pythia8_card.dat",
        "madspin": "Cards/madspin_card.dat",
        "configuration": "Cards/me5_configuration.txt",
    },
    "NLO": {
        "param": "Cards/param_card.dat",
        "run": "Cards/run_card.dat",
        "reweight": "Cards/reweight_card.dat",
        "pythia8": "Cards/shower_card.dat",
        "madspin": "Cards/madspin_card.dat",
        "configuration": "Cards/amcatnlo_configuration.txt",
    },
}
_EVENT_FILES = {"LO": "unweighted_events.lhe.gz", "NLO": "events.lhe.gz"}
_RUN = re.compile(r"run_(\d+)")


def check_order(order: str) -> str:
    """``"LO"`` or ``"NLO"`` (any case); anything else raises :class:`~columnminer.errors.MadGraphCardError`.

    Example:
        >>> check_order("nlo")
        'NLO'
    """
    upper = str(order).upper()
    if upper not in ORDERS:
        raise MadGraphCardError(f"order must be 'LO' or 'NLO', got {order!r}")
    return upper


def card_destination(kind: str, order: str = "LO") -> str:
    """The path of a card inside the process directory: ``kind`` is param, run, reweight, pythia8, madspin or
    configuration.

    Example:
        >>> card_destination("pythia8"), card_destination("pythia8", "NLO")
        ('Cards/pythia8_card.dat', 'Cards/shower_card.dat')
    """
    cards = _CARDS[check_order(order)]
    if kind not in cards:
        raise MadGraphCardError(f"unknown card kind {kind!r}; known: {sorted(cards)}")
    return cards[kind]


def event_file_name(order: str = "LO") -> str:
    """The LHE file MadGraph writes into ``Events/<run>/``: unweighted events at LO, aMC@NLO's events at NLO.

    Example:
        >>> event_file_name("LO"), event_file_name("NLO")
        ('unweighted_events.lhe.gz', 'events.lhe.gz')
    """
    return _EVENT_FILES[check_order(order)]


def check_madgraph_path(path: str | os.PathLike, what: str) -> str:
    """Return ``str(path)`` if MadGraph's command parser can take it (no whitespace), else raise.

    Example:
        >>> check_madgraph_path("/work/MG_process", "mg_process_directory")
        '/work/MG_process'
        >>> check_madgraph_path("/my work/MG", "mg_directory")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        columnminer.errors.MadGraphCardError: mg_directory '/my work/MG' contains whitespace, ...
    """
    text = str(path)
    if any(c.isspace() for c in text):
        raise MadGraphCardError(
            f"{what} {text!r} contains whitespace, which MadGraph's command files cannot hold"
        )
    return text


def launch_switches(
    order: str = "LO", shower: bool = False, reweight: bool = True, madspin: bool = False
) -> list[str]:
    """The answers to MadGraph's launch question, ending with ``done``.

    At LO as MadMiner writes them (shower Pythia8 or OFF, no detector simulation or analysis, MadSpin and
    reweighting on or off). At NLO aMC@NLO asks other switches: event generation at NLO (``order=NLO``,
    ``fixed_order=OFF``), the shower (``PYTHIA8`` or OFF), MadSpin and reweighting.

    Example:
        >>> launch_switches("LO", shower=True)
        ['shower=Pythia8', 'detector=OFF', 'analysis=OFF', 'madspin=OFF', 'reweight=ON', 'done']
        >>> launch_switches("NLO", reweight=False)
        ['order=NLO', 'fixed_order=OFF', 'shower=OFF', 'madspin=OFF', 'reweight=OFF', 'done']
    """
    on = {True: "ON", False: "OFF"}
    if check_order(order) == "LO":
        switches = [f"shower={'Pythia8' if shower else 'OFF'}", "detector=OFF", "analysis=OFF"]
    else:
        switches = ["order=NLO", "fixed_order=OFF", f"shower={'PYTHIA8' if shower else 'OFF'}"]
    return [*switches, f"madspin={on[bool(madspin)]}", f"reweight={on[bool(reweight)]}", "done"]


def launch_commands(mg_process_directory: str | os.PathLike, **switches: bool | str) -> str:
    """The MadGraph command file that launches event generation in a process directory.

    ``mg5_aMC <file>`` reads ``launch <directory>`` and then answers the launch question with
    :func:`launch_switches` (keyword arguments go there).

    Example:
        >>> print(launch_commands("/work/MG_process", reweight=False), end="")
        launch /work/MG_process
        shower=OFF
        detector=OFF
        analysis=OFF
        madspin=OFF
        reweight=OFF
        done
    """
    directory = check_madgraph_path(mg_process_directory, "process directory")
    return "\n".join([f"launch {directory}", *launch_switches(**switches)]) + "\n"  # type: ignore[arg-type]


def is_process_directory(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a MadGraph process directory (``bin/generate_events`` and ``Cards/``).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> before = is_process_directory(d)
        >>> (d / "bin").mkdir(); (d / "Cards").mkdir(); _ = (d / "bin" / "generate_events").write_text("")
        >>> before, is_process_directory(d)
        (False, True)
    """
    path = Path(path)
    return (path / "bin" / "generate_events").is_file() and (path / "Cards").is_dir()


def run_directories(mg_process_directory: str | os.PathLike) -> list[Path]:
    """The ``Events/run_<n>`` folders of a process directory, by run number.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> for name in ("run_10", "run_02", "other"):
        ...     (d / "Events" / name).mkdir(parents=True)
        >>> [p.name for p in run_directories(d)]
        ['run_02', 'run_10']
    """
    events = Path(mg_process_directory) / "Events"
    if not events.is_dir():
        return []
    runs = [p for p in events.iterdir() if p.is_dir() and _RUN.fullmatch(p.name)]
    return sorted(runs, key=lambda p: int(_RUN.fullmatch(p.name).group(1)))  # type: ignore[union-attr]


def next_run_number(mg_process_directory: str | os.PathLike) -> int:
    """The number MadGraph gives the next run (``run_01`` first): one more than the largest existing run.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> first = next_run_number(d)
        >>> (d / "Events" / "run_03").mkdir(parents=True)
        >>> first, next_run_number(d)
        (1, 4)
    """
    runs = run_directories(mg_process_directory)
    return 1 + max((int(_RUN.fullmatch(p.name).group(1)) for p in runs), default=0)  # type: ignore[union-attr]


def event_file(mg_process_directory: str | os.PathLike, run_name: str, order: str = "LO") -> Path:
    """The LHE file of one run, ``<process>/Events/<run_name>/<event_file_name(order)>``; raises if absent.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "Events" / "run_01").mkdir(parents=True)
        >>> _ = (d / "Events" / "run_01" / "events.lhe.gz").write_bytes(b"")
        >>> event_file(d, "run_01", "NLO").name
        'events.lhe.gz'
    """
    path = Path(mg_process_directory) / "Events" / run_name / event_file_name(order)
    if not path.is_file():
        raise MadGraphNotFoundError(f"run {run_name!r} has no event file {path}", path=str(path))
    return path


def find_event_files(mg_process_directory: str | os.PathLike, order: str = "LO") -> list[Path]:
    """The LHE files MadGraph produced in a process directory, one per finished run, by run number.

    Runs without the file (failed, still running, or showered only) are skipped with a log message.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "Events" / "run_01").mkdir(parents=True)
        >>> _ = (d / "Events" / "run_01" / "unweighted_events.lhe.gz").write_bytes(b"")
        >>> [p.relative_to(d).as_posix() for p in find_event_files(d)]
        ['Events/run_01/unweighted_events.lhe.gz']
    """
    name = event_file_name(order)
    found = []
    for run in run_directories(mg_process_directory):
        if (run / name).is_file():
            found.append(run / name)
        else:
            logger.info("%s has no %s", run, name)
    return found


def benchmark_weight_mapping(
    benchmarks: Sequence[str], sample_benchmark: str | None, order: str = "LO"
) -> dict[str, str]:
    """``{benchmark: LHE weight id}`` of a MadGraph run, for ``Sample(weight_mapping=...)``.

    The sampling benchmark is not reweighted (MadGraph would skip, or recompute at the cost of a whole
    reweighting pass, a card identical to the original): its column is the event weight XWGTUP
    (:data:`NOMINAL_WEIGHT`). Every other benchmark is the reweighting name, which MadGraph suffixes with
    ``_nlo`` for NLO events. Benchmarks whose id is their own name are left out. A background run
    (``sample_benchmark`` None) needs no mapping.

    Example:
        >>> benchmark_weight_mapping(["sm", "w"], "sm", "NLO")
        {'sm': 'XWGTUP', 'w': 'w_nlo'}
        >>> benchmark_weight_mapping(["sm", "w"], "w")
        {'w': 'XWGTUP'}
    """
    if sample_benchmark is None:
        return {}
    suffix = _NLO_SUFFIX[check_order(order)]
    mapping = {str(b): str(b) + suffix for b in benchmarks if suffix}
    mapping[str(sample_benchmark)] = NOMINAL_WEIGHT
    return {b: mapping[b] for b in [*map(str, benchmarks), str(sample_benchmark)] if b in mapping}
