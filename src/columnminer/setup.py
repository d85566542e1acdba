"""AnalysisSetup: parameters, benchmarks, morphing and systematics, saved as JSON or zarr attributes."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .errors import ColumnMinerError, MorphingError, SetupFormatError, SetupVersionError
from .morphing import Morpher, find_components, optimize_basis
from .parameters import Benchmark, CardTransform, Parameter, ParameterSpace
from .systematics import NuisanceModel, Systematic, nuisance_model

__all__ = ["DEFAULT_PARTITION_FRACTIONS", "SCHEMA", "SCHEMA_VERSION", "AnalysisSetup"]

logger = logging.getLogger(__name__)

SCHEMA = "columnminer.setup"
SCHEMA_VERSION = 1
ZARR_ATTR = "setup"
#: The default train / validation / test fractions of an event store's events, used by
#: :meth:`~columnminer.io.store.EventStore.create`, ``columnminer analyse`` and the demo: training samples
#: are drawn from "train", early stopping and calibration use "validation", the Fisher information and the
#: Asimov data of the limits use "test".
DEFAULT_PARTITION_FRACTIONS = (0.8, 0.1, 0.1)


class AnalysisSetup:
    r"""Everything that defines an analysis before events exist: the parameter space, its benchmarks and
    the morphing between them.

    The morphing basis is a list of benchmark names; :meth:`morphing_weights` returns weights for every
    benchmark column (zero for benchmarks outside the basis), so that :math:`w(z|\theta) =
    \sum_b w_b(\theta)\, w(z|\theta_b)` is one matrix product with the stored weight columns.

    Example:
        >>> setup = AnalysisSetup()
        >>> _ = setup.add_parameter("anoinputs", 2, name="a2", morphing_max_power=2, parameter_range=(-1, 1))
        >>> _ = setup.add_parameter("anoinputs", 3, name="a3", morphing_max_power=2, parameter_range=(-1, 1))
        >>> _ = setup.add_benchmark({"a2": 0.0, "a3": 0.0}, name="sm")
        >>> setup.set_morphing(max_overall_power=2, seed=0)
        >>> setup.morphing_benchmarks[0], len(setup.morphing_benchmarks)
        ('sm', 6)
        >>> bool(np.isclose(setup.morphing_weights([0.0, 0.0])[0], 1.0))
        True
    """

    def __init__(self, parameter_space: ParameterSpace | None = None) -> None:
        self.parameter_space = parameter_space if parameter_space is not None else ParameterSpace()
        self.morpher: Morpher | None = None
        self.morphing_benchmarks: list[str] = []
        self.systematics: list[Systematic] = []
        self.metadata: dict[str, Any] = {}

    # -- the parameter space --------------------------------------------------------------------------
    def add_parameter(self, lha_block: str, lha_id: int, name: str | None = None, **kwargs: Any) -> Parameter:
        """Add a parameter; see :meth:`ParameterSpace.add_parameter`."""
        return self.parameter_space.add_parameter(lha_block, lha_id, name, **kwargs)

    def set_parameters(self, parameters: Any) -> None:
        """Replace all parameters (drops benchmarks and morphing); see :meth:`ParameterSpace.set_parameters`."""
        self._drop_morphing("parameters were replaced")
        self.parameter_space.set_parameters(parameters)

    def add_benchmark(self, values: Any, name: str | None = None) -> Benchmark:
        """Add a benchmark; see :meth:`ParameterSpace.add_benchmark`. The morphing basis is kept."""
        return self.parameter_space.add_benchmark(values, name)

    def set_benchmarks(self, benchmarks: Any) -> None:
        """Replace all benchmarks (drops the morphing setup); see :meth:`ParameterSpace.set_benchmarks`."""
        self._drop_morphing("benchmarks were replaced")
        self.parameter_space.set_benchmarks(benchmarks)

    def finite_differences(self, epsilon: float = 0.01) -> dict[str, dict[str, str]]:
        """Add finite-difference benchmarks; see :meth:`ParameterSpace.finite_differences`."""
        return self.parameter_space.finite_differences(epsilon)

    def _drop_morphing(self, why: str) -> None:
        if self.morpher is not None:
            logger.warning("morphing setup removed: %s", why)
        self.morpher = None
        self.morphing_benchmarks = []

    @property
    def parameter_names(self) -> list[str]:
        """The parameter names, in order (those of :attr:`parameter_space`)."""
        return self.parameter_space.parameter_names

    @property
    def benchmark_names(self) -> list[str]:
        """The benchmark names, in order, nuisance benchmarks included (those of :attr:`parameter_space`)."""
        return self.parameter_space.benchmark_names

    # -- morphing -------------------------------------------------------------------------------------
    def set_morphing(
        self,
        max_overall_power: int | None = None,
        n_basis: int | None = None,
        include_existing_benchmarks: bool = True,
        n_trials: int = 100,
        n_test_thetas: int = 100,
        refine: bool = True,
        seed: int | None = None,
        components: np.ndarray | Sequence | None = None,
    ) -> None:
        """Build the morphing: components, an optimised basis, and the new benchmarks it needs.

        Components come from each parameter's ``morphing_max_power`` and ``max_overall_power`` (or are
        given). Existing benchmarks stay in the basis when ``include_existing_benchmarks``; the remaining
        points are chosen by :func:`~columnminer.morphing.optimize_basis` and added as benchmarks
        ``morphing_basis_vector_<i>``. ``n_basis`` above the number of components gives an over-determined
        basis (pseudo-inverse), which lowers the squared morphing weights further.
        """
        space = self.parameter_space
        if space.n_parameters == 0:
            raise MorphingError("set_morphing: define parameters first")
        components = (
            find_components(space.max_powers, max_overall_power)
            if components is None
            else np.asarray(components, dtype=np.int64)
        )
        existing = [b.name for b in space.benchmarks.values() if not b.is_nuisance]
        fixed_names = existing if include_existing_benchmarks else []
        if n_basis is None:
            n_basis = max(len(components), len(fixed_names))
        basis = optimize_basis(
            components,
            space.parameter_ranges,
            n_basis=n_basis,
            fixed=space.benchmark_array(fixed_names) if fixed_names else None,
            n_trials=n_trials,
            n_test_thetas=n_test_thetas,
            refine=refine,
            seed=seed,
        )
        morpher = Morpher(components, basis)
        names = list(fixed_names)
        i = 0
        for point in basis[len(fixed_names) :]:
            while f"morphing_basis_vector_{i}" in space.benchmarks:
                i += 1
            names.append(space.add_benchmark(point, name=f"morphing_basis_vector_{i}").name)
        self.morpher, self.morphing_benchmarks = morpher, names
        logger.info(
            "morphing: %d components, %d basis points, mean squared weight sum %.4g over the ranges",
            morpher.n_components,
            morpher.n_basis,
            morpher.expected_squared_weight_sum(space.parameter_ranges),
        )

    def set_morphing_basis(
        self,
        benchmarks: Sequence[str],
        max_overall_power: int | None = None,
        components: np.ndarray | Sequence | None = None,
    ) -> None:
        """Use existing benchmarks (by name, in that order) as the morphing basis, without optimisation."""
        space = self.parameter_space
        for name in benchmarks:
            space.benchmark_index(name)
        if components is None:
            components = find_components(space.max_powers, max_overall_power)
        self.morpher = Morpher(components, space.benchmark_array(benchmarks))
        self.morphing_benchmarks = list(benchmarks)

    def _require_morpher(self) -> Morpher:
        if self.morpher is None:
            raise MorphingError("no morphing setup: call set_morphing() or set_morphing_basis() first")
        return self.morpher

    def _basis_columns(self) -> np.ndarray:
        return np.array(
            [self.parameter_space.benchmark_index(n) for n in self.morphing_benchmarks], dtype=np.int64
        )

    def morphing_weights(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        """Morphing weights for every benchmark column, shape [..., n_benchmarks] (zero outside the basis)."""
        basis_weights = self._require_morpher().weights(thetas)
        out = np.zeros((*basis_weights.shape[:-1], self.parameter_space.n_benchmarks))
        out[..., self._basis_columns()] = basis_weights
        return out

    def morphing_weight_gradients(self, thetas: np.ndarray | Sequence) -> np.ndarray:
        """d w_b / d theta_i for every benchmark column, shape [..., n_parameters, n_benchmarks]."""
        basis_gradients = self._require_morpher().weight_gradients(thetas)
        out = np.zeros((*basis_gradients.shape[:-1], self.parameter_space.n_benchmarks))
        out[..., self._basis_columns()] = basis_gradients
        return out

    # -- systematics ------------------------------------------------------------------------------------
    def add_systematics(
        self,
        effect: str,
        systematic_name: str | None = None,
        norm_variation: float = 1.1,
        scale: str = "mu",
        scale_variations: Sequence[float] = (0.5, 1.0, 2.0),
        pdf_variation: str | None = None,
        **pdf_options: Any,
    ) -> Systematic:
        """Add a systematic uncertainty (MadMiner's ``add_systematics``): ``effect`` "norm" (a normalisation
        factor ``norm_variation`` at +1 sigma), "scale" (``scale`` "mu" / "mur" / "muf" varied by the
        ``scale_variations`` factors) or "pdf" (the error members of ``pdf_variation``; give ``pdf_members``,
        ``pdf_kind`` and optionally ``n_components``, or use :func:`columnminer.io.lhe.pdf_systematic` to
        read them from an LHE header). Names default to the effect ("norm", "scale", "pdf", then _1, _2...).

        Example:
            >>> setup = AnalysisSetup()
            >>> _ = setup.add_parameter("hvv", 2, name="a2", parameter_range=(-1, 1))
            >>> _ = setup.add_systematics("norm", "lumi", norm_variation=1.05)
            >>> _ = setup.add_systematics("scale", scale_variations=(0.5, 1.0, 2.0))
            >>> setup.nuisance_parameter_names, setup.nuisance_benchmark_names
            (['lumi', 'scale'], ['lumi', 'scale_up', 'scale_down'])
        """
        taken = {s.name for s in self.systematics}
        name = systematic_name
        if name is None:
            name, i = effect, 1
            while name in taken:
                name, i = f"{effect}_{i}", i + 1
        if name in taken:
            raise MorphingError(f"a systematic named {name!r} exists already")
        systematic = Systematic(
            name,
            effect,
            norm_variation=float(norm_variation),
            scale=scale,
            scale_variations=tuple(float(f) for f in scale_variations),
            pdf_variation=pdf_variation,
            **pdf_options,
        )
        nuisance_model([*self.systematics, systematic])  # raises on clashing names
        self.systematics.append(systematic)
        return systematic

    def replace_systematic(self, systematic: Systematic) -> None:
        """Replace the systematic of the same name (e.g. after fitting PDF replica components)."""
        names = [s.name for s in self.systematics]
        if systematic.name not in names:
            raise MorphingError(f"no systematic named {systematic.name!r}; systematics are {names}")
        self.systematics[names.index(systematic.name)] = systematic

    def nuisance_model(self) -> NuisanceModel:
        """The :class:`~columnminer.systematics.NuisanceModel` of all systematics (block-diagonal)."""
        return nuisance_model(self.systematics)

    @property
    def nuisance_parameter_names(self) -> list[str]:
        """Nuisance parameters of all systematics, in order."""
        return list(self.nuisance_model().nuisance_names)

    @property
    def nuisance_benchmark_names(self) -> list[str]:
        """The ``nuisance_weights`` columns the systematics need, in order."""
        return list(self.nuisance_model().column_names)

    # -- serialisation --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The versioned, JSON-ready description of this setup."""
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "columnminer_version": __version__,
            **self.parameter_space.to_dict(),
            "morphing": (
                None
                if self.morpher is None
                else {**self.morpher.to_dict(), "basis_benchmarks": list(self.morphing_benchmarks)}
            ),
            "systematics": [s.to_dict() for s in self.systematics],
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(
        cls,
        data: Any,
        source: str = "<dict>",
        transforms: Mapping[str, CardTransform] | None = None,
        disable_morphing: bool = False,
    ) -> AnalysisSetup:
        """Rebuild a setup; errors name ``source`` and the offending field."""
        _validate(data, source)
        try:
            setup = cls(ParameterSpace.from_dict(data, transforms))
            morphing = data.get("morphing")
            if morphing is not None and not disable_morphing:
                setup.morpher = Morpher.from_dict(morphing)
                setup.morphing_benchmarks = list(morphing["basis_benchmarks"])
                stored = setup.parameter_space.benchmark_array(setup.morphing_benchmarks)
                if not np.array_equal(stored, setup.morpher.basis):
                    raise SetupFormatError(
                        f"{source}: field 'morphing.basis' disagrees with the values of benchmarks "
                        f"{setup.morphing_benchmarks}"
                    )
        except SetupFormatError:
            raise
        except (ColumnMinerError, KeyError, TypeError, ValueError) as err:
            raise SetupFormatError(f"{source}: inconsistent setup: {err}") from err
        try:
            setup.systematics = [Systematic.from_dict(item) for item in data.get("systematics", [])]
        except (ColumnMinerError, TypeError) as err:
            raise SetupFormatError(f"{source}: field 'systematics': {err}") from err
        setup.metadata = dict(data.get("metadata", {}))
        return setup

    def save(self, path: str | os.PathLike) -> Path:
        """Write the setup as JSON, atomically (a crash never leaves a half-written file). The file gets
        the permissions of any new file (0666 less the umask, usually 0644), not the 0600 of a temporary one.

        Example:
            >>> import tempfile
            >>> setup = AnalysisSetup()
            >>> _ = setup.add_parameter("anoinputs", 2, name="a2")
            >>> path = setup.save(Path(tempfile.mkdtemp()) / "setup.json")
            >>> AnalysisSetup.load(path) == setup
            True
        """
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text + "\n")
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        transforms: Mapping[str, CardTransform] | None = None,
        disable_morphing: bool = False,
    ) -> AnalysisSetup:
        """Read a setup written by :meth:`save`; corrupt or newer files raise :class:`SetupFormatError`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise SetupFormatError(
                f"{path}: not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}"
            ) from err
        except UnicodeDecodeError as err:
            raise SetupFormatError(f"{path}: not a text file: {err}") from err
        return cls.from_dict(data, source=str(path), transforms=transforms, disable_morphing=disable_morphing)

    def to_zarr(self, group: Any) -> None:
        """Store the setup in the attributes of a zarr group (or of the group at a path / URL)."""
        import zarr

        if not isinstance(group, zarr.Group):
            group = zarr.open_group(group, mode="a")
        group.update_attributes({ZARR_ATTR: self.to_dict(), "columnminer": __version__})  # one write

    @classmethod
    def from_zarr(
        cls, group: Any, transforms: Mapping[str, CardTransform] | None = None, disable_morphing: bool = False
    ) -> AnalysisSetup:
        """Read the setup from the attributes of a zarr group (or of the group at a path / URL)."""
        import zarr

        source = str(group)
        if not isinstance(group, zarr.Group):
            try:
                group = zarr.open_group(group, mode="r")
            except (FileNotFoundError, zarr.errors.GroupNotFoundError) as err:
                raise SetupFormatError(f"{source}: no zarr group found ({err})") from err
        attrs = group.attrs.asdict()
        if ZARR_ATTR not in attrs:
            raise SetupFormatError(f"{source}: the zarr group has no '{ZARR_ATTR}' attribute")
        return cls.from_dict(attrs[ZARR_ATTR], source, transforms, disable_morphing)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnalysisSetup):
            return NotImplemented
        mine, theirs = self.to_dict(), other.to_dict()
        mine.pop("columnminer_version")
        theirs.pop("columnminer_version")
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        text = repr(self.parameter_space).replace("ParameterSpace", "AnalysisSetup", 1)
        if self.morpher is not None:
            text += f"\n  morphing: {self.morpher!r} on {self.morphing_benchmarks}"
        return text

    def _repr_html_(self) -> str:
        from .display import html_summary

        space = self.parameter_space
        rows = [
            (f"parameter {p.name}", f"LHA {p.lha_block} {p.lha_id}, range {list(p.parameter_range)}")
            for p in space.parameters.values()
        ]
        rows.append(("benchmarks", ", ".join(space.benchmark_names)))
        if self.morpher is not None:
            rows.append(("morphing", f"{self.morpher.n_components} components on {self.morphing_benchmarks}"))
        return html_summary("AnalysisSetup", rows)


def _umask() -> int:
    """The process's umask (read by setting and restoring it: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_PARAMETER_FIELDS = {
    "name": str,
    "lha_block": str,
    "lha_id": int,
    "morphing_max_power": int,
    "parameter_range": list,
}
_BENCHMARK_FIELDS = {"name": str, "values": dict}


