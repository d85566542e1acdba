"""MadMiner's HDF5 setup (parameters, benchmarks, morphing, systematics) read into and written from an AnalysisSetup."""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputFormatError, SetupFormatError, SetupVersionError
from ..parameters import CardTransform, LinearTransform, UnsavedTransform
from ..setup import AnalysisSetup
from ..systematics import Systematic

__all__ = [
    "MadMinerLayout",
    "read_madminer_layout",
    "read_madminer_setup",
    "transform_from_madminer",
    "transform_to_madminer",
    "write_madminer_setup",
]

logger = logging.getLogger(__name__)

#: MadMiner's text for "no expression" (``str(None)``, hdf5.EMPTY_EXPR since 0.8).
EMPTY_EXPR = "None"
#: MadMiner's param-card transform text for "none" (``MadMiner.add_parameter`` stores ``"_"``).
NO_TRANSFORM = "_"
#: The datasets every MadMiner setup file of the supported layout (MadMiner 0.5 - 0.9) holds.
REQUIRED = (
    "parameters/names",
    "parameters/lha_blocks",
    "parameters/lha_ids",
    "parameters/max_power",
    "parameters/val_ranges",
    "parameters/transforms",
    "benchmarks/names",
    "benchmarks/values",
)
#: Attribute of the ``nuisance_parameters`` group where :func:`write_madminer_setup` keeps the norm
#: systematics ``{name: norm_variation}``, which MadMiner 0.9.6 cannot load from its ``systematics`` group.
NORM_ATTRIBUTE = "columnminer_norm_systematics"
#: Attribute of the ``nuisance_parameters`` group where :func:`write_madminer_setup` keeps the PDF systematics
#: ``{name: {"pdf_variation", "pdf_members", "pdf_kind"}}`` (MadMiner 0.9.6 cannot load those either).
PDF_ATTRIBUTE = "columnminer_pdf_systematics"
#: Relative tolerance of the check of MadMiner's stored morphing matrix against columnminer's.
MORPHING_RTOL = 1e-6


def _strings(values: Any) -> list[str]:
    """h5py byte strings (MadMiner writes ``S256``) as Python strings."""
    return [v.decode("ascii") if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]


@contextmanager
def open_h5(path: str | os.PathLike, mode: str = "r") -> Iterator[Any]:
    """Open an HDF5 file; a file that is missing or not HDF5 raises
    :class:`~columnminer.errors.InputFormatError` naming it."""
    import h5py

    try:
        handle = h5py.File(os.fspath(path), mode)
    except FileNotFoundError as err:
        raise InputFormatError(f"{path}: no such file", path=os.fspath(path)) from err
    except OSError as err:
        raise InputFormatError(
            f"{path}: not a MadMiner file (not HDF5: {err})", path=os.fspath(path)
        ) from err
    with handle:
        yield handle


def check_madminer_layout(handle: Any, path: str) -> None:
    """Raise unless ``handle`` is a MadMiner file of the supported layout, naming the missing field.

    :class:`~columnminer.errors.InputFormatError` when it holds neither a ``parameters`` nor a ``benchmarks``
    group, :class:`~columnminer.errors.SetupVersionError` when a dataset of ``REQUIRED`` is missing.

    Example:
        >>> check_madminer_layout({"events": None}, "events.h5")
        Traceback (most recent call last):
        ...
        columnminer.errors.InputFormatError: events.h5: not a MadMiner file (no 'parameters' or ...)
    """
    if "parameters" not in handle and "benchmarks" not in handle:
        raise InputFormatError(
            f"{path}: not a MadMiner file (no 'parameters' or 'benchmarks' group; it holds {sorted(handle)})",
            path=path,
        )
    missing = [name for name in REQUIRED if name not in handle]
    if missing:
        raise SetupVersionError(
            f"{path}: field '{missing[0]}' is missing: written by a MadMiner version whose layout this "
            "columnminer does not read (supported: MadMiner 0.5 - 0.9, checked against 0.9.6)"
        )


