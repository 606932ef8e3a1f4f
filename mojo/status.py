"""``mojo status results/<study>``: how far a study is, read from its trial files alone.

It reads only what trials write (``trial_*/result.json``) plus the study record
(``.mojo/study.json``, for ``n_trial``), never Snakemake's state, so it works while a local or
SLURM run is going, after it finished and after a crash. Trial files are written atomically, but a
trial folder may not have its ``result.json`` yet and a file may change while it is read: such
a folder counts as started but not finished.

For speed on large studies (10,000 folders) it lists folders with ``os.scandir`` and parses each
result with ``json`` rather than validating it with pydantic.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mojo.config import StudyConfig
from mojo.files import CONFIG_JSON, RESULT_JSON, STATUSES, read_model, write_model
from mojo.layout import TRIAL_PREFIX, study_dir

STUDY_RECORD = Path(".mojo") / "study.json"
RATE_WINDOW = 300.0
"""Seconds of the most recent results that the throughput is measured over."""
RECENT_PROBLEMS = 5


class StudyRecord(BaseModel):
    """``results/<study>/.mojo/study.json``: what ``mojo status`` needs to know about a study that
    the trial files do not say (how many trials it should have). Rewritten when a run starts."""

    study: str
    n_trial: int
    padding_width: int
    started: str
    """When the latest Snakemake run of this study started (UTC, ISO 8601)."""
    config: dict[str, Any]
    """The validated study config of that run."""


def write_study_record(study: StudyConfig) -> Path:
    """Write the study record (called by the workflow's main process when a run starts)."""
    path = study_dir(study) / STUDY_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    write_model(
        path,
        StudyRecord(
            study=study.study,
            n_trial=study.n_trial,
            padding_width=study.padding_width,
            started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            config=study.model_dump(mode="json"),
        ),
    )
    return path


def read_study_record(folder: Path) -> StudyRecord | None:
    try:
        return read_model(folder / STUDY_RECORD, StudyRecord)
    except (FileNotFoundError, ValueError):
        return None


@dataclass
class Problem:
    trial: int
    status: str
    reason: str | None
    finished: float
    """Modification time of the result file (seconds since the epoch)."""


@dataclass
class StudyStatus:
    study: str
    path: str
    n_trial: int | None
    """None when the study record is missing (a study never run by this version of mojo)."""
    counts: dict[str, int]
    """Finished trials by status (trials numbered below ``n_trial`` only)."""
    finished: int
    started: int
    """Trial folders without a result yet: running now, or interrupted."""
    left: int | None
    """Trials not finished: ``n_trial - finished``."""
    beyond_n_trial: int
    """Finished trial folders numbered ``n_trial`` or more (the study was shrunk)."""
    throughput: float | None
    """Trials finished per second over the last few minutes of results (None: too few)."""
    eta_seconds: float | None
    """Seconds until every trial is done at that throughput (None: not running or unknown)."""
    running: bool
    """Whether a result or a trial folder appeared recently: the study looks in progress."""
    last_result_age: float | None
    """Seconds since the newest result was written."""
    run_started: str | None
    recent_problems: list[Problem] = field(default_factory=list)
    scan_seconds: float = 0.0


def _read_result(path: str) -> tuple[dict | None, float]:
    """A result file's JSON and mtime; (None, 0) if it is missing or not (yet) whole."""
    try:
        with open(path, "rb") as handle:
            mtime = os.fstat(handle.fileno()).st_mtime
            data = json.loads(handle.read())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None, 0.0
    return (data, mtime) if isinstance(data, dict) and data.get("status") in STATUSES else (None, 0.0)


def scan(folder: Path, now: float | None = None, problems: int = RECENT_PROBLEMS) -> StudyStatus:
    """Count a study's trials by status from its folders."""
    began = time.perf_counter()
    now = time.time() if now is None else now
    folder = Path(folder)
    record = read_study_record(folder)
    n_trial = record.n_trial if record else None
    results: dict[int, tuple[dict, float]] = {}
    started: dict[int, float] = {}  # folder without a result: mtime of its config.json
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not name.startswith(TRIAL_PREFIX) or not name[len(TRIAL_PREFIX):].isdigit():
                continue
            number = int(name[len(TRIAL_PREFIX):])
            data, mtime = _read_result(os.path.join(entry.path, RESULT_JSON))
            if data is not None:
                results[number] = (data, mtime)
                continue
            try:
                started[number] = os.stat(os.path.join(entry.path, CONFIG_JSON)).st_mtime
            except OSError:  # an empty folder, or one renamed while we looked
                started.setdefault(number, 0.0)
    started = {n: t for n, t in started.items() if n not in results}
    in_study = (lambda n: n < n_trial) if n_trial is not None else (lambda n: True)
    counts = dict.fromkeys(STATUSES, 0)
    finished_times, walls, failed = [], [], []
    beyond = 0
    for number, (data, mtime) in results.items():
        if not in_study(number):
            beyond += 1
            continue
        counts[data["status"]] += 1
        finished_times.append(mtime)
        if isinstance(data.get("wall_time"), (int, float)):
            walls.append(float(data["wall_time"]))
        if data["status"] != "success":
            failed.append(Problem(number, data["status"], data.get("reason"), mtime))
    finished = sum(counts.values())
    left = max(n_trial - finished, 0) if n_trial is not None else None
    throughput = _throughput(finished_times, walls)
    newest = max(finished_times, default=None)
    last_activity = max([t for t in [newest] if t] + [t for t in started.values() if t], default=None)
    median_wall = sorted(walls)[len(walls) // 2] if walls else 0.0
    recent = last_activity is not None and now - last_activity < max(60.0, 10 * median_wall)
    running = recent and left != 0
    eta = left / throughput if (running and throughput and left) else (0.0 if left == 0 else None)
    failed.sort(key=lambda p: (p.finished, p.trial), reverse=True)
    return StudyStatus(
        study=record.study if record else folder.name,
        path=str(folder),
        n_trial=n_trial,
        counts=counts,
        finished=finished,
        started=sum(1 for n in started if in_study(n)),
        left=left,
        beyond_n_trial=beyond,
        throughput=throughput,
        eta_seconds=eta,
        running=running,
        last_result_age=(now - newest) if newest else None,
        run_started=record.started if record else None,
        recent_problems=failed[:problems],
        scan_seconds=time.perf_counter() - began,
    )


def _throughput(times: list[float], walls: list[float]) -> float | None:
    """Trials per second over the results of the last :data:`RATE_WINDOW` seconds of activity."""
    if not times:
        return None
    times = sorted(times)
    newest = times[-1]
    recent = [t for t in times if t >= newest - RATE_WINDOW]
    span = newest - recent[0]
    if len(recent) >= 3 and span >= 1.0:
        return (len(recent) - 1) / span
    if walls:  # too few results to time: one process at the mean trial wall time
        mean = sum(walls) / len(walls)
        return 1.0 / mean if mean > 0 else None
    return None


# --- output ------------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """A duration for people: ``'42 s'``, ``'3 min 07 s'``, ``'2 h 05 min'``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def format_status(status: StudyStatus) -> str:
    lines = []
    if status.n_trial is None:
        lines.append(
            f"study {status.study} ({status.path}): {status.finished} trials finished "
            f"(n_trial unknown: no {STUDY_RECORD}, written when a run starts)"
        )
    else:
        share = 100 * status.finished / status.n_trial if status.n_trial else 100.0
        lines.append(
            f"study {status.study} ({status.path}): {status.finished} of {status.n_trial} trials "
            f"finished ({share:.1f}%), {status.left} left"
        )
    lines.append("  " + "  ".join(f"{s} {status.counts[s]}" for s in STATUSES))
    not_started = (status.left - status.started) if status.left is not None else None
    detail = f"  started but not finished (running or interrupted) {status.started}"
    if not_started is not None:
        detail += f", not started {max(not_started, 0)}"
    lines.append(detail)
    if status.beyond_n_trial:
        lines.append(f"  {status.beyond_n_trial} finished trials numbered n_trial or above (not counted)")
    if status.throughput:
        rate = status.throughput
        shown = f"{rate:.3g} trials/s" if rate >= 1 else f"{rate * 60:.3g} trials/min"
        lines.append(f"  throughput {shown} (last {format_duration(RATE_WINDOW)} of results)")
    if status.last_result_age is not None:
        state = "running" if status.running else ("" if status.left == 0 else "not running (no recent activity)")
        lines.append(f"  last result {format_duration(status.last_result_age)} ago" + (f": {state}" if state else ""))
    if status.left == 0:
        lines.append("  complete")
    elif status.eta_seconds is not None:
        at = datetime.datetime.now() + datetime.timedelta(seconds=status.eta_seconds)
        lines.append(f"  ETA {format_duration(status.eta_seconds)} (about {at:%H:%M:%S})")
    if status.recent_problems:
        lines.append("recent problems (newest first):")
        for problem in status.recent_problems:
            reason = (problem.reason or "").splitlines()[0] if problem.reason else ""
            lines.append(f"  trial {problem.trial:<6d} {problem.status:<9s} {reason[:150]}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", type=Path, help="the study's results folder, e.g. results/pendulum")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--problems", type=int, default=RECENT_PROBLEMS, metavar="N",
        help=f"how many recent non-successful trials to list (default {RECENT_PROBLEMS})",
    )


def command(args: argparse.Namespace) -> int:
    if not args.study.is_dir():
        print(f"mojo status: {args.study} is not a folder (give results/<study>)", file=sys.stderr)
        return 2
    status = scan(args.study, problems=args.problems)
    if args.json:
        print(json.dumps(asdict(status), indent=2))
    else:
        print(format_status(status))
    return 0
