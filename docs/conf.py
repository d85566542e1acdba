"""Sphinx configuration of columnminer's documentation (API reference from the docstrings)."""

import columnminer

project = "columnminer"
author = "columnminer developers"
release = columnminer.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
autosummary_generate = True
# Every object is documented once, in the module that defines it: a package's re-exports (``columnminer.EventStore``
# is ``columnminer.io.store.EventStore``) are not documented again, so every cross-reference has one target.
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
exclude_patterns = ["_build", "images"]
html_theme = "alabaster"
suppress_warnings = ["myst.header"]
