"""What the Snakefile asks of mojo: targets, provenance hashes and the files a job must remake.

Imported at the top of the Snakefile, which every cluster job parses again: it must stay cheap
(no MuJoCo, no Optuna, no globbing of trial folders).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from mojo.config import StudyConfig
from mojo.files import TRIAL_FILES
from mojo.layout import batch_ranges, manifest_path, trial_dir
from mojo.trial import code_hashes

# Keys that change how trials are grouped or how many there are, never what a trial contains.
_GROUPING_KEYS = {"n_trial", "n_proc", "trials_per_job", "resume", "padding"}


def study_fingerprint(study: StudyConfig) -> str:
    """Hash of everything that determines the trials' contents: config and code *content*.

    It goes in the jobs' ``params``, so Snakemake's params trigger re-makes exactly what a change
    of config or code affects, while touched files or a fresh clone (new mtimes) re-make nothing.
    """
    content = {
        "config": study.model_dump(mode="json", exclude=_GROUPING_KEYS),
        "code": code_hashes(study),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def batch_manifests(study: StudyConfig) -> list[str]:
    """Every batch job's output: the aggregate's inputs."""
    return [str(manifest_path(study, first, last)) for first, last in batch_ranges(study)]


def missing_trial_files(study: StudyConfig, first: int, last: int) -> list[str]:
    """Files of a finished batch whose trial folders were deleted or emptied since.

    A batch job's declared output is its manifest, so Snakemake cannot see a deleted trial by
    itself: listing the missing files as the batch's inputs makes the per-trial rule remake them
    and then the batch refresh its rows.
    """
    if not manifest_path(study, first, last).exists():
        return []  # the batch has not run yet: it will make every trial itself
    missing = []
    for trial in range(first, last + 1):
        folder = trial_dir(study, trial)
        present = set(os.listdir(folder)) if folder.is_dir() else set()
        missing += [str(folder / name) for name in TRIAL_FILES if name not in present]
    return missing


def check_trial_name(study: StudyConfig, name: str) -> int:
    """The trial number of a requested folder name, refusing one this study would not make."""
    number = int(name)
    if len(name) != study.padding_width or number >= study.n_trial:
        expected = Path(trial_dir(study, min(number, max(study.n_trial - 1, 0)))).name
        raise ValueError(
            f"trial folder 'trial_{name}' is not part of study '{study.study}' "
            f"(n_trial = {study.n_trial}, folders are named like '{expected}')"
        )
    return number


def study_started(study: StudyConfig) -> bool:
    """Whether any batch of this study has finished before (used when ``resume`` is false)."""
    batches = Path(manifest_path(study, 0, 0)).parent
    return batches.is_dir() and any(batches.iterdir())


def stop_rescheduling_timers() -> None:
    """Cancel Snakemake's pending job-rate timers once a run is over.

    Snakemake re-checks its job rate limit on a one-second ``threading.Timer``, and Python waits
    for such threads before it exits: without this, every finished run sits idle for up to a
    second. Run from ``onsuccess``/``onerror``, when the scheduler has stopped.
    """
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and "_schedule_reevalutation" in getattr(
            function, "__qualname__", ""
        ):
            thread.cancel()
