"""The study record, ``results/<study>/.mojo/study.json``: what a run of a study was.

The workflow's main process writes it when a run starts (before any job); ``mojo status`` reads
``n_trial`` from it, and :mod:`mojo.trials.targets` compares a ``resume: false`` run's fingerprint
with it. It lives in the trials layer because the trials layer reads it; it costs one small JSON
file a run.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mojo.config.study import StudyConfig
from mojo.trials.files import read_model, write_model
from mojo.trials.integrity import describe, discard
from mojo.trials.layout import MOJO_DIR, study_dir

STUDY_RECORD = Path(MOJO_DIR) / "study.json"
"""The record's path inside a study folder."""


class StudyRecord(BaseModel):
    """``results/<study>/.mojo/study.json``: what ``mojo status`` needs to know about a study that
    the trial files do not say (how many trials it should have). Rewritten when a run starts."""

    study: str
    n_trial: int
    padding_width: int
    started: str
    """When the latest Snakemake run of this study started (UTC, ISO 8601)."""
    config: dict[str, Any]
    """The validated study config of that run."""
    fingerprint: str | None = None
    """That run's :func:`mojo.trials.targets.study_fingerprint` (trial settings and code): what
    ``resume: false`` compares a new run with (None in records of an older mojo)."""


def write_study_record(study: StudyConfig) -> Path:
    """Write the study record (called by the workflow's main process when a run starts)."""
    from mojo.trials.targets import study_fingerprint  # mojo.trials.targets reads this record: import late

    path = study_dir(study) / STUDY_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    write_model(
        path,
        StudyRecord(
            study=study.study,
            n_trial=study.n_trial,
            padding_width=study.padding_width,
            started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            config=study.model_dump(mode="json"),
            fingerprint=study_fingerprint(study),
        ),
    )
    return path


def read_study_record(folder: Path) -> StudyRecord | None:
    try:
        return read_model(folder / STUDY_RECORD, StudyRecord)
    except (FileNotFoundError, ValueError):
        return None


def study_record_problem(folder: Path) -> str | None:
    """Why the study record is there but unreadable, or None (whole, or missing)."""
    try:
        read_model(Path(folder) / STUDY_RECORD, StudyRecord)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        return describe(error)
    return None


def discard_damaged_study_record(study: StudyConfig) -> bool:
    """Remove an unreadable study record (the main process, before the DAG exists); whether it
    did. ``resume: false`` then refuses a study with finished trials and no record (losing
    nothing) until the previous config is known again."""
    why = study_record_problem(study_dir(study))
    if why is not None:
        discard(study_dir(study) / STUDY_RECORD, why)
    return why is not None
