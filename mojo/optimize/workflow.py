"""What ``mojo/workflow/rules/optimize.smk`` asks of mojo.optimize: the loop's files, read cheaply.

The input functions run in the Snakemake main process after each checkpoint (a round's step): they
read the small round files with ``json`` (no pydantic validation, no Optuna) to find the round's
evaluation jobs and whether the loop goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mojo.optimize.files import RoundFile, batch_path, read_json, round_name, round_path


def round_outputs(study, round_: int, data: dict) -> list[str]:
    """A round's file and its evaluation jobs' manifests."""
    return [str(round_path(study, round_))] + [
        str(batch_path(study, round_, job)) for job in range(data["jobs"])
    ]


def goes_on(study, data: dict) -> bool:
    """Whether another round follows this one, from its round file read as JSON (the input
    functions run after every checkpoint: no pydantic); see :func:`round_goes_on`."""
    return _goes_on(
        study, data["round"], bool(data["trials"]), data["n_trial"], data["timeout"], data["n_counted"]
    )


def round_goes_on(study, round_file: RoundFile) -> bool:
    """Whether another round follows this one.

    A round with trials is always followed by a step (which tells them and decides). A stop round
    (no trials) ends the loop, unless the config now allows more trials than were asked and its
    ``n_trial`` or ``timeout`` changed since the stop was decided (a resumed study), or a later
    run already went past it (it was resumed then): its rounds stay the study's, and the results
    keep their trials, whatever ``n_trial`` says now.
    """
    return _goes_on(
        study,
        round_file.round,
        bool(round_file.trials),
        round_file.n_trial,
        round_file.timeout,
        round_file.n_counted,
    )


def _goes_on(study, round_: int, asked: bool, n_trial: int, timeout: float | None, n_counted: int) -> bool:
    if asked:
        return True
    opt = study.optimize
    changed = (opt.n_trial, opt.timeout) != (n_trial, timeout)
    return (changed and n_counted < opt.n_trial) or round_path(study, round_ + 1).exists()


def step_inputs(checkpoints, study, round_: int) -> list[str]:
    """Round ``r``'s step needs round ``r - 1`` asked (a checkpoint) and evaluated."""
    if round_ == 0:
        return []
    previous = checkpoints.optimize_step.get(round=round_name(round_ - 1)).output[0]
    return round_outputs(study, round_ - 1, read_json(previous))


def loop_outputs(checkpoints, study) -> list[str]:
    """Every round's files up to the stop round: walking the checkpoints makes Snakemake run the
    rounds one after the other (each step is asked for only once the one before it exists)."""
    files: list[str] = []
    round_ = 0
    while True:
        path = checkpoints.optimize_step.get(round=round_name(round_)).output[0]
        data = read_json(path)
        files += round_outputs(study, round_, data)
        if not goes_on(study, data):
            return files
        round_ += 1


def optimization_started(study) -> bool:
    return Path(round_path(study, 0)).exists()


def busy_refusal(study, log: Callable[[str], None]) -> str | None:
    """Why this run must not start: another run owns the optimisation (see
    :mod:`mojo.optimize.owner`), or the config's direction or search space does not fit the study
    its rounds made (:mod:`mojo.optimize.mismatch`); ``None`` to go on, owning
    it for the rest of the run.

    Called when a run starts, before any job: a second run must not even evaluate. Opens the
    storage, as the run's first step would (once per run), and gives it back the trials it lost."""
    from mojo.optimize.loop import existing_rounds, open_study, restore
    from mojo.optimize.mismatch import StudyMismatchError, check_rounds
    from mojo.optimize.owner import StudyBusyError

    try:
        check_rounds(study, existing_rounds(study))
        ostudy = open_study(study, log)
    except (StudyBusyError, StudyMismatchError) as error:
        return f"mojo: {error}"
    restore(study, ostudy, log)
    return None
