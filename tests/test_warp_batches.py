"""The warp backend with a runtime of one's own: its calls to mojo.runtime.step become steps of
the whole batch (mojo/trials/warp/runtimes.py), on Warp's CPU device here.

Each test runs the same study on both backends and compares trial by trial: the CPU backend is
the reference (float64), the device computes in float32.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mojo.config.study import load_study
from mojo.trials.batch import run_batch
from tests.conftest import require_warp

require_warp()

TOLERANCE = 1e-4
"""Absolute tolerance on angles (rad) and speeds (rad/s) after 0.3 s: float32 rounding."""


def spring_study(tmp_path: Path, runtime: str, backend: str, **changes) -> dict:
    config = {
        "study": f"springs_{backend}",
        "results_dir": str(tmp_path / "results"),
        "seed": 5,
        "n_trial": 8,
        "generator": "tests.warp_runtime_models:spring",
        "runtime": f"tests.warp_runtime_models:{runtime}",
        "duration": 0.3,
        "backend": backend,
        "parameters": {
            "k": {"dist": "choice", "values": [1.0, 4.0, 1.0e12], "weights": [0.4, 0.4, 0.2]},
            "mass": {"dist": "uniform", "low": 0.5, "high": 2.0},
        },
    }
    config.update(changes)
    return config


def run_both(tmp_path: Path, runtime: str, **changes) -> tuple[list, list]:
    rows = {}
    for backend in ("cpu", "warp"):
        study = load_study(spring_study(tmp_path, runtime, backend, **changes))
        rows[backend] = run_batch(study, 0, study.n_trial - 1, threads=2).rows
    return rows["cpu"], rows["warp"]


def results(tmp_path: Path, backend: str) -> list[dict]:
    paths = sorted((tmp_path / "results" / f"springs_{backend}").glob("trial_*/result.json"))
    return [json.loads(p.read_text()) for p in paths]


def test_steps_of_an_own_runtime_are_batched_and_agree_with_the_cpu_backend(tmp_path):
    cpu, warp = run_both(tmp_path, "push_halfway")
    assert [r.status for r in warp] == [r.status for r in cpu]
    assert {r.status for r in cpu} == {"success", "unstable"}, "the seed must give both outcomes"
    for c, w in zip(cpu, warp):
        if c.status == "success":
            assert w.metrics["t"] == c.metrics["t"]  # time is counted on the CPU, step by step
            assert np.allclose(
                [w.metrics["q"], w.metrics["v"]], [c.metrics["q"], c.metrics["v"]], atol=TOLERANCE
            )
        else:
            assert w.reason.startswith("MuJoCo Warp: the state diverged") and "by t=" in w.reason
    # the pushes happened: a trial without them would end elsewhere
    assert any(abs(r.metrics["q"]) > 0.1 for r in warp if r.status == "success")


def test_what_an_own_runtime_raises_is_its_trials_outcome_alone(tmp_path):
    cpu, warp = run_both(
        tmp_path,
        "misbehaving",
        parameters={
            "k": {"dist": "constant", "value": 1.0},
            "mass": {"dist": "uniform", "low": 0.5, "high": 2.0},
        },
    )
    assert [(r.status, r.reason) for r in warp] == [(r.status, r.reason) for r in cpu]
    assert [r.status for r in warp[:4]] == ["success", "failure", "error", "error"]
    assert "sys.exit(3)" in warp[3].reason and "KeyboardInterrupt" in warp[2].reason
    for c, w in zip(cpu, warp):
        if c.status == "success":
            assert np.allclose(list(w.metrics.values()), list(c.metrics.values()), atol=TOLERANCE)


def test_a_runtime_that_steps_on_its_own_runs_on_the_cpu_exactly(tmp_path):
    cpu, warp = run_both(tmp_path, "own_steps")
    assert [(r.status, r.metrics) for r in warp] == [(r.status, r.metrics) for r in cpu]


def test_worlds_that_run_out_of_room_for_contacts_run_again_with_more(tmp_path):
    """30 boxes on a floor make about 120 contacts per world, more than MuJoCo Warp's default
    room: the batch runs again with twice the room, until none is dropped."""
    rows = {}
    for backend in ("cpu", "warp"):
        study = load_study(
            {
                "study": f"pile_{backend}",
                "results_dir": str(tmp_path / "results"),
                "n_trial": 3,
                "generator": "tests.warp_runtime_models:box_pile",
                "metrics": "tests.warp_runtime_models:box_heights",
                "duration": 0.01,
                "backend": backend,
                "parameters": {
                    "n": {"dist": "constant", "value": 30},
                    "size": {"dist": "uniform", "low": 0.05, "high": 0.1},
                },
            }
        )
        rows[backend] = run_batch(study, 0, study.n_trial - 1, threads=2).rows
    assert [r.status for r in rows["warp"]] == ["success"] * 3
    for c, w in zip(rows["cpu"], rows["warp"]):
        assert w.metrics["contacts"] == c.metrics["contacts"] >= 100
        assert w.metrics["z_min"] == pytest.approx(c.metrics["z_min"], abs=1e-5)


def test_user_code_that_kills_its_process_fails_its_trial_alone(tmp_path):
    """A generator calling os._exit and metrics that segfault: their trials are recorded as
    errors, and every other trial of the batch is recorded as the CPU backend records it."""
    changes = {
        "metrics": "tests.warp_runtime_models:angle_or_crash",
        "n_trial": 10,
        "parameters": {
            "k": {"dist": "constant", "value": 2.0},
            "mass": {"dist": "uniform", "low": 0.5, "high": 2.0},
            "crash": {"dist": "choice", "values": ["no", "generator"], "weights": [0.6, 0.4]},
        },
    }
    rows = {}
    for backend in ("cpu", "warp"):
        config = spring_study(tmp_path, "push_halfway", backend, **changes)
        config["generator"] = "tests.warp_runtime_models:spring_or_crash"
        del config["runtime"]
        if backend == "warp":  # batches step while the pool compiles: a crash in either stage
            config["worlds_per_batch"] = 3
        study = load_study(config)
        rows[backend] = run_batch(study, 0, study.n_trial - 1, threads=2).rows
    cpu, warp = rows["cpu"], rows["warp"]
    assert [r.status for r in warp] == [r.status for r in cpu]
    crashed = [r for r in warp if r.status == "error"]
    assert any(r.values["crash"] == "generator" for r in crashed), "the seed must crash a generator"
    assert any(r.values["mass"] > 1.5 and r.values["crash"] == "no" for r in crashed), "and a metrics call"
    assert all("killed its process" in r.reason for r in crashed)
    for c, w in zip(cpu, warp):
        if c.status == "success":
            assert w.metrics["q"] == pytest.approx(c.metrics["q"], abs=TOLERANCE)


SIGNALS = {"rate": 50, "record": ["qpos:hinge", "qvel:hinge", "xpos:arm", "xquat:arm"]}


def signals_of(study_dir: Path):
    from mojo.signals import load

    return load(study_dir).sort_values(["trial", "signal", "component", "time"]).reset_index(drop=True)


def test_signals_are_recorded_on_the_device_as_on_the_cpu(tmp_path):
    """Same samples at the same times (to the last bit), values within float32 rounding; the
    unstable trials keep the samples taken before they diverged."""
    config = {"signals": SIGNALS, "metrics": None}
    for backend in ("cpu", "warp"):
        changes = spring_study(tmp_path, "push_halfway", backend, **config)
        del changes["runtime"]
        study = load_study(changes)
        run_batch(study, 0, study.n_trial - 1, threads=2)
    cpu, warp = (signals_of(tmp_path / "results" / f"springs_{b}") for b in ("cpu", "warp"))
    stable = [r["trial"] for r in results(tmp_path, "cpu") if r["status"] == "success"]
    cpu_stable, warp_stable = (s[s.trial.isin(stable)].reset_index(drop=True) for s in (cpu, warp))
    assert (
        len(cpu_stable) > 0
        and (
            warp_stable[["trial", "time", "signal", "component"]]
            == cpu_stable[["trial", "time", "signal", "component"]]
        )
        .all()
        .all()
    )
    assert np.allclose(warp_stable.value, cpu_stable.value, atol=TOLERANCE)
    diverged = {r["trial"]: r["reason"] for r in results(tmp_path, "warp") if r["status"] == "unstable"}
    assert diverged, "the seed must give an unstable trial"
    for trial, reason in diverged.items():
        when = float(reason.split("by t=")[1].rstrip("s"))
        assert 0 < warp[warp.trial == trial].time.max() < when


def test_signals_added_to_a_finished_warp_study_are_recorded_on_the_device_alone(tmp_path):
    """The trials run again for their signals only: every other file keeps its bytes and mtime,
    and the signals equal those of a study that recorded them from the start."""
    config = spring_study(tmp_path, "push_halfway", "warp", metrics=None)
    del config["runtime"]
    study = load_study(config)
    run_batch(study, 0, study.n_trial - 1, threads=2)
    study_dir = tmp_path / "results" / "springs_warp"
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in study_dir.glob("trial_*/*")}
    run_batch(load_study(config | {"signals": SIGNALS}), 0, study.n_trial - 1, threads=2)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    added = signals_of(study_dir)
    fresh = load_study(config | {"signals": SIGNALS, "study": "springs_fresh"})
    run_batch(fresh, 0, fresh.n_trial - 1, threads=2)
    assert added.equals(signals_of(tmp_path / "results" / "springs_fresh"))
