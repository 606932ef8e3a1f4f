"""Running many trials in one job, so process start-up and imports are paid once per job.

A batch job runs in a thread of Snakemake's own process (a ``run:`` rule; on a cluster, in the
job's Snakemake). Its trials run in a forked worker process while the job watches it: a trial that
crashes the worker (a segfault in native code, ``os._exit``) or overruns ``trial_timeout`` is
recorded with its status and the worker is replaced, so no trial can stop the study. If the job
itself is killed or interrupted, nothing is recorded for the trial in progress, and a rerun
simulates it again.

A trial's processes end with it: the worker (a child subreaper) kills what a trial left running
when it returns, and the worker's parent, a keeper that does nothing else, kills what is left
when the worker dies (a crash, a timeout, the job's end). A trial that may have left the worker
broken (out of memory or stack, a changed working folder or Ctrl-C handler) gets the next
trial a new worker. What a trial prints reaches the job's log through a pipe read here, cut after
:data:`TRIAL_LOG_LIMIT`. Per trial this costs a few system calls (microseconds).
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import fcntl
import gc
import os
import select
import signal
import struct
import sys
import termios
import time
import warnings
from pathlib import Path
from typing import Callable, Iterable, TextIO

import numpy as np

from mojo.config.study import StudyConfig
from mojo.trials.files import BatchManifest, TrialRow, trial_files, write_model
from mojo.trials.integrity import remove_leftovers, trial_stamps
from mojo.trials.layout import adopt_narrower_folder
from mojo.trials.logs import job_log
from mojo.trials.progress import BatchProgress
from mojo.trials.trial import (
    CtrlC,
    TrialPlan,
    UserCode,
    WorkerSuspect,
    code_hashes,
    config_template,
    finished_result,
    only_signals,
    plan_trial,
    record_abnormal_end,
    run_trial,
    signals_current,
    table_row,
)

# A message: kind, index into the plans (or a wait status), payload size; then the payload. Kinds:
# b"S" trial started, b"D" trial done (its table row), b"R" the worker retires after that trial
# (why, a line for the log), b"I" the user's Ctrl-C or a SIGTERM (nothing recorded), b"E" the
# worker's wait status (sent by its keeper).
_HEADER = struct.Struct("<cqI")

TRIAL_LOG_LIMIT = 2**20
"""Bytes one trial may write to the job's log (prints, warnings, tracebacks, its processes'
output): the rest is dropped, and the log says where output was cut."""

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36  # from <linux/prctl.h>
_STOP_TRIAL = signal.SIGUSR1  # from the watcher to the keeper: the trial overran trial_timeout

Progress = Callable[[TrialPlan, TrialRow], None]


def plan_batch(study: StudyConfig, trials: Iterable[int]) -> list[TrialPlan]:
    template = config_template(study, code_hashes(study))
    return [plan_trial(study, n, adopt_narrower_folder(study, n), template) for n in trials]


def split_finished(plans: list[TrialPlan]) -> tuple[dict[int, TrialRow], list[TrialPlan]]:
    """The table rows of the plans already done (by trial number), and the plans still to run:
    a finished trial whose signals are missing or stale runs again to record them only."""
    rows: dict[int, TrialRow] = {}
    todo: list[TrialPlan] = []
    for plan in plans:
        done = finished_result(plan)
        if done is None:
            todo.append(plan)
        elif not signals_current(plan):
            todo.append(only_signals(plan))
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
    """Fork a keeper and its worker for ``plans``, calling ``finish(plan, row)`` as each trial
    ends; return the plans left if the worker stopped early (a crash, an overrun: recorded here;
    or a trial that left the worker suspect: recorded by the worker)."""
    read_end, write_end = os.pipe()
    output = None if log_fd is None else _TrialOutput(log_fd)
    watcher = os.getpid()
    sys.stderr.flush()  # or the worker would write the parent's unflushed output a second time
    keeper = os.fork()
    if keeper == 0:
        os.close(read_end)
        if output is not None:
            own_output(output.write_end, write_end)
        _keep(plans, code, write_end, watcher, output is not None)
    os.close(write_end)
    if output is not None:
        output.forked()
    watch = _Watch(read_end, output)
    current, started, done = None, time.perf_counter(), -1
    retired = interrupted = False
    worker_status = None
    while True:
        deadline = None if timeout is None or current is None else started + timeout
        message = watch.next(deadline)
        if message is _Watch.TIMED_OUT:
            os.kill(keeper, _STOP_TRIAL)  # it kills the worker and every process left
            watch.drain()
            watch.close()
            os.waitpid(keeper, 0)
            reason = f"trial exceeded trial_timeout = {timeout} s wall time"
            _finish_abnormal(plans[current], started, "timeout", reason, finish)
            return plans[current + 1 :]
        if message is None:  # the keeper closed its end: the worker and its processes are gone
            break
        kind, index, payload = message
        if kind == b"S":
            current, started = index, time.perf_counter()
            if output is not None:
                output.start(plans[index].number)
        elif kind == b"D":
            finish(plans[index], TrialRow.model_validate_json(payload))
            current, done = None, index
        elif kind == b"R":
            retired = True
            _write_all(2 if output is None else output.log_fd, payload)
        elif kind == b"I":
            interrupted = True
        elif kind == b"E":
            worker_status = index
    _, keeper_status = os.waitpid(keeper, 0)
    watch.close()
    if interrupted:
        raise RuntimeError("interrupted (Ctrl-C or SIGTERM): the trial in progress was not recorded")
    status = keeper_status if worker_status is None else worker_status
    ended = describe_exit(os.waitstatus_to_exitcode(status))
    if current is not None:
        reason = f"the trial killed its process: {ended}"
        _finish_abnormal(plans[current], started, "error", reason, finish)
        return plans[current + 1 :]
    if status != 0 or (done + 1 < len(plans) and not retired):
        raise RuntimeError(f"trial worker stopped between trials: {ended}")
    return plans[done + 1 :]


def _finish_abnormal(plan: TrialPlan, started: float, status: str, reason: str, finish: Progress) -> None:
    finish(plan, table_row(plan, record_abnormal_end(plan, started, status, reason)))


class _TrialOutput:
    """What the worker's trials print, on its way to the job's log through a pipe read here, so
    that no trial writes more than :data:`TRIAL_LOG_LIMIT` to the log (below Python too: MuJoCo,
    faulthandler, processes the trial starts). Costs a pipe hop per write; the trial never
    notices a cut (its prints do not fail), and the log says where output was cut."""

    def __init__(self, log_fd: int):
        self.log_fd = log_fd
        self.read_end, self.write_end = os.pipe()
        self.trial: int | None = None
        self.written = 0

    def forked(self) -> None:
        """In the watcher, once the keeper holds the write end."""
        os.close(self.write_end)
        os.set_blocking(self.read_end, False)

    def start(self, trial: int) -> None:
        self.trial, self.written = trial, 0

    def copy(self) -> bool:
        """Copy what the pipe holds now to the log; ``False`` once every writer has closed it."""
        while True:
            try:
                chunk = os.read(self.read_end, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            room = TRIAL_LOG_LIMIT - self.written
            self.written += len(chunk)
            if room > 0:
                _write_all(self.log_fd, chunk[:room])
                if len(chunk) > room:
                    cut = f"\n[mojo] output of trial {self.trial} cut after {TRIAL_LOG_LIMIT // 2**20} MB\n"
                    _write_all(self.log_fd, cut.encode())

    def close(self) -> None:
        os.close(self.read_end)


class _Watch:
    """The worker's messages, read from its pipe: ``(kind, index, payload)``; and its output,
    copied to the log as it comes."""

    TIMED_OUT = object()

    def __init__(self, fd: int, output: _TrialOutput | None):
        self.fd = fd
        self.output = output
        self.buffer = b""

    def next(self, deadline: float | None):
        """The next message; ``None`` at the end of the pipe; ``TIMED_OUT`` past ``deadline``.
        A message is handled before the output that came after it (a trial's start, before its
        prints); a trial's output is all copied before its end is handled (the worker sends the
        end once the pipe is read, see :func:`_wait_until_output_read`)."""
        while True:
            if len(self.buffer) >= _HEADER.size:
                kind, index, size = _HEADER.unpack_from(self.buffer)
                end = _HEADER.size + size
                if len(self.buffer) >= end:
                    payload, self.buffer = self.buffer[_HEADER.size : end], self.buffer[end:]
                    if self.output is not None and kind not in (b"S", b"D"):
                        self.output.copy()
                    return kind, index, payload
            wait = None if deadline is None else max(deadline - time.perf_counter(), 0)
            readers = [self.fd] if self.output is None else [self.fd, self.output.read_end]
            ready = select.select(readers, [], [], wait)[0]
            if not ready:
                return self.TIMED_OUT
            if self.fd in ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.drain()
                    return None
                self.buffer += chunk
            elif not self.output.copy():  # only the messages pipe is left open: wait on it alone
                self.output.close()
                self.output = None

    def drain(self) -> None:
        """Read to the end of both pipes (once the keeper is ending)."""
        while os.read(self.fd, 65536):
            pass
        if self.output is not None:
            os.set_blocking(self.output.read_end, True)
            self.output.copy()

    def close(self) -> None:
        os.close(self.fd)
        if self.output is not None:
            self.output.close()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _send(pipe: int, kind: bytes, index: int, payload: bytes = b"") -> None:
    _write_all(pipe, _HEADER.pack(kind, index, len(payload)) + payload)


def _keep(plans: list[TrialPlan], user_code: UserCode, pipe: int, watcher: int, captured: bool) -> None:
    """Body of the keeper, the worker's parent: never returns. Once the worker ends (done,
    crashed, or killed on the watcher's :data:`_STOP_TRIAL`), it kills every process the worker
    left: as a child subreaper it inherits them all, daemons that called setsid included.
    On SIGTERM (the job is stopped, or its process died) it stops the worker at once and reports
    an interruption, so a trial never outlives its job and nothing is recorded for it. Costs a
    fork per worker, nothing per trial."""
    code = 0
    try:
        worker, stopped = None, False

        def stop_worker(signum: int, frame) -> None:
            nonlocal stopped
            stopped = stopped or signum == signal.SIGTERM
            if worker is not None:
                os.kill(worker, signal.SIGKILL)

        signal.signal(_STOP_TRIAL, stop_worker)
        signal.signal(signal.SIGTERM, stop_worker)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides what a Ctrl-C means
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        worker = os.fork()
        if worker == 0:
            _worker(plans, user_code, pipe, captured)
        if os.getppid() != watcher:  # the job died before the death signal was set
            stop_worker(signal.SIGTERM, None)
        _, status = os.waitpid(worker, 0)
        worker = None
        _end_descendants()
        _send(pipe, b"I" if stopped else b"E", status)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _worker(plans: list[TrialPlan], user_code: UserCode, pipe: int, captured: bool) -> None:
    """Body of the forked worker: never returns. ``captured``: its output goes through the
    watcher's pipe (:class:`_TrialOutput`)."""
    # The objects inherited from the parent (all of Snakemake's, in a `run:` job) are never freed
    # here: keep the garbage collector from walking them, and from copying their pages to do so.
    gc.freeze()
    for inherited in (signal.SIGTERM, _STOP_TRIAL):  # the keeper's handlers
        signal.signal(inherited, signal.SIG_DFL)
    signal.signal(signal.SIGINT, CtrlC.handle)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # a trial's orphans come here, to be ended with it
    keeper = os.getppid()
    start = _Start()
    code = 0
    _dump_stack_on_crash()
    try:
        for index, plan in enumerate(plans):
            if os.getppid() != keeper:  # the job was killed: stop instead of running orphaned
                break
            _send(pipe, b"S", index)
            try:
                result, suspect = run_trial(plan, user_code), None
            except WorkerSuspect as exc:
                result, suspect = exc.result, "its error may have left the worker broken"
            _end_descendants()
            row = table_row(plan, result)  # here, where the values are known
            start.streams.flush()
            if CtrlC.pressed:  # the trial's code caught the user's Ctrl-C
                raise KeyboardInterrupt
            suspect = suspect or start.disturbed()
            if captured and not start.streams.moved():  # else fd 1 may be no pipe: the watcher drains it
                _wait_until_output_read()
            _send(pipe, b"D", index, row.model_dump_json().encode())
            if suspect:
                note = f"[mojo] trial {plan.number}: {suspect}: the next trial gets a new worker\n"
                _send(pipe, b"R", index, note.encode())
                break
    except BaseException:
        if CtrlC.pressed:
            _send(pipe, b"I", 0)
        else:
            import traceback

            traceback.print_exc()
            code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait_until_output_read() -> None:
    """Wait until the watcher has read all the trial wrote (stdout and stderr share its pipe):
    the watcher counts output against the trial that is running when it reads it, so what is
    still in the pipe when the next trial starts would be counted against that one, and dropped
    if it had already been cut. One ioctl per trial when the pipe is empty (the usual case)."""
    pending = bytearray(4)
    while True:
        fcntl.ioctl(1, termios.FIONREAD, pending)
        if not int.from_bytes(pending, sys.byteorder):
            return
        time.sleep(0.0001)


