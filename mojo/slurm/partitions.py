"""The partition file snakemake-executor-plugin-slurm reads, and ``cluster.json`` beside it.

The plugin picks a partition per job from a YAML of limits (``slurm-partition-config`` in a
profile, or ``$SNAKEMAKE_SLURM_PARTITIONS``). ``mojo slurm partitions`` and a SLURM run without
one write it from the queried limits; the run's pre-submission check reads it back, so the check
and the plugin judge a job by the same file. ``cluster.json`` holds what the YAML has no keys for.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from mojo.slurm.limits import ClusterLimits, PartitionLimits
from mojo.slurm.status_command import StatusCommand
from mojo.slurm.units import time_to_seconds
from mojo.trials.files import write_atomic

DEFAULT_PARTITION_FILE = Path("profiles/slurm/partitions.yaml")
"""Where ``mojo slurm partitions`` writes by default: inside the SLURM profile, so the profile
can say ``slurm-partition-config: partitions.yaml`` (Snakemake resolves a profile value that
names an existing file relative to the profile directory)."""

CLUSTER_FILE_NAME = "cluster.json"
"""Companion of the partition file, for cluster facts the plugin's YAML cannot hold."""


class PluginPartitionLimits(BaseModel):
    """One partition entry as snakemake-executor-plugin-slurm reads it (its ``PartitionLimits``).

    Keys left out mean "no limit" to the plugin; unknown keys make it fail, so only these exist.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    max_runtime: int | None = None
    """``MaxTime`` in minutes, compared with a job's ``runtime`` resource (minutes).
    Written as a number: the plugin would read a string ``"10:00"`` as 10 hours."""
    max_mem_mb: int | None = None
    """Compared with a job's ``mem_mb``."""
    max_mem_mb_per_cpu: int | None = None
    """Compared with a job's ``mem_mb_per_cpu``. From ``MaxMemPerCPU`` (the plugin's own
    generator wrongly takes the default, ``DefMemPerCPU``)."""
    max_cpus_per_task: int | None = None
    """Compared with a job's ``cpus_per_task``/threads."""
    max_threads: int | None = None
    """Compared with a job's threads; the same node CPU count."""


class PluginPartitionFile(BaseModel):
    """The whole YAML file: ``partitions: {<name>: <limits>}``. Other top-level keys are
    ignored by this plugin version, but nothing promises that, hence ``cluster.json``."""

    partitions: dict[str, PluginPartitionLimits]


class ClusterFile(BaseModel):
    """``cluster.json``, beside the partition file: facts the plugin's YAML has no keys for."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    default_partition: str | None = None
    """Partition used when a job names none."""
    max_array_size: int | None = None
    """``MaxArraySize``. The plugin numbers array tasks from 1, so at most MaxArraySize - 1
    tasks go into one sbatch call."""
    status_command: StatusCommand | None = None
    """What the profile should set as ``slurm-status-command`` (see ``detect_status_command``)."""


def plugin_partition_file(limits: ClusterLimits) -> PluginPartitionFile:
    """Translate queried limits into the plugin's partition-file model."""
    return PluginPartitionFile(
        partitions={
            p.name: PluginPartitionLimits(
                max_runtime=p.max_runtime_min,
                max_mem_mb=p.max_mem_mb,
                max_mem_mb_per_cpu=p.max_mem_mb_per_cpu,
                max_cpus_per_task=p.max_cpus,
                max_threads=p.max_cpus,
            )
            for p in limits.partitions
        }
    )


def cluster_file_path(partition_file: Path) -> Path:
    """Where the companion ``cluster.json`` of a partition file goes: the same folder."""
    return Path(partition_file).with_name(CLUSTER_FILE_NAME)


def write_partition_file(
    limits: ClusterLimits, path: Path | str, status_command: StatusCommand | None = None
) -> list[Path]:
    """Write the plugin's partition YAML at ``path`` and ``cluster.json`` beside it.

    Returns the two paths written. Folders are created as needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = plugin_partition_file(limits).model_dump(exclude_none=True)
    header = (
        "# Partition limits for snakemake-executor-plugin-slurm (slurm-partition-config).\n"
        "# Written by `mojo slurm partitions`; max_runtime is in minutes, memory in MB.\n"
    )
    write_atomic(path, header + yaml.safe_dump(content, sort_keys=False))
    companion = cluster_file_path(path)
    cluster = ClusterFile(
        default_partition=limits.default_partition,
        max_array_size=limits.max_array_size,
        status_command=status_command,
    )
    write_atomic(companion, cluster.model_dump_json(indent=2) + "\n")
    return [path, companion]


def read_partition_file(path: Path | str) -> ClusterLimits:
    """Read the plugin's partition YAML (and ``cluster.json`` beside it, if any) as limits.

    Keys this check has no use for (GPUs, nodes, ...) are ignored. ``max_runtime`` is minutes;
    a string is read as a SLURM time.
    """
    path = Path(path)
    data = yaml.safe_load(path.read_text()) or {}
    companion = cluster_file_path(path)
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
