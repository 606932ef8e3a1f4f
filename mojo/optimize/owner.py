"""One run at a time per optimisation, checked on the study's storage itself.

Two runs of one optimisation (two working folders sharing ``results_dir``, or a second submit
host using the same storage) would tell and ask the same rounds twice. Snakemake's lock is per
working folder, so the step claims the study for its whole process:

- an OS lock (``fcntl.flock``) on ``optimize/.mojo/owner.lock``, held until the process exits
  (the kernel drops it however the process dies): exact for every run sharing the results folder;
- an owner record in the Optuna study's user attributes (``mojo_owner``: host, pid, run id, start
  and last step): covers runs that share only the storage (a server URL, another host). An owner
  on this host is alive while its pid is; one on another host while its last step is younger
  than ``STALE_AFTER_S``. A dead owner is taken over, with a line in the step's log.

The run claims both when it starts (the workflow's ``onstart``, before any job: a second run
must not even evaluate) and every step claims them again: all steps of one Snakemake run are
threads of its main process (``run:`` jobs), so they only refresh the record. Cost: one flock per
run and one small storage write per step. The record is cleared when the process exits normally.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Callable, TextIO

OWNER_ATTR = "mojo_owner"
STALE_AFTER_S = 3600.0
"""An owner on another host whose last step is older than this is taken to be dead."""

RUN_ID = uuid.uuid4().hex
"""This process's run: all its steps share it."""

_held: dict[str, TextIO] = {}
"""Lock files this process holds (flock) until it exits: closing one would release it."""
_owned: set[tuple[Any, int]] = set()
"""(storage, study id) of the studies this process owns: their records are cleared at exit."""


class StudyBusyError(RuntimeError):
    """Another run of the optimisation owns its study."""


def describe(record: dict[str, Any]) -> str:
    last = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.get("heartbeat", 0)))
    return f"run {record.get('run')} on host {record.get('host')} (pid {record.get('pid')}, last step {last})"


def alive(record: dict[str, Any]) -> bool:
    if record.get("host") != socket.gethostname():
        return time.time() - record.get("heartbeat", 0) < STALE_AFTER_S
    try:
        os.kill(int(record["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def hold(lock: Path, name: str) -> None:
    """Hold the flock on ``lock`` until this process exits (a no-op once held), or raise
    :class:`StudyBusyError`."""
    if str(lock) in _held:
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        raise StudyBusyError(
            f"another run of the optimisation '{name}' is running (pid {pid} holds {lock}): wait "
            "for it to finish or stop it; nothing was changed"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[str(lock)] = handle


def claim(storage, name: str, lock: Path, log: Callable[[str], None]) -> None:
    """Own the study ``name`` of the Optuna ``storage`` for this process, or raise
    :class:`StudyBusyError` naming the owner."""
    hold(lock, name)
    study_id = storage.get_study_id_from_name(name)
    if (storage, study_id) not in _owned:
        _owned.add((storage, study_id))
        atexit.register(_release, storage, study_id)
    record = storage.get_study_user_attrs(study_id).get(OWNER_ATTR)
    if record and record.get("run") != RUN_ID:
        if alive(record):
            raise StudyBusyError(
                f"the Optuna study '{name}' is owned by another run, {describe(record)}: wait "
                "for it to finish or stop it; nothing was changed"
            )
        log(f"taking over the study '{name}' from {describe(record)}: it is no longer running")
    now = time.time()
    started = record["started"] if record and record.get("run") == RUN_ID else now
    storage.set_study_user_attr(study_id, OWNER_ATTR, {
        "run": RUN_ID, "host": socket.gethostname(), "pid": os.getpid(), "started": started, "heartbeat": now,
    })


def _release(storage, study_id: int) -> None:
    try:
        if (storage.get_study_user_attrs(study_id).get(OWNER_ATTR) or {}).get("run") == RUN_ID:
            storage.set_study_user_attr(study_id, OWNER_ATTR, None)
    except Exception:  # at exit, with the storage perhaps gone: the next run takes over instead
        pass