class _Streams:
    """The worker's standard output and error as it starts: Python's streams and the files behind
    descriptors 1 and 2 (in a job, the pipe to the log). Two fstat calls to check."""

    def __init__(self):
        self.python = (sys.stdout, sys.stderr)
        self.files = self._files()

    @staticmethod
    def _files() -> list[tuple[int, int]] | None:
        try:
            return [(stat.st_dev, stat.st_ino) for stat in map(os.fstat, (1, 2))]
        except OSError:  # closed
            return None

    def moved(self) -> bool:
        """Whether a trial pointed them elsewhere (later trials' output would not reach the log)."""
        return (sys.stdout, sys.stderr) != self.python or self._files() != self.files

    def flush(self) -> None:
        for stream in self.python:
            with contextlib.suppress(OSError, ValueError):  # its descriptor closed by the trial
                stream.flush()


def _callbacks() -> dict:
    """MuJoCo's physics callbacks set in this process (none before MuJoCo is imported)."""
    if "mujoco" not in sys.modules:
        return {}
    from mojo.runtime import callbacks_set

    return callbacks_set()


class _Start:
    """What the worker is like before its first trial, so that a trial that leaves it otherwise
    (later trials would not run as earlier ones did) gets the next trial a new worker. Threads
    left running are no such change: a pool kept for later trials is common, and replacing the
    worker after each such trial would cost a fork each. Checking costs a few microseconds."""

    def __init__(self):
        self.cwd, self.streams, self.callbacks = os.getcwd(), _Streams(), _callbacks()
        self.numpy_raises, self.warnings_raise = _numpy_raises(), _warnings_raise()

    def disturbed(self) -> str | None:
        """How the last trial left the worker unlike it found it, if it did."""
        try:
            if os.getcwd() != self.cwd:
                return "it changed the working folder"
        except OSError:
            return "it removed the working folder"
        if signal.getsignal(signal.SIGINT) != CtrlC.handle:
            return "it replaced the handler of Ctrl-C"
        if self.streams.moved():
            return "it pointed its standard output or error elsewhere"
        now = _callbacks()
        changed = sorted(
            name for name in now.keys() | self.callbacks.keys() if now.get(name) != self.callbacks.get(name)
        )
        if changed:  # they would act on the next trials' physics
            return f"it left MuJoCo's {', '.join(f'mjcb_{name}' for name in changed)} changed"
        if _numpy_raises() != self.numpy_raises:
            return "it changed which NumPy floating-point errors raise (np.seterr)"
        if _warnings_raise() != self.warnings_raise:
            return "it changed which warnings raise (warnings.simplefilter)"
        return None


