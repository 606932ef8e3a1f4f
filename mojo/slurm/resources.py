"""What a trial job asks SLURM for: its ``resources:``, sized from the study.

Imported by the rule files, which every cluster job parses again: cheap imports only. Local
runs ignore these resources.
"""

from __future__ import annotations

import math

from mojo.config.study import StudyConfig

STARTUP_SECONDS = 60
"""Added to every trial job's runtime: Snakemake start-up in the job, imports, file latency."""
HEADROOM = 2.0
"""Factor on the expected trial time: a job asks for twice what its trials should take."""
DEFAULT_TRIAL_SECONDS = 10.0
"""Expected trial time when neither ``resources.trial_seconds`` nor ``trial_timeout`` is set."""


def trial_seconds(study: StudyConfig) -> float:
    """Expected wall time of one trial: ``resources.trial_seconds``, else ``trial_timeout``
    (a trial can take no longer), else ``DEFAULT_TRIAL_SECONDS``."""
    return study.resources.trial_seconds or study.trial_timeout or DEFAULT_TRIAL_SECONDS


def job_runtime_min(study: StudyConfig, n_trials: int) -> int:
    """Minutes to ask for a job of ``n_trials`` trials: start-up plus headroom x trial time."""
    return math.ceil((STARTUP_SECONDS + HEADROOM * n_trials * trial_seconds(study)) / 60)


def eval_job_size(study: StudyConfig) -> int:
    """Evaluations one optimiser job runs at most: its share of a round's trials (dealt to the
    round's jobs in turn, see ``mojo.optimize.loop``) times each trial's evaluations."""
    opt = study.optimize
    if opt is None:
        raise ValueError("eval_job_size needs a study with an 'optimize' section")
    return math.ceil(opt.round_size(study) / opt.jobs(study)) * opt.evals_per_trial


def job_resources(study: StudyConfig, n_trials: int) -> dict[str, int]:
    """The ``resources:`` of a job running ``n_trials`` trials (one process, one CPU).

    ``mem_mb`` only when the study sets ``resources.mem_mb``; otherwise the profile's
    ``default-resources`` apply.
    """
    resources = {"runtime": job_runtime_min(study, n_trials), "cpus_per_task": 1}
    if study.resources.mem_mb is not None:
        resources["mem_mb"] = study.resources.mem_mb
    return resources
