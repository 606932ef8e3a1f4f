"""The SLURM run guard: what a SLURM run checks and prepares before anything is submitted.

Called once from the rule files (``guard_slurm_run`` at parse time, ``check_submission`` from
the ``onstart`` handler); does nothing in local runs, and in a cluster job only checks that the
study is still the one the job was submitted for. On a SLURM run, in the main Snakemake process,
before the plugin's executor exists, it

1. refuses ``--config`` values, config file paths and the working folder's or Snakefile's path
   that the plugin's shell command would run or mangle (``check_command_line``,
   ``check_paths``), naming the key or path and the way out;
2. picks a status command that works (:mod:`mojo.slurm.status_command`);
3. records what the study's trials depend on in ``SUBMITTED_STUDY_ENV``, which every job
   inherits and checks (a config or code edited while jobs are queued fails those jobs instead
   of mixing two studies' trials);
4. gives the plugin a partition file: the profile's ``slurm-partition-config`` (or
   ``$SNAKEMAKE_SLURM_PARTITIONS``) when set, else one written from the live cluster into
   ``AUTO_PARTITION_FILE`` (:mod:`mojo.slurm.partitions`);

and once the DAG is built, before the first job is submitted (``onstart``), it checks every job
that goes to SLURM against that file (:mod:`mojo.slurm.check`) and stops the run naming the rule,
its request and the largest limit on offer when no partition can hold it.

Cost: one ``scontrol show config`` per run (shared by steps 2 and 4), plus ``scontrol show
partition``/``node`` when no partition file is configured; each job compares the fingerprint
its Snakefile computed anyway (``check_job_study``). Snakemake's private API is reached
only through :mod:`mojo.workflow.private_api`; ``workflow.executor_plugin`` and
``workflow.executor_settings`` are what every executor plugin itself reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mojo.config.study import SHELL_SPECIAL, shell_unsafe
from mojo.slurm.check import check_jobs
from mojo.slurm.limits import (
    ClusterLimits,
    SlurmConfig,
    SlurmQueryError,
    SlurmRunError,
    query_cluster_limits,
    read_slurm_config,
)
from mojo.slurm.partitions import read_partition_file, write_partition_file
from mojo.slurm.status_command import choose_status_command
from mojo.workflow.private_api import around_execute, jobs_to_run

logger = logging.getLogger("snakemake.logging")

AUTO_PARTITION_FILE = Path(".snakemake/mojo/slurm/partitions.yaml")
"""Where a SLURM run writes the limits it queried (relative to the workflow's working folder)."""
SLURM_EXECUTOR = "slurm"
SUBMITTED_STUDY_ENV = "MOJO_SLURM_STUDY_FINGERPRINT"
"""Set by the main Snakemake process of a SLURM run to what its study's trials depend on; the
plugin submits with ``--export=ALL``, so every job of the run finds it (``check_job_study``)."""


def cluster_config() -> SlurmConfig:
    """The run's one ``scontrol show config``, parsed; ``{}`` when it cannot be read (then the
    status command is probed with sacct, and a cluster query below fails with the reason)."""
    try:
        return read_slurm_config()
    except SlurmQueryError:
        return {}


def partition_limits(settings: Any, config: SlurmConfig) -> ClusterLimits:
    """The limits a SLURM run works with; points the plugin (``settings.partition_config``) at
    the file they come from, so the plugin and ``check_submission`` read the same file.

    The profile's ``slurm-partition-config`` (or ``$SNAKEMAKE_SLURM_PARTITIONS``) wins; without
    either, the live cluster is queried and written to ``AUTO_PARTITION_FILE``.
    """
    configured = getattr(settings, "partition_config", None) or os.environ.get(
        "SNAKEMAKE_SLURM_PARTITIONS"
    )
    if configured:
        settings.partition_config = Path(configured)
        return read_partition_file(configured)
    limits = query_cluster_limits(config=config or None)
    write_partition_file(limits, AUTO_PARTITION_FILE)
    settings.partition_config = AUTO_PARTITION_FILE.resolve()
    logger.info(f"SLURM partition limits queried from the cluster: {AUTO_PARTITION_FILE}")
    return limits


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


def check_paths(workdir: Path, snakefile: Any) -> None:
    """Raise SlurmRunError for a working folder or Snakefile path a shell would run or mangle.

    The plugin writes the working folder into sbatch's own command line (``-D``, ``--output``)
    and, with the Snakefile path, into the job's command (``--wrap``), where ``$(...)`` or a
    backtick runs on the submit host as in a ``--config`` value. Only a rename helps.
    """
    for what, path in (("working folder", workdir), ("Snakefile path", snakefile)):
        if path is not None and shell_unsafe(str(path)):
            raise SlurmRunError(
                f"{what} {str(path)!r} cannot be used for SLURM jobs: the SLURM executor plugin "
                "puts it into shell commands (sbatch -D, --output and --wrap), where a control "
                f"character or any of {' '.join(SHELL_SPECIAL)} would run or be mangled. Rename "
                "the folder. Nothing was submitted."
            )


def check_backend(config: dict[str, Any]) -> None:
    """Raise SlurmRunError for a study on the ``warp`` backend: its jobs would need a GPU each,
    which mojo does not ask SLURM for (yet)."""
    if config.get("backend") == "warp":
        raise SlurmRunError(
            "backend: warp runs its batches on the machine Snakemake runs on (its GPU, else Warp's "
            "CPU device), and mojo does not ask SLURM for GPUs: run the study on a GPU node (in an "
            "allocation such as `srun --gpus=1 --pty bash`, with --cores), or use backend: cpu to "
            "submit its jobs to SLURM. Nothing was submitted."
        )


def check_job_study(fingerprint: str) -> None:
    """In a cluster job: stop unless the study it reads (its trials' ``fingerprint``) is the one
    its run submitted it for.

    A job reads the config file (and the user's code) again when it starts, maybe hours after
    submission: edited in between, its trials would be made from a study the run never saw,
    and recorded under the run's old fingerprint, so no later run would re-make them.
    """
    submitted = os.environ.get(SUBMITTED_STUDY_ENV)
    if submitted and fingerprint != submitted:
        raise SystemExit(
            "mojo: the study's config file or code changed after this SLURM job was submitted "
            "(edited while jobs were queued?), so its trials would not belong to the study the "
            "run is making. Nothing was simulated. Let the run end, then run it again: trials "
            "are made from the config as it is then (put a next study in a copy of the file)."
        )


def is_slurm_run(plugin: Any, settings: Any) -> bool:
    return plugin is not None and plugin.name == SLURM_EXECUTOR and settings is not None


def guard_slurm_run(workflow: Any, fingerprint: str) -> None:
    """Prepare a SLURM run before its executor exists (steps 1-4 of the module docstring).

    At parse time Snakemake has not chosen an executor yet, so this runs around
    ``workflow.execute`` (:func:`mojo.workflow.private_api.around_execute`), where the plugin's
    settings can still be fixed up. Cluster jobs and other executors are left alone. Safe to
    call more than once. In a cluster job it only checks that the study is still the one the
    job was submitted for (``check_job_study``). ``fingerprint``: what the study's trials depend
    on (:func:`mojo.trials.targets.batch_fingerprint`).
    """
    if not workflow.is_main_process:
        check_job_study(fingerprint)
        return

    def guarded(execute: Any, *args: Any, **kwargs: Any) -> Any:
        settings = kwargs.get("executor_settings")
        if is_slurm_run(kwargs.get("executor_plugin"), settings):
            try:
                check_backend(workflow.config)
                check_command_line(
                    workflow.config_settings.config_args, workflow.config_settings.configfiles
                )
                check_paths(Path.cwd(), workflow.main_snakefile)
                config = cluster_config()
                choose_status_command(settings, config)
                partition_limits(settings, config)
                os.environ[SUBMITTED_STUDY_ENV] = fingerprint
            except (SlurmRunError, SlurmQueryError) as error:
                raise SystemExit(f"mojo: cannot run on SLURM: {error}") from None
        return execute(*args, **kwargs)

    around_execute(workflow, "slurm guard", guarded)


def check_submission(workflow: Any) -> None:
    """From ``onstart`` (the DAG is built, nothing submitted): stop a SLURM run naming every
    rule whose jobs no partition of the run's partition file can hold. Does nothing elsewhere."""
    settings = getattr(workflow, "executor_settings", None)
    if not is_slurm_run(workflow.executor_plugin, settings) or not settings.partition_config:
        return
    try:
        check_jobs(jobs_to_run(workflow), read_partition_file(settings.partition_config))
    except SlurmRunError as error:
        raise SystemExit(f"mojo: {error}") from None
