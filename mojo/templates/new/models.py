"""The study's model: a mass on a damped spring, released from an offset.

``build`` turns one trial's parameter values (the ``parameters:`` of config/config.yaml) into a
MuJoCo model; ``metrics`` reads the numbers the study reports from the final state. Replace both
with your own robot; keep the signatures.
"""

import mujoco


def build(values: dict) -> mujoco.MjSpec:
    """The model of one trial; ``values`` holds every parameter by name."""
    spec = mujoco.MjSpec()
    spec.modelname = "spring_mass"
    body = spec.worldbody.add_body(name="mass", pos=[0, 0, 0])
    body.add_joint(
        name="slide",
        type=mujoco.mjtJoint.mjJNT_SLIDE,
        axis=[1, 0, 0],
        stiffness=values["stiffness"],
        damping=values["damping"],
    )
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.05, 0, 0], mass=values["mass"])
    spec.option.gravity = [0, 0, 0]
    spec.add_key(qpos=[values["offset"]])  # the default runtime starts from the first keyframe
    return spec


def metrics(model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, float]:
    """What the study records of a finished trial (one column each in trials.parquet)."""
    return {"final_position": float(data.qpos[0]), "final_speed": float(data.qvel[0])}
