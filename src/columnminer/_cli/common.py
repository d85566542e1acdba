"""Helpers shared by the command modules: parameter points and grids, tables, JSON files, stores, estimators."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .defaults import DEFAULT_LUMINOSITY, EVALUATION_PARTITION, LUMINOSITY_HELP

__all__ = [
    "DEFAULT_LUMINOSITY",
    "EXIT_CODES",
    "PARTITIONS",
    "add_arguments",
    "add_command",
    "add_flags",
    "annotate_os_error",
    "apply_calibration",
    "calibration_file",
    "finite_float",
    "fmt",
    "fmt_error",
    "fraction",
    "load_any_estimator",
    "load_calibration",
    "new_path_root",
    "non_negative_float",
    "non_negative_int",
    "open_fraction",
    "open_store",
    "parameter_grid",
    "parse_theta",
    "partition_value",
    "positive_float",
    "positive_int",
    "progress_enabled",
    "remove_on_failure",
    "remove_path",
    "split_fraction",
    "table",
    "theta_label",
    "theta_point",
    "to_jsonable",
    "write_json",
]

#: Choices of the ``--partition`` options ("all" means every event).
PARTITIONS = ("all", "train", "validation", "test")
#: The last sentence of every command's ``--help``.
EXIT_CODES = "Exit codes: 0 success, 1 a columnminer error (one line naming the file or option), 2 usage."


# -- argparse types: a nonsensical value is a usage error (exit code 2) naming the option -------------------
def _integer(text: str, check: Callable[[int], bool], what: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not check(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _real(text: str, check: Callable[[float], bool], what: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value) or not check(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (sizes, counts, epochs, bins).

    Example:
        >>> positive_int("3")
        3
        >>> positive_int("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be a positive integer, got '0'
    """
    return _integer(text, lambda v: v >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0 (seeds, optional extra counts).

    Example:
        >>> non_negative_int("0")
        0
    """
    return _integer(text, lambda v: v >= 0, "a non-negative integer")


def finite_float(text: str) -> float:
    """An argparse type: a finite number (no nan or inf).

    Example:
        >>> finite_float("-0.5")
        -0.5
    """
    return _real(text, lambda v: True, "a finite number")


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (luminosities, learning rates, cross sections, factors).

    Example:
        >>> positive_float("3e5")
        300000.0
    """
    return _real(text, lambda v: v > 0, "a positive number")


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0 (loss weights).

    Example:
        >>> non_negative_float("0")
        0.0
    """
    return _real(text, lambda v: v >= 0, "a non-negative number")


def fraction(text: str) -> float:
    """An argparse type: a number in [0, 1] (partition fractions).

    Example:
        >>> fraction("0.8")
        0.8
    """
    return _real(text, lambda v: 0.0 <= v <= 1.0, "a fraction between 0 and 1")


def split_fraction(text: str) -> float:
    """An argparse type: a number in [0, 1) (a held-out fraction: something must be left to train on).

    Example:
        >>> split_fraction("0")
        0.0
    """
    return _real(text, lambda v: 0.0 <= v < 1.0, "a fraction in [0, 1)")


def open_fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1 (confidence levels).

    Example:
        >>> open_fraction("0.95")
        0.95
    """
    return _real(text, lambda v: 0.0 < v < 1.0, "a number strictly between 0 and 1")


# -- outputs: a failed command leaves nothing new behind -----------------------------------------------------
def _is_url(path: str | os.PathLike) -> bool:
    return "://" in str(path)


def new_path_root(path: str | os.PathLike) -> Path | None:
    """The outermost directory or file that creating ``path`` would add: ``path`` itself or its highest
    missing ancestor. None if ``path`` exists already or is a URL (nothing of it may be removed then).

    Example:
        >>> import tempfile
        >>> base = Path(tempfile.mkdtemp())
        >>> new_path_root(base / "a" / "b") == base / "a", new_path_root(base)
        (True, None)
    """
    if _is_url(path):
        return None
    candidate = Path(path).absolute()
    if candidate.exists() or candidate.is_symlink():
        return None
    while candidate.parent != candidate and not candidate.parent.exists():
        candidate = candidate.parent
    return candidate


def remove_path(path: str | os.PathLike) -> None:
    """Remove a file or directory tree, quietly (a cleanup must never hide the error that caused it)."""
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            target.unlink()


@contextlib.contextmanager
def remove_on_failure(*paths: str | os.PathLike | None, keep_on_interrupt: bool = False) -> Iterator[None]:
    """Remove, when the body raises, whatever of ``paths`` it created: for each path that does not exist on
    entry, its outermost new directory (see :func:`new_path_root`). Paths that existed before (a store
    appended to, a directory written into) are never removed; None entries are skipped.

    With ``keep_on_interrupt`` a KeyboardInterrupt keeps the outputs (a resumable store).
    """
    roots = [root for root in (new_path_root(p) for p in paths if p is not None) if root is not None]
    try:
        yield
    except KeyboardInterrupt:
        if not keep_on_interrupt:
            for root in roots:
                remove_path(root)
        raise
    except BaseException:
        for root in roots:
            remove_path(root)
        raise


@contextlib.contextmanager
def annotate_os_error(path: str | os.PathLike) -> Iterator[None]:
    """An OSError raised in the body without a file name (a failed write: disk full) gets ``path`` as its
    ``filename``, so that the command line's one-line message names it."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise


# -- the parser: commands and the options several of them share ------------------------------------------------
def _plain(doc: str) -> str:
    """A docstring as --help prose: without reST roles and literal quotes."""
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], doc)
    return text.replace("``", "")


def add_command(
    commands: Any,
    name: str,
    func: Callable[[argparse.Namespace], int],
    doc: str | None = None,
    *,
    epilog: str = "",
    **texts: Any,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` running ``func``. Its description is ``doc`` (the command module's
    docstring, the one home of the command's text, reST markup removed) and its one-line help the summary
    line of ``doc`` (after ``The ... command:``); ``texts`` change them (``help``, ``description``, any other
    keyword of ``add_parser``); the epilog ends with :data:`EXIT_CODES`.

    Example:
        >>> parser = argparse.ArgumentParser(prog="columnminer")
        >>> commands = parser.add_subparsers()
        >>> sub = add_command(commands, "hello", lambda args: 0, "The ``hello`` command: say hello.")
        >>> sub.description, sub.epilog == EXIT_CODES, parser.parse_args(["hello"]).func(None)
        ('The hello command: say hello.', True, 0)
    """
    if doc is not None:
        summary = _plain(doc).strip().splitlines()[0]
        texts = {"help": summary.split(": ", 1)[-1].rstrip("."), "description": _plain(doc), **texts}
    parser = commands.add_parser(name, epilog=f"{epilog} {EXIT_CODES}".strip(), **texts)
    parser.set_defaults(func=func)
    return parser


#: The options several commands share: name -> (flags, add_argument keywords).
_SHARED: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "store": (("store",), {"help": "the zarr event store"}),
    "luminosity": (
        ("--luminosity",),
        {"type": positive_float, "default": DEFAULT_LUMINOSITY, "metavar": "PB^-1", "help": LUMINOSITY_HELP},
    ),
    "partition": (
        ("--partition",),
        {
            "choices": PARTITIONS,
            "default": EVALUATION_PARTITION,
            "help": f"events used (default: {EVALUATION_PARTITION}, held out from training)",
        },
    ),
    "seed": (
        ("--seed",),
        {"type": non_negative_int, "default": 0, "help": "random seed (default: %(default)s)"},
    ),
    "out": (("--out",), {"required": True, "help": "output directory"}),
    "json": (("--json",), {"metavar": "FILE", "help": "also write the results as JSON"}),
    "progress": (
        ("--progress",),
        {
            "action": argparse.BooleanOptionalAction,
            "default": None,
            "help": "progress bars (default: on a tty)",
        },
    ),
    "estimator": (("--estimator",), {"metavar": "PATH", "help": "saved estimator or ensemble"}),
    "observables": (("--observables",), {"nargs": "+", "metavar": "NAME", "help": "observables to bin"}),
    "bins": (
        ("--bins",),
        {
            "type": positive_int,
            "nargs": "+",
            "metavar": "N",
            "help": "adaptive bins (one, or per observable)",
        },
    ),
    "events": (
        ("--events",),
        {"type": positive_int, "default": 10_000, "help": "events (default: %(default)s)"},
    ),
}


