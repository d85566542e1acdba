"""MadMiner compatibility: its HDF5 setup and event files, augmented samples and trained estimators."""

from .h5_events import import_madminer, nuisance_column_map, sampling_factors
from .h5_setup import (
    MadMinerLayout,
    read_madminer_layout,
    read_madminer_setup,
    transform_from_madminer,
    transform_to_madminer,
    write_madminer_setup,
)
from .h5_write import export_madminer, store_sampling_factors
from .models import MADMINER_ACTIVATIONS, MADMINER_ESTIMATORS, load_madminer_estimator
from .samples import (
    MADMINER_SAMPLE_FILES,
    import_madminer_sample,
    madminer_training_data,
    read_madminer_sample,
    write_madminer_sample,
)

__all__ = [
    "MADMINER_ACTIVATIONS",
    "MADMINER_ESTIMATORS",
    "MADMINER_SAMPLE_FILES",
    "MadMinerLayout",
    "export_madminer",
    "import_madminer",
    "import_madminer_sample",
    "load_madminer_estimator",
    "madminer_training_data",
    "nuisance_column_map",
    "read_madminer_layout",
    "read_madminer_sample",
    "read_madminer_setup",
    "sampling_factors",
    "store_sampling_factors",
    "transform_from_madminer",
    "transform_to_madminer",
    "write_madminer_sample",
    "write_madminer_setup",
]
