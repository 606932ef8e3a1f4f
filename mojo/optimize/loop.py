"""One step of the optimisation loop: tell the previous round, decide, ask the next round.

Only the Snakemake main process opens the study's storage: when a run starts (to claim it, see
:mod:`mojo.optimize.owner`) and in the step of round ``r``, a local ``run:`` job in a thread of
that process. So SQLite is safe on a cluster and the storage is opened once per run.

The round files are the truth and the storage is their replayable consequence, so a seeded
optimisation gives the same trials, bit for bit, however often it is killed and resumed. The
sampler never sees the storage: it asks in a copy of the study in memory, replayed from the round
files (parameters, the sampler's own records, and the scores the evaluation rows give), with a
sampler seeded from (seed, round). A round's proposals therefore depend only on the files before
it. The step:

0. refuses a config that does not fit the study the round files made (:mod:`mojo.optimize.mismatch`);
1. opens the storage and claims the study for this run (:mod:`mojo.optimize.owner`); if the
   storage lost trials the round files record, rebuilds them from the files;
2. tells the storage every earlier trial still running, scored from the evaluation rows;
3. replays the study in memory, decides (stop when ``n_trial`` trials were asked or ``timeout``
   passed) and asks the round's batch there, all before telling any (TPE's constant liar keeps
   the batch diverse);
4. reconciles the storage: trials an earlier, killed run of this step created are kept when they
   are the same proposals (they are, unless the config changed), others are told failed and
   recorded as ``discarded``; the missing proposals are added, each in one transaction;
5. writes ``rounds/round_NNNN.json`` atomically, last.

A kill anywhere leaves either no round file (the rerun replays and asks the same proposals) or
the whole round. Cost: each step reads every earlier round's files and replays them in memory
(160 trials: about 0.05 s), on top of the ask itself.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

from mojo.config.study import StudyConfig, number_width
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
    opt_dir,
    owner_lock_path,
    round_path,
)
from mojo.optimize.mismatch import NEW_OPTIMISATION, StudyMismatchError, check_rounds, trial_config
from mojo.optimize.owner import claim
from mojo.optimize.samplers import make_sampler
from mojo.optimize.scoring import score_trial
from mojo.optimize.space import distributions, refine
from mojo.trials.files import write_model
from mojo.trials.logs import job_log

ROUND_ATTR = "mojo_round"


def read_round(study: StudyConfig, round_: int) -> RoundFile:
    return RoundFile.model_validate_json(round_path(study, round_).read_bytes())


def existing_rounds(study: StudyConfig) -> list[RoundFile]:
    """Every round file on disk, in order."""
    rounds: list[RoundFile] = []
    while round_path(study, len(rounds)).exists():
        rounds.append(read_round(study, len(rounds)))
    return rounds


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


def evaluated_trials(
    study: StudyConfig, rounds: list[RoundFile]
) -> Iterator[tuple[RoundFile, AskedTrial, list[EvalRow], ToldTrial]]:
    """Each asked trial of ``rounds`` with its round, its evaluation rows and what Optuna is told
    of it: what a later step recorded telling, else its score from the rows (no Optuna needed)."""
    prune = study.optimize.prune_failed_trials
    told = {t.trial: t for r in rounds for t in r.told}
    for round_file in rounds:
        rows = round_rows(study, round_file) if round_file.trials else {}
        for asked in round_file.trials:
            evals = rows.get(asked.trial, [])
            yield round_file, asked, evals, told.get(asked.trial) or told_from_rows(asked.trial, evals, prune)


@functools.lru_cache(maxsize=None)
def _open_storage(url: str):
    """One storage object per URL and process: opening one (SQLAlchemy's engine, Optuna's schema
    check) takes half a second, and every round's step runs in the same Snakemake process."""
    import optuna

    return optuna.storages.get_storage(url)


def storage_url(study: StudyConfig) -> str:
    return study.optimize.storage or default_storage(study)


