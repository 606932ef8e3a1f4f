"""``mojo status results/<study>``: how far a study is, read from its trial files alone.

It reads only what trials write (``trial_*/result.json``) plus the study record
(``.mojo/study.json``, for ``n_trial``), never Snakemake's state, so it works while a local or
SLURM run is going, after it finished and after a crash. Trial files are written atomically, but a
trial folder may not have its ``result.json`` yet and a file may change while it is read: such
a folder counts as started but not finished. A file that is there but cannot be used (truncated,
garbled: see :mod:`mojo.trials.integrity`) is named as unreadable and its trial counted as started but not
finished; files other than ``result.json`` are compared with the stamps the batch manifests
recorded, and read only when they changed.

A study's optimisation is read from its round files (``optimize/rounds/round_*.json``: few, small,
validated) and its evaluations' ``result.json``; the Monte Carlo part is left out of the text
when the study has no Monte Carlo trial. A path that is not a study folder is refused with what to
pass instead (:func:`folder_problem`). Because it reads the optimiser's files, this command sits
above :mod:`mojo.optimize` in the layers (with :mod:`mojo.cli`; see ``tests/test_layers.py``):
nothing below imports it.

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

from mojo.config.study import StatisticsConfig
from mojo.optimize.files import RoundFile, opt_dir, round_path
from mojo.optimize.integrity import damaged_files
from mojo.results.statistics import Interval, format_interval, percent, rate_interval
from mojo.results.stopping import figure_text
from mojo.trials.files import CONFIG_JSON, RESULT_JSON, STATUSES, TRIAL_FILES, read_model
from mojo.trials.integrity import MISSING, ManifestStamps, damaged_trial_files, describe, unreadable
from mojo.trials.layout import STOP_DIR, TRIAL_PREFIX, batches_dir
from mojo.trials.progress import format_duration
from mojo.trials.record import STUDY_RECORD, StudyRecord, read_study_record, study_record_problem

RATE_WINDOW = 300.0
"""Seconds of the most recent results that the throughput is measured over."""
RECENT_PROBLEMS = 5
UNREADABLE_SHOWN = 10


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
    """Trials not finished: ``n_trial - finished`` (of a ``stop_when`` study that stopped: the
    trials up to its stop)."""
    beyond_n_trial: int
    """Finished trial folders numbered ``n_trial`` or more (the study was shrunk), or beyond a
    ``stop_when`` study's stop (its target was loosened)."""
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
    unreadable: dict[str, str] = field(default_factory=dict)
    """Files a rerun cannot use, relative to the study folder, with why (see mojo.trials.integrity): their
    trials count as started but not finished, and the next run re-makes them (a batch manifest:
    its rows)."""
    scan_seconds: float = 0.0
    optimization: OptimizationStatus | None = None
    """The study's optimisation (``optimize/``), when it has one."""
    confidence: float = StatisticsConfig().confidence
    """The level of ``rates``: the study's ``statistics.confidence`` (from the study record)."""
    rates: dict[str, Interval] = field(default_factory=dict)
    """Each status's share of the finished trials with its Wilson interval (none before any)."""
    stop_when: dict[str, Any] | None = None
    """A ``stop_when`` study's latest round decision (``.mojo/stop/round_<r>.json``: ``round``,
    ``trials``, ``statistic``, ``metric``, ``estimate``, ``half_width``, ...; none before the
    first), with the target ``half_width_wanted`` and whether the study ``stops`` there; None for
    other studies."""

    @property
    def monte_carlo(self) -> bool:
        """Whether to report Monte Carlo trials: any exist, or the study is not an optimisation."""
        return self.optimization is None or bool(self.finished or self.started or self.beyond_n_trial)


