"""Streaming processor output into an EventStore: workers stage chunks, the client commits them in order, reruns skip.

How it keeps the store's guarantees with many writers. An :class:`~columnminer.io.store.EventStore` has one
writer: ``append`` is crash-safe but not safe against concurrent appends. So the workers never touch the
store: each writes its chunk as a small store of its own (a *part*, ``<staging>/<hash of the chunk's
source>.zarr``), created under a temporary name and renamed into place only once complete, so a part that
exists is complete. After the run the client appends the parts in file-set order with
``store.append(..., source=chunk_source)`` and deletes each part once committed. A rerun skips every chunk
whose source the store holds or whose part is staged, and commits what is left: a run killed at any point
(worker or client) loses no finished chunk and commits none twice; a chunk whose worker died is simply run
again (dask does that by itself).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..analysis import Analysis
from ..errors import AnalysisError, ProcessorError, StoreError
from ..io.provenance import overlapping, source_file_key, source_range
from ..io.store import EventStore
from ..samples import AnalysisSummary
from .accumulators import ChunkKey
from .analysis import AnalysisProcessor, summary_of
from .fileset import AnalysedChunk, FilesetPlan
from .runner import run_work_items, work_items

__all__ = ["StoreRun", "StoreSink", "analyse_fileset", "check_chunking"]

logger = logging.getLogger(__name__)

#: Settings that all chunks of one file in a store share.
_SETTINGS = ("sampled_from", "background", "k_factor", "systematics", "factor")


def _fs(url: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url)


def _canonical(source: Mapping[str, Any]) -> str:
    return json.dumps(source, sort_keys=True, default=str)


class StoreSink:
    """The staging area of a store: where processor workers write their chunks (see the module docstring).

    ``url`` is the store; ``staging`` (default ``<url>.staging``) must be reachable by every worker (a shared
    file system or an object store; ``memory://`` only works with the iterative executor).

    Example:
        >>> StoreSink("/data/golden.zarr").staging
        '/data/golden.zarr.staging'
    """

    def __init__(self, url: str, staging: str | None = None) -> None:
        self.url = str(url)
        self.staging = str(staging) if staging is not None else self.url.rstrip("/") + ".staging"

    def part_url(self, source: Mapping[str, Any]) -> str:
        """Where the part of a chunk lives (a hash of its source key)."""
        digest = hashlib.sha256(_canonical(source).encode()).hexdigest()[:24]
        return f"{self.staging.rstrip('/')}/{digest}.zarr"

    def staged(self, source: Mapping[str, Any]) -> bool:
        """Whether the chunk's part is staged (complete: parts appear only once written)."""
        fs, path = _fs(self.part_url(source))
        return bool(fs.exists(path))

    def write(self, chunk: AnalysedChunk, plan: FilesetPlan) -> str:
        """Write one analysed chunk as a part (runs on a worker); returns the part's URL.

        The part is a complete :class:`EventStore` written under a temporary name and then renamed; if the
        part exists already (the chunk ran twice, e.g. after its first worker was lost) the new copy is
        dropped: both hold the same events.
        """
        final = self.part_url(chunk.source)
        tmp = f"{final[: -len('.zarr')]}.tmp-{uuid.uuid4().hex}.zarr"
        part = EventStore.create(
            tmp,
            plan.setup,
            plan.observable_names,
            chunk_size=max(chunk.n_events, 1),
            nuisance_benchmarks=plan.nuisance_names,
        )
        counts = {name: [int(n), int(p)] for name, (n, p) in chunk.counts.items()}
        part.append(
            chunk.observables,
            chunk.weights,
            chunk.sampled_from,
            nuisance_weights=chunk.nuisance_weights if plan.nuisance_names else None,
            source={"chunk": chunk.source, "n_read": chunk.n_read, "counts": counts},
        )
        fs, tmp_path = _fs(tmp)
        _, final_path = _fs(final)
        if fs.exists(final_path):
            fs.rm(tmp_path, recursive=True)
        else:
            fs.mv(tmp_path, final_path, recursive=True)
        logger.debug("staged %s (%d events) at %s", chunk.key.describe(), chunk.n_events, final)
        return final

    def read(self, source: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The arrays of a staged chunk and its receipt (``n_read``, ``n_kept``, ``counts``)."""
        url = self.part_url(source)
        try:
            part = EventStore.open(url)
        except StoreError as err:
            raise ProcessorError(f"{url}: the staged part of chunk {source} is unreadable: {err}") from err
        entries = part.sources
        if len(entries) != 1 or _canonical(entries[0]["source"]["chunk"]) != _canonical(source):
            raise ProcessorError(f"{url}: the staged part does not hold chunk {source}")
        arrays = {name: part.read(name) for name in ("observables", "weights", "sampled_from")}
        arrays["nuisance_weights"] = part.read("nuisance_weights") if part.nuisance_benchmark_names else None
        receipt = {
            "n_read": entries[0]["source"]["n_read"],
            "n_kept": part.n_events,
            "counts": entries[0]["source"]["counts"],
        }
        return arrays, receipt

    def remove(self, source: Mapping[str, Any]) -> None:
        """Delete a chunk's part (after it was committed)."""
        fs, path = _fs(self.part_url(source))
        if fs.exists(path):
            fs.rm(path, recursive=True)

    def commit(self, store: EventStore, sources: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Append the staged chunks to ``store`` in the order of ``sources``; returns per source the receipt
        of a chunk committed now, or ``None`` for one the store already held. A source neither in the store
        nor staged is an error (a lost chunk). The staging area is removed when every source is committed."""
        committed = {_canonical(item["source"]) for item in store.sources if item.get("source") is not None}
        missing = [s for s in sources if _canonical(s) not in committed and not self.staged(s)]
        if missing:
            raise ProcessorError(
                f"{store.url}: {len(missing)} chunk(s) are neither committed nor staged, first {missing[0]}"
            )
        receipts: list[dict[str, Any] | None] = []
        for source in sources:
            if _canonical(source) in committed:
                self.remove(source)  # a commit that died before removing its part
                receipts.append(None)
                continue
            arrays, receipt = self.read(source)
            store.append(
                arrays["observables"],
                arrays["weights"],
                arrays["sampled_from"],
                nuisance_weights=arrays["nuisance_weights"],
                source=dict(source),
            )
            committed.add(_canonical(source))
            self.remove(source)
            receipts.append(receipt)
        fs, path = _fs(self.staging)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        return receipts


def check_chunking(store: EventStore, sources: Sequence[Mapping[str, Any]]) -> None:
    """Refuse, before anything is written, a store that holds events of the planned files cut into other
    chunks (another ``chunksize``, or :func:`~columnminer.samples.analyse_samples`), or with other settings
    (benchmark, k-factor, normalisation): appending would count events twice or mix normalisations. Files
    are recognised by content (:mod:`columnminer.io.provenance`), not by path.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.io.provenance import file_identity
        >>> lhe = pathlib.Path(tempfile.mkdtemp()) / "a.lhe"
        >>> _ = lhe.write_text("<LesHouchesEvents>")
        >>> store = EventStore.create("memory://doc-chunking.zarr", golden_channel_setup(), ["x"], overwrite=True)
        >>> src = {"sample": str(lhe), "file": file_identity(lhe), "events": [0, 5], "dataset": "d"}
        >>> _ = store.append(np.zeros((1, 1)), np.ones((1, 6)), 0, source=src)
        >>> check_chunking(store, [src])  # the same chunking: fine
        >>> check_chunking(store, [{**src, "events": [0, 3]}])
        Traceback (most recent call last):
        ...
        columnminer.errors.ProcessorError: ...holds events 0..5 of ...a.lhe from a run with another chunking...
    """
    planned: dict[str, dict[tuple[int, int], Mapping[str, Any]]] = {}
    paths = {}
    for source in sources:
        key = source_file_key(source)
        if key is None:
            continue
        planned.setdefault(key, {})[source_range(source)] = source
        paths[str(source.get("sample"))] = source
    for item in store.sources:
        held = item.get("source")
        if isinstance(held, Mapping) and "file" not in held and str(held.get("sample")) in paths:
            raise ProcessorError(
                f"{store.url} holds chunks of {held['sample']} recorded without event ranges (an older "
                "columnminer); write the processor run into a new store"
            )
    for key, spans in planned.items():
        for start, stop, held in store.committed_ranges(key):
            if (start, stop) not in spans:
                if overlapping(spans, start, stop):
                    raise ProcessorError(
                        f"{store.url} holds events {start}..{stop} of {held.get('sample')} from a run with another "
                        "chunking (or from analyse_samples); rerun with the same chunksize or write into a new store"
                    )
                continue
            mine = spans[(start, stop)]
            changed = sorted(k for k in _SETTINGS if held.get(k) != mine.get(k))
            if changed:
                raise ProcessorError(
                    f"{store.url} holds events {start}..{stop} of {held.get('sample')} with other settings "
                    f"({', '.join(f'{k}: {held.get(k)!r} there, {mine.get(k)!r} now' for k in changed)}); "
                    "write into a new store"
                )


class StoreRun:
    """One streaming run into a store: the plan, coffea's work items, the chunks still to run, the commit.

    ``StoreRun(fileset, analysis, store, ...)`` plans the file set against the store (observables, nuisance
    columns, sampling fractions, as :func:`~columnminer.samples.analyse_samples`), chunks it with coffea,
    refuses another chunking of files already in the store (:func:`check_chunking`) and lists in
    :attr:`pending` the work items neither committed nor staged. Run them with any processor that writes
    through :attr:`sink` (``AnalysisProcessor(run.plan, sink=run.sink)``, alone or inside a
    :class:`~columnminer.processors.base.CombinedProcessor` that also fills histograms in the same pass), then
    :meth:`commit`. :func:`analyse_fileset` does all of it.

    Example:
        >>> import tempfile
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(100, seed=13)
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", plan.setup, plan.observable_names)
        >>> run = StoreRun(fileset, plan.analysis, store, chunksize=50)
        >>> len(run.pending), run_work_items(run.pending, run.processor()).summary.n_read == {}
        (2, False)
        >>> run.commit().skipped_chunks, store.n_events
        (0, 100)
    """

    def __init__(
        self,
        fileset: Mapping[str, Any] | str | Path,
        analysis: Analysis,
        store: EventStore,
        executor: Any = None,
        chunksize: int = 100_000,
        staging: str | None = None,
        runner_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.runner_options = runner_options
        self.plan = FilesetPlan.build(fileset, analysis, store=store)
        self.items = work_items(fileset, chunksize, executor, runner_options)
        self.sources = [
            self.plan.source(it.dataset, it.filename, it.usermeta["chunk"], it.entrystart, it.entrystop)
            for it in self.items
        ]
        check_chunking(store, self.sources)
        self.sink = StoreSink(store.url, staging)
        committed = {_canonical(item["source"]) for item in store.sources if item.get("source") is not None}
        self.pending = [
            item
            for item, source in zip(self.items, self.sources, strict=True)
            if _canonical(source) not in committed and not self.sink.staged(source)
        ]
        logger.info(
            "%s: %d chunks, %d to run, %d finished before",
            store.url,
            len(self.items),
            len(self.pending),
            len(self.items) - len(self.pending),
        )

    def processor(self) -> AnalysisProcessor:
        """An :class:`~columnminer.processors.analysis.AnalysisProcessor` writing through the sink."""
        return AnalysisProcessor(self.plan, sink=self.sink)

    def commit(self) -> AnalysisSummary:
        """Append every staged chunk in file-set order (:meth:`StoreSink.commit`); the summary counts the
        chunks committed now, ``skipped_chunks`` those this run did not process."""
        with self.store.writing():  # one writer at a time; recheck what other writers committed meanwhile
            check_chunking(self.store, self.sources)
            receipts = self.sink.commit(self.store, self.sources)
        done = [(_key(self.plan, it), r) for it, r in zip(self.items, receipts, strict=True) if r is not None]
        summary = summary_of(self.plan, done)
        summary.skipped_chunks = len(self.items) - len(self.pending)
        logger.info("analysis summary:\n%s", summary.table())
        if sum(summary.n_read.values()) and not sum(summary.n_kept.values()) and not summary.skipped_chunks:
            raise AnalysisError("no event survives the analysis in any sample:\n" + summary.table())
        return summary


def analyse_fileset(
    fileset: Mapping[str, Any] | str | Path,
    analysis: Analysis,
    store: EventStore,
    executor: Any = None,
    chunksize: int = 100_000,
    **options: Any,
) -> AnalysisSummary:
    """:func:`~columnminer.samples.analyse_samples` as a coffea run: every chunk of the file set analysed by
    ``executor`` (iterative, futures, or dask on any cluster), written by its worker to the staging area and
    committed to ``store`` in file-set order (see the module docstring and :class:`StoreRun`, whose
    ``executor`` and ``chunksize`` may come by position, ``staging`` and ``runner_options`` as ``options``).

    The store gets the same events as from ``analyse_samples`` on the same samples, in the same order (only
    the provenance keys differ: they carry the dataset and the entry range of each coffea chunk). A rerun
    with the same file set and ``chunksize`` skips every finished chunk (``summary.skipped_chunks`` counts the
    chunks not run by this call); another chunking of files already in the store is an error. Returns the
    pass counts of the chunks committed by this call.

    Example:
        >>> import tempfile
        >>> from columnminer.fourlepton import add_four_lepton_observables
        >>> from columnminer.simulators.golden import golden_setup, simulate_golden
        >>> out = tempfile.mkdtemp()
        >>> info = simulate_golden(None, 300, out, n_background=0, seed=5)
        >>> analysis = Analysis()
        >>> add_four_lepton_observables(analysis)
        >>> store = EventStore.create(out + "/s.zarr", golden_setup(), analysis.observable_names)
        >>> fileset = {"sm": {"files": [info["files"]["signal"]], "metadata": {"sampled_from_benchmark": "sm"}}}
        >>> summary = analyse_fileset(fileset, analysis, store, chunksize=100)
        >>> store.n_events, analyse_fileset(fileset, analysis, store, chunksize=100).skipped_chunks
        (300, 3)
    """
    run = StoreRun(fileset, analysis, store, executor, chunksize, **options)
    if run.pending:
        run_work_items(run.pending, run.processor(), run.executor, run.runner_options)
    return run.commit()


def _key(plan: FilesetPlan, item: Any) -> ChunkKey:
    fp = plan.file_plan(item.dataset, item.filename)
    return ChunkKey(
        fp.dataset_index, fp.file_index, item.entrystart, item.entrystop, item.dataset, item.filename
    )
