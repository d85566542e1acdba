"""The processor base class (analyse a chunk with the plan, reduce it, accumulate per chunk); combinations."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
from coffea.processor import ProcessorABC

from ..errors import ProcessorError
from .accumulators import ChunkKey, ChunkResults
from .fileset import AnalysedChunk, FilesetPlan

__all__ = ["ChunkProcessor", "CombinedProcessor"]

logger = logging.getLogger(__name__)


class ChunkProcessor(ProcessorABC):
    """A coffea processor over the chunks of a planned file set.

    ``process(events)`` analyses the chunk (:meth:`FilesetPlan.analyse`, the kernels of
    :func:`~columnminer.samples.analyse_samples`) and hands the survivors to :meth:`reduce`, which returns a
    dict of numbers and numpy arrays. With ``ordered=True`` (default) the result of each chunk is kept under
    its :class:`~columnminer.processors.accumulators.ChunkKey` and :meth:`postprocess` sums them in file-set
    order, so every executor (iterative, futures, dask) gives bit-identical sums and a chunk counted twice is
    an error; memory grows with the number of chunks times the size of a payload. With ``ordered=False`` the
    payloads are added as they arrive (constant memory; sums then agree between executors to rounding).

    Subclasses implement :meth:`reduce` and :meth:`finalize`. The instance holds no per-run state: coffea
    ships it to every worker.

    Example:
        >>> from columnminer.processors import run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> class Count(ChunkProcessor):
        ...     def reduce(self, chunk):
        ...         return {"n": np.int64(chunk.n_events)}
        ...     def finalize(self, total, chunks):
        ...         return int(total["n"]), len(chunks)
        >>> fileset, plan = golden_fileset(100, seed=8)
        >>> run_fileset(fileset, Count(plan), chunksize=50)
        (100, 2)
    """

    def __init__(self, plan: FilesetPlan, ordered: bool = True) -> None:
        if not isinstance(plan, FilesetPlan):
            raise ProcessorError(f"a processor needs a FilesetPlan, got {type(plan).__name__}")
        self.plan = plan
        self.ordered = bool(ordered)

    def process(self, events: Any) -> Any:
        """Analyse one chunk and return its accumulator."""
        return self.accumulate_chunk(self.plan.analyse(events))

    def accumulate_chunk(self, chunk: AnalysedChunk) -> Any:
        """The accumulator of one analysed chunk: ``ChunkResults({key: payload})`` or the bare payload."""
        payload = self.reduce(chunk)
        if self.ordered:
            return ChunkResults({chunk.key: payload})
        return {**payload, "n_chunks": np.int64(1)}

    @abstractmethod
    def reduce(self, chunk: AnalysedChunk) -> dict[str, Any]:
        """The contribution of one chunk: a dict of numbers / numpy arrays that add up over chunks."""

    @abstractmethod
    def finalize(self, total: dict[str, Any], chunks: list[ChunkKey] | None) -> Any:
        """The result from the summed payloads (``chunks``: the keys in order, ``None`` when not ordered)."""

    def postprocess(self, accumulator: Any) -> Any:
        """Sum the chunks (in file-set order when ordered) and :meth:`finalize`."""
        if isinstance(accumulator, ChunkResults):
            if not len(accumulator):
                raise ProcessorError("no chunk was processed")
            return self.finalize(accumulator.total(), accumulator.keys())
        if accumulator is None:
            raise ProcessorError("no chunk was processed")
        return self.finalize(dict(accumulator), None)


class CombinedProcessor(ProcessorABC):
    """Several processors over one pass: each chunk is read and analysed once, then reduced by every one.

    ``processors`` maps names to :class:`ChunkProcessor` instances built on the same plan; the output maps the
    same names to their results, e.g. ``CombinedProcessor({"events": AnalysisProcessor(plan, sink=sink),
    "m4l": HistogramProcessor(plan, thetas, axes)})`` streams the events to a store and fills the histograms
    from one read of every chunk.

    Example:
        >>> from columnminer.processors import AnalysisProcessor, CrossSectionProcessor, run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(100, seed=9)
        >>> out = run_fileset(fileset, CombinedProcessor({"events": AnalysisProcessor(plan),
        ...                                               "xsec": CrossSectionProcessor(plan, "sm")}))
        >>> bool(np.isclose(out["xsec"].xsec[0], out["events"].weights[:, 0].sum()))
        True
    """

    def __init__(self, processors: Mapping[str, ChunkProcessor]) -> None:
        processors = dict(processors)
        if not processors:
            raise ProcessorError("CombinedProcessor needs at least one processor")
        plans = {id(p.plan) for p in processors.values()}
        if len(plans) != 1:
            raise ProcessorError("the processors of a CombinedProcessor must share one FilesetPlan")
        self.processors = processors
        self.plan = next(iter(processors.values())).plan

    def process(self, events: Any) -> dict[str, Any]:
        """Analyse one chunk once and reduce it with every processor."""
        chunk = self.plan.analyse(events)
        return {name: p.accumulate_chunk(chunk) for name, p in self.processors.items()}

    def postprocess(self, accumulator: Mapping[str, Any]) -> dict[str, Any]:
        """Every processor's result, by name."""
        return {name: p.postprocess(accumulator[name]) for name, p in self.processors.items()}
