"""Neural estimators of likelihood ratios, scores and densities (torch), with their data, losses and trainer.

Estimators: :class:`ParameterizedRatioEstimator` and :class:`DoubleParameterizedRatioEstimator` (CARL,
ROLR, ALICE, RASCAL, ALICES, CASCAL), :class:`ScoreEstimator` (SALLY, SALLINO), :class:`LikelihoodEstimator`
(NDE, SCANDAL). All train with :func:`train` on :class:`TrainingData` read in blocks from arrays, ``.npy``
files or a store sample, and save / load without unpickling arbitrary objects.
"""

from .base import FORMAT_VERSION, Estimator, load_estimator
from .data import STORE_COLUMNS, ColumnStatistics, TrainingData
from .ensemble import Ensemble, EnsembleFisherInformation, EnsemblePrediction
from .likelihood import LikelihoodEstimator
from .morphing_aware import MorphingAwareRatioEstimator
from .ratio import RATIO_METHODS, DoubleParameterizedRatioEstimator, ParameterizedRatioEstimator
from .scaling import SCALING_MODES, Scaler
from .score import NUISANCE_MODES, ScoreEstimator
from .trainer import TrainingHistory, TrainingOptions, resolve_device, train

__all__ = [
    "FORMAT_VERSION",
    "NUISANCE_MODES",
    "RATIO_METHODS",
    "SCALING_MODES",
    "STORE_COLUMNS",
    "ColumnStatistics",
    "DoubleParameterizedRatioEstimator",
    "Ensemble",
    "EnsembleFisherInformation",
    "EnsemblePrediction",
    "Estimator",
    "LikelihoodEstimator",
    "MorphingAwareRatioEstimator",
    "ParameterizedRatioEstimator",
    "Scaler",
    "ScoreEstimator",
    "TrainingData",
    "TrainingHistory",
    "TrainingOptions",
    "load_estimator",
    "resolve_device",
    "train",
]
