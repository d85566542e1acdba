"""One set of defaults across the command line, the demo and the library (issue 22), the shared options of
the commands (issue 21), the level and cuts a store records, the validation partition of ``train`` and the
grid resolution of ``limits``."""

import json

import numpy as np
import pytest

from columnminer._cli.common import DEFAULT_LUMINOSITY
from columnminer._cli.defaults import EVALUATION_PARTITION, GRID_POINTS
from columnminer._cli.limits import confidence_regions
from columnminer._demo.config import DemoConfig
from columnminer.cli import build_parser, main
from columnminer.inference import expected_limits
from columnminer.io.store import EventStore
from columnminer.setup import DEFAULT_PARTITION_FRACTIONS


def _help(*command):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[command[0]]
    for name in command[1:]:
        sub = next(a for a in sub._actions if a.dest == "process").choices[name]
    return sub.format_help()


def _defaults(command, *positional):
    return build_parser().parse_args([command, *positional])


def test_one_set_of_defaults():
    # the same luminosity (3000 fb^-1) and partitions in the command line and the demo
    assert DEFAULT_LUMINOSITY == 3.0e6 == DemoConfig.make().luminosity_pb
    assert DemoConfig.make().partition_fractions == DEFAULT_PARTITION_FRACTIONS == (0.8, 0.1, 0.1)
    fisher, limits = _defaults("fisher", "s.zarr"), _defaults("limits", "s.zarr", "rate")
    assert fisher.luminosity == limits.luminosity == DEFAULT_LUMINOSITY
    # fisher and limits evaluate on the same partition: test
    assert fisher.partition == limits.partition == EVALUATION_PARTITION == "test"
    assert limits.points == GRID_POINTS
    for command in ("fisher", "limits"):
        assert "3000 fb^-1" in " ".join(_help(command).split())
    assert "0.8 0.1 0.1" in " ".join(_help("analyse").split())
    # train validates on the store's validation partition unless asked to split the sample
    assert _defaults("train", "s.zarr", "sally").validation_split is None


def test_help_texts_are_current():
    texts = {c: " ".join(_help(c).split()) for c in ("demo", "setup", "simulate", "analyse", "train")}
    assert not any("kept from earlier versions" in t for t in texts.values())
    assert "_cli.config" not in texts["analyse"]
    assert "about a minute" not in texts["demo"] and "--images" in texts["demo"]
    assert "exit code 2 here" in texts["setup"] and "exit code 2 here" in texts["simulate"]
    for command in ("demo", "analyse", "train", "fisher", "limits", "inspect", "augment"):
        assert _help(command).rstrip().endswith("2 usage.")


def test_analyse_records_the_level_and_offers_the_detector(golden_dir, golden_store, tmp_path, capsys):
    # the default chain is parton level, and inspect says so
    assert EventStore.open(str(golden_store)).metadata["analysis"]["level"] == "parton"
    target = tmp_path / "detector.zarr"
    signal = f"{golden_dir / 'signal.lhe.gz'}:sm"
    args = ["analyse", str(target), "--sample", signal, "--detector", "golden", "--chunk-size", "1000"]
    assert main(args) == 0
    assert "level: detector (detector: golden:" in capsys.readouterr().out
    store = EventStore.open(str(target))
    record = store.metadata["analysis"]
    assert record["level"] == "detector" and record["detector"].startswith("golden")
    assert record["cuts"] == ["40 < mZ1 < 120 GeV", "12 < mZ2 < 120 GeV", "115 < m4l < 135 GeV"]
    parton = EventStore.open(str(golden_store))
    assert 0 < store.n_events < parton.n_events  # the acceptance, efficiencies and the selection
    m4l = store.read("observables")[:, 0]
    assert np.all((m4l > 115) & (m4l < 135)) and np.std(m4l) > 0.05  # smeared around mH
    assert main(["inspect", str(target)]) == 0
    assert "level: detector (detector: golden" in capsys.readouterr().out
    # appending parton-level events to a detector-level store is refused
    assert main(["analyse", str(target), "--sample", signal, "--append"]) == 1
    assert "holds detector-level events" in capsys.readouterr().err


def test_train_validates_on_the_validation_partition(golden_store, tmp_path, capsys):
    store = str(golden_store)
    assert main(["augment", store, "local", "--samples", "800", "--name", "v-local", "--overwrite"]) == 0
    tiny = ["--sample", "v-local", "--hidden", "4", "--epochs", "2", "--out", str(tmp_path / "a")]
    assert main(["train", store, "sally", *tiny]) == 0
    out = capsys.readouterr().out
    assert "validation: 100 rows drawn from the validation partition" in out
    assert "800 training / 100 validation rows" in out  # the whole sample trains
    assert main(["train", store, "sally", *tiny, "--validation-split", "0.25"]) == 0
    assert "600 training / 200 validation rows" in capsys.readouterr().out
    # a sample drawn from every event has no held-out counterpart
    assert main(["augment", store, "local", "--samples", "300", "--name", "v-all", "--partition", "all"]) == 0
    assert main(["train", store, "sally", "--sample", "v-all", "--epochs", "1"]) == 1
    assert "pass --validation-split" in capsys.readouterr().err


def test_limits_grid_resolves_the_regions(golden_store, tmp_path, capsys):
    store = str(golden_store)
    target = tmp_path / "zoomed.json"
    args = ["limits", store, "histo", "--observables", "Phi", "mZ2", "--bins", "4"]
    assert main([*args, "--json", str(target)]) == 0
    out = capsys.readouterr().out
    saved = json.loads(target.read_text())
    assert saved["grid_zooms"] >= 1 and "zoomed" in out
    for region in saved["regions"]:
        assert region["below_grid_resolution"] == []
        assert all(high > low for low, high in region["ranges"].values())
    # an explicit coarse grid is kept; a range within one grid step is said to be below its resolution
    assert main([*args, "--grid=-1:1:5", "--cl", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "below the grid resolution (0.5)" in out and "[0, 0]" not in out


def test_confidence_regions_flag_unresolved_ranges():
    thetas = np.stack(np.meshgrid([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], indexing="ij"), -1).reshape(-1, 2)

    class Result:
        parameter_names = ("a2", "a3")
        q = 10 * np.sum(thetas**2, axis=1)

        def threshold(self, cl):
            return 2.3

        def region_volume(self, cl):
            return 1.0

    Result.thetas = thetas
    region = confidence_regions(Result(), [0.68])[0]
    assert region["ranges"] == {"a2": [0.0, 0.0], "a3": [0.0, 0.0]}
    assert region["below_grid_resolution"] == ["a2", "a3"]


def test_library_and_command_line_agree_on_the_evaluation_partition(golden_store, tmp_path):
    store = EventStore.open(str(golden_store))
    target = tmp_path / "fisher.json"
    assert main(["fisher", str(golden_store), "--json", str(target)]) == 0
    saved = json.loads(target.read_text())
    assert saved["partition"] == "test" and saved["luminosity_pb"] == 3.0e6
    from columnminer.inference import truth_information

    np.testing.assert_allclose(
        saved["information"]["truth"]["matrix"],
        truth_information(store, "sm", 3.0e6, partition="test").information,
    )
    limits = tmp_path / "limits.json"
    assert main(["limits", str(golden_store), "rate", "--grid=0", "--json", str(limits)]) == 0
    rate = expected_limits(store, "rate", "sm", np.zeros((1, 2)), 3.0e6, partition="test")
    assert json.loads(limits.read_text())["n_observed"] == pytest.approx(rate.n_observed)
