"""run / run_multiple / reweight_existing_sample against a recording fake MadGraph, through to an EventStore."""

import sys
from pathlib import Path

import numpy as np
import pytest

from columnminer.analysis import Analysis
from columnminer.errors import MadGraphError, MadGraphNotFoundError
from columnminer.events import nth
from columnminer.io.lhe import read_lhe, read_lhe_header
from columnminer.io.store import EventStore
from columnminer.madgraph import (
    find_event_files,
    load_runs,
    param_card,
    reweight_card,
    reweight_existing_sample,
    run,
    run_multiple,
)
from columnminer.samples import Sample, analyse_samples


def diphoton_analysis() -> Analysis:
    analysis = Analysis()
    analysis.add_observable("m_aa", lambda ev: (nth(ev.a, 0) + nth(ev.a, 1)).mass, required=True)
    analysis.add_observable("pt_j1", lambda ev: nth(ev.j, 0).pt, required=True)
    return analysis


def test_run_multiple_drives_madgraph_like_madminer(tutorial_setup, cards, fake_madgraph, tmp_path):
    process = tmp_path / "MG_process"
    logs = tmp_path / "logs"
    runs = run_multiple(
        tutorial_setup,
        fake_madgraph.directory,
        cards("proc_card_signal.dat"),
        cards("param_card_template.dat"),
        [cards("run_card_signal_small.dat")],
        mg_process_directory=process,
        sample_benchmarks=["sm", "w"],
        log_directory=logs,
        temp_directory=tmp_path / "tmp",
        initial_command="export CM_INITIAL=from-initial-command",
        python_executable=sys.executable,
        run_card_settings={"nevents": 12},
    )
    calls = fake_madgraph.calls()
    assert [c["kind"] for c in calls] == ["mg5_aMC", "mg5_aMC", "launch", "mg5_aMC", "launch"]
    steering = tmp_path / "MG_process_columnminer"
    # 1. the process directory: mg5_aMC on the process card plus "output <process>"
    generate = calls[0]
    assert generate["argv"] == [str(fake_madgraph.launcher), str(steering / "cards" / "generate.mg5")]
    assert generate["commands"] == [
        "import model EWdim6-full",
        "generate u d > u d h / a z QCD=0 QED=99 NP=2, h > a a QCD=0 QED=99 NP=0",
        f"output {process}",
    ]
    # 2. each run: mg5_aMC on "launch <process>" plus the switches, cards in place, environment as asked
    for k, (benchmark, call, launch) in enumerate(zip(["sm", "w"], calls[1::2], calls[2::2], strict=True)):
        commands = steering / "cards" / f"mg_commands_{k}.mg5"
        assert call["argv"] == [str(fake_madgraph.launcher), str(commands)]
        assert call["commands"] == [
            f"launch {process}",
            "shower=OFF",
            "detector=OFF",
            "analysis=OFF",
            "madspin=OFF",
            "reweight=ON",
            "done",
        ]
        assert launch["switches"]["reweight"] == "ON"
        assert launch["param_card"] == param_card(tutorial_setup, benchmark, cards("param_card_template.dat"))
        others = [name for name in tutorial_setup.benchmark_names if name != benchmark]
        assert launch["reweight_card"] == reweight_card(tutorial_setup, others)  # not the sampling benchmark
        assert "  12      = nevents          ! Number of unweighted events requested" in launch["run_card"]
        assert {"param_card.dat", "run_card.dat", "reweight_card.dat"} <= set(launch["cards"])
    for call in calls:
        assert call["cwd"] == str(logs)
        assert call["env"]["CM_INITIAL"] == "from-initial-command"
        assert call["env"]["TMPDIR"] == str(tmp_path / "tmp")
        assert call["env"]["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert (logs / "generate.log").is_file() and "wrote" in (logs / "run_1.log").read_text()

    # 3. the runs know their event files; the manifest lists them
    assert [r.run_name for r in runs] == ["run_01", "run_02"]
    assert [r.lhe_file for r in runs] == find_event_files(process)
    assert [r.to_dict() for r in load_runs(steering)] == [r.to_dict() for r in runs]
    assert all(r.done and r.script is None for r in runs)

    # 4. the LHE files go through the reader into a store, one weight column per benchmark; the sampling
    # benchmark's column is the event weight XWGTUP
    header = read_lhe_header(runs[0].lhe_file)
    assert header.weight_ids == tutorial_setup.benchmark_names[1:]
    assert [r.weight_mapping for r in runs] == [{"sm": "XWGTUP"}, {"w": "XWGTUP"}]
    analysis = diphoton_analysis()
    store = EventStore.create(
        str(tmp_path / "vbf.zarr"), tutorial_setup, analysis.observable_names, chunk_size=8
    )
    summary = analyse_samples([Sample(**r.sample_kwargs()) for r in runs], analysis, store, progress=False)
    assert summary.n_kept == {str(runs[0].lhe_file): 12, str(runs[1].lhe_file): 12}
    assert store.read("sampled_from").tolist() == [0] * 12 + [1] * 12
    np.testing.assert_allclose(store.read("observables")[:, 0], 125.0, rtol=1e-6)
    events = read_lhe(runs[0].lhe_file)
    names = tutorial_setup.benchmark_names
    raw = np.column_stack(
        [events.weight.to_numpy()] + [events.weights[name].to_numpy() for name in names[1:]]
    )
    np.testing.assert_allclose(store.read("weights")[:12], raw / 2, rtol=1e-12)  # event_norm sum, 2 samples


def test_background_run_without_reweighting_and_nlo_naming(tutorial_setup, cards, fake_madgraph, tmp_path):
    process = tmp_path / "bkg"
    background = run(
        tutorial_setup,
        fake_madgraph.directory,
        cards("proc_card_background.dat"),
        cards("param_card_template.dat"),
        cards("run_card_background.dat"),
        mg_process_directory=process,
        is_background=True,
        log_directory=tmp_path / "logs",
        pythia8_card_file=cards("pythia8_card.dat"),
        pythia8_settings={"Main:numberOfEvents": 5},
        run_card_settings={"nevents": 5},
    )
    launch = fake_madgraph.calls()[2]
    assert launch["switches"] == {
        "shower": "Pythia8",
        "detector": "OFF",
        "analysis": "OFF",
        "madspin": "OFF",
        "reweight": "OFF",
    }
    assert "reweight_card.dat" not in launch["cards"] and "pythia8_card.dat" in launch["cards"]
    assert (process / "Cards" / "pythia8_card.dat").read_text().startswith("!\n! Pythia8 cmd card")
    assert "Main:numberOfEvents      = 5" in (process / "Cards" / "pythia8_card.dat").read_text()
    assert background.sample_kwargs() == {
        "path": str(process / "Events" / "run_01" / "unweighted_events.lhe.gz"),
        "sampled_from_benchmark": None,
        "is_background": True,
    }
    assert read_lhe_header(background.lhe_file).weight_ids == []

    nlo = run(
        tutorial_setup,
        fake_madgraph.directory,
        cards("proc_card_signal.dat"),
        cards("param_card_template.dat"),
        cards("run_card_signal_small.dat"),
        mg_process_directory=tmp_path / "nlo",
        sample_benchmark="w",
        log_directory=tmp_path / "logs",
        pythia8_card_file=cards("pythia8_card.dat"),
        order="NLO",
        run_card_settings={"nevents": 4},
    )
    launch = fake_madgraph.calls()[-1]
    assert launch["switches"] == {
        "order": "NLO",
        "fixed_order": "OFF",
        "shower": "PYTHIA8",
        "madspin": "OFF",
        "reweight": "ON",
    }
    assert {"shower_card.dat", "reweight_card.dat"} <= set(launch["cards"])
    assert "pythia8_card.dat" not in launch["cards"]
    assert launch["run_card"].rstrip().endswith("  True = store_rwgt_info")
    assert nlo.lhe_file == tmp_path / "nlo" / "Events" / "run_01" / "events.lhe.gz"
    assert find_event_files(tmp_path / "nlo", order="NLO") == [nlo.lhe_file]
    # MadGraph names NLO reweighting weights <rwgt_name>_nlo; the run's weight mapping reads them
    others = [name for name in tutorial_setup.benchmark_names if name != "w"]
    assert read_lhe_header(nlo.lhe_file).weight_ids == [f"{name}_nlo" for name in others]
    assert nlo.weight_mapping == {**{name: f"{name}_nlo" for name in others}, "w": "XWGTUP"}


def test_reweight_existing_sample_adds_the_benchmark_weights(tutorial_setup, cards, fake_madgraph, tmp_path):
    process = tmp_path / "MG_process"
    logs = tmp_path / "logs"
    common = (fake_madgraph.directory, cards("proc_card_signal.dat"), cards("param_card_template.dat"))
    run(
        tutorial_setup,
        *common,
        cards("run_card_signal_small.dat"),
        process,
        is_background=True,
        log_directory=logs,
        run_card_settings={"nevents": 6},
    )
    assert read_lhe_header(process / "Events" / "run_01" / "unweighted_events.lhe.gz").weight_ids == []
    record = reweight_existing_sample(tutorial_setup, process, "run_01", "sm", log_directory=logs)
    call = fake_madgraph.calls()[-1]
    assert call["kind"] == "madevent"
    assert call["argv"] == [str(process / "bin" / "madevent"), "reweight", "run_01", "-f"]
    assert call["cwd"] == str(logs)
    others = tutorial_setup.benchmark_names[1:]  # never the sampling benchmark "sm"
    assert call["reweight_card"] == reweight_card(tutorial_setup, others)
    assert (process / "Cards" / "reweight_card.dat").read_text() == reweight_card(tutorial_setup, others)
    assert record.done and record.log_file == logs / "reweight_run_01.log"
    assert read_lhe_header(record.lhe_file).weight_ids == others
    assert record.weight_mapping == {"sm": "XWGTUP"}
    analysis = diphoton_analysis()
    store = EventStore.create(str(tmp_path / "s.zarr"), tutorial_setup, analysis.observable_names)
    analyse_samples([Sample(**record.sample_kwargs())], analysis, store, progress=False)
    assert store.n_events == 6 and np.all(store.read("weights") > 0)
    # every weight is there now: a second call runs nothing
    n_calls = len(fake_madgraph.calls())
    assert reweight_existing_sample(tutorial_setup, process, "run_01", "sm", log_directory=logs).done
    assert len(fake_madgraph.calls()) == n_calls


def test_missing_madgraph_is_named(tutorial_setup, cards, fake_madgraph, tmp_path):
    args = (cards("proc_card_signal.dat"), cards("param_card_template.dat"))
    missing = tmp_path / "no_madgraph_here"
    with pytest.raises(MadGraphNotFoundError, match=f"MadGraph directory {missing} does not exist") as info:
        run(tutorial_setup, missing, *args, mg_process_directory=tmp_path / "p", log_directory=tmp_path / "l")
    assert info.value.path == str(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        MadGraphNotFoundError, match=r"not a MadGraph 5 installation: .*bin/mg5_aMC does not exist"
    ):
        run(tutorial_setup, empty, *args, mg_process_directory=tmp_path / "p", log_directory=tmp_path / "l")
    with pytest.raises(MadGraphNotFoundError, match=r"run card .*no_card\.dat does not exist"):
        run(tutorial_setup, fake_madgraph.directory, *args, tmp_path / "no_card.dat")
    with pytest.raises(MadGraphNotFoundError, match=r"MadGraph process directory .*p does not exist"):
        reweight_existing_sample(tutorial_setup, tmp_path / "p", "run_01", "sm", log_directory=tmp_path / "l")
    assert fake_madgraph.calls() == []


def test_failed_runs_report_exit_code_and_log(tutorial_setup, cards, fake_madgraph, tmp_path, monkeypatch):
    args = (fake_madgraph.directory, cards("proc_card_signal.dat"), cards("param_card_template.dat"))
    logs = tmp_path / "logs"
    monkeypatch.setenv("FAKE_MG_FAIL", "launch")
    with pytest.raises(MadGraphError, match="exit code 7") as info:
        run(tutorial_setup, *args, mg_process_directory=tmp_path / "p", log_directory=logs)
    message = str(info.value)
    assert str(logs / "run_0.log") in message and "simulated crash during launch" in message
    assert (info.value.returncode, info.value.log_path) == (7, str(logs / "run_0.log"))
    monkeypatch.setenv("FAKE_MG_FAIL", "silent")
    with pytest.raises(
        MadGraphError, match=r"finished without error but wrote no new Events/<run>/unweighted"
    ):
        run(
            tutorial_setup,
            *args,
            mg_process_directory=tmp_path / "p",
            log_directory=logs,
            reuse_process_directory=True,
        )
    assert [c["kind"] for c in fake_madgraph.calls()].count("mg5_aMC") == 3  # the process was created once
