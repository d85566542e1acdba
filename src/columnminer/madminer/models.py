r"""Trained MadMiner estimators (``_settings.json``, ``_state_dict.pt``, scaling ``.npy``) as columnminer ones.

MadMiner 0.9.6 (``madminer.ml``) saves an estimator as ``<name>_settings.json`` (``estimator_type``,
``n_observables``, ``n_parameters``, ``features``, ``n_hidden``, ``activation``, ``dropout_prob``),
``<name>_state_dict.pt`` (``layers.<i>.weight`` / ``.bias`` of ``nn.Linear`` layers, ``nn.Dropout`` layers
before each of them when ``dropout_prob`` > 0), ``<name>_x_means.npy`` / ``_x_stds.npy`` (input scaling
over *all* observables, applied before the ``features`` are selected) and, for the parameterised ones,
``<name>_theta_means.npy`` / ``_theta_stds.npy``. Its networks are MLPs with the activation between
layers, on the inputs ``x`` (score), ``(theta, x)`` (parameterised ratio) and ``(theta0, theta1, x)`` with
:math:`\log\hat r = f(\theta_0,\theta_1,x) - f(\theta_1,\theta_0,x)` (doubly parameterised) — the same
functions as columnminer's :class:`~columnminer.ml.networks.ScoreNetwork`,
:class:`~columnminer.ml.networks.RatioNetwork` and :class:`~columnminer.ml.networks.DoubleRatioNetwork`
with ``x`` first: the weight columns of the first layer are reordered, the scaling moves into the network.
Reference: Brehmer, Kling, Espejo, Cranmer, "MadMiner", arXiv:1907.10621.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import EstimatorFormatError
from ..ml import DoubleParameterizedRatioEstimator, Estimator, ParameterizedRatioEstimator, ScoreEstimator

__all__ = ["MADMINER_ACTIVATIONS", "MADMINER_ESTIMATORS", "load_madminer_estimator"]

logger = logging.getLogger(__name__)

#: MadMiner's ``estimator_type`` -> (columnminer estimator class, number of theta inputs of the network).
MADMINER_ESTIMATORS: dict[str, tuple[type[Estimator], int]] = {
    "score": (ScoreEstimator, 0),
    "parameterized_ratio": (ParameterizedRatioEstimator, 1),
    "double_parameterized_ratio": (DoubleParameterizedRatioEstimator, 2),
}

#: MadMiner's activation names -> columnminer's (``madminer.utils.ml.utils.get_activation_function``;
#: MadMiner 0.9.6 maps "sigmoid" to ``torch.relu``, which is what its trained networks compute). "rrelu",
#: "prelu", "selu" and "log_sigmoid" have no columnminer counterpart.
MADMINER_ACTIVATIONS = {
    "tanh": "tanh",
    "relu": "relu",
    "sigmoid": "relu",
    "lrelu": "leaky_relu",
    "elu": "elu",
    "softplus": "softplus",
}


def _read_settings(path: Path) -> dict[str, Any]:
    file = path.with_name(path.name + "_settings.json")
    try:
        settings = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise EstimatorFormatError(f"{file}: missing (settings of the MadMiner estimator {path})") from err
    except (OSError, ValueError) as err:
        raise EstimatorFormatError(f"{file}: not a JSON settings file ({err})") from err
    if not isinstance(settings, dict) or "estimator_type" not in settings:
        raise EstimatorFormatError(
            f"{file}: field 'estimator_type' is missing (not a MadMiner >= 0.3 estimator settings file)"
        )
    return settings


def _scaling(path: Path, what: str, width: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    """MadMiner's ``<path>_<what>_means.npy`` / ``_stds.npy`` (None when absent: MadMiner then does not scale)."""
    files = [path.with_name(f"{path.name}_{what}_{kind}.npy") for kind in ("means", "stds")]
    if not all(f.is_file() for f in files):
        logger.debug("%s: no %s scaling files, inputs unscaled as in MadMiner", path, what)
        return None
    arrays = []
    for file in files:
        try:
            values = np.asarray(np.load(file, allow_pickle=False), dtype=np.float64)
        except (OSError, ValueError) as err:
            raise EstimatorFormatError(f"{file}: not a readable .npy array ({err})") from err
        if values.ndim != 1 or (width is not None and values.shape != (width,)):
            raise EstimatorFormatError(f"{file}: shape {values.shape}, expected ({width},)")
        arrays.append(values)
    return arrays[0], arrays[1]


