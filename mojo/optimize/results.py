"""The optimisation's results: ``best.json`` and the tables, from the round files (no Optuna).

Every number here is what the loop told Optuna (each round file records what its step told about
the round before), so the tables agree with the study's storage.
"""

from __future__ import annotations

import json
from pathlib import Path

from mojo.config.study import StudyConfig
from mojo.optimize.files import AskedTrial, BestTrial, EvalRow, RoundFile, ToldTrial, round_path
from mojo.optimize.loop import evaluated_trials, read_round
from mojo.optimize.workflow import round_goes_on
from mojo.trials.files import write_model


def read_rounds(study: StudyConfig) -> list[RoundFile]:
    """The loop's rounds, in order, up to its stop round."""
    rounds = []
    while round_path(study, len(rounds)).exists():
        rounds.append(read_round(study, len(rounds)))
        if not round_goes_on(study, rounds[-1]):
            break
    return rounds


def collect(study: StudyConfig, rounds: list[RoundFile]):
    """(trial records, evaluation records): plain dicts, one per Optuna trial / evaluation."""
    trial_records, eval_records = [], []
    for round_file, asked, evals, told in evaluated_trials(study, rounds):
        trial_records.append(_trial_record(round_file, asked, evals, told))
        eval_records += [_eval_record(round_file, row) for row in evals]
    return trial_records, eval_records


def _trial_record(round_file: RoundFile, asked: AskedTrial, evals: list[EvalRow], told: ToldTrial) -> dict:
    objectives = [r.objective for r in evals if r.status == "success" and r.objective is not None]
    record = {
        "trial": asked.trial,
        "round": round_file.round,
        "state": told.state,
        "value": told.value,
        "value_std": told.value_std,
        "value_min": min(objectives) if objectives else None,
        "value_max": max(objectives) if objectives else None,
        "n_evals": sum(r.status != "skipped" for r in evals),
        "n_success": sum(r.status == "success" for r in evals),
        "reason": next((r.reason for r in evals if r.status not in ("success", "skipped")), None),
    }
    record.update(asked.params)
    record["wall_time"] = sum(r.wall_time for r in evals)
    return record


def _eval_record(round_file: RoundFile, r: EvalRow) -> dict:
    record = {
        "trial": r.trial,
        "eval": r.eval,
        "number": r.number,
        "round": round_file.round,
        "dir": r.dir,
        "status": r.status,
        "reason": r.reason,
    }
    record.update({k: _cell(v) for k, v in r.values.items()})
    record.update({(f"metric_{k}" if k in r.values else k): v for k, v in r.metrics.items()})
    record["objective"] = r.objective
    record["wall_time"] = r.wall_time
    return record


def _cell(value):
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def best_trial(study: StudyConfig, rounds: list[RoundFile], trial_records: list[dict]) -> BestTrial:
    opt = study.optimize
    last = rounds[-1] if rounds else None
    best = last.best if last else None
    states = [r["state"] for r in trial_records]
    common = dict(
        study_name=opt.name(study),
        direction=opt.direction,
        n_trial=len(trial_records),
        n_complete=states.count("complete"),
        n_pruned=states.count("pruned"),
        n_fail=states.count("fail"),
    )
    if best is None:
        return BestTrial(trial=None, value=None, **common)
    record = next(r for r in trial_records if r["trial"] == best["trial"])
    asked = next(t for r in rounds for t in r.trials if t.trial == best["trial"])
    return BestTrial(
        trial=best["trial"],
        value=best["value"],
        value_std=record["value_std"],
        params=best["params"],
        units={name: study.parameters[name].unit for name in best["params"]},
        evaluations=[e.dir for e in asked.evals],
        **common,
    )


def write_results(
    study: StudyConfig,
    best: Path,
    trials: tuple[Path, Path],
    evaluations: tuple[Path, Path],
) -> BestTrial:
    import pandas as pd

    rounds = read_rounds(study)
    trial_records, eval_records = collect(study, rounds)
    for records, (parquet, csv), first in ((trial_records, trials, ["trial", "round", "state", "value"]),
                                           (eval_records, evaluations, ["trial", "eval", "status"])):
        table = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=first)
        table.to_parquet(parquet, index=False)
        table.to_csv(csv, index=False)
    result = best_trial(study, rounds, trial_records)
    write_model(best, result)
    return result
