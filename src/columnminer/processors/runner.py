"""Running processors with coffea: coffea's chunking, LHE chunks through coffea's executors, ROOT through its Runner.

coffea's :class:`~coffea.processor.Runner` reads ROOT (and parquet) only: its work function opens every work
item with uproot. Delphes files therefore take coffea's normal path (``Runner.preprocess`` for the entry
counts and chunking, ``Runner(...)(work_items, processor)`` to run them). LHE files take the path the Runner
itself is built from: their work items come from coffea's own chunking (:meth:`coffea.processor.executor.
FileMeta.chunks` after a metadata pass run by the executor, as ``Runner.preprocess`` does for ROOT) and are
run by the same executor object with a work function that reads the chunk's byte range of the LHE file and
calls ``processor.process(events)``; ``processor.postprocess`` runs once on the combined output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import cloudpickle
import lz4.frame as lz4f
from coffea.nanoevents import BaseSchema
from coffea.processor import (
    DaskExecutor,
    IterativeExecutor,
    ProcessorABC,
    Runner,
    accumulate,
    set_accumulator,
)
from coffea.processor.executor import ExecutorBase, FileMeta, WorkItem

from ..errors import ProcessorError
from .fileset import METADATA_ATTR, DatasetSpec, lhe_byte_range, normalize_fileset, read_lhe_events

__all__ = [
    "DASK_WORKER_CONFIG",
    "LHE_TREE",
    "quiet_unless_status",
    "run_fileset",
    "run_work_items",
    "work_items",
]

logger = logging.getLogger(__name__)

#: The ``treename`` of the work items of LHE files (they have no tree; ROOT items carry theirs).
LHE_TREE = "LesHouchesEvents"
#: dask settings for clusters running the processors (``with dask.config.set(DASK_WORKER_CONFIG):`` around
#: the creation of the cluster, or ``export MALLOC_MMAP_THRESHOLD_=33554432`` in a batch job). dask's nanny
#: starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which switches off glibc's dynamic mmap threshold: every
#: array above 128 KiB is then mmap'ed and unmapped again, and the page faults make chunk processing ~60 %
#: slower (benchmarks/processors_scaling.py). A fixed 32 MiB mmap threshold restores the speed and keeps the trimming.
#: (The passes over a store, :func:`columnminer.compute.run_tasks`, set it in their workers themselves, and
#: raise dask's default trim threshold, whose trims had every chunk's arrays faulted in again:
#: :func:`columnminer.compute.tune_worker_malloc`; coffea's processors run code this package does not wrap.)
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 * 2**20}
_OFFSETS = "lhe_event_offsets"


@contextlib.contextmanager
def quiet_unless_status(executor: ExecutorBase) -> Iterator[None]:
    """Silence coffea's progress bars while ``executor`` runs when it was made with ``status=False``.

    coffea's IterativeExecutor and FuturesExecutor draw their rich progress bars whatever ``status`` says
    (only the DaskExecutor honours it); their console is muted here for the duration instead.

    Example:
        >>> with quiet_unless_status(IterativeExecutor(status=False)):
        ...     pass
    """
    from coffea.util import coffea_console

    if getattr(executor, "status", True):
        yield
        return
    before = coffea_console.quiet, coffea_console.is_jupyter
    coffea_console.quiet, coffea_console.is_jupyter = True, False  # in Jupyter, rich would draw widgets
    try:
        yield
    finally:
        coffea_console.quiet, coffea_console.is_jupyter = before


def _lhe_metadata(item: FileMeta) -> set_accumulator:
    """coffea metadata of one LHE file (runs on a worker): entries, a uuid, and the event byte offsets."""
    from ..io.lhe import event_offsets

    offsets = event_offsets(item.filename)
    stat = os.stat(item.filename)
    uid = hashlib.md5(f"{item.filename}:{stat.st_size}:{stat.st_mtime_ns}".encode()).digest()
    metadata = {**(item.metadata or {}), "numentries": len(offsets), "uuid": uid, _OFFSETS: offsets}
    return set_accumulator([FileMeta(item.dataset, item.filename, item.treename, metadata)])


def _pre_executor(executor: ExecutorBase) -> ExecutorBase:
    """The executor for a metadata pass, as coffea's Runner derives it from the main one."""
    overrides: dict[str, Any] = {
        "function_name": "get_metadata",
        "desc": "Preprocessing",
        "unit": "file",
        "compression": None,
    }
    if isinstance(executor, DaskExecutor):
        overrides.update(heavy_input=None, worker_affinity=False)
    return executor.copy(**overrides)


