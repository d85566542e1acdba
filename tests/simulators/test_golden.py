"""The golden channel H -> ZZ* -> 2e2mu: amplitudes, Lorentz invariance, morphing, physics, unweighting, LHE."""

import json

import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.cli import main
from columnminer.errors import SimulationError
from columnminer.morphing import Morpher, find_components
from columnminer.simulators._amplitudes import (
    ElectroweakParameters,
    hvv_helicity_amplitudes,
    squared_me,
    squared_me_trace,
)
from columnminer.simulators._background import background_events
from columnminer.simulators._phasespace import boost, decay_angles, sample_decay
from columnminer.simulators.golden import GoldenChannel, golden_setup, simulate_golden

EW = ElectroweakParameters()


@pytest.fixture(scope="module")
def setup() -> AnalysisSetup:
    return golden_setup(n_trials=20)


@pytest.fixture(scope="module")
def channel() -> GoldenChannel:
    return GoldenChannel()


@pytest.fixture(scope="module")
def sample(setup, channel):
    """20 000 unweighted SM events (lab frame) with weights at the six benchmarks."""
    return channel.generate(setup, 20_000, "sm", seed=5)


def _random_rotation(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    return q * np.linalg.det(q)[:, None, None]  # proper rotations (det +1)


def test_two_evaluations_of_matrix_element_agree():
    """Helicity amplitudes (explicit spinors, dot products, determinant) vs. Dirac traces with explicit gamma
    matrices contracted with the explicit vertex tensor: |M|^2 agrees to 1e-10 per event for pure a1, a2, a3
    and for generic mixtures (interference terms included)."""
    rng = np.random.default_rng(11)
    p = sample_decay(rng, 400).momenta
    for couplings in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0.7, -0.4], [0.3, -1.2, 0.9]):
        fast = squared_me(p, couplings)
        trace = squared_me_trace(p, couplings)
        assert np.all(trace > 0)
        assert np.max(np.abs(fast - trace) / trace) < 1e-10, couplings


def test_lorentz_invariance(sample):
    """|M|^2 is unchanged (1e-10 relative) by random rotations and random boosts (|beta| up to 0.9) of the
    lab-frame leptons, for generic couplings."""
    rng = np.random.default_rng(12)
    p = sample.lepton_momenta[:500]
    n = p.shape[0]
    rotated = p.copy()
    rotated[..., 1:] = np.einsum("nij,nkj->nki", _random_rotation(rng, n), p[..., 1:])
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    beta = direction * rng.uniform(0.0, 0.9, (n, 1))
    boosted = boost(rotated, beta[:, None, :])
    assert not np.allclose(boosted, p)
    for couplings in ([1, 0, 0], [1, 0.5, -0.8]):
        reference = squared_me(p, couplings)
        assert np.max(np.abs(squared_me(boosted, couplings) / reference - 1)) < 1e-10


def test_quadratic_dependence_morphing_is_exact(sample, setup, channel):
    """|M|^2 is quadratic in (a2, a3): weights at 6 generic points determine the weights at any other point
    through the Morpher to 1e-10, event by event; the stored benchmark weights morph exactly too."""
    rng = np.random.default_rng(13)
    p = sample.lepton_momenta[:2000]
    basis = rng.uniform(-1.5, 1.5, (6, 2))
    morpher = Morpher(find_components([2, 2], 2), basis)
    basis_me = channel.squared_me(p, basis)  # [6, n]
    thetas = rng.uniform(-3, 3, (25, 2))
    predicted = morpher.weights(thetas) @ basis_me
    exact = channel.squared_me(p, thetas)
    assert np.max(np.abs(predicted - exact) / exact) < 1e-10
    # the weights written per benchmark morph to the exact reweighting at new points
    names = setup.benchmark_names
    stored = np.stack([sample.weights[name] for name in names])
    morphed = setup.morphing_weights(thetas) @ stored
    sigma_s = sample.cross_section(sample.sampling_theta)
    c = channel.couplings(thetas)
    cs = channel.couplings(sample.sampling_theta)
    direct = sigma_s * np.einsum("ti,nij,tj->tn", c, sample.weight_matrices, c)
    direct /= np.einsum("i,nij,j->n", cs, sample.weight_matrices, cs)
    assert np.max(np.abs(morphed - direct) / direct) < 1e-10


