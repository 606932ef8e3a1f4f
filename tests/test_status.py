"""`mojo status`, live progress and `mojo show`, on a real study whose trials end with every status
(models in tests/status_models.py) and on trial folders being written while they are read."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mojo.config.study import load_study
from mojo.results.status import format_status, scan
from mojo.trials.files import write_atomic
from mojo.trials.progress import DETAILED_PROBLEMS, BatchProgress
from mojo.trials.record import write_study_record
from tests.conftest import REPO, snakemake_command

N_TRIAL = 24
STUDY_CONFIG = f"""
study: every_status
seed: 1
n_trial: {N_TRIAL}
n_proc: 2
generator: tests.status_models:build
metrics: tests.status_models:metrics
duration: 0.2
trial_timeout: 1.0
parameters:
  mode: {{dist: choice, values: [success, failure, unstable, error, timeout], weights: [6, 2, 2, 2, 1]}}
  length: {{dist: uniform, low: 0.5, high: 1.0, unit: m}}
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _mojo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mojo.cli", *args], capture_output=True, text=True, env=_env(), timeout=60
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A finished study with every status (about 7 s: two trials time out after 1 s)."""
    work = tmp_path_factory.mktemp("every_status")
    (work / "config.yaml").write_text(STUDY_CONFIG)
    done = subprocess.run(
        snakemake_command(work, work / "config.yaml", "--cores", "2"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return work / "results" / "every_status"


def _expected_counts(folder: Path) -> dict[str, int]:
    counts = dict.fromkeys(["success", "failure", "unstable", "error", "timeout"], 0)
    for trial in sorted(folder.glob("trial_*")):
        counts[json.loads((trial / "named_values.json").read_text())["mode"]["value"]] += 1
    return counts


@pytest.mark.slow
def test_status_counts_every_status(study):
    expected = _expected_counts(study)
    assert all(expected.values()), f"seed should give every status at least once: {expected}"
    status = scan(study)
    assert status.counts == expected
    assert (status.n_trial, status.finished, status.left, status.started) == (N_TRIAL, N_TRIAL, 0, 0)
    assert status.eta_seconds == 0.0 and not status.running
    problems = {p.trial: p for p in status.recent_problems}
    assert len(problems) == 5 and all(p.status != "success" for p in problems.values())

    done = _mojo("status", str(study), "--json", "--problems", "50")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["counts"] == expected and data["left"] == 0
    assert len(data["recent_problems"]) == N_TRIAL - expected["success"]
    errors = [p for p in data["recent_problems"] if p["status"] == "error"]
    assert all("refuses mode 'error'" in p["reason"] for p in errors)

    text = _mojo("status", str(study)).stdout
    assert f"{N_TRIAL} of {N_TRIAL} trials finished" in text and "complete" in text
    for name, count in expected.items():
        assert f"{name} {count}" in text
    assert "recent problems" in text


@pytest.mark.slow
def test_status_while_trials_are_being_written(study, tmp_path):
    copy = tmp_path / "every_status"
    shutil.copytree(study, copy)
    trials = sorted(copy.glob("trial_*"))
    expected = _expected_counts(copy)
    # 1: running: inputs written, no result yet. 2: the result half written to its temporary name.
    # 3: a result.json caught half written (a writer that does not rename). 4: an empty new folder.
    for index in (1, 2, 3):
        mode = json.loads((trials[index] / "named_values.json").read_text())["mode"]["value"]
        expected[mode] -= 1
        text = (trials[index] / "result.json").read_text()
        (trials[index] / "result.json").unlink()
        if index == 2:
            (trials[index] / f".result.json.{os.getpid()}.tmp").write_text(text[: len(text) // 2])
        if index == 3:
            (trials[index] / "result.json").write_text(text[: len(text) // 2])
    (copy / "trial_0099").mkdir()
    os.utime(trials[1] / "config.json")  # trial 1 is being run right now
    status = scan(copy)
    assert status.counts == expected
    assert status.finished == N_TRIAL - 3 and status.left == 3
    assert status.started == 3  # trial_0099 is beyond n_trial
    assert status.running and status.eta_seconds is not None  # config.json files are fresh
    assert "started but not finished (running or interrupted) 3, not started 0" in format_status(status)


def test_status_races_with_a_writer(tmp_path):
    """Folders appear and results are renamed into place while `scan` reads them."""
    study = load_study(
        {
            "study": "race",
            "results_dir": str(tmp_path),
            "n_trial": 300,
            "generator": "mojo.examples.pendulum:build",
        }
    )
    write_study_record(study)
    folder = tmp_path / "race"
    result = {"trial": 0, "status": "success", "wall_time": 0.01, "input_hash": "x", "metrics": {}}
    stop = threading.Event()

    def writer():
        for n in range(300):
            trial = folder / f"trial_{n:04d}"
            trial.mkdir()
            write_atomic(trial / "config.json", "{}")
            (trial / f".result.json.{n}.tmp").write_text('{"trial": 0, "sta')
            write_atomic(trial / "result.json", json.dumps({**result, "trial": n}))
            (trial / f".result.json.{n}.tmp").unlink()
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    while not stop.is_set():
        seen.append(scan(folder).finished)
    thread.join()
    assert seen == sorted(seen)  # atomic renames: a finished trial never disappears
    final = scan(folder)
    assert (final.finished, final.left, final.counts["success"]) == (300, 0, 300)


def test_throughput_and_eta(tmp_path):
    study = load_study(
        {
            "study": "eta",
            "results_dir": str(tmp_path),
            "n_trial": 100,
            "generator": "mojo.examples.pendulum:build",
        }
    )
    write_study_record(study)
    now = time.time()
    for n in range(40):  # one result every 0.5 s, the newest 1 s ago
        trial = tmp_path / "eta" / f"trial_{n:04d}"
        trial.mkdir()
        status = "error" if n % 10 == 3 else "success"
        (trial / "result.json").write_text(
            json.dumps({"trial": n, "status": status, "reason": f"boom {n}", "wall_time": 0.9})
        )
        stamp = now - 1 - 0.5 * (39 - n)
        os.utime(trial / "result.json", (stamp, stamp))
    status = scan(tmp_path / "eta", now=now)
    assert status.throughput == pytest.approx(2.0, rel=1e-6)
    assert status.running and status.eta_seconds == pytest.approx(60 / 2.0, rel=1e-6)
    assert [p.trial for p in status.recent_problems] == [33, 23, 13, 3]
    later = scan(tmp_path / "eta", now=now + 3600)  # nothing new for an hour: not running, no ETA
    assert not later.running and later.eta_seconds is None
    assert "not running" in format_status(later)


def test_study_without_record(tmp_path):
    (tmp_path / "old" / "trial_0000").mkdir(parents=True)
    (tmp_path / "old" / "trial_0000" / "result.json").write_text('{"status": "success", "wall_time": 1}')
    status = scan(tmp_path / "old")
    assert status.n_trial is None and status.left is None and status.finished == 1
    assert "n_trial unknown" in format_status(status)


def _plan(n: int, folder: Path):
    return SimpleNamespace(number=n, dir=folder / f"trial_{n:04d}", input_hash=f"hash{n}")


def test_progress_lines(tmp_path):
    clock = iter(range(10_000)).__next__  # one second per call
    stream = io.StringIO()
    plans = [_plan(n, tmp_path) for n in range(200)]
    progress = BatchProgress("trials 0-199", to_run=200, stream=stream, clock=lambda: float(clock()))
    for plan in plans:
        status = "failure" if plan.number % 5 == 0 else "success"
        progress(plan, SimpleNamespace(status=status, reason="too far"))
    progress.finish()
    lines = stream.getvalue().splitlines()
    problem_lines = [line for line in lines if ": failure: too far" in line]
    progress_lines = [line for line in lines if "trials done" in line]
    assert len(problem_lines) == DETAILED_PROBLEMS  # then only counted
    assert 9 <= len(progress_lines) <= 11  # every 10 %, plus the last
    assert "40/200 trials done (20%), 8 not successful, 160 left" in progress_lines[1]
    assert "ETA" in progress_lines[0] and "200/200" in progress_lines[-1]
    assert all(line.startswith("[mojo] trials 0-199: ") for line in lines)


def test_progress_counts_only_trials_left_to_run(tmp_path):
    plans = [_plan(n, tmp_path) for n in range(30)]
    stream = io.StringIO()
    progress = BatchProgress("trials 0-29", to_run=20, skipped=10, stream=stream)
    assert (progress.skipped, progress.todo) == (10, 20)
    for plan in plans[10:]:
        progress(plan, SimpleNamespace(status="success", reason=None))
    progress.finish()
    assert "20/20 trials done (100%), 0 not successful, 0 left" in stream.getvalue()
    assert "(10 already done)" in stream.getvalue()


def test_progress_quiet_for_one_trial_jobs(tmp_path):
    stream = io.StringIO()
    progress = BatchProgress("trials 7-7", to_run=1, stream=stream)
    progress(_plan(7, tmp_path), SimpleNamespace(status="success", reason=None))
    progress.finish()
    assert stream.getvalue() == ""


@pytest.mark.slow
def test_batch_logs_show_progress(study):
    log = (study / ".mojo" / "logs" / "trials_0000-0011.log").read_text()
    assert "[mojo] trials 0-11: 12/12 trials done (100%)" in log
    assert ": timeout: trial exceeded trial_timeout" in log or ": error: " in log


@pytest.mark.slow
def test_show(study):
    errors = [
        t
        for t in sorted(study.glob("trial_*"))
        if json.loads((t / "result.json").read_text())["status"] == "error"
    ]
    done = _mojo("show", str(errors[0]))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"study every_status: {errors[0]}" in out
    assert "length" in out and " m " in out and "sampled" in out and "uniform(low=0.5, high=1" in out
    assert "result: error" in out and "refuses mode 'error'" in out
    assert "traceback:" in out and "ValueError" in out
    assert "generator  tests.status_models:build" in out

    as_json = json.loads(_mojo("show", str(study), "0", "--json").stdout)
    assert as_json["config"]["trial"] == 0 and as_json["values"]["length"]["unit"] == "m"
    assert as_json["result"]["status"] in ("success", "failure", "unstable", "error", "timeout")

    no_display = _mojo("show", str(errors[0]), "--view")
    assert no_display.returncode == 1 and "no display" in no_display.stderr
    assert "python -m mujoco.viewer --mjcf=" in no_display.stderr

    missing = _mojo("show", str(study), "9999")
    assert missing.returncode == 2 and "no folder for trial 9999" in missing.stderr


def test_output_cut_short_by_its_reader_is_no_error(study):
    """``mojo status results/x | head``: a reader that stops early is no error, and no traceback."""
    done = subprocess.run(
        f"{sys.executable} -m mojo.cli status {study} | true",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
