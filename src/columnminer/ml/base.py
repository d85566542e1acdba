r"""The estimator base class: training from arrays / ``.npy`` files / store samples, batched evaluation,
Fisher information and safe save / load.

Saved estimators are three files next to each other: ``<path>_settings.json`` (format version, columnminer
version, estimator class, constructor settings, architecture, method, extra state), ``<path>_state_dict.pt``
(the torch state dict, read back with ``torch.load(..., weights_only=True)`` so no arbitrary object is ever
unpickled) and ``<path>_scaling.npz`` (the input-scaling arrays). Reference: Brehmer, Kling, Espejo,
Cranmer, "MadMiner", arXiv:1907.10621, section on the ``ml`` module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .._version import __version__
from ..errors import EstimatorError, EstimatorFormatError
from ._fused import analytic_loss
from .data import ColumnStatistics, TrainingData
from .networks import linked_score
from .scaling import Scaler
from .trainer import LossFunction, TrainingHistory, TrainingOptions
from .trainer import train as run_training

__all__ = [
    "ALPHA_UNITS",
    "FORMAT_VERSION",
    "Estimator",
    "event_weights",
    "load_estimator",
    "read_format_header",
    "value_and_gradient",
]

logger = logging.getLogger(__name__)

FORMAT = "columnminer.estimator"
#: Version of the saved-estimator format written by this columnminer.
FORMAT_VERSION = 1
#: Units of the score terms' alpha: "standardized" (per unit of the training spread of theta, as MadMiner)
#: or "physical" (per unit of theta).
ALPHA_UNITS = ("standardized", "physical")
_REGISTRY: dict[str, type[Estimator]] = {}
#: Train the default networks with hand-written gradients (:func:`~columnminer.ml._fused.analytic_loss`: the
#: same loss, gradients equal to autograd's up to float rounding, 2-3x fewer tensor operations per step);
#: False trains every estimator with autograd.
ANALYTIC_GRADIENTS = True

#: Keyword names of :meth:`Estimator.train` that are training columns.
_COLUMN_KEYWORDS = ("x", "y", "theta", "theta1", "r_xz", "t_xz", "t_xz1")


def _files(path: str | os.PathLike) -> dict[str, Path]:
    base = Path(path)
    return {
        "settings": base.with_name(base.name + "_settings.json"),
        "state": base.with_name(base.name + "_state_dict.pt"),
        "scaling": base.with_name(base.name + "_scaling.npz"),
    }


def _load_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if not path.is_file():
            raise EstimatorError(f"{what}: no file {path}")
        return np.load(path, mmap_mode="r", allow_pickle=False)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def event_weights(weights: Any, n: int) -> np.ndarray:
    """Event weights normalised to sum 1, shape ``[n]`` (equal weights for None; an array or ``.npy`` path).

    Example:
        >>> event_weights([1.0, 3.0], 2).tolist(), event_weights(None, 4).tolist()
        ([0.25, 0.75], [0.25, 0.25, 0.25, 0.25])
    """
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(_load_array(weights, "weights"), dtype=np.float64)
    if w.shape != (n,):
        raise EstimatorError(f"weights must have shape ({n},), got {w.shape}")
    return w / w.sum()


def value_and_gradient(
    fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor, create_graph: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``fn(theta)`` [n] and its gradient :math:`\nabla_\theta \sum_k fn(\theta)_k` [n, P] (row k's own
    gradient, as the rows are independent) by autograd; ``create_graph`` keeps the graph for a loss that
    contains the gradient (training).

    Example:
        >>> value, grad = value_and_gradient(lambda t: (t**2).sum(dim=1), torch.tensor([[1.0, 2.0]]))
        >>> value.tolist(), grad.tolist()
        ([5.0], [[2.0, 4.0]])
    """
    theta = theta.clone().requires_grad_(True)
    value = fn(theta)
    linked = linked_score(value, theta) if create_graph else None
    if linked is not None:  # a RatioNetwork in training mode propagated the score forward already
        return value, linked
    (gradient,) = torch.autograd.grad(value.sum(), theta, create_graph=create_graph)
    return value, gradient


