"""Running many trials in one job, so process start-up and imports are paid once per job.

A batch job runs in a thread of Snakemake's own process (a ``run:`` rule; on a cluster, in the
job's Snakemake). Its trials run in a forked worker process while the job watches it: a trial that
crashes the worker (a segfault in native code, ``os._exit``) or overruns ``trial_timeout`` is
recorded with its status and the worker is replaced, so no trial can stop the study. If the job
itself is killed or interrupted, nothing is recorded for the trial in progress, and a rerun
simulates it again.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import os
import select
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, TextIO

from mojo.config import StudyConfig
from mojo.files import BatchManifest, TrialRow, write_model
from mojo.layout import adopt_narrower_folder
from mojo.logs import job_log
from mojo.progress import BatchProgress
from mojo.trial import (
    TrialPlan,
    UserCode,
    code_hashes,
    config_template,
    finished_result,
    plan_trial,
    record_abnormal_end,
    run_trial,
    table_row,
)

_HEADER = struct.Struct("<cqI")  # kind (b"S" started | b"D" done), index into the plans, payload size
_INTERRUPTED = 130  # the worker's exit code after Ctrl-C: its trial is not recorded

Progress = Callable[[TrialPlan, TrialRow], None]


def plan_batch(study: StudyConfig, trials: Iterable[int]) -> list[TrialPlan]:
    template = config_template(study, code_hashes(study))
    return [plan_trial(study, n, adopt_narrower_folder(study, n), template) for n in trials]


def split_finished(plans: list[TrialPlan]) -> tuple[dict[int, TrialRow], list[TrialPlan]]:
    """The table rows of the plans already done (by trial number), and the plans still to run."""
    rows: dict[int, TrialRow] = {}
    todo: list[TrialPlan] = []
    for plan in plans:
        done = finished_result(plan)
        if done is None:
            todo.append(plan)
        else:
            rows[plan.number] = table_row(plan, done)
    return rows, todo


def run_plans(
    plans: list[TrialPlan],
    code: UserCode,
    timeout: float | None = None,
    progress: Progress | None = None,
    log: TextIO | None = None,
) -> dict[int, TrialRow]:
    """Run every plan not yet done; return each plan's table row by trial number. ``progress`` is
    called as each trial finishes; ``log`` as for :func:`run_todo`."""
    results, todo = split_finished(plans)
    return results | run_todo(todo, code, timeout, progress, log)


def run_todo(
    todo: list[TrialPlan],
    code: UserCode,
    timeout: float | None = None,
    progress: Progress | None = None,
    log: TextIO | None = None,
) -> dict[int, TrialRow]:
    """Run ``todo`` (plans known not to be done); return each plan's table row by trial number.
    The trials' own output (prints, MuJoCo warnings, tracebacks) goes to ``log``'s file, if given."""
    rows: dict[int, TrialRow] = {}

    def finish(plan: TrialPlan, row: TrialRow) -> None:
        rows[plan.number] = row
        if progress:
            progress(plan, row)

    log_fd = None if log is None else log.fileno()
    while todo:
        todo = _run_in_worker(todo, code, timeout, finish, log_fd)
    return rows


def _run_in_worker(
    plans: list[TrialPlan], code: UserCode, timeout: float | None, finish: Progress, log_fd: int | None
) -> list[TrialPlan]:
    """Fork a worker for ``plans``, calling ``finish(plan, row)`` as each trial ends; return
    the plans left if the worker stopped early (a crash or an overrun, recorded here)."""
    read_end, write_end = os.pipe()
    sys.stderr.flush()  # or the worker would write the parent's unflushed output a second time
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        if log_fd is not None:
            _own_output(log_fd, write_end)
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
            _finish_abnormal(plans[current], started, "timeout", reason, finish)
            return plans[current + 1 :]
        if message is None:  # the worker closed its end: it is done, or dead
            break
        kind, index, payload = message
        if kind == b"S":
            current, started = index, time.perf_counter()
        else:
            finish(plans[index], TrialRow.model_validate_json(payload))
            current = None
    _, status = os.waitpid(pid, 0)
    messages.close()
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _INTERRUPTED:
        raise RuntimeError("interrupted (Ctrl-C): the trial in progress was not recorded")
    if current is None:
        if status != 0:
            raise RuntimeError(f"trial worker stopped between trials: {_describe(status)}")
        return []
    reason = f"the trial killed its process: {_describe(status)}"
    _finish_abnormal(plans[current], started, "error", reason, finish)
    return plans[current + 1 :]


def _finish_abnormal(plan: TrialPlan, started: float, status: str, reason: str, finish: Progress) -> None:
    finish(plan, table_row(plan, record_abnormal_end(plan, started, status, reason)))


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
    # The objects inherited from the parent (all of Snakemake's, in a `run:` job) are never freed
    # here: keep the garbage collector from walking them, and from copying their pages to do so.
    gc.freeze()
    parent = os.getppid()
    code = 0
    _dump_stack_on_crash()
    try:
        for index, plan in enumerate(plans):
            if os.getppid() != parent:  # the job was killed: stop instead of running orphaned
                break
            _send(pipe, b"S", index)
            row = table_row(plan, run_trial(plan, user_code))  # here, where the values are known
            _send(pipe, b"D", index, row.model_dump_json().encode())
    except KeyboardInterrupt:
        code = _INTERRUPTED
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _own_output(log_fd: int, pipe: int) -> None:
    """In a worker forked from a job thread: send stdout and stderr to the job's log, through
    fresh Python streams (another thread may have held the old ones' locks at the fork), and
    close every other inherited descriptor (a copy of another job's pipe kept open here would
    hide the end of that job's worker)."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, pipe)
    os.closerange(pipe + 1, os.sysconf("SC_OPEN_MAX"))
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


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


def run_batch(
    study: StudyConfig, first: int, last: int, manifest: Path | None = None, log: Path | None = None
) -> BatchManifest:
    """Make trials ``first..last`` (skipping those up to date) and write their table rows to
    ``manifest``. Progress goes to stderr and ``log``; the trials' own output to ``log`` only."""
    plans = plan_batch(study, range(first, last + 1))
    rows, todo = split_finished(plans)
    with job_log(log) if log else contextlib.nullcontext() as stream:
        progress = BatchProgress(f"trials {first}-{last}", len(todo), len(rows), stream)
        rows |= run_todo(todo, UserCode.load(study), study.trial_timeout, progress, stream)
        progress.finish()
    batch = BatchManifest(first=first, last=last, rows=[rows[plan.number] for plan in plans])
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        write_model(manifest, batch)
    return batch
