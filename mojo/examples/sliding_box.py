"""A box launched along a floor, sliding to a stop: a single body, cheap to simulate.

Parameters: ``friction`` (sliding coefficient), ``speed`` (initial speed, m/s) and ``mass`` (kg).
It stops after about ``speed**2 / (2 * friction * 9.81)`` metres, which makes it a test bed for
optimisation (find the friction that stops it at a target distance).
"""

from __future__ import annotations

import mujoco

from mojo.examples.scenery import GRID, add_scenery

TARGET_DISTANCE = 0.5
"""Distance (m) the optimisation example wants the box to stop at."""


def build(values: dict, timestep: float = 0.002) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    spec.modelname = "sliding_box"
    spec.option.timestep = timestep
    friction = [values["friction"], 0.005, 0.0001]
    _scenery(spec)
    spec.worldbody.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[10, 10, 0.1], friction=friction, material=GRID
    )
    box = spec.worldbody.add_body(name="box", pos=[0, 0, 0.05])
    box.add_freejoint(name="free")
    box.add_geom(
        name="box", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.05, 0.05, 0.05], mass=values.get("mass", 1.0),
        friction=friction, rgba=[0.85, 0.35, 0.1, 1],
    )
    # Named for the study's signals: the box's velocity in the world frame.
    spec.add_sensor(name="box_vel", type=mujoco.mjtSensor.mjSENS_FRAMELINVEL, objtype=mujoco.mjtObj.mjOBJ_BODY, objname="box")
    spec.add_key(name="launch", qpos=[0, 0, 0.05, 1, 0, 0, 0], qvel=[values["speed"], 0, 0, 0, 0, 0])
    return spec


def _scenery(spec: mujoco.MjSpec) -> None:
    """Around the physics, for the pictures: a blue line at the target distance (no contacts) and
    a camera along the slide; the floor takes the grid (0.25 m squares)."""
    add_scenery(spec, grid_repeat=80)
    world = spec.worldbody
    world.add_geom(name="target", type=mujoco.mjtGeom.mjGEOM_BOX, pos=[TARGET_DISTANCE, 0, 0.001],
                   size=[0.01, 0.4, 0.001], rgba=[0.1, 0.3, 0.8, 1], contype=0, conaffinity=0)
    world.add_camera(name="side", pos=[0.6, -1.6, 0.7], xyaxes=[1, 0, 0, 0, 0.44, 1])


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    return {"distance": float(data.qpos[0]), "final_speed": float(abs(data.qvel[0]))}


def objective(metrics: dict[str, float]) -> float:
    """How far from the target distance the box stopped (m): minimise it."""
    return abs(metrics["distance"] - TARGET_DISTANCE)
