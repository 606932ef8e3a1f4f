"""Does a job fit the cluster? The check that stops a run before a job no partition can hold.

snakemake-executor-plugin-slurm only warns when no partition fits a job and submits it to the
default partition, where it pends forever or sbatch rejects it. ``check_request`` judges one
request against every partition (counting the CPUs ``MaxMemPerCPU`` forces) and names the rule,
the request and the largest limit on offer; a job that names its partition (``slurm_partition``)
goes there as is, so it is judged against that partition alone. ``check_jobs`` runs it over a
run's jobs before the first submission. Pure: limits and jobs come in as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from mojo.slurm.limits import (
    ClusterLimits,
    PartitionLimits,
    SlurmLimitError,
    SlurmRunError,
)


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
    rule: str,
    runtime_min: int | None,
    mem_mb: int | None,
    cpus: int,
    limits: ClusterLimits,
    pinned: Sequence[str] = (),
) -> None:
    """Raise SlurmLimitError unless at least one partition can hold the request.

    ``runtime_min`` and ``mem_mb`` use Snakemake's resource units (minutes, MB); ``None`` means
    not requested. ``pinned``: the partitions the job names (``slurm_partition``), where the
    plugin submits it whatever the others allow. Call before submitting, so a study fails with a
    sentence instead of a job that sbatch rejects or that pends forever. The message names the
    rule, the request and the largest limit on offer, e.g. "rule 'trial_batch' asks for
    runtime=500 min, but the longest partition ('long') allows 120 min".
    """
    partitions = limits.partitions
    if not partitions:
        raise SlurmLimitError(f"rule {rule!r}: the cluster reports no partitions to run it on")
    if pinned:
        check_pinned(rule, pinned, runtime_min, mem_mb, cpus, partitions)
        return
    if any(fits(p, runtime_min, mem_mb, cpus) for p in partitions):
        return
    phrases = too_large(partitions, runtime_min, mem_mb, cpus) or [
        f"{request_text(runtime_min, mem_mb, cpus)}, and no single partition allows all of it: "
        + "; ".join(describe(p) for p in partitions)
    ]
    raise SlurmLimitError(f"rule {rule!r} asks for " + "; and ".join(phrases))


def check_pinned(
    rule: str,
    pinned: Sequence[str],
    runtime_min: int | None,
    mem_mb: int | None,
    cpus: int,
    partitions: Sequence[PartitionLimits],
) -> None:
    """Raise SlurmLimitError unless one of the partitions a job names exists and holds it."""
    known = {p.name: p for p in partitions}
    asked = f"slurm_partition={','.join(pinned)!r}"
    unknown = [name for name in pinned if name not in known]
    if unknown:
        raise SlurmLimitError(
            f"rule {rule!r} asks for {asked}, but the cluster has no partition "
            f"{', '.join(map(repr, unknown))}; it has {', '.join(known)}"
        )
    named = [known[name] for name in pinned]
    if any(fits(p, runtime_min, mem_mb, cpus) for p in named):
        return
    holding = [p.name for p in partitions if fits(p, runtime_min, mem_mb, cpus)]
    way_out = (
        f"name one that can ({', '.join(map(repr, holding))}), or leave slurm_partition out to "
        "let the plugin choose"
        if holding
        else "and no partition of the cluster can"
    )
    raise SlurmLimitError(
        f"rule {rule!r} asks for {asked} and {request_text(runtime_min, mem_mb, cpus)}, but "
        + "; ".join(describe(p) for p in named)
        + f" cannot hold it: {way_out}"
    )


def job_request(job: Any) -> tuple[int | None, int | None, int]:
    """(runtime in minutes, mem_mb, cpus) of a Snakemake job, as the plugin will submit it.

    The plugin asks for ``--mem-per-cpu`` when ``mem_mb_per_cpu`` is set (``mem_mb`` is then
    not sent): the job's memory is that times its CPUs.
    """
    resources = job.resources
    runtime = resources.get("runtime")
    cpus = int(resources.get("cpus_per_task") or job.threads or 1)
    per_cpu = resources.get("mem_mb_per_cpu")
    mem_mb = int(per_cpu) * cpus if per_cpu else resources.get("mem_mb")
    return (
        None if runtime is None else int(runtime),
        None if mem_mb is None else int(mem_mb),
        cpus,
    )


def pinned_partitions(job: Any) -> tuple[str, ...]:
    """The partitions a job names (``slurm_partition``; a comma-separated list, as ``sbatch
    -p`` takes it); the plugin submits there without looking at the limits."""
    value = job.resources.get("slurm_partition")
    return tuple(name.strip() for name in str(value or "").split(",") if name.strip())


def oversized_jobs(jobs: Iterable[Any], limits: ClusterLimits) -> list[str]:
    """One message per distinct (rule, request, partitions named) that no partition can hold;
    local jobs skipped."""
    problems: dict[tuple, str] = {}
    for job in jobs:
        if job.is_local:
            continue
        pinned = pinned_partitions(job)
        key = (job.rule.name, *job_request(job), pinned)
        if key in problems:
            continue
        try:
            check_request(job.rule.name, *job_request(job), limits, pinned)
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
