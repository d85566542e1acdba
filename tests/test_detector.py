"""Detector smearing: exactness at zero resolution, seeding, pull distributions, on-shell options, cuts."""

import json

import awkward as ak
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from scipy import stats

from columnminer.detector import DetectorConfig, MetNoise, ObjectSmearing, Resolution, smear_events
from columnminer.events import build_collection, make_met

# derandomized (the same examples every run) and without shrinking, so a failure costs seconds, not minutes
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)

finite = {"allow_nan": False, "allow_infinity": False}
objects = st.lists(
    st.tuples(
        st.floats(1.0, 2000.0, **finite),  # pt
        st.floats(-4.5, 4.5, **finite),  # eta
        st.floats(-3.14, 3.14, **finite),  # phi
        st.floats(0.0, 100.0, **finite),  # mass
    ),
    max_size=5,
)
events_strategy = st.lists(
    st.tuples(
        objects, objects, objects, objects, st.floats(0.0, 500.0, **finite), st.floats(-3.1, 3.1, **finite)
    ),
    min_size=1,
    max_size=6,
)
resolution = st.builds(Resolution, st.floats(0.0, 5.0, **finite), st.floats(0.0, 0.3, **finite))


def _collection(rows, pdgid):
    counts = np.array([len(ev) for ev in rows], dtype=np.int64)
    flat = np.array([o for ev in rows for o in ev], dtype=np.float64).reshape(-1, 4)
    pt, eta, phi, mass = flat.T
    energy = np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)
    columns = [ak.unflatten(x, counts) for x in (pt, eta, phi, energy, np.zeros_like(pt))]
    return build_collection(*columns, ak.unflatten(np.full(pt.size, pdgid, dtype=np.int64), counts))


def _events(spec):
    fields = {
        name: _collection([ev[k] for ev in spec], pid)
        for k, (name, pid) in enumerate([("e", 11), ("mu", 13), ("a", 22), ("j", 0)])
    }
    fields["met"] = make_met(
        np.array([ev[4] * np.cos(ev[5]) for ev in spec]), np.array([ev[4] * np.sin(ev[5]) for ev in spec])
    )
    fields["weights"] = ak.zip({"sm": np.ones(len(spec))})
    return ak.zip(fields, depth_limit=1)


def _big_sample(n_events=4000, seed=7):
    """Events with 3 jets, 1 electron, 1 photon and MET; kinematics well away from zero."""
    rng = np.random.default_rng(seed)

    def coll(n, pid, mass):
        shape = (n_events, n)
        pt = rng.uniform(50.0, 500.0, shape)
        eta = rng.uniform(-2.5, 2.5, shape)
        phi = rng.uniform(-3.0, 3.0, shape)
        m = np.full(shape, mass)
        energy = np.sqrt((pt * np.cosh(eta)) ** 2 + m**2)
        as_ak = [ak.from_regular(ak.Array(x)) for x in (pt, eta, phi, energy, np.zeros(shape))]
        return build_collection(*as_ak, ak.from_regular(ak.Array(np.full(shape, pid))))

    met = make_met(rng.normal(0, 30, n_events), rng.normal(0, 30, n_events))
    return ak.zip(
        {"e": coll(1, 11, 0.000511), "a": coll(1, 22, 0.0), "j": coll(3, 0, 10.0), "met": met}, depth_limit=1
    )


@pytest.fixture(scope="module")
def big():
    return _big_sample()


# -- properties ----------------------------------------------------------------------------------------------
@SETTINGS
@given(events_strategy)
def test_zero_resolution_reproduces_input_exactly(spec):
    events = _events(spec)
    zero = ObjectSmearing()
    config = DetectorConfig(e=zero, mu=zero, a=zero, j=zero, met=MetNoise())
    out = smear_events(events, config, rng=1)
    assert out.tolist() == events.tolist()
    assert out.type == events.type


@SETTINGS
@given(events_strategy, resolution, resolution, st.integers(0, 2**32 - 1))
def test_seed_reproducible_and_different_with_other_seed(spec, res_e, res_pt, seed):
    events = _events(spec)
    cfg = ObjectSmearing(energy=res_e, pt=res_pt, eta=Resolution(0.01), phi=Resolution(0.01))
    config = DetectorConfig(e=cfg, mu=cfg, a=cfg, j=cfg, met=MetNoise(absolute=1.0))
    first = smear_events(events, config, rng=seed)
    again = smear_events(events, config, rng=np.random.default_rng(seed))
    assert first.tolist() == again.tolist()
    other = smear_events(events, config, rng=seed + 1)
    # MET noise with absolute width 1 GeV always moves something
    assert other.met.tolist() != first.met.tolist()
    if res_pt.absolute > 1e-3 and ak.sum(ak.num(events.j)) > 0:
        assert other.j.pt.tolist() != first.j.pt.tolist()


