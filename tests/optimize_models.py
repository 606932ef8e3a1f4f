"""Small models for the optimisation tests."""

from __future__ import annotations

import time

import mujoco

from mojo.runtime import simulate


def spring(values: dict) -> mujoco.MjSpec:
    """A mass on a stiff spring, released 1 cm from rest: stable with a small ``timestep`` (s),
    diverging at once with a large one (explicit-ish integration of a stiff spring)."""
    spec = mujoco.MjSpec()
    spec.modelname = "spring"
    spec.option.timestep = values["timestep"]
    body = spec.worldbody.add_body(name="mass", pos=[0, 0, 0])
    body.add_joint(name="x", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[1, 0, 0], stiffness=1e7)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.1, 0, 0], mass=values.get("mass", 1.0))
    spec.add_key(qpos=[0.01])
    return spec


def spring_metrics(model, data) -> dict[str, float]:
    return {"x": float(data.qpos[0])}


def spring_objective(metrics: dict[str, float]) -> float:
    return abs(metrics["x"])


def slow_simulate(model, data, trial, delay: float = 0.0) -> dict[str, float]:
    """The default runtime, then a pause: makes an evaluation slow enough to be interrupted."""
    metrics = simulate(model, data, trial)
    time.sleep(delay)
    return metrics
