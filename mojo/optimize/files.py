"""The optimisation's own files: where they live and their schemas (pydantic only, no Optuna).

``results/<study>/optimize/``
    ``study.db``                           the Optuna study (default storage)
    ``.mojo/owner.lock``                   held (flock) by the run that owns the study (``owner``)
    ``.mojo/budget.json``                  n_trial and timeout of the run (:class:`Budget`)
    ``.mojo/results.json``                 SHA-256 of best.json and the tables (``integrity``)
    ``rounds/round_0003.json``             what round 3 asked: fixed once written (:class:`RoundFile`)
    ``rounds/round_0003/batch_1.json``     rows of the evaluations one job ran (:class:`EvalBatch`)
    ``trial_0012_eval_0/``                 one evaluation: model.xml, config.json,
                                           named_values.json, result.json (as a Monte Carlo trial)
    ``trials.parquet|csv``                 one row per Optuna trial (value told, spread, state)
    ``evaluations.parquet|csv``            one row per evaluation
    ``best.json``                          the best trial (:class:`BestTrial`)
    ``plots/*.png``                        history, slices, best parameters
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from mojo.config.base import Frozen
from mojo.config.optimize import MAX_EVALS_PER_TRIAL, SearchParam
from mojo.trials.files import FileStamp, Status
from mojo.trials.layout import MOJO_DIR, study_dir

TrialState = Literal["complete", "pruned", "fail"]

PLOTS = ("history", "slices", "best")


class Evaluation(Frozen):
    """One evaluation of an Optuna trial: its own folder, trial number and random stream."""

    index: int
    """0 .. evals_per_trial - 1 within its Optuna trial."""
    number: int
    """Trial number of its files (``config.json``'s ``trial``, ``TrialContext.number``): its
    seed and the random stream of the parameters that are not optimised."""
    dir: str
    """Its folder, relative to the optimisation folder."""


class AskedTrial(Frozen):
    """One Optuna trial as asked: its parameters are fixed from here on."""

    trial: int
    """Optuna trial number."""
    job: int
    """Which of the round's evaluation jobs runs it."""
    params: dict[str, Any]
    evals: list[Evaluation]
    system_attrs: dict[str, Any] = {}
    """The sampler's own record of the trial (e.g. CMA-ES's generation): replayed with it."""


class ToldTrial(Frozen):
    """What Optuna was told about a trial of the previous round."""

    trial: int
    state: TrialState
    value: float | None = None
    value_std: float | None = None


class RoundFile(Frozen):
    """``rounds/round_NNNN.json``, written by the round's step (tell the previous round, ask
    this one). A round with no trials is a stop: the budget or the timeout was reached."""

    round: int
    study_name: str
    session: int
    """Counts the times the study was continued after a stop (growing ``n_trial``)."""
    session_started: float
    """Unix time the session's first round was asked: ``timeout`` counts from here."""
    asked_at: float
    n_told: int
    """Trials finished (told) in the study before this round's trials were asked."""
    n_asked_total: int
    """Trials in the study once this round is asked (the previous rounds' and this one's)."""
    n_trial: int
    """The config's ``n_trial`` when this round was decided."""
    timeout: float | None
    stop_reason: Literal["n_trial", "timeout"] | None = None
    space: dict[str, SearchParam]
    """The search space this round's trials were asked in (refined bounds, if any)."""
    config_space: dict[str, SearchParam]
    """The config's search space when the session started (refinement starts from it)."""
    jobs: int
    """Evaluation jobs of this round (``rounds/round_NNNN/batch_J.json``)."""
    trials: list[AskedTrial] = []
    discarded: list[AskedTrial] = []
    """Trials found in the storage that are not this round's proposals (left by a run killed
    inside an ask, or asked before the config changed): told failed, never evaluated, not counted,
    and left out of the sampler's replay."""
    n_counted: int = 0
    """Trials that count towards ``n_trial`` once this round is asked (all but the discarded)."""
    told: list[ToldTrial] = []
    """The previous round's trials as told to Optuna (from the evaluation rows)."""
    best: dict[str, Any] | None = None
    """The best trial so far (number, value, params), when there is one."""
    sampler_attrs: dict[str, Any] = {}
    """The sampler's study-wide state once this round was asked (e.g. QMC's position in its
    sequence): the next round's replay starts from it."""
    trial_config: dict[str, Any] | None = None
    """What every evaluation's ``config.json`` shared when this round was asked (settings and code
    hashes, see :func:`mojo.optimize.mismatch.trial_config`): a later run whose evaluations would
    differ is refused, as the scores told so far came from these (None: a round of an older mojo)."""

    @property
    def done(self) -> bool:
        return not self.trials


class EvalRow(Frozen):
    """One evaluation's outcome, as a job saw it."""

    trial: int
    eval: int
    number: int
    dir: str
    status: Status | Literal["skipped"]
    """``skipped``: not run, because an earlier evaluation of the trial failed (pruning)."""
    reason: str | None = None
    values: dict[str, Any] = {}
    metrics: dict[str, float | None] = {}
    objective: float | None = None
    wall_time: float = 0.0


class EvalBatch(Frozen):
    """``rounds/round_NNNN/batch_J.json``: a job's evaluations."""

    round: int
    job: int
    rows: list[EvalRow] = []
    stamps: dict[int, dict[str, FileStamp]] = {}
    """Each evaluation's file stamps by its ``number``, as the job left them: a rerun parses only
    the files whose stamp changed (see :mod:`mojo.optimize.integrity`)."""


class BestTrial(Frozen):
    """``best.json``: the best Optuna trial of the study."""

    study_name: str
    direction: Literal["minimize", "maximize"]
    trial: int | None
    """Optuna trial number (``None`` when no trial completed)."""
    value: float | None
    """Mean objective over the trial's evaluations, as told to Optuna."""
    value_std: float | None = None
    """Spread (standard deviation) of the objective over its evaluations."""
    params: dict[str, Any] = {}
    units: dict[str, str | None] = {}
    evaluations: list[str] = []
    """The trial's evaluation folders, relative to the optimisation folder."""
    n_trial: int
    """Trials in the study: complete, pruned and failed."""
    n_complete: int
    n_pruned: int
    n_fail: int


RESULTS = ("best.json", "trials.parquet", "trials.csv", "evaluations.parquet", "evaluations.csv")
"""What ``optimize_finish`` writes into the optimisation folder."""


class Budget(Frozen):
    """``.mojo/budget.json``: the loop's budget when the run made it (``optimize_budget``)."""

    n_trial: int
    timeout: float | None


def opt_dir(study) -> Path:
    return study_dir(study) / "optimize"


def results_record_path(study) -> Path:
    """The SHA-256 of each of :data:`RESULTS`, by ``optimize_finish`` (see :mod:`mojo.trials.integrity`)."""
    return opt_dir(study) / MOJO_DIR / "results.json"


def budget_path(study) -> Path:
    return opt_dir(study) / MOJO_DIR / "budget.json"


_ROUND = "round_{round}"
_EVAL_BATCH = "batch_{job}.json"
_LOGS = {
    "step": "step_{round}.log",
    "evals": "evals_{round}_{job}.log",
    "budget": "budget.log",
    "finish": "finish.log",
    "plots": "plots.log",
}


def round_name(round_: int) -> str:
    return f"{round_:04d}"


def round_path(study, round_: int) -> Path:
    return opt_dir(study) / "rounds" / f"{_ROUND.format(round=round_name(round_))}.json"


def batch_path(study, round_: int, job: int) -> Path:
    return opt_dir(study) / "rounds" / _ROUND.format(round=round_name(round_)) / _EVAL_BATCH.format(job=job)


def round_pattern(study) -> str:
    """:func:`round_path` with a ``{round}`` wildcard (the padded number, :func:`round_name`)."""
    return f"{opt_dir(study)}/rounds/{_ROUND}.json"


def batch_pattern(study) -> str:
    """:func:`batch_path` with ``{round}`` and ``{job}`` wildcards."""
    return f"{opt_dir(study)}/rounds/{_ROUND}/{_EVAL_BATCH}"


def log_pattern(study, job: str) -> str:
    """The log of an optimisation job: ``step`` (``{round}``), ``evals`` (``{round}``, ``{job}``),
    ``budget``, ``finish`` or ``plots``."""
    return f"{opt_dir(study)}/{MOJO_DIR}/logs/{_LOGS[job]}"


def results(study) -> dict[str, Path]:
    """:data:`RESULTS` by name (``best_json``, ``trials_parquet``, ...: ``optimize_finish``'s outputs)."""
    return {name.replace(".", "_"): opt_dir(study) / name for name in RESULTS}


def plot_paths(study) -> dict[str, Path]:
    """The report's optimisation plots, by name (:data:`PLOTS`)."""
    return {name: opt_dir(study) / "plots" / f"{name}.png" for name in PLOTS}


def eval_dir_name(trial: int, index: int, width: int) -> str:
    return f"trial_{trial:0{width}d}_eval_{index}"


def eval_number(trial: int, index: int) -> int:
    """Trial number (seed, random stream) of evaluation ``index`` of Optuna trial ``trial``.

    Never 0 (the Monte Carlo nominal trial) and unique for every (trial, index)."""
    return trial * (MAX_EVALS_PER_TRIAL + 1) + index + 1


def storage_file(study) -> Path:
    """The default storage's SQLite file."""
    return opt_dir(study) / "study.db"


def default_storage(study) -> str:
    return f"sqlite:///{storage_file(study).resolve()}"


def owner_lock_path(study) -> Path:
    return opt_dir(study) / ".mojo" / "owner.lock"


def read_json(path: str | Path) -> dict[str, Any]:
    with open(path) as f:
        return json.load(f)