@dataclass
class OptimizationStatus:
    """How far a study's optimisation is, from its round files and evaluation folders."""

    path: str
    rounds: int
    """Round files written (each round: tell the previous one, ask a batch)."""
    n_trial: int
    """The budget (``optimize.n_trial``) when the latest round was decided."""
    asked: int
    """Optuna trials asked that count towards ``n_trial``."""
    told: int
    """Trials told to Optuna (the latest round's are told by the next step)."""
    stopped: str | None
    """Why the loop stopped (``n_trial``, ``timeout``), or None while it goes on."""
    best: dict[str, Any] | None
    """The best trial told so far: trial, value, params."""
    evaluations: int
    """Evaluation folders the asked trials have (``evals_per_trial`` each)."""
    counts: dict[str, int]
    """Finished evaluations by status (``skipped`` ones, after a pruned evaluation, have none)."""
    unfinished: int
    """Evaluations without a result: running, interrupted, skipped or not started."""
    last_result_age: float | None
    unreadable: dict[str, str] = field(default_factory=dict)
    """The loop's files the next run re-makes, relative to the study folder, with why (see
    :mod:`mojo.optimize.integrity`)."""


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
    bad_files: dict[str, str] = {}
    if record is None and (why := study_record_problem(folder)):
        bad_files[str(STUDY_RECORD)] = why
    stamps = _recorded_stamps(folder, bad_files)
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not name.startswith(TRIAL_PREFIX) or not name[len(TRIAL_PREFIX) :].isdigit():
                continue
            number = int(name[len(TRIAL_PREFIX) :])
            data, mtime = _read_result(os.path.join(entry.path, RESULT_JSON))
            damaged = _damaged_files(entry.path, data is not None, stamps.get(number))
            bad_files.update({f"{name}/{path.name}": why for path, why in damaged.items()})
            if data is not None and not damaged:
                results[number] = (data, mtime)
                continue
            try:
                started[number] = os.stat(os.path.join(entry.path, CONFIG_JSON)).st_mtime
            except OSError:  # an empty folder, or one renamed while we looked
                started.setdefault(number, 0.0)
    started = {n: t for n, t in started.items() if n not in results}
    stop_when = _stop_when(folder, record)
    planned = stop_when["trials"] if stop_when and stop_when["stops"] else n_trial
    in_study = (lambda n: n < planned) if planned is not None else (lambda n: True)
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
    left = max(planned - finished, 0) if planned is not None else None
    throughput = _throughput(finished_times, walls)
    newest = max(finished_times, default=None)
    last_activity = max([t for t in [newest] if t] + [t for t in started.values() if t], default=None)
    median_wall = sorted(walls)[len(walls) // 2] if walls else 0.0
    recent = last_activity is not None and now - last_activity < max(60.0, 10 * median_wall)
    running = recent and left != 0
    eta = left / throughput if (running and throughput and left) else (0.0 if left == 0 else None)
    failed.sort(key=lambda p: (p.finished, p.trial), reverse=True)
    confidence = _confidence(record.config if record else {})
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
        unreadable=dict(sorted(bad_files.items())),
        scan_seconds=time.perf_counter() - began,
        optimization=scan_optimization(folder, now),
        confidence=confidence,
        rates={s: rate_interval(counts[s], finished, confidence) for s in STATUSES} if finished else {},
        stop_when=stop_when,
    )


def _stop_when(folder: Path, record: StudyRecord | None) -> dict[str, Any] | None:
    """The latest round decision of a ``stop_when`` study (see :class:`StudyStatus`)."""
    wanted = (record.config.get("stop_when") or {}).get("half_width") if record else None
    if wanted is None:
        return None
    latest: dict[str, Any] = {"trials": None, "stops": False, "met": False}
    round_ = 0
    while not latest["stops"] and (path := folder / STOP_DIR / f"round_{round_}.json").exists():
        try:
            latest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # being rewritten: the run decides it again
            break
        half = latest.get("half_width")
        latest["met"] = half is not None and half <= wanted
        latest["stops"] = latest["met"] or latest["trials"] >= record.n_trial
        round_ += 1
    return {**latest, "half_width_wanted": wanted}


def _confidence(config: dict[str, Any]) -> float:
    """The study's ``statistics.confidence``; the default for a record of an older mojo."""
    try:
        return StatisticsConfig.model_validate(config.get("statistics", {})).confidence
    except ValueError:
        return StatisticsConfig().confidence


@dataclass(frozen=True)
class StudyFolder:
    """What the optimisation's path functions (:mod:`mojo.optimize.files`) need of a study:
    ``mojo status`` knows a study by its folder only, not by its config."""

    results_dir: str
    study: str


