r"""Expected Fisher information: truth level, rate, histograms, neural score estimators; profiling, projection.

For a Poisson process with luminosity L (pb^-1) and events distributed as :math:`d\sigma(z|\theta)` the
expected Fisher information about theta is (Brehmer, Cranmer, Kling, Plehn, "Better Higgs boson
measurements through information geometry", arXiv:1612.05261)

.. math::

    I_{ij}(\theta) = L \int dz\, \frac{\partial_i\, d\sigma(z|\theta)\ \partial_j\, d\sigma(z|\theta)}
    {d\sigma(z|\theta)}
    = L\,\frac{\partial_i\sigma\,\partial_j\sigma}{\sigma} + L\,\sigma\,
    E\big[t_i(z|\theta)\, t_j(z|\theta)\big],

the rate term plus the kinematic term with the score :math:`t = \nabla_\theta \log p(z|\theta)`. With the
stored events it becomes a sum over events (:func:`truth_information`), over bins of a histogram
(:func:`histogram_information`), a single bin (:func:`rate_information`), or, for what a detector sees, an
expectation of an estimated score :math:`\hat t(x)` (:func:`detector_information`, as in MadMiner: Brehmer,
Kling, Espejo, Cranmer, arXiv:1907.10621). Each returns a :class:`FisherInformation` with the Monte Carlo
(or ensemble) covariance of its entries. :func:`project_information` and :func:`profile_information`
remove parameters; :func:`nuisance_constraint_information` is the term of unit Gaussian constraints.

Everything reduces the store chunk by chunk (:func:`~columnminer.inference.binned.reduce_chunks`): cuts,
efficiencies and partitions apply exactly as for binned yields, and only small arrays leave the workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InferenceError
from ..io.store import EventStore
from ..weights import theta_coefficients
from . import fisher_terms as _fe
from .binned import BinnedWeights, Feature, binned_weights, reduce_chunks

__all__ = [
    "FisherInformation",
    "InformationHistogram",
    "detector_information",
    "histogram_information",
    "histogram_of_information",
    "nuisance_constraint_information",
    "profile_information",
    "project_information",
    "rate_information",
    "sigma_and_dsigma",
    "truth_information",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FisherInformation:
    r"""An expected Fisher information matrix with its uncertainty.

    Attributes:
        information: :math:`I_{ij}` [P, P] for the luminosity ``luminosity_pb`` (pb^-1).
        covariance: :math:`\mathrm{Cov}[I_{ij}, I_{kl}]` [P, P, P, P] (Monte Carlo, or between ensemble
            members), or None.
        parameter_names: the parameters, in matrix order.
        luminosity_pb: the integrated luminosity in pb^-1.
        kind: "truth", "rate", "histogram", "detector", "projected", "profiled", "sum" ...
        theta: the parameter point [P] (None where not applicable).
        binned: the :class:`~columnminer.inference.binned.BinnedWeights` of a histogram information.
        members: the ensemble members' informations [M, P, P] (detector level with an ensemble).

    ``np.asarray(info)`` is the matrix; ``info + other`` adds informations (and covariances, independent).

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> info = FisherInformation(np.diag([4.0, 1.0]), None, ("a", "b"), 10.0, "truth")
        >>> info.eigenvalues.tolist(), info.scaled(20.0).information.tolist()
        ([1.0, 4.0], [[8.0, 0.0], [0.0, 2.0]])
    """

    information: np.ndarray
    covariance: np.ndarray | None
    parameter_names: tuple[str, ...]
    luminosity_pb: float
    kind: str
    theta: np.ndarray | None = None
    binned: BinnedWeights | None = None
    members: np.ndarray | None = None

    __array_ufunc__ = None  # ``array + info`` defers to ``info.__radd__``

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.information, dtype=dtype)

    @property
    def n_parameters(self) -> int:
        """Number of parameters P."""
        return int(self.information.shape[0])

    @property
    def uncertainty(self) -> np.ndarray | None:
        """Standard deviation of every entry [P, P] (None without a covariance)."""
        if self.covariance is None:
            return None
        p = self.n_parameters
        return np.sqrt(np.clip(self.covariance.reshape(p * p, p * p).diagonal().reshape(p, p), 0.0, None))

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the (symmetrised) information, ascending."""
        return np.linalg.eigvalsh(0.5 * (self.information + self.information.T))

    @property
    def determinant(self) -> float:
        """det I."""
        return float(np.linalg.det(self.information))

    def scaled(self, luminosity: float) -> FisherInformation:
        """The information for another luminosity (pb^-1): I scales with L, its covariance with L^2."""
        factor = _fe.check_luminosity(luminosity) / self.luminosity_pb
        return replace(
            self,
            information=self.information * factor,
            covariance=None if self.covariance is None else self.covariance * factor**2,
            members=None if self.members is None else self.members * factor,
            luminosity_pb=float(luminosity),
        )

    def histogram(self) -> Any:
        """The histogram behind a histogram information: expected events at theta as a ``hist.Hist`` with a
        one-category ``theta`` axis (the convention of :mod:`columnminer.hists`) and the observable axes."""
        if self.binned is None or self.theta is None:
            raise InferenceError(f"a {self.kind!r} information has no histogram")
        return self.binned.to_hist(self.theta, self.luminosity_pb)

    def __add__(self, other: Any) -> FisherInformation:
        matrix = np.asarray(other, dtype=np.float64)
        if matrix.shape != self.information.shape:
            raise InferenceError(
                f"cannot add informations of shapes {self.information.shape} and {matrix.shape}"
            )
        if isinstance(other, FisherInformation) and (
            other.parameter_names != self.parameter_names
            or not np.isclose(other.luminosity_pb, self.luminosity_pb)
        ):
            raise InferenceError(
                "cannot add informations of other parameters or luminosities: "
                f"{self.parameter_names} at {self.luminosity_pb} pb^-1 and {other.parameter_names} at "
                f"{other.luminosity_pb} pb^-1 (use scaled() first)"
            )
        covariance = self.covariance
        other_cov = other.covariance if isinstance(other, FisherInformation) else None
        if covariance is not None and other_cov is not None:
            covariance = covariance + other_cov
        elif other_cov is not None:
            covariance = other_cov
        return replace(
            self,
            information=self.information + matrix,
            covariance=covariance,
            kind="sum",
            binned=None,
            members=None,
        )

    __radd__ = __add__


