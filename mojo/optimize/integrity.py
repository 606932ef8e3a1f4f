"""Which of the optimisation's files a rerun may trust: the Monte Carlo checks (mojo.trials.integrity)
applied to the loop's files, in the Snakemake main process before the DAG is built.

A round file or evaluation manifest that does not parse with its schema (or is not the one its
round or job wrote) is removed, and so is an evaluation file whose stamp changed since its job
recorded it and that does not parse, with the manifest that recorded it: the run then re-makes
the round (its step replays the same proposals from the earlier rounds, see
:mod:`mojo.optimize.loop`) or re-runs the job, which re-simulates only the evaluations whose files
are not whole. Removing the results' record makes ``optimize_finish`` run again, which is what
makes Snakemake walk the rounds and find the missing files (it looks only at the files a job is
asked for, so a missing round file or budget.json alone would not be noticed). The results
(best.json, tables) are checked against their SHA-256, as the Monte Carlo tables are. A
``study.db`` that is not an SQLite database is set aside and rebuilt from the round files (they
are the truth, the storage their replayable consequence).

Cost: every round file and manifest is parsed (a round holds ``trials_per_round`` trials: a few
hundred files for a long study) and every evaluation file is stat-ed (about 5 µs each).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from pathlib import Path

from mojo.optimize.files import (
    RESULTS,
    Budget,
    EvalBatch,
    RoundFile,
    batch_path,
    budget_path,
    opt_dir,
    results_record_path,
    storage_file,
)
from mojo.trials.integrity import MISSING, damaged_trial_files, describe, discard, discard_damaged_tables

EVALUATIONS_DAMAGED = "whole, but evaluation files it recorded are damaged or missing"


def damaged_files(study) -> dict[Path, str]:
    """The loop's files a rerun must re-make, each with why: unreadable round files, manifests and
    evaluation files, and manifests whose evaluations' files are damaged or missing. ``study``
    needs only ``results_dir`` and ``study`` (``mojo status`` passes its folder's)."""
    damaged: dict[Path, str] = {}
    rounds = opt_dir(study) / "rounds"
    for path in sorted(rounds.glob("round_*.json")) if rounds.is_dir() else []:
        try:
            round_file = RoundFile.model_validate_json(path.read_bytes())
        except (OSError, ValueError) as error:
            damaged[path] = describe(error)
            continue
        if path.name != f"round_{round_file.round:04d}.json":
            damaged[path] = f"it holds round {round_file.round}"
            continue
        for job in range(round_file.jobs):
            damaged |= _damaged_batch(study, round_file, job)
    try:
        Budget.model_validate_json(budget_path(study).read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        damaged[budget_path(study)] = describe(error)
    return damaged


def _damaged_batch(study, round_file: RoundFile, job: int) -> dict[Path, str]:
    path = batch_path(study, round_file.round, job)
    try:
        batch = EvalBatch.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return {}  # not evaluated yet
    except (OSError, ValueError) as error:
        return {path: describe(error)}
    expected = [(t.trial, e.index) for t in round_file.trials if t.job == job for e in t.evals]
    if (batch.round, batch.job) != (round_file.round, job) or [
        (r.trial, r.eval) for r in batch.rows
    ] != expected:
        return {path: f"it does not hold one row for each evaluation of round {round_file.round}'s job {job}"}
    damaged: dict[Path, str] = {}
    for row in batch.rows:
        if row.status != "skipped":
            damaged |= damaged_trial_files(opt_dir(study) / row.dir, batch.stamps.get(row.number, {}))
    if damaged:
        damaged[path] = EVALUATIONS_DAMAGED
    return damaged


def damaged_storage(study) -> str | None:
    """Why the default storage (``study.db``) is there but not an SQLite database with tables, or
    None. Reads it once (SQLite's quick_check: about 10 ms per MB)."""
    path = storage_file(study)
    if study.optimize.storage or not path.exists():
        return None
    try:  # (read-write, as Optuna opens it: a kill's hot journal is rolled back, not taken for damage)
        with contextlib.closing(sqlite3.connect(path)) as db:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as error:
        # Only damage: a locked or busy database (another run's) is Optuna's to report.
        return str(error) if error.sqlite_errorname in ("SQLITE_NOTADB", "SQLITE_CORRUPT") else None
    return check if check != "ok" else (None if tables else "no tables")


def set_aside_damaged_storage(study) -> bool:
    """Move an unreadable ``study.db`` to ``study.db.unreadable`` (nothing is lost): the run
    starts a new one and gives it back the round files' trials (:func:`mojo.optimize.loop.restore`)."""
    why = damaged_storage(study)
    if why is None:
        return False
    path = storage_file(study)
    aside = path.with_name(path.name + ".unreadable")
    os.replace(path, aside)
    print(
        f"mojo: {path} is unreadable ({why}): moved to {aside.name}, "
        "the run rebuilds it from the round files",
        file=sys.stderr,
    )
    return True


def discard_damaged(study) -> None:
    """Remove what :func:`damaged_files` finds (saying so), and the results that are not what
    ``optimize_finish`` wrote, so that this run re-makes them and nothing else."""
    damaged = damaged_files(study)
    for path, reason in damaged.items():
        if reason == EVALUATIONS_DAMAGED:  # its job runs again and re-makes just those
            path.unlink(missing_ok=True)
            print(f"mojo: {path}: {reason}: removed, the run re-makes them", file=sys.stderr)
        elif reason != MISSING:  # (a missing evaluation file: its manifest goes)
            discard(path, reason)
    storage = set_aside_damaged_storage(study)
    results = [opt_dir(study) / name for name in RESULTS]
    discard_damaged_tables(results, results_record_path(study))
    if damaged or storage or not all(path.exists() for path in results):
        # optimize_finish runs again, and with it the walk over the rounds that finds what is
        # missing: Snakemake only looks at the files a job is asked for (the record is).
        results_record_path(study).unlink(missing_ok=True)
