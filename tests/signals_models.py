"""User code for the signals tests (tests/test_signals.py, tests/test_signals_study.py)."""

from __future__ import annotations

import mujoco
import numpy as np

from mojo.runtime import TrialFailed, step


def stop_halfway(model: mujoco.MjModel, data: mujoco.MjData, trial) -> dict[str, float]:
    """Steps through mojo.runtime.step in a control loop of one step at a time, then fails at
    half the duration: its signals keep what was recorded until then."""
    mujoco.mj_resetDataKeyframe(model, data, 0)
    half = round(trial.duration / model.opt.timestep) // 2
    for _ in range(half):
        data.ctrl[:] = data.time  # a control that differs at every step: ctrl[motor] == t
        step(model, data, 1)
    raise TrialFailed("stopped halfway on purpose")


def energy(model: mujoco.MjModel, data: mujoco.MjData) -> dict:
    """A user signal: a number and an array."""
    return {"height": float(data.xpos[1][2]), "speed": np.array([data.qvel[0], 2 * data.qvel[0]])}


def motorised(values: dict) -> str:
    """A hinged arm with a motor (ctrl signals) and a free box (free joint labels)."""
    return f"""
<mujoco model="motorised">
  <worldbody>
    <body name="arm" pos="0 0 1">
      <joint name="shoulder" type="hinge" axis="0 1 0" damping="0.1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="{values.get("mass", 1.0)}"/>
    </body>
    <body name="box" pos="1 0 1">
      <freejoint name="float"/>
      <geom type="box" size="0.05 0.05 0.05" mass="1"/>
    </body>
  </worldbody>
  <actuator>
    <motor name="motor" joint="shoulder" gear="1"/>
  </actuator>
  <keyframe><key name="start" qpos="0 1 0 1 1 0 0 0" ctrl="0.5"/></keyframe>
</mujoco>
"""


def refused(values: dict) -> str:
    """A generator that builds no model."""
    raise ValueError("no model for this trial")
