"""A damped pendulum released from an angle: the default study's model.

Parameters: ``length`` (m), ``mass`` (kg), ``damping`` (N·m·s/rad), ``initial_angle`` (deg) and
``bob_shape`` (``sphere`` or ``box``).
"""

from __future__ import annotations

import math

import mujoco

PIVOT_HEIGHT = 2.0


def build(values: dict, timestep: float = 0.002) -> mujoco.MjSpec:
    """A pendulum swinging about the y axis, starting at ``initial_angle`` from the vertical."""
    spec = mujoco.MjSpec()
    spec.modelname = "pendulum"
    spec.option.timestep = timestep
    spec.option.enableflags |= mujoco.mjtEnableBit.mjENBL_ENERGY
    length = values["length"]
    pole = spec.worldbody.add_body(name="pole", pos=[0, 0, PIVOT_HEIGHT])
    pole.add_joint(name="hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 1, 0], damping=values["damping"])
    pole.add_geom(
        name="rod", type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=[0, 0, 0, 0, 0, -length], size=[0.01, 0, 0], mass=0.01
    )
    shape = mujoco.mjtGeom.mjGEOM_SPHERE if values["bob_shape"] == "sphere" else mujoco.mjtGeom.mjGEOM_BOX
    pole.add_geom(name="bob", type=shape, pos=[0, 0, -length], size=[0.05, 0.05, 0.05], mass=values["mass"])
    spec.add_key(name="release", qpos=[math.radians(values["initial_angle"])])
    return spec


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """Where the pendulum ended up and how much energy it kept."""
    return {
        "final_angle": math.degrees(data.qpos[0]),
        "final_speed": float(data.qvel[0]),
        "energy": float(data.energy[0] + data.energy[1]),
    }