@dataclass(frozen=True, eq=False)
class InformationHistogram:
    """Where the information comes from: per bin of one feature the edges, the cross section ``sigma`` (pb)
    and the information ``information`` [n_bins, P, P]; ``kind`` "histogram" (the counting information of
    each bin, summing to :func:`histogram_information`) or "truth" (the truth-level information of the
    events in each bin, summing to :func:`truth_information`). Unpacks as ``edges, sigma, information``.

    Example:
        >>> h = InformationHistogram(np.array([0.0, 1.0]), np.array([2.0]), np.ones((1, 1, 1)), "histogram",
        ...                          ("a",), 1.0)
        >>> edges, sigma, information = h
        >>> sigma.tolist(), information.shape
        ([2.0], (1, 1, 1))
    """

    edges: np.ndarray
    sigma: np.ndarray
    information: np.ndarray
    kind: str
    parameter_names: tuple[str, ...]
    luminosity_pb: float

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.edges, self.sigma, self.information))


def _names(store: EventStore) -> tuple[str, ...]:
    return tuple(store.setup.parameter_space.parameter_names)


def _log_skipped(what: str, store: EventStore, skipped: int) -> None:
    if skipped:
        logger.warning("%s: %s skipped %d events with weight <= 0 at theta", store.url, what, skipped)


