"""The ``pictures:`` section of the study config: rendered pictures of chosen trials in the report.

Rendering needs an OpenGL backend for MuJoCo's offscreen renderer: EGL (a GPU's driver, or
Mesa's) or OSMesa (Debian's ``libosmesa6``); see :mod:`mojo.results.render`.
"""

from __future__ import annotations

from pydantic import Field

from mojo.config.base import Frozen
from mojo.config.numbers import Real, Whole

MAX_PIXELS = 4096
"""Widest or tallest picture: more than an offscreen framebuffer is sure to hold."""


class PicturesConfig(Frozen):
    """Pictures of the nominal trial, the best and worst by objective (or by the first metric)
    and the first few that did not succeed, replayed from their files after the study ran:
    per trial, an animated GIF and a strip of frames (PNG). Needs an OpenGL backend: EGL, or
    OSMesa (Debian's ``libosmesa6``)."""

    width: Whole = Field(480, ge=16, le=MAX_PIXELS)
    """Width of each frame in pixels."""

    height: Whole = Field(360, ge=16, le=MAX_PIXELS)
    """Height of each frame in pixels."""

    fps: Real = Field(20.0, gt=0, le=100)
    """Frames per simulated second; the GIF plays them at this rate, so in real time (for trials
    longer than its frame budget allows, faster: see ``mojo.results.render.MAX_GIF_FRAMES``)."""

    frames: Whole = Field(6, ge=1, le=20)
    """Frames in the strip (the PNG), evenly spaced from the trial's start to where it ended."""

    failures: Whole = Field(3, ge=0, le=50)
    """How many of the trials that did not succeed (the first by number) are pictured."""
