"""An EventStore written as a MadMiner 0.9 HDF5 event file that MadMiner's DataAnalyzer, SampleAugmenter and
FisherInformation read."""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..io.store import EventStore
from ..nuisances import nominal_weights
from ..setup import AnalysisSetup
from .h5_setup import EMPTY_EXPR, open_h5, write_dataset, write_madminer_setup

__all__ = ["export_madminer", "store_sampling_factors"]

logger = logging.getLogger(__name__)


def store_sampling_factors(store: EventStore) -> tuple[np.ndarray, np.ndarray, int]:
    r"""The events per benchmark of a store (``sampled_from`` counts), its number of background events, and
    MadMiner's sampling factors :math:`f_b = N_b / \sum_c N_c` (last entry 1, background) that
    :func:`export_madminer` divides the weights by.

    Example:
        >>> from columnminer.madminer.h5_write import _demo_store
        >>> counts, background, factors = store_sampling_factors(_demo_store())
        >>> counts.tolist(), background, factors.round(3).tolist()
        ([60, 40, 0, 0, 0, 0], 20, [0.6, 0.4, 0.0, 0.0, 0.0, 0.0, 1.0])
    """
    n_benchmarks = store.setup.parameter_space.n_benchmarks
    counts = np.zeros(n_benchmarks + 1, dtype=np.int64)
    for _, chunk in store.iter_chunks(("sampled_from",)):
        counts += np.bincount(chunk["sampled_from"].astype(np.int64) + 1, minlength=n_benchmarks + 1)
    signal, background = counts[1:], int(counts[0])
    total = signal.sum()
    factors = np.append(signal / total if total else np.ones(n_benchmarks), 1.0)
    return signal, background, factors


def export_madminer(
    store: EventStore | str,
    path: str | os.PathLike,
    overwrite: bool = False,
    progress: Callable[[int, int], Any] | None = None,
) -> Path:
    r"""Write a store as a MadMiner HDF5 event file: setup
    (:func:`~columnminer.madminer.h5_setup.write_madminer_setup`),
    observables (names; definitions ``"None"``), events chunk by chunk and the sample summary.

    Weights are divided by MadMiner's sampling factors (:func:`store_sampling_factors`), which MadMiner
    multiplies back when it reads, and nuisance weights are rescaled to the reference (first) benchmark,
    :math:`w_k^{mm} = w_k\, w_{ref}(z) / w_0(z)`: MadMiner 0.9.6's ``DataAnalyzer.xsecs``,
    ``FisherInformation.truth_information`` and ``SampleAugmenter`` then give columnminer's numbers
    (benchmarks/madminer_io.py checks it). The file is written to a temporary name and renamed when complete.

    Example:
        >>> import tempfile
        >>> from columnminer.madminer.h5_write import _demo_store
        >>> out = export_madminer(_demo_store(), tempfile.mkdtemp() + "/events.h5")
        >>> out.name
        'events.h5'
    """
    if not isinstance(store, EventStore):
        store = EventStore.open(str(store))
    path = Path(path)
    if path.exists() and not overwrite:
        raise StoreError(f"{path}: the file exists already (pass overwrite=True to replace it)")
    signal, background, factors = store_sampling_factors(store)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open_h5(partial, "w") as handle:
            write_madminer_setup(store.setup, handle, store.nuisance_benchmark_names)
            _write_events(store, handle, factors, progress)
            write_dataset(handle, "sample_summary/signal_events", signal)
            write_dataset(handle, "sample_summary/background_events", background)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("%s: %d events written in MadMiner's format", path, store.n_events)
    return path


def _write_events(store: EventStore, handle: Any, factors: np.ndarray, progress: Callable | None) -> None:
    n, n_obs = store.n_events, len(store.observable_names)
    n_columns = len(store.benchmark_names) + len(store.nuisance_benchmark_names)
    write_dataset(handle, "observables/names", store.observable_names, strings=True)
    write_dataset(handle, "observables/definitions", [EMPTY_EXPR] * n_obs, strings=True)
    observations = handle.create_dataset("samples/observations", shape=(n, n_obs), dtype="f8")
    weights = handle.create_dataset("samples/weights", shape=(n, n_columns), dtype="f8")
    ids = handle.create_dataset("samples/sampling_benchmarks", shape=(n,), dtype="i8")
    names = ("observables", "weights", "sampled_from") + (
        ("nuisance_weights",) if store.nuisance_benchmark_names else ()
    )
    for start, chunk in store.iter_chunks(names):
        stop = start + len(chunk["sampled_from"])
        sampled = chunk["sampled_from"].astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = chunk["weights"] / factors[sampled][:, None]
        columns = [w]
        if "nuisance_weights" in chunk:
            nominal = nominal_weights(chunk["weights"], sampled)
            ratio = np.where(nominal != 0.0, chunk["weights"][:, 0] / nominal, 0.0)
            columns.append(chunk["nuisance_weights"] * (ratio / factors[sampled])[:, None])
        observations[start:stop] = chunk["observables"]
        weights[start:stop] = np.hstack(columns)
        ids[start:stop] = sampled
        if progress is not None:
            progress(stop, n)


# -- small demo files for the examples -------------------------------------------------------------------
def _demo_setup() -> AnalysisSetup:
    setup = AnalysisSetup()
    _ = setup.add_parameter("anoinputs", 2, name="a", morphing_max_power=2, parameter_range=(-1, 1))
    _ = setup.add_parameter("anoinputs", 3, name="b", morphing_max_power=2, parameter_range=(-1, 1))
    _ = setup.add_benchmark({"a": 0.0, "b": 0.0}, name="sm")
    _ = setup.add_benchmark({"a": 0.5, "b": -0.5}, name="bsm")
    setup.set_morphing(max_overall_power=2, seed=0, n_trials=5, refine=False)
    _ = setup.add_systematics("scale", "scale")
    return setup


@functools.lru_cache(maxsize=1)
def _demo_store() -> EventStore:
    """A store of 120 events (60 at sm, 40 at bsm, 20 background) with a scale systematic."""
    setup = _demo_setup()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    points = setup.parameter_space.benchmark_array()
    w = 1e-3 * (1 + x[:, :1] * points[None, :, 0] + x[:, 1:] * points[None, :, 1]) ** 2 / 120 + 1e-6
    nu = w[:, :1] * np.hstack([1.1 + 0.0 * x[:, :1], 0.9 + 0.0 * x[:, :1]])
    store = EventStore.create(tempfile.mkdtemp() + "/demo.zarr", setup, ["x0", "x1"], chunk_size=50)
    sampled = np.repeat([0, 1, -1], [60, 40, 20]).astype(np.int16)
    store.append(x, w, sampled, nuisance_weights=nu, source="demo")
    return store


@functools.lru_cache(maxsize=1)
def _demo_events_file() -> str:
    """The demo store exported as a MadMiner event file."""
    return str(export_madminer(_demo_store(), tempfile.mkdtemp() + "/events.h5"))


def _demo_setup_file() -> str:
    return _demo_events_file()
