"""Edges of the results side (issue 10): tables of values of any kind the config allows, names
that would collide with the tables' own columns, non-finite metrics, ``resume: false`` on a
finished study, optimisation studies in ``mojo status``/``show``/``--report``, and ``mojo
status``/``show`` given a folder that is not what they take. User code: tests/edge_results_models.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet
import pytest

from mojo.cli import main as mojo_main
from mojo.config.study import ConfigError, load_study
from mojo.results import plots
from mojo.results.aggregate import summary_table, trials_table, write_tables
from mojo.trials.files import TABLE_COLUMNS, BatchManifest, TrialRow, write_model
from mojo.trials.trial import UserCode, code_hashes, config_template, plan_trial, run_trial
from tests.conftest import Workflow

PLOT_FILES = {name: f"{name}.png" for name in ("status", "parameters", "metrics", "scatter", "slowest")}
PLOT_FILES["summary"] = "summary.html"


def _outputs(folder: Path) -> dict[str, Path]:
    return {name: folder / file for name, file in PLOT_FILES.items()}


def _row(trial: int, values: dict, metrics: dict | None = None, status: str = "success") -> TrialRow:
    return TrialRow(
        trial=trial,
        status=status,
        values=values,
        metrics=metrics or {"m": float(trial)},
        wall_time=0.01 * (trial + 1),
    )


# --- 1. columns of any kind -------------------------------------------------------------------

MIXED_ROWS = [
    # a choice of numbers and strings; a string nominal on a number; booleans; lists; a huge int
    _row(0, {"mixed": 1, "nominal": "low", "flag": True, "shape": [1, 2], "big": 2**70, "whole": 3}),
    _row(1, {"mixed": "a", "nominal": 0.25, "flag": False, "shape": [3], "big": 1, "whole": 4}),
    _row(
        2,
        {"mixed": 2.5, "nominal": 0.75, "flag": True, "shape": [1, 2], "big": 2, "whole": 5},
        status="failure",
    ),
]


def test_columns_of_mixed_kinds_make_well_defined_tables(tmp_path):
    manifest = tmp_path / "batch.json"
    write_model(manifest, BatchManifest(first=0, last=2, rows=MIXED_ROWS))
    parquet, csv, summary = tmp_path / "t.parquet", tmp_path / "t.csv", tmp_path / "s.csv"
    write_tables([manifest], parquet, csv, summary)
    table = pyarrow.parquet.read_table(parquet)
    kinds = {name: str(table.schema.field(name).type) for name in table.column_names}
    assert kinds["whole"] == "int64" and kinds["flag"] == "bool" and kinds["m"] == "double"
    for name in ("mixed", "nominal", "shape", "big"):
        assert kinds[name] == "string", name
        # every cell is the value's JSON text, the same in the Parquet file and the CSV
        assert [json.loads(v) for v in table.column(name).to_pylist()] == [r.values[name] for r in MIXED_ROWS]
    from_csv = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert list(from_csv["mixed"]) == ["1", '"a"', "2.5"]
    assert list(from_csv.columns[:3]) == list(TABLE_COLUMNS[:3])
    assert list(from_csv.columns[-2:]) == list(TABLE_COLUMNS[-2:])
    stats = pd.read_csv(summary)
    assert set(stats.loc[stats["kind"] == "parameter", "name"]) == {"whole"}
    plots.monte_carlo_plots(table.to_pandas(), stats, dict.fromkeys(MIXED_ROWS[0].values), _outputs(tmp_path))
    assert all(path.stat().st_size > 1000 for path in _outputs(tmp_path).values())


def test_metric_colliding_in_old_trial_files_is_named_not_overwritten():
    rows = [_row(0, {"length": 1.0}, {"objective": 2.0}), _row(1, {"length": 1.5}, {"length": 3.0})]
    with pytest.raises(ValueError, match=r"length, objective name both a metric and a parameter"):
        trials_table(rows)


# --- 2. reserved names ------------------------------------------------------------------------


def _study(**changes) -> dict:
    config = {
        "study": "edges",
        "n_trial": 4,
        "generator": "tests.edge_results_models:build",
        "runtime": "tests.edge_results_models:odd_runtime",
        "objective": "tests.edge_results_models:angle_objective",
        "parameters": {
            "mode": {"dist": "choice", "values": ["plain"]},
            "length": {"dist": "uniform", "low": 0.4, "high": 0.6, "unit": "m"},
        },
    }
    config.update(changes)
    return config


@pytest.mark.parametrize("name", TABLE_COLUMNS)
def test_parameter_with_a_reserved_name_is_refused(name):
    parameters = {name: {"dist": "uniform", "low": 0.0, "high": 1.0}}
    with pytest.raises(ConfigError) as refused:
        load_study(_study(parameters=parameters))
    message = str(refused.value)
    assert f"parameters.{name}" in message and "reserved" in message
    assert ", ".join(TABLE_COLUMNS) in message


# --- 3. metrics of odd kinds, non-finite metrics --------------------------------------------


def _run_mode(tmp_path: Path, mode: str):
    study = load_study(
        _study(
            results_dir=str(tmp_path),
            overrides={"mode": mode},
            parameters={**_study()["parameters"], "mode": {"dist": "choice", "values": [mode]}},
        )
    )
    plan = plan_trial(study, 0, tmp_path / "trial_0000", config_template(study, code_hashes(study)))
    return run_trial(plan, UserCode.load(study))


def test_a_metric_is_any_real_number_and_nothing_else(tmp_path):
    numbers = _run_mode(tmp_path / "numbers", "numpy")  # NumPy scalars, bools and ints
    assert numbers.status == "success", numbers.reason
    assert numbers.metrics == {
        "angle": pytest.approx(numbers.metrics["angle"]),
        "speed": 3.0,
        "flag": 1.0,
        "off": 0.0,
    }
    assert all(type(v) is float for v in numbers.metrics.values())
    text = _run_mode(tmp_path / "text", "string")  # float("1.5") would silently accept it
    assert (text.status, text.metrics) == ("error", {})


@pytest.mark.parametrize(
    "mode, reason",
    [
        ("nan", "metric speed is nan"),
        ("inf", "metric speed is -inf"),
        ("objective_inf", "objective is inf"),
    ],
)
def test_non_finite_metric_or_objective_is_a_failure_naming_it(tmp_path, mode, reason):
    result = _run_mode(tmp_path, mode)
    assert (result.status, result.reason) == ("failure", reason)
    assert math.isfinite(result.metrics["angle"])  # the finite metrics are kept
    assert result.objective is None
    if mode != "objective_inf":
        assert result.metrics["speed"] is None


@pytest.mark.parametrize(
    "mode, words",
    [
        ("reserved", ["metric 'status'", "reserved", ", ".join(TABLE_COLUMNS)]),
        ("parameter", ["metric 'length'", "parameter"]),
        ("string", ["metric 'speed'", "'1.5'", "not a real number"]),
        ("none", ["metric 'speed'", "None", "not a real number"]),
    ],
)
def test_metric_with_a_taken_name_or_no_number_is_an_error_naming_it(tmp_path, mode, words):
    result = _run_mode(tmp_path, mode)
    assert result.status == "error"
    assert all(word in result.reason for word in words), result.reason


def test_plots_and_summary_say_when_no_trial_succeeded(tmp_path, monkeypatch):
    rows = [_row(n, {"length": 0.5 + n / 10}, {"m": None}, status="failure") for n in range(4)]
    table = trials_table(rows)
    notes = []
    original = plots.note
    monkeypatch.setattr(plots, "note", lambda ax, text: (notes.append(text), original(ax, text)))
    outputs = _outputs(tmp_path)
    plots.monte_carlo_plots(
        table.to_pandas(), summary_table(table, rows).to_pandas(), {"length": "m"}, outputs
    )
    assert sum("no trial succeeded (4 trials: failure 4)" in n for n in notes) == 2  # metrics, scatter
    assert "no trial succeeded (4 trials: failure 4)" in outputs["summary"].read_text()


# --- real runs ---------------------------------------------------------------------------------


def _trial_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("trial_*/*"))}


@pytest.mark.slow
def test_odd_values_run_to_tables_that_match_the_trial_files(workflow: Workflow):
    modes = ["plain", "numpy", "nan", "reserved", "string", "objective_inf"]
    workflow.write_config(
        _study(
            n_trial=6,
            n_proc=2,
            parameters={
                "mode": {"dist": "choice", "values": modes},
                "mixed": {"dist": "choice", "values": [1, "one", 2.5, [1, 2]]},
                "length": {"dist": "uniform", "low": 0.4, "high": 0.6, "unit": "m"},
            },
        )
    )
    workflow.run()
    study = workflow.study_dir("edges")
    table = pyarrow.parquet.read_table(study / "trials.parquet")
    csv = pd.read_csv(study / "trials.csv", dtype={"mixed": str})
    assert len(table) == len(csv) == 6
    expected = {"nan": "failure", "reserved": "error", "string": "error", "objective_inf": "failure"}
    for row, csv_mixed in zip(table.to_pylist(), csv["mixed"]):
        folder = study / f"trial_{row['trial']:04d}"
        result = json.loads((folder / "result.json").read_text())
        values = json.loads((folder / "named_values.json").read_text())
        assert (row["status"], row["reason"], row["objective"]) == (
            result["status"],
            result["reason"],
            result["objective"],
        )
        assert {m: row[m] for m in result["metrics"]} == result["metrics"]
        assert row["mixed"] == csv_mixed == json.dumps(values["mixed"]["value"])
        assert row["status"] == expected.get(values["mode"]["value"], "success"), row["reason"]
    assert table.column_names[:3] == ["trial", "status", "reason"] and table.column_names[-1] == "wall_time"
    assert all((study / "plots" / file).exists() for file in PLOT_FILES.values())


@pytest.mark.slow
def test_resume_false_refuses_only_to_change_a_finished_study(workflow: Workflow):
    config = _study(n_trial=4, n_proc=2, resume=False)
    workflow.write_config(config)
    workflow.run()
    study = workflow.study_dir("edges")
    assert workflow.run("-n").returncode == 0
    assert workflow.run("--report", str(study / "report.html")).returncode == 0
    # a killed run: a batch without its manifest, a trial without its result
    next(study.glob(".mojo/batches/*.json")).unlink()
    (study / "trial_0001" / "result.json").unlink()
    workflow.run()
    assert (study / "trial_0001" / "result.json").exists()
    finished = _trial_files(study)
    for change in ({"seed": 5}, {"n_trial": 6}, {"duration": 0.5}):
        workflow.write_config({**config, **change})
        refused = workflow.run(check=False)
        assert refused.returncode == 1, change
        assert "resume is false" in refused.stderr and "Nothing was changed" in refused.stderr
        assert _trial_files(study) == finished, change
    workflow.write_config({**config, "n_trial": 6, "resume": True})
    workflow.run()
    assert (study / "trial_0005" / "result.json").exists()


@pytest.mark.slow
def test_an_optimisation_is_known_to_status_show_and_report(workflow: Workflow, capsys):
    workflow.write_config(
        {
            "study": "box",
            "seed": 11,
            "n_proc": 2,
            "n_trial": 3,
            "generator": "mojo.examples.sliding_box:build",
            "metrics": "mojo.examples.sliding_box:metrics",
            "objective": "mojo.examples.sliding_box:objective",
            "duration": 0.5,
            "parameters": {
                "friction": {"dist": "uniform", "low": 0.1, "high": 1.5},
                "speed": {"dist": "constant", "value": 2.0},
            },
            "optimize": {
                "direction": "minimize",
                "n_trial": 4,
                "trials_per_round": 2,
                "evals_per_trial": 2,
                "search_space": {"friction": {"type": "float", "low": 0.1, "high": 1.5}},
            },
        }
    )
    workflow.run()  # no target named: an optimisation config's default target is the optimisation
    study = workflow.study_dir("box")
    assert (study / "optimize" / "best.json").exists() and not list(study.glob("trial_*"))
    assert mojo_main(["status", str(study)]) == 0
    text = capsys.readouterr().out
    assert "4 of 4 trials asked, 4 told" in text and "best so far: trial" in text
    assert "success 8" in text and "of 3 trials finished" not in text
    assert mojo_main(["status", str(study), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert sum(status["optimization"]["counts"].values()) == 8 and status["monte_carlo"] is False
    assert mojo_main(["show", str(study / "optimize" / "trial_0001_eval_1")]) == 0
    assert capsys.readouterr().out.startswith("evaluation 1 of optimisation trial 1 of study box")
    report = study / "report.html"
    workflow.run("--report", str(report))
    page = report.read_text()
    assert "history.png" in page and "Optimisation study" in page and "Monte Carlo" not in page


# --- 6. mojo status / show given the wrong folder ------------------------------------------------


@pytest.fixture
def results(tmp_path) -> Path:
    """results/ holding two studies, one with a finished trial."""
    for name in ("a", "b"):
        trial = tmp_path / "results" / name / "trial_0003"
        trial.mkdir(parents=True)
        (trial / "config.json").write_text("{}")
    (tmp_path / "results" / "a" / "trial_0003" / "result.json").write_text(
        json.dumps({"trial": 3, "status": "success", "wall_time": 0.1})
    )
    (tmp_path / "notes.txt").write_text("not a study")
    return tmp_path / "results"


@pytest.mark.parametrize(
    "command, path, words",
    [
        ("status", ".", ["is a results folder holding studies a, b", "results/a"]),
        ("status", "a/trial_0003", ["is a trial folder", "mojo show"]),
        ("status", "nowhere", ["does not exist"]),
        ("status", "../notes.txt", ["is a file"]),
        ("status", "..", ["is not a study folder"]),
        ("show", "a", ["is a study folder", "add a trial number"]),
        ("show", ".", ["is a results folder holding studies a, b"]),
        ("show", "nowhere", ["does not exist"]),
    ],
)
def test_status_and_show_refuse_a_folder_they_do_not_take(results, capsys, command, path, words):
    assert mojo_main([command, str(results / path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert all(word in captured.err for word in words), captured.err


def test_status_counts_a_study_and_names_the_studies_of_its_parent(results, capsys):
    assert mojo_main(["status", str(results / "a")]) == 0
    assert "1 trials finished" in capsys.readouterr().out
    assert mojo_main(["status", str(results)]) == 2
    assert "pass one of them, e.g. " + str(results / "a") in capsys.readouterr().err
