"""Benchmark values declared by LHE files (reweighting texts, param card) checked against the analysis setup."""

import json
import logging

import pytest

from columnminer import AnalysisSetup
from columnminer.errors import BenchmarkMismatchError, StoreMismatchError
from columnminer.io._lhe_header import parse_header_text
from columnminer.io.lhe import example_lhe_file, read_lhe_header
from columnminer.io.lhe_benchmarks import check_sample_benchmarks, declared_benchmark_cards, generation_card
from columnminer.parameters import LinearTransform, UnsavedTransform
from columnminer.simulators.golden import golden_setup, simulate_golden

LOGGER = "columnminer.io.lhe_benchmarks"


def golden_pair(bsm_a2: float, bsm_a3: float = 0.0) -> AnalysisSetup:
    """The golden channel's parameters with two benchmarks, ``sm`` and ``bsm``."""
    setup = AnalysisSetup()
    setup.add_parameter("anomalous_hvv", 2, name="a2", parameter_range=(-1.0, 1.0))
    setup.add_parameter("anomalous_hvv", 3, name="a3", parameter_range=(-1.0, 1.0))
    setup.add_benchmark({"a2": 0.0, "a3": 0.0}, name="sm")
    setup.add_benchmark({"a2": bsm_a2, "a3": bsm_a3}, name="bsm")
    return setup


def dim6_setup(**benchmarks: tuple[float, float]) -> AnalysisSetup:
    """Parameters c2 and c5 at LHA (dim6, 2) and (dim6, 5); benchmarks name -> (c2, c5)."""
    setup = AnalysisSetup()
    setup.add_parameter("dim6", 2, name="c2", parameter_range=(-1.0, 1.0))
    setup.add_parameter("dim6", 5, name="c5", parameter_range=(-1.0, 1.0))
    for name, (c2, c5) in benchmarks.items():
        setup.add_benchmark({"c2": c2, "c5": c5}, name=name)
    return setup


def header(weights: str = "", slha: str | None = None, path: str = "literal.lhe"):
    """A parsed header with the given ``<initrwgt>`` body and ``<slha>`` card."""
    text = "<LesHouchesEvents version='3.0'>\n<header>\n"
    if slha is not None:
        text += f"<slha>\n{slha}\n</slha>\n"
    if weights:
        text += f"<initrwgt>\n{weights}\n</initrwgt>\n"
    text += "</header>\n<init>\n2212 2212 6500 6500 0 0 0 0 3 1\n1.0 0.1 1.0 1\n</init>\n"
    return parse_header_text(text, path)


def reweighting(texts: dict[str, str], group: str = "name='mg_reweighting'") -> str:
    body = "".join(f"<weight id='{wid}'>{text}</weight>\n" for wid, text in texts.items())
    return f"<weightgroup {group}>\n{body}</weightgroup>"


CARD = """BLOCK MASS #
     25 1.250000e+02 # mh
BLOCK DIM6 #
      2 0.000000e+00 # c2
      5 1.000000e+00 # c5
DECAY 25 4.070000e-03 # wh
"""


@pytest.fixture(scope="module")
def golden_files(tmp_path_factory):
    """Signal (sampled at sm) and background of the golden channel for golden_pair(0.5)."""
    setup = golden_pair(0.5)
    info = simulate_golden(setup, 20, tmp_path_factory.mktemp("golden"), n_background=5, seed=1)
    return setup, info["files"]["signal"], info["files"]["background"]


def check(path, setup, **kwargs):
    return check_sample_benchmarks(path, read_lhe_header(path), setup, **kwargs)


# -- files written by the built-in simulators ------------------------------------------------------------


