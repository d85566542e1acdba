"""combine_and_shuffle: merge event stores of one setup into one shuffled store, with bounded memory."""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import DuplicateSourceError, StoreError, StoreMismatchError
from .provenance import source_file_key, source_range
from .store import ARRAYS, EventStore, setup_difference
from .store_lock import local_path

__all__ = ["combine_and_shuffle"]

logger = logging.getLogger(__name__)


def _check_compatible(stores: Sequence[EventStore]) -> None:
    first = stores[0]
    for other in stores[1:]:
        difference = setup_difference(first.setup.to_dict(), other.setup.to_dict())
        if difference is not None:
            raise StoreMismatchError(f"cannot combine {first.url} and {other.url}: {difference}")
        for label, a, b in (
            ("observables", first.observable_names, other.observable_names),
            ("nuisance benchmarks", first.nuisance_benchmark_names, other.nuisance_benchmark_names),
        ):
            if a != b:
                raise StoreMismatchError(
                    f"cannot combine {first.url} and {other.url}: {label} differ: {a} vs {b}"
                )
        other.require_complete()
    first.require_complete()


def combine_and_shuffle(
    stores: Sequence[EventStore | str],
    out: str,
    seed: int = 0,
    chunk_size: int | None = None,
    max_memory_bytes: int = 512 * 2**20,
    overwrite: bool = False,
    progress: bool = False,
) -> EventStore:
    r"""Merge stores written with the same setup into one store at ``out``, in a uniformly random order.

    Two passes with memory bounded by ``max_memory_bytes`` whatever the total size: each event is sent to
    one of B buckets chosen uniformly at random (B = total bytes / bucket capacity; the bucket counts of
    each input block are drawn first, so every bucket gets a contiguous region of a raw memory-mapped
    scratch file on local disk), then each
    bucket is loaded, permuted and appended. Independent uniform bucket labels followed by a uniform
    permutation inside each bucket give a uniform permutation of all events. The same ``seed`` gives the
    same output. Provenance of every input is kept; ``sampled_from`` travels with its events.

    Stores with different setups (benchmarks, parameters, morphing), observables or nuisance benchmarks
    are refused with a message that names the difference; so are inputs that hold the same events twice (one
    store given twice, or events of one input file in two stores: :class:`~columnminer.errors.
    DuplicateSourceError`). A local output is written under a temporary name and renamed into place when
    complete, so a killed run never leaves a partial store at ``out``.

    Example:
        >>> import tempfile, numpy as np
        >>> from columnminer.demo import golden_channel_setup
        >>> d, setup = tempfile.mkdtemp(), golden_channel_setup()
        >>> a = EventStore.create(d + "/a.zarr", setup, ["x"])
        >>> _ = a.append(np.arange(3.0)[:, None], np.ones((3, 6)), 0)
        >>> b = EventStore.create(d + "/b.zarr", setup, ["x"])
        >>> _ = b.append(np.arange(3.0, 5.0)[:, None], np.ones((2, 6)), 1)
        >>> merged = combine_and_shuffle([a, b], d + "/all.zarr", seed=1)
        >>> sorted(merged.read("observables")[:, 0].tolist())
        [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    stores = [s if isinstance(s, EventStore) else EventStore.open(s) for s in stores]
    if not stores:
        raise StoreMismatchError("combine_and_shuffle: no input stores")
    _check_compatible(stores)
    _check_disjoint(stores)
    first = stores[0]
    names = ["observables", "weights", "sampled_from"] + (
        ["nuisance_weights"] if first.nuisance_benchmark_names else []
    )
    row_bytes = sum(
        ARRAYS[n].itemsize * (first.read(n, 0, 0).shape[1] if n != "sampled_from" else 1) for n in names
    )
    n_total = sum(s.n_events for s in stores)
    # a bucket, its permuted copy and one input block must fit in the budget at once
    capacity = max(1, int(max_memory_bytes // (4 * row_bytes)))
    n_buckets = max(1, math.ceil(n_total / capacity))
    rng = np.random.default_rng(seed)
    logger.info("shuffling %d events from %d stores through %d bucket(s)", n_total, len(stores), n_buckets)

    final = local_path(str(out))
    if final is not None and Path(final).exists() and not overwrite:
        raise StoreError(f"{out}: a store already exists there (pass overwrite=True to replace it)")
    target = str(out) if final is None else f"{final}.partial-{uuid.uuid4().hex[:12]}"
    output = _create_like(first, target, int(chunk_size or first.chunk_size), overwrite and final is None)
    # Bucket sizes first (multinomial), then each block's share of every bucket drawn from what is left
    # (multivariate hypergeometric): the same joint law as iid uniform labels, in O(n_buckets) memory.
    bucket_sizes = rng.multinomial(n_total, np.full(n_buckets, 1.0 / n_buckets))
    parent = Path(out).parent if "://" not in str(out) else None
    scratch = Path(tempfile.mkdtemp(prefix=".shuffle-", dir=parent if parent and parent.exists() else None))
    try:
        regions = {
            n: np.lib.format.open_memmap(
                scratch / f"{n}.npy",
                mode="w+",
                dtype=ARRAYS[n],
                shape=(max(n_total, 1), *first.read(n, 0, 0).shape[1:]),
            )
            for n in names
        }
        with tqdm(total=2 * n_total, disable=not progress, unit="events", desc="combine_and_shuffle") as bar:
            _scatter(stores, regions, bucket_sizes, capacity, rng, bar)
            _gather(regions, bucket_sizes, output, rng, bar)
        del regions
    except BaseException:
        if final is not None:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    inputs = [{"store": s.url, "n_events": s.n_events, "samples": s.sources} for s in stores]
    output.update_metadata(combined_from=inputs)
    if final is None:
        return output
    if Path(final).exists():  # overwrite: the old store goes only once the new one is complete
        shutil.rmtree(final)
    os.replace(target, final)
    return EventStore.open(str(out), mode="a")


def _create_like(first: EventStore, target: str, chunk_size: int, overwrite: bool) -> EventStore:
    """An empty store at ``target`` with the setup, observables, nuisances and partitions of ``first``."""
    attrs = first.metadata
    return EventStore.create(
        target,
        first.setup,
        first.observable_names,
        chunk_size=chunk_size,
        nuisance_benchmarks=first.nuisance_benchmark_names,
        partition_fractions=list(attrs["partitions"]["fractions"].values()),
        partition_seed=attrs["partitions"]["seed"],
        overwrite=overwrite,
    )


def _scatter(
    stores: Sequence[EventStore],
    regions: dict[str, np.ndarray],
    bucket_sizes: np.ndarray,
    block: int,
    rng: np.random.Generator,
    bar: tqdm,
) -> None:
    """Pass 1: send every event to a random bucket, writing each block into the buckets' regions of
    ``regions`` (bucket b holds rows ``cumsum(bucket_sizes)[b-1]`` up to ``cumsum(bucket_sizes)[b]``)."""
    n_buckets = len(bucket_sizes)
    remaining = bucket_sizes.copy()
    filled = np.concatenate([[0], np.cumsum(bucket_sizes)])[:-1]
    blocks = (
        (store, first, min(first + block, store.n_events))
        for store in stores
        for first in range(0, store.n_events, block)
    )
    for store, first_row, stop in blocks:
        block_counts = rng.multivariate_hypergeometric(remaining, stop - first_row)
        remaining -= block_counts
        labels = rng.permutation(np.repeat(np.arange(n_buckets), block_counts))
        order = np.argsort(labels, kind="stable")
        rows = {name: store.read(name, first_row, stop)[order] for name in regions}
        offsets = np.concatenate([[0], np.cumsum(block_counts)])
        for b in np.flatnonzero(block_counts):
            for name, region in regions.items():
                region[filled[b] : filled[b] + block_counts[b]] = rows[name][offsets[b] : offsets[b + 1]]
        filled += block_counts
        bar.update(stop - first_row)
        del rows


def _gather(
    regions: dict[str, np.ndarray],
    bucket_sizes: np.ndarray,
    output: EventStore,
    rng: np.random.Generator,
    bar: tqdm,
) -> None:
    """Pass 2: load each bucket, permute it uniformly and append it to ``output``."""
    bucket_edges = np.concatenate([[0], np.cumsum(bucket_sizes)])
    for b in range(len(bucket_sizes)):
        lo, hi = int(bucket_edges[b]), int(bucket_edges[b + 1])
        if hi == lo:
            continue
        permutation = rng.permutation(hi - lo)
        data = {name: np.asarray(region[lo:hi])[permutation] for name, region in regions.items()}
        output.append(
            data["observables"],
            data["weights"],
            data["sampled_from"],
            data.get("nuisance_weights"),
            source=None,
        )
        bar.update(hi - lo)
        del data


def _check_disjoint(stores: Sequence[EventStore]) -> None:
    """Refuse inputs holding the same events twice: one store twice, or one input file's events in two."""
    urls = [s.url for s in stores]
    for i, url in enumerate(urls):
        if url in urls[:i]:
            raise DuplicateSourceError(f"combine_and_shuffle: the store {url} is given twice")
    seen: dict[str, list[tuple[int, int, str]]] = {}
    for store in stores:
        for item in store.sources:
            key, span = source_file_key(item.get("source")), source_range(item.get("source"))
            if key is None or span is None:
                continue
            for start, stop, url in seen.get(key, []):
                if url != store.url and start < span[1] and span[0] < stop:
                    raise DuplicateSourceError(
                        f"combine_and_shuffle: {store.url} and {url} both hold events {max(start, span[0])}.."
                        f"{min(stop, span[1])} of {item['source']['file'].get('path')}"
                    )
            seen.setdefault(key, []).append((span[0], span[1], store.url))
