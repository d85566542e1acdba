"""Python objects named on the command line: modules by dotted name or file path, callables by
``module:attribute`` paths, analyses from analysis modules. Everything goes through importlib; nothing is
evaluated from a string."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ColumnMinerError, ConfigError

__all__ = ["load_analysis", "load_module", "resolve_callable"]

_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def _module_from_file(path: Path, where: str) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: no such Python file {path}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    name = f"columnminer_user_{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except ColumnMinerError:
        del sys.modules[name]
        raise
    except Exception as err:
        del sys.modules[name]
        raise ConfigError(f"{where}: importing {path} failed: {type(err).__name__}: {err}") from err
    return module


def _import(name: str, where: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        raise ConfigError(f"{where}: cannot import module {name!r}: {err}") from err
    except ColumnMinerError:
        raise
    except Exception as err:
        raise ConfigError(f"{where}: importing module {name!r} failed: {type(err).__name__}: {err}") from err


def load_module(spec: str, where: str, base: Path | None = None) -> ModuleType:
    """A module given as a dotted name (``mypackage.analysis``) or a file path (``analysis.py``). With ``base``
    (a configuration file's directory) relative paths start there, and a name with a matching ``.py`` file
    there loads that file. Errors are :class:`~columnminer.errors.ConfigError` starting with ``where``.

    Example:
        >>> load_module("columnminer.fourlepton", "--analysis").__name__
        'columnminer.fourlepton'
    """
    spec = str(spec).strip()
    if _is_file_spec(spec):
        path = Path(spec)
        if base is not None and not path.is_absolute():
            path = base / path
        return _module_from_file(path, where)
    if not _ATTRIBUTE.match(spec):
        raise ConfigError(f"{where}: {spec!r} is neither a dotted module name nor a Python file")
    if base is not None:  # a module beside the configuration file, by name
        local = base / (spec.replace(".", "/") + ".py")
        if local.is_file():
            return _module_from_file(local, where)
    return _import(spec, where)


def _attribute(obj: Any, chain: str, text: str, where: str) -> Any:
    for part in chain.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            owner = getattr(obj, "__name__", type(obj).__name__)
            raise ConfigError(
                f"{where}: cannot resolve {text!r}: {owner!r} has no attribute {part!r}"
            ) from None
    return obj


def _split(text: str) -> tuple[str, str] | None:
    """(module part, attribute chain) of ``module:attr`` (the last colon; a drive letter is no separator)."""
    module, sep, chain = text.rpartition(":")
    if not sep or not module or len(module) == 1:
        return None
    return module, chain


def resolve_callable(path: str, where: str, base: Path | None = None) -> Callable[..., Any]:
    """The callable named by ``path``: ``package.module:function`` (or ``package.module.function``, or
    ``file.py:function``). Raises :class:`~columnminer.errors.ConfigError` naming ``where`` and the path when
    the module cannot be imported, the attribute is missing or is not callable.

    Example:
        >>> resolve_callable("columnminer.fourlepton:add_four_lepton_observables", "builders").__name__
        'add_four_lepton_observables'
        >>> resolve_callable("columnminer.fourlepton:m4l", "observables.m4l")
        Traceback (most recent call last):
        ...
        columnminer.errors.ConfigError: observables.m4l: cannot resolve 'columnminer.fourlepton:m4l': ...
    """
    text = str(path).strip()
    if not isinstance(path, str) or not text:
        raise ConfigError(f"{where}: expected a 'module:function' path, got {path!r}")
    split = _split(text)
    if split is not None:
        module_spec, chain = split
        if not _ATTRIBUTE.match(chain):
            raise ConfigError(f"{where}: {text!r}: {chain!r} is not an attribute name")
        module = load_module(module_spec, where, base)
        obj = _attribute(module, chain, text, where)
    else:
        if not _ATTRIBUTE.match(text) or "." not in text:
            raise ConfigError(f"{where}: {text!r} is not a 'module:function' (or 'module.function') path")
        parts = text.split(".")
        obj = None
        for cut in range(len(parts) - 1, 0, -1):
            name = ".".join(parts[:cut])
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as err:
                if err.name is not None and name.startswith(err.name):
                    continue
                raise ConfigError(f"{where}: cannot resolve {text!r}: {err}") from err
            obj = _attribute(module, ".".join(parts[cut:]), text, where)
            break
        else:
            raise ConfigError(f"{where}: cannot resolve {text!r}: no module named {parts[0]!r}")
    if not callable(obj):
        raise ConfigError(f"{where}: {text!r} is a {type(obj).__name__}, not a callable")
    return obj


def load_analysis(spec: str, where: str = "--analysis", base: Path | None = None) -> Any:
    """An :class:`~columnminer.analysis.Analysis` from an analysis module (dotted name or file path,
    optionally ``:attribute``): a function ``analysis()`` returning one, or an ``Analysis`` object named
    ``analysis`` (or the named attribute, either kind)."""
    from ..analysis import Analysis

    text = str(spec).strip()
    split = _split(text)
    module_spec, attribute = split if split is not None and _ATTRIBUTE.match(split[1]) else (text, "")
    module = load_module(module_spec, where, base)
    obj = _attribute(module, attribute, text, where) if attribute else getattr(module, "analysis", None)
    if isinstance(obj, Analysis):
        return obj
    if obj is None or not callable(obj):
        raise ConfigError(
            f"{where} {text!r}: the module defines neither a function analysis() returning a columnminer "
            "Analysis nor an Analysis object named analysis"
        )
    try:
        result = obj()
    except ColumnMinerError:
        raise
    except Exception as err:
        raise ConfigError(f"{where} {text!r}: calling it failed: {type(err).__name__}: {err}") from err
    if not isinstance(result, Analysis):
        raise ConfigError(f"{where} {text!r}: returned a {type(result).__name__}, not a columnminer Analysis")
    return result
