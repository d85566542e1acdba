"""Running Delphes on generator output (HepMC, STDHEP or LHE) by subprocess, as MadMiner does."""

from __future__ import annotations

import gzip
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import DelphesRunError

__all__ = ["DelphesRunError", "run_delphes"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _strip_gz(path: Path) -> tuple[str, bool]:
    """The file name without a trailing ``.gz`` and whether it had one."""
    name = path.name
    return (name[:-3], True) if name.lower().endswith(".gz") else (name, False)


def _hepmc_version(path: Path, gzipped: bool) -> int:
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rt", errors="replace") as handle:
            for _ in range(20):
                line = handle.readline()
                if not line:
                    break
                if "Asciiv3" in line or line.startswith("HepMC::Version 3"):
                    return 3
                if "IO_GenEvent" in line or line.startswith("HepMC::Version 2"):
                    return 2
    except (OSError, EOFError):
        pass
    return 2


def _executable_name(input_file: Path, directory: Path) -> str:
    name, gzipped = _strip_gz(input_file)
    suffix = Path(name).suffix.lower()
    if suffix in (".hep", ".stdhep"):
        return "DelphesSTDHEP"
    if suffix in (".lhe", ".lhef"):
        return "DelphesLHEF"
    if suffix == ".hepmc3":
        return "DelphesHepMC3"
    if suffix in (".hepmc", ".hepmc2"):
        version = 2 if suffix == ".hepmc2" else _hepmc_version(input_file, gzipped)
        if version == 3:
            return "DelphesHepMC3"
        # Delphes before 3.5 calls its HepMC 2 reader DelphesHepMC.
        if not (directory / "DelphesHepMC2").exists() and (directory / "DelphesHepMC").exists():
            return "DelphesHepMC"
        return "DelphesHepMC2"
    raise ValueError(
        f"run_delphes: cannot tell the format of {input_file} from its extension "
        "(.hepmc, .hepmc2, .hepmc3, .hep, .stdhep or .lhe, optionally .gz)"
    )


def _tail(text: str, n: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])


def run_delphes(
    delphes_directory: PathLike,
    delphes_card: PathLike,
    input_file: PathLike,
    output_file: PathLike,
    initial_command: str | None = None,
    log_file: PathLike | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Run the Delphes fast detector simulation on one HepMC / STDHEP / LHE sample.

    The executable in ``delphes_directory`` is chosen by the input type: ``DelphesHepMC2`` for HepMC 2
    (``.hepmc``/``.hepmc2``; ``DelphesHepMC`` in Delphes before 3.5), ``DelphesHepMC3`` for ``.hepmc3``
    or a ``.hepmc`` file whose header says HepMC 3, ``DelphesSTDHEP`` for ``.hep``/``.stdhep`` and
    ``DelphesLHEF`` for ``.lhe``. The command is ``<directory>/<executable> <card> <output> <input>``;
    a gzipped input is first unzipped into a temporary directory beside the output (removed afterwards).
    With ``initial_command`` (e.g. ``"source /opt/root/bin/thisroot.sh"``) the command runs as
    ``bash -c "<initial_command> && <command>"``, so a failing set-up stops the run.

    Delphes refuses to overwrite its output: an existing ``output_file`` raises ``FileExistsError``
    unless ``overwrite=True`` (then it is removed first). Standard output and error go to ``log_file``
    when given (else they are kept in memory and their tail appears in errors). A non-zero exit code,
    a missing executable or a missing output raise :class:`DelphesRunError` naming the command, exit
    code and log file. Returns the output path.

    Example::

        >>> run_delphes("/opt/Delphes", "cards/delphes_card_CMS.tcl", "tag_1_pythia8_events.hepmc.gz",
        ...             "events_delphes.root", log_file="delphes.log")   # doctest: +SKIP
        PosixPath('events_delphes.root')
    """
    directory = Path(delphes_directory)
    card, source, output = Path(delphes_card), Path(input_file), Path(output_file)
    for what, p in (("Delphes card", card), ("input file", source)):
        if not p.is_file():
            raise FileNotFoundError(f"run_delphes: {what} {p} does not exist")
    executable_name = _executable_name(source, directory)
    executable = directory / executable_name
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        found = sorted(p.name for p in directory.glob("Delphes*")) if directory.is_dir() else []
        raise DelphesRunError(
            f"run_delphes: no executable {executable_name} in {directory} (found {found}); "
            "is delphes_directory a built Delphes?",
            command=[str(executable)],
        )
    if output.exists():
        if not overwrite:
            raise FileExistsError(f"run_delphes: {output} exists and Delphes will not overwrite it")
        output.unlink()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="delphes-input-", dir=output.parent) as scratch:
        name, gzipped = _strip_gz(source)
        if gzipped:
            unzipped = Path(scratch) / name
            logger.info("unzipping %s to %s for Delphes", source, unzipped)
            with gzip.open(source, "rb") as fin, open(unzipped, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            source = unzipped
        argv = [str(executable), str(card), str(output), str(source)]
        command = ["bash", "-c", f"{initial_command} && {shlex.join(argv)}"] if initial_command else argv
        logger.info("running Delphes: %s", shlex.join(command))
        log_path = str(log_file) if log_file is not None else None
        try:
            if log_path is not None:
                with open(log_path, "w") as log:
                    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
                with open(log_path, errors="replace") as log:
                    tail = _tail(log.read())
            else:
                result = subprocess.run(
                    command, capture_output=True, text=True, errors="replace", check=False
                )
                tail = _tail((result.stdout or "") + (result.stderr or ""))
        except OSError as err:
            raise DelphesRunError(
                f"run_delphes: cannot start {shlex.join(command)}: {err}", command=command, log_file=log_path
            ) from err
    where = f"log: {log_path}" if log_path else "no log file; output tail below"
    if result.returncode != 0:
        raise DelphesRunError(
            f"Delphes failed with exit code {result.returncode}: {shlex.join(command)} ({where})\n{tail}",
            command=command,
            returncode=result.returncode,
            log_file=log_path,
        )
    if not output.is_file():
        raise DelphesRunError(
            f"Delphes exited with 0 but wrote no {output}: {shlex.join(command)} ({where})\n{tail}",
            command=command,
            returncode=0,
            log_file=log_path,
        )
    logger.debug("Delphes output tail:\n%s", tail)
    return output
