"""Parameter samplers: which thetas a training sample is drawn at (benchmarks, morphing points, priors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MorphingError, ParameterSpaceError
from ..setup import AnalysisSetup

__all__ = [
    "NuisanceSampler",
    "ThetaSampler",
    "benchmark",
    "benchmarks",
    "fixed_nuisances",
    "iid_nuisances",
    "morphing_point",
    "morphing_points",
    "nominal_nuisances",
    "random_morphing_points",
]


@dataclass(frozen=True)
class ThetaSampler:
    """A recipe for parameter points: ``points(setup, rng)`` returns (specs, values).

    ``specs`` are what :func:`columnminer.weights.theta_coefficients` takes (benchmark names for
    benchmarks, arrays for morphing points); ``values`` is the [n_thetas, n_parameters] float array that
    goes into the training data. Build samplers with the functions of this module.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> specs, values = benchmark("sm").points(golden_channel_setup(), np.random.default_rng(0))
        >>> specs, values.tolist()
        (['sm'], [[0.0, 0.0]])
    """

    kind: str
    names: tuple[str, ...] = ()
    values: tuple[tuple[float, ...], ...] = ()
    n_thetas: int = 0
    priors: tuple[tuple[str, float, float], ...] = field(default=())

    def points(self, setup: AnalysisSetup, rng: np.random.Generator) -> tuple[list[Any], np.ndarray]:
        """The parameter points: (specs for the weight kernels, [n_thetas, n_parameters] values)."""
        space = setup.parameter_space
        if self.kind == "benchmarks":
            for name in self.names:
                space.benchmark_index(name)
            return list(self.names), space.benchmark_array(list(self.names))
        if self.kind == "morphing":
            values = np.asarray(self.values, dtype=np.float64).reshape(-1, space.n_parameters)
        elif self.kind == "random":
            if len(self.priors) != space.n_parameters:
                raise ParameterSpaceError(
                    f"random_morphing_points needs one prior per parameter {space.parameter_names}, "
                    f"got {len(self.priors)}"
                )
            columns = []
            for kind, a, b in self.priors:
                if kind == "gaussian":
                    columns.append(rng.normal(a, b, size=self.n_thetas))
                elif kind == "flat":
                    columns.append(rng.uniform(a, b, size=self.n_thetas))
                else:
                    raise ParameterSpaceError(
                        f"unknown prior {kind!r}: use ('gaussian', mean, std) or ('flat', low, high)"
                    )
            values = np.column_stack(columns)
        else:  # pragma: no cover - constructed only by this module
            raise ParameterSpaceError(f"unknown sampler kind {self.kind!r}")
        if setup.morpher is None:
            raise MorphingError("morphing points need a setup with morphing (set_morphing)")
        return list(values), values

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (stored with the sample)."""
        return {
            "kind": self.kind,
            "names": list(self.names),
            "values": [list(v) for v in self.values],
            "n_thetas": self.n_thetas,
            "priors": [list(p) for p in self.priors],
        }


def benchmark(name: str) -> ThetaSampler:
    """One benchmark, by name.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> benchmark("sm").points(golden_channel_setup(), np.random.default_rng(0))[1].tolist()
        [[0.0, 0.0]]
    """
    return ThetaSampler("benchmarks", names=(str(name),))


def benchmarks(names: Sequence[str]) -> ThetaSampler:
    """Several benchmarks, by name.

    Example:
        >>> benchmarks(["sm", "morphing_basis_vector_1"]).names
        ('sm', 'morphing_basis_vector_1')
    """
    return ThetaSampler("benchmarks", names=tuple(str(n) for n in names))


def morphing_point(theta: Sequence[float]) -> ThetaSampler:
    """One parameter point (needs morphing).

    Example:
        >>> morphing_point([0.1, -0.2]).values
        ((0.1, -0.2),)
    """
    return ThetaSampler("morphing", values=(tuple(float(v) for v in theta),))


def morphing_points(thetas: Sequence[Sequence[float]] | np.ndarray) -> ThetaSampler:
    """Several parameter points, shape [n_thetas, n_parameters] (needs morphing).

    Example:
        >>> morphing_points(np.array([[0.0, 0.0], [0.5, 0.0]])).values
        ((0.0, 0.0), (0.5, 0.0))
    """
    return ThetaSampler(
        "morphing", values=tuple(tuple(float(v) for v in row) for row in np.atleast_2d(thetas))
    )


