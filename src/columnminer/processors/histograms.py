r"""HistogramProcessor: hist histograms of observables at many thetas, morphed from per-bin benchmark-weight moments.

Per chunk and bin k the processor fills :math:`W_{kb} = \sum_{z\in k} w_b(z)` and
:math:`G_{kbc} = \sum_{z\in k} w_b(z) w_c(z)` (one hist fill per moment, so binning, flow bins and NaN follow
hist exactly); at the end every theta is one linear map, :math:`\sigma_k(\theta) = c(\theta)\cdot W_k` and
:math:`\mathrm{Var}_k(\theta) = c(\theta)^T G_k\, c(\theta) = \sum_{z\in k} w(z|\theta)^2` (the
:class:`~hist.storage.Weight` variance). The cost per chunk does not grow with the number of thetas.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import hist
import numpy as np

from ..display import array_summary, html_summary, text_summary
from ..errors import ProcessorError
from ..hists import theta_axis, theta_hist
from ..weights import morph_moments
from ._thetas import theta_table
from .accumulators import ChunkKey
from .base import ChunkProcessor
from .fileset import AnalysedChunk, FilesetPlan

__all__ = ["HistogramOutput", "HistogramProcessor", "morph_moments"]

logger = logging.getLogger(__name__)


@dataclass
class HistogramOutput:
    """Histograms at every theta in the package's convention (:mod:`columnminer.hists`): ``histograms[name]``
    is a ``hist.Hist`` with a first ``theta`` axis (``hist.axis.StrCategory`` of readable names, ``"sm"`` or
    ``"a2=0.5,a3=0"``, the values in its metadata) and the observable axes, Weight storage (sum of weights in
    pb and of squared weights); ``counts[name]`` the unweighted Monte Carlo entries per bin;
    ``thetas`` [T, P] the parameter values. ``moments[name]`` = (W [..., B], G [..., B, B]) over all bins
    including flow, for :meth:`at`.

    Example:
        >>> from columnminer.processors import HistogramProcessor, run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(200, seed=3)
        >>> out = run_fileset(fileset, HistogramProcessor(plan, ["sm", [0.5, 0.0]],
        ...                   {"m4l": hist.axis.Regular(5, 120, 130, name="m4l")}))
        >>> list(out["m4l"].axes["theta"]), out["m4l"][{"theta": "a2=0.5,a3=0"}].shape
        (['sm', 'a2=0.5,a3=0'], (5,))
        >>> list(out.at([[0.0, 0.5]])["m4l"].axes["theta"])
        ['a2=0,a3=0.5']
    """

    thetas: np.ndarray
    histograms: dict[str, hist.Hist]
    counts: dict[str, hist.Hist]
    moments: dict[str, tuple[np.ndarray, np.ndarray]]
    axes: dict[str, tuple[Any, ...]]
    setup: Any = field(repr=False)
    n_events: int = 0
    chunks: list[ChunkKey] | None = None

    def __getitem__(self, name: str) -> hist.Hist:
        return self.histograms[name]

    def _summary_rows(self) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = [("thetas", array_summary(self.thetas)), ("events", self.n_events)]
        for name, h in self.histograms.items():
            axes = ", ".join(f"{axis.name} ({len(axis)} bins)" for axis in h.axes[1:])
            rows.append((name, axes))
        return rows

    def __repr__(self) -> str:
        return text_summary("HistogramOutput", self._summary_rows())

    def _repr_html_(self) -> str:
        return html_summary("HistogramOutput", self._summary_rows())

    def at(self, thetas: Any) -> dict[str, hist.Hist]:
        """The same histograms morphed to other parameter points (no pass over the events)."""
        items, _, coefficients = theta_table(self.setup, thetas)
        axis = theta_axis(self.setup, items)
        return {
            name: _build(axis, self.axes[name], *self.moments[name], coefficients) for name in self.moments
        }


def _build(
    axis: hist.axis.StrCategory,
    axes: tuple[Any, ...],
    sums: np.ndarray,
    gram: np.ndarray,
    coefficients: np.ndarray,
) -> hist.Hist:
    """The theta histogram (flow bins included) morphed from the bin moments."""
    values, variances = morph_moments(sums, gram, coefficients)
    return theta_hist(axis, values, variances, axes)


class HistogramProcessor(ChunkProcessor):
    """Histograms of observables at many parameter points in one pass (see the module docstring).

    ``histograms`` maps a name to one hist axis or a tuple of axes; each axis's ``name`` is the observable it
    bins (an observable of the plan's analysis). Any hist axis works (Regular, Variable, Integer, categories)
    but growing axes (the bins must be the same in every chunk). ``thetas``: a [T, P] array, or benchmark
    names and points.

    Example:
        >>> from columnminer.processors import run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(500, seed=1)
        >>> thetas = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]])
        >>> out = run_fileset(fileset, HistogramProcessor(plan, thetas, {"m4l": hist.axis.Regular(10, 120, 130,
        ...                   name="m4l")}), chunksize=200)
        >>> out["m4l"].axes.name, out["m4l"].shape
        (('theta', 'm4l'), (3, 10))
    """

    def __init__(
        self,
        plan: FilesetPlan,
        thetas: Any,
        histograms: Mapping[str, Any],
        ordered: bool = True,
    ) -> None:
        super().__init__(plan, ordered)
        self.thetas_items, self.thetas, self.coefficients = theta_table(plan.setup, thetas)
        self.theta_axis = theta_axis(plan.setup, self.thetas_items)
        self.axes: dict[str, tuple[Any, ...]] = {}
        self.columns: dict[str, list[int]] = {}
        names = plan.observable_names
        if not histograms:
            raise ProcessorError("HistogramProcessor needs at least one histogram")
        for name, spec in histograms.items():
            axes = (spec,) if isinstance(spec, hist.axis.AxesMixin) else tuple(spec)
            for axis in axes:
                if not isinstance(axis, hist.axis.AxesMixin):
                    raise ProcessorError(f"histogram {name!r}: {axis!r} is not a hist axis")
                if axis.name not in names:
                    raise ProcessorError(
                        f"histogram {name!r}: axis {axis.name!r} is not an observable of the analysis {names}"
                    )
                if axis.traits.growth:
                    raise ProcessorError(f"histogram {name!r}: axis {axis.name!r} grows; give fixed bins")
            self.axes[str(name)] = axes
            self.columns[str(name)] = [names.index(axis.name) for axis in axes]
        b = plan.setup.parameter_space.n_benchmarks
        self._upper = np.triu_indices(b)

    def _moments(
        self, axes: tuple[Any, ...], values: list[np.ndarray], weights: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per-bin (flow included) weight sums [..., B], upper-triangle Gram entries [..., B(B+1)/2], entries."""
        h = hist.Hist(*axes, storage=hist.storage.Double())
        shape = h.view(flow=True).shape
        b = weights.shape[1]
        iu, ju = self._upper
        sums = np.empty((*shape, b))
        gram = np.empty((*shape, len(iu)))
        for k in range(b):
            h.reset()
            h.fill(*values, weight=weights[:, k])
            sums[..., k] = h.view(flow=True)
        for k, (i, j) in enumerate(zip(iu, ju, strict=True)):
            h.reset()
            h.fill(*values, weight=weights[:, i] * weights[:, j])
            gram[..., k] = h.view(flow=True)
        h.reset()
        h.fill(*values)
        return {"sums": sums, "gram": gram, "entries": np.array(h.view(flow=True))}

    def reduce(self, chunk: AnalysedChunk) -> dict[str, Any]:
        """Per histogram the bin moments of the chunk's survivors."""
        out: dict[str, Any] = {"n_events": np.int64(chunk.n_events)}
        for name, axes in self.axes.items():
            values = [chunk.observables[:, c] for c in self.columns[name]]
            out[name] = self._moments(axes, values, chunk.weights)
        return out

    def finalize(self, total: dict[str, Any], chunks: list[ChunkKey] | None) -> HistogramOutput:
        """Morph the summed moments to the thetas."""
        b = self.plan.setup.parameter_space.n_benchmarks
        iu, ju = self._upper
        histograms, counts, moments = {}, {}, {}
        for name, axes in self.axes.items():
            sums, upper = total[name]["sums"], total[name]["gram"]
            gram = np.empty((*sums.shape[:-1], b, b))
            gram[..., iu, ju] = upper
            gram[..., ju, iu] = upper
            moments[name] = (sums, gram)
            histograms[name] = _build(self.theta_axis, axes, sums, gram, self.coefficients)
            entries = hist.Hist(*axes, storage=hist.storage.Double())
            entries.view(flow=True)[...] = total[name]["entries"]
            counts[name] = entries
        return HistogramOutput(
            thetas=self.thetas,
            histograms=histograms,
            counts=counts,
            moments=moments,
            axes=dict(self.axes),
            setup=self.plan.setup,
            n_events=int(total["n_events"]),
            chunks=chunks,
        )
