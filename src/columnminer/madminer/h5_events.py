"""MadMiner HDF5 event files streamed chunk by chunk into an EventStore (weights, samples, nuisance weights)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputFormatError, StoreMismatchError
from ..io.provenance import file_identity
from ..io.store import EventStore
from ..nuisances import nominal_weights
from ..setup import AnalysisSetup
from .h5_setup import (
    MadMinerLayout,
    check_madminer_layout,
    open_h5,
    read_madminer_layout,
    read_madminer_setup,
)

__all__ = ["import_madminer", "nuisance_column_map", "sampling_factors"]

logger = logging.getLogger(__name__)

#: Events per chunk read from the HDF5 file and appended to the store, by default.
CHUNK_SIZE = 100_000


def sampling_factors(layout: MadMinerLayout, path: str = "<file>") -> np.ndarray:
    r"""MadMiner's per-sample factors :math:`f_s = N_s / \sum_b N_b` (signal generated at benchmark s) and
    :math:`f = 1` (background, last entry), shape [n_physics_benchmarks + 1].

    MadMiner normalises every sample to the full cross section and multiplies by :math:`f_s` when it reads
    (``DataAnalyzer._calculate_sampling_factors``); a columnminer store holds the weights with the factor
    applied, so that :math:`\sigma(\theta) = \sum_z w(z|\theta)` over all events. A file without a sample
    summary gets factors 1 (with a warning).

    Example:
        >>> layout = MadMinerLayout(["sm", "bsm"], [False, False], "sm", signal_events=[300, 100])
        >>> sampling_factors(layout).tolist()
        [0.75, 0.25, 1.0]
    """
    n_physics = len(layout.physics_benchmarks)
    events = np.asarray(layout.signal_events, dtype=np.float64)
    if events.size == 0 or events.sum() == 0:
        logger.warning("%s: no sample summary ('sample_summary/signal_events'): sampling factors 1", path)
        return np.ones(n_physics + 1)
    if events.size != n_physics:
        raise InputFormatError(
            f"{path}: field 'sample_summary/signal_events' has {events.size} entries for {n_physics} benchmarks",
            path=path,
            field="sample_summary/signal_events",
        )
    return np.append(events / events.sum(), 1.0)


def nuisance_column_map(setup: AnalysisSetup, layout: MadMinerLayout, path: str = "<file>") -> list[int]:
    """For every ``nuisance_weights`` column of ``setup``, the index of MadMiner's weight column that holds it.

    MadMiner's nuisance parameter of a systematic names the benchmark at nu = +1 (norm; scale up) and
    nu = -1 (scale down). Raises :class:`~columnminer.errors.StoreMismatchError` naming the file, the
    systematic and what the file declares.

    Example:
        >>> from columnminer.setup import AnalysisSetup
        >>> setup = AnalysisSetup()
        >>> _ = setup.add_parameter("x", 1, name="a")
        >>> _ = setup.add_systematics("scale", "mu")
        >>> layout = MadMinerLayout(["sm", "u", "d"], [False, True, True], "sm", [("mu_0", "mu", "u", "d")])
        >>> nuisance_column_map(setup, layout)
        [1, 2]
    """
    by_systematic: dict[str, list[str]] = {}
    for _, systematic, pos, neg in layout.nuisance_parameters:
        by_systematic.setdefault(systematic, []).extend(b for b in (pos, neg) if b is not None)
    columns = []
    for systematic in setup.systematics:
        if systematic.name not in by_systematic:
            raise StoreMismatchError(
                f"{path}: systematic {systematic.name!r} has no nuisance parameter in 'nuisance_parameters' "
                f"(the file declares {layout.nuisance_parameters})"
            )
        wanted = by_systematic[systematic.name]
        if len(wanted) != len(systematic.column_names):
            raise StoreMismatchError(
                f"{path}: systematic {systematic.name!r} needs {len(systematic.column_names)} nuisance benchmarks "
                f"({systematic.column_names}), the file's nuisance parameters give {wanted}"
            )
        missing = [n for n in wanted if n not in layout.benchmark_names]
        if missing:
            raise StoreMismatchError(
                f"{path}: nuisance benchmark(s) {missing} of systematic {systematic.name!r} are not in "
                f"'benchmarks/names' {layout.benchmark_names}"
            )
        columns.extend(layout.benchmark_names.index(n) for n in wanted)
    return columns


def _convert_chunk(
    raw: np.ndarray, ids: np.ndarray, factors: np.ndarray, physics: np.ndarray, nuisance: list[int], ref: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """MadMiner weights of one chunk -> store weights (x f_s) and nuisance weights relative to the nominal.

    MadMiner's nuisance weights are rescaled to the reference benchmark; columnminer keeps them relative to
    the event's nominal weight: :math:`w_k^{cm} = f_s\\, w_k^{mm}\\, w_{s}(z) / w_{ref}(z)`, so that
    :math:`\\log(w_k / w_0)` is the same in both.
    """
    factor = factors[ids][:, None]
    weights = raw[:, physics] * factor
    if not nuisance:
        return weights, None
    nominal = nominal_weights(raw[:, physics], ids)
    reference = raw[:, ref]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reference != 0.0, nominal / reference, 0.0)
    return weights, raw[:, nuisance] * ratio[:, None] * factor


def import_madminer(
    path: str | os.PathLike,
    store_url: str,
    chunk_size: int = CHUNK_SIZE,
    setup: AnalysisSetup | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], Any] | None = None,
) -> EventStore:
    r"""Stream the events of a MadMiner HDF5 file (``LHEReader.save`` / ``DelphesReader.save`` /
    ``combine_and_shuffle``) into a new :class:`~columnminer.io.store.EventStore`, ``chunk_size`` events at
    a time (h5py slices: a file larger than memory streams).

    The store gets the setup of :func:`~columnminer.madminer.h5_setup.read_madminer_setup` (or ``setup``,
    which must describe the same parameters and benchmarks), the observables by MadMiner's names, the
    physics weights in pb per event with MadMiner's sampling factors applied (see :func:`sampling_factors`:
    :math:`\sigma(\theta) = \sum_z w(z|\theta)` equals ``DataAnalyzer.xsecs``), ``sampled_from`` (MadMiner's
    ``sampling_benchmarks``; -1 background) and the nuisance weights (see :func:`nuisance_column_map`).
    Every chunk records its provenance ``{"madminer": path, "file": identity, "events": [start, stop]}``, so
    importing the same events twice is refused. ``progress(done, total)`` is called after every chunk.

    Example:
        >>> import tempfile
        >>> from columnminer.madminer.h5_write import _demo_events_file
        >>> store = import_madminer(_demo_events_file(), tempfile.mkdtemp() + "/s.zarr", chunk_size=50)
        >>> store.n_events, store.observable_names
        (120, ['x0', 'x1'])
    """
    path = os.fspath(path)
    file_setup = read_madminer_setup(path)
    if setup is None:
        setup = file_setup
    elif [p.name for p in setup.parameter_space.parameters.values()] != file_setup.parameter_names or (
        setup.benchmark_names != file_setup.benchmark_names
    ):
        raise StoreMismatchError(
            f"{path}: the given setup (parameters {setup.parameter_names}, benchmarks {setup.benchmark_names}) "
            f"does not match the file's (parameters {file_setup.parameter_names}, benchmarks "
            f"{file_setup.benchmark_names})"
        )
    identity = file_identity(path)
    with open_h5(path) as handle:
        check_madminer_layout(handle, path)
        layout = read_madminer_layout(handle, path)
        for name in ("samples/observations", "samples/weights", "samples/sampling_benchmarks"):
            if name not in handle:
                raise InputFormatError(
                    f"{path}: field '{name}' is missing: a setup file without events", path=path
                )
        observations, weights = handle["samples/observations"], handle["samples/weights"]
        ids = handle["samples/sampling_benchmarks"]
        n_events = observations.shape[0]
        if weights.shape != (n_events, len(layout.benchmark_names)) or ids.shape[0] != n_events:
            raise InputFormatError(
                f"{path}: field 'samples/weights' has shape {weights.shape}, expected ({n_events}, "
                f"{len(layout.benchmark_names)}) for benchmarks {layout.benchmark_names}",
                path=path,
                field="samples/weights",
            )
        physics = np.array([layout.benchmark_names.index(b) for b in setup.benchmark_names])
        nuisance = nuisance_column_map(setup, layout, path)
        reference = layout.benchmark_names.index(layout.reference_benchmark or setup.benchmark_names[0])
        factors = sampling_factors(layout, path)
        names = layout.observable_names or [f"x{i}" for i in range(observations.shape[1])]
        store = EventStore.create(store_url, setup, names, chunk_size=chunk_size, overwrite=overwrite)
        with store.writing():
            for start in range(0, n_events, int(chunk_size)):
                stop = min(start + int(chunk_size), n_events)
                chunk_ids = np.asarray(ids[start:stop], dtype=np.int64)
                w, nu = _convert_chunk(
                    np.asarray(weights[start:stop]), chunk_ids, factors, physics, nuisance, reference
                )
                source = {"madminer": path, "file": identity, "events": [start, stop]}
                store.append(observations[start:stop], w, chunk_ids, nuisance_weights=nu, source=source)
                if progress is not None:
                    progress(stop, n_events)
    logger.info("%s: %d events imported into %s", path, n_events, store_url)
    return store
