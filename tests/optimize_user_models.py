"""The optimisation loop as a user drives it between config edits (tests/test_optimize_user.py).

:func:`run` drives every round in this process, as the workflow does (the run's start check, then
each round's step and evaluation jobs; a file that exists is done), and writes the results; it
returns the start check's refusal instead of running when there is one.
"""

from __future__ import annotations

from pathlib import Path

from tests.fault_optimize_models import box_config, run_loop


def user_config(folder: Path, **optimize) -> dict:
    """The small sliding-box study of tests/fault_optimize_models.py in ``folder``, two trials a
    round, evaluations of 0.2 s simulated."""
    config = box_config(str(folder / "results"), **{"trials_per_round": 2, **optimize})
    config["duration"] = 0.2
    return config


def run(config: dict) -> str | None:
    """Every round of the optimisation of ``config``, then its results; or the refusal of the
    run's start check (``busy_refusal``, the workflow's onstart), with nothing run."""
    return run_loop(config, print)


def overshoot(metrics: dict[str, float]) -> float:
    """Another objective for the sliding box: how far past 0.5 m it stopped (signed)."""
    return metrics["distance"] - 0.5
