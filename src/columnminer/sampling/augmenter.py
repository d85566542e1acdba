r"""SampleAugmenter: unweighted training samples with joint likelihood ratios and joint scores, chunkwise.

Every sample kind reduces to a list of *draw points* d: the parameter point theta_d the events are drawn
from, the number of samples n_d, and the pair (theta0_d, theta1_d) at which the joint quantities are
evaluated. Unweighting runs in two passes over the store's chunks:

1. per chunk j and draw point d: the clipped cross section :math:`s_{jd} = \sum_{z \in j} \max(w(z|\theta_d), 0)`
   (over the partition, and the events generated at the benchmark closest to theta_d plus background when
   ``sample_only_from_closest_benchmark``), and :math:`\sum w^2`, max w for the effective number of events;
   per chunk the benchmark weight sums :math:`\sum_z w_b(z)` over the partition, which give
   :math:`\sigma(\theta)` and :math:`\nabla\sigma(\theta)` at every draw point (no separate pass);
2. the client splits n_d over chunks, :math:`(n_{jd})_j \sim \mathrm{Multinomial}(n_d, s_{\cdot d} / \sum_j s_{jd})`,
   and every chunk draws its n_jd events with replacement with probabilities proportional to
   :math:`\max(w(z|\theta_d), 0)` using a generator seeded by (seed, chunk), then computes
   :math:`r(x,z|\theta_0,\theta_1) = [w(z|\theta_0)/\sigma(\theta_0)] / [w(z|\theta_1)/\sigma(\theta_1)]` and
   :math:`t(x,z|\theta) = \nabla w(z|\theta)/w(z|\theta) - \nabla\sigma(\theta)/\sigma(\theta)` for its rows.

Without a distributed client, each pass runs on this process's threads, which take the chunks one at a time
(:mod:`columnminer.sampling._runners`); before them, one pass over the int16 ``sampled_from`` column finds the
benchmarks events were generated at. For a store whose columns fit in 256 MB each chunk is read once and pass
2 reuses pass 1's columns, partition factors and, for a single draw point (SM samples), its clipped weights; a
larger store is read again in pass 2, which reuses only pass 1's closest-benchmark and partition factors (one
byte per event), except that for a sample of one draw point (SM samples) pass 1 already draws the rows pass 2
will most likely draw (the first uniforms of each chunk's generator) with their observables and weights, so
pass 2 reads only the chunks that draw more. Each chunk's drawn events go straight to their places in the
shuffled sample, in the thread that drew them, so the calling thread only plans and waits. On a distributed
client each pass is one task per chunk that reads the chunk's columns itself
(:func:`~columnminer.store_chunks.map_chunks`). The sample is the same bit for bit every way.

Both passes work on the *distinct* draw points (the y = 1 points of a ratio sample against one theta1 are one
point) with cache-sized products :math:`W_\mathrm{tile} C^T` of all of them at once
(:mod:`columnminer.sampling._draws`): pass 1 keeps the clipped sums per block of 64 rows, and pass 2 finds
each draw's block from them and evaluates only that block (or, for a point with many draws in the chunk, the
whole chunk once). The result depends only on the seed, not on the number of workers; memory is a few chunks
per worker, the block sums (:math:`8 \cdot n_\mathrm{points} \cdot n_\mathrm{events} / 64` bytes, at most 64
MB: the blocks grow beyond that), for a store read twice one byte per event and closest-benchmark key, plus
the sample itself. Reference: Brehmer, Kling, Espejo, Cranmer,
"MadMiner", arXiv:1907.10621.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..display import array_summary, html_summary, text_summary
from ..errors import MorphingError
from ..io.store import EventStore
from ..weights import (
    closest_benchmark,
    event_weight_gradients_at,
    event_weights_at,
    ratio_from_weights,
    score_from_weights,
    theta_coefficients,
    theta_gradient_coefficients,
    weight_moments,
)
from ._draws import (
    DrawPoints,
    coarse_rows_for,
    draw_points,
)
from ._nuisance_terms import nuisance_model_for, sigma_terms
from ._pass_kernels import (
    Plan,
    SampleSink,
    benchmark_bincount,
    benchmark_counts,
    chunk_draws,
    chunk_totals,
    covered_draws,
)
from ._runners import ChunkPasses, passes_for
from .parameters import NuisanceSampler, ThetaSampler, nominal_nuisances

__all__ = ["AugmentedSample", "SampleAugmenter"]

logger = logging.getLogger(__name__)


@dataclass
class AugmentedSample:
    """An augmented sample: ``arrays`` (x, theta0, theta1, y, r_xz, t_xz0, t_xz1 as the kind requires), and
    per draw point the effective number of events :math:`(\\sum w)^2 / \\sum w^2` and largest weight share.

    Example:
        >>> sample = AugmentedSample("s", {"x": np.zeros((3, 1))}, np.array([3.0]), np.array([0.5]))
        >>> sample["x"].shape, sample.n_effective.tolist()
        ((3, 1), [3.0])
    """

    name: str
    arrays: dict[str, np.ndarray]
    n_effective: np.ndarray
    max_weight_fraction: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def _summary_rows(self) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = [("kind", self.attrs.get("kind", "-"))]
        rows += [(key, array_summary(values)) for key, values in self.arrays.items()]
        if np.size(self.n_effective):
            rows.append(("effective events per draw point", f"min {np.min(self.n_effective):.4g}"))
        return rows

    def __repr__(self) -> str:
        return text_summary(f"AugmentedSample {self.name!r}", self._summary_rows())

    def _repr_html_(self) -> str:
        return html_summary(f"AugmentedSample {self.name!r}", self._summary_rows())


def _covered(per_chunk: list, kept: list | None) -> list[int]:
    """Chunks whose pass-2 count (one draw point) the rows drawn ahead in pass 1 cover."""
    if kept is None:
        return []
    return [
        j
        for j, args in enumerate(per_chunk)
        if args is not None and kept[j] is not None and args[0][0] <= len(kept[j][0])
    ]


def _joint_names(want: set[str]) -> list[str]:
    """The joint quantities of a sample, in the order of its arrays."""
    return [key for key in ("r_xz", "t_xz0", "t_xz1") if key in want]


class SampleAugmenter:
    r"""Draws augmented training samples from an :class:`~columnminer.io.store.EventStore`.

    Every method takes ``n_samples``, ``partition`` ("train", "validation", "test" or None for all events),
    ``sample_only_from_closest_benchmark`` (default True, as in MadMiner: draw at theta only from events
    generated at the benchmark closest to theta, plus background), ``seed``, and ``name``: the sample is
    written to ``samples/<name>`` of the store (``write=False`` to skip) and returned as an
    :class:`AugmentedSample`. Work runs on this process's threads (dask's ``num_workers``, else one per
    core) or the given / active distributed client.

    Nuisance parameters (a setup with systematics, a store with ``nuisance_weights``): ``nu0`` / ``nu1``
    (:func:`~columnminer.sampling.nominal_nuisances`, :func:`~columnminer.sampling.iid_nuisances`,
    :func:`~columnminer.sampling.fixed_nuisances`) give the nuisance points the events are drawn at and the
    joint quantities are evaluated at, paired with the parameter points like theta0 with theta1;
    ``nuisance_score`` (True, False or "auto": when the store has nuisance columns) appends the nuisance
    components :math:`t_\nu = a(z) + 2b(z)\nu - \nabla_\nu\sigma/\sigma` to ``t_xz0`` / ``t_xz1``
    (physics parameters first, then the setup's nuisance parameters), as SALLY with profiled nuisances
    needs. With nuisances, :math:`w(z|\theta,\nu) = w(z|\theta)\exp(a(z)\cdot\nu + b(z)\cdot\nu^2)` and
    :math:`\sigma(\theta,\nu)` replace :math:`w(z|\theta)`, :math:`\sigma(\theta)` everywhere, and the sample
    has ``nu0`` (and ``nu1``) arrays [n, N].

    Example:
        >>> import tempfile
        >>> from columnminer.demo import golden_channel_setup
        >>> from columnminer.sampling import benchmark
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", golden_channel_setup(), ["x"])
        >>> rng = np.random.default_rng(0)
        >>> _ = store.append(rng.normal(size=(1000, 1)), rng.uniform(1, 2, size=(1000, 6)), 0)
        >>> sample = SampleAugmenter(store).sample_train_local(benchmark("sm"), 500, seed=1)
        >>> sample["x"].shape, sample["t_xz0"].shape
        ((500, 1), (500, 2))
    """

    def __init__(self, store: EventStore, client: Any = None) -> None:
        self.store = store
        self.setup = store.setup
        self.client = client

    # -- the sample kinds -----------------------------------------------------------------------------
    def sample_train_plain(self, theta: ThetaSampler, n_samples: int, **options: Any) -> AugmentedSample:
        """x ~ p(x|theta) with theta: ``x``, ``theta0``."""
        return self._sample("train_plain", theta, None, n_samples, set(), **options)

    def sample_train_local(self, theta: ThetaSampler, n_samples: int, **options: Any) -> AugmentedSample:
        """SALLY / SALLINO: x ~ p(x|theta) with the joint score at theta: ``x``, ``theta0``, ``t_xz0``."""
        return self._sample("train_local", theta, None, n_samples, {"t_xz0"}, **options)

    def sample_train_density(self, theta: ThetaSampler, n_samples: int, **options: Any) -> AugmentedSample:
        """NDE / SCANDAL: x ~ p(x|theta) for many theta with the joint score: ``x``, ``theta0``, ``t_xz0``."""
        return self._sample("train_density", theta, None, n_samples, {"t_xz0"}, **options)

    def sample_test(self, theta: ThetaSampler, n_samples: int, **options: Any) -> AugmentedSample:
        """Evaluation data x ~ p(x|theta), from the test partition by default: ``x``, ``theta0``."""
        options.setdefault("partition", "test")
        return self._sample("test", theta, None, n_samples, set(), **options)

    def sample_train_ratio(
        self, theta0: ThetaSampler, theta1: ThetaSampler, n_samples: int, **options: Any
    ) -> AugmentedSample:
        """CARL, ROLR, RASCAL, ALICE, ALICES, CASCAL: half the samples from theta0 (y = 0), half from theta1
        (y = 1), with ``r_xz`` = r(x,z|theta0,theta1) and ``t_xz0`` = t(x,z|theta0). theta0 and theta1 pair up
        point by point (one of them may be a single point)."""
        return self._sample("train_ratio", theta0, theta1, n_samples, {"r_xz", "t_xz0"}, **options)

    def sample_train_more_ratios(
        self,
        theta0: ThetaSampler,
        theta1: ThetaSampler,
        n_samples: int,
        additional_thetas: int = 0,
        **options: Any,
    ) -> AugmentedSample:
        """Doubly parameterised ratios: as :meth:`sample_train_ratio` plus ``t_xz1`` = t(x,z|theta1).

        ``additional_thetas`` = k > 0 reuses every event drawn from theta1 (y = 1) with k further theta0 points
        drawn from the ``theta0`` sampler: k more rows per event with their own r_xz and t_xz0, which
        multiplies the y = 1 information at no extra unweighting cost.
        """
        sample = self._sample(
            "train_more_ratios", theta0, theta1, n_samples, {"r_xz", "t_xz0", "t_xz1"}, **options
        )
        if additional_thetas <= 0:
            return sample
        if "nu0" in sample.arrays:
            raise MorphingError(
                "additional_thetas is not available for samples with nuisance parameters; "
                "pass nuisance_score=False and no nu0 / nu1, or draw more theta0 points instead"
            )
        return self._add_thetas(sample, theta0, int(additional_thetas), options)

    # -- machinery ------------------------------------------------------------------------------------
    def _draw_specs(self, theta0, theta1, rng, nuisances) -> tuple[list[tuple], Any]:
        """The draw points as tuples (spec0, spec1, theta0, theta1, y, nu0, nu1), y = 0 then y = 1, with
        the points of the samplers paired up, and the nuisance model (None without nuisances)."""
        setup = self.setup
        specs0, values0 = theta0.points(setup, rng)
        specs1, values1 = theta1.points(setup, rng) if theta1 is not None else (specs0, values0)
        n_pairs = max(len(specs0), len(specs1))
        model = None
        if nuisances is not None:
            model = nuisance_model_for(self.store)
            nus0 = nuisances[0].points(model.n_nuisances, n_pairs, rng)
            nus1 = nuisances[1].points(model.n_nuisances, n_pairs, rng) if theta1 is not None else nus0
            n_pairs = max(n_pairs, len(nus0), len(nus1))
        else:
            nus0 = nus1 = np.zeros((1, 0))
        sizes = {"theta0": len(specs0), "theta1": len(specs1), "nu0": len(nus0), "nu1": len(nus1)}
        if any(size not in (1, n_pairs) for size in sizes.values()):
            raise MorphingError(f"the parameter and nuisance points do not pair up: {sizes} points")
        pairs = [
            (
                specs0[i % len(specs0)],
                specs1[i % len(specs1)],
                values0[i % len(specs0)],
                values1[i % len(specs1)],
                nus0[i % len(nus0)],
                nus1[i % len(nus1)],
            )
            for i in range(n_pairs)
        ]
        labels = (0.0,) if theta1 is None else (0.0, 1.0)
        specs = [(*pair[:4], label, *pair[4:]) for label in labels for pair in pairs]
        return specs, model

    def _plan(
        self, theta0, theta1, n_samples, closest, partition, rng, nuisances=None, passes=None
    ) -> tuple[Plan, dict]:
        """The draw points. ``nuisances`` = (nu0 sampler, nu1 sampler, nuisance_score) or None; ``passes``:
        the sample's local passes (in process they read ``sampled_from`` once for the plan and pass 1), or None."""
        setup = self.setup
        specs, model = self._draw_specs(theta0, theta1, rng, nuisances)
        n_points = len(specs)
        counts = np.full(n_points, n_samples // n_points)
        counts[: n_samples % n_points] += 1
        c0 = theta_coefficients(setup, [s[0] for s in specs])
        c1 = theta_coefficients(setup, [s[1] for s in specs])
        y = np.array([s[4] for s in specs])
        draw = np.where(y[:, None] == 1.0, c1, c0)
        need_gradients = setup.morpher is not None or setup.parameter_space.finite_difference_benchmarks
        n_par = setup.parameter_space.n_parameters
        if need_gradients:
            dc0 = theta_gradient_coefficients(setup, [s[0] for s in specs])
            dc1 = theta_gradient_coefficients(setup, [s[1] for s in specs])
        else:
            dc0 = dc1 = np.zeros((n_points, n_par, c0.shape[1]))
        theta_draw = np.array([s[3] if s[4] else s[2] for s in specs])
        stored = self._stored_counts(passes) if closest else None  # one pass over sampled_from
        sampled = np.flatnonzero(stored) if closest else None
        distinct, where = np.unique(theta_draw, axis=0, return_inverse=True)  # e.g. one theta1 for all y = 1
        groups = np.array(
            [closest_benchmark(setup, t, sampled) if closest and len(sampled) else -2 for t in distinct],
            dtype=np.int64,
        )[np.reshape(where, -1)]
        fractions = self._sampling_fractions(groups, stored)
        nuisance_terms: dict[str, Any] = {}
        # without nuisances, sigma and its gradients come from the sums of the first pass (with_totals)
        sigma0 = sigma1 = np.full(n_points, np.nan)
        dsigma0 = dsigma1 = np.full((n_points, n_par), np.nan)
        if model is not None:
            nu0 = np.array([s[5] for s in specs])
            nu1 = np.array([s[6] for s in specs])
            sigma, dsigma, dnu = sigma_terms(
                self.store,
                np.concatenate([c0, c1]),
                np.concatenate([dc0, dc1]),
                np.concatenate([nu0, nu1]),
                partition,
                self.client,
            )
            sigma0, sigma1 = sigma[:n_points], sigma[n_points:]
            dsigma0, dsigma1 = dsigma[:n_points], dsigma[n_points:]
            nuisance_terms = {
                "nu0": nu0,
                "nu1": nu1,
                "dnu_sigma0": dnu[:n_points],
                "dnu_sigma1": dnu[n_points:],
                "a_matrix": model.a,
                "b_matrix": model.b,
                "nuisance_score": bool(nuisances[2]),
            }
        plan = Plan(
            draw=draw,
            counts=counts,
            groups=groups,
            fractions=fractions,
            c0=c0,
            c1=c1,
            dc0=dc0,
            dc1=dc1,
            sigma0=sigma0,
            sigma1=sigma1,
            dsigma0=dsigma0,
            dsigma1=dsigma1,
            theta0=np.array([s[2] for s in specs]),
            theta1=np.array([s[3] for s in specs]),
            y=y,
            **nuisance_terms,
        )
        return plan, {"need_gradients": bool(need_gradients)}

    def _sampling_fractions(self, groups: np.ndarray, stored: np.ndarray | None) -> np.ndarray:
        """Share of the signal events generated at each group's benchmark, as recorded by analyse_samples
        (from generated event counts); without that record, from the ``stored`` counts per benchmark (after
        cuts)."""
        recorded = self.store.metadata.get("sampling_fractions") or {}
        out = np.ones(len(groups))
        for d, group in enumerate(groups):
            if group == -2:
                continue
            if str(int(group)) in recorded:
                out[d] = float(recorded[str(int(group))])
                continue
            logger.debug("no recorded sampling fractions: using stored event counts %s", stored.tolist())
            out[d] = stored[group] / stored.sum() if stored.sum() else 1.0
        return out

    def _stored_counts(self, passes: ChunkPasses | None = None) -> np.ndarray:
        """Events in the store generated at each benchmark [B] (background not counted): one read of the
        int16 ``sampled_from`` column (2 bytes per event) on the sample's local ``passes`` (in process,
        where the column is kept for pass 1, or tasks on this process's threads), else here (on a
        distributed client a task graph costs more than the read)."""
        size = self.setup.parameter_space.n_benchmarks + 1
        if passes is not None:
            parts = passes.map(benchmark_counts, size, columns=("sampled_from",))
        else:
            reader = self.store.chunk_reader("sampled_from")
            parts = [benchmark_bincount(values, size) for values in reader.chunks(range(reader.n_chunks))]
        return np.sum(parts, axis=0)[1:]

    def _nuisance_options(self, nu0, nu1, nuisance_score) -> tuple | None:
        """(nu0 sampler, nu1 sampler, nuisance score?) when the sample involves nuisances, else None."""
        has_columns = bool(self.store.nuisance_benchmark_names) and bool(self.setup.systematics)
        if nuisance_score == "auto":
            nuisance_score = has_columns
        elif not isinstance(nuisance_score, bool):
            raise MorphingError(f"nuisance_score must be True, False or 'auto', got {nuisance_score!r}")
        for label, sampler in (("nu0", nu0), ("nu1", nu1)):
            if sampler is not None and not isinstance(sampler, NuisanceSampler):
                raise MorphingError(
                    f"{label} must be a NuisanceSampler (nominal_nuisances(), iid_nuisances(), "
                    f"fixed_nuisances()), got {type(sampler).__name__}"
                )
        if nu0 is None and nu1 is None and not nuisance_score:
            return None
        return (nu0 or nominal_nuisances(), nu1 or nominal_nuisances(), nuisance_score)

    def _sample(
        self,
        kind: str,
        theta0: ThetaSampler,
        theta1: ThetaSampler | None,
        n_samples: int,
        want: set[str],
        partition: str | None = "train",
        sample_only_from_closest_benchmark: bool = True,
        seed: int = 0,
        name: str | None = None,
        write: bool = True,
        overwrite: bool = False,
        nu0: NuisanceSampler | None = None,
        nu1: NuisanceSampler | None = None,
        nuisance_score: bool | str = "auto",
    ) -> AugmentedSample:
        """Plan the draw points, run the two passes, shuffle, and write the sample."""
        if self.store.n_events == 0:
            raise MorphingError(f"{self.store.url}: the store holds no events to sample from")
        rng = np.random.default_rng([int(seed), 1])
        nuisances = self._nuisance_options(nu0, nu1 if theta1 is not None else None, nuisance_score)
        columns = ("weights", "sampled_from") + (("nuisance_weights",) if nuisances is not None else ())
        passes = passes_for(self.store, (*columns, "observables"), self.client)
        closest = sample_only_from_closest_benchmark
        plan, info = self._plan(
            theta0,
            theta1,
            int(n_samples),
            closest,
            partition,
            rng,
            nuisances,
            passes if passes.local else None,
        )
        if want & {"t_xz0", "t_xz1"} and not info["need_gradients"]:
            raise MorphingError("joint scores need morphing or finite-difference benchmarks in the setup")
        points = draw_points(plan.draw, plan.groups, plan.fractions, plan.nu_draw if nuisances else None)
        points = replace(points, coarse_rows=coarse_rows_for(len(points), self.store.n_events))
        coarse, mass, stats = self._first_pass(kind, plan, points, partition, columns, passes, seed)
        if nuisances is None:
            plan = plan.with_totals(stats["total"])
        arrays = self._second_pass(
            plan,
            points,
            coarse,
            mass,
            partition,
            columns,
            rng,
            seed,
            want,
            passes,
            theta1 is not None,
            stats.pop("candidates"),
        )
        attrs = {
            "kind": kind,
            "n_samples": int(n_samples),
            "partition": partition,
            "seed": int(seed),
            "sample_only_from_closest_benchmark": bool(sample_only_from_closest_benchmark),
            "theta0": theta0.to_dict(),
            "theta1": None if theta1 is None else theta1.to_dict(),
            "observables": self.store.observable_names,
            "parameters": self.setup.parameter_names,
            "n_effective": stats["n_effective"].tolist(),
            "max_weight_fraction": stats["max_fraction"].tolist(),
            "negative_weights": stats["negative"],
        }
        if nuisances is not None:
            attrs.update(
                nuisance_parameters=self.setup.nuisance_parameter_names,
                nu0=nuisances[0].to_dict(),
                nu1=None if theta1 is None else nuisances[1].to_dict(),
                nuisance_score=bool(nuisances[2]),
            )
        logger.info(
            "%s: %d samples from %d draw points, median effective events %.0f",
            kind,
            len(arrays["event"]),
            len(plan.counts),
            float(np.median(stats["n_effective"])),
        )
        sample = AugmentedSample(name or kind, arrays, stats["n_effective"], stats["max_fraction"], attrs)
        if write:
            self.store.write_sample(sample.name, arrays, attrs, overwrite=overwrite)
        return sample

    def _first_pass(
        self,
        kind: str,
        plan: Plan,
        points: DrawPoints,
        partition: str | None,
        columns: tuple[str, ...],
        passes: Any,
        seed: int,
    ) -> tuple[list[np.ndarray], np.ndarray, dict[str, Any]]:
        """Pass 1 (on ``passes``, :mod:`columnminer.sampling._runners`): the per-chunk block sums of the
        distinct draw points [U, n_blocks], the mass per chunk and draw point [n_chunks, D], and the effective
        number of events, largest weight share and negative weights (warned about)."""
        spec = self.store.partition_spec
        candidates = 0
        if not passes.in_process and len(points) == 1 and len(plan.counts) == 1:
            if plan.a_matrix is None:  # pass 1 also draws pass 2's likely rows (chunk_candidates)
                expected = plan.counts[0] * self.store.chunk_size / self.store.n_events
                candidates = int(1.2 * expected + 8.0 * np.sqrt(expected) + 16)
                if candidates >= -(-self.store.chunk_size // points.coarse_rows):  # dense: pass 2 reads
                    candidates = 0
        totals = passes.map(
            chunk_totals,
            plan,
            points,
            spec,
            partition,
            seed,
            candidates,
            columns=(*columns, "observables") if passes.local or candidates else columns,
        )
        kept = [t.pop("candidates", None) for t in totals]  # pass 2's likely rows, drawn ahead
        coarse = [t["coarse"] for t in totals]
        mass = np.stack([c.sum(axis=1) for c in coarse])[:, points.inverse]  # [n_chunks, D]
        squares = np.sum([t["squares"] for t in totals], axis=0)[points.inverse]
        top = np.max([t["top"] for t in totals], axis=0)[points.inverse]
        negative = int(np.sum([t["negative"] for t in totals], axis=0)[points.inverse].sum())
        if np.any(mass.sum(axis=0) <= 0):
            bad = int(np.flatnonzero(mass.sum(axis=0) <= 0)[0])
            theta = plan.theta1[bad] if plan.y[bad] else plan.theta0[bad]
            raise MorphingError(
                f"no event with positive weight to draw from at draw point {bad} (theta {theta}, "
                f"partition {partition!r}, closest benchmark {plan.groups[bad]})"
            )
        n_effective = mass.sum(axis=0) ** 2 / squares
        max_fraction = top / mass.sum(axis=0)
        if negative:
            logger.warning(
                "%s: %d event weights are negative at the requested thetas; they are never drawn",
                kind,
                negative,
            )
        crowded = np.flatnonzero(plan.counts > 10 * n_effective)
        if crowded.size:
            logger.warning(
                "%s: %d draw point(s) use few distinct events: e.g. point %d draws %d samples from an effective %.1f "
                "events (largest event %.1f%% of the weight); the sample repeats the same events",
                kind,
                crowded.size,
                crowded[0],
                plan.counts[crowded[0]],
                n_effective[crowded[0]],
                100 * max_fraction[crowded[0]],
            )
        total = np.sum([t["total"] for t in totals], axis=0)
        if partition is not None:  # the partition's events, reweighted by 1 / fraction, estimate the totals
            total = total / float(spec["fractions"][partition])
        stats = {
            "n_effective": n_effective,
            "max_fraction": max_fraction,
            "negative": negative,
            "total": total,
            "candidates": kept if any(k is not None for k in kept) else None,
        }
        return coarse, mass, stats

    def _second_pass(
        self, plan, points, coarse, mass, partition, columns, rng, seed, want, passes, paired: bool, kept=None
    ) -> dict[str, np.ndarray]:
        """Pass 2: split every draw point's samples over the chunks (multinomial in the chunk masses), shuffle
        (a permutation of all of them), and draw them chunk by chunk (pass 1's ``columns`` and the
        observables), each chunk's events put straight at their places in the shuffled sample
        (:class:`SampleSink`; in the tasks, or here for a client's): the sample's arrays x, theta0 (theta1, y
        when ``paired``), nu0 (nu1) with nuisances, the joint quantities in ``want``, and event. ``kept``: per
        chunk the rows pass 1 drew ahead (:func:`chunk_candidates`; a store read twice): the chunks whose
        counts they cover are drawn here, all at once (:func:`covered_draws`), without reading them again."""
        nuisances = plan.a_matrix is not None
        columns = (*columns, "observables")  # locally, a kernel reads only the columns it uses
        paired_keys = ("theta1", "y") if paired else ()
        keys = ("theta0", *paired_keys) + (("nu0", "nu1")[: 1 + paired] if nuisances else ())
        chunk_counts = np.stack(
            [rng.multinomial(plan.counts[d], mass[:, d] / mass[:, d].sum()) for d in range(len(plan.counts))],
            axis=1,
        )  # [n_chunks, D]
        order = rng.permutation(int(chunk_counts.sum()))  # drawn event order[i] goes to place i
        places = np.empty(len(order), dtype=np.int64)
        places[order] = np.arange(len(order))
        sink = SampleSink(places, np.concatenate([[0], np.cumsum(chunk_counts.sum(axis=1))]))
        per_chunk = [
            (counts, sums) if counts.any() else None
            for counts, sums in zip(chunk_counts, coarse, strict=True)
        ]
        covered = _covered(per_chunk, kept)
        if covered:  # pass 1 drew these rows ahead: drawn here, all at once, without reading the chunks again
            size = self.store.chunk_size
            chunks = [(j * size, kept[j], int(per_chunk[j][0][0])) for j in covered]
            sink.put_chunks(covered, covered_draws(chunks, plan, want, keys))
            for j in covered:
                per_chunk[j] = None
        spec = self.store.partition_spec
        pieces = []
        if any(args is not None for args in per_chunk):
            pieces = passes.map(
                chunk_draws,
                plan,
                points,
                spec,
                partition,
                seed,
                want,
                keys,
                sink if passes.local else None,  # a client's tasks send their pieces back
                columns=columns,
                chunk_args=per_chunk,
            )
        for j, piece in zip((j for j, a in enumerate(per_chunk) if a is not None), pieces, strict=True):
            if piece is not None:
                sink.put(j, piece)
        return {key: sink.arrays[key] for key in ("x", *keys, *_joint_names(want), "event")}

    def _add_thetas(
        self, sample: AugmentedSample, theta0: ThetaSampler, k: int, options: dict
    ) -> AugmentedSample:
        """Extra rows for the y = 1 events with new theta0 points (see :meth:`sample_train_more_ratios`)."""
        rng = np.random.default_rng([int(options.get("seed", 0)), 2])
        arrays = sample.arrays
        ones = np.flatnonzero(arrays["y"] == 1.0)
        specs, values = theta0.points(self.setup, rng)
        pick = rng.integers(len(specs), size=(k, ones.size))
        events = np.tile(arrays["event"][ones], k)
        new_theta0 = values[pick.ravel()]
        chosen = self.store.read_rows("weights", events)
        c0 = theta_coefficients(self.setup, new_theta0)
        dc0 = theta_gradient_coefficients(self.setup, new_theta0)
        total, _ = weight_moments(self.store, options.get("partition", "train"), self.client)
        theta1 = np.tile(arrays["theta1"][ones], (k, 1))
        c1 = theta_coefficients(self.setup, theta1)
        w0, w1 = event_weights_at(chosen, c0), event_weights_at(chosen, c1)
        r = ratio_from_weights(w0, w1, c0 @ total, c1 @ total)
        t0 = score_from_weights(w0, event_weight_gradients_at(chosen, dc0), c0 @ total, dc0 @ total)
        extra = {
            "x": np.tile(arrays["x"][ones], (k, 1)),
            "theta0": new_theta0,
            "theta1": theta1,
            "y": np.ones(events.size),
            "r_xz": r,
            "t_xz0": t0,
            "t_xz1": np.tile(arrays["t_xz1"][ones], (k, 1)),
            "event": events,
        }
        merged = {key: np.concatenate([arrays[key], extra[key]]) for key in arrays}
        sample.arrays = merged
        sample.attrs["additional_thetas"] = k
        if options.get("write", True):
            self.store.write_sample(sample.name, merged, sample.attrs, overwrite=True)
        return sample