def add_arguments(parser: argparse.ArgumentParser, *names: str, **changes: str | dict[str, Any]) -> None:
    """Add the shared options ``names`` (see ``_SHARED``: store, luminosity, partition, seed, out, json,
    progress, estimator, observables, bins, events) to ``parser``, each defined once for every command;
    ``changes[name]`` is a new help text or a dict of changed keywords.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser, "store", "luminosity", "seed", store="the store to read")
        >>> args = parser.parse_args(["s.zarr"])
        >>> args.store, args.luminosity, args.seed
        ('s.zarr', 3000000.0, 0)
    """
    for name in names:
        flags, keywords = _SHARED[name]
        change = changes.get(name, {})
        parser.add_argument(
            *flags, **{**keywords, **({"help": change} if isinstance(change, str) else change)}
        )


def add_flags(parser: argparse.ArgumentParser, flags: dict[str, str]) -> None:
    """On / off options: flag -> help text (each ``store_true``, default off).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_flags(parser, {"--quick": "a smaller run", "--no-rate": "drop the rate"})
        >>> vars(parser.parse_args(["--quick"]))
        {'quick': True, 'no_rate': False}
    """
    for flag, text in flags.items():
        parser.add_argument(flag, action="store_true", help=text)


def partition_value(choice: str | None) -> str | None:
    """The library's partition argument for a ``--partition`` choice ("all" -> None).

    Example:
        >>> partition_value("all"), partition_value("test")
        (None, 'test')
    """
    return None if choice in (None, "all") else str(choice)


