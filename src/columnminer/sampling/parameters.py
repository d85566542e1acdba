"""Parameter samplers: which thetas a training sample is drawn at (benchmarks, morphing points, priors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MorphingError, ParameterSpaceError
from ..setup import AnalysisSetup

__all__ = [
    "ThetaSampler",
    "benchmark",
    "benchmarks",
    "morphing_point",
    "morphing_points",
    "random_morphing_points",
]


@dataclass(frozen=True)
class ThetaSampler:
    """A recipe for parameter points: ``points(setup, rng)`` returns (specs, values).

    ``specs`` are what :func:`columnminer.weights.theta_coefficients` takes (benchmark names for
    benchmarks, arrays for morphing points); ``values`` is the [n_thetas, n_parameters] float array that
    goes into the training data. Build samplers with the functions of this module.
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
    """Several benchmarks, by name."""
    return ThetaSampler("benchmarks", names=tuple(str(n) for n in names))


def morphing_point(theta: Sequence[float]) -> ThetaSampler:
    """One parameter point (needs morphing)."""
    return ThetaSampler("morphing", values=(tuple(float(v) for v in theta),))


def morphing_points(thetas: Sequence[Sequence[float]] | np.ndarray) -> ThetaSampler:
    """Several parameter points, shape [n_thetas, n_parameters] (needs morphing)."""
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