def test_cp_odd_coupling_has_no_longitudinal_amplitude():
    """Helicity amplitudes H -> Z1 Z2 from explicit polarisation vectors, against the closed forms of
    Bolognesi et al. (arXiv:1208.4018, eq. 8) in our normalisation, x = (m_H^2 - m1^2 - m2^2) / (2 m1 m2):
    |A00| = (2/v) |a1 m_Z^2 x + 2 a2 m1 m2|, |A++| = |A--| = (2/v) |a1 m_Z^2 + 2 a2 m1 m2 x| for CP-even
    couplings, and for the CP-odd a3: A00 = 0 (no longitudinal amplitude: all four vectors of the epsilon
    tensor lie in the t-z plane), A++ = -A-- with |A++| = (2/v) 2 m1 m2 sqrt(x^2 - 1)."""
    m1, m2 = np.meshgrid(np.linspace(20, 100, 9), np.linspace(12, 24, 4))
    x = (EW.m_h**2 - m1**2 - m2**2) / (2 * m1 * m2)
    g = 2 / EW.vev
    odd = hvv_helicity_amplitudes(m1, m2, [0, 0, 1])
    assert np.max(np.abs(odd[..., 0])) < 1e-12 * np.max(np.abs(odd[..., 1]))
    assert np.allclose(odd[..., 1], -odd[..., 2], rtol=1e-12)
    assert np.allclose(np.abs(odd[..., 1]), g * 2 * m1 * m2 * np.sqrt(x**2 - 1), rtol=1e-10)
    for a1, a2 in ((1.0, 0.0), (0.0, 1.0), (1.0, -0.6)):
        even = hvv_helicity_amplitudes(m1, m2, [a1, a2, 0])
        assert np.allclose(even[..., 1], even[..., 2], rtol=1e-12)
        assert np.allclose(
            np.abs(even[..., 0]), g * np.abs(a1 * EW.m_z**2 * x + 2 * a2 * m1 * m2), rtol=1e-10
        )
        assert np.allclose(
            np.abs(even[..., 1]), g * np.abs(a1 * EW.m_z**2 + 2 * a2 * m1 * m2 * x), rtol=1e-10
        )


def test_phi_modulation_sm_versus_pure_cp_odd(sample):
    """dGamma/dPhi = 1 + c1 cos Phi + c2 cos 2Phi (Phi the angle between the decay planes), c_k = 2<cos kPhi>.
    Pure a3 (A00 = 0, A++ = -A--) gives exactly c2 = -1/4 after integrating the polar angles; the SM gives a
    positive c2 (~ +0.10): opposite signs, the classic 0+ / 0- discriminant. Measured by reweighting the SM
    sample to a1 = 0, a3 = 1 with the exact |M|^2."""
    phi = decay_angles(sample.lepton_momenta)["Phi"]
    q = sample.me_matrices
    sm = np.einsum("i,nij,j->n", [1, 0, 0], q, [1, 0, 0])

    def c2(couplings):
        w = np.einsum("i,nij,j->n", couplings, q, couplings) / sm
        w /= w.sum()
        value = 2 * np.sum(w * np.cos(2 * phi))
        error = 2 * np.sqrt(np.sum(w**2 * (np.cos(2 * phi) - value / 2) ** 2))
        return value, error

    c2_sm, err_sm = c2([1, 0, 0])
    c2_odd, err_odd = c2([0, 0, 1])
    assert c2_sm > 5 * err_sm and 0.05 < c2_sm < 0.16
    assert abs(c2_odd + 0.25) < 4 * err_odd
    assert np.all(-np.pi <= phi) and np.all(phi <= np.pi)


