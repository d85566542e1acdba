"""Readers and writers: LHE, Delphes ROOT, and the zarr event store."""

from .._lazy import lazy_exports

# The LHE reader compiles numba kernels: it is imported on first use of one of its names.
_LHE_NAMES = (
    "LHEHeader",
    "benchmark_weight_ids",
    "benchmark_weights",
    "count_lhe_events",
    "iterate_lhe",
    "lhe_to_dask",
    "normalize_weights",
    "pdf_sets",
    "pdf_systematic",
    "read_lhe",
    "read_lhe_header",
    "scale_weights",
    "systematic_weights",
    "variation_weight_ids",
    "weight_scale_factor",
)

__getattr__, __dir__, _NAMES = lazy_exports(__name__, {".lhe": _LHE_NAMES})

__all__: list[str] = [*_LHE_NAMES]
