"""Misbehaving trial code (issue 9): children left behind, memory, KeyboardInterrupt, sys.exit,
floods of output. Each case is recorded as the trial's own outcome and no trial stops the batch.

Each batch runs under a deadline (SIGALRM), so a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mojo.config.study import ConfigError, load_study
from mojo.trials.batch import TRIAL_LOG_LIMIT, run_batch
from mojo.trials.layout import trial_dir
from tests.conftest import REPO, Workflow, ball_config

DEADLINE_S = 60


@contextlib.contextmanager
def deadline(seconds: int = DEADLINE_S):
    def expire(signum, frame):
        raise TimeoutError(f"the batch hung for {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def pids(tmp_path, monkeypatch):
    """The folder where trials note the processes they start; whatever is left is killed after."""
    folder = tmp_path / "pids"
    folder.mkdir()
    monkeypatch.setenv("FAULT_PIDS", str(folder))
    yield folder
    for note in folder.iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(note.name), signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def left_running(folder: Path) -> list[int]:
    return [int(p.name) for p in folder.iterdir() if alive(int(p.name))]


def wait_for(condition, what: str, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"waited {seconds} s for {what}"
        time.sleep(0.02)


def fault_config(tmp_path: Path, modes: list[str], **changes) -> dict:
    return (
        ball_config(
            results_dir=str(tmp_path / "results"),
            n_trial=len(modes),
            runtime="tests.fault_trial_models:run",
            run_kwargs={"modes": modes},
            metrics=None,
            parameters={},
        )
        | changes
    )


def fault_study(tmp_path: Path, modes: list[str], **changes):
    return load_study(fault_config(tmp_path, modes, **changes))


def run_faults(tmp_path: Path, modes: list[str], log: Path | None = None, **changes):
    study = fault_study(tmp_path, modes, **changes)
    with deadline():
        return study, run_batch(study, 0, len(modes) - 1, log=log).rows


def pid_of(row) -> int:
    return int(row.metrics["pid"])


# --- 1. a trial's processes end with the trial -------------------------------------------------


def test_children_of_a_trial_end_with_it_even_in_a_new_session(tmp_path, pids):
    _, rows = run_faults(tmp_path, ["fork", "fork_setsid", "ok"])
    assert [r.status for r in rows] == ["success"] * 3
    assert len(list(pids.iterdir())) == 2 and left_running(pids) == []
    assert pid_of(rows[0]) == pid_of(rows[2])  # ended by the worker itself: no new worker needed


def test_a_timed_out_trial_takes_its_children_along(tmp_path, pids):
    _, rows = run_faults(tmp_path, ["fork_hang", "ok"], trial_timeout=1.0)
    assert [r.status for r in rows] == ["timeout", "success"]
    assert len(list(pids.iterdir())) == 2 and left_running(pids) == []  # its worker and its child


def test_a_killed_job_takes_its_trial_and_the_trial_s_children_along(tmp_path, pids):
    config = fault_config(tmp_path, ["fork_hang"])
    script = (
        "import json, sys; from mojo.trials.batch import run_batch; "
        "from mojo.config.study import load_study; "
        "run_batch(load_study(json.loads(sys.argv[1])), 0, 0)"
    )
    job = subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(config)], env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        wait_for(lambda: len(list(pids.iterdir())) == 2, "the trial to start")
    finally:
        job.kill()  # inside the trial: the job dies, its trial's worker and child must follow
        job.wait()
    wait_for(lambda: left_running(pids) == [], "the trial's processes to end")
    assert not (trial_dir(load_study(config), 0) / "result.json").exists()


def test_a_crashed_trial_takes_its_children_along(tmp_path, pids):
    _, rows = run_faults(tmp_path, ["fork_crash", "ok"])
    assert [r.status for r in rows] == ["error", "success"]
    assert "killed by SIGSEGV" in rows[0].reason
    assert len(list(pids.iterdir())) == 2 and left_running(pids) == []


@pytest.mark.slow
def test_a_study_whose_trials_fork_finishes_through_snakemake(workflow: Workflow, pids):
    workflow.write_config(
        ball_config(
            n_trial=3,
            n_proc=1,
            runtime="tests.fault_trial_models:run",
            metrics=None,
            parameters={},
            run_kwargs={"modes": ["fork", "fork_setsid", "ok"]},
            trial_timeout=30,
        )
    )
    workflow.run(timeout=120)
    table = pd.read_csv(workflow.study_dir() / "trials.csv")
    assert list(table["status"]) == ["success"] * 3
    assert len(list(pids.iterdir())) == 2 and left_running(pids) == []


# --- 2. a worker left suspect is replaced; trial_memory_mb ---------------------------------------


def test_the_worker_is_replaced_after_running_out_of_memory_or_stack(tmp_path):
    _, rows = run_faults(tmp_path, ["memory", "ok", "recursion", "ok", "ok"])
    assert [r.status for r in rows] == ["error", "success", "error", "success", "success"]
    assert rows[0].reason.startswith("MemoryError") and rows[2].reason.startswith("RecursionError")
    assert pid_of(rows[1]) != pid_of(rows[3]) and pid_of(rows[3]) == pid_of(rows[4])


def test_a_trial_that_changes_the_working_folder_or_ctrl_c_gets_the_next_trial_a_new_worker(tmp_path, pids):
    _, rows = run_faults(tmp_path, ["ok", "thread", "ok", "chdir", "ok", "sigint_handler", "ok"])
    assert [r.status for r in rows] == ["success"] * 7
    workers = [pid_of(r) for r in rows]
    assert workers[0] == workers[1] == workers[2] == workers[3]  # a thread left running is kept
    assert workers[3] != workers[4] == workers[5] != workers[6]


def test_trial_memory_mb_stops_only_the_trial_that_allocates_too_much(tmp_path):
    study, rows = run_faults(tmp_path, ["allocate_small", "allocate", "ok"], trial_memory_mb=200)
    assert [r.status for r in rows] == ["success", "error", "success"]
    assert "trial_memory_mb = 200 MB" in rows[1].reason
    assert json.loads((trial_dir(study, 1) / "config.json").read_text())["trial_memory_mb"] == 200
    result = json.loads((trial_dir(study, 1) / "result.json").read_text())
    assert "MemoryError" in result["traceback"]


def test_without_trial_memory_mb_config_json_is_unchanged(tmp_path):
    study, _ = run_faults(tmp_path, ["ok"])  # the trials of studies made before the key existed stay valid
    assert "trial_memory_mb" not in json.loads((trial_dir(study, 0) / "config.json").read_text())


@pytest.mark.parametrize("value", [0, -5, float("inf"), float("nan"), "lots"])
def test_trial_memory_mb_must_be_a_positive_number(tmp_path, value):
    with pytest.raises(ConfigError, match=r"trial_memory_mb = .*(greater than 0|finite|valid number)"):
        fault_study(tmp_path, ["ok"], trial_memory_mb=value)


def test_a_trial_that_points_its_output_elsewhere_gets_the_next_trial_a_new_worker(tmp_path):
    """Its output no longer reaches the job's log (nor would the next trials'): the trial keeps
    its outcome, the next one runs in a new worker whose output the log has again."""
    log = tmp_path / "job.log"
    misdeeds = ["stdout_devnull", "stderr_unread_file", "stdout_closed", "sys_stdout_swapped"]
    modes = [mode for misdeed in misdeeds for mode in (misdeed, "print_little")]
    with deadline(20):
        _, rows = run_faults(tmp_path, modes, log=log)
    assert [r.status for r in rows] == ["success"] * len(modes)
    assert all(pid_of(rows[i]) != pid_of(rows[i + 1]) for i in range(0, len(modes), 2))
    text = log.read_text()
    assert text.count("a little output") == len(misdeeds)
    assert text.count("it pointed its standard output or error elsewhere") == len(misdeeds)


def test_a_mujoco_callback_a_trial_leaves_set_never_acts_on_the_next_trial(tmp_path):
    """mjcb_control is global to the process: left set, it would push every later trial of the
    worker (results would depend on which trials shared a worker)."""
    log = tmp_path / "job.log"
    _, rows = run_faults(tmp_path, ["ok", "mjcb_push", "ok"], log=log)
    assert [r.status for r in rows] == ["success"] * 3
    assert rows[1].metrics["height"] > rows[0].metrics["height"]  # it pushed its own trial
    assert rows[2].metrics["height"] == rows[0].metrics["height"]
    assert pid_of(rows[1]) != pid_of(rows[2])
    assert (
        "trial 1: it left MuJoCo's mjcb_control changed: the next trial gets a new worker" in log.read_text()
    )


def test_numpys_error_handling_a_trial_changes_never_reaches_the_next_trial(tmp_path):
    """np.seterr(all="raise") left behind would turn the next trials' NaNs into errors."""
    log = tmp_path / "job.log"
    _, rows = run_faults(tmp_path, ["numpy_raise", "sqrt_of_minus_one"], log=log)
    assert [r.status for r in rows] == ["success", "success"]
    assert "trial 0: it changed which NumPy floating-point errors raise (np.seterr)" in log.read_text()