def open_study(study: StudyConfig, log: Callable[[str], None]):
    """The study in its storage, claimed for this run (:func:`mojo.optimize.owner.claim`)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opt = study.optimize
    url = storage_url(study)
    opt_dir(study).mkdir(parents=True, exist_ok=True)  # the default storage's folder
    storage = _open_storage(url)
    ostudy = optuna.create_study(
        storage=storage,
        study_name=opt.name(study),
        sampler=optuna.samplers.RandomSampler(),  # never asks: the replay in memory does
        direction=opt.direction,
        load_if_exists=True,
    )
    wanted = (
        optuna.study.StudyDirection.MINIMIZE
        if opt.direction == "minimize"
        else optuna.study.StudyDirection.MAXIMIZE
    )
    if ostudy.direction != wanted:
        raise StudyMismatchError(
            f"the Optuna study '{ostudy.study_name}' in {url} was made with direction "
            f"{ostudy.direction.name.lower()}, but the config says {opt.direction}: {NEW_OPTIMISATION}; "
            "with a shared storage, another study_name too"
        )
    claim(storage, ostudy.study_name, owner_lock_path(study), log)
    return ostudy


def _state(told: ToldTrial | None):
    from optuna.trial import TrialState

    if told is None:
        return TrialState.RUNNING
    return {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "fail": TrialState.FAIL}[told.state]


def _tell(ostudy, told: ToldTrial) -> None:
    value = told.value if told.state == "complete" else None
    ostudy.tell(told.trial, value, state=_state(told), skip_if_finished=True)


def scores(study: StudyConfig, rounds: list[RoundFile]) -> dict[int, ToldTrial]:
    """What every evaluated trial of ``rounds`` is told, from the evaluation rows."""
    prune = study.optimize.prune_failed_trials
    told: dict[int, ToldTrial] = {}
    for round_file in rounds:
        if round_file.trials:
            rows = round_rows(study, round_file)
            for asked in round_file.trials:
                told[asked.trial] = told_from_rows(asked.trial, rows.get(asked.trial, []), prune)
    return told


def frozen_trial(asked: AskedTrial, space: dict, round_: int, told: ToldTrial | None):
    """``asked`` as an Optuna trial of round ``round_``, told ``told`` (``None``: running)."""
    import optuna

    dists = distributions(space)
    return optuna.trial.create_trial(
        params=asked.params,
        distributions={name: dists[name] for name in asked.params},
        value=told.value if told and told.state == "complete" else None,
        state=_state(told),
        user_attrs={ROUND_ATTR: round_},
        system_attrs=asked.system_attrs,
    )


def rebuild(ostudy, rounds: list[RoundFile], told: dict[int, ToldTrial], have: int) -> None:
    """Add the trials of ``rounds`` numbered ``have`` and above to the storage, told ``told``
    (discarded ones failed): a lost or reset storage is rebuilt from the files."""
    for round_file in rounds:
        for asked in sorted(round_file.trials + round_file.discarded, key=lambda t: t.trial):
            if asked.trial < have:
                continue
            result = told.get(asked.trial, ToldTrial(trial=asked.trial, state="fail"))
            ostudy.add_trial(frozen_trial(asked, round_file.space, round_file.round, result))
            number = len(ostudy.get_trials(deepcopy=False)) - 1
            if number != asked.trial:
                raise RuntimeError(
                    f"cannot rebuild the Optuna study from the round files: trial {asked.trial} of "
                    f"round {round_file.round} became trial {number} "
                    "(the storage holds trials the files do not know)"
                )


def restore(study: StudyConfig, ostudy, log: Callable[[str], None]) -> None:
    """Rebuild the trials a storage lost (a damaged study.db set aside, see
    :mod:`mojo.optimize.integrity`) when a run starts, from the rounds whose trials a later step
    told: their states are final. A round not told yet is its next step's to rebuild (see step)."""
    rounds = existing_rounds(study)
    told = rounds[:-1] if rounds and rounds[-1].trials else rounds
    while told and not all(batch_path(study, told[-1].round, job).exists() for job in range(told[-1].jobs)):
        told.pop()  # its evaluations run again in this run: the step after them rebuilds it
    have = len(ostudy.get_trials(deepcopy=False))
    if told and have < told[-1].n_asked_total:
        log(
            f"the storage holds {have} trials, the round files {told[-1].n_asked_total}: "
            "rebuilding from the files"
        )
        rebuild(ostudy, told, scores(study, told), have)


