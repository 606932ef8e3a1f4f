"""Models for tests/test_outputs_user.py: a slider that a force drives ever faster until MuJoCo
flags divergence (its state is reset then), and arms whose number of actuators is a parameter."""

from __future__ import annotations

import mujoco


def runaway(values: dict) -> mujoco.MjSpec:
    """A 1 kg slider pushed by ``push`` N/m of its own position (a negative stiffness): it leaves
    1 m at about t = 0.3 s and MuJoCo's 1e10 limits at about t = 2 s; time step 1 ms."""
    spec = mujoco.MjSpec()
    spec.option.timestep = 0.001
    spec.option.gravity = [0, 0, 0]
    body = spec.worldbody.add_body(name="slider", pos=[0, 0, 0])
    body.add_joint(name="x", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[1, 0, 0], stiffness=-values["push"])
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.1, 0, 0], mass=1.0)
    spec.add_key(qpos=[0.01], qvel=[0.0])
    return spec


def start(model, data, trial):
    mujoco.mj_resetDataKeyframe(model, data, 0)
    from mojo.runtime import step

    step(model, data, round(trial.duration / model.opt.timestep))
    return {"x": float(data.qpos[0])}


def metrics(model, data) -> dict:
    return {"x": float(data.qpos[0])}


def position(model, data) -> dict:
    """A ``fn:`` signal: the slider's position (read after the sample's step)."""
    return {"x": float(data.qpos[0])}
