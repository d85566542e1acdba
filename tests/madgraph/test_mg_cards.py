"""Cards for MadMiner's VBF H -> gamma gamma tutorial, checked line by line against the real templates."""

import pytest

from columnminer import AnalysisSetup
from columnminer.errors import MadGraphCardError
from columnminer.madgraph import (
    card_destination,
    card_number,
    edit_run_card,
    event_file_name,
    launch_commands,
    launch_switches,
    param_card,
    reweight_card,
    set_shower_card_entries,
    systematics_arguments,
    write_param_card,
)
from columnminer.systematics import Systematic


def changed_lines(template: str, card: str) -> dict[int, str]:
    """{line index: new line} where the card differs from the template; both must have the same length."""
    old, new = template.splitlines(), card.splitlines()
    assert len(old) == len(new)
    return {i: b for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}


def test_param_cards_of_the_tutorial_benchmarks(tutorial_setup, cards, tmp_path):
    template_file = cards("param_card_template.dat")
    template = template_file.read_text()
    lines = template.splitlines()
    cwl2 = lines.index("    2 0.000000e+00 # CWL2 ")
    cpwl2 = lines.index("    5 0.000000e+00 # CPWL2 ")
    assert len(tutorial_setup.benchmark_names) == 6
    for name, benchmark in tutorial_setup.parameter_space.benchmarks.items():
        card = param_card(tutorial_setup, name, template_file)
        theta = benchmark.values
        assert changed_lines(template, card) == {
            i: line
            for i, line in {
                cwl2: f"    2 {card_number(16.52 * theta['CWL2'])} # CWL2 [columnminer: CWL2 = {theta['CWL2']!r}]",
                cpwl2: f"    5 {card_number(16.52 * theta['CPWL2'])} # CPWL2 [columnminer: CPWL2 = "
                f"{theta['CPWL2']!r}]",
            }.items()
            if line != lines[i]
        }
        new = card.splitlines()
        assert float(new[cwl2].split()[1]) == 16.52 * theta["CWL2"]
        assert float(new[cpwl2].split()[1]) == 16.52 * theta["CPWL2"]
    out = write_param_card(tutorial_setup, "w", template_file, tmp_path / "cards" / "param_card_w.dat")
    assert out.read_text() == param_card(tutorial_setup, "w", template_file)
    assert (
        out.read_text().splitlines()[cwl2] == "    2 2.5110399999999998e+02 # CWL2 [columnminer: CWL2 = 15.2]"
    )


def test_param_card_sets_masses_and_widths_case_insensitively(cards):
    template_file = cards("param_card_template.dat")
    template = template_file.read_text()
    setup = AnalysisSetup()
    setup.add_parameter("MASS", 25, name="mh", parameter_range=(100.0, 150.0))
    setup.add_parameter("decay", 25, name="wh", parameter_range=(0.0, 1.0))
    setup.add_benchmark({"mh": 130.0, "wh": 0.25}, name="b")
    card = param_card(setup, "b", template_file)
    lines = template.splitlines()
    assert changed_lines(template, card) == {
        lines.index("   25 1.250000e+02 # MH "): "   25 1.3e+02 # MH [columnminer: mh = 130.0]",
        lines.index("DECAY  25 4.070000e-03 # WH"): "DECAY  25 2.5e-01 # WH [columnminer: wh = 0.25]",
    }


def test_param_card_without_the_entry_names_template_and_entry(cards):
    template_file = cards("param_card_template.dat")
    setup = AnalysisSetup()
    setup.add_parameter("dim6", 9, name="c9")
    setup.add_benchmark([1.0], name="b")
    with pytest.raises(
        MadGraphCardError, match=r"param_card_template\.dat: no entry for LHA block 'dim6' id 9"
    ):
        param_card(setup, "b", template_file)


def test_reweight_card_of_the_tutorial(tutorial_setup):
    card = reweight_card(tutorial_setup).splitlines()
    assert card[3:6] == ["change output default", "change helicity False", ""]
    blocks = card[6:]
    space = tutorial_setup.parameter_space
    assert len(blocks) == 5 * space.n_benchmarks
    for k, (name, benchmark) in enumerate(space.benchmarks.items()):
        block = blocks[5 * k : 5 * k + 5]
        cw, cpw = benchmark.values["CWL2"], benchmark.values["CPWL2"]
        assert block == [
            f"# benchmark {name}: CWL2 = {cw!r}, CPWL2 = {cpw!r}",
            f"launch --rwgt_name={name}",
            f"  set dim6 2 {card_number(16.52 * cw)}",
            f"  set dim6 5 {card_number(16.52 * cpw)}",
            "",
        ]
        assert float(block[2].split()[-1]) == 16.52 * cw
    only = reweight_card(tutorial_setup, ["w"]).splitlines()
    assert [line for line in only if line.startswith("launch")] == ["launch --rwgt_name=w"]


