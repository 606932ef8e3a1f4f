"""User code for tests/test_warp_user.py: runtimes a researcher writes for the warp backend."""

from __future__ import annotations

import mujoco

from mojo.runtime import Unstable, step


def catches_unstable(model, data, trial) -> dict[str, float]:
    """Steps, and on :class:`Unstable` returns a fallback instead of raising: the trial is
    still ``unstable`` on the CPU backend (``check_stable`` reads MuJoCo's warning counters)."""
    mujoco.mj_resetDataKeyframe(model, data, 0)
    try:
        step(model, data, round(trial.duration / model.opt.timestep))
    except Unstable:
        return {"q": -1.0}
    return {"q": float(data.qpos[0])}


def float_steps(model, data, trial) -> dict[str, float]:
    """Asks for a float number of steps (``np.round`` returns one): a TypeError in this trial's
    call of ``step`` on the CPU backend, which must stay this trial's alone on the device."""
    import numpy as np

    mujoco.mj_resetDataKeyframe(model, data, 0)
    steps = trial.duration / model.opt.timestep
    step(model, data, np.round(steps) if trial.number % 2 else round(steps))
    return {"q": float(data.qpos[0])}


def pushed_by_a_callback(model, data, trial) -> dict[str, float]:
    """Sets MuJoCo's control callback (a push), then steps: the CPU backend calls it on every
    step; MuJoCo Warp cannot call it."""
    mujoco.set_mjcb_control(lambda model, data: data.qfrc_applied.__setitem__(0, 1.0))
    try:
        step(model, data, round(trial.duration / model.opt.timestep))
    finally:
        mujoco.set_mjcb_control(None)
    return {"q": float(data.qpos[0])}
