"""Inference: Fisher information, information geometry, likelihoods, asymptotic limits and toy coverage.

Modules: :mod:`~columnminer.inference.binned` (chunkwise reductions over the store, exact per-bin morphing of
histogram yields), :mod:`~columnminer.inference.fisher` (truth, rate, histogram and detector-level Fisher
information, profiling), :mod:`~columnminer.inference.geometry` (the information as a metric: geodesics and
distance contours), :mod:`~columnminer.inference.likelihood` (histogram and neural likelihoods, fixing,
projecting, profiling), :mod:`~columnminer.inference.limits` (expected / observed limits in the modes rate,
histo, sally, adaptive-sally, sallino, ml; nuisances profiled), :mod:`~columnminer.inference.toys` (coverage
by pseudo-experiments), :mod:`~columnminer.inference.nuisance_fisher` and
:mod:`~columnminer.inference.systematic_bins` (systematics: information with nuisances, per-bin variations,
bands, profiled binned likelihoods), :mod:`~columnminer.inference.areas` (contour areas from interpolated q,
value +- error formatting), :mod:`~columnminer.inference.neyman` (one event-level representation of every
likelihood: bootstrap replicas, coverage by toys, toy-based Neyman critical values).
"""

from .._lazy import lazy_exports

#: module -> the names it exports here, "*" for its whole ``__all__`` (imported on first access: scipy and torch
#: load only when a name needs them).
_EXPORTS = {
    ".areas": ["AreaEstimate", "format_value_error", "region_area", "region_areas"],
    ".binned": [
        "BinnedWeights",
        "ChunkColumns",
        "binned_weights",
        "reduce_chunks",
        "weighted_quantile_edges",
    ],
    ".fisher": "*",
    ".geometry": [
        "DistanceContours",
        "InformationMetric",
        "distance_contours",
        "geodesic",
        "geodesics",
        "information_from_formula",
        "information_from_grid",
    ],
    ".likelihood": [
        "LikelihoodScan",
        "NegativeLogLikelihood",
        "fix_params",
        "histogram_nll",
        "neural_nll",
        "profile_log_likelihood",
        "project_log_likelihood",
    ],
    ".limits": ["MODES", "LimitResult", "expected_limits", "observed_limits"],
    ".neyman": [
        "EventModel",
        "EventSample",
        "area_estimates",
        "bootstrap_multipliers",
        "gather_event_sample",
        "neyman_critical_values",
        "toy_coverage",
    ],
    ".nuisance_fisher": "*",
    ".systematic_bins": "*",
    ".toys": ["CoverageResult", "coverage"],
    ".truth_limits": "*",
}
__getattr__, __dir__, _NAMES = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_NAMES)
