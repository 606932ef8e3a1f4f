"""Files that are present but wrong: a rerun re-makes exactly what a damaged file belongs to.

Each damage (half the bytes, random bytes of the same length, an empty file, valid JSON or XML of
another schema) is applied to one file of a finished 6-trial, 2-job study (a copy of one reference
run, modification times kept), then the real workflow runs again. Also: what a writer killed
before its rename leaves, the tables' atomic writes, and what `mojo status` / `mojo show` say.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mojo.config.study import load_study
from mojo.results import aggregate
from mojo.results.show import format_trial, load_trial
from mojo.results.status import format_status, scan
from mojo.trials.batch import run_batch
from tests.conftest import REPO, Workflow, ball_config, reproducible_files

CONFIG = ball_config(n_trial=6)  # n_proc 2: batches 0-2 and 3-5
DAMAGED_TRIAL = "trial_0001"
MANIFEST = ".mojo/batches/trials_0000-0002.json"
OTHER_MANIFEST = ".mojo/batches/trials_0003-0005.json"
TABLES = ("trials.parquet", "trials.csv", "summary.csv")
TIMINGS = ("wall_time", "timings")
"""The only fields of result.json that differ between two runs of a trial."""

WRONG_SCHEMA = {
    "result.json": b'{"trial": 1, "status": "success"}\n',
    "config.json": b'{"study": "balls"}\n',
    "named_values.json": b'{"height": 1.0}\n',
    "model.xml": b'<?xml version="1.0"?>\n<notmujoco/>\n',
    "manifest": b'{"first": 0, "last": 2, "rows": []}\n',
}
"""Whole files that parse, with the wrong contents for their kind."""


def damage(path: Path, how: str, kind: str) -> None:
    data = path.read_bytes()
    damaged = {
        "truncated": lambda: data[: len(data) // 2],
        "garbled": lambda: random.Random(7).randbytes(len(data)),  # same size: only mtime changes
        "empty": lambda: b"",
        "wrong_schema": lambda: WRONG_SCHEMA[kind],
    }[how]()
    path.write_bytes(damaged)


def snapshot(study: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the study but the plots and logs, with its mtime_ns."""
    return {
        str(p.relative_to(study)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(study.rglob("*"))
        if p.is_file() and "plots" not in p.parts and "logs" not in p.parts
    }


def without_timings(result: bytes) -> dict:
    return {k: v for k, v in json.loads(result).items() if k not in TIMINGS}


def assert_tables_match_trials(study: Path) -> None:
    table = pd.read_parquet(study / "trials.parquet").set_index("trial")
    assert list(table.index) == list(range(6))
    assert pd.read_csv(study / "trials.csv")["wall_time"].tolist() == pytest.approx(
        table["wall_time"].tolist()
    )
    for number in range(6):
        result = json.loads((study / f"trial_{number:04d}" / "result.json").read_text())
        row = table.loc[number]
        assert row["status"] == result["status"] and row["wall_time"] == result["wall_time"]
        assert {m: row[m] for m in result["metrics"]} == result["metrics"]
    summary = pd.read_csv(study / "summary.csv").set_index("name")
    assert summary.loc["success", "count"] == (table["status"] == "success").sum()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Workflow:
    """One finished study, run once; each test works on a copy."""
    workflow = Workflow(tmp_path_factory.mktemp("reference"))
    workflow.write_config(CONFIG)
    workflow.run()
    return workflow


@pytest.fixture
def finished(reference: Workflow, tmp_path: Path) -> Workflow:
    """A copy of the reference study (modification times kept, as a rerun would find them)."""
    shutil.copytree(reference.workdir, tmp_path / "work")
    return Workflow(tmp_path / "work")


# --- the workflow re-makes exactly what a damaged file belongs to ------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbled", "empty", "wrong_schema"])
@pytest.mark.parametrize("name", ["result.json", "config.json", "named_values.json", "model.xml"])
def test_damaged_trial_file_remakes_exactly_its_trial(finished: Workflow, name: str, how: str):
    study = finished.study_dir()
    before = snapshot(study)
    files = reproducible_files(study)
    damage(study / DAMAGED_TRIAL / name, how, name)

    done = finished.run()

    after = snapshot(study)
    assert reproducible_files(study) == files  # model.xml, config.json, named_values.json: byte for byte
    result = f"{DAMAGED_TRIAL}/result.json"
    assert without_timings(after[result][1]) == without_timings(before[result][1])
    assert after[result][0] != before[result][0], "the damaged trial was not re-made"
    untouched = [p for p in before if p.startswith("trial_") and not p.startswith(DAMAGED_TRIAL)]
    assert {p: after[p] for p in untouched} == {p: before[p] for p in untouched}  # mtime and bytes
    assert after[OTHER_MANIFEST] == before[OTHER_MANIFEST]
    assert_tables_match_trials(study)
    assert f"{DAMAGED_TRIAL}/{name} is unreadable" in done.stderr


@pytest.mark.slow
def test_trial_remade_once_then_nothing_is_remade(finished: Workflow):
    study = finished.study_dir()
    files = reproducible_files(study)
    damage(study / DAMAGED_TRIAL / "config.json", "truncated", "config.json")
    finished.run()
    assert reproducible_files(study) == files
    remade = {p: v for p, v in snapshot(study).items() if p.startswith("trial_")}
    finished.run()  # Snakemake may collect the batch's rows once more (its input set changed back)
    assert {p: v for p, v in snapshot(study).items() if p.startswith("trial_")} == remade
    assert "Nothing to be done" in finished.run("-n").stdout


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbled", "empty", "wrong_schema"])
def test_damaged_manifest_is_made_again_from_its_trials(finished: Workflow, how: str):
    study = finished.study_dir()
    before = snapshot(study)
    damage(study / MANIFEST, how, "manifest")

    done = finished.run()  # before: the aggregate failed, and the tables were deleted

    after = snapshot(study)
    trial_files = [p for p in before if p.startswith("trial_")]
    assert {p: after[p] for p in trial_files} == {p: before[p] for p in trial_files}  # no trial re-made
    assert after[OTHER_MANIFEST] == before[OTHER_MANIFEST]
    assert json.loads(after[MANIFEST][1])["rows"] == json.loads(before[MANIFEST][1])["rows"]
    assert_tables_match_trials(study)
    assert "Nothing to be done" in finished.run("-n").stdout
    assert f"{MANIFEST} is unreadable" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbled", "empty"])
@pytest.mark.parametrize("table", TABLES)
def test_damaged_table_is_made_again(finished: Workflow, table: str, how: str):
    study = finished.study_dir()
    before = snapshot(study)
    damage(study / table, how, table)

    done = finished.run()

    after = snapshot(study)
    assert after[table][1] == before[table][1]
    others = [p for p in before if p.startswith(("trial_", ".mojo/batches/"))]
    assert {p: after[p] for p in others} == {p: before[p] for p in others}  # trials, manifests untouched
    assert_tables_match_trials(study)
    assert f"{table} is unreadable" in done.stderr


@pytest.mark.slow
def test_single_trial_request_remakes_a_trial_with_a_damaged_file(finished: Workflow):
    """`snakemake .../trial_0001/result.json` (rule trial) re-makes a trial whose config.json is
    garbage even when its result.json is whole."""
    study = finished.study_dir()
    files = reproducible_files(study)
    damage(study / DAMAGED_TRIAL / "config.json", "garbled", "config.json")
    s = load_study(CONFIG | {"results_dir": str(finished.workdir / "results")})
    run_batch(s, 1, 1)  # what rule trial runs
    assert reproducible_files(study) == files


# --- leftovers of killed writers, atomic tables ------------------------------------------------

KILL_AT_RENAME = """
import os, signal, sys
from pathlib import Path
from mojo.trials.batch import run_batch
from mojo.config.study import load_study
import yaml

target = sys.argv[2]
real_replace = os.replace
def replace(src, dst, *args, **kwargs):
    if str(dst).endswith(target):  # the temporary file is written, the rename not done
        os.killpg(0, signal.SIGKILL)  # the whole job, as kill -9 of the run does
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace
os.chdir(sys.argv[1])
study = load_study(yaml.safe_load(Path("study.yaml").read_text()))
run_batch(study, 0, 2, Path("results/balls/.mojo/batches/trials_0000-0002.json"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("target", [f"{DAMAGED_TRIAL}/result.json", "trials_0000-0002.json"])
def test_files_left_by_a_killed_writer_are_removed(reference: Workflow, tmp_path: Path, target: str):
    workflow = Workflow(tmp_path)
    workflow.write_config(CONFIG)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_RENAME, str(tmp_path), target], env=env, start_new_session=True
    )
    assert killed.returncode == -signal.SIGKILL
    study = workflow.study_dir()
    assert list(study.rglob(".*.tmp")), "the kill left no temporary file"

    workflow.run()

    assert not list(study.rglob(".*.tmp"))
    assert reproducible_files(study) == reproducible_files(reference.study_dir())
    assert_tables_match_trials(study)


def test_tables_are_replaced_whole_or_not_at_all(finished: Workflow, monkeypatch):
    study = finished.study_dir()
    manifests = sorted((study / ".mojo" / "batches").glob("*.json"))
    tables = [study / name for name in TABLES]
    before = {t: t.read_bytes() for t in tables}

    def half_then_crash(table, path):
        path.write_text("trial,status\n0,succ")
        raise OSError("disk full")

    monkeypatch.setattr(aggregate, "write_csv", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        aggregate.write_tables(manifests, *tables)
    assert {t: t.read_bytes() for t in tables} == before
    assert not list(study.glob(".*.tmp"))


# --- mojo status and mojo show -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "garbled", "empty", "wrong_schema"])
@pytest.mark.parametrize("name", ["result.json", "config.json", "named_values.json", "model.xml"])
def test_status_and_show_name_the_unreadable_file(finished: Workflow, name: str, how: str):
    study = finished.study_dir()
    damage(study / DAMAGED_TRIAL / name, how, name)

    status = scan(study)
    assert list(status.unreadable) == [f"{DAMAGED_TRIAL}/{name}"]
    assert status.finished == 5 and status.left == 1 and status.started == 1  # to be re-made
    text = format_status(status)
    assert (
        f"{DAMAGED_TRIAL}/{name}: " in text
        and "not finished (running or interrupted) 1, not started 0" in text
    )

    trial = load_trial(study / DAMAGED_TRIAL)
    assert list(trial["unreadable"]) == [name]
    assert f"  {name}: " in format_trial(trial)


@pytest.mark.parametrize("how", ["truncated", "garbled", "empty"])
def test_status_names_an_unreadable_manifest(finished: Workflow, how: str):
    study = finished.study_dir()
    damage(study / MANIFEST, how, "manifest")
    status = scan(study)
    assert list(status.unreadable) == [MANIFEST]
    assert status.finished == 6  # its trials are whole: the next run only collects their rows again


def test_show_command_reports_unreadable_files_without_a_traceback(finished: Workflow):
    trial = finished.study_dir() / DAMAGED_TRIAL
    damage(trial / "result.json", "garbled", "result.json")
    damage(trial / "named_values.json", "wrong_schema", "named_values.json")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    shown = subprocess.run(
        [sys.executable, "-m", "mojo.cli", "show", str(trial)], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0 and "Traceback" not in shown.stderr
    assert "named_values.json: " in shown.stdout and "result.json: " in shown.stdout
    assert "result: unreadable" in shown.stdout
