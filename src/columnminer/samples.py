r"""Samples and ``analyse_samples``: simulated files -> event model -> analysis -> EventStore, chunk by chunk.

Normalisation (MadMiner's convention). Each file's weights are first scaled so that they sum to its
cross section (:func:`columnminer.io.lhe.weight_scale_factor`, from the run card's ``event_norm``), then
multiplied by the ``k_factor``. Samples of the same ``process`` (by default: all signal samples form one
process, each background file its own) are then mixed: a sample with :math:`n_s` of the process's
:math:`n_p` events is weighted by :math:`n_s / n_p`, so that the weights of the whole process sum to its
cross section and every event estimates it equally. Background samples carry their nominal event
weight in every benchmark column.

Systematics. When the setup has systematics, every event also gets one ``nuisance_weights`` column per
nuisance benchmark (:attr:`~columnminer.setup.AnalysisSetup.nuisance_benchmark_names`). A sample that
lists a systematic (``Sample.systematics``) gets its varied weight there: norm, the nominal weight times
``norm_variation``; scale and PDF, the LHE weight of the variation
(:func:`columnminer.io.lhe_systematics.variation_weight_ids`), normalised and k-factored like the
benchmark weights. A PDF member is measured against its error set's central member :math:`w_c` rather than
the generation weight: the column holds :math:`w_k w_0 / w_c`, so that its log variation is
:math:`\log(w_k / w_c)` (:func:`columnminer.systematics.relative_to_reference`; no central member in the
header: :math:`w_k`). A sample without it gets the nominal weight (no variation). The nominal weight is the
event's weight at the benchmark it was sampled from, or its background weight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from .analysis import Analysis
from .chunks import ChunkTask, analyse_delphes_chunk, analyse_lhe_chunk
from .compute import active_client, compute
from .errors import (
    AnalysisError,
    DuplicateSourceError,
    InputFormatError,
    MissingVariationError,
    ParameterSpaceError,
    StoreError,
    StoreMismatchError,
)
from .io.provenance import file_identity, file_key, missing_ranges, split_ranges
from .io.store import EventStore
from .setup import AnalysisSetup
from .systematics import Systematic

__all__ = [
    "AnalysisSummary",
    "PlannedSample",
    "Sample",
    "analyse_samples",
    "committed_ranges",
    "plan_samples",
    "store_metadata",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One simulated file and how its events enter the analysis.

    Attributes:
        path: LHE file (plain or gzip), or Delphes ROOT output (``.root``).
        sampled_from_benchmark: the benchmark the events were generated at (signal samples).
        is_background: theta-independent sample: its nominal weight goes to every benchmark column.
        k_factor: multiplies every weight (higher-order corrections).
        weight_mapping: ``{benchmark: weight_id}`` where the file's weight ids are not the benchmark names.
        event_norm: override of the file's ``event_norm`` (``"average"``, ``"sum"``, ``"unity"``).
        process: samples sharing a process name are mixed as one process (see the module docstring).
        transform: ``events -> events`` applied before the analysis, e.g. detector smearing.
        lhe_path: for Delphes samples, the LHE file the events came from (same order): its header sets the
            normalisation and its weights give the benchmark weights. Without it, a Delphes sample must be
            background and uses the Delphes event weight (``event_norm`` "average" unless told otherwise).
        systematics: names of the setup's systematics that apply to this sample (MadMiner's
            ``add_sample(systematics=...)``); the others leave its nuisance columns at the nominal weight.
            A systematic whose ``samples`` names this sample's path, file name or process applies too.
        invalid: ``"raise"`` (default): an LHE event with invalid content (NaN momenta, a bad particle
            line...) is an error naming the file, event, line and field; ``"drop"``: such events are left
            out, counted in :attr:`AnalysisSummary.n_dropped` and logged.

    Example:
        >>> sample = Sample("delphes.root", "sm", lhe_path="signal.lhe.gz", k_factor=1.2)
        >>> sample.is_delphes, sample.process_name, sample.settings()["k_factor"]
        (True, 'signal', 1.2)
    """

    path: str
    sampled_from_benchmark: str | None = None
    is_background: bool = False
    k_factor: float = 1.0
    weight_mapping: Mapping[str, str] | None = None
    event_norm: str | None = None
    process: str | None = None
    transform: Callable[[ak.Array], ak.Array] | None = field(default=None, compare=False)
    lhe_path: str | None = None
    systematics: Sequence[str] = ()
    invalid: str = "raise"

    def __post_init__(self) -> None:
        if self.invalid not in ("raise", "drop"):
            raise ParameterSpaceError(f"{self.path}: invalid must be 'raise' or 'drop', got {self.invalid!r}")
        names = (self.systematics,) if isinstance(self.systematics, str) else self.systematics
        object.__setattr__(self, "systematics", tuple(str(name) for name in names))

    @property
    def is_delphes(self) -> bool:
        """Delphes ROOT output (read with :func:`columnminer.io.delphes.read_delphes`) rather than LHE."""
        return str(self.path).endswith(".root")

    def settings(self) -> dict[str, Any]:
        """How this sample's events enter a store (compared with what the store already holds of its file)."""
        key: dict[str, Any] = {
            "sampled_from": self.sampled_from_benchmark,
            "background": self.is_background,
            "k_factor": self.k_factor,
        }
        if self.systematics:
            key["systematics"] = [str(name) for name in self.systematics]
        return key

    def has_systematic(self, systematic: Systematic) -> bool:
        """Whether ``systematic`` applies to this sample (listed here, or naming this sample itself).

        Example:
            >>> sample = Sample("signal.lhe.gz", "sm", systematics="lumi")
            >>> sample.has_systematic(Systematic("lumi", "norm")), sample.has_systematic(Systematic("mu", "scale"))
            (True, False)
        """
        names = {str(self.path), Path(self.path).name, self.process_name}
        return systematic.name in self.systematics or bool(names & set(systematic.samples))

    @property
    def process_name(self) -> str:
        if self.process is not None:
            return self.process
        return f"background:{self.path}" if self.is_background else "signal"


