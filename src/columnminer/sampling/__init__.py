"""Augmented training samples: parameter samplers and the chunkwise, distributed sample augmenter."""

from .augmenter import AugmentedSample, SampleAugmenter
from .parameters import (
    ThetaSampler,
    benchmark,
    benchmarks,
    morphing_point,
    morphing_points,
    random_morphing_points,
)

__all__ = [
    "AugmentedSample",
    "SampleAugmenter",
    "ThetaSampler",
    "benchmark",
    "benchmarks",
    "morphing_point",
    "morphing_points",
    "random_morphing_points",
]
