"""Tests of columnminer.analysis: semantics of observables, cuts and efficiencies, and clear errors."""

import json

import awkward as ak
import numpy as np
import pytest
from conftest_data import data_file

from columnminer.analysis import Analysis
from columnminer.errors import AnalysisError
from columnminer.events import build_collection, event_model_from_lhe, make_met, nth
from columnminer.io.lhe import read_lhe


@pytest.fixture
def events():
    """Three events with 2, 1 and 0 electrons."""
    e = build_collection(
        ak.Array([[40.0, 30.0], [25.0], []]),
        ak.Array([[0.1, -0.4], [1.0], []]),
        ak.Array([[0.0, 2.0], [1.0], []]),
        ak.Array([[41.0, 33.0], [40.0], []]),
        ak.Array([[-1.0, 1.0], [-1.0], []]),
        ak.Array([[11, -11], [11], []]),
    )
    empty = e[:, :0]
    return ak.zip(
        {
            "e": e,
            "mu": empty,
            "a": empty,
            "j": empty,
            "met": make_met(np.array([0.0, 3.0, 9.0]), np.zeros(3)),
        },
        depth_limit=1,
    )


def test_required_default_and_undefined(events):
    analysis = Analysis()
    analysis.add_observable("pt_e2", lambda ev: nth(ev.e, 1).pt, default=-1.0)
    analysis.add_observable("pt_e1", lambda ev: nth(ev.e, 0).pt, required=True)
    result = analysis.evaluate(events)
    assert result.keep.tolist() == [True, True, False]
    assert result.observables.tolist() == [[30.0, 40.0], [-1.0, 25.0]]
    assert result.counts["observable pt_e2"] == (3, 1)
    analysis.add_observable("no_default", lambda ev: nth(ev.e, 1).pt)
    with pytest.raises(
        AnalysisError, match=r"'no_default' is undefined .* for 2 of 3 events, first at event 1"
    ):
        analysis.evaluate(events)


def test_nan_observable_is_dropped_when_required(events):
    analysis = Analysis()
    analysis.add_observable("ratio", lambda ev: np.log(ev.met.pt.to_numpy()), required=True)
    assert analysis.evaluate(events).keep.tolist() == [False, True, True]


def test_cuts_required_or_not(events):
    analysis = Analysis()
    analysis.add_observable("n_e", lambda ev: ak.num(ev.e))
    analysis.add_cut(lambda ev: nth(ev.e, 0).pt > 30.0, name="leading pt")
    assert analysis.evaluate(events).keep.tolist() == [True, False, False]
    analysis.reset_cuts()
    analysis.add_cut(lambda ev: nth(ev.e, 0).pt > 30.0, name="leading pt if any", required=False)
    result = analysis.evaluate(events)
    assert result.keep.tolist() == [True, False, True]
    assert result.counts["cut leading pt if any"] == (3, 2)


def test_efficiencies_multiply(events):
    analysis = Analysis()
    analysis.add_observable("met", lambda ev: ev.met.pt)
    analysis.add_efficiency(lambda ev: ak.num(ev.e) * 0.5, name="per electron")
    analysis.add_efficiency(lambda ev: ak.where(ev.met.pt > 5, 0.9, np.nan), default=0.8)
    assert analysis.evaluate(events).efficiencies.tolist() == pytest.approx([0.8, 0.4, 0.0])
    analysis.add_efficiency(lambda ev: -ev.met.pt, name="broken")
    with pytest.raises(AnalysisError, match="efficiency 'broken' is negative"):
        analysis.evaluate(events)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (
            lambda ev: ev.electrons[:, 0].pt,
            r"observable 'bad' failed: .*electrons.*The events have fields \['e', 'mu'",
        ),
        (lambda ev: ev.e.pt, r"must give one value per event, got an array of type 3 \* var"),
        (lambda ev: np.ones(5), r"must give 3 values \(one per event\), got shape \(5,\)"),
        (lambda ev: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_broken_definitions_are_named(events, fn, message):
    analysis = Analysis()
    analysis.add_observable("bad", fn)
    with pytest.raises(AnalysisError, match=message):
        analysis.evaluate(events)


def test_definition_checks():
    analysis = Analysis()
    with pytest.raises(AnalysisError, match="must be a callable"):
        analysis.add_observable("x", "e[0].pt")
    with pytest.raises(AnalysisError, match="must be a callable"):
        analysis.add_cut("len(e) >= 2")
    analysis.add_observable("x", lambda ev: 1.0)
    with pytest.raises(AnalysisError, match="duplicate observable name 'x'"):
        analysis.add_observable("x", lambda ev: 2.0)
    analysis.reset_observables()
    assert analysis.observable_names == []


def test_default_observables_on_a_real_file():
    lhe = read_lhe(data_file("lhe", "testfile-powheg-box-v2-W.lhe"))
    events = event_model_from_lhe(lhe)
    analysis = Analysis()
    analysis.add_default_observables(n_leptons_max=1, n_photons_max=0, n_jets_max=1)
    names = analysis.observable_names
    assert names[:5] == ["e_l1", "pt_l1", "eta_l1", "phi_l1", "charge_l1"]
    assert {"et_miss", "phi_miss", "e_visible", "n_leptons", "n_jets"} <= set(names)
    result = analysis.evaluate(events)
    assert result.keep.all()
    values = dict(zip(names, result.observables.T, strict=True))
    electron = ak.concatenate([events.e, events.mu], axis=1)[:, 0]
    np.testing.assert_allclose(values["pt_l1"], electron.pt.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(values["et_miss"], events.met.pt.to_numpy(), rtol=1e-12)
    # at parton level the visible system balances the neutrino in the transverse plane
    np.testing.assert_allclose(values["pt_visible"], values["et_miss"], rtol=1e-9)
    assert set(values["n_leptons"].tolist()) == {1.0}


def test_observable_labels_and_units():
    analysis = Analysis()
    analysis.add_observable("mee", lambda ev: ev.met.pt, label="$m_{ee}$", unit="GeV")
    analysis.add_default_observables(n_leptons_max=1, n_photons_max=0, n_jets_max=0)
    info = analysis.observable_info()
    assert info["mee"] == {"label": "$m_{ee}$", "unit": "GeV"}
    assert info["pt_l1"] == {"label": r"$p_T(\ell_1)$", "unit": "GeV"}
    assert info["eta_l1"]["unit"] == "" and info["phi_miss"]["unit"] == "rad" and info["n_jets"]["unit"] == ""
    assert info == json.loads(json.dumps(info))  # JSON-able, for the store's metadata