def progress_enabled(flag: bool | None) -> bool:
    """Show progress bars: as asked, else only when stderr is a terminal."""
    return bool(flag) if flag is not None else sys.stderr.isatty()


def open_store(path: str, mode: str = "r") -> Any:
    """Open an :class:`~columnminer.io.store.EventStore` (a missing store raises a StoreError naming it)."""
    from ..io.store import EventStore

    return EventStore.open(str(path), mode)


def fmt(value: float, digits: int = 6) -> str:
    """A number with ``digits`` significant digits (``-`` for None).

    Example:
        >>> fmt(1004.76085), fmt(-0.0), fmt(None)
        ('1004.76', '0', '-')
    """
    if value is None:
        return "-"
    value = float(value)
    return f"{0.0 if value == 0 else value:.{digits}g}"


def fmt_error(value: float, error: float | None) -> str:
    """``value ± error`` (the error with two significant digits; the value alone without one).

    Example:
        >>> fmt_error(1004.76085, 12.345), fmt_error(2.0, None)
        ('1004.76 ± 12', '2')
    """
    if error is None or not math.isfinite(float(error)):
        return fmt(value)
    return f"{fmt(value)} ± {fmt(error, 2)}"


def _is_number(text: str) -> bool:
    if text in ("-", "inf", "-inf", "nan"):
        return True
    head = text.split(" ± ")[0]
    try:
        float(head)
    except ValueError:
        return False
    return True


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], indent: int = 2) -> str:
    """Rows as aligned text columns under ``header``; numeric columns are right-aligned.

    Example:
        >>> print(table(["name", "value"], [["a", 1.5], ["bb", 10]]))
          name  value
          a       1.5
          bb       10
    """
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    n = len(cells[0])
    widths = [max(len(row[i]) for row in cells) for i in range(n)]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in cells[1:]) for i in range(n)]
    lines = []
    for row in cells:
        parts = [row[i].rjust(widths[i]) if numeric[i] else row[i].ljust(widths[i]) for i in range(n)]
        lines.append(" " * indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def parse_theta(setup: Any, text: str, option: str) -> str | np.ndarray:
    """A benchmark name of ``setup``, or a parameter point given as comma-separated numbers.

    Raises :class:`~columnminer.errors.ConfigError` naming ``option`` for anything else.

    Example:
        >>> from columnminer.simulators.golden import golden_setup
        >>> parse_theta(golden_setup(), "sm", "--theta"), parse_theta(golden_setup(), "0.5,-1", "--theta")
        ('sm', array([ 0.5, -1. ]))
    """
    space = setup.parameter_space
    text = str(text).strip()
    if text in space.benchmark_names:
        return text
    names = space.parameter_names
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: neither a benchmark of the setup {space.benchmark_names} nor "
            f"{len(names)} comma-separated numbers for the parameters {names}"
        ) from None
    if len(values) != len(names):
        raise ConfigError(
            f"{option} {text!r}: {len(values)} number(s) for the {len(names)} parameters {names}"
        )
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{option} {text!r}: the parameter values must be finite")
    return np.array(values, dtype=np.float64)


def theta_point(setup: Any, theta: str | np.ndarray) -> np.ndarray:
    """The parameter values [P] of a benchmark name or point."""
    if isinstance(theta, str):
        return setup.parameter_space.benchmark_array([theta])[0]
    return np.asarray(theta, dtype=np.float64)


def theta_label(setup: Any, theta: str | np.ndarray) -> str:
    """``sm (a2 = 0, a3 = 0)`` or ``(a2 = 0.5, a3 = 0)``.

    Example:
        >>> from columnminer.simulators.golden import golden_setup
        >>> theta_label(golden_setup(), "sm")
        'sm (a2 = 0, a3 = 0)'
    """
    values = theta_point(setup, theta)
    inner = ", ".join(f"{n} = {fmt(v)}" for n, v in zip(setup.parameter_names, values, strict=True))
    return f"{theta} ({inner})" if isinstance(theta, str) else f"({inner})"


