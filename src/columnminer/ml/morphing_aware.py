r"""A morphing-aware likelihood-ratio estimator: the network learns per-benchmark densities, the morphing
supplies the whole theta dependence.

When the squared matrix element is a polynomial in theta (EFT morphing, :mod:`columnminer.morphing`), the
differential cross section is a fixed linear combination of the differential cross sections at the basis
points theta_b,

.. math::

    \frac{d\sigma(x|\theta)}{dx} = \sum_b w_b(\theta)\, \frac{d\sigma_b(x)}{dx}, \qquad
    \sigma(\theta) = \sum_b w_b(\theta)\,\sigma_b, \qquad
    w_b(\theta) = \sum_c \phi_c(\theta)\, M_{cb},

with the morphing weights :math:`w_b` of :class:`~columnminer.morphing.Morpher` (monomials
:math:`\phi_c(\theta) = \prod_i\theta_i^{k_{ci}}`, morphing matrix M). This holds at detector level too,
since the detector response does not depend on theta. Writing the per-benchmark densities relative to an
arbitrary positive reference density q(x) as :math:`d\sigma_b(x)/dx = q(x)\,e^{g_b(x)}` and
:math:`\sigma_b = \sigma_q\, e^{k_b}`, the likelihood ratio between any two parameter points is

.. math::

    r(x|\theta_0,\theta_1) = \frac{p(x|\theta_0)}{p(x|\theta_1)}
    = \frac{\sum_b w_b(\theta_0)\,e^{g_b(x)}\,\big/\,\sum_b w_b(\theta_0)\,e^{k_b}}
           {\sum_b w_b(\theta_1)\,e^{g_b(x)}\,\big/\,\sum_b w_b(\theta_1)\,e^{k_b}} ,

in which q and :math:`\sigma_q` cancel. The estimator's network outputs the B functions
:math:`\hat g_b(x)` (one MLP with B outputs), and B free numbers :math:`\hat k_b` play the log cross
sections (stored divided by ``XSEC_STEP`` = 10, so that Adam, whose steps are about the learning rate
per parameter, moves these few numbers as fast as the network's functions move); :math:`\hat r` follows
from the formula above. Consequences:

- the theta dependence is exactly the morphing polynomial, so the network only has to learn functions of x
  (no interpolation in theta), and :math:`\hat r(x|\theta,\theta) = 1`,
  :math:`\hat r(x|\theta_0,\theta_1)\hat r(x|\theta_1,\theta_2) = \hat r(x|\theta_0,\theta_2)` hold exactly;
- one network trained against one reference theta1 evaluates ratios between *any* two points, and the score
  :math:`\hat t(x|\theta) = \nabla_\theta \log\sum_b w_b(\theta)e^{\hat g_b(x)} -
  \nabla_\theta\log\sum_b w_b(\theta)e^{\hat k_b}` is analytic in theta (autograd).

Positivity. Each benchmark term :math:`e^{\hat g_b}` is positive, but morphing weights can be negative, so
a badly trained network could make a morphed density :math:`\hat N(x|\theta) = \sum_b w_b(\theta)
e^{\hat g_b(x)}` negative. The estimator floors it smoothly relative to the size of its terms:
:math:`\hat N \to \max(\hat N,\ \epsilon\sum_b |w_b(\theta)|\,e^{\hat g_b(x)})` with
:math:`\epsilon` = ``positivity_floor`` (1e-6), and likewise for the cross section; for a physical
morphing (true densities positive everywhere) a trained network rarely reaches the floor. The sums are
evaluated with a max shift (log-sum-exp style) so large :math:`\hat g_b` do not overflow.

Training uses the ratio losses of :mod:`columnminer.ml.losses` (CARL, ROLR, ALICE, RASCAL, ALICES,
CASCAL) on the usual ratio samples: x, theta0 (``theta``), y, r_xz, t_xz, and either a ``theta1`` column or
the fixed ``reference`` point the y = 1 events were drawn from. Parameters are *not* rescaled (the
morphing needs them in physical units); observables are. Reference: Brehmer, Kling, Espejo, Cranmer,
"MadMiner", arXiv:1907.10621 (morphing-aware estimators); Brehmer, Cranmer, Louppe, Pavez,
arXiv:1805.00020.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import EstimatorError
from ..morphing import Morpher
from . import losses
from .base import value_and_gradient
from .networks import MLP, check_columns, select_observables
from .ratio import RatioEstimatorBase, ratio_loss_function
from .scaling import Scaler
from .trainer import LossFunction

__all__ = ["MorphingAwareRatioEstimator", "MorphingAwareRatioNetwork"]

logger = logging.getLogger(__name__)

#: Scale of the log-cross-section parameters (Adam's steps are ~ the learning rate in the raw parameter).
XSEC_STEP = 10.0


class MorphingAwareRatioNetwork(nn.Module):
    r"""log r_hat(x|theta0, theta1) from per-benchmark log densities g_b(x) and the morphing weights.

    ``components`` [C, P] (integer powers), ``matrix`` [C, B] (the morphing matrix), ``reference`` [P] (the
    theta1 used when none is passed, or None). ``forward(x, theta0, theta1=None)`` returns log r_hat [n];
    :meth:`log_density` returns :math:`\log\hat N(x|\theta) - \log\hat\sigma(\theta)`, the log density up to
    a theta-independent function of x.

    Example:
        >>> m = Morpher([[0], [1], [2]], [[-1.0], [0.0], [1.0]])
        >>> net = MorphingAwareRatioNetwork(m.components, m.matrix, 2, hidden=(8,), reference=[0.0])
        >>> net(torch.zeros(4, 2), torch.ones(4, 1)).shape
        torch.Size([4])
        >>> net(torch.zeros(4, 2), torch.ones(4, 1), torch.ones(4, 1)).abs().max().item()
        0.0
    """

    def __init__(
        self,
        components: np.ndarray | Sequence,
        matrix: np.ndarray | Sequence,
        n_observables: int,
        hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        dropout: float = 0.0,
        features: Sequence[int] | None = None,
        scaling: str = "standard",
        reference: np.ndarray | Sequence | None = None,
        positivity_floor: float = 1e-6,
    ) -> None:
        super().__init__()
        components = np.array(components, dtype=np.int64)  # copies: the Morpher's arrays are read-only
        matrix = np.array(matrix, dtype=np.float64)
        if components.ndim != 2 or matrix.ndim != 2 or matrix.shape[0] != components.shape[0]:
            raise EstimatorError(
                f"components [C, P] and morphing matrix [C, B] do not fit: {components.shape}, {matrix.shape}"
            )
        self.n_components, self.n_parameters = components.shape
        self.n_basis = matrix.shape[1]
        self.n_observables = int(n_observables)
        self.features = None if features is None else [int(i) for i in features]
        self.positivity_floor = float(positivity_floor)
        self.max_power = int(components.max(initial=0))
        self.register_buffer("components", torch.as_tensor(components, dtype=torch.long))
        self.register_buffer("matrix", torch.as_tensor(matrix, dtype=torch.float64))  # cast per use
        if reference is None:
            self.reference = None
        else:
            ref = torch.as_tensor(np.asarray(reference, dtype=np.float64).reshape(-1), dtype=torch.float32)
            if ref.shape != (self.n_parameters,):
                raise EstimatorError(
                    f"reference must have {self.n_parameters} entries, got {tuple(ref.shape)}"
                )
            self.register_buffer("reference", ref)
        n_x = self.n_observables if self.features is None else len(self.features)
        self.x_scaler = Scaler(n_x, scaling)
        self.mlp = MLP(n_x, self.n_basis, hidden, activation, dropout)
        # start near "all benchmarks alike" (r_hat ~ 1): small last layer
        last = self.mlp[-1]
        with torch.no_grad():
            last.weight.mul_(0.1)
            last.bias.zero_()
        # k_b = XSEC_STEP * raw_b: the optimiser moves the B cross sections as fast as the many network weights
        self.raw_log_xsec = nn.Parameter(torch.zeros(self.n_basis))

    @property
    def log_xsec(self) -> torch.Tensor:
        """The learnt log cross sections k_b, shape [B]."""
        return XSEC_STEP * self.raw_log_xsec

    def morphing_weights(self, theta: torch.Tensor) -> torch.Tensor:
        r"""w_b(theta) = sum_c phi_c(theta) M_cb, shape [n, B]; powers by repeated products (smooth at 0)."""
        theta = check_columns(theta, self.n_parameters, "theta has {} parameters", "the morphing has")
        powers = [torch.ones_like(theta)]
        for _ in range(self.max_power):
            powers.append(powers[-1] * theta)
        table = torch.stack(powers, dim=2)  # [n, P, K+1]
        index = self.components.T.unsqueeze(0).expand(theta.shape[0], -1, -1)  # [n, P, C]
        phi = torch.gather(table, 2, index).prod(dim=1)  # [n, C]
        return phi @ self.matrix.to(phi.dtype)

    def _log_morphed(self, weights: torch.Tensor, logs: torch.Tensor) -> torch.Tensor:
        r"""log max(sum_b w_b e^{l_b}, eps sum_b |w_b| e^{l_b}) for weights [n, B], logs [n, B] or [B]."""
        shift = logs.max(dim=-1, keepdim=True).values.detach()
        terms = torch.exp(logs - shift)
        total = (weights * terms).sum(dim=1)
        floor = self.positivity_floor * (weights.abs() * terms).sum(dim=1)
        return torch.log(torch.maximum(total, floor)) + shift.reshape(-1)

    def log_density(self, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`\log\sum_b w_b(\theta) e^{g_b(x)} - \log\sum_b w_b(\theta) e^{k_b}` for network outputs g
        [n, B] (log p(x|theta) up to a function of x alone)."""
        weights = self.morphing_weights(theta)
        log_xsec = self.log_xsec.unsqueeze(0).expand(weights.shape[0], -1)
        return self._log_morphed(weights, g) - self._log_morphed(weights, log_xsec)

    def benchmark_logs(self, x: torch.Tensor) -> torch.Tensor:
        """The network outputs g_b(x), shape [n, B]."""
        return self.mlp(self.x_scaler(select_observables(x, self.n_observables, self.features)))

    def forward(
        self, x: torch.Tensor, theta0: torch.Tensor, theta1: torch.Tensor | None = None
    ) -> torch.Tensor:
        """log r_hat(x|theta0, theta1), shape [n]; theta1 defaults to the reference."""
        g = self.benchmark_logs(x)
        if theta0.ndim == 1:
            theta0 = theta0[:, None]
        if theta1 is None:
            if self.reference is None:
                raise EstimatorError("no theta1 given and the network has no reference point")
            theta1 = self.reference.to(theta0.dtype).expand(theta0.shape[0], -1)
        elif theta1.ndim == 1:
            theta1 = theta1[:, None]
        return self.log_density(g, theta0) - self.log_density(g, theta1)