def replay(study: StudyConfig, rounds: list[RoundFile], told: dict[int, ToldTrial], round_: int):
    """(study in memory, its storage, file trial number of each of its trials): the evaluated
    trials of ``rounds`` told their scores, the sampler's state as the last round left it, and a
    sampler seeded for ``round_``. Discarded trials are left out: no proposal ever saw them."""
    import optuna

    opt = study.optimize
    storage = optuna.storages.InMemoryStorage()
    memory = optuna.create_study(
        storage=storage,
        sampler=make_sampler(opt.sampler, study.seed, round_, opt.sampler_kwargs),
        direction=opt.direction,
    )
    numbers = []
    for round_file in rounds:
        for asked in round_file.trials:
            memory.add_trial(frozen_trial(asked, round_file.space, round_file.round, told[asked.trial]))
            numbers.append(asked.trial)
    study_id = storage.get_study_id_from_name(memory.study_name)
    for key, value in (rounds[-1].sampler_attrs if rounds else {}).items():
        storage.set_study_system_attr(study_id, key, value)
    return memory, storage, numbers


def _best(ostudy, numbers: list[int]) -> dict[str, Any] | None:
    try:
        best = ostudy.best_trial
    except ValueError:
        return None
    return {"trial": numbers[best.number], "value": best.value, "params": best.params}


def run_step(study: StudyConfig, round_: int, output: Path, log: Path) -> RoundFile:
    """The ``optimize_step`` job: :func:`step`, reporting on stderr and in the log file ``log``."""
    with job_log(log) as stream:
        return step(study, round_, output, lambda message: print(message, file=stream, flush=True))


def step(study: StudyConfig, round_: int, output: Path, log: Callable[[str], None]) -> RoundFile:
    """Tell the previous round, decide, ask round ``round_`` and write its file (the module's
    steps 1 to 5, in that order: a kill between any two leaves what the rerun repeats)."""
    opt = study.optimize
    now = time.time()
    rounds = [read_round(study, k) for k in range(round_)]
    check_rounds(study, rounds)
    prev = rounds[-1] if rounds else None
    output.parent.mkdir(parents=True, exist_ok=True)
    ostudy = open_study(study, log)
    expected = prev.n_asked_total if prev else 0
    results = scores(study, rounds)
    trials = _sync_storage(ostudy, rounds, results, expected, log)
    told = [results[t.trial] for t in prev.trials] if prev else []

    memory, memory_storage, replayed = replay(study, rounds, results, round_)
    best = _best(memory, replayed)
    session, started, config_space, space = _session(study, prev, best, now, log)
    started, asked_at = _recorded_times(study, ostudy, round_, started, now)
    extras, later = _leftovers(ostudy, trials, expected, round_)
    counted = prev.n_counted if prev else 0
    stop = _stop(study, counted, now - started, extras)
    target = 0 if stop else min(opt.round_size(study), opt.n_trial - counted)
    proposals = _ask(memory, space, target)

    kept = _keep(study, ostudy, extras, proposals, round_, log)
    if later and target > kept:
        raise RuntimeError(
            f"cannot make round {round_} of the Optuna study '{ostudy.study_name}' again: its trials in the "
            "storage are not the proposals the earlier round files give (did the config change?); "
            f"{NEW_OPTIMISATION} (nothing was changed)"
        )
    first_new = expected + len(extras)
    numbers = [t.number for t in extras[:kept]] + list(range(first_new, first_new + target - kept))
    asked = _asked_trials(study, numbers, proposals)
    for trial in asked[kept:]:  # each in one transaction, with all its parameters
        ostudy.add_trial(frozen_trial(trial, space, round_, None))

    result = RoundFile(
        round=round_,
        study_name=ostudy.study_name,
        session=session,
        session_started=started,
        asked_at=asked_at,
        n_told=expected,
        n_asked_total=first_new + target - kept,
        n_counted=counted + len(asked),
        n_trial=opt.n_trial,
        timeout=opt.timeout,
        stop_reason=stop,
        space=space,
        config_space=config_space,
        jobs=min(opt.jobs(study), target),
        trials=asked,
        discarded=[
            AskedTrial(trial=t.number, job=-1, params=dict(t.params), evals=[]) for t in extras[kept:]
        ],
        told=told,
        best=best,
        sampler_attrs=memory_storage.get_study_system_attrs(
            memory_storage.get_study_id_from_name(memory.study_name)
        ),
        trial_config=trial_config(study),
    )
    write_model(output, result)
    log(
        f"round {round_}: told {len(told)}, asked {len(asked)} (trials {n_told_str(asked)}), "
        f"{'stopped: ' + stop if stop else 'going on'}; step took {time.time() - now:.2f} s"
    )
    return result