def truth_information(
    store: EventStore,
    theta: Any,
    luminosity: float,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    partition: str | None = None,
    client: Any = None,
) -> FisherInformation:
    r"""The full truth-level information: what a perfect measurement of every event's z would give,

    .. math::

        I_{ij}(\theta) = L \sum_z \frac{\partial_i w(z|\theta)\, \partial_j w(z|\theta)}{w(z|\theta)},
        \qquad \mathrm{Cov}[I_{ij}, I_{kl}] = L^2 \sum_z f_{ij}(z) f_{kl}(z),

    with f the per-event terms (the Monte Carlo uncertainty of the sum). It contains the rate information
    (it is the full Poisson information). Events with :math:`w(z|\theta) \le 0` are skipped (and counted in
    a log message). ``theta``: a benchmark name or a parameter point; ``luminosity`` in pb^-1; ``cuts``,
    ``efficiencies``, ``partition`` as in :func:`~columnminer.inference.binned.reduce_chunks`.

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # w(z|theta) = (1 + a2 + a3)^2
        >>> truth_information(store, "sm", 10.0).information.round(6).tolist()
        [[160.0, 160.0], [160.0, 160.0]]
    """
    luminosity = _fe.check_luminosity(luminosity)
    c, dc = _fe.coefficients(store.setup, theta)
    parts = reduce_chunks(
        store,
        _fe.chunk_truth,
        c,
        dc,
        store.n_events >= _fe.COMPILED_TRUTH_EVENTS,
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
        observables=False,
    )
    p = dc.shape[0]
    info = luminosity * np.sum([r[0] for r in parts], axis=0).reshape(p, p)
    covariance = luminosity**2 * np.sum([r[1] for r in parts], axis=0).reshape(p, p, p, p)
    _log_skipped("truth_information", store, sum(r[2] for r in parts))
    point = _fe.theta_point(store.setup, theta)
    return FisherInformation(info, covariance, _names(store), luminosity, "truth", point)


def rate_information(
    store: EventStore,
    theta: Any,
    luminosity: float,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    partition: str | None = None,
    client: Any = None,
) -> FisherInformation:
    r"""The information in the total rate only, :math:`I_{ij} = L\, \partial_i\sigma\, \partial_j\sigma /
    \sigma` (sigma after cuts and efficiencies, in pb).

    The covariance is the linear propagation of the Monte Carlo covariance of :math:`(\sigma,
    \nabla\sigma)`, which is :math:`A G A^T` with the weight Gram matrix G and :math:`A = (c(\theta);
    \partial c(\theta))` (see :mod:`columnminer.inference.fisher_terms`).

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # every event: the same shape, sigma = 4 pb
        >>> rate_information(store, "sm", 10.0).information.round(6).tolist()
        [[160.0, 160.0], [160.0, 160.0]]
    """
    luminosity = _fe.check_luminosity(luminosity)
    c, dc = _fe.coefficients(store.setup, theta)
    options = {"partition": partition, "cuts": cuts, "efficiencies": efficiencies, "client": client}
    parts = reduce_chunks(store, _fe.chunk_moments, **options, observables=False)
    total = np.sum([r[0] for r in parts], axis=0)
    gram = np.sum([r[1] for r in parts], axis=0)
    sigma, dsigma = np.array([c @ total]), (dc @ total)[None, :]
    return _binned_ratio_information(store, theta, luminosity, sigma, dsigma, gram[None], c, dc, "rate")


def _binned_ratio_information(store, theta, luminosity, sigma, dsigma, gram, c, dc, kind, binned=None):
    """Sum over bins of L g g^T / s with the propagated covariance (bins with s <= 0 skipped, logged)."""
    p = dc.shape[0]
    terms, keep, jacobian = _fe.ratio_terms(sigma, dsigma, luminosity)
    if np.count_nonzero(~keep):
        logger.info(
            "%s: %d of %d bins have sigma <= 0 at theta and are skipped", kind, (~keep).sum(), len(keep)
        )
    covariance = _fe.ratio_covariance(jacobian, gram[keep], c, dc).reshape(p, p, p, p)
    point = _fe.theta_point(store.setup, theta)
    return FisherInformation(terms.sum(axis=0), covariance, _names(store), luminosity, kind, point, binned)


