r"""Cross-section and Fisher-information processors: one pass over the file set, results at many thetas.

Per chunk the processors keep the benchmark-weight sums :math:`\sum_z w(z)` [B] and Gram matrix
:math:`\sum_z w(z) w(z)^T` [B, B] (cross sections, their gradients and Monte Carlo errors at any theta,
the rate information), and per theta the truth-level terms :math:`\sum_z \partial_i w\, \partial_j w / w`
with their Gram matrix (the kernel of :func:`~columnminer.inference.fisher.truth_information`). The results
equal those functions applied to a store filled with the same events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..inference import fisher_terms as _fe
from ..inference.binned import ChunkColumns
from ..inference.fisher import FisherInformation
from ..weights import cross_sections_from_moments, theta_gradient_coefficients
from ._thetas import theta_table
from .accumulators import ChunkKey
from .base import ChunkProcessor
from .fileset import AnalysedChunk, FilesetPlan

__all__ = ["CrossSectionOutput", "CrossSectionProcessor", "FisherOutput", "FisherProcessor"]

logger = logging.getLogger(__name__)


@dataclass
class CrossSectionOutput:
    """Cross sections after the analysis at every theta: ``xsec`` [T] (pb), ``xsec_error`` [T] (Monte Carlo
    standard error), ``xsec_gradient`` [T, P] (pb per unit of theta); ``total`` [B] and ``gram`` [B, B] the
    benchmark-weight moments they come from.

    Example:
        >>> out = CrossSectionOutput(np.zeros((1, 2)), np.array([2.0]), np.array([0.1]), np.zeros((1, 2)),
        ...                          np.array([2.0]), np.array([[0.01]]), 10)
        >>> out.xsec.tolist(), out.n_events
        ([2.0], 10)
    """

    thetas: np.ndarray
    xsec: np.ndarray
    xsec_error: np.ndarray
    xsec_gradient: np.ndarray
    total: np.ndarray
    gram: np.ndarray
    n_events: int
    chunks: list[ChunkKey] | None = None


@dataclass
class FisherOutput(CrossSectionOutput):
    """:class:`CrossSectionOutput` plus, per theta, the truth-level and rate-only
    :class:`~columnminer.inference.fisher.FisherInformation` (with Monte Carlo covariances) for ``luminosity``
    (pb^-1); ``skipped`` [T] events with w(z|theta) <= 0 left out of the truth-level sums.

    Example:
        >>> out = FisherOutput(np.zeros((1, 2)), np.array([2.0]), np.array([0.1]), np.zeros((1, 2)),
        ...                    np.array([2.0]), np.array([[0.01]]), 10, luminosity=300.0)
        >>> out.luminosity, out.truth
        (300.0, None)
    """

    truth: list[FisherInformation] | None = None
    rate: list[FisherInformation] | None = None
    skipped: np.ndarray | None = None
    luminosity: float = 0.0


class CrossSectionProcessor(ChunkProcessor):
    """Cross sections, their errors and gradients at many thetas (see the module docstring).

    Example:
        >>> from columnminer.processors import run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(300, seed=2)
        >>> out = run_fileset(fileset, CrossSectionProcessor(plan, ["sm", [0.5, 0.0]]))
        >>> out.xsec.shape, out.xsec_gradient.shape
        ((2,), (2, 2))
    """

    def __init__(self, plan: FilesetPlan, thetas: Any, ordered: bool = True) -> None:
        super().__init__(plan, ordered)
        self.theta_items, self.thetas, self.coefficients = theta_table(plan.setup, thetas)
        self.gradient_coefficients = theta_gradient_coefficients(plan.setup, self.theta_items)

    def reduce(self, chunk: AnalysedChunk) -> dict[str, Any]:
        """The chunk's weight sums and Gram matrix."""
        w = chunk.weights
        return {"total": w.sum(axis=0), "gram": w.T @ w, "n_events": np.int64(chunk.n_events)}

    def _cross_sections(self, total: dict[str, Any]) -> dict[str, Any]:
        xsec, error = cross_sections_from_moments(total["total"], total["gram"], self.coefficients)
        return {
            "thetas": self.thetas,
            "xsec": xsec,
            "xsec_error": error,
            "xsec_gradient": self.gradient_coefficients @ total["total"],
            "total": total["total"],
            "gram": total["gram"],
            "n_events": int(total["n_events"]),
        }

    def finalize(self, total: dict[str, Any], chunks: list[ChunkKey] | None) -> CrossSectionOutput:
        """Cross sections at the thetas."""
        return CrossSectionOutput(**self._cross_sections(total), chunks=chunks)


