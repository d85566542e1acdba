"""Parameter points of the processors: names or points -> [T, P] values and morphing coefficients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ProcessorError
from ..inference._fisher_estimators import theta_point
from ..setup import AnalysisSetup
from ..weights import theta_coefficients

__all__: list[str] = []


def theta_items(setup: AnalysisSetup, thetas: Any) -> list[str | np.ndarray]:
    """A [T, P] array of points, or a sequence of benchmark names and points -> a list of names / points."""
    n_parameters = setup.parameter_space.n_parameters
    if isinstance(thetas, str):
        return [thetas]
    array = None
    try:
        array = np.asarray(thetas, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    if array is not None and array.ndim == 2 and array.shape[1] == n_parameters:
        return list(array)
    if array is not None and array.ndim == 1 and array.shape[0] == n_parameters and n_parameters > 1:
        return [array]
    items = []
    for item in thetas:
        items.append(item if isinstance(item, str) else np.asarray(item, dtype=np.float64).reshape(-1))
    if not items:
        raise ProcessorError("thetas: give at least one parameter point")
    return items


def theta_table(setup: AnalysisSetup, thetas: Any) -> tuple[list[str | np.ndarray], np.ndarray, np.ndarray]:
    """(items, points [T, P], coefficients [T, B]) of ``thetas``."""
    items = theta_items(setup, thetas)
    points = np.stack([theta_point(setup, item) for item in items])
    return items, points, theta_coefficients(setup, items)
