"""Draws depend only on (seed, trial, parameter name); trial 0 is nominal; overrides win."""

import math

from mojo.config.study import load_study
from mojo.trials.sampling import sample_parameters
from tests.conftest import ball_config

ALL_KINDS = {
    "u": {"dist": "uniform", "low": -1.0, "high": 2.0},
    "i": {"dist": "integer", "low": 3, "high": 5},
    "n": {"dist": "normal", "mean": 10.0, "std": 2.0},
    "t": {"dist": "truncnormal", "mean": 0.0, "std": 1.0, "low": 2.5, "high": 3.0},
    "l": {"dist": "lognormal", "mu": 1.0, "sigma": 0.5},
    "c": {"dist": "choice", "values": ["a", "b", [1, 2]], "weights": [0.0, 1.0, 1.0]},
    "k": {"dist": "constant", "value": 42},
}


def study(**changes):
    return load_study(ball_config(**changes))


def values(s, trial):
    return {name: nv.value for name, nv in sample_parameters(s, trial).items()}


def test_same_seed_same_values_other_seed_other_values():
    assert values(study(), 5) == values(study(), 5)
    assert values(study(), 5) != values(study(seed=8), 5)
    assert values(study(), 5) != values(study(), 6)


def test_adding_a_parameter_leaves_the_others_unchanged():
    base = study()
    grown = study(
        parameters=ball_config()["parameters"] | {"friction": {"dist": "uniform", "low": 0, "high": 1}}
    )
    for trial in range(1, 6):
        before, after = values(base, trial), values(grown, trial)
        assert {k: after[k] for k in before} == before


def test_trial_zero_is_nominal():
    s = study(parameters=ALL_KINDS)
    nominal = sample_parameters(s, 0)
    assert {k: v.source for k, v in nominal.items()} == dict.fromkeys(ALL_KINDS, "nominal")
    assert nominal["u"].value == 0.5 and nominal["i"].value == 4 and nominal["n"].value == 10.0
    assert nominal["t"].value == 2.5  # mean clipped into the bounds
    assert math.isclose(nominal["l"].value, math.e)
    assert nominal["c"].value == "a" and nominal["k"].value == 42


def test_draws_respect_each_distribution():
    s = study(parameters=ALL_KINDS)
    draws = [values(s, trial) for trial in range(1, 400)]
    assert all(-1.0 <= d["u"] <= 2.0 for d in draws)
    assert {d["i"] for d in draws} == {3, 4, 5}
    assert all(2.5 <= d["t"] <= 3.0 for d in draws)
    assert all(d["l"] > 0 for d in draws)
    assert all(d["c"] != "a" for d in draws)  # weight zero is never drawn
    assert [1, 2] in [d["c"] for d in draws]
    mean_n = sum(d["n"] for d in draws) / len(draws)
    assert abs(mean_n - 10.0) < 0.5


def test_overrides_apply_to_every_trial_including_nominal():
    s = study(overrides={"height": 3.25})
    for trial in (0, 1, 9):
        named = sample_parameters(s, trial)["height"]
        assert (named.value, named.source, named.unit) == (3.25, "override", "m")


def test_overrides_given_as_text_on_the_command_line_become_values():
    s = study(
        parameters=ALL_KINDS,
        overrides={"u": "1.5", "i": "4", "c": "[1, 2]", "k": "text", "n": 3},
    )
    values = {name: nv.value for name, nv in sample_parameters(s, 2).items()}
    assert (values["u"], values["i"], values["c"], values["k"], values["n"]) == (1.5, 4, [1, 2], "text", 3.0)
    assert type(values["i"]) is int and type(values["n"]) is float


def test_an_override_that_is_not_a_value_of_its_parameter_is_refused():
    import pytest

    from mojo.config.study import ConfigError

    with pytest.raises(ConfigError, match=r"overrides.i: override '4.5' is not a whole number"):
        study(parameters=ALL_KINDS, overrides={"i": "4.5"})
    with pytest.raises(ConfigError, match=r"overrides.u: override 'abc' is not a number"):
        study(parameters=ALL_KINDS, overrides={"u": "abc"})
