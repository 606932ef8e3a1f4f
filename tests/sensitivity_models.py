"""User code for tests/test_sensitivity.py: metrics with known sensitivities, computed from the
trial's values by a runtime (the model itself is a bare world: nothing to simulate)."""

from __future__ import annotations

import math

import mujoco

from mojo.runtime import TrialContext, TrialFailed


def empty(values: dict) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[1, 1, 0.1])
    return spec


def ishigami_value(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """The Ishigami function on [-pi, pi]^3: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def ishigami(model: mujoco.MjModel, data: mujoco.MjData, trial: TrialContext) -> dict[str, float]:
    """Metrics ``ishigami`` and ``constant`` (1.0 in every trial: no parameter drives it)."""
    values = trial.values
    return {"ishigami": ishigami_value(values["x1"], values["x2"], values["x3"]), "constant": 1.0}


def threshold(model: mujoco.MjModel, data: mujoco.MjData, trial: TrialContext) -> dict[str, float]:
    """Fails when ``x`` > 0.7, whatever ``y``; metric ``x_plus_y`` otherwise."""
    if trial.values["x"] > 0.7:
        raise TrialFailed(f"x = {trial.values['x']:.3f} is above 0.7")
    return {"x_plus_y": trial.values["x"] + trial.values["y"]}
