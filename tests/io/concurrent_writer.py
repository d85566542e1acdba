"""A writer process for the concurrency tests: appends to (or holds) an existing store.

Usage:
    python concurrent_writer.py URL append WRITER N_APPENDS ROWS   append N_APPENDS blocks of ROWS rows
    python concurrent_writer.py URL hold SECONDS                   hold the writer lock, print "locked"
    python concurrent_writer.py URL die                            take the lock and die by SIGKILL

Block k of writer w has observables (w, k, row) and weights w + k / 1000 in every column, so a reader can
check that every acknowledged block is in the store, whole and unmixed.
"""

import os
import signal
import sys
import time

import numpy as np


def block(writer: int, k: int, rows: int) -> dict:
    """The k-th block of a writer: identifiable rows."""
    observables = np.empty((rows, 3))
    observables[:, 0] = writer
    observables[:, 1] = k
    observables[:, 2] = np.arange(rows)
    return {
        "observables": observables,
        "weights": np.full((rows, 6), writer + k / 1000.0),
        "sampled_from": np.zeros(rows, dtype=np.int16),
    }


def main() -> None:
    from columnminer.io.store import EventStore

    url, action = sys.argv[1], sys.argv[2]
    store = EventStore.open(url, mode="a", lock_timeout=300)
    if action == "append":
        writer, n_appends, rows = (int(v) for v in sys.argv[3:6])
        for k in range(n_appends):
            store.append(**block(writer, k, rows), source={"writer": writer, "block": k})
            print(f"ack {writer} {k}", flush=True)
    elif action == "hold":
        with store.writing():
            print("locked", flush=True)
            time.sleep(float(sys.argv[3]))
    elif action == "die":
        with store.writing():
            print("locked", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main()
