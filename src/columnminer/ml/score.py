r"""ScoreEstimator: SALLY / SALLINO, a network for the score at a reference point, with nuisance profiling.

The network :math:`\hat t(x)` minimises :math:`\langle|\hat t(x) - t(x,z|\theta_\text{ref})|^2\rangle` over
events drawn at the reference point; the minimiser is the score :math:`t(x|\theta_\text{ref}) = E[t(x,z)|x]`,
a locally sufficient statistic. With nuisance parameters and a Fisher information
:math:`I = \begin{pmatrix} I_{pp} & I_{pn} \\ I_{np} & I_{nn}\end{pmatrix}` (p: parameters of interest,
n: nuisances), the *projected* score is :math:`t_p` and the *profiled* score
:math:`t_p - I_{pn} I_{nn}^{-1} t_n` (insensitive to the nuisances to first order). References: Brehmer,
Cranmer, Louppe, Pavez, arXiv:1805.00020 (SALLY, SALLINO); Alsing and Wandelt, arXiv:1903.01473 (nuisance
hardened scores).

The network is trained on the joint score standardised per component, :math:`u_i = (t_i - \mu_i)/\sigma_i`
with the training mean and standard deviation (``score_scaling="standard"``, the default), so the loss
:math:`\langle\sum_i (\hat u_i - u_i)^2\rangle / P` weighs components of very different spreads alike
(the unweighted loss would ignore a component ten times narrower than another); the minimiser is still
:math:`E[t(x,z)|x]`, and the estimator returns scores in physical units.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import EstimatorError
from . import losses
from .base import Estimator
from .networks import ScoreNetwork
from .scaling import SCALING_MODES
from .trainer import LossFunction

__all__ = ["NUISANCE_MODES", "ScoreEstimator"]

logger = logging.getLogger(__name__)

#: How :meth:`ScoreEstimator.evaluate_score` treats nuisance parameters.
NUISANCE_MODES = ("auto", "keep", "profile", "project")


class ScoreEstimator(Estimator):
    r"""Estimates the score :math:`t(x|\theta_\text{ref})` at the reference point of its training sample.

    Training columns: ``x`` [n, n_obs] and ``t_xz`` [n, P] (from a store: a ``train_local`` sample).
    ``score_scaling`` ("standard", "minmax" or "none") is the per-component scaling of the score targets the
    network learns (see the module docstring); the scaling is fitted on the training data and saved with the
    model, and every evaluation returns scores in physical units.

    Example:
        >>> from columnminer.simulators.toy import GaussianToy
        >>> toy = GaussianToy()
        >>> x, z = toy.simulate(0.0, n=500, seed=1)
        >>> estimator = ScoreEstimator(n_hidden=(16,))
        >>> _ = estimator.train("sally", x=x[:, None], t_xz=toy.joint_score(x, z, 0.0)[:, None], n_epochs=2)
        >>> estimator.evaluate_score(x[:4, None]).shape, estimator.calculate_fisher_information(x[:, None]).shape
        ((4, 1), (1, 1))
    """

    methods: ClassVar[tuple[str, ...]] = ("sally", "sallino")
    network_class = ScoreNetwork

    def __init__(self, *args: Any, score_scaling: str = "standard", **kwargs: Any) -> None:
        """``args`` / ``kwargs``: those of :class:`~columnminer.ml.base.Estimator` (``features``,
        ``n_hidden``, ``activation``, ``dropout_prob``, ``scaling``)."""
        super().__init__(*args, **kwargs)
        if score_scaling not in SCALING_MODES:
            raise EstimatorError(
                f"unknown score_scaling {score_scaling!r}; choose one of {list(SCALING_MODES)}"
            )
        self.score_scaling = str(score_scaling)
        self.nuisance_profile_matrix: np.ndarray | None = None
        self.nuisance_project_matrix: np.ndarray | None = None
        self.parameters_of_interest: list[int] | None = None

    def settings(self) -> dict[str, Any]:
        """The constructor arguments (saved with the model)."""
        return {**super().settings(), "score_scaling": self.score_scaling}

    @classmethod
    def _upgrade_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Estimators saved before ``score_scaling`` existed learnt the score unscaled."""
        return {"score_scaling": "none", **settings}

    def _required_columns(self, method: str) -> tuple[str, ...]:
        return ("x", "t_xz")

    def _parameter_column(self) -> str:
        return "t_xz"

    def _scaled_columns(self) -> dict[str, str]:
        return {"inputs.x_scaler": "x", "score_scaler": "t_xz"}

    def _network_options(self) -> dict[str, Any]:
        return {**super()._network_options(), "score_scaling": self.score_scaling}

    def _loss_fn(self, method: str, alpha: losses.Alpha, columns: Sequence[str]) -> LossFunction:
        def loss_fn(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> losses.LossResult:
            # both sides standardised per component: the loss weighs every component alike
            return losses.sally_loss(model.standardized(batch["x"]), model.standardize(batch["t_xz"]))

        return loss_fn

    # -- nuisance parameters --------------------------------------------------------------------------------
    def set_nuisance(self, fisher_information: Any, parameters_of_interest: Sequence[int]) -> None:
        r"""Prepare projected and profiled scores from the full Fisher information ``[P, P]``;
        ``parameters_of_interest`` lists the kept components in their new order, the rest are nuisances.

        Profiled: :math:`t_p - I_{pn} I_{nn}^{-1} t_n`; projected: :math:`t_p`.

        Example:
            >>> estimator = ScoreEstimator()
            >>> estimator.set_nuisance(np.array([[2.0, 1.0], [1.0, 4.0]]), [0])
            >>> estimator.nuisance_profile_matrix.tolist()
            [[1.0, -0.25]]
        """
        info = np.asarray(fisher_information, dtype=np.float64)
        if info.ndim != 2 or info.shape[0] != info.shape[1]:
            raise EstimatorError(f"the Fisher information must be a square matrix, got shape {info.shape}")
        n = info.shape[0]
        if self.n_parameters is not None and n != self.n_parameters:
            raise EstimatorError(
                f"Fisher information of size {n} for an estimator of {self.n_parameters} parameters"
            )
        poi = [int(i) for i in parameters_of_interest]
        if not poi or len(set(poi)) != len(poi) or min(poi) < 0 or max(poi) >= n:
            raise EstimatorError(f"parameters_of_interest {poi} must be distinct indices in [0, {n})")
        nuisance = [i for i in range(n) if i not in poi]
        project = np.zeros((len(poi), n))
        project[np.arange(len(poi)), poi] = 1.0
        profile = project.copy()
        if nuisance:
            i_pn = info[np.ix_(poi, nuisance)]
            i_nn = info[np.ix_(nuisance, nuisance)]
            try:
                profile[:, nuisance] = -i_pn @ np.linalg.inv(i_nn)
            except np.linalg.LinAlgError as err:
                raise EstimatorError(
                    f"the nuisance block of the Fisher information is singular: {err}"
                ) from err
        self.parameters_of_interest = poi
        self.nuisance_project_matrix = project
        self.nuisance_profile_matrix = profile
        logger.debug("score nuisance setup: interest %s, nuisances %s", poi, nuisance)

    def _extra_state(self) -> dict[str, Any]:
        if self.nuisance_profile_matrix is None:
            return {}
        return {
            "parameters_of_interest": self.parameters_of_interest,
            "nuisance_profile_matrix": self.nuisance_profile_matrix.tolist(),
            "nuisance_project_matrix": self.nuisance_project_matrix.tolist(),
        }

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        if state.get("nuisance_profile_matrix") is not None:
            self.parameters_of_interest = list(state["parameters_of_interest"])
            self.nuisance_profile_matrix = np.asarray(state["nuisance_profile_matrix"], dtype=np.float64)
            self.nuisance_project_matrix = np.asarray(state["nuisance_project_matrix"], dtype=np.float64)

    # -- evaluation -----------------------------------------------------------------------------------------
    def evaluate_score(
        self, x: Any, theta: Any = None, test_all_combinations: bool = True, nuisance_mode: str = "auto"
    ) -> np.ndarray:
        """t_hat(x), shape ``[n_x, P]`` (``theta`` and ``test_all_combinations`` are ignored: the score is
        at the training reference point). ``nuisance_mode``: "keep" the full score, "profile" or "project"
        onto the parameters of interest (after :meth:`set_nuisance`), "auto" = profile when set, else keep."""
        if nuisance_mode not in NUISANCE_MODES:
            raise EstimatorError(
                f"unknown nuisance_mode {nuisance_mode!r}; choose one of {list(NUISANCE_MODES)}"
            )
        x = self._x(x)
        (t_hat,) = self._evaluate(lambda xb: (self.model(xb),), x, [], all_combinations=False)
        if nuisance_mode == "keep" or (nuisance_mode == "auto" and self.nuisance_profile_matrix is None):
            return t_hat
        if self.nuisance_profile_matrix is None:
            raise EstimatorError(f"nuisance_mode={nuisance_mode!r} needs set_nuisance() first")
        matrix = self.nuisance_project_matrix if nuisance_mode == "project" else self.nuisance_profile_matrix
        return t_hat @ matrix.T

    def fisher_scores(self, x: Any, theta: Any) -> np.ndarray:
        return self.evaluate_score(x, nuisance_mode="keep")
