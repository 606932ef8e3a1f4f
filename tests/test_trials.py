"""Running trials in a batch: statuses, crash isolation, skipping finished work, reproducibility."""

import json
from pathlib import Path

import mujoco
import pytest

from mojo.config.study import load_study
from mojo.trials.batch import run_batch
from mojo.trials.files import TRIAL_FILES
from mojo.trials.layout import trial_dir
from tests.conftest import ball_config, reproducible_files

MODES = ["ok", "unstable", "raise", "crash", "xml"]


def mode_study(tmp_path: Path, **changes):
    config = ball_config(
        results_dir=str(tmp_path),
        n_trial=len(MODES),
        duration=1.0,
        generator="tests.trial_models:by_mode",
        metrics="tests.trial_models:checked_metrics",
        parameters={
            # An override must be one of the values: the modes tests pin are listed too.
            "mode": {"dist": "choice", "values": [*MODES, "interrupt", "print"]},
            "mass": {"dist": "uniform", "low": 0.5, "high": 1.0, "unit": "kg"},
        },
    )
    return load_study(config | changes)


def run_modes(tmp_path, modes, **changes):
    """One trial per mode (each pinned through an override of its own study folder)."""
    results = {}
    for mode in modes:
        s = mode_study(tmp_path, study=f"s_{mode}", overrides={"mode": mode}, **changes)
        batch = run_batch(s, 1, 1)
        results[mode] = (batch.rows[0], trial_dir(s, 1))
    return results


def result_of(folder: Path) -> dict:
    return json.loads((folder / "result.json").read_text())


def test_each_outcome_has_its_status_and_reason(tmp_path):
    outcomes = run_modes(tmp_path, MODES)
    statuses = {mode: row.status for mode, (row, _) in outcomes.items()}
    assert statuses == {
        "ok": "success",
        "unstable": "unstable",
        "raise": "error",
        "crash": "error",
        "xml": "success",
    }
    row, folder = outcomes["raise"]
    assert row.reason == "generator: ValueError: the generator refused this trial"
    assert "Traceback" in result_of(folder)["traceback"]
    assert "killed by SIGSEGV" in outcomes["crash"][0].reason
    unstable = result_of(outcomes["unstable"][1])
    assert "mjWARN_BADQACC" in unstable["reason"] and unstable["warnings"]["mjWARN_BADQACC"] >= 1
    for row, folder in outcomes.values():  # every folder is complete, whatever happened
        assert sorted(p.name for p in folder.iterdir()) == sorted(TRIAL_FILES)
        mujoco.MjModel.from_xml_path(str(folder / "model.xml"))


def test_failed_check(tmp_path):
    s = mode_study(
        tmp_path,
        overrides={"mode": "ok", "mass": 2.0},
        parameters={
            "mode": {"dist": "choice", "values": MODES},
            "mass": {"dist": "uniform", "low": 0.5, "high": 3.0, "unit": "kg"},
        },
    )
    row = run_batch(s, 1, 1).rows[0]
    assert row.status == "failure" and row.reason == "ball too heavy: 2.00 kg"


def test_timeout_stops_only_that_trial(tmp_path):
    s = mode_study(
        tmp_path,
        n_trial=3,
        trial_timeout=1.0,
        parameters={
            "mode": {"dist": "choice", "values": ["hang", "ok"], "nominal": "ok"},
        },
        overrides={},
    )
    rows = {row.trial: row for row in run_batch(s, 0, 2).rows}
    statuses = [rows[n].status for n in range(3)]
    assert "timeout" in statuses and statuses[0] == "success"
    timed_out = next(r for r in rows.values() if r.status == "timeout")
    assert "trial_timeout = 1.0 s" in timed_out.reason and 1.0 <= timed_out.wall_time < 10


def test_a_crash_does_not_stop_the_batch(tmp_path):
    s = mode_study(
        tmp_path,
        n_trial=8,
        parameters={
            "mode": {"dist": "choice", "values": ["crash", "ok"], "weights": [1, 2], "nominal": "ok"},
        },
    )
    rows = run_batch(s, 0, 7).rows
    crashed = [r.trial for r in rows if r.status == "error"]
    assert crashed and len(rows) == 8
    assert all(r.status == "success" for r in rows if r.trial not in crashed)


def test_ctrl_c_in_a_trial_stops_the_batch_and_records_nothing(tmp_path):
    s = mode_study(tmp_path, overrides={"mode": "interrupt"})
    with pytest.raises(RuntimeError, match="interrupted"):
        run_batch(s, 0, 1)
    assert not (trial_dir(s, 0) / "result.json").exists()


def test_the_job_log_gets_progress_and_what_trials_print(tmp_path):
    s = mode_study(tmp_path, n_trial=10, overrides={"mode": "print"})
    log = tmp_path / "logs" / "job.log"
    rows = run_batch(s, 0, 9, log=log).rows
    assert [r.status for r in rows] == ["success"] * 10
    text = log.read_text()
    assert text.count("stdout of a trial") == 10 and text.count("stderr of a trial") == 10
    assert "[mojo] trials 0-9: 10/10 trials done (100%)" in text


