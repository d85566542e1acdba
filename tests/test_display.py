"""Result objects print short summaries (terminal and Jupyter): under 2,000 characters and 30 lines."""

import numpy as np
import pytest

from columnminer.analysis import Analysis
from columnminer.demo import golden_channel_setup
from columnminer.inference import expected_limits
from columnminer.inference.likelihood import parameter_grid
from columnminer.io.store import EventStore
from columnminer.sampling import SampleAugmenter, benchmark, random_morphing_points


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    setup = golden_channel_setup()
    store = EventStore.create(str(tmp_path_factory.mktemp("display") / "s.zarr"), setup, ["x", "y"])
    rng = np.random.default_rng(0)
    store.append(rng.normal(size=(3000, 2)), rng.uniform(0.5, 1.5, size=(3000, 6)) * 1e-3, 0)
    return store


def short(obj) -> str:
    text = repr(obj)
    assert len(text) < 2000 and text.count("\n") < 30, text
    html = obj._repr_html_()
    assert html.startswith("<div>") and len(html) < 6000
    return text


def test_reprs_are_short_summaries(store):
    grid = parameter_grid([(-1.0, 1.0), (-1.0, 1.0)], 11)
    result = expected_limits(store, "histo", "sm", grid, 3e5, features=["x"], bins=5)
    text = short(result)
    assert "LimitResult" in text and "121 points" in text and "best fit" in text and "fb^-1" in text
    sample = SampleAugmenter(store).sample_train_ratio(
        random_morphing_points(20, [("flat", -1, 1), ("flat", -1, 1)]), benchmark("sm"), 2000, seed=1
    )
    assert "AugmentedSample" in short(sample)
    analysis = Analysis()
    analysis.add_observable("m", lambda ev: ev.m)
    assert "observables: m" in short(analysis)
    assert "benchmarks" in store.setup._repr_html_() and "events" in store._repr_html_()
