"""columnminer: columnar, awkward-array machine-learning inference for particle physics.

The package map (every entry point is importable from ``columnminer`` directly; modules load on first use,
so ``import columnminer`` is fast):

================================  ========================================================================
setup and morphing                ``AnalysisSetup``, ``ParameterSpace``, ``Parameter``, ``Benchmark``,
                                  ``LinearTransform``, ``Morpher`` (:mod:`columnminer.setup`,
                                  :mod:`columnminer.parameters`, :mod:`columnminer.morphing`)
reading files                     ``read_lhe``, ``iterate_lhe``, ``read_lhe_header``, ``read_delphes``
                                  (:mod:`columnminer.io`)
observables and cuts              ``Analysis`` (:mod:`columnminer.analysis`)
events into a store               ``EventStore``, ``Sample``, ``analyse_samples``, ``combine_and_shuffle``
                                  (:mod:`columnminer.io.store`, :mod:`columnminer.samples`)
weights and cross sections        ``cross_sections``, ``joint_scores`` (:mod:`columnminer.weights`)
augmented training samples        ``SampleAugmenter``, ``benchmark``, ``morphing_point``,
                                  ``random_morphing_points`` (:mod:`columnminer.sampling`)
estimators                        ``ParameterizedRatioEstimator``, ``DoubleParameterizedRatioEstimator``,
                                  ``MorphingAwareRatioEstimator``, ``ScoreEstimator``,
                                  ``LikelihoodEstimator``, ``Ensemble``, ``load_estimator``
                                  (:mod:`columnminer.ml`)
Fisher information and limits     ``FisherInformation``, ``truth_information``, ``expected_limits``,
                                  ``observed_limits`` (:mod:`columnminer.inference`)
coffea processors                 :mod:`columnminer.processors`
errors                            ``ColumnMinerError`` and the classes of :mod:`columnminer.errors`
================================  ========================================================================

Example:
    >>> import columnminer
    >>> columnminer.EventStore.__module__
    'columnminer.io.store'
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import (
    ColumnMinerError,
    MissingTransformError,
    MorphingError,
    ParameterSpaceError,
    SetupFormatError,
    SetupVersionError,
)

#: public name -> the module that defines it (imported on first access).
_LAZY = {
    "AnalysisSetup": "columnminer.setup",
    "Benchmark": "columnminer.parameters",
    "LinearTransform": "columnminer.parameters",
    "Parameter": "columnminer.parameters",
    "ParameterSpace": "columnminer.parameters",
    "Morpher": "columnminer.morphing",
    "benchmark_index": "columnminer.thetas",
    "find_components": "columnminer.morphing",
    "morphing_matrix": "columnminer.morphing",
    "optimize_basis": "columnminer.morphing",
    "read_lhe": "columnminer.io.lhe",
    "iterate_lhe": "columnminer.io.lhe",
    "read_lhe_header": "columnminer.io.lhe",
    "read_delphes": "columnminer.io.delphes",
    "Analysis": "columnminer.analysis",
    "EventStore": "columnminer.io.store",
    "combine_and_shuffle": "columnminer.io.shuffle",
    "Sample": "columnminer.samples",
    "analyse_samples": "columnminer.samples",
    "cross_sections": "columnminer.weights",
    "joint_scores": "columnminer.weights",
    "SampleAugmenter": "columnminer.sampling",
    "benchmark": "columnminer.sampling",
    "morphing_point": "columnminer.sampling",
    "random_morphing_points": "columnminer.sampling",
    "ParameterizedRatioEstimator": "columnminer.ml",
    "DoubleParameterizedRatioEstimator": "columnminer.ml",
    "MorphingAwareRatioEstimator": "columnminer.ml",
    "ScoreEstimator": "columnminer.ml",
    "LikelihoodEstimator": "columnminer.ml",
    "Ensemble": "columnminer.ml",
    "load_estimator": "columnminer.ml",
    "FisherInformation": "columnminer.inference",
    "truth_information": "columnminer.inference",
    "expected_limits": "columnminer.inference",
    "observed_limits": "columnminer.inference",
}

__all__ = [  # the names of _LAZY are resolved on first access by __getattr__
    "Analysis",
    "AnalysisSetup",
    "Benchmark",
    "ColumnMinerError",
    "DoubleParameterizedRatioEstimator",
    "Ensemble",
    "EventStore",
    "FisherInformation",
    "LikelihoodEstimator",
    "LinearTransform",
    "MissingTransformError",
    "Morpher",
    "MorphingAwareRatioEstimator",
    "MorphingError",
    "Parameter",
    "ParameterSpace",
    "ParameterSpaceError",
    "ParameterizedRatioEstimator",
    "Sample",
    "SampleAugmenter",
    "ScoreEstimator",
    "SetupFormatError",
    "SetupVersionError",
    "__version__",
    "analyse_samples",
    "benchmark",
    "benchmark_index",
    "combine_and_shuffle",
    "cross_sections",
    "expected_limits",
    "find_components",
    "iterate_lhe",
    "joint_scores",
    "load_estimator",
    "morphing_matrix",
    "morphing_point",
    "observed_limits",
    "optimize_basis",
    "random_morphing_points",
    "read_delphes",
    "read_lhe",
    "read_lhe_header",
    "truth_information",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'columnminer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
