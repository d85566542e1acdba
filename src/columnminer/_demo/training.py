"""Training of the demo's estimators: SALLY with a balanced loss, ALICES with a morphing-aware network and a
normalisation calibration on held-out events (:func:`~columnminer.ml.calibration.calibrate_ratio`). Torch
runs on one thread here (:func:`torch_threads`): for networks of this size that is faster than several,
above all on a shared machine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._cli.defaults import VALIDATION_PARTITION
from ..io.store import EventStore
from .config import DemoConfig

__all__ = ["CALIBRATION_PARTITION", "torch_threads", "train_alices", "train_sally"]

#: Where ALICES is calibrated: held out from its training sample ("train") and from the Asimov data ("test"),
#: as ``columnminer train`` does.
CALIBRATION_PARTITION = VALIDATION_PARTITION


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` intra-op threads, restoring the previous setting afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _options(config: DemoConfig, seed: int, progress: bool) -> Any:
    """The library's default training options (:class:`~columnminer.ml.TrainingOptions`), seeded (the quick
    demo trains fewer epochs)."""
    from ..ml import TrainingOptions

    options = TrainingOptions(progress=progress, seed=seed)
    return options if config.epochs is None else options.replace(n_epochs=config.epochs)


def train_sally(sample: Any, store: EventStore, config: DemoConfig, seed: int, progress: bool) -> Any:
    """SALLY: a :class:`~columnminer.ml.ScoreEstimator` regressing the joint score at the SM.

    The two score components differ in spread by about a factor ten (a3 enters the SM rate only
    quadratically); the estimator's default ``score_scaling="standard"`` trains on each component
    standardised (the loss weights both alike; the minimiser is still :math:`E[t(x,z)|x]`) and returns the
    score in physical units. Early stopping watches ``samples/sally-validation`` (the validation partition).
    """
    from ..ml import ScoreEstimator

    estimator = ScoreEstimator(n_hidden=config.hidden)
    estimator.train(
        "sally",
        x=sample["x"],
        t_xz=sample["t_xz0"],
        validation=(store, "sally-validation"),
        options=_options(config, seed, progress),
    )
    return estimator


def train_alices(
    sample: Any, store: EventStore, config: DemoConfig, seed: int, progress: bool
) -> tuple[Any, np.ndarray]:
    r"""ALICES with a morphing-aware network (:class:`~columnminer.ml.MorphingAwareRatioEstimator`): the theta
    dependence of :math:`\log\hat r(x|\theta, \mathrm{SM})` is the exact morphing polynomial, the network
    learns functions of x only. Then its normalisation :math:`E_\mathrm{SM}[\hat r(x|\theta, \mathrm{SM})] =
    1` is calibrated for every theta on the SM-weighted events of :data:`CALIBRATION_PARTITION`
    (:func:`~columnminer.ml.calibration.calibrate_ratio`: the log cross sections k_b, learnt only through
    the classification loss, are replaced by :math:`e^{k_b - k_0} = E_\mathrm{SM}[e^{g_b(x) - g_0(x)}]`);
    the limits normalise the model on the Asimov events and check it there
    (:func:`~columnminer.inference.expected_limits`, ``closure``). Returns the estimator and the shifts of
    its log cross sections. Early stopping watches ``samples/alices-validation``."""
    from ..ml import MorphingAwareRatioEstimator, calibrate_ratio

    estimator = MorphingAwareRatioEstimator(store.setup.morpher, reference=[0.0, 0.0], n_hidden=config.hidden)
    estimator.train(
        "alices",
        x=sample["x"],
        theta=sample["theta0"],
        y=sample["y"],
        r_xz=sample["r_xz"],
        t_xz=sample["t_xz0"],
        alpha=config.alpha,
        validation=(store, "alices-validation"),
        options=_options(config, seed + 1, progress),
    )
    result = calibrate_ratio(estimator, store, CALIBRATION_PARTITION, theta_ref=[0.0, 0.0])
    return estimator, result.log_xsec_shifts
