r"""One training loop for every estimator: mini-batch gradient descent on ``loss_fn(model, batch)``.

The learning rate decays exponentially per epoch from ``initial_lr`` (first epoch) to ``final_lr`` (last
epoch), :math:`\eta_e = \eta_0 (\eta_1/\eta_0)^{e/(E-1)}`. With validation data the validation loss is
computed after every epoch, batch by batch in a fixed order. Early stopping keeps the model state of the
*latest* epoch whose validation loss is not significantly worse than the smallest one so far: epoch e is
kept when

.. math::

    L_e - L_b \le k\,\widehat{\mathrm{se}}(L_e - L_b), \qquad
    \widehat{\mathrm{se}}^2 = \frac{1}{N}\,\frac{\sum_j n_j\,(d_j - \bar d)^2}{B - 1},

with b the epoch of the smallest loss, :math:`d_j` the difference of the two epochs' mean losses on
validation batch j (:math:`n_j` events, B batches, N events in all, :math:`\bar d = L_e - L_b`) and k =
``early_stopping_tolerance`` (the "one-standard-error rule" of Breiman et al. 1984 / Hastie, Tibshirani,
Friedman, *Elements of Statistical Learning*, sec. 7.10, applied to the paired difference). k = 0 is the
classic rule, the state of the smallest validation loss. The tolerance matters because late epochs, at a
small learning rate, are an average over many steps: on a flat validation curve the classic rule picks a
noisy early minimum at a high learning rate, which generalises worse. Training stops after
``early_stopping_patience`` epochs (when set) without a kept epoch. Training is reproducible for a given
``seed``: it seeds torch inside a forked RNG state and the batch order per epoch.

Mechanics (none changes what is computed): batches are views of one float32 tensor per shuffle buffer;
the optimiser is torch's fused Adam / AMSGrad kernel; CPU training with small batches (below
:data:`SMALL_BATCH`) runs torch operations on one thread, and with validation data the validation of
epoch e runs on a copy of the model in a second thread while epoch e + 1 trains
(:data:`BACKGROUND_VALIDATION`). The score term of ALICES / RASCAL / CASCAL is propagated forward through
the network (:meth:`~columnminer.ml.networks.RatioNetwork.forward_with_score`), so its loss needs a
first-order backward instead of a double one. For the estimators' default networks and losses (CARL, ALICE,
ALICES, CASCAL, SALLY on the CPU) the estimators pass an ``analytic`` step
(:class:`~columnminer.ml._fused.AnalyticLoss`): the loss and its weight gradients by hand in a few large
tensor operations, all parameters in one flat buffer updated by one direct call of the fused Adam kernel
(:func:`~columnminer.ml._fused.direct_step`), and the validation loss by the same forward pass. Its
gradients equal autograd's to float rounding (summation order), so trained weights agree with the autograd
path to about 1e-6 relative, not bit for bit.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import EstimatorError
from ._fused import direct_step, flatten_parameters, unflatten_parameters
from .data import TrainingData

__all__ = ["LossFunction", "TrainingHistory", "TrainingOptions", "resolve_device", "train"]

logger = logging.getLogger(__name__)


class LossFunction(Protocol):
    """``loss_fn(model, batch) -> (total loss, {component: term})``: the loss of one batch of named tensors.

    Example:
        >>> def mse(model: nn.Module, batch: Mapping[str, torch.Tensor]):
        ...     loss = ((model(batch["x"]) - batch["y"]) ** 2).mean()
        ...     return loss, {"mse": loss}
        >>> mse(nn.Identity(), {"x": torch.ones(2), "y": torch.zeros(2)})[0].item()
        1.0
    """

    def __call__(
        self, model: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, Mapping[str, torch.Tensor]]: ...


OPTIMIZERS = ("adam", "amsgrad", "sgd")


class AnalyticStep(Protocol):
    """A loss that computes its own gradients (:class:`columnminer.ml._fused.AnalyticLoss`): ``step(batch)``
    returns ``(total, {component: term})`` and writes the gradient of the total into the parameters'
    ``.grad``; ``step.evaluate(batch)`` returns the loss only; ``step.bind(model)`` is the same loss for
    another network of the same kind (the copy validated in the background); ``step.prepare(columns)``
    adds the row-wise inputs it derives from the columns of a whole shuffle buffer (the batches are views).

    Example:
        >>> from columnminer.ml._fused import AnalyticLoss
        >>> from columnminer.ml.networks import ScoreNetwork
        >>> step: AnalyticStep = AnalyticLoss(ScoreNetwork(1, 1, hidden=(4,)), "sally")
        >>> batch = {"x": torch.zeros(3, 1), "t_xz": torch.ones(3, 1)}
        >>> bool(step(batch)[0] == step.evaluate(batch)[0])
        True
    """

    def __call__(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, Mapping[str, torch.Tensor]]: ...

    def evaluate(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, Mapping[str, torch.Tensor]]: ...

    def bind(self, model: nn.Module) -> AnalyticStep: ...

    def prepare(self, columns: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]: ...


@dataclass
class TrainingOptions:
    """Settings of :func:`train`.

    The defaults are columnminer's, tuned on MadMiner's Gaussian toy (``benchmarks/ml_accuracy.py``): a
    learning rate decaying from 3e-3 to 1e-5 over 30 epochs (MadMiner: 1e-3 to 1e-4 over 50), batches of
    128, 25% validation, early stopping with the one-standard-error tolerance of the module docstring, and
    gradient clipping chosen per method (``clip_gradient="auto"``). :meth:`madminer` gives MadMiner 0.9.6's
    settings.

    ``validation_split`` is the fraction of the data held out for validation when no explicit validation
    data are given (0 for none); ``loss_weights`` multiplies named loss components (the total becomes
    ``sum(loss_weights.get(c, 1) * term_c)``); ``clip_gradient`` is a maximal gradient norm (None: no
    clipping; "auto": the estimator's default for the method, see
    :attr:`~columnminer.ml.base.Estimator.default_clip_gradient`, and no clipping in :func:`train` itself);
    ``early_stopping_tolerance`` is k of the module docstring (0: keep the epoch of the smallest validation
    loss); ``device`` is
    "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N"; ``progress`` shows a tqdm bar (None:
    only on a terminal). ``limit_samplesize`` trains on the first N rows only (learning curves);
    ``shuffle_labels`` permutes the labels (y, r_xz, t_xz, ...) against the inputs (x, theta) as a closure test
    (an estimator trained so should predict log r ~ 0 and t ~ 0); both act on the training data given to an
    estimator's ``train``.

    Example:
        >>> TrainingOptions(n_epochs=5).learning_rate(4)
        1e-05
        >>> TrainingOptions.madminer().n_epochs
        50
    """

    optimizer: str = "amsgrad"
    initial_lr: float = 3e-3
    final_lr: float = 1e-5
    n_epochs: int = 30
    batch_size: int = 128
    validation_split: float = 0.25
    early_stopping: bool = True
    early_stopping_patience: int | None = None
    early_stopping_tolerance: float = 1.0
    clip_gradient: float | str | None = "auto"
    loss_weights: dict[str, float] | None = None
    weight_decay: float = 0.0
    nesterov_momentum: float | None = None
    device: str = "auto"
    seed: int | None = 0
    shuffle: bool = True
    progress: bool | None = None
    limit_samplesize: int | None = None
    shuffle_labels: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise EstimatorError(f"unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}")
        if self.n_epochs < 1 or self.batch_size < 1:
            raise EstimatorError("n_epochs and batch_size must be positive")
        if not (self.initial_lr > 0 and self.final_lr > 0):
            raise EstimatorError("learning rates must be positive")
        if not 0.0 <= self.validation_split < 1.0:
            raise EstimatorError(f"validation_split must be in [0, 1), got {self.validation_split}")
        if isinstance(self.clip_gradient, str):
            if self.clip_gradient != "auto":
                raise EstimatorError(
                    f"clip_gradient must be positive, None or 'auto', got {self.clip_gradient!r}"
                )
        elif self.clip_gradient is not None and not self.clip_gradient > 0:
            raise EstimatorError("clip_gradient must be positive, None or 'auto'")
        if not self.early_stopping_tolerance >= 0:
            raise EstimatorError(
                f"early_stopping_tolerance must be non-negative, got {self.early_stopping_tolerance}"
            )
        if self.limit_samplesize is not None and self.limit_samplesize < 1:
            raise EstimatorError("limit_samplesize must be positive (or None)")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise EstimatorError("early_stopping_patience must be positive (or None)")

    @classmethod
    def madminer(cls, **changes: Any) -> TrainingOptions:
        """MadMiner 0.9.6's training defaults (``ParameterizedRatioEstimator.train``): amsgrad, 50 epochs,
        batches of 128, learning rate 1e-3 to 1e-4, 25% validation, early stopping to the epoch of the
        smallest validation loss (tolerance 0), no gradient clipping; ``changes`` override fields.

        (MadMiner's own trainer keeps ``model.state_dict()`` without copying it, so the "best" state it
        restores is in fact the last one; this is the rule it documents.)
        """
        settings = {
            "optimizer": "amsgrad",
            "initial_lr": 1e-3,
            "final_lr": 1e-4,
            "n_epochs": 50,
            "batch_size": 128,
            "validation_split": 0.25,
            "early_stopping": True,
            "early_stopping_tolerance": 0.0,
            "clip_gradient": None,
        }
        return cls(**{**settings, **changes})

    def learning_rate(self, epoch: int) -> float:
        """Learning rate of epoch ``epoch`` (0-based)."""
        if self.n_epochs == 1:
            return float(self.initial_lr)
        return float(self.initial_lr * (self.final_lr / self.initial_lr) ** (epoch / (self.n_epochs - 1)))

    def replace(self, **changes: Any) -> TrainingOptions:
        """A copy with some fields changed (unknown names are an :class:`EstimatorError`)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise EstimatorError(f"unknown training option(s) {unknown}; the options are {sorted(names)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON-friendly dict."""
        return dataclasses.asdict(self)


@dataclass
class TrainingHistory:
    """Per-epoch losses of one training run (``validation_loss`` empty without validation data).

    ``best_epoch`` is the epoch whose state the model holds at the end (0-based; with early stopping the
    latest epoch within the tolerance of the smallest validation loss), ``min_epoch`` the epoch of the
    smallest validation loss (-1 without validation), ``stopped_early`` whether the patience ran out before
    ``n_epochs``.

    Example:
        >>> h = TrainingHistory(train_loss=[0.7, 0.6], validation_loss=[0.71, 0.65], best_epoch=1, min_epoch=1)
        >>> h.n_epochs, h.to_dict()["validation_loss"]
        (2, [0.71, 0.65])
    """

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    train_components: dict[str, list[float]] = field(default_factory=dict)
    validation_components: dict[str, list[float]] = field(default_factory=dict)
    learning_rates: list[float] = field(default_factory=list)
    best_epoch: int = -1
    min_epoch: int = -1
    stopped_early: bool = False
    n_train: int = 0
    n_validation: int = 0
    seconds: float = 0.0

    @property
    def n_epochs(self) -> int:
        """Number of epochs run."""
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        """The history as a JSON-friendly dict."""
        return dataclasses.asdict(self)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; anything else as ``torch.device``.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EstimatorError("device 'cuda' requested but CUDA is not available")
    return device


def _make_optimizer(parameters: Sequence[torch.Tensor], options: TrainingOptions) -> torch.optim.Optimizer:
    parameters = [p for p in parameters if p.requires_grad]
    if options.optimizer == "sgd":
        momentum = options.nesterov_momentum or 0.0
        return torch.optim.SGD(
            parameters,
            lr=options.initial_lr,
            momentum=momentum,
            nesterov=momentum > 0,
            weight_decay=options.weight_decay,
        )
    # the fused kernel: one call per step for all parameters instead of ~10 per tensor (the same update up to
    # float rounding; 3x faster than the per-tensor loop for the small default networks)
    fused = bool(parameters) and all(
        p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in parameters
    )
    return torch.optim.Adam(
        parameters,
        lr=options.initial_lr,
        amsgrad=options.optimizer == "amsgrad",
        weight_decay=options.weight_decay,
        fused=fused or None,
    )


def _weighted(
    components: Mapping[str, torch.Tensor], total: torch.Tensor, weights: Mapping[str, float] | None
):
    if not weights:
        return total
    unknown = set(weights) - set(components)
    if unknown:
        raise EstimatorError(
            f"loss_weights name unknown components {sorted(unknown)}; the loss has {sorted(components)}"
        )
    return sum(float(weights.get(name, 1.0)) * term for name, term in components.items())


def _run_epoch(
    model: nn.Module,
    loss_fn: LossFunction,
    data: TrainingData,
    options: TrainingOptions,
    device: torch.device,
    seed: int | None,
    optimizer: torch.optim.Optimizer | None,
    clip_gradient: float | None = None,
    analytic: AnalyticStep | None = None,
    step: Callable[[], None] | None = None,
) -> tuple[float, dict[str, float], list[tuple[float, int]]]:
    """One pass over ``data``; a gradient step per batch when ``optimizer`` is given (the gradients by
    ``analytic`` when given, else by autograd). Returns the mean losses (total, per component) and the (mean
    loss, size) of every batch."""
    training = optimizer is not None
    by_autograd = analytic is None
    if by_autograd:

        def compute(batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, Mapping[str, torch.Tensor]]:
            total, components = loss_fn(model, batch)
            return _weighted(components, total, options.loss_weights), components

    else:  # the loss, and in training the gradients in the same pass (they land in the .grad views)
        analytic = analytic.bind(model)
        compute = analytic if training else analytic.evaluate
    step = step or (optimizer.step if training else None)
    model.train(training)
    total_sum, parts_sum, count = 0.0, {}, 0
    per_batch: list[tuple[float, int]] = []
    prepare = None if by_autograd else analytic.prepare
    for batch in data.batches(
        options.batch_size, shuffle=training and options.shuffle, seed=seed, device=device, prepare=prepare
    ):
        n = len(next(iter(batch.values())))
        loss, components = compute(batch)
        value = loss.item()
        if not math.isfinite(value):
            raise EstimatorError(
                f"the {'training' if training else 'validation'} loss is not finite ({value}); "
                "check the training data for NaN / inf, or lower the learning rate"
            )
        if training:
            if by_autograd:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            if clip_gradient is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_gradient)
            step()
        per_batch.append((value, n))
        total_sum += value * n
        for name, term in components.items():
            parts_sum[name] = parts_sum.get(name, 0.0) + float(term.detach()) * n
        count += n
    if count == 0:
        raise EstimatorError("no training rows to run over")
    return total_sum / count, {name: value / count for name, value in parts_sum.items()}, per_batch


