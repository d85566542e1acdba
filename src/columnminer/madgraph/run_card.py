"""Run-card and shower-card edits: event numbers, seeds, MadGraph's systematics module, reweighting switches."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import MadGraphCardError
from ..systematics import Systematic
from .param_card import read_card
from .process import check_order

__all__ = [
    "edit_run_card",
    "format_card_value",
    "run_card_settings",
    "set_run_card_entries",
    "set_shower_card_entries",
    "systematics_arguments",
]

logger = logging.getLogger(__name__)

_BANNER = "#" + "*" * 69


def format_card_value(value: Any) -> str:
    """A Python value in MadGraph run-card notation (``True``, ``10000``, ``['--pdf=CT10', ...]``).

    Example:
        >>> format_card_value(True), format_card_value(2.5), format_card_value(["--mur=0.5,1,2", "--dyn=-1"])
        ('True', '2.5', "['--mur=0.5,1,2', '--dyn=-1']")
    """
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return np.format_float_positional(float(value), trim="-")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(repr(v) if isinstance(v, str) else format_card_value(v) for v in value) + "]"
    text = str(value)
    if not text or "\n" in text or "!" in text:
        raise MadGraphCardError(f"cannot write {value!r} as a run-card value")
    return text


def set_run_card_entries(text: str, settings: Mapping[str, Any], source: str = "<run card>") -> str:
    """Set entries of a MadGraph run card (lines ``  value = name ! comment``); all other lines are kept.

    Names match case-insensitively (MadGraph lower-cases them); a changed line keeps its indentation,
    name and comment. Names the card does not have are appended in a block marked "set by columnminer".

    Example:
        >>> card = "  10000   = nevents ! Number of unweighted events requested\\n      0   = iseed ! seed\\n"
        >>> print(set_run_card_entries(card, {"nevents": 500, "use_syst": False}), end="")
          500     = nevents ! Number of unweighted events requested
              0   = iseed ! seed
        <BLANKLINE>
        #*********************************************************************
        # set by columnminer
        #*********************************************************************
          False = use_syst
    """
    wanted = {str(name).lower(): format_card_value(value) for name, value in settings.items()}
    done: set[str] = set()
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if body.lstrip().startswith("#"):
            continue
        content = body.split("!", 1)[0]
        if "=" not in content:
            continue
        cut = content.rindex("=")
        name = content[cut + 1 :].strip().lower()
        if name not in wanted:
            continue
        if name in done:
            logger.warning("%s: entry %r appears more than once; only the first is set", source, name)
            continue
        done.add(name)
        indent = body[: len(body) - len(body.lstrip())]
        field = body[len(indent) : cut]  # the old value and the spaces that align the names
        value = wanted[name].ljust(len(field) - 1)
        lines[i] = f"{indent}{value} ={body[cut + 1 :]}" + line[len(body) :]
    missing = [name for name in wanted if name not in done]
    if missing:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += ["\n", _BANNER + "\n", "# set by columnminer\n", _BANNER + "\n"]
        lines += [f"  {wanted[name]} = {name}\n" for name in missing]
    return "".join(lines)


def systematics_arguments(systematics: Sequence[Systematic]) -> list[str]:
    """The options of MadGraph's ``systematics`` module for the scale and PDF systematics (MadMiner's choice).

    A scale systematic varies mu_R and mu_F together (``scale="mu"``) or one of them by its
    ``scale_variations`` factors, at the central dynamical scale only (``--dyn=-1``); a PDF systematic
    asks for the error set of ``pdf_variation`` (MadGraph's ``errorset``, the central PDF's error set,
    when none is named). Norm systematics need no weights. Two systematics varying the same scale are an
    error.

    Example:
        >>> systematics_arguments([Systematic("mu", "scale"), Systematic("pdf", "pdf", pdf_variation="CT10",
        ...                                                               pdf_members=52)])
        ['--mur=0.5,1,2', '--muf=0.5,1,2', '--together=mur,muf', '--dyn=-1', '--pdf=CT10']
    """
    arguments: list[str] = []
    varied: dict[str, str] = {}
    for systematic in systematics:
        if systematic.effect == "scale":
            factors = ",".join(
                np.format_float_positional(float(f), trim="-") for f in systematic.scale_variations
            )
            scales = ("mur", "muf") if systematic.scale == "mu" else (systematic.scale,)
            for scale in scales:
                if scale in varied:
                    raise MadGraphCardError(
                        f"systematics {varied[scale]!r} and {systematic.name!r} both vary {scale}; MadGraph's "
                        "systematics module can vary each scale only once"
                    )
                varied[scale] = systematic.name
                arguments.append(f"--{scale}={factors}")
            if len(scales) == 2:
                arguments.append("--together=mur,muf")
            if "--dyn=-1" not in arguments:
                arguments.append("--dyn=-1")
        elif systematic.effect == "pdf":
            if "pdf" in varied:
                raise MadGraphCardError(
                    f"systematics {varied['pdf']!r} and {systematic.name!r} are both PDF variations; MadGraph's "
                    "systematics module takes one PDF set here"
                )
            varied["pdf"] = systematic.name
            arguments.append(f"--pdf={systematic.pdf_variation or 'errorset'}")
    return arguments


def run_card_settings(
    systematics: Sequence[Systematic] = (),
    order: str = "LO",
    is_background: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run-card entries columnminer sets, then the user's ``settings`` (which win).

    At LO: MadGraph's systematics module is switched on (``use_syst``, ``systematics_program``,
    ``systematics_arguments``) when scale or PDF systematics need variation weights, and off otherwise, as
    MadMiner does. At NLO the systematics entries of the run card are left alone (aMC@NLO computes scale and
    PDF weights from ``reweight_scale`` / ``reweight_PDF``; set them yourself), and ``store_rwgt_info`` is
    switched on for signal runs, which MadGraph's NLO reweighting needs.

    Example:
        >>> run_card_settings([Systematic("mu", "scale", scale="mur")], settings={"nevents": 100})
        {'use_syst': True, 'systematics_program': 'systematics', 'systematics_arguments': ['--mur=0.5,1,2', \
'--dyn=-1'], 'nevents': 100}
        >>> run_card_settings(order="NLO")
        {'store_rwgt_info': True}
    """
    order = check_order(order)
    out: dict[str, Any] = {}
    if order == "LO":
        arguments = systematics_arguments(systematics)
        out["use_syst"] = bool(arguments)
        if arguments:
            out["systematics_program"] = "systematics"
            out["systematics_arguments"] = arguments
    else:
        if not is_background:
            out["store_rwgt_info"] = True
        if any(s.effect in ("scale", "pdf") for s in systematics):
            logger.warning(
                "NLO run: the scale / PDF variations of %s are not set automatically; switch on reweight_scale "
                "and reweight_PDF in the NLO run card",
                [s.name for s in systematics if s.effect in ("scale", "pdf")],
            )
    out.update({str(k): v for k, v in (settings or {}).items()})
    return out


