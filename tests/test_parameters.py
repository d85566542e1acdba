"""Tests of columnminer.parameters."""

import numpy as np
import pytest

from columnminer import Benchmark, LinearTransform, Parameter, ParameterSpace, ParameterSpaceError
from columnminer.errors import MissingTransformError
from columnminer.parameters import UnsavedTransform


def card_square(theta: float) -> float:
    """A module-level transform: importable, so it survives saving."""
    return theta**2


def test_add_parameters_and_defaults():
    space = ParameterSpace()
    first = space.add_parameter("dim6", 2)
    space.add_parameter("dim6", 5, name="cpwl2", morphing_max_power=4, parameter_range=(-1, 3))
    assert first.name == "parameter_0"
    assert space.parameter_names == ["parameter_0", "cpwl2"]
    assert space.max_powers.tolist() == [2, 4]
    np.testing.assert_array_equal(space.parameter_ranges, [[0.0, 1.0], [-1.0, 3.0]])


def test_duplicate_parameter_name_and_lha_entry(space):
    with pytest.raises(ValueError, match="duplicate parameter name 'cwl2'"):
        space.add_parameter("dim6", 9, name="cwl2")
    with pytest.raises(ValueError, match=r"LHA entry \(dim6, 2\) already taken by parameter 'cwl2'"):
        space.add_parameter("dim6", 2, name="other")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"morphing_max_power": -1}, "morphing_max_power"),
        ({"parameter_range": (1.0, 1.0)}, "parameter_range"),
        ({"parameter_range": (0.0, float("inf"))}, "parameter_range"),
        ({"name": "a/b"}, "without '/'"),
    ],
)
def test_invalid_parameter(kwargs, message):
    with pytest.raises(ParameterSpaceError, match=message):
        ParameterSpace().add_parameter("blk", 1, **kwargs)


def test_benchmarks_from_dict_and_sequence(space):
    space.add_benchmark({"cpwl2": 1.5, "cwl2": -2.0}, name="a")
    space.add_benchmark(np.array([3.0, 4.0]))
    space.add_benchmark([5.0, 6.0])
    assert space.benchmark_names == ["a", "benchmark_1", "benchmark_2"]
    np.testing.assert_array_equal(space.benchmark_array(), [[-2.0, 1.5], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(space.benchmark_array(["benchmark_2", "a"]), [[5.0, 6.0], [-2.0, 1.5]])
    assert space.benchmark_index("benchmark_1") == 1


def test_automatic_benchmark_names_skip_taken_names(space):
    space.add_benchmark([0.0, 0.0], name="benchmark_1")
    assert space.add_benchmark([1.0, 0.0]).name == "benchmark_2"
    assert space.add_benchmark([2.0, 0.0]).name == "benchmark_3"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cwl2": 1.0, "cpwl2": 2.0, "cxx": 3.0}, r"unknown parameter\(s\) \['cxx'\]"),
        ({"cwl2": 1.0}, r"no value for parameter\(s\) \['cpwl2'\]"),
        ([1.0, 2.0, 3.0], r"expected 2 values .* got shape \(3,\)"),
        ([[1.0, 2.0]], r"got shape \(1, 2\)"),
        ([1.0, float("nan")], r"non-finite value for parameter\(s\) \['cpwl2'\]"),
    ],
)
def test_bad_benchmarks_name_the_culprit(space, values, message):
    with pytest.raises(ValueError, match=message) as info:
        space.add_benchmark(values, name="bad_one")
    assert "'bad_one'" in str(info.value)
    assert space.n_benchmarks == 0


def test_duplicate_benchmark_and_unknown_lookup(space):
    space.add_benchmark([0.0, 0.0], name="sm")
    with pytest.raises(ValueError, match="duplicate benchmark name 'sm'"):
        space.add_benchmark([1.0, 0.0], name="sm")
    with pytest.raises(ValueError, match=r"unknown benchmark 'nope'; known benchmarks: \['sm'\]"):
        space.benchmark_array(["nope"])


def test_same_point_twice_warns(space, caplog):
    space.add_benchmark([0.0, 0.0], name="sm")
    space.add_benchmark([0.0, 0.0], name="sm_again")
    assert "same point as benchmark 'sm'" in caplog.text