def _lhe_items(datasets: dict[str, DatasetSpec], executor: ExecutorBase, chunksize: int) -> list[WorkItem]:
    """Work items of the LHE files: metadata pass on the executor, then coffea's chunking."""
    metas = [
        FileMeta(dataset, path, LHE_TREE, dict(spec.metadata))
        for dataset, spec in datasets.items()
        for path, tree in spec.files.items()
        if tree is None
    ]
    if not metas:
        return []
    with quiet_unless_status(executor):
        fetched, _ = _pre_executor(executor)(metas, _lhe_metadata, set_accumulator())
    by_key = {(m.dataset, m.filename): m for m in fetched}
    items = []
    for meta in metas:
        full = by_key[(meta.dataset, meta.filename)]
        offsets = full.metadata[_OFFSETS]
        for k, item in enumerate(full.chunks(chunksize, False)):
            user = {key: value for key, value in (item.usermeta or {}).items() if key != _OFFSETS}
            user.update(chunk=k, lhe_bytes=lhe_byte_range(offsets, item.entrystart, item.entrystop))
            items.append(dataclasses.replace(item, usermeta=user))
    return items


def _root_items(
    datasets: dict[str, DatasetSpec],
    executor: ExecutorBase,
    chunksize: int,
    runner_options: Mapping[str, Any],
) -> list[WorkItem]:
    """Work items of the ROOT files from coffea's ``Runner.preprocess`` (uproot metadata, coffea's chunking)."""
    fileset = {}
    for dataset, spec in datasets.items():
        files = {path: tree for path, tree in spec.files.items() if tree is not None}
        if files:
            fileset[dataset] = {"files": files, "metadata": dict(spec.metadata)}
    if not fileset:
        return []
    runner = _runner(executor, chunksize, runner_options)
    with quiet_unless_status(executor):
        items = list(runner.preprocess(fileset))
    counters: dict[tuple[str, str], int] = {}
    out = []
    for item in items:
        k = counters.get((item.dataset, item.filename), 0)
        counters[(item.dataset, item.filename)] = k + 1
        out.append(dataclasses.replace(item, usermeta={**(item.usermeta or {}), "chunk": k}))
    return out


def _runner(executor: ExecutorBase, chunksize: int, options: Mapping[str, Any]) -> Runner:
    settings = {"schema": BaseSchema, "format": "root", "chunksize": int(chunksize), **dict(options)}
    return Runner(executor=executor, **settings)


def work_items(
    fileset: Mapping[str, Any] | str | Path,
    chunksize: int = 100_000,
    executor: ExecutorBase | None = None,
    runner_options: Mapping[str, Any] | None = None,
) -> list[WorkItem]:
    """coffea work items of a file set, in file-set order (dataset, file, first entry).

    coffea decides the work units: ``chunksize`` is its target, and every file is cut into the fewest
    near-equal chunks not above it (:meth:`FileMeta.chunks`). ROOT files go through ``Runner.preprocess``;
    LHE files through a metadata pass (entries and event byte offsets, run by ``executor``, default the
    iterative one) and the same chunking. LHE items carry ``usermeta["lhe_bytes"]``; every item carries
    ``usermeta["chunk"]``, its index in the file.

    Example:
        >>> from columnminer.io.lhe import example_lhe_file
        >>> items = work_items({"sm": [example_lhe_file()]}, chunksize=1,
        ...                    executor=IterativeExecutor(status=False))
        >>> [(i.entrystart, i.entrystop, i.usermeta["chunk"]) for i in items]
        [(0, 1, 0), (1, 2, 1)]
    """
    if int(chunksize) < 1:
        raise ProcessorError(f"chunksize must be a positive number of events, got {chunksize}")
    executor = executor if executor is not None else IterativeExecutor(status=False)
    datasets = normalize_fileset(fileset)
    items = _lhe_items(datasets, executor, int(chunksize))
    items += _root_items(datasets, executor, int(chunksize), runner_options or {})
    order = {(d, f): (i, j) for i, (d, spec) in enumerate(datasets.items()) for j, f in enumerate(spec.files)}
    return sorted(items, key=lambda it: (*order[(it.dataset, it.filename)], it.entrystart))