def _axis(spec: str, name: str, option: str) -> np.ndarray:
    parts = spec.split(":")
    try:
        if len(parts) == 1:
            return np.array([float(parts[0])])
        if len(parts) == 3:
            low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1 or not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError
            return np.linspace(low, high, n)
    except ValueError:
        pass
    raise ConfigError(
        f"{option} {spec!r} ({name}): expected LOW:HIGH:N (N >= 1 evenly spaced points) or one VALUE"
    )


def parameter_grid(setup: Any, specs: Sequence[str], points: int, option: str = "--grid") -> np.ndarray:
    """A regular grid [T, P] of parameter points: every parameter over its range with ``points`` values,
    changed by ``specs``: ``LOW:HIGH:N`` for all parameters, ``NAME=LOW:HIGH:N`` or ``NAME=VALUE`` for one.

    Example:
        >>> from columnminer.simulators.golden import golden_setup
        >>> parameter_grid(golden_setup(), ["a3=0"], 3).tolist()
        [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    """
    space = setup.parameter_space
    names = space.parameter_names
    if int(points) < 1:
        raise ConfigError(f"--points must be positive, got {points}")
    axes = {name: np.linspace(*space.parameters[name].parameter_range, int(points)) for name in names}
    for spec in specs:
        name, sep, rest = str(spec).partition("=")
        if sep:
            if name not in names:
                raise ConfigError(
                    f"{option} {spec!r}: unknown parameter {name!r}; the parameters are {names}"
                )
            axes[name] = _axis(rest, name, option)
        else:
            for each in names:
                axes[each] = _axis(spec, each, option)
    mesh = np.meshgrid(*(axes[name] for name in names), indexing="ij")
    return np.stack(mesh, axis=-1).reshape(-1, len(names))


def load_any_estimator(path: str) -> Any:
    """A saved estimator (``<path>_settings.json`` ...) or ensemble (a directory with ``ensemble.json``);
    ``path`` may also name the settings file itself."""
    from ..ml import Ensemble, load_estimator

    base = Path(path)
    if (base / "ensemble.json").is_file():
        return Ensemble.load(base)
    if base.name.endswith("_settings.json"):
        base = base.with_name(base.name[: -len("_settings.json")])
    return load_estimator(base)


def calibration_file(path: str | os.PathLike, ensemble: bool) -> Path:
    """Where ``train`` records the calibration of the estimator saved at ``path``:
    ``<path>_calibration.json``, or ``<path>/calibration.json`` for an ensemble (a directory).

    Example:
        >>> calibration_file("models/alices", False).name, calibration_file("models/e", True).name
        ('alices_calibration.json', 'calibration.json')
    """
    base = Path(path)
    if ensemble:
        return base / "calibration.json"
    if base.name.endswith("_settings.json"):
        base = base.with_name(base.name[: -len("_settings.json")])
    return base.with_name(base.name + "_calibration.json")


def load_calibration(path: str | os.PathLike) -> dict[str, Any] | None:
    """The calibration record ``train`` wrote beside the estimator or ensemble at ``path`` (None if there is
    none); a corrupt record raises a ConfigError naming the file."""
    file = calibration_file(path, (Path(path) / "ensemble.json").is_file())
    if not file.is_file():
        return None
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{file}: unreadable calibration record ({type(err).__name__}: {err})") from err
    if not isinstance(info, dict) or "method" not in info or "theta_ref" not in info:
        raise ConfigError(f"{file}: not a columnminer calibration record")
    return info


def apply_calibration(estimator: Any, store: Any, info: dict[str, Any]) -> Any:
    """The estimator as ``train`` calibrated it: the per-theta calibration of a plain ratio estimator is done
    again on the same partition of ``store`` (``apply_on_load``); a morphing-aware one carries it in its
    weights. Either way the record goes to ``calibration_info`` (for the closure check)."""
    from ..ml import calibrate_ratio

    if info.get("apply_on_load"):
        return calibrate_ratio(
            estimator,
            store,
            info.get("partition"),
            theta_ref=info["theta_ref"],
            method=str(info.get("method", "normalisation")),
        ).estimator
    estimator.calibration_info = info
    for member in getattr(estimator, "estimators", ()):
        member.calibration_info = info
    return estimator


def to_jsonable(value: Any) -> Any:
    """numpy arrays and scalars (recursively) as lists and Python numbers; non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str, data: Any) -> Path:
    """Write ``data`` (numpy allowed) as indented JSON, creating the directory; returns the path.

    The file appears complete or not at all (written beside it, then renamed); when writing fails, the
    directories it created are removed again and the OSError names ``path``.
    """
    target = Path(path)
    text = json.dumps(to_jsonable(data), indent=2) + "\n"
    with annotate_os_error(target), remove_on_failure(target.parent):
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(text)
            os.replace(temporary, target)
        except BaseException:
            remove_path(temporary)
            raise
    return target
