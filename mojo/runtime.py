"""Running a compiled model: the default runtime and the checks that classify a trial.

A user runtime replaces :func:`simulate` (controllers, custom stop conditions). It is called as
``runtime(model, data, trial, *run_args, **run_kwargs)`` and returns a dict of metrics. To stop at
the first sign of diverging physics, step with :func:`step` (it raises :class:`Unstable`), and
raise :class:`TrialFailed` when a check of your own fails.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable

import mujoco
import numpy as np

# Warnings that mean the physics diverged; MuJoCo resets the state when it sees them and carries
# on, so without this check a diverged trial would look like a successful one.
INSTABILITY_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQACC,
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
)

STEPS_PER_CHECK = 100
"""Steps between instability checks: rare enough to cost nothing, soon enough to stop at once."""


class TrialFailed(Exception):
    """Raise from a runtime or metrics function when a check of yours fails: status ``failure``."""


class Unstable(Exception):
    """The physics diverged (a MuJoCo instability warning or a non-finite state): status ``unstable``."""


@dataclass(frozen=True)
class TrialContext:
    """What a runtime knows about the trial it runs."""

    number: int
    """Trial number (for optimisation: the evaluation's stream number)."""
    seed: int
    """Seed for randomness of your own (noise, disturbances); reproducible per trial."""
    values: dict[str, Any]
    """The trial's parameter values, by name."""
    duration: float
    """Simulated seconds the study config asks for."""
    metrics: Callable[[mujoco.MjModel, mujoco.MjData], dict[str, float]] | None = None
    """The config's ``metrics`` function, if any."""


def _warn_to_stderr(message: str) -> None:
    print(f"MuJoCo warning: {message}", file=sys.stderr)


# MuJoCo's default handler appends to MUJOCO_LOG.TXT in the working directory; the counts are in
# each trial's result, and the text belongs in the job's log.
mujoco.set_mju_user_warning(_warn_to_stderr)


def warning_counts(data: mujoco.MjData) -> dict[str, int]:
    """MuJoCo warnings raised so far, by name, with how often each was raised."""
    counts = data.warning.number
    return {mujoco.mjtWarning(i).name: int(n) for i, n in enumerate(counts) if n > 0}


_INSTABILITY_INDICES = tuple(int(w) for w in INSTABILITY_WARNINGS)  # plain ints index faster


def _check_warnings(data: mujoco.MjData, counts: np.ndarray | None = None) -> None:
    counts = data.warning.number if counts is None else counts
    if any(counts[i] for i in _INSTABILITY_INDICES):
        warning = next(w for w in INSTABILITY_WARNINGS if counts[w])
        raise Unstable(f"{warning.name} (MuJoCo reset the state) by t={data.time:.4g}s")


def check_stable(data: mujoco.MjData) -> None:
    """Raise :class:`Unstable` if MuJoCo flagged divergence or the state is not finite."""
    _check_warnings(data)
    if not (np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()):
        raise Unstable(f"non-finite state at t={data.time:.4g}s")


def step(model: mujoco.MjModel, data: mujoco.MjData, n_steps: int) -> None:
    """Advance ``n_steps`` steps, checking for divergence every :data:`STEPS_PER_CHECK` steps."""
    counts = data.warning.number  # a view: it follows the counters as MuJoCo updates them
    while n_steps > 0:
        chunk = min(n_steps, STEPS_PER_CHECK)
        mujoco.mj_step(model, data, nstep=chunk)
        # MuJoCo itself flags non-finite or huge qpos/qvel/qacc as these warnings; the full
        # finiteness check runs once, after the runtime returns.
        _check_warnings(data, counts)
        n_steps -= chunk


def simulate(model: mujoco.MjModel, data: mujoco.MjData, trial: TrialContext) -> dict[str, float]:
    """The default runtime: start from the model's first keyframe (if it has one), step for
    ``duration`` simulated seconds, then compute the metrics."""
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, 0)
    step(model, data, round(trial.duration / model.opt.timestep))
    return trial.metrics(model, data) if trial.metrics else {}
