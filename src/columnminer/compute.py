"""Where dask work runs: a distributed Client when one is given or active, else threads of this process."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["active_client", "compute", "local_threads", "run_tasks"]

logger = logging.getLogger(__name__)


def active_client(client: Any = None) -> Any:
    """``client`` if given, else the active ``distributed`` client, else ``None``.

    Example:
        >>> active_client("my-client")
        'my-client'
    """
    if client is not None:
        return client
    if "distributed" not in sys.modules:  # no client can be active; importing distributed costs 0.3 s
        return None
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - distributed is a dependency
        return None
    try:
        return default_client()
    except ValueError:
        return None


def compute(*collections: Any, client: Any = None) -> tuple:
    """Compute dask collections together (shared inputs are read once) and return the results.

    On a ``distributed.Client`` (passed, or the active one) only the reduced results travel to the
    client; otherwise the threaded scheduler runs in this process.

    Example:
        >>> import dask.array as da
        >>> compute(da.ones(10, chunks=5).sum())
        (np.float64(10.0),)
    """
    import dask

    client = active_client(client)
    if client is not None:
        logger.debug("computing %d collection(s) on %s", len(collections), client)
        return tuple(client.compute(list(collections), sync=True))
    return dask.compute(*collections, scheduler="threads")


def local_threads() -> int:
    """Threads that run local work: dask's ``num_workers`` setting, else one per core.

    Example:
        >>> import dask
        >>> with dask.config.set(num_workers=3):
        ...     local_threads()
        3
    """
    import dask

    return max(1, int(dask.config.get("num_workers", None) or os.cpu_count() or 1))


#: Thread pools of :func:`run_tasks` by size, made when first needed and kept (threads are cheap idle).
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
_IN_POOL = threading.local()


def _mark_pool_thread() -> None:
    _IN_POOL.active = True


def _pool(n_threads: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        pool = _POOLS.get(n_threads)
        if pool is None:
            pool = _POOLS[n_threads] = ThreadPoolExecutor(
                n_threads, thread_name_prefix="columnminer-task", initializer=_mark_pool_thread
            )
        return pool


os.register_at_fork(after_in_child=_POOLS.clear)  # a forked child has none of the parent's threads


def _call(fn: Callable[[], Any]) -> Any:
    return fn()


def run_tasks(tasks: Sequence[Callable[[], Any]], client: Any = None) -> list[Any]:
    """Run zero-argument callables and return their results in order.

    On a ``distributed.Client`` (passed, or the active one) each callable is one task (it must pickle);
    otherwise they run on a pool of :func:`local_threads` threads of this process: no dask graph and no
    scheduler, about 20 us per task instead of 0.3 ms, so that short passes over a store (10^6 events in
    10-30 ms) are not dominated by fixed costs. Called from a pool thread (a task that runs tasks), they
    run right there, one after the other. The first exception, in task order, is raised.

    Example:
        >>> run_tasks([lambda: 1, lambda: 2])
        [1, 2]
    """
    tasks = list(tasks)
    client = active_client(client)
    if client is not None:
        import dask

        return list(compute(*(dask.delayed(fn, pure=False)() for fn in tasks), client=client))
    if len(tasks) <= 1 or getattr(_IN_POOL, "active", False):
        return [fn() for fn in tasks]
    return list(_pool(local_threads()).map(_call, tasks))
