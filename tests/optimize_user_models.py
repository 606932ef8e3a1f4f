"""The optimisation loop as a user drives it between config edits (tests/test_optimize_user.py).

:func:`run` drives every round in this process, as the workflow does (the run's start check, then
each round's step and evaluation jobs; a file that exists is done), and writes the results; it
returns the start check's refusal instead of running when there is one.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fault_optimize_models import box_config


def user_config(folder: Path, **optimize) -> dict:
    """The small sliding-box study of tests/fault_optimize_models.py in ``folder``, two trials a
    round, evaluations of 0.2 s simulated."""
    config = box_config(str(folder / "results"), **{"trials_per_round": 2, **optimize})
    config["duration"] = 0.2
    return config


def run(config: dict) -> str | None:
    """Every round of the optimisation of ``config``, then its results; or the refusal of the
    run's start check (``busy_refusal``, the workflow's onstart), with nothing run."""
    from mojo.config.study import load_study
    from mojo.optimize.evaluate import run_round_job
    from mojo.optimize.files import batch_path, read_json, results, round_path
    from mojo.optimize.loop import step
    from mojo.optimize.results import write_results
    from mojo.optimize.workflow import busy_refusal, goes_on

    study = load_study(json.loads(json.dumps(config)))
    refusal = busy_refusal(study, print)
    if refusal:
        return refusal
    round_ = 0
    while True:
        path = round_path(study, round_)
        if not path.exists():
            step(study, round_, path, print)
        data = read_json(path)
        for job in range(data["jobs"]):
            if not batch_path(study, round_, job).exists():
                run_round_job(study, path, job, batch_path(study, round_, job))
        if not goes_on(study, data):
            break
        round_ += 1
    out = results(study)
    write_results(
        study,
        best=out["best_json"],
        trials=(out["trials_parquet"], out["trials_csv"]),
        evaluations=(out["evaluations_parquet"], out["evaluations_csv"]),
    )
    return None


def overshoot(metrics: dict[str, float]) -> float:
    """Another objective for the sliding box: how far past 0.5 m it stopped (signed)."""
    return metrics["distance"] - 0.5
