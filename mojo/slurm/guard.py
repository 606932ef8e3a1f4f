"""Running the workflow on SLURM: trial-job resources, and what is checked before any submission.

Imported at the top of the Snakefile (every cluster job parses it again): cheap imports only.

- ``job_resources``: the ``resources:`` of a trial job, from the study (trials per job times
  the expected trial time, with headroom). Local runs ignore them.
- ``guard_slurm_run``: called once from a ``.smk``. On a SLURM run, in the main Snakemake process
  only, and before the plugin's executor exists, it

  1. refuses ``--config`` values (and config file paths) that the plugin's shell command
     would run or mangle (``check_command_line``), naming the key and the way out;
  2. picks a status command that works: ``squeue`` where accounting is off (there the plugin's
     default, ``sacct``, fails every query and the run never ends), shortening the plugin's
     first status-check wait when MinJobAge is too short for squeue (the plugin would otherwise
     quietly switch back to sacct);
  3. gives the plugin a partition file: the profile's ``slurm-partition-config`` (or
     ``$SNAKEMAKE_SLURM_PARTITIONS``) when set, else one written from the live cluster into
     ``.snakemake/mojo/slurm/``;
  4. once the DAG is built and before the first job is submitted, checks every job that will go
     to SLURM against those limits, and stops the run naming the rule, its request and the
     largest limit on offer when no partition can hold it (the plugin itself would only warn
     and submit to the default partition, where the job pends or is rejected).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mojo.config.study import SHELL_SPECIAL, StudyConfig, shell_unsafe
from mojo.workflow.private_api import around_execute
from mojo.slurm.limits import (
    CLUSTER_FILE_NAME,
    ClusterLimits,
    PartitionLimits,
    SlurmLimitError,
    SlurmQueryError,
    check_request,
    detect_status_command,
    parse_config,
    query_cluster_limits,
    run_slurm,
    time_to_seconds,
    write_partition_file,
)

logger = logging.getLogger("snakemake.logging")

STARTUP_SECONDS = 60
"""Added to every trial job's runtime: Snakemake start-up in the job, imports, file latency."""
HEADROOM = 2.0
"""Factor on the expected trial time: a job asks for twice what its trials should take."""
DEFAULT_TRIAL_SECONDS = 10.0
"""Expected trial time when neither ``resources.trial_seconds`` nor ``trial_timeout`` is set."""
AUTO_PARTITION_FILE = Path(".snakemake/mojo/slurm/partitions.yaml")
"""Where a SLURM run writes the limits it queried (relative to the workflow's working folder)."""
SLURM_EXECUTOR = "slurm"


class SlurmRunError(RuntimeError):
    """A SLURM run that must not start; the message says why and what to change."""


# --------------------------------------------------------------------------- job resources


def trial_seconds(study: StudyConfig) -> float:
    """Expected wall time of one trial: ``resources.trial_seconds``, else ``trial_timeout``
    (a trial can take no longer), else ``DEFAULT_TRIAL_SECONDS``."""
    return study.resources.trial_seconds or study.trial_timeout or DEFAULT_TRIAL_SECONDS


def job_runtime_min(study: StudyConfig, n_trials: int) -> int:
    """Minutes to ask for a job of ``n_trials`` trials: start-up plus headroom x trial time."""
    return math.ceil((STARTUP_SECONDS + HEADROOM * n_trials * trial_seconds(study)) / 60)


def job_resources(study: StudyConfig, n_trials: int) -> dict[str, int]:
    """The ``resources:`` of a job running ``n_trials`` trials (one process, one CPU).

    ``mem_mb`` only when the study sets ``resources.mem_mb``; otherwise the profile's
    ``default-resources`` apply.
    """
    resources = {"runtime": job_runtime_min(study, n_trials), "cpus_per_task": 1}
    if study.resources.mem_mb is not None:
        resources["mem_mb"] = study.resources.mem_mb
    return resources


# --------------------------------------------------------------------------- partition files


