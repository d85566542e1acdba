"""The limit options: one frozen dataclass per family, one factory that checks them per mode, and the
``options=`` object of expected / observed limits giving the same numbers as the keywords."""

import dataclasses

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.errors import InferenceError
from columnminer.inference.likelihood import parameter_grid
from columnminer.inference.limit_options import (
    AsimovOptions,
    HistogramOptions,
    LimitOptions,
    ReadOptions,
    limit_options,
)
from columnminer.inference.limits import expected_limits, observed_limits
from columnminer.io.store import EventStore

GRID = parameter_grid([(-0.5, 0.5), (-0.5, 0.5)], 3)


@pytest.fixture(scope="module")
def store():
    rng = np.random.default_rng(0)
    store = EventStore.create("memory://test-limit-options", golden_channel_setup(), ["m4l"], chunk_size=100)
    store.append(rng.normal(125, 5, (400, 1)), rng.uniform(1, 2, (400, 6)), 0)
    return store


def test_keywords_go_to_their_families():
    options = limit_options(
        "ml", estimator=np.sum, n_asimov=10, partition=None, cuts=[len], include_rate=False, closure=False
    )
    assert options.estimator.estimator is np.sum and not options.estimator.closure
    assert options.asimov == AsimovOptions(n_asimov=10)
    assert options.read == ReadOptions(partition=None, cuts=(len,))
    assert not options.include_rate and options.histogram == HistogramOptions()
    assert limit_options("rate").read.partition == "test"
    assert limit_options("rate", "observed").read.partition is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.include_rate = True  # type: ignore[misc]
    # keywords on top of an options object; the object itself is unchanged
    base = limit_options("histo", features="m4l", bins=5)
    changed = limit_options("histo", options=base, bins=7)
    assert changed.histogram.bins == 7 and base.histogram.bins == 5 and changed.histogram.features == "m4l"


@pytest.mark.parametrize(
    ("mode", "keywords", "name"),
    [
        ("rate", {"bins": 5}, "bins"),
        ("rate", {"features": "m4l"}, "features"),
        ("sally", {"features": "m4l", "estimator": np.sum}, "features"),
        ("histo", {"features": "m4l", "estimator": np.sum}, "estimator"),
        ("histo", {"features": "m4l", "n_asimov": 10}, "n_asimov"),
        ("sallino", {"estimator": np.sum, "profile_nuisances": True}, "profile_nuisances"),
        ("histo", {"features": "m4l", "profile_nuisances": True, "fix_adaptive_binning": False}, "profile"),
        ("rate", {"bin": 5}, "bin"),
        ("ml", {}, "estimator"),
        ("histo", {}, "features"),
    ],
)
def test_unknown_and_inapplicable_options_are_named(mode, keywords, name):
    with pytest.raises(InferenceError, match=f"^{name}"):
        limit_options(mode, **keywords)


def test_observed_limits_take_no_asimov_options(store):
    for mode, keywords in [
        ("rate", {"return_asimov": True}),
        ("ml", {"estimator": np.sum, "closure": False}),
        ("ml", {"estimator": np.sum, "seed": 3}),
    ]:
        with pytest.raises(InferenceError, match="expected limits only"):
            observed_limits(store, mode, None, GRID, 10.0, n_observed=5, **keywords)
    with pytest.raises(InferenceError, match="not supported by the 'rate' mode"):
        expected_limits(store, "rate", [0.0, 0.0], GRID, 10.0, features="m4l")
    with pytest.raises(InferenceError, match="options: a LimitOptions"):
        expected_limits(store, "rate", [0.0, 0.0], GRID, 10.0, options={"partition": None})


def test_options_object_gives_the_keywords_numbers(store):
    keywords = {"features": "m4l", "bins": 4, "partition": None, "return_histograms": False}
    by_keywords = expected_limits(store, "histo", "sm", GRID, 100.0, **keywords)
    options = LimitOptions(
        read=ReadOptions(partition=None),
        histogram=HistogramOptions(features="m4l", bins=4),
        return_histograms=False,
    )
    by_object = expected_limits(store, "histo", "sm", GRID, 100.0, options=options)
    np.testing.assert_array_equal(by_object.q, by_keywords.q)
    assert by_object.histograms is None and by_object.best_fit_index == 4
    rate_options = dataclasses.replace(options, histogram=HistogramOptions())
    n_expected = by_keywords.n_observed
    observed = observed_limits(store, "rate", None, GRID, 100.0, n_observed=n_expected, options=rate_options)
    assert observed.best_fit_index == 4