# Only what decides outcomes counts: what is printed may change (a library imported by a trial
# adds its own "ignore" filters; fresh workers would import it again, a fork each trial).
def _numpy_raises() -> set[str]:
    return {kind for kind, handling in np.geterr().items() if handling in ("raise", "call")}


def _warnings_raise() -> list[tuple]:
    return [entry for entry in warnings.filters if entry[0] == "error"]


def _end_descendants() -> None:
    """Kill and reap every process this one started that is still there. As a child subreaper,
    this process has for children the orphans of its children too (daemons that called setsid
    included), so this ends them all. When there is none (the usual case) it costs one waitpid.
    Linux only (elsewhere a trial's processes are left alone, as before)."""
    while _LIBC is not None:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:  # one had ended: reaped
            continue
        children = _children()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        if children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(-1, 0)
        else:  # an orphan on its way here
            time.sleep(0.001)


def _children() -> list[int]:
    """This process's child processes (any thread's), from /proc."""
    try:
        tasks = os.listdir("/proc/self/task")
        return [int(pid) for task in tasks for pid in _read(f"/proc/self/task/{task}/children").split()]
    except FileNotFoundError:  # a thread just ended, or a kernel without /proc/.../children
        me = str(os.getpid())
        return [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent_of(pid) == me]


