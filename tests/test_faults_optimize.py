"""Faults of the optimisation loop: kills inside a step, two runs of one study, config text and a
shell, bad storage URLs (issue 9 "The optimiser", issue 10 "Optimisation storage").

The loop runs in subprocesses of tests/fault_optimize_models.py (the workflow's order of steps
and evaluation jobs, without Snakemake), killed with SIGKILL at exact points inside a step; the
resumed study must equal an uninterrupted run of the same seed, bit for bit.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mojo.config.study import ConfigError, load_study
from tests.conftest import REPO, Workflow
from tests.fault_optimize_models import KILL_ENV, POINTS, box_config

STUDY = "box"


def opt_dir(folder: Path) -> Path:
    return folder / "results" / STUDY / "optimize"


def run_loop(folder: Path, config: dict | None = None, kill: str | None = None, wait: bool = True):
    """The loop in a fresh process with working folder ``folder`` (killed at ``kill``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(config or box_config()))
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    env["PYTHONPATH"] = str(REPO)
    if kill:
        env[KILL_ENV] = kill
    command = [sys.executable, "-m", "tests.fault_optimize_models", str(path)]
    if not wait:
        return subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def load_storage(folder: Path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=STUDY, storage=f"sqlite:///{opt_dir(folder) / 'study.db'}")


