"""Issue 10's corpus: bad or unusual inputs a new user gives, each refused or run to a consistent study.

Every case ends in one of two ways:

- **refused** before any job: the message names the key (or path) and the value given, and no
  Python traceback is shown; through ``snakemake`` also a non-zero exit;
- **run to completion**: ``snakemake`` exits 0 and the tables hold one row per trial that agrees
  with the trial's ``result.json`` (status, objective, every metric).

And every case leaves a finished study beside it (same ``results_dir``, made once per module)
byte-identical. Most config cases are validated in-process with what the Snakefile calls
(``load_study``; ``snakemake.cli.parse_config`` for ``--config`` text, as Snakemake parses it);
a handful go through a real ``snakemake -n`` to prove the path, and the runs are tiny studies.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from mojo.config.study import ConfigError, check_config_file, load_study
from tests.conftest import REPO, SNAKEMAKE
from tests.edge_models import ODD_KINDS, ODD_OBJECTIVES

BESIDE = "beside"
CASE = "case"


def base(**changes: Any) -> dict:
    """A tiny valid study in the shared results folder; ``changes`` replace top-level keys."""
    config = {
        "study": CASE,
        "seed": 1,
        "n_trial": 3,
        "n_proc": 1,
        "generator": "tests.trial_models:ball",
        "metrics": "tests.trial_models:height_metrics",
        "duration": 0.05,
        "parameters": {"height": {"dist": "uniform", "low": 0.5, "high": 1.5, "unit": "m"}},
    }
    config.update(changes)
    return config


def with_x(**spec: Any) -> dict:
    """The base study with a second parameter ``x`` of the given spec."""
    return base(parameters={**base()["parameters"], "x": spec})


def optimized(**search: Any) -> dict:
    """An optimisation study of ``height`` with the given ``optimize`` keys changed."""
    section = {
        "direction": "minimize",
        "search_space": {"height": {"type": "float", "low": 0.5, "high": 1.5}},
    }
    section.update(search)
    return base(objective="tests.optimize_models:spring_objective", optimize=section)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Site:
    """A working folder holding a finished study (``beside``) that no case may change."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.beside = workdir / "results" / BESIDE
        self.pristine = workdir / "pristine"

    def snakemake(
        self, *args: str, config: dict | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(self.workdir), "--cores", "2"]
        if config is not None:
            path = self.workdir / f"{config['study']}.yaml"
            path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
            command += ["--configfile", str(path)]
        return self._run([*command, *args], timeout)

    def mojo(self, *args: str) -> subprocess.CompletedProcess:
        return self._run([sys.executable, "-m", "mojo.cli", *args], timeout=60)

    def _run(self, command: list[str], timeout: float) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        return subprocess.run(
            command, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout
        )

    def assert_beside_unchanged(self) -> None:
        """The finished study is byte-identical to when it was made (restored if not, so that one
        failing case does not fail every later one)."""
        same = tree(self.beside) == tree(self.pristine)
        if not same:
            shutil.rmtree(self.beside)
            shutil.copytree(self.pristine, self.beside)
        assert same, "the finished study beside the case was changed"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = Site(tmp_path_factory.mktemp("edges"))
    (site.workdir / "broken_models.py").write_text("def build(values:\n    return None\n")
    (site.workdir / "a_file").write_text("not a folder\n")
    done = site.snakemake(config=base(study=BESIDE, n_trial=4))
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.copytree(site.beside, site.pristine)
    return site