def _read(path: str) -> str:
    with open(path) as file:
        return file.read()


def _parent_of(pid: str) -> str | None:
    try:
        return _read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Have this process sent ``signum`` when the thread that forked it ends (with its process,
    or the job's)."""
    _prctl(_PR_SET_PDEATHSIG, signum)


def _prctl(option: int, value: int) -> None:
    """Linux's prctl (a no-op elsewhere: trials then end as before, without their processes)."""
    if _LIBC is not None:
        _LIBC.prctl(option, value, 0, 0, 0)


def own_output(log_fd: int, pipe: int) -> None:
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


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, from its exit code as ``os.waitstatus_to_exitcode`` and
    ``multiprocessing`` give it (negative: the signal that killed it)."""
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


def run_batch(
    study: StudyConfig,
    first: int,
    last: int,
    manifest: Path | None = None,
    log: Path | None = None,
    threads: int = 1,
) -> BatchManifest:
    """Make trials ``first..last`` (skipping those up to date) and write their table rows to
    ``manifest``. Progress goes to stderr and ``log``; the trials' own output to ``log`` only.
    ``threads``: the cores the job may use (the warp backend compiles on all of them)."""
    plans = plan_batch(study, range(first, last + 1))
    rows, todo = split_finished(plans)
    with job_log(log) if log else contextlib.nullcontext() as stream:
        label = f"trials {first}-{last}"
        progress = BatchProgress(label, len(todo), len(rows), stream, steady=study.backend != "warp")
        code = UserCode.load(study)
        if study.backend == "warp":
            from mojo.trials import warp

            rows |= warp.run_todo(todo, code, threads, progress, stream)
        else:
            rows |= run_todo(todo, code, study.trial_timeout, progress, stream)
        progress.finish()
    batch = BatchManifest(
        first=first,
        last=last,
        rows=[rows[plan.number] for plan in plans],
        stamps={plan.number: trial_stamps(plan.dir, trial_files(study)) for plan in plans},
    )
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(manifest.parent, manifest.name)  # of a job killed while writing it
        write_model(manifest, batch)
    return batch
