"""Systematics against known answers computed without columnminer's own coefficients: hand-written numbers and
MadMiner 0.9.6's NuisanceMorpher (tests/data/systematics/, made by make_madminer_numbers.py in MadMiner's venv)."""

import json
import math

import numpy as np
import pytest
from conftest_data import data_file

from columnminer.io._lhe_header import parse_header_text
from columnminer.io.lhe_systematics import (
    pdf_sets,
    pdf_systematic,
    reference_weight_ids,
    variation_weight_ids,
)
from columnminer.systematics import (
    Systematic,
    log_variations,
    nuisance_factor_gradients,
    nuisance_factors,
    nuisance_model,
    relative_to_reference,
)


def sigma_ratio(model, nuisance_weights, nominal, nu):
    """sigma(nu) / sigma(0) = sum_z w0 f(z|nu) / sum_z w0."""
    nominal = np.asarray(nominal, float)
    factors = nuisance_factors(model, log_variations(np.asarray(nuisance_weights, float), nominal), [nu])
    return float(np.sum(nominal * factors[:, 0]) / np.sum(nominal))


# -- 1. negative weights keep their variation -------------------------------------------------------------
def test_norm_systematic_on_negative_weights_scales_the_cross_section_by_its_factor():
    # weights (2, -1), norm 1.1: sigma(nu=1) / sigma(0) = (2.2 - 1.1) / (2 - 1) = 1.10 (L = 0 for the
    # negative event gave (2.2 - 1) / 1 = 1.20)
    model = nuisance_model([Systematic("lumi", "norm", norm_variation=1.1)])
    nominal = [2.0, -1.0]
    varied = [[2.2], [-1.1]]
    assert sigma_ratio(model, varied, nominal, [1.0]) == pytest.approx(1.10, rel=1e-12)
    assert sigma_ratio(model, varied, nominal, [-1.0]) == pytest.approx(1 / 1.1, rel=1e-12)


def test_scale_and_pdf_on_negative_weights_against_hand_computed_factors():
    model = nuisance_model(
        [Systematic("mu", "scale"), Systematic("pdf", "pdf", pdf_members=1, pdf_kind="symmhessian")]
    )
    nominal = np.array([3.0, -1.0])
    # event 0: up 1.2, down 0.9; event 1 (negative): up 1.5, down 0.8; PDF member: 1.1 and 0.95
    varied = nominal[:, None] * np.array([[1.2, 0.9, 1.1], [1.5, 0.8, 0.95]])
    # hand: a = ln(up/down) / 2, b = ln(up down) / 2; factor(nu_mu=1) = up, factor(-1) = down
    assert sigma_ratio(model, varied, nominal, [1.0, 0.0]) == pytest.approx((3 * 1.2 - 1.5) / 2, rel=1e-12)
    assert sigma_ratio(model, varied, nominal, [-1.0, 0.0]) == pytest.approx((3 * 0.9 - 0.8) / 2, rel=1e-12)
    assert sigma_ratio(model, varied, nominal, [0.0, 1.0]) == pytest.approx((3 * 1.1 - 0.95) / 2, rel=1e-12)
    # nu_mu = 0.5: exp(a/2 + b/4) = up^(3/8) down^(-1/8)
    half = (3 * 1.2**0.375 * 0.9**-0.125 - 1.5**0.375 * 0.8**-0.125) / 2
    assert sigma_ratio(model, varied, nominal, [0.5, 0.0]) == pytest.approx(half, rel=1e-12)
    # d/dnu_mu log f at nu = 0 is a: ln(1.5 / 0.8) / 2 for the negative event
    gradients = nuisance_factor_gradients(model, log_variations(varied, nominal), [[0.0, 0.0]])
    assert gradients[1, 0, 0] == pytest.approx(0.5 * math.log(1.5 / 0.8), rel=1e-12)


def test_sign_flips_and_zero_weights_carry_no_variation():
    L = log_variations(np.array([[-1.0, 0.0, 2.0]]), np.array([1.0]))
    assert L.tolist() == [[0.0, 0.0, math.log(2.0)]]
    assert log_variations(np.array([[1.0]]), np.array([0.0])).tolist() == [[0.0]]


# -- independent known answers: MadMiner 0.9.6 NuisanceMorpher ---------------------------------------------
@pytest.fixture(scope="module")
def madminer_numbers():
    return json.loads(data_file("systematics", "madminer_nuisance_morpher.json").read_text())


def test_coefficients_and_factors_agree_with_madminer_nuisance_morpher(madminer_numbers):
    ref = madminer_numbers
    assert ref["madminer_version"] == "0.9.6"
    model = nuisance_model(
        [
            Systematic("lumi", "norm", norm_variation=1.1),
            Systematic("mu", "scale"),
            Systematic("pdf", "pdf", pdf_members=2, pdf_kind="hessian"),
        ]
    )
    assert list(model.nuisance_names) == ref["nuisance_names"]
    assert list(model.column_names) == ref["column_names"]
    L = log_variations(np.array(ref["nuisance_weights"]), np.array(ref["nominal"]))
    a, b = model.coefficients(L)
    np.testing.assert_allclose(a, ref["a"], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b, ref["b"], rtol=1e-13, atol=1e-15)
    factors = nuisance_factors(model, L, ref["nus"])
    np.testing.assert_allclose(factors, ref["factors"], rtol=1e-13)
    nominal = np.array(ref["nominal"])
    ratios = (nominal @ factors) / nominal.sum()
    np.testing.assert_allclose(ratios, ref["sigma_ratios"], rtol=1e-13)
    assert ref["sigma_ratios"][1] == pytest.approx(1.1, rel=1e-12)  # norm on a sample with negative weights


