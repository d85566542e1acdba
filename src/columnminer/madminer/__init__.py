"""MadMiner compatibility: its HDF5 setup and event files, augmented samples and trained estimators."""

from .._lazy import lazy_exports

#: module -> the names it exports here (imported on first access: torch loads only with the estimators).
_EXPORTS = {
    ".h5_events": ["import_madminer", "nuisance_column_map", "sampling_factors"],
    ".h5_setup": [
        "MadMinerLayout",
        "read_madminer_layout",
        "read_madminer_setup",
        "transform_from_madminer",
        "transform_to_madminer",
        "write_madminer_setup",
    ],
    ".h5_write": ["export_madminer", "store_sampling_factors"],
    ".models": ["MADMINER_ACTIVATIONS", "MADMINER_ESTIMATORS", "load_madminer_estimator"],
    ".samples": [
        "MADMINER_SAMPLE_FILES",
        "import_madminer_sample",
        "madminer_training_data",
        "read_madminer_sample",
        "write_madminer_sample",
    ],
}
__getattr__, __dir__, _NAMES = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_NAMES)
