"""SLURM helpers: unit conversions, cluster limits, the plugin's partition file, request checks.

What lives here, in the order a study meets it:

- Conversions SLURM users type every day: ``array_string`` (task ids -> ``0-2,5-6``),
  ``to_mb`` / ``format_mb`` (memory), ``time_to_seconds`` (``D-HH:MM:SS`` and friends).
- Reading the live cluster: ``query_cluster_limits`` runs ``scontrol`` and hands the text to
  pure parsers (``parse_records``, ``cluster_limits_from``), so parsing is tested on captured text.
- ``write_partition_file``: the YAML that snakemake-executor-plugin-slurm reads for automatic
  partition selection (``slurm-partition-config`` in a profile, or ``$SNAKEMAKE_SLURM_PARTITIONS``),
  plus ``cluster.json`` beside it for what that YAML has no place for.
- ``check_request``: fail early, naming the rule, when no partition can hold a job.
- ``detect_status_command``: ``sacct`` only where accounting really works, else ``squeue``.
- ``partitions_command``: the ``mojo slurm partitions`` subcommand.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

DEFAULT_PARTITION_FILE = Path("profiles/slurm/partitions.yaml")
"""Where ``mojo slurm partitions`` writes by default: inside the SLURM profile, so the profile
can say ``slurm-partition-config: partitions.yaml`` (Snakemake resolves a profile value that
names an existing file relative to the profile directory)."""

CLUSTER_FILE_NAME = "cluster.json"
"""Companion of the partition file, for cluster facts the plugin's YAML cannot hold."""

UNLIMITED_WORDS = frozenset({"UNLIMITED", "INFINITE"})
MEMORY_UNITS_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}
StatusCommand = Literal["sacct", "squeue"]


class SlurmLimitError(ValueError):
    """A job asks for more than any partition of the cluster allows."""


class SlurmQueryError(RuntimeError):
    """A SLURM command failed or is not installed."""


# --------------------------------------------------------------------------- conversions


def array_string(task_ids: Iterable[int]) -> str:
    """Collapse task ids into SLURM's ``--array`` syntax: ``[0, 1, 2, 5, 6] -> "0-2,5-6"``.

    Ids are sorted and de-duplicated first. Raises ValueError for no ids or a negative id.
    """
    ids = sorted(set(task_ids))
    if not ids:
        raise ValueError("an array job needs at least one task id")
    if ids[0] < 0:
        raise ValueError(f"array task ids must be >= 0, got {ids[0]}")
    runs: list[list[int]] = [[ids[0], ids[0]]]
    for task_id in ids[1:]:
        if task_id == runs[-1][1] + 1:
            runs[-1][1] = task_id
        else:
            runs.append([task_id, task_id])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def to_mb(value: str | int) -> int:
    """Read a SLURM memory size as whole MB: ``"1000" -> 1000``, ``"1G" -> 1024``.

    A bare number is MB, as SLURM reads ``--mem``. Units K, M, G, T (any case, powers of 1024);
    fractions round up (``"1500K" -> 2``) so a converted request never shrinks.
    Raises ValueError naming the value when it is not a size.
    """
    text = str(value).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGTkmgt]?)", text)
    if match is None:
        raise ValueError(
            f"cannot read {value!r} as a SLURM memory size "
            "(expected e.g. '1000', '512M', '4G', '1T')"
        )
    number, unit = match.groups()
    return math.ceil(float(number) * MEMORY_UNITS_MB[unit.upper() or "M"])


def format_mb(mb: int) -> str:
    """Write MB in the largest unit that divides it exactly: ``1024 -> "1G"``, ``1536 -> "1536M"``.

    Never rounds, so ``to_mb(format_mb(x)) == x``.
    """
    if mb < 0:
        raise ValueError(f"memory cannot be negative, got {mb} MB")
    for unit in ("T", "G"):
        factor = MEMORY_UNITS_MB[unit]
        if mb and mb % factor == 0:
            return f"{mb // factor}{unit}"
    return f"{mb}M"


