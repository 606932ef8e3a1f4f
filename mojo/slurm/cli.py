"""``mojo slurm partitions``: query the cluster once, write the plugin's partition file, show it.

Run once per cluster (or when its limits change); the profile then points the plugin at the
file, and SLURM runs read their limits from it instead of querying the cluster.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mojo.slurm.limits import (
    ClusterLimits,
    SlurmQueryError,
    query_cluster_limits,
    read_slurm_config,
)
from mojo.slurm.partitions import DEFAULT_PARTITION_FILE, write_partition_file
from mojo.slurm.status_command import detect_status_command
from mojo.slurm.units import format_mb, format_seconds


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
        config = read_slurm_config()
        limits = query_cluster_limits(config=config)
        status_command = detect_status_command(config=config)
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