def read_partition_file(path: Path | str) -> ClusterLimits:
    """Read the plugin's partition YAML (and ``cluster.json`` beside it, if any) as limits.

    Keys this check has no use for (GPUs, nodes, ...) are ignored. ``max_runtime`` is minutes;
    a string is read as a SLURM time.
    """
    path = Path(path)
    data = yaml.safe_load(path.read_text()) or {}
    companion = path.with_name(CLUSTER_FILE_NAME)
    cluster = json.loads(companion.read_text()) if companion.exists() else {}
    partitions = []
    for name, entry in (data.get("partitions") or {}).items():
        entry = entry or {}
        runtime = entry.get("max_runtime")
        if isinstance(runtime, str):
            seconds = time_to_seconds(runtime)
        else:
            seconds = None if runtime is None else int(runtime * 60)
        cpu_limits = [entry.get("max_cpus_per_task"), entry.get("max_threads")]
        partitions.append(
            PartitionLimits(
                name=name,
                is_default=name == cluster.get("default_partition"),
                max_time_s=seconds,
                max_mem_mb=entry.get("max_mem_mb"),
                max_mem_mb_per_cpu=entry.get("max_mem_mb_per_cpu"),
                max_cpus=min((c for c in cpu_limits if c is not None), default=None),
            )
        )
    return ClusterLimits(partitions=partitions, max_array_size=cluster.get("max_array_size"))


def partition_limits(settings: Any) -> ClusterLimits:
    """The limits a SLURM run works with, and the file the plugin reads them from.

    The profile's ``slurm-partition-config`` (or ``$SNAKEMAKE_SLURM_PARTITIONS``) wins; without
    either, the live cluster is queried and written to ``AUTO_PARTITION_FILE``, which is then
    handed to the plugin (``settings.partition_config``) for its partition selection.
    """
    configured = getattr(settings, "partition_config", None) or os.environ.get(
        "SNAKEMAKE_SLURM_PARTITIONS"
    )
    if configured:
        return read_partition_file(configured)
    limits = query_cluster_limits()
    write_partition_file(limits, AUTO_PARTITION_FILE)
    settings.partition_config = AUTO_PARTITION_FILE.resolve()
    logger.info(f"SLURM partition limits queried from the cluster: {AUTO_PARTITION_FILE}")
    return limits


# --------------------------------------------------------------------------- status command


def choose_status_command(settings: Any) -> None:
    """Make the plugin's status queries work on this cluster (changes ``settings`` in place).

    Where accounting is off, ``squeue`` is the only command that answers; it sees a finished job
    for MinJobAge seconds, and the plugin drops back to sacct unless MinJobAge is at least three
    times ``slurm-init-seconds-before-status-checks``, so that wait is shortened to fit.
    """
    if detect_status_command() == "sacct":
        return  # accounting works: whatever the profile chose (or the plugin's sacct) is fine
    if settings.status_command != "squeue":
        logger.info("SLURM accounting is disabled on this cluster: using squeue for job status")
        settings.status_command = "squeue"
    min_job_age = _min_job_age()
    wait = settings.init_seconds_before_status_checks or 40
    if min_job_age is None or min_job_age >= 3 * wait:
        return
    if min_job_age < 3:
        raise SlurmRunError(
            f"this cluster keeps finished jobs visible to squeue for MinJobAge={min_job_age} s "
            "and has no accounting (sacct), so Snakemake cannot learn how its jobs ended: "
            "ask the administrators for MinJobAge >= 60 or for accounting storage"
        )
    settings.init_seconds_before_status_checks = min_job_age // 3
    logger.info(
        f"MinJobAge={min_job_age} s: status checks every {min_job_age // 3} s so that squeue "
        "still sees finished jobs"
    )


def _min_job_age() -> int | None:
    try:
        text = parse_config(run_slurm(["scontrol", "show", "config"])).get("MinJobAge", "")
    except SlurmQueryError:
        return None
    digits = text.split()[0] if text.split() else ""
    return int(digits) if digits.isdigit() else None


# --------------------------------------------------------------------------- command line values


