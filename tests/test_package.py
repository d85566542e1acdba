"""Package hygiene: module docstrings and __all__, documented public API, no eval/exec, ruff-clean."""

import ast
import doctest
import importlib
import importlib.util
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