@dataclass
class MadMinerLayout:
    """What a MadMiner file declares besides the setup: benchmark flags, nuisance parameters, the reference
    benchmark, observables and the sample summary (all as stored, MadMiner's names).

    Example:
        >>> MadMinerLayout(["sm"], [False], "sm").physics_benchmarks
        ['sm']
    """

    benchmark_names: list[str]
    is_nuisance: list[bool]
    reference_benchmark: str | None
    nuisance_parameters: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    observable_names: list[str] = field(default_factory=list)
    observable_definitions: list[str] = field(default_factory=list)
    signal_events: list[int] = field(default_factory=list)
    background_events: int = 0

    @property
    def physics_benchmarks(self) -> list[str]:
        """The benchmarks that are parameter points (not nuisance variations), in file order."""
        return [n for n, flag in zip(self.benchmark_names, self.is_nuisance, strict=True) if not flag]


def read_madminer_layout(handle: Any, path: str) -> MadMinerLayout:
    """The :class:`MadMinerLayout` of an open MadMiner file (see :func:`read_madminer_setup`).

    Example:
        >>> import tempfile, h5py
        >>> p = tempfile.mkdtemp() + "/s.h5"
        >>> with h5py.File(p, "w") as f:
        ...     f["benchmarks/names"] = [b"sm"]
        >>> with h5py.File(p, "r") as f:
        ...     read_madminer_layout(f, p).reference_benchmark is None
        True
    """
    names = _strings(handle["benchmarks/names"][()])
    flags = (
        [bool(v) for v in handle["benchmarks/is_nuisance"][()]] if "benchmarks/is_nuisance" in handle else []
    )
    flags = flags or [False] * len(names)
    reference = [False] * len(names)
    if "benchmarks/is_reference" in handle:
        reference = [bool(v) for v in handle["benchmarks/is_reference"][()]]
    nuisance = []
    if "nuisance_parameters/names" in handle:
        columns = ("names", "systematics", "benchmark_positive", "benchmark_negative")
        rows = zip(*(_strings(handle[f"nuisance_parameters/{c}"][()]) for c in columns), strict=True)
        nuisance = [
            (n, s, None if p == EMPTY_EXPR else p, None if m == EMPTY_EXPR else m) for n, s, p, m in rows
        ]
    layout = MadMinerLayout(
        names, flags, next((n for n, r in zip(names, reference, strict=True) if r), None), nuisance
    )
    if "observables/names" in handle:
        layout.observable_names = _strings(handle["observables/names"][()])
        layout.observable_definitions = _strings(handle["observables/definitions"][()])
    if "sample_summary/signal_events" in handle:
        layout.signal_events = [int(v) for v in np.atleast_1d(handle["sample_summary/signal_events"][()])]
        layout.background_events = int(handle["sample_summary/background_events"][()])
    return layout


# -- param-card transforms: MadMiner keeps a Python expression in theta ------------------------------
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load)
_ALLOWED_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)