def test_a_file_made_for_the_setup_is_verified(golden_files, caplog):
    setup, signal, _ = golden_files
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        note = check(signal, setup, sampled_from_benchmark="sm")
    assert note == {"benchmark_check": "verified", "benchmarks": ["sm", "bsm"], "generation": "verified"}
    assert json.loads(json.dumps(note)) == note
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_canonical_golden_setup_at_another_sampling_benchmark_is_verified(tmp_path):
    setup = golden_setup(n_trials=5)
    info = simulate_golden(
        setup, 20, tmp_path, "morphing_basis_vector_2", n_background=0, scale_variations=(0.5, 1, 2)
    )
    note = check(info["files"]["signal"], setup, sampled_from_benchmark="morphing_basis_vector_2")
    assert note["benchmark_check"] == "verified" and note["generation"] == "verified"
    assert note["benchmarks"] == setup.benchmark_names


def test_a_benchmark_moved_under_the_same_name_raises(golden_files):
    _, signal, _ = golden_files
    moved = golden_pair(0.3)
    with pytest.raises(BenchmarkMismatchError) as info:
        check(signal, moved, sampled_from_benchmark="sm")
    message = str(info.value)
    for part in (signal, "'bsm'", "'a2'", "anomalous_hvv 2", "0.5", "0.3"):
        assert part in message
    assert "'sm'" not in message.split("\n", 1)[1]  # sm and a3 agree
    assert isinstance(info.value, StoreMismatchError) and info.value.path == signal
    (mismatch,) = info.value.mismatches
    assert mismatch["benchmark"] == "bsm" and mismatch["parameter"] == "a2"
    assert mismatch["file_value"] == pytest.approx(0.5) and mismatch["setup_value"] == pytest.approx(0.3)


def test_a_file_generated_at_another_point_than_sampled_from_raises(golden_files):
    setup, signal, _ = golden_files
    with pytest.raises(BenchmarkMismatchError, match=r"generation point.*'bsm'.*'a2'") as info:
        check(signal, setup, sampled_from_benchmark="bsm")
    assert signal in str(info.value) and "param card" in str(info.value)
    assert [m["source"] for m in info.value.mismatches] == ["generation card"]


def test_background_is_noted_not_checked(golden_files, caplog):
    _, _, background = golden_files
    with caplog.at_level(logging.INFO, logger=LOGGER):
        note = check(background, golden_pair(0.3), is_background=True)
    assert note["benchmark_check"] == "not applicable"
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.INFO]


# -- files that declare nothing -------------------------------------------------------------------------


def test_no_reweighting_text_and_no_card_warns_and_is_unverified(caplog):
    path = example_lhe_file()  # weights sm, bsm with free descriptions, no param card
    setup = dim6_setup(sm=(0.0, 0.0), bsm=(0.5, 0.0))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        note = check(path, setup, sampled_from_benchmark="sm")
    assert note["benchmark_check"] == "unverified" and "param card" in note["reason"]
    assert note["unchecked"] == ["sm", "bsm"]
    assert json.loads(json.dumps(note)) == note
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING and path in record.getMessage()


