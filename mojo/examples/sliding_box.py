"""A box launched along a floor, sliding to a stop: a single body, cheap to simulate.

Parameters: ``friction`` (sliding coefficient), ``speed`` (initial speed, m/s) and ``mass`` (kg).
It stops after about ``speed**2 / (2 * friction * 9.81)`` metres, which makes it a test bed for
optimisation (find the friction that stops it at a target distance).
"""

from __future__ import annotations

import mujoco

TARGET_DISTANCE = 0.5
"""Distance (m) the optimisation example wants the box to stop at."""


def build(values: dict, timestep: float = 0.002) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    spec.modelname = "sliding_box"
    spec.option.timestep = timestep
    friction = [values["friction"], 0.005, 0.0001]
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[10, 10, 0.1], friction=friction)
    box = spec.worldbody.add_body(name="box", pos=[0, 0, 0.05])
    box.add_freejoint(name="free")
    box.add_geom(name="box", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.05, 0.05, 0.05], mass=values.get("mass", 1.0), friction=friction)
    spec.add_key(name="launch", qpos=[0, 0, 0.05, 1, 0, 0, 0], qvel=[values["speed"], 0, 0, 0, 0, 0])
    return spec


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    return {"distance": float(data.qpos[0]), "final_speed": float(abs(data.qvel[0]))}


def objective(metrics: dict[str, float]) -> float:
    """How far from the target distance the box stopped (m): minimise it."""
    return abs(metrics["distance"] - TARGET_DISTANCE)