def _mzstar_prediction(edges, n_inner=400):
    """Semi-analytic SM spectrum of the lower pair mass: p* s1 s2 sum_lambda |A_lambda|^2 / |D1 D2|^2 dm1 dm2,
    integrated over the upper mass with a Breit-Wigner substitution (A from hvv_helicity_amplitudes)."""
    mh, mz, mg = EW.m_h, EW.m_z, EW.m_z * EW.gamma_z
    fine = np.linspace(edges[0], edges[-1], 20 * (len(edges) - 1) + 1)
    m2 = 0.5 * (fine[1:] + fine[:-1])[:, None]
    u_lo = np.arctan((m2**2 - mz**2) / mg)
    u_hi = np.arctan(((mh - m2) ** 2 - mz**2) / mg)
    u = u_lo + (u_hi - u_lo) * (np.arange(n_inner) + 0.5) / n_inner
    s1 = mz**2 + mg * np.tan(u)
    ds1 = (u_hi - u_lo) / n_inner * ((s1 - mz**2) ** 2 + mg**2) / mg
    amps = hvv_helicity_amplitudes(np.sqrt(s1), np.broadcast_to(m2, s1.shape), [1, 0, 0])
    pstar = np.sqrt(np.maximum((mh**2 - (np.sqrt(s1) + m2) ** 2) * (mh**2 - (np.sqrt(s1) - m2) ** 2), 0))
    s2 = m2**2
    f = (
        pstar
        * s1
        * s2
        * np.sum(np.abs(amps) ** 2, -1)
        / (((s1 - mz**2) ** 2 + mg**2) * ((s2 - mz**2) ** 2 + mg**2))
    )
    density = np.sum(f * ds1, axis=1) * 2 * m2[:, 0]
    per_bin = density.reshape(len(edges) - 1, 20).sum(axis=1)
    return per_bin / per_bin.sum(), float(m2[np.argmax(density), 0])


def test_mzstar_spectrum_peaks_where_the_sm_says(sample):
    """The lower lepton-pair mass m(Z*) of SM events follows the semi-analytic SM spectrum (helicity
    amplitudes x two-body momentum x Breit-Wigner propagators, integrated over the on-shell Z): chi2/ndf < 1.6
    over 1-GeV bins from 12 to 62 GeV, and the peak sits at 28 +- 1.5 GeV as predicted (kinematic edge
    m_H - m_Z = 34 GeV); the upper pair mass peaks at m_Z."""
    angles = decay_angles(sample.lepton_momenta)
    low = np.minimum(angles["m1"], angles["m2"])
    high = np.maximum(angles["m1"], angles["m2"])
    edges = np.arange(12.0, 63.0, 1.0)
    counts, _ = np.histogram(low, edges)
    expected, peak = _mzstar_prediction(edges)
    expected = expected * counts.sum()
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 / (len(counts) - 1) < 1.6
    assert abs(peak - 28.0) < 1.5
    assert abs(edges[np.argmax(counts)] + 0.5 - peak) < 2.0
    upper, upper_edges = np.histogram(high, np.arange(70.0, 100.5, 0.5))
    assert abs(upper_edges[np.argmax(upper)] + 0.25 - EW.m_z) < 0.75  # the other pair sits on the Z peak
    assert np.allclose(angles["m4l"], EW.m_h, rtol=1e-9)


