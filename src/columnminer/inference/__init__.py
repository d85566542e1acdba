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

from .areas import AreaEstimate, format_value_error, region_area, region_areas
from .binned import BinnedWeights, ChunkColumns, binned_weights, reduce_chunks, weighted_quantile_edges
from .fisher import (
    FisherInformation,
    InformationHistogram,
    detector_information,
    histogram_information,
    histogram_of_information,
    nuisance_constraint_information,
    profile_information,
    project_information,
    rate_information,
    sigma_and_dsigma,
    truth_information,
)
from .geometry import (
    DistanceContours,
    InformationMetric,
    distance_contours,
    geodesic,
    geodesics,
    information_from_formula,
    information_from_grid,
)
from .likelihood import (
    LikelihoodScan,
    NegativeLogLikelihood,
    fix_params,
    histogram_nll,
    neural_nll,
    profile_log_likelihood,
    project_log_likelihood,
)
from .limits import MODES, LimitResult, expected_limits, observed_limits
from .neyman import (
    EventModel,
    EventSample,
    area_estimates,
    bootstrap_multipliers,
    gather_event_sample,
    neyman_critical_values,
    toy_coverage,
)
from .nuisance_fisher import binned_nuisance_modifiers, truth_information_with_nuisances
from .systematic_bins import BinnedVariations, binned_variations, profile_binned_likelihood
from .toys import CoverageResult, coverage
from .truth_limits import (
    mixture_expected_limits,
    mixture_log_density,
    truth_expected_limits,
    truth_log_density,
)

__all__ = [  # noqa: RUF022 (grouped: the original names, then those of areas / neyman / truth_limits)
    "MODES",
    "BinnedVariations",
    "BinnedWeights",
    "ChunkColumns",
    "CoverageResult",
    "DistanceContours",
    "FisherInformation",
    "InformationHistogram",
    "InformationMetric",
    "LikelihoodScan",
    "LimitResult",
    "NegativeLogLikelihood",
    "binned_nuisance_modifiers",
    "binned_variations",
    "binned_weights",
    "coverage",
    "detector_information",
    "distance_contours",
    "expected_limits",
    "fix_params",
    "geodesic",
    "geodesics",
    "histogram_information",
    "histogram_nll",
    "histogram_of_information",
    "information_from_formula",
    "information_from_grid",
    "neural_nll",
    "nuisance_constraint_information",
    "observed_limits",
    "profile_binned_likelihood",
    "profile_information",
    "profile_log_likelihood",
    "project_information",
    "project_log_likelihood",
    "rate_information",
    "reduce_chunks",
    "sigma_and_dsigma",
    "truth_expected_limits",
    "truth_information",
    "truth_information_with_nuisances",
    "weighted_quantile_edges",
    "AreaEstimate",
    "EventModel",
    "EventSample",
    "area_estimates",
    "bootstrap_multipliers",
    "format_value_error",
    "gather_event_sample",
    "mixture_expected_limits",
    "mixture_log_density",
    "neyman_critical_values",
    "region_area",
    "region_areas",
    "toy_coverage",
    "truth_log_density",
]
