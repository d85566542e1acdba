"""Neural estimators of likelihood ratios, scores and densities (torch), with their data, losses and trainer.

Estimators: :class:`ParameterizedRatioEstimator` and :class:`DoubleParameterizedRatioEstimator` (CARL,
ROLR, ALICE, RASCAL, ALICES, CASCAL), :class:`ScoreEstimator` (SALLY, SALLINO), :class:`LikelihoodEstimator`
(NDE, SCANDAL). All train with :func:`train` on :class:`TrainingData` read in blocks from arrays, ``.npy``
files or a store sample, and save / load without unpickling arbitrary objects.
"""

from .base import FORMAT_VERSION, Estimator, load_estimator
from .calibration import CalibratedRatioEstimator, RatioClosure, calibrate_ratio, ratio_closure
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
    "CalibratedRatioEstimator",
    "ColumnStatistics",
    "DoubleParameterizedRatioEstimator",
    "Ensemble",
    "EnsembleFisherInformation",
    "EnsemblePrediction",
    "Estimator",
    "LikelihoodEstimator",
    "MorphingAwareRatioEstimator",
    "ParameterizedRatioEstimator",
    "RatioClosure",
    "Scaler",
    "ScoreEstimator",
    "TrainingData",
    "TrainingHistory",
    "TrainingOptions",
    "calibrate_ratio",
    "load_estimator",
    "ratio_closure",
    "resolve_device",
    "train",
]
