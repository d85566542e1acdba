"""Readers and writers: LHE, Delphes ROOT, and the zarr event store."""

from .._lazy import lazy_exports

# The LHE reader compiles numba kernels: its names (every one of io.lhe's __all__) import it on first use.
__getattr__, __dir__, _NAMES = lazy_exports(__name__, {".lhe": "*"})

__all__: list[str] = sorted(_NAMES)
