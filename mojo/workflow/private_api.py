"""Every reach into Snakemake beyond its public API, in one place (pinned: ``snakemake>=9,<10``).

mojo prefers the public hooks: the rule files' ``onstart``/``onsuccess``/``onerror`` handlers,
profiles and the SLURM plugin's own settings. What is left here has no public equivalent; each
function names the Snakemake attribute it relies on and why no public hook does the job, and
tests/test_private_api.py checks each against the installed Snakemake (by a tiny real run), so a
release that changes one fails those tests by name instead of breaking mojo silently.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any

Around = Callable[..., Any]
"""``around(execute, *args, **kwargs)``: runs in place of ``workflow.execute(*args, **kwargs)``
and calls ``execute`` itself."""

RESCHEDULE_TIMER = "JobScheduler._schedule_reevalutation"
"""Qualified name (misspelt as in Snakemake) of the method that starts the scheduler's timers."""


def around_execute(workflow: Any, name: str, around: Around) -> None:
    """Make ``around`` run in place of ``workflow.execute`` in the main Snakemake process (cluster
    jobs are left alone). A second call with the same ``name`` does nothing (a Snakefile may be
    parsed more than once in one process).

    Relies on ``Workflow.execute(executor_plugin=..., executor_settings=..., ...)`` being called
    with keywords once the DAG settings are known. No public hook runs between "the executor
    plugin and its settings are chosen" and "the executor exists": the Snakefile is parsed before
    the executor is chosen, and ``onstart`` runs after the executor was created from its
    settings. The run lock (:mod:`mojo.workflow.locks`, needs to know a dry run) and the SLURM
    run guard (:mod:`mojo.slurm.guard`, fixes the plugin's settings) need exactly that moment.
    """
    if not workflow.is_main_process:
        return
    hooked = workflow.__dict__.setdefault("_mojo_execute_hooks", set())
    if name in hooked:
        return
    hooked.add(name)
    execute = workflow.execute

    @functools.wraps(execute)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return around(execute, *args, **kwargs)

    workflow.execute = wrapped


def jobs_to_run(workflow: Any) -> Iterable[Any]:
    """The jobs this run will execute, from ``onstart`` (before the first is submitted).

    Relies on ``workflow.dag.needrun_jobs()``: a Snakefile sees its DAG through no public API,
    and the jobs' ``resources``/``threads``/``is_local``/``rule.name`` (public for executor
    plugins) are what the SLURM pre-submission check needs.
    """
    return workflow.dag.needrun_jobs()


def stop_rescheduling_timers() -> int:
    """Cancel Snakemake's pending job-rate timers once a run is over; returns how many.

    Snakemake's scheduler re-checks its job rate limit on a ``threading.Timer`` started by
    ``JobScheduler._schedule_reevalutation`` (one second by default), and Python waits for such
    threads before it exits: without this, every finished run sits idle for up to a second. No
    public setting avoids it: ``--max-jobs-per-timespan`` only takes whole units (Snakemake 9
    reads ``1/10ms`` as ten *minutes*), and a zero timespan makes the scheduler spin. Run from
    ``onsuccess``/``onerror``, when the scheduler has stopped.
    """
    cancelled = 0
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and RESCHEDULE_TIMER in getattr(
            function, "__qualname__", ""
        ):
            thread.cancel()
            cancelled += 1
    return cancelled
