"""Running many trials in one job, so process start-up and imports are paid once per job.

The trials run in a forked worker process while this process watches it: a trial that crashes the
worker (a segfault in native code, ``os._exit``) or overruns ``trial_timeout`` is recorded with its
status and the worker is replaced, so no trial can stop the study. If the job itself is killed,
nothing is recorded for the trial in progress, and a rerun simulates it again.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

from mojo.config import StudyConfig
from mojo.files import BatchManifest, TrialResult, write_model
from mojo.layout import adopt_narrower_folder
from mojo.progress import BatchProgress
from mojo.trial import (
    TrialPlan,
    UserCode,
    code_hashes,
    finished_result,
    plan_trial,
    record_abnormal_end,
    run_trial,
    table_row,
)

_MESSAGE = struct.Struct("<cq")  # (b"S" started | b"D" done, index into the plans)


def plan_batch(study: StudyConfig, trials: Iterable[int]) -> list[TrialPlan]:
    hashes = code_hashes(study)
    return [plan_trial(study, n, adopt_narrower_folder(study, n), hashes) for n in trials]


def run_plans(
    plans: list[TrialPlan],
    code: UserCode,
    timeout: float | None = None,
    progress: Callable[[TrialPlan, TrialResult], None] | None = None,
) -> dict[int, TrialResult]:
    """Run every plan not yet done; return each plan's result by trial number."""
    results: dict[int, TrialResult] = {}
    todo: list[TrialPlan] = []
    for plan in plans:
        done = finished_result(plan)
        if done is None:
            todo.append(plan)
        else:
            results[plan.number] = done
    while todo:
        finished, todo = _run_in_worker(todo, code, timeout, progress)
        for plan, result in finished:
            results[plan.number] = result
    return results


def _run_in_worker(
    plans: list[TrialPlan],
    code: UserCode,
    timeout: float | None,
    progress: Callable[[TrialPlan, TrialResult], None] | None = None,
) -> tuple[list[tuple[TrialPlan, TrialResult]], list[TrialPlan]]:
    """Fork a worker for ``plans``; return what finished and the plans left when it stopped early.
    ``progress`` is called as each trial finishes (live, not when the worker ends)."""
    report = progress or (lambda plan, result: None)
    read_end, write_end = os.pipe()
    sys.stderr.flush()  # or the worker would write the parent's unflushed output a second time
    pid = os.fork()
    if pid == 0:  # worker
        os.close(read_end)
        _worker(plans, code, write_end)
    os.close(write_end)
    finished: list[tuple[TrialPlan, TrialResult]] = []
    current, started = None, time.perf_counter()
    buffer = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            wait = None if (timeout is None or current is None) else started + timeout - time.perf_counter()
            ready, _, _ = select.select([pipe], [], [], max(wait, 0) if wait is not None else None)
            if not ready:  # the current trial overran its wall-clock limit
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                plan = plans[current]
                result = record_abnormal_end(
                    plan, started, "timeout", f"trial exceeded trial_timeout = {timeout} s wall time"
                )
                finished.append((plan, result))
                report(plan, result)
                return finished, plans[current + 1 :]
            chunk = pipe.read(4096)
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= _MESSAGE.size:
                kind, index = _MESSAGE.unpack_from(buffer)
                buffer = buffer[_MESSAGE.size :]
                if kind == b"S":
                    current, started = index, time.perf_counter()
                else:
                    finished.append((plans[index], finished_result(plans[index])))
                    report(*finished[-1])
                    current = None
    _, status = os.waitpid(pid, 0)
    if current is None:
        if status != 0:
            raise RuntimeError(f"trial worker stopped between trials: {_describe(status)}")
        return finished, []
    plan = plans[current]
    result = record_abnormal_end(plan, started, "error", f"the trial killed its process: {_describe(status)}")
    finished.append((plan, result))
    report(plan, result)
    return finished, plans[current + 1 :]


def _worker(plans: list[TrialPlan], user_code: UserCode, pipe: int) -> None:
    """Body of the forked worker: never returns."""
    parent = os.getppid()
    code = 0
    try:
        for index, plan in enumerate(plans):
            if os.getppid() != parent:  # the job was killed: stop instead of running orphaned
                break
            os.write(pipe, _MESSAGE.pack(b"S", index))
            run_trial(plan, user_code)
            os.write(pipe, _MESSAGE.pack(b"D", index))
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"killed by {signal.Signals(os.WTERMSIG(wait_status)).name}"
    return f"exited with code {os.WEXITSTATUS(wait_status)}"


def run_batch(study: StudyConfig, first: int, last: int, manifest: Path | None = None) -> BatchManifest:
    """Make trials ``first..last`` (skipping those up to date) and write their table rows."""
    plans = plan_batch(study, range(first, last + 1))
    progress = BatchProgress(plans, f"trials {first}-{last}")
    results = run_plans(plans, UserCode.load(study), study.trial_timeout, progress)
    progress.finish()
    rows = [table_row(plan, results[plan.number]) for plan in plans]
    batch = BatchManifest(first=first, last=last, rows=rows)
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        write_model(manifest, batch)
    return batch
