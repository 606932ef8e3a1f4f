"""The rule files: every rule has a log, `snakemake --lint` finds nothing, and every path a rule
makes comes from mojo.trials.layout (the optimiser's from mojo.optimize.files), unchanged on disk.

The workflow is read through Snakemake's public interfaces only: `--list-rules`, `--lint`, and a
Snakefile that includes the study's and reads `rules.<name>.output` / `.log`, as any Snakefile may.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mojo.config.study import load_study
from mojo.optimize import files as opt_files
from mojo.trials import layout
from tests.conftest import REPO, SNAKEMAKE

# Reads the rules named in MOJO_PROBE_RULES after the study's Snakefile made them, and writes their
# output and log patterns to MOJO_PROBE_OUT (at parse time: any snakemake command will do).
PROBE = """
import json, os
from pathlib import Path

include: "Snakefile"

Path(os.environ["MOJO_PROBE_OUT"]).write_text(json.dumps({
    name: {"output": [str(f) for f in getattr(rules, name).output],
           "log": [str(f) for f in getattr(rules, name).log]}
    for name in os.environ["MOJO_PROBE_RULES"].split()
}))
"""

CONFIGS = ("config/config.yaml", "config/optimize.yaml")


def _study_folder(tmp_path: Path) -> Path:
    """A study folder as `mojo init` makes it: the repository's Snakefile, profiles and configs."""
    shutil.copy(REPO / "Snakefile", tmp_path / "Snakefile")
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "probe.smk").write_text(PROBE)
    return tmp_path


def _snakemake(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory) -> Path:
    return _study_folder(tmp_path_factory.mktemp("study"))


@pytest.fixture(scope="module")
def workflow_rules(study_folder) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Each config's rules, read once for the module's tests."""
    return {config: _rules(study_folder, config) for config in CONFIGS}


def _rules(folder: Path, config: str) -> dict[str, dict[str, list[str]]]:
    """Every rule of the workflow under ``config``, with its output and log patterns."""
    listed = _snakemake(folder, "--list-rules", "--configfile", config)
    assert listed.returncode == 0, listed.stderr
    names = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
    out = folder / "probe.json"
    env = {"MOJO_PROBE_OUT": str(out), "MOJO_PROBE_RULES": " ".join(names)}
    probed = _snakemake(folder, "-s", "probe.smk", "--list-rules", "--configfile", config, env=env)
    assert probed.returncode == 0, probed.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("config", CONFIGS)
def test_every_rule_has_a_log_and_the_lint_is_clean(study_folder, workflow_rules, config):
    rules = workflow_rules[config]
    assert "trial_batch" in rules and "aggregate" in rules
    # A rule that makes files is a job (target rules such as `all` make none).
    assert [name for name, rule in rules.items() if rule["output"] and not rule["log"]] == []
    lint = _snakemake(study_folder, "--lint", "--configfile", config)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr


def test_the_rules_take_their_paths_from_layout(study_folder, workflow_rules):
    study = load_study(yaml.safe_load((study_folder / CONFIGS[0]).read_text()))
    rules = workflow_rules[CONFIGS[0]]

    def padded(number: int) -> str:
        return f"{number:0{study.padding_width}d}"

    # Each pattern, filled in, is the concrete path layout gives the code that reads it...
    (manifest,) = rules["trial_batch"]["output"]
    assert manifest == layout.manifest_pattern(study)
    assert manifest.format(first=padded(0), last=padded(99)) == str(layout.manifest_path(study, 0, 99))
    trial_files = [f.format(trial=padded(7)) for f in rules["trial"]["output"]]
    assert [Path(f).parent for f in trial_files] == [layout.trial_dir(study, 7)] * 4
    tables = {*map(str, layout.tables(study).values()), str(layout.tables_record(study))}
    assert set(rules["aggregate"]["output"]) == tables
    assert set(rules["plots"]["output"]) == {str(p) for p in layout.plots(study).values()}
    assert set(rules["environment"]["output"]) == {str(p) for p in layout.environment(study).values()}
    assert rules["trial_batch"]["log"] == [layout.log_pattern(study, "batch")]
    assert rules["trial"]["log"] == [layout.log_pattern(study, "trial")]

    # ...and the files stay where the studies made before this layout have them.
    study_dir = "results/pendulum"
    assert manifest == f"{study_dir}/.mojo/batches/trials_{{first}}-{{last}}.json"
    assert rules["trial_batch"]["log"] == [f"{study_dir}/.mojo/logs/trials_{{first}}-{{last}}.log"]
    assert rules["trial"]["log"] == [f"{study_dir}/.mojo/logs/trial_{{trial}}.log"]
    assert sorted(trial_files) == sorted(
        f"{study_dir}/trial_{padded(7)}/{name}"
        for name in ("model.xml", "config.json", "named_values.json", "result.json")
    )
    assert tables == {
        f"{study_dir}/{name}" for name in ("trials.parquet", "trials.csv", "summary.csv", ".mojo/tables.json")
    }


def test_the_optimisation_rules_take_their_paths_from_optimize_files(study_folder, workflow_rules):
    study = load_study(yaml.safe_load((study_folder / CONFIGS[1]).read_text()))
    rules = workflow_rules[CONFIGS[1]]

    (round_file,) = rules["optimize_step"]["output"]
    assert round_file.format(round=opt_files.round_name(3)) == str(opt_files.round_path(study, 3))
    (batch,) = rules["optimize_evals"]["output"]
    assert batch.format(round=opt_files.round_name(3), job=1) == str(opt_files.batch_path(study, 3, 1))
    results = {*map(str, opt_files.results(study).values()), str(opt_files.results_record_path(study))}
    assert set(rules["optimize_finish"]["output"]) == results
    assert rules["optimize_budget"]["output"] == [str(opt_files.budget_path(study))]
    assert set(rules["optimize_plots"]["output"]) == {str(p) for p in opt_files.plot_paths(study).values()}

    # The optimisation folder is inside the study folder, where earlier runs left it.
    opt_dir = "results/sliding_box/optimize"
    assert str(opt_files.opt_dir(study)) == opt_dir
    assert round_file == f"{opt_dir}/rounds/round_{{round}}.json"
    assert batch == f"{opt_dir}/rounds/round_{{round}}/batch_{{job}}.json"
    assert rules["optimize_step"]["log"] == [f"{opt_dir}/.mojo/logs/step_{{round}}.log"]
    assert rules["optimize_evals"]["log"] == [f"{opt_dir}/.mojo/logs/evals_{{round}}_{{job}}.log"]
    assert results == {
        f"{opt_dir}/{name}"
        for name in (
            "best.json",
            "trials.parquet",
            "trials.csv",
            "evaluations.parquet",
            "evaluations.csv",
            ".mojo/results.json",
        )
    }
