"""The golden generator's header agrees with itself: the generation param card and the reweighting texts give
every parameter in its own LHA block at its param-card value (transforms applied), so the benchmark check of
columnminer.io.lhe_benchmarks verifies files made for setups with transforms and other blocks."""

from columnminer import AnalysisSetup
from columnminer.io.lhe import read_lhe_header
from columnminer.io.lhe_benchmarks import check_sample_benchmarks, generation_card
from columnminer.parameters import LinearTransform
from columnminer.simulators.golden import simulate_golden


def test_transformed_parameters_in_other_blocks_are_verified(tmp_path):
    setup = AnalysisSetup()
    setup.add_parameter("anomalous_hvv", 2, name="a2", param_card_transform=LinearTransform(scale=2.0))
    setup.add_parameter("dim6", 3, name="a3", parameter_range=(-1.0, 1.0))
    setup.add_benchmark([0.0, 0.0], name="sm")
    setup.add_benchmark([0.3, 0.5], name="bsm")
    info = simulate_golden(setup, 40, tmp_path, sampling_benchmark="bsm", n_background=0)
    header = read_lhe_header(info["files"]["signal"])
    card = generation_card(header)
    assert card[("anomalous_hvv", 2)] == 0.6 and card[("dim6", 3)] == 0.5
    note = check_sample_benchmarks(info["files"]["signal"], header, setup, sampled_from_benchmark="bsm")
    assert note["benchmark_check"] == "verified" and note["generation"] == "verified"
