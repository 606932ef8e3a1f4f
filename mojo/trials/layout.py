"""Where a study's files live: the one owner of every path under ``results/<study>/``.

A file a rule makes has two spellings here, built from one name: the concrete path (for the
Python code that reads or checks it) and the Snakemake pattern, with ``{first}``/``{last}``/
``{trial}`` wildcards, that the rule files take as their output or log. A renamed file therefore
moves for the rules and the code at once. Only path arithmetic here (no globbing), so the
Snakefile can call it cheaply on every parse. The optimiser's own files are in
:mod:`mojo.optimize.files`, under :func:`study_dir` too.
"""

from __future__ import annotations

import re
from pathlib import Path

from mojo.config.study import StudyConfig
from mojo.trials.files import SIGNALS_FILE, TRIAL_FILES

TRIAL_PREFIX = "trial_"
MOJO_DIR = ".mojo"
"""mojo's own bookkeeping inside a study folder: manifests, logs, records."""

_MANIFEST = "trials_{first}-{last}.json"
_LOGS = {
    "batch": "trials_{first}-{last}.log",
    "trial": TRIAL_PREFIX + "{trial}.log",
    "trial_signals": TRIAL_PREFIX + "{trial}.signals.log",
    "stop_round": "stop_round_{round}.log",
    **{
        job: f"{job}.log"
        for job in (
            "aggregate", "plots", "environment", "optimize", "pictures", "envelopes", "sensitivity",
            "convergence", "stop_settings",
        )
    },
}
TABLES = {"parquet": "trials.parquet", "csv": "trials.csv", "summary": "summary.csv"}
"""The aggregate's tables, by the name of the rule's output."""
SENSITIVITY_TABLE = "sensitivity.csv"
"""Each parameter's importance for each metric and for failures, beside :data:`TABLES`."""
SENSITIVITY_PLOTS = {
    name: f"{name}.png" for name in ("sensitivity_tornado", "sensitivity_heatmap", "failure_drivers", "sobol")
}
"""The sensitivity figures, in ``plots/``; ``sobol`` only for ``sampling: saltelli``."""
TABLES_RECORD = Path(MOJO_DIR) / "tables.json"
"""Where the aggregate records its tables' hashes, relative to the study folder."""
PLOTS_DIR = "plots"
PLOTS = {
    **{name: f"{name}.png" for name in ("status", "parameters", "metrics", "scatter", "slowest")},
    "summary": "summary.html",
}
"""The report's plots and summary, in ``plots/``, by the name of the rule's output."""
STOP_DIR = Path(MOJO_DIR) / "stop"
"""A ``stop_when`` study's decisions, one file per round (``round_3.json``), and the settings they
are read with (``settings.json``), relative to the study folder."""
CONVERGENCE_PLOT = "convergence.png"
"""The running estimates and their intervals against the number of trials, in ``plots/``."""
ENVIRONMENT = {"json": "environment.json", "txt": "environment.txt"}
SIGNAL_PLOTS = "signals"
"""The folder, in ``plots/``, of the envelope figure of each recorded signal."""
PICTURES = "pictures"
"""The folder of the report's pictures of chosen trials (see :mod:`mojo.results.pictures`)."""


def study_dir(study: StudyConfig) -> Path:
    return Path(study.results_dir) / study.study


def trial_dir(study: StudyConfig, trial: int, width: int | None = None) -> Path:
    """``results/<study>/trial_0042``: zero-padded so folders sort in trial order."""
    return study_dir(study) / f"{TRIAL_PREFIX}{trial:0{width or study.padding_width}d}"


def trial_files_pattern(study: StudyConfig) -> list[str]:
    """A trial's files with a ``{trial}`` wildcard (the padded number, as in :func:`trial_dir`),
    but its signals (:func:`signals_pattern`: made by a rule of their own)."""
    return [f"{study_dir(study)}/{TRIAL_PREFIX}{{trial}}/{name}" for name in TRIAL_FILES]


def signals_pattern(study: StudyConfig) -> str:
    """A trial's signals file with a ``{trial}`` wildcard."""
    return f"{study_dir(study)}/{TRIAL_PREFIX}{{trial}}/{SIGNALS_FILE}"