def _sync_storage(ostudy, rounds: list[RoundFile], results: dict[int, ToldTrial], expected: int, log) -> list:
    """The storage's trials, once it holds every trial of ``rounds`` (rebuilt from the files if
    it lost some) and tells each earlier trial still running (normally exactly the previous
    round's) its score."""
    from optuna.trial import TrialState

    trials = ostudy.get_trials(deepcopy=False)
    if len(trials) < expected:
        log(f"the storage holds {len(trials)} trials, the round files {expected}: rebuilding from the files")
        rebuild(ostudy, rounds, results, len(trials))
        trials = ostudy.get_trials(deepcopy=False)
    for trial in trials[:expected]:
        if trial.state == TrialState.RUNNING:
            _tell(ostudy, results.get(trial.number, ToldTrial(trial=trial.number, state="fail")))
    return trials


def _leftovers(ostudy, trials: list, expected: int, round_: int) -> tuple[list, list]:
    """(extras, later): the storage's trials after the earlier rounds'. An earlier, killed run of
    this very step created the extras, or this round file was lost or damaged and is being made
    again, and then later rounds' trials (numbered after this round's) may follow: those are
    left as they are. A trial no round file knows is refused."""
    from optuna.trial import TrialState

    end = next((t.number for t in trials[expected:] if _round_of(t) > round_), len(trials))
    extras, later = trials[expected:end], trials[end:]
    foreign = [t for t in extras if t.state != TrialState.RUNNING and t.user_attrs.get(ROUND_ATTR) != round_]
    if foreign:
        raise RuntimeError(
            f"the Optuna study '{ostudy.study_name}' already holds {len(foreign)} trials that no round "
            "file of this study knows: choose another storage (before the first round: or another "
            "study_name)"
        )
    return extras, later


def _stop(study: StudyConfig, counted: int, session_age: float, extras: list) -> str | None:
    """Why the loop stops at this round (``n_trial``, ``timeout``), or None to ask more."""
    opt = study.optimize
    if opt.n_trial - counted <= 0:
        return "n_trial"
    if opt.timeout is not None and session_age >= opt.timeout and not extras:
        return "timeout"  # (a round an earlier run of this step began is finished, not cut)
    return None


def _ask(memory, space: dict, target: int) -> list:
    """``target`` proposals asked in the replayed study, all before telling any (TPE's constant
    liar keeps the batch diverse)."""
    dists = distributions(space)
    for _ in range(target):
        memory.ask(dists)
    in_memory = memory.get_trials(deepcopy=False)
    return in_memory[len(in_memory) - target :]


def _asked_trials(study: StudyConfig, numbers: list[int], proposals: list) -> list[AskedTrial]:
    """The round's trials, numbered ``numbers``, dealt to its jobs in turn, with their evaluations."""
    opt = study.optimize
    width = number_width(study.padding, opt.n_trial)
    jobs = min(opt.jobs(study), len(proposals))
    return [
        AskedTrial(
            trial=number,
            job=i % jobs,
            params=dict(proposal.params),
            system_attrs=dict(proposal.system_attrs),
            evals=[
                Evaluation(index=e, number=eval_number(number, e), dir=eval_dir_name(number, e, width))
                for e in range(opt.evals_per_trial)
            ],
        )
        for i, (number, proposal) in enumerate(zip(numbers, proposals))
    ]


