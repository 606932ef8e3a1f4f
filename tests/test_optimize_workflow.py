"""The optimisation loop through real ``snakemake`` runs: optimum, resume, growth, refinement,
several evaluations per trial, pruning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, Workflow

pytestmark = pytest.mark.slow

SPEED = 2.0
DURATION = 1.5


def box_config(study="box", **optimize) -> dict:
    opt = {
        "direction": "minimize",
        "n_trial": 12,
        "trials_per_round": 4,
        "sampler_kwargs": {"n_startup_trials": 4},
        "search_space": {"friction": {"type": "float", "low": 0.1, "high": 1.5}},
    }
    opt.update(optimize)
    return {
        "study": study,
        "seed": 11,
        "n_proc": 2,
        "generator": "mojo.examples.sliding_box:build",
        "metrics": "mojo.examples.sliding_box:metrics",
        "objective": "mojo.examples.sliding_box:objective",
        "duration": DURATION,
        "parameters": {
            "friction": {"dist": "uniform", "low": 0.1, "high": 1.5},
            "speed": {"dist": "constant", "value": SPEED, "unit": "m/s"},
        },
        "optimize": opt,
    }


def opt_dir(workflow: Workflow, study="box") -> Path:
    return workflow.study_dir(study) / "optimize"


def load_optuna(workflow: Workflow, study="box"):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study, storage=f"sqlite:///{opt_dir(workflow, study) / 'study.db'}")


def stopping_distance(friction: float) -> float:
    """Where the box stops, by simulating it exactly as a trial does."""
    import mujoco

    from mojo.examples.sliding_box import build, metrics
    from mojo.runtime import TrialContext, simulate

    model = build({"friction": friction, "speed": SPEED}).compile()
    data = mujoco.MjData(model)
    context = TrialContext(number=1, seed=0, values={}, duration=DURATION, metrics=metrics)
    return simulate(model, data, context)["distance"]


def true_optimum(target=0.5) -> float:
    """The friction that stops the box at ``target`` m: bisection on the simulation (the distance
    falls as friction grows)."""
    low, high = 0.1, 1.5
    assert stopping_distance(low) > target > stopping_distance(high)
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if stopping_distance(mid) > target else (low, mid)
    return (low + high) / 2


def test_reaches_the_known_optimum_and_writes_every_output(workflow: Workflow):
    workflow.write_config(box_config(n_trial=32, trials_per_round=4, sampler_kwargs={"n_startup_trials": 6}))
    workflow.run("optimize")
    out = opt_dir(workflow)
    best = json.loads((out / "best.json").read_text())
    optimum = true_optimum()
    # Physics: v^2 / (2 mu g) = 0.5 m gives mu = 0.408; the simulated box agrees within 2 %.
    assert optimum == pytest.approx(SPEED**2 / (2 * 9.81 * 0.5), rel=0.02)
    # Tolerance: the best friction within 2 % of the true optimum (stopping within about 1 cm).
    assert best["params"]["friction"] == pytest.approx(optimum, rel=0.02)
    assert best["value"] < 0.01

    study = load_optuna(workflow)
    assert len(study.trials) == 32 and study.best_trial.number == best["trial"]
    assert study.best_value == pytest.approx(best["value"])
    folder = out / f"trial_{best['trial']:04d}_eval_0"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.xml",
        "named_values.json",
        "result.json",
    ]
    named = json.loads((folder / "named_values.json").read_text())
    assert named["friction"] == {"value": best["params"]["friction"], "unit": None, "source": "optimizer"}
    assert named["speed"]["source"] == "sampled" and named["speed"]["value"] == SPEED

    trials = pd.read_parquet(out / "trials.parquet")
    assert list(trials["trial"]) == list(range(32)) and (trials["state"] == "complete").all()
    told = {t.number: t.value for t in study.trials}
    assert trials.set_index("trial")["value"].to_dict() == pytest.approx(told)
    assert pd.read_csv(out / "trials.csv")["friction"].tolist() == pytest.approx(trials["friction"].tolist())
    for plot in ("history", "slices", "best"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 10_000

    again = workflow.run("optimize")
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(load_optuna(workflow).trials) == 32


def test_interrupted_mid_round_resumes_without_asking_again(workflow: Workflow):
    config = box_config(n_trial=16, trials_per_round=4)
    config["runtime"] = "tests.optimize_models:slow_simulate"
    config["run_kwargs"] = {"delay": 0.15}
    workflow.write_config(config)
    out = opt_dir(workflow)
    command = workflow.command("--cores", "2", "optimize")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command,
        cwd=workflow.workdir,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    round_2 = out / "rounds" / "round_0002.json"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:  # kill once round 2 is asked and partly evaluated
            if round_2.exists() and any(out.glob("trial_001[01]_eval_0/result.json")):
                break
            time.sleep(0.02)
        else:
            pytest.fail("round 2 never started")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    asked = json.loads(round_2.read_text())["trials"]
    assert not (out / "best.json").exists()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("trial_*/result.json")}

    workflow.run("--unlock")
    workflow.run("optimize", "--rerun-incomplete")

    assert json.loads(round_2.read_text())["trials"] == asked  # the round was not asked again
    for name, mtime in finished.items():  # finished evaluations were kept, not run again
        assert (out / name / "result.json").stat().st_mtime_ns == mtime
    study = load_optuna(workflow)
    assert [t.number for t in study.trials] == list(range(16))
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    params = [t.params["friction"] for t in study.trials]
    assert len(set(params)) == 16  # no trial held twice
    trials = pd.read_parquet(out / "trials.parquet")
    assert list(trials["trial"]) == list(range(16))
    assert sorted(p.name for p in out.glob("trial_*")) == [f"trial_{n:04d}_eval_0" for n in range(16)]


def test_growing_n_trial_continues_the_study_inside_the_refined_window(workflow: Workflow):
    workflow.write_config(box_config(n_trial=8, refine_search_factor=0.25))
    workflow.run("optimize")
    first = load_optuna(workflow)
    before = [(t.number, t.params, t.value) for t in first.trials]
    best = first.best_params["friction"]
    assert len(before) == 8

    workflow.write_config(box_config(n_trial=16, refine_search_factor=0.25))
    workflow.run("optimize")
    study = load_optuna(workflow)
    assert len(study.trials) == 16
    assert [(t.number, t.params, t.value) for t in study.trials[:8]] == before  # same study, continued
    low, high = max(0.1, best - 0.25 * 1.4 / 2), min(1.5, best + 0.25 * 1.4 / 2)
    for trial in study.trials[8:]:
        assert low <= trial.params["friction"] <= high, (trial.number, trial.params, (low, high))
    rounds = sorted((opt_dir(workflow) / "rounds").glob("round_*.json"))
    spaces = [json.loads(p.read_text())["space"]["friction"] for p in rounds]
    assert (spaces[-1]["low"], spaces[-1]["high"]) == pytest.approx((low, high))
    assert json.loads((opt_dir(workflow) / "best.json").read_text())["n_trial"] == 16


def test_a_lost_storage_is_rebuilt_from_the_trial_files(workflow: Workflow):
    workflow.write_config(box_config(n_trial=8))
    workflow.run("optimize")
    before = [(t.number, t.params, t.value, t.state) for t in load_optuna(workflow).trials]
    mtimes = {p: p.stat().st_mtime_ns for p in opt_dir(workflow).glob("trial_*/result.json")}

    (opt_dir(workflow) / "study.db").unlink()
    workflow.write_config(box_config(n_trial=12))
    workflow.run("optimize")
    study = load_optuna(workflow)
    assert [(t.number, t.params, t.value, t.state) for t in study.trials[:8]] == before
    assert len(study.trials) == 12 and len({t.params["friction"] for t in study.trials}) == 12
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # nothing simulated again


def test_several_evaluations_per_trial_have_own_folders_seeds_and_mean(workflow: Workflow):
    config = box_config(n_trial=4, evals_per_trial=3)
    config["parameters"]["speed"] = {"dist": "uniform", "low": 1.8, "high": 2.2, "unit": "m/s"}
    workflow.write_config(config)
    workflow.run("optimize")
    out = opt_dir(workflow)
    folders = sorted(out.glob("trial_*_eval_*"))
    assert len(folders) == 12
    seeds = {json.loads((f / "config.json").read_text())["trial_seed"] for f in folders}
    speeds = {json.loads((f / "named_values.json").read_text())["speed"]["value"] for f in folders}
    assert len(seeds) == 12 and len(speeds) == 12
    evals = pd.read_parquet(out / "evaluations.parquet")
    trials = pd.read_parquet(out / "trials.parquet").set_index("trial")
    study = load_optuna(workflow)
    for trial in study.trials:
        objectives = evals[evals["trial"] == trial.number]["objective"]
        assert len(objectives) == 3 and objectives.nunique() == 3
        assert trial.value == pytest.approx(objectives.mean())
        assert trials.loc[trial.number, "value_std"] == pytest.approx(objectives.std(ddof=0))
        assert evals[evals["trial"] == trial.number]["friction"].nunique() == 1


def spring_config(prune: bool) -> dict:
    return {
        "study": "spring",
        "seed": 1,
        "n_proc": 2,
        "generator": "tests.optimize_models:spring",
        "metrics": "tests.optimize_models:spring_metrics",
        "objective": "tests.optimize_models:spring_objective",
        "duration": 0.2,
        "parameters": {"timestep": {"dist": "constant", "value": 0.0001, "unit": "s"}},
        "optimize": {
            "direction": "minimize",
            "n_trial": 6,
            "sampler": "random",
            "evals_per_trial": 2,
            "prune_failed_trials": prune,
            "search_space": {"timestep": {"type": "categorical", "choices": [0.0001, 0.01]}},
        },
    }


@pytest.mark.parametrize("prune", [True, False])
def test_unstable_evaluations_prune_or_fail_the_trial_without_a_fake_score(workflow: Workflow, prune):
    workflow.write_config(spring_config(prune))
    workflow.run("optimize")
    out = opt_dir(workflow, "spring")
    study = load_optuna(workflow, "spring")
    states = {t.number: t.state.name for t in study.trials}
    unstable = [t.number for t in study.trials if t.params["timestep"] == 0.01]
    assert unstable and len(unstable) < 6  # the seed gives both kinds
    for trial in study.trials:
        if trial.number in unstable:
            assert states[trial.number] == ("PRUNED" if prune else "FAIL") and trial.value is None
            first = json.loads((out / f"trial_{trial.number:04d}_eval_0" / "result.json").read_text())
            assert first["status"] == "unstable"
            # Pruning stops the trial at its first failed evaluation: the second never runs.
            assert (out / f"trial_{trial.number:04d}_eval_1").exists() is (not prune)
        else:
            assert states[trial.number] == "COMPLETE" and trial.value is not None
    best = json.loads((out / "best.json").read_text())
    assert best["params"]["timestep"] == 0.0001
    assert best[("n_pruned" if prune else "n_fail")] == len(unstable)


def test_optimize_target_without_an_optimize_section_says_so(workflow: Workflow):
    config = box_config()
    del config["optimize"]
    workflow.write_config(config)
    done = workflow.run("optimize", check=False)
    assert done.returncode != 0 and "has no 'optimize:' section" in done.stdout + done.stderr
