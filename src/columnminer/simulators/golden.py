r"""The golden channel H -> Z Z(*) -> e+ e- mu+ mu-: an exact tree-level reference process with LHE output.

Physics model (see :mod:`columnminer.simulators._amplitudes` for every convention):

- the general spin-0 HVV vertex of Bolognesi et al. (arXiv:1208.4018) / Gao et al. (arXiv:1001.3396),
  normalised so that the SM is :math:`a_1 = 1, a_2 = a_3 = 0` (their couplings divided by their SM
  :math:`a_1 = 2`); the parameters are :math:`\theta = (a_2, a_3)` with :math:`a_1 = 1` fixed, so
  :math:`|M|^2 = c^T Q(z)\, c` with :math:`c = (1, a_2, a_3)` is exactly quadratic in theta;
- Z propagators with a fixed Breit-Wigner width, left/right Z-lepton couplings, massless leptons, full spin
  correlations, no virtual photon and no e/mu interference (2e2mu has none); pair masses above
  ``m_ll_min`` (12 GeV by default, the usual analysis cut, which also keeps the neglected photon pole out);
- a Higgs of fixed mass 125 GeV produced with a theta-independent, LHC-like transverse momentum and
  rapidity spectrum and one recoiling gluon (:func:`~columnminer.simulators._phasespace.lab_kinematics`);
- event weights :math:`w(z|\theta) = \sigma_{ggH} / \Gamma_H \cdot |M|^2 / (2 m_H)` per unit of phase space
  (pb), i.e. :math:`\sigma(\theta) = \sigma_{ggH}\, \Gamma_{4l}(\theta) / \Gamma_H` with the production cross
  section (48.58 pb, 13 TeV gluon fusion) and total width (4.088 MeV) held fixed.

The cross section is a quadratic form too, :math:`\sigma(\theta) = c^T S c`, with S the generator's own Monte
Carlo integral; the exact parton-level density is :math:`p(z|\theta) = |M(z|\theta)|^2 / (2 m_H\, c^T
\Gamma c)` with respect to :math:`d\Phi_4` (times the theta-independent production spectrum).

Systematics (simplified): ``simulate_golden(..., scale_variations=(0.5, 1.0, 2.0))`` adds to both LHE files
MadGraph-systematics-style scale weights, a ``<weightgroup name="Central scale variation"
combine="envelope">`` holding the nominal weight (``MUR="1.0" MUF="1.0"``, id ``mur1_muf1``) and every other
(muR, muF) = (k_R, k_F) mu0 combination of the factors (ids like ``mur0p5_muf2``), so that
:func:`columnminer.io.lhe.systematic_weights` finds a nominal and 8 scale variations and ``Systematic(...,
"scale", scale="mu" | "mur" | "muf")`` nuisances can be built; a ``norm`` systematic needs no weights. Each
varied weight is the event's weight at the sampling benchmark times a theta-independent factor of the
four-lepton transverse momentum from :mod:`columnminer.simulators._scales` (a documented model, not a
calculation): for the signal :math:`[\alpha_s(k_R m_H)/\alpha_s(m_H)]^{2 + h(p_T)}` (one-loop running,
about +22 % / -17 % at low p_T, +29 % / -20 % averaged) times a +-7 % factorisation-scale shape
:math:`k_F^{0.1 (2h - 1)}`, :math:`h = p_T^2/(p_T^2 + (15\ \mathrm{GeV})^2)`; for the q qbar -> ZZ
background, alpha_s-independent at LO, only a +-3.5 % shape :math:`k_F^{0.05 (2h - 1)}`. The benchmark
weights stay as they are, in the ``mg_reweighting`` group; without ``scale_variations`` the files are
unchanged.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import SimulationError
from ..setup import AnalysisSetup
from ._amplitudes import ElectroweakParameters, quadratic_form
from ._background import background_events
from ._events import (
    BACKGROUND_LEPTONS,
    BACKGROUND_RECORD,
    SIGNAL_LEPTONS,
    SIGNAL_RECORD,
    param_card,
    reweight_descriptions,
    scale_weight_group,
    unweight,
    write_events,
)
from ._phasespace import boost, lab_kinematics, sample_decay
from ._scales import GGH_SCALES, QQZZ_SCALES, scale_points, scale_weights

__all__ = [
    "GoldenChannel",
    "GoldenSample",
    "background_events",
    "golden_setup",
    "simulate_golden",
]

logger = logging.getLogger(__name__)


def golden_setup(
    parameter_range: tuple[float, float] = (-1.0, 1.0), seed: int = 0, n_trials: int = 100
) -> AnalysisSetup:
    """The canonical setup of the golden channel: theta = (a2, a3), LHA block ``anomalous_hvv`` ids 2, 3.

    Benchmarks: ``sm`` (a2 = a3 = 0) plus five ``morphing_basis_vector_<i>`` points chosen to keep the
    morphing weights of the six quadratic components small over ``parameter_range`` (both parameters).

    The morphing basis search (about 0.2 s) runs once per argument set; every call returns a fresh copy.

    Example:
        >>> golden_setup().benchmark_names[:2]
        ['sm', 'morphing_basis_vector_0']
    """
    args = (tuple(parameter_range), seed, n_trials)
    try:  # the types are part of the key: (-1, 1) and (-1.0, 1.0) are stored as given
        key = (args, tuple(type(x) for x in (*args[0], seed, n_trials)))
        hash(key)
    except TypeError:  # unhashable arguments: built afresh
        return _build_golden_setup(*args)
    return copy.deepcopy(_cached_golden_setup(key))


@functools.lru_cache(maxsize=8)
def _cached_golden_setup(key: tuple) -> AnalysisSetup:
    """:func:`golden_setup` built once per argument set and types (callers receive deep copies)."""
    return _build_golden_setup(*key[0])


def _build_golden_setup(parameter_range: tuple, seed: int, n_trials: int) -> AnalysisSetup:
    """The setup of :func:`golden_setup`, with its morphing basis search."""
    setup = AnalysisSetup()
    for lha_id, name in ((2, "a2"), (3, "a3")):
        setup.add_parameter(
            "anomalous_hvv", lha_id, name=name, morphing_max_power=2, parameter_range=tuple(parameter_range)
        )
    setup.add_benchmark({"a2": 0.0, "a3": 0.0}, name="sm")
    setup.set_morphing(max_overall_power=2, seed=seed, n_trials=n_trials)
    return setup


@dataclass
class GoldenSample:
    """Unweighted golden-channel events with their weights at every benchmark and their exact matrix elements.

    Attributes:
        momenta: [n, 10, 4] lab-frame record (g, g, H, Z, Z, e-, e+, mu-, mu+, g), (E, px, py, pz) in GeV.
        weights: benchmark name -> [n] weights in pb (``event_norm = average``: each averages to sigma).
        weight_matrices: [n, 3, 3] per-event quadratic forms W(z) with w(z|theta) = c^T W c (pb per unit of
            sampled phase space; only ratios between thetas matter per event).
        me_matrices: [n, 3, 3] the :math:`|M|^2` quadratic forms Q(z) (GeV^-2).
        cross_section_matrix: [3, 3] S (pb) with sigma(theta) = c^T S c, from all trial points.
        cross_section_covariance: [6, 6] Monte Carlo covariance of the upper-triangle entries of S (pb^2).
        sampling_benchmark, sampling_theta: where the events were unweighted.
        n_trials, efficiency: trial points drawn and the unweighting efficiency.

    Example:
        >>> sample = GoldenChannel().generate(golden_setup(n_trials=10), 50, seed=1)
        >>> sample.momenta.shape, sample.lepton_momenta.shape, sample.sampling_benchmark
        ((50, 10, 4), (50, 4, 4), 'sm')
        >>> bool(sample.cross_section([0.0, 0.0]) > 0)
        True
    """

    momenta: np.ndarray
    weights: dict[str, np.ndarray]
    weight_matrices: np.ndarray
    me_matrices: np.ndarray
    cross_section_matrix: np.ndarray
    cross_section_covariance: np.ndarray
    sampling_benchmark: str
    sampling_theta: np.ndarray
    n_trials: int
    efficiency: float
    channel: GoldenChannel = field(repr=False)

    @property
    def n_events(self) -> int:
        """Number of events."""
        return int(self.momenta.shape[0])

    @property
    def lepton_momenta(self) -> np.ndarray:
        """[n, 4, 4] (e-, e+, mu-, mu+) lab momenta."""
        return self.momenta[:, SIGNAL_LEPTONS]

    def cross_section(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        r""":math:`\sigma(\theta) = c^T S c` in pb for thetas [..., 2]."""
        c = self.channel.couplings(thetas)
        return np.einsum("...i,ij,...j->...", c, self.cross_section_matrix, c)

    def cross_section_error(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        """Monte Carlo standard error of :meth:`cross_section` (pb)."""
        c = self.channel.couplings(thetas)
        iu = np.triu_indices(3)
        grad = (c[..., :, None] * c[..., None, :] * (2.0 - np.eye(3)))[..., iu[0], iu[1]]
        return np.sqrt(np.einsum("...a,ab,...b->...", grad, self.cross_section_covariance, grad))

    def log_p_z(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        """Exact log p(z|theta) of these events for thetas [n_thetas, 2] -> [n_thetas, n_events]; see
        :meth:`GoldenChannel.log_p_z`."""
        return self.channel.log_p_z(self.me_matrices, thetas, self.cross_section_matrix)


class GoldenChannel:
    r"""The H -> Z Z(*) -> 2e2mu generator: amplitudes, integration, unweighting, exact likelihoods.

    Args:
        ew: masses, widths and couplings (GeV); default :class:`ElectroweakParameters` (m_H = 125 GeV).
        m_ll_min: lower cut on both lepton-pair masses (GeV).
        sigma_production_pb: Higgs production cross section (pb), theta-independent.
        gamma_h_total: total Higgs width (GeV), held fixed (the signal strength follows Gamma_4l(theta)).
        a1: the fixed SM-like coupling.

    Example:
        >>> ch = GoldenChannel()
        >>> s = ch.generate(golden_setup(n_trials=10), 200, seed=1)
        >>> s.n_events, sorted(s.weights)[:1]
        (200, ['morphing_basis_vector_0'])
    """

    def __init__(
        self,
        ew: ElectroweakParameters | None = None,
        m_ll_min: float = 12.0,
        sigma_production_pb: float = 48.58,
        gamma_h_total: float = 4.088e-3,
        a1: float = 1.0,
    ) -> None:
        self.ew = ew or ElectroweakParameters()
        if not 0.0 < m_ll_min < self.ew.m_h / 2:
            raise SimulationError(f"m_ll_min must lie in (0, m_H/2) GeV, got {m_ll_min}")
        self.m_ll_min = float(m_ll_min)
        self.sigma_production_pb = float(sigma_production_pb)
        self.gamma_h_total = float(gamma_h_total)
        self.a1 = float(a1)

    # -- couplings and matrix elements -----------------------------------------------------------------
    def couplings(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        """c = (a1, a2, a3) for thetas [..., 2] = (a2, a3), shape [..., 3]."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if thetas.ndim == 0 or thetas.shape[-1] != 2 or not np.isfinite(thetas).all():
            raise SimulationError(
                f"thetas must be finite with shape [..., 2] = (a2, a3), got shape {thetas.shape}"
            )
        return np.concatenate([np.full((*thetas.shape[:-1], 1), self.a1), thetas], axis=-1)

    def me_matrices(self, lepton_momenta: np.ndarray) -> np.ndarray:
        """Q(z) [n, 3, 3] with :math:`|M|^2 = c^T Q c` from (e-, e+, mu-, mu+) momenta [n, 4, 4] in any frame."""
        return quadratic_form(lepton_momenta, self.ew)

    def squared_me(self, lepton_momenta: np.ndarray, thetas: np.ndarray | Sequence) -> np.ndarray:
        """:math:`|M|^2` for thetas [n_thetas, 2] -> [n_thetas, n_events]."""
        q = self.me_matrices(lepton_momenta)
        c = self.couplings(np.atleast_2d(thetas))
        return np.einsum("ti,nij,tj->tn", c, q, c)

    @property
    def _weight_factor(self) -> float:
        """sigma_ggH / Gamma_H / (2 m_H): converts |M|^2 times dPhi_4 into pb."""
        return self.sigma_production_pb / self.gamma_h_total / (2.0 * self.ew.m_h)

    def log_p_z(
        self, me_matrices: np.ndarray, thetas: np.ndarray | Sequence, cross_section_matrix: np.ndarray
    ) -> np.ndarray:
        r"""Exact parton-level :math:`\log p(z|\theta) = \log c^T Q(z) c - \log(2 m_H\, c^T \Gamma c)`.

        The density is with respect to the Lorentz-invariant :math:`d\Phi_4` (GeV^-4 units dropped) times
        the theta-independent production spectrum; :math:`\Gamma = S\,\Gamma_H/\sigma_{ggH}` is the width
        matrix, obtained from the cross-section matrix S (pb) of a sample or of :meth:`integrate`.
        Returns [n_thetas, n_events]; differences between thetas are the exact log likelihood ratios
        :math:`\log r(x, z|\theta_0, \theta_1)`.
        """
        c = self.couplings(np.atleast_2d(thetas))
        me = np.einsum("ti,nij,tj->tn", c, me_matrices, c)
        width = (
            np.einsum("ti,ij,tj->t", c, cross_section_matrix, c)
            / self.sigma_production_pb
            * self.gamma_h_total
        )
        return np.log(me) - np.log(2.0 * self.ew.m_h * width)[:, None]

    def joint_score(
        self, me_matrices: np.ndarray, theta: np.ndarray | Sequence, cross_section_matrix: np.ndarray
    ) -> np.ndarray:
        r"""Exact score :math:`t(z|\theta) = \nabla_\theta \log p(z|\theta)
        = 2 (Q c)_{a_2, a_3} / c^T Q c - 2 (S c)_{a_2, a_3} / c^T S c`, shape [n_events, 2]."""
        c = self.couplings(np.asarray(theta, dtype=np.float64).reshape(2))
        qc = me_matrices @ c
        sc = cross_section_matrix @ c
        return 2.0 * qc[:, 1:] / (qc @ c)[:, None] - 2.0 * sc[1:] / (sc @ c)

    # -- integration and generation --------------------------------------------------------------------
    def _trial(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n trial decays: rest-frame momenta [n, 4, 4], Q [n, 3, 3] and W = factor * ps_weight * Q (pb)."""
        decay = sample_decay(rng, n, self.ew.m_h, self.ew.m_z, self.ew.gamma_z, self.m_ll_min)
        q = self.me_matrices(decay.momenta)
        w = q * (self._weight_factor * decay.phase_space_weight)[:, None, None]
        return decay.momenta, q, w

    def integrate(
        self, n_points: int = 1_000_000, seed: int | None = 0, chunk_size: int = 100_000
    ) -> np.ndarray:
        r"""The cross-section matrix S (pb), :math:`\sigma(\theta) = c^T S c`, by plain Monte Carlo over
        ``n_points`` phase-space points (statistical precision ~0.1 % at 10^6).

        Example:
            >>> s = GoldenChannel().integrate(20_000, seed=1)
            >>> bool(0.002 < s[0, 0] < 0.004)
            True
        """
        rng = np.random.default_rng(seed)
        total = np.zeros((3, 3))
        done = 0
        while done < n_points:
            k = min(chunk_size, n_points - done)
            total += self._trial(rng, k)[2].sum(axis=0)
            done += k
        return total / n_points

    def generate(
        self,
        setup: AnalysisSetup,
        n_events: int,
        sampling_benchmark: str = "sm",
        seed: int | None = 0,
        chunk_size: int = 131_072,
    ) -> GoldenSample:
        r"""Unweighted events at ``sampling_benchmark`` with their weights at every benchmark of ``setup``.

        Trial points are unweighted by acceptance-rejection against the running maximum of
        :math:`w(z|\theta_s)`; when a later chunk raises the maximum, the events accepted so far are thinned
        with probability :math:`w_{max}^{old}/w_{max}^{new}`, so the accepted events are exact draws from
        :math:`p(z|\theta_s)`. As in MadGraph's reweighting, the weight at benchmark b is
        :math:`w_b = \sigma(\theta_s)\, |M(z|\theta_b)|^2 / |M(z|\theta_s)|^2` (pb).
        """
        n_events = int(n_events)
        theta_s = self._sampling_theta(setup, n_events, sampling_benchmark)
        benchmarks = setup.parameter_space.benchmarks
        bench_names = [b.name for b in benchmarks.values() if not b.is_nuisance]
        thetas = setup.parameter_space.benchmark_array(bench_names)
        c_s = self.couplings(theta_s)
        rng = np.random.default_rng(seed)

        iu = np.triu_indices(3)
        stats = {"sum_w": np.zeros((3, 3)), "sum_outer": np.zeros((6, 6))}
        start = time.perf_counter()

        def trial(k: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
            momenta, q, w = self._trial(rng, k)
            stats["sum_w"] += w.sum(axis=0)
            flat = w[:, iu[0], iu[1]]
            stats["sum_outer"] += flat.T @ flat
            ws = np.einsum("i,nij,j->n", c_s, w, c_s)
            return (momenta, q, w, ws), ws

        (rest_momenta, q, w, ws), n_trials, n_accepted = unweight(rng, trial, n_events, chunk_size)
        sum_w, sum_outer = stats["sum_w"], stats["sum_outer"]
        cross_section_matrix = sum_w / n_trials
        mean_flat = cross_section_matrix[iu]
        covariance = (sum_outer / n_trials - np.outer(mean_flat, mean_flat)) / n_trials
        sigma_s = float(c_s @ cross_section_matrix @ c_s)
        couplings = self.couplings(thetas)
        per_benchmark = np.einsum("bi,nij,bj->bn", couplings, w, couplings) / ws * sigma_s
        weights = {name: per_benchmark[b] for b, name in enumerate(bench_names)}
        momenta = self._to_lab(rng, rest_momenta)
        logger.info(
            "golden channel: %d events from %d trials (efficiency %.3f) at %s, sigma = %.5g pb, %.2f s",
            n_events,
            n_trials,
            n_accepted / n_trials,
            sampling_benchmark,
            sigma_s,
            time.perf_counter() - start,
        )
        return GoldenSample(
            momenta=momenta,
            weights=weights,
            weight_matrices=w,
            me_matrices=q,
            cross_section_matrix=cross_section_matrix,
            cross_section_covariance=covariance,
            sampling_benchmark=sampling_benchmark,
            sampling_theta=theta_s,
            n_trials=n_trials,
            efficiency=n_accepted / n_trials,
            channel=self,
        )

    @staticmethod
    def _sampling_theta(setup: AnalysisSetup, n_events: int, sampling_benchmark: str) -> np.ndarray:
        """Check the arguments of :meth:`generate`; returns theta = (a2, a3) of ``sampling_benchmark``."""
        names = list(setup.parameter_space.parameter_names)
        if names != ["a2", "a3"]:
            raise SimulationError(f"the golden channel needs parameters ['a2', 'a3'], the setup has {names}")
        if n_events < 1:
            raise SimulationError(f"n_events must be positive, got {n_events}")
        benchmarks = setup.parameter_space.benchmarks
        if sampling_benchmark not in benchmarks:
            raise SimulationError(
                f"unknown sampling benchmark {sampling_benchmark!r}; the setup has {list(benchmarks)}"
            )
        return benchmarks[sampling_benchmark].as_array(names)

    def _to_lab(self, rng: np.random.Generator, rest_momenta: np.ndarray) -> np.ndarray:
        """Boost rest-frame decays to the lab and build the full particle record [n, 10, 4]."""
        n = rest_momenta.shape[0]
        higgs, recoil, parton1, parton2 = lab_kinematics(rng, n, self.ew.m_h)
        beta = higgs[:, 1:] / higgs[:, :1]
        leptons = boost(rest_momenta, beta[:, None, :])
        out = np.empty((n, 10, 4))
        out[:, 0], out[:, 1], out[:, 2] = parton1, parton2, higgs
        out[:, 3] = leptons[:, 0] + leptons[:, 1]
        out[:, 4] = leptons[:, 2] + leptons[:, 3]
        out[:, SIGNAL_LEPTONS] = leptons
        out[:, 9] = recoil
        return out


def simulate_golden(
    setup: AnalysisSetup | None,
    n_events: int,
    out_dir: str | os.PathLike,
    sampling_benchmark: str = "sm",
    seed: int | None = 0,
    n_background: int | None = None,
    background_cross_section_pb: float = 1.0e-3,
    channel: GoldenChannel | None = None,
    gzip: bool = True,
    scale_variations: Sequence[float] | None = None,
    parallel_background: bool = True,
) -> dict[str, Any]:
    """Generate signal and background, write both as MadGraph-style LHE plus the setup JSON; one call.

    Writes ``<out_dir>/signal.lhe.gz`` (weights at every benchmark), ``background.lhe.gz`` (the same
    weight at every benchmark, theta-independent), ``setup.json`` (:func:`golden_setup` when ``setup`` is
    None) and ``summary.json`` (cross sections, cross-section matrix, efficiency, seeds). Returns the
    summary dictionary (paths as strings).

    ``scale_variations`` (e.g. ``(0.5, 1.0, 2.0)``; default None: no scale weights, files as before) adds
    the "Central scale variation" weight group of the module docstring ("Systematics (simplified)") to
    both files: the nominal plus every other (k_R, k_F) combination (1 always among the factors), 9 weights
    for (0.5, 1, 2); the summary then lists the points and the varied cross sections under
    ``scale_variations``.

    ``parallel_background`` (default True) generates and writes the background in a second thread while the
    signal is generated and written (the files are independent, each from its own random stream: the bytes
    are the same either way); False runs the two one after the other.

    Example:
        >>> import tempfile
        >>> info = simulate_golden(None, 100, tempfile.mkdtemp(), n_background=50)
        >>> sorted(info["files"])
        ['background', 'setup', 'signal', 'summary']
        >>> info = simulate_golden(None, 100, tempfile.mkdtemp(), n_background=0, scale_variations=(0.5, 1, 2))
        >>> len(info["scale_variations"]["points"])
        9
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    setup = setup if setup is not None else golden_setup()
    channel = channel or GoldenChannel()
    suffix = ".lhe.gz" if gzip else ".lhe"
    if scale_variations is not None:
        scale_points(scale_variations)  # raises on bad factors before anything is generated
    n_background = n_events if n_background is None else int(n_background)
    bkg_seed = None if seed is None else seed + 1_000_003
    theta_s = channel._sampling_theta(setup, int(n_events), sampling_benchmark)  # raises before any work
    writer = _LHEFiles(out, suffix, param_card(setup, theta_s, channel.ew), setup, scale_variations)
    # the background (its own random stream) is generated and written by a second thread while the signal
    # is generated and written here: the two files are independent, so their bytes do not change
    with ThreadPoolExecutor(1, thread_name_prefix="golden-background") as pool:
        background = None
        args = (n_background, bkg_seed, background_cross_section_pb, channel.ew)
        if n_background > 0 and parallel_background:
            background = pool.submit(writer.background_file, *args)
        start = time.perf_counter()
        sample = channel.generate(setup, n_events, sampling_benchmark, seed=seed)
        t_generate = time.perf_counter() - start
        sigma = float(sample.cross_section(sample.sampling_theta))
        sigma_error = float(sample.cross_section_error(sample.sampling_theta))
        start = time.perf_counter()
        files, scale_summary = writer.signal(sample, channel, sigma, sigma_error, seed)
        background_sigma = None
        if n_background > 0:
            result = background.result() if background is not None else writer.background_file(*args)
            files["background"], background_sigma, background_scales = result
            if background_scales is not None:
                scale_summary["background_cross_section_pb"] = background_scales
        t_write = time.perf_counter() - start
    files["setup"] = str(setup.save(out / "setup.json"))
    summary = {
        "generator": f"columnminer {__version__} golden channel",
        "n_events": int(n_events),
        "n_background": int(n_background),
        "sampling_benchmark": sampling_benchmark,
        "seed": seed,
        "cross_section_pb": {name: float(np.mean(w)) for name, w in sample.weights.items()},
        "sampling_cross_section_pb": sigma,
        "sampling_cross_section_error_pb": sigma_error,
        "cross_section_matrix_pb": sample.cross_section_matrix.tolist(),
        "couplings": f"c = (a1, a2, a3), a1 = {channel.a1:g} fixed; sigma(theta) = c^T S c",
        "background_cross_section_pb": background_sigma,
        "unweighting_efficiency": sample.efficiency,
        "n_trials": sample.n_trials,
        "seconds_generate": t_generate,
        "seconds_write": t_write,
    }
    if scale_summary:
        summary["scale_variations"] = scale_summary
    summary_path = out / "summary.json"
    summary["files"] = {**files, "summary": str(summary_path)}
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    if not math.isfinite(sigma):
        raise SimulationError(f"the golden-channel cross section is not finite ({sigma})")
    return summary


@dataclass
class _LHEFiles:
    """Writes the signal and background LHE files of :func:`simulate_golden` (shared card, reweighting
    texts and scale-variation points)."""

    out: Path
    suffix: str
    card: str
    setup: AnalysisSetup
    #: the scale factors of the "Central scale variation" weights (None: no scale weights)
    variations: Sequence[float] | None

    @property
    def points(self) -> list[tuple[float, float]] | None:
        return None if self.variations is None else scale_points(self.variations)

    @property
    def groups(self) -> list | None:
        return None if self.points is None else [scale_weight_group(self.points)]

    def signal(
        self, sample: GoldenSample, channel: GoldenChannel, sigma: float, sigma_error: float, seed: int | None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Write the signal file: ({"signal": path}, the scale-variation summary, {} without variations)."""
        weights = dict(sample.weights)
        scale_summary: dict[str, Any] = {}
        if self.points is not None:
            higgs_pt = np.hypot(sample.momenta[:, 2, 1], sample.momenta[:, 2, 2])
            reference = sample.weights[sample.sampling_benchmark]
            varied = scale_weights(reference, higgs_pt, self.variations, GGH_SCALES)
            weights = _add_weights(weights, varied)
            scale_summary = {
                "points": [list(p) for p in self.points],
                "weight_ids": list(varied),
                "signal_cross_section_pb": {wid: float(np.mean(w)) for wid, w in varied.items()},
            }
        path = write_events(
            self.out / f"signal{self.suffix}",
            sample.momenta,
            SIGNAL_RECORD,
            weights,
            sigma,
            sigma_error,
            np.full(sample.n_events, channel.ew.m_h),
            seed,
            self.card,
            reweight_descriptions(self.setup),
            f"columnminer {__version__}: g g > h > z z > e- e+ mu- mu+ (built-in golden channel), "
            f"sampled at {sample.sampling_benchmark}",
            1,
            self.groups,
        )
        return {"signal": str(path)}, scale_summary

    def background_file(
        self, n_events: int, seed: int | None, cross_section_pb: float, ew: ElectroweakParameters
    ) -> tuple[str, float, dict[str, float] | None]:
        """Generate (:func:`background_events`) and write the background file: (path, its cross section in
        pb, the cross sections of its scale weights or None without scale variations)."""
        momenta, sigma = background_events(n_events, seed=seed, cross_section_pb=cross_section_pb, ew=ew)
        path, scales = self.background(momenta, sigma, seed)
        return path, sigma, scales

    def background(
        self, momenta: np.ndarray, sigma: float, seed: int | None
    ) -> tuple[str, dict[str, float] | None]:
        """Write the background file (weight ``sigma`` at every physics benchmark); returns its path and the
        cross sections of its scale weights (pb; None without scale variations)."""
        n = momenta.shape[0]
        four_lepton = momenta[:, BACKGROUND_LEPTONS].sum(axis=1)
        m4l = np.sqrt(np.maximum(four_lepton[:, 0] ** 2 - np.sum(four_lepton[:, 1:] ** 2, axis=1), 0.0))
        names = [b.name for b in self.setup.parameter_space.benchmarks.values() if not b.is_nuisance]
        weights = {name: np.full(n, sigma) for name in names}
        scales = None
        if self.points is not None:
            pt = np.hypot(four_lepton[:, 1], four_lepton[:, 2])
            varied = scale_weights(np.full(n, sigma), pt, self.variations, QQZZ_SCALES)
            weights = _add_weights(weights, varied)
            scales = {wid: float(np.mean(w)) for wid, w in varied.items()}
        path = write_events(
            self.out / f"background{self.suffix}",
            momenta,
            BACKGROUND_RECORD,
            weights,
            sigma,
            0.0,
            m4l,
            seed,
            self.card,
            reweight_descriptions(self.setup),
            f"columnminer {__version__}: u u~ > z z > e- e+ mu- mu+ (simplified continuum background)",
            2,
            self.groups,
        )
        return str(path), scales


def _add_weights(weights: dict[str, np.ndarray], extra: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``weights`` followed by ``extra``; an id in both is an error (a benchmark named like a scale weight)."""
    clash = sorted(set(weights) & set(extra))
    if clash:
        raise SimulationError(f"benchmark names {clash} clash with the ids of the scale-variation weights")
    return {**weights, **extra}
