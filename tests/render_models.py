"""Models for tests/test_render.py: a ball thrown across a floor, with or without a camera, and a
runtime that fails the trial halfway when the ball is thrown too far."""

from __future__ import annotations

import mujoco

from mojo.runtime import TrialContext, TrialFailed, step


def thrown_ball(values: dict, camera: bool = True) -> mujoco.MjSpec:
    """A red ball thrown along x over a checkered floor at ``speed`` (m/s), lit from above."""
    spec = mujoco.MjSpec()
    spec.modelname = "thrown_ball"
    spec.add_texture(
        name="grid", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.8, 0.8, 0.8], rgb2=[0.5, 0.5, 0.5], width=64, height=64,
    )
    grid = spec.add_material(name="grid", texrepeat=[8, 8])
    grid.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "grid"
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[2, 2, 0.1], material="grid")
    spec.worldbody.add_light(pos=[0, 0, 3], dir=[0, 0, -1])
    if camera:
        spec.worldbody.add_camera(name="side", pos=[0.5, -2.5, 0.6], xyaxes=[1, 0, 0, 0, 0.2, 1])
    ball = spec.worldbody.add_body(name="ball", pos=[0, 0, 0.3])
    ball.add_freejoint()
    ball.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.1, 0, 0], mass=1.0, rgba=[0.9, 0.1, 0.1, 1])
    spec.add_key(qpos=[0, 0, 0.3, 1, 0, 0, 0], qvel=[values["speed"], 0, 1.0, 0, 0, 0])
    return spec


def no_camera(values: dict) -> mujoco.MjSpec:
    return thrown_ball(values, camera=False)


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    return {"distance": float(data.qpos[0])}


def objective(metrics: dict[str, float]) -> float:
    return abs(metrics["distance"] - 1.0)


def too_far_fails(model: mujoco.MjModel, data: mujoco.MjData, trial: TrialContext) -> dict[str, float]:
    """The default runtime's steps, but a ball faster than 2.5 m/s fails the trial halfway."""
    mujoco.mj_resetDataKeyframe(model, data, 0)
    half = round(trial.duration / model.opt.timestep / 2)
    step(model, data, half)
    if trial.values["speed"] > 2.5:
        raise TrialFailed(f"thrown too far: {data.qpos[0]:.2f} m at half time")
    step(model, data, half)
    return metrics(model, data)