@dataclass
class AnalysisSummary:
    """Events read and kept per sample, and pass counts per definition (summed over chunks).

    Example:
        >>> summary = AnalysisSummary({"s.lhe": 10}, {"s.lhe": 8}, counts={"s.lhe": {"pt > 10": (10, 8)}})
        >>> summary.table().splitlines()[0]
        's.lhe: 8 of 10 events kept'
    """

    n_read: dict[str, int] = field(default_factory=dict)
    n_kept: dict[str, int] = field(default_factory=dict)
    n_dropped: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    skipped_chunks: int = 0

    def table(self) -> str:
        """A plain-text table of the pass counts, one block per sample."""
        lines = []
        for path, counts in self.counts.items():
            dropped = self.n_dropped.get(path, 0)
            note = f" ({dropped} invalid events dropped)" if dropped else ""
            lines.append(
                f"{path}: {self.n_kept.get(path, 0)} of {self.n_read.get(path, 0)} events kept{note}"
            )
            for name, (total, passed) in counts.items():
                lines.append(f"    {name:40s} {passed:>10d} / {total:<10d}")
        return "\n".join(lines)


@dataclass(frozen=True)
class PlannedSample:
    """A sample checked against a store's setup: its normalisation, file identity and event count.

    ``factor`` multiplies the file's weights (normalisation x k-factor x process fraction);
    ``identity`` is the file's content identity (:func:`columnminer.io.provenance.file_identity`) and
    ``check`` the provenance note of the benchmark check of its header.

    Example:
        >>> planned = PlannedSample(Sample("s.lhe", "sm"), 0.5, 0, (), {"size": 10}, 4)
        >>> planned.source(0, 2)["events"], planned.settings()["factor"]
        ([0, 2], 0.5)
    """

    sample: Sample
    factor: float
    sampled_from: int
    nuisance: tuple[tuple[str, str, Any], ...]
    identity: dict[str, Any]
    n_events: int
    check: dict[str, Any] = field(default_factory=dict)
    #: offsets of the events of its LHE file (the sample's, or a Delphes sample's ``lhe_path``), scanned once
    lhe_offsets: np.ndarray | None = field(default=None, compare=False, repr=False)

    def settings(self) -> dict[str, Any]:
        """The sample's settings plus its weight factor: all the store's chunks of one file must agree."""
        return {**self.sample.settings(), "factor": float(self.factor)}

    def source(self, start: int, stop: int, **extra: Any) -> dict[str, Any]:
        """The store provenance record of events ``start:stop`` of this sample's file."""
        record = {
            "sample": str(self.sample.path),
            "file": dict(self.identity),
            "events": [int(start), int(stop)],
            **self.settings(),
            **extra,
        }
        if self.check:
            record["benchmark_check"] = self.check
        return record