class MorphingAwareRatioEstimator(RatioEstimatorBase):
    r"""Likelihood-ratio estimator whose theta dependence is the morphing (module docstring for the maths).

    Give the morphing as a :class:`~columnminer.morphing.Morpher` or as ``components`` and ``basis``. The
    training sample is a ratio sample; its denominator hypothesis is either a ``theta1`` column or the fixed
    ``reference`` point. After training, :meth:`evaluate_log_likelihood_ratio` takes any theta0 *and*
    theta1 (default: the reference).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> morpher = Morpher([[0], [1], [2]], [[-1.0], [0.0], [1.0]])
        >>> theta0 = rng.uniform(-1, 1, (200, 1))
        >>> y = np.repeat([0.0, 1.0], 100)
        >>> x = rng.normal(size=(200, 1))
        >>> est = MorphingAwareRatioEstimator(morpher, reference=[0.0], n_hidden=(8,))
        >>> _ = est.train("carl", x=x, y=y, theta=theta0, n_epochs=1)
        >>> est.evaluate_log_likelihood_ratio(x[:3], [[0.5], [1.0]]).shape
        (2, 3)
        >>> est.evaluate_log_likelihood_ratio(x[:3], [[0.5]], [[0.5]]).tolist()
        [[0.0, 0.0, 0.0]]
    """

    optional_columns: ClassVar[tuple[str, ...]] = ("y", "r_xz", "t_xz", "theta1")

    def __init__(
        self,
        morpher: Morpher | None = None,
        *,
        components: np.ndarray | Sequence | None = None,
        basis: np.ndarray | Sequence | None = None,
        reference: np.ndarray | Sequence | None = None,
        features: Sequence[int] | None = None,
        n_hidden: Sequence[int] = (100, 100),
        activation: str = "silu",
        dropout_prob: float = 0.0,
        scaling: str = "standard",
        positivity_floor: float = 1e-6,
    ) -> None:
        super().__init__(features, n_hidden, activation, dropout_prob, scaling)
        if morpher is None:
            if components is None or basis is None:
                raise EstimatorError("MorphingAwareRatioEstimator needs a Morpher, or components and basis")
            morpher = Morpher(components, basis)
        elif components is not None or basis is not None:
            raise EstimatorError("pass either a Morpher or components and basis, not both")
        self.morpher = morpher
        self.reference = None if reference is None else np.asarray(reference, dtype=np.float64).reshape(-1)
        if self.reference is not None and self.reference.shape != (morpher.n_parameters,):
            raise EstimatorError(
                f"reference must have {morpher.n_parameters} entries (one per parameter), got {self.reference}"
            )
        if not positivity_floor > 0:
            raise EstimatorError(f"positivity_floor must be positive, got {positivity_floor}")
        self.positivity_floor = float(positivity_floor)

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "components": self.morpher.components.tolist(),
            "basis": self.morpher.basis.tolist(),
            "reference": None if self.reference is None else self.reference.tolist(),
            "positivity_floor": self.positivity_floor,
        }

    def _scaled_columns(self) -> dict[str, str]:
        return {"x_scaler": "x"}

    def _build_model(self) -> nn.Module:
        if self.n_parameters != self.morpher.n_parameters:
            raise EstimatorError(
                f"the data have {self.n_parameters} parameters, the morphing {self.morpher.n_parameters}"
            )
        return MorphingAwareRatioNetwork(
            self.morpher.components,
            self.morpher.matrix,
            self.n_observables,
            self.n_hidden,
            self.activation,
            self.dropout_prob,
            self.features,
            self.scaling,
            self.reference,
            self.positivity_floor,
        )

    def _loss_fn(self, method: str, alpha: losses.Alpha, columns: Sequence[str]) -> LossFunction:
        has_theta1 = "theta1" in columns
        if not has_theta1 and self.reference is None:
            raise EstimatorError(
                "the training data have no theta1 column: give the estimator the reference point the y = 1 "
                "events were drawn from (reference=...)"
            )

        def log_ratio(
            model: nn.Module, batch: Mapping[str, torch.Tensor], theta: torch.Tensor
        ) -> torch.Tensor:
            return model(batch["x"], theta, batch["theta1"] if has_theta1 else None)

        return ratio_loss_function(method, alpha, log_ratio)

    def _ratio_thetas(self, theta0: Any, theta1: Any) -> list[np.ndarray]:
        """theta0 and theta1, any points (theta1 defaults to the reference)."""
        theta0 = self._theta(theta0, "theta0")
        if theta1 is not None:
            return [theta0, self._theta(theta1, "theta1")]
        if self.reference is None:
            raise EstimatorError("no theta1 given and the estimator has no reference point")
        return [theta0, self.reference[None, :]]

    def _log_r_and_scores(
        self, x: torch.Tensor, theta0: torch.Tensor, theta1: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return value_and_gradient(lambda t: self.model(x, t, theta1), theta0)

    def evaluate_benchmark_log_densities(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        r"""The learnt :math:`\hat g_b(x)` [n, B] and :math:`\hat k_b` [B]: log dsigma_b(x) and log sigma_b,
        each up to a common offset (a function of x for g, a constant for k)."""
        x = self._x(x)
        model = self._require_model()
        (g,) = self._evaluate(lambda xb: (model.benchmark_logs(xb),), x, [], all_combinations=False)
        return g, model.log_xsec.detach().cpu().double().numpy()