class FisherProcessor(CrossSectionProcessor):
    r"""Truth-level and rate Fisher information at many thetas, plus the cross sections.

    ``luminosity`` in pb^-1. The truth-level information at theta is :math:`L \sum_z \partial_i w\,
    \partial_j w / w` over the analysed events (the full parton-level information, rate included); the rate
    information :math:`L\, \partial_i\sigma\, \partial_j\sigma / \sigma`; both with the Monte Carlo
    covariance of :func:`~columnminer.inference.fisher.truth_information` and
    :func:`~columnminer.inference.fisher.rate_information`.

    Example:
        >>> from columnminer.processors import run_fileset
        >>> from columnminer.processors._examples import golden_fileset
        >>> fileset, plan = golden_fileset(200, seed=10)
        >>> out = run_fileset(fileset, FisherProcessor(plan, ["sm"], luminosity=300_000.0))
        >>> out.truth[0].information.shape, out.rate[0].kind
        ((2, 2), 'rate')
    """

    def __init__(self, plan: FilesetPlan, thetas: Any, luminosity: float, ordered: bool = True) -> None:
        super().__init__(plan, thetas, ordered)
        self.luminosity = _fe.check_luminosity(luminosity)

    def reduce(self, chunk: AnalysedChunk) -> dict[str, Any]:
        """Weight moments and, per theta, the truth-level sums."""
        out = super().reduce(chunk)
        n = chunk.n_events
        columns = ChunkColumns(
            tuple(self.plan.observable_names), chunk.observables, chunk.weights, np.arange(n, dtype=np.int64)
        )
        parts = [
            _fe.chunk_truth(columns, c, dc)
            for c, dc in zip(self.coefficients, self.gradient_coefficients, strict=True)
        ]
        out["truth"] = np.stack([p[0] for p in parts])
        out["truth_gram"] = np.stack([p[1] for p in parts])
        out["skipped"] = np.array([p[2] for p in parts], dtype=np.int64)
        return out

    def finalize(self, total: dict[str, Any], chunks: list[ChunkKey] | None) -> FisherOutput:
        """FisherInformation objects per theta."""
        base = self._cross_sections(total)
        names = tuple(self.plan.setup.parameter_space.parameter_names)
        p = len(names)
        lum = self.luminosity
        truth, rate = [], []
        for t, (c, dc) in enumerate(zip(self.coefficients, self.gradient_coefficients, strict=True)):
            point = self.thetas[t]
            info = lum * total["truth"][t].reshape(p, p)
            covariance = lum**2 * total["truth_gram"][t].reshape(p, p, p, p)
            truth.append(FisherInformation(info, covariance, names, lum, "truth", point))
            sigma = np.array([c @ total["total"]])
            dsigma = (dc @ total["total"])[None, :]
            terms, keep, jacobian = _fe.ratio_terms(sigma, dsigma, lum)
            cov = _fe.ratio_covariance(jacobian, total["gram"][None][keep], c, dc).reshape(p, p, p, p)
            rate.append(FisherInformation(terms.sum(axis=0), cov, names, lum, "rate", point))
        skipped = np.asarray(total["skipped"])
        if skipped.any():
            logger.warning(
                "truth-level information: %s events with w <= 0 skipped per theta", skipped.tolist()
            )
        return FisherOutput(**base, chunks=chunks, truth=truth, rate=rate, skipped=skipped, luminosity=lum)
