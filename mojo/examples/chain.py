"""A chain of hinged links hanging from a pivot and swinging: many joints, heavier to simulate.

Parameters: ``link_length`` (m), ``link_mass`` (kg), ``damping`` (N·m·s/rad) and
``initial_angle`` (deg, of the first joint).
"""

from __future__ import annotations

import math

import mujoco


def build(values: dict, n_links: int = 10, timestep: float = 0.002) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    spec.modelname = f"chain{n_links}"
    spec.option.timestep = timestep
    length = values["link_length"]
    parent = spec.worldbody
    for i in range(n_links):
        link = parent.add_body(name=f"link{i}", pos=[0, 0, 2.0 if i == 0 else -length])
        link.add_joint(name=f"hinge{i}", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 1, 0], damping=values["damping"])
        link.add_geom(
            type=mujoco.mjtGeom.mjGEOM_CAPSULE,
            fromto=[0, 0, 0, 0, 0, -length],
            size=[0.02, 0, 0],
            mass=values["link_mass"],
        )
        parent = link
    spec.add_key(name="release", qpos=[math.radians(values["initial_angle"])] + [0.0] * (n_links - 1))
    return spec


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """Height and sideways reach of the chain's tip at the end."""
    tip = data.xpos[-1]
    return {"tip_x": float(tip[0]), "tip_z": float(tip[2])}
