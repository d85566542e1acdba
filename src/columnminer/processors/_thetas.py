"""Parameter points of the processors: names or points -> [T, P] values and morphing coefficients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ProcessorError
from ..inference.fisher_terms import theta_point
from ..setup import AnalysisSetup
from ..thetas import theta_items as _theta_items
from ..weights import theta_coefficients

__all__: list[str] = []


def theta_items(setup: AnalysisSetup, thetas: Any) -> list[str | np.ndarray]:
    """Names, explicit benchmark indices and points of ``thetas`` by the package's rule
    (:mod:`columnminer.thetas`); errors are :class:`~columnminer.errors.ProcessorError`."""
    try:
        return _theta_items(setup, thetas)
    except ValueError as err:
        raise ProcessorError(str(err)) from err


def theta_table(setup: AnalysisSetup, thetas: Any) -> tuple[list[str | np.ndarray], np.ndarray, np.ndarray]:
    """(items, points [T, P], coefficients [T, B]) of ``thetas``."""
    items = theta_items(setup, thetas)
    points = np.stack([theta_point(setup, item) for item in items])
    return items, points, theta_coefficients(setup, items)