def _linear_weights(path: Path, state: dict[str, torch.Tensor], n_layers: int) -> list[tuple[Any, Any]]:
    """(weight, bias) of MadMiner's ``layers.<i>`` linear layers in order."""
    file = path.with_name(path.name + "_state_dict.pt")
    # MadMiner's DenseSingleParameterizedRatioModel stores ``self.append = self.layers.append(...)``: the
    # layer list a second time under ``append.<i>`` (the same tensors), which is skipped
    state = {k: v for k, v in state.items() if not k.startswith("append.")}
    indices = sorted({int(k.split(".")[1]) for k in state if k.startswith("layers.") and k.count(".") == 2})
    unknown = [k for k in state if not (k.startswith("layers.") and k.count(".") == 2)]
    if unknown or len(indices) != n_layers:
        raise EstimatorFormatError(
            f"{file}: field {unknown[0] if unknown else 'layers'!r}: expected the {n_layers} linear layers "
            f"'layers.<i>.weight' / '.bias' of MadMiner's dense networks, found {sorted(state)}"
        )
    try:
        return [(state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]) for i in indices]
    except KeyError as err:
        raise EstimatorFormatError(f"{file}: field {err.args[0]!r} is missing") from err


def _options(path: Path, settings: dict[str, Any]) -> tuple[type[Estimator], int, dict[str, Any]]:
    """The columnminer class, number of theta inputs and constructor options for MadMiner's settings."""
    file = path.with_name(path.name + "_settings.json")
    kind = str(settings["estimator_type"])
    if kind not in MADMINER_ESTIMATORS:
        raise EstimatorFormatError(
            f"{file}: field 'estimator_type' is {kind!r}; columnminer loads MadMiner's "
            f"{sorted(MADMINER_ESTIMATORS)} (MadMiner's likelihood estimators are MADE / MAF flows of another "
            "layout: retrain with columnminer's LikelihoodEstimator)"
        )
    activation = str(settings.get("activation", "tanh"))
    if activation not in MADMINER_ACTIVATIONS:
        raise EstimatorFormatError(
            f"{file}: field 'activation' is {activation!r}, which columnminer's networks cannot represent "
            f"(supported: {sorted(MADMINER_ACTIVATIONS)})"
        )
    if float(settings.get("dropout_prob", 0.0)) > 1e-9:
        # MadMiner's dense models put a Dropout layer before every Linear one and apply the activation
        # before every layer but the first: with dropout the network computes act(x) at the input and
        # act(act(h)) between layers, which columnminer's MLP does not represent
        raise EstimatorFormatError(
            f"{file}: field 'dropout_prob' is {settings['dropout_prob']}: MadMiner's networks with dropout "
            "apply the activation to the inputs and twice between layers, which columnminer's networks "
            "cannot represent (retrain without dropout, or with columnminer)"
        )
    features = settings.get("features")
    features = None if features in (None, "None") else [int(i) for i in features]
    klass, n_theta = MADMINER_ESTIMATORS[kind]
    options = {
        "features": features,
        "n_hidden": tuple(int(h) for h in settings.get("n_hidden", ())),
        "activation": MADMINER_ACTIVATIONS[activation],
        "dropout_prob": 0.0,
        "scaling": "standard",
    }
    return klass, n_theta, options


def _build(klass: type[Estimator], options: dict[str, Any], n_obs: int, n_par: int) -> nn.Module:
    """columnminer's network for the estimator options (its ``network_class``, public constructor)."""
    network_options = {
        "hidden": options["n_hidden"],
        "activation": options["activation"],
        "dropout": options["dropout_prob"],
        "features": options["features"],
        "scaling": options["scaling"],
    }
    if klass is ScoreEstimator:
        network_options["score_scaling"] = "none"
    return klass.network_class(n_obs, n_par, **network_options)


