"""The per-chunk kernels of ``analyse_samples`` and the processors: one chunk of events -> event model ->
analysis -> per-benchmark weights (pb) of the events that pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np

from .analysis import Analysis
from .events import event_model_from_lhe

if TYPE_CHECKING:
    from .samples import Sample

__all__ = ["ChunkTask", "analyse_delphes_chunk", "analyse_lhe_chunk"]


@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs to analyse any chunk of one sample: the sample, its weight factor (normalisation x
    k-factor x process fraction), the benchmark index it was generated at (-1: background), the store's
    benchmark columns and how each nuisance column is filled.

    Example:
        >>> from columnminer.samples import Sample
        >>> task = ChunkTask(Sample("signal.lhe.gz", "sm"), 0.5, 0, ("sm", "bsm"))
        >>> task.sample.sampled_from_benchmark, task.factor, task.nuisance
        ('sm', 0.5, ())
    """

    sample: Sample
    factor: float
    sampled_from: int
    benchmarks: tuple[str, ...]
    #: per nuisance column: (column, kind, what): ("nominal", None), ("norm", norm factor), ("weight", LHE
    #: weight id) or ("pdf", (member weight id, its error set's central member's weight id))
    nuisance: tuple[tuple[str, str, Any], ...] = ()


def _variation_columns(
    task: ChunkTask, weight_events: ak.Array, central: np.ndarray, nominal: np.ndarray, path: str
) -> tuple[list[int], np.ndarray]:
    r"""The positions and unnormalised weights [n, k] of the nuisance columns read from LHE weights.

    A ``"weight"`` column is its LHE weight :math:`w_k`; a ``"pdf"`` column (member id, central id) is the
    member measured against its error set's central member :math:`w_c`, stored as :math:`w_k w_0 / w_c`
    (:func:`columnminer.systematics.relative_to_reference`), so that its log variation is
    :math:`\log(w_k / w_c)`. Each weight id is read once.
    """
    from .io.lhe import benchmark_weights
    from .systematics import relative_to_reference

    read = [  # (position, column, member weight id, reference weight id or None)
        (k, column, *((ids, None) if kind == "weight" else ids))
        for k, (column, kind, ids) in enumerate(task.nuisance)
        if kind in ("weight", "pdf")
    ]
    names: dict[str, str] = {}  # weight id -> the column (or reference) that names it in messages
    for _, column, member, reference in read:
        names.setdefault(member, column)
        if reference is not None:
            names.setdefault(reference, f"reference of {column}")
    table = benchmark_weights(
        weight_events, list(names.values()), {v: k for k, v in names.items()}, path=path, nominal=nominal
    )
    by_id = dict(zip(names, table.T, strict=True))
    varied = np.stack([by_id[member] for _, _, member, _ in read], axis=1)
    missing = np.full(len(central), np.nan)  # no reference: relative_to_reference keeps the column
    reference = np.stack([missing if ref is None else by_id[ref] for *_, ref in read], axis=1)
    return [k for k, *_ in read], relative_to_reference(varied, reference, central)


def _nuisance_weights(
    task: ChunkTask, weight_events: ak.Array, central: np.ndarray, nominal: np.ndarray, path: str
) -> np.ndarray:
    """Unnormalised nuisance columns [n, K] of one chunk: nominal copies, norm factors and LHE weights
    (PDF members against their set's central member)."""
    out = np.repeat(central[:, None], len(task.nuisance), axis=1)
    norm = [(k, factor) for k, (_, kind, factor) in enumerate(task.nuisance) if kind == "norm"]
    if norm:
        out[:, [k for k, _ in norm]] *= np.array([factor for _, factor in norm])
    if any(kind in ("weight", "pdf") for _, kind, _ in task.nuisance):
        positions, values = _variation_columns(task, weight_events, central, nominal, path)
        out[:, positions] = values
    return out


