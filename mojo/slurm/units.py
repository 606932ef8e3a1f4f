"""SLURM's spellings of sizes, times and task ranges, read and written as SLURM users type them.

Kept apart from the cluster's limits because everything else (limits, partition files, the
``mojo slurm`` table, error messages) reads or writes these spellings; pure and cheap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

UNLIMITED_WORDS = frozenset({"UNLIMITED", "INFINITE"})
MEMORY_UNITS_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}


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