@SETTINGS
@given(events_strategy, resolution, st.integers(0, 1000))
def test_pt_from_energy_keeps_mass_shell(spec, res_e, seed):
    events = _events(spec)
    cfg = ObjectSmearing(energy=res_e, pt=None, eta=Resolution(0.05), phi=Resolution(0.02))
    out = smear_events(events, DetectorConfig(j=cfg, e=cfg), rng=seed)
    for name in ("j", "e"):
        assert ak.num(out[name]).tolist() == ak.num(events[name]).tolist()  # no cut: nothing lost
        true_m2 = (events[name].E ** 2 - (events[name].pt * np.cosh(events[name].eta)) ** 2).tolist()
        got_m2 = (out[name].E ** 2 - (out[name].pt * np.cosh(out[name].eta)) ** 2).tolist()
        for truth, got, pt, energy in zip(
            true_m2, got_m2, out[name].pt.tolist(), out[name].E.tolist(), strict=True
        ):
            for m2, p, e in zip(got, pt, energy, strict=True):
                if p == 0.0:  # E fell below m: no on-shell solution, pt set to 0 (MadMiner's rule)
                    assert e**2 <= max(truth) + 1e-9 * e**2 + 1e-12
                    continue
                # objects are re-sorted by pt: each must sit on the mass shell of one true object of its event
                assert min(abs(m2 - max(t, 0.0)) for t in truth) <= 1e-9 * e**2 + 1e-9


@SETTINGS
@given(events_strategy, resolution, st.integers(0, 1000), st.floats(0.0, 50.0, **finite))
def test_energy_from_pt_is_exactly_on_shell(spec, res_pt, seed, mass):
    events = _events(spec)
    cfg = ObjectSmearing(energy=None, pt=res_pt, eta=Resolution(0.05), mass=mass)
    out = smear_events(events, DetectorConfig(mu=cfg, a=cfg), rng=seed)
    for name in ("mu", "a"):
        got = ak.flatten(out[name])
        if len(got) == 0:
            continue
        energy = ak.to_numpy(got.E)
        p = ak.to_numpy(got.pt) * np.cosh(ak.to_numpy(got.eta))
        np.testing.assert_allclose(energy**2 - p**2, mass**2, atol=1e-9 * np.max(energy**2) + 1e-9)


# -- statistics on a large sample ----------------------------------------------------------------------------
def _pulls(true, smeared, res):
    return (smeared - true) / res.sigma(true)


def _assert_standard_normal(pulls):
    n = pulls.size
    assert abs(pulls.mean()) < 5 / np.sqrt(n)
    assert abs(pulls.std() - 1) < 5 / np.sqrt(2 * n)
    assert stats.kstest(pulls, "norm").pvalue > 1e-4


def test_pulls_are_standard_normal(big):
    res_e, res_pt = Resolution(2.0, 0.05), Resolution(1.0, 0.02)
    res_eta, res_phi = Resolution(0.01, 0.002), Resolution(0.005)
    cfg = ObjectSmearing(energy=res_e, pt=res_pt, eta=res_eta, phi=res_phi)
    # one jet per event, so that re-sorting by pt cannot change which smeared object belongs to which true one
    one = ak.zip({"j": big.j[:, :1], "met": big.met}, depth_limit=1)
    out = smear_events(one, DetectorConfig(j=cfg, met=MetNoise(propagate=False)), rng=2024)
    t, s = ak.flatten(one.j), ak.flatten(out.j)
    for field, res in (("E", res_e), ("pt", res_pt), ("eta", res_eta)):
        _assert_standard_normal(_pulls(ak.to_numpy(t[field]), ak.to_numpy(s[field]), res))
    dphi = (ak.to_numpy(s.phi) - ak.to_numpy(t.phi) + np.pi) % (2 * np.pi) - np.pi
    _assert_standard_normal(dphi / res_phi.sigma(ak.to_numpy(t.phi)))
    assert out.met.tolist() == one.met.tolist()  # nothing asked of the MET


def test_met_noise_pulls(big):
    noise = MetNoise(absolute=5.0, relative=0.05, propagate=False)
    out = smear_events(big, DetectorConfig(met=noise), rng=99)
    ht = ak.to_numpy(ak.sum(big.j.pt, axis=1) + ak.sum(big.e.pt, axis=1) + ak.sum(big.a.pt, axis=1))
    sigma = 5.0 + 0.05 * ht
    for comp in ("px", "py"):
        pulls = (ak.to_numpy(getattr(out.met, comp)) - ak.to_numpy(getattr(big.met, comp))) / sigma
        _assert_standard_normal(pulls)
    assert out.j.tolist() == big.j.tolist()