def metrics_of(folder: Path) -> dict:
    return {p.parent.name: json.loads(p.read_text())["metrics"] for p in sorted(folder.rglob("result.json"))}


def test_files_do_not_depend_on_how_trials_are_batched(tmp_path):
    whole = load_study(ball_config(results_dir=str(tmp_path / "a")))
    split = load_study(ball_config(results_dir=str(tmp_path / "b")))
    run_batch(whole, 0, 11)
    for first in range(0, 12, 5):
        run_batch(split, first, min(first + 4, 11))
    a, b = tmp_path / "a" / "balls", tmp_path / "b" / "balls"
    assert reproducible_files(a) == reproducible_files(b) and len(reproducible_files(a)) == 36
    assert metrics_of(a) == metrics_of(b)


def test_code_drawing_from_the_global_generators_unseeded_gets_the_same_draws_however_batched(tmp_path):
    """Python's and NumPy's global generators are seeded from the trial's seed before its code
    runs: otherwise a trial's draws would depend on the trials run before it in its worker."""
    unseeded = {"generator": "tests.trial_models:ball_at_a_random_height", "parameters": {}}
    unseeded |= {"runtime": "tests.trial_models:unseeded_draws", "metrics": None}
    whole = load_study(ball_config(results_dir=str(tmp_path / "a"), n_trial=4, **unseeded))
    split = load_study(ball_config(results_dir=str(tmp_path / "b"), n_trial=4, **unseeded))
    run_batch(whole, 0, 3)
    run_batch(split, 2, 3)
    run_batch(split, 0, 1)
    a, b = metrics_of(tmp_path / "a" / "balls"), metrics_of(tmp_path / "b" / "balls")
    assert a == b
    assert len({m["python"] for m in a.values()}) == len({m["start"] for m in a.values()}) == 4


def test_a_replay_draws_what_the_trial_drew_from_the_global_generators(tmp_path):
    """A picture replays the trial from its files, without its generator: the runtime's draws
    must not depend on what the generator drew before it."""
    from mojo.results.render import Replay

    unseeded = {"generator": "tests.trial_models:ball_at_a_random_height", "parameters": {}}
    unseeded |= {"runtime": "tests.trial_models:pushed_at_random", "metrics": None}
    study = load_study(ball_config(results_dir=str(tmp_path), n_trial=2, **unseeded))
    rows = run_batch(study, 0, 1).rows
    for row in rows:
        replay = Replay(trial_dir(study, row.trial))
        assert replay.run(10.0, lambda model, data, t: None) is None
        assert float(replay.data.qpos[2]) == row.metrics["height"]


def test_finished_trials_are_skipped_and_changed_ones_remade(tmp_path):
    s = load_study(ball_config(results_dir=str(tmp_path)))
    run_batch(s, 0, 3)
    results = {n: (trial_dir(s, n) / "result.json").read_bytes() for n in range(4)}
    run_batch(s, 0, 3)
    assert {n: (trial_dir(s, n) / "result.json").read_bytes() for n in range(4)} == results

    changed = load_study(ball_config(results_dir=str(tmp_path), duration=0.3))
    run_batch(changed, 0, 3)
    assert all((trial_dir(s, n) / "result.json").read_bytes() != results[n] for n in range(4))
    assert json.loads((trial_dir(s, 1) / "config.json").read_text())["duration"] == 0.3


def test_config_json_records_what_made_the_trial(tmp_path):
    s = load_study(ball_config(results_dir=str(tmp_path)))
    run_batch(s, 0, 1)
    config = json.loads((trial_dir(s, 1) / "config.json").read_text())
    assert config["study"] == "balls" and config["trial"] == 1 and config["seed"] == 7
    assert config["generator"] == "tests.trial_models:ball"
    assert set(config["code_hashes"]) == {"generator", "runtime", "metrics"}
    assert config["parameters"]["height"] == {
        "nominal": None,
        "unit": "m",
        "dist": "uniform",
        "low": 0.5,
        "high": 1.5,
    }
    named = json.loads((trial_dir(s, 1) / "named_values.json").read_text())
    assert named["height"]["source"] == "sampled" and named["height"]["unit"] == "m"


def test_a_user_runtime_gets_the_trial_and_its_run_kwargs(tmp_path):
    def run(**changes):
        s = load_study(
            ball_config(
                results_dir=str(tmp_path / str(len(list(tmp_path.iterdir())))),
                runtime="tests.trial_models:damped_drop",
                metrics=None,
                **changes,
            )
        )
        return {row.trial: row.metrics for row in run_batch(s, 0, 3).rows}

    free = run(run_kwargs={"steps": 400})
    assert all(m["steps"] < 400 for m in free.values())  # its own stop condition ended each trial
    held = run(run_kwargs={"steps": 400, "drag": 30.0})
    assert all(held[n]["z"] > free[n]["z"] for n in free)  # run_kwargs reached the runtime
    assert run(run_kwargs={"steps": 400}) == free  # seeded from the trial: reproducible