def _reason(err: BaseException) -> str:
    """``ErrorType: first line of the message`` (at most 200 characters): one line for error messages."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else "no details"
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(err).__name__}: {text}"


def read_format_header(file: Path, format_name: str, max_version: int, kind: str) -> dict[str, Any]:
    """Read a saved JSON index and check its format marker and version (``kind``: "estimator", "ensemble").

    Raises :class:`~columnminer.errors.EstimatorFormatError` for an unreadable, truncated or non-UTF-8 file,
    another format, a missing integer ``format_version`` or one newer than ``max_version``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     file = Path(tmp) / "index.json"
        ...     _ = file.write_text(json.dumps({"format": "my.format", "format_version": 1}))
        ...     read_format_header(file, "my.format", 1, "ensemble")
        {'format': 'my.format', 'format_version': 1}
    """
    try:
        meta = json.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: JSONDecodeError, UnicodeDecodeError
        raise EstimatorFormatError(f"{file}: unreadable JSON, truncated or corrupt ({_reason(err)})") from err
    if not isinstance(meta, dict) or meta.get("format") != format_name:
        raise EstimatorFormatError(f"{file}: not a saved columnminer {kind}")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise EstimatorFormatError(f"{file}: no integer 'format_version'")
    if version > max_version:
        raise EstimatorFormatError(
            f"{file}: written with {kind} format version {version} (columnminer "
            f"{meta.get('columnminer')}); this columnminer {__version__} reads up to version {max_version}"
        )
    return meta


class Estimator:
    """Base class of the neural estimators (not used directly).

    After :meth:`train` (or :meth:`load`) ``model`` holds the torch network, ``method`` the training method,
    ``history`` the :class:`~columnminer.ml.trainer.TrainingHistory`, ``n_observables`` / ``n_parameters``
    the input widths. Every subclass registers itself by class name for :func:`load_estimator`.

    Subclassing: declare ``methods`` (and ``optional_columns``) and implement

    - ``_required_columns(method)``: the training columns the method needs;
    - ``network_class`` (and ``_network_options()``) or ``_build_model()``: a fresh ``nn.Module`` for
      ``n_observables`` / ``n_parameters`` (its
      :class:`~columnminer.ml.scaling.Scaler` submodules are fitted on the columns named by
      ``_scaled_columns()``, default ``{"inputs.x_scaler": "x", "inputs.theta_scaler": "theta"}``);
    - ``_loss_fn(method, alpha, columns)``: a :class:`~columnminer.ml.trainer.LossFunction`;
    - optionally ``settings()`` (constructor arguments, saved), ``_parameter_column()`` (column giving
      ``n_parameters``, default "theta"), ``_validate(data, what)``, ``_extra_state()`` /
      ``_set_extra_state(state)`` (JSON-able state saved with the model), ``_upgrade_settings(settings)``
      (reads settings saved by older versions), ``default_alpha`` / ``default_clip_gradient`` (per-method
      training defaults, see :meth:`training_defaults`).

    Evaluation helpers for subclasses: ``_x(x)`` and ``_theta(theta)`` normalise inputs to ``[n, width]``
    float64 arrays, ``_evaluate(fn, x, thetas, all_combinations, grad)`` runs ``fn`` over batched rows.

    Example:
        >>> from columnminer.ml import ScoreEstimator
        >>> x = np.random.default_rng(0).normal(size=(200, 1))
        >>> estimator = ScoreEstimator(n_hidden=(4,))
        >>> isinstance(estimator, Estimator), estimator.model is None
        (True, True)
        >>> history = estimator.train("sally", x=x, t_xz=-x, n_epochs=2, progress=False)
        >>> history.n_epochs, estimator.n_observables, estimator.evaluate_score(x[:3]).shape
        (2, 1, (3, 1))
    """

    methods: ClassVar[tuple[str, ...]] = ()
    #: The default ``alpha`` of :meth:`train` per method (methods not listed: 1).
    default_alpha: ClassVar[Mapping[str, float]] = {}
    #: The gradient clipping of ``clip_gradient="auto"`` per method (methods not listed: none).
    default_clip_gradient: ClassVar[Mapping[str, float]] = {}
    #: Which columns each method could use beyond the required ones.
    optional_columns: ClassVar[tuple[str, ...]] = ()
    #: Rows per evaluation batch.
    eval_batch_size: int = 50_000
    #: The torch network the default :meth:`_build_model` builds (``network_class(n_observables,
    #: n_parameters, **_network_options())``).
    network_class: ClassVar[type[nn.Module] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __init__(
        self,
        features: Sequence[int] | None = None,
        n_hidden: Sequence[int] = (100, 100),
        activation: str = "silu",
        dropout_prob: float = 0.0,
        scaling: str = "standard",
    ) -> None:
        self.features = None if features is None else [int(i) for i in features]
        self.n_hidden = tuple(int(h) for h in n_hidden)
        self.activation = str(activation)
        self.dropout_prob = float(dropout_prob)
        self.scaling = str(scaling)
        self.model: nn.Module | None = None
        self.method: str | None = None
        self.n_observables: int | None = None
        self.n_parameters: int | None = None
        self.history: TrainingHistory | None = None

    # -- hooks for subclasses -------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The constructor arguments (saved with the model)."""
        return {
            "features": self.features,
            "n_hidden": list(self.n_hidden),
            "activation": self.activation,
            "dropout_prob": self.dropout_prob,
            "scaling": self.scaling,
        }

    def _network_options(self) -> dict[str, Any]:
        """Keyword arguments of :attr:`network_class` besides the input widths."""
        return {
            "hidden": self.n_hidden,
            "activation": self.activation,
            "dropout": self.dropout_prob,
            "features": self.features,
            "scaling": self.scaling,
        }

    def _build_model(self) -> nn.Module:
        """A fresh :attr:`network_class` for ``n_observables`` / ``n_parameters``."""
        if self.network_class is None:  # pragma: no cover - subclasses set it or override this
            raise NotImplementedError(f"{type(self).__name__} has no network_class")
        return self.network_class(self.n_observables, self.n_parameters, **self._network_options())

    def _required_columns(self, method: str) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_fn(  # pragma: no cover
        self, method: str, alpha: float | torch.Tensor, columns: Sequence[str]
    ) -> LossFunction:
        raise NotImplementedError

    def _parameter_column(self) -> str:
        """The column whose width is the number of parameters."""
        return "theta"

    def _scaled_columns(self) -> dict[str, str]:
        """Scaler submodule name -> training column it is fitted on."""
        return {"inputs.x_scaler": "x", "inputs.theta_scaler": "theta"}

    def _validate(self, data: TrainingData, what: str) -> None:
        """Estimator-specific checks of the data (all columns still present)."""
        return None

    def _extra_state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _upgrade_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Saved constructor settings as this version reads them: fills in settings added since (with the
        values that reproduce what older versions did)."""
        return settings

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        return None

    # -- training -------------------------------------------------------------------------------------------
    def _data(self, source: Any, store: Any, what: str) -> TrainingData:
        if isinstance(source, TrainingData):
            return source
        if isinstance(source, tuple) and len(source) == 2:
            return TrainingData.from_store(source[0], str(source[1]))
        if isinstance(source, str) and store is not None:
            return TrainingData.from_store(store, source)
        if isinstance(source, Mapping):
            return TrainingData({k: v for k, v in source.items() if v is not None})
        raise EstimatorError(
            f"{what} must be a TrainingData, a dict of arrays / .npy paths, a (store, sample name) pair, or a "
            f"sample name with store=...; got {type(source).__name__}"
        )

    def _check_columns(
        self, data: TrainingData, method: str, what: str, expected: tuple[int, int] | None = None
    ) -> TrainingData:
        """Keep the columns ``method`` uses; check they exist and have consistent widths (``expected``:
        the numbers of observables and parameters of the training data, for validation data)."""
        required = self._required_columns(method)
        missing = [c for c in required if c not in data]
        if missing:
            raise EstimatorError(
                f"method {method!r} needs the {what} column(s) {missing}; {what} has {data.names}"
            )
        self._validate(data, what)
        keep = [*required, *(c for c in self.optional_columns if c in data and c not in required)]
        data = data.select(keep)
        n_obs = data.n_features("x")
        column = self._parameter_column()
        n_par = data.n_features(column)
        if expected is not None and (n_obs, n_par) != expected:
            raise EstimatorError(
                f"{what} data have {n_obs} observables and {n_par} parameters, the training data {expected}"
            )
        for name in ("theta", "theta1", "t_xz", "t_xz1"):
            if name in data and data.n_features(name) != n_par:
                raise EstimatorError(
                    f"{what} column {name!r} has {data.n_features(name)} components, expected {n_par}"
                )
        if self.features is not None and (min(self.features) < 0 or max(self.features) >= n_obs):
            raise EstimatorError(f"features {self.features} out of range for {n_obs} observables")
        return data

    def train(
        self,
        method: str,
        *,
        x: Any = None,
        y: Any = None,
        theta: Any = None,
        theta1: Any = None,
        r_xz: Any = None,
        t_xz: Any = None,
        t_xz1: Any = None,
        sample: Any = None,
        store: Any = None,
        validation: Any = None,
        options: TrainingOptions | None = None,
        alpha: float | None = None,
        alpha_units: str = "standardized",
        **option_changes: Any,
    ) -> TrainingHistory:
        """Train a fresh network with ``method``; returns the training history.

        The training columns come either as keywords (numpy arrays or ``.npy`` paths; ``theta`` is the
        numerator point theta0, ``t_xz`` the joint score at theta0) or as ``sample``: a
        :class:`~columnminer.ml.data.TrainingData`, a dict of columns, a ``(store, sample_name)`` pair, or a
        sample name together with ``store=`` (an :class:`~columnminer.io.store.EventStore` or its path;
        the arrays ``theta0`` / ``t_xz0`` map to ``theta`` / ``t_xz``, see
        :data:`~columnminer.ml.data.STORE_COLUMNS`). ``validation`` takes the same forms (else
        ``validation_split`` of the data is held out). ``alpha`` weights the score terms of the mixed losses
        (rascal, alices, cascal, scandal); None (the default) takes the method's default,
        :attr:`default_alpha` (see :meth:`training_defaults`). With ``alpha_units="standardized"`` (the
        default, MadMiner's convention) the score term is measured in units of the spread of the training thetas,
        alpha * sum_i Var(theta_i) (t_hat_i - t_i)^2, so alpha is dimensionless and
        parameters of different ranges weigh alike; ``"physical"`` uses the score per unit of theta as it is.
        ``options`` and any extra keywords (``n_epochs=...``, ``batch_size=...``) set the
        :class:`~columnminer.ml.trainer.TrainingOptions`; ``clip_gradient="auto"`` (the default) becomes
        the method's :attr:`default_clip_gradient`. Progress: a tqdm bar over the epochs with the current
        training and validation loss (on a terminal; ``progress=True`` forces it, ``progress=False`` switches
        it off) and a log line (INFO) per epoch at most every few seconds.
        """
        method = self._method(method)
        options, alpha = self._resolve_options(method, options, alpha, option_changes)
        columns = {
            "x": x,
            "y": y,
            "theta": theta,
            "theta1": theta1,
            "r_xz": r_xz,
            "t_xz": t_xz,
            "t_xz1": t_xz1,
        }
        data, val_data = self._training_data(method, columns, sample, store, validation, options)
        self.n_observables = data.n_features("x")
        self.n_parameters = data.n_features(self._parameter_column())
        self.method = method
        loss_alpha = self._loss_alpha(data, float(alpha), alpha_units)
        self.model = self._new_model(data, options.seed)
        logger.info(
            "%s: training method %s on %d rows (alpha %g, gradient clipping %s)",
            type(self).__name__,
            method,
            len(data),
            alpha,
            options.clip_gradient,
        )
        self.history = run_training(
            self.model,
            self._loss_fn(method, loss_alpha, data.names),
            data,
            options.replace(validation_split=0.0),
            val_data,
            analytic=analytic_loss(self, method, loss_alpha) if ANALYTIC_GRADIENTS else None,
        )
        return self.history

    # -- the steps of train -----------------------------------------------------------------------------------
    def _resolve_options(
        self,
        method: str,
        options: TrainingOptions | None,
        alpha: float | None,
        changes: Mapping[str, Any],
    ) -> tuple[TrainingOptions, float]:
        """The training options with ``changes`` applied and ``clip_gradient="auto"`` resolved, and alpha
        (the method's default for None)."""
        options = (options or TrainingOptions()).replace(**changes)
        defaults = self.training_defaults(method)
        if options.clip_gradient == "auto":
            options = options.replace(clip_gradient=defaults["clip_gradient"])
        return options, defaults["alpha"] if alpha is None else alpha

    def _training_data(
        self,
        method: str,
        columns: Mapping[str, Any],
        sample: Any,
        store: Any,
        validation: Any,
        options: TrainingOptions,
    ) -> tuple[TrainingData, TrainingData | None]:
        """The checked training data (column keywords or ``sample``; ``limit_samplesize`` and
        ``shuffle_labels`` applied) and the validation data (given, or split off, or None)."""
        given = {k: v for k, v in columns.items() if v is not None}
        if sample is not None and given:
            raise EstimatorError(
                f"pass either sample= or the column keywords, not both (got {sorted(given)})"
            )
        if sample is None and not given:
            raise EstimatorError("no training data: pass x=... (and the other columns) or sample=...")
        data = self._check_columns(
            self._data(sample if sample is not None else given, store, "training"), method, "training"
        )
        if options.limit_samplesize is not None and options.limit_samplesize < len(data):
            data = data.subset(np.arange(options.limit_samplesize))
        if options.shuffle_labels:
            labels = [name for name in data.names if name not in ("x", "theta", "theta1")]
            logger.warning("shuffle_labels: training on permuted labels %s (a closure test)", labels)
            data = data.shuffled(labels, seed=options.seed)
        if validation is not None:
            dimensions = (data.n_features("x"), data.n_features(self._parameter_column()))
            val_data = self._data(validation, store, "validation")
            return data, self._check_columns(val_data, method, "validation", dimensions)
        if options.validation_split > 0:
            return data.split(options.validation_split, seed=options.seed)
        return data, None

    def _new_model(self, data: TrainingData, seed: int | None) -> nn.Module:
        """A fresh network (initialised from ``seed`` without touching the global torch RNG) whose scalers
        are fitted on ``data``."""
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            model = self._build_model()
        modules = dict(model.named_modules())
        for name, column in self._scaled_columns().items():
            scaler = modules.get(name)
            if isinstance(scaler, Scaler):
                stats = data.statistics(column)
                if self.features is not None and column == "x":
                    stats = ColumnStatistics(
                        stats.count,
                        *(a[self.features] for a in (stats.mean, stats.std, stats.minimum, stats.maximum)),
                    )
                scaler.fit(stats)
        return model

    def _method(self, method: str) -> str:
        method = str(method).lower()
        if method not in self.methods:
            raise EstimatorError(
                f"{type(self).__name__} does not know method {method!r}; methods are {list(self.methods)}"
            )
        return method

    def training_defaults(self, method: str) -> dict[str, float | None]:
        """What :meth:`train` uses for ``alpha=None`` and ``clip_gradient="auto"`` with ``method``.

        Example:
            >>> from columnminer.ml import ParameterizedRatioEstimator
            >>> ParameterizedRatioEstimator().training_defaults("rascal")
            {'alpha': 100.0, 'clip_gradient': 1.0}
        """
        method = self._method(method)
        clip = self.default_clip_gradient.get(method)
        return {
            "alpha": float(self.default_alpha.get(method, 1.0)),
            "clip_gradient": None if clip is None else float(clip),
        }

    @staticmethod
    def _loss_alpha(data: TrainingData, alpha: float, units: str) -> float | torch.Tensor:
        """alpha as the losses take it: a number, or alpha * Var(theta_i) per parameter (standardised units;
        a parameter that does not vary in the data keeps alpha)."""
        if units not in ALPHA_UNITS:
            raise EstimatorError(f"unknown alpha_units {units!r}; choose one of {list(ALPHA_UNITS)}")
        if units == "physical" or "theta" not in data:
            return alpha
        variance = np.asarray(data.statistics("theta").std, dtype=np.float64) ** 2
        return torch.as_tensor(alpha * np.where(variance > 0, variance, 1.0), dtype=torch.float32)

    # -- evaluation helpers --------------------------------------------------------------------------------
    def _require_model(self) -> nn.Module:
        if self.model is None:
            raise EstimatorError(f"this {type(self).__name__} is not trained yet: call train() or load()")
        return self.model

    @property
    def device(self) -> torch.device:
        """The device the network lives on."""
        model = self._require_model()
        return next(model.parameters()).device

    def _x(self, x: Any) -> np.ndarray:
        self._require_model()
        x = np.asarray(_load_array(x, "x"), dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None] if self.n_observables == 1 else x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_observables:
            raise EstimatorError(f"x must have shape [n, {self.n_observables}], got {x.shape}")
        return x

    def _theta(self, theta: Any, what: str = "theta") -> np.ndarray:
        theta = np.asarray(_load_array(theta, what), dtype=np.float64)
        if theta.ndim == 0:
            theta = theta.reshape(1, 1)
        elif theta.ndim == 1:
            theta = theta[:, None] if self.n_parameters == 1 else theta[None, :]
        if theta.ndim != 2 or theta.shape[1] != self.n_parameters:
            raise EstimatorError(f"{what} must have shape [n, {self.n_parameters}], got {theta.shape}")
        return theta

    def _evaluate(
        self,
        fn: Callable[..., tuple[torch.Tensor, ...]],
        x: np.ndarray,
        thetas: Sequence[np.ndarray],
        all_combinations: bool,
        grad: bool = False,
    ) -> list[np.ndarray]:
        """Evaluate ``fn(x, *thetas) -> tensors`` row-wise in batches.

        All combinations: thetas (of one common length n_t; length 1 broadcasts) against every x, results
        shaped ``[n_t, n_x, ...]``. Otherwise rows pair up (length 1 broadcasts), results ``[n, ...]``.
        """
        model = self._require_model()
        model.eval()
        device = self.device
        lengths = {len(t) for t in thetas if len(t) != 1}
        if len(lengths) > 1:
            raise EstimatorError(f"the parameter arrays have different lengths {sorted(lengths)}")
        n_t = lengths.pop() if lengths else 1
        n_x = len(x)
        if all_combinations:
            n_rows = n_t * n_x
        else:
            if n_x != 1 and n_t != 1 and n_x != n_t:
                raise EstimatorError(
                    f"test_all_combinations=False needs as many x ({n_x}) as parameter points ({n_t})"
                )
            n_rows = max(n_x, n_t) if thetas else n_x
        outputs: list[list[np.ndarray]] = []
        for start in range(0, n_rows, self.eval_batch_size):
            rows = np.arange(start, min(start + self.eval_batch_size, n_rows))
            if all_combinations:
                t_rows, x_rows = rows // n_x, rows % n_x
            else:
                t_rows, x_rows = rows, rows
            xb = torch.as_tensor(
                x[x_rows if n_x > 1 else np.zeros_like(x_rows)], dtype=torch.float32, device=device
            )
            tb = [
                torch.as_tensor(
                    t[t_rows if len(t) > 1 else np.zeros_like(t_rows)], dtype=torch.float32, device=device
                )
                for t in thetas
            ]
            with torch.set_grad_enabled(grad):
                results = fn(xb, *tb)
            for i, value in enumerate(results):
                if len(outputs) <= i:
                    outputs.append([])
                outputs[i].append(value.detach().cpu().double().numpy())
        arrays = []
        for parts in outputs:
            value = np.concatenate(parts) if parts else np.empty((0,))
            if all_combinations:
                value = value.reshape(n_t, n_x, *value.shape[1:])
            arrays.append(value)
        return arrays

    # -- the common evaluation API --------------------------------------------------------------------------
    def evaluate_log_likelihood(self, x: Any, theta: Any, test_all_combinations: bool = True) -> np.ndarray:
        """log p_hat(x|theta); only density estimators (:class:`~columnminer.ml.likelihood.LikelihoodEstimator`)."""
        raise EstimatorError(f"{type(self).__name__} does not estimate the likelihood itself")

    def evaluate_log_likelihood_ratio(
        self, x: Any, theta0: Any, theta1: Any = None, test_all_combinations: bool = True
    ) -> np.ndarray:
        """log r_hat(x|theta0, theta1); not for score estimators."""
        raise EstimatorError(f"{type(self).__name__} does not estimate likelihood ratios")

    def evaluate_score(self, x: Any, theta: Any = None, test_all_combinations: bool = True) -> np.ndarray:
        """The estimated score t_hat(x|theta)."""
        raise NotImplementedError

    def fisher_scores(self, x: Any, theta: Any) -> np.ndarray:
        """The per-event scores that enter the Fisher information, [n_x, P]: t_hat(x|theta) at one point
        (SALLY: at its reference point, nuisance components kept)."""
        if theta is None:
            raise EstimatorError(
                f"{type(self).__name__}: the Fisher information needs the parameter point theta"
            )
        theta = self._theta(theta)
        if len(theta) != 1:
            raise EstimatorError("the Fisher information is evaluated at a single parameter point")
        return self.evaluate_score(x, theta, test_all_combinations=True)[0]

    def calculate_fisher_information(
        self,
        x: Any,
        theta: Any = None,
        weights: Any = None,
        n_events: float = 1.0,
        sum_events: bool = True,
    ) -> np.ndarray:
        r"""Expected Fisher information :math:`I_{ij} = n_\text{events} \sum_k w_k \hat t_i(x_k)\hat t_j(x_k)`
        with weights normalised to :math:`\sum_k w_k = 1` (equal weights by default), for x drawn at the point
        where the score is evaluated (the reference point for SALLY; ``theta`` for the others).

        ``sum_events=False`` returns the per-event terms, shape ``[n_x, P, P]``.
        """
        scores = self.fisher_scores(x, theta)
        w = event_weights(weights, len(scores))
        if sum_events:
            return float(n_events) * np.einsum("n,ni,nj->ij", w, scores, scores)
        return float(n_events) * np.einsum("n,ni,nj->nij", w, scores, scores)

    # -- persistence ----------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> dict[str, Path]:
        """Write ``<path>_settings.json``, ``<path>_state_dict.pt`` and ``<path>_scaling.npz``; returns them.

        Each file is written beside its place and renamed when all three are complete (the settings last), so
        a failed save (disk full) leaves an earlier estimator at ``path`` as it was and no partial files.
        """
        model = self._require_model()
        files = _files(path)
        files["settings"].parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "columnminer": __version__,
            "estimator": type(self).__name__,
            "settings": self.settings(),
            "architecture": {
                "n_observables": self.n_observables,
                "n_parameters": self.n_parameters,
                "network": type(model).__name__,
                "tensors": {k: list(v.shape) for k, v in state.items()},
            },
            "method": self.method,
            "extra": self._extra_state(),
            "history": None if self.history is None else self.history.to_dict(),
        }
        scalers = {
            f"{name}/{key}": value
            for name, module in model.named_modules()
            if isinstance(module, Scaler)
            for key, value in module.arrays().items()
        }
        temporary = {key: file.with_name(f".{file.name}.{os.getpid()}.tmp") for key, file in files.items()}
        try:
            temporary["settings"].write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            torch.save(state, temporary["state"])
            with open(temporary["scaling"], "wb") as handle:
                np.savez(handle, **scalers)
            for key in ("state", "scaling", "settings"):
                os.replace(temporary[key], files[key])
        finally:
            for file in temporary.values():
                with contextlib.suppress(OSError):  # never hide the error that stopped the save
                    file.unlink(missing_ok=True)
        logger.info("saved %s to %s", type(self).__name__, files["settings"])
        return files

    @classmethod
    def load(cls, path: str | os.PathLike) -> Estimator:
        """Load an estimator written by :meth:`save` (of this class or, from :class:`Estimator`, any class).

        Raises :class:`~columnminer.errors.EstimatorFormatError` for missing or corrupt files, a newer format
        version, another estimator class, or weights that do not fit the saved architecture.
        """
        files = _files(path)
        for key, file in files.items():
            if not file.is_file():
                raise EstimatorFormatError(f"{file}: missing ({key} file of the saved estimator {path})")
        meta = read_format_header(files["settings"], FORMAT, FORMAT_VERSION, "estimator")
        name = meta.get("estimator")
        klass = _REGISTRY.get(name)
        if klass is None:
            raise EstimatorFormatError(f"{files['settings']}: unknown estimator class {name!r}")
        if not issubclass(klass, cls):
            raise EstimatorFormatError(f"{files['settings']}: holds a {name}, not a {cls.__name__}")
        try:
            estimator = klass(**klass._upgrade_settings(dict(meta["settings"])))
            architecture = meta["architecture"]
            estimator.n_observables = int(architecture["n_observables"])
            estimator.n_parameters = int(architecture["n_parameters"])
            estimator.method = meta.get("method")
            estimator._set_extra_state(meta.get("extra") or {})
            model = estimator._build_model()
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise EstimatorFormatError(
                f"{files['settings']}: bad settings or architecture ({_reason(err)})"
            ) from err
        try:
            state = torch.load(files["state"], map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several types for truncated, corrupt or unsafe files
            raise EstimatorFormatError(
                f"{files['state']}: cannot read the state dict, truncated or corrupt ({_reason(err)})"
            ) from err
        try:
            model.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError, AttributeError) as err:
            raise EstimatorFormatError(
                f"{files['state']}: the weights do not match the architecture in {files['settings'].name}: "
                f"{_reason(err)}"
            ) from err
        try:
            with np.load(files["scaling"], allow_pickle=False) as scaling:
                for module_name, module in model.named_modules():
                    if isinstance(module, Scaler):
                        module.set_arrays(scaling[f"{module_name}/shift"], scaling[f"{module_name}/scale"])
        except (KeyError, ValueError, EstimatorError) as err:
            raise EstimatorFormatError(f"{files['scaling']}: bad scaling arrays ({_reason(err)})") from err
        except Exception as err:  # zipfile.BadZipFile, EOFError, OSError, zlib.error: truncated or corrupt
            raise EstimatorFormatError(
                f"{files['scaling']}: cannot read the scaling arrays, truncated or corrupt ({_reason(err)})"
            ) from err
        model.eval()
        estimator.model = model
        logger.info("loaded %s (method %s) from %s", name, estimator.method, files["settings"])
        return estimator

    def __repr__(self) -> str:
        state = "untrained" if self.model is None else f"method={self.method!r}"
        return (
            f"{type(self).__name__}(n_observables={self.n_observables}, n_parameters={self.n_parameters}, "
            f"n_hidden={self.n_hidden}, {state})"
        )


def load_estimator(path: str | os.PathLike) -> Estimator:
    """Load any saved estimator (the class is read from the settings file); see :meth:`Estimator.load`.

    Example:
        >>> import tempfile
        >>> from columnminer.ml import ScoreEstimator
        >>> x = np.random.default_rng(0).normal(size=(100, 1))
        >>> estimator = ScoreEstimator(n_hidden=(4,))
        >>> _ = estimator.train("sally", x=x, t_xz=-x, n_epochs=1, progress=False)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = estimator.save(f"{tmp}/sally")
        ...     loaded = load_estimator(f"{tmp}/sally")
        >>> type(loaded).__name__, np.array_equal(loaded.evaluate_score(x), estimator.evaluate_score(x))
        ('ScoreEstimator', True)
    """
    return Estimator.load(path)
