"""Training of the demo's estimators: SALLY with a balanced loss, ALICES with a morphing-aware network and a
normalisation calibration. Torch runs on one thread here (:func:`torch_threads`): for networks of this size
that is faster than several, above all on a shared machine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..io.store import EventStore
from ..weights import theta_coefficients
from .config import DemoConfig

__all__ = ["calibrate_normalisation", "torch_threads", "train_alices", "train_sally"]


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
    from ..ml import TrainingOptions

    return TrainingOptions(
        n_epochs=config.epochs,
        batch_size=config.batch_size,
        initial_lr=config.learning_rates[0],
        final_lr=config.learning_rates[1],
        progress=progress,
        seed=seed,
    )


def train_sally(sample: Any, config: DemoConfig, seed: int, progress: bool) -> Any:
    """SALLY: a :class:`~columnminer.ml.ScoreEstimator` regressing the joint score at the SM.

    The two score components differ in spread by about a factor ten (a3 enters the SM rate only
    quadratically), so the network is trained on the joint score divided by each component's standard
    deviation (the loss weights both components alike; the minimiser is still :math:`E[t(x,z)|x]`) and the
    factors are then folded into its last linear layer: the estimator returns the score in physical units.
    """
    import torch

    from ..ml import ScoreEstimator

    t_xz = np.asarray(sample["t_xz0"], dtype=np.float64)
    scale = np.where(t_xz.std(axis=0) > 0, t_xz.std(axis=0), 1.0)
    estimator = ScoreEstimator(n_hidden=config.hidden)
    estimator.train("sally", x=sample["x"], t_xz=t_xz / scale, options=_options(config, seed, progress))
    last = [m for m in estimator.model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        factor = torch.as_tensor(scale, dtype=last.weight.dtype)
        last.weight.mul_(factor[:, None])
        last.bias.mul_(factor)
    return estimator


def train_alices(
    sample: Any, store: EventStore, config: DemoConfig, seed: int, progress: bool
) -> tuple[Any, np.ndarray]:
    r"""ALICES with a morphing-aware network (:class:`~columnminer.ml.MorphingAwareRatioEstimator`): the theta
    dependence of :math:`\log\hat r(x|\theta, \mathrm{SM})` is the exact morphing polynomial, the network
    learns functions of x only. Then :func:`calibrate_normalisation`; returns the estimator and the shifts of
    its log cross sections."""
    from ..ml import MorphingAwareRatioEstimator

    estimator = MorphingAwareRatioEstimator(store.setup.morpher, reference=[0.0, 0.0], n_hidden=config.hidden)
    estimator.train(
        "alices",
        x=sample["x"],
        theta=sample["theta0"],
        y=sample["y"],
        r_xz=sample["r_xz"],
        t_xz=sample["t_xz0"],
        alpha=config.alpha,
        options=_options(config, seed + 1, progress),
    )
    return estimator, calibrate_normalisation(estimator, store)


def calibrate_normalisation(estimator: Any, store: EventStore, partition: str | None = "test") -> np.ndarray:
    r"""Normalise a morphing-aware ratio estimator on the events of ``partition``: :math:`E_\mathrm{SM}[\hat
    r(x|\theta, \mathrm{SM})] = 1` for every theta, as any density ratio must be.

    The estimator writes :math:`\hat r = [\sum_b w_b(\theta) e^{g_b(x)} / \sum_b w_b(\theta) e^{k_b}] /
    [e^{g_0(x)} / e^{k_0}]` (b = 0 the SM); its log cross sections k_b are learnt only through the
    classification loss, and errors of a few per mille in them tilt the Asimov likelihood of a weakly
    constrained direction (a3 here) visibly. They are replaced by their estimate from the network's own
    density ratios, :math:`e^{k_b - k_0} = E_\mathrm{SM}[e^{g_b(x) - g_0(x)}]`, averaged over the events of
    ``partition`` weighted at the SM. With the test partition (the default) the estimator is normalised on
    the events that make the Asimov data, just as the histogram, SALLY and exact likelihoods take their
    models from them; then, as for those, the Asimov likelihood peaks at the SM (Jensen's inequality), and a
    statistical fluctuation of the finite Asimov sample cannot move it. Only these B - 1 numbers are fitted
    there; the network itself saw the train partition only. Returns the shifts of k_b.
    """
    import torch

    from ..inference.binned import reduce_chunks
    from ..ml.morphing_aware import XSEC_STEP

    setup = store.setup
    sm_column = theta_coefficients(setup, ["sm"])[0]
    parts = reduce_chunks(store, lambda c: (c.x, c.weights @ sm_column), partition=partition)
    x = np.concatenate([p[0] for p in parts])
    w = np.concatenate([p[1] for p in parts])
    g, k = estimator.evaluate_benchmark_log_densities(x)
    ref = int(np.argmin(np.linalg.norm(estimator.morpher.basis, axis=1)))
    ratios = np.exp(g - g[:, [ref]])
    new = k[ref] + np.log((w[:, None] * ratios).sum(axis=0) / w.sum())
    raw = estimator.model.raw_log_xsec
    with torch.no_grad():
        raw.copy_(torch.as_tensor(new / XSEC_STEP, dtype=raw.dtype))
    return new - k