def _difference_se(epoch: Sequence[tuple[float, int]], best: Sequence[tuple[float, int]]) -> float:
    r"""Standard error of the difference of two epochs' mean validation losses, from the paired per-batch
    differences (see the module docstring); 0 with fewer than two batches."""
    if len(epoch) != len(best) or len(epoch) < 2:
        return 0.0
    sizes = np.array([n for _, n in epoch], dtype=np.float64)
    diff = np.array([a for a, _ in epoch]) - np.array([b for b, _ in best])
    total = sizes.sum()
    mean = float((sizes * diff).sum() / total)
    variance = float((sizes * (diff - mean) ** 2).sum() / (len(diff) - 1))
    return math.sqrt(max(variance, 0.0) / total)


def train(
    model: nn.Module,
    loss_fn: LossFunction,
    data: TrainingData,
    options: TrainingOptions | None = None,
    validation_data: TrainingData | None = None,
    *,
    analytic: AnalyticStep | None = None,
) -> TrainingHistory:
    r"""Train ``model`` in place by minimising ``loss_fn`` over ``data``; returns the :class:`TrainingHistory`.

    Without ``validation_data`` a random ``options.validation_split`` of ``data`` is held out (none when 0).
    The model ends on ``options.device`` in eval mode, holding the state of epoch ``history.best_epoch`` when
    early stopping is on (see the module docstring; the last state otherwise). ``clip_gradient="auto"``
    means no clipping here (the estimators resolve it per method before they call this function).
    ``analytic`` (optional) computes the same loss and its gradients without autograd (see
    :class:`~columnminer.ml._fused.AnalyticLoss`); the training steps use it, with all parameters in one
    flat buffer and one optimiser tensor, and the validation losses with ``analytic.evaluate``, on the CPU
    and without ``options.loss_weights`` (``loss_fn`` and autograd otherwise).

    Example:
        >>> import numpy as np
        >>> from columnminer.ml.data import TrainingData
        >>> x = np.linspace(-1, 1, 64)[:, None]
        >>> data = TrainingData({"x": x, "y": 3 * x[:, 0]})
        >>> _ = torch.manual_seed(0)
        >>> model = torch.nn.Linear(1, 1)
        >>> def mse(model, batch):
        ...     loss = ((model(batch["x"]).squeeze(1) - batch["y"]) ** 2).mean()
        ...     return loss, {"mse": loss}
        >>> options = TrainingOptions(n_epochs=20, batch_size=16, initial_lr=0.1, final_lr=0.01, optimizer="adam")
        >>> history = train(model, mse, data, options)
        >>> history.n_epochs, history.validation_loss[-1] < history.validation_loss[0]
        (20, True)
    """
    options = options or TrainingOptions()
    device = resolve_device(options.device)
    started = time.perf_counter()
    if validation_data is None and options.validation_split > 0:
        data, validation_data = data.split(options.validation_split, seed=options.seed)
    if validation_data is not None and len(validation_data) == 0:
        validation_data = None
    history = TrainingHistory(
        n_train=len(data), n_validation=0 if validation_data is None else len(validation_data)
    )
    logger.info(
        "training %s on %d rows (%d validation) for %d epochs on %s",
        type(model).__name__,
        history.n_train,
        history.n_validation,
        options.n_epochs,
        device,
    )
    model.to(device)
    if options.loss_weights or device.type != "cpu":  # (not yet measured on a GPU: autograd there)
        analytic = None
    run = _Run(model, loss_fn, data, validation_data, options, device, history, analytic)
    with (
        torch.random.fork_rng(devices=[device] if device.type == "cuda" else []),
        _intra_op_threads(1 if device.type == "cpu" and options.batch_size < SMALL_BATCH else None),
    ):
        if options.seed is not None:
            torch.manual_seed(options.seed)
        try:
            run.epochs()
        finally:
            if analytic is not None:
                unflatten_parameters(model)
    run.restore()
    model.eval()
    history.seconds = time.perf_counter() - started
    logger.info(
        "training finished after %d epochs in %.1f s: train loss %.5g%s",
        history.n_epochs,
        history.seconds,
        history.train_loss[-1],
        "" if not history.validation_loss else f", best validation loss {min(history.validation_loss):.5g}",
    )
    return history


