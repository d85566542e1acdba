"""File sets (coffea's ``{dataset: {"files", "metadata"}}``) and the plan of every chunk (samples, normalisation)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from ..analysis import Analysis
from ..chunks import ChunkTask, analyse_delphes_chunk, analyse_lhe_chunk
from ..errors import AnalysisError, LHEFormatError, ProcessorError, StoreMismatchError
from ..io.lhe_ranges import lhe_byte_range, read_lhe_range
from ..io.store import EventStore
from ..samples import PlannedSample, Sample, plan_samples, store_metadata
from ..setup import AnalysisSetup
from .accumulators import ChunkKey

__all__ = [
    "SAMPLE_KEYS",
    "AnalysedChunk",
    "DatasetSpec",
    "FilePlan",
    "FilesetPlan",
    "chunk_metadata",
    "is_root_file",
    "normalize_fileset",
    "read_lhe_events",
]

logger = logging.getLogger(__name__)

#: Dataset metadata keys that become :class:`~columnminer.samples.Sample` fields (others are kept, unused).
SAMPLE_KEYS = (
    "sampled_from_benchmark",
    "is_background",
    "k_factor",
    "weight_mapping",
    "event_norm",
    "process",
    "systematics",
    "transform",
)
#: Where the LHE chunk readers put coffea-style metadata in ``events.attrs``.
METADATA_ATTR = "coffea_metadata"


def is_root_file(path: str) -> bool:
    """Whether a file is read as ROOT (Delphes output, through coffea's Runner) rather than as LHE.

    Example:
        >>> is_root_file("delphes.root"), is_root_file("signal.lhe.gz")
        (True, False)
    """
    return str(path).endswith(".root")


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a file set: ``files`` (path -> ROOT tree name, ``None`` for LHE) and ``metadata``.

    Example:
        >>> DatasetSpec({"d.root": "Delphes", "s.lhe.gz": None}, {"is_background": True}).files["d.root"]
        'Delphes'
    """

    files: dict[str, str | None]
    metadata: dict[str, Any] = field(default_factory=dict)


def normalize_fileset(fileset: Mapping[str, Any] | str | Path) -> dict[str, DatasetSpec]:
    """Read a coffea-style file set: a mapping or a JSON file ``{dataset: [files]}`` or ``{dataset: {"files":
    [files] | {file: treename}, "metadata": {...}, "treename": ...}}``.

    Metadata keys of :data:`SAMPLE_KEYS` (``sampled_from_benchmark``, ``is_background``, ``k_factor`` ...)
    describe the samples; ``lhe_paths`` (``{delphes_file: lhe_file}``) or ``lhe_path`` (one-file datasets)
    give the LHE partners of Delphes files. Relative paths in a JSON file are relative to that file. ROOT
    files (``.root``) get the tree ``treename`` (default ``"Delphes"``).

    Example:
        >>> spec = normalize_fileset({"sig": {"files": ["a.lhe.gz"],
        ...                                   "metadata": {"sampled_from_benchmark": "sm"}}})
        >>> spec["sig"].files, spec["sig"].metadata["sampled_from_benchmark"]
        ({'a.lhe.gz': None}, 'sm')
    """
    base = None
    if isinstance(fileset, str | Path):
        path = Path(fileset)
        try:
            fileset = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ProcessorError(f"{path}: cannot read the file set: {err}") from err
        base = path.resolve().parent
    if not isinstance(fileset, Mapping) or not fileset:
        raise ProcessorError(
            f"a file set must be a non-empty mapping dataset -> files, got {type(fileset).__name__}"
        )

    def resolve(name: str) -> str:
        if base is None or "://" in str(name) or Path(name).is_absolute():
            return str(name)
        return str(base / name)

    out = {}
    for dataset, entry in fileset.items():
        metadata: dict[str, Any] = {}
        treename = "Delphes"
        if isinstance(entry, Mapping):
            if "files" not in entry:
                raise ProcessorError(f"dataset {dataset!r}: no 'files' entry")
            metadata = dict(entry.get("metadata") or {})
            treename = entry.get("treename", treename)
            files = entry["files"]
        else:
            files = entry
        if isinstance(files, str):
            files = [files]
        if isinstance(files, Mapping):
            pairs = [(resolve(f), t) for f, t in files.items()]
        else:
            pairs = [(resolve(f), treename) for f in files]
        if not pairs:
            raise ProcessorError(f"dataset {dataset!r} lists no files")
        if "lhe_paths" in metadata:
            metadata["lhe_paths"] = {resolve(k): resolve(v) for k, v in dict(metadata["lhe_paths"]).items()}
        if "lhe_path" in metadata:
            metadata["lhe_path"] = resolve(metadata["lhe_path"])
        out[str(dataset)] = DatasetSpec(
            {name: ((tree or treename) if is_root_file(name) else None) for name, tree in pairs}, metadata
        )
    return out


def _sample(dataset: str, spec: DatasetSpec, path: str) -> Sample:
    """The Sample of one file of a dataset."""
    fields = {key: spec.metadata[key] for key in SAMPLE_KEYS if key in spec.metadata}
    lhe_path = dict(spec.metadata.get("lhe_paths") or {}).get(path)
    if lhe_path is None and "lhe_path" in spec.metadata:
        if len(spec.files) != 1:
            raise ProcessorError(
                f"dataset {dataset!r}: 'lhe_path' names one LHE file for {len(spec.files)} files; use "
                "'lhe_paths': {delphes_file: lhe_file}"
            )
        lhe_path = spec.metadata["lhe_path"]
    try:
        return Sample(path, lhe_path=lhe_path, **fields)
    except TypeError as err:
        raise ProcessorError(f"dataset {dataset!r}: bad sample metadata: {err}") from err


def chunk_metadata(events: Any) -> dict[str, Any]:
    """The coffea metadata of a chunk (dataset, filename, entrystart, entrystop, ... and the dataset's
    metadata): ``events.metadata`` of NanoEvents from coffea's Runner, ``events.attrs["coffea_metadata"]`` of
    LHE chunks.

    Example:
        >>> events = ak.Array([{"x": 1}], attrs={"coffea_metadata": {"dataset": "d"}})
        >>> chunk_metadata(events)["dataset"]
        'd'
    """
    attrs = getattr(events, "attrs", None) or {}
    if METADATA_ATTR in attrs:
        return dict(attrs[METADATA_ATTR])
    try:
        metadata = events.metadata
    except AttributeError:
        metadata = None
    if not isinstance(metadata, Mapping):
        raise ProcessorError(
            "the events carry no coffea metadata (dataset, filename, entrystart, entrystop): run the processor "
            "with columnminer.processors.run_fileset or coffea's Runner"
        )
    return dict(metadata)


def read_lhe_events(path: str, byte_range: tuple[int, int], entry_start: int, entry_stop: int) -> ak.Array:
    """Events ``entry_start:entry_stop`` of an LHE file, given their decompressed byte range (offsets from the
    first event tag, as :func:`columnminer.io.lhe.lhe_to_dask` uses); checks that exactly those were read.

    Example:
        >>> from columnminer.io.lhe import event_offsets, example_lhe_file
        >>> offsets = event_offsets(example_lhe_file())
        >>> read_lhe_events(example_lhe_file(), lhe_byte_range(offsets, 1, 2), 1, 2).weight.tolist()
        [2.0]
    """
    try:
        return read_lhe_range(path, entry_start, entry_stop, byte_range=byte_range)
    except LHEFormatError as err:
        if err.field is None and err.line is None and "events for entries" in str(err):
            raise ProcessorError(str(err)) from err
        raise


@dataclass
class AnalysedChunk:
    """One chunk after the analysis: the survivors' observables and weights, and where they came from.

    ``source`` is the chunk's provenance key in an :class:`~columnminer.io.store.EventStore` (the sample's
    :meth:`~columnminer.samples.Sample.source` plus dataset and entry range); ``counts`` are the pass counts of
    every definition; ``n_read`` the events read.

    Example:
        >>> chunk = AnalysedChunk(ChunkKey(0, 0, 0, 3, "sm", "s.lhe"), {}, np.zeros((2, 1)), np.ones((2, 6)),
        ...                       None, np.zeros(2, np.int16), 3, {"cut": (3, 2)})
        >>> chunk.n_events, chunk.n_read
        (2, 3)
    """

    key: ChunkKey
    source: dict[str, Any]
    observables: np.ndarray
    weights: np.ndarray
    nuisance_weights: np.ndarray | None
    sampled_from: np.ndarray
    n_read: int
    counts: dict[str, tuple[int, int]]

    @property
    def n_events(self) -> int:
        """Surviving events."""
        return int(self.weights.shape[0])


@dataclass(frozen=True)
class FilePlan:
    """One file of the plan: its position in the file set and its analysis task (sample, normalisation).

    Example:
        >>> task = ChunkTask(Sample("s.lhe.gz", "sm"), 1.0, 0, ("sm",))
        >>> FilePlan(0, 1, task, None).task.sample.path
        's.lhe.gz'
    """

    dataset_index: int
    file_index: int
    task: ChunkTask
    treename: str | None
    planned: PlannedSample | None = None


@dataclass
class FilesetPlan:
    """Everything a worker needs to analyse any chunk of a file set, computed once on the client.

    Built by :meth:`build` with exactly the normalisation of :func:`~columnminer.samples.analyse_samples`
    (file cross sections, k-factors, mixing of the samples of a process, background columns, systematics), so
    a processor run gives the numbers of ``analyse_samples`` event by event.

    Example:
        >>> import tempfile
        >>> from columnminer.simulators.golden import simulate_golden, golden_setup
        >>> from columnminer.fourlepton import add_four_lepton_observables
        >>> info = simulate_golden(None, 200, tempfile.mkdtemp(), n_background=0)
        >>> analysis = Analysis()
        >>> add_four_lepton_observables(analysis)
        >>> plan = FilesetPlan.build({"sm": {"files": [info["files"]["signal"]],
        ...                           "metadata": {"sampled_from_benchmark": "sm"}}}, analysis, golden_setup())
        >>> plan.observable_names[:2], len(plan.files)
        (['m4l', 'mZ1'], 1)
    """

    setup: AnalysisSetup
    analysis: Analysis
    datasets: dict[str, DatasetSpec]
    files: dict[tuple[str, str], FilePlan]
    nuisance_names: list[str]
    lhe_offsets: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def observable_names(self) -> list[str]:
        """The analysis's observables: the columns of every chunk's ``observables``."""
        return self.analysis.observable_names

    @classmethod
    def build(
        cls,
        fileset: Mapping[str, Any] | str | Path,
        analysis: Analysis,
        setup: AnalysisSetup | None = None,
        store: EventStore | None = None,
    ) -> FilesetPlan:
        """Plan a file set for ``analysis`` with ``setup`` (or the setup of ``store``).

        With a ``store`` (opened for writing) its observables and nuisance columns must match and the signal
        sampling fractions are recorded in it, as :func:`~columnminer.samples.analyse_samples` does. Every
        file is opened here (headers, event counts): errors in the inputs show up before any work is sent.
        """
        datasets = normalize_fileset(fileset)
        if store is not None:
            setup = store.setup if setup is None else setup
            if store.observable_names != analysis.observable_names:
                raise AnalysisError(
                    f"the store's observables {store.observable_names} differ from the analysis's "
                    f"{analysis.observable_names}"
                )
            if store.nuisance_benchmark_names != setup.nuisance_benchmark_names:
                raise StoreMismatchError(
                    f"{store.url}: the store's nuisance columns {store.nuisance_benchmark_names} are not those "
                    f"of the setup's systematics {setup.nuisance_benchmark_names}"
                )
        if setup is None:
            raise ProcessorError("FilesetPlan.build needs a setup or a store")
        keys, samples = [], []
        for d, (dataset, spec) in enumerate(datasets.items()):
            for f, path in enumerate(spec.files):
                keys.append((dataset, path, d, f))
                samples.append(_sample(dataset, spec, path))
        with_nuisance = bool(store.nuisance_benchmark_names) if store is not None else True
        planned, fractions = plan_samples(samples, setup, with_nuisance=with_nuisance)
        if store is not None:
            store.update_metadata(**store_metadata(analysis, fractions))
        benchmarks = tuple(setup.benchmark_names)
        files = {}
        offsets = {}
        for (dataset, path, d, f), item in zip(keys, planned, strict=True):
            sample = item.sample
            task = ChunkTask(sample, item.factor, item.sampled_from, benchmarks, item.nuisance)
            files[(dataset, path)] = FilePlan(d, f, task, datasets[dataset].files[path], item)
            if sample.is_delphes and sample.lhe_path and sample.lhe_path not in offsets:
                from ..io.lhe import event_offsets

                offsets[sample.lhe_path] = event_offsets(sample.lhe_path)
        nuisance = store.nuisance_benchmark_names if store is not None else setup.nuisance_benchmark_names
        return cls(setup, analysis, datasets, files, list(nuisance), offsets)

    def file_plan(self, dataset: str, filename: str) -> FilePlan:
        """The plan of one file; a file that is not in the plan is an error."""
        try:
            return self.files[(dataset, filename)]
        except KeyError:
            raise ProcessorError(
                f"dataset {dataset!r}, file {filename!r} is not in the file set this processor was planned for"
            ) from None

    def source(
        self, dataset: str, filename: str, chunk: int, entry_start: int, entry_stop: int
    ) -> dict[str, Any]:
        """The store provenance key of one chunk."""
        planned = self.file_plan(dataset, filename).planned
        return planned.source(
            entry_start,
            entry_stop,
            chunk=int(chunk),
            dataset=dataset,
            entry_start=int(entry_start),
            entry_stop=int(entry_stop),
        )

    def analyse(self, events: Any) -> AnalysedChunk:
        """Analyse one chunk (raw LHE events from :func:`~columnminer.processors.runner.run_work_items`, or
        the NanoEvents of a Delphes chunk from coffea's Runner, viewed as the event model without reading the
        file again: :func:`~columnminer.io.delphes.events_from_nanoevents`) with the kernels of
        ``analyse_samples``."""
        meta = chunk_metadata(events)
        dataset, filename = str(meta["dataset"]), str(meta["filename"])
        start, stop = int(meta["entrystart"]), int(meta["entrystop"])
        plan = self.file_plan(dataset, filename)
        key = ChunkKey(plan.dataset_index, plan.file_index, start, stop, dataset, filename)
        task = plan.task
        if task.sample.is_delphes:
            lhe = None
            if task.sample.lhe_path:
                offsets = self.lhe_offsets[task.sample.lhe_path]
                lhe = read_lhe_events(task.sample.lhe_path, lhe_byte_range(offsets, start, stop), start, stop)
            result = analyse_delphes_chunk(start, stop, lhe, task, self.analysis, delivered=events)
        else:
            result = analyse_lhe_chunk(events, task, self.analysis)
        if result["n_read"] != stop - start:
            raise ProcessorError(f"{key.describe()}: {result['n_read']} events were analysed")
        return AnalysedChunk(
            key=key,
            source=self.source(dataset, filename, int(meta.get("chunk", 0)), start, stop),
            observables=result["observables"],
            weights=result["weights"],
            nuisance_weights=result["nuisance_weights"],
            sampled_from=result["sampled_from"],
            n_read=int(result["n_read"]),
            counts=dict(result["counts"]),
        )