def test_no_header_is_unverified(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        note = check_sample_benchmarks("x.root", None, dim6_setup(sm=(0, 0)), sampled_from_benchmark="sm")
    assert note == {"benchmark_check": "unverified", "reason": "no LHE header"}
    assert caplog.records


def test_real_madgraph_file_with_systematics_weights_does_not_raise(lhe_file, caplog):
    path = lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")
    h = read_lhe_header(path)
    assert (
        declared_benchmark_cards(h) == {}
    )  # 145 systematics weights ("MUR=0.5 MUF=0.5 ..."), no reweighting
    card = generation_card(h)
    assert (
        card[("mass", 25)] == 125.0 and card[("decay", 6)] == 1.4915 and card[("sminputs", 2)] == 1.16639e-05
    )
    # parameters in blocks the file does not have: nothing to compare, no error
    setup = dim6_setup(sm=(0.0, 0.0), bsm=(0.5, 0.0))
    mapped = {"sm": "1", "bsm": "2"}  # even weights of benchmarks mapped to the systematics ids
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        note = check_sample_benchmarks(path, h, setup, sampled_from_benchmark="sm", weight_mapping=mapped)
    assert note["benchmark_check"] == "unverified" and note["unchecked"] == ["sm", "bsm"]
    assert caplog.records
    # a parameter the card does hold: the generation point is compared
    mh = AnalysisSetup()
    mh.add_parameter("MASS", 25, name="mh", parameter_range=(100.0, 150.0))
    mh.add_benchmark([125.0], name="nominal")
    mh.add_benchmark([120.0], name="light")
    assert check_sample_benchmarks(path, h, mh, sampled_from_benchmark="nominal")["generation"] == "verified"
    with pytest.raises(BenchmarkMismatchError, match=r"'light'.*'mh'.*MASS 25.*125.*120"):
        check_sample_benchmarks(path, h, mh, sampled_from_benchmark="light")


# -- parsing of MadGraph reweighting texts ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "set param_card dim6 2 0.5 # orig: 0.0\n",  # MadGraph's create_diff
        "\nset param_card dim6 2 5.000000e-01\n",  # the built-in simulators
        "set dim6 2 0.5",  # reweight-card syntax without param_card
        "  SET PARAM_CARD DIM6 2 5.0D-01   ",  # case, Fortran exponent, spaces
        "# benchmark bsm: c2 = 0.5\nchange helicity False\nset dim6 2 0.5 # comment",
        "launch --rwgt_name=bsm\n  set dim6 2 0.5\n",
        "launch --rwgt_name=other\n  set dim6 2 9.0\nlaunch --rwgt_name bsm\n  set dim6 2 0.5\n",
        "set c2 0.5",  # by parameter name, resolved through the param card's comments
        "change model sm-full\nBLOCK DIM6 # new card\n    2 0.5 # c2\n",  # the whole new card
    ],
)
def test_reweighting_text_variants(text):
    h = header(reweighting({"bsm": text}), slha=CARD)
    assert declared_benchmark_cards(h) == {"bsm": {("dim6", 2): 0.5}}


def test_several_lines_and_entries_that_are_no_parameter():
    text = (
        "set param_card dim6 2 0.5 # orig: 0.0\n"
        "set param_card dim6 5 -1.0 # orig: 1.0\n"
        "set param_card yukawa 3 3 1.0\n"  # a matrix entry
        "set param_card decay 25 auto\n"  # not a number
        "set width 23 2.5\n"  # MadGraph's alias of DECAY
        "set param_card mass 25 1.300000e+02 # orig: 125.0\n"
    )
    declared = declared_benchmark_cards(header(reweighting({"bsm": text})))
    assert declared == {"bsm": {("dim6", 2): 0.5, ("dim6", 5): -1.0, ("decay", 23): 2.5, ("mass", 25): 130.0}}


def test_free_descriptions_and_scale_weights_declare_nothing():
    weights = reweighting({"sm": "SM", "bsm": "a BSM point"}) + reweighting(
        {"1": "MUR=0.5 MUF=0.5", "2": ""}, "name='Central scale variation' combine='envelope'"
    )
    assert declared_benchmark_cards(header(weights, slha=CARD)) == {}


def test_cdata_and_escapes_in_a_small_file(tmp_path):
    path = tmp_path / "small.lhe"
    path.write_text(
        "<LesHouchesEvents version='3.0'>\n<header>\n<slha><![CDATA[\nBLOCK dim6\n 2 0.0\n 5 0.0\n]]></slha>\n"
        "<initrwgt><![CDATA[\n<weightgroup name='mg_reweighting'>\n<weight id='sm'></weight>\n"
        "<weight id='bsm'>set param_card dim6 2 0.5 # orig: 0.0 &amp; more\n</weight>\n</weightgroup>\n]]>"
        "</initrwgt>\n</header>\n<init>\n2212 2212 6500 6500 0 0 0 0 3 1\n1.0 0.1 1.0 1\n</init>\n"
        "<event>\n1 1 1.0 91.2 0.0078 0.118\n23 1 0 0 0 0 3.0 4.0 10.0 92.0 91.0 0 9\n</event>\n"
        "</LesHouchesEvents>\n"
    )
    h = read_lhe_header(path)
    assert generation_card(h) == {("dim6", 2): 0.0, ("dim6", 5): 0.0}
    assert declared_benchmark_cards(h) == {"sm": {}, "bsm": {("dim6", 2): 0.5}}
    note = check(path, dim6_setup(sm=(0.0, 0.0), bsm=(0.5, 0.0)), sampled_from_benchmark="sm")
    assert note["benchmark_check"] == "verified" and note["benchmarks"] == ["sm", "bsm"]