def _expect(container: Any, key: str, kind: type | tuple, where: str, source: str) -> Any:
    if not isinstance(container, dict) or key not in container:
        raise SetupFormatError(f"{source}: field '{where}{key}' is missing")
    value = container[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SetupFormatError(
            f"{source}: field '{where}{key}' should be {getattr(kind, '__name__', kind)}, got {value!r}"
        )
    return value


def _validate(data: Any, source: str) -> None:
    """Check the schema marker, the version and the field types; raise naming the first bad field."""
    if not isinstance(data, dict):
        raise SetupFormatError(f"{source}: a setup must be a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise SetupFormatError(f"{source}: field 'schema' should be {SCHEMA!r}, got {data.get('schema')!r}")
    version = _expect(data, "schema_version", int, "", source)
    if version > SCHEMA_VERSION:
        raise SetupVersionError(
            f"{source}: written with setup schema version {version} (columnminer "
            f"{data.get('columnminer_version', '?')}); this columnminer {__version__} reads up to "
            f"version {SCHEMA_VERSION}: upgrade columnminer"
        )
    if version < 1:
        raise SetupFormatError(f"{source}: field 'schema_version' must be >= 1, got {version}")
    for i, item in enumerate(_expect(data, "parameters", list, "", source)):
        for key, kind in _PARAMETER_FIELDS.items():
            _expect(item, key, kind, f"parameters[{i}].", source)
    for i, item in enumerate(_expect(data, "benchmarks", list, "", source)):
        for key, kind in _BENCHMARK_FIELDS.items():
            _expect(item, key, kind, f"benchmarks[{i}].", source)
        for name, value in item["values"].items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise SetupFormatError(f"{source}: field 'benchmarks[{i}].values.{name}' should be a number")
    morphing = data.get("morphing")
    if morphing is not None:
        for key in ("components", "basis", "basis_benchmarks"):
            _expect(morphing, key, list, "morphing.", source)
