"""The golden channel through the whole analysis layer: simulate -> LHE -> event model -> store, checked
against direct computations from the generator's own momenta and weights."""

import awkward as ak
import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.events import event_model_from_lhe
from columnminer.fourlepton import M_Z_GEV, add_four_lepton_observables, four_lepton_observables
from columnminer.io.lhe import read_lhe
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators._phasespace import decay_angles
from columnminer.simulators.golden import simulate_golden
from columnminer.weights import cross_sections

ANGLES = {
    "m4l": "m4l",
    "mZ1": "m1",
    "mZ2": "m2",
    "cos_theta_star": "cos_theta_star",
    "cos_theta1": "cos_theta1",
    "cos_theta2": "cos_theta2",
    "Phi": "Phi",
    "Phi1": "Phi1",
}


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    return simulate_golden(None, 1500, out, n_background=400, seed=11)


def generator_observables(lhe):
    """The same observables straight from the generator record (e-, e+, mu-, mu+ at positions 5..8)."""
    p = lhe.particles
    momenta = np.stack([ak.to_numpy(p[f]) for f in ("e", "px", "py", "pz")], axis=-1)[:, 5:9]

    def mass(q):
        return np.sqrt(np.maximum(q[..., 0] ** 2 - (q[..., 1:] ** 2).sum(-1), 0.0))

    ee, mumu = mass(momenta[:, 0] + momenta[:, 1]), mass(momenta[:, 2] + momenta[:, 3])
    swap = np.abs(mumu - M_Z_GEV) < np.abs(ee - M_Z_GEV)
    ordered = np.where(swap[:, None, None], momenta[:, [2, 3, 0, 1]], momenta)
    return decay_angles(ordered)


def test_observables_match_the_generator(golden):
    lhe = read_lhe(golden["files"]["signal"])
    ours = four_lepton_observables(event_model_from_lhe(lhe))
    reference = generator_observables(lhe)
    for name, ref_name in ANGLES.items():
        difference = np.abs(ours[name] - reference[ref_name])
        if name.startswith("Phi"):
            difference = np.minimum(difference, 2 * np.pi - difference)
        assert difference.max() < 1e-9, name
    np.testing.assert_allclose(ours["m4l"], 125.0, rtol=1e-7)  # on shell, to the printed LHE precision
    assert abs(np.median(ours["mZ1"]) - M_Z_GEV) < 3.0  # Z1 on shell, Z2 off shell
    assert np.median(ours["mZ2"]) < 45.0


def test_golden_channel_into_the_store(golden, tmp_path):
    setup = AnalysisSetup.load(golden["files"]["setup"])
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(tmp_path / "golden.zarr"), setup, analysis.observable_names, chunk_size=500)
    samples = [
        Sample(golden["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(golden["files"]["background"], is_background=True),
    ]
    summary = analyse_samples(samples, analysis, store, step_size=400, progress=False)
    assert summary.n_kept[golden["files"]["signal"]] == 1500
    sampled = store.read("sampled_from")
    signal = sampled == 0
    assert signal.sum() == 1500 and (sampled == -1).sum() == 400

    # cross sections at every benchmark: the direct sum of the LHE weights (event_norm = average)
    lhe = read_lhe(golden["files"]["signal"])
    xsec, error = cross_sections(store, setup.benchmark_names)
    background = store.read("weights")[~signal].sum(axis=0)
    for k, name in enumerate(setup.benchmark_names):
        direct = ak.to_numpy(lhe.weights[name]).sum() / len(lhe)
        assert xsec[k] - background[k] == pytest.approx(direct, rel=1e-12)
        # and the generator's Monte Carlo integral, within the statistical uncertainty of the sample
        expected = golden["cross_section_pb"][name] + golden["background_cross_section_pb"]
        assert abs(xsec[k] - expected) < 5 * error[k] + 1e-3 * expected, name
    assert background[0] == pytest.approx(golden["background_cross_section_pb"], rel=1e-9)

    # the observables in the store are the generator's
    reference = generator_observables(lhe)
    stored = store.read("observables")[signal]
    for column, name in enumerate(analysis.observable_names):
        if name in ANGLES:
            difference = np.abs(stored[:, column] - reference[ANGLES[name]])
            if name.startswith("Phi"):
                difference = np.minimum(difference, 2 * np.pi - difference)
            assert difference.max() < 1e-9, name
