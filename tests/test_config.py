"""Bad configs are refused before anything runs, with the key, the value and what is allowed."""

import pytest

from mojo.config.study import ConfigError, load_study
from tests.conftest import ball_config


def error_of(**changes) -> str:
    with pytest.raises(ConfigError) as caught:
        load_study(ball_config(**changes))
    return str(caught.value)


def test_valid_config_loads():
    study = load_study(ball_config())
    assert study.n_trial == 12
    assert study.parameters["height"].bounds() == (0.5, 1.5)


def test_unknown_key_is_named():
    message = error_of(n_trials=5)
    assert "n_trials" in message and "unknown key" in message


def test_negative_n_trial():
    message = error_of(n_trial=-3)
    assert "n_trial = -3" in message and "greater than or equal to 0" in message


def test_generator_module_missing():
    message = error_of(generator="no_such_pkg.models:build")
    assert "generator = 'no_such_pkg.models:build'" in message
    assert "module 'no_such_pkg.models' cannot be found" in message


def test_generator_function_missing_lists_what_exists():
    message = error_of(generator="tests.trial_models:bal")
    assert "defines no 'bal'" in message and "ball" in message


def test_generator_path_form():
    assert "not of the form 'package.module:function'" in error_of(generator="tests.trial_models.ball")


def test_low_above_high():
    params = ball_config()["parameters"] | {"height": {"dist": "uniform", "low": 2.0, "high": 1.0}}
    message = error_of(parameters=params)
    assert "parameters.height" in message and "low = 2.0 is greater than high = 1.0" in message


def test_unknown_distribution_lists_allowed():
    params = {"height": {"dist": "gamma", "k": 2}}
    message = error_of(parameters=params)
    assert "parameters.height" in message and "'gamma'" in message and "uniform" in message


def test_override_of_unknown_parameter():
    message = error_of(overrides={"heigth": 1.0})
    assert "heigth" in message and "height" in message


def test_nominal_outside_bounds():
    params = {"height": {"dist": "uniform", "low": 0.0, "high": 1.0, "nominal": 3.0}}
    assert "nominal = 3.0 lies outside [0.0, 1.0]" in error_of(parameters=params)


def test_choice_weights_must_match_values():
    params = {"shape": {"dist": "choice", "values": ["a", "b"], "weights": [1.0]}}
    assert "weights has 1 entries but values has 2" in error_of(parameters=params)


def test_all_problems_reported_at_once():
    message = error_of(n_trial=-1, seed=-5)
    assert "n_trial" in message and "seed" in message