def histogram_information(
    store: EventStore,
    theta: Any,
    luminosity: float,
    features: Feature | Sequence[Feature],
    bins: Any = None,
    events_per_bin: float | None = None,
    max_bins: int = 100,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    partition: str | None = None,
    client: Any = None,
) -> FisherInformation:
    r"""The information in a 1-d or 2-d histogram of observables (names) or callables,
    :math:`I_{ij} = L \sum_k \partial_i\sigma_k\, \partial_j\sigma_k / \sigma_k` over the bins k (bins with
    :math:`\sigma_k \le 0` skipped and logged; events outside the edges flow into the edge bins).

    ``bins``: edges (one array, or one per feature); an int (per feature, or one for all) for adaptive bins
    of equal cross section at theta; or leave it None and give ``events_per_bin``, the target number of
    expected events :math:`L\sigma_\text{bin}` per bin, which fixes the number of adaptive bins (per axis:
    :math:`(L\sigma/n)^{1/d}`, at most ``max_bins``). The covariance propagates the Monte Carlo covariance
    of every bin's :math:`(\sigma_k, \nabla\sigma_k)`. The result keeps the
    :class:`~columnminer.inference.binned.BinnedWeights` (``.binned``; ``.histogram()`` is a ``hist.Hist``).

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # m4l = 0..3, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> info = histogram_information(store, "sm", 10.0, "m4l", bins=2)
        >>> info.information.round(6).tolist(), info.histogram().values()[0].tolist()
        ([[160.0, 160.0], [160.0, 160.0]], [20.0, 20.0])
    """
    luminosity = _fe.check_luminosity(luminosity)
    c, dc = _fe.coefficients(store.setup, theta)
    features = [features] if isinstance(features, str) or callable(features) else list(features)
    if not 1 <= len(features) <= 2:
        raise InferenceError(f"features: histograms of 1 or 2 features, got {len(features)}")
    options = {"partition": partition, "cuts": cuts, "efficiencies": efficiencies, "client": client}
    edges = _fe.histogram_edges(
        store, features, bins, theta, luminosity, events_per_bin, int(max_bins), options
    )
    binned = binned_weights(store, features, edges, flow=True, **options)
    p = dc.shape[0]
    b = len(c)
    sigma = binned.cross_sections(theta)[0].reshape(-1)
    dsigma = binned.cross_section_gradients(theta)[0].reshape(p, -1).T
    gram = binned.gram.reshape(-1, b, b)
    return _binned_ratio_information(
        store, theta, luminosity, sigma, dsigma, gram, c, dc, "histogram", binned
    )


def histogram_of_information(
    store: EventStore,
    theta: Any,
    luminosity: float,
    feature: Feature,
    bins: Any,
    kind: str = "histogram",
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    partition: str | None = None,
    client: Any = None,
) -> InformationHistogram:
    r"""The distribution of the information over the bins of one feature: per bin k the cross section
    :math:`\sigma_k` (pb) and either the counting information :math:`L\,\partial_i\sigma_k\,\partial_j
    \sigma_k/\sigma_k` (``kind="histogram"``; the bins sum to :func:`histogram_information`) or the
    truth-level information :math:`L\sum_{z\in k}\partial_i w\,\partial_j w/w` (``kind="truth"``; the bins
    sum to :func:`truth_information`). ``bins``: edges, or an int for adaptive bins (equal sigma at theta).

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # m4l = 0..3, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> edges, sigma, info = histogram_of_information(store, "sm", 10.0, "m4l", [0.0, 1.5, 3.0])
        >>> sigma.round(6).tolist(), info[:, 0, 0].round(6).tolist()
        ([2.0, 2.0], [80.0, 80.0])
    """
    if kind not in ("histogram", "truth"):
        raise InferenceError(f"kind must be 'histogram' or 'truth', got {kind!r}")
    luminosity = _fe.check_luminosity(luminosity)
    c, dc = _fe.coefficients(store.setup, theta)
    p = dc.shape[0]
    options = {"partition": partition, "cuts": cuts, "efficiencies": efficiencies, "client": client}
    (edges,) = _fe.histogram_edges(store, [feature], bins, theta, luminosity, None, 10**6, options)
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise InferenceError(f"bins: edges must be increasing with at least two values, got {edges}")
    if kind == "histogram":
        binned = binned_weights(store, feature, edges, flow=True, **options)
        sigma = binned.cross_sections(theta)[0]
        dsigma = binned.cross_section_gradients(theta)[0].T
        terms, keep, _ = _fe.ratio_terms(sigma, dsigma, luminosity)
        info = np.zeros((len(sigma), p, p))
        info[keep] = terms
    else:
        parts = reduce_chunks(store, _fe.chunk_binned_truth, feature, edges, c, dc, **options)
        sigma = np.sum([r[0] for r in parts], axis=0)
        info = luminosity * np.sum([r[1] for r in parts], axis=0).reshape(-1, p, p)
        _log_skipped("histogram_of_information", store, sum(r[2] for r in parts))
    return InformationHistogram(edges, sigma, info, kind, _names(store), luminosity)