def test_cross_section_ratios_and_normalisation(sample):
    """sigma(theta) = c^T S c: the SM value is 2.5 fb (sigma_ggH x Gamma(H -> 2e2mu, m_ll > 12 GeV) / Gamma_H,
    about 0.85 of sigma_ggH x BR_SM(2e2mu) = 2.9 fb: tree level plus the cut), and the pure-coupling ratios
    sigma3/sigma1 = 0.16, sigma2/sigma1 = 0.40 are those of JHUGen's couplings (~0.15-0.16 and ~0.36-0.40)."""
    s = sample.cross_section_matrix
    assert 2.3e-3 < s[0, 0] < 2.7e-3
    assert 0.14 < s[2, 2] / s[0, 0] < 0.18
    assert 0.35 < s[1, 1] / s[0, 0] < 0.44
    # CP-odd coupling does not interfere with CP-even ones in the total rate
    assert abs(s[0, 2]) < 5e-3 * s[0, 0] and abs(s[1, 2]) < 5e-3 * s[0, 0]
    assert sample.cross_section_error([0.0, 0.0]) < 5e-3 * s[0, 0]


def test_unweighted_events_follow_sampling_distribution(sample, setup):
    """Unweighting is exact: the mean of w_b / w_sm over events drawn at the SM equals sigma_b / sigma_sm (the
    reweighting identity), within 4 standard errors, for every benchmark; each event's SM weight is sigma_sm."""
    w_sm = sample.weights["sm"]
    assert np.allclose(w_sm, sample.cross_section([0.0, 0.0]), rtol=1e-12)
    thetas = setup.parameter_space.benchmark_array()
    xsec = sample.cross_section(thetas)
    for b, name in enumerate(setup.benchmark_names):
        ratio = sample.weights[name] / w_sm
        error = ratio.std() / np.sqrt(ratio.size)
        assert abs(ratio.mean() - xsec[b] / xsec[0]) < 4 * error + 1e-3 * xsec[b] / xsec[0], name
    assert 0.05 < sample.efficiency < 1


def test_exact_likelihood_is_normalised_and_score_matches(channel, sample):
    """log p(z|theta) = log |M|^2 - log(2 m_H c^T Gamma c) integrates to one over an independent phase-space
    sample (Monte Carlo, 1 %), and the joint score equals the finite-difference derivative of log p."""
    rng = np.random.default_rng(14)
    decay = sample_decay(rng, 100_000, m_ll_min=channel.m_ll_min)
    q = channel.me_matrices(decay.momenta)
    thetas = np.array([[0.0, 0.0], [0.7, -0.4], [-1.0, 1.0]])
    p = np.exp(channel.log_p_z(q, thetas, sample.cross_section_matrix))
    integral = np.mean(p * decay.phase_space_weight, axis=1)
    assert np.allclose(integral, 1.0, atol=0.01)
    theta = np.array([0.3, -0.2])
    eps = 1e-6
    qs = sample.me_matrices[:200]
    s = sample.cross_section_matrix
    numeric = np.stack(
        [
            (channel.log_p_z(qs, theta + d, s) - channel.log_p_z(qs, theta - d, s))[0] / (2 * eps)
            for d in (np.array([eps, 0]), np.array([0, eps]))
        ],
        axis=1,
    )
    assert np.allclose(channel.joint_score(qs, theta, s), numeric, rtol=1e-5, atol=1e-7)


def test_event_record_kinematics(sample):
    """Momentum conservation through the record: partons -> H + recoil, H -> Z Z, Z -> l l; massless leptons,
    incoming partons along the beam; the Higgs has an LHC-like pT (median ~ 15-20 GeV) and rapidity spread."""
    p = sample.momenta
    assert np.allclose(p[:, 0] + p[:, 1], p[:, 2] + p[:, 9], atol=1e-8)
    assert np.allclose(p[:, 2], p[:, 3] + p[:, 4], atol=1e-8)
    assert np.allclose(p[:, 3], p[:, 5] + p[:, 6], atol=1e-8)
    assert np.allclose(p[:, 4], p[:, 7] + p[:, 8], atol=1e-8)
    assert np.allclose(p[:, :2, 1:3], 0.0)
    lep = p[:, 5:9]
    mass2 = lep[..., 0] ** 2 - np.sum(lep[..., 1:] ** 2, axis=-1)
    assert np.max(np.abs(mass2) / lep[..., 0] ** 2) < 1e-9
    pt = np.hypot(p[:, 2, 1], p[:, 2, 2])
    assert 10 < np.median(pt) < 25
    rapidity = 0.5 * np.log((p[:, 2, 0] + p[:, 2, 3]) / (p[:, 2, 0] - p[:, 2, 3]))
    assert 1.2 < rapidity.std() < 2.2


