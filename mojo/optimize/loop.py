"""One step of the optimisation loop: tell the previous round, decide, ask the next round.

The step of round ``r`` is the only code that opens the study's storage: a local ``run:`` job, in
a thread of the Snakemake main process, so SQLite is safe on a cluster and the storage is opened
once per run, not once per round. It:

1. opens (or creates) the Optuna study; if the storage lost trials the round files record, it
   rebuilds them from the round files and the evaluations' results (files on disk are the truth);
2. tells Optuna every trial of earlier rounds that is still running, scored from the evaluation
   jobs' rows (mean objective, or pruned / failed), skipping trials already told;
3. takes every trial the storage holds beyond the earlier rounds as this round's (a previous run
   of this step asked them, then died or its file was removed): a rerun never asks again;
4. stops (a round with no trials) when ``n_trial`` trials were asked or ``timeout`` passed;
   otherwise asks the rest of the round's batch, all before telling any (TPE's constant liar keeps
   the batch diverse), tagging each trial with its round;
5. writes ``rounds/round_NNNN.json`` atomically, last.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from mojo.config import StudyConfig
from mojo.files import write_model
from mojo.logs import job_log
from mojo.optimize.files import (
    AskedTrial,
    EvalBatch,
    EvalRow,
    Evaluation,
    RoundFile,
    ToldTrial,
    batch_path,
    default_storage,
    eval_dir_name,
    eval_number,
    round_path,
)
from mojo.optimize.samplers import make_sampler
from mojo.optimize.scoring import score_trial
from mojo.optimize.space import distributions, refine

ROUND_ATTR = "mojo_round"


def read_round(study: StudyConfig, round_: int) -> RoundFile:
    return RoundFile.model_validate_json(round_path(study, round_).read_bytes())


def round_rows(study: StudyConfig, round_file: RoundFile) -> dict[int, list[EvalRow]]:
    """Each trial's evaluation rows, from the round's job manifests, in evaluation order."""
    rows: dict[int, list[EvalRow]] = defaultdict(list)
    for job in range(round_file.jobs):
        path = batch_path(study, round_file.round, job)
        for row in EvalBatch.model_validate_json(path.read_bytes()).rows:
            rows[row.trial].append(row)
    return {t: sorted(r, key=lambda row: row.eval) for t, r in rows.items()}


def told_from_rows(trial: int, rows: list[EvalRow], prune: bool) -> ToldTrial:
    # Skipped evaluations only follow a failed one: the trial is pruned either way.
    score = score_trial(rows, prune or any(r.status == "skipped" for r in rows))
    return ToldTrial(trial=trial, state=score.state, value=score.value, value_std=score.std)


@functools.lru_cache(maxsize=None)
def _open_storage(url: str):
    """One storage object per URL and process: opening one (SQLAlchemy's engine, Optuna's schema
    check) takes half a second, and every round's step runs in the same Snakemake process."""
    import optuna

    return optuna.storages.get_storage(url)


def open_study(study: StudyConfig, round_: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opt = study.optimize
    storage = opt.storage or default_storage(study)
    sampler = make_sampler(opt.sampler, study.seed, round_, opt.sampler_kwargs)
    ostudy = optuna.create_study(
        storage=_open_storage(storage),
        study_name=opt.name(study),
        sampler=sampler,
        direction=opt.direction,
        load_if_exists=True,
    )
    wanted = optuna.study.StudyDirection.MINIMIZE if opt.direction == "minimize" else optuna.study.StudyDirection.MAXIMIZE
    if ostudy.direction != wanted:
        raise RuntimeError(
            f"the Optuna study '{ostudy.study_name}' in {storage} was made with direction "
            f"{ostudy.direction.name.lower()}, but the config says {opt.direction}: choose another study_name"
        )
    return ostudy


def _tell(ostudy, told: ToldTrial) -> None:
    from optuna.trial import TrialState

    state = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "fail": TrialState.FAIL}[told.state]
    value = told.value if told.state == "complete" else None
    ostudy.tell(told.trial, value, state=state, skip_if_finished=True)


def rebuild(study: StudyConfig, ostudy, upto: int, have: int) -> None:
    """Add the trials of rounds ``0..upto`` numbered ``have`` and above to the storage, from the
    round files and the evaluation rows: a lost or reset storage is rebuilt from the files."""
    import optuna
    from optuna.trial import TrialState

    prune = study.optimize.prune_failed_trials
    for k in range(upto + 1):
        round_file = read_round(study, k)
        entries = [(t, True) for t in round_file.trials] + [(t, False) for t in round_file.discarded]
        if not any(t.trial >= have for t, _ in entries):
            continue
        rows = round_rows(study, round_file)
        dists = distributions(round_file.space)
        for asked, evaluated in sorted(entries, key=lambda e: e[0].trial):
            if asked.trial < have:
                continue
            told = told_from_rows(asked.trial, rows.get(asked.trial, []), prune) if evaluated else None
            state = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED}.get(
                told.state if told else "fail", TrialState.FAIL
            )
            frozen = optuna.trial.create_trial(
                params=asked.params,
                distributions={name: dists[name] for name in asked.params},
                value=told.value if state == TrialState.COMPLETE else None,
                state=state,
                user_attrs={ROUND_ATTR: k},
            )
            ostudy.add_trial(frozen)
            number = len(ostudy.get_trials(deepcopy=False)) - 1
            if number != asked.trial:
                raise RuntimeError(
                    f"cannot rebuild the Optuna study from the round files: trial {asked.trial} of "
                    f"round {k} became trial {number} (the storage holds trials the files do not know)"
                )