def _session(study: StudyConfig, prev: RoundFile | None, best, now: float, log: Callable[[str], None]):
    """(session, its start, config space, search space) of the round after ``prev``: a
    continuation after a stop starts a new session (new clock, refined bounds)."""
    opt = study.optimize
    if prev is not None and not prev.done:
        config_space, space = prev.config_space, prev.space
        if dict(opt.search_space) != prev.config_space:  # edited mid-session: applies from here
            config_space = space = dict(opt.search_space)
        return prev.session, prev.session_started, config_space, space
    config_space = dict(opt.search_space)
    space = config_space
    if prev is not None:
        space = prev.space if config_space == prev.config_space else config_space
        if opt.refine_search_factor and best:
            space = refine(space, best["params"], opt.refine_search_factor)
            log(f"search space refined around trial {best['trial']}: {space}")
    return (prev.session + 1 if prev else 0), now, config_space, space


TIMES_ATTR = "mojo_round_times_{}"
"""Study attribute: (session_started, asked_at) of a round, as its step first decided them."""


def _recorded_times(
    study: StudyConfig, ostudy, round_: int, started: float, now: float
) -> tuple[float, float]:
    """(session start, asked at) of this round: those an earlier run of this step recorded in the
    storage, if any, so that a round file made again (after a kill, or after it was damaged) is
    byte for byte the first one and the timeout keeps counting from the session's real start."""
    key = TIMES_ATTR.format(round_)
    storage = _open_storage(storage_url(study))
    study_id = storage.get_study_id_from_name(ostudy.study_name)
    recorded = storage.get_study_system_attrs(study_id).get(key)
    if recorded is not None:
        return recorded[0], recorded[1]
    storage.set_study_system_attr(study_id, key, [started, now])
    return started, now


def _round_of(trial) -> int:
    """The round that created a trial in the storage (-1: unknown, e.g. an older mojo's)."""
    value = trial.user_attrs.get(ROUND_ATTR)
    return value if isinstance(value, int) else -1


def _keep(study: StudyConfig, ostudy, extras: list, proposals: list, round_: int, log) -> int:
    """How many of ``extras`` (trials a killed run of this step left in the storage) are the
    first proposals, kept as they are; the others are told failed."""
    from optuna.trial import TrialState

    kept = 0
    while kept < min(len(extras), len(proposals)) and _same(extras[kept], proposals[kept], round_):
        kept += 1
    for trial in extras[kept:]:
        if trial.state == TrialState.RUNNING:
            _discard(study, ostudy, trial.number, round_)
    if extras[kept:]:
        log(
            f"told failed {len(extras) - kept} trials a killed run of this step left "
            "that are not this round's proposals"
        )
    return kept


def _same(stored, proposal, round_: int) -> bool:
    """Whether a trial in the storage is ``proposal``, created by a killed run of this step."""
    from optuna.trial import TrialState

    # A finished one is this round's trial already told by the next step: this round file is
    # being made again.
    return (
        stored.state != TrialState.WAITING
        and stored.user_attrs.get(ROUND_ATTR) == round_
        and stored.params == proposal.params
    )


def _discard(study: StudyConfig, ostudy, number: int, round_: int) -> None:
    """Tell a left-over trial failed, marked with its round first: a kill in between leaves it
    recognisably this step's."""
    import optuna

    storage = _open_storage(storage_url(study))
    study_id = storage.get_study_id_from_name(ostudy.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    optuna.trial.Trial(ostudy, trial_id).set_user_attr(ROUND_ATTR, round_)
    _tell(ostudy, ToldTrial(trial=number, state="fail"))


def n_told_str(asked: list[AskedTrial]) -> str:
    return f"{asked[0].trial}-{asked[-1].trial}" if asked else "none"
