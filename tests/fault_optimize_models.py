"""The optimisation loop driven without Snakemake, killable at exact points (tests/test_faults_optimize.py).

``python -m tests.fault_optimize_models CONFIG.json`` runs the loop as the workflow does (each
round's step, then its evaluation jobs; a file that exists is done) and then writes the tables and
best.json. With ``MOJO_TEST_KILL=point:n`` the process kills itself with SIGKILL at the ``n``-th
time it reaches ``point``:

- ``suggest``: inside an ask, after the trial exists and before its parameter is suggested;
- ``ask``: before an ask (``n`` >= 2: between two trials' asks);
- ``create``: right after the storage committed a new trial;
- ``tell``: right after the storage committed a trial's state (telling the previous round);
- ``round_file``: after the storage writes, before the round file is written.

``runtime: tests.optimize_models:slow_simulate`` with ``run_kwargs: {delay: ...}`` slows the
evaluations, so that a second run can be started while the first is alive.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

KILL_ENV = "MOJO_TEST_KILL"
POINTS = ("suggest", "ask", "create", "tell", "round_file")


def box_config(results_dir: str = "results", **optimize) -> dict:
    """A small TPE study of the sliding box (about 10 ms an evaluation)."""
    opt = {
        "direction": "minimize",
        "n_trial": 8,
        "trials_per_round": 3,
        "n_proc": 1,
        "sampler_kwargs": {"n_startup_trials": 2},
        "search_space": {
            "friction": {"type": "float", "low": 0.1, "high": 1.5},
            "speed": {"type": "float", "low": 1.5, "high": 2.5},
        },
    }
    opt.update(optimize)
    return {
        "study": "box",
        "results_dir": results_dir,
        "seed": 11,
        "n_proc": 1,
        "generator": "mojo.examples.sliding_box:build",
        "metrics": "mojo.examples.sliding_box:metrics",
        "objective": "mojo.examples.sliding_box:objective",
        "duration": 0.5,
        "parameters": {
            "friction": {"dist": "uniform", "low": 0.1, "high": 1.5},
            "speed": {"dist": "uniform", "low": 1.5, "high": 2.5, "unit": "m/s"},
        },
        "optimize": opt,
    }


def _kill_at(point: str, when: int):
    calls = {"n": 0}

    def hit() -> None:
        calls["n"] += 1
        if calls["n"] == when:
            os.kill(os.getpid(), signal.SIGKILL)

    return hit


def install_kill(spec: str) -> None:
    """Patch the one function that reaches ``point`` (see the module doc)."""
    import optuna

    from mojo.optimize import loop

    point, when = spec.split(":")
    hit = _kill_at(point, int(when))
    rdb = optuna.storages.RDBStorage
    if point == "suggest":
        original = optuna.trial.Trial._suggest

        def _suggest(self, name, distribution):
            hit()
            return original(self, name, distribution)

        optuna.trial.Trial._suggest = _suggest
    elif point == "ask":
        original_ask = optuna.study.Study.ask

        def ask(self, *args, **kwargs):
            hit()
            return original_ask(self, *args, **kwargs)

        optuna.study.Study.ask = ask
    elif point in ("create", "tell"):
        name = "_create_new_trial" if point == "create" else "set_trial_state_values"
        original_method = getattr(rdb, name)

        def after(self, *args, **kwargs):
            result = original_method(self, *args, **kwargs)
            hit()
            return result

        setattr(rdb, name, after)
    elif point == "round_file":
        original_write = loop.write_model

        def write_model(path, model):
            hit()
            return original_write(path, model)

        loop.write_model = write_model
    else:
        raise ValueError(f"unknown kill point {point!r}; known: {POINTS}")


def drive(config: dict) -> None:
    """Every round of the optimisation, as the workflow runs them, then its results; exits with
    the refusal of the run's start check, if it refuses."""
    refusal = run_loop(config, lambda message: print(message, file=sys.stderr))
    if refusal:
        sys.exit(refusal)


def run_loop(config: dict, log) -> str | None:
    """Every round of the optimisation of ``config`` as the workflow runs them, then its
    results; or the refusal of the run's start check (``busy_refusal``, the workflow's onstart),
    with nothing run."""
    from mojo.config.study import load_study
    from mojo.optimize.evaluate import run_round_job
    from mojo.optimize.files import batch_path, opt_dir, read_json, round_path
    from mojo.optimize.loop import step
    from mojo.optimize.results import write_results
    from mojo.optimize.workflow import busy_refusal, goes_on

    study = load_study(json.loads(json.dumps(config)))
    refusal = busy_refusal(study, log)
    if refusal:
        return refusal
    round_ = 0
    while True:
        path = round_path(study, round_)
        if not path.exists():
            step(study, round_, path, log)
        data = read_json(path)
        for job in range(data["jobs"]):
            manifest = batch_path(study, round_, job)
            if not manifest.exists():
                manifest.parent.mkdir(parents=True, exist_ok=True)
                run_round_job(study, path, job, manifest)
        if not goes_on(study, data):
            break
        round_ += 1
    out = opt_dir(study)
    write_results(
        study,
        best=out / "best.json",
        trials=(out / "trials.parquet", out / "trials.csv"),
        evaluations=(out / "evaluations.parquet", out / "evaluations.csv"),
    )
    return None


if __name__ == "__main__":
    if os.environ.get(KILL_ENV):
        install_kill(os.environ[KILL_ENV])
    drive(json.loads(Path(sys.argv[1]).read_text()))