#: CPU training with batches smaller than this runs every torch operation on one thread (torch's setting is
#: restored afterwards): the operations of small batches are too short to gain from more (the weights come
#: out the same), and on a loaded machine the spinning of idle torch threads made an epoch up to 40x slower.
#: The second core validates in the background instead (:data:`BACKGROUND_VALIDATION`).
SMALL_BATCH = 1024


@contextlib.contextmanager
def _intra_op_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` inside the block (None: unchanged)."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: Seconds between the INFO lines of the epochs (the others go to DEBUG).
LOG_INTERVAL = 5.0

#: Validate epoch e in a second thread, on a copy of the model, while epoch e + 1 trains (CPU training with
#: validation data): the second core of a small machine; the results are the same either way.
BACKGROUND_VALIDATION = True


class _Run:
    """The state of one :func:`train` call: the optimiser, the early-stopping bookkeeping, the progress bar
    and the epoch log; :meth:`epochs` runs the loop, :meth:`restore` loads the kept state."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFunction,
        data: TrainingData,
        validation_data: TrainingData | None,
        options: TrainingOptions,
        device: torch.device,
        history: TrainingHistory,
        analytic: AnalyticStep | None = None,
    ) -> None:
        self.model, self.loss_fn, self.data, self.validation_data = model, loss_fn, data, validation_data
        self.options, self.device, self.history = options, device, history
        self.analytic = analytic
        # with analytic gradients: one flat buffer of parameters (and of gradients), one optimiser tensor
        parameters = [flatten_parameters(model)[0]] if analytic is not None else list(model.parameters())
        self.optimizer = _make_optimizer(parameters, options)
        self.step = direct_step(self.optimizer) if analytic is not None else self.optimizer.step
        self.clip = None if isinstance(options.clip_gradient, str) else options.clip_gradient
        self.best_loss: float = math.inf
        self.best_batches: list[tuple[float, int]] | None = None
        self.kept_state: dict[str, Any] | None = None
        self.last_info = time.perf_counter()

    def epochs(self) -> None:
        """Run the epochs (until ``n_epochs`` or the patience runs out), with a tqdm bar of the losses.

        With :data:`BACKGROUND_VALIDATION` (CPU) the validation of epoch e runs on a copy of the model in a
        second thread while epoch e + 1 trains (the second core); the decision on epoch e (keep its state,
        stop) is taken when that validation returns, and an epoch trained after the patience ran out is
        dropped again, so the history and the kept state are those of the sequential loop."""
        options = self.options
        bar = tqdm(
            range(options.n_epochs),
            desc=f"training {type(self.model).__name__}",
            disable=None if options.progress is None else not options.progress,
            unit="epoch",
        )
        background = BACKGROUND_VALIDATION and self.validation_data is not None and self.device.type == "cpu"
        pool = None
        if background:  # torch's (OpenMP's) thread setting is per thread: the worker gets the caller's
            pool = ThreadPoolExecutor(
                1,
                "columnminer-validation",
                initializer=torch.set_num_threads,
                initargs=(torch.get_num_threads(),),
            )
        pending: tuple[int, Future, nn.Module, str] | None = None
        try:
            for epoch in bar:
                self._train_epoch(epoch)
                if pending is not None and self._finish(*pending, bar):
                    self._drop_epoch(epoch)  # the patience ran out at the previous epoch
                    pending = None
                    break
                pending = self._validate(epoch, pool, bar)
                if pool is None and pending is not None:
                    job, pending = pending, None
                    if self._finish(*job, bar):
                        break
            if pending is not None:
                self._finish(*pending, bar)
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(wait=True)

    def _train_epoch(self, epoch: int) -> None:
        """One training epoch (learning rate of the schedule, batch order of the seed)."""
        options, history = self.options, self.history
        lr = options.learning_rate(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        history.learning_rates.append(lr)
        seed = None if options.seed is None else int(options.seed) * 1_000_003 + epoch
        loss, parts, _ = _run_epoch(
            self.model,
            self.loss_fn,
            self.data,
            options,
            self.device,
            seed,
            self.optimizer,
            self.clip,
            self.analytic,
            self.step,
        )
        _append(history.train_loss, history.train_components, loss, parts)
        self.message = (
            f"epoch {epoch + 1}/{options.n_epochs}: lr {lr:.2e}, train loss {loss:.5g} {_fmt(parts)}"
        )

    def _validate(
        self, epoch: int, pool: ThreadPoolExecutor | None, bar: Any
    ) -> tuple[int, Future, nn.Module, str] | None:
        """Start the validation of the model as it is after ``epoch`` (in ``pool`` on a copy of the model, else
        now); None without validation data (the epoch is then logged and kept)."""
        if self.validation_data is None:
            self.history.best_epoch = epoch
            bar.set_postfix({"loss": f"{self.history.train_loss[-1]:.4g}"})
            self._log(self.message)
            return None
        args = (
            self.loss_fn,
            self.validation_data,
            self.options,
            self.device,
            None,
            None,
            None,
            self.analytic,
        )
        if pool is not None:
            model = copy.deepcopy(self.model)
            return epoch, pool.submit(_run_epoch, model, *args), model, self.message
        done: Future = Future()
        done.set_result(_run_epoch(self.model, *args))
        return epoch, done, self.model, self.message

    def _finish(self, epoch: int, job: Future, model: nn.Module, message: str, bar: Any) -> bool:
        """Record the validation of ``epoch`` (the model state it ran on is kept when the early-stopping rule
        says so); True when the patience has run out."""
        history = self.history
        val_loss, val_parts, batches = job.result()
        _append(history.validation_loss, history.validation_components, val_loss, val_parts)
        bar.set_postfix({"loss": f"{history.train_loss[epoch]:.4g}", "val": f"{val_loss:.4g}"})
        self._log(f"{message}, validation loss {val_loss:.5g} {_fmt(val_parts)}")
        self._keep_or_not(epoch, val_loss, batches, model)
        if not self._out_of_patience(epoch):
            return False
        history.stopped_early = True
        logger.info("early stopping after epoch %d (kept epoch %d)", epoch + 1, history.best_epoch + 1)
        return True

    def _drop_epoch(self, epoch: int) -> None:
        """Forget training epoch ``epoch`` (run while the previous epoch was validated, after which the
        patience ran out); the model gets the kept state in :meth:`restore`."""
        history = self.history
        del history.train_loss[epoch:], history.learning_rates[epoch:]
        for values in history.train_components.values():
            del values[epoch:]

    def _keep_or_not(
        self, epoch: int, val_loss: float, batches: list[tuple[float, int]], model: nn.Module
    ) -> None:
        """The early-stopping rule of the module docstring: keep the state of ``model`` (the model after
        ``epoch``) when its validation loss is within the tolerance of the smallest one."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_batches, self.history.min_epoch = val_loss, batches, epoch
            keep = True
        else:
            se = _difference_se(batches, self.best_batches)
            keep = val_loss - self.best_loss <= float(self.options.early_stopping_tolerance) * se
        if keep:
            self.history.best_epoch = epoch
            if self.options.early_stopping:
                state = model.state_dict()  # a private copy already when validated in the background
                self.kept_state = state if model is not self.model else copy.deepcopy(state)

    def _out_of_patience(self, epoch: int) -> bool:
        patience = self.options.early_stopping_patience
        return (
            self.options.early_stopping
            and self.validation_data is not None
            and patience is not None
            and epoch - self.history.best_epoch >= patience
        )

    def _log(self, message: str) -> None:
        """The epoch line: INFO at most every :data:`LOG_INTERVAL` seconds, DEBUG otherwise."""
        now = time.perf_counter()
        if now - self.last_info >= LOG_INTERVAL:
            self.last_info = now
            logger.info(message)
        else:
            logger.debug(message)

    def restore(self) -> None:
        """Load the kept state (early stopping) when it is not the last one."""
        history = self.history
        if self.options.early_stopping and self.kept_state is not None:
            if history.best_epoch != len(history.train_loss) - 1:
                self.model.load_state_dict(self.kept_state)
                logger.info(
                    "restored the model of epoch %d (validation loss %.5g; smallest %.5g in epoch %d)",
                    history.best_epoch + 1,
                    history.validation_loss[history.best_epoch],
                    self.best_loss,
                    history.min_epoch + 1,
                )
        elif self.validation_data is not None:
            history.best_epoch = len(history.train_loss) - 1


def _append(losses: list[float], components: dict[str, list[float]], loss: float, parts: Mapping[str, float]):
    """Append an epoch's loss and its components to a history's lists."""
    losses.append(loss)
    for name, value in parts.items():
        components.setdefault(name, []).append(value)


def _fmt(parts: Mapping[str, float]) -> str:
    return "(" + ", ".join(f"{name} {value:.4g}" for name, value in parts.items()) + ")"
