"""Augmented training samples: parameter samplers and the chunkwise, distributed sample augmenter."""

from .augmenter import AugmentedSample, SampleAugmenter
from .parameters import (
    NuisanceSampler,
    ThetaSampler,
    benchmark,
    benchmarks,
    fixed_nuisances,
    iid_nuisances,
    morphing_point,
    morphing_points,
    nominal_nuisances,
    random_morphing_points,
)

__all__ = [
    "AugmentedSample",
    "NuisanceSampler",
    "SampleAugmenter",
    "ThetaSampler",
    "benchmark",
    "benchmarks",
    "fixed_nuisances",
    "iid_nuisances",
    "morphing_point",
    "morphing_points",
    "nominal_nuisances",
    "random_morphing_points",
]