def _evaluate(node: ast.AST, theta: float) -> float:
    """Arithmetic of an expression tree in ``theta`` (numbers, + - * /); never executes text."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, theta)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id == "theta":
        return theta
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _ALLOWED_OPS):
        value = _evaluate(node.operand, theta)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ALLOWED_OPS):
        left, right = _evaluate(node.left, theta), _evaluate(node.right, theta)
        ops = {
            ast.Add: left.__add__,
            ast.Sub: left.__sub__,
            ast.Mult: left.__mul__,
            ast.Div: left.__truediv__,
        }
        return ops[type(node.op)](right)
    raise ValueError(f"unsupported element {type(node).__name__}")


def transform_from_madminer(text: str, parameter: str) -> CardTransform | None:
    r"""MadMiner's param-card transform (a Python expression in ``theta``) as a columnminer transform.

    ``"_"`` (MadMiner's default), ``"None"`` or empty: no transform. A linear expression (numbers,
    ``theta``, + - * /, checked linear at
    three points) becomes :class:`~columnminer.parameters.LinearTransform` :math:`v = s\theta + c`; anything
    else (``theta**2``, a function call) an :class:`~columnminer.parameters.UnsavedTransform` that names the
    expression: pass the callable again with ``transforms=`` when loading. Text is never executed.

    Example:
        >>> transform_from_madminer("2.0*theta + 1", "b")
        LinearTransform(scale=2.0, offset=1.0)
        >>> transform_from_madminer("None", "b") is None
        True
    """
    text = str(text).strip()
    if text in ("", EMPTY_EXPR, NO_TRANSFORM):
        return None
    try:
        tree = ast.parse(text, mode="eval")
        offset, scale = _evaluate(tree, 0.0), _evaluate(tree, 1.0) - _evaluate(tree, 0.0)
        if not np.isclose(_evaluate(tree, 2.0), offset + 2 * scale, rtol=1e-12, atol=1e-12):
            raise ValueError("not linear in theta")
    except (SyntaxError, ValueError, ZeroDivisionError) as err:
        logger.warning("parameter %s: MadMiner transform %r kept as a placeholder (%s)", parameter, text, err)
        return UnsavedTransform(parameter, f"MadMiner param_card_transform {text!r}")
    return LinearTransform(scale=scale, offset=offset)


def transform_to_madminer(transform: CardTransform | None) -> str:
    """A columnminer param-card transform as MadMiner's expression text (``"_"`` for none, as MadMiner).

    Only :class:`~columnminer.parameters.LinearTransform` can be written; any other transform is written as
    ``"_"`` with a warning (MadMiner then writes theta itself to the param card).

    Example:
        >>> transform_to_madminer(LinearTransform(scale=2.0, offset=1.0))
        '2.0*theta + 1.0'
    """
    if transform is None:
        return NO_TRANSFORM
    if isinstance(transform, LinearTransform):
        return f"{transform.scale!r}*theta + {transform.offset!r}"
    logger.warning(
        "param-card transform %r cannot be written as a MadMiner expression: written as '_'", transform
    )
    return NO_TRANSFORM


# -- reading -------------------------------------------------------------------------------------------
def _add_parameters(setup: AnalysisSetup, handle: Any) -> None:
    columns = [handle[f"parameters/{c}"][()] for c in ("names", "lha_blocks", "lha_ids", "max_power")]
    ranges = np.asarray(handle["parameters/val_ranges"][()], dtype=np.float64).reshape(-1, 2)
    transforms = _strings(handle["parameters/transforms"][()])
    names, blocks = _strings(columns[0]), _strings(columns[1])
    for i, name in enumerate(names):
        setup.add_parameter(
            blocks[i],
            int(columns[2][i]),
            name=name,
            morphing_max_power=int(columns[3][i]),
            parameter_range=tuple(ranges[i]),
            param_card_transform=transform_from_madminer(transforms[i], name),
        )


def _add_benchmarks(setup: AnalysisSetup, handle: Any, layout: MadMinerLayout) -> None:
    values = np.asarray(handle["benchmarks/values"][()], dtype=np.float64).reshape(
        len(layout.benchmark_names), -1
    )
    for name, flag, row in zip(layout.benchmark_names, layout.is_nuisance, values, strict=True):
        if not flag:
            setup.add_benchmark(row, name=name)
    if "finite_differences/base_benchmarks" in handle:
        space = setup.parameter_space
        bases = _strings(handle["finite_differences/base_benchmarks"][()])
        shifted = [_strings(row) for row in handle["finite_differences/shifted_benchmarks"][()]]
        space.finite_difference_benchmarks = {
            b: dict(zip(setup.parameter_names, row, strict=True))
            for b, row in zip(bases, shifted, strict=True)
        }
        space.finite_difference_epsilon = float(handle["finite_differences/epsilon"][()])


def _set_morphing(setup: AnalysisSetup, handle: Any, path: str, layout: MadMinerLayout) -> None:
    """Morphing from MadMiner's components, on the physics benchmarks; checked against its stored matrix."""
    if "morphing/components" not in handle:
        return
    components = np.asarray(handle["morphing/components"][()], dtype=np.int64)
    # [n_components, n_benchmarks] (MadMiner's docstring says the transpose; its code stores this)
    stored = np.asarray(handle["morphing/morphing_matrix"][()], dtype=np.float64)
    physics = layout.physics_benchmarks
    if stored.shape != (len(components), len(physics)):
        raise SetupFormatError(
            f"{path}: field 'morphing/morphing_matrix' has shape {stored.shape}, expected "
            f"({len(components)}, {len(physics)}) for {len(components)} components and benchmarks {physics}"
        )
    basis = [name for name, column in zip(physics, stored.T, strict=True) if np.any(column != 0.0)]
    setup.set_morphing_basis(basis, components=components)
    ours = setup.morpher.matrix.T  # [n_basis, n_components]
    theirs = stored.T[[physics.index(b) for b in basis]]
    scale = float(np.max(np.abs(theirs))) or 1.0
    if not np.allclose(ours, theirs, rtol=MORPHING_RTOL, atol=MORPHING_RTOL * scale):
        worst = np.unravel_index(np.argmax(np.abs(ours - theirs)), ours.shape)
        raise SetupFormatError(
            f"{path}: field 'morphing/morphing_matrix' disagrees with the morphing of benchmarks {basis} and "
            f"components {components.tolist()}: entry (benchmark {basis[worst[0]]!r}, component "
            f"{components[worst[1]].tolist()}) is {theirs[worst]:.10g} in the file, {ours[worst]:.10g} here"
        )


