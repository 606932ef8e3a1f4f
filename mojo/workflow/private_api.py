"""Running mojo's code when Snakemake starts a run: around ``workflow.execute``.

At parse time Snakemake has not yet chosen the executor or decided whether this is a dry run; both
arrive as arguments of ``workflow.execute``, which has no public hook. mojo's run lock
(:mod:`mojo.workflow.locks`) and SLURM check (:mod:`mojo.slurm.guard`) wrap it here, one owner of that
reach into Snakemake; tests/test_faults_hostile.py and tests/test_slurm_*.py run both through a
real Snakemake.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

Around = Callable[..., Any]
"""``around(execute, *args, **kwargs)``: runs in place of ``workflow.execute(*args, **kwargs)``
and calls ``execute`` itself."""


def around_execute(workflow: Any, name: str, around: Around) -> None:
    """Make ``around`` run in place of ``workflow.execute`` in the main Snakemake process (cluster
    jobs are left alone). A second call with the same ``name`` does nothing (a Snakefile may be
    parsed more than once in one process)."""
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
