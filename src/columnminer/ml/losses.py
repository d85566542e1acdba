r"""The training losses of the likelihood-ratio, score and density estimators ("mining gold").

Conventions (docs/design.md): y = 0 for events drawn from theta0, y = 1 for events drawn from theta1,
r = p(x|theta0) / p(x|theta1) and s = 1 / (1 + r), so s is the probability of class y = 1. A network
outputs :math:`\log\hat r`, hence :math:`\hat s = \sigma(-\log\hat r)` and the cross entropies below are
written with softplus for numerical stability. Averages run over the batch (and over the parameter
components of a score).

=========  ================================================================================================
CARL       :math:`-\langle y\log\hat s + (1-y)\log(1-\hat s)\rangle`
ROLR       :math:`\langle (1-y)(1/\hat r - 1/r_{xz})^2\rangle + \langle y(\hat r - r_{xz})^2\rangle`
ALICE      :math:`-\langle s_{xz}\log\hat s + (1-s_{xz})\log(1-\hat s)\rangle`, :math:`s_{xz} = 1/(1+r_{xz})`
RASCAL     ROLR :math:`+\ \alpha\,\langle (1-y)\,|\hat t(x|\theta_0) - t_{xz}(\theta_0)|^2\rangle`
ALICES     ALICE + the same score term
CASCAL     CARL + the same score term
SALLY      :math:`\langle |\hat t(x) - t_{xz}|^2\rangle`
NDE        :math:`-\langle\log\hat p(x|\theta)\rangle`
SCANDAL    NDE :math:`+\ \alpha\,\langle |\nabla_\theta\log\hat p(x|\theta) - t_{xz}(\theta)|^2\rangle`
=========  ================================================================================================

Here :math:`\hat t(x|\theta_0) = \nabla_{\theta_0}\log\hat r(x|\theta_0,\theta_1)`. The ratios in ROLR / RASCAL
are clipped to :math:`|\log r| \le` ``log_r_clip`` (default 10) against the heavy tails of r_xz. Every loss
returns ``(total, components)``; the components are the terms of the total, already multiplied by alpha,
so ``total == sum(components.values())``. References: Brehmer, Cranmer, Louppe, Pavez, arXiv:1805.00013,
arXiv:1805.00020; Stoye et al., arXiv:1808.00973 (ALICE / ALICES); Brehmer, Kling, Espejo, Cranmer,
arXiv:1907.10621.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "RATIO_LOSS_INPUTS",
    "SCORE_TERM_METHODS",
    "Alpha",
    "LossResult",
    "alice_loss",
    "alices_loss",
    "carl_loss",
    "cascal_loss",
    "nde_loss",
    "rascal_loss",
    "ratio_loss",
    "rolr_loss",
    "sally_loss",
    "scandal_loss",
    "score_mse",
]

#: (total loss, {component name: term of the total}).
LossResult = tuple[torch.Tensor, dict[str, torch.Tensor]]


def _total(components: dict[str, torch.Tensor]) -> LossResult:
    return sum(components.values()), components  # type: ignore[return-value]


def _cross_entropy(log_r_hat: torch.Tensor, target_s: torch.Tensor) -> torch.Tensor:
    # -[s log s_hat + (1 - s) log(1 - s_hat)] with s_hat = sigmoid(-log r_hat)
    return (target_s * F.softplus(log_r_hat) + (1.0 - target_s) * F.softplus(-log_r_hat)).mean()


#: A loss weight: a number, or a tensor [P] of per-parameter weights of the score term.
Alpha = float | torch.Tensor


def score_mse(
    t_hat: torch.Tensor, t_xz: torch.Tensor, mask: torch.Tensor | None = None, alpha: Alpha = 1.0
) -> torch.Tensor:
    r"""Weighted mean squared score error :math:`\langle m \sum_i \alpha_i (\hat t_i - t_{xz,i})^2\rangle / P`
    over events; rows with mask m = 0 contribute zero (even where t_xz is not finite there). ``alpha`` is a
    number or a tensor [P] (per-parameter weights, e.g. :math:`\alpha\,\mathrm{Var}(\theta_i)` for the score
    in standardised parameter units).

    Example:
        >>> score_mse(torch.ones(4, 2), torch.zeros(4, 2), torch.tensor([1.0, 1.0, 0.0, 0.0])).item()
        0.5
        >>> score_mse(torch.ones(1, 2), torch.zeros(1, 2), alpha=torch.tensor([1.0, 3.0])).item()
        2.0
    """
    if t_hat.ndim == 1:
        t_hat = t_hat[:, None]
    if t_xz.ndim == 1:
        t_xz = t_xz[:, None]
    difference = t_hat - t_xz
    if mask is not None:
        keep = (mask.reshape(-1, 1) > 0).expand_as(difference)
        difference = torch.where(keep, difference, torch.zeros_like(difference))
    if isinstance(alpha, torch.Tensor):
        return (difference**2 * alpha.to(difference)).mean()
    return float(alpha) * (difference**2).mean()


def carl_loss(log_r_hat: torch.Tensor, y: torch.Tensor) -> LossResult:
    r"""CARL: cross entropy of :math:`\hat s = 1/(1+\hat r)` against the label y.

    Example:
        >>> round(carl_loss(torch.zeros(2), torch.tensor([0.0, 1.0]))[0].item(), 4)  # log 2
        0.6931
    """
    return _total({"cross_entropy": _cross_entropy(log_r_hat, y.reshape(-1))})


def alice_loss(log_r_hat: torch.Tensor, r_xz: torch.Tensor) -> LossResult:
    r"""ALICE: cross entropy of :math:`\hat s` against :math:`s(x,z) = 1/(1 + r(x,z))`.

    Example:
        >>> round(alice_loss(torch.zeros(1), torch.ones(1))[0].item(), 4)
        0.6931
    """
    target = 1.0 / (1.0 + r_xz.reshape(-1))
    return _total({"cross_entropy": _cross_entropy(log_r_hat, target)})


def rolr_loss(
    log_r_hat: torch.Tensor, y: torch.Tensor, r_xz: torch.Tensor, log_r_clip: float = 10.0
) -> LossResult:
    r"""ROLR: :math:`(\hat r - r_{xz})^2` on y = 1 events plus :math:`(1/\hat r - 1/r_{xz})^2` on y = 0 events.

    Example:
        >>> rolr_loss(torch.zeros(2), torch.tensor([0.0, 1.0]), torch.ones(2))[0].item()
        0.0
    """
    y = y.reshape(-1)
    clipped = torch.clamp(log_r_hat, -log_r_clip, log_r_clip)
    r_true = torch.clamp(r_xz.reshape(-1), math.exp(-log_r_clip), math.exp(log_r_clip))
    numerator = ((1.0 - y) * (torch.exp(-clipped) - 1.0 / r_true)) ** 2
    denominator = (y * (torch.exp(clipped) - r_true)) ** 2
    return _total({"ratio_num": numerator.mean(), "ratio_den": denominator.mean()})


def _with_score(
    result: LossResult, t_hat: torch.Tensor, t_xz: torch.Tensor, y: torch.Tensor, alpha: Alpha
) -> LossResult:
    _, components = result
    components = dict(components)
    components["score"] = score_mse(t_hat, t_xz, 1.0 - y.reshape(-1), alpha)
    return _total(components)


def rascal_loss(
    log_r_hat: torch.Tensor,
    t_hat: torch.Tensor,
    y: torch.Tensor,
    r_xz: torch.Tensor,
    t_xz: torch.Tensor,
    alpha: Alpha = 1.0,
    log_r_clip: float = 10.0,
) -> LossResult:
    r"""RASCAL: ROLR + alpha times the score error at theta0 on y = 0 events.

    Example:
        >>> total, parts = rascal_loss(torch.zeros(2), torch.ones(2, 1), torch.tensor([0.0, 1.0]),
        ...                            torch.ones(2), torch.zeros(2, 1))
        >>> sorted(parts), total.item()
        (['ratio_den', 'ratio_num', 'score'], 0.5)
    """
    return _with_score(rolr_loss(log_r_hat, y, r_xz, log_r_clip), t_hat, t_xz, y, alpha)


def alices_loss(
    log_r_hat: torch.Tensor,
    t_hat: torch.Tensor,
    y: torch.Tensor,
    r_xz: torch.Tensor,
    t_xz: torch.Tensor,
    alpha: Alpha = 1.0,
) -> LossResult:
    r"""ALICES: ALICE + alpha times the score error at theta0 on y = 0 events.

    Example:
        >>> sorted(alices_loss(torch.zeros(2), torch.zeros(2, 1), torch.zeros(2), torch.ones(2),
        ...                    torch.zeros(2, 1))[1])
        ['cross_entropy', 'score']
    """
    return _with_score(alice_loss(log_r_hat, r_xz), t_hat, t_xz, y, alpha)


def cascal_loss(
    log_r_hat: torch.Tensor, t_hat: torch.Tensor, y: torch.Tensor, t_xz: torch.Tensor, alpha: Alpha = 1.0
) -> LossResult:
    r"""CASCAL: CARL + alpha times the score error at theta0 on y = 0 events.

    Example:
        >>> sorted(cascal_loss(torch.zeros(2), torch.zeros(2, 1), torch.zeros(2), torch.zeros(2, 1))[1])
        ['cross_entropy', 'score']
    """
    return _with_score(carl_loss(log_r_hat, y), t_hat, t_xz, y, alpha)


def sally_loss(t_hat: torch.Tensor, t_xz: torch.Tensor) -> LossResult:
    r"""SALLY / SALLINO: mean squared error of :math:`\hat t(x)` against the joint score.

    Example:
        >>> sally_loss(torch.ones(3, 2), torch.zeros(3, 2))[0].item()
        1.0
    """
    return _total({"score": score_mse(t_hat, t_xz)})


def nde_loss(log_p_hat: torch.Tensor) -> LossResult:
    r"""NDE: negative mean log likelihood of the flow.

    Example:
        >>> nde_loss(torch.tensor([-1.0, -3.0]))[0].item()
        2.0
    """
    return _total({"nll": -log_p_hat.mean()})


def scandal_loss(
    log_p_hat: torch.Tensor, t_hat: torch.Tensor, t_xz: torch.Tensor, alpha: Alpha = 1.0
) -> LossResult:
    r"""SCANDAL: NDE + alpha times the mean squared error of the flow's score against the joint score.

    Example:
        >>> scandal_loss(torch.tensor([-1.0]), torch.ones(1, 1), torch.zeros(1, 1), alpha=2.0)[0].item()
        3.0
    """
    return _total({"nll": -log_p_hat.mean(), "score": score_mse(t_hat, t_xz, alpha=alpha)})


#: The training columns each ratio method needs besides x and theta.
RATIO_LOSS_INPUTS: dict[str, tuple[str, ...]] = {
    "carl": ("y",),
    "rolr": ("y", "r_xz"),
    "alice": ("r_xz",),
    "rascal": ("y", "r_xz", "t_xz"),
    "alices": ("y", "r_xz", "t_xz"),
    "cascal": ("y", "t_xz"),
}
#: The ratio methods whose loss has the score term (they need t_hat, the score of log r_hat by autograd).
SCORE_TERM_METHODS = frozenset({"rascal", "alices", "cascal"})


def ratio_loss(
    method: str,
    log_r: torch.Tensor,
    t_hat: torch.Tensor | None,
    batch: dict[str, torch.Tensor],
    alpha: Alpha,
) -> LossResult:
    """The loss of a ratio method (carl, rolr, alice, rascal, alices, cascal) on one batch.

    ``t_hat`` is the score of log r_hat w.r.t. theta0 (only for :data:`SCORE_TERM_METHODS`).

    Example:
        >>> total, parts = ratio_loss("carl", torch.zeros(2), None, {"y": torch.tensor([0.0, 1.0])}, 1.0)
        >>> round(float(total), 4)
        0.6931
    """
    if method == "carl":
        return carl_loss(log_r, batch["y"])
    if method == "rolr":
        return rolr_loss(log_r, batch["y"], batch["r_xz"])
    if method == "alice":
        return alice_loss(log_r, batch["r_xz"])
    if method == "rascal":
        return rascal_loss(log_r, t_hat, batch["y"], batch["r_xz"], batch["t_xz"], alpha)
    if method == "alices":
        return alices_loss(log_r, t_hat, batch["y"], batch["r_xz"], batch["t_xz"], alpha)
    if method == "cascal":
        return cascal_loss(log_r, t_hat, batch["y"], batch["t_xz"], alpha)
    raise ValueError(f"unknown ratio method {method!r}; methods are {sorted(RATIO_LOSS_INPUTS)}")
