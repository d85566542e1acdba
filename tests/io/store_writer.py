"""A writer process for the store crash tests: appends deterministic chunks, optionally dying mid-append.

Usage: python store_writer.py URL N_CHUNKS [kill-at-chunk K]
"""

import os
import signal
import sys

import numpy as np

CHUNK_ROWS = 37  # deliberately not a multiple of the store's chunk size
STORE_CHUNK = 50
OBSERVABLES = ["m4l", "pt4l", "phi"]


def make_chunk(i: int) -> dict:
    """The i-th chunk of events: the same numbers in every process."""
    rng = np.random.default_rng(1000 + i)
    return {
        "observables": rng.normal(size=(CHUNK_ROWS, len(OBSERVABLES))),
        "weights": rng.uniform(0.1, 2.0, size=(CHUNK_ROWS, 6)),
        "sampled_from": np.full(CHUNK_ROWS, i % 6, dtype=np.int16),
    }


def main() -> None:
    import zarr

    from columnminer.demo import golden_channel_setup
    from columnminer.io.store import EventStore

    url, n_chunks = sys.argv[1], int(sys.argv[2])
    kill_at = int(sys.argv[4]) if len(sys.argv) > 4 else -1
    store = EventStore.create(url, golden_channel_setup(), OBSERVABLES, chunk_size=STORE_CHUNK)
    print("created", flush=True)
    for i in range(n_chunks):
        if i == kill_at:
            original = zarr.Array.__setitem__
            calls = []

            def dying_setitem(self, key, value, calls=calls, original=original):
                calls.append(key)
                if len(calls) == 2:  # observables written, weights not: die like a killed worker
                    os.kill(os.getpid(), signal.SIGKILL)
                return original(self, key, value)

            zarr.Array.__setitem__ = dying_setitem
        store.append(**make_chunk(i), source={"chunk": i})
    print("done", flush=True)


if __name__ == "__main__":
    main()
