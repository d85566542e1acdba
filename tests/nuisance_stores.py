"""A small store with systematics for the nuisance tests: the golden-channel parameter space, per-event
quadratic weights and known log-linear variations."""

import numpy as np

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.io.store import EventStore

N_EVENTS = 2000
DELTA = 0.02


def make_nuisance_store(url, shape=True, scale=True, delta=DELTA, n=N_EVENTS, seed=3, background=True):
    """Golden-channel parameter space (a2, a3; exact morphing) with per-event quadratic weights
    w(z|theta) = (1 + (1 + x) a2 + 0.3 a3)^2 / n (shape) or (1 + a2 + a3)^2 / n (rate only); systematics:
    a norm (1 + delta) and optionally a scale-like variation w (1 +- 0.2 x / max|x|). Background rows (the
    last 10 %, the same weight at every theta) unless ``background`` is False."""
    rng = np.random.default_rng(seed)
    setup = golden_channel_setup()
    setup.add_systematics("norm", "lumi", norm_variation=1.0 + delta)
    if scale:
        setup.add_systematics("scale", "mu", scale_variations=(0.5, 1.0, 2.0))
    x = rng.uniform(-1.0, 1.0, n)
    couplings = np.zeros((n, 3, 1))
    couplings[:, 0, 0] = 1.0
    couplings[:, 1, 0] = 1.0 + x if shape else 1.0
    couplings[:, 2, 0] = 0.3 if shape else 1.0
    weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T / n
    sampled = np.where(np.arange(n) < n - (n // 10 if background else 0), 0, -1)
    weights[sampled == -1] = weights[sampled == -1][:, :1]  # background: the same weight in every column
    w0 = weights[:, 0]
    s = x / np.abs(x).max()
    columns = [w0 * (1.0 + delta)]
    if scale:
        columns += [w0 * (1.0 + 0.2 * s), w0 * (1.0 - 0.2 * s)]
    nuisance = np.stack(columns, axis=1)
    store = EventStore.create(url, setup, ["x"], chunk_size=700)
    store.append(x[:, None], weights, sampled, nuisance_weights=nuisance)
    return store, {"x": x, "s": s, "weights": weights, "w0": w0, "sampled": sampled}