def _as_study(folder: Path) -> StudyFolder:
    return StudyFolder(results_dir=str(folder.parent), study=folder.name)


def scan_optimization(folder: Path, now: float | None = None) -> OptimizationStatus | None:
    """The progress of the study's optimisation, or None if it has no round yet."""
    study = _as_study(Path(folder))
    rounds = read_rounds(folder)
    if not rounds:
        return None
    latest = rounds[-1]
    counts = dict.fromkeys(STATUSES, 0)
    mtimes, dirs = [], [e.dir for r in rounds for t in r.trials for e in t.evals]
    for name in dirs:
        data, mtime = _read_result(os.path.join(opt_dir(study), name, RESULT_JSON))
        if data is not None:
            counts[data["status"]] += 1
            mtimes.append(mtime)
    now = time.time() if now is None else now
    return OptimizationStatus(
        path=str(opt_dir(study)),
        rounds=len(rounds),
        n_trial=latest.n_trial,
        asked=latest.n_counted,
        told=latest.n_told,
        stopped=latest.stop_reason if latest.done else None,
        best=latest.best,
        evaluations=len(dirs),
        counts=counts,
        unfinished=len(dirs) - sum(counts.values()),
        last_result_age=now - max(mtimes) if mtimes else None,
        unreadable={str(path.relative_to(folder)): why for path, why in damaged_files(study).items()},
    )


def read_rounds(folder: Path) -> list[RoundFile]:
    """The optimisation's round files of the study in ``folder``, in order (none: no optimisation)."""
    study = _as_study(Path(folder))
    rounds = []
    while round_path(study, len(rounds)).exists():
        try:
            rounds.append(read_model(round_path(study, len(rounds)), RoundFile))
        except ValueError:  # written atomically: only a damaged file gets here
            break
    return rounds


def evaluation_folders(folder: Path, trial: int) -> list[Path]:
    """The evaluation folders of optimisation trial ``trial`` of the study in ``folder``."""
    asked = [t for r in read_rounds(folder) for t in r.trials if t.trial == trial]
    return [opt_dir(_as_study(Path(folder))) / e.dir for t in asked for e in t.evals]


def evaluation_of(path: Path) -> tuple[int, int] | None:
    """(optimisation trial, evaluation index) of an evaluation folder, or None for another folder."""
    study_folder = Path(path).parent.parent
    if Path(path).parent != opt_dir(_as_study(study_folder)):
        return None
    for round_file in read_rounds(study_folder):
        for asked in round_file.trials:
            for evaluation in asked.evals:
                if evaluation.dir == Path(path).name:
                    return asked.trial, evaluation.index
    return None


def folder_problem(path: Path) -> str | None:
    """Why ``path`` is not a study folder (and what to pass instead), or None if it is one."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is a file, not a study folder"
    if is_trial_folder(path):
        return f"{path} is a trial folder: use mojo show {path}"
    if path.name == opt_dir(_as_study(path.parent)).name and is_study_folder(path.parent):
        return f"{path} is the optimisation folder of study {path.parent.name}: pass {path.parent}"
    if is_study_folder(path):
        return None
    with os.scandir(path) as entries:
        studies = sorted(e.name for e in entries if e.is_dir() and is_study_folder(Path(e.path)))
    if studies:
        return (
            f"{path} is a results folder holding studies {', '.join(studies)}: "
            f"pass one of them, e.g. {path / studies[0]}"
        )
    return (
        f"{path} is not a study folder: it has no {TRIAL_PREFIX}* folders, no {STUDY_RECORD} and "
        f"no optimisation (give results/<study>)"
    )


def is_trial_folder(path: Path) -> bool:
    """A Monte Carlo trial's or an optimisation evaluation's folder."""
    return any((path / name).exists() for name in TRIAL_FILES)


def is_study_folder(path: Path) -> bool:
    """A study's results folder: it has a study record, trial folders or optimisation rounds."""
    if (path / STUDY_RECORD).exists() or round_path(_as_study(path), 0).exists():
        return True
    with os.scandir(path) as entries:
        return any(e.name.startswith(TRIAL_PREFIX) and e.name[len(TRIAL_PREFIX) :].isdigit() for e in entries)


