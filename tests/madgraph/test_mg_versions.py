"""The version-dependent behaviours of MadGraph's reweighting (see docs/madgraph.md), with the recording fake:
identical-card bypass in old versions, ``_nlo`` weight names at NLO; columnminer reads both."""

import subprocess
import sys

import numpy as np
import pytest

from columnminer.analysis import Analysis
from columnminer.errors import MissingWeightError
from columnminer.events import nth
from columnminer.io.lhe import benchmark_weights, read_lhe, read_lhe_header
from columnminer.io.store import EventStore
from columnminer.madgraph import reweight_card, run, run_multiple, write_reweight_card
from columnminer.samples import Sample, analyse_samples

OLD, NEW = "2.5.5", "3.5.0"


def diphoton_analysis() -> Analysis:
    analysis = Analysis()
    analysis.add_observable("m_aa", lambda ev: (nth(ev.a, 0) + nth(ev.a, 1)).mass, required=True)
    return analysis


def signal_runs(setup, cards, fake_madgraph, tmp_path, name, **options):
    return run_multiple(
        setup,
        fake_madgraph.directory,
        cards("proc_card_signal.dat"),
        cards("param_card_template.dat"),
        [cards("run_card_signal_small.dat")],
        mg_process_directory=tmp_path / name,
        sample_benchmarks=["sm", "w"],
        log_directory=tmp_path / "logs",
        run_card_settings={"nevents": 6},
        **options,
    )


def store_weights(setup, runs, path):
    analysis = diphoton_analysis()
    store = EventStore.create(str(path), setup, analysis.observable_names)
    analyse_samples([Sample(**r.sample_kwargs()) for r in runs], analysis, store, progress=False)
    return store.read("weights")


@pytest.mark.parametrize("version", [OLD, NEW])
def test_runs_read_the_same_whatever_the_version(
    version, tutorial_setup, cards, fake_madgraph, tmp_path, monkeypatch
):
    monkeypatch.setenv("FAKE_MG_VERSION", version)
    runs = signal_runs(tutorial_setup, cards, fake_madgraph, tmp_path, "p")
    for r in runs:
        names = [b for b in tutorial_setup.benchmark_names if b != r.sample_benchmark]
        assert read_lhe_header(r.lhe_file).weight_ids == names  # no card identical to the generation card
    weights = store_weights(tutorial_setup, runs, tmp_path / "s.zarr")
    events = read_lhe(runs[1].lhe_file)  # sampled at "w": its column is XWGTUP
    np.testing.assert_allclose(weights[6:, 1], events.weight.to_numpy() / 2, rtol=1e-12)


def test_old_madgraph_bypasses_an_identical_card_so_the_sampling_benchmark_must_come_from_xwgtup(
    tutorial_setup, cards, fake_madgraph, tmp_path, monkeypatch
):
    """What columnminer did before: the reweight card held the sampling benchmark too. Old MadGraph skips that
    block ("original card and new card are identical. Bypass this run"): the file has no weight "sm" and a
    plain read fails; newer versions write it (equal to XWGTUP) after a whole extra pass."""
    for version, has_sm in ((OLD, False), (NEW, True)):
        monkeypatch.setenv("FAKE_MG_VERSION", version)
        process = tmp_path / f"bkg_{version}"
        background = run(
            tutorial_setup,
            fake_madgraph.directory,
            cards("proc_card_signal.dat"),
            cards("param_card_template.dat"),
            cards("run_card_signal_small.dat"),
            mg_process_directory=process,
            is_background=True,
            log_directory=tmp_path / "logs",
            run_card_settings={"nevents": 5},
        )
        write_reweight_card(tutorial_setup, process / "Cards" / "reweight_card.dat")  # every benchmark
        out = subprocess.run(
            [sys.executable, str(process / "bin" / "madevent"), "reweight", "run_01", "-f"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert ("Bypass this run" in out.stdout) is not has_sm
        ids = read_lhe_header(background.lhe_file).weight_ids
        assert ("sm" in ids) is has_sm and "w" in ids
        events = read_lhe(background.lhe_file)
        names = tutorial_setup.benchmark_names
        if not has_sm:
            with pytest.raises(MissingWeightError, match="'sm'"):
                benchmark_weights(events, names)  # the plain names, as before
        else:
            np.testing.assert_allclose(events.weights["sm"].to_numpy(), events.weight.to_numpy(), rtol=1e-12)
        # the sampling benchmark from XWGTUP reads either file
        got = benchmark_weights(events, names, {"sm": "XWGTUP"})
        np.testing.assert_array_equal(got[:, 0], events.weight.to_numpy())
        assert reweight_card(tutorial_setup).count("launch") == len(names)


def test_nlo_weight_names_are_read_through_the_run_mapping(tutorial_setup, cards, fake_madgraph, tmp_path):
    runs = signal_runs(tutorial_setup, cards, fake_madgraph, tmp_path, "nlo", order="NLO")
    ids = read_lhe_header(runs[0].lhe_file).weight_ids
    assert ids == [f"{b}_nlo" for b in tutorial_setup.benchmark_names if b != "sm"]
    events = read_lhe(runs[0].lhe_file)
    with pytest.raises(MissingWeightError, match="'w'"):  # the plain names (what columnminer looked for)
        benchmark_weights(events, tutorial_setup.benchmark_names, {"sm": "XWGTUP"})
    weights = store_weights(tutorial_setup, runs, tmp_path / "nlo.zarr")
    np.testing.assert_allclose(weights[:6, 1], events.weights["w_nlo"].to_numpy() / 2, rtol=1e-12)
    np.testing.assert_allclose(weights[:6, 0], events.weight.to_numpy() / 2, rtol=1e-12)
