"""Augmented training samples: parameter samplers and the chunkwise, distributed sample augmenter."""

from . import parameters as _parameters
from .augmenter import AugmentedSample, SampleAugmenter
from .parameters import *  # noqa: F403  (the samplers: exactly parameters.__all__)

__all__ = ["AugmentedSample", "SampleAugmenter", *_parameters.__all__]
