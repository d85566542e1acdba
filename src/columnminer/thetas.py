"""Parameter points and benchmarks as users name them: the one rule every public function follows.

- a string is a benchmark name;
- numbers are always parameter values: ``[0, 1]`` is the point (0, 1) of a two-parameter setup (and the two
  points 0 and 1 of a one-parameter setup), an array [T, P] is T points, a bare number a point of a
  one-parameter setup;
- a benchmark is selected by its column only explicitly, with :func:`benchmark_index`;
- a list may mix names, explicit indices and points.

Example:
    >>> from columnminer.demo import golden_channel_setup
    >>> setup = golden_channel_setup()
    >>> [type(t).__name__ for t in theta_items(setup, ["sm", [0.5, 0.0], benchmark_index(2)])]
    ['str', 'ndarray', 'BenchmarkIndex']
    >>> theta_points(setup, [0, 1]).tolist()
    [[0.0, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ParameterSpaceError

__all__ = ["BenchmarkIndex", "benchmark_column", "benchmark_index", "theta_items", "theta_points"]


@dataclass(frozen=True)
class BenchmarkIndex:
    """A benchmark selected by its column in the setup's benchmark order (see :func:`benchmark_index`).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> setup = golden_channel_setup()
        >>> name = setup.parameter_space.benchmark_names[1]
        >>> benchmark_column(setup, BenchmarkIndex(1)) == benchmark_column(setup, name)
        True
    """

    index: int


def benchmark_index(index: int) -> BenchmarkIndex:
    """Select a benchmark by its column explicitly (bare numbers are parameter values, never indices).

    Example:
        >>> benchmark_index(3)
        BenchmarkIndex(index=3)
    """
    return BenchmarkIndex(int(index))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def theta_items(setup: Any, thetas: Any, what: str = "thetas") -> list[str | BenchmarkIndex | np.ndarray]:
    """``thetas`` as a list of benchmark names, explicit benchmark indices and points [P] (float64).

    ``setup`` is an :class:`~columnminer.setup.AnalysisSetup` or a
    :class:`~columnminer.parameters.ParameterSpace`. Errors (:class:`~columnminer.errors.ParameterSpaceError`)
    name ``what``.

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> theta_items(golden_channel_setup(), [[0.5, 0.0], "sm"])
        [array([0.5, 0. ]), 'sm']
    """
    space = getattr(setup, "parameter_space", setup)
    n = space.n_parameters
    if isinstance(thetas, str | BenchmarkIndex):
        return [thetas]
    if _is_number(thetas):
        if n != 1:
            raise ParameterSpaceError(
                f"{what}: a bare number {thetas!r} is a point of a one-parameter setup, but this setup has {n} "
                "parameters; name benchmarks by name or benchmark_index(i)"
            )
        return [np.array([float(thetas)])]
    items = list(thetas) if not isinstance(thetas, np.ndarray) else None
    if items is None or all(_is_number(v) or isinstance(v, list | tuple | np.ndarray) for v in items):
        try:
            array = np.asarray(thetas, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is not None:
            if array.ndim == 1 and n == 1:
                return [np.array([v]) for v in array]
            if array.ndim == 1 and array.shape[0] == n:
                return [array]
            if array.ndim == 2 and array.shape[1] == n:
                return list(array)
            raise ParameterSpaceError(
                f"{what}: parameter points must have shape [n_thetas, {n}] (or [{n}] for one point), got "
                f"{array.shape}"
            )
    out: list[str | BenchmarkIndex | np.ndarray] = []
    for item in items if items is not None else list(thetas):
        if isinstance(item, str | BenchmarkIndex):
            out.append(item)
            continue
        point = np.asarray(item, dtype=np.float64).reshape(-1)
        if point.shape != (n,):
            raise ParameterSpaceError(
                f"{what}: a parameter point must have {n} values, got {np.shape(item)} ({item!r}); name "
                "benchmarks by name or benchmark_index(i)"
            )
        out.append(point)
    if not out:
        raise ParameterSpaceError(f"{what}: no parameter point given")
    return out


def benchmark_column(setup: Any, item: str | BenchmarkIndex) -> int:
    """The column of a benchmark given by name or explicit index (range-checked).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> setup = golden_channel_setup()
        >>> benchmark_column(setup, "sm"), benchmark_column(setup, benchmark_index(2))
        (0, 2)
        >>> try:
        ...     benchmark_column(setup, benchmark_index(99))
        ... except ParameterSpaceError as err:
        ...     print(err)
        benchmark index 99 out of range (0..5)
    """
    space = getattr(setup, "parameter_space", setup)
    if isinstance(item, str):
        return space.benchmark_index(item)
    if not 0 <= item.index < space.n_benchmarks:
        raise ParameterSpaceError(f"benchmark index {item.index} out of range (0..{space.n_benchmarks - 1})")
    return item.index


def theta_points(setup: Any, thetas: Any, what: str = "thetas") -> np.ndarray:
    """The parameter values [T, P] of ``thetas`` (benchmarks at their points).

    Example:
        >>> from columnminer.demo import golden_channel_setup
        >>> theta_points(golden_channel_setup(), ["sm", [0.5, -0.5]]).tolist()
        [[0.0, 0.0], [0.5, -0.5]]
    """
    space = getattr(setup, "parameter_space", setup)
    values = space.benchmark_array() if space.n_benchmarks else np.zeros((0, space.n_parameters))
    rows = [
        item if isinstance(item, np.ndarray) else values[benchmark_column(space, item)]
        for item in theta_items(space, thetas, what)
    ]
    return np.stack(rows).astype(np.float64)
