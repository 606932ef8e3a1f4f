"""What the Snakefile asks of mojo: targets, provenance hashes, and which finished batches must
run again.

Imported at the top of the Snakefile, which every cluster job parses again: it must stay cheap
(no MuJoCo, no Optuna, no globbing of trial folders).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from mojo.config.signals import signals_spec
from mojo.config.study import GROWING_DESIGNS, StudyConfig
from mojo.trials.files import (
    CONFIG_JSON,
    RESULT_JSON,
    SIGNALS_FILE,
    TRIAL_FILES,
    FileStamp,
    TrialConfig,
    read_model,
    trial_files,
)
from mojo.trials.integrity import (
    MISSING,
    damaged_trial_files,
    describe,
    discard,
    read_stamps,
    read_tables_record,
)
from mojo.trials.layout import (
    TRIAL_PREFIX,
    batch_ranges,
    batches_dir,
    manifest_path,
    study_dir,
    tables_record,
    trial_dir,
)
from mojo.trials.record import STUDY_RECORD, read_study_record
from mojo.trials.trial import code_hashes

# Keys that change how trials are grouped or how many there are, never what a trial contains
# (stop_when: how many rounds of trials a study runs).
_GROUPING_KEYS = {"n_trial", "n_proc", "trials_per_job", "resume", "padding", "stop_when"}
# Keys that change only how finished trials are read (which intervals the tables quote, which
# trials the report pictures), never what a trial contains: out of the fingerprint whatever their
# value, so that asking for another confidence level re-makes the tables and plots (their rules'
# params) and no trial.
_READING_KEYS = {"statistics", "pictures"}
# Keys that add files to finished trials without changing the others (config.json and the input
# hash leave them out): out of the study fingerprint, so resume: false allows them; the batch
# jobs' own fingerprint (batch_fingerprint) has them, so a change records them again.
_RECORDING_KEYS = {"signals"}

FINGERPRINTED_KEYS = frozenset({
    "duration", "gen_args", "gen_kwargs", "generator", "metric_units", "metrics", "objective",
    "optimize", "overrides", "parameters", "resources", "results_dir", "run_args", "run_kwargs",
    "runtime", "seed", "study", "trial_memory_mb", "trial_timeout",
})
"""The config keys of mojo 0.1 that enter the fingerprint whatever their value. A key added by a
later mojo enters it only when a study sets it to other than its default: an upgrade that adds a
key re-makes no finished trial."""


def study_fingerprint(study: StudyConfig) -> str:
    """Hash of everything that determines the trials' contents: config and code *content*.

    It goes in the jobs' ``params``, so Snakemake's params trigger re-makes exactly what a change
    of config or code affects, while touched files or a fresh clone (new mtimes) re-make nothing.
    """
    unread = _GROUPING_KEYS | _READING_KEYS | _RECORDING_KEYS
    later = {key for key in type(study).model_fields if key not in FINGERPRINTED_KEYS | unread}
    config = study.model_dump(mode="json", exclude=unread | later)
    config |= study.model_dump(mode="json", include=later, exclude_defaults=True)
    content = {
        "config": config,
        "code": code_hashes(study),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def batch_fingerprint(study: StudyConfig, fingerprint: str) -> str:
    """The trial jobs' ``params``: the study's ``fingerprint``, and the signals spec when the
    study records signals. Adding or changing ``signals`` so re-runs each batch job, which only
    records the signals of its finished trials; without signals it is the study's fingerprint
    (studies that never record signals re-run nothing)."""
    if study.signals is None:
        return fingerprint
    spec = json.dumps(signals_spec(study.signals), sort_keys=True).encode()
    return f"{fingerprint}-{hashlib.sha256(spec).hexdigest()[:16]}"


def batch_manifests(study: StudyConfig) -> list[str]:
    """Every batch job's output: the aggregate's inputs."""
    return [str(manifest_path(study, first, last)) for first, last in batch_ranges(study)]


def check_finished_batches(study: StudyConfig) -> None:
    """Read every finished batch's manifest and check its trials' files against the stamps it
    recorded; run by the main process before the DAG is built.

    A batch job's declared output is its manifest, so Snakemake cannot see a deleted trial by
    itself. A batch whose manifest cannot be read (or is not its batch's), or one of whose trial
    files was deleted or damaged since (a damaged file is removed), loses its manifest, and the
    tables their record: a target, made by the aggregate, which needs every manifest, so the
    batch runs again, re-makes the trials that are not done and collects the others' rows again.
    So does a batch whose manifest was deleted after the aggregate read it (Snakemake re-makes a
    missing file only for a job that runs), else its trials would go unchecked.
    (Listing the missing files as the batch's inputs instead is not enough: Snakemake re-runs a
    job whose output exists when its set of inputs *changed*, so the same file deleted a second
    time went unnoticed.) Costs a stat per trial file: 1.4 s per 100,000 trials.
    """
    record = read_tables_record(tables_record(study))
    whole = record.manifests if record else {}
    for first, last in batch_ranges(study):
        path = manifest_path(study, first, last)
        try:
            stamps = read_stamps(path, first, last, whole.get(path.name))
        except FileNotFoundError:
            if path.name not in whole:
                continue  # not run yet: the aggregate needs it when it runs
            print(f"mojo: {path} was deleted: its batch runs again", file=sys.stderr)
        except ValueError as error:
            discard(path, describe(error))
        else:
            damaged = damaged_batch_files(study, first, last, stamps)
            if not damaged:
                continue
            path.unlink()
            print(
                f"mojo: {len(damaged)} file(s) of trials {first}-{last} deleted or damaged since they "
                f"were made ({damaged[0]}{', ...' if len(damaged) > 1 else ''}): they are made again",
                file=sys.stderr,
            )
        tables_record(study).unlink(missing_ok=True)


def damaged_batch_files(
    study: StudyConfig, first: int, last: int, stamps: dict[int, dict[str, FileStamp]]
) -> list[str]:
    """The files of finished batch ``first..last`` (its manifest's ``stamps``) deleted or damaged
    since it recorded them; the damaged ones are removed (see :mod:`mojo.trials.integrity`). A
    signals file counts once the batch recorded it: a batch that ran before the study recorded
    signals records them when it runs again (its params changed: :func:`batch_fingerprint`)."""
    missing = []
    names = trial_files(study)
    for trial in range(first, last + 1):
        recorded = stamps.get(trial, {})
        files = names if SIGNALS_FILE in recorded else TRIAL_FILES
        damaged = damaged_trial_files(trial_dir(study, trial), recorded, files)
        for path, reason in damaged.items():
            if reason != MISSING:
                discard(path, reason)
        missing += map(str, damaged)
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


def resume_refusal(study: StudyConfig, fingerprint: str) -> str | None:
    """Why this run may not go on: :func:`design_refusal`, or under ``resume: false``, or None.

    ``resume: false`` protects a study's finished trials from being changed: it refuses a run that
    would re-make them (other trial settings or code: another fingerprint) or add to them (another
    ``n_trial``) compared with the run that made them, as the study record says. Finishing the same
    config's unfinished trials, reading the study (dry runs, ``--report``, ``mojo status``) and a
    study with no finished trial yet are never refused. Called when a run starts (``onstart``),
    before the record is rewritten, so dry runs and reports never get here.
    """
    refusal = design_refusal(study, fingerprint)
    if refusal or study.resume or not _has_finished_trials(study):
        return refusal
    record = read_study_record(study_dir(study))
    if record is not None and (record.fingerprint, record.n_trial) == (fingerprint, study.n_trial):
        return None
    if record is None or record.fingerprint is None:
        change = f"trials whose config is unknown (no study record {STUDY_RECORD} with a fingerprint)"
    elif record.fingerprint != fingerprint:
        change = "trials made with other trial settings or code (its fingerprint differs)"
    else:
        change = f"{record.n_trial} trials, and this run asks for n_trial = {study.n_trial}"
    return (
        f"study '{study.study}' in {study_dir(study)} already has {change}; resume is false, which "
        "never changes a finished study's trials. Run it with its previous config to finish or read "
        "it, set resume: true to change it (a new n_trial adds trials; other changes re-make them), "
        "or choose another study name. Nothing was changed."
    )


def design_refusal(study: StudyConfig, fingerprint: str) -> str | None:
    """Why a study whose design cannot grow (``lhs``) may not run with this ``n_trial``, or None.

    Its points depend on n_trial, so another n_trial would re-draw every finished trial: refused,
    whatever ``resume`` says, when the study has finished trials of the same settings (the study
    record's fingerprint) and another n_trial. Without a record, a finished trial's
    ``config.json`` tells the design's size. Costs one small read, and a listing of the study
    folder only for such a design.
    """
    if study.sampling in GROWING_DESIGNS:
        return None
    record = read_study_record(study_dir(study))
    if record is not None and record.fingerprint is not None:
        if record.fingerprint != fingerprint or not _has_finished_trials(study):
            return None  # other settings re-make every trial anyway, or none is finished
        previous = record.n_trial
    else:
        previous = _finished_design_size(study)
    if previous in (None, study.n_trial):
        return None
    return (
        f"study '{study.study}' in {study_dir(study)} has finished trials of sampling: "
        f"{study.sampling} with n_trial = {previous}; that design's points depend on n_trial, so "
        f"n_trial = {study.n_trial} would re-draw every finished trial: an {study.sampling} study "
        f"cannot grow or shrink. Set n_trial back to {previous}, or start another study (another "
        "study name) with the new n_trial, or use sampling: sobol, which can grow. Nothing was changed."
    )


def _finished_design_size(study: StudyConfig) -> int | None:
    """The ``design_size`` in the config of the first finished trial of ``study``'s design found
    in its folder, or None."""
    folder = study_dir(study)
    if not folder.is_dir():
        return None
    with os.scandir(folder) as entries:
        for entry in entries:
            trial = Path(entry.path)
            if not entry.name.startswith(TRIAL_PREFIX) or not (trial / RESULT_JSON).exists():
                continue
            try:
                config = read_model(trial / CONFIG_JSON, TrialConfig)
            except (OSError, ValueError):
                continue
            if config.sampling == study.sampling and config.design_size is not None:
                return config.design_size
    return None


def _has_finished_trials(study: StudyConfig) -> bool:
    """A finished batch, or any trial folder with a result (a killed batch leaves those)."""
    folder = study_dir(study)
    batches = batches_dir(folder)
    if batches.is_dir() and any(batches.iterdir()):
        return True
    if not folder.is_dir():
        return False
    with os.scandir(folder) as entries:
        return any(
            e.name.startswith(TRIAL_PREFIX) and os.path.exists(os.path.join(e.path, RESULT_JSON))
            for e in entries
        )
