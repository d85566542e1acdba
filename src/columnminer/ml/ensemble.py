r"""Ensembles of neural estimators of one kind: train several networks, average them, and use their spread.

An ensemble holds M estimators of the same class (for example M
:class:`~columnminer.ml.ratio.ParameterizedRatioEstimator`), each trained on the same data but from its own
random initialisation, validation split and batch order (member m trains with ``seed + m``). For any
prediction f (log r, a score, log p) the ensemble reports the members' values :math:`f_m` and

.. math::

    \bar f = \frac1M \sum_m f_m, \qquad
    \mathrm{Cov}[f]_{ij} = \frac{1}{M-1}\sum_m (f_{m,i} - \bar f_i)(f_{m,j} - \bar f_j),

the ensemble mean (usually more accurate than any single member) and the spread between members, an
estimate of the uncertainty that comes from training (finite data, initialisation, optimisation).

Fisher information. Each member gives :math:`I^{(m)} = n_\text{events} \sum_k w_k\,\hat t^{(m)}(x_k)
\hat t^{(m)}(x_k)^T`. With ``mode="information"`` the ensemble estimate is the mean :math:`\bar I =
\frac1M\sum_m I^{(m)}`; with ``mode="score"`` it is built from the mean score,
:math:`n_\text{events}\sum_k w_k\,\bar t(x_k)\bar t(x_k)^T` (which removes the positive bias that member noise
adds to :math:`\langle t t^T\rangle`). Either way the uncertainty is the covariance of the member
informations, :math:`\mathrm{Cov}[I]_{ijkl} = \frac{1}{M-1}\sum_m (I^{(m)}_{ij}-\bar I_{ij})(I^{(m)}_{kl}-\bar
I_{kl})`, shape [P, P, P, P].

Saved ensembles are a directory: ``ensemble.json`` (format, version, estimator class, member names, the
training settings used) and one sub-directory ``member_000``, ``member_001``, ... per member holding that
estimator's own files (:meth:`~columnminer.ml.base.Estimator.save`). Reference: Brehmer, Kling, Espejo,
Cranmer, "MadMiner", arXiv:1907.10621 (ensemble methods and Fisher-information uncertainties);
Lakshminarayanan, Pritzel, Blundell, arXiv:1612.01474 (deep ensembles).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import EstimatorError, EstimatorFormatError
from .base import Estimator, event_weights, load_estimator, read_format_header
from .trainer import TrainingHistory, TrainingOptions

__all__ = ["ENSEMBLE_FORMAT_VERSION", "Ensemble", "EnsembleFisherInformation", "EnsemblePrediction"]

logger = logging.getLogger(__name__)

_FORMAT = "columnminer.ensemble"
#: Version of the saved-ensemble format written by this columnminer.
ENSEMBLE_FORMAT_VERSION = 1
_INDEX = "ensemble.json"
_MEMBER_FILE = "estimator"


def _member_dir(index: int) -> str:
    return f"member_{index:03d}"


def _sample_covariance(values: np.ndarray) -> np.ndarray:
    """Covariance over axis 0 of ``values`` [M, ..., K] -> [..., K, K] (ddof 1; zeros for M = 1)."""
    n = values.shape[0]
    centred = values - values.mean(axis=0)
    if n < 2:
        return np.zeros((*values.shape[1:], values.shape[-1]))
    return np.einsum("m...i,m...j->...ij", centred, centred) / (n - 1)


@dataclass(frozen=True)
class EnsemblePrediction:
    r"""The members' predictions of one quantity, stacked: ``members`` has shape [M, ...].

    ``mean`` and ``std`` (ddof 1, zero for a single member) are element-wise over the members;
    :meth:`covariance` treats the last axis as a vector (a score [..., P] gives [..., P, P]).

    Example:
        >>> p = EnsemblePrediction(np.array([[1.0, 2.0], [3.0, 2.0]]))
        >>> p.mean.tolist(), p.std.tolist(), p.covariance().tolist()
        ([2.0, 2.0], [1.4142135623730951, 0.0], [[2.0, 0.0], [0.0, 0.0]])
    """

    members: np.ndarray

    @property
    def n_members(self) -> int:
        """Number of members M."""
        return int(self.members.shape[0])

    @property
    def mean(self) -> np.ndarray:
        """Mean over the members, shape [...]."""
        return self.members.mean(axis=0)

    @property
    def variance(self) -> np.ndarray:
        """Element-wise sample variance over the members (ddof 1; zeros for one member)."""
        if self.n_members < 2:
            return np.zeros(self.members.shape[1:])
        return self.members.var(axis=0, ddof=1)

    @property
    def std(self) -> np.ndarray:
        """Element-wise standard deviation over the members."""
        return np.sqrt(self.variance)

    def covariance(self) -> np.ndarray:
        """Covariance over the members of the vectors along the last axis, shape [..., K, K]."""
        return _sample_covariance(self.members)


@dataclass(frozen=True)
class EnsembleFisherInformation:
    r"""Fisher information of an ensemble: the estimate ``information`` [P, P], the member informations
    ``members`` [M, P, P] and their covariance ``covariance`` [P, P, P, P]; ``uncertainty`` is the standard
    deviation of each entry, :math:`\sqrt{\mathrm{Cov}[I]_{ijij}}`.

    Example:
        >>> members = np.array([[[0.9]], [[1.1]]])
        >>> info = EnsembleFisherInformation(members.mean(axis=0), members, np.full((1, 1, 1, 1), 0.02))
        >>> info.information.tolist(), info.uncertainty.round(4).tolist()
        ([[1.0]], [[0.1414]])
    """

    information: np.ndarray
    members: np.ndarray
    covariance: np.ndarray

    @property
    def uncertainty(self) -> np.ndarray:
        """Standard deviation of every entry of the information, shape [P, P]."""
        p = self.information.shape[0]
        diagonal = self.covariance.reshape(p * p, p * p).diagonal().reshape(p, p)
        return np.sqrt(np.clip(diagonal, 0.0, None))


class Ensemble:
    r"""M estimators of one class trained and evaluated together (see the module docstring for the maths).

    Build it from estimators (``Ensemble([est1, est2])``) or fresh ones (``Ensemble.create(cls, M,
    **settings)``); train with :meth:`train_all` or :meth:`train_one`; evaluate with
    :meth:`evaluate_log_likelihood_ratio`, :meth:`evaluate_score`, :meth:`evaluate_log_likelihood` (each an
    :class:`EnsemblePrediction`) and :meth:`calculate_fisher_information`; :meth:`save` / :meth:`load` a
    directory.

    Example:
        >>> from columnminer.ml.score import ScoreEstimator
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy = GaussianToy()
        >>> x, z = toy.simulate(0.0, n=400, seed=1)
        >>> ensemble = Ensemble.create(ScoreEstimator, 3, n_hidden=(8,))
        >>> _ = ensemble.train_all("sally", x=x[:, None], t_xz=toy.joint_score(x, z, 0.0)[:, None], n_epochs=2)
        >>> ensemble.evaluate_score(x[:5, None]).mean.shape
        (5, 1)
        >>> ensemble.calculate_fisher_information(x[:, None]).uncertainty.shape
        (1, 1)
    """

    def __init__(self, estimators: Sequence[Estimator] = ()) -> None:
        self.estimators: list[Estimator] = []
        self.histories: list[TrainingHistory | None] = []
        for estimator in estimators:
            self.add(estimator)

    @classmethod
    def create(cls, estimator_class: type[Estimator], n_members: int, **settings: Any) -> Ensemble:
        """An ensemble of ``n_members`` fresh ``estimator_class(**settings)`` estimators."""
        if not (isinstance(estimator_class, type) and issubclass(estimator_class, Estimator)):
            raise EstimatorError(f"estimator_class must be an Estimator subclass, got {estimator_class!r}")
        if int(n_members) < 1:
            raise EstimatorError(f"an ensemble needs at least one member, got n_members={n_members}")
        return cls([estimator_class(**settings) for _ in range(int(n_members))])

    # -- membership -----------------------------------------------------------------------------------------
    def add(self, estimator: Estimator) -> None:
        """Append a member; it must be of the same class as the members already there."""
        if not isinstance(estimator, Estimator):
            raise EstimatorError(f"ensemble members must be estimators, got {type(estimator).__name__}")
        if self.estimators and type(estimator) is not type(self.estimators[0]):
            raise EstimatorError(
                f"an ensemble holds estimators of one kind: cannot add a {type(estimator).__name__} to "
                f"{type(self.estimators[0]).__name__} members"
            )
        self.estimators.append(estimator)
        self.histories.append(estimator.history)

    @property
    def n_members(self) -> int:
        """Number of members."""
        return len(self.estimators)

    @property
    def estimator_class(self) -> type[Estimator] | None:
        """The class of the members (None while empty)."""
        return type(self.estimators[0]) if self.estimators else None

    def __len__(self) -> int:
        return self.n_members

    def __getitem__(self, index: int) -> Estimator:
        return self.estimators[index]

    def __iter__(self):
        return iter(self.estimators)

    def _require_members(self, trained: bool = True) -> None:
        if not self.estimators:
            raise EstimatorError("the ensemble is empty: add estimators first")
        if trained:
            untrained = [i for i, e in enumerate(self.estimators) if e.model is None]
            if untrained:
                raise EstimatorError(
                    f"ensemble members {untrained} are not trained: train or load them first"
                )
            shapes = {(e.n_observables, e.n_parameters) for e in self.estimators}
            if len(shapes) > 1:
                raise EstimatorError(
                    f"the members disagree on (n_observables, n_parameters): {sorted(shapes)}"
                )

    # -- training -------------------------------------------------------------------------------------------
    def train_one(
        self,
        index: int,
        method: str,
        *,
        options: TrainingOptions | None = None,
        **kwargs: Any,
    ) -> TrainingHistory:
        """Train member ``index`` with ``method``; the keywords are those of
        :meth:`~columnminer.ml.base.Estimator.train` (data columns or ``sample=``, ``alpha``, training
        options such as ``n_epochs`` or ``seed``)."""
        self._require_members(trained=False)
        if not -self.n_members <= int(index) < self.n_members:
            raise EstimatorError(f"no ensemble member {index}: the ensemble has {self.n_members}")
        index = int(index) % self.n_members
        logger.info("ensemble: training member %d / %d (%s)", index + 1, self.n_members, method)
        history = self.estimators[index].train(method, options=options, **kwargs)
        self.histories[index] = history
        return history

    def train_all(
        self,
        method: str,
        *,
        options: TrainingOptions | None = None,
        member_kwargs: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> list[TrainingHistory]:
        """Train every member with ``method`` on the same data (the keywords of :meth:`train_one`).

        Member m trains with seed ``seed + m`` (``seed`` from the keywords, else ``options.seed``, else 0),
        so the members differ in initialisation, validation split and batch order. ``member_kwargs`` (one
        mapping per member) overrides keywords member by member, e.g. other data per member (bagging).
        """
        self._require_members(trained=False)
        if member_kwargs is not None and len(member_kwargs) != self.n_members:
            raise EstimatorError(
                f"member_kwargs has {len(member_kwargs)} entries for {self.n_members} ensemble members"
            )
        seed = kwargs.pop("seed", None)
        if seed is None:
            seed = (options or TrainingOptions()).seed
        base_seed = 0 if seed is None else int(seed)
        histories = []
        for index in range(self.n_members):
            these = {**kwargs, "seed": base_seed + index}
            if member_kwargs is not None:
                these.update(member_kwargs[index])
            histories.append(self.train_one(index, method, options=options, **these))
        return histories

    # -- evaluation -----------------------------------------------------------------------------------------
    def _stack(self, evaluate: Callable[[Estimator], np.ndarray]) -> EnsemblePrediction:
        self._require_members()
        return EnsemblePrediction(np.stack([np.asarray(evaluate(e), dtype=np.float64) for e in self]))

    def evaluate_log_likelihood_ratio(
        self, x: Any, theta0: Any, theta1: Any = None, test_all_combinations: bool = True, **kwargs: Any
    ) -> EnsemblePrediction:
        """The members' log r_hat(x|theta0, theta1) (shapes as the members return them), stacked."""
        extra = dict(kwargs)
        if theta1 is not None:
            extra["theta1"] = theta1
        return self._stack(
            lambda e: e.evaluate_log_likelihood_ratio(
                x, theta0, test_all_combinations=test_all_combinations, **extra
            )
        )

    def evaluate_score(
        self, x: Any, theta: Any = None, test_all_combinations: bool = True, **kwargs: Any
    ) -> EnsemblePrediction:
        """The members' scores t_hat(x|theta), stacked; :meth:`EnsemblePrediction.covariance` gives the
        [..., P, P] covariance between members."""
        return self._stack(
            lambda e: e.evaluate_score(x, theta, test_all_combinations=test_all_combinations, **kwargs)
        )

    def evaluate_log_likelihood(
        self, x: Any, theta: Any, test_all_combinations: bool = True
    ) -> EnsemblePrediction:
        """The members' log p_hat(x|theta) (density estimators only), stacked."""
        return self._stack(
            lambda e: e.evaluate_log_likelihood(x, theta, test_all_combinations=test_all_combinations)
        )

    def calculate_fisher_information(
        self,
        x: Any,
        theta: Any = None,
        weights: Any = None,
        n_events: float = 1.0,
        mode: str = "information",
    ) -> EnsembleFisherInformation:
        r"""Fisher information with its uncertainty from the spread of the members.

        ``mode="information"``: mean of the member informations; ``mode="score"``: the information of the
        mean score :math:`n_\text{events}\sum_k w_k \bar t(x_k)\bar t(x_k)^T`. The covariance is always that
        of the member informations. ``x``, ``theta``, ``weights`` and ``n_events`` as in
        :meth:`~columnminer.ml.base.Estimator.calculate_fisher_information`.
        """
        if mode not in ("information", "score"):
            raise EstimatorError(f"unknown mode {mode!r}; choose 'information' or 'score'")
        self._require_members()
        # the scores at which each member's information is evaluated (the reference point for SALLY,
        # theta for the others), exactly as Estimator.calculate_fisher_information takes them
        scores = np.stack(
            [np.asarray(e.fisher_scores(x, theta), dtype=np.float64) for e in self]
        )  # [M, n, P]
        w = event_weights(weights, scores.shape[1])
        members = float(n_events) * np.einsum("n,mni,mnj->mij", w, scores, scores)
        if mode == "information":
            information = members.mean(axis=0)
        else:
            mean_score = scores.mean(axis=0)
            information = float(n_events) * np.einsum("n,ni,nj->ij", w, mean_score, mean_score)
        p = information.shape[0]
        covariance = _sample_covariance(members.reshape(self.n_members, p * p)).reshape(p, p, p, p)
        return EnsembleFisherInformation(information, members, covariance)

    # -- persistence ----------------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Write the ensemble into ``directory`` (created; existing member files are overwritten).

        Returns the path of ``ensemble.json``."""
        self._require_members()
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        names = []
        for index, estimator in enumerate(self):
            name = _member_dir(index)
            estimator.save(root / name / _MEMBER_FILE)
            names.append(name)
        index_file = root / _INDEX
        meta = {
            "format": _FORMAT,
            "format_version": ENSEMBLE_FORMAT_VERSION,
            "columnminer": __version__,
            "estimator": type(self.estimators[0]).__name__,
            "n_members": self.n_members,
            "members": names,
            "member_file": _MEMBER_FILE,
            "methods": [e.method for e in self],
        }
        index_file.write_text(json.dumps(meta, indent=2) + "\n")
        logger.info("saved an ensemble of %d %s to %s", self.n_members, meta["estimator"], root)
        return index_file

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Ensemble:
        """Read an ensemble written by :meth:`save`.

        Raises :class:`~columnminer.errors.EstimatorFormatError` for a missing or corrupt index, a newer
        format version, a missing member, or members of another class than the index names.
        """
        root = Path(directory)
        index_file = root / _INDEX
        if not index_file.is_file():
            raise EstimatorFormatError(f"{index_file}: missing (not a saved columnminer ensemble)")
        meta = read_format_header(index_file, _FORMAT, ENSEMBLE_FORMAT_VERSION, "ensemble")
        members = meta.get("members")
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise EstimatorFormatError(f"{index_file}: 'members' must be a non-empty list of directory names")
        member_file = str(meta.get("member_file", _MEMBER_FILE))
        estimators = []
        for name in members:
            if Path(name).name != name:
                raise EstimatorFormatError(f"{index_file}: bad member directory name {name!r}")
            estimator = load_estimator(root / name / member_file)
            if type(estimator).__name__ != meta.get("estimator"):
                raise EstimatorFormatError(
                    f"{root / name}: holds a {type(estimator).__name__}, the ensemble index says "
                    f"{meta.get('estimator')}"
                )
            estimators.append(estimator)
        logger.info("loaded an ensemble of %d %s from %s", len(estimators), meta.get("estimator"), root)
        return cls(estimators)

    def __repr__(self) -> str:
        kind = "empty" if not self.estimators else type(self.estimators[0]).__name__
        return f"Ensemble({self.n_members} x {kind})"