def _finish(
    model: ak.Array,
    weight_events: ak.Array,
    nominal: np.ndarray,
    task: ChunkTask,
    analysis: Analysis,
    path: str,
) -> dict[str, Any]:
    """Transform, analysis and weights of one chunk in the event model -> numpy arrays of the survivors."""
    from .io.lhe import benchmark_weights

    if task.sample.transform is not None:
        model = task.sample.transform(model)
    result = analysis.evaluate(model)
    if task.sample.is_background:
        central = np.asarray(nominal, dtype=np.float64)
        weights = np.repeat(central[:, None], len(task.benchmarks), axis=1)
    else:
        weights = benchmark_weights(
            weight_events, list(task.benchmarks), task.sample.weight_mapping, path=path, nominal=nominal
        )
        central = weights[:, task.sampled_from]
    scale = (task.factor * result.efficiencies)[:, None]
    nuisance = None
    if task.nuisance:
        nuisance = _nuisance_weights(task, weight_events, central, nominal, path)[result.keep] * scale
    weights = weights[result.keep] * scale
    return {
        "observables": result.observables,
        "weights": weights,
        "nuisance_weights": nuisance,
        "sampled_from": np.full(len(weights), task.sampled_from, dtype=np.int16),
        "counts": result.counts,
        "n_read": len(model),
        "n_dropped": len((weight_events.attrs or {}).get("lhe_dropped_events", [])),
    }


def analyse_lhe_chunk(events: ak.Array, task: ChunkTask, analysis: Analysis) -> dict[str, Any]:
    """Runs where the chunk is: LHE events (as :func:`columnminer.io.lhe.read_lhe` gives them) -> event
    model -> analysis -> weights of the survivors in pb (``observables``, ``weights``, ``nuisance_weights``,
    ``sampled_from``, pass ``counts``, ``n_read``, ``n_dropped``).

    Example:
        >>> from columnminer.analysis import Analysis
        >>> from columnminer.io.lhe import example_lhe_file, read_lhe
        >>> from columnminer.samples import Sample
        >>> analysis = Analysis()
        >>> analysis.add_observable("n", lambda ev: ak.num(ev.particles))
        >>> task = ChunkTask(Sample(example_lhe_file(), "sm"), 0.5, 0, ("sm",))
        >>> analyse_lhe_chunk(read_lhe(example_lhe_file()), task, analysis)["weights"].tolist()
        [[0.5], [1.0]]
    """
    model = event_model_from_lhe(events, sampled_from=task.sampled_from)
    return _finish(model, events, ak.to_numpy(events.weight), task, analysis, task.sample.path)


def analyse_delphes_chunk(
    start: int,
    stop: int,
    lhe: ak.Array | None,
    task: ChunkTask,
    analysis: Analysis,
    delivered: Any = None,
) -> dict[str, Any]:
    """Runs where the chunk is: Delphes entries start:stop (+ the matching LHE events, whose weights give the
    benchmark weights) -> analysis -> weights of the survivors, as :func:`analyse_lhe_chunk`.

    ``delivered``: the chunk's NanoEvents when coffea's Runner already read them (the event model is then a
    view over them, :func:`columnminer.io.delphes.events_from_nanoevents`); without them the entries are
    read with uproot (:func:`columnminer.io.delphes.read_delphes`). Both give the same numbers.

    Example:
        >>> from columnminer.analysis import Analysis
        >>> from columnminer.samples import Sample
        >>> none = ak.unflatten(np.zeros(0), [0, 0])  # two events without electrons, muons, photons, jets
        >>> raw = {f"{b}/{b}.{leaf}": none for b in ("Electron", "Muon", "Photon", "Jet")
        ...        for leaf in ("PT", "Eta", "Phi", "Charge")}
        >>> raw |= {"MissingET/MissingET.MET": ak.Array([[3.0], [40.0]]),
        ...         "MissingET/MissingET.Phi": ak.Array([[0.0], [0.5]]), "Event/Event.Weight": ak.Array([[2.0], [2.0]])}
        >>> analysis = Analysis()
        >>> analysis.add_observable("met", lambda ev: ev.met.pt)
        >>> analysis.add_cut(lambda ev: ev.met.pt > 10.0, name="met > 10 GeV")
        >>> task = ChunkTask(Sample("d.root", is_background=True), 0.5, -1, ("sm",))
        >>> result = analyse_delphes_chunk(0, 2, None, task, analysis, delivered=ak.zip(raw, depth_limit=1))
        >>> result["observables"].tolist(), result["weights"].tolist()
        ([[40.0]], [[1.0]])
    """
    from .io.delphes import attach_lhe_weights, events_from_nanoevents, read_delphes

    sample = task.sample
    if delivered is not None:
        events = events_from_nanoevents(delivered)
    else:
        events = read_delphes(sample.path, entry_start=start, entry_stop=stop)
    if lhe is not None:
        events = attach_lhe_weights(events, lhe.weights, lhe_path=sample.lhe_path, delphes_path=sample.path)
        nominal = ak.to_numpy(lhe.weight)
    else:
        nominal = ak.to_numpy(events.weights["delphes"])
    return _finish(events, events, nominal, task, analysis, sample.lhe_path or sample.path)