def test_generation_is_seeded_and_other_benchmarks_sample(setup, channel):
    """Same seed, same events; a non-SM sampling benchmark gives events whose own weight is sigma(theta_s)."""
    a = channel.generate(setup, 300, "sm", seed=7, chunk_size=4096)
    b = channel.generate(setup, 300, "sm", seed=7, chunk_size=4096)
    assert np.array_equal(a.momenta, b.momenta)
    name = setup.benchmark_names[2]
    c = channel.generate(setup, 300, name, seed=7, chunk_size=4096)
    assert np.allclose(c.weights[name], c.cross_section(c.sampling_theta), rtol=1e-12)
    assert not np.allclose(c.weights["sm"], c.weights[name])


def test_bad_requests_raise_simulation_error(setup, channel):
    """Unknown benchmark, wrong parameters, non-positive event counts: SimulationError naming the problem."""
    with pytest.raises(SimulationError, match="unknown sampling benchmark"):
        channel.generate(setup, 10, "nope")
    with pytest.raises(SimulationError, match="n_events"):
        channel.generate(setup, 0)
    other = AnalysisSetup()
    other.add_parameter("dim6", 1, name="cx")
    other.add_benchmark({"cx": 0.0}, name="sm")
    with pytest.raises(SimulationError, match="a2"):
        channel.generate(other, 10)
    with pytest.raises(SimulationError):
        channel.couplings([1.0, 2.0, 3.0])
    with pytest.raises(SimulationError):
        GoldenChannel(m_ll_min=70.0)


def test_background_is_theta_independent_and_in_range():
    """The continuum background: four-lepton mass inside its window, momentum conservation, a Z-like pair."""
    momenta, xsec = background_events(2000, seed=3)
    lep = momenta[:, 4:8].sum(axis=1)
    m4l = np.sqrt(lep[:, 0] ** 2 - np.sum(lep[:, 1:] ** 2, axis=1))
    assert m4l.min() >= 115.0 - 1e-6 and m4l.max() <= 135.0 + 1e-6
    assert np.allclose(momenta[:, 0] + momenta[:, 1], lep + momenta[:, 8], atol=1e-8)
    angles = decay_angles(momenta[:, 4:8])
    assert abs(np.median(np.maximum(angles["m1"], angles["m2"])) - EW.m_z) < 3.0
    assert xsec == 1e-3
    with pytest.raises(SimulationError):
        background_events(10, m4l_range=(20.0, 10.0))


