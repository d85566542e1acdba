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

from ._lazy import lazy_exports
from ._version import __version__
from .errors import (
    ColumnMinerError,
    MissingTransformError,
    MorphingError,
    ParameterSpaceError,
    SetupFormatError,
    SetupVersionError,
)

#: module -> the public names it defines (imported on first access by __getattr__).
_EXPORTS = {
    "columnminer.setup": ["AnalysisSetup"],
    "columnminer.parameters": ["Benchmark", "LinearTransform", "Parameter", "ParameterSpace"],
    "columnminer.morphing": ["Morpher", "find_components", "morphing_matrix", "optimize_basis"],
    "columnminer.thetas": ["benchmark_index"],
    "columnminer.io.lhe": ["read_lhe", "iterate_lhe", "read_lhe_header"],
    "columnminer.io.delphes": ["read_delphes"],
    "columnminer.analysis": ["Analysis"],
    "columnminer.io.store": ["EventStore"],
    "columnminer.io.shuffle": ["combine_and_shuffle"],
    "columnminer.samples": ["Sample", "analyse_samples"],
    "columnminer.weights": ["cross_sections", "joint_scores"],
    "columnminer.sampling": ["SampleAugmenter", "benchmark", "morphing_point", "random_morphing_points"],
    "columnminer.ml": [
        "ParameterizedRatioEstimator",
        "DoubleParameterizedRatioEstimator",
        "MorphingAwareRatioEstimator",
        "ScoreEstimator",
        "LikelihoodEstimator",
        "Ensemble",
        "load_estimator",
    ],
    "columnminer.inference": ["FisherInformation", "truth_information", "expected_limits", "observed_limits"],
}
__getattr__, __dir__, _LAZY = lazy_exports(__name__, _EXPORTS)

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
