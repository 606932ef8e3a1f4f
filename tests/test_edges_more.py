"""More of issue 10's bad inputs, found after tests/test_edges_corpus.py: each was accepted and
then crashed a job, failed every trial with the same mistake, or changed a study silently.

- user code that cannot take what mojo passes it (a constant, a wrong ``gen_kwargs`` key, a
  ``run_args`` count): refused with the function's signature, before any job;
- times and memory so large their arithmetic overflows in a job (``trial_timeout: 1e300``);
- a ``normal`` whose draws overflow to infinity;
- an ``optimize.search_space`` Optuna mishandles: NaN, repeated or unstorable ``choices``, an
  overflowing width, a ``step`` that does not divide the range (Optuna lowers ``high`` silently),
  a ``float`` search of an ``integer`` parameter or a numeric search of a ``choice``;
- ``sampler_kwargs`` the sampler does not take (a TypeError in the first step);
- a ``qmc`` sampler with a seed of 2**32 or more (NumPy refuses it in the first step);
- a config file that gives a key twice (the reader kept the last one silently);
- ``mojo show --json`` printing ``NaN``, which is not JSON;
- nested ``--config`` values reaching user code and ``choice`` draws as text (``'2'``, not 2).

Cases reuse the corpus's site: a finished study beside them must stay byte-identical.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from mojo.cli import main as mojo_main
from mojo.config import study as mojo_config
from mojo.config.study import ConfigError, check_config_file, load_study
from tests.conftest import REPO, SNAKEMAKE
from tests.test_edges_corpus import (  # noqa: F401  (site, at_site: fixtures used by name)
    Site,
    assert_refused,
    assert_refused_in_process,
    assert_tables_match_trials,
    at_site,
    base,
    optimized,
    site,
    with_x,
)

HUGE = 1e300

MODELS = "tests.edge_more_models"


def searched(**spec) -> dict:
    """An optimisation study whose ``height`` is searched with the given spec."""
    return optimized(search_space={"height": spec})


REFUSED = [
    # user code that cannot take its arguments
    (
        "metrics_a_constant",
        base(metrics=f"{MODELS}:THRESHOLD"),
        ("metrics = 'tests.edge_more_models:THRESHOLD'", "not callable"),
    ),
    (
        "generator_a_list",
        base(generator=f"{MODELS}:SHAPES"),
        ("generator = 'tests.edge_more_models:SHAPES'", "not callable"),
    ),
    (
        "gen_kwargs_unknown",
        base(gen_kwargs={"scale": 2}),
        (
            "generator = 'tests.trial_models:ball'",
            "gen_kwargs = {'scale': 2}",
            "unexpected keyword argument 'scale'",
        ),
    ),
    (
        "gen_kwargs_values",
        base(gen_kwargs={"values": 1}),
        ("gen_kwargs = {'values': 1}", "multiple values for argument 'values'"),
    ),
    ("gen_args_extra", base(gen_args=[1]), ("gen_args = [1]", "too many positional arguments")),
    (
        "run_args_extra",
        base(run_args=[1, 2, 3]),
        ("runtime = 'mojo.runtime:simulate'", "run_args = [1, 2, 3]", "too many positional"),
    ),
    (
        "run_kwargs_misspelt",
        base(runtime="tests.trial_models:damped_drop", run_kwargs={"dragg": 1.0}),
        ("run_kwargs = {'dragg': 1.0}", "unexpected keyword argument 'dragg'"),
    ),
    (
        "metrics_one_argument",
        base(metrics=f"{MODELS}:one_argument_metrics"),
        ("metrics = 'tests.edge_more_models:one_argument_metrics'", "metrics(model, data)"),
    ),
    (
        "objective_two_arguments",
        base(objective=f"{MODELS}:two_argument_objective"),
        (
            "objective = 'tests.edge_more_models:two_argument_objective'",
            "missing a required argument: 'weight'",
        ),
    ),
    # times and memory beyond what a job's arithmetic holds
    (
        "trial_timeout_huge",
        base(trial_timeout=HUGE),
        ("trial_timeout = 1e+300", "less than or equal to 10000000"),
    ),
    (
        "trial_memory_mb_huge",
        base(trial_memory_mb=HUGE),
        ("trial_memory_mb = 1e+300", "less than or equal to 1000000000"),
    ),
    (
        "trial_seconds_huge",
        base(resources={"trial_seconds": HUGE}),
        ("resources.trial_seconds = 1e+300", "less than or equal"),
    ),
    (
        "mem_mb_huge",
        base(resources={"mem_mb": 10**30}),
        ("resources.mem_mb = 1000000000000000000000000000000", "less than or equal"),
    ),
    # draws that overflow
    (
        "normal_draws_overflow",
        with_x(dist="normal", mean=1e308, std=1e308),
        ("parameters.x", "overflows", "infinite"),
    ),
    # optimisation search spaces
    (
        "choices_nan",
        searched(type="categorical", choices=[1.0, float("nan")]),
        ("optimize.search_space.height.choices = [1.0, nan]", "finite"),
    ),
    (
        "choices_repeated",
        searched(type="categorical", choices=[1, 1.0]),
        ("optimize.search_space.height.choices = [1, 1.0]", "more than once"),
    ),
    (
        "choices_a_mapping",
        searched(type="categorical", choices=[{"a": 1}, 2]),
        ("optimize.search_space.height.choices", "{'a': 1} is a dict", "null, booleans, numbers and text"),
    ),
    (
        "search_width_overflows",
        searched(type="float", low=-1e308, high=1e308),
        ("optimize.search_space.height", "overflows"),
    ),
    (
        "float_step_off_grid",
        searched(type="float", low=0.5, high=1.5, step=0.3),
        ("optimize.search_space.height", "step = 0.3 does not divide high - low = 1.5 - 0.5"),
    ),
    (
        "int_step_off_grid",
        searched(type="int", low=0, high=10, step=3),
        ("optimize.search_space.height", "step = 3 does not divide"),
    ),
    (
        "float_search_of_an_integer",
        optimized(search_space={"x": {"type": "float", "low": 0, "high": 3}})
        | {"parameters": {**base()["parameters"], "x": {"dist": "integer", "low": 0, "high": 3}}},
        ("search_space.x has type float", "parameter x is an integer", "type: int"),
    ),
    (
        "int_search_of_a_choice",
        optimized(search_space={"x": {"type": "int", "low": 0, "high": 1}})
        | {"parameters": {**base()["parameters"], "x": {"dist": "choice", "values": ["a", "b"]}}},
        ("search_space.x has type int", "parameter x is a choice", "type: categorical"),
    ),
    (
        "sampler_kwargs_unknown",
        optimized(sampler_kwargs={"nosuch": 1}),
        ("optimize", "sampler_kwargs = {'nosuch': 1}", "'tpe'", "nosuch"),
    ),
    (
        # Optuna finds a choice by ==: it recorded 1 as True
        "choices_true_and_1",
        searched(type="categorical", choices=[True, 1, None, "a", 0.5]),
        ("choices", "True and 1 are one choice to Optuna"),
    ),
    (
        "qmc_seed_beyond_32_bits",
        optimized(sampler="qmc") | {"seed": 2**32},
        ("optimize", "qmc", "seed = 4294967296", "below 2**32"),
    ),
]


@pytest.mark.parametrize("config, expected", [pytest.param(c, e, id=i) for i, c, e in REFUSED])
def test_config_refused_naming_key_and_value(at_site: Site, config: dict, expected: tuple[str, ...]):
    assert_refused_in_process(config, expected)
    at_site.assert_beside_unchanged()


ACCEPTED = [
    (
        "run_args_that_fit",
        base(runtime="tests.trial_models:damped_drop", run_args=[0.5], run_kwargs={"steps": 10}),
    ),
    (
        "keyword_catch_all",
        base(generator=f"{MODELS}:keyword_generator", gen_kwargs={"scale": 2, "colour": "red"}),
    ),
    ("decorated_unchecked", base(metrics=f"{MODELS}:decorated_metrics")),
    ("choices_true_and_text", searched(type="categorical", choices=[True, "1", None, "a", 0.5])),
    ("float_step_on_grid", searched(type="float", low=0.5, high=1.5, step=0.1)),
    ("int_step_on_grid", searched(type="int", low=0, high=9, step=3)),
    ("normal_wide_but_finite", with_x(dist="normal", mean=-1e300, std=1e290)),
    (
        "float_search_of_a_constant",
        optimized(search_space={"x": {"type": "float", "low": 0.5, "high": 2}})
        | {"parameters": {**base()["parameters"], "x": {"dist": "constant", "value": 1.0}}},
    ),
    ("int_search_of_a_uniform", optimized(search_space={"height": {"type": "int", "low": 1, "high": 2}})),
    ("sampler_kwargs_that_fit", optimized(sampler="random", sampler_kwargs={"seed": 3})),
    ("qmc_seed_32_bits", optimized(sampler="qmc") | {"seed": 2**32 - 1}),
    ("tpe_seed_beyond_32_bits", optimized(sampler="tpe") | {"seed": 2**70}),
    (
        "limits_at_most",
        base(trial_timeout=1e7, trial_memory_mb=1e9, resources={"trial_seconds": 1e7, "mem_mb": 10**9}),
    ),
]


@pytest.mark.parametrize("config", [pytest.param(c, id=i) for i, c in ACCEPTED])
def test_config_near_a_rule_is_accepted(at_site: Site, config: dict):
    load_study(config)
    at_site.assert_beside_unchanged()


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text("study: a\nn_trial: 3\nparameters:\n  x: {dist: constant, value: 1}\nn_trial: 5\n")
    with pytest.raises(ConfigError, match=r"line 5: .*'n_trial' is given twice \(also on line 2\)"):
        check_config_file(path)
    path.write_text("parameters:\n  x: {dist: uniform, low: 0, high: 1}\n  x: {dist: constant, value: 1}\n")
    with pytest.raises(ConfigError, match=r"line 3: .*'x' is given twice"):
        check_config_file(path)


def test_anchors_and_merge_keys_are_not_a_repeat(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text("parameters:\n  x: &u {dist: uniform, low: 0, high: 1}\n  y: {<<: *u, high: 2}\n")
    check_config_file(path)


def test_show_json_is_json_for_a_hand_edited_non_finite_number(at_site: Site, tmp_path: Path, capsys):
    trial = tmp_path / "trial_0001"
    shutil.copytree(at_site.beside / "trial_0001", trial)
    result = json.loads((trial / "result.json").read_text())
    result["objective"], result["metrics"]["z"] = float("nan"), float("inf")
    (trial / "result.json").write_text(json.dumps(result))
    assert mojo_main(["show", "--json", str(trial)]) == 0

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    shown = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert (shown["result"]["objective"], shown["result"]["metrics"]["z"]) == (None, None)
    assert shown["result"]["metrics"]["speed"] == result["metrics"]["speed"]
    at_site.assert_beside_unchanged()


SNAKEMAKE_REFUSED = [
    (
        "smk_key_twice",
        "n_trial: 3\nn_trial: 4\n",
        [],
        ("smk_key_twice.yaml, line", "'n_trial' is given twice"),
    ),
    (
        "smk_gen_kwargs",
        "",
        ["--config", "gen_kwargs={scale: 2}"],
        ("gen_kwargs = {'scale': 2}", "unexpected keyword argument 'scale'"),
    ),
    ("smk_timeout_huge", "", ["--config", "trial_timeout=1e300"], ("trial_timeout = 1e+300",)),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra, args, expected", [pytest.param(x, a, e, id=i) for i, x, a, e in SNAKEMAKE_REFUSED]
)
def test_snakemake_refuses_before_any_job(
    site: Site, request, extra: str, args: list[str], expected: tuple[str, ...]
):
    name = request.node.callspec.id
    path = site.workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(base(study=name), sort_keys=False) + extra)
    done = site._run([*snakemake_in(site), "--configfile", str(path), *args], timeout=60)
    assert_refused(done, expected)
    assert not (site.workdir / "results" / name).exists()  # refused before any job
    site.assert_beside_unchanged()


def snakemake_in(site: Site) -> list[str]:
    return [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(site.workdir), "--cores", "1"]


# ------------------------------------------------------- nested --config values keep their kind


def test_nested_command_line_values_are_typed_as_in_a_config_file():
    config = with_x(dist="choice", values=["a", "b"]) | {
        "generator": f"{MODELS}:keyword_generator",
        "gen_kwargs": {"label": "x"},
    }
    entries = parse_config(
        [
            "gen_kwargs={scale: 2.0, flag: true, items: [1, a, null], note: 'a: b', day: 2024-01-01}",
            "parameters={x: {values: [1, 2], unit: 1}}",
            "overrides={x: 2}",
            "metric_units={z: 1}",
        ]
    )
    update_config(config, entries)  # what Snakemake does: every nested value is text here
    mojo_config.type_command_line(config, entries)
    assert config["gen_kwargs"] == {
        "label": "x",
        "scale": 2.0,
        "flag": True,
        "items": [1, "a", None],
        "note": "a: b",
        "day": "2024-01-01",
    }
    assert config["parameters"]["x"] == {"dist": "choice", "values": [1, 2], "unit": "1"}  # merged
    assert config["metric_units"] == {"z": "1"}  # units stay text: a dimensionless '1'
    assert load_study(config).override("x") == 2


@pytest.mark.slow
def test_nested_command_line_values_reach_user_code_typed(site: Site):
    config = base(
        study="typed",
        n_trial=2,
        generator=f"{MODELS}:typed_generator",
        parameters={
            "height": {"dist": "uniform", "low": 0.5, "high": 1.5},
            "count": {"dist": "choice", "values": ["one"]},
        },
    )
    path = site.workdir / "typed.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = site._run(
        [
            *snakemake_in(site),
            "--configfile",
            str(path),
            "--config",
            "gen_kwargs={scale: 2.0, flag: true, items: [1, a, null]}",
            "parameters={count: {values: [3, 4]}}",
        ],
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = assert_tables_match_trials(site.workdir / "results" / "typed", 2)
    assert [row["status"] for row in rows] == ["success", "success"], rows
    assert all(type(row["count"]) is int for row in rows), rows  # a number column, not text
    site.assert_beside_unchanged()