def test_met_absorbs_object_smearing(big):
    cfg = ObjectSmearing(pt=Resolution(relative=0.1), phi=Resolution(0.05))
    out = smear_events(big[:200], DetectorConfig(j=cfg), rng=5)
    before = big[:200]
    visible_before = ak.sum(before.j.px, axis=1), ak.sum(before.j.py, axis=1)
    visible_after = ak.sum(out.j.px, axis=1), ak.sum(out.j.py, axis=1)
    for k, comp in enumerate(("px", "py")):
        np.testing.assert_allclose(
            ak.to_numpy(getattr(out.met, comp) + visible_after[k]),
            ak.to_numpy(getattr(before.met, comp) + visible_before[k]),
            atol=1e-9,
            rtol=1e-9,
        )


# -- cuts, ordering, efficiency ------------------------------------------------------------------------------
def test_acceptance_and_resorting(big):
    cfg = ObjectSmearing(pt=Resolution(relative=0.3), pt_min=150.0, abs_eta_max=2.0)
    out = smear_events(big, DetectorConfig(j=cfg), rng=3)
    pt, eta = out.j.pt, out.j.eta
    assert ak.all(pt >= 150.0) and ak.all(abs(eta) <= 2.0)
    assert ak.all(pt[:, :-1] >= pt[:, 1:])
    assert 0 < ak.sum(ak.num(pt)) < ak.sum(ak.num(big.j))
    assert ak.all(out.j.pdgid == 0) and ak.all(out.e.pdgid == big.e.pdgid)
    # without smearing the cut keeps exactly the objects passing it
    plain = smear_events(big, DetectorConfig(j=ObjectSmearing(pt_min=150.0)), rng=3)
    assert ak.sum(ak.num(plain.j)) == ak.sum(big.j.pt >= 150.0)


def test_efficiency_drops_objects_at_the_right_rate(big):
    out = smear_events(big, DetectorConfig(j=ObjectSmearing(efficiency=0.7)), rng=11)
    n, kept = ak.sum(ak.num(big.j)), ak.sum(ak.num(out.j))
    assert abs(kept / n - 0.7) < 5 * np.sqrt(0.21 / n)
    assert ak.sum(ak.num(smear_events(big, DetectorConfig(j=ObjectSmearing(efficiency=0.0)), rng=1).j)) == 0


def test_negative_values_are_redrawn():
    jets = build_collection(
        ak.Array([[1.0] * 50]),
        ak.Array([[0.0] * 50]),
        ak.Array([[0.0] * 50]),
        ak.Array([[1.0] * 50]),
        ak.Array([[0.0] * 50]),
        ak.Array([[0] * 50]),
    )
    events = ak.zip({"j": jets}, depth_limit=1)
    out = smear_events(
        events, DetectorConfig(j=ObjectSmearing(energy=Resolution(2.0), pt=Resolution(2.0))), rng=0
    )
    assert ak.all(out.j.pt >= 0) and ak.all(out.j.E >= 0)


# -- configuration -------------------------------------------------------------------------------------------
def test_config_round_trip_and_validation():
    config = DetectorConfig(
        e=ObjectSmearing(
            energy=Resolution(0.5, 0.01), pt=None, eta=Resolution(0.001), pt_min=10.0, abs_eta_max=2.5
        ),
        j=ObjectSmearing(energy=None, pt=Resolution(relative=0.1), mass=0.0, efficiency=0.9),
        met=MetNoise(absolute=10.0, relative=0.02, propagate=False),
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert DetectorConfig.from_dict(data) == config
    assert data["e"]["pt"] is None and data["mu"] is None
    with pytest.raises(ValueError, match="unknown keys"):
        DetectorConfig.from_dict({"jets": {}})
    with pytest.raises(ValueError, match="unknown keys"):
        DetectorConfig.from_dict({"j": {"energy": {"abs": 1.0}}})
    with pytest.raises(ValueError, match="both be derived"):
        ObjectSmearing(energy=None, pt=None)
    with pytest.raises(ValueError, match="efficiency"):
        ObjectSmearing(efficiency=1.5)
    with pytest.raises(ValueError, match=">= 0"):
        Resolution(-1.0)
    with pytest.raises(ValueError, match="cannot be None"):
        ObjectSmearing.from_dict({"eta": None})
    with pytest.raises(TypeError, match="DetectorConfig"):
        smear_events(_big_sample(2), {"j": {}})
    with pytest.raises(AttributeError):
        config.e = None  # frozen


def test_reproducible_with_real_delphes_events():
    from conftest_data import data_file

    from columnminer.io.delphes import read_delphes

    path = data_file("delphes", "delphes-cms-10events.root")

    events = read_delphes(path)
    cfg = ObjectSmearing(energy=Resolution(relative=0.1), pt=None, pt_min=30.0)
    out = smear_events(events, DetectorConfig(j=cfg, met=MetNoise(absolute=5.0)), rng=1)
    assert out.j.btag.type == events.j.btag.type  # extra fields survive
    assert (
        out.tolist()
        == smear_events(events, DetectorConfig(j=cfg, met=MetNoise(absolute=5.0)), rng=1).tolist()
    )
    assert out.weights.tolist() == events.weights.tolist()
