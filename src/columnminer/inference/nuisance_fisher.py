r"""Fisher information and binned yield modifiers with nuisance parameters (systematic uncertainties).

With the nuisance coefficients :math:`a(z), b(z)` of :mod:`columnminer.nuisances`, the event weight is
:math:`w(z|\theta,\nu) = w(z|\theta)\exp(\sum_j a_j\nu_j + b_j\nu_j^2)`. At :math:`\nu = 0` its gradient is
:math:`\partial_\theta w` for the parameters of interest and :math:`\partial_{\nu_j} w = w\,a_j` for the
nuisances, so the truth-level information over :math:`(\theta, \nu)` is

.. math::

    I = L\sum_z \frac{d(z)\,d(z)^T}{w(z|\theta)} + \begin{pmatrix}0 & 0\\ 0 & 1_N\end{pmatrix},
    \qquad d(z) = \big(\partial_\theta w(z|\theta),\ w(z|\theta)\,a(z)\big),

the second term being the unit Gaussian constraints :math:`\nu_j \sim N(0, 1)`
(:func:`truth_information_with_nuisances`). Profiling the nuisances
(:func:`~columnminer.inference.fisher.profile_information`) gives the Schur complement, never more than the
information with the nuisances known. For histograms, :func:`binned_nuisance_modifiers` returns the
per-bin relative up-variations :math:`\delta_{jk} = \sigma_k(\theta, \nu_j = 1)/\sigma_k(\theta, 0) - 1`
that :func:`~columnminer.inference.likelihood.histogram_nll` takes as ``modifiers``.

References: Brehmer, Kling, Espejo, Cranmer (MadMiner), arXiv:1907.10621; Cranmer et al., HistFactory,
CERN-OPEN-2012-016.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InferenceError
from ..io.store import EventStore
from ..nuisances import nuisance_log_variations_at
from ..systematics import NuisanceModel
from ..weights import theta_coefficients
from . import fisher_terms as _fe
from .binned import ChunkColumns, Feature, reduce_chunks
from .fisher import FisherInformation
from .systematic_bins import binned_variations

__all__ = ["binned_nuisance_modifiers", "truth_information_with_nuisances"]

logger = logging.getLogger(__name__)


def _model(store: EventStore) -> NuisanceModel:
    model = store.setup.nuisance_model()
    if model.n_nuisances == 0 or not store.nuisance_benchmark_names:
        raise InferenceError(
            f"store: {store.url} has no nuisance parameters (add systematics and nuisance_weights columns)"
        )
    return model


def _chunk_truth_nuisance(
    columns: ChunkColumns, store: EventStore, model: NuisanceModel, c: np.ndarray, dc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sum over events of d d^T / w [Q*Q], the Gram matrix of these terms [Q*Q, Q*Q], events skipped."""
    w = columns.weights @ c
    a, _ = model.coefficients(nuisance_log_variations_at(store, columns.rows))
    d = np.concatenate([columns.weights @ dc.T, w[:, None] * a], axis=1)  # [n, P + N]
    good = w > 0
    d, w = d[good], w[good]
    f = (d[:, :, None] * d[:, None, :] / w[:, None, None]).reshape(len(w), -1)
    return f.sum(axis=0), f.T @ f, int((~good).sum())


