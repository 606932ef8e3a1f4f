"""User code for tests/test_edges_results.py: a small pendulum whose runtime returns metrics of
the kind named by the parameter ``mode`` (NumPy scalars, NaN, a reserved name, a string, ...)."""

from __future__ import annotations

import mujoco
import numpy as np

from mojo.runtime import step

METRICS = {
    "plain": lambda angle: {"angle": angle, "speed": 1.0},
    "numpy": lambda angle: {
        "angle": np.float32(angle),
        "speed": np.int64(3),
        "flag": True,
        "off": np.bool_(False),
    },
    "nan": lambda angle: {"angle": angle, "speed": float("nan")},
    "inf": lambda angle: {"angle": angle, "speed": -np.inf},
    "reserved": lambda angle: {"angle": angle, "status": 1.0},
    "parameter": lambda angle: {"angle": angle, "length": 2.0},
    "string": lambda angle: {"angle": angle, "speed": "1.5"},
    "none": lambda angle: {"angle": angle, "speed": None},
    "objective_inf": lambda angle: {"angle": angle, "speed": 1.0, "bad_objective": 1.0},
}
"""What the runtime returns in each ``mode``."""


def build(values: dict) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    pole = spec.worldbody.add_body(name="pole", pos=[0, 0, 1])
    pole.add_joint(name="hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 1, 0])
    pole.add_geom(
        type=mujoco.mjtGeom.mjGEOM_SPHERE,
        pos=[0, 0, -float(values.get("length", 0.5))],
        size=[0.05, 0, 0],
        mass=1,
    )
    spec.add_key(qpos=[0.3])
    return spec


def odd_runtime(model, data, trial) -> dict:
    mujoco.mj_resetDataKeyframe(model, data, 0)
    step(model, data, 10)
    return METRICS[trial.values["mode"]](float(data.qpos[0]))


def angle_objective(metrics: dict) -> float:
    """The angle; infinite in mode ``objective_inf``."""
    return float("inf") if "bad_objective" in metrics else float(metrics["angle"])
