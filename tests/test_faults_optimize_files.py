"""The optimisation's files present but wrong: a rerun re-makes exactly what a damaged file
belongs to (issue 9), as tests/test_faults_files.py checks for the Monte Carlo files.

Each damage (half the bytes, random bytes of the same length, an empty file, JSON of another
schema) is applied to one file of a finished 6-trial optimisation in 3 rounds (a copy of one
reference run, modification times kept); then `snakemake optimize` runs again.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mojo.results.status import format_status, scan
from tests.conftest import REPO, Workflow, ball_config
from tests.fault_optimize_models import box_config

OPT = "results/box/optimize"
EVALUATION = "trial_0001_eval_0"
FILES = {
    "first_round": "rounds/round_0000.json",
    "round": "rounds/round_0001.json",
    "stop_round": "rounds/round_0002.json",
    "manifest": "rounds/round_0000/batch_0.json",
    "evaluation_result": f"{EVALUATION}/result.json",
    "evaluation_config": f"{EVALUATION}/config.json",
    "best": "best.json",
    "trials_table": "trials.parquet",
    "evaluations_csv": "evaluations.csv",
    "budget": ".mojo/budget.json",
}
WRONG_SCHEMA = {
    "first_round": b'{"round": 0, "study_name": "box"}\n',
    "round": b'{"round": 1, "jobs": 1}\n',
    "stop_round": b"[]\n",
    "manifest": b'{"round": 0, "job": 0, "rows": []}\n',
    "evaluation_result": b'{"trial": 1001, "status": "success"}\n',
    "evaluation_config": b'{"study": "box"}\n',
    "best": b'{"trial": 0}\n',
    "budget": b'{"n_trial": "many"}\n',
}
DAMAGES = ["truncated", "garbled", "empty", "wrong_schema"]


def damage(path: Path, how: str, kind: str) -> None:
    data = path.read_bytes()
    path.write_bytes(
        {
            "truncated": lambda: data[: len(data) // 2],
            "garbled": lambda: random.Random(7).randbytes(len(data)),
            "empty": lambda: b"",
            "wrong_schema": lambda: WRONG_SCHEMA[kind],
        }[how]()
    )


def snapshot(out: Path) -> dict[str, tuple[int, bytes]]:
    """The loop's files (rounds, manifests, evaluations) with their mtime_ns."""
    return {
        str(p.relative_to(out)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.parts[len(out.parts)] in ("rounds",) or p.parent.name.startswith("trial_")
    }


def tables(out: Path) -> dict:
    return {
        name: pd.read_parquet(out / f"{name}.parquet").drop(columns="wall_time").to_json()
        for name in ("trials", "evaluations")
    } | {"best": json.loads((out / "best.json").read_text())}


def storage_trials(out: Path) -> list:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="box", storage=f"sqlite:///{out / 'study.db'}")
    return [
        (t.number, t.state.name, t.params, t.value, t.user_attrs) for t in study.get_trials(deepcopy=False)
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Workflow:
    workflow = Workflow(tmp_path_factory.mktemp("reference"))
    workflow.write_config(box_config(n_trial=6))
    workflow.run("optimize")
    return workflow


@pytest.fixture
def finished(reference: Workflow, tmp_path: Path) -> Workflow:
    shutil.copytree(reference.workdir, tmp_path / "work", symlinks=True)
    return Workflow(tmp_path / "work")


def cases():
    for kind in FILES:
        for how in DAMAGES:
            if how == "wrong_schema" and kind not in WRONG_SCHEMA:
                continue
            yield pytest.param(kind, how, id=f"{kind}-{how}")


@pytest.mark.slow
@pytest.mark.parametrize("kind, how", list(cases()))
def test_a_damaged_optimisation_file_is_remade_and_nothing_else(finished: Workflow, kind: str, how: str):
    out = finished.workdir / OPT
    name = FILES[kind]
    before, results, trials = snapshot(out), tables(out), storage_trials(out)
    original = (out / name).read_bytes()
    damage(out / name, how, kind)

    done = finished.run("optimize")

    assert f"{name} is unreadable" in done.stderr
    after = snapshot(out)
    if kind.startswith("evaluation"):  # re-simulated: only its timings differ
        result = json.loads((out / EVALUATION / "result.json").read_text())
        assert {k: v for k, v in result.items() if k not in ("wall_time", "timings")} == {
            k: v
            for k, v in json.loads(before[f"{EVALUATION}/result.json"][1]).items()
            if k not in ("wall_time", "timings")
        }
        assert (out / name).read_bytes() == original or name.endswith("result.json")
    elif kind not in ("trials_table", "evaluations_csv"):
        assert (out / name).read_bytes() == original  # round files too: their times are kept
    # No evaluation but the damaged one was simulated again; every round file is the same, bytes.
    untouched = [p for p in before if p.startswith("trial_") and not p.startswith(EVALUATION)]
    assert {p: after[p] for p in untouched} == {p: before[p] for p in untouched}
    rounds = [p for p in before if p.startswith("rounds/") and p.count("/") == 1]
    assert {p: after[p][1] for p in rounds} == {p: before[p][1] for p in rounds}
    assert tables(out) == results
    assert storage_trials(out) == trials
    assert "Nothing to be done" in finished.run("-n", "optimize").stdout


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbled", "empty"])
def test_a_damaged_storage_is_set_aside_and_rebuilt_from_the_round_files(finished: Workflow, how: str):
    out = finished.workdir / OPT
    before, results, trials = snapshot(out), tables(out), storage_trials(out)
    damage(out / "study.db", how, "study.db")
    damaged = (out / "study.db").read_bytes()

    done = finished.run("optimize")

    assert "study.db is unreadable" in done.stderr and "Traceback" not in done.stderr
    assert (out / "study.db.unreadable").read_bytes() == damaged  # nothing is lost
    assert storage_trials(out) == trials
    assert snapshot(out) == before and tables(out) == results  # nothing evaluated or asked again


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbled", "wrong_schema"])
def test_a_damaged_study_record_is_remade(finished: Workflow, how: str):
    record = finished.workdir / "results/box/.mojo/study.json"
    damage(record, how, "budget")
    done = finished.run("optimize")
    assert ".mojo/study.json is unreadable" in done.stderr
    assert json.loads(record.read_text())["study"] == "box"


@pytest.mark.parametrize("kind", ["round", "manifest", "evaluation_config", "budget"])
def test_status_names_a_damaged_optimisation_file(finished: Workflow, kind: str):
    study = finished.workdir / "results/box"
    damage(study / "optimize" / FILES[kind], "garbled", kind)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    shown = subprocess.run(
        [sys.executable, "-m", "mojo.cli", "status", str(study)], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert f"optimize/{FILES[kind]}: " in shown.stdout
    assert f"optimize/{FILES[kind]}" in scan(study).optimization.unreadable


def test_status_names_a_damaged_study_record(finished: Workflow):
    study = finished.workdir / "results/box"
    damage(study / ".mojo/study.json", "truncated", "budget")
    assert ".mojo/study.json: " in format_status(scan(study))


@pytest.mark.slow
def test_a_damaged_study_record_under_resume_false_refuses_and_loses_nothing(tmp_path: Path):
    """resume: false compares a run with the record of the run that made the trials: with that
    record unreadable the run is refused, with the reason, and no trial changes."""
    workflow = Workflow(tmp_path)
    workflow.write_config(ball_config(n_trial=2, n_proc=1, resume=False))
    workflow.run()
    study = workflow.study_dir()
    trials = {p: p.read_bytes() for p in sorted(study.glob("trial_*/*"))}
    damage(study / ".mojo/study.json", "garbled", "budget")

    refused = workflow.run("--forcerun", "aggregate", check=False)

    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert ".mojo/study.json is unreadable" in refused.stderr
    assert "resume is false" in refused.stdout + refused.stderr
    assert {p: p.read_bytes() for p in sorted(study.glob("trial_*/*"))} == trials
