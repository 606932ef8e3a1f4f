"""The whole Monte Carlo workflow through real ``snakemake`` runs: resume, growth, provenance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, Workflow, ball_config, reproducible_files

pytestmark = pytest.mark.slow

NOTHING_TO_DO = "Nothing to be done"


def files_of(study_dir: Path, name: str) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(study_dir.glob(f"trial_*/{name}"))}


def metrics_of(study_dir: Path) -> dict[str, dict]:
    return {k: json.loads(v)["metrics"] for k, v in files_of(study_dir, "result.json").items()}


def test_study_runs_then_rerun_does_nothing(workflow: Workflow):
    workflow.write_config(ball_config())
    workflow.run()
    study = workflow.study_dir()
    assert sorted(p.name for p in study.glob("trial_*")) == [f"trial_{n:04d}" for n in range(12)]
    table = pd.read_parquet(study / "trials.parquet")
    assert list(table["trial"]) == list(range(12))
    assert set(table.columns) >= {"trial", "status", "height", "radius", "mass", "z", "speed", "wall_time"}
    assert (table["status"] == "success").all()
    assert table.loc[0, "height"] == 1.0  # the nominal trial
    assert pd.read_csv(study / "trials.csv")["z"].tolist() == pytest.approx(table["z"].tolist())
    summary = pd.read_csv(study / "summary.csv").set_index("name")
    assert summary.loc["success", "count"] == 12 and summary.loc["error", "count"] == 0
    assert summary.loc["height", "mean"] == pytest.approx(table["height"].mean())

    again = workflow.run()
    assert NOTHING_TO_DO in again.stdout + again.stderr


def test_growing_runs_only_new_trials_and_shrinking_deletes_nothing(workflow: Workflow):
    workflow.write_config(ball_config(trials_per_job=5))
    workflow.run()
    study = workflow.study_dir()
    before = {
        p.parent.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in study.glob("trial_*/result.json")
    }

    workflow.run("--config", "n_trial=20")
    after = {p.parent.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in study.glob("trial_*/result.json")}
    assert len(after) == 20
    assert {name: after[name] for name in before} == before  # finished trials untouched
    assert len(pd.read_parquet(study / "trials.parquet")) == 20

    workflow.run("--config", "n_trial=5")
    assert len(list(study.glob("trial_*/result.json"))) == 20
    assert list(pd.read_parquet(study / "trials.parquet")["trial"]) == [0, 1, 2, 3, 4]


def test_provenance_is_content_not_modification_time(workflow: Workflow):
    module = workflow.workdir / "my_models.py"
    module.write_text((REPO / "tests" / "trial_models.py").read_text())
    workflow.write_config(ball_config(generator="my_models:ball", metrics="my_models:height_metrics"))
    workflow.run()
    study = workflow.study_dir()
    first = files_of(study, "result.json")

    os.utime(module, (time.time() + 100, time.time() + 100))  # as a checkout or `touch` would
    assert NOTHING_TO_DO in workflow.run("-n").stdout

    module.write_text(module.read_text() + "\n# a change of content\n")
    workflow.run()
    remade = files_of(study, "result.json")
    assert all(remade[name] != first[name] for name in first)
    hashes = {
        json.loads(p.read_text())["code_hashes"]["generator"] for p in study.glob("trial_*/config.json")
    }
    assert len(hashes) == 1

    changed = ball_config(generator="my_models:ball", metrics="my_models:height_metrics")
    changed["parameters"]["height"]["high"] = 2.0
    workflow.write_config(changed)
    assert NOTHING_TO_DO not in workflow.run("-n").stdout


def test_deleted_trial_folder_is_remade(workflow: Workflow):
    workflow.write_config(ball_config())
    workflow.run()
    study = workflow.study_dir()
    before = reproducible_files(study)
    for path in (study / "trial_0003").iterdir():
        path.unlink()
    (study / "trial_0003").rmdir()
    (study / "trial_0007" / "model.xml").unlink()
    workflow.run()
    assert reproducible_files(study) == before


def test_a_trial_file_deleted_again_is_remade_again(workflow: Workflow):
    # Snakemake re-runs a job whose output exists only when its set of inputs *changed*: listing
    # the deleted file as the batch's input found the first deletion, not the same one again.
    workflow.write_config(ball_config())
    workflow.run()
    study = workflow.study_dir()
    before = reproducible_files(study)
    for _ in range(2):
        (study / "trial_0007" / "result.json").unlink()
        (study / "trial_0003" / "model.xml").unlink()
        workflow.run()
        assert reproducible_files(study) == before
    assert NOTHING_TO_DO in workflow.run("-n").stdout


def test_a_deleted_batch_manifest_is_made_again_and_its_trials_checked(workflow: Workflow):
    workflow.write_config(ball_config(trials_per_job=4))
    workflow.run()
    study = workflow.study_dir()
    before = reproducible_files(study)
    manifests = sorted((study / ".mojo" / "batches").iterdir())
    manifests[0].unlink()
    (study / "trial_0001" / "result.json").unlink()
    workflow.run()
    assert reproducible_files(study) == before
    assert sorted((study / ".mojo" / "batches").iterdir()) == manifests
    assert NOTHING_TO_DO in workflow.run("-n").stdout


def test_one_trial_can_be_asked_for_by_its_file(workflow: Workflow):
    workflow.write_config(ball_config())
    workflow.run("results/balls/trial_0003/model.xml")
    study = workflow.study_dir()
    assert [p.name for p in study.glob("trial_*")] == ["trial_0003"]
    assert json.loads((study / "trial_0003" / "result.json").read_text())["status"] == "success"
    refused = workflow.run("results/balls/trial_003/model.xml", check=False)
    assert (
        refused.returncode != 0 and "folders are named like 'trial_0003'" in refused.stdout + refused.stderr
    )


def test_files_identical_whatever_the_jobs(tmp_path: Path):
    runs = {}
    for name, changes in {
        "batched": {},
        "one_per_job": {"trials_per_job": 1},
        "one_proc": {"n_proc": 1},
    }.items():
        (tmp_path / name).mkdir()
        workflow = Workflow(tmp_path / name)
        workflow.write_config(ball_config(n_trial=6, **changes))
        workflow.run()
        runs[name] = (reproducible_files(workflow.study_dir()), metrics_of(workflow.study_dir()))
    assert len(runs["batched"][0]) == 18
    assert runs["batched"] == runs["one_per_job"] == runs["one_proc"]


def test_growing_past_a_power_of_ten_renames_folders(workflow: Workflow):
    workflow.write_config(ball_config(n_trial=10, padding=1, trials_per_job=4))
    workflow.run()
    study = workflow.study_dir()
    before = {name[len("trial_") :]: data for name, data in files_of(study, "result.json").items()}
    workflow.run("--config", "n_trial=11")
    after = files_of(study, "result.json")
    assert sorted(after) == [f"trial_{n:02d}" for n in range(11)]
    assert {f"trial_0{n}": data for n, data in before.items()} == {k: after[k] for k in list(after)[:10]}


def test_every_status_is_counted_and_none_stops_the_study(workflow: Workflow):
    workflow.write_config(
        ball_config(
            n_trial=10,
            duration=1.0,
            generator="tests.trial_models:by_mode",
            metrics="tests.trial_models:checked_metrics",
            trial_timeout=2.0,
            parameters={
                "mode": {
                    "dist": "choice",
                    "values": ["ok", "unstable", "raise", "crash", "hang"],
                    "nominal": "ok",
                },
                "mass": {"dist": "uniform", "low": 1.0, "high": 2.0, "unit": "kg"},
            },
        )
    )
    workflow.run()
    study = workflow.study_dir()
    statuses = [json.loads(p.read_text())["status"] for p in sorted(study.glob("trial_*/result.json"))]
    assert len(statuses) == 10 and statuses[0] in ("success", "failure")
    summary = pd.read_csv(study / "summary.csv").set_index("name")
    for status in ("success", "failure", "unstable", "error", "timeout"):
        assert summary.loc[status, "count"] == statuses.count(status)
    table = pd.read_parquet(study / "trials.parquet")
    assert table["status"].tolist() == statuses
    assert len(set(statuses)) >= 4


def test_config_error_stops_before_any_job(workflow: Workflow):
    workflow.write_config(ball_config(n_trial=-1, generator="tests.trial_models:nope"))
    done = workflow.run("-n", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "n_trial = -1" in output and "defines no 'nope'" in output
    assert not (workflow.workdir / "results").exists()


def test_resume_false_refuses_an_existing_study_and_keeps_it(workflow: Workflow):
    workflow.write_config(ball_config())
    workflow.run()
    before = files_of(workflow.study_dir(), "result.json")
    workflow.write_config(ball_config(resume=False, n_trial=14))
    done = workflow.run(check=False)
    assert done.returncode != 0 and "resume is false" in done.stdout + done.stderr
    assert files_of(workflow.study_dir(), "result.json") == before


def test_killed_run_resumes_to_identical_files(tmp_path: Path):
    config = ball_config(n_trial=300, duration=2.0, trials_per_job=50)
    reference = Workflow(tmp_path / "reference")
    reference.workdir.mkdir()
    reference.write_config(config)
    reference.run()

    killed = Workflow(tmp_path / "killed")
    killed.workdir.mkdir()
    killed.write_config(config)
    command = killed.command("--cores", "2")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while len(list(killed.study_dir().glob("trial_*/result.json"))) < 60 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert len(list(killed.study_dir().glob("trial_*/result.json"))) < 300, "the run ended before the kill"

    killed.run("--unlock")
    killed.run()
    assert reproducible_files(killed.study_dir()) == reproducible_files(reference.study_dir())
    assert metrics_of(killed.study_dir()) == metrics_of(reference.study_dir())
    assert not list(killed.study_dir().glob("trial_*/.*.tmp"))


def test_an_override_on_the_command_line_fixes_the_parameter(workflow: Workflow):
    workflow.write_config(ball_config(n_trial=3))
    workflow.run("--config", "overrides={height: 1.25}")
    for named in workflow.study_dir().glob("trial_*/named_values.json"):
        height = json.loads(named.read_text())["height"]
        assert height == {"value": 1.25, "unit": "m", "source": "override"}
