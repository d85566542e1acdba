"""Figures people would rather look at than read: distributions, morphing bases, Fisher information, limits,
systematics and training diagnostics (matplotlib + mplhep).

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (nothing is shown; it renders
headless through ``fig.savefig``). Modules: :mod:`~columnminer.plotting.distributions` (observables at
several parameter points from a store, histogram overlays with data), :mod:`~columnminer.plotting.morphing`
(squared morphing weights of a basis in 1, 2 and more parameters), :mod:`~columnminer.plotting.fisher` (error
ellipses, eigenvalue and determinant bars, information per bin), :mod:`~columnminer.plotting.limits`
(p-value maps and confidence contours of several methods), :mod:`~columnminer.plotting.systematics` (nominal,
envelope band and ratio panel) and :mod:`~columnminer.plotting.training` (loss curves, learned vs exact
log r). Plotting is the top layer: nothing in columnminer imports it.

The words on the figures follow one convention (:mod:`columnminer.plotting._style`): observable axes read
``label [unit]`` from the store's metadata (:func:`axis_label`), parameter points are named ``a2 = 0.5, a3 =
0`` and benchmarks ``SM (a2 = 0, a3 = 0)`` (:func:`theta_label`), luminosities ``L = 300 fb^-1``
(:func:`luminosity_label`), and the level and selection of the events come from the metadata
(:func:`selection_annotation`).
"""

from ._style import (
    axis_label,
    hep_style,
    luminosity_label,
    observable_info,
    selection_annotation,
    theta_label,
)
from .distributions import morphed_histograms, plot_distributions, plot_histograms
from .fisher import plot_distribution_of_information, plot_fisher_barplot, plot_fisher_contours
from .limits import plot_limits, plot_p_value_maps
from .morphing import (
    plot_morphing_basis_1d,
    plot_morphing_basis_2d,
    plot_morphing_basis_scatter,
    plot_morphing_basis_slices,
)
from .systematics import combine_variations, plot_systematics
from .training import plot_log_ratio_validation, plot_training_history

__all__ = [
    "axis_label",
    "combine_variations",
    "hep_style",
    "luminosity_label",
    "morphed_histograms",
    "observable_info",
    "plot_distribution_of_information",
    "plot_distributions",
    "plot_fisher_barplot",
    "plot_fisher_contours",
    "plot_histograms",
    "plot_limits",
    "plot_log_ratio_validation",
    "plot_morphing_basis_1d",
    "plot_morphing_basis_2d",
    "plot_morphing_basis_scatter",
    "plot_morphing_basis_slices",
    "plot_p_value_maps",
    "plot_systematics",
    "plot_training_history",
    "selection_annotation",
    "theta_label",
]