class _LHEWork:
    """The work function of LHE items (picklable): read the chunk, run ``processor.process`` on it."""

    def __init__(self, processor: bytes | None) -> None:
        self.processor = processor

    def __call__(self, item: WorkItem | tuple[WorkItem, bytes]) -> Any:
        blob = self.processor
        if isinstance(item, tuple):  # DaskExecutor's heavy_input: (item, processor)
            item, blob = item
        processor = cloudpickle.loads(lz4f.decompress(blob))
        where = f"{item.dataset}: {item.filename} entries {item.entrystart}..{item.entrystop}"
        try:
            events = read_lhe_events(
                item.filename, item.usermeta["lhe_bytes"], item.entrystart, item.entrystop
            )
            metadata = {
                "dataset": item.dataset,
                "filename": item.filename,
                "treename": item.treename,
                "entrystart": item.entrystart,
                "entrystop": item.entrystop,
                "fileuuid": item.fileuuid.hex() if isinstance(item.fileuuid, bytes) else str(item.fileuuid),
                **(item.usermeta or {}),
            }
            events.attrs[METADATA_ATTR] = metadata
            out = processor.process(events)
        except ProcessorError:
            raise
        except Exception as err:
            raise ProcessorError(f"{where}: {type(err).__name__}: {err}") from err
        if out is None:
            raise ProcessorError(f"{where}: process() returned None")
        return out


class _WithoutPostprocess(ProcessorABC):
    """A processor whose postprocess the Runner must not call yet (it runs once on the combined output)."""

    def __init__(self, processor: ProcessorABC) -> None:
        self.processor = processor

    def process(self, events: Any) -> Any:
        return self.processor.process(events)

    def postprocess(self, accumulator: Any) -> None:
        return None


def _run_lhe(items: list[WorkItem], processor: ProcessorABC, executor: ExecutorBase) -> Any:
    blob = lz4f.compress(cloudpickle.dumps(processor), compression_level=1)
    names = {"unit": "chunk", "function_name": type(processor).__name__}
    if isinstance(executor, DaskExecutor):
        executor = executor.copy(heavy_input=blob, **names)
        work, retries = _LHEWork(None), 0  # dask reschedules and retries tasks itself
    else:
        executor = executor.copy(**names)
        work, retries = _LHEWork(blob), int(getattr(executor, "retries", 0))
    closure = partial(Runner.automatic_retries, retries, False, work)
    out, _ = executor(items, closure, None)
    return out


def run_work_items(
    items: Sequence[WorkItem],
    processor: ProcessorABC,
    executor: ExecutorBase | None = None,
    runner_options: Mapping[str, Any] | None = None,
) -> Any:
    """Run ``processor`` over work items (from :func:`work_items`) and return its postprocessed output.

    ROOT items run through ``coffea.processor.Runner(executor, schema=BaseSchema, format="root")`` (the
    processor receives NanoEvents whose ``metadata`` names the chunk); LHE items through ``executor``
    directly with a reader of the chunk's byte range (the processor receives the raw LHE events with the
    same metadata in ``attrs["coffea_metadata"]``; see :func:`~columnminer.processors.fileset.chunk_metadata`).
    The outputs are accumulated and ``processor.postprocess`` is called once.

    Example:
        >>> from columnminer.processors import AnalysisProcessor
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(100, seed=11)
        >>> items = work_items(fileset, chunksize=50)
        >>> run_work_items(items[1:], AnalysisProcessor(plan)).weights.shape  # the second chunk only
        (50, 6)
    """
    executor = executor if executor is not None else IterativeExecutor(status=False)
    items = list(items)
    if not items:
        raise ProcessorError("no work items to run")
    lhe = [item for item in items if item.treename == LHE_TREE]
    root = [item for item in items if item.treename != LHE_TREE]
    outputs = []
    with quiet_unless_status(executor):
        if root:
            runner = _runner(executor, 100_000, runner_options or {})
            outputs.append(runner(root, _WithoutPostprocess(processor)))
        if lhe:
            outputs.append(_run_lhe(lhe, processor, executor))
    accumulated = accumulate(outputs)
    result = processor.postprocess(accumulated)
    return accumulated if result is None else result


def run_fileset(
    fileset: Mapping[str, Any] | str | Path,
    processor: ProcessorABC,
    executor: ExecutorBase | None = None,
    chunksize: int = 100_000,
    runner_options: Mapping[str, Any] | None = None,
) -> Any:
    """Chunk a file set with coffea (:func:`work_items`) and run ``processor`` over it with ``executor``
    (:func:`run_work_items`): ``IterativeExecutor`` on one core, ``FuturesExecutor`` on local processes,
    ``DaskExecutor(client=...)`` on a LocalCluster or any dask cluster. ``runner_options`` go to coffea's
    ``Runner`` (e.g. ``{"skipbadfiles": True}``) for ROOT files.

    Example:
        >>> from columnminer.processors import CrossSectionProcessor
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(100, seed=12)
        >>> out = run_fileset(fileset, CrossSectionProcessor(plan, "sm"), IterativeExecutor(status=False))
        >>> out.n_events, len(out.chunks)
        (100, 1)
    """
    items = work_items(fileset, chunksize, executor, runner_options)
    return run_work_items(items, processor, executor, runner_options)
