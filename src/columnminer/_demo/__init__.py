"""The steps of :func:`columnminer.demo.run_demo` (private): settings, the physics chain, plots and the report.

Modules: :mod:`~columnminer._demo.config` (sizes of a run, the detector model, the analysis),
:mod:`~columnminer._demo.checks` (quick sanity checks of morphing and setup), :mod:`~columnminer._demo.chain`
(generation, analysis, augmentation, Fisher information, limits), :mod:`~columnminer._demo.training` (SALLY and
ALICES), :mod:`~columnminer._demo.plots`
(figures) and :mod:`~columnminer._demo.result` (the :class:`~columnminer._demo.result.DemoResult` and its
summaries).
"""

__all__: list[str] = []
