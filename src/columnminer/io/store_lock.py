"""One writer at a time: the advisory writer lock of an event store."""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import StoreLockedError

__all__ = ["StoreLock", "current_writer", "describe_holder", "local_path"]

logger = logging.getLogger(__name__)

_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def local_path(url: str) -> str | None:
    """The directory of a store on the local file system (``None`` for fsspec URLs such as ``s3://``).

    Example:
        >>> local_path("file:///data/s.zarr"), local_path("memory://s.zarr")
        ('/data/s.zarr', None)
    """
    url = str(url)
    if url.startswith("file://"):
        return url[len("file://") :]
    if "://" in url:
        return None
    return url


def current_writer() -> dict[str, Any]:
    """This writer, as recorded in a store it holds: process id, host, thread, since when (UTC, ISO 8601).

    Example:
        >>> me = current_writer()
        >>> sorted(me), me["pid"] == os.getpid()
        (['host', 'pid', 'since', 'thread'], True)
    """
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "thread": threading.current_thread().name,
    }


def describe_holder(holder: Mapping[str, Any] | None) -> str:
    """A writer record in words.

    Example:
        >>> describe_holder({"pid": 7, "host": "node1", "since": "2026-01-01T00:00:00+00:00"})
        'process 7 on node1 (since 2026-01-01T00:00:00+00:00)'
    """
    if not holder:
        return "an unknown writer"
    return f"process {holder.get('pid')} on {holder.get('host')} (since {holder.get('since')})"


class StoreLock:
    """Advisory writer lock of one store, reentrant within the object that holds it.

    Local stores: ``fcntl.flock`` on the store's directory. The operating system releases the lock when its
    process dies, so a lock left by a killed writer is stale by construction and the next writer simply takes
    it. Who holds the lock is recorded by the store (its ``writer`` attribute: pid, host, time), read here
    through ``holder`` for the error message. Other stores (``memory://``, object stores): a lock per URL
    within this process; writers in other processes are detected at commit by the store's commit counter
    (compare-and-swap style), see :meth:`columnminer.io.store.EventStore.append`.

    A writer that finds the lock held waits up to ``timeout`` seconds (``0``: not at all), then raises
    :class:`~columnminer.errors.StoreLockedError` naming the store and the holder.

    Example:
        >>> import tempfile
        >>> lock = StoreLock(tempfile.mkdtemp(), timeout=0)
        >>> with lock:
        ...     with lock:  # reentrant
        ...         lock.depth
        2
    """

    def __init__(
        self, url: str, timeout: float = 60.0, holder: Callable[[], dict[str, Any] | None] | None = None
    ) -> None:
        self.url = str(url)
        self.timeout = float(timeout)
        self.depth = 0
        self._holder = holder
        self._fd: int | None = None
        self._guard = threading.RLock()
        self._path = local_path(self.url)
        if self._path is None:
            with _PROCESS_LOCKS_GUARD:
                self._process_lock = _PROCESS_LOCKS.setdefault(self.url, threading.RLock())

    def describe_holder(self) -> str:
        """Who holds the lock, in words (as recorded by the holder)."""
        try:
            holder = self._holder() if self._holder is not None else None
        except Exception:  # the holder's record is advisory: never let reading it hide the lock error
            holder = None
        return describe_holder(holder)

    def acquire(self) -> None:
        """Take the lock (waiting up to ``timeout``), or raise :class:`StoreLockedError`."""
        with self._guard:
            if self.depth:
                self.depth += 1
                return
            if self._path is None:
                if not self._process_lock.acquire(timeout=self.timeout if self.timeout > 0 else 0):
                    raise StoreLockedError(
                        f"{self.url}: the store is being written by {self.describe_holder()}; one writer at a time"
                    )
            else:
                self._acquire_file()
            self.depth = 1

    def _acquire_file(self) -> None:
        import fcntl

        fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreLockedError(
                        f"{self.url}: the store is being written by {self.describe_holder()}; one writer at a "
                        f"time (waited {self.timeout:g} s)"
                    ) from None
                time.sleep(delay)
                delay = min(2 * delay, 0.1)
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (the outermost release of a reentrant holder frees it)."""
        import fcntl

        with self._guard:
            if not self.depth:
                return
            self.depth -= 1
            if self.depth:
                return
            if self._path is None:
                self._process_lock.release()
                return
            fd, self._fd = self._fd, None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
