"""The golden channel's exact detector-level densities: closure against the generator and the smearing."""

import numpy as np
import pytest

from columnminer._demo.config import DETECTOR
from columnminer.detector import DetectorConfig, ObjectSmearing, Resolution
from columnminer.errors import SimulationError
from columnminer.simulators._background import (
    background_events,
    background_matrix_element,
    background_normalisation,
)
from columnminer.simulators.golden import GoldenChannel, golden_setup
from columnminer.simulators.golden_detector import detector_densities, lepton_transfers

N_SIGNAL, N_BACKGROUND = 1500, 1500


def _measured(momenta, rng, electron, muon):
    """(pt, eta, phi) of (e-, e+, mu-, mu+) [n, 4, 4] smeared with the transfer functions."""
    pt = np.hypot(momenta[..., 1], momenta[..., 2])
    eta = np.arcsinh(momenta[..., 3] / pt)
    phi = np.arctan2(momenta[..., 2], momenta[..., 1])
    out = np.empty((*pt.shape, 3))
    for lepton, t in enumerate((electron, electron, muon, muon)):
        n = len(pt)
        eta_m = eta[:, lepton] + t.eta * rng.standard_normal(n)
        phi_m = phi[:, lepton] + t.phi * rng.standard_normal(n)
        if t.magnitude == "energy":
            energy = pt[:, lepton] * np.cosh(eta[:, lepton]) * (1 + t.relative * rng.standard_normal(n))
            pt_m = energy / np.cosh(eta_m)
        else:
            pt_m = pt[:, lepton] * (1 + t.relative * rng.standard_normal(n))
        out[:, lepton] = np.stack([pt_m, eta_m, phi_m], axis=-1)
    return out


@pytest.fixture(scope="module")
def closure():
    """SM signal and background from the generators, smeared like the demo's detector, with their densities."""
    rng = np.random.default_rng(11)
    channel = GoldenChannel()
    signal = channel.generate(golden_setup(n_trials=10), N_SIGNAL, "sm", seed=12)
    background, sigma_b = background_events(N_BACKGROUND, seed=13)
    electron, muon = lepton_transfers(DETECTOR)
    x = np.concatenate(
        [
            _measured(signal.lepton_momenta, rng, electron, muon),
            _measured(background[:, 4:8], rng, electron, muon),
        ]
    )
    densities = detector_densities(
        x,
        electron=electron,
        muon=muon,
        channel=channel,
        background_integral=background_normalisation(200_000, seed=14)[0],
        n_samples=32,
        seed=15,
    )
    sigma_s = float(signal.cross_section(np.zeros(2)))
    weights = np.concatenate(
        [np.full(N_SIGNAL, sigma_s / N_SIGNAL), np.full(N_BACKGROUND, sigma_b / N_BACKGROUND)]
    )
    return {
        "densities": densities,
        "weights": weights,
        "signal": signal,
        "sigma_b": sigma_b,
        "channel": channel,
    }


def test_background_closure(closure):
    """The posterior background probability summed over a mixed sample (weights = cross sections) is the
    background cross section: signal and background densities are normalised consistently, with no
    knowledge of the labels. The posterior separates the processes."""
    d, w = closure["densities"], closure["weights"]
    p_signal = d.signal_probability(closure["channel"].couplings(np.zeros(2)))
    contributions = w * (1.0 - p_signal)
    error = np.sqrt(np.sum((w * ((np.arange(len(w)) >= N_SIGNAL) - (1.0 - p_signal))) ** 2))
    assert contributions.sum() == pytest.approx(closure["sigma_b"], abs=4 * error)
    assert p_signal[:N_SIGNAL].mean() > 0.8 and p_signal[N_SIGNAL:].mean() < 0.4
    assert np.median(d.signal_error[:N_SIGNAL]) < 0.15 and np.median(d.background_error) < 0.15


def test_signal_theta_dependence_closes(closure):
    """E_SM[f_s(x|theta) / f_s(x|SM)] over SM signal events = sigma(theta) / sigma(SM): the detector-level
    signal forms carry the exact theta dependence (the detector and selection are theta-independent)."""
    d, signal, channel = closure["densities"], closure["signal"], closure["channel"]
    thetas = np.array([[0.05, 0.3], [-0.1, -0.3], [0.0, 0.6]])
    ratio = (
        d.signal(channel.couplings(thetas))[:, :N_SIGNAL]
        / d.signal(channel.couplings(np.zeros((1, 2))))[:, :N_SIGNAL]
    )
    expected = signal.cross_section(thetas) / signal.cross_section(np.zeros(2))
    errors = ratio.std(axis=1) / np.sqrt(N_SIGNAL)
    assert np.all(np.abs(ratio.mean(axis=1) - expected) < 4 * errors + 1e-3)
    log_f = d.log_density(channel.couplings(thetas))
    assert log_f.shape == (3, N_SIGNAL + N_BACKGROUND) and np.all(np.isfinite(log_f))


def test_background_matrix_element_and_normalisation():
    """|M_b|^2 is Lorentz invariant and symmetric in the pair masses; the normalisation integral agrees
    between independent seeds within its error."""
    from columnminer.simulators._phasespace import boost, decay_momenta_at_rest

    p = decay_momenta_at_rest(np.array([91.0, 30.0]), np.array([30.0, 91.0]), np.full((2, 6), 0.3))
    me = background_matrix_element(p)
    assert me[0] == pytest.approx(me[1], rel=1e-10)
    assert background_matrix_element(boost(p, np.array([0.3, -0.2, 0.5]))) == pytest.approx(me, rel=1e-9)
    (a, ea), (b, eb) = background_normalisation(50_000, seed=1), background_normalisation(50_000, seed=2)
    assert abs(a - b) < 4 * np.hypot(ea, eb)


def test_unsupported_detectors_are_refused():
    absolute = DetectorConfig(
        e=ObjectSmearing(energy=Resolution(absolute=1.0), pt=None),
        mu=DETECTOR.mu,
    )
    with pytest.raises(SimulationError, match="relative resolution only"):
        lepton_transfers(absolute)
    with pytest.raises(SimulationError, match="no smearing"):
        lepton_transfers(DetectorConfig(e=DETECTOR.e))
    electron, muon = lepton_transfers(DETECTOR)
    with pytest.raises(SimulationError, match="measured must be"):
        detector_densities(np.ones((2, 3, 3)), electron=electron, muon=muon, background_integral=1.0)
