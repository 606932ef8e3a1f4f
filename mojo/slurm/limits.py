"""What the cluster lets one job have, read from ``scontrol``: per partition, and for arrays.

``query_cluster_limits`` runs ``scontrol`` and hands the text to pure parsers (``parse_records``,
``cluster_limits_from``), so parsing is tested on captured text. ``scontrol show config`` is the
slowest of the queries and three parts of a run need it (limits, status command, MinJobAge): it is
read once (``read_slurm_config``) and the parsed dict is passed along.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from mojo.slurm.units import time_to_seconds

SlurmConfig = Mapping[str, str]
"""``scontrol show config`` as ``{key: value}`` (see ``parse_config``)."""


class SlurmQueryError(RuntimeError):
    """A SLURM command failed or is not installed."""


class SlurmLimitError(ValueError):
    """A job asks for more than any partition of the cluster allows."""


class SlurmRunError(RuntimeError):
    """A SLURM run that must not start; the message says why and what to change."""


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


def cluster_limits_from(
    partition_text: str, node_text: str, config: str | SlurmConfig
) -> ClusterLimits:
    """Build ``ClusterLimits`` from captured ``scontrol show partition -o`` and ``show node -o``
    text and ``show config`` (its text, or the dict ``parse_config`` made of it). Nodes are
    matched to partitions by the nodes' ``Partitions=`` field, which saves expanding hostlists
    like ``node[01-40]``."""
    if isinstance(config, str):
        config = parse_config(config)
    nodes = parse_records(node_text)
    partitions = [
        partition_limits_from(
            record,
            [n for n in nodes if record["PartitionName"] in n.get("Partitions", "").split(",")],
        )
        for record in parse_records(partition_text)
    ]
    return ClusterLimits(
        partitions=partitions, max_array_size=limit_value(config.get("MaxArraySize"))
    )


def run_slurm(
    command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 30
) -> str:
    """Run a SLURM client command and return its stdout; raise SlurmQueryError on failure."""
    try:
        done = subprocess.run(
            list(command), env=None if env is None else dict(env),
            capture_output=True, text=True, timeout=timeout, check=False,
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


def read_slurm_config(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``scontrol show config``, parsed: query it once per run and pass the dict along."""
    return parse_config(run_slurm(["scontrol", "show", "config"], env))


def query_cluster_limits(
    env: Mapping[str, str] | None = None, config: SlurmConfig | None = None
) -> ClusterLimits:
    """Ask the live cluster (``scontrol``) for its partition limits.

    ``config`` is ``read_slurm_config``'s answer where the caller has it already; queried here
    otherwise. ``env`` is passed to scontrol: give one with ``SLURM_CONF`` to query a
    non-default cluster.
    """
    return cluster_limits_from(
        run_slurm(["scontrol", "show", "partition", "-o"], env),
        run_slurm(["scontrol", "show", "node", "-o"], env),
        read_slurm_config(env) if config is None else config,
    )
