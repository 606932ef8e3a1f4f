"""Small models for tests whose trials end with every status, chosen by the parameter ``mode``:

* ``success``: a pendulum that swings;
* ``error``: the generator raises;
* ``unstable``: the pendulum starts with a huge velocity (MuJoCo's bad-qvel warning);
* ``failure``: the metrics function raises :class:`mojo.runtime.TrialFailed`;
* ``timeout``: the metrics function sleeps past the study's ``trial_timeout``.
"""

from __future__ import annotations

import time

import mujoco

from mojo.runtime import TrialFailed


def build(values: dict) -> mujoco.MjSpec:
    mode = values["mode"]
    if mode == "error":
        raise ValueError("this generator refuses mode 'error'")
    spec = mujoco.MjSpec()
    spec.modelname = "status_pendulum"
    pole = spec.worldbody.add_body(name=f"pole_{mode}", pos=[0, 0, 1])
    pole.add_joint(name="hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 1, 0])
    pole.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, pos=[0, 0, -values["length"]], size=[0.05, 0, 0], mass=1)
    velocity = 1e12 if mode == "unstable" else 0.0
    spec.add_key(name="start", qpos=[0.5], qvel=[velocity])
    return spec


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    mode = model.body(1).name.removeprefix("pole_")
    if mode == "failure":
        raise TrialFailed("the pendulum did not come to rest")
    if mode == "timeout":
        time.sleep(30)
    return {"angle": float(data.qpos[0]), "speed": float(data.qvel[0])}
