"""Which command the plugin should ask for job states: ``sacct`` only where accounting works.

snakemake-executor-plugin-slurm picks ``sacct`` whenever the binary exists; where accounting
storage is off, every sacct query fails and the run never ends. ``squeue`` then answers, but
sees a finished job only for ``MinJobAge`` seconds, and the plugin drops back to sacct unless
MinJobAge is at least three times ``slurm-init-seconds-before-status-checks``. Both facts come
from ``scontrol show config``, which callers read once and pass in.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, Literal

from mojo.slurm.limits import (
    SlurmConfig,
    SlurmQueryError,
    SlurmRunError,
    read_slurm_config,
)

logger = logging.getLogger("snakemake.logging")

StatusCommand = Literal["sacct", "squeue"]
ACCOUNTING_OFF = frozenset({"accounting_storage/none", "none", "(null)", ""})
PLUGIN_STATUS_WAIT_S = 40
"""The plugin's default ``slurm-init-seconds-before-status-checks``."""


def status_command_for(
    sacct_installed: bool, accounting_storage_type: str | None, sacct_answer: str | None
) -> StatusCommand:
    """Choose the status command from what the cluster said (pure; see detect_status_command).

    ``accounting_storage_type`` is ``AccountingStorageType`` from ``scontrol show config``
    (None if unknown); ``sacct_answer`` is the text of a trial ``sacct`` call (None if not run).
    """
    if not sacct_installed:
        return "squeue"
    if accounting_storage_type is not None and accounting_storage_type.strip() in ACCOUNTING_OFF:
        return "squeue"
    if sacct_answer is not None and "accounting storage is disabled" in sacct_answer.lower():
        return "squeue"
    return "sacct"


def detect_status_command(
    env: Mapping[str, str] | None = None, config: SlurmConfig | None = None
) -> StatusCommand:
    """``"sacct"`` if sacct is installed AND accounting storage is enabled, else ``"squeue"``.

    ``config`` is the parsed ``scontrol show config`` where the caller has it (``{}`` when it
    could not be read); queried here otherwise. Without ``AccountingStorageType`` a trial sacct
    call decides.
    """
    path = None if env is None else env.get("PATH")
    if shutil.which("sacct", path=path) is None:
        return "squeue"
    if config is None:
        try:
            config = read_slurm_config(env)
        except SlurmQueryError:
            config = {}
    storage_type = config.get("AccountingStorageType")
    if storage_type is not None:
        return status_command_for(True, storage_type, None)
    return status_command_for(True, None, sacct_probe(env))


def sacct_probe(env: Mapping[str, str] | None) -> str:
    """stdout and stderr of a cheap ``sacct`` call; it says so when accounting is disabled."""
    try:
        done = subprocess.run(
            ["sacct", "-n", "-X", "-j", "1"], env=None if env is None else dict(env),
            capture_output=True, text=True, timeout=15, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return done.stdout + done.stderr


def min_job_age(config: SlurmConfig) -> int | None:
    """``MinJobAge`` in seconds (``"600 sec"`` -> 600), or None when unknown."""
    words = config.get("MinJobAge", "").split()
    return int(words[0]) if words and words[0].isdigit() else None


def choose_status_command(settings: Any, config: SlurmConfig) -> None:
    """Make the plugin's status queries work on this cluster (changes ``settings`` in place).

    Where accounting is off, ``squeue`` is the only command that answers; the plugin's first
    status-check wait is shortened to a third of MinJobAge so that squeue still sees finished
    jobs. ``config``: the run's parsed ``scontrol show config`` (``{}`` if unreadable).
    """
    if detect_status_command(config=config) == "sacct":
        return  # accounting works: whatever the profile chose (or the plugin's sacct) is fine
    if settings.status_command != "squeue":
        logger.info("SLURM accounting is disabled on this cluster: using squeue for job status")
        settings.status_command = "squeue"
    age = min_job_age(config)
    wait = settings.init_seconds_before_status_checks or PLUGIN_STATUS_WAIT_S
    if age is None or age >= 3 * wait:
        return
    if age < 3:
        raise SlurmRunError(
            f"this cluster keeps finished jobs visible to squeue for MinJobAge={age} s "
            "and has no accounting (sacct), so Snakemake cannot learn how its jobs ended: "
            "ask the administrators for MinJobAge >= 60 or for accounting storage"
        )
    settings.init_seconds_before_status_checks = age // 3
    logger.info(
        f"MinJobAge={age} s: status checks every {age // 3} s so that squeue "
        "still sees finished jobs"
    )