def time_to_seconds(value: str) -> int | None:
    """Read a SLURM time limit in seconds; ``None`` means UNLIMITED/INFINITE.

    Formats as SLURM reads them: ``"5"`` minutes, ``"03:04"`` MM:SS, ``"02:03:04"`` HH:MM:SS,
    ``"1-02"`` D-HH, ``"1-02:03"`` D-HH:MM, ``"1-02:03:04"`` D-HH:MM:SS.
    Raises ValueError naming the value for anything else.
    """
    text = str(value).strip()
    if text.upper() in UNLIMITED_WORDS:
        return None
    match = re.fullmatch(r"(?:(\d+)-)?(\d+(?::\d+){0,2})", text)
    if match is None:
        raise ValueError(
            f"cannot read {value!r} as a SLURM time (expected e.g. '30', '10:00', '02:00:00', "
            "'1-00:00:00' or 'UNLIMITED')"
        )
    days, clock = match.groups()
    parts = [int(part) for part in clock.split(":")]
    if days is None:
        # Without days SLURM reads one number as minutes and two as minutes:seconds.
        hours, minutes, seconds = {1: [0, parts[0], 0], 2: [0, *parts], 3: parts}[len(parts)]
    else:
        hours, minutes, seconds = (parts + [0, 0])[:3]
    return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


