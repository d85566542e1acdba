"""Shared machinery of the built-in generators: exact unweighting, LHE particle records and LHE output."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import SimulationError
from ..io.lhe_writer import LHEEvents, LHEInit, WeightGroup, madgraph_run_card, write_lhe
from ..setup import AnalysisSetup
from ._amplitudes import ElectroweakParameters
from ._scales import scale_weight_attributes, scale_weight_id

__all__ = [
    "BACKGROUND_LEPTONS",
    "BACKGROUND_RECORD",
    "SIGNAL_LEPTONS",
    "SIGNAL_RECORD",
    "param_card",
    "reweight_descriptions",
    "scale_weight_group",
    "unweight",
    "write_events",
]

logger = logging.getLogger(__name__)

#: Particle records written to LHE: signal g g -> H (-> Z Z -> e- e+ mu- mu+) g.
SIGNAL_PDGID = np.array([21, 21, 25, 23, 23, 11, -11, 13, -13, 21])
SIGNAL_STATUS = np.array([-1, -1, 2, 2, 2, 1, 1, 1, 1, 1])
SIGNAL_MOTHERS = np.array([[0, 0], [0, 0], [1, 2], [3, 3], [3, 3], [4, 4], [4, 4], [5, 5], [5, 5], [1, 2]])
SIGNAL_COLOURS = np.array(
    [[501, 502], [503, 501], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [503, 502]]
)
#: Background records: u u~ -> Z Z (-> e- e+ mu- mu+) g.
BACKGROUND_PDGID = np.array([2, -2, 23, 23, 11, -11, 13, -13, 21])
BACKGROUND_STATUS = np.array([-1, -1, 2, 2, 1, 1, 1, 1, 1])
BACKGROUND_MOTHERS = np.array([[0, 0], [0, 0], [1, 2], [1, 2], [3, 3], [3, 3], [4, 4], [4, 4], [1, 2]])
BACKGROUND_COLOURS = np.array(
    [[501, 0], [0, 502], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [501, 502]]
)
#: Positions of (e-, e+, mu-, mu+) in both records.
SIGNAL_LEPTONS = slice(5, 9)
BACKGROUND_LEPTONS = slice(4, 8)


#: (pdgid, status, mothers, colours) of the two records.
SIGNAL_RECORD = (SIGNAL_PDGID, SIGNAL_STATUS, SIGNAL_MOTHERS, SIGNAL_COLOURS)
BACKGROUND_RECORD = (BACKGROUND_PDGID, BACKGROUND_STATUS, BACKGROUND_MOTHERS, BACKGROUND_COLOURS)


def unweight(
    rng: np.random.Generator,
    trial: Callable[[int], tuple[tuple[np.ndarray, ...], np.ndarray]],
    n_events: int,
    chunk_size: int,
) -> tuple[tuple[np.ndarray, ...], int, int]:
    """Exact acceptance-rejection of ``trial(k) -> (arrays, weights)`` against the running maximum.

    When a chunk raises the maximum from W to W', every event accepted so far is kept with probability
    W / W', so all accepted events end up accepted with probability w / W' (exact rejection sampling).
    Returns the first ``n_events`` accepted rows of every array, the number of trials and the number of
    events accepted in all (their ratio is the unweighting efficiency).
    """
    kept: list[tuple[np.ndarray, ...]] = []
    w_max, n_kept, n_trials = 0.0, 0, 0
    while n_kept < n_events:
        arrays, w = trial(chunk_size)
        n_trials += chunk_size
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise SimulationError("the generator produced a negative or non-finite weight")
        if w.max() > w_max:
            if n_kept:
                ratio = w_max / float(w.max())
                logger.debug("unweighting maximum raised by %.4g: thinning %d events", 1 / ratio, n_kept)
                thinned = []
                for group in kept:
                    mask = rng.random(group[0].shape[0]) < ratio
                    thinned.append(tuple(x[mask] for x in group))
                kept = thinned
                n_kept = sum(group[0].shape[0] for group in kept)
            w_max = float(w.max())
        keep = rng.random(w.shape[0]) * w_max < w
        kept.append(tuple(x[keep] for x in arrays))
        n_kept += int(keep.sum())
    columns = tuple(np.concatenate(column)[:n_events] for column in zip(*kept, strict=True))
    return columns, n_trials, n_kept


def param_card(setup: AnalysisSetup, theta: np.ndarray, ew: ElectroweakParameters) -> str:
    """SLHA-style parameter card of the sampling point: masses (GeV), the setup's LHA entries, Z width."""
    names = setup.parameter_space.parameter_names
    lines = [
        "######################################################################",
        "## PARAM_CARD of the columnminer golden-channel generator            ##",
        "######################################################################",
        "BLOCK MASS #",
        f"     23 {ew.m_z:.6e} # mz",
        f"     25 {ew.m_h:.6e} # mh",
        "BLOCK ANOMALOUS_HVV #",
        "      1 1.000000e+00 # a1 (fixed)",
    ]
    # every parameter in its own LHA block, at its param-card value (the setup's transform applied), as the
    # reweighting texts write it
    blocks: dict[str, list[str]] = {"anomalous_hvv": []}
    for name, value in zip(names, theta, strict=True):
        parameter = setup.parameter_space.parameters[name]
        entry = f"      {parameter.lha_id} {parameter.card_value(value):.6e} # {name}"
        blocks.setdefault(str(parameter.lha_block).lower(), []).append(entry)
    lines += blocks.pop("anomalous_hvv")
    for block, entries in blocks.items():
        lines += [f"BLOCK {block.upper()} #", *entries]
    lines += [f"DECAY 23 {ew.gamma_z:.6e} # wz"]
    return "\n".join(lines)


