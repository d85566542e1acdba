"""Parameters of interest, benchmarks (parameter points) and the parameter space that holds them."""

from __future__ import annotations

import importlib
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import MissingTransformError, ParameterSpaceError

__all__ = [
    "Benchmark",
    "LinearTransform",
    "Parameter",
    "ParameterSpace",
    "UnsavedTransform",
]

logger = logging.getLogger(__name__)

CardTransform = Callable[[float], float]


@dataclass(frozen=True)
class LinearTransform:
    r"""The param-card transform :math:`v = \mathrm{scale}\,\theta + \mathrm{offset}`; saved with the setup.

    Example:
        >>> LinearTransform(scale=0.5, offset=1.0)(2.0)
        2.0
    """

    scale: float = 1.0
    offset: float = 0.0

    def __call__(self, theta: float) -> float:
        return self.scale * theta + self.offset


@dataclass(frozen=True)
class UnsavedTransform:
    """Stands in for a param-card transform (a lambda, a closure) that could not be written to a file.

    Calling it raises :class:`~columnminer.errors.MissingTransformError`; pass the callable again through
    ``transforms={parameter_name: fn}`` when loading the setup.

    Example:
        >>> stand_in = UnsavedTransform("cwl2", "lambda t: 2 * t")
        >>> try:
        ...     stand_in(1.0)
        ... except MissingTransformError as err:
        ...     print(err)
        the param-card transform of parameter 'cwl2' (lambda t: 2 * t) was not saved with the setup; pass
        transforms={'cwl2': fn} when loading it
    """

    parameter: str
    description: str

    def __call__(self, theta: float) -> float:
        raise MissingTransformError(
            f"the param-card transform of parameter {self.parameter!r} ({self.description}) was not "
            f"saved with the setup; pass transforms={{{self.parameter!r}: fn}} when loading it"
        )


def _transform_to_dict(transform: CardTransform | None, parameter: str) -> dict[str, Any] | None:
    """Describe a transform so that it can be restored: linear, importable function, or unsaved."""
    if transform is None:
        return None
    if isinstance(transform, LinearTransform):
        return {"kind": "linear", "scale": transform.scale, "offset": transform.offset}
    if isinstance(transform, UnsavedTransform):
        return {"kind": "unsaved", "description": transform.description}
    module = getattr(transform, "__module__", None)
    qualname = getattr(transform, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        try:
            target: Any = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError):
            target = None
        if target is transform:
            return {"kind": "import", "target": f"{module}:{qualname}"}
    warnings.warn(
        f"the param-card transform of parameter {parameter!r} is not importable ({transform!r}); "
        "it is saved as a placeholder. Use LinearTransform or a module-level function to save it, "
        "or pass it again through transforms= when loading.",
        stacklevel=3,
    )
    return {"kind": "unsaved", "description": repr(transform)}


def _transform_from_dict(spec: Mapping[str, Any] | None, parameter: str) -> CardTransform | None:
    """Inverse of :func:`_transform_to_dict` (imports a ``module:qualname`` target, never evaluates text)."""
    if spec is None:
        return None
    kind = spec.get("kind")
    if kind == "linear":
        return LinearTransform(float(spec["scale"]), float(spec["offset"]))
    if kind == "unsaved":
        return UnsavedTransform(parameter, str(spec.get("description", "")))
    if kind == "import":
        module, _, qualname = str(spec["target"]).partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as err:
            return UnsavedTransform(parameter, f"{spec['target']} could not be imported: {err}")
        return target
    raise ParameterSpaceError(f"parameter {parameter!r}: unknown param-card transform kind {kind!r}")


