"""Lazy exports for packages: a public name is imported from its module on first access (PEP 562)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["declared_names", "lazy_exports"]

_ALL = re.compile(r"^__all__(?:\s*:[^=\n]+)?\s*=\s*(\[.*?\])", re.MULTILINE | re.DOTALL)


def declared_names(module: str) -> list[str]:
    """The ``__all__`` list of ``module`` (absolute name), read from its source without importing it.

    The list must be a literal (``__all__ = ["a", "b"]``), as in every module of this package.

    Example:
        >>> declared_names("columnminer._lazy")
        ['declared_names', 'lazy_exports']
    """
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module named {module!r}")
    with open(spec.origin, encoding="utf-8") as handle:
        match = _ALL.search(handle.read())
    if match is None:
        raise ImportError(f"{spec.origin}: no literal __all__ list")
    return list(ast.literal_eval(match.group(1)))


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str] | str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], dict[str, str]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` that import each public name from its
    module on first access, and the name -> module table.

    ``modules`` maps a module (absolute, or relative to ``package`` with a leading dot) to the names it
    exports, or to ``"*"`` for every name of its ``__all__`` (:func:`declared_names`: read from the source,
    nothing imported). A name exported by two modules is an error. A resolved name is stored in the
    package's namespace, so later lookups are plain attribute reads; an unknown name raises
    ``AttributeError`` as a missing attribute would. This keeps ``import columnminer.inference`` from
    loading scipy and torch until a name that needs them is used.

    Example:
        >>> getattr_, dir_, table = lazy_exports("json", {".decoder": ["JSONDecodeError"]})
        >>> table["JSONDecodeError"]
        'json.decoder'
        >>> getattr_("JSONDecodeError").__name__
        'JSONDecodeError'
        >>> "JSONDecodeError" in dir_()
        True
    """
    table: dict[str, str] = {}
    for module, names in modules.items():
        absolute = package + module if module.startswith(".") else module
        for name in declared_names(absolute) if names == "*" else names:
            if table.setdefault(name, absolute) != absolute:
                raise ImportError(f"{package}: {name!r} is exported by both {table[name]} and {absolute}")

    def __getattr__(name: str) -> Any:  # the PEP 562 hook
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(importlib.import_module(package))[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:  # the PEP 562 hook
        return sorted(set(vars(importlib.import_module(package))) | set(table))

    return __getattr__, __dir__, table
