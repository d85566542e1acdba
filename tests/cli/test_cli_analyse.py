"""``columnminer analyse`` with configuration files, analysis modules and command-line definitions."""

import importlib.util
import json

import numpy as np
from conftest_data import data_file

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.cli import main
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples

OBSERVABLES_MODULE = '''"""Observables of the CLI tests."""
import awkward as ak
from columnminer.events import nth


def pt_e1(events):
    return nth(events.e, 0).pt


def n_mu(events):
    return ak.num(events.mu)


def hard_electron(events):
    return nth(events.e, 0).pt > 20.0
'''

ANALYSIS_MODULE = '''"""An analysis module of the CLI tests."""
from columnminer.analysis import Analysis
from columnminer.events import nth


def analysis():
    result = Analysis()
    result.add_observable("pt_mu1", lambda ev: nth(ev.mu, 0).pt, required=True)
    result.add_cut(lambda ev: nth(ev.mu, 0).pt > 15.0, name="leading muon pt > 15")
    return result
'''


def _toml_path(path):
    return json.dumps(str(path))  # a TOML basic string is a JSON string


def test_toml_config(golden_dir, tmp_path, capsys):
    """Observables by dotted path (a module beside the config file, a builder from columnminer), a cut,
    samples and store options from a TOML file; the store equals the library's analysis of the same files."""
    (tmp_path / "obs.py").write_text(OBSERVABLES_MODULE)
    config = tmp_path / "analysis.toml"
    config.write_text(
        f"""
setup = {_toml_path(golden_dir / "setup.json")}
chunk_size = 700
builders = ["columnminer.fourlepton:add_four_lepton_observables"]

[observables]
pt_e1 = "obs.py:pt_e1"
n_mu = {{fn = "obs:n_mu", required = true}}

[[cuts]]
fn = "obs:hard_electron"
name = "leading electron pt > 20"

[[samples]]
path = {_toml_path(golden_dir / "signal.lhe.gz")}
benchmark = "sm"

[[samples]]
path = {_toml_path(golden_dir / "background.lhe.gz")}
background = true
"""
    )
    target = tmp_path / "config.zarr"
    assert main(["analyse", str(target), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "cut leading electron pt > 20" in out
    assert "builder columnminer.fourlepton:add_four_lepton_observables" in out
    store = EventStore.open(str(target))
    assert store.observable_names == [
        "m4l", "mZ1", "mZ2", "pt4l", "y4l", "cos_theta_star", "cos_theta1", "cos_theta2", "Phi", "Phi1",
        "pt_e1", "n_mu",
    ]  # fmt: skip
    assert store.chunk_size == 700

    spec = importlib.util.spec_from_file_location("cli_test_obs", tmp_path / "obs.py")
    obs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(obs)
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    analysis.add_observable("pt_e1", obs.pt_e1)
    analysis.add_observable("n_mu", obs.n_mu, required=True)
    analysis.add_cut(obs.hard_electron)
    reference = EventStore.create(
        str(tmp_path / "reference.zarr"),
        AnalysisSetup.load(golden_dir / "setup.json"),
        analysis.observable_names,
    )
    samples = [
        Sample(str(golden_dir / "signal.lhe.gz"), "sm"),
        Sample(str(golden_dir / "background.lhe.gz"), is_background=True),
    ]
    analyse_samples(samples, analysis, reference, progress=False)
    assert 0 < store.n_events == reference.n_events < 2000
    np.testing.assert_array_equal(store.read("observables"), reference.read("observables"))
    np.testing.assert_allclose(store.read("weights"), reference.read("weights"))

    # a rerun with --append finds every chunk committed and adds nothing
    assert main(["analyse", str(target), "--config", str(config), "--append"]) == 0
    assert "(0 added" in capsys.readouterr().out
    assert EventStore.open(str(target)).n_events == reference.n_events


def test_json_config_with_analysis_module(golden_dir, tmp_path, capsys):
    """A JSON configuration naming an analysis module (a file beside it); the setup is found beside the
    samples; a background k-factor scales its weights."""
    (tmp_path / "my_analysis.py").write_text(ANALYSIS_MODULE)
    config = tmp_path / "analysis.json"
    config.write_text(
        json.dumps(
            {
                "analysis": "my_analysis.py",
                "samples": [
                    {"path": str(golden_dir / "signal.lhe.gz"), "benchmark": "sm"},
                    {"path": str(golden_dir / "background.lhe.gz"), "background": True, "k_factor": 2.0},
                ],
            }
        )
    )
    target = tmp_path / "module.zarr"
    assert main(["analyse", str(target), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "analysis module my_analysis.py" in out and "cut leading muon pt > 15" in out
    store = EventStore.open(str(target))
    assert store.observable_names == ["pt_mu1"]
    assert np.all(store.read("observables")[:, 0] > 15.0)
    background = store.read("sampled_from") == -1
    assert background.any()
    per_event = (
        2.0 * json.loads((golden_dir / "summary.json").read_text())["background_cross_section_pb"] / 500
    )
    np.testing.assert_allclose(store.read("weights")[background], per_event)


def test_analysis_object_and_command_line_definitions(golden_dir, tmp_path, capsys, monkeypatch):
    """--analysis with a module holding an Analysis object, plus --observable / --cut from a module in the
    working directory, samples and setup as options."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obs_cli.py").write_text(OBSERVABLES_MODULE)
    (tmp_path / "object_analysis.py").write_text(
        "from columnminer.analysis import Analysis\n"
        "from columnminer.fourlepton import add_four_lepton_observables\n"
        "analysis = Analysis()\nadd_four_lepton_observables(analysis)\n"
    )
    args = [
        "analyse",
        "cli.zarr",
        "--analysis",
        "object_analysis.py",
        "--observable",
        "pt_e1=obs_cli:pt_e1",
        "--cut",
        "obs_cli:hard_electron",
        "--setup",
        str(golden_dir / "setup.json"),
        "--sample",
        f"{golden_dir / 'signal.lhe.gz'}:sm",
        "--partition-fractions",
        "0.5",
        "0.25",
        "0.25",
    ]
    assert main(args) == 0
    store = EventStore.open(str(tmp_path / "cli.zarr"))
    assert store.observable_names[-1] == "pt_e1" and len(store.observable_names) == 11
    assert np.all(store.read("observables")[:, -1] > 20.0)
    assert store.partition_spec["fractions"]["train"] == 0.5
    assert "cut hard_electron" in capsys.readouterr().out


def test_delphes_background_with_the_madminer_preset(golden_dir, tmp_path, capsys):
    """A Delphes ROOT file as a background sample, MadMiner's default observables."""
    delphes = data_file("delphes", "delphes-cms-10events.root")
    target = tmp_path / "delphes.zarr"
    args = ["analyse", str(target), "--preset", "madminer", "--background", str(delphes)]
    assert main([*args, "--setup", str(golden_dir / "setup.json")]) == 0
    assert "(preset madminer)" in capsys.readouterr().out
    store = EventStore.open(str(target))
    expected = Analysis()
    expected.add_default_observables()
    assert store.observable_names == expected.observable_names
    assert store.n_events == 10 and set(store.read("sampled_from").tolist()) == {-1}
