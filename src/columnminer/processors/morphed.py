r"""Morphed event weights for a coffea user's own processor: one O(chunk) read of the chunk's LHE weights.

:class:`MorphedWeights` is what a coffea user adds to a processor of their own to get columnminer's weights
at many parameter points: called with the events coffea delivers (Delphes NanoEvents, or any events whose
``metadata`` names the file and entry range), it reads the benchmark weights of exactly that chunk's events
from the matching LHE file -- through the file's event-offset index (:func:`columnminer.io.lhe.
event_offsets`), so a chunk costs O(chunk), and every LHE event is read once over a run -- and returns
:math:`w(z|\theta_t) = \sum_b c_b(\theta_t)\, w_b(z)` [n_events, T] in pb (:mod:`columnminer.weights`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ProcessorError
from ..hists import theta_axis
from ..io import lhe_ranges
from ..setup import AnalysisSetup
from ..weights import theta_coefficients, weights_at
from ._thetas import theta_items
from .fileset import chunk_metadata

__all__ = ["MorphedWeights"]

logger = logging.getLogger(__name__)

#: Per LHE file on this process: (event offsets, weight factor), so a worker scans each file once.
_INDEX: dict[tuple[str, str | None], tuple[np.ndarray, float]] = {}


def _lhe_index(path: str, event_norm: str | None) -> tuple[np.ndarray, float]:
    """The event offsets of an LHE file and the factor that makes its weights pb per event (cached)."""
    key = (path, event_norm)
    if key not in _INDEX:
        from ..io.lhe import event_offsets, read_lhe_header, weight_scale_factor

        offsets = event_offsets(path)
        factor = weight_scale_factor(read_lhe_header(path), n_events=len(offsets), event_norm=event_norm)
        _INDEX[key] = (offsets, factor)
    return _INDEX[key]


class MorphedWeights:
    r"""Weights at ``thetas`` of the events of a chunk, from the benchmark weights of its LHE file (pb).

    ``thetas`` follow :mod:`columnminer.thetas` (names are benchmarks, numbers are points; a [T, P] array is
    T points). The LHE partner of a Delphes file comes from ``lhe_paths`` (``{delphes_file: lhe_file}``,
    indexed here, once) or from the chunk's metadata, the file-set convention of
    :func:`~columnminer.processors.fileset.normalize_fileset` (``"lhe_paths"`` or ``"lhe_path"`` in the
    dataset's metadata; indexed on the worker, once per file). Delphes keeps the LHE order, so event
    ``entrystart + i`` of the chunk is LHE event ``entrystart + i``. The weights are normalised so that the
    events of the file sum to its cross section (:func:`columnminer.io.lhe.weight_scale_factor`, the
    normalisation of :func:`~columnminer.samples.analyse_samples` for one sample), times ``k_factor``.
    :attr:`axis` is the matching ``theta`` axis of :mod:`columnminer.hists`; :attr:`events_read` counts the
    LHE events this instance read (on this process).

    Example:
        >>> import awkward as ak
        >>> from columnminer.io.lhe import example_lhe_file
        >>> from columnminer.processors._examples import lhe_example_setup
        >>> morphed = MorphedWeights(lhe_example_setup(), ["sm"], {"d.root": example_lhe_file()})
        >>> events = ak.Array([{"x": 1}], attrs={"coffea_metadata": {"filename": "d.root", "entrystart": 1,
        ...                                                           "entrystop": 2}})
        >>> morphed(events).tolist(), list(morphed.axis)
        ([[1.0]], ['sm'])
    """

    def __init__(
        self,
        setup: AnalysisSetup,
        thetas: Any,
        lhe_paths: Mapping[str, str] | None = None,
        weight_mapping: Mapping[str, str] | None = None,
        event_norm: str | None = None,
        k_factor: float = 1.0,
    ) -> None:
        items = theta_items(setup, thetas)
        self.benchmarks = list(setup.benchmark_names)
        self.coefficients = theta_coefficients(setup, items)
        self.axis = theta_axis(setup, items)
        self.lhe_paths = {str(k): str(v) for k, v in dict(lhe_paths or {}).items()}
        self.weight_mapping = dict(weight_mapping or {})
        self.event_norm = event_norm
        self.k_factor = float(k_factor)
        self.events_read = 0
        self._index = {path: _lhe_index(path, event_norm) for path in self.lhe_paths.values()}

    def lhe_path(self, metadata: Mapping[str, Any]) -> str:
        """The LHE file of a chunk: from ``lhe_paths``, else the chunk's ``lhe_paths`` / ``lhe_path`` metadata."""
        filename = str(metadata.get("filename"))
        path = self.lhe_paths.get(filename) or dict(metadata.get("lhe_paths") or {}).get(filename)
        path = path or metadata.get("lhe_path")
        if path is None:
            raise ProcessorError(
                f"{filename}: no LHE file for its benchmark weights; give MorphedWeights(..., lhe_paths="
                "{delphes_file: lhe_file}) or 'lhe_paths' in the dataset's metadata"
            )
        return str(path)

    def benchmark_weights(self, events: Any) -> np.ndarray:
        """The benchmark weights [n_events, B] (pb) of the chunk's events, read once from its LHE file."""
        from ..io.lhe import benchmark_weights

        meta = chunk_metadata(events)
        start, stop = int(meta["entrystart"]), int(meta["entrystop"])
        if len(events) != stop - start:
            raise ProcessorError(f"{meta.get('filename')}: {len(events)} events for entries {start}..{stop}")
        path = self.lhe_path(meta)
        offsets, factor = self._index.get(path) or _lhe_index(path, self.event_norm)
        if stop > len(offsets):
            raise ProcessorError(
                f"{meta.get('filename')}: entries up to {stop}, but {path} has {len(offsets)}"
            )
        span = lhe_ranges.lhe_byte_range(offsets, start, stop)
        lhe = lhe_ranges.read_lhe_range(path, start, stop, byte_range=span)
        self.events_read += len(lhe)
        weights = benchmark_weights(lhe, self.benchmarks, self.weight_mapping, path=path)
        return weights * (factor * self.k_factor)

    def __call__(self, events: Any) -> np.ndarray:
        """The weights [n_events, T] (pb) of the chunk's events at the thetas."""
        return weights_at(self.benchmark_weights(events), self.coefficients)