def committed_ranges(store: EventStore, planned: PlannedSample) -> list[tuple[int, int]]:
    """Event ranges of ``planned``'s file that ``store`` already holds; raises
    :class:`~columnminer.errors.DuplicateSourceError` (nothing written) if the store holds events of that
    file with other settings (another benchmark, k-factor, normalisation) or from an older columnminer that
    recorded no event ranges.

    Example:
        >>> import tempfile
        >>> from columnminer.io.lhe import example_lhe_file
        >>> from columnminer.processors._examples import lhe_example_setup
        >>> setup = lhe_example_setup()
        >>> planned = plan_samples([Sample(example_lhe_file(), "sm")], setup)[0][0]
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", setup, ["x"])
        >>> _ = store.append(np.zeros((1, 1)), np.ones((1, 1)), 0, source=planned.source(0, 1))
        >>> committed_ranges(store, planned)
        [(0, 1)]
    """
    path = planned.sample.path
    for item in store.sources:
        source = item.get("source")
        if isinstance(source, Mapping) and source.get("sample") == str(path) and "file" not in source:
            raise DuplicateSourceError(
                f"{store.url}: holds chunks of {path} recorded without event ranges (an older columnminer); "
                "which of its events are there cannot be told: analyse into a new store"
            )
    ranges = []
    settings = planned.settings()
    for start, stop, source in store.committed_ranges(file_key(planned.identity)):
        held = {key: source.get(key) for key in settings}
        if held != settings:
            changed = {key: (held[key], settings[key]) for key in settings if held[key] != settings[key]}
            raise DuplicateSourceError(
                f"{store.url}: holds events {start}..{stop} of {path} (same content as "
                f"{source['file'].get('path')}) with other settings {changed} (store value, this run): adding "
                "its other events would mix two normalisations; nothing was written"
            )
        ranges.append((start, stop))
    return ranges


def store_metadata(analysis: Analysis, sampling_fractions: Mapping[str, float]) -> dict[str, Any]:
    """What a store filled by ``analysis`` records for the steps after it (plots, samplers): the signal
    ``sampling_fractions``, ``cuts`` (the cut names, in order) and, where the analysis provides it,
    ``observable_info`` (``{name: {"label", "unit"}}``, from ``Analysis.observable_info()``).

    Example:
        >>> analysis = Analysis()
        >>> analysis.add_cut(lambda ev: ev.x > 0, name="x > 0")
        >>> store_metadata(analysis, {"0": 1.0})["cuts"]
        ['x > 0']
    """
    out: dict[str, Any] = {
        "sampling_fractions": dict(sampling_fractions),
        "cuts": [cut.name for cut in analysis.cuts],
    }
    info = getattr(analysis, "observable_info", None)
    if callable(info):
        out["observable_info"] = info()
    return out


def _delphes_entries(path: str) -> int:
    """Number of events of a Delphes file (after the reader's checks of the file)."""
    import uproot

    from .io.delphes import read_delphes

    read_delphes(path, entry_start=0, entry_stop=0)
    with uproot.open(path) as handle:
        return int(handle["Delphes"].num_entries)


def _column_plan(systematic: Systematic, column: str, member: str | None, reference: str | None) -> tuple:
    """How one nuisance column of a sample the systematic applies to is filled (see :class:`ChunkTask`)."""
    if systematic.effect == "norm":
        return (column, "norm", float(systematic.norm_variation))
    if member is None:
        return (column, "nominal", None)
    if reference is not None:
        return (column, "pdf", (member, reference))  # against the error set's central member
    return (column, "weight", member)


