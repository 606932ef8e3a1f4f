"""Where a study's files live: the one owner of every path under ``results/<study>/``.

A file a rule makes has two spellings here, built from one name: the concrete path (for the
Python code that reads or checks it) and the Snakemake pattern, with ``{first}``/``{last}``/
``{trial}`` wildcards, that the rule files take as their output or log. A renamed file therefore
moves for the rules and the code at once. Only path arithmetic here (no globbing), so the
Snakefile can call it cheaply on every parse. The optimiser's own files are in
:mod:`mojo.optimize.files`, under :func:`study_dir` too.
"""

from __future__ import annotations

from pathlib import Path

from mojo.config.study import StudyConfig
from mojo.trials.files import TRIAL_FILES

TRIAL_PREFIX = "trial_"
MOJO_DIR = ".mojo"
"""mojo's own bookkeeping inside a study folder: manifests, logs, records."""

_MANIFEST = "trials_{first}-{last}.json"
_LOGS = {
    "batch": "trials_{first}-{last}.log",
    "trial": TRIAL_PREFIX + "{trial}.log",
    **{job: f"{job}.log" for job in ("aggregate", "plots", "environment", "optimize")},
}
TABLES = {"parquet": "trials.parquet", "csv": "trials.csv", "summary": "summary.csv"}
"""The aggregate's tables, by the name of the rule's output."""
TABLES_RECORD = Path(MOJO_DIR) / "tables.json"
"""Where the aggregate records its tables' hashes, relative to the study folder."""
PLOTS = {
    **{name: f"{name}.png" for name in ("status", "parameters", "metrics", "scatter", "slowest")},
    "summary": "summary.html",
}
"""The report's plots and summary, in ``plots/``, by the name of the rule's output."""
ENVIRONMENT = {"json": "environment.json", "txt": "environment.txt"}


def study_dir(study: StudyConfig) -> Path:
    return Path(study.results_dir) / study.study


def trial_dir(study: StudyConfig, trial: int, width: int | None = None) -> Path:
    """``results/<study>/trial_0042``: zero-padded so folders sort in trial order."""
    return study_dir(study) / f"{TRIAL_PREFIX}{trial:0{width or study.padding_width}d}"


def trial_files_pattern(study: StudyConfig) -> list[str]:
    """A trial's files with a ``{trial}`` wildcard (the padded number, as in :func:`trial_dir`)."""
    return [f"{study_dir(study)}/{TRIAL_PREFIX}{{trial}}/{name}" for name in TRIAL_FILES]


def batch_ranges(study: StudyConfig) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` trial numbers of each job; growing ``n_trial`` only adds or
    extends the last ranges when ``trials_per_job`` is fixed."""
    size = study.job_size
    return [(first, min(first + size, study.n_trial) - 1) for first in range(0, study.n_trial, size)]


def batches_dir(study_folder: Path) -> Path:
    """Where a study's batch manifests are (``mojo status`` knows the study by its folder only)."""
    return study_folder / MOJO_DIR / "batches"


def manifest_path(study: StudyConfig, first: int, last: int) -> Path:
    width = study.padding_width
    name = _MANIFEST.format(first=f"{first:0{width}d}", last=f"{last:0{width}d}")
    return batches_dir(study_dir(study)) / name


def manifest_pattern(study: StudyConfig) -> str:
    """:func:`manifest_path` with ``{first}`` and ``{last}`` wildcards (rule ``trial_batch``)."""
    return f"{batches_dir(study_dir(study))}/{_MANIFEST}"


def log_pattern(study: StudyConfig, job: str) -> str:
    """The log of a ``batch`` job (``{first}``, ``{last}``), of one ``trial`` (``{trial}``), or
    of the study's ``aggregate``, ``plots``, ``environment`` or ``optimize`` job."""
    return f"{study_dir(study)}/{MOJO_DIR}/logs/{_LOGS[job]}"


def tables(study: StudyConfig) -> dict[str, Path]:
    return {name: study_dir(study) / file for name, file in TABLES.items()}


def tables_record(study: StudyConfig) -> Path:
    """The aggregate's record of its tables' hashes (see :mod:`mojo.trials.integrity`)."""
    return study_dir(study) / TABLES_RECORD


def plots(study: StudyConfig) -> dict[str, Path]:
    return {name: study_dir(study) / "plots" / file for name, file in PLOTS.items()}


def environment(study: StudyConfig) -> dict[str, Path]:
    """The software environment the study ran in (see :mod:`mojo.results.provenance`)."""
    return {name: study_dir(study) / file for name, file in ENVIRONMENT.items()}


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
