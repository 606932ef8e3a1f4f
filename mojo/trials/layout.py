"""Where a study's files live: trial folders, batch manifests, tables.

Only path arithmetic here (no globbing), so the Snakefile can call it cheaply on every parse.
"""

from __future__ import annotations

from pathlib import Path

from mojo.config.study import StudyConfig

TRIAL_PREFIX = "trial_"


def study_dir(study: StudyConfig) -> Path:
    return Path(study.results_dir) / study.study


def trial_dir(study: StudyConfig, trial: int, width: int | None = None) -> Path:
    """``results/<study>/trial_0042``: zero-padded so folders sort in trial order."""
    return study_dir(study) / f"{TRIAL_PREFIX}{trial:0{width or study.padding_width}d}"


def batch_ranges(study: StudyConfig) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` trial numbers of each job; growing ``n_trial`` only adds or
    extends the last ranges when ``trials_per_job`` is fixed."""
    size = study.job_size
    return [(first, min(first + size, study.n_trial) - 1) for first in range(0, study.n_trial, size)]


def batches_dir(study_folder: Path) -> Path:
    """Where a study's batch manifests are (``mojo status`` knows the study by its folder only)."""
    return study_folder / ".mojo" / "batches"


def manifest_path(study: StudyConfig, first: int, last: int) -> Path:
    width = study.padding_width
    return batches_dir(study_dir(study)) / f"trials_{first:0{width}d}-{last:0{width}d}.json"


def adopt_narrower_folder(study: StudyConfig, trial: int) -> Path:
    """The trial's folder at the current width, renaming a finished folder of a narrower width
    (the study grew past a power of ten) instead of simulating it again."""
    target = trial_dir(study, trial)
    if not target.exists():
        for width in range(study.padding, study.padding_width):
            old = trial_dir(study, trial, width)
            if old.exists():
                old.rename(target)
                break
    return target