# -- semantics of the check ------------------------------------------------------------------------------


def test_an_entry_the_weight_does_not_set_keeps_the_generation_value():
    # the card has c5 = 1; weight bsm only changes c2 (MadGraph writes the differences only)
    h = header(reweighting({"bsm": "set param_card dim6 2 0.5 # orig: 0.0\n"}), slha=CARD)
    ok = dim6_setup(gen=(0.0, 1.0), bsm=(0.5, 1.0))
    note = check_sample_benchmarks("f.lhe", h, ok, sampled_from_benchmark="gen")
    assert note == {"benchmark_check": "verified", "benchmarks": ["bsm"], "generation": "verified"}
    wrong = dim6_setup(gen=(0.0, 1.0), bsm=(0.5, 0.0))
    with pytest.raises(
        BenchmarkMismatchError,
        match=r"'bsm'.*'c5'.*file's value is 1 \(.*generation card.*\), the setup's value is 0$",
    ):
        check_sample_benchmarks("f.lhe", h, wrong, sampled_from_benchmark="gen")


def test_an_empty_text_among_reweighting_weights_is_the_generation_point():
    h = header(reweighting({"gen": "", "bsm": "set param_card dim6 2 0.5\n"}), slha=CARD)
    note = check_sample_benchmarks("f.lhe", h, dim6_setup(gen=(0.0, 1.0), bsm=(0.5, 1.0)))
    assert note["benchmarks"] == ["gen", "bsm"] and note["generation"] == "not checked"
    with pytest.raises(BenchmarkMismatchError, match=r"'gen' \(weight 'gen'\), parameter 'c5'"):
        check_sample_benchmarks("f.lhe", h, dim6_setup(gen=(0.0, 0.0), bsm=(0.5, 1.0)))


def test_madgraph_2_group_type_and_rwgt_ids_through_weight_mapping():
    weights = reweighting(
        {
            "rwgt_1": "set param_card dim6 2 0.0 # orig: 0.0\n",
            "rwgt_2": "set param_card dim6 2 0.5 # orig: 0.0\n",
        },
        "type='mg_reweighting'",
    )
    h = header(weights, slha=CARD)
    setup = dim6_setup(sm=(0.0, 1.0), bsm=(0.5, 1.0))
    note = check_sample_benchmarks(
        "f.lhe", h, setup, sampled_from_benchmark="sm", weight_mapping={"sm": "rwgt_1", "bsm": "rwgt_2"}
    )
    assert note["benchmark_check"] == "verified" and note["benchmarks"] == ["sm", "bsm"]
    with pytest.raises(BenchmarkMismatchError, match="weight 'rwgt_1'") as info:
        check_sample_benchmarks("f.lhe", h, setup, weight_mapping={"sm": "rwgt_2", "bsm": "rwgt_1"})
    assert len(info.value.mismatches) == 2
    # unmapped benchmark names are not declared by the file: nothing to compare for them
    assert check_sample_benchmarks("f.lhe", h, setup)["benchmark_check"] == "unverified"


def test_entries_no_parameter_uses_are_ignored():
    text = "set param_card mass 25 130.0 # orig: 125.0\nset param_card sminputs 1 1.0e+02\nset dim6 2 0.5\n"
    h = header(reweighting({"bsm": text}), slha=CARD)
    note = check_sample_benchmarks(
        "f.lhe", h, dim6_setup(gen=(0.0, 1.0), bsm=(0.5, 1.0)), sampled_from_benchmark="gen"
    )
    assert note == {"benchmark_check": "verified", "benchmarks": ["bsm"], "generation": "verified"}


