"""Hostile values and recovery after a kill (issues 9 and 10).

- ``results_dir``: ``~`` expanded; empty, control or shell-special characters, an existing file,
  a folder inside the project's package or workflow folders refused before any job, naming the
  key and the value; a folder outside the working folder named once when a run starts.
- ``--config`` values a SLURM submission would paste into a shell are refused
  (``mojo.slurm.guard.check_command_line``; the real cluster runs are in tests/test_slurm_hostile.py).
- A run killed with ``kill -9`` leaves Snakemake's lock behind: the next plain run clears it,
  while a second run beside a live one is refused and leaves that run's lock alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mojo.config.study import PROJECT_DIRS, ConfigError, load_study
from mojo.slurm import guard as cluster
from mojo.workflow import locks
from tests.conftest import REPO, SNAKEMAKE, Workflow, ball_config, reproducible_files

# --------------------------------------------------------------------------- results_dir


def refused(results_dir: str) -> str:
    """The ConfigError message for ``results_dir``; fails the test if it was accepted."""
    with pytest.raises(ConfigError) as caught:
        load_study(ball_config(results_dir=results_dir))
    message = str(caught.value)
    assert "results_dir" in message and repr(results_dir) in message
    assert "allowed:" in message
    return message


@pytest.mark.parametrize(
    "results_dir",
    [
        "",
        "   ",
        "R/\nx",
        "R/\x00x",
        "R\tx",
        "R/\x1b[31m",
        "R/$(touch pwned)",
        "R/`touch pwned`",
        "R/${HOME}",
        'R/"q"',
        "R/it's",
        "R\\x",
        "R/{study}",
        "R}",
    ],
)
def test_results_dir_with_unsafe_text_is_refused(results_dir: str):
    refused(results_dir)


def test_results_dir_that_is_a_file_is_refused(tmp_path: Path):
    file = tmp_path / "results"
    file.write_text("not a folder")
    assert "existing file" in refused(str(file))
    assert "existing file" in refused(str(file / "deeper"))


@pytest.mark.parametrize("name", sorted(PROJECT_DIRS))
def test_results_dir_inside_the_project_code_is_refused(name: str):
    project_dir = PROJECT_DIRS[name]
    assert name in refused(str(project_dir / "results"))
    assert name in refused(str(project_dir))


def test_results_dir_expands_home(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_study(ball_config(results_dir="~/r")).results_dir == str(tmp_path / "r")


@pytest.mark.parametrize("results_dir", ["../..", "/tmp/mojo-results", "results", "a b/ü"])
def test_results_dir_of_the_user_is_kept(results_dir: str):
    assert load_study(ball_config(results_dir=results_dir)).results_dir == results_dir


@pytest.mark.slow
@pytest.mark.parametrize(
    "results_dir", ["", "R/$(touch pwned)", "study.yaml", str(PROJECT_DIRS["package"] / "study_results")]
)
def test_bad_results_dir_stops_the_run_before_any_job(workflow: Workflow, results_dir: str):
    """Refused before any job, no traceback, nothing written into the working folder."""
    workflow.write_config(ball_config(n_trial=2, results_dir=results_dir))
    before = sorted(p.name for p in workflow.workdir.iterdir())
    done = workflow.run(check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "results_dir" in output and "Traceback" not in output, output
    assert not (workflow.workdir / "pwned").exists()
    after = sorted(p.name for p in workflow.workdir.iterdir() if p.name != ".snakemake")
    assert after == before
    assert not (PROJECT_DIRS["package"] / "study_results").exists()


@pytest.mark.slow
def test_results_dir_under_home_and_outside_is_named_once(tmp_path: Path, monkeypatch):
    workflow = Workflow(tmp_path / "work")
    workflow.workdir.mkdir()
    workflow.write_config(ball_config(n_trial=2, results_dir="~/r"))
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    done = workflow.run()
    assert not (workflow.workdir / "~").exists()
    assert len(list((home / "r" / "balls").glob("trial_*/result.json"))) == 2
    output = done.stdout + done.stderr
    assert output.count(f"study folder {home / 'r' / 'balls'}") == 1, output


# --------------------------------------------------------------------------- SLURM command line


@pytest.mark.parametrize(
    "arg",
    [
        "metric_units={z: $(touch pwned)}",
        "results_dir=`touch pwned`",
        "study=a$HOME",
        "metric_units={z: 'm'}",
        'metric_units={z: "m"}',
        "study=a\\b",
        "study=a\nb",
    ],
)
def test_config_values_a_slurm_shell_would_run_are_refused(arg: str):
    with pytest.raises(cluster.SlurmRunError) as caught:
        cluster.check_command_line([arg], [])
    message = str(caught.value)
    assert repr(arg) in message and "--configfile" in message and "Nothing was submitted" in message


def test_plain_config_values_and_files_pass():
    cluster.check_command_line(
        ["n_trial=3", "metric_units={z: m/s}", "results_dir=/data/a b/ü", "overrides={x: 1.5}"],
        [Path("/home/me/study.yaml")],
    )
    cluster.check_command_line(None, None)


def test_config_file_path_a_slurm_shell_would_run_is_refused():
    with pytest.raises(cluster.SlurmRunError, match=r"\$\(id\)"):
        cluster.check_command_line([], [Path("/tmp/$(id)/study.yaml")])


# --------------------------------------------------------------------------- run lock


def lock_holder(call: str) -> subprocess.Popen:
    """A process that runs ``call`` (an expression on mojo.workflow.locks, returning a lock or None),
    then stays alive until it is killed."""
    code = (
        "import time; from pathlib import Path; from mojo.workflow import locks; "
        f"held = {call}; assert held; print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def stop(holder: subprocess.Popen) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()


def test_study_lock_is_exclusive_per_study_and_freed_by_kill_9(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lock = locks.study_lock_path("results/balls")
    holder = lock_holder(f"locks.hold_study_lock(Path({str(tmp_path / lock)!r}))")
    try:
        assert locks.hold_study_lock(lock) is None
        assert locks.owner_pid(lock) == str(holder.pid)
        other = locks.hold_study_lock(locks.study_lock_path("results/other"))
        assert other is not None  # another study runs beside it
        other.close()
    finally:
        stop(holder)
    handle = locks.hold_study_lock(lock)
    assert handle is not None and locks.owner_pid(lock) == str(os.getpid())
    handle.close()


def snakemake_lock(tmp_path: Path) -> Path:
    lock_dir = tmp_path / "locks"
    lock_dir.mkdir()
    (lock_dir / "0.output.lock").write_text("results/balls/summary.csv\n")
    return lock_dir


def test_stale_snakemake_lock_is_cleared_when_no_run_is_alive(tmp_path: Path):
    folder_lock = tmp_path / "folder.lock"
    assert not locks.clear_stale_snakemake_lock(tmp_path / "locks")
    lock_dir = snakemake_lock(tmp_path)
    holder = lock_holder(f"locks.hold_folder_lock(Path({str(folder_lock)!r}), Path('none'))")
    stop(holder)  # a run killed with its lock in place
    locks.hold_folder_lock(folder_lock, lock_dir).close()
    assert not lock_dir.exists()


def test_snakemake_lock_is_left_alone_while_a_run_is_alive(tmp_path: Path):
    folder_lock = tmp_path / "folder.lock"
    lock_dir = snakemake_lock(tmp_path)
    holder = lock_holder(f"locks.hold_folder_lock(Path({str(folder_lock)!r}), Path('none'))")
    try:
        locks.hold_folder_lock(folder_lock, lock_dir).close()
        assert (lock_dir / "0.output.lock").exists()
    finally:
        stop(holder)


SLOW = {"generator": "tests.hostile_models:slow_ball", "gen_kwargs": {"delay": 0.4}}


def start(workflow: Workflow, *args: str) -> subprocess.Popen:
    """``snakemake`` in its own process group, as a user starts it from a shell."""
    command = workflow.command(*args)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        command,
        cwd=workflow.workdir,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_results(workflow: Workflow, count: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while len(list(workflow.study_dir().glob("trial_*/result.json"))) < count:
        assert process.poll() is None, process.stdout.read()
        assert time.time() < deadline, "no trial finished in time"
        time.sleep(0.05)


def lock_files(workdir: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((workdir / locks.SNAKEMAKE_LOCKS).glob("*"))}


@pytest.mark.slow
def test_rerun_after_kill_9_needs_no_unlock(tmp_path: Path):
    config = ball_config(n_trial=6, n_proc=1, **SLOW)
    reference = Workflow(tmp_path / "reference")
    reference.workdir.mkdir()
    reference.write_config(config)
    reference.run("--cores", "1")

    killed = Workflow(tmp_path / "killed")
    killed.workdir.mkdir()
    killed.write_config(config)
    process = start(killed, "--cores", "1")
    wait_for_results(killed, 2, process)
    os.killpg(process.pid, signal.SIGKILL)  # inside the batch: Snakemake's lock is held
    process.wait()
    assert lock_files(killed.workdir), "Snakemake left no lock: the kill came too late"
    assert len(list(killed.study_dir().glob("trial_*/result.json"))) < 6

    done = subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(killed.config_path), "--cores", "1"],
        cwd=killed.workdir,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert output.count("removed the lock a killed run left") == 1
    ours, theirs = reproducible_files(killed.study_dir()), reproducible_files(reference.study_dir())
    assert ours == theirs, sorted(k for k in ours | theirs if ours.get(k) != theirs.get(k))
    assert len(list(killed.study_dir().glob("trial_*/result.json"))) == 6
    assert not lock_files(killed.workdir)


@pytest.mark.slow
def test_second_run_beside_a_live_one_is_refused_and_leaves_its_lock(workflow: Workflow):
    # Five trials of 2 s left once the first is done: time for two more snakemake starts.
    slower = {**SLOW, "gen_kwargs": {"delay": 2.0}}
    workflow.write_config(ball_config(n_trial=6, n_proc=1, **slower))
    first = start(workflow, "--cores", "1")
    try:
        wait_for_results(workflow, 1, first)
        held = lock_files(workflow.workdir)
        assert held
        second = workflow.run(check=False)
        output = second.stdout + second.stderr
        assert second.returncode != 0
        running = f"another run of this study is running in {workflow.workdir} (pid {first.pid})"
        assert running in output
        assert "--unlock" not in output and "Traceback" not in output, output
        dry = workflow.run("-n", check=False)  # a dry run looks on, as in Snakemake
        assert dry.returncode == 0 and "another run" not in dry.stdout + dry.stderr
        assert first.poll() is None, "the first run ended before the others were tried"
        assert lock_files(workflow.workdir) == held
        assert first.wait(timeout=120) == 0, first.stdout.read()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert len(list(workflow.study_dir().glob("trial_*/result.json"))) == 6
