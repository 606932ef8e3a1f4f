"""From a trial's evaluations to what Optuna is told (shared by the loop and the tables)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from mojo.optimize.files import EvalRow, TrialState


@dataclass(frozen=True)
class Score:
    state: TrialState
    value: float | None
    """Mean objective over the evaluations (complete trials only)."""
    std: float | None
    """Population standard deviation of the objective over the evaluations."""
    objectives: list[float | None]


def score_trial(rows: list[EvalRow], prune: bool) -> Score:
    """Complete with the mean objective when every evaluation succeeded with a finite objective;
    otherwise pruned (``prune_failed_trials``) or failed, never a made-up score."""
    objectives = [row.objective for row in rows]
    ok = rows and all(
        row.status == "success" and row.objective is not None and math.isfinite(row.objective) for row in rows
    )
    if ok:
        values = [float(v) for v in objectives]
        return Score("complete", statistics.fmean(values), statistics.pstdev(values), objectives)
    return Score("pruned" if prune else "fail", None, None, objectives)