def reweight_descriptions(setup: AnalysisSetup) -> dict[str, str]:
    """Per benchmark, the ``set param_card <block> <id> <value>`` lines of a MadGraph reweight card."""
    space = setup.parameter_space
    out = {}
    for bench in space.benchmarks.values():
        commands = [
            f"set param_card {p.lha_block} {p.lha_id} {p.card_value(bench.values[p.name]):.6e}"
            for p in space.parameters.values()
        ]
        out[bench.name] = "\n" + "\n".join(commands) + "\n"
    return out


def write_events(
    path: Path,
    momenta: np.ndarray,
    record: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    weights: dict[str, np.ndarray],
    sigma: float,
    sigma_error: float,
    scale: np.ndarray,
    seed: int | None,
    param_card: str,
    descriptions: dict[str, str],
    comment: str,
    process_id: int,
    weight_groups: list[WeightGroup] | None = None,
) -> Path:
    """Write one sample as LHE with ``event_norm = average``: every XWGTUP equals ``sigma`` (pb), the
    ``<rwgt>`` weights are ``weights`` (pb), the init block carries sigma and its Monte Carlo error.

    ``weight_groups`` (optional) declare some of the weights in their own ``<weightgroup>`` (e.g. the scale
    variations, :func:`scale_weight_group`); the others stay in the ``mg_reweighting`` group."""
    pdgid, status, mothers, colours = record
    n = momenta.shape[0]
    events = LHEEvents(
        momenta=momenta,
        pdgid=pdgid,
        status=status,
        mothers=mothers,
        colours=colours,
        weight=np.full(n, sigma),
        weights=weights,
        scale=scale,
        process_id=process_id,
    )
    init = LHEInit(processes=[(sigma, sigma_error, sigma, process_id)])
    return write_lhe(
        path,
        events,
        init=init,
        weight_names=list(weights),
        weight_descriptions=descriptions,
        run_card=madgraph_run_card(n, "average", seed=seed or 0),
        param_card=param_card,
        comment=comment,
        weight_groups=weight_groups,
    )


def scale_weight_group(points: list[tuple[float, float]]) -> WeightGroup:
    """The MadGraph-systematics group "Central scale variation" (``combine="envelope"``) of the scale points
    (k_R, k_F), with ``MUR`` / ``MUF`` attributes and ids from :func:`~._scales.scale_weight_id`.

    Example:
        >>> g = scale_weight_group([(1.0, 1.0), (2.0, 0.5)])
        >>> g.weight_ids, g.attributes["mur2_muf0p5"]
        (['mur1_muf1', 'mur2_muf0p5'], {'MUR': '2.0', 'MUF': '0.5'})
    """
    ids = [scale_weight_id(k_r, k_f) for k_r, k_f in points]
    attributes, texts = zip(*(scale_weight_attributes(k_r, k_f) for k_r, k_f in points), strict=True)
    return WeightGroup(
        "Central scale variation",
        ids,
        "envelope",
        dict(zip(ids, attributes, strict=True)),
        dict(zip(ids, texts, strict=True)),
    )