def batch_ranges(study: StudyConfig) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` trial numbers of each job; growing ``n_trial`` only adds or
    extends the last ranges when ``trials_per_job`` is fixed. A ``stop_when`` study's jobs are
    those of its rounds (:func:`round_batches`)."""
    if study.stop_when is not None:
        return [batch for batches in round_batches(study) for batch in batches]
    size = study.job_size
    return [(first, min(first + size, study.n_trial) - 1) for first in range(0, study.n_trial, size)]


def round_sizes(study: StudyConfig) -> list[int]:
    """A ``stop_when`` study's trial count after each round: ``first_round``, doubled each
    round, the last ``n_trial`` (so growing ``n_trial`` changes only the last rounds)."""
    sizes = [min(study.stop_when.first_round, study.n_trial)]
    while sizes[-1] < study.n_trial:
        sizes.append(min(2 * sizes[-1], study.n_trial))
    return sizes


def round_batches(study: StudyConfig) -> list[list[tuple[int, int]]]:
    """The jobs of each round of a ``stop_when`` study: its new trials split into ``n_proc``
    jobs (or jobs of ``trials_per_job``)."""
    rounds, first = [], 0
    for end in round_sizes(study):
        size = study.trials_per_job or max(1, -(-(end - first) // study.n_proc))
        rounds.append([(start, min(start + size, end) - 1) for start in range(first, end, size)])
        first = end
    return rounds


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
    return {name: study_dir(study) / PLOTS_DIR / file for name, file in PLOTS.items()}


def sensitivity(study: StudyConfig) -> dict[str, Path]:
    """``sensitivity`` (``sensitivity.csv``) and its plots; Sobol indices need a Saltelli
    design (see :mod:`mojo.results.sensitivity`)."""
    saltelli = study.sampling == "saltelli"
    names = [name for name in SENSITIVITY_PLOTS if saltelli or name != "sobol"]
    return {
        "sensitivity": study_dir(study) / SENSITIVITY_TABLE,
        **{name: study_dir(study) / PLOTS_DIR / SENSITIVITY_PLOTS[name] for name in names},
    }


def stop_round_pattern(study: StudyConfig) -> str:
    """A ``stop_when`` round's decision file, with a ``{round}`` wildcard (0, 1, ...)."""
    return f"{study_dir(study) / STOP_DIR}/round_{{round}}.json"


def stop_round_path(study: StudyConfig, round_: int) -> Path:
    return Path(stop_round_pattern(study).format(round=round_))


def stop_settings_path(study: StudyConfig) -> Path:
    """What the tables of a ``stop_when`` study depend on besides its rounds (see rules/stop_when.smk)."""
    return study_dir(study) / STOP_DIR / "settings.json"


def convergence_plot(study: StudyConfig) -> Path:
    """Is N enough: see :mod:`mojo.results.convergence`."""
    return study_dir(study) / PLOTS_DIR / CONVERGENCE_PLOT


def environment(study: StudyConfig) -> dict[str, Path]:
    """The software environment the study ran in (see :mod:`mojo.results.provenance`)."""
    return {name: study_dir(study) / file for name, file in ENVIRONMENT.items()}


def pictures(study: StudyConfig) -> Path:
    """The folder of the pictures of chosen trials: how many trials are pictured is known only
    once the trials ran, so the rule's output is the folder (its files: :mod:`mojo.results.pictures`)."""
    return study_dir(study) / PICTURES


def signal_plots(study: StudyConfig) -> dict[str, Path]:
    """The envelope figure of each recorded signal, in config order: ``plots/signals/<name>.png``,
    the name spelt with letters, digits, ``_``, ``.`` and ``-`` only (``sensor:tip_vel`` ->
    ``sensor-tip_vel``), and numbered in the rare case that two signals would share one."""
    names: dict[str, Path] = {}
    for i, signal in enumerate(study.signals.record if study.signals else []):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", signal).strip("-.")
        if name in {path.stem for path in names.values()}:
            name = f"{name}-{i}"
        names[signal] = study_dir(study) / PLOTS_DIR / SIGNAL_PLOTS / f"{name}.png"
    return names


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
