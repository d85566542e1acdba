"""Lazy exports for packages: a public name is imported from its module on first access (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], dict[str, str]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` that import each public name from its
    module on first access, and the name -> module table.

    ``modules`` maps a module (absolute, or relative to ``package`` with a leading dot) to the names it
    exports. A resolved name is stored in the package's namespace, so later lookups are plain attribute
    reads; an unknown name raises ``AttributeError`` as a missing attribute would. This keeps
    ``import columnminer.inference`` from loading scipy and torch until a name that needs them is used.

    Example:
        >>> getattr_, dir_, table = lazy_exports("json", {".decoder": ["JSONDecodeError"]})
        >>> table["JSONDecodeError"]
        'json.decoder'
        >>> getattr_("JSONDecodeError").__name__
        'JSONDecodeError'
        >>> "JSONDecodeError" in dir_()
        True
    """
    table = {
        name: (package + module if module.startswith(".") else module)
        for module, names in modules.items()
        for name in names
    }

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