def _pdf_systematic(
    name: str, value: str, nuisance: list[tuple[str, str, str | None, str | None]], path: str
) -> Systematic:
    """A PDF systematic of a MadMiner file: one nuisance parameter per error member (``LHEReader``: only a
    nu = +1 benchmark each, a symmetric Hessian set here), or +- pairs (a Hessian set, as written by
    :func:`write_madminer_setup`)."""
    rows = [(pos, neg) for _, systematic, pos, neg in nuisance if systematic == name]
    if not rows:
        raise SetupFormatError(
            f"{path}: field 'systematics/types': PDF systematic {name!r} has no nuisance parameters in the file "
            "(LHEReader.save adds one per error member with the events): import the event file"
        )
    two_sided = [neg is not None for _, neg in rows]
    if any(two_sided) and not all(two_sided):
        raise SetupFormatError(
            f"{path}: field 'nuisance_parameters/benchmark_negative': PDF systematic {name!r} mixes one- and "
            "two-sided members"
        )
    kind, members = ("hessian", 2 * len(rows)) if all(two_sided) else ("symmhessian", len(rows))
    return Systematic(name, "pdf", pdf_variation=value, pdf_members=members, pdf_kind=kind)


def _systematic(
    name: str,
    kind: str,
    value: str,
    scale: str,
    path: str,
    nuisance: list[tuple[str, str, str | None, str | None]],
) -> Systematic:
    try:
        if kind == "norm":
            return Systematic(name, "norm", norm_variation=float(value))
        if kind == "scale":
            factors = tuple(float(f) for f in value.split(","))
            return Systematic(name, "scale", scale=scale, scale_variations=factors)
    except ValueError as err:
        raise SetupFormatError(f"{path}: field 'systematics/values' of systematic {name!r}: {err}") from err
    if kind == "pdf":
        return _pdf_systematic(name, value, nuisance, path)
    raise SetupFormatError(
        f"{path}: field 'systematics/types': systematic {name!r} has the unknown type {kind!r} "
        "(MadMiner's types: norm, scale, pdf)"
    )


def _add_systematics(setup: AnalysisSetup, handle: Any, path: str, layout: MadMinerLayout) -> None:
    if "systematics/names" in handle:
        columns = [_strings(handle[f"systematics/{c}"][()]) for c in ("names", "types", "values", "scales")]
        for name, kind, value, scale in zip(*columns, strict=True):
            setup.systematics.append(_systematic(name, kind, value, scale, path, layout.nuisance_parameters))
    if "nuisance_parameters" in handle:  # norm and PDF systematics written by export_madminer
        attributes = handle["nuisance_parameters"].attrs
        norms = json.loads(attributes.get(NORM_ATTRIBUTE, "{}"))
        setup.systematics.extend(
            Systematic(name, "norm", norm_variation=float(v)) for name, v in norms.items()
        )
        pdfs = json.loads(attributes.get(PDF_ATTRIBUTE, "{}"))
        setup.systematics.extend(Systematic(name, "pdf", **spec) for name, spec in pdfs.items())


