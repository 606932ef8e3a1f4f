"""One run per study, and no ``snakemake --unlock`` after a killed run.

Snakemake locks a working folder by writing the files a run will touch into
``.snakemake/locks/``; the files name no owner, so after a ``kill -9`` they stay and every rerun
stops with "Directory cannot be locked" until the user runs ``snakemake --unlock``, which
Snakemake offers even while another run is alive.

mojo gives the lock an owner with two OS locks (``fcntl.flock``, dropped by the kernel however
the process ends), taken by the main Snakemake process when ``workflow.execute`` starts, before
Snakemake writes its own lock, and held until the run ends:

- ``.snakemake/mojo/runs/<study>.lock``, exclusive: a second run of the same study in this
  working folder stops, naming the pid of the first, and leaves the first run's lock alone;
- ``.snakemake/mojo/folder.lock``, shared by every run in the folder (runs of other studies may
  go on beside each other, as Snakemake allows). A starting run that can take it *exclusively*
  knows that no run is alive in the folder, so a Snakemake lock found there is stale: it is
  removed, with one line saying so. Then the run holds it shared like the others.

Dry runs, ``--nolock`` runs and cluster jobs take no lock in Snakemake and none here. Cost: two
small files and two flocks per run. Runs of a mojo without these locks look dead to it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any, TextIO

from mojo.workflow.private_api import around_execute

logger = logging.getLogger("snakemake.logging")

LOCK_DIR = Path(".snakemake/mojo")
"""mojo's locks, relative to the working folder (beside Snakemake's own)."""
FOLDER_LOCK = LOCK_DIR / "folder.lock"
"""Held shared by every run in the working folder, exclusively only to clear a stale lock."""

SNAKEMAKE_LOCKS = Path(".snakemake/locks")
"""Snakemake's own lock folder (``_lockdir`` in snakemake/persistence/file.py): its internal
layout, not API; tests/test_faults_hostile.py checks it against the installed Snakemake."""


class RunningError(RuntimeError):
    """Another run of this study is alive in the working folder."""


def study_lock_path(study_dir: Path | str) -> Path:
    """The run lock of one study: named by a hash of its resolved folder (any path is a key)."""
    key = hashlib.sha256(str(Path(study_dir).resolve()).encode()).hexdigest()[:16]
    return LOCK_DIR / "runs" / f"{key}.lock"


def try_flock(path: Path, mode: int) -> TextIO | None:
    """``path`` opened and flocked (``fcntl.LOCK_EX`` or ``LOCK_SH``) without waiting, or None
    if another process holds it. The lock lasts until the file is closed or the process ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def hold_study_lock(path: Path) -> TextIO | None:
    """Take a study's run lock and write this pid into it; None if a live run holds it."""
    handle = try_flock(path, fcntl.LOCK_EX)
    if handle is not None:
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    return handle


def owner_pid(path: Path) -> str:
    """The pid written by the holder of a study lock ("unknown" in the instant before it writes)."""
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def hold_folder_lock(path: Path = FOLDER_LOCK, locks: Path = SNAKEMAKE_LOCKS) -> TextIO:
    """Join the runs of the working folder (shared flock); first, if no run is alive there,
    remove the Snakemake lock a killed run left behind. Returns the open, locked file."""
    handle = try_flock(path, fcntl.LOCK_EX)
    if handle is None:  # another run is alive: its Snakemake lock is not ours to judge
        handle = open(path, "a+")
    elif clear_stale_snakemake_lock(locks):
        logger.warning(
            f"mojo: removed the lock a killed run left in {locks} (no run is alive in this "
            "folder); no --unlock needed"
        )
    fcntl.flock(handle, fcntl.LOCK_SH)  # waits only while a starting run clears a stale lock
    return handle


def clear_stale_snakemake_lock(locks: Path = SNAKEMAKE_LOCKS) -> bool:
    """Remove Snakemake's lock folder; call only while no run can be alive. True if it held any."""
    if not locks.is_dir() or not any(locks.iterdir()):
        return False
    shutil.rmtree(locks)
    return True


def claim(study_dir: Path | str) -> list[TextIO]:
    """The study's run lock and the folder lock (see the module doc); RunningError if another
    run of the study is alive. Close the returned files to release them."""
    study_lock = study_lock_path(study_dir)
    handle = hold_study_lock(study_lock)
    if handle is None:
        raise RunningError(
            f"another run of this study is running in {Path.cwd()} (pid {owner_pid(study_lock)}): "
            "wait for it to finish, or stop it, then run again; its lock was left alone"
        )
    return [handle, hold_folder_lock()]


def guard_run(workflow: Any, study_dir: Path | str) -> None:
    """Make each run claim its study first (see the module doc). Only in the main process; a
    dry run (the dryrun executor) or ``--nolock`` passes through. Safe to call more than once."""

    def locked(execute: Any, *args: Any, **kwargs: Any) -> Any:
        plugin = kwargs.get("executor_plugin")
        dry_run = plugin is not None and plugin.common_settings.dryrun_exec
        if dry_run or not workflow.execution_settings.lock:
            return execute(*args, **kwargs)
        try:
            handles = claim(study_dir)
        except RunningError as error:
            raise SystemExit(f"mojo: {error}") from None
        try:
            return execute(*args, **kwargs)
        finally:
            for handle in handles:
                handle.close()

    around_execute(workflow, "run lock", locked)
