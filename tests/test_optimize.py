"""The optimisation's config, search space, scoring and samplers (fast; no snakemake)."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import pytest

from mojo.config.optimize import FloatParam, IntParam
from mojo.config.study import ConfigError, load_study
from mojo.optimize.files import EvalRow, eval_number
from mojo.optimize.scoring import score_trial
from mojo.optimize.space import contains, distributions, refine


def box_config(**optimize) -> dict:
    opt = {"direction": "minimize", "search_space": {"friction": {"type": "float", "low": 0.1, "high": 1.5}}}
    opt.update(optimize)
    return {
        "study": "box",
        "generator": "mojo.examples.sliding_box:build",
        "metrics": "mojo.examples.sliding_box:metrics",
        "objective": "mojo.examples.sliding_box:objective",
        "parameters": {
            "friction": {"dist": "uniform", "low": 0.1, "high": 1.5},
            "speed": {"dist": "constant", "value": 2.0, "unit": "m/s"},
        },
        "optimize": opt,
    }


def rejected(config: dict) -> str:
    with pytest.raises(ConfigError) as info:
        load_study(config)
    return str(info.value)


def test_valid_config_loads_and_keeps_mc_fingerprint_free_of_optimize():
    study = load_study(box_config(n_trial=7, sampler="random"))
    assert study.optimize.n_trial == 7 and study.optimize.sampler == "random"
    assert "optimize" not in study.model_dump()  # Monte Carlo provenance ignores optimisation settings


def test_missing_direction_is_rejected_by_name():
    config = box_config()
    del config["optimize"]["direction"]
    message = rejected(config)
    assert "optimize" in message and "direction is missing" in message and "minimize" in message


def test_reversed_bounds_are_rejected_naming_key_and_values():
    message = rejected(box_config(search_space={"friction": {"type": "float", "low": 1.5, "high": 0.1}}))
    assert "optimize.search_space.friction" in message
    assert "low = 1.5 is greater than high = 0.1" in message


def test_unknown_sampler_is_rejected_listing_the_allowed_ones():
    message = rejected(box_config(sampler="annealing"))
    assert "optimize.sampler = 'annealing'" in message
    assert "tpe, cmaes, random, qmc, gp, nsgaii" in message


def test_sampler_without_its_package_says_what_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real_find_spec(name, *a)
    )
    assert "pip install torch" in rejected(box_config(sampler="gp"))


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "random", "qmc", "nsgaii", "gp"])
def test_every_sampler_proposes_inside_the_space_reproducibly(sampler):
    if sampler == "gp" and importlib.util.find_spec("torch") is None:
        pytest.skip("the gp sampler needs torch: pip install -e '.[gp]'")
    import optuna

    from mojo.optimize.samplers import make_sampler

    def proposals():
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=make_sampler(sampler, seed=3, round_=0))
        study.optimize(lambda t: (t.suggest_float("x", -1.0, 2.0) - 0.5) ** 2, n_trials=12)
        return [t.params["x"] for t in study.trials]

    first = proposals()
    assert all(-1.0 <= x <= 2.0 for x in first) and len(set(first)) > 6
    assert proposals() == first


def test_study_without_objective_is_rejected():
    config = box_config()
    del config["objective"]
    assert "optimisation needs an objective" in rejected(config)


def test_search_space_must_name_parameters_and_not_overrides():
    assert "unknown parameter(s) ['grip']" in rejected(
        box_config(search_space={"grip": {"type": "float", "low": 0, "high": 1}})
    )
    config = box_config()
    config["overrides"] = {"friction": 0.3}
    assert "both overridden and optimised" in rejected(config)


def test_other_bad_values_are_rejected():
    assert "refine_search_factor" in rejected(box_config(refine_search_factor=1.5))
    assert "log = true needs low > 0" in rejected(
        box_config(search_space={"friction": {"type": "float", "low": 0.0, "high": 1.0, "log": True}})
    )
    assert "optimize.direction = 'down'" in rejected(box_config(direction="down"))


def test_loading_the_config_imports_neither_optuna_nor_mujoco():
    code = (
        "import sys; from mojo.config.study import load_study; from mojo.optimize import workflow, files; "
        "from tests.test_optimize import box_config; load_study(box_config()); "
        "print('optuna' in sys.modules, 'mujoco' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_refine_shrinks_each_numeric_range_around_the_best_and_clips():
    space = {
        "a": FloatParam(type="float", low=0.0, high=10.0),
        "b": FloatParam(type="float", low=1.0, high=100.0, log=True),
        "n": IntParam(type="int", low=0, high=100, step=5),
    }
    out = refine(space, {"a": 9.0, "b": 10.0, "n": 50}, 0.4)
    assert (out["a"].low, out["a"].high) == (pytest.approx(7.0), 10.0)  # 9 ± 2, clipped at 10
    assert out["b"].low == pytest.approx(10 ** (1 - 0.4)) and out["b"].high == pytest.approx(10**1.4)
    assert (out["n"].low, out["n"].high) == (30, 70)  # 50 ± 20, on the step grid
    assert contains(out, {"a": 8.0, "b": 10.0, "n": 50}) and not contains(out, {"a": 6.0, "b": 10.0, "n": 50})
    dists = distributions(out)
    assert dists["n"].step == 5 and dists["b"].log


def test_score_is_the_mean_of_successes_else_pruned_or_failed():
    def row(status, objective=None):
        return EvalRow(trial=0, eval=0, number=1, dir="d", status=status, objective=objective)

    good = score_trial([row("success", 1.0), row("success", 3.0)], prune=True)
    assert (good.state, good.value, good.std) == ("complete", 2.0, 1.0)
    assert score_trial([row("success", 1.0), row("unstable")], prune=True).state == "pruned"
    bad = score_trial([row("success", 1.0), row("error")], prune=False)
    assert bad.state == "fail" and bad.value is None
    assert score_trial([row("success", math.nan)], prune=True).state == "pruned"


def test_evaluation_numbers_are_unique_and_never_the_nominal_trial():
    numbers = {eval_number(t, e) for t in range(300) for e in range(12)}
    assert len(numbers) == 300 * 12 and 0 not in numbers


@pytest.mark.parametrize("name", ["tpe", "random", "nsgaii"])
def test_samplers_are_seeded_per_round(name):
    import optuna
    from optuna.distributions import FloatDistribution

    from mojo.optimize.samplers import make_sampler

    def first_value(round_):
        study = optuna.create_study(sampler=make_sampler(name, 5, round_))
        return study.ask({"x": FloatDistribution(0, 1)}).params["x"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    assert first_value(3) == first_value(3)
    assert first_value(3) != first_value(4)