def _recorded_stamps(folder: Path, bad_files: dict[str, str]) -> dict[int, dict]:
    """Each trial's file stamps, from the batch manifests; a manifest that cannot be read goes
    into ``bad_files``."""
    stamps: dict[int, dict] = {}
    batches = batches_dir(folder)
    for path in sorted(batches.glob("*.json")) if batches.is_dir() else []:
        try:
            stamps.update(read_model(path, ManifestStamps).stamps)
        except ValueError as error:
            bad_files[str(path.relative_to(folder))] = describe(error)
        except OSError:  # removed while we looked: its batch is running again
            pass
    return stamps


def _damaged_files(trial: str, has_result: bool, recorded: dict | None) -> dict[Path, str]:
    """The files of a trial folder that the next run must re-make, with why: a result.json that
    is there but unreadable and, for a trial a batch manifest recorded as finished, any file that
    changed since and is unreadable or missing (so only changed files are read)."""
    if recorded is not None and has_result:
        return damaged_trial_files(trial, recorded)
    if has_result:
        return {}
    path = Path(trial, RESULT_JSON)
    why = unreadable(path)  # whole now (renamed in since we read it): not damaged
    return {} if why in (None, MISSING) else {path: why}


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


def format_status(status: StudyStatus) -> str:
    """The text of ``mojo status``: the Monte Carlo trials, then the optimisation, where present."""
    parts = [_format_monte_carlo(status)] if status.monte_carlo else []
    if status.optimization is not None:
        parts.append(format_optimization(status.study, status.optimization))
        if not status.monte_carlo:  # (the study record, say: the Monte Carlo text names the others)
            parts += [f"  unreadable: {name}: {why}" for name, why in status.unreadable.items()]
    return "\n".join(parts)


def format_optimization(study: str, opt: OptimizationStatus) -> str:
    state = f"stopped ({opt.stopped} reached)" if opt.stopped else "going on"
    lines = [
        f"optimisation of study {study} ({opt.path}): {opt.asked} of {opt.n_trial} trials asked, "
        f"{opt.told} told, in {opt.rounds} round{'s' * (opt.rounds != 1)}; {state}"
    ]
    if opt.best:
        params = ", ".join(f"{k} {_value(v)}" for k, v in opt.best.get("params", {}).items())
        lines.append(
            f"  best so far: trial {opt.best['trial']}, value {_value(opt.best['value'])} ({params})"
        )
    else:
        lines.append("  best so far: none (no trial told complete yet)")
    finished = sum(opt.counts.values())
    lines.append(
        f"  evaluations: {finished} of {opt.evaluations} finished, {opt.unfinished} without a result"
    )
    lines.append("  " + "  ".join(f"{s} {opt.counts[s]}" for s in STATUSES))
    if opt.last_result_age is not None:
        lines.append(f"  last result {format_duration(opt.last_result_age)} ago")
    if opt.unreadable:
        lines.append(f"  unreadable or missing files {len(opt.unreadable)} (the next run re-makes them):")
        lines += [f"    {name}: {why}" for name, why in opt.unreadable.items()]
    return "\n".join(lines)


