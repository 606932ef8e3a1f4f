"""The warp backend (mojo/trials/warp, docs/warp.md) on Warp's CPU device, against the CPU
backend: the bundled examples, a diverging world, a failing generator, batches split by
structure and by ``worlds_per_batch``, resume after a kill, the refused configs, and one real
``snakemake`` run.

The CPU backend is the reference: it computes in float64, the device in float32. Measured on
the runs here (0.1-0.2 s simulated), the largest differences of the bundled examples' metrics and
objective were 5.6e-7 relative (pendulum: 3.5e-5 deg of 62.7 deg), 4.6e-7 (chain: 3.3e-7 m) and
4.4e-6 (sliding box: 5.2e-6 m/s of 1.17 m/s, where the contacts carry the rounding); :data:`RTOL`
and :data:`ATOL` leave four times that or more. Trials of a batch are independent worlds, so how
they are batched, and what a neighbouring world does, changes no bit of their results (on Warp's
CPU device, as checked here).

The first test to run compiles Warp's kernels (20-40 s with an empty kernel cache, as in CI);
the reference runs are shared by module-scoped fixtures so that each study runs once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import mojo.config.study as study_module
from mojo.config.study import ConfigError, load_study, warp_install
from mojo.trials.batch import run_batch
from tests.conftest import REPO, Workflow, require_warp
from tests.warp_models import GATE, HEAVY

require_warp()

RTOL = 2e-5
"""Relative tolerance on a metric or objective, device (float32) against CPU (float64); see the
module docstring for what was measured."""
ATOL = 2e-5
"""Absolute tolerance on a metric, in its own unit (rad, m, m/s, deg, J)."""
BACKENDS = ("cpu", "warp")
TEMPLATES = REPO / "mojo" / "templates" / "configs"
EXAMPLES = {
    "pendulum": {"n_trial": 8, "duration": 0.2},  # both bob shapes: two structure groups
    "chain": {"n_trial": 4, "duration": 0.1},
    "sliding_box": {"n_trial": 4, "duration": 0.2},  # a box sliding on the floor: contacts
}
TIMINGS = ("wall_time", "timings", "input_hash")
"""What a trial's result.json holds that is not its result (input_hash: of its config.json,
which names the backend)."""
COMPUTED = ("metrics", "objective")
"""What the device's float32 rounding reaches in a result.json."""


def example_config(name: str, results_dir: Path, backend: str, **changes) -> dict:
    """A bundled example's config, small, without what the comparison does not need."""
    config = yaml.safe_load((TEMPLATES / f"{name}.yaml").read_text())
    for key in ("signals", "pictures", "optimize", "n_proc"):
        config.pop(key, None)
    return config | EXAMPLES[name] | {"results_dir": str(results_dir), "backend": backend} | changes


def arm_config(results_dir: Path, backend: str, **changes) -> dict:
    """Arms of tests/warp_models.py: a fifth diverge (k = 1e12), a fifth fail to generate."""
    config = {
        "study": "arms",
        "results_dir": str(results_dir),
        "seed": 11,
        "n_trial": 10,
        "generator": "tests.warp_models:arm",
        "metrics": "tests.warp_models:angle",
        "duration": 0.4,
        "backend": backend,
        "parameters": {
            "k": {"dist": "choice", "values": [1.0, 4.0, 1.0e12], "weights": [0.4, 0.4, 0.2]},
            "mass": {"dist": "uniform", "low": 0.5, "high": 2.0},
            "broken": {"dist": "choice", "values": ["no", "yes"], "weights": [0.8, 0.2]},
        },
    }
    return config | changes


def run(config: dict, log: Path | None = None) -> None:
    study = load_study(config)
    run_batch(study, 0, study.n_trial - 1, log=log, threads=2)


def study_dir(config: dict) -> Path:
    return Path(config["results_dir"]) / config["study"]


def results(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("trial_*/result.json"))]


def files(folder: Path, name: str) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(folder.glob(f"trial_*/{name}"))}


def outcome(result: dict) -> dict:
    """A trial's result.json without its timings."""
    return {k: v for k, v in result.items() if k not in TIMINGS}


