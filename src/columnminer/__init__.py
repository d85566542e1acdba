"""columnminer: columnar, awkward-array machine-learning inference for particle physics."""

from ._version import __version__
from .errors import (
    ColumnMinerError,
    MissingTransformError,
    MorphingError,
    ParameterSpaceError,
    SetupFormatError,
    SetupVersionError,
)
from .morphing import Morpher, find_components, morphing_matrix, optimize_basis
from .parameters import Benchmark, LinearTransform, Parameter, ParameterSpace
from .setup import AnalysisSetup

__all__ = [
    "AnalysisSetup",
    "Benchmark",
    "ColumnMinerError",
    "LinearTransform",
    "MissingTransformError",
    "Morpher",
    "MorphingError",
    "Parameter",
    "ParameterSpace",
    "ParameterSpaceError",
    "SetupFormatError",
    "SetupVersionError",
    "__version__",
    "find_components",
    "morphing_matrix",
    "optimize_basis",
]
