"""Reweight cards: one ``launch --rwgt_name=<benchmark>`` block per benchmark for MadGraph's reweighting."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import MadGraphCardError
from .param_card import card_number, parameter_space_of

__all__ = ["check_weight_name", "example_setup", "reweight_card", "write_reweight_card"]

logger = logging.getLogger(__name__)

_WEIGHT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+\-]*")


def check_weight_name(name: str) -> str:
    """Return ``name`` if MadGraph can use it as a reweighting name (and as an LHE weight id), else raise.

    Letters, digits and ``_ . + -`` are allowed (not as the first character, except ``_``): MadGraph's
    reweight-card parser splits on spaces, and quotes or ``<>&`` would break the LHE file.

    Example:
        >>> check_weight_name("morphing_basis_vector_1")
        'morphing_basis_vector_1'
    """
    if not isinstance(name, str) or not _WEIGHT_NAME.fullmatch(name):
        raise MadGraphCardError(
            f"benchmark name {name!r} cannot be a MadGraph reweighting name: use letters, digits and _ . + - "
            "(starting with a letter, digit or _)"
        )
    return name


def example_setup() -> Any:
    """A one-parameter setup for the examples: ``CWL2`` at ``dim6 2``, benchmarks ``sm`` (0) and ``w`` (2).

    Example:
        >>> example_setup().benchmark_names
        ['sm', 'w']
    """
    from ..setup import AnalysisSetup

    setup = AnalysisSetup()
    setup.add_parameter("dim6", 2, name="CWL2")
    setup.add_benchmark([0.0], name="sm")
    setup.add_benchmark([2.0], name="w")
    return setup


def reweight_card(setup: Any, benchmarks: Sequence[str] | None = None) -> str:
    """Reweight-card text that adds one weight per benchmark, named after the benchmark.

    Each benchmark gets a block ``launch --rwgt_name=<name>`` followed by ``set <block> <id> <value>`` for
    every parameter, with the parameters' param-card transforms applied. The global lines ``change output
    default`` (weights are added to the event file itself) and ``change helicity False`` (sum over
    helicities, as MadMiner does) come first. ``benchmarks`` defaults to all benchmarks of the setup, in
    order; unlike MadMiner, the benchmark the sample is generated at is included too, so that every
    benchmark column of the event store has a weight with its name in the file.

    Example:
        >>> setup = example_setup()
        >>> print("\\n".join(reweight_card(setup).splitlines()[-8:]))
        # benchmark sm: CWL2 = 0.0
        launch --rwgt_name=sm
          set dim6 2 0.0e+00
        <BLANKLINE>
        # benchmark w: CWL2 = 2.0
        launch --rwgt_name=w
          set dim6 2 2.0e+00
        <BLANKLINE>
    """
    space = parameter_space_of(setup)
    names = space.benchmark_names if benchmarks is None else [str(b) for b in benchmarks]
    if not names:
        raise MadGraphCardError("a reweight card needs at least one benchmark")
    if len(set(names)) != len(names):
        raise MadGraphCardError(f"duplicate benchmarks in the reweight card: {names}")
    lines = [
        f"# MadGraph reweight card written by columnminer {__version__}",
        f"# {len(names)} benchmark(s); each weight is named after its benchmark",
        "",
        "change output default",
        "change helicity False",
        "",
    ]
    parameters = list(space.parameters.values())
    for name in names:
        check_weight_name(name)
        space.benchmark_index(name)  # raises naming unknown benchmarks
        values = space.benchmarks[name].values
        card_values = space.card_values(name)
        lines.append(
            f"# benchmark {name}: " + ", ".join(f"{p.name} = {values[p.name]!r}" for p in parameters)
        )
        lines.append(f"launch --rwgt_name={name}")
        for p in parameters:
            lines.append(
                f"  set {p.lha_block} {p.lha_id} {card_number(card_values[(p.lha_block, p.lha_id)])}"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def write_reweight_card(
    setup: Any, output_file: str | os.PathLike, benchmarks: Sequence[str] | None = None
) -> Path:
    """Write :func:`reweight_card` to ``output_file`` (parent folders are created).

    Example:
        >>> import tempfile
        >>> path = write_reweight_card(example_setup(), tempfile.mkdtemp() + "/cards/reweight_card.dat", ["w"])
        >>> [line for line in path.read_text().splitlines() if line.startswith("launch")]
        ['launch --rwgt_name=w']
    """
    output = Path(output_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(reweight_card(setup, benchmarks))
    logger.debug("reweight card written to %s", output)
    return output