def uncomputed(result: dict) -> dict:
    """What of a result.json the backends must agree on exactly."""
    return {k: v for k, v in outcome(result).items() if k not in COMPUTED}


def assert_close(warp: dict, cpu: dict) -> None:
    """Metrics within float32 rounding of the CPU backend's."""
    assert warp.keys() == cpu.keys()
    assert np.allclose(list(warp.values()), list(cpu.values()), rtol=RTOL, atol=ATOL), (warp, cpu)


def stepped_batches(log: Path) -> list[int]:
    """The size of each batch the warp backend stepped, from its log."""
    return [int(n) for n in re.findall(r"warp: stepped (\d+) worlds", log.read_text())]


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    """The bundled examples, each run on both backends, under ``<backend>/<example>`` (same study
    name, so that the trial files compare)."""
    root = tmp_path_factory.mktemp("examples")
    for name in EXAMPLES:
        for backend in BACKENDS:
            run(example_config(name, root / backend, backend), log=root / f"{name}_{backend}.log")
    return root


@pytest.fixture(scope="module")
def arms(tmp_path_factory) -> Path:
    """The arms study on both backends, and on the warp backend with no arm diverging (tame)."""
    root = tmp_path_factory.mktemp("arms")
    for backend in BACKENDS:
        run(arm_config(root / backend, backend))
    run(arm_config(root / "tame", "warp", gen_kwargs={"tame": True}))
    return root


@pytest.mark.parametrize("name", EXAMPLES)
def test_bundled_examples_agree_with_the_cpu_backend(examples: Path, name: str):
    cpu_dir, warp_dir = (examples / backend / name for backend in BACKENDS)
    cpu, warp = results(cpu_dir), results(warp_dir)
    assert len(warp) == len(cpu) == EXAMPLES[name]["n_trial"]
    assert [r["status"] for r in warp] == ["success"] * len(cpu)
    for w, c in zip(warp, cpu):
        assert uncomputed(w) == uncomputed(c)  # sim_time too: counted in float64
        assert_close(w["metrics"], c["metrics"])
        assert np.isclose(w["objective"] or 0, c["objective"] or 0, rtol=RTOL, atol=ATOL)
    assert any(w["metrics"] != c["metrics"] for w, c in zip(warp, cpu)), "the device computed them"
    for name_ in ("model.xml", "named_values.json"):
        assert files(warp_dir, name_) == files(cpu_dir, name_)
    backend_line = '  "backend": "warp",\n'
    for trial, text in files(warp_dir, "config.json").items():
        assert backend_line.encode() in text
        assert text.replace(backend_line.encode(), b"") == files(cpu_dir, "config.json")[trial]


def test_trials_of_two_structures_step_as_two_groups(examples: Path):
    """The pendulum's bob shapes make two structures: each its own batch, both right (above)."""
    shapes = [
        json.loads(t)["bob_shape"]["value"]
        for t in files(examples / "warp" / "pendulum", "named_values.json").values()
    ]
    groups = sorted(shapes.count(s) for s in set(shapes))
    assert len(groups) == 2, "the seed must give both shapes"
    assert sorted(stepped_batches(examples / "pendulum_warp.log")) == groups


def test_the_job_log_says_what_the_backend_did_without_warps_chatter(examples: Path):
    """The log has the backend's lines, not Warp's start-up banner or a line per kernel module
    loaded (dozens per job: mojo.trials.warp.models.warp_fields silences them)."""
    log = (examples / "pendulum_warp.log").read_text()
    assert "[mojo] warp: compiled 8 models" in log
    assert "load on device" not in log and "initialized:" not in log


