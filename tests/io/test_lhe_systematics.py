"""PDF sets and the weight ids of scale / PDF nuisance columns, read from real LHE headers."""

import pytest
from conftest_data import data_file

from columnminer import AnalysisSetup
from columnminer.errors import MissingVariationError, MissingWeightError
from columnminer.io.lhe import (
    pdf_sets,
    pdf_systematic,
    read_lhe_header,
    scale_weights,
    variation_weight_ids,
)
from columnminer.systematics import Systematic

MG358 = ("lhe", "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")
WBJ = ("lhe", "testfile-madgraph-2.0.0-wbj.lhe")
POWHEG = ("lhe", "testfile-powheg-box-v2-W.lhe")


@pytest.fixture(scope="module")
def header():
    return read_lhe_header(data_file(*MG358))


def attributes(header, wid):
    weight = next(w for w in header.weights if w.id == wid)
    return {k.upper(): v for k, v in weight.attributes.items()}


def test_pdf_systematic_of_madgraph_358(header):
    kwargs = pdf_systematic(header)
    assert kwargs == {
        "systematic_name": "pdf",
        "pdf_variation": "NNPDF23_lo_as_0130_qed",
        "pdf_members": 100,
        "pdf_kind": "replicas",
        "n_components": None,
    }
    assert pdf_systematic(header.path, name="nnpdf", n_components=8)["n_components"] == 8
    (pdf_set,) = pdf_sets(header)
    assert pdf_set.lhapdf_id == 247000 and pdf_set.central == "45"
    assert [attributes(header, wid)["PDF"] for wid in pdf_set.members] == [
        str(247001 + k) for k in range(100)
    ]
    setup = AnalysisSetup()
    setup.add_parameter("x", 1)
    systematic = setup.add_systematics("pdf", **kwargs)
    ids = variation_weight_ids(header, systematic)
    assert list(ids) == [f"pdf_member_{m}" for m in range(1, 101)]
    assert list(ids.values()) == [str(46 + k) for k in range(100)]  # central member 45 skipped
    # the LHAPDF id selects the set too
    by_id = Systematic("p", "pdf", pdf_variation="247000", pdf_members=100)
    assert variation_weight_ids(header, by_id)["p_member_1"] == "46"


@pytest.mark.parametrize(
    ("scale", "expected"),
    [("mu", {"up": (2, 2), "down": (0.5, 0.5)}), ("mur", {"up": (2, 1), "down": (0.5, 1)}),
     ("muf", {"up": (1, 2), "down": (1, 0.5)})],
)  # fmt: skip
def test_scale_ids_are_static_and_at_the_right_factors(header, scale, expected):
    ids = variation_weight_ids(header, Systematic("mu", "scale", scale=scale))
    assert list(ids) == ["mu_up", "mu_down"]
    for direction, (mur, muf) in expected.items():
        attrs = attributes(header, ids[f"mu_{direction}"])
        assert (float(attrs["MUR"]), float(attrs["MUF"])) == (mur, muf)
        assert "DYN_SCALE" not in attrs  # the static scale, not a dynamic-scale choice
    assert len(scale_weights(header)) == 8  # 44 scale weights, 8 of them static


def test_one_sided_and_text_described_scale_weights(header):
    up_only = Systematic("mu", "scale", scale_variations=(1.0, 2.0))
    assert variation_weight_ids(header, up_only) == {"mu_up": "40"}
    # MadGraph 2.0.0 describes the factors in the weight text (muR=0.20000E+01 muF=...)
    wbj = read_lhe_header(data_file(*WBJ))
    assert variation_weight_ids(wbj, Systematic("mu", "scale")) == {"mu_up": "1005", "mu_down": "1009"}
    assert variation_weight_ids(wbj, Systematic("lumi", "norm")) == {"lumi": None}


def test_missing_variations_are_named(header):
    with pytest.raises(MissingVariationError) as info:
        variation_weight_ids(header, Systematic("mu", "scale", scale_variations=(0.25, 1.0, 4.0)))
    message = str(info.value)
    assert message.startswith(f"no weight with MUR=4 MUF=4 for systematic 'mu' in {header.path}")
    assert "scale weights present: MUR=0.5 MUF=0.5 [1]" in message and "MUR=2 MUF=2 [40]" in message
    assert isinstance(info.value, MissingWeightError) and info.value.path == header.path
    with pytest.raises(MissingVariationError, match=r"no weights of PDF set 'CT10'.*NNPDF23_lo_as_0130_qed"):
        variation_weight_ids(header, Systematic("ct", "pdf", pdf_variation="CT10", pdf_members=52))
    with pytest.raises(MissingVariationError, match="has 100 error members but systematic 'p' expects 30"):
        variation_weight_ids(header, Systematic("p", "pdf", pdf_members=30))
    powheg = data_file(*POWHEG)
    with pytest.raises(MissingVariationError, match=r"MUR=2 MUF=2 .*scale weights present: none"):
        variation_weight_ids(powheg, Systematic("mu", "scale"))
    with pytest.raises(MissingVariationError, match=f"{data_file(*WBJ)}: no PDF variation weights"):
        pdf_systematic(data_file(*WBJ))