def test_param_card_transforms_are_applied_never_inverted():
    h = header(reweighting({"a": "set dim6 2 1.0\nset dim6 5 0.25", "b": "set dim6 2 -1.0\nset dim6 5 0.25"}))
    setup = AnalysisSetup()
    setup.add_parameter("dim6", 2, name="x", param_card_transform=LinearTransform(scale=2.0))
    setup.add_parameter("dim6", 5, name="y", param_card_transform=lambda t: t * t)  # not invertible
    setup.add_benchmark({"x": 0.5, "y": 0.5}, name="a")
    setup.add_benchmark({"x": -0.5, "y": -0.5}, name="b")
    assert check_sample_benchmarks("f.lhe", h, setup)["benchmarks"] == ["a", "b"]
    moved = AnalysisSetup()
    moved.add_parameter("dim6", 2, name="x", param_card_transform=LinearTransform(scale=2.0))
    moved.add_parameter("dim6", 5, name="y", param_card_transform=lambda t: t * t)
    moved.add_benchmark({"x": 0.4, "y": 0.5}, name="a")
    with pytest.raises(
        BenchmarkMismatchError,
        match=r"file's value is 1 .*setup's value is 0.8 \(param-card value of x = 0.4\)",
    ):
        check_sample_benchmarks("f.lhe", h, moved)


def test_a_transform_that_was_not_saved_leaves_the_parameter_unchecked(caplog):
    h = header(reweighting({"a": "set dim6 2 1.0\nset dim6 5 0.0"}))
    setup = AnalysisSetup()
    setup.add_parameter("dim6", 2, name="x", param_card_transform=UnsavedTransform("x", "a lambda"))
    setup.add_parameter("dim6", 5, name="y")
    setup.add_benchmark({"x": 0.5, "y": 0.0}, name="a")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        note = check_sample_benchmarks("f.lhe", h, setup)
    assert note["benchmark_check"] == "partial" and note["partial"] == {"a": ["x"]}
    assert "transform" in note["reason"] and caplog.records


def test_names_the_card_does_not_resolve_leave_parameters_unchecked():
    # "set cG 0.1" may set any entry: the unset parameter cannot be taken from the generation card
    h = header(reweighting({"bsm": "set dim6 2 0.5\nset cG 0.1"}), slha=CARD)
    note = check_sample_benchmarks("f.lhe", h, dim6_setup(bsm=(0.5, 0.0)))
    assert note["benchmark_check"] == "partial" and note["partial"] == {"bsm": ["c5"]}
    assert "cG" in note["reason"]


def test_tolerances():
    h = header(reweighting({"a": "set dim6 2 3.333333e-01\nset dim6 5 0.0"}))
    assert check_sample_benchmarks("f.lhe", h, dim6_setup(a=(1 / 3, 1e-13)))["benchmark_check"] == "verified"
    with pytest.raises(BenchmarkMismatchError):
        check_sample_benchmarks("f.lhe", h, dim6_setup(a=(0.3334, 0.0)))
    with pytest.raises(BenchmarkMismatchError, match="'c5'"):
        check_sample_benchmarks("f.lhe", h, dim6_setup(a=(1 / 3, 1e-6)))
    assert check_sample_benchmarks("f.lhe", h, dim6_setup(a=(0.3334, 0.0)), rtol=1e-3)["benchmarks"] == ["a"]


def test_benchmarks_argument_restricts_the_check():
    h = header(reweighting({"a": "set dim6 2 0.5\nset dim6 5 0.0", "b": "set dim6 2 0.9\nset dim6 5 0.0"}))
    setup = dim6_setup(a=(0.5, 0.0), b=(0.1, 0.0))
    assert check_sample_benchmarks("f.lhe", h, setup, benchmarks=["a"])["benchmarks"] == ["a"]
    with pytest.raises(BenchmarkMismatchError):
        check_sample_benchmarks("f.lhe", h, setup)