def sigma_and_dsigma(
    store: EventStore,
    thetas: Any,
    feature: Feature,
    bins: Any,
    binning_theta: Any = None,
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    partition: str | None = None,
    client: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per bin of one feature, at every theta: the cross section :math:`\sigma_k(\theta)` (pb) and its
    gradient :math:`\nabla_\theta\sigma_k` (pb per unit theta), from one pass over the store.

    Returns ``(edges, sigma [T, n_bins], dsigma [T, n_bins, P])``. ``bins``: edges, or an int for adaptive
    bins of equal cross section at ``binning_theta`` (default: the first of ``thetas``).

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> from columnminer._examples import golden_quadratic_store
        >>> store = golden_quadratic_store()  # m4l = 0..3, w(z|theta) = (1 + a2 + a3)^2 pb
        >>> edges, sigma, dsigma = sigma_and_dsigma(store, ["sm", [0.5, 0.0]], "m4l", [0.0, 1.5, 3.0])
        >>> sigma.round(6).tolist(), dsigma[1, 0].round(6).tolist()
        ([[2.0, 2.0], [4.5, 4.5]], [6.0, 6.0])
    """
    items = thetas
    try:
        n_thetas = len(theta_coefficients(store.setup, items))
    except (ValueError, TypeError, KeyError) as err:
        raise InferenceError(f"thetas: {err}") from err
    if binning_theta is None:
        binning_theta = (
            items if n_thetas == 1 else (items[0] if isinstance(items, np.ndarray) else next(iter(items)))
        )
    options = {"partition": partition, "cuts": cuts, "efficiencies": efficiencies, "client": client}
    (edges,) = _fe.histogram_edges(store, [feature], bins, binning_theta, 1.0, None, 10**6, options)
    binned = binned_weights(store, feature, edges, flow=True, **options)
    try:
        sigma = binned.cross_sections(items)
        dsigma = np.moveaxis(binned.cross_section_gradients(items), 1, 2)
    except (ValueError, TypeError, KeyError) as err:
        raise InferenceError(f"thetas: {err}") from err
    return np.asarray(edges, dtype=np.float64), sigma, dsigma


def detector_information(
    estimator: Any,
    store: EventStore,
    theta: Any,
    luminosity: float,
    include_rate: bool = True,
    partition: str | None = "test",
    cuts: Sequence[Callable] = (),
    efficiencies: Sequence[Callable] = (),
    batch_size: int = 100_000,
    mode: str = "information",
    trained_at: Any = None,
    client: Any = None,
) -> FisherInformation:
    r"""The full detector-level information from a neural score estimate over the store's events,

    .. math::

        I_{ij} = L \sum_x w(x|\theta)\, \hat t_i(x)\, \hat t_j(x)
        \;\Big[ + L\,\frac{\partial_i\sigma\,\partial_j\sigma}{\sigma} \text{ with } \texttt{include\_rate}\Big],

    i.e. :math:`L\,\sigma\,E[\hat t\hat t^T]` over the (test-partition) events weighted at theta. A SALLY
    :class:`~columnminer.ml.score.ScoreEstimator` gives :math:`\hat t(x)` at the point it was trained at
    (a warning is logged when ``trained_at`` or the estimator's ``reference_theta`` differs from theta);
    ratio and likelihood estimators give their score at theta. With an
    :class:`~columnminer.ml.ensemble.Ensemble` the information is the mean of the members'
    (``mode="information"``) or that of the mean score (``mode="score"``), the covariance is the one
    between the members and ``members`` holds each member's matrix; with one estimator the covariance is
    the Monte Carlo one, :math:`L^2\sum_x f f^T` plus the propagated rate covariance (their correlation is
    neglected). Events are evaluated chunk by chunk, ``batch_size`` rows at a time.

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> from columnminer.ml.score import ScoreEstimator
        >>> from columnminer._examples import golden_store
        >>> store = golden_store(np.linspace(-1, 1, 8))  # m4l, 1 pb per event and benchmark
        >>> sally = ScoreEstimator(n_hidden=(4,))
        >>> _ = sally.train("sally", x=np.zeros((8, 1)), t_xz=np.zeros((8, 2)), n_epochs=1, progress=False)
        >>> detector_information(sally, store, "sm", 1.0, partition=None).information.shape
        (2, 2)
    """
    if mode not in ("information", "score"):
        raise InferenceError(f"mode must be 'information' or 'score', got {mode!r}")
    if int(batch_size) < 1:
        raise InferenceError(f"batch_size must be positive, got {batch_size}")
    luminosity = _fe.check_luminosity(luminosity)
    members, is_ensemble = _fe.score_estimators(estimator)
    c, dc = _fe.coefficients(store.setup, theta)
    point = _fe.theta_point(store.setup, theta)
    n_obs = len(store.observable_names)
    for member in members:
        if member.n_observables != n_obs or member.n_parameters != dc.shape[0]:
            raise InferenceError(
                f"estimator: trained for {member.n_observables} observables and {member.n_parameters} "
                f"parameters, the store has {n_obs} and the setup {dc.shape[0]}"
            )
    _fe.warn_if_away_from_training(store.setup, members, point, trained_at)
    parts = reduce_chunks(
        store,
        _fe.chunk_scores,
        members,
        point,
        c,
        dc,
        int(batch_size),
        mode == "score",
        partition=partition,
        cuts=cuts,
        efficiencies=efficiencies,
        client=client,
    )
    p = dc.shape[0]
    total = {k: np.sum([r[k] for r in parts], axis=0) for k in parts[0]}
    member_info = luminosity * total["members"]
    rate = np.zeros((p, p))
    rate_cov = np.zeros((p * p, p * p))
    if include_rate:
        terms, keep, jacobian = _fe.ratio_terms([total["sigma"]], total["dsigma"][None], luminosity)
        if keep.all():
            rate = terms[0]
            rate_cov = _fe.ratio_covariance(jacobian, total["gram"][None], c, dc)
        else:
            logger.warning("detector_information: sigma <= 0 at theta, no rate term")
    member_info = member_info + rate
    if is_ensemble:
        info = member_info.mean(axis=0) if mode == "information" else luminosity * total["mean"] + rate
        flat = member_info.reshape(len(members), p * p)
        centred = flat - flat.mean(axis=0)
        covariance = centred.T @ centred / max(len(members) - 1, 1)
        return FisherInformation(
            info,
            covariance.reshape(p, p, p, p),
            _names(store),
            luminosity,
            "detector",
            point,
            members=member_info,
        )
    covariance = luminosity**2 * total["second"] + rate_cov
    return FisherInformation(
        member_info[0], covariance.reshape(p, p, p, p), _names(store), luminosity, "detector", point
    )


def nuisance_constraint_information(n_parameters: int, n_nuisance: int) -> np.ndarray:
    r"""The information of unit Gaussian constraints :math:`\nu_k \sim N(0, 1)` on ``n_nuisance`` nuisance
    parameters placed after ``n_parameters`` parameters of interest: the identity in the nuisance block,
    zeros elsewhere, shape [n_parameters + n_nuisance] * 2. Add it to an information that includes the
    nuisance parameters before profiling them.

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> nuisance_constraint_information(1, 2).tolist()
        [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    for name, value in (("n_parameters", n_parameters), ("n_nuisance", n_nuisance)):
        if not _fe.is_count(value) or value < 0:
            raise InferenceError(f"{name} must be a non-negative integer, got {value!r}")
    out = np.zeros((n_parameters + n_nuisance,) * 2)
    out[n_parameters:, n_parameters:] = np.eye(n_nuisance)
    return out


def _matrix_and_covariance(
    information: Any, remaining: Sequence[int | str], covariance: Any
) -> tuple[np.ndarray, np.ndarray | None, list[int], FisherInformation | None]:
    source = information if isinstance(information, FisherInformation) else None
    matrix = np.asarray(information, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InferenceError(f"information must be a square matrix, got shape {matrix.shape}")
    n = matrix.shape[0]
    if covariance is None and source is not None:
        covariance = source.covariance
    if covariance is not None:
        covariance = np.asarray(covariance, dtype=np.float64)
        if covariance.shape != (n,) * 4:
            raise InferenceError(f"covariance must have shape {(n,) * 4}, got {covariance.shape}")
    names = list(source.parameter_names) if source is not None else []
    indices = []
    for item in remaining:
        if isinstance(item, str) and item in names:
            indices.append(names.index(item))
        elif _fe.is_count(item) and 0 <= item < n:
            indices.append(int(item))
        else:
            raise InferenceError(f"remaining: {item!r} is not a parameter index in [0, {n}) or a name")
    if not indices or len(set(indices)) != len(indices):
        raise InferenceError(f"remaining must list distinct parameters, got {list(remaining)}")
    return matrix, covariance, indices, source


def _transformed(matrix, covariance, indices, source, r, kind):
    """I' = R^T I R with the covariance propagated through the same (linearised) map."""
    new = r.T @ matrix @ r
    new_cov = None
    if covariance is not None:
        new_cov = np.einsum("ka,lb,klmn,mc,nd->abcd", r, r, covariance, r, r, optimize=True)
    if source is None:
        return new, new_cov
    names = tuple(source.parameter_names[i] for i in indices)
    return replace(
        source,
        information=new,
        covariance=new_cov,
        parameter_names=names,
        kind=kind,
        theta=None,
        binned=None,
        members=None,
    )


def project_information(
    information: FisherInformation | np.ndarray,
    remaining: Sequence[int | str],
    covariance: np.ndarray | None = None,
) -> Any:
    r"""Keep only the parameters ``remaining`` (indices, or names of a :class:`FisherInformation`, in their
    new order): :math:`I'_{ab} = I_{r_a r_b}`, the information when the others are known exactly
    (arXiv:1612.05261, appendix A). Returns a :class:`FisherInformation` for one (its covariance
    projected too), else ``(matrix, covariance or None)``.

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> project_information(np.array([[2.0, 1.0], [1.0, 4.0]]), [1])[0].tolist()
        [[4.0]]
    """
    matrix, covariance, indices, source = _matrix_and_covariance(information, remaining, covariance)
    r = np.eye(matrix.shape[0])[:, indices]
    return _transformed(matrix, covariance, indices, source, r, "projected")


def profile_information(
    information: FisherInformation | np.ndarray,
    remaining: Sequence[int | str],
    covariance: np.ndarray | None = None,
) -> Any:
    r"""Profile out every parameter not in ``remaining``: the Schur complement

    .. math::

        I'_{rr} = I_{rr} - I_{rn} I_{nn}^{-1} I_{nr} = R^T I R, \qquad R = E_r - E_n I_{nn}^{-1} I_{nr},

    the information on the remaining parameters when the others are unknown (arXiv:1612.05261, appendix
    A.4). Its differential is :math:`dI' = R^T\, dI\, R`, so the covariance propagates exactly to first
    order, :math:`\mathrm{Cov}[I']_{abcd} = R_{ka} R_{lb} R_{mc} R_{nd}\,\mathrm{Cov}[I]_{klmn}`.
    Returns a :class:`FisherInformation` for one, else ``(matrix, covariance or None)``.

    References: Brehmer, Cranmer, Kling, Plehn, arXiv:1612.05261; Brehmer, Kling, Espejo, Cranmer
    (MadMiner), arXiv:1907.10621.

    Example:
        >>> profile_information(np.array([[2.0, 1.0], [1.0, 4.0]]), [0])[0].tolist()
        [[1.75]]
    """
    matrix, covariance, indices, source = _matrix_and_covariance(information, remaining, covariance)
    n = matrix.shape[0]
    others = [i for i in range(n) if i not in indices]
    r = np.eye(n)[:, indices]
    if others:
        i_nn = matrix[np.ix_(others, others)]
        i_nr = matrix[np.ix_(others, indices)]
        try:
            r[others, :] = -np.linalg.solve(i_nn, i_nr)
        except np.linalg.LinAlgError as err:
            raise InferenceError(
                f"information: the block of the profiled parameters {others} is singular ({err})"
            ) from err
    return _transformed(matrix, covariance, indices, source, r, "profiled")