def test_small_worlds_per_batch_splits_groups_into_batches_with_the_same_results(
    examples: Path, tmp_path: Path
):
    log = tmp_path / "job.log"
    run(example_config("pendulum", tmp_path, "warp", worlds_per_batch=2), log=log)
    batches = stepped_batches(log)
    assert max(batches) == 2 and len(batches) > 2
    said = log.read_text()  # the first full batch stepped while the pool compiled the rest
    assert said.index("] warp: stepped 2 worlds") < said.index("] warp: compiled 8 models")
    single = examples / "warp" / "pendulum"
    assert [outcome(r) for r in results(tmp_path / "pendulum")] == [outcome(r) for r in results(single)]
    for name in ("model.xml", "named_values.json", "config.json"):
        assert files(tmp_path / "pendulum", name) == files(single, name)


def test_a_diverging_world_is_unstable_alone(arms: Path):
    """Its reason says when it diverged; every other trial of its batch is the CPU backend's, and
    bit for bit what it is in a batch where no world diverges."""
    cpu, warp, tame = (results(arms / run_ / "arms") for run_ in (*BACKENDS, "tame"))
    assert [r["status"] for r in warp] == [r["status"] for r in cpu]
    diverging = [i for i, r in enumerate(warp) if r["status"] == "unstable"]
    assert diverging and len(diverging) < len(warp) - 2, "the seed must give a diverging world among others"
    for i in diverging:
        reason = warp[i]["reason"]
        assert reason.startswith("MuJoCo Warp: the state diverged"), reason
        when = float(re.search(r"by t=([0-9.e+-]+)s$", reason).group(1))
        assert 0 < when <= 0.4
        assert tame[i]["status"] == "success"
    for w, c, t in zip(warp, cpu, tame):
        if w["status"] == "success":
            assert_close(w["metrics"], c["metrics"])
            assert w["metrics"] == t["metrics"]


def test_a_diverged_trials_time_is_a_step_time_counted_in_float64(arms: Path):
    """sim_time of an unstable trial is the time of a step, counted in float64 as the CPU counts
    it (as for every other trial), not the device's float32 clock."""
    step_times, t = set(), 0.0
    for _ in range(round(0.4 / 0.002)):
        t += 0.002
        step_times.add(t)
    unstable = [r for r in results(arms / "warp" / "arms") if r["status"] == "unstable"]
    assert unstable and all(r["sim_time"] in step_times for r in unstable), [r["sim_time"] for r in unstable]


def test_a_generator_that_raises_fails_its_trial_alone(arms: Path):
    cpu, warp = (results(arms / backend / "arms") for backend in BACKENDS)
    errors = [i for i, r in enumerate(warp) if r["status"] == "error"]
    assert errors, "the seed must break a generator"
    for i in errors:
        assert warp[i]["reason"] == cpu[i]["reason"]
        assert "ValueError: no arm of mass" in warp[i]["reason"]
        trial = f"trial_{i:04d}"
        assert files(arms / "warp" / "arms", "model.xml")[trial].startswith(b"<!-- no model: ValueError")
        assert (
            files(arms / "warp" / "arms", "model.xml")[trial]
            == files(arms / "cpu" / "arms", "model.xml")[trial]
        )
    assert sum(r["status"] == "success" for r in warp) >= len(warp) // 2