def read_madminer_setup(path: str | os.PathLike) -> AnalysisSetup:
    """The :class:`~columnminer.setup.AnalysisSetup` of a MadMiner HDF5 file (``MadMiner.save`` or an event file).

    Reads parameters (LHA block and id, range, morphing max power, param-card transform via
    :func:`transform_from_madminer`), the physics benchmarks (MadMiner's nuisance benchmarks become
    ``nuisance_weights`` columns, not benchmarks), finite differences, the morphing (MadMiner's components
    on its benchmarks; its stored matrix :math:`M_{bc}` must equal columnminer's pseudo-inverse
    :math:`[A^+]^T`, :math:`A_{bc} = \\prod_i \\theta_{b,i}^{k_{ci}}`, to 1e-6 relative) and the norm,
    scale and PDF systematics (a PDF set's members are the nuisance parameters ``LHEReader.save`` writes with
    the events: one-sided members make a symmetric Hessian set, +- pairs a Hessian set).
    ``metadata["madminer"]`` keeps the file, the reference benchmark and the observable
    definitions. Reference: Brehmer et al., "MadMiner", arXiv:1907.10621.

    Errors name the file and field: :class:`~columnminer.errors.InputFormatError` (not HDF5, not MadMiner),
    :class:`~columnminer.errors.SetupVersionError` (an unknown layout), :class:`~columnminer.errors.SetupFormatError`
    (a morphing matrix that disagrees, an unsupported systematic).

    Example:
        >>> from columnminer.madminer.h5_write import _demo_setup_file
        >>> setup = read_madminer_setup(_demo_setup_file())
        >>> setup.parameter_names, setup.benchmark_names[:2]
        (['a', 'b'], ['sm', 'bsm'])
    """
    path = os.fspath(path)
    with open_h5(path) as handle:
        check_madminer_layout(handle, path)
        layout = read_madminer_layout(handle, path)
        setup = AnalysisSetup()
        _add_parameters(setup, handle)
        _add_benchmarks(setup, handle, layout)
        _set_morphing(setup, handle, path, layout)
        _add_systematics(setup, handle, path, layout)
    order = [systematic for _, systematic, _, _ in layout.nuisance_parameters]
    setup.systematics.sort(key=lambda s: order.index(s.name) if s.name in order else len(order))
    setup.metadata["madminer"] = {
        "file": path,
        "reference_benchmark": layout.reference_benchmark,
        "observables": dict(zip(layout.observable_names, layout.observable_definitions, strict=True)),
    }
    logger.info(
        "%s: MadMiner setup with %d parameters, %d benchmarks",
        path,
        len(setup.parameter_names),
        len(setup.benchmark_names),
    )
    return setup


