"""Inference: Fisher information, information geometry, likelihoods and asymptotic limits.

Modules: :mod:`~columnminer.inference.binned` (exact per-bin morphing of histogram yields over the store),
:mod:`~columnminer.inference.fisher`, :mod:`~columnminer.inference.geometry`,
:mod:`~columnminer.inference.likelihood` and :mod:`~columnminer.inference.limits`.
"""

__all__: list[str] = []
