"""Bad configs are refused before anything runs, with the key, the value and what is allowed."""

import pytest

from mojo.config.study import ConfigError, load_study
from tests.conftest import ball_config, require_warp


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


@pytest.mark.parametrize("value", ["WARP", "gpu", "$(touch pwned)", "cpu\n", "", True, 1, None, ["warp"]])
def test_backend_names_what_is_allowed(value):
    message = error_of(backend=value)
    assert message.startswith("invalid study config") and "backend" in message
    assert "'cpu'" in message and "'warp'" in message


@pytest.mark.parametrize("value", [0, -1, 1.5, "inf", float("nan"), True, "$(touch pwned)", "1e309"])
def test_worlds_per_batch_is_a_positive_whole_number(value):
    message = error_of(worlds_per_batch=value)
    assert message.splitlines()[1].lstrip().startswith("worlds_per_batch = ")


def test_warp_refuses_signals_it_cannot_record_on_the_device():
    require_warp()
    signals = {"rate": 10, "record": ["qpos:free", "fn:tests.signals_models:energy"]}
    message = error_of(backend="warp", signals=signals)
    assert "backend = 'warp'" in message and "'fn:tests.signals_models:energy'" in message
    own = error_of(
        backend="warp", signals={"rate": 10, "record": ["ctrl"]}, runtime="tests.signals_models:stop_halfway"
    )
    assert "backend = 'warp'" in own and "a runtime of its own" in own
