"""only_prepare_script: self-contained bash scripts are written, nothing runs; running them later works."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from columnminer.io.lhe import read_lhe_header
from columnminer.madgraph import (
    card_destination,
    edit_run_card,
    load_runs,
    param_card,
    reweight_card,
    reweight_existing_sample,
    run_multiple,
)


def heredocs(script: str) -> dict[str, str]:
    """{target: text} of the ``cat > target <<'DELIM'`` here-documents of a script."""
    found = {}
    for match in re.finditer(r"cat >>? (\S+) <<'(\w+)'\n(.*?)^\2$", script, re.S | re.M):
        found[match.group(1)] = match.group(3)
    return found


def test_prepared_scripts_run_nothing_and_work_later(tutorial_setup, cards, fake_madgraph, tmp_path):
    process = tmp_path / "MG_process"
    logs = tmp_path / "logs"
    ufo = tmp_path / "EWdim6-full"
    ufo.mkdir()
    (ufo / "__init__.py").write_text("# a UFO model\n")
    runs = run_multiple(
        tutorial_setup,
        fake_madgraph.directory,
        cards("proc_card_signal.dat"),
        cards("param_card_template.dat"),
        [cards("run_card_signal_small.dat")],
        mg_process_directory=process,
        sample_benchmarks=["sm", "w"],
        only_prepare_script=True,
        ufo_model_directory=ufo,
        log_directory=logs,
        temp_directory=tmp_path / "tmp",
        initial_command="export CM_INITIAL=from-script",
        python_executable=sys.executable,
        run_card_settings={"nevents": 5},
    )
    # nothing ran: no MadGraph call, no process directory, no model installed
    assert fake_madgraph.calls() == [] and not process.exists()
    assert not (fake_madgraph.directory / "models" / "EWdim6-full").exists()
    steering = tmp_path / "MG_process_columnminer"
    assert [r.script for r in runs] == [steering / "scripts" / "run_0.sh", steering / "scripts" / "run_1.sh"]
    assert [(r.run_name, r.done) for r in runs] == [("run_01", False), ("run_02", False)]
    assert [r.to_dict() for r in load_runs(steering)] == [r.to_dict() for r in runs]
    for script in (
        steering / "run.sh",
        steering / "scripts" / "create_process.sh",
        *(r.script for r in runs),
    ):
        assert script.stat().st_mode & 0o111
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0

    # each run script embeds its cards verbatim and names its defaults
    text = runs[1].script.read_text()
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "export CM_INITIAL=from-script" in lines
    assert f"mgdir=${{1:-{fake_madgraph.directory}}}" in lines
    assert f"mgprocdir=${{2:-{process}}}" in lines
    assert f"logdir=${{3:-{logs}}}" in lines
    embedded = heredocs(text)
    expected = {
        "param": param_card(tutorial_setup, "w", cards("param_card_template.dat")),
        "run": edit_run_card(cards("run_card_signal_small.dat"), settings={"nevents": 5}),
        "reweight": reweight_card(tutorial_setup, [b for b in tutorial_setup.benchmark_names if b != "w"]),
    }
    for kind, card in expected.items():
        assert embedded[f'"$mgprocdir/{card_destination(kind)}"'] == card
    assert embedded['"$commands"'].splitlines() == [
        "shower=OFF",
        "detector=OFF",
        "analysis=OFF",
        "madspin=OFF",
        "reweight=ON",
        "done",
    ]
    assert lines[-1] == (
        f'cd "$logdir" && {sys.executable} "$mgdir/bin/mg5_aMC" "$commands" > "$logdir/run_1.log" 2>&1'
    )
    create = (steering / "scripts" / "create_process.sh").read_text()
    assert heredocs(create)['"$generate"'] == cards("proc_card_signal.dat").read_text() + "\n"
    assert f'  cp -r {ufo} "$mgdir/models/"EWdim6-full' in create.splitlines()
    assert (steering / "run.sh").read_text().splitlines()[-3:] == [
        'bash "$here/scripts/create_process.sh" "$mgdir" "$mgprocdir" "$logdir"',
        'bash "$here/scripts/run_0.sh" "$mgdir" "$mgprocdir" "$logdir"',
        'bash "$here/scripts/run_1.sh" "$mgdir" "$mgprocdir" "$logdir"',
    ]

    # later (a batch job): the master script installs the model, creates the process and runs both runs
    subprocess.run(["bash", str(steering / "run.sh")], check=True, cwd=tmp_path)
    calls = fake_madgraph.calls()
    assert [c["kind"] for c in calls] == ["mg5_aMC", "mg5_aMC", "launch", "mg5_aMC", "launch"]
    assert calls[0]["commands"][-1] == f"output {process}"
    assert calls[1]["argv"] == [
        str(fake_madgraph.launcher),
        str(process / "Cards" / "columnminer_launch_0.mg5"),
    ]
    assert calls[1]["commands"][0] == f"launch {process}"
    for call in calls:
        assert call["cwd"] == str(logs)
        assert call["env"]["CM_INITIAL"] == "from-script"
        assert call["env"]["TMPDIR"] == str(tmp_path / "tmp")
        assert call["env"]["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert (fake_madgraph.directory / "models" / "EWdim6-full" / "__init__.py").is_file()
    for r in runs:  # every benchmark but the sampling one is a named weight
        names = tutorial_setup.benchmark_names
        assert read_lhe_header(r.lhe_file).weight_ids == [b for b in names if b != r.sample_benchmark]
    assert calls[2]["param_card"] == param_card(tutorial_setup, "sm", cards("param_card_template.dat"))
    assert calls[4]["param_card"] == expected["param"]

    # one run script alone, pointed at a copy of the process directory (as on a worker node)
    copy = tmp_path / "node" / "MG_process"
    shutil.copytree(process, copy)
    node_logs = tmp_path / "node" / "logs"
    cmd = ["bash", str(runs[0].script), str(fake_madgraph.directory), str(copy), str(node_logs)]
    subprocess.run(cmd, check=True)
    assert (copy / "Events" / "run_03" / "unweighted_events.lhe.gz").is_file()
    assert (node_logs / "run_0.log").is_file()
    assert fake_madgraph.calls()[-1]["param_card"] == param_card(
        tutorial_setup, "sm", cards("param_card_template.dat")
    )

    # reweighting prepared as a script, then run
    n_calls = len(fake_madgraph.calls())
    record = reweight_existing_sample(
        tutorial_setup, process, "run_01", "sm", ["w"], only_prepare_script=True, log_directory=logs
    )
    assert len(fake_madgraph.calls()) == n_calls and not record.done
    assert record.script == steering / "scripts" / "reweight_run_01.sh"
    script = record.script.read_text()
    assert heredocs(script)['"$mgprocdir/Cards/reweight_card.dat"'] == reweight_card(tutorial_setup, ["w"])
    subprocess.run(["bash", str(record.script)], check=True)
    call = fake_madgraph.calls()[-1]
    assert call["argv"] == [str(process / "bin" / "madevent"), "reweight", "run_01", "-f"]
    assert read_lhe_header(record.lhe_file).weight_ids[-1] == "w"