def test_warning_filters_a_trial_changes_never_reach_the_next_trial(tmp_path):
    """warnings.simplefilter("error") left behind would turn the next trials' warnings into errors;
    a filter that only hides some (as libraries add when imported) keeps the worker."""
    log = tmp_path / "job.log"
    modes = ["warnings_ignored", "ok", "warnings_as_errors", "sqrt_of_minus_one"]
    _, rows = run_faults(tmp_path, modes, log=log)
    assert [r.status for r in rows] == ["success"] * 4
    assert pid_of(rows[0]) == pid_of(rows[1]) == pid_of(rows[2]) != pid_of(rows[3])
    assert "trial 2: it changed which warnings raise (warnings.simplefilter)" in log.read_text()


# --- 3. KeyboardInterrupt raised by the trial vs a real Ctrl-C -----------------------------------


def test_keyboard_interrupt_raised_by_trial_code_is_recorded(tmp_path):
    study, rows = run_faults(tmp_path, ["keyboard_interrupt", "ok"])
    assert [r.status for r in rows] == ["error", "success"]
    assert "KeyboardInterrupt raised by the trial code" in rows[0].reason
    with deadline():
        assert run_batch(study, 0, 1).rows == rows  # recorded: a rerun has nothing to do


def test_a_real_ctrl_c_records_nothing_and_stops_the_batch(tmp_path):
    study = fault_study(tmp_path, ["ok", "ctrl_c", "ok"])
    with deadline(), pytest.raises(RuntimeError, match="interrupted"):
        run_batch(study, 0, 2)
    assert (trial_dir(study, 0) / "result.json").exists()
    assert not (trial_dir(study, 1) / "result.json").exists()
    assert not (trial_dir(study, 2) / "result.json").exists()


