"""User code for the warp backend's tests of runtimes of one's own (tests/test_warp_runtimes.py)."""

from __future__ import annotations

import os
import signal

import mujoco

from mojo.runtime import TrialFailed, step
from tests.warp_models import arm_spec


def spring(values: dict) -> mujoco.MjSpec:
    """The arm of tests/warp_models.py at a 10 ms timestep: a huge ``k`` diverges."""
    return arm_spec(values["k"], values["mass"], timestep=0.01)


def _state(data: mujoco.MjData) -> dict[str, float]:
    return {"q": float(data.qpos[0]), "v": float(data.qvel[0]), "t": float(data.time)}


def push_halfway(model, data, trial) -> dict[str, float]:
    """Two stretches of steps with a push between them; the trials ask for different numbers of
    steps, so the batch takes them in several rounds."""
    mujoco.mj_resetDataKeyframe(model, data, 0)
    half = round(trial.duration / model.opt.timestep / 2)
    step(model, data, half)
    data.qfrc_applied[0] = 3.0
    step(model, data, half + trial.number % 3)
    step(model, data, 0)
    return _state(data)


def misbehaving(model, data, trial) -> dict[str, float]:
    """Every fourth trial ends normally; the others raise, after their first steps."""
    mujoco.mj_resetDataKeyframe(model, data, 0)
    step(model, data, 5)
    kind = trial.number % 4
    if kind == 1:
        raise TrialFailed("the arm swung the wrong way")
    if kind == 2:
        raise KeyboardInterrupt
    if kind == 3:
        raise SystemExit(3)
    step(model, data, 5)
    return _state(data)


def own_steps(model, data, trial) -> dict[str, float]:
    """Steps with mj_step itself, never through mojo.runtime.step: all on the CPU."""
    mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_step(model, data, nstep=round(trial.duration / model.opt.timestep))
    return _state(data)


def box_pile(values: dict) -> mujoco.MjSpec:
    """``n`` boxes resting side by side on a floor: four contacts each, more than MuJoCo Warp's
    default room for contacts per world."""
    spec = mujoco.MjSpec()
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[5, 5, 0.1])
    for i in range(int(values["n"])):
        body = spec.worldbody.add_body(pos=[0.3 * i, 0, values["size"]])
        body.add_freejoint()
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[values["size"]] * 3, mass=1.0)
    return spec


def box_heights(model, data) -> dict[str, float]:
    return {"z_min": float(data.xpos[1:, 2].min()), "contacts": float(data.ncon)}


def spring_or_crash(values: dict) -> mujoco.MjSpec:
    """:func:`spring`, except that a ``crash`` of ``generator`` kills the process building it."""
    if values["crash"] == "generator":
        os._exit(3)
    return spring(values)


def angle_or_crash(model, data) -> dict[str, float]:
    """The hinge's angle; the trials whose mass is above 1.5 kill their process (a segfault)."""
    if model.body_mass[1] > 1.5:
        os.kill(os.getpid(), signal.SIGSEGV)
    return {"q": float(data.qpos[0])}