def format_seconds(seconds: int | None) -> str:
    """Write seconds as SLURM shows a limit: ``600 -> "00:10:00"``, ``None -> "UNLIMITED"``."""
    if seconds is None:
        return "UNLIMITED"
    days, rest = divmod(seconds, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


# --------------------------------------------------------------------------- cluster limits


class PartitionLimits(BaseModel):
    """What one partition lets a single job have. ``None`` means SLURM sets no limit."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    name: str
    is_default: bool = False
    """Jobs without ``-p`` go here (``Default=YES``; ``*`` in sinfo)."""
    max_time_s: int | None = None
    """``MaxTime`` in seconds."""
    max_mem_mb: int | None = None
    """Memory one job can get on one node: the smallest ``RealMemory`` of the partition's nodes,
    or ``MaxMemPerNode`` when that is set and smaller."""
    max_mem_mb_per_cpu: int | None = None
    """``MaxMemPerCPU``, where set. SLURM raises a job's CPU count rather than exceed it."""
    max_cpus: int | None = None
    """CPUs one job can get on one node: the smallest ``CPUTot`` of the partition's nodes,
    or ``MaxCPUsPerNode`` when that is set and smaller."""

    @property
    def max_runtime_min(self) -> int | None:
        """``MaxTime`` in whole minutes (Snakemake's ``runtime`` unit), rounded down."""
        return None if self.max_time_s is None else self.max_time_s // 60


class ClusterLimits(BaseModel):
    """The limits of a whole cluster, as queried from ``scontrol``."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    partitions: list[PartitionLimits]
    max_array_size: int | None = None
    """``MaxArraySize``: array task ids must be below it."""

    @property
    def default_partition(self) -> str | None:
        return next((p.name for p in self.partitions if p.is_default), None)


def parse_records(text: str) -> list[dict[str, str]]:
    """Split ``scontrol show <entity> -o`` text (one record a line) into ``Key=Value`` dicts.

    Values never contain spaces in one-line output, except ``OS=...`` on nodes, whose extra
    words carry no ``=`` and are dropped.
    """
    records = []
    for line in text.splitlines():
        fields = dict(word.split("=", 1) for word in line.split() if "=" in word)
        if fields:
            records.append(fields)
    return records


def parse_config(text: str) -> dict[str, str]:
    """Read ``scontrol show config`` text (``Key = Value`` lines) into a dict."""
    config = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            config[key.strip()] = value.strip()
    return config


def limit_value(text: str | None) -> int | None:
    """A numeric limit from scontrol (``"6000"``), or None for missing/UNLIMITED/0/(null)."""
    if text is None or not text.isdigit() or int(text) == 0:
        return None
    return int(text)


def smallest(values: Iterable[int | None]) -> int | None:
    """The smallest of the values that are set, or None when none is."""
    known = [v for v in values if v is not None]
    return min(known) if known else None


def partition_limits_from(
    partition: Mapping[str, str], nodes: Sequence[Mapping[str, str]]
) -> PartitionLimits:
    """Combine one ``scontrol show partition`` record with the node records of that partition."""
    smallest_node_mem = smallest(limit_value(n.get("RealMemory")) for n in nodes)
    smallest_node_cpus = smallest(limit_value(n.get("CPUTot")) for n in nodes)
    return PartitionLimits(
        name=partition["PartitionName"],
        is_default=partition.get("Default") == "YES",
        max_time_s=time_to_seconds(partition.get("MaxTime", "UNLIMITED")),
        max_mem_mb=smallest([smallest_node_mem, limit_value(partition.get("MaxMemPerNode"))]),
        max_mem_mb_per_cpu=limit_value(partition.get("MaxMemPerCPU")),
        max_cpus=smallest([smallest_node_cpus, limit_value(partition.get("MaxCPUsPerNode"))]),
    )


def cluster_limits_from(partition_text: str, node_text: str, config_text: str) -> ClusterLimits:
    """Build ``ClusterLimits`` from captured ``scontrol show partition -o``, ``show node -o``
    and ``show config`` text. Nodes are matched to partitions by the nodes' ``Partitions=`` field,
    which saves expanding hostlists like ``node[01-40]``."""
    nodes = parse_records(node_text)
    partitions = [
        partition_limits_from(
            record,
            [n for n in nodes if record["PartitionName"] in n.get("Partitions", "").split(",")],
        )
        for record in parse_records(partition_text)
    ]
    return ClusterLimits(
        partitions=partitions,
        max_array_size=limit_value(parse_config(config_text).get("MaxArraySize")),
    )


def run_slurm(
    command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 30
) -> str:
    """Run a SLURM client command and return its stdout; raise SlurmQueryError on failure."""
    try:
        done = subprocess.run(
            list(command), env=None if env is None else dict(env),
            capture_output=True, text=True, timeout=timeout,
        )
    except FileNotFoundError as error:
        message = f"{command[0]} is not installed: is this a SLURM login node?"
        raise SlurmQueryError(message) from error
    except subprocess.TimeoutExpired as error:
        message = f"{' '.join(command)} did not answer within {timeout:.0f} s"
        raise SlurmQueryError(message) from error
    if done.returncode != 0:
        answer = done.stderr.strip() or done.stdout.strip()
        raise SlurmQueryError(f"{' '.join(command)} failed: {answer}")
    return done.stdout


def query_cluster_limits(env: Mapping[str, str] | None = None) -> ClusterLimits:
    """Ask the live cluster (three ``scontrol`` calls) for its partition limits.

    ``env`` is passed to scontrol: give one with ``SLURM_CONF`` to query a non-default cluster.
    """
    return cluster_limits_from(
        run_slurm(["scontrol", "show", "partition", "-o"], env),
        run_slurm(["scontrol", "show", "node", "-o"], env),
        run_slurm(["scontrol", "show", "config"], env),
    )


# --------------------------------------------------------------------------- partition file


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
    path.write_text(header + yaml.safe_dump(content, sort_keys=False))
    companion = cluster_file_path(path)
    cluster = ClusterFile(
        default_partition=limits.default_partition,
        max_array_size=limits.max_array_size,
        status_command=status_command,
    )
    companion.write_text(cluster.model_dump_json(indent=2) + "\n")
    return [path, companion]


# --------------------------------------------------------------------------- request checks


def cpus_needed(partition: PartitionLimits, mem_mb: int | None, cpus: int) -> int:
    """CPUs SLURM will give a job on this partition: more than asked when ``MaxMemPerCPU``
    forces it (SLURM raises the CPU count instead of rejecting the memory)."""
    if mem_mb is None or partition.max_mem_mb_per_cpu is None:
        return cpus
    return max(cpus, math.ceil(mem_mb / partition.max_mem_mb_per_cpu))


def fits(
    partition: PartitionLimits, runtime_min: int | None, mem_mb: int | None, cpus: int
) -> bool:
    """Whether one partition can hold the request (``None`` on either side: not limited)."""
    def within(asked: int | None, limit: int | None) -> bool:
        return asked is None or limit is None or asked <= limit

    return (
        within(None if runtime_min is None else runtime_min * 60, partition.max_time_s)
        and within(mem_mb, partition.max_mem_mb)
        and within(cpus_needed(partition, mem_mb, cpus), partition.max_cpus)
    )


def largest(partitions: Sequence[PartitionLimits], attribute: str) -> tuple[str, int] | None:
    """(name, value) of the partition with the largest limit, or None if one is unlimited."""
    values = [(p.name, getattr(p, attribute)) for p in partitions]
    if any(value is None for _, value in values):
        return None
    return max(values, key=lambda item: item[1])


def too_large(
    partitions: Sequence[PartitionLimits], runtime_min: int | None, mem_mb: int | None, cpus: int
) -> list[str]:
    """One phrase per resource that exceeds even the most generous partition."""
    phrases = []
    longest = largest(partitions, "max_time_s")
    if runtime_min is not None and longest and runtime_min * 60 > longest[1]:
        phrases.append(
            f"runtime={runtime_min} min, but the longest partition ({longest[0]!r}) "
            f"allows {minutes_text(longest[1])}"
        )
    roomiest = largest(partitions, "max_mem_mb")
    if mem_mb is not None and roomiest and mem_mb > roomiest[1]:
        phrases.append(
            f"mem_mb={mem_mb} MB, but the partition with the most memory ({roomiest[0]!r}) "
            f"allows {roomiest[1]} MB"
        )
    widest = largest(partitions, "max_cpus")
    if widest and cpus > widest[1]:
        phrases.append(
            f"cpus={cpus}, but the partition with the most CPUs per node ({widest[0]!r}) "
            f"allows {widest[1]}"
        )
    return phrases


def minutes_text(seconds: int | None) -> str:
    """``7200 -> "120 min"``, ``630 -> "10.5 min"``, ``None -> "unlimited min"``."""
    if seconds is None:
        return "unlimited min"
    whole, rest = divmod(seconds, 60)
    return f"{whole} min" if rest == 0 else f"{seconds / 60:.1f} min"


def describe(partition: PartitionLimits) -> str:
    """``short (runtime 10 min, 8000 MB, 2 CPUs)`` for error messages."""
    def shown(value: int | None, unit: str) -> str:
        return f"unlimited {unit}" if value is None else f"{value} {unit}"

    parts = [
        f"runtime {minutes_text(partition.max_time_s)}",
        shown(partition.max_mem_mb, "MB"),
        shown(partition.max_cpus, "CPUs"),
    ]
    if partition.max_mem_mb_per_cpu is not None:
        parts.append(f"{partition.max_mem_mb_per_cpu} MB per CPU")
    return f"{partition.name} ({', '.join(parts)})"


def request_text(runtime_min: int | None, mem_mb: int | None, cpus: int) -> str:
    """``runtime=120 min, mem_mb=8000 MB, cpus=1``, leaving out what was not requested."""
    parts = [] if runtime_min is None else [f"runtime={runtime_min} min"]
    parts += [] if mem_mb is None else [f"mem_mb={mem_mb} MB"]
    return ", ".join(parts + [f"cpus={cpus}"])


def check_request(
    rule: str, runtime_min: int | None, mem_mb: int | None, cpus: int, limits: ClusterLimits
) -> None:
    """Raise SlurmLimitError unless at least one partition can hold the request.

    ``runtime_min`` and ``mem_mb`` use Snakemake's resource units (minutes, MB); ``None`` means
    not requested. Call before submitting, so a study fails with a sentence instead of a job
    that sbatch rejects or that pends forever. The message names the rule, the request and the
    largest limit on offer, e.g. "rule 'trial_batch' asks for runtime=500 min, but the longest
    partition ('long') allows 120 min".
    """
    partitions = limits.partitions
    if not partitions:
        raise SlurmLimitError(f"rule {rule!r}: the cluster reports no partitions to run it on")
    if any(fits(p, runtime_min, mem_mb, cpus) for p in partitions):
        return
    phrases = too_large(partitions, runtime_min, mem_mb, cpus) or [
        f"{request_text(runtime_min, mem_mb, cpus)}, and no single partition allows all of it: "
        + "; ".join(describe(p) for p in partitions)
    ]
    raise SlurmLimitError(f"rule {rule!r} asks for " + "; and ".join(phrases))


# --------------------------------------------------------------------------- status command

ACCOUNTING_OFF = frozenset({"accounting_storage/none", "none", "(null)", ""})


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


def detect_status_command(env: Mapping[str, str] | None = None) -> StatusCommand:
    """``"sacct"`` if sacct is installed AND accounting storage is enabled, else ``"squeue"``.

    Use for the profile's ``slurm-status-command``: the plugin picks sacct whenever the binary
    exists, and where accounting is off every status query fails and the run never ends.
    (squeue in turn needs ``MinJobAge`` of at least 3x ``slurm-init-seconds-before-status-checks``,
    or the plugin falls back to sacct on its own.)
    """
    path = None if env is None else env.get("PATH")
    if shutil.which("sacct", path=path) is None:
        return "squeue"
    try:
        config = parse_config(run_slurm(["scontrol", "show", "config"], env))
        storage_type = config.get("AccountingStorageType")
    except SlurmQueryError:
        storage_type = None
    if storage_type is not None:
        return status_command_for(True, storage_type, None)
    return status_command_for(True, None, sacct_probe(env))


def sacct_probe(env: Mapping[str, str] | None) -> str:
    """stdout and stderr of a cheap ``sacct`` call; it says so when accounting is disabled."""
    try:
        done = subprocess.run(
            ["sacct", "-n", "-X", "-j", "1"], env=None if env is None else dict(env),
            capture_output=True, text=True, timeout=15,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return done.stdout + done.stderr


# --------------------------------------------------------------------------- CLI


def partitions_table(limits: ClusterLimits) -> str:
    """A readable table of the limits, one partition a line, default marked with ``*``."""
    header = ("PARTITION", "MAX TIME", "MEM/NODE", "MEM/CPU", "CPUS/NODE")
    rows = [header] + [
        (
            p.name + ("*" if p.is_default else ""),
            format_seconds(p.max_time_s),
            "-" if p.max_mem_mb is None else format_mb(p.max_mem_mb),
            "-" if p.max_mem_mb_per_cpu is None else format_mb(p.max_mem_mb_per_cpu),
            "-" if p.max_cpus is None else str(p.max_cpus),
        )
        for p in limits.partitions
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    array_size = "unknown" if limits.max_array_size is None else limits.max_array_size
    lines.append(f"MaxArraySize: {array_size}")
    return "\n".join(lines)


def partitions_command(args: argparse.Namespace) -> int:
    """``mojo slurm partitions [--output PATH] [--json]``: query, write the files, print the limits.

    ``args.output`` (default ``profiles/slurm/partitions.yaml``) gets the plugin's YAML,
    ``cluster.json`` goes beside it. ``args.json`` prints the limits as JSON instead of a table.
    Returns the process exit code.
    """
    try:
        limits = query_cluster_limits()
        status_command = detect_status_command()
    except SlurmQueryError as error:
        print(f"mojo slurm partitions: {error}", file=sys.stderr)
        return 1
    output = getattr(args, "output", None) or DEFAULT_PARTITION_FILE
    written = write_partition_file(limits, output, status_command)
    if getattr(args, "json", False):
        print(json.dumps({**limits.model_dump(), "status_command": status_command}, indent=2))
    else:
        print(partitions_table(limits))
        print(f"Status command: {status_command}")
    print("Wrote " + " and ".join(str(p) for p in written), file=sys.stderr)
    return 0


def add_partitions_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mojo slurm partitions``."""
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_PARTITION_FILE,
        help=f"partition file to write (default: {DEFAULT_PARTITION_FILE}; "
        "cluster.json goes beside it)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the limits as JSON instead of a table"
    )

