"""The warp backend as a careful researcher uses it (docs/warp.md, README "On a GPU"): what the
first adversarial pass found broken. Small and fast: unit tests on tiny models, no snakemake run.

Tried and found as promised (not repeated here): every bad value of ``backend`` and
``worlds_per_batch`` is refused by name before any job; warp with ``trial_timeout``,
``trial_memory_mb``, ``optimize``, ``fn:`` signals and signals with a runtime of its own is
refused with the reason; switching a finished study cpu -> warp -> cpu re-makes every trial;
growth, ``kill -9`` of Snakemake or of the forked warp process, truncated or deleted trial files
all resume with no finished trial lost; two structure groups; contacts; a model without degrees
of freedom; fewer trials than cores; generators and metrics that raise, return NaN or a wrong
type; the docs' ``push`` runtime as written; ``mojo status``, ``mojo show`` and the report.
"""

from __future__ import annotations

import os
import re
import signal
from importlib.metadata import requires
from pathlib import Path

import pytest

import mojo.config.study as study_module
from mojo.config.study import ConfigError, load_study
from mojo.trials.batch import run_batch
from mojo.trials.warp.pool import Pool
from tests.conftest import require_warp

require_warp()


def _warp_requirements() -> list[str]:
    """The distribution names of the project's ``warp`` extra, as installed (pyproject.toml)."""
    marked = [r for r in requires("mojo") or [] if re.search(r"extra\s*==\s*['\"]warp['\"]", r)]
    return [re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in marked]


def test_missing_warp_message_installs_mujoco_warp_not_the_mojo_language(monkeypatch, tmp_path: Path):
    """The refusal without the extra must give a command that installs MuJoCo Warp. PyPI's
    ``mojo`` is another project (the Mojo language, which has no ``warp`` extra), so the hint
    has to name the packages themselves (or a path to this project), never the bare name."""
    find_spec = study_module.importlib.util.find_spec
    monkeypatch.setattr(
        study_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "mujoco_warp" else find_spec(name, *a),
    )
    config = {
        "study": "arms",
        "results_dir": str(tmp_path),
        "generator": "tests.warp_models:arm",
        "backend": "warp",
    }
    with pytest.raises(ConfigError) as caught:
        load_study(config)
    message = str(caught.value)
    assert "'mojo[warp]'" not in message, message
    for name in _warp_requirements():
        assert name in message, f"{name} missing from: {message}"


def _die(item: str) -> str:
    """A task whose code kills its worker process as ``item`` says."""
    if item == "exit":
        os._exit(4)
    if item == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    return item


def test_a_trial_that_kills_its_worker_is_recorded_with_how_it_died():
    """The CPU backend records ``killed by SIGSEGV`` or ``exited with code 4``; the warp
    backend's pool must say as much (it said only "a crash, or os._exit"), so that a researcher
    can tell a segfault in native code from an ``os._exit`` without rerunning on the CPU."""
    pool = Pool(2)
    try:
        results = list(pool.map(_die, ["ok", "exit", "ok2", "segv", "ok3"], lambda item, why: (item, why)))
    finally:
        pool.close()
    assert results[0] == "ok" and results[2] == "ok2" and results[4] == "ok3"
    assert results[1][0] == "exit" and "exited with code 4" in results[1][1], results[1]
    assert results[3][0] == "segv" and "killed by SIGSEGV" in results[3][1], results[3]


def arm_rows(tmp_path: Path, backend: str, runtime: str, n_trial: int, duration: float, k: float, **changes):
    """The rows of a study of the arm (tests/warp_models.py) run by ``runtime`` in one batch."""
    study = load_study(
        {
            "study": f"{runtime.rpartition(':')[2]}_{backend}",
            "results_dir": str(tmp_path),
            "n_trial": n_trial,
            "duration": duration,
            "generator": "tests.warp_models:arm",
            "runtime": f"tests.warp_user_models:{runtime}",
            "backend": backend,
            "parameters": {"k": {"dist": "constant", "value": k}, "mass": {"dist": "constant", "value": 1.0}},
            **changes,
        }
    )
    return run_batch(study, 0, n_trial - 1, threads=2).rows


def test_a_runtime_that_catches_unstable_still_ends_unstable_as_on_the_cpu(tmp_path: Path):
    """docs/warp.md: a world that diverges gets ``Unstable`` from ``step``, "as on the CPU". On
    the CPU a runtime that catches it and returns metrics anyway is still recorded ``unstable``
    (MuJoCo's warning counters stay in ``data``); on the device the diverged world left no trace
    in ``data``, and the trial was recorded ``success`` with the fallback metrics."""
    statuses = {
        backend: [r.status for r in arm_rows(tmp_path, backend, "catches_unstable", 2, 0.1, 1.0e12, seed=1)]
        for backend in ("cpu", "warp")
    }
    assert statuses["cpu"] == ["unstable", "unstable"]
    assert statuses["warp"] == statuses["cpu"]


def test_a_runtime_asking_for_a_float_number_of_steps_fails_its_trial_alone(tmp_path: Path):
    """On the CPU backend ``step(model, data, np.round(n))`` is a TypeError of that trial; on the
    device it stopped the warp process, with no trial recorded, and every rerun stopped again."""
    rows = {backend: arm_rows(tmp_path, backend, "float_steps", 4, 0.02, 1.0) for backend in ("cpu", "warp")}
    assert [r.status for r in rows["cpu"]] == ["success", "error", "success", "error"]
    assert [r.status for r in rows["warp"]] == [r.status for r in rows["cpu"]]
    assert all("TypeError" in r.reason for r in rows["warp"] if r.status == "error")


def test_a_mujoco_callback_is_refused_by_the_device_not_silently_left_out(tmp_path: Path):
    """``mujoco.set_mjcb_control`` in a runtime of one's own acts on every CPU step; the device
    never calls it, so the trials were recorded without the push. (Set by a generator or its
    module, it would fail every compile: MjSpec.compile calls it, and MuJoCo refuses.)"""
    rows = arm_rows(tmp_path, "warp", "pushed_by_a_callback", 2, 0.02, 1.0)
    assert [r.status for r in rows] == ["error", "error"]
    assert all("mjcb_control" in r.reason and "backend: cpu" in r.reason for r in rows), rows[0].reason
