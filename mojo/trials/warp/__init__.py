"""The ``warp`` backend: a batch job's trials as batches of MuJoCo Warp worlds (docs/warp.md).

A batch job (:func:`mojo.trials.batch.run_batch`) hands its trials to :func:`run_todo`, which
runs them in a process forked for the purpose (the GPU's context and memory end with it, and
Snakemake's own process never touches the GPU). There, in three stages:

1. *compile*: a pool of one worker per core the job was given (:mod:`mojo.trials.warp.pool`)
   builds each trial's model from its own spec and writes its ``config.json``,
   ``named_values.json`` and ``model.xml``, exactly as the CPU backend does
   (:mod:`mojo.trials.warp.stages`, :mod:`mojo.trials.warp.models`);
2. *step*: the trials are grouped by structure as their compiles arrive
   (:mod:`mojo.trials.warp.groups`), and each group steps as batches of worlds on the device
   (:mod:`mojo.trials.warp.simulate`), or, with a runtime of the study's own, in rounds
   (:mod:`mojo.trials.warp.runtimes`). A batch steps as soon as it is full, while the pool
   compiles the next trials: on a GPU the compile of 100,000 models (the largest stage) then
   overlaps the stepping instead of preceding it;
3. *finish*: the pool takes each trial's last step on the CPU and its metrics, objective and
   ``result.json``, through the CPU backend's own recording.

A trial's ``result.json`` is written last, as with the CPU backend: a job killed at any moment
leaves every trial either finished or to be run again. The table rows come back to the job
through a pipe, as the trials finish.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, TextIO

import numpy as np

from mojo.config.study import DEFAULT_RUNTIME
from mojo.trials.batch import describe_exit
from mojo.trials.files import TrialRow
from mojo.trials.progress import MIN_INTERVAL, STEP, format_duration
from mojo.trials.trial import TrialPlan, UserCode
from mojo.trials.warp import groups, models, runtimes, simulate, stages
from mojo.trials.warp.pool import Pool

COMPILE_CHUNK = 8
"""Trials per task of the compile stage (fewer round trips; a crash re-runs at most this many
per worker alone)."""
FINISH_CHUNK = 32
"""Trials per task of the finish stage."""


def run_todo(
    todo: list[TrialPlan], code: UserCode, threads: int, progress=None, log: TextIO | None = None
) -> dict[int, TrialRow]:
    """Run ``todo`` (plans known not to be done) on the warp backend; return each plan's table row
    by trial number, calling ``progress(plan, row)`` as each finishes. What the trials print goes
    to ``log``'s file."""
    if not todo:
        return {}
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        _child(todo, code, threads, write_end, None if log is None else log.fileno())
    os.close(write_end)
    rows: dict[int, TrialRow] = {}
    try:
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                index, row = line.split(b" ", 1)
                plan = todo[int(index)]
                rows[plan.number] = TrialRow.model_validate_json(row)
                if progress:
                    progress(plan, rows[plan.number])
    finally:
        _, status = os.waitpid(child, 0)
    if status != 0:
        raise RuntimeError(
            f"the warp backend's process stopped ({describe_exit(os.waitstatus_to_exitcode(status))}) "
            f"after {len(rows)} of {len(todo)} trials; see the job's log (a rerun runs the others)"
        )
    return rows


def _child(todo: list[TrialPlan], code: UserCode, threads: int, pipe: int, log_fd: int | None) -> None:
    """Body of the forked warp process: never returns."""
    from mojo.trials.batch import die_with_parent, own_output

    exit_code = 0
    try:
        die_with_parent()
        if log_fd is not None:
            own_output(log_fd, pipe)
        stages.set_batch(todo, code)
        models.warp_fields()  # imports MuJoCo Warp once, here: the pool's workers inherit it
        pool = Pool(threads)
        with tempfile.TemporaryDirectory(prefix="mojo-warp-") as scratch:
            _run(todo, pool, pipe, Path(scratch))
        pool.close()
    except BaseException:
        import traceback

        traceback.print_exc()
        exit_code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def _run(todo: list[TrialPlan], pool: Pool, pipe: int, scratch: Path) -> None:
    """Compile, step and finish ``todo``. A group's batch steps as soon as it is full, while the
    pool compiles the next trials (its finish waits behind them: the pool runs tasks in order)."""
    grouping = groups.Grouping(scratch, _batching)
    for c in _compiled(len(todo), pool):
        if not c.key:  # its generator failed: recorded
            _send(pipe, c.index, stages.recorded_row(c.index))
            continue
        group = grouping.add(c)
        if len(group.pending) == group.size:
            _run_batch(group, group.take(), pool, pipe)
    sizes = ", ".join(str(g.trials) for g in grouping.groups.values())
    _say(f"{len(grouping.groups)} structure group(s) of {sizes} trials")
    for group in grouping.groups.values():
        if group.pending:
            _run_batch(group, group.take(), pool, pipe)


def _compiled(n_trials: int, pool: Pool) -> Iterator[models.Compiled]:
    """Every trial's model, compiled by the pool, as they come, with a line in the log each time
    another tenth is done (at most one every :data:`~mojo.trials.progress.MIN_INTERVAL` seconds):
    for 100,000 trials on a few cores the stage takes minutes."""
    started = last_line = time.perf_counter()
    next_share = STEP
    compiles = pool.map(stages.compile_trial, range(n_trials), stages.compile_crashed, COMPILE_CHUNK)
    for done, c in enumerate(compiles, 1):
        yield c
        now, share = time.perf_counter(), done / n_trials
        if share >= next_share and share < 1 and now - last_line >= MIN_INTERVAL:
            took = now - started
            left = format_duration(took * (1 - share) / share)
            _say(f"compiled {done}/{n_trials} models ({share:.0%}) in {took:.3g} s, {left} to go")
            last_line = now
            while next_share <= share:
                next_share += STEP
    _say(f"compiled {n_trials} models in {time.perf_counter() - started:.3g} s on {pool.workers} cores")