def check_command_line(
    config_args: Iterable[str] | None, configfiles: Iterable[Any] | None
) -> None:
    """Raise SlurmRunError for a ``--config`` value or config file path a shell would mangle.

    snakemake-executor-plugin-slurm submits every job as ``sbatch --wrap="<job command>"``
    through a shell, and Snakemake puts each ``--config KEY=VALUE`` and each config file path
    into that command in single quotes, which do not protect inside the double quotes: ``$(...)``
    or a backtick there runs on the submit host. Values from a config file never reach a
    command line, so moving a value there is always the way out.
    """
    for arg in config_args or ():
        if shell_unsafe(arg):
            key = arg.split("=", 1)[0]
            raise SlurmRunError(
                f"--config {arg!r} cannot be passed to SLURM jobs: the SLURM executor plugin "
                "pastes --config values into a shell command (sbatch --wrap), where a control "
                f"character or any of {' '.join(SHELL_SPECIAL)} would run or be mangled. Put "
                f"{key} in a config file (--configfile) instead: its values never reach a "
                "command line. Nothing was submitted."
            )
    for path in configfiles or ():
        if shell_unsafe(str(path)):
            raise SlurmRunError(
                f"config file path {str(path)!r} cannot be passed to SLURM jobs: it goes into "
                "a shell command (sbatch --wrap), where a control character or any of "
                f"{' '.join(SHELL_SPECIAL)} would run or be mangled. Rename the file or its "
                "folder. Nothing was submitted."
            )


# --------------------------------------------------------------------------- request check


def job_request(job: Any) -> tuple[int | None, int | None, int]:
    """(runtime in minutes, mem_mb, cpus) of a Snakemake job, as the plugin will submit it."""
    resources = job.resources
    runtime = resources.get("runtime")
    mem_mb = resources.get("mem_mb")
    cpus = resources.get("cpus_per_task") or job.threads or 1
    return (
        None if runtime is None else int(runtime),
        None if mem_mb is None else int(mem_mb),
        int(cpus),
    )


def oversized_jobs(jobs: Iterable[Any], limits: ClusterLimits) -> list[str]:
    """One message per distinct (rule, request) that no partition can hold; local jobs skipped."""
    problems: dict[tuple, str] = {}
    for job in jobs:
        if job.is_local:
            continue
        key = (job.rule.name, *job_request(job))
        if key in problems:
            continue
        try:
            check_request(key[0], *key[1:], limits)
        except SlurmLimitError as error:
            problems[key] = str(error)
    return list(problems.values())


def check_jobs(jobs: Iterable[Any], limits: ClusterLimits) -> None:
    """Raise SlurmRunError naming every oversized rule; nothing has been submitted yet."""
    problems = oversized_jobs(jobs, limits)
    if problems:
        raise SlurmRunError(
            "no SLURM partition can hold these jobs, so nothing was submitted:\n  "
            + "\n  ".join(problems)
            + "\nLower the request (for trial jobs: trials_per_job, resources.trial_seconds, "
            "resources.mem_mb) or run on a cluster with larger partitions."
        )


def guard_slurm_run(workflow: Any) -> None:
    """Arrange the SLURM preparations and the pre-submission check (see the module docstring).

    At parse time Snakemake has not chosen an executor yet (``workflow.executor_plugin`` is
    None until ``workflow.execute``), so this wraps ``execute``: when it is called with the slurm
    executor, the settings are fixed up before the executor exists, and the check is chained in
    front of the ``onstart`` handler, which Snakemake runs after building the DAG and before
    scheduling the first job. Cluster jobs (not the main process) and other executors are left
    alone. Safe to call more than once.
    """

    def guarded(execute: Any, *args: Any, **kwargs: Any) -> Any:
        plugin = kwargs.get("executor_plugin")
        settings = kwargs.get("executor_settings")
        if plugin is not None and plugin.name == SLURM_EXECUTOR and settings is not None:
            try:
                check_command_line(
                    workflow.config_settings.config_args, workflow.overwrite_configfiles
                )
                choose_status_command(settings)
                limits = partition_limits(settings)
            except (SlurmRunError, SlurmQueryError) as error:
                raise SystemExit(f"mojo: cannot run on SLURM: {error}") from None
            onstart = workflow._onstart

            def check_then_onstart(log: Any) -> Any:
                try:
                    check_jobs(workflow.dag.needrun_jobs(), limits)
                except SlurmRunError as error:
                    raise SystemExit(f"mojo: {error}") from None
                return onstart(log)

            workflow._onstart = check_then_onstart
        return execute(*args, **kwargs)

    around_execute(workflow, "slurm guard", guarded)