def snapshot(folder: Path) -> dict:
    """Everything a study's outcome is, without timings: round files, the storage's trials,
    best.json and the tables."""
    out = opt_dir(folder)
    rounds = {}
    for path in sorted((out / "rounds").glob("round_*.json")):
        data = json.loads(path.read_text())
        del data["asked_at"], data["session_started"]
        rounds[path.name] = data
    trials = [
        (t.number, t.state.name, t.params, t.value, t.user_attrs, t.system_attrs)
        for t in load_storage(folder).get_trials(deepcopy=False)
    ]
    tables = {
        name: pd.read_parquet(out / f"{name}.parquet").drop(columns="wall_time").to_json()
        for name in ("trials", "evaluations")
    }
    return {
        "rounds": rounds,
        "trials": trials,
        "best": json.loads((out / "best.json").read_text()),
        "tables": tables,
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("uninterrupted")
    done = run_loop(folder)
    assert done.returncode == 0, done.stderr
    return snapshot(folder)


KILLS = {
    "suggest:4": "inside an ask: the second trial exists, its second parameter is not suggested",
    "ask:2": "between the first round's first and second asks",
    "create:5": "right after the storage created the second trial of round 1",
    "tell:2": "while telling round 0, after its second trial was told",
    "round_file:2": "after round 1's trials are in the storage, before its round file",
}


@pytest.mark.parametrize("kill", KILLS)
def test_a_kill_inside_a_step_gives_the_study_of_an_uninterrupted_run(tmp_path, uninterrupted, kill):
    killed = run_loop(tmp_path, kill=kill)
    assert killed.returncode == -signal.SIGKILL, f"{KILLS[kill]}: not killed\n{killed.stderr}"
    resumed = run_loop(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "taking over the study 'box'" in resumed.stderr  # the killed run's pid is gone
    for trial in load_storage(tmp_path).trials:  # no trial evaluated without its parameters
        assert set(trial.params) == {"friction", "speed"}, trial
    result = snapshot(tmp_path)
    assert result["trials"] == uninterrupted["trials"]
    assert result["best"] == uninterrupted["best"]
    assert result == uninterrupted


@pytest.mark.slow
def test_killed_again_and_again_inside_steps_gives_the_same_study(tmp_path, uninterrupted):
    rng = random.Random(9)
    kills = []
    for _ in range(15):  # each run dies early in its next few steps, or finishes the study
        kill = f"{rng.choice(POINTS)}:{rng.randint(1, 3)}"
        done = run_loop(tmp_path, kill=kill)
        if done.returncode == 0:
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        kills.append(kill)
    assert len(kills) >= 4, kills
    assert run_loop(tmp_path).returncode == 0
    assert snapshot(tmp_path) == uninterrupted, kills


def test_a_trial_a_killed_ask_left_without_parameters_is_failed_not_evaluated(tmp_path, uninterrupted):
    """What a kill inside an ask left in the storage of an older mojo: a running trial with some
    of its parameters. It is told failed and recorded as discarded; it is never evaluated."""
    import optuna

    opt_dir(tmp_path).mkdir(parents=True)
    storage = f"sqlite:///{opt_dir(tmp_path) / 'study.db'}"
    ostudy = optuna.create_study(study_name=STUDY, storage=storage, direction="minimize")
    trial = ostudy.ask()
    trial.suggest_float("friction", 0.1, 1.5)
    assert run_loop(tmp_path).returncode == 0
    round_0 = json.loads((opt_dir(tmp_path) / "rounds" / "round_0000.json").read_text())
    assert [t["trial"] for t in round_0["discarded"]] == [0]
    assert [t["trial"] for t in round_0["trials"]] == [1, 2, 3]
    stored = load_storage(tmp_path).trials
    assert stored[0].state.name == "FAIL"
    assert not (opt_dir(tmp_path) / "trial_0000_eval_0").exists()
    # The proposals are those of a clean study: the left-over trial changed nothing.
    assert [t.params for t in stored[1:4]] == [t[2] for t in uninterrupted["trials"][:3]]


def test_trials_a_killed_step_created_for_another_search_space_are_discarded(tmp_path):
    """Killed after round 0's trials reached the storage; the rerun has a narrower space: they
    are not its proposals, so they are told failed and never evaluated, and numbering goes on."""
    killed = run_loop(tmp_path, kill="round_file:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    narrow = box_config()
    narrow["optimize"]["search_space"]["friction"] = {"type": "float", "low": 0.3, "high": 0.4}
    done = run_loop(tmp_path, narrow)
    assert done.returncode == 0, done.stderr
    round_0 = json.loads((opt_dir(tmp_path) / "rounds" / "round_0000.json").read_text())
    assert [t["trial"] for t in round_0["discarded"]] == [0, 1, 2]
    assert [t["trial"] for t in round_0["trials"]] == [3, 4, 5]
    stored = load_storage(tmp_path).trials
    assert [t.state.name for t in stored] == ["FAIL"] * 3 + ["COMPLETE"] * 8
    for trial in stored[3:]:
        assert 0.3 <= trial.params["friction"] <= 0.4
    assert sorted(p.name for p in opt_dir(tmp_path).glob("trial_*")) == [
        f"trial_{n:04d}_eval_0" for n in range(3, 11)
    ]
    best = json.loads((opt_dir(tmp_path) / "best.json").read_text())
    assert best["n_trial"] == 8 and best["trial"] >= 3


def slow_config(results_dir: str) -> dict:
    config = box_config(results_dir=results_dir, n_trial=6)
    config["runtime"] = "tests.optimize_models:slow_simulate"
    config["run_kwargs"] = {"delay": 0.4}
    return config


def test_a_second_run_sharing_the_results_folder_is_refused(tmp_path):
    import optuna

    results = str(tmp_path / "shared")
    first = run_loop(tmp_path / "one", slow_config(results), wait=False)
    try:
        round_0 = Path(results) / STUDY / "optimize" / "rounds" / "round_0000.json"
        deadline = time.time() + 60
        while not round_0.exists():
            assert time.time() < deadline and first.poll() is None, "the first run never asked"
            time.sleep(0.05)
        second = run_loop(tmp_path / "two", slow_config(results))
    finally:
        out, err = first.communicate(timeout=120)
    assert second.returncode != 0
    assert f"another run of the optimisation 'box' is running (pid {first.pid}" in second.stderr
    assert first.returncode == 0, err
    stored = optuna.load_study(
        study_name=STUDY, storage=f"sqlite:///{Path(results) / STUDY / 'optimize' / 'study.db'}"
    )
    assert [t.number for t in stored.trials] == list(range(6))
    assert all(t.state.name == "COMPLETE" for t in stored.trials)
    assert json.loads((Path(results) / STUDY / "optimize" / "best.json").read_text())["n_trial"] == 6


def test_an_owner_on_another_host_is_refused_until_its_last_step_is_old(tmp_path):
    import optuna

    from mojo.optimize.owner import OWNER_ATTR, STALE_AFTER_S

    opt_dir(tmp_path).mkdir(parents=True)
    ostudy = optuna.create_study(
        study_name=STUDY, storage=f"sqlite:///{opt_dir(tmp_path) / 'study.db'}", direction="minimize"
    )
    assert socket.gethostname() != "elsewhere"
    record = {"run": "r1", "host": "elsewhere", "pid": 1, "started": time.time(), "heartbeat": time.time()}
    ostudy.set_user_attr(OWNER_ATTR, record)
    refused = run_loop(tmp_path)
    assert refused.returncode != 0
    assert "the Optuna study 'box' is owned by another run, run r1 on host elsewhere (pid 1" in refused.stderr
    assert not (opt_dir(tmp_path) / "rounds" / "round_0000.json").exists()

    ostudy.set_user_attr(OWNER_ATTR, {**record, "heartbeat": time.time() - STALE_AFTER_S - 1})
    done = run_loop(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "taking over the study 'box' from run r1 on host elsewhere" in done.stderr
    assert load_storage(tmp_path).user_attrs[OWNER_ATTR] is None  # released at exit


@pytest.mark.parametrize(
    ("storage", "says"),
    [
        ("not a url", "optimize.storage = 'not a url': is not a database URL"),
        (
            "postgresql://user@host/db",
            "optimize.storage = 'postgresql://user@host/db': needs the database driver 'psycopg2'",
        ),
        ("nosuchdb://host/db", "optimize.storage = 'nosuchdb://host/db': is not a database URL"),
    ],
)
def test_a_bad_storage_url_is_a_config_error_naming_key_value_and_what_is_allowed(storage, says):
    config = box_config(storage=storage)
    with pytest.raises(ConfigError) as info:
        load_study(config)
    message = str(info.value)
    assert says in message and "allowed: an SQLAlchemy database URL such as sqlite:///" in message
    load_study(box_config(storage="sqlite:///some/where/study.db"))  # parsed, never opened


def test_the_optimisation_rules_use_no_shell():
    rules = (REPO / "mojo" / "workflow" / "rules" / "optimize.smk").read_text()
    assert not re.search(r"^\s*shell:", rules, re.MULTILINE)


@pytest.mark.slow
def test_config_text_never_runs_in_a_shell(tmp_path):
    pwned = tmp_path / "pwned"
    workflow = Workflow(tmp_path / "work")
    workflow.workdir.mkdir()
    results = f"{tmp_path}/R;touch {pwned};x"  # allowed characters for a folder
    workflow.write_config(box_config(results_dir=results, n_trial=2, trials_per_round=2))
    workflow.run("optimize")
    assert not pwned.exists()
    best = json.loads((Path(results) / STUDY / "optimize" / "best.json").read_text())
    assert best["n_trial"] == 2

    workflow.write_config(box_config(results_dir=f"{tmp_path}/R$(touch {pwned})", n_trial=2))
    refused = workflow.run("optimize", check=False)
    assert refused.returncode != 0 and "results_dir" in refused.stdout + refused.stderr
    assert not pwned.exists()


@pytest.mark.slow
def test_a_second_snakemake_run_sharing_the_results_folder_stops_before_any_job(tmp_path):
    results = tmp_path / "shared"
    config = box_config(results_dir=str(results), n_trial=6, trials_per_round=2)
    config["runtime"] = "tests.optimize_models:slow_simulate"
    config["run_kwargs"] = {"delay": 1.0}
    one, two = Workflow(tmp_path / "one"), Workflow(tmp_path / "two")
    for workflow in (one, two):
        workflow.workdir.mkdir()
        workflow.write_config(config)
    command = one.command("--cores", "2", "optimize")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        command, cwd=one.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out = results / STUDY / "optimize"
        deadline = time.time() + 120
        while not (out / "rounds" / "round_0000.json").exists():
            assert time.time() < deadline and first.poll() is None, "the first run never asked"
            time.sleep(0.05)
        second = two.run("optimize", check=False)
        first_alive = first.poll() is None
    finally:
        log, _ = first.communicate(timeout=300)
    assert second.returncode != 0, "a second run of the optimisation ran beside the first"
    assert first_alive, "the first run ended before the second was refused: slow it down"
    assert (
        f"another run of the optimisation 'box' is running (pid {first.pid}" in second.stdout + second.stderr
    )
    assert first.returncode == 0, log
    import optuna

    trials = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{out / 'study.db'}").trials
    assert [(t.number, t.state.name) for t in trials] == [(n, "COMPLETE") for n in range(6)]
    assert json.loads((out / "best.json").read_text())["n_trial"] == 6


def snakemake_run(workflow: Workflow, kill: str | None = None, hooks: Path | None = None):
    """``snakemake optimize`` in ``workflow``; with ``kill``, the Snakemake process kills itself
    there (a ``sitecustomize`` in ``hooks`` installs the kill point at start-up)."""
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (hooks, REPO) if p)
    if kill:
        env[KILL_ENV] = kill
    command = workflow.command("--cores", "2", "optimize")
    return subprocess.run(command, cwd=workflow.workdir, env=env, capture_output=True, text=True, timeout=300)


def snakemake_study(folder: Path, kill: str | None = None) -> dict:
    """``snakemake optimize`` of a 6-trial box study in ``folder``, first killed at ``kill`` (then
    unlocked and run again): the study's snapshot."""
    hooks = folder / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "sitecustomize.py").write_text(
        "import os\n"
        f"if os.environ.get({KILL_ENV!r}):\n"
        "    from tests.fault_optimize_models import install_kill\n"
        f"    install_kill(os.environ[{KILL_ENV!r}])\n"
    )
    workflow = Workflow(folder / "study")
    workflow.workdir.mkdir()
    workflow.write_config(box_config(n_trial=6))
    if kill:
        done = snakemake_run(workflow, kill, hooks)
        assert done.returncode == -signal.SIGKILL, done.stderr
        workflow.run("--unlock")  # (Snakemake's own folder lock: not this test's subject)
    done = snakemake_run(workflow)
    assert done.returncode == 0, done.stderr
    return snapshot(workflow.workdir)


@pytest.fixture(scope="module")
def uninterrupted_snakemake(tmp_path_factory) -> dict:
    """The reference of every kill below, run once (about 5 s): the same seed gives one study."""
    return snakemake_study(tmp_path_factory.mktemp("uninterrupted-snakemake"))


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["suggest:4", "create:5"])
def test_snakemake_killed_inside_a_step_resumes_to_the_uninterrupted_study(
    tmp_path, kill, uninterrupted_snakemake
):
    assert snakemake_study(tmp_path, kill) == uninterrupted_snakemake


def test_a_storage_url_error_never_shows_its_password():
    """A password in `optimize.storage` would otherwise reach the terminal and logs in the error."""
    config = {
        "study": "s",
        "generator": "mojo.examples.sliding_box:build",
        "objective": "mojo.examples.sliding_box:objective",
        "optimize": {
            "direction": "minimize",
            "storage": "postgresql+nosuchdriver://bob:s3cret@db.example/x",
            "search_space": {"x": {"type": "float", "low": 0, "high": 1}},
        },
    }
    with pytest.raises(ConfigError) as refused:
        load_study(config)
    assert "optimize.storage" in str(refused.value)
    assert "s3cret" not in str(refused.value) and "bob:***@" in str(refused.value)