def _nuisance_plan(
    sample: Sample, systematics: Sequence[Systematic], header: Any
) -> tuple[tuple[str, str, Any], ...]:
    """How each nuisance column of ``sample`` is filled; a variation its file lacks raises here."""
    from .io.lhe_systematics import reference_weight_ids, variation_weight_ids

    plan: list[tuple[str, str, Any]] = []
    for systematic in systematics:
        applies = sample.has_systematic(systematic)
        ids: dict[str, str | None] = {}
        references: dict[str, str | None] = {}
        if applies and systematic.effect != "norm":
            if header is None:
                raise MissingVariationError(
                    f"{sample.path}: systematic {systematic.name!r} ({systematic.effect}) needs LHE variation "
                    "weights, but this Delphes sample has no lhe_path",
                    path=sample.path,
                    field=systematic.name,
                )
            ids = variation_weight_ids(header, systematic)
            references = reference_weight_ids(header, systematic)
        for column in systematic.column_names:
            if not applies:
                plan.append((column, "nominal", None))
            else:
                plan.append(_column_plan(systematic, column, ids.get(column), references.get(column)))
    return tuple(plan)


def _inspect_sample(
    sample: Sample, setup: AnalysisSetup, systematics: Sequence[Systematic]
) -> tuple[int, np.ndarray | None, Any, dict[str, Any], tuple[tuple[str, str, Any], ...]]:
    """Check one sample against ``setup``: (events, offsets of its LHE file, LHE header or None, benchmark
    check note, nuisance plan)."""
    from .io.lhe import event_offsets, read_lhe_header
    from .io.lhe_benchmarks import check_sample_benchmarks

    space = setup.parameter_space
    known = [s.name for s in setup.systematics]
    unknown = [name for name in sample.systematics if name not in known]
    if unknown:
        raise ParameterSpaceError(
            f"{sample.path}: unknown systematic(s) {unknown}; the setup's systematics are {known}"
        )
    if not Path(sample.path).exists():
        raise InputFormatError(f"{sample.path}: no such file", path=sample.path)
    if not sample.is_background:
        if sample.sampled_from_benchmark is None:
            raise ParameterSpaceError(f"{sample.path}: a signal sample needs sampled_from_benchmark")
        space.benchmark_index(sample.sampled_from_benchmark)
    offsets = None
    if sample.is_delphes:
        n_events = _delphes_entries(sample.path)
        if sample.lhe_path is None and not sample.is_background:
            raise ParameterSpaceError(
                f"{sample.path}: a Delphes signal sample needs lhe_path (the LHE file with its benchmark weights)"
            )
        if sample.lhe_path is not None:
            offsets = event_offsets(sample.lhe_path)
            if len(offsets) != n_events:
                raise InputFormatError(
                    f"{sample.path} holds {n_events} events but its LHE file {sample.lhe_path} holds "
                    f"{len(offsets)}",
                    path=sample.path,
                )
    else:
        offsets = event_offsets(sample.path)
        n_events = len(offsets)
    lhe = sample.lhe_path if sample.is_delphes else sample.path
    header = None if lhe is None else read_lhe_header(lhe)
    if header is None:
        check = {"benchmark_check": "unverified", "reason": "no LHE header (Delphes background)"}
    else:
        check = check_sample_benchmarks(
            lhe,
            header,
            setup,
            sampled_from_benchmark=sample.sampled_from_benchmark,
            is_background=sample.is_background,
            weight_mapping=sample.weight_mapping,
        )
    return n_events, offsets, header, check, _nuisance_plan(sample, systematics, header)


def _weight_factor(sample: Sample, header: Any, n: int, n_process: int) -> float:
    """Normalisation x k-factor x fraction of its process for the ``n`` events of a sample."""
    from .io.lhe import weight_scale_factor

    if n == 0:
        raise InputFormatError(f"{sample.path}: the file holds no events", path=sample.path)
    if sample.is_delphes and sample.lhe_path is None:
        norm = (sample.event_norm or "average").lower()
        factor = {"average": 1.0 / n, "sum": 1.0}.get(norm)
        if factor is None:
            raise InputFormatError(f"{sample.path}: event_norm must be 'average' or 'sum', got {norm!r}")
    else:
        factor = weight_scale_factor(header, n_events=n, event_norm=sample.event_norm)
    return factor * sample.k_factor * n / n_process


