"""Readers and writers: LHE, Delphes ROOT, and the zarr event store."""

from importlib import import_module

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

__all__: list[str] = [*_LHE_NAMES]


def __getattr__(name: str):
    if name in _LHE_NAMES:
        return getattr(import_module(".lhe", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