# -- writing -------------------------------------------------------------------------------------------
def _nuisance_parameters(setup: AnalysisSetup) -> list[tuple[str, str, str | None, str | None]]:
    """MadMiner's nuisance parameters (name, systematic, benchmark at nu = +1, at nu = -1) of a setup: one per
    norm or scale systematic, one per member of a symmetric Hessian PDF set and one per +- pair of a Hessian
    set (MadMiner's exponential-quadratic interpolation of a two-sided parameter is columnminer's)."""
    rows = []
    for systematic in setup.systematics:
        name, columns = systematic.name, systematic.column_names
        if systematic.effect == "norm":
            rows.append((f"{name}_nuisance_param_0", name, columns[0], None))
        elif systematic.effect == "scale":
            up, down = systematic.scale_factors
            pair = (columns[0], columns[1]) if up is not None and down is not None else (columns[0], None)
            rows.append((f"{name}_nuisance_param_0", name, *pair))  # one variation: the nu = +1 benchmark
        elif systematic.pdf_kind == "symmhessian":
            rows.extend((f"{name}_nuisance_param_{k}", name, c, None) for k, c in enumerate(columns, 1))
        elif systematic.pdf_kind == "hessian":
            rows.extend(
                (f"{name}_nuisance_param_{k}", name, columns[2 * k], columns[2 * k + 1])
                for k in range(len(columns) // 2)
            )
        else:
            raise SetupFormatError(
                f"systematic {name!r}: a PDF replica set cannot be written to a MadMiner file (MadMiner keeps "
                "one or two benchmarks per nuisance parameter, not principal components of replicas)"
            )
    return rows


def write_dataset(handle: Any, name: str, data: Any, strings: bool = False) -> None:
    """Create the dataset ``name`` of an open HDF5 file from ``data``; with ``strings`` as MadMiner's
    fixed-width ASCII strings (``S256``, non-ASCII characters dropped).

    Example:
        >>> import h5py
        >>> with h5py.File("setup.h5", "w", driver="core", backing_store=False) as handle:
        ...     write_dataset(handle, "benchmarks/names", ["sm", "w"], strings=True)
        ...     handle["benchmarks/names"][()].tolist()
        [b'sm', b'w']
    """
    if strings:
        handle.create_dataset(name, data=[str(s).encode("ascii", "ignore") for s in data], dtype="S256")
    else:
        handle.create_dataset(name, data=data)


def write_madminer_setup(setup: AnalysisSetup, handle: Any, nuisance_columns: list[str]) -> list[str]:
    """Write ``setup`` into an open, empty HDF5 file in MadMiner 0.9's layout; returns the benchmark names
    in file order (physics benchmarks, then the ``nuisance_columns``), the column order of the weights.

    The first benchmark is MadMiner's reference benchmark. The morphing matrix is columnminer's
    [n_components, n_benchmarks] (zero columns for benchmarks outside the basis). Norm systematics are left out of the
    ``systematics`` group (MadMiner 0.9.6 cannot load them) but keep their nuisance parameters, which is
    all MadMiner's analysis uses; their variations are kept in the attribute ``NORM_ATTRIBUTE``. PDF
    systematics likewise (``PDF_ATTRIBUTE``), with one nuisance parameter per member of a symmetric Hessian
    set or per +- pair of a Hessian set; a replica set is an error.

    Example:
        >>> import tempfile, h5py
        >>> from columnminer.demo import golden_channel_setup
        >>> with h5py.File(tempfile.mkdtemp() + "/s.h5", "w") as f:
        ...     write_madminer_setup(golden_channel_setup(), f, [])[0]
        'sm'
    """
    parameters = list(setup.parameter_space.parameters.values())
    write_dataset(handle, "parameters/names", [p.name for p in parameters], strings=True)
    write_dataset(handle, "parameters/lha_blocks", [p.lha_block for p in parameters], strings=True)
    write_dataset(handle, "parameters/lha_ids", [p.lha_id for p in parameters])
    write_dataset(handle, "parameters/max_power", [p.morphing_max_power for p in parameters])
    write_dataset(handle, "parameters/val_ranges", [list(p.parameter_range) for p in parameters])
    write_dataset(
        handle,
        "parameters/transforms",
        [transform_to_madminer(p.param_card_transform) for p in parameters],
        strings=True,
    )
    physics = setup.benchmark_names
    names = physics + list(nuisance_columns)
    values = np.vstack(
        [setup.parameter_space.benchmark_array(), np.zeros((len(nuisance_columns), len(parameters)))]
    )
    write_dataset(handle, "benchmarks/names", names, strings=True)
    write_dataset(handle, "benchmarks/values", values)
    write_dataset(handle, "benchmarks/is_nuisance", [0] * len(physics) + [1] * len(nuisance_columns))
    write_dataset(handle, "benchmarks/is_reference", [1] + [0] * (len(names) - 1))
    if setup.morpher is not None:
        matrix = np.zeros((setup.morpher.n_components, len(physics)))
        matrix[:, [physics.index(b) for b in setup.morphing_benchmarks]] = setup.morpher.matrix
        write_dataset(handle, "morphing/components", setup.morpher.components.astype(int))
        write_dataset(handle, "morphing/morphing_matrix", matrix)
    _write_systematics(setup, handle)
    return names


def _write_systematics(setup: AnalysisSetup, handle: Any) -> None:
    space = setup.parameter_space
    if space.finite_difference_benchmarks:
        bases = list(space.finite_difference_benchmarks)
        write_dataset(handle, "finite_differences/base_benchmarks", bases, strings=True)
        shifted = [[space.finite_difference_benchmarks[b][p] for p in setup.parameter_names] for b in bases]
        handle.create_dataset("finite_differences/shifted_benchmarks", data=np.array(shifted, dtype="S256"))
        write_dataset(handle, "finite_differences/epsilon", space.finite_difference_epsilon)
    rows = _nuisance_parameters(setup)
    if rows:
        norms = {s.name: s.norm_variation for s in setup.systematics if s.effect == "norm"}
        for i, column in enumerate(("names", "systematics", "benchmark_positive", "benchmark_negative")):
            write_dataset(
                handle, f"nuisance_parameters/{column}", [r[i] or EMPTY_EXPR for r in rows], strings=True
            )
        handle["nuisance_parameters"].attrs[NORM_ATTRIBUTE] = json.dumps(norms)
        pdfs = {
            s.name: {"pdf_variation": s.pdf_variation, "pdf_members": s.pdf_members, "pdf_kind": s.pdf_kind}
            for s in setup.systematics
            if s.effect == "pdf"
        }
        handle["nuisance_parameters"].attrs[PDF_ATTRIBUTE] = json.dumps(pdfs)
    scales = [s for s in setup.systematics if s.effect == "scale"]
    if scales:
        write_dataset(handle, "systematics/names", [s.name for s in scales], strings=True)
        write_dataset(handle, "systematics/types", ["scale"] * len(scales), strings=True)
        write_dataset(
            handle,
            "systematics/values",
            [",".join(map(str, s.scale_variations)) for s in scales],
            strings=True,
        )
        write_dataset(handle, "systematics/scales", [s.scale for s in scales], strings=True)
