"""AnalysisProcessor: LHE or Delphes chunks -> observables, weights per benchmark, sampled_from, counts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ProcessorError
from ..samples import AnalysisSummary
from .accumulators import ChunkKey
from .base import ChunkProcessor
from .fileset import AnalysedChunk, FilesetPlan

__all__ = ["AnalysisOutput", "AnalysisProcessor", "summary_of"]

logger = logging.getLogger(__name__)


@dataclass
class AnalysisOutput:
    """The events of a processor run in file-set order (``None`` arrays when they went to a store).

    ``observables`` [n, n_observables], ``weights`` [n, n_benchmarks] (pb), ``nuisance_weights``
    [n, n_nuisance] or None, ``sampled_from`` [n]; ``summary`` the events read and kept and the pass counts
    per sample file; ``chunks`` the chunk keys and ``sources`` their store provenance keys, in order.

    Example:
        >>> out = AnalysisOutput(np.zeros((2, 1)), np.ones((2, 3)), None, np.zeros(2, np.int16), AnalysisSummary())
        >>> out.weights.shape, out.chunks
        ((2, 3), [])
    """

    observables: np.ndarray | None
    weights: np.ndarray | None
    nuisance_weights: np.ndarray | None
    sampled_from: np.ndarray | None
    summary: AnalysisSummary
    chunks: list[ChunkKey] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


def summary_of(plan: FilesetPlan, receipts: list[tuple[ChunkKey, dict[str, Any]]]) -> AnalysisSummary:
    """An :class:`~columnminer.samples.AnalysisSummary` (per sample file) from per-chunk receipts
    ``{"n_read", "n_kept", "counts": {name: [n, passed]}}``.

    Example:
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(50, seed=6)
        >>> path = fileset["sm"]["files"][0]
        >>> receipts = [(ChunkKey(0, 0, s, s + 25, "sm", path), {"n_read": 25, "n_kept": 20,
        ...                                                        "counts": {"cut": [25, 20]}}) for s in (0, 25)]
        >>> summary = summary_of(plan, receipts)
        >>> summary.n_kept[path], summary.counts[path]
        (40, {'cut': (50, 40)})
    """
    summary = AnalysisSummary()
    for key, receipt in receipts:
        path = plan.file_plan(key.dataset, key.filename).task.sample.path
        summary.n_read[path] = summary.n_read.get(path, 0) + int(receipt["n_read"])
        summary.n_kept[path] = summary.n_kept.get(path, 0) + int(receipt["n_kept"])
        merged = summary.counts.setdefault(path, {})
        for name, (total, passed) in receipt["counts"].items():
            t0, p0 = merged.get(name, (0, 0))
            merged[name] = (t0 + int(total), p0 + int(passed))
    return summary


class AnalysisProcessor(ChunkProcessor):
    """Observables and weights of every chunk (the analysis stage of
    :func:`~columnminer.samples.analyse_samples`, as a coffea processor).

    Without a ``sink`` the survivors travel back to the client and :meth:`postprocess` concatenates them in
    file-set order into an :class:`AnalysisOutput`. With a :class:`~columnminer.processors.store.StoreSink`
    each worker writes its chunk to the sink's staging area and returns only a receipt;
    :func:`~columnminer.processors.store.analyse_fileset` then commits the chunks to the store.

    Example:
        >>> from columnminer.processors import run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(100, seed=7)
        >>> out = run_fileset(fileset, AnalysisProcessor(plan), chunksize=50)
        >>> out.weights.shape, len(out.chunks), out.observables.shape[1] == len(plan.observable_names)
        ((100, 6), 2, True)
    """

    def __init__(self, plan: FilesetPlan, sink: Any = None) -> None:
        super().__init__(plan, ordered=True)
        self.sink = sink

    def reduce(self, chunk: AnalysedChunk) -> dict[str, Any]:
        """The survivors' arrays (or, with a sink, the receipt of the staged chunk)."""
        counts = {name: [int(n), int(p)] for name, (n, p) in chunk.counts.items()}
        if self.sink is not None:
            part = self.sink.write(chunk, self.plan)
            return {"part": part, "n_read": chunk.n_read, "n_kept": chunk.n_events, "counts": counts}
        return {
            "observables": chunk.observables,
            "weights": chunk.weights,
            "nuisance_weights": chunk.nuisance_weights,
            "sampled_from": chunk.sampled_from,
            "source": chunk.source,
            "n_read": chunk.n_read,
            "n_kept": chunk.n_events,
            "counts": counts,
        }

    def finalize(self, total: dict[str, Any], chunks: list[ChunkKey] | None) -> Any:  # pragma: no cover
        raise ProcessorError("AnalysisProcessor results are concatenated, not summed")

    def postprocess(self, accumulator: Any) -> AnalysisOutput:
        """Concatenate the chunks in file-set order."""
        keys = accumulator.keys()
        if not keys:
            raise ProcessorError("no chunk was processed")
        payloads = list(accumulator.values())
        summary = summary_of(self.plan, list(zip(keys, payloads, strict=True)))
        if self.sink is not None:
            return AnalysisOutput(None, None, None, None, summary, keys, [])

        def stack(name: str) -> np.ndarray:
            return np.concatenate([p[name] for p in payloads])

        nuisance = stack("nuisance_weights") if payloads[0]["nuisance_weights"] is not None else None
        return AnalysisOutput(
            stack("observables"),
            stack("weights"),
            nuisance,
            stack("sampled_from"),
            summary,
            keys,
            [p["source"] for p in payloads],
        )