def load_madminer_estimator(filename: str | os.PathLike, madminer_evaluation: bool = True) -> Estimator:
    r"""Load the MadMiner estimator saved as ``filename`` (``<filename>_settings.json`` ...) into the matching
    columnminer estimator: :class:`~columnminer.ml.ScoreEstimator` (SALLY, SALLINO),
    :class:`~columnminer.ml.ParameterizedRatioEstimator` (CARL, ROLR, RASCAL, ALICE, ALICES, CASCAL) or
    :class:`~columnminer.ml.DoubleParameterizedRatioEstimator`; it evaluates to what MadMiner computes
    (log r and scores, to float32 rounding). The weights load with ``torch.load(weights_only=True)``: never
    unpickling. MadMiner's nuisance profiling / projection matrices, if saved, are taken over.

    MadMiner 0.9.6's ``DoubleParameterizedRatioEstimator`` trains on scaled theta0 / theta1 but evaluates
    on unscaled ones (``evaluate_log_likelihood_ratio`` never calls ``_transform_parameters``): with
    ``madminer_evaluation`` (default) the loaded estimator computes what MadMiner's evaluation gives,
    with ``madminer_evaluation=False`` the function the network was trained for.

    Raises :class:`~columnminer.errors.EstimatorFormatError` naming the file and field for missing files,
    an unknown ``estimator_type`` or activation, or weights that do not fit the settings.

    Example (a SALLY model in MadMiner's layout: 2 observables, 8 hidden units, 3 score components):
        >>> import tempfile
        >>> prefix = Path(tempfile.mkdtemp()) / "sally"
        >>> settings = {"estimator_type": "score", "n_observables": 2, "n_parameters": 3, "features": None,
        ...             "n_hidden": [8], "activation": "tanh", "dropout_prob": 0.0}
        >>> _ = Path(f"{prefix}_settings.json").write_text(json.dumps(settings))
        >>> layers = {"layers.0.weight": torch.ones(8, 2), "layers.0.bias": torch.zeros(8),
        ...           "layers.1.weight": torch.ones(3, 8), "layers.1.bias": torch.zeros(3)}
        >>> torch.save(layers, f"{prefix}_state_dict.pt")
        >>> sally = load_madminer_estimator(prefix)
        >>> type(sally).__name__, sally.evaluate_score([[0.0, 0.0]]).tolist()
        ('ScoreEstimator', [[0.0, 0.0, 0.0]])
    """
    path = Path(filename)
    settings = _read_settings(path)
    klass, n_theta, options = _options(path, settings)
    n_par = int(settings["n_parameters"])
    x_scaling = _scaling(path, "x", None)
    features = options["features"]
    n_obs = int(settings["n_observables"]) if features is None else None
    if n_obs is None:  # MadMiner's n_observables counts the selected features; its x scaling all of them
        n_obs = len(x_scaling[0]) if x_scaling is not None else max(features) + 1
    elif x_scaling is not None and len(x_scaling[0]) != n_obs:
        raise EstimatorFormatError(f"{path}_x_means.npy: {len(x_scaling[0])} entries for {n_obs} observables")
    model = _build(klass, options, n_obs, n_par)
    _load_weights(path, model, n_par, n_theta, len(options["n_hidden"]) + 1)
    if x_scaling is not None:
        shift, scale = x_scaling if features is None else (x_scaling[0][features], x_scaling[1][features])
        model.inputs.x_scaler.set_arrays(shift, scale)
    theta_scaling = _scaling(path, "theta", n_par) if n_theta else None
    if n_theta == 2 and madminer_evaluation:
        logger.warning(
            "%s: evaluating as MadMiner 0.9.6 does, with unscaled theta0 / theta1 although the network was "
            "trained on scaled ones (pass madminer_evaluation=False for the scaling of the training)",
            path,
        )
        theta_scaling = None
    if theta_scaling is not None:
        model.inputs.theta_scaler.set_arrays(*theta_scaling)
    estimator = klass(**options, **({"score_scaling": "none"} if klass is ScoreEstimator else {}))
    estimator.n_observables, estimator.n_parameters = n_obs, n_par
    estimator.method = "sally" if klass is ScoreEstimator else None
    model.eval()
    estimator.model = model
    if klass is ScoreEstimator:
        _set_nuisance_matrices(path, estimator)
    logger.info("loaded MadMiner %s from %s as %s", settings["estimator_type"], path, klass.__name__)
    return estimator


def _load_weights(path: Path, model: nn.Module, n_par: int, n_theta: int, n_layers: int) -> None:
    """MadMiner's state dict into ``model.mlp``: first-layer columns from (theta..., x) to (x, theta...)."""
    file = path.with_name(path.name + "_state_dict.pt")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise EstimatorFormatError(f"{file}: missing (weights of the MadMiner estimator {path})") from err
    except Exception as err:  # torch raises several types for corrupt files and for pickled objects
        raise EstimatorFormatError(
            f"{file}: not a state dict of tensors ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(state, dict):
        raise EstimatorFormatError(f"{file}: holds a {type(state).__name__}, not a state dict")
    weights = _linear_weights(path, state, n_layers)
    first, bias = weights[0]
    n_thetas = n_theta * n_par
    if first.ndim == 2 and n_thetas:
        weights[0] = (torch.cat([first[:, n_thetas:], first[:, :n_thetas]], dim=1), bias)
    layers = [m for m in model.mlp if isinstance(m, nn.Linear)]
    for index, (layer, (weight, bias)) in enumerate(zip(layers, weights, strict=True)):
        if tuple(weight.shape) != tuple(layer.weight.shape) or tuple(bias.shape) != tuple(layer.bias.shape):
            raise EstimatorFormatError(
                f"{file}: field 'layers' (linear layer {index}): weight {tuple(weight.shape)}, bias "
                f"{tuple(bias.shape)}; the settings give {tuple(layer.weight.shape)}, {tuple(layer.bias.shape)}"
            )
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)


def _set_nuisance_matrices(path: Path, estimator: ScoreEstimator) -> None:
    """MadMiner's ``_nuisance_profile_matrix.npy`` / ``_nuisance_project_matrix.npy``, when saved."""
    files = [path.with_name(f"{path.name}_nuisance_{kind}_matrix.npy") for kind in ("profile", "project")]
    if not all(f.is_file() for f in files):
        return
    profile, project = (np.load(f, allow_pickle=False).astype(np.float64) for f in files)
    estimator.nuisance_profile_matrix = profile
    estimator.nuisance_project_matrix = project
    estimator.parameters_of_interest = [int(i) for i in np.argmax(project, axis=1)]
