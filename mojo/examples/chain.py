"""A chain of hinged links hanging from a pivot and swinging: many joints, heavier to simulate.

Parameters: ``link_length`` (m), ``link_mass`` (kg), ``damping`` (N·m·s/rad) and
``initial_angle`` (deg, of the first joint).
"""

from __future__ import annotations

import math

import mujoco

from mojo.examples.scenery import GRID, add_scenery


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
    parent.add_site(name="tip", pos=[0, 0, -length])
    # Named for the study's signals: where the chain's tip is, in the world frame.
    spec.add_sensor(name="tip_pos", type=mujoco.mjtSensor.mjSENS_FRAMEPOS, objtype=mujoco.mjtObj.mjOBJ_SITE, objname="tip")
    spec.add_key(name="release", qpos=[math.radians(values["initial_angle"])] + [0.0] * (n_links - 1))
    _scenery(spec, floor=2.0 - n_links * length - 0.1)
    return spec


def _scenery(spec: mujoco.MjSpec, floor: float) -> None:
    """Around the physics, for the pictures: a floor grid just below the hanging chain's reach
    (no contacts) and links in two colours. No camera: the pictures frame the model with a free
    camera."""
    add_scenery(spec)
    spec.visual.global_.elevation = -15
    for i, geom in enumerate(spec.geoms):
        geom.rgba = [0.85, 0.35, 0.1, 1] if i % 2 else [0.2, 0.4, 0.7, 1]
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, pos=[0, 0, floor], size=[8, 8, 0.1],
                            material=GRID, contype=0, conaffinity=0)


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """Height and sideways reach of the chain's tip at the end."""
    tip = data.xpos[-1]
    return {"tip_x": float(tip[0]), "tip_z": float(tip[2])}