def _best(ostudy) -> dict[str, Any] | None:
    try:
        best = ostudy.best_trial
    except ValueError:
        return None
    return {"trial": best.number, "value": best.value, "params": best.params}


def run_step(study: StudyConfig, round_: int, output: Path, log: Path) -> RoundFile:
    """The ``optimize_step`` job: :func:`step`, reporting on stderr and in the log file ``log``."""
    with job_log(log) as stream:
        return step(study, round_, output, lambda message: print(message, file=stream, flush=True))


def step(study: StudyConfig, round_: int, output: Path, log: Callable[[str], None]) -> RoundFile:
    from optuna.trial import TrialState

    opt = study.optimize
    now = time.time()
    prev = read_round(study, round_ - 1) if round_ > 0 else None
    output.parent.mkdir(parents=True, exist_ok=True)
    ostudy = open_study(study, round_)
    expected = prev.n_asked_total if prev else 0

    trials = ostudy.get_trials(deepcopy=False)
    if len(trials) < expected:
        log(f"the storage holds {len(trials)} trials, the round files {expected}: rebuilding from the files")
        rebuild(study, ostudy, round_ - 1, len(trials))
        trials = ostudy.get_trials(deepcopy=False)

    # Tell every earlier trial still running (normally exactly the previous round's).
    told: list[ToldTrial] = []
    running = [t for t in trials[:expected] if t.state == TrialState.RUNNING]
    rounds_needed = sorted({t.user_attrs.get(ROUND_ATTR, round_ - 1) for t in running})
    for k in rounds_needed:
        round_file = prev if prev and k == prev.round else read_round(study, k)
        rows = round_rows(study, round_file)
        for asked in round_file.trials:
            if trials[asked.trial].state == TrialState.RUNNING:
                told.append(told_from_rows(asked.trial, rows.get(asked.trial, []), opt.prune_failed_trials))
                _tell(ostudy, told[-1])
        for asked in round_file.discarded:
            if trials[asked.trial].state == TrialState.RUNNING:
                _tell(ostudy, ToldTrial(trial=asked.trial, state="fail"))

    # The session: a continuation after a stop starts a new one (new clock, refined bounds).
    if prev is None or prev.done:
        session = prev.session + 1 if prev else 0
        started = now
        config_space = dict(opt.search_space)
        space = config_space
        if prev is not None:
            space = prev.space if config_space == prev.config_space else config_space
            best = _best(ostudy)
            if opt.refine_search_factor and best:
                space = refine(space, best["params"], opt.refine_search_factor)
                log(f"search space refined around trial {best['trial']}: {space}")
    else:
        session, started = prev.session, prev.session_started
        config_space, space = prev.config_space, prev.space
        if dict(opt.search_space) != prev.config_space:  # edited mid-session: applies from here
            config_space = space = dict(opt.search_space)

    counted = prev.n_counted if prev else 0
    remaining = max(opt.n_trial - counted, 0)
    extras = trials[expected:]  # asked by an earlier run of this very step
    if round_ == 0 and any(t.state != TrialState.RUNNING and t.user_attrs.get(ROUND_ATTR) != 0 for t in extras):
        raise RuntimeError(
            f"the Optuna study '{ostudy.study_name}' already holds {len(extras)} trials that no round "
            "file of this study knows: choose another study_name (or storage)"
        )
    stop = None
    if not extras:
        if remaining == 0:
            stop = "n_trial"
        elif opt.timeout is not None and now - started >= opt.timeout:
            stop = "timeout"
    target = 0 if stop else min(opt.round_size(study), remaining)
    if target == 0 and stop is None:
        stop = "n_trial"  # n_trial was lowered below what an earlier run of this step asked
    kept, discarded = extras[:target], extras[target:]
    for trial in discarded:
        if trial.state == TrialState.RUNNING:
            _tell(ostudy, ToldTrial(trial=trial.number, state="fail"))
    asked_params = [(t.number, dict(t.params)) for t in kept]
    if len(kept) < target:
        dists = distributions(space)
        for _ in range(target - len(kept)):
            trial = ostudy.ask(dists)
            trial.set_user_attr(ROUND_ATTR, round_)
            asked_params.append((trial.number, dict(trial.params)))

    width = max(study.padding, len(str(max(opt.n_trial - 1, 0))))
    jobs = min(opt.jobs(study), len(asked_params))
    asked = [
        AskedTrial(
            trial=number,
            job=i % jobs,
            params=params,
            evals=[
                Evaluation(index=e, number=eval_number(number, e), dir=eval_dir_name(number, e, width))
                for e in range(opt.evals_per_trial)
            ],
        )
        for i, (number, params) in enumerate(asked_params)
    ]
    result = RoundFile(
        round=round_,
        study_name=ostudy.study_name,
        session=session,
        session_started=started,
        asked_at=now,
        n_told=expected,
        n_asked_total=expected + len(extras) + max(target - len(kept), 0),
        n_counted=counted + len(asked),
        n_trial=opt.n_trial,
        timeout=opt.timeout,
        stop_reason=stop,
        space=space,
        config_space=config_space,
        jobs=jobs,
        trials=asked,
        discarded=[AskedTrial(trial=t.number, job=-1, params=dict(t.params), evals=[]) for t in discarded],
        told=told,
        best=_best(ostudy),
    )
    write_model(output, result)
    log(
        f"round {round_}: told {len(told)}, asked {len(asked)} (trials {n_told_str(asked)}), "
        f"{'stopped: ' + stop if stop else 'going on'}; step took {time.time() - now:.2f} s"
    )
    return result


def n_told_str(asked: list[AskedTrial]) -> str:
    return f"{asked[0].trial}-{asked[-1].trial}" if asked else "none"