def random_morphing_points(n_thetas: int, priors: Sequence[tuple[str, float, float]]) -> ThetaSampler:
    """``n_thetas`` points drawn from independent priors, one per parameter: ``("gaussian", mean, std)`` or
    ``("flat", low, high)`` (needs morphing). Drawn with the augmenter's seed.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> sampler = random_morphing_points(5, [("flat", -1.0, 1.0), ("gaussian", 0.0, 0.3)])
        >>> sampler.points(golden_channel_setup(), np.random.default_rng(1))[1].shape
        (5, 2)
    """
    return ThetaSampler(
        "random", n_thetas=int(n_thetas), priors=tuple((str(k), float(a), float(b)) for k, a, b in priors)
    )


@dataclass(frozen=True)
class NuisanceSampler:
    """A recipe for nuisance points: ``points(n_nuisances, n_default, rng)`` returns [n_points, n_nuisances].

    ``kind`` is "nominal" (nu = 0), "fixed" (given values) or "iid" (every nuisance parameter drawn
    independently from a Gaussian (param0 = mean, param1 = std) or flat (param0 = low, param1 = high) prior,
    ``n_points`` points, default one per parameter point of the sample). Build with
    :func:`nominal_nuisances`, :func:`fixed_nuisances`, :func:`iid_nuisances`.

    Example:
        >>> fixed_nuisances([[0.5], [-0.5]]).points(1, 1, np.random.default_rng(0)).tolist()
        [[0.5], [-0.5]]
    """

    kind: str
    values: tuple[tuple[float, ...], ...] = ()
    shape: str = "gaussian"
    param0: float = 0.0
    param1: float = 1.0
    n_points: int | None = None

    def points(self, n_nuisances: int, n_default: int, rng: np.random.Generator) -> np.ndarray:
        """The nuisance points, [n_points, n_nuisances] (``n_default`` points for iid without n_points)."""
        if self.kind == "nominal":
            return np.zeros((1, n_nuisances))
        if self.kind == "fixed":
            values = np.asarray(self.values, dtype=np.float64)
            if values.ndim != 2 or values.shape[1] != n_nuisances:
                raise ParameterSpaceError(
                    f"fixed_nuisances: need points with {n_nuisances} values, got shape {values.shape}"
                )
            return values
        if self.kind == "iid":
            n = int(self.n_points if self.n_points is not None else n_default)
            if self.shape == "gaussian":
                return rng.normal(self.param0, self.param1, size=(n, n_nuisances))
            if self.shape == "flat":
                return rng.uniform(self.param0, self.param1, size=(n, n_nuisances))
            raise ParameterSpaceError(
                f"iid_nuisances: unknown shape {self.shape!r}; use 'gaussian' or 'flat'"
            )
        raise ParameterSpaceError(f"unknown nuisance sampler kind {self.kind!r}")  # pragma: no cover

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (stored with the sample)."""
        return {
            "kind": self.kind,
            "values": [list(v) for v in self.values],
            "shape": self.shape,
            "param0": self.param0,
            "param1": self.param1,
            "n_points": self.n_points,
        }


def nominal_nuisances() -> NuisanceSampler:
    """All nuisance parameters at their nominal value, nu = 0.

    Example:
        >>> nominal_nuisances().points(2, 5, np.random.default_rng(0)).tolist()
        [[0.0, 0.0]]
    """
    return NuisanceSampler("nominal")


def fixed_nuisances(values: Sequence[Sequence[float]] | Sequence[float]) -> NuisanceSampler:
    """Given nuisance points, shape [n_points, n_nuisances] (or one point).

    Example:
        >>> fixed_nuisances([1.0, -0.5]).points(2, 1, np.random.default_rng(0)).tolist()
        [[1.0, -0.5]]
    """
    rows = np.atleast_2d(np.asarray(values, dtype=np.float64))
    return NuisanceSampler("fixed", values=tuple(tuple(float(v) for v in row) for row in rows))


def iid_nuisances(
    shape: str = "gaussian", param0: float = 0.0, param1: float = 1.0, n_points: int | None = None
) -> NuisanceSampler:
    """Nuisance points with every parameter drawn independently: ``shape="gaussian"`` (param0 = mean,
    param1 = std, by default the N(0, 1) of the constraint) or ``"flat"`` (param0 = low, param1 = high).
    ``n_points`` defaults to one point per parameter point of the sample. Drawn with the augmenter's seed.

    Example:
        >>> iid_nuisances(n_points=4).points(3, 1, np.random.default_rng(0)).shape
        (4, 3)
    """
    if shape not in ("gaussian", "flat"):
        raise ParameterSpaceError(f"iid_nuisances: unknown shape {shape!r}; use 'gaussian' or 'flat'")
    return NuisanceSampler("iid", shape=shape, param0=float(param0), param1=float(param1), n_points=n_points)
