"""An evaluation job: run one round's share of evaluations with the Monte Carlo trial machinery.

Each evaluation is a trial plan whose optimised parameters are pinned to Optuna's choice
(source ``optimizer``) and whose other parameters are drawn from its own random stream. The plans
run through :func:`mojo.trials.batch.run_plans` (one forked, supervised worker; finished evaluations are
skipped), one layer of evaluation indices at a time, so that with ``prune_failed_trials`` a trial's
remaining evaluations are skipped as soon as one fails.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TextIO

from mojo.config.study import StudyConfig
from mojo.optimize.files import AskedTrial, EvalBatch, EvalRow, RoundFile, opt_dir
from mojo.trials.batch import run_plans
from mojo.trials.files import NAMED_VALUES_JSON, RESULT_JSON, NamedValue, TrialConfig, TrialRow, write_model
from mojo.trials.integrity import trial_stamps
from mojo.trials.logs import job_log
from mojo.trials.sampling import plain_values
from mojo.trials.trial import TrialPlan, UserCode, code_hashes, config_template, plan_trial


def plan_evaluations(study: StudyConfig, trial: AskedTrial, template: TrialConfig) -> list[TrialPlan]:
    units = {name: study.parameters[name].unit for name in trial.params}
    fixed = {
        name: NamedValue(value=value, unit=units[name], source="optimizer")
        for name, value in trial.params.items()
    }
    root = opt_dir(study)
    return [plan_trial(study, e.number, root / e.dir, template, fixed=fixed) for e in trial.evals]


def forget_stale_result(plan: TrialPlan) -> None:
    """A folder whose values differ from the plan's (its round was asked again after the storage
    and round file were lost) must be evaluated again: ``finished_result`` only compares configs."""
    path = plan.dir / NAMED_VALUES_JSON
    if not path.exists():
        return
    try:
        on_disk = json.loads(path.read_text())
    except ValueError:
        on_disk = None
    expected = {name: nv.model_dump(mode="json") for name, nv in plan.values.items()}
    if on_disk != json.loads(json.dumps(expected)):
        (plan.dir / RESULT_JSON).unlink(missing_ok=True)


def run_round_job(
    study: StudyConfig, round_file: Path, job: int, manifest: Path, log: Path | None = None
) -> EvalBatch:
    """Evaluate job ``job``'s share of a round and write its rows to ``manifest``. Failed
    evaluations are reported on stderr and in ``log``, with what the trials print."""
    with job_log(log) if log else contextlib.nullcontext() as stream:
        return _run_round_job(study, round_file, job, manifest, stream)


def _run_round_job(
    study: StudyConfig, round_file: Path, job: int, manifest: Path, log: TextIO | None
) -> EvalBatch:
    opt = study.optimize
    round_ = RoundFile.model_validate_json(round_file.read_bytes())
    trials = [t for t in round_.trials if t.job == job]
    template = config_template(study, code_hashes(study))
    plans = {t.trial: plan_evaluations(study, t, template) for t in trials}
    for trial_plans in plans.values():
        for plan in trial_plans:
            forget_stale_result(plan)
    results: dict[tuple[int, int], TrialRow] = {}
    alive = [t.trial for t in trials]
    code = None
    depth = max((len(p) for p in plans.values()), default=0)
    report = lambda plan, row: _report_failure(plan, row, log)  # noqa: E731
    for index in range(depth):
        layer = [t for t in alive if index < len(plans[t])]
        if not layer:
            break
        if code is None:
            code = UserCode.load(study)  # imports the user's modules (and MuJoCo) only if needed
        done = run_plans([plans[t][index] for t in layer], code, study.trial_timeout, report, log)
        for t in layer:
            results[(t, index)] = done[plans[t][index].number]
        if opt.prune_failed_trials:
            alive = [t for t in alive if index >= len(plans[t]) or results[(t, index)].status == "success"]
    rows = []
    for t in trials:
        for e, plan in zip(t.evals, plans[t.trial]):
            result = results.get((t.trial, e.index))
            common = dict(
                trial=t.trial, eval=e.index, number=e.number, dir=e.dir, values=plain_values(plan.values)
            )
            if result is None:
                rows.append(
                    EvalRow(status="skipped", reason="an earlier evaluation of this trial failed", **common)
                )
            else:
                rows.append(
                    EvalRow(
                        status=result.status,
                        reason=result.reason,
                        metrics=result.metrics,
                        objective=result.objective,
                        wall_time=result.wall_time,
                        **common,
                    )
                )
    root = opt_dir(study)
    stamps = {row.number: trial_stamps(root / row.dir) for row in rows if row.status != "skipped"}
    batch = EvalBatch(round=round_.round, job=job, rows=rows, stamps=stamps)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    write_model(manifest, batch)
    return batch


def _report_failure(plan: TrialPlan, row: TrialRow, log: TextIO | None) -> None:
    if row.status != "success":
        print(f"evaluation {plan.dir.name}: {row.status}: {row.reason}", file=log or sys.stderr, flush=True)
