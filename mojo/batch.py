"""Running many trials in one job, so process start-up and imports are paid once per job.

The trials run in a forked worker process while this process watches it: a trial that crashes the
worker (a segfault in native code, ``os._exit``) or overruns ``trial_timeout`` is recorded with its
status and the worker is replaced, so no trial can stop the study. If the job itself is killed,
nothing is recorded for the trial in progress, and a rerun simulates it again.
"""

from __future__ import annotations

import faulthandler
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

_HEADER = struct.Struct("<cqI")  # kind (b"S" started | b"D" done), index into the plans, payload size

Progress = Callable[[TrialPlan, TrialResult], None]


def plan_batch(study: StudyConfig, trials: Iterable[int]) -> list[TrialPlan]:
    hashes = code_hashes(study)
    return [plan_trial(study, n, adopt_narrower_folder(study, n), hashes) for n in trials]


def split_finished(plans: list[TrialPlan]) -> tuple[dict[int, TrialResult], list[TrialPlan]]:
    """The results of the plans already done (by trial number), and the plans still to run."""
    results: dict[int, TrialResult] = {}
    todo: list[TrialPlan] = []
    for plan in plans:
        done = finished_result(plan)
        if done is None:
            todo.append(plan)
        else:
            results[plan.number] = done
    return results, todo


def run_plans(
    plans: list[TrialPlan], code: UserCode, timeout: float | None = None, progress: Progress | None = None
) -> dict[int, TrialResult]:
    """Run every plan not yet done; return each plan's result by trial number. ``progress`` is
    called as each trial finishes."""
    results, todo = split_finished(plans)
    return results | run_todo(todo, code, timeout, progress)


def run_todo(
    todo: list[TrialPlan], code: UserCode, timeout: float | None = None, progress: Progress | None = None
) -> dict[int, TrialResult]:
    """Run ``todo`` (plans known not to be done); return each plan's result by trial number."""
    results: dict[int, TrialResult] = {}

    def finish(plan: TrialPlan, result: TrialResult) -> None:
        results[plan.number] = result
        if progress:
            progress(plan, result)

    while todo:
        todo = _run_in_worker(todo, code, timeout, finish)
    return results


def _run_in_worker(
    plans: list[TrialPlan], code: UserCode, timeout: float | None, finish: Progress
) -> list[TrialPlan]:
    """Fork a worker for ``plans``, calling ``finish(plan, result)`` as each trial ends; return
    the plans left if the worker stopped early (a crash or an overrun, recorded here)."""
    read_end, write_end = os.pipe()
    sys.stderr.flush()  # or the worker would write the parent's unflushed output a second time
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _worker(plans, code, write_end)
    os.close(write_end)
    messages = _Messages(read_end)
    current, started = None, time.perf_counter()
    while True:
        deadline = None if timeout is None or current is None else started + timeout
        message = messages.next(deadline)
        if message is _Messages.TIMED_OUT:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            reason = f"trial exceeded trial_timeout = {timeout} s wall time"
            finish(plans[current], record_abnormal_end(plans[current], started, "timeout", reason))
            return plans[current + 1 :]
        if message is None:  # the worker closed its end: it is done, or dead
            break
        kind, index, payload = message
        if kind == b"S":
            current, started = index, time.perf_counter()
        else:
            finish(plans[index], TrialResult.model_validate_json(payload))
            current = None
    _, status = os.waitpid(pid, 0)
    messages.close()
    if current is None:
        if status != 0:
            raise RuntimeError(f"trial worker stopped between trials: {_describe(status)}")
        return []
    reason = f"the trial killed its process: {_describe(status)}"
    finish(plans[current], record_abnormal_end(plans[current], started, "error", reason))
    return plans[current + 1 :]


class _Messages:
    """The worker's messages, read from its pipe: ``(kind, index, payload)``."""

    TIMED_OUT = object()

    def __init__(self, fd: int):
        self.pipe = os.fdopen(fd, "rb", buffering=0)
        self.buffer = b""

    def next(self, deadline: float | None):
        """The next message; ``None`` at the end of the pipe; ``TIMED_OUT`` past ``deadline``."""
        while True:
            if len(self.buffer) >= _HEADER.size:
                kind, index, size = _HEADER.unpack_from(self.buffer)
                end = _HEADER.size + size
                if len(self.buffer) >= end:
                    payload, self.buffer = self.buffer[_HEADER.size : end], self.buffer[end:]
                    return kind, index, payload
            wait = None if deadline is None else max(deadline - time.perf_counter(), 0)
            if not select.select([self.pipe], [], [], wait)[0]:
                return self.TIMED_OUT
            chunk = self.pipe.read(65536)
            if not chunk:
                return None
            self.buffer += chunk

    def close(self) -> None:
        self.pipe.close()


def _send(pipe: int, kind: bytes, index: int, payload: bytes = b"") -> None:
    data = _HEADER.pack(kind, index, len(payload)) + payload
    while data:
        data = data[os.write(pipe, data) :]


def _worker(plans: list[TrialPlan], user_code: UserCode, pipe: int) -> None:
    """Body of the forked worker: never returns."""
    parent = os.getppid()
    code = 0
    _dump_stack_on_crash()
    try:
        for index, plan in enumerate(plans):
            if os.getppid() != parent:  # the job was killed: stop instead of running orphaned
                break
            _send(pipe, b"S", index)
            result = run_trial(plan, user_code)
            _send(pipe, b"D", index, result.model_dump_json().encode())
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _dump_stack_on_crash() -> None:
    """Let a trial that segfaults leave its Python stack in the job's log, where stderr has a file."""
    try:
        faulthandler.enable(sys.stderr)
    except (AttributeError, ValueError, OSError):  # stderr without a file descriptor
        pass


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"killed by {signal.Signals(os.WTERMSIG(wait_status)).name}"
    return f"exited with code {os.WEXITSTATUS(wait_status)}"


def run_batch(study: StudyConfig, first: int, last: int, manifest: Path | None = None) -> BatchManifest:
    """Make trials ``first..last`` (skipping those up to date) and write their table rows."""
    plans = plan_batch(study, range(first, last + 1))
    results, todo = split_finished(plans)
    progress = BatchProgress(f"trials {first}-{last}", to_run=len(todo), skipped=len(results))
    results |= run_todo(todo, UserCode.load(study), study.trial_timeout, progress)
    progress.finish()
    rows = [table_row(plan, results[plan.number]) for plan in plans]
    batch = BatchManifest(first=first, last=last, rows=rows)
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        write_model(manifest, batch)
    return batch
