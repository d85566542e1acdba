"""Where dask work runs: a distributed Client when one is given or active, else threads of this process."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "HOLD_SECONDS",
    "WORKER_MMAP_THRESHOLD",
    "WORKER_TRIM_THRESHOLD",
    "active_client",
    "compute",
    "local_threads",
    "run_tasks",
    "tune_worker_malloc",
]

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


#: glibc's mmap threshold (bytes) that :func:`tune_worker_malloc` sets in a dask worker process: 32 MiB, the
#: largest glibc allows, the value its dynamic threshold grows to by itself.
WORKER_MMAP_THRESHOLD = 32 * 2**20
#: glibc's trim threshold (bytes) that :func:`tune_worker_malloc` sets in place of dask's default: 32 MiB.
WORKER_TRIM_THRESHOLD = 32 * 2**20
_DASK_TRIM_THRESHOLD = "65536"  # the MALLOC_TRIM_THRESHOLD_ that dask's nanny sets by default
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_TUNED: list[bool] = []


def tune_worker_malloc(environ: dict | None = None) -> bool:
    """Give this process glibc thresholds that suit passes over a store's chunks where dask's nanny set its
    own; True where one was set (once per process, at the first call).

    dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``, and setting any malloc tunable
    switches off glibc's dynamic mmap threshold: every array above 128 KiB is then mapped and unmapped
    again, and the page faults of every fresh array make a pass over a store's chunks (a few MB per chunk
    and column) about 35 % slower on a worker than in process (cross sections on 10^7 events: 95 against
    70 ms). So the mmap threshold is fixed at :data:`WORKER_MMAP_THRESHOLD` (not where
    ``MALLOC_MMAP_THRESHOLD_`` is set: the user's or :data:`columnminer.processors.DASK_WORKER_CONFIG`'s
    choice). Those arrays then come from malloc's heaps, which a trim threshold of 64 KiB hands back to the
    system whenever a chunk's arrays are freed, to fault them in again for the next chunk: 31,000 page faults
    and a quarter of the time of ``truth_information`` on 10^7 events on one worker (0.48-0.52 against
    0.37-0.38 s per call). So dask's default trim threshold becomes :data:`WORKER_TRIM_THRESHOLD` (a heap
    keeps at most that much free memory at its top); another value, set by the user, stays. Tasks sent by
    :func:`run_tasks` call this first, so a plain ``LocalCluster()`` runs them at the in-process speed.
    Nothing changes where ``MALLOC_TRIM_THRESHOLD_`` is not set (glibc's dynamic thresholds are on) or
    outside glibc.

    Example:
        >>> tune_worker_malloc({"MALLOC_TRIM_THRESHOLD_": "1000000", "MALLOC_MMAP_THRESHOLD_": "65536"})
        False
    """
    environ = os.environ if environ is None else environ
    trim = environ.get("MALLOC_TRIM_THRESHOLD_")
    settings = []
    if trim is not None and "MALLOC_MMAP_THRESHOLD_" not in environ:
        settings.append((_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD))
    if trim == _DASK_TRIM_THRESHOLD:
        settings.append((_M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD))
    if not settings:
        return False
    if _TUNED:
        return _TUNED[0]
    try:
        mallopt = ctypes.CDLL(None).mallopt
        done = all([bool(mallopt(parameter, value)) for parameter, value in settings])
    except (OSError, AttributeError):  # not glibc
        done = False
    _TUNED.append(done)
    logger.debug("malloc of worker process %d tuned (mallopt %s): %s", os.getpid(), settings, done)
    return done


def _on_worker(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a dask worker, its malloc tuned first (:func:`tune_worker_malloc`)."""
    tune_worker_malloc()
    return fn()


#: Seconds that the futures of a :func:`run_tasks` call on a client are kept when no other call comes.
HOLD_SECONDS = 1.0


class _Held:
    """The futures of the last :func:`run_tasks` call on a client (any client), until the next call takes
    their place or :data:`HOLD_SECONDS` pass; one daemon thread, started when first needed (and again in a
    forked child, which does not inherit it), drops them on time. Dropping the last reference to a future
    is what releases its result in distributed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._futures: list | None = None
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    @property
    def futures(self) -> list | None:
        """The futures held now (None when none)."""
        with self._cond:
            return self._futures

    def hold(self, futures: list) -> None:
        """Keep ``futures`` (in place of any held) for :data:`HOLD_SECONDS`."""
        with self._cond:
            dropped, self._futures = self._futures, futures
            self._deadline = time.monotonic() + HOLD_SECONDS
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._drop_on_time, name="columnminer-held", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        del dropped  # outside the lock, as in release

    def release(self) -> None:
        """Drop the held futures now."""
        with self._cond:
            dropped, self._futures = self._futures, None
        del dropped  # outside the lock: a future's release calls into the client

    def _drop_on_time(self) -> None:
        while True:
            with self._cond:
                while self._futures is None or time.monotonic() < self._deadline:
                    timeout = None if self._futures is None else self._deadline - time.monotonic()
                    self._cond.wait(timeout)
                dropped, self._futures = self._futures, None
            del dropped


_HELD = _Held()


def _run_on_client(tasks: list[Callable[[], Any]], client: Any) -> list[Any]:
    """The tasks on ``client``, their results gathered in order.

    The futures are kept until the next call (on any client), which releases them right after sending its own
    graph, or for :data:`HOLD_SECONDS`: distributed batches a client's messages to the scheduler, and one
    sent less than 10 ms after the previous waits for that window to close, so releasing the results at the
    end of a call held back the graph of a call that followed at once (about 8 ms per call of cross sections
    on a 2-worker LocalCluster, ``benchmarks/cluster_calls.py``). The results stay on the workers that long.
    """
    import dask

    futures = client.compute([dask.delayed(_on_worker, pure=False)(fn) for fn in tasks])
    _HELD.release()
    results = list(client.gather(futures))
    _HELD.hold(futures)
    return results


def run_tasks(tasks: Sequence[Callable[[], Any]], client: Any = None) -> list[Any]:
    """Run zero-argument callables and return their results in order.

    On a ``distributed.Client`` (passed, or the active one) each callable is one task (it must pickle), run
    after :func:`tune_worker_malloc`, whose future is kept until the next call or for :data:`HOLD_SECONDS`;
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
        return _run_on_client(tasks, client)
    if len(tasks) <= 1 or getattr(_IN_POOL, "active", False):
        return [fn() for fn in tasks]
    return list(_pool(local_threads()).map(_call, tasks))
