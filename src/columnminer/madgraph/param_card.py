"""Param cards per benchmark: the LHA entries of the parameters set in a template (SLHA) param card."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MadGraphCardError, MadGraphNotFoundError
from ..parameters import ParameterSpace

__all__ = [
    "card_number",
    "param_card",
    "parameter_space_of",
    "read_card",
    "set_param_card_entries",
    "write_param_card",
]

logger = logging.getLogger(__name__)


def card_number(value: float) -> str:
    """A float in the exponent notation of MadGraph cards, with the fewest digits that give it back exactly.

    Example:
        >>> card_number(16.52), card_number(0.0), card_number(-1e-7)
        ('1.652e+01', '0.0e+00', '-1.0e-07')
    """
    value = float(value)
    if not math.isfinite(value):
        raise MadGraphCardError(f"cannot write the non-finite value {value} to a MadGraph card")
    return np.format_float_scientific(value + 0.0, unique=True, trim="0", exp_digits=2)  # -0.0 -> 0.0


def _token_span(content: str, k: int) -> tuple[int, int]:
    """Start and end of the k-th whitespace-separated token of ``content``."""
    position = 0
    for index, token in enumerate(content.split()):
        position = content.index(token, position)
        if index == k:
            return position, position + len(token)
        position += len(token)
    raise IndexError(k)


def read_card(path: str | os.PathLike, what: str = "card") -> str:
    """The text of a card file; a missing file raises :class:`~columnminer.errors.MadGraphNotFoundError`.

    Example:
        >>> import tempfile
        >>> card = Path(tempfile.mkdtemp()) / "run_card.dat"
        >>> _ = card.write_text("  10 = nevents\\n")
        >>> read_card(card, "run card")
        '  10 = nevents\\n'
        >>> read_card(card.with_name("nothing.dat"), "run card")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        columnminer.errors.MadGraphNotFoundError: run card .../nothing.dat does not exist
    """
    path = Path(path)
    if not path.is_file():
        raise MadGraphNotFoundError(f"{what} {path} does not exist", path=str(path))
    return path.read_text()


def parameter_space_of(setup: Any) -> ParameterSpace:
    """The parameter space of an AnalysisSetup (or the space itself).

    Example:
        >>> from columnminer.madgraph.reweight_card import example_setup
        >>> space = parameter_space_of(example_setup())
        >>> parameter_space_of(space) is space, space.benchmark_names
        (True, ['sm', 'w'])
    """
    space = getattr(setup, "parameter_space", setup)
    if not isinstance(space, ParameterSpace):
        raise TypeError(f"expected an AnalysisSetup or ParameterSpace, got {type(setup).__name__}")
    return space


def _entry_key(tokens: list[str], block: str | None) -> tuple[str, int] | None:
    """The (block, id) that a data line of a param card sets, or None for other lines."""
    if block is None or len(tokens) != 2:
        return None
    try:
        lha_id = int(tokens[0])
        float(tokens[1])
    except ValueError:
        return None
    return block, lha_id


def set_param_card_entries(
    text: str,
    entries: Mapping[tuple[str, int], float],
    source: str = "<param card>",
    notes: Mapping[tuple[str, int], str] | None = None,
) -> str:
    """Set single-index LHA entries ``{(block, id): value}`` in param-card text; every other line is kept.

    Block names match case-insensitively, as MadGraph reads them. A ``DECAY`` block name sets the width on
    the ``DECAY <pdg> <width>`` line. A changed line keeps its indentation and comment, and the comment gains
    ``notes[(block, id)]`` in brackets. An entry missing from the card raises
    :class:`~columnminer.errors.MadGraphCardError` naming ``source``.

    Example:
        >>> card = "Block dim6\\n    2 0.000000e+00 # CWL2\\nDECAY  25 4.07e-03 # WH\\n"
        >>> print(set_param_card_entries(card, {("DIM6", 2): 16.52, ("decay", 25): 0.005}), end="")
        Block dim6
            2 1.652e+01 # CWL2
        DECAY  25 5.0e-03 # WH
    """
    wanted = {(str(block).lower(), int(lha_id)): value for (block, lha_id), value in entries.items()}
    labels = {(str(b).lower(), int(i)): note for (b, i), note in (notes or {}).items()}
    found: set[tuple[str, int]] = set()
    lines = text.splitlines(keepends=True)
    block: str | None = None
    for i, line in enumerate(lines):
        content, hash_, comment = line.rstrip("\r\n").partition("#")
        tokens = content.split()
        if not tokens:
            continue
        head = tokens[0].lower()
        key: tuple[str, int] | None = None
        if head == "block":
            block = tokens[1].lower() if len(tokens) > 1 else None
            continue
        if head == "decay":
            block = None  # branching ratios follow: not parameter entries
            if len(tokens) >= 3:
                try:
                    key = ("decay", int(tokens[1]))
                except ValueError:
                    key = None
            value_token = 2
        else:
            key = _entry_key(tokens, block)
            value_token = 1
        if key is None or key not in wanted or key in found:
            continue
        found.add(key)
        start, end = _token_span(content, value_token)
        note = f" [{labels[key]}]" if key in labels else ""
        new = content[:start] + card_number(wanted[key]) + content[end:]
        tail = f"{hash_}{comment.rstrip()}{note}" if hash_ else (f"# {note.strip()}" if note else "")
        newline = line[len(line.rstrip("\r\n")) :]
        lines[i] = (new.rstrip() + " " + tail if tail else new.rstrip()) + newline
    missing = [key for key in wanted if key not in found]
    if missing:
        raise MadGraphCardError(
            f"{source}: no entry for LHA "
            + ", ".join(f"block {b!r} id {i}" for b, i in missing)
            + " (param card template of the parameters' lha_block / lha_id)"
        )
    return "".join(lines)


def param_card(setup: Any, benchmark: str, template_file: str | os.PathLike) -> str:
    """The param card of one benchmark: the template with every parameter's entry set to its card value.

    ``setup`` is an :class:`~columnminer.setup.AnalysisSetup` (or a ParameterSpace); each parameter's
    ``param_card_transform`` maps the benchmark value theta to the card value. The comment of each changed
    line records the parameter and its theta.

    Example:
        >>> import tempfile
        >>> from columnminer import AnalysisSetup, LinearTransform
        >>> setup = AnalysisSetup()
        >>> _ = setup.add_parameter("dim6", 2, name="CWL2", param_card_transform=LinearTransform(16.52))
        >>> _ = setup.add_benchmark({"CWL2": 1.0}, name="w")
        >>> template = Path(tempfile.mkdtemp()) / "param_card.dat"
        >>> _ = template.write_text("Block dim6\\n    2 0.000000e+00 # CWL2\\n")
        >>> param_card(setup, "w", template).splitlines()[1]
        '    2 1.652e+01 # CWL2 [columnminer: CWL2 = 1.0]'
    """
    space = parameter_space_of(setup)
    values = space.benchmarks[space.benchmark_names[space.benchmark_index(benchmark)]].values
    entries = space.card_values(benchmark)
    notes = {
        (p.lha_block, p.lha_id): f"columnminer: {p.name} = {values[p.name]!r}"
        for p in space.parameters.values()
    }
    text = read_card(template_file, "param card template")
    return set_param_card_entries(text, entries, str(template_file), notes)


def write_param_card(
    setup: Any, benchmark: str, template_file: str | os.PathLike, output_file: str | os.PathLike
) -> Path:
    """Write :func:`param_card` of ``benchmark`` to ``output_file`` (parent folders are created).

    Example:
        >>> import tempfile
        >>> from columnminer.madgraph.reweight_card import example_setup
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "template.dat").write_text("Block dim6\\n    2 0.000000e+00 # CWL2\\n")
        >>> out = write_param_card(example_setup(), "w", d / "template.dat", d / "cards" / "param_card_w.dat")
        >>> out.read_text().splitlines()[1]
        '    2 2.0e+00 # CWL2 [columnminer: CWL2 = 2.0]'
    """
    text = param_card(setup, benchmark, template_file)
    output = Path(output_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    logger.debug("param card of benchmark %s written to %s", benchmark, output)
    return output