def test_a_job_killed_while_finishing_resumes_to_an_uninterrupted_runs_files(tmp_path: Path):
    """kill -9 while the finish stage is held back on a heavy arm: the trials finished before it
    keep their files (bytes and mtime), a rerun makes the rest, and the files are those of a run
    never killed."""
    parameters = {
        "k": {"dist": "constant", "value": 4.0},
        "mass": {"dist": "uniform", "low": 0.5, "high": 2.0},
    }
    config = arm_config(
        tmp_path / "killed", "warp", metrics="tests.warp_models:held_angle", parameters=parameters
    )
    gate = tmp_path / "gate"
    gate.touch()
    script = f"from tests.test_warp import run; run({config!r})"
    env = {**os.environ, GATE: str(gate), "PYTHONPATH": str(REPO)}
    with open(tmp_path / "job.err", "w") as err:
        job = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True, stderr=err)
    folder = study_dir(config)

    def light_arms_finished() -> bool:
        """Whether the arms before the first heavy one have their result.json (the compile
        stage wrote every trial's named values before)."""
        named = files(folder, "named_values.json")
        if len(named) < config["n_trial"]:
            return False
        masses = [json.loads(text)["mass"]["value"] for text in named.values()]
        light = next(i for i, mass in enumerate(masses) if mass > HEAVY)
        return len(list(folder.glob("trial_*/result.json"))) >= light

    deadline = time.monotonic() + 60
    while not light_arms_finished() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # held back: no more finish
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    finished = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("trial_*/result.json")}
    masses = [json.loads(t)["mass"]["value"] for t in files(folder, "named_values.json").values()]
    assert 0 < len(finished) < config["n_trial"], (tmp_path / "job.err").read_text()
    assert max(masses[: len(finished)]) <= HEAVY < masses[len(finished)], "held back by a heavy arm"

    run(config)  # no gate: nothing waits
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in finished} == finished
    whole = arm_config(
        tmp_path / "whole", "warp", metrics="tests.warp_models:held_angle", parameters=parameters
    )
    run(whole)
    assert [r["status"] for r in results(folder)] == ["success"] * config["n_trial"]
    assert [outcome(r) for r in results(folder)] == [outcome(r) for r in results(study_dir(whole))]
    for name in ("model.xml", "named_values.json", "config.json"):
        assert files(folder, name) == files(study_dir(whole), name)
    assert not list(folder.glob("trial_*/.*.tmp"))


REFUSED = {
    "trial_timeout": 10,
    "trial_memory_mb": 512,
    "optimize": {
        "direction": "minimize",
        "n_trial": 4,
        "search_space": {"mass": {"type": "float", "low": 0.5, "high": 2.0}},
    },
}


@pytest.mark.parametrize("key", REFUSED)
def test_warp_refuses_what_it_cannot_run_naming_the_key(key: str, tmp_path: Path):
    changes = {key: REFUSED[key]} | ({"objective": "tests.warp_models:lean"} if key == "optimize" else {})
    load_study(arm_config(tmp_path, "cpu", **changes))  # allowed on the CPU backend
    with pytest.raises(ConfigError) as caught:
        load_study(arm_config(tmp_path, "warp", **changes))
    message = str(caught.value)
    assert f"backend = 'warp' cannot run a study with {key} = " in message
    assert "use backend: cpu" in message


def test_warp_without_mujoco_warp_says_how_to_install_it(monkeypatch, tmp_path: Path):
    find_spec = study_module.importlib.util.find_spec
    monkeypatch.setattr(
        study_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "mujoco_warp" else find_spec(name, *a),
    )
    load_study(arm_config(tmp_path, "cpu"))
    with pytest.raises(ConfigError) as caught:
        load_study(arm_config(tmp_path, "warp"))
    assert "MuJoCo Warp, which is not installed" in str(caught.value)
    assert warp_install() in str(caught.value)


@pytest.mark.slow
def test_snakemake_runs_a_warp_study_to_its_tables_and_resumes(tmp_path: Path):
    """One real run: a refused config stops before any job, without a traceback; then a small
    warp study makes its tables, and a second run, with another worlds_per_batch, has nothing to
    do."""
    workflow = Workflow(tmp_path)
    config = arm_config(Path("results"), "warp", n_trial=4, duration=0.1, n_proc=1)
    del config["parameters"]["broken"]
    workflow.write_config(config | {"trial_timeout": 5})
    refused = workflow.run(check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "trial_timeout = 5" in output and "backend = 'warp'" in output
    assert "Traceback" not in output and not (tmp_path / "results").exists()

    workflow.write_config(config)
    workflow.run()
    table = pd.read_csv(workflow.study_dir("arms") / "trials.csv")
    statuses = [r["status"] for r in results(workflow.study_dir("arms"))]
    assert list(table["trial"]) == [0, 1, 2, 3] and list(table["status"]) == statuses
    assert "success" in statuses and table["q"].notna().any()
    assert all(
        b'"backend": "warp"' in text for text in files(workflow.study_dir("arms"), "config.json").values()
    )
    again = workflow.run("--config", "worlds_per_batch=2")  # how trials batch changes no trial
    assert "Nothing to be done" in again.stdout + again.stderr
