"""Small generators for the tests: one model per trial status, chosen by the ``mode`` parameter."""

from __future__ import annotations

import os
import random
import signal
import sys
import time

import mujoco
import numpy as np

from mojo.runtime import TrialFailed


def ball(values: dict) -> mujoco.MjSpec:
    """A ball dropped from ``height`` (m) onto a floor: cheap and stable."""
    spec = mujoco.MjSpec()
    spec.modelname = "ball"
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[1, 1, 0.1])
    body = spec.worldbody.add_body(name="ball", pos=[0, 0, values.get("height", 1.0)])
    body.add_freejoint()
    body.add_geom(
        type=mujoco.mjtGeom.mjGEOM_SPHERE,
        size=[values.get("radius", 0.1), 0, 0],
        mass=values.get("mass", 1.0),
    )
    return spec


def exploding(values: dict) -> mujoco.MjSpec:
    """A stiff spring stepped with a huge timestep: the physics diverges."""
    spec = mujoco.MjSpec()
    spec.option.timestep = 0.5
    body = spec.worldbody.add_body(name="mass", pos=[0, 0, 0])
    body.add_joint(type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[1, 0, 0], stiffness=1e9)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.1, 0, 0], mass=0.01)
    spec.add_key(qpos=[1.0])
    return spec


def by_mode(values: dict) -> mujoco.MjSpec | str:
    """``mode`` picks the outcome: ok, unstable, raise, crash, hang, xml (an MJCF string),
    interrupt (as Ctrl-C in the trial's process), print (to stdout and stderr, then ok)."""
    mode = values["mode"]
    if mode == "interrupt":  # the user's Ctrl-C, a SIGINT (a KeyboardInterrupt raised by code is its error)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    if mode == "print":
        print(f"stdout of a trial, mass {values['mass']:.3f}")
        print("stderr of a trial", file=sys.stderr)
    if mode == "raise":
        raise ValueError("the generator refused this trial")
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "hang":
        time.sleep(60)
    if mode == "unstable":
        return exploding(values)
    if mode == "xml":
        return (
            "<mujoco><worldbody><geom type='plane' size='1 1 0.1'/><body pos='0 0 1'><freejoint/>"
            "<geom size='0.1' mass='1'/></body></worldbody></mujoco>"
        )
    return ball(values)


def height_metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """Final height of the first free body; fails the trial check when the ball fell through."""
    if model.nq == 7 and data.qpos[2] < 0:
        raise TrialFailed(f"ball below the floor: z = {data.qpos[2]:.3f}")
    return {"z": float(data.qpos[0 if model.nq == 1 else 2]), "speed": float(abs(data.qvel[0]))}


def checked_metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """Like height_metrics, but every ball heavier than 1.5 kg fails the check."""
    if model.nbody > 1 and model.body_mass[1] > 1.5:
        raise TrialFailed(f"ball too heavy: {model.body_mass[1]:.2f} kg")
    return height_metrics(model, data)


def damped_drop(
    model: mujoco.MjModel, data: mujoco.MjData, trial, drag: float = 0.0, steps: int = 100
) -> dict:
    """A user runtime: pushes the ball up with ``drag`` × its height each step, plus noise seeded
    from the trial, and stops early once the ball is below ``trial.values['height'] / 2``."""
    import numpy as np

    from mojo.runtime import step

    rng = np.random.default_rng(trial.seed)
    for done in range(steps):
        data.qfrc_applied[2] = drag * data.qpos[2] + rng.normal(0.0, 0.01)
        step(model, data, 1)
        if data.qpos[2] < trial.values["height"] / 2:
            break
    return {"z": float(data.qpos[2]), "steps": done + 1}


def ball_at_a_random_height(values: dict) -> mujoco.MjSpec:
    """The ball, dropped from a height drawn from NumPy's global generator, unseeded."""
    return ball({**values, "height": 1.0 + np.random.random()})


def unseeded_draws(model: mujoco.MjModel, data: mujoco.MjData, trial) -> dict[str, float]:
    """A runtime that draws from Python's and NumPy's global generators, unseeded."""
    return {"start": float(model.body_pos[1][2]), "python": random.random(), "numpy": np.random.random()}


def pushed_at_random(model: mujoco.MjModel, data: mujoco.MjData, trial) -> dict[str, float]:
    """A runtime that pushes the ball up by an unseeded draw of each global generator."""
    from mojo.runtime import step

    data.qvel[2] = np.random.random() + random.random()
    step(model, data, round(trial.duration / model.opt.timestep))
    return {"height": float(data.qpos[2])}
