"""User code for the warp backend's tests (tests/test_warp.py): a hinged arm on a spring whose
stiffness can make it diverge, a generator that can raise, metrics that can be held back."""

from __future__ import annotations

import os
import time

import mujoco

GATE = "MOJO_TEST_WARP_GATE"
"""Environment variable naming a file: while it exists, :func:`held_angle` waits for heavy arms."""
HEAVY = 1.25
"""Arms heavier than this (kg) are held back by the gate."""


def arm(values: dict, tame: bool = False) -> mujoco.MjSpec:
    """A damped hinged arm on a spring of stiffness ``k``, released at 0.5 rad. ``k`` = 1e12
    diverges at this timestep (``tame``: it is 10 instead); ``broken`` = yes raises."""
    if values.get("broken") == "yes":
        raise ValueError(f"no arm of mass {values['mass']:.3f}")
    k = min(values["k"], 10.0) if tame else values["k"]
    return arm_spec(k, values["mass"])


def arm_spec(k: float, mass: float, timestep: float = 0.002) -> mujoco.MjSpec:
    """The arm of :func:`arm`: stiffness ``k``, ``mass`` (kg)."""
    spec = mujoco.MjSpec()
    spec.option.timestep = timestep
    body = spec.worldbody.add_body(name="arm", pos=[0, 0, 1])
    body.add_joint(name="hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 1, 0], stiffness=k, damping=0.1)
    body.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CAPSULE,
        fromto=[0, 0, 0, 0, 0, -0.5],
        size=[0.05, 0, 0],
        mass=mass,
    )
    spec.add_key(qpos=[0.5])
    return spec


def angle(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    return {"q": float(data.qpos[0]), "v": float(data.qvel[0])}


def held_angle(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """:func:`angle`, after waiting (at most a minute) while the gate file exists, for arms
    heavier than :data:`HEAVY`: a job stays in its finish stage until it is killed."""
    gate = os.environ.get(GATE)
    deadline = time.monotonic() + 60
    while gate and os.path.exists(gate) and model.body_mass[1] > HEAVY and time.monotonic() < deadline:
        time.sleep(0.02)
    return angle(model, data)


def lean(metrics: dict[str, float]) -> float:
    """An objective: how far the arm leans."""
    return abs(metrics["q"])
