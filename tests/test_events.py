"""Tests of columnminer.events on real LHE files and on hand-made arrays."""

import awkward as ak
import numpy as np
import pytest
from conftest_data import data_file

from columnminer.events import (
    build_collection,
    column,
    event_model_from_lhe,
    leptons,
    make_met,
    nth,
    padded,
    pair_sum,
    pdg_charge,
    signed_delta_phi,
)
from columnminer.io.lhe import read_lhe


def test_pdg_charge():
    assert pdg_charge(np.array([11, -13, 15, 22, 21, 2, -2, 1, -5, 24, -24, 12])).tolist() == [
        -1,
        1,
        -1,
        0,
        0,
        2 / 3,
        -2 / 3,
        -1 / 3,
        1 / 3,
        1,
        -1,
        0,
    ]


def test_collections_are_pt_ordered_and_helpers():
    coll = build_collection(
        ak.Array([[5.0, 50.0, 20.0], []]),
        ak.Array([[0.0, 1.0, -1.0], []]),
        ak.Array([[0.0, 1.0, 2.0], []]),
        ak.Array([[6.0, 80.0, 40.0], []]),
        ak.Array([[1.0, -1.0, 1.0], []]),
        ak.Array([[-11, 11, -13], []]),
    )
    assert coll.pt.tolist() == [[50.0, 20.0, 5.0], []]
    assert coll.pdgid.tolist() == [[11, -13, -11], []]
    assert nth(coll, 1).pt.tolist() == [20.0, None]
    assert ak.num(padded(coll, 2)).tolist() == [2, 2]
    total = pair_sum(coll)
    assert total.pt.tolist()[1] is None
    expected = (coll[0, 0] + coll[0, 1]).mass
    assert column(total.mass)[0] == pytest.approx(expected)
    assert np.isnan(column(total.mass)[1])
    with pytest.raises(ValueError, match="one value per event"):
        column(coll.pt)


def test_signed_delta_phi_range_and_symmetry():
    rng = np.random.default_rng(0)
    n = 1000

    def random_objects():
        pt, eta = rng.uniform(1, 100, n), rng.uniform(-4, 4, n)
        energy = np.sqrt((pt * np.cosh(eta)) ** 2 + 10.0**2)  # on shell, m = 10 GeV
        return ak.zip(
            {"pt": pt, "eta": eta, "phi": rng.uniform(-np.pi, np.pi, n), "E": energy}, with_name="Momentum4D"
        )

    a, b = random_objects(), random_objects()
    dphi = column(signed_delta_phi(a, b))
    assert np.all((dphi > -np.pi) & (dphi <= np.pi))
    np.testing.assert_allclose(dphi, column(signed_delta_phi(b, a)))
    np.testing.assert_allclose(np.abs(dphi), np.abs(column(a.deltaphi(b))), atol=1e-12)


def test_met_record():
    met = make_met(np.array([3.0, 0.0]), np.array([4.0, -2.0]))
    assert met.pt.tolist() == [5.0, 2.0]
    np.testing.assert_allclose(met.phi.to_numpy(), [np.arctan2(4, 3), -np.pi / 2])


def test_event_model_from_powheg_w():
    lhe = read_lhe(data_file("lhe", "testfile-powheg-box-v2-W.lhe"))
    events = event_model_from_lhe(lhe, sampled_from=2)
    n_leptons = ak.num(events.e) + ak.num(events.mu)
    assert ak.all(n_leptons == 1)
    # MET is the neutrino's transverse momentum, computed directly from the particle list
    p = lhe.particles
    nu = p[(p.status == 1) & ((abs(p.id) == 12) | (abs(p.id) == 14))]
    np.testing.assert_allclose(
        events.met.pt.to_numpy(), np.hypot(ak.sum(nu.px, 1), ak.sum(nu.py, 1)), rtol=1e-12
    )
    # lepton four-momenta are the LHE ones
    lepton = leptons(events)[:, 0]
    charged = p[(p.status == 1) & ((abs(p.id) == 11) | (abs(p.id) == 13))][:, 0]
    np.testing.assert_allclose(lepton.px.to_numpy(), charged.px.to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lepton.E.to_numpy(), charged.e.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(lepton.charge.to_numpy(), -np.sign(charged.id.to_numpy()))
    assert events.sampled_from.tolist() == [2] * len(events)
    assert ak.fields(events.weights) == ak.fields(lhe.weights)


def test_event_model_z_peak():
    lhe = read_lhe(data_file("lhe", "testfile-madgraph-2.2.1-Z-mlm.lhe.gz"))
    events = event_model_from_lhe(lhe)
    pairs = leptons(events)
    mll = column((nth(pairs, 0) + nth(pairs, 1)).mass)
    defined = mll[np.isfinite(mll)]
    assert len(defined) > 0.9 * len(events)
    assert abs(np.median(defined) - 91.2) < 3.0


def test_event_model_rejects_other_arrays():
    from columnminer.errors import InputFormatError

    with pytest.raises(InputFormatError, match="no 'particles' field"):
        event_model_from_lhe(ak.Array([{"x": 1}]))