# --- 4. sys.exit and os._exit ----------------------------------------------------------------------


def test_sys_exit_is_recorded_with_the_code_asked_for_and_the_worker_kept(tmp_path):
    modes = ["ok", "exit3", "exit_none", "exit_msg", "ok", "os_exit5", "os_exit130", "ok"]
    _, rows = run_faults(tmp_path, modes)
    assert [r.status for r in rows] == [
        "success",
        "error",
        "error",
        "error",
        "success",
        "error",
        "error",
        "success",
    ]
    assert rows[1].reason == "the trial called sys.exit(3)"
    assert rows[2].reason == "the trial called sys.exit(None)"
    assert rows[3].reason == "the trial called sys.exit('bad parameters')"
    assert "exited with code 5" in rows[5].reason
    assert "exited with code 130" in rows[6].reason  # not taken for a Ctrl-C
    assert pid_of(rows[0]) == pid_of(rows[4])  # sys.exit does not cost a new worker


# --- 5. output cut in the log ----------------------------------------------------------------------


def test_a_trial_that_prints_too_much_is_cut_in_the_log(tmp_path):
    log = tmp_path / "job.log"
    _, rows = run_faults(tmp_path, ["print_little", "print_lots", "print_little"], log=log)
    assert [r.status for r in rows] == ["success"] * 3  # a cut print is no error of the trial
    text = log.read_text()
    assert len(text) < TRIAL_LOG_LIMIT + 100_000
    note = f"output of trial 1 cut after {TRIAL_LOG_LIMIT // 2**20} MB"
    assert text.count(note) == 1
    assert text.count("a little output") == 2 and text.rindex("a little output") > text.index(note)
