"""Package hygiene: module docstrings and __all__, documented public API, no eval/exec, ruff-clean."""

import ast
import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import columnminer

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(m.name for m in pkgutil.walk_packages(columnminer.__path__, "columnminer."))


@pytest.mark.parametrize("name", MODULES)
def test_module_docstring_and_all(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name} has no docstring"
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    for symbol in module.__all__:
        obj = getattr(module, symbol)
        if callable(obj) and not symbol.startswith("_"):
            assert obj.__doc__, f"{name}.{symbol} has no docstring"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    """Every example in a docstring is a doctest that passes."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} failing doctest(s) in {name}"


def test_no_eval_or_exec_in_library():
    for path in (ROOT / "src").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec"}, f"{path}:{node.lineno} calls {node.func.id}"


def test_no_print_in_library():
    for path in (ROOT / "src").rglob("*.py"):
        if path.name == "cli.py" or path.parent.name == "_cli":  # the command line prints
            continue
        tree = ast.parse(path.read_text())
        calls = [
            n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"
        ]
        assert not calls, f"{path} prints; use logging"


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_ruff_clean():
    dirs = [d for d in ("src", "tests", "benchmarks", "examples", "processors") if (ROOT / d).exists()]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *dirs], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_map_resolves_every_entry_point_lazily():
    """``import columnminer`` loads none of the heavy dependencies; every name of the package map resolves
    to the object of the module that defines it."""
    code = (
        "import sys, columnminer\n"
        "heavy = [m for m in ('numpy', 'scipy', 'torch', 'zarr', 'awkward', 'dask') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    for name in columnminer.__all__:
        value = getattr(columnminer, name)
        module = columnminer._LAZY.get(name)
        if module is not None:
            assert getattr(importlib.import_module(module), name) is value
    assert set(columnminer._LAZY) <= set(dir(columnminer))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        columnminer.nothing  # noqa: B018


def test_subpackages_load_torch_only_when_needed():
    """The MadMiner import path (import_madminer, cross sections, truth information) does not load torch (1.6 s
    of a fresh process's start; issue 23's timing includes the start); the estimators do."""
    code = (
        "import sys\n"
        "import columnminer.inference, columnminer.madminer, columnminer.io\n"
        "from columnminer.inference.fisher import truth_information\n"
        "from columnminer.madminer import import_madminer, export_madminer\n"
        "from columnminer.weights import cross_sections\n"
        "print('torch' in sys.modules)\n"
        "from columnminer.madminer import load_madminer_estimator\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
    import columnminer.inference as inference

    assert sorted(inference.__all__) == sorted(set(dir(inference)) & set(inference.__all__))
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        inference.nothing  # noqa: B018


SRC = ROOT / "src"


def _module_name(path: Path) -> str:
    """The dotted name of a source file of src/ (a package is named by its ``__init__.py``)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module named by ``from <node.module> import ...`` in ``module``."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def _imports(module: str, path: Path, top_level_only: bool = False):
    """Yield ``(line, imported module, imported name or None)`` for every import of a source file.

    ``from X import y`` yields the module ``X.y`` (name None) when that is a module of src/, else ``X`` and
    ``y``. With ``top_level_only`` only the imports that run when the module is imported are yielded: those
    at module level, outside functions, classes and ``if TYPE_CHECKING:`` blocks.
    """
    tree = ast.parse(path.read_text())
    if top_level_only:
        nodes, stack = [], list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                stack.extend(node.orelse)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                stack.extend(ast.iter_child_nodes(node))
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(node.body)
            else:
                nodes.append(node)
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                if child in SOURCES:
                    yield node.lineno, child, None
                else:
                    yield node.lineno, base, alias.name


def _private_module_owner(target: str) -> str | None:
    """The package that holds the innermost private component of ``target`` (None if it has none)."""
    parts = target.split(".")
    private = [i for i, part in enumerate(parts) if _is_private(part)]
    return ".".join(parts[: private[-1]]) if private else None


def test_no_private_name_imported_across_modules():
    """No module imports a private name (``_x``) of another module, nor a private module (a path component
    ``_x``) from outside the package that holds it: what is shared gets a public name."""
    offences = []
    for module, path in SOURCES.items():
        for line, target, name in _imports(module, path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if name is not None and _is_private(name) and target != module:
                offences.append(f"{where} imports the private name {name} from {target}")
            owner = _private_module_owner(target)
            if owner is not None and not (module == owner or module.startswith(owner + ".")):
                offences.append(f"{where} imports the private module {target} from outside {owner}")
    assert not offences, "\n".join(offences)


def test_every_public_name_has_a_runnable_example():
    """Every class and function listed in the ``__all__`` of a public module and defined there has a
    ``>>>`` example in its docstring."""
    missing = []
    for name in MODULES:
        if any(_is_private(part) for part in name.split(".")):
            continue
        module = importlib.import_module(name)
        for symbol in getattr(module, "__all__", []):
            obj = getattr(module, symbol)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == name:
                if ">>>" not in (obj.__doc__ or ""):
                    missing.append(f"{name}.{symbol}")
    assert not missing, "no >>> example: " + ", ".join(missing)


def _import_graph() -> dict[str, set[str]]:
    """The module-level import graph of columnminer: module -> the columnminer modules it imports.

    Importing ``a.b.c`` also imports the packages ``a.b`` and ``a``; those that hold the importer are already
    being imported (Python initialises a parent before its children), so they are not edges.
    """
    graph: dict[str, set[str]] = {module: set() for module in SOURCES}
    for module, path in SOURCES.items():
        for _, target, _ in _imports(module, path, top_level_only=True):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                node = ".".join(parts[:i])
                if node in SOURCES and node != module and not module.startswith(node + "."):
                    graph[module].add(node)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_modules():
    """The module-level imports of columnminer form no cycle (each module imports only modules that do not
    import it back, directly or through others)."""
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)