def plan_samples(
    samples: Sequence[Sample], setup: AnalysisSetup, with_nuisance: bool = True
) -> tuple[list[PlannedSample], dict[str, float]]:
    """Check every sample against ``setup`` and plan how its events enter a store, before anything is read.

    Per sample: the file exists and has events, the benchmarks its header declares agree with ``setup``
    (:func:`columnminer.io.lhe_benchmarks.check_sample_benchmarks`), the weight factor (normalisation,
    k-factor, fraction of its process), the nuisance columns and the file's content identity. Also returns
    the fraction of the signal events generated at each benchmark (``{"<index>": fraction}``).

    Example:
        >>> from columnminer.io.lhe import example_lhe_file
        >>> from columnminer.processors._examples import lhe_example_setup
        >>> setup = lhe_example_setup()
        >>> planned, fractions = plan_samples([Sample(example_lhe_file(), "sm")], setup)
        >>> planned[0].n_events, planned[0].factor, fractions
        (2, 0.5, {'0': 1.0})
    """
    space = setup.parameter_space
    systematics = setup.systematics if with_nuisance else []
    inspected = [_inspect_sample(sample, setup, systematics) for sample in samples]
    per_process: dict[str, int] = {}
    for sample, (n, *_) in zip(samples, inspected, strict=True):
        per_process[sample.process_name] = per_process.get(sample.process_name, 0) + n
    fractions: dict[str, float] = {}
    plan = []
    for sample, (n, offsets, header, check, columns) in zip(samples, inspected, strict=True):
        n_process = per_process[sample.process_name]
        if not sample.is_background:
            key = str(space.benchmark_index(sample.sampled_from_benchmark))
            fractions[key] = fractions.get(key, 0.0) + n / n_process
        factor = _weight_factor(sample, header, n, n_process)
        sampled_from = -1 if sample.is_background else space.benchmark_index(sample.sampled_from_benchmark)
        identity = file_identity(sample.path)
        plan.append(PlannedSample(sample, factor, sampled_from, columns, identity, n, check, offsets))
        logger.info(
            "%s: %d events, weight factor %.6g, sampled_from %d", sample.path, n, factor, sampled_from
        )
    keys = [file_key(p.identity) for p in plan]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise DuplicateSourceError(
                f"{plan[i].sample.path}: the same file as {plan[keys.index(key)].sample.path} is given twice"
            )
    return plan, fractions


def _delayed_parts(planned: PlannedSample, ranges: list[tuple[int, int]], analysis: Analysis, benchmarks):
    """One dask.delayed analysis per event range of a planned sample."""
    import dask

    from .io.lhe_ranges import lhe_byte_range, read_lhe_range

    sample = planned.sample
    task = ChunkTask(sample, planned.factor, planned.sampled_from, benchmarks, planned.nuisance)
    lhe = sample.lhe_path if sample.is_delphes else sample.path
    offsets = planned.lhe_offsets
    out = []
    for start, stop in ranges:
        events = None
        if lhe is not None:
            span = lhe_byte_range(offsets, start, stop)
            events = dask.delayed(read_lhe_range)(lhe, start, stop, byte_range=span, invalid=sample.invalid)
        if sample.is_delphes:
            out.append(dask.delayed(analyse_delphes_chunk)(start, stop, events, task, analysis))
        else:
            out.append(dask.delayed(analyse_lhe_chunk)(events, task, analysis))
    return out


