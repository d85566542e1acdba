"""Calling MadGraph: argument lists, the environment, log files, and errors that say what failed."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import MadGraphError, MadGraphNotFoundError

__all__ = ["build_command", "call_madgraph", "log_tail", "madgraph_environment", "require_madgraph"]

logger = logging.getLogger(__name__)


def require_madgraph(mg_directory: str | os.PathLike) -> Path:
    """The MadGraph 5 launcher ``<mg_directory>/bin/mg5_aMC``; a missing directory or launcher raises
    :class:`~columnminer.errors.MadGraphNotFoundError` naming it.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "bin").mkdir(); _ = (d / "bin" / "mg5_aMC").write_text("")
        >>> require_madgraph(d) == (d / "bin" / "mg5_aMC").resolve()
        True
        >>> require_madgraph(d / "missing")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        columnminer.errors.MadGraphNotFoundError: MadGraph directory .../missing does not exist; ...
    """
    directory = Path(mg_directory).expanduser()
    if not directory.is_dir():
        raise MadGraphNotFoundError(
            f"MadGraph directory {directory} does not exist; pass mg_directory=<the MG5_aMC folder>",
            path=str(directory),
        )
    launcher = directory / "bin" / "mg5_aMC"
    if not launcher.is_file():
        raise MadGraphNotFoundError(
            f"{directory} is not a MadGraph 5 installation: {launcher} does not exist", path=str(launcher)
        )
    return launcher.resolve()


def madgraph_environment(
    python_executable: str | None = None,
    temp_directory: str | os.PathLike | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment MadGraph runs in: ``base`` (default: this process's) with the folder of
    ``python_executable`` first on ``PATH`` (so that MadGraph's own Python calls find the same interpreter,
    as MadMiner arranges) and ``TMPDIR`` set to ``temp_directory``.

    Example:
        >>> env = madgraph_environment(temp_directory="/scratch/tmp", base={"PATH": "/usr/bin"})
        >>> env["TMPDIR"], env["PATH"]
        ('/scratch/tmp', '/usr/bin')
    """
    env = dict(os.environ if base is None else base)
    if python_executable is not None:
        found = shutil.which(python_executable)
        if found is None:
            raise MadGraphNotFoundError(
                f"python_executable {python_executable!r} was not found", path=str(python_executable)
            )
        folder = str(Path(found).parent)
        env["PATH"] = folder + os.pathsep + env["PATH"] if env.get("PATH") else folder
    if temp_directory is not None:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(Path(temp_directory).resolve())
    return env


def build_command(
    argv: Sequence[str | os.PathLike],
    initial_command: str | None = None,
    python_executable: str | None = None,
) -> list[str]:
    """The argument list that runs ``argv``: through ``python_executable`` if given, after the shell code
    ``initial_command`` if given.

    The initial command (e.g. ``source /opt/root/bin/thisroot.sh``) is the only text a shell sees: it is the
    script of ``bash -c``, which then replaces itself (``exec``) with the MadGraph command passed as separate
    arguments, so paths are never parsed by a shell. As in MadMiner, MadGraph runs even if the initial command fails.

    Example:
        >>> build_command(["/mg/bin/mg5_aMC", "cmd.mg5"], python_executable="python3")
        ['python3', '/mg/bin/mg5_aMC', 'cmd.mg5']
        >>> build_command(["/mg/bin/mg5_aMC", "cmd.mg5"], initial_command="export A=1")[:3]
        ['bash', '-c', 'export A=1\\nexec "$@"']
    """
    command = [str(a) for a in argv]
    if python_executable is not None:
        command = [str(python_executable), *command]
    if initial_command:
        script = f'{initial_command}\nexec "$@"'
        command = ["bash", "-c", script, "columnminer-madgraph", *command]
    return command


def log_tail(path: str | os.PathLike, n_lines: int = 15) -> str:
    """The last ``n_lines`` lines of a log file (empty when it does not exist).

    Example:
        >>> import tempfile
        >>> log = Path(tempfile.mkdtemp()) / "run.log"
        >>> _ = log.write_text("one\\ntwo\\nthree\\n")
        >>> log_tail(log, 2), log_tail(log.with_name("none.log"))
        ('two\\nthree', '')
    """
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n_lines:])


def call_madgraph(
    command: Sequence[str],
    log_file: str | os.PathLike,
    what: str,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run ``command`` (an argument list, no shell) with its output in ``log_file``; raise on failure.

    A non-zero exit code raises :class:`~columnminer.errors.MadGraphError` naming ``what`` was attempted, the
    command, the exit code and the log file, and quoting the end of the log. ``cwd`` defaults to the log
    folder, so files MadGraph leaves in its working directory (``MG5_debug`` after a crash) end up next to
    the log.

    Example (the recording fake in the tests is a real MadGraph's stand-in; here, plain ``python -c``):
        >>> import sys, tempfile
        >>> log = Path(tempfile.mkdtemp()) / "logs" / "hello.log"
        >>> call_madgraph([sys.executable, "-c", "print('hello')"], log, "saying hello")
        >>> log.read_text()
        'hello\\n'
        >>> call_madgraph([sys.executable, "-c", "raise SystemExit(3)"], log, "failing")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        columnminer.errors.MadGraphError: failing failed with exit code 3; see the log ...
    """
    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cwd = Path(cwd) if cwd is not None else log_file.parent
    logger.info("%s: %s (log: %s)", what, " ".join(command), log_file)
    try:
        with open(log_file, "w") as log:
            result = subprocess.run(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                check=False,
            )
    except OSError as err:
        raise MadGraphError(
            f"{what}: could not start {command[0]}: {err}", command=list(command), log_path=str(log_file)
        ) from err
    if result.returncode != 0:
        tail = log_tail(log_file)
        raise MadGraphError(
            f"{what} failed with exit code {result.returncode}; see the log {log_file}\n"
            f"command: {' '.join(command)}" + (f"\nlast lines of the log:\n{tail}" if tail else ""),
            command=list(command),
            returncode=result.returncode,
            log_path=str(log_file),
        )