def test_reweight_card_rejects_unusable_names(space):
    space.add_benchmark([0.0, 0.0], name="has space")
    with pytest.raises(MadGraphCardError, match="'has space' cannot be a MadGraph reweighting name"):
        reweight_card(space)
    with pytest.raises(Exception, match="unknown benchmark 'nope'"):
        reweight_card(space, ["nope"])


def test_run_card_edits_line_by_line(cards):
    template_file = cards("run_card_signal_small.dat")
    template = template_file.read_text()
    lines = template.splitlines()
    systematics = [Systematic("mu", "scale"), Systematic("pdf", "pdf", pdf_variation="CT10", pdf_members=52)]
    card = edit_run_card(template_file, systematics, settings={"nevents": 50, "iseed": 3})
    at = {
        name: next(i for i, line in enumerate(lines) if f"= {name} " in line)
        for name in ("nevents", "iseed", "use_syst", "systematics_arguments")
    }
    assert changed_lines(template, card) == {
        at["nevents"]: "  50      = nevents          ! Number of unweighted events requested",
        at["iseed"]: "      3   = iseed            ! rnd seed (0=assigned automatically=default))",
        at["use_syst"]: "        True  = use_syst              ! Enable systematics studies",
        at["systematics_arguments"]: "  ['--mur=0.5,1,2', '--muf=0.5,1,2', '--together=mur,muf', '--dyn=-1', "
        "'--pdf=CT10'] = systematics_arguments ! see: "
        "https://cp3.irmp.ucl.ac.be/projects/madgraph/wiki/Systematics#Systematicspythonmodule",
    }
    # no scale / PDF systematics: MadGraph's systematics module stays off, nothing else changes
    assert edit_run_card(template_file, [Systematic("lumi", "norm")]) == template


def test_nlo_run_card_switches_on_reweighting_information(cards):
    template_file = cards("run_card_dy.dat")
    template = template_file.read_text()
    card = edit_run_card(template_file, order="NLO")
    assert card.startswith(template)
    assert card[len(template) :].splitlines()[-1] == "  True = store_rwgt_info"
    assert edit_run_card(template_file, order="NLO", is_background=True) == template


def test_systematics_that_vary_one_scale_twice_are_refused():
    with pytest.raises(MadGraphCardError, match="'a' and 'b' both vary mur"):
        systematics_arguments([Systematic("a", "scale"), Systematic("b", "scale", scale="mur")])
    assert systematics_arguments([Systematic("a", "scale", scale="muf", scale_variations=(0.5, 2.0))]) == [
        "--muf=0.5,2",
        "--dyn=-1",
    ]


def test_pythia8_card_edits(cards):
    template = cards("pythia8_card.dat").read_text()
    card = set_shower_card_entries(template, {"main:numberofevents": 500, "Random:seed": 7})
    lines = template.splitlines()
    new = card.splitlines()
    assert new[: len(lines)] != lines
    assert changed_lines(template, "\n".join(new[: len(lines)])) == {
        lines.index("Main:numberOfEvents      = -1"): "Main:numberOfEvents      = 500"
    }
    assert new[len(lines) :] == ["! set by columnminer", "Random:seed = 7"]


def test_lo_and_nlo_names():
    assert card_destination("pythia8", "LO") == "Cards/pythia8_card.dat"
    assert card_destination("pythia8", "nlo") == "Cards/shower_card.dat"
    assert card_destination("reweight", "NLO") == "Cards/reweight_card.dat"
    assert card_destination("configuration", "LO") == "Cards/me5_configuration.txt"
    assert card_destination("configuration", "NLO") == "Cards/amcatnlo_configuration.txt"
    assert (event_file_name("LO"), event_file_name("NLO")) == ("unweighted_events.lhe.gz", "events.lhe.gz")
    assert launch_switches("NLO", shower=True, madspin=True) == [
        "order=NLO",
        "fixed_order=OFF",
        "shower=PYTHIA8",
        "madspin=ON",
        "reweight=ON",
        "done",
    ]
    with pytest.raises(MadGraphCardError, match="order must be 'LO' or 'NLO'"):
        launch_switches("NNLO")
    with pytest.raises(MadGraphCardError, match="whitespace"):
        launch_commands("/my processes/MG_process")
