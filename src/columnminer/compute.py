"""Where dask work runs: a distributed Client when one is given or active, else the threaded scheduler."""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["active_client", "compute"]

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