def truth_information_with_nuisances(
    store: EventStore,
    theta: Any,
    luminosity: float,
    include_constraint: bool = True,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    partition: str | None = None,
    client: Any = None,
) -> FisherInformation:
    r"""Truth-level Fisher information over (theta, nu) at :math:`\nu = 0` (see the module docstring), with
    the Monte Carlo covariance of its entries; parameter names are the parameters of interest followed by
    the nuisance parameters. ``include_constraint`` adds the identity of the N(0, 1) constraints to the
    nuisance block (it does not scale with luminosity). Events with :math:`w(z|\theta) \le 0` are skipped.

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store(
        ...     [0, 0], [[1.0, 2.0], [1.0, 2.0]], [[np.e], [np.e]], norm_variation=np.e, epsilon=1.0
        ... )  # sm_plus_theta at theta = 1
        >>> info = truth_information_with_nuisances(store, "sm", 1.0)
        >>> info.parameter_names, info.information.round(4).tolist()  # rate: dsigma = 2, a = 1, sigma = 2
        (('theta', 'lumi'), [[2.0, 2.0], [2.0, 3.0]])
    """
    luminosity = _fe.check_luminosity(luminosity)
    model = _model(store)
    c, dc = _fe.coefficients(store.setup, theta)
    parts = reduce_chunks(
        store,
        _chunk_truth_nuisance,
        store,
        model,
        c,
        dc,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
    )
    p = dc.shape[0]
    q = p + model.n_nuisances
    info = luminosity * np.sum([r[0] for r in parts], axis=0).reshape(q, q)
    covariance = luminosity**2 * np.sum([r[1] for r in parts], axis=0).reshape(q, q, q, q)
    skipped = sum(r[2] for r in parts)
    if skipped:
        logger.warning("%s: skipped %d events with weight <= 0 at theta", store.url, skipped)
    if include_constraint:
        info[p:, p:] += np.eye(model.n_nuisances)
    names = tuple(store.setup.parameter_space.parameter_names) + tuple(model.nuisance_names)
    point = _fe.theta_point(store.setup, theta)
    return FisherInformation(info, covariance, names, luminosity, "truth_with_nuisances", point)


def binned_nuisance_modifiers(
    store: EventStore,
    features: Feature | Sequence[Feature],
    bins: Any,
    theta: Any,
    partition: str | None = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    flow: bool = True,
    client: Any = None,
    side: str = "up",
) -> np.ndarray:
    r"""Per-bin relative up-variations (``side="up"``) or down-variations (``side="down"``) of every nuisance
    parameter, in one pass over the store:

    .. math::

        \delta^\pm_{jk} = \frac{\sigma_k(\theta, \nu_j = \pm 1)}{\sigma_k(\theta, 0)} - 1
        = \frac{\sum_{z\in k} w(z|\theta)\, e^{\pm a_j(z) + b_j(z)}}{\sum_{z\in k} w(z|\theta)} - 1,

    shape ``[N, *bins]`` (0 in empty bins), in the order of ``store.setup.nuisance_parameter_names``: the
    ``modifiers`` of :func:`~columnminer.inference.likelihood.histogram_nll`. ``features``, ``bins``,
    ``flow``, ``cuts``, ``efficiencies`` and ``partition`` as in
    :func:`~columnminer.inference.binned.binned_weights`; ``theta`` one benchmark or parameter point. The up
    side is ``histogram_nll``'s ``modifiers``, the down side its ``down_modifiers`` (both sides keep an
    asymmetric variation, such as a scale variation, asymmetric).

    Example:
        >>> from columnminer._examples import toy_nuisance_store
        >>> store = toy_nuisance_store([0.5, 1.5], [1, 1], [[1.1], [1.0]], norm_variation=1.1)
        >>> binned_nuisance_modifiers(store, "x", [0.0, 1.0, 2.0], "sm").round(4).tolist()
        [[0.1, 0.0]]
        >>> binned_nuisance_modifiers(store, "x", [0.0, 1.0, 2.0], "sm", side="down").round(4).tolist()
        [[-0.0909, 0.0]]
    """
    if side not in ("up", "down"):
        raise InferenceError(f"side must be 'up' or 'down', got {side!r}")
    _model(store)
    c = theta_coefficients(store.setup, theta)
    if len(c) != 1:
        raise InferenceError(f"theta must be one parameter point, got {len(c)}")
    variations = binned_variations(
        store,
        features,
        bins,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        flow=flow,
        client=client,
    )
    nominal, up, down = (a[0] for a in variations.cross_sections_at(c))
    varied = up if side == "up" else down
    with np.errstate(divide="ignore", invalid="ignore"):
        deltas = np.where(nominal > 0, varied / np.where(nominal > 0, nominal, 1.0) - 1.0, 0.0)
    if np.any(deltas <= -1.0):
        raise InferenceError(f"binned_nuisance_modifiers: a {side}-variation empties a bin (delta <= -1)")
    return deltas.reshape(len(variations.nuisance_names), *variations.shape)
