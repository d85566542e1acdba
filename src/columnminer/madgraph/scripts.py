"""Self-contained bash scripts that run MadGraph later or elsewhere (batch systems): cards travel inside them.

Every script takes the MadGraph directory, the process directory and the log directory as optional
positional arguments (defaults: the paths known when it was written), so a batch job can point it at a copy
of the process directory on a worker node. The cards are embedded as quoted here-documents and written into
the process directory by the script itself; paths are quoted with :func:`shlex.quote`; only the user's
``initial_command`` is inserted as shell code.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._version import __version__

__all__ = ["heredoc", "master_script", "process_script", "reweight_script", "run_script", "write_script"]

logger = logging.getLogger(__name__)

_DELIMITER = "COLUMNMINER_CARD"


def heredoc(text: str, target: str, append: bool = False) -> str:
    """Shell lines that write ``text`` verbatim to ``target`` (a shell word, e.g. ``"$mgprocdir/Cards/x.dat"``).

    The here-document delimiter is quoted, so nothing in ``text`` is expanded, and it is chosen so that no
    line of ``text`` equals it.

    Example:
        >>> print(heredoc("a $HOME\\n", '"$out"'), end="")
        cat > "$out" <<'COLUMNMINER_CARD'
        a $HOME
        COLUMNMINER_CARD
    """
    lines = set(text.splitlines())
    delimiter, i = _DELIMITER, 0
    while delimiter in lines:
        i += 1
        delimiter = f"{_DELIMITER}_{i}"
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"cat {'>>' if append else '>'} {target} <<'{delimiter}'\n{body}{delimiter}\n"


def _header(
    title: str,
    usage: str,
    variables: Sequence[tuple[str, str | os.PathLike]],
    initial_command: str | None,
    python_executable: str | None,
    temp_directory: str | os.PathLike | None,
) -> list[str]:
    lines = [
        "#!/bin/bash",
        f"# {title}",
        f"# Written by columnminer {__version__}. Usage: {usage}",
        "",
    ]
    if initial_command:
        lines += ["# initial command", initial_command, ""]
    for position, (name, default) in enumerate(variables, start=1):
        lines.append(f"{name}=${{{position}:-{shlex.quote(str(default))}}}")
    lines.append("set -e")
    if python_executable is not None:
        found = shutil.which(python_executable)
        if found is not None:
            lines.append(f'export PATH={shlex.quote(str(Path(found).parent))}:"$PATH"')
    if temp_directory is not None:
        lines += [f"export TMPDIR={shlex.quote(str(temp_directory))}", 'mkdir -p "$TMPDIR"']
    lines += ['mkdir -p "$logdir"', ""]
    return lines


def _generation_header(
    title: str,
    script_name: str,
    directories: tuple[str | os.PathLike, str | os.PathLike, str | os.PathLike],
    options: tuple[str | None, str | None, str | os.PathLike | None] = (None, None, None),
) -> list[str]:
    """:func:`_header` of the scripts that take ``[MG_directory] [MG_process_directory] [log_directory]``
    (``directories``, their defaults); ``options``: (initial command, Python executable, temp directory)."""
    variables = list(zip(("mgdir", "mgprocdir", "logdir"), directories, strict=True))
    usage = f"{script_name} [MG_directory] [MG_process_directory] [log_directory]"
    return _header(title, usage, variables, *options)


def _python(python_executable: str | None) -> str:
    return "" if python_executable is None else shlex.quote(str(python_executable)) + " "


def run_script(
    title: str,
    cards: Mapping[str, str],
    switches: Sequence[str],
    commands_name: str,
    log_name: str,
    mg_directory: str | os.PathLike,
    mg_process_directory: str | os.PathLike,
    log_directory: str | os.PathLike,
    initial_command: str | None = None,
    python_executable: str | None = None,
    temp_directory: str | os.PathLike | None = None,
) -> str:
    """A script for one event-generation run: write the ``cards`` ({path in the process directory: text}),
    write the launch command file ``Cards/<commands_name>`` and run ``<MG>/bin/mg5_aMC`` on it, its output in
    ``<log directory>/<log_name>``.

    Example:
        >>> text = run_script("run 0", {"Cards/param_card.dat": "Block dim6\\n"}, ["reweight=ON", "done"],
        ...                   "columnminer_launch_0.mg5", "run_0.log", "/mg", "/proc", "/logs")
        >>> print(text.splitlines()[-1])
        cd "$logdir" && "$mgdir/bin/mg5_aMC" "$commands" > "$logdir/run_0.log" 2>&1
    """
    lines = _generation_header(
        title,
        f"{Path(log_name).stem}.sh",
        (mg_directory, mg_process_directory, log_directory),
        (initial_command, python_executable, temp_directory),
    )
    for destination, text in cards.items():
        lines.append(heredoc(text, f'"$mgprocdir/{destination}"'))
    lines += [
        f'commands="$mgprocdir/Cards/{commands_name}"',
        'printf \'launch %s\\n\' "$mgprocdir" > "$commands"',
        heredoc("\n".join(switches) + "\n", '"$commands"', append=True),
        f'cd "$logdir" && {_python(python_executable)}"$mgdir/bin/mg5_aMC" "$commands" > "$logdir/{log_name}" 2>&1',
    ]
    return "\n".join(lines) + "\n"


def process_script(
    proc_card: str,
    mg_directory: str | os.PathLike,
    mg_process_directory: str | os.PathLike,
    log_directory: str | os.PathLike,
    ufo_model_directory: str | os.PathLike | None = None,
    initial_command: str | None = None,
    python_executable: str | None = None,
    temp_directory: str | os.PathLike | None = None,
) -> str:
    """A script that installs the UFO model into MadGraph if it is missing, then creates the process directory
    from ``proc_card`` (with ``output <process directory>`` appended) unless it exists already.

    Example:
        >>> text = process_script("generate e+ e- > mu+ mu-\\n", "/mg", "/proc", "/logs")
        >>> text.splitlines()[-3]
        '  (cd "$logdir" && "$mgdir/bin/mg5_aMC" "$generate") > "$logdir/generate.log" 2>&1'
    """
    lines = _generation_header(
        "columnminer: create the MadGraph process directory",
        "create_process.sh",
        (mg_directory, mg_process_directory, log_directory),
        (initial_command, python_executable, temp_directory),
    )
    if ufo_model_directory is not None:
        name = shlex.quote(Path(ufo_model_directory).name)
        lines += [
            f'if [ ! -d "$mgdir/models/"{name} ]; then',
            f'  cp -r {shlex.quote(str(ufo_model_directory))} "$mgdir/models/"{name}',
            "fi",
        ]
    lines += [
        'if [ ! -f "$mgprocdir/bin/generate_events" ]; then',
        '  generate="$(mktemp "${TMPDIR:-/tmp}/columnminer_generate_XXXXXX")"',
        heredoc(proc_card, '"$generate"').rstrip("\n"),
        '  printf \'\\n\\noutput %s\\n\' "$mgprocdir" >> "$generate"',
        f'  (cd "$logdir" && {_python(python_executable)}"$mgdir/bin/mg5_aMC" "$generate") '
        '> "$logdir/generate.log" 2>&1',
        '  rm -f "$generate"',
        "fi",
    ]
    return "\n".join(lines) + "\n"


def master_script(
    scripts: Sequence[str],
    mg_directory: str | os.PathLike,
    mg_process_directory: str | os.PathLike,
    log_directory: str | os.PathLike,
) -> str:
    """The script that runs ``scripts`` (paths relative to its own folder, e.g. ``scripts/create_process.sh``
    then ``scripts/run_<i>.sh``) one after the other with the same three arguments.

    Example:
        >>> master_script(["scripts/run_0.sh"], "/mg", "/proc", "/logs").splitlines()[-1]
        'bash "$here/scripts/run_0.sh" "$mgdir" "$mgprocdir" "$logdir"'
    """
    lines = _generation_header(
        "columnminer event generation: the process directory, then every run, one after the other",
        "run.sh",
        (mg_directory, mg_process_directory, log_directory),
    )
    lines.append('here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"')
    lines += [f'bash "$here/{script}" "$mgdir" "$mgprocdir" "$logdir"' for script in scripts]
    return "\n".join(lines) + "\n"


def reweight_script(
    run_name: str,
    reweight_card: str,
    log_name: str,
    mg_process_directory: str | os.PathLike,
    log_directory: str | os.PathLike,
    initial_command: str | None = None,
) -> str:
    """A script that adds benchmark weights to the existing run ``run_name``: it writes the reweight card and
    calls ``<process>/bin/madevent reweight <run_name> -f``.

    Example:
        >>> reweight_script("run_01", "launch --rwgt_name=sm\\n", "reweight.log", "/proc", "/logs").splitlines()[-1]
        'cd "$logdir" && "$mgprocdir/bin/madevent" reweight run_01 -f > "$logdir/reweight.log" 2>&1'
    """
    lines = _header(
        f"columnminer: add benchmark weights to the MadGraph run {run_name}",
        f"reweight_{run_name}.sh [MG_process_directory] [log_directory]",
        [("mgprocdir", mg_process_directory), ("logdir", log_directory)],
        initial_command,
        None,
        None,
    )
    lines += [
        heredoc(reweight_card, '"$mgprocdir/Cards/reweight_card.dat"'),
        f'cd "$logdir" && "$mgprocdir/bin/madevent" reweight {shlex.quote(run_name)} -f '
        f'> "$logdir/{log_name}" 2>&1',
    ]
    return "\n".join(lines) + "\n"


def write_script(path: str | os.PathLike, text: str) -> Path:
    """Write an executable script (mode 755), creating parent folders.

    Example:
        >>> import os, tempfile
        >>> path = write_script(os.path.join(tempfile.mkdtemp(), "scripts", "hello.sh"), "#!/bin/bash\\necho hi\\n")
        >>> oct(path.stat().st_mode & 0o777), path.read_text().splitlines()[1]
        ('0o755', 'echo hi')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    logger.debug("wrote %s", path)
    return path