def test_simulate_golden_writes_lhe_readable_by_columnminer_and_pylhe(tmp_path, setup, channel):
    """simulate_golden writes signal and background LHE plus the setup; columnminer's reader gets back the
    momenta (to the printed 11 digits) and the benchmark weights (to the printed 8 digits), the exact |M|^2
    recomputed from the read-back leptons agrees, and pylhe parses both files."""
    pylhe = pytest.importorskip("pylhe")
    from columnminer.io.lhe import read_lhe, read_lhe_header

    info = simulate_golden(setup, 400, tmp_path, seed=21, n_background=150, channel=channel)
    again = channel.generate(setup, 400, "sm", seed=21)
    events = read_lhe(info["files"]["signal"])
    assert len(events) == 400
    px = np.asarray(events.particles.px)
    mom = np.stack([np.asarray(events.particles[f]) for f in ("e", "px", "py", "pz")], axis=-1)
    assert px.shape == (400, 10)
    lab = again.momenta
    assert np.max(np.abs(mom[..., 1:] - lab[..., 1:]) / (lab[..., :1] + 1e-300)) < 1e-9
    assert np.allclose(mom, lab, rtol=1e-10, atol=1e-9)
    for name in setup.benchmark_names:
        assert np.allclose(np.asarray(events.weights[name]), again.weights[name], rtol=6e-8, atol=0)
    assert np.allclose(np.asarray(events.weight), again.weights["sm"], rtol=6e-8)
    me_read = channel.squared_me(mom[:, 5:9], [[0.5, -0.5]])
    assert np.allclose(me_read, channel.squared_me(lab[:, 5:9], [[0.5, -0.5]]), rtol=1e-8)
    header = read_lhe_header(info["files"]["signal"])
    assert header.nevents == 400 and header.event_norm == "average"
    assert AnalysisSetup.load(info["files"]["setup"]) == setup
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_background"] == 150
    for label in ("signal", "background"):
        lhe_file = pylhe.LHEFile.fromfile(info["files"][label])
        parsed = list(lhe_file.events)
        assert len(parsed) == (400 if label == "signal" else 150)
        assert lhe_file.init.initInfo.beamA == 2212 and lhe_file.init.procInfo[0].xSection > 0
        assert set(parsed[0].weights) == set(setup.benchmark_names)
    background = read_lhe(info["files"]["background"])
    first = np.asarray(background.weights[setup.benchmark_names[0]])
    for name in setup.benchmark_names:
        assert np.array_equal(np.asarray(background.weights[name]), first)


def test_cli_simulate(tmp_path, capsys):
    """`columnminer simulate golden|toy` writes its files and reports; a bad benchmark exits with code 2."""
    assert (
        main(["simulate", "golden", "--events", "150", "--out", str(tmp_path / "g"), "--background", "20"])
        == 0
    )
    assert (tmp_path / "g" / "signal.lhe.gz").exists() and (tmp_path / "g" / "background.lhe.gz").exists()
    assert "sigma(sm)" in capsys.readouterr().out
    assert main(["simulate", "toy", "--events", "50", "--out", str(tmp_path / "t")]) == 0
    assert np.load(tmp_path / "t" / "toy.npz")["x"].shape == (100,)
    assert (
        main(["simulate", "golden", "--events", "5", "--out", str(tmp_path / "b"), "--benchmark", "x"]) == 2
    )


def test_simulate_golden_background_thread_writes_the_sequential_bytes(tmp_path, setup, channel):
    """The background is generated and written by a second thread while the signal is generated: its file
    holds exactly the bytes of generating and writing it alone, and the summary keeps its key order."""
    from columnminer.simulators._events import param_card
    from columnminer.simulators.golden import _LHEFiles

    info = simulate_golden(
        setup, 300, tmp_path / "run", seed=5, n_background=200, channel=channel, scale_variations=(0.5, 2)
    )
    momenta, sigma = background_events(200, seed=5 + 1_000_003, ew=channel.ew)
    card = param_card(setup, np.zeros(2), channel.ew)
    writer = _LHEFiles(tmp_path / "alone", ".lhe.gz", card, setup, (0.5, 2))
    (tmp_path / "alone").mkdir()
    path, scales = writer.background(momenta, sigma, 5 + 1_000_003)
    with open(path, "rb") as alone, open(info["files"]["background"], "rb") as threaded:
        assert alone.read() == threaded.read()
    assert list(info["scale_variations"]) == [
        "points",
        "weight_ids",
        "signal_cross_section_pb",
        "background_cross_section_pb",
    ]
    assert info["scale_variations"]["background_cross_section_pb"] == scales
    assert info["background_cross_section_pb"] == sigma
    sequential = simulate_golden(
        setup,
        300,
        tmp_path / "seq",
        seed=5,
        n_background=200,
        channel=channel,
        scale_variations=(0.5, 2),
        parallel_background=False,
    )
    for label in ("signal", "background"):
        with open(info["files"][label], "rb") as a, open(sequential["files"][label], "rb") as b:
            assert a.read() == b.read()
    assert sequential["scale_variations"] == info["scale_variations"]
