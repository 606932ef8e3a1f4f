"""A damped pendulum released from an angle: the default study's model.

Parameters: ``length`` (m), ``mass`` (kg), ``damping`` (N·m·s/rad), ``initial_angle`` (deg) and
``bob_shape`` (``sphere`` or ``box``).
"""

from __future__ import annotations

import math

import mujoco

from mojo.examples.scenery import GRID, add_scenery

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
        name="rod", type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=[0, 0, 0, 0, 0, -length], size=[0.01, 0, 0], mass=0.01,
        rgba=[0.35, 0.35, 0.38, 1],
    )
    shape = mujoco.mjtGeom.mjGEOM_SPHERE if values["bob_shape"] == "sphere" else mujoco.mjtGeom.mjGEOM_BOX
    pole.add_geom(
        name="bob", type=shape, pos=[0, 0, -length], size=[0.05, 0.05, 0.05], mass=values["mass"],
        rgba=[0.85, 0.35, 0.1, 1],
    )
    pole.add_site(name="bob", pos=[0, 0, -length])
    # Named for the study's signals: the bob's velocity in the world frame.
    spec.add_sensor(name="bob_vel", type=mujoco.mjtSensor.mjSENS_FRAMELINVEL, objtype=mujoco.mjtObj.mjOBJ_SITE, objname="bob")
    spec.add_key(name="release", qpos=[math.radians(values["initial_angle"])])
    _scenery(spec)
    return spec


def _scenery(spec: mujoco.MjSpec) -> None:
    """Around the physics, for the pictures: a floor grid (no contacts: the bob never reaches it),
    a pivot mount and a camera facing the swing."""
    add_scenery(spec)
    world = spec.worldbody
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[8, 8, 0.1], material=GRID,
                   contype=0, conaffinity=0)
    world.add_geom(name="mount", type=mujoco.mjtGeom.mjGEOM_CYLINDER, pos=[0, 0, PIVOT_HEIGHT], size=[0.03, 0.06, 0],
                   quat=[0.7071068, 0.7071068, 0, 0], rgba=[0.25, 0.25, 0.28, 1], contype=0, conaffinity=0)
    world.add_camera(name="side", pos=[0, -3.0, 1.45], xyaxes=[1, 0, 0, 0, 0.05, 1])


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """Where the pendulum ended up and how much energy it kept."""
    return {
        "final_angle": math.degrees(data.qpos[0]),
        "final_speed": float(data.qvel[0]),
        "energy": float(data.energy[0] + data.energy[1]),
    }