def edit_run_card(
    template_file: str | os.PathLike,
    systematics: Sequence[Systematic] = (),
    order: str = "LO",
    is_background: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """The run card ``template_file`` with :func:`run_card_settings` applied (see there).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> card = Path(tempfile.mkdtemp()) / "run_card.dat"
        >>> _ = card.write_text("  10000 = nevents ! Number of unweighted events requested\\n")
        >>> edit_run_card(card, settings={"nevents": 50}).splitlines()[0]
        '  50 = nevents ! Number of unweighted events requested'
    """
    text = read_card(template_file, "run card")
    return set_run_card_entries(
        text, run_card_settings(systematics, order, is_background, settings), str(template_file)
    )


def set_shower_card_entries(text: str, settings: Mapping[str, Any]) -> str:
    """Set ``Key = value`` entries of a Pythia8 card (``!`` comments) or an NLO shower card (``#`` comments).

    Keys match case-insensitively, as Pythia reads them; missing keys are appended at the end.

    Example:
        >>> print(set_shower_card_entries("Main:numberOfEvents      = -1\\n", {"main:numberofevents": 100,
        ...                                                                  "HEPMCoutput:file": "auto"}), end="")
        Main:numberOfEvents      = 100
        ! set by columnminer
        HEPMCoutput:file = auto
    """
    wanted = {str(k).lower(): (str(k), format_card_value(v)) for k, v in settings.items()}
    done: set[str] = set()
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        stripped = body.lstrip()
        if not stripped or stripped[0] in "!#":
            continue
        cut = min((body.index(c) for c in "!#" if c in body), default=len(body))
        content = body[:cut]
        if "=" not in content:
            continue
        key = content.split("=", 1)[0].strip().lower()
        if key not in wanted or key in done:
            continue
        done.add(key)
        equals = content.index("=")
        comment = body[cut:]
        lines[i] = (
            f"{content[: equals + 1]} {wanted[key][1]}"
            + (f" {comment}" if comment else "")
            + line[len(body) :]
        )
    missing = [key for key in wanted if key not in done]
    if missing:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(("# " if _hash_comments(text) else "! ") + "set by columnminer\n")
        lines += [f"{wanted[key][0]} = {wanted[key][1]}\n" for key in missing]
    return "".join(lines)


def _hash_comments(text: str) -> bool:
    """Whether a shower card comments with ``#`` (aMC@NLO shower_card) rather than ``!`` (Pythia8 card)."""
    starts = [line.lstrip()[0] for line in text.splitlines() if line.strip()]
    return starts.count("#") > starts.count("!")
