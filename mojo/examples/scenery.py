"""What the bundled examples' pictures show around the physics: a sky, a grid material for a
floor, a shadow-casting light and an offscreen buffer large enough for the report's pictures.

Nothing here touches the physics (no contacts, no mass), which is why it may live in a module
of its own: a trial's provenance hashes only the file that defines its generator, and a change
here changes how a trial looks, never what it computes. Textures are small on purpose: MuJoCo
builds them at every compile, and a 512-pixel skybox made each trial's compile 30 times slower.
"""

from __future__ import annotations

import mujoco

GRID = "grid"
"""The material a floor takes to show the grid."""


def add_scenery(spec: mujoco.MjSpec, grid_repeat: float = 16) -> None:
    """Sky, the ``grid`` material (``grid_repeat`` checker squares across a floor) and a sun."""
    spec.visual.global_.offwidth, spec.visual.global_.offheight = 1920, 1080
    spec.visual.map.shadowclip = 4  # the shadow map covers the floor in view (no speckles at its edge)
    spec.visual.quality.shadowsize = 2048  # a third faster to render than 4096, and looks the same
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.add_texture(
        name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX, builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.55, 0.7, 0.85], rgb2=[0.95, 0.97, 1.0], width=64, height=384,
    )
    spec.add_texture(
        name=GRID, type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.82, 0.84, 0.86], rgb2=[0.74, 0.77, 0.8], mark=mujoco.mjtMark.mjMARK_EDGE,
        markrgb=[0.6, 0.63, 0.66], width=64, height=64,
    )
    grid = spec.add_material(name=GRID, texrepeat=[grid_repeat, grid_repeat], reflectance=0)
    grid.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = GRID
    spec.worldbody.add_light(
        name="sun", type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, pos=[0, 0, 5], dir=[0.2, 0.5, -1],
        diffuse=[0.5, 0.5, 0.5], castshadow=True,
    )
