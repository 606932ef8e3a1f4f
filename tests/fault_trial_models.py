"""Misbehaving trial code for tests/test_faults_trials.py: a runtime that commits, in trial ``n``,
the misdeed named by ``modes[n]`` (a ``run_kwargs`` entry). Every trial returns the worker's pid
as a metric, so a test can tell whether the worker was kept or replaced. Processes a trial leaves
behind are listed, one pid per file, in the folder named by the ``FAULT_PIDS`` environment
variable, so a test can check that they are gone.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import mujoco
import numpy as np

from tests.trial_models import ball

POISONED = False
"""Set by a trial that ran out of memory or stack: the state a worker is left in after such a trial
(memory still held by a cache, a half-built module), so later trials in the same process fail."""


def _note_pid(pid: int) -> None:
    Path(os.environ["FAULT_PIDS"], str(pid)).touch()


def _sleeper(*, new_session: bool = False) -> None:
    """Fork a process that sleeps for an hour (holding every descriptor the trial had)."""
    child = os.fork()
    if child == 0:
        if new_session:  # a daemon: its own session, and its parent gone at once
            os.setsid()
            if os.fork():
                os._exit(0)
        _note_pid(os.getpid())
        time.sleep(3600)
        os._exit(0)
    if new_session:
        os.waitpid(child, 0)
    else:
        _note_pid(child)


def _out_of_memory() -> None:
    global POISONED
    POISONED = True
    raise MemoryError("the trial's cache filled the memory")


def _too_deep(depth: int = 0) -> int:
    global POISONED
    POISONED = True
    return _too_deep(depth + 1) + 1


def _print_lots() -> None:
    line = "x" * 99 + "\n"
    for _ in range(30_000):  # 3 MB, through Python's buffered stream
        sys.stdout.write(line)
    os.write(2, line.encode() * 10_000)  # 1 MB more, below Python


FAULTS = {
    "ok": lambda: None,
    "fork": _sleeper,
    "fork_setsid": lambda: _sleeper(new_session=True),
    "fork_hang": lambda: (_sleeper(), _note_pid(os.getpid()), time.sleep(60)),
    "fork_crash": lambda: (_sleeper(), _sleeper(new_session=True), os.kill(os.getpid(), signal.SIGSEGV)),
    "memory": _out_of_memory,
    "recursion": _too_deep,
    "allocate": lambda: bytearray(400 * 2**20),
    "allocate_small": lambda: bytearray(20 * 2**20),
    "keyboard_interrupt": lambda: (_ for _ in ()).throw(KeyboardInterrupt),
    "ctrl_c": lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)),
    "exit3": lambda: sys.exit(3),
    "exit_none": lambda: sys.exit(),
    "exit_msg": lambda: sys.exit("bad parameters"),
    "os_exit5": lambda: os._exit(5),
    "os_exit130": lambda: os._exit(130),
    "print_lots": _print_lots,
    "print_little": lambda: print("a little output"),
    "thread": lambda: threading.Thread(target=time.sleep, args=(60,), daemon=True).start(),
    "chdir": lambda: os.chdir(os.environ["FAULT_PIDS"]),
    "sigint_handler": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    "stdout_devnull": lambda: os.dup2(os.open(os.devnull, os.O_WRONLY), 1),
    "stderr_unread_file": lambda: _redirect_to_unread_file(2),
    "stdout_closed": lambda: os.close(1),
    "sys_stdout_swapped": lambda: setattr(sys, "stdout", open(os.devnull, "w")),
    "numpy_raise": lambda: np.seterr(all="raise"),
    "warnings_as_errors": lambda: warnings.simplefilter("error"),
    "warnings_ignored": lambda: warnings.filterwarnings("ignore", message="as a library's import does"),
    "sqrt_of_minus_one": lambda: np.sqrt(np.float64(-1.0)),  # NaN, and a RuntimeWarning
    "mjcb_push": lambda: mujoco.set_mjcb_control(lambda model, data: data.qfrc_applied.__setitem__(2, 100.0)),
}


def _redirect_to_unread_file(fd: int) -> None:
    """Point ``fd`` at a file with bytes after its offset (what FIONREAD counts as unread)."""
    file = tempfile.TemporaryFile()
    file.write(b"not yet read\n" * 100)
    file.seek(0)
    os.dup2(file.fileno(), fd)


def run(model, data, trial, modes: list[str]) -> dict[str, float]:
    """The runtime: commit the misdeed ``modes[trial.number]``, then report the worker's pid."""
    if POISONED:
        raise MemoryError("still out of memory after an earlier trial")
    FAULTS[modes[trial.number]]()
    mujoco.mj_step(model, data, nstep=20)
    return {"pid": float(os.getpid()), "height": float(data.qpos[2])}


build = ball
