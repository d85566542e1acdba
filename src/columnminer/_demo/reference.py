"""The reference setups of the demo and the tests: the golden channel's parameter space and exact quadratic
event weights (re-exported by :mod:`columnminer.demo`)."""

from __future__ import annotations

import numpy as np

from ..setup import AnalysisSetup

__all__ = ["golden_channel_setup", "quadratic_event_weights"]


def golden_channel_setup(seed: int = 0) -> AnalysisSetup:
    """The parameter space of the H -> ZZ* -> 2e2mu reference process: theta = (a2, a3), :math:`|M|^2` quadratic
    (:func:`columnminer.simulators.golden.golden_setup`: the SM and an optimised six-point morphing basis)."""
    from ..simulators.golden import golden_setup

    return golden_setup(seed=seed)


def quadratic_event_weights(couplings: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    r"""Exact per-event weights :math:`w(z|\theta) = \lVert L_z^T v(\theta) \rVert^2`, v = (1, theta).

    ``couplings`` has shape [n_events, n_parameters + 1, k] (an amplitude per helicity-like channel k), so
    each weight is a positive quadratic form in theta, the form of a tree-level :math:`|M|^2` with one
    anomalous vertex. Returns shape [n_thetas, n_events].
    """
    thetas = np.atleast_2d(thetas)
    v = np.concatenate([np.ones((thetas.shape[0], 1)), thetas], axis=1)
    amplitudes = np.einsum("tj,njk->tnk", v, couplings)
    return np.sum(amplitudes**2, axis=-1)
