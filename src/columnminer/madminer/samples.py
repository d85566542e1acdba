r"""MadMiner's augmented-sample ``.npy`` files in and out: its file names, columnminer's sample arrays.

MadMiner's ``SampleAugmenter`` saves every array of a sample as ``<folder>/<prefix>_<filename>.npy``:
``x``, ``theta`` (``sample_train_plain`` / ``_local`` / ``_density`` / ``sample_test``), ``theta0``,
``theta1``, ``y``, ``r_xz`` (``sample_train_ratio``, ``sample_train_more_ratios``), ``t_xz`` (the joint score
at theta / theta0), ``t_xz0`` and ``t_xz1`` (``sample_train_more_ratios``). ``y`` and ``r_xz`` are ``[n, 1]``;
with nuisance parameters, MadMiner's ``theta`` (``theta0``, ``theta1``) carries the nuisance values as its
last components, where columnminer keeps them apart (``nu0``, ``nu1``). Reference: Brehmer, Kling, Espejo,
Cranmer, "MadMiner", arXiv:1907.10621.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputFormatError
from ..io.store import EventStore
from ..ml.data import STORE_COLUMNS, TrainingData
from ..sampling.augmenter import AugmentedSample

__all__ = [
    "MADMINER_SAMPLE_FILES",
    "import_madminer_sample",
    "madminer_training_data",
    "read_madminer_sample",
    "write_madminer_sample",
]

logger = logging.getLogger(__name__)

#: MadMiner's file prefix -> the columnminer sample array it holds: the same names, and ``theta`` / ``t_xz``
#: for ``theta0`` / ``t_xz0`` in the samples without ``theta1`` / ``t_xz1`` (a sample has one of each pair).
MADMINER_SAMPLE_FILES = {
    **{name: name for name in ("x", "theta0", "theta1", "y", "r_xz", "t_xz0", "t_xz1")},
    "theta": "theta0",
    "t_xz": "t_xz0",
}

_ONE_COLUMN = ("y", "r_xz")


def read_madminer_sample(
    folder: str | os.PathLike, filename: str, mmap: bool = True
) -> dict[str, np.ndarray]:
    """The arrays of MadMiner's sample ``<folder>/<prefix>_<filename>.npy`` under columnminer's names
    (``x``, ``theta0``, ``theta1``, ``y``, ``r_xz``, ``t_xz0``, ``t_xz1``, as present; ``y`` and ``r_xz``
    1-d). Memory-mapped by default (nothing is read until used); never unpickles.

    Raises :class:`~columnminer.errors.InputFormatError` naming the file for a missing ``x`` file, an
    unreadable file, both of ``theta`` / ``theta0`` (or ``t_xz`` / ``t_xz0``), or arrays of different
    lengths.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> np.save(f"{folder}/x_train.npy", np.zeros((4, 2)))
        >>> np.save(f"{folder}/t_xz_train.npy", np.ones((4, 1)))
        >>> {k: v.shape for k, v in read_madminer_sample(folder, "train").items()}
        {'x': (4, 2), 't_xz0': (4, 1)}
    """
    folder = Path(folder)
    arrays: dict[str, np.ndarray] = {}
    origin: dict[str, Path] = {}
    for prefix, name in MADMINER_SAMPLE_FILES.items():
        path = folder / f"{prefix}_{filename}.npy"
        if not path.is_file():
            continue
        if name in arrays:
            raise InputFormatError(
                f"{path}: the sample {filename!r} has both {origin[name].name} and {path.name}",
                path=str(path),
                field=prefix,
            )
        try:
            values = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise InputFormatError(f"{path}: not a readable .npy array ({err})", path=str(path)) from err
        if name in _ONE_COLUMN and values.ndim == 2 and values.shape[1] == 1:
            values = values.reshape(-1)
        arrays[name], origin[name] = values, path
    if "x" not in arrays:
        raise InputFormatError(
            f"{folder}: no MadMiner sample {filename!r} (no x_{filename}.npy)", path=str(folder), field="x"
        )
    lengths = {origin[k].name: int(v.shape[0]) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise InputFormatError(
            f"{folder}: the sample files have different lengths {lengths}", path=str(folder)
        )
    logger.debug("MadMiner sample %s/%s: %s", folder, filename, sorted(arrays))
    return arrays


def madminer_training_data(folder: str | os.PathLike, filename: str, **options: Any) -> TrainingData:
    """MadMiner's sample files as :class:`~columnminer.ml.TrainingData` with the estimator column names
    (``theta``, ``t_xz``, ... as :data:`~columnminer.ml.STORE_COLUMNS` maps them), memory-mapped and read
    block by block; ``options`` go to :class:`~columnminer.ml.TrainingData`.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> for prefix, width in (("x", 2), ("theta", 1), ("t_xz", 1)):
        ...     np.save(f"{folder}/{prefix}_train_local.npy", np.zeros((5, width)))
        >>> madminer_training_data(folder, "train_local").names
        ['x', 'theta', 't_xz']
    """
    arrays = read_madminer_sample(folder, filename)
    return TrainingData({STORE_COLUMNS[k]: v for k, v in arrays.items() if k in STORE_COLUMNS}, **options)


def _sample_kind(arrays: Mapping[str, Any], filename: str) -> str:
    """The columnminer sample kind of a set of arrays (MadMiner does not record it)."""
    if "t_xz1" in arrays:
        return "train_more_ratios"
    if "theta1" in arrays:
        return "train_ratio"
    if "t_xz0" in arrays:
        return "train_local"
    return "test" if filename.startswith("test") else "train_plain"


def import_madminer_sample(
    store: EventStore,
    folder: str | os.PathLike,
    filename: str,
    name: str | None = None,
    overwrite: bool = False,
) -> AugmentedSample:
    """Read MadMiner's sample ``<folder>/<prefix>_<filename>.npy`` and write it into ``store`` as the
    augmented sample ``name`` (default ``filename``), so that estimators train on ``(store, name)``.

    The widths are checked against the store: x against its observables, theta against its parameters;
    a theta of ``n_parameters + n_nuisances`` components (MadMiner's samples with nuisance parameters) is
    split into ``theta0`` and ``nu0`` (``theta1`` and ``nu1``). The sample's kind is inferred from its arrays
    (MadMiner does not record it); the effective numbers of events are unknown (empty).

    Example:
        >>> import tempfile
        >>> from columnminer.demo import golden_channel_setup
        >>> store = EventStore.create(tempfile.mkdtemp() + "/s.zarr", golden_channel_setup(), ["m4l"])
        >>> folder = tempfile.mkdtemp()
        >>> for prefix, width in (("x", 1), ("theta", 2), ("t_xz", 2)):
        ...     np.save(f"{folder}/{prefix}_train.npy", np.zeros((3, width)))
        >>> sample = import_madminer_sample(store, folder, "train")
        >>> sample.attrs["kind"], store.sample_names
        ('train_local', ['train'])
    """
    arrays = {k: np.asarray(v) for k, v in read_madminer_sample(folder, filename, mmap=False).items()}
    path = str(Path(folder) / f"x_{filename}.npy")
    n_obs = len(store.observable_names)
    if arrays["x"].shape[1:] != (n_obs,):
        raise InputFormatError(
            f"{path}: x has shape {arrays['x'].shape}, the store has {n_obs} observables",
            path=path,
            field="x",
        )
    setup = store.setup
    n_par, nuisances = setup.parameter_space.n_parameters, setup.nuisance_parameter_names
    for key, nu_key in (("theta0", "nu0"), ("theta1", "nu1")):
        if key not in arrays:
            continue
        width = arrays[key].shape[1] if arrays[key].ndim == 2 else 0
        if width == n_par + len(nuisances) and nuisances:
            arrays[key], arrays[nu_key] = arrays[key][:, :n_par], arrays[key][:, n_par:]
        elif width != n_par:
            raise InputFormatError(
                f"{folder}: {key} has shape {arrays[key].shape}, the store has {n_par} parameters"
                + (f" and {len(nuisances)} nuisance parameters" if nuisances else ""),
                path=str(folder),
                field=key,
            )
    kind = _sample_kind(arrays, filename)
    attrs = {
        "kind": kind,
        "n_samples": len(arrays["x"]),
        "source": {"madminer_sample": str(Path(folder) / filename)},
        "observables": store.observable_names,
        "parameters": setup.parameter_names,
    }
    sample = AugmentedSample(name or filename, arrays, np.empty(0), np.empty(0), attrs)
    store.write_sample(sample.name, arrays, attrs, overwrite=overwrite)
    logger.info("imported MadMiner sample %s (%s, %d rows) as %r", path, kind, len(arrays["x"]), sample.name)
    return sample


def write_madminer_sample(
    sample: AugmentedSample | Mapping[str, Any], folder: str | os.PathLike, filename: str
) -> list[Path]:
    """Write a columnminer sample (an :class:`~columnminer.sampling.AugmentedSample` or its arrays, e.g.
    ``store.read_sample(name)``) as MadMiner's ``<folder>/<prefix>_<filename>.npy`` files; returns them.

    Paired samples (with ``theta1``) write ``theta0_`` / ``theta1_``, the others ``theta_``; the joint score
    is ``t_xz_`` unless the sample also has ``t_xz1`` (``t_xz0_``, ``t_xz1_``); ``y`` and ``r_xz`` are
    ``[n, 1]``; ``nu0`` / ``nu1`` are appended to theta0 / theta1 as MadMiner does. ``event`` (the source
    rows) has no MadMiner file and is left out.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> arrays = {"x": np.zeros((3, 1)), "theta0": np.zeros((3, 2)), "t_xz0": np.ones((3, 2))}
        >>> [p.name for p in write_madminer_sample(arrays, folder, "train_local")]
        ['x_train_local.npy', 'theta_train_local.npy', 't_xz_train_local.npy']
    """
    arrays = dict(sample.arrays if isinstance(sample, AugmentedSample) else sample)
    paired = "theta1" in arrays
    out = {"x": arrays["x"]}
    for key, nu_key, prefix in (
        ("theta0", "nu0", "theta0" if paired else "theta"),
        ("theta1", "nu1", "theta1"),
    ):
        if key in arrays:
            theta = np.asarray(arrays[key])
            out[prefix] = np.hstack([theta, np.asarray(arrays[nu_key])]) if nu_key in arrays else theta
    out.update({key: np.asarray(arrays[key]).reshape(-1, 1) for key in _ONE_COLUMN if key in arrays})
    if "t_xz0" in arrays:
        out["t_xz0" if "t_xz1" in arrays else "t_xz"] = arrays["t_xz0"]
    if "t_xz1" in arrays:
        out["t_xz1"] = arrays["t_xz1"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for prefix, values in out.items():
        path = folder / f"{prefix}_{filename}.npy"
        np.save(path, np.asarray(values), allow_pickle=False)
        paths.append(path)
    logger.info("wrote MadMiner sample %s/%s: %s", folder, filename, list(out))
    return paths