def analyse_samples(
    samples: Sequence[Sample],
    analysis: Analysis,
    store: EventStore,
    step_size: int = 100_000,
    client: Any = None,
    progress: bool = True,
) -> AnalysisSummary:
    """Analyse every sample chunk by chunk (one dask task per chunk) and append the survivors to ``store``.

    Events failing a required observable or a cut are dropped; efficiencies multiply the weights. Work runs
    on dask's threaded scheduler or on a ``distributed.Client`` (given or active); the client appends the
    results in file order, each chunk recorded with its file's content identity and exact event range.

    Reruns and identity: the events of a file that the store already holds are never read again; only the
    missing event ranges are analysed (cut into ``step_size`` pieces), whatever the step size of earlier
    runs. A file that the store holds with other settings (benchmark, k-factor, normalisation) is refused
    before anything is written (:class:`~columnminer.errors.DuplicateSourceError`). The benchmarks that each
    LHE header declares are checked against the store's setup first
    (:func:`~columnminer.io.lhe_benchmarks.check_sample_benchmarks`). The run holds the store's writer lock.

    The store's observable columns must be the analysis's observables. Give all samples of a process in one
    call: their normalisation is relative to each other, and the fraction of the signal events generated at
    each benchmark is recorded (``sampling_fractions``) so that samplers restricted to one benchmark's events
    can rescale them. A sample with no surviving events
    logs a warning with the pass counts of every definition; if no event survives at all an
    :class:`~columnminer.errors.AnalysisError` carries that table (the store stays valid). The store also
    records the analysis's cut names and observable labels and units (:func:`store_metadata`).

    Example:
        >>> import tempfile
        >>> from columnminer.io.lhe import example_lhe_file
        >>> from columnminer.processors._examples import lhe_example_setup
        >>> setup = lhe_example_setup()
        >>> analysis = Analysis()
        >>> analysis.add_observable("n", lambda ev: ak.num(ev.particles))
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", setup, ["n"])
        >>> path = example_lhe_file()
        >>> summary = analyse_samples([Sample(path, "sm")], analysis, store, progress=False)
        >>> store.read("weights").tolist(), summary.n_kept[path]
        ([[0.5], [1.0]], 2)
    """
    if int(step_size) < 1:
        raise AnalysisError(f"step_size must be a positive number of events, got {step_size}")
    if not store.writable:
        raise StoreError(f"{store.url}: opened read-only; open it with mode='a' to analyse samples into it")
    if store.observable_names != analysis.observable_names:
        raise AnalysisError(
            f"the store's observables {store.observable_names} differ from the analysis's {analysis.observable_names}"
        )
    if store.nuisance_benchmark_names != store.setup.nuisance_benchmark_names:
        raise StoreMismatchError(
            f"{store.url}: the store's nuisance columns {store.nuisance_benchmark_names} are not those of the "
            f"setup's systematics {store.setup.nuisance_benchmark_names}; analyse_samples cannot fill them"
        )
    benchmarks = tuple(store.benchmark_names)
    plan, fractions = plan_samples(samples, store.setup, with_nuisance=bool(store.nuisance_benchmark_names))
    summary = AnalysisSummary()
    client = active_client(client)
    batch = 2 * (len(client.scheduler_info()["workers"]) if client is not None else 2)
    with store.writing():
        todo = []
        for planned in plan:  # every check before the first write
            done = committed_ranges(store, planned)
            summary.skipped_chunks += len(done)
            todo.append(split_ranges(missing_ranges(planned.n_events, done), step_size))
        store.update_metadata(**store_metadata(analysis, fractions))
        for planned, ranges in zip(plan, todo, strict=True):
            _run_sample(planned, ranges, analysis, store, benchmarks, client, batch, progress, summary)
    logger.info("analysis summary:\n%s", summary.table())
    if (
        summary.n_read
        and sum(summary.n_read.values())
        and not sum(summary.n_kept.values())
        and not summary.skipped_chunks
    ):
        raise AnalysisError("no event survives the analysis in any sample:\n" + summary.table())
    return summary


def _run_sample(planned, ranges, analysis, store, benchmarks, client, batch, progress, summary) -> None:
    """Analyse the given event ranges of one planned sample and append them to the store in order."""
    path = planned.sample.path
    summary.n_read.setdefault(path, 0)
    summary.n_kept.setdefault(path, 0)
    summary.counts.setdefault(path, {})
    parts = _delayed_parts(planned, ranges, analysis, benchmarks)
    with tqdm(total=len(parts), disable=not progress, desc=Path(path).name, unit="chunk") as bar:
        for first in range(0, len(parts), batch):
            results = compute(*parts[first : first + batch], client=client)
            for (start, stop), result in zip(ranges[first : first + batch], results, strict=True):
                if result["n_read"] + result["n_dropped"] != stop - start:
                    raise InputFormatError(
                        f"{path}: read {result['n_read']} events for events {start}..{stop}", path=path
                    )
                store.append(
                    result["observables"],
                    result["weights"],
                    result["sampled_from"],
                    nuisance_weights=result["nuisance_weights"],
                    source=planned.source(start, stop),
                )
                summary.n_read[path] += result["n_read"]
                summary.n_dropped[path] = summary.n_dropped.get(path, 0) + result["n_dropped"]
                summary.n_kept[path] += len(result["weights"])
                merged = summary.counts[path]
                for name, (total, passed) in result["counts"].items():
                    t0, p0 = merged.get(name, (0, 0))
                    merged[name] = (t0 + total, p0 + passed)
                bar.update(1)
    if summary.n_read[path] and summary.n_kept[path] == 0:
        logger.warning("no event of %s survives the analysis:\n%s", path, summary.table())