def _say(line: str) -> None:
    print(f"[mojo] warp: {line}", file=sys.stderr, flush=True)


def _send(pipe: int, index: int, row: TrialRow) -> None:
    data = f"{index} ".encode() + row.model_dump_json().encode() + b"\n"
    while data:
        data = data[os.write(pipe, data) :]


def _batching(reference, n_steps: int) -> tuple[int, simulate.Sampling | None]:
    """A group's worlds per batch and what the device samples of its signals. The worlds:
    ``worlds_per_batch`` or what the device holds, fewer when the samples of its signals would
    not fit in memory or each world needs a thread (a runtime of the study's own)."""
    size = simulate.worlds_per_batch(reference, stages.plan(0).study.worlds_per_batch)
    sampling = stages.sampling(reference)
    if sampling is not None:
        size = min(size, sampling.worlds(reference, n_steps))
    return (min(size, runtimes.MAX_THREAD_WORLDS) if _own_runtime() else size), sampling


def _own_runtime() -> bool:
    """Whether the study steps its trials with a runtime of its own (run in rounds of threads)."""
    return stages.plan(0).study.runtime != DEFAULT_RUNTIME


def _run_batch(group: groups.Group, batch: list[groups.Member], pool: Pool, pipe: int) -> None:
    """Step one batch of ``group`` on the device, then finish its trials on the pool."""
    started = time.perf_counter()
    fields = groups.stacked_fields(group.reference, batch)
    start = {name: np.stack([c.state[name] for c, _ in batch]) for name in (*models.STATE_FIELDS, "time")}
    n_steps = batch[0][0].n_steps
    try:
        if _own_runtime():
            _run_own_runtime(group, batch, simulate.Worlds(group.reference, fields, len(batch)), pipe)
            return
        outcome = _step(group.reference, fields, start, n_steps, group.sampling)
    except NotImplementedError as error:  # a feature MuJoCo Warp lacks: every trial says which
        outcome = simulate.Outcome.refusal(start, f"MuJoCo Warp cannot simulate this model ({error})")
    seconds = time.perf_counter() - started
    steps = max(n_steps - 1, 0)
    _say(f"stepped {len(batch)} worlds x {steps} steps on {simulate.device()} in {seconds:.3g} s")
    share = seconds / len(batch)
    tasks = [_finish_task(c, diffs, outcome, i, group.path, share) for i, (c, diffs) in enumerate(batch)]
    for index, row in pool.map(stages.finish_trial, tasks, stages.finish_crashed, FINISH_CHUNK):
        _send(pipe, index, row)


def _step(
    reference, fields: dict, start: dict, n_steps: int, sampling: simulate.Sampling | None
) -> simulate.Outcome:
    """All but the last of ``n_steps`` steps of the worlds, with the study's signals, and more
    room for contacts and constraints as long as a world runs out of it (up to
    :data:`simulate.ROOM_TRIES` times)."""
    room = None
    for attempt in range(simulate.ROOM_TRIES + 1):
        worlds = simulate.Worlds(reference, fields, len(start["qpos"]), room)
        worlds.load(start)
        times = np.array(start["time"], dtype=float)
        diverged, samples = worlds.run(max(n_steps - 1, 0), start["qpos"], times, sampling)
        if not worlds.out_of_room() or attempt == simulate.ROOM_TRIES:
            break
        room = worlds.more_room()
        _say(f"a world ran out of room: again with {room[0]} contacts, {room[1]} constraints per world")
    overflows = [simulate.out_of_room(flags, worlds.room) if flags else None for flags in worlds.overflows()]
    return simulate.Outcome(worlds.state(), diverged, overflows=overflows, times=times, samples=samples)


def _run_own_runtime(group: groups.Group, batch: list, worlds: simulate.Worlds, pipe: int) -> None:
    """The batch's trials with the study's own runtime (:mod:`mojo.trials.warp.runtimes`)."""
    runtimes.run_worlds(
        [stages.plan(c.index) for c, _ in batch],
        stages.code(),
        [models.trial_model(group.reference, diffs) for _, diffs in batch],
        [c.seconds for c, _ in batch],
        worlds,
        lambda i, row: _send(pipe, batch[i][0].index, row),
    )


def _finish_task(
    c: models.Compiled, diffs: dict, outcome: simulate.Outcome, i: int, reference: Path, share: float
) -> stages.FinishTask:
    """What the finish stage needs of world ``i``: its state (at the time it diverged, if it
    did), its samples, and what went wrong."""
    state = {name: rows[i] for name, rows in outcome.state.items()}
    diverged = float(outcome.diverged[i])
    state["time"] = outcome.times[i] if np.isnan(diverged) else diverged
    overflow = outcome.overflows[i] if outcome.overflows else None
    problem = None
    if outcome.refused:
        problem = ("error", outcome.refused)
    elif overflow:
        problem = ("error", overflow)
    elif not np.isnan(diverged):
        problem = ("unstable", f"{simulate.UNSTABLE}{diverged:.4g}s")
    samples = None
    if outcome.samples is not None and (problem is None or problem[0] == "unstable"):
        samples = outcome.samples.of_world(i, before=diverged if problem else np.inf)
    return stages.FinishTask(c.index, reference, diffs, state, problem, c.seconds, share, c.n_steps, samples)
