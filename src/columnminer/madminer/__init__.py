"""MadMiner compatibility: its HDF5 setup and event files, augmented samples and trained estimators."""

from .._lazy import lazy_exports

#: module -> "*": every name of its ``__all__`` (imported on first access: torch loads only with the estimators).
_EXPORTS = {".h5_events": "*", ".h5_setup": "*", ".h5_write": "*", ".models": "*", ".samples": "*"}
__getattr__, __dir__, _NAMES = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_NAMES)