@pytest.fixture
def at_site(site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    """In-process cases resolve paths (results_dir, user modules) from the site, as a run would."""
    monkeypatch.chdir(site.workdir)
    return site


def assert_refused_in_process(config: dict, expected: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as refused:
        load_study(config)
    message = str(refused.value)
    if not any("unknown key" in text for text in expected):
        assert "unknown key" not in message, message  # a key the config should know
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"


def assert_refused(done: subprocess.CompletedProcess, expected: tuple[str, ...]) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"


def assert_tables_match_trials(study_dir: Path, n_trial: int) -> list[dict]:
    """One row per trial, each agreeing with the trial's result.json; returns the rows."""
    table = pq.read_table(study_dir / "trials.parquet").to_pylist()
    assert [row["trial"] for row in table] == list(range(n_trial))
    with open(study_dir / "trials.csv", newline="") as file:
        assert [int(row["trial"]) for row in csv.DictReader(file)] == list(range(n_trial))
    for row in table:
        result = json.loads((study_dir / f"trial_{row['trial']:04d}" / "result.json").read_text())
        assert (row["status"], row["reason"]) == (result["status"], result.get("reason")), (row, result)
        assert _same(row["objective"], result.get("objective")), (row, result)
        for name, value in result.get("metrics", {}).items():
            assert _same(row[name], value), (name, row, result)
    return table


def _same(in_table: Any, in_file: Any) -> bool:
    """Equal, or both empty (a null in the table may read back as NaN)."""
    return _empty(in_table) and _empty(in_file) or in_table == in_file


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# ------------------------------------------------------------------ configs, validated in-process

REFUSED = [
    # kinds of whole numbers: booleans, fractions, text, signs, limits
    ("n_trial_true", base(n_trial=True), ("n_trial = True", "boolean")),
    ("n_trial_fraction", base(n_trial=1.5), ("n_trial = 1.5", "integer")),
    ("n_trial_text", base(n_trial="many"), ("n_trial = 'many'", "integer")),
    ("n_trial_negative", base(n_trial=-1), ("n_trial = -1", "greater than or equal to 0")),
    ("n_trial_1e9", base(n_trial=1e9), ("n_trial = 1000000000", "less than or equal to 10000000")),
    ("n_trial_nan", base(n_trial=float("nan")), ("n_trial = nan", "finite")),
    ("jobs_too_many", base(n_trial=1_000_000, trials_per_job=1), ("1000000 jobs", "trials_per_job")),
    ("seed_true", base(seed=True), ("seed = True", "boolean")),
    ("seed_negative", base(seed=-1), ("seed = -1", "greater than or equal to 0")),
    ("seed_fraction", base(seed=0.5), ("seed = 0.5", "integer")),
    ("n_proc_zero", base(n_proc=0), ("n_proc = 0", "greater than or equal to 1")),
    ("n_proc_false", base(n_proc=False), ("n_proc = False", "boolean")),
    ("padding_13", base(padding=13), ("padding = 13", "less than or equal to 12")),
    ("padding_true", base(padding=True), ("padding = True", "boolean")),
    ("trials_per_job_zero", base(trials_per_job=0), ("trials_per_job = 0", "greater than or equal to 1")),
    # non-finite and wrong-kind reals
    ("duration_nan", base(duration=float("nan")), ("duration = nan", "finite")),
    ("duration_inf", base(duration=float("inf")), ("duration = inf", "finite")),
    ("duration_zero", base(duration=0), ("duration = 0", "greater than 0")),
    ("duration_true", base(duration=True), ("duration = True", "boolean")),
    ("trial_timeout_nan", base(trial_timeout=float("nan")), ("trial_timeout = nan", "finite")),
    ("trial_timeout_negative", base(trial_timeout=-1), ("trial_timeout = -1", "greater than 0")),
    (
        "trial_seconds_inf",
        base(resources={"trial_seconds": float("inf")}),
        ("resources.trial_seconds = inf", "finite"),
    ),
    ("mem_mb_true", base(resources={"mem_mb": True}), ("resources.mem_mb = True", "boolean")),
    # names
    ("study_slash", base(study="a/b"), ("study = 'a/b'", "ASCII letters, digits")),
    ("study_dotdot", base(study=".."), ("study = '..'", "ASCII letters, digits")),
    ("study_unicode", base(study="étude"), ("study = 'étude'", "ASCII letters, digits")),
    ("study_long", base(study="s" * 300), ("study = 'sss", "at most 100 characters")),
    ("study_empty", base(study=""), ("study = ''", "ASCII letters, digits")),
    ("study_number", base(study=42), ("study = 42", "string")),
    ("study_missing", {k: v for k, v in base().items() if k != "study"}, ("study", "Field required")),
    ("unknown_key", base(n_trials=5), ("n_trials = 5", "unknown key")),
    ("resume_maybe", base(resume="maybe"), ("resume = 'maybe'", "boolean")),
    # code paths
    (
        "generator_missing",
        {k: v for k, v in base().items() if k != "generator"},
        ("generator", "Field required"),
    ),
    ("generator_a_b_c", base(generator="a:b:c"), ("generator = 'a:b:c'", "package.module:function")),
    ("generator_dotdot", base(generator=".."), ("generator = '..'", "package.module:function")),
    ("generator_relative", base(generator="..x:f"), ("generator = '..x:f'", "cannot be found")),
    ("generator_space", base(generator="my models:f"), ("generator = 'my models:f'", "cannot be found")),
    (
        "generator_syntax_error",
        base(generator="broken_models:build"),
        ("generator = 'broken_models:build'", "line 1", "cannot be parsed"),
    ),
    ("generator_not_text", base(generator=5), ("generator = 5", "string")),
    (
        "metrics_no_such_function",
        base(metrics="tests.edge_models:nosuch"),
        ("metrics = 'tests.edge_models:nosuch'", "defines no 'nosuch'"),
    ),
    ("runtime_builtin_module", base(runtime="math:sqrt"), ("runtime = 'math:sqrt'", "no Python source")),
    # containers of the wrong kind
    ("parameters_list", base(parameters=["height"]), ("parameters = ['height']", "dictionary")),
    ("parameter_not_mapping", with_x() | {"parameters": {"x": 5}}, ("parameters.x = 5",)),
    (
        "parameter_name_dash",
        base(parameters={"my-x": {"dist": "constant", "value": 1}}),
        ("my-x", "letters, digits"),
    ),
    (
        "parameter_name_unicode",
        base(parameters={"höhe": {"dist": "constant", "value": 1}}),
        ("höhe", "letters, digits"),
    ),
    ("gen_args_number", base(gen_args=5), ("gen_args = 5", "list")),
    ("gen_args_text", base(gen_args="abc"), ("gen_args = 'abc'", "list")),
    ("gen_kwargs_list", base(gen_kwargs=[1]), ("gen_kwargs = [1]", "dictionary")),
    ("run_kwargs_text", base(run_kwargs="gain=2"), ("run_kwargs = 'gain=2'", "dictionary")),
    ("metric_units_number", base(metric_units={"z": 5}), ("metric_units.z = 5", "string")),
    ("metric_units_list", base(metric_units=["m"]), ("metric_units = ['m']", "dictionary")),
    # distributions: kinds
    ("dist_unknown", with_x(dist="gamma", k=2), ("parameters.x", "'gamma'", "uniform")),
    ("dist_missing", with_x(low=0, high=1), ("parameters.x = {'low': 0, 'high': 1}", "has no 'dist' key")),
    (
        "dist_extra_key",
        with_x(dist="uniform", low=0, high=1, mean=3),
        ("parameters.x.mean = 3", "unknown key"),
    ),
    # uniform
    (
        "uniform_low_nan",
        with_x(dist="uniform", low=float("nan"), high=1),
        ("parameters.x.low = nan", "finite"),
    ),
    (
        "uniform_high_inf",
        with_x(dist="uniform", low=0, high=float("inf")),
        ("parameters.x.high = inf", "finite"),
    ),
    (
        "uniform_low_above_high",
        with_x(dist="uniform", low=2, high=1),
        ("parameters.x", "low = 2.0 is greater than high = 1.0"),
    ),
    ("uniform_low_true", with_x(dist="uniform", low=True, high=2), ("parameters.x.low = True", "boolean")),
    (
        "uniform_width_overflows",
        with_x(dist="uniform", low=-1e308, high=1e308),
        ("parameters.x", "overflows"),
    ),
    (
        "uniform_nominal_text",
        with_x(dist="uniform", low=0, high=1, nominal="half"),
        ("parameters.x.nominal = 'half'", "number"),
    ),
    (
        "uniform_nominal_true",
        with_x(dist="uniform", low=0, high=1, nominal=True),
        ("parameters.x.nominal = True", "boolean"),
    ),
    (
        "uniform_nominal_nan",
        with_x(dist="uniform", low=0, high=1, nominal=float("nan")),
        ("parameters.x.nominal = nan", "finite"),
    ),
    (
        "uniform_nominal_outside",
        with_x(dist="uniform", low=0, high=1, nominal=3),
        ("parameters.x", "nominal = 3.0 lies outside [0.0, 1.0]"),
    ),
    # integer
    ("integer_low_fraction", with_x(dist="integer", low=1.5, high=3), ("parameters.x.low = 1.5", "integer")),
    ("integer_high_true", with_x(dist="integer", low=0, high=True), ("parameters.x.high = True", "boolean")),
    (
        "integer_nominal_fraction",
        with_x(dist="integer", low=0, high=5, nominal=2.5),
        ("parameters.x.nominal = 2.5", "integer"),
    ),
    (
        "integer_nominal_text",
        with_x(dist="integer", low=0, high=5, nominal="two"),
        ("parameters.x.nominal = 'two'", "integer"),
    ),
    (
        "integer_beyond_int64",
        with_x(dist="integer", low=0, high=10**19),
        ("parameters.x.high = 10000000000000000000", "less than or equal to"),
    ),
    (
        "integer_nominal_outside",
        with_x(dist="integer", low=0, high=5, nominal=9),
        ("parameters.x", "nominal = 9 lies outside [0, 5]"),
    ),
    # normal, truncnormal, lognormal
    (
        "normal_mean_nan",
        with_x(dist="normal", mean=float("nan"), std=1),
        ("parameters.x.mean = nan", "finite"),
    ),
    ("normal_std_inf", with_x(dist="normal", mean=0, std=float("inf")), ("parameters.x.std = inf", "finite")),
    (
        "normal_std_negative",
        with_x(dist="normal", mean=0, std=-1),
        ("parameters.x.std = -1", "greater than or equal to 0"),
    ),
    (
        "normal_nominal_text",
        with_x(dist="normal", mean=0, std=1, nominal="zero"),
        ("parameters.x.nominal = 'zero'", "number"),
    ),
    (
        "truncnormal_std_zero",
        with_x(dist="truncnormal", mean=0, std=0, low=-1, high=1),
        ("parameters.x.std = 0", "greater than 0"),
    ),
    (
        "truncnormal_nominal_outside",
        with_x(dist="truncnormal", mean=0, std=1, low=-1, high=1, nominal=2),
        ("parameters.x", "nominal = 2.0 lies outside"),
    ),
    (
        "lognormal_mu_inf",
        with_x(dist="lognormal", mu=float("inf"), sigma=1),
        ("parameters.x.mu = inf", "finite"),
    ),
    (
        "lognormal_sigma_nan",
        with_x(dist="lognormal", mu=0, sigma=float("nan")),
        ("parameters.x.sigma = nan", "finite"),
    ),
    (
        "lognormal_overflows",
        with_x(dist="lognormal", mu=800, sigma=0),
        ("parameters.x", "mu + 10 * sigma = 800", "infinite"),
    ),
    (
        "lognormal_nominal_text",
        with_x(dist="lognormal", mu=0, sigma=1, nominal="one"),
        ("parameters.x.nominal = 'one'", "number"),
    ),
    # choice and constant
    ("choice_no_values", with_x(dist="choice", values=[]), ("parameters.x.values = []", "at least 1")),
    ("choice_values_text", with_x(dist="choice", values="abc"), ("parameters.x.values = 'abc'", "list")),
    (
        "choice_duplicates",
        with_x(dist="choice", values=["a", "b", "a"]),
        ("parameters.x.values", "'a' appears more than once"),
    ),
    (
        "choice_duplicate_numbers",
        with_x(dist="choice", values=[1, 1.0]),
        ("parameters.x.values = [1, 1.0]", "more than once"),
    ),
    (
        "choice_value_nan",
        with_x(dist="choice", values=[1, float("nan")]),
        ("parameters.x.values = [1, nan]", "finite"),
    ),
    (
        "choice_weights_length",
        with_x(dist="choice", values=["a", "b"], weights=[1]),
        ("parameters.x", "weights has 1 entries but values has 2"),
    ),
    (
        "choice_weights_negative",
        with_x(dist="choice", values=["a", "b"], weights=[1, -1]),
        ("parameters.x.weights.1 = -1", "greater than or equal to 0"),
    ),
    (
        "choice_weights_zero",
        with_x(dist="choice", values=["a", "b"], weights=[0, 0]),
        ("parameters.x", "weights = [0.0, 0.0]", "positive"),
    ),
    (
        "choice_weights_nan",
        with_x(dist="choice", values=["a", "b"], weights=[1, float("nan")]),
        ("parameters.x.weights.1 = nan", "finite"),
    ),
    (
        "choice_weights_true",
        with_x(dist="choice", values=["a", "b"], weights=[True, 1]),
        ("parameters.x.weights.0 = True", "boolean"),
    ),
    (
        "choice_weights_overflow",
        with_x(dist="choice", values=["a", "b"], weights=[1e308, 1e308]),
        ("parameters.x", "finite sum"),
    ),
    (
        "choice_nominal_absent",
        with_x(dist="choice", values=["a", "b"], nominal="c"),
        ("parameters.x", "nominal = 'c' is not one of values = ['a', 'b']"),
    ),
    (
        "choice_nominal_true_not_1",
        with_x(dist="choice", values=[1, 2], nominal=True),
        ("parameters.x", "nominal = True is not one of"),
    ),
    ("constant_inf", with_x(dist="constant", value=float("inf")), ("parameters.x.value = inf", "finite")),
    (
        "constant_nested_nan",
        with_x(dist="constant", value=[1, {"a": float("nan")}]),
        ("parameters.x.value", "holds nan"),
    ),
    ("constant_missing_value", with_x(dist="constant"), ("parameters.x.value", "Field required")),
    # overrides
    ("override_unknown", base(overrides={"heigth": 1.0}), ("heigth", "height")),
    (
        "override_nan",
        base(overrides={"height": float("nan")}),
        ("overrides.height", "nan is not a finite number"),
    ),
    ("override_text", base(overrides={"height": "tall"}), ("overrides.height", "'tall' is not a number")),
    ("override_true", base(overrides={"height": True}), ("overrides.height", "True is not a number")),
    (
        "override_integer_fraction",
        with_x(dist="integer", low=0, high=5) | {"overrides": {"x": 2.5}},
        ("overrides.x", "2.5 is not a whole number"),
    ),
    (
        "override_outside_choice",
        with_x(dist="choice", values=["a", "b"]) | {"overrides": {"x": "c"}},
        ("overrides.x", "'c' is not one of values = ['a', 'b']"),
    ),
    (
        "override_true_for_1",
        with_x(dist="choice", values=[1, 2]) | {"overrides": {"x": True}},
        ("overrides.x", "True is not one of values = [1, 2]"),
    ),
    (
        "override_constant_inf",
        with_x(dist="constant", value=1) | {"overrides": {"x": float("inf")}},
        ("overrides.x", "inf is not a finite number"),
    ),
    ("overrides_list", base(overrides=["height"]), ("overrides = ['height']", "dictionary")),
    # optimisation section
    (
        "optimize_low_inf",
        optimized(search_space={"height": {"type": "float", "low": float("-inf"), "high": 1}}),
        ("optimize.search_space.height.low = -inf", "finite"),
    ),
    (
        "optimize_int_fraction",
        optimized(search_space={"height": {"type": "int", "low": 0.5, "high": 3}}),
        ("optimize.search_space.height.low = 0.5", "integer"),
    ),
    ("optimize_n_trial_true", optimized(n_trial=True), ("optimize.n_trial = True", "boolean")),
    ("optimize_timeout_nan", optimized(timeout=float("nan")), ("optimize.timeout = nan", "finite")),
    (
        "optimize_refine_nan",
        optimized(refine_search_factor=float("nan")),
        ("optimize.refine_search_factor = nan", "finite"),
    ),
    (
        "optimize_low_above_high",
        optimized(search_space={"height": {"type": "float", "low": 2, "high": 1}}),
        ("optimize.search_space.height", "low = 2.0 is greater than high = 1.0"),
    ),
    # owned by other parts of issue 10 (results folder, storage, reserved names, job memory)
    ("results_dir_empty", base(results_dir=""), ("results_dir = ''", "empty")),
    ("results_dir_a_file", base(results_dir="a_file"), ("results_dir = 'a_file'", "file")),
    ("storage_not_a_url", optimized(storage="not a url"), ("optimize.storage", "not a url")),
    (
        "storage_driver_missing",
        optimized(storage="postgresql+nosuchdriver://u@localhost/db"),
        ("optimize.storage", "nosuchdriver"),
    ),
    (
        "parameter_named_status",
        base(parameters={"status": {"dist": "constant", "value": 1}}),
        ("parameters.status", "reserved"),
    ),
    (
        "parameter_named_trial",
        base(parameters={"trial": {"dist": "constant", "value": 1}}),
        ("parameters.trial", "reserved"),
    ),
    ("trial_memory_mb_zero", base(trial_memory_mb=0), ("trial_memory_mb = 0",)),
    ("trial_memory_mb_true", base(trial_memory_mb=True), ("trial_memory_mb = True",)),
]


@pytest.mark.parametrize("config, expected", [pytest.param(c, e, id=i) for i, c, e in REFUSED])
def test_config_refused_naming_key_and_value(at_site: Site, config: dict, expected: tuple[str, ...]):
    assert_refused_in_process(config, expected)
    at_site.assert_beside_unchanged()


# ------------------------------------------------ --config text, parsed as Snakemake parses it

COMMAND_LINE = [
    ("cli_duration_nan", ["duration=nan"], ("duration = nan", "finite")),
    ("cli_duration_inf", ["duration=inf"], ("duration = inf", "finite")),
    ("cli_n_trial_True", ["n_trial=True"], ("n_trial = True", "boolean")),
    ("cli_n_trial_true", ["n_trial=true"], ("n_trial = 'true'", "integer")),
    ("cli_n_trial_1e9", ["n_trial=1e9"], ("n_trial = 1000000000", "less than or equal to")),
    ("cli_n_trial_word", ["n_trial=ten"], ("n_trial = 'ten'", "integer")),
    ("cli_seed_fraction", ["seed=0.5"], ("seed = 0.5", "integer")),
    ("cli_study_empty", ["study="], ("study = None", "string")),
    ("cli_override_nan", ["overrides={height: nan}"], ("overrides.height", "'nan' is not a finite number")),
    ("cli_override_word", ["overrides={height: tall}"], ("overrides.height", "'tall' is not a number")),
    (
        "cli_override_outside_choice",
        ["parameters={s: {dist: choice, values: [a, b]}}", "overrides={s: c}"],
        ("overrides.s", "'c' is not one of values"),
    ),
    ("cli_parameters_text", ["parameters=5"], ("parameters = 5", "dictionary")),
    (
        "cli_timeout_text_nan",
        ["resources={trial_seconds: .nan}"],
        ("resources.trial_seconds = '.nan'", "number"),
    ),
    (
        "cli_nominal_word",
        ["parameters={x: {dist: uniform, low: 0, high: 1, nominal: half}}"],
        ("parameters.x.nominal = 'half'", "number"),
    ),
]


@pytest.mark.parametrize("entries, expected", [pytest.param(c, e, id=i) for i, c, e in COMMAND_LINE])
def test_command_line_config_refused(at_site: Site, entries: list[str], expected: tuple[str, ...]):
    config = base()
    update_config(config, parse_config(entries))
    assert_refused_in_process(config, expected)
    at_site.assert_beside_unchanged()


def test_command_line_text_that_is_a_value_is_kept(at_site: Site):
    """Nested --config values arrive as text: numbers among them still count as numbers."""
    config = with_x(dist="integer", low=0, high=5)
    update_config(config, parse_config(["overrides={height: 1.25, x: 4}", "n_trial=4.0", "optimize="]))
    study = load_study(config)
    assert (study.override("height"), study.override("x"), study.n_trial) == (1.25, 4, 4)
    assert type(study.override("x")) is int
    assert load_study(base(n_trial="1e3")).n_trial == 1000  # YAML reads 1e3 as text
    assert load_study(base(seed="12345678901234567891")).seed == 12345678901234567891
    at_site.assert_beside_unchanged()


# ---------------------------------------------------------------- through a real snakemake -n

SNAKEMAKE_REFUSED = [
    ("smk_n_trial_true", base(), ["--config", "n_trial=True"], ("n_trial = True", "boolean")),
    ("smk_duration_nan", base(), ["--config", "duration=nan"], ("duration = nan", "finite")),
    (
        "smk_nominal_text",
        with_x(dist="uniform", low=0, high=1, nominal="half"),
        [],
        ("parameters.x.nominal = 'half'",),
    ),
    (
        "smk_override_choice",
        with_x(dist="choice", values=["a", "b"]),
        ["--config", "overrides={x: c}"],
        ("overrides.x", "'c' is not one of"),
    ),
    (
        "smk_bound_inf",
        with_x(dist="uniform", low=0, high=float("inf")),
        [],
        ("parameters.x.high = inf", "finite"),
    ),
    ("smk_huge_study", base(n_trial=10**9), [], ("n_trial = 1000000000",)),
    (
        "smk_resume_false_changes_finished",
        base(study=BESIDE, n_trial=4, resume=False, seed=2),
        [],
        (BESIDE, "resume"),
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, args, expected", [pytest.param(c, a, e, id=i) for i, c, a, e in SNAKEMAKE_REFUSED]
)
def test_snakemake_refuses_before_any_job(
    site: Site, config: dict, args: list[str], expected: tuple[str, ...]
):
    dry = "-n" if config.get("study") != BESIDE else None  # a refusal must hold for a real run too
    done = site.snakemake(*[a for a in [dry, *args] if a], config=config, timeout=60)
    assert_refused(done, expected)
    site.assert_beside_unchanged()


DEFAULT_CONFIG_FILES = [
    ("file_empty", "", ("config/config.yaml", "empty")),
    ("file_comment_only", "# nothing here\n", ("config/config.yaml", "empty")),
    ("file_list", "- study: x\n", ("config/config.yaml", "not a mapping")),
    ("file_scalar", "5\n", ("config/config.yaml", "'5', not a mapping")),
    ("file_invalid_yaml", "study: x\n  n_trial: [1\n", ("config/config.yaml, line 2", "not valid YAML")),
    ("file_tab_indent", "study: x\nparameters:\n\tx: 1\n", ("config/config.yaml, line 3", "not valid YAML")),
    ("file_not_utf8", b"study: \xff\xfe\n", ("config/config.yaml", "cannot be read")),
    ("file_missing", None, ("config/config.yaml not found", "--configfile")),
]


@pytest.mark.slow
@pytest.mark.parametrize("content, expected", [pytest.param(c, e, id=i) for i, c, e in DEFAULT_CONFIG_FILES])
def test_default_config_file_problems_name_the_file(
    site: Site, content: str | bytes | None, expected: tuple[str, ...]
):
    """Without --configfile the Snakefile reads config/config.yaml: each problem names it."""
    path = site.workdir / "config" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    if content is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError):
        check_config_file(path)
    assert_refused(site.snakemake("-n"), expected)
    path.unlink(missing_ok=True)
    site.assert_beside_unchanged()


# ------------------------------------------------------------------------------- mojo commands

MOJO_REFUSED = [
    ("status_parent_folder", ["status", "results"], ("results",)),
    ("status_trial_folder", ["status", f"results/{BESIDE}/trial_0000"], ("trial_0000",)),
    ("status_missing_folder", ["status", "results/nope"], ("results/nope",)),
    ("status_a_file", ["status", f"results/{BESIDE}/trials.csv"], ("trials.csv",)),
    ("show_missing_trial", ["show", "results/nope/trial_0000"], ("results/nope/trial_0000",)),
    ("show_study_folder", ["show", f"results/{BESIDE}"], (f"results/{BESIDE}",)),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, expected", [pytest.param(a, e, id=i) for i, a, e in MOJO_REFUSED])
def test_mojo_command_refuses_what_is_not_its_folder(site: Site, args: list[str], expected: tuple[str, ...]):
    assert_refused(site.mojo(*args), expected)
    site.assert_beside_unchanged()


# ------------------------------------------------------------ run to completion, tables agree

ODD_METRICS_STUDY = base(study="odd_metrics", n_trial=len(ODD_KINDS), runtime="tests.edge_models:odd")
ODD_OBJECTIVES_STUDY = base(
    study="odd_objectives",
    n_trial=len(ODD_OBJECTIVES),
    runtime="tests.edge_models:plain",
    objective="tests.edge_models:odd_objective",
)
REAL_METRICS = {"numpy_float": 0.25, "numpy_int": 3.0, "numpy_bool": 1.0, "bool": 1.0}
"""The odd metrics that are numbers after all; every other kind must not make a success."""


@pytest.fixture(scope="module")
def odd_runs(site: Site) -> dict[str, subprocess.CompletedProcess]:
    """One study whose trial n returns metrics of ODD_KINDS[n]; one whose trial n has the
    objective ODD_OBJECTIVES[n]: a run each for many cases."""
    return {c["study"]: site.snakemake(config=c) for c in (ODD_METRICS_STUDY, ODD_OBJECTIVES_STUDY)}


def assert_ran_to_consistent_tables(
    site: Site, done: subprocess.CompletedProcess, config: dict
) -> list[dict]:
    assert done.returncode == 0, done.stdout + done.stderr
    return assert_tables_match_trials(site.workdir / "results" / config["study"], config["n_trial"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ODD_KINDS)
def test_odd_metric_runs_to_consistent_tables(site: Site, odd_runs: dict, kind: str):
    rows = assert_ran_to_consistent_tables(site, odd_runs["odd_metrics"], ODD_METRICS_STUDY)
    row = rows[ODD_KINDS.index(kind)]
    if kind in REAL_METRICS:
        assert (row["status"], row["z"]) == ("success", REAL_METRICS[kind]), row
    else:
        assert row["status"] != "success" and row["reason"], row  # never a silent wrong result
    site.assert_beside_unchanged()


@pytest.mark.slow
@pytest.mark.parametrize(
    "number", range(len(ODD_OBJECTIVES)), ids=["nan", "text", "none", "list", "inf", "numeric_text", "bool"]
)
def test_odd_objective_runs_to_consistent_tables(site: Site, odd_runs: dict, number: int):
    rows = assert_ran_to_consistent_tables(site, odd_runs["odd_objectives"], ODD_OBJECTIVES_STUDY)
    assert rows[number]["status"] != "success" and rows[number]["reason"], rows[number]
    site.assert_beside_unchanged()


RUNS = [
    ("generator_none", base(study="generator_none", generator="tests.edge_models:generator_none")),
    ("generator_number", base(study="generator_number", generator="tests.edge_models:generator_number")),
    ("generator_bad_xml", base(study="generator_bad_xml", generator="tests.edge_models:generator_bad_xml")),
    (
        "choice_mixed_kinds",
        base(
            study="mixed",
            n_trial=5,
            parameters={
                "height": {"dist": "uniform", "low": 0.5, "high": 1.5},
                "shape": {"dist": "choice", "values": [1, "a", True, None, [1, 2]], "nominal": "a"},
                "tag": {"dist": "constant", "value": "label"},
            },
        ),
    ),
    (
        "degenerate_bounds_unicode_units",
        base(
            study="degenerate",
            trials_per_job=50,
            parameters={
                "height": {"dist": "uniform", "low": 1.0, "high": 1.0, "unit": "m/s²"},
                "count": {"dist": "integer", "low": 2, "high": 2},
                "spread": {"dist": "normal", "mean": 0.0, "std": 0.0},
            },
            metric_units={"z": "µm"},
        ),
    ),
    ("no_trials", base(study="empty", n_trial=0)),
    ("resume_false_new_study", base(study="fresh", resume=False)),
    ("resume_false_finished_dry_run", base(study=BESIDE, n_trial=4, resume=False)),
]


@pytest.mark.slow
@pytest.mark.parametrize("config", [pytest.param(c, id=i) for i, c in RUNS])
def test_unusual_study_runs_to_consistent_tables(site: Site, config: dict):
    args = ["-n"] if config["study"] == BESIDE else []  # reading a finished study changes nothing
    assert_ran_to_consistent_tables(site, site.snakemake(*args, config=config), config)
    site.assert_beside_unchanged()