def _value(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _format_monte_carlo(status: StudyStatus) -> str:
    lines = []
    if status.n_trial is None:
        lines.append(
            f"study {status.study} ({status.path}): {status.finished} trials finished "
            f"(n_trial unknown: no {STUDY_RECORD}, written when a run starts)"
        )
    else:
        stopped = status.stop_when["trials"] if status.stop_when and status.stop_when["stops"] else None
        planned = status.n_trial if stopped is None else stopped
        share = 100 * status.finished / planned if planned else 100.0
        lines.append(
            f"study {status.study} ({status.path}): {status.finished} of {planned} trials "
            f"finished ({share:.1f}%), {status.left} left"
            + ("" if stopped is None else f" (stop_when stopped at {stopped} of n_trial = {status.n_trial})")
        )
    lines.append("  " + "  ".join(f"{s} {status.counts[s]}" for s in STATUSES))
    if status.rates:
        lines.append("  " + _format_rates(status))
    not_started = (status.left - status.started) if status.left is not None else None
    detail = f"  started but not finished (running or interrupted) {status.started}"
    if not_started is not None:
        detail += f", not started {max(not_started, 0)}"
    lines.append(detail)
    if status.unreadable:
        lines.append(
            f"  unreadable or missing files {len(status.unreadable)} (their trials count as started but "
            "not finished; the next run re-makes them, and nothing else):"
        )
        shown = list(status.unreadable.items())[:UNREADABLE_SHOWN]
        lines += [f"    {name}: {why}" for name, why in shown]
        if len(status.unreadable) > UNREADABLE_SHOWN:
            lines.append(
                f"    … and {len(status.unreadable) - UNREADABLE_SHOWN} more (--json lists them all)"
            )
    if status.stop_when is not None:
        lines.append("  " + _format_stop_when(status.stop_when))
    if status.beyond_n_trial:
        if status.stop_when and status.stop_when["stops"]:
            limit = f"{status.stop_when['trials']} or above, beyond the stop_when stop"
        else:
            limit = "n_trial or above"
        lines.append(f"  {status.beyond_n_trial} finished trials numbered {limit} (not counted)")
    if status.throughput:
        rate = status.throughput
        shown = f"{rate:.3g} trials/s" if rate >= 1 else f"{rate * 60:.3g} trials/min"
        lines.append(f"  throughput {shown} (last {format_duration(RATE_WINDOW)} of results)")
    if status.last_result_age is not None:
        state = (
            "running" if status.running else ("" if status.left == 0 else "not running (no recent activity)")
        )
        lines.append(
            f"  last result {format_duration(status.last_result_age)} ago" + (f": {state}" if state else "")
        )
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


def _format_stop_when(stop: dict[str, Any]) -> str:
    """``stop_when: after round 1 (200 trials), mean of energy 19.9 ± 0.41 (95 % CI, n = 198);
    target ± 0.5 met: the study stops at 200 trials`` (a percentile with its bounds:
    :func:`mojo.results.stopping.figure_text`)."""
    wanted = f"target ± {stop['half_width_wanted']:g}"
    if stop["trials"] is None:
        return f"stop_when: no round decided yet ({wanted})"
    shown = figure_text(stop)
    if stop["met"]:
        outcome = f"{wanted} met: the study stops at {stop['trials']} trials"
    elif stop["stops"]:
        outcome = f"{wanted} not met, and n_trial reached: the study stops at {stop['trials']} trials"
    else:
        outcome = f"{wanted} not met yet: the study grows"
    return f"stop_when: after round {stop['round']} ({stop['trials']} trials), {shown}; {outcome}"


def _format_rates(status: StudyStatus) -> str:
    """``success 97.0 % (95 % CI 93.6–98.6), failure 3.0 % (95 % CI 1.4–6.4); unstable, error,
    timeout 0 % each (95 % CI 0–1.9)``: each status's share of the finished trials with its
    interval; the statuses that did not occur share one (their upper bound is what N says)."""

    def shown(interval: Interval) -> str:
        return format_interval(interval, status.confidence, percent, unit=" %")

    seen = [f"{s} {shown(status.rates[s])}" for s in STATUSES if status.counts[s]]
    unseen = [s for s in STATUSES if not status.counts[s]]
    text = ", ".join(seen)
    if unseen:
        each = " each" if len(unseen) > 1 else ""
        text += f"; {', '.join(unseen)} {shown(status.rates[unseen[0]])}".replace(" %", f" %{each}", 1)
    return f"of {status.finished} finished: {text}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", type=Path, help="the study's results folder, e.g. results/pendulum")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--problems",
        type=int,
        default=RECENT_PROBLEMS,
        metavar="N",
        help=f"how many recent non-successful trials to list (default {RECENT_PROBLEMS})",
    )


def command(args: argparse.Namespace) -> int:
    problem = folder_problem(args.study)
    if problem:
        print(f"mojo status: {problem}", file=sys.stderr)
        return 2
    status = scan(args.study, problems=args.problems)
    if args.json:
        print(json.dumps({**asdict(status), "monte_carlo": status.monte_carlo}, indent=2))
    else:
        print(format_status(status))
    return 0