def test_parameters_must_come_first(space):
    space.add_benchmark([0.0, 0.0], name="sm")
    with pytest.raises(ParameterSpaceError, match=r"cannot add parameter 'x': benchmarks \['sm'\]"):
        space.add_parameter("dim6", 7, name="x")
    with pytest.raises(ParameterSpaceError, match="no parameters are defined"):
        ParameterSpace().add_benchmark([1.0])


def test_set_parameters_and_benchmarks(space):
    space.add_benchmark([0.0, 0.0])
    space.set_parameters([("blk", 1), Parameter("named", "blk", 2)])
    assert space.parameter_names == ["parameter_0", "named"]
    assert space.n_benchmarks == 0
    space.set_benchmarks({"sm": [0, 0], "bsm": {"parameter_0": 1, "named": 2}})
    assert space.benchmark_names == ["sm", "bsm"]
    space.set_benchmarks([[1, 1], [2, 2]])
    assert space.benchmark_names == ["benchmark_0", "benchmark_1"]
    with pytest.raises(ParameterSpaceError, match="cannot make a parameter from 'x'"):
        space.set_parameters(["x"])


def test_finite_differences(space):
    space.add_benchmark([1.0, 2.0], name="sm")
    space.add_benchmark([3.0, 4.0], name="bsm")
    mapping = space.finite_differences(epsilon=0.05)
    assert mapping == {
        "sm": {"cwl2": "sm_plus_cwl2", "cpwl2": "sm_plus_cpwl2"},
        "bsm": {"cwl2": "bsm_plus_cwl2", "cpwl2": "bsm_plus_cpwl2"},
    }
    array = space.benchmark_array()
    np.testing.assert_allclose(array[space.benchmark_index("sm_plus_cwl2")], [1.05, 2.0])
    np.testing.assert_allclose(array[space.benchmark_index("bsm_plus_cpwl2")], [3.0, 4.05])
    assert space.n_benchmarks == 6
    with pytest.raises(ParameterSpaceError, match="already called"):
        space.finite_differences()
    with pytest.raises(ParameterSpaceError, match="epsilon"):
        ParameterSpace().finite_differences(0.0)


def test_card_values_apply_transforms():
    space = ParameterSpace()
    space.add_parameter("dim6", 2, name="a", param_card_transform=LinearTransform(16.52, 1.0))
    space.add_parameter("dim6", 5, name="b", param_card_transform=card_square)
    space.add_parameter("sminputs", 1, name="c")
    space.add_benchmark([2.0, -3.0, 0.5], name="p")
    assert space.card_values("p") == {("dim6", 2): 34.04, ("dim6", 5): 9.0, ("sminputs", 1): 0.5}


def test_space_roundtrip_with_transforms():
    space = ParameterSpace()
    space.add_parameter("dim6", 2, name="a", param_card_transform=LinearTransform(2.0, 0.5))
    space.add_parameter("dim6", 5, name="b", param_card_transform=card_square)
    with pytest.warns(UserWarning, match="parameter 'c' is not importable"):
        space.add_parameter("dim6", 6, name="c", param_card_transform=lambda t: 3 * t)
        data = space.to_dict()
    restored = ParameterSpace.from_dict(data)
    assert restored.parameters["a"].card_value(1.0) == 2.5
    assert restored.parameters["b"].param_card_transform is card_square
    assert isinstance(restored.parameters["c"].param_card_transform, UnsavedTransform)
    with pytest.raises(MissingTransformError, match="transforms=\\{'c': fn\\}"):
        restored.parameters["c"].card_value(1.0)
    again = ParameterSpace.from_dict(data, transforms={"c": lambda t: 3 * t})
    assert again.parameters["c"].card_value(2.0) == 6.0
    with pytest.raises(ParameterSpaceError, match=r"unknown parameter\(s\) \['zz'\]"):
        ParameterSpace.from_dict(data, transforms={"zz": abs})


def test_benchmark_equality_and_array():
    a = Benchmark("x", {"p": 1, "q": 2})
    assert a == Benchmark("x", {"q": 2.0, "p": 1.0})
    assert a != Benchmark("x", {"p": 1, "q": 3})
    assert a.as_array(["q", "p"]).tolist() == [2.0, 1.0]
    with pytest.raises(TypeError):
        hash(a)