@dataclass(frozen=True)
class Parameter:
    """A parameter of interest theta_i, written to the param card at LHA ``block``/``lha_id``.

    Attributes:
        name: the name used everywhere downstream (columns, plots, files).
        lha_block: the param-card block, e.g. ``"dim6"`` (case-sensitive, as in the card).
        lha_id: the entry id inside the block.
        morphing_max_power: the largest power of theta_i in :math:`|M|^2` (2 for one vertex, 4 for two).
        parameter_range: the (low, high) range of primary interest; drives basis optimisation.
        param_card_transform: theta -> value written to the param card; ``None`` means identity.

    Example:
        >>> p = Parameter("cwl2", "dim6", 2, morphing_max_power=2, parameter_range=(-20.0, 20.0),
        ...               param_card_transform=LinearTransform(scale=16.52))
        >>> round(p.card_value(1.0), 2)
        16.52
    """

    name: str
    lha_block: str
    lha_id: int
    morphing_max_power: int = 2
    parameter_range: tuple[float, float] = (0.0, 1.0)
    param_card_transform: CardTransform | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ParameterSpaceError(f"parameter name {self.name!r} must be a non-empty string without '/'")
        if not isinstance(self.morphing_max_power, int | np.integer) or self.morphing_max_power < 0:
            raise ParameterSpaceError(
                f"parameter {self.name!r}: morphing_max_power must be a non-negative integer, "
                f"got {self.morphing_max_power!r}"
            )
        low, high = (float(v) for v in self.parameter_range)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ParameterSpaceError(
                f"parameter {self.name!r}: parameter_range must be finite with low < high, "
                f"got {self.parameter_range!r}"
            )
        object.__setattr__(self, "parameter_range", (low, high))
        object.__setattr__(self, "lha_id", int(self.lha_id))
        object.__setattr__(self, "morphing_max_power", int(self.morphing_max_power))

    def card_value(self, theta: float) -> float:
        """The value written to the param card for theta (identity when no transform is set)."""
        if self.param_card_transform is None:
            return float(theta)
        return float(self.param_card_transform(float(theta)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of this parameter."""
        return {
            "name": self.name,
            "lha_block": self.lha_block,
            "lha_id": self.lha_id,
            "morphing_max_power": self.morphing_max_power,
            "parameter_range": list(self.parameter_range),
            "param_card_transform": _transform_to_dict(self.param_card_transform, self.name),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], transform: CardTransform | None = None) -> Parameter:
        """Rebuild a parameter; ``transform`` overrides whatever transform was saved."""
        if transform is None:
            transform = _transform_from_dict(data.get("param_card_transform"), data["name"])
        return cls(
            name=data["name"],
            lha_block=data["lha_block"],
            lha_id=data["lha_id"],
            morphing_max_power=data["morphing_max_power"],
            parameter_range=tuple(data["parameter_range"]),
            param_card_transform=transform,
        )


@dataclass(frozen=True, eq=False)
class Benchmark:
    """A named parameter point theta_b at which event weights are computed (by MadGraph or a simulator).

    ``values`` maps every parameter name to its value; ``is_nuisance`` marks the benchmarks that only
    describe systematic variations.

    Example:
        >>> Benchmark("sm", {"a2": 0.0, "a3": 0.0}).as_array(["a3", "a2"])
        array([0., 0.])
    """

    name: str
    values: Mapping[str, float]
    is_nuisance: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ParameterSpaceError(f"benchmark name {self.name!r} must be a non-empty string without '/'")
        object.__setattr__(self, "values", {str(k): float(v) for k, v in self.values.items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Benchmark):
            return NotImplemented
        return (self.name, dict(self.values), self.is_nuisance) == (
            other.name,
            dict(other.values),
            other.is_nuisance,
        )

    __hash__ = None  # type: ignore[assignment]

    def as_array(self, parameter_names: Sequence[str]) -> np.ndarray:
        """The values in the order of ``parameter_names``, shape [n_parameters]."""
        return np.array([self.values[name] for name in parameter_names], dtype=np.float64)


def _ordered_views(attr: str, what: str) -> tuple[property, property, property]:
    """Read-only views of the ordered dict ``self.<attr>``: a copy by name, the names, the count."""

    def by_name(self: Any) -> dict[str, Any]:
        return dict(getattr(self, attr))

    def names(self: Any) -> list[str]:
        return list(getattr(self, attr))

    def count(self: Any) -> int:
        return len(getattr(self, attr))

    by_name.__doc__ = f"The {what} by name, in definition order (a copy)."
    names.__doc__ = f"The names of the {what}, in definition order."
    count.__doc__ = f"The number of {what}."
    return property(by_name), property(names), property(count)


class ParameterSpace:
    """An ordered set of parameters and the benchmarks defined on them.

    Benchmarks keep the order in which they were added: that order is the column order of the weights
    everywhere downstream (zarr store, morphing matrices, training data).

    Example:
        >>> space = ParameterSpace()
        >>> _ = space.add_parameter("dim6", 2, name="cwl2", morphing_max_power=2, parameter_range=(-20, 20))
        >>> _ = space.add_parameter("dim6", 5, name="cpwl2", morphing_max_power=2, parameter_range=(-20, 20))
        >>> _ = space.add_benchmark({"cwl2": 0.0, "cpwl2": 0.0}, name="sm")
        >>> _ = space.add_benchmark([10.0, 0.0])
        >>> space.benchmark_names
        ['sm', 'benchmark_1']
    """

    def __init__(self) -> None:
        self._parameters: dict[str, Parameter] = {}
        self._benchmarks: dict[str, Benchmark] = {}
        self.finite_difference_benchmarks: dict[str, dict[str, str]] = {}
        self.finite_difference_epsilon: float | None = None

    # -- parameters -----------------------------------------------------------------------------------
    parameters, parameter_names, n_parameters = _ordered_views("_parameters", "parameters")

    @property
    def parameter_ranges(self) -> np.ndarray:
        """Ranges of interest, shape [n_parameters, 2] (low, high)."""
        return np.array([p.parameter_range for p in self._parameters.values()], dtype=np.float64).reshape(
            -1, 2
        )

    @property
    def max_powers(self) -> np.ndarray:
        """Per-parameter maximal morphing powers, shape [n_parameters]."""
        return np.array([p.morphing_max_power for p in self._parameters.values()], dtype=np.int64)

    def add_parameter(
        self,
        lha_block: str,
        lha_id: int,
        name: str | None = None,
        morphing_max_power: int = 2,
        parameter_range: tuple[float, float] = (0.0, 1.0),
        param_card_transform: CardTransform | None = None,
    ) -> Parameter:
        """Add a parameter (see :class:`Parameter`); the default name is ``parameter_<i>``.

        Parameters must be defined before benchmarks: adding one when benchmarks exist is an error,
        because every benchmark needs a value for every parameter.
        """
        if name is None:
            name = f"parameter_{len(self._parameters)}"
        parameter = Parameter(
            name, lha_block, lha_id, morphing_max_power, tuple(parameter_range), param_card_transform
        )
        self._add_parameter(parameter)
        return parameter

    def _add_parameter(self, parameter: Parameter) -> None:
        if self._benchmarks:
            raise ParameterSpaceError(
                f"cannot add parameter {parameter.name!r}: benchmarks {list(self._benchmarks)} are already "
                "defined; add all parameters first (or call reset_benchmarks())"
            )
        if parameter.name in self._parameters:
            raise ParameterSpaceError(f"duplicate parameter name {parameter.name!r}")
        for other in self._parameters.values():
            if (other.lha_block, other.lha_id) == (parameter.lha_block, parameter.lha_id):
                raise ParameterSpaceError(
                    f"parameter {parameter.name!r} uses LHA entry ({parameter.lha_block}, {parameter.lha_id}) "
                    f"already taken by parameter {other.name!r}"
                )
        self._parameters[parameter.name] = parameter

    def set_parameters(self, parameters: Mapping[str, Parameter] | Iterable[Parameter | tuple]) -> None:
        """Replace all parameters (and drop all benchmarks).

        ``parameters`` is a mapping name -> :class:`Parameter`, or a sequence of :class:`Parameter` or of
        ``(lha_block, lha_id)`` tuples (named automatically).
        """
        items = list(parameters.values()) if isinstance(parameters, Mapping) else list(parameters)
        self._parameters = {}
        self.reset_benchmarks()
        for item in items:
            if isinstance(item, Parameter):
                self._add_parameter(item)
            elif isinstance(item, tuple) and len(item) == 2:
                self.add_parameter(item[0], item[1])
            else:
                raise ParameterSpaceError(
                    f"cannot make a parameter from {item!r}: expected a Parameter or (lha_block, lha_id)"
                )

    # -- benchmarks -----------------------------------------------------------------------------------
    benchmarks, benchmark_names, n_benchmarks = _ordered_views("_benchmarks", "benchmarks")

    def benchmark_index(self, name: str) -> int:
        """Column index of a benchmark; a :class:`ParameterSpaceError` names unknown ones."""
        try:
            return self.benchmark_names.index(name)
        except ValueError:
            raise ParameterSpaceError(
                f"unknown benchmark {name!r}; known benchmarks: {self.benchmark_names}"
            ) from None

    def benchmark_array(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Benchmark values, shape [n_benchmarks, n_parameters], rows in benchmark (or ``names``) order."""
        names = self.benchmark_names if names is None else list(names)
        for name in names:
            if name not in self._benchmarks:
                self.benchmark_index(name)
        rows = [self._benchmarks[name].as_array(self.parameter_names) for name in names]
        return np.array(rows, dtype=np.float64).reshape(len(rows), self.n_parameters)

    def _values_to_dict(self, values: Mapping[str, float] | Sequence[float] | np.ndarray, label: str) -> dict:
        if not self._parameters:
            raise ParameterSpaceError(f"benchmark {label}: no parameters are defined yet")
        if isinstance(values, Mapping):
            unknown = [key for key in values if key not in self._parameters]
            if unknown:
                raise ParameterSpaceError(
                    f"benchmark {label}: unknown parameter(s) {unknown}; defined parameters: {self.parameter_names}"
                )
            missing = [name for name in self._parameters if name not in values]
            if missing:
                raise ParameterSpaceError(f"benchmark {label}: no value for parameter(s) {missing}")
            result = {name: float(values[name]) for name in self._parameters}
        else:
            array = np.asarray(values, dtype=np.float64)
            if array.shape != (self.n_parameters,):
                raise ParameterSpaceError(
                    f"benchmark {label}: expected {self.n_parameters} values (one per parameter "
                    f"{self.parameter_names}), got shape {array.shape}"
                )
            result = dict(zip(self._parameters, array.tolist(), strict=True))
        bad = [name for name, value in result.items() if not math.isfinite(value)]
        if bad:
            raise ParameterSpaceError(f"benchmark {label}: non-finite value for parameter(s) {bad}")
        return result

    def add_benchmark(
        self,
        values: Mapping[str, float] | Sequence[float] | np.ndarray,
        name: str | None = None,
        is_nuisance: bool = False,
    ) -> Benchmark:
        """Add a benchmark from a ``{parameter: value}`` mapping or a sequence in parameter order.

        The default name is ``benchmark_<i>`` with the first free ``i``.
        """
        if name is None:
            i = len(self._benchmarks)
            while f"benchmark_{i}" in self._benchmarks:
                i += 1
            name = f"benchmark_{i}"
        if name in self._benchmarks:
            raise ParameterSpaceError(f"duplicate benchmark name {name!r}")
        benchmark = Benchmark(name, self._values_to_dict(values, repr(name)), is_nuisance)
        point = benchmark.as_array(self.parameter_names)
        for other in self._benchmarks.values():
            if np.array_equal(other.as_array(self.parameter_names), point):
                logger.warning("benchmark %r sits at the same point as benchmark %r", name, other.name)
        self._benchmarks[name] = benchmark
        logger.debug("added benchmark %s: %s", name, benchmark.values)
        return benchmark

    def set_benchmarks(
        self, benchmarks: Mapping[str, Mapping[str, float] | Sequence[float]] | Iterable[Mapping | Sequence]
    ) -> None:
        """Replace all benchmarks by a mapping name -> values or a sequence of values (named automatically)."""
        self.reset_benchmarks()
        if isinstance(benchmarks, Mapping):
            for name, values in benchmarks.items():
                self.add_benchmark(values, name=name)
        else:
            for values in benchmarks:
                self.add_benchmark(values)

    def reset_benchmarks(self) -> None:
        """Remove every benchmark (and the finite-difference bookkeeping)."""
        self._benchmarks = {}
        self.finite_difference_benchmarks = {}
        self.finite_difference_epsilon = None

    def finite_differences(self, epsilon: float = 0.01) -> dict[str, dict[str, str]]:
        r"""Add shifted benchmarks so scores can be taken from finite differences when there is no morphing.

        For every benchmark b and parameter i, adds ``<b>_plus_<i>`` at theta_b + epsilon e_i, so that
        :math:`\partial_i \log w(z|\theta_b) \approx [w(z|\theta_b + \epsilon e_i) - w(z|\theta_b)] /
        (\epsilon\, w(z|\theta_b))`. Returns (and keeps) the mapping ``{b: {parameter: shifted name}}``.
        Add no benchmarks or parameters after calling this.
        """
        epsilon = float(epsilon)
        if not (math.isfinite(epsilon) and epsilon != 0.0):
            raise ParameterSpaceError(
                f"finite_differences: epsilon must be finite and non-zero, got {epsilon}"
            )
        if self.finite_difference_benchmarks:
            raise ParameterSpaceError("finite_differences() was already called on this parameter space")
        originals = [b for b in self._benchmarks.values() if not b.is_nuisance]
        if not originals:
            raise ParameterSpaceError("finite_differences: define at least one benchmark first")
        mapping: dict[str, dict[str, str]] = {}
        for benchmark in originals:
            mapping[benchmark.name] = {}
            for parameter in self._parameters:
                shifted = dict(benchmark.values)
                shifted[parameter] += epsilon
                name = f"{benchmark.name}_plus_{parameter}"
                self.add_benchmark(shifted, name=name)
                mapping[benchmark.name][parameter] = name
        self.finite_difference_benchmarks = mapping
        self.finite_difference_epsilon = epsilon
        return {k: dict(v) for k, v in mapping.items()}

    def card_values(self, benchmark: str) -> dict[tuple[str, int], float]:
        """Param-card entries ``{(lha_block, lha_id): value}`` of a benchmark, transforms applied."""
        values = self._benchmarks[self.benchmark_names[self.benchmark_index(benchmark)]].values
        return {(p.lha_block, p.lha_id): p.card_value(values[p.name]) for p in self._parameters.values()}

    # -- serialisation --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of parameters, benchmarks and finite-difference bookkeeping."""
        return {
            "parameters": [p.to_dict() for p in self._parameters.values()],
            "benchmarks": [
                {"name": b.name, "values": dict(b.values), "is_nuisance": b.is_nuisance}
                for b in self._benchmarks.values()
            ],
            "finite_differences": (
                None
                if self.finite_difference_epsilon is None
                else {
                    "epsilon": self.finite_difference_epsilon,
                    "benchmarks": self.finite_difference_benchmarks,
                }
            ),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], transforms: Mapping[str, CardTransform] | None = None
    ) -> ParameterSpace:
        """Rebuild a parameter space; ``transforms`` re-attaches param-card transforms by parameter name."""
        transforms = dict(transforms or {})
        space = cls()
        for item in data["parameters"]:
            space._add_parameter(Parameter.from_dict(item, transforms.pop(item["name"], None)))
        if transforms:
            raise ParameterSpaceError(f"transforms given for unknown parameter(s) {sorted(transforms)}")
        for item in data["benchmarks"]:
            space.add_benchmark(item["values"], name=item["name"], is_nuisance=bool(item.get("is_nuisance")))
        fd = data.get("finite_differences")
        if fd is not None:
            space.finite_difference_epsilon = float(fd["epsilon"])
            space.finite_difference_benchmarks = {k: dict(v) for k, v in fd["benchmarks"].items()}
        return space

    def __repr__(self) -> str:
        lines = [f"ParameterSpace({self.n_parameters} parameters, {self.n_benchmarks} benchmarks)"]
        for p in self._parameters.values():
            lines.append(
                f"  parameter {p.name}: LHA ({p.lha_block}, {p.lha_id}), max power {p.morphing_max_power}, "
                f"range {p.parameter_range}"
            )
        for b in self._benchmarks.values():
            values = ", ".join(f"{k}={v:g}" for k, v in b.values.items())
            lines.append(f"  benchmark {b.name}: {values}" + (" (nuisance)" if b.is_nuisance else ""))
        return "\n".join(lines)