def test_written_out_coefficients_of_the_madminer_sample(madminer_numbers):
    """Event 1 (w0 = -1) by hand: a_lumi = ln 1.1, a_mu = ln(0.9/1.1)/2, b_mu = ln(0.9*1.1)/2,
    a_pdf = ln(0.98/1.01)/2, b_pdf = ln(0.98*1.01)/2."""
    row_a, row_b = madminer_numbers["a"][1], madminer_numbers["b"][1]
    hand_a = [math.log(1.1), 0.5 * math.log(0.9 / 1.1), 0.5 * math.log(0.98 / 1.01)]
    hand_b = [0.0, 0.5 * math.log(0.9 * 1.1), 0.5 * math.log(0.98 * 1.01)]
    np.testing.assert_allclose(row_a, hand_a, rtol=1e-13)
    np.testing.assert_allclose(row_b, hand_b, rtol=1e-13, atol=1e-16)


# -- 2. PDF members against the error set's own central member -----------------------------------------------
def test_pdf_set_other_than_the_generation_pdf_is_measured_against_its_central_member():
    """Generation PDF nn23lo1 (w0); error set CT10 with central w_c = 1.2 w0 and members at 1.05 / 0.97 w_c
    (a Hessian pair) and 1.05 / 0.95 w_c (symmetric Hessian): a, b of L_k - L_0, no ln(1.2) offset."""
    nominal = np.array([1.0, -2.0])
    central = 1.2 * nominal
    hessian = Systematic("ct10", "pdf", pdf_members=2, pdf_kind="hessian")
    symm = Systematic("symm", "pdf", pdf_members=2, pdf_kind="symmhessian")
    model = nuisance_model([hessian, symm])
    members = central[:, None] * np.array([[1.05, 0.97, 1.05, 0.95], [1.05, 0.97, 0.95, 1.05]])
    stored = relative_to_reference(members, np.repeat(central[:, None], 4, axis=1), nominal)
    a, b = model.coefficients(log_variations(stored, nominal))
    hand_a = [
        [0.5 * math.log(1.05 / 0.97), math.log(1.05), math.log(0.95)],
        [0.5 * math.log(1.05 / 0.97), math.log(0.95), math.log(1.05)],
    ]
    hand_b = [[0.5 * math.log(1.05 * 0.97), 0.0, 0.0]] * 2
    np.testing.assert_allclose(a, hand_a, rtol=1e-13)
    np.testing.assert_allclose(b, hand_b, rtol=1e-13, atol=1e-16)
    # against w0 instead (before): the offset ln 1.2 entered b of the pair and a of every symmetric member
    a_old, b_old = model.coefficients(log_variations(members, nominal))
    assert b_old[0, 0] - hand_b[0][0] == pytest.approx(math.log(1.2), rel=1e-12)
    assert a_old[0, 1] - hand_a[0][1] == pytest.approx(math.log(1.2), rel=1e-12)


_HEADER = """<LesHouchesEvents version="3.0">
<header>
<initrwgt>
<weightgroup name="CT10" combine="hessian+as">
<weight id="10" MUR="1.0" MUF="1.0" PDF="11000"> </weight>
<weight id="11" MUR="1.0" MUF="1.0" PDF="11001"> </weight>
<weight id="12" MUR="1.0" MUF="1.0" PDF="11002"> </weight>
<weight id="13" MUR="1.0" MUF="1.0" PDF="11003"> </weight>
<weight id="14" MUR="1.0" MUF="1.0" PDF="11004"> </weight>
<weight id="15" MUR="1.0" MUF="1.0" PDF="11005"> </weight>
<weight id="16" MUR="1.0" MUF="1.0" PDF="11006"> </weight>
</weightgroup>
</initrwgt>
</header>
<init>
2212 2212 6500 6500 0 0 247000 247000 -4 1
1.0 0.1 1.0 1
</init>
"""


def test_error_set_other_than_the_generation_pdf_names_its_central_member_and_drops_alpha_s_members():
    header = parse_header_text(_HEADER, "ct10.lhe")  # generated with 247000 (nn23lo1), varied with CT10
    (ct10,) = pdf_sets(header)
    assert (ct10.name, ct10.kind, ct10.central) == ("CT10", "hessian", "10")
    assert ct10.members == ("11", "12", "13", "14") and ct10.alphas_members == ("15", "16")
    kwargs = pdf_systematic(header, pdf_variation="CT10")
    assert kwargs["pdf_members"] == 4 and kwargs["pdf_kind"] == "hessian"  # the two alpha_s members left out
    systematic = Systematic("pdf", "pdf", pdf_variation="CT10", pdf_members=4, pdf_kind="hessian")
    assert list(variation_weight_ids(header, systematic).values()) == ["11", "12", "13", "14"]
    assert set(reference_weight_ids(header, systematic).values()) == {"10"}
