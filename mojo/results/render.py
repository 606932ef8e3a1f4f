"""Pictures of one trial: replay it from its files and render it with MuJoCo's offscreen renderer.

A trial keeps no states, but its files make it again bit for bit (``config.json``: generator,
runtime, their arguments, duration, trial seed; ``named_values.json``), so a picture replays the
trial: its generator builds the model again (``model.xml`` is not exact: MuJoCo writes numbers to
six significant digits, and a chaotic model replayed from it drifts from the trial), then one
more simulation of it, sampled by :func:`mojo.runtime.sample_every` at the GIF's frame
rate, plus the rendering, a few milliseconds a frame at 480 x 360 in software (OSMesa). Output: an
animated GIF (played at the frame rate: real time) and a strip of frames as one PNG.

MuJoCo chooses its OpenGL backend (``MUJOCO_GL``) when it is first imported and cannot switch
afterwards, and Snakemake's process and a test runner import it early. So every render runs in a
process of its own, ``python -m mojo.results.render``, one per trial (a replay that crashes takes
only its own picture down; about half a second of start-up each). ``MUJOCO_GL``, when set, is used
as it is; otherwise ``egl`` is tried first where a GPU device is present and ``osmesa`` first
elsewhere, then the other one.
"""

from __future__ import annotations

import glob
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mojo.config import codepath
from mojo.config.pictures import PicturesConfig
from mojo.results.provenance import Environment
from mojo.trials.files import (
    CONFIG_JSON,
    NAMED_VALUES_JSON,
    NamedValues,
    TrialConfig,
    atomic_output,
    read_model,
)
from mojo.trials.layout import ENVIRONMENT
from mojo.trials.sampling import plain_values
from mojo.trials.trial import generated_model, seed_global_generators

MAX_GIF_FRAMES = 400
"""Most frames a GIF holds (about 20 MB of frames in memory at 480 x 360): a trial longer than
``MAX_GIF_FRAMES / fps`` seconds is sampled more sparsely and its GIF plays faster than real time."""

GL_UNAVAILABLE = 3
"""The render process's exit status when no OpenGL context can be made with its ``MUJOCO_GL``."""

GL_HELP = (
    "MuJoCo's offscreen renderer needs an OpenGL backend: set MUJOCO_GL=egl on a machine with a "
    "GPU (and its EGL driver), or MUJOCO_GL=osmesa with Debian's libosmesa6 "
    "(apt-get install libosmesa6)"
)


class GLUnavailable(RuntimeError):
    """No OpenGL backend could make a context for MuJoCo's renderer here; the message says which
    were tried, why each failed, and what to install."""


class RenderFailed(RuntimeError):
    """The trial could not be replayed or rendered (its files, its code); the message says why."""


@dataclass(frozen=True)
class Rendered:
    """What a render made of a trial."""

    frames: int
    """Frames in the GIF."""
    sim_time: float
    """Simulated seconds the replay reached."""
    ended: str | None
    """Why the replay stopped before its runtime returned (the trial's own failure), or None."""
    speedup: float
    """How much faster than real time the GIF plays (1 unless the trial is long)."""
    backend: str
    """The ``MUJOCO_GL`` that rendered it."""
    warnings: str = ""
    """What the render process printed (a trial's code changed since it ran, its own output)."""


# ---------------------------------------------------------------------------------------------
# The caller's side: choose a backend and run the render process.


_working_backend: list[str] = []
"""The backend that rendered last in this process: tried first next time."""


def backend_order() -> list[str]:
    """The ``MUJOCO_GL`` values to try, in order: the one set, else the one that worked last,
    then the likelier of ``egl`` and ``osmesa`` here."""
    if os.environ.get("MUJOCO_GL"):
        return [os.environ["MUJOCO_GL"]]
    gpu = os.path.exists("/dev/nvidia0") or glob.glob("/dev/dri/renderD*")
    return list(dict.fromkeys(_working_backend + (["egl", "osmesa"] if gpu else ["osmesa", "egl"])))


def render_trial(
    folder: Path, settings: PicturesConfig, gif: Path | None = None, png: Path | None = None, title: str = ""
) -> Rendered:
    """Replay the trial in ``folder`` and write its animated ``gif`` and its strip of frames
    ``png`` (either may be None); ``title`` heads the strip. Raises :class:`GLUnavailable` when
    no backend works, :class:`RenderFailed` when the trial cannot be replayed or rendered."""
    request = {
        "folder": str(Path(folder).resolve()),
        "gif": str(Path(gif).resolve()) if gif else None,
        "png": str(Path(png).resolve()) if png else None,
        "title": title,
        "settings": settings.model_dump(),
    }
    failures = []
    for backend in backend_order():
        done, result = _run_worker(request, backend)
        if done.returncode == 0:
            _working_backend[:] = [backend]
            return Rendered(**result, backend=backend, warnings=done.stderr.strip())
        why = _last_line(done.stderr)
        if done.returncode != GL_UNAVAILABLE:
            raise RenderFailed(f"{folder}: {why}")
        failures.append(f"MUJOCO_GL={backend}: {why}")
    raise GLUnavailable(f"no OpenGL backend works here ({'; '.join(failures)}). {GL_HELP}")


def study_folder_of(trial_folder: Path) -> Path | None:
    """The folder the trial's study ran in (where its own modules are), as the study's
    ``environment.json`` records it: the render process runs there, as the trials did, so that
    ``mojo show --render`` works from any folder. A Monte Carlo trial's study is its parent, an
    optimisation's evaluation's its grandparent."""
    for study in Path(trial_folder).resolve().parents[:2]:
        try:
            recorded = read_model(study / ENVIRONMENT["json"], Environment).study_folder.get("path")
        except (OSError, ValueError):  # none here, or unreadable (pydantic's errors are ValueErrors)
            continue
        return Path(recorded) if isinstance(recorded, str) and Path(recorded).is_dir() else None
    return None


def _run_worker(request: dict[str, Any], backend: str) -> tuple[subprocess.CompletedProcess, dict]:
    with tempfile.TemporaryDirectory(prefix="mojo-render-") as scratch:
        result_path = Path(scratch) / "result.json"
        env = {**os.environ, "MUJOCO_GL": backend}
        env.pop("PYOPENGL_PLATFORM", None)  # MuJoCo sets it to match MUJOCO_GL
        done = subprocess.run(
            [sys.executable, "-m", "mojo.results.render", str(result_path)],
            input=json.dumps(request),
            env=env,
            capture_output=True,
            text=True,
            cwd=study_folder_of(Path(request["folder"])),  # None: here
        )
        result = json.loads(result_path.read_text()) if done.returncode == 0 else {}
    return done, result


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "the render process ended without a message"


# ---------------------------------------------------------------------------------------------
# The render process: MUJOCO_GL is set before mujoco is imported.


def camera(model: Any, positions: np.ndarray | None = None) -> Any:
    """The model's first camera (its index) if it has one, else a free camera framing the model,
    from the azimuth and elevation of its ``<visual><global>`` (by default from the side, 45
    degrees above): looking at its centre from 1.5 times its extent (``model.stat``, the model
    as compiled) or, given the bodies' ``positions`` over the trial (n, 3), at the middle of
    where they went, from far enough to keep all of it in view."""
    import mujoco

    if model.ncam:
        return 0
    free = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, free)
    if positions is not None and len(positions):
        low, high = positions.min(axis=0), positions.max(axis=0)
        free.lookat[:] = (low + high) / 2
        radius = np.linalg.norm(high - low) / 2 + (model.geom_rbound.max() if model.ngeom else 0)
        fits = radius / math.sin(math.radians(model.vis.global_.fovy) / 2)
        free.distance = max(free.distance, fits)
    return free


class Replay:
    """A trial made again from its files, ready to run."""

    def __init__(self, folder: Path):
        self.config = read_model(folder / CONFIG_JSON, TrialConfig)
        self.values = NamedValues.validate_json((folder / NAMED_VALUES_JSON).read_bytes())
        self.model, _ = generated_model(codepath.load(self.config.generator), self.values, self.config)

    def code_changed(self) -> list[str]:
        """The code paths whose source differs from the one the trial ran with."""
        return [
            field
            for field, digest in self.config.code_hashes.items()
            if field != "objective" and codepath.source_hash(getattr(self.config, field)) != digest
        ]

    def run(self, rate: float, callback: Any) -> str | None:
        """Run the trial's runtime, calling ``callback(model, data, t)`` ``rate`` times a simulated
        second; returns why it stopped early (the trial's failure, as its status would), or None.
        Each run starts from a fresh ``data``, as the trial did."""
        import mujoco

        from mojo.runtime import TrialContext, sample_every

        self.data = mujoco.MjData(self.model)
        config = self.config
        metrics = codepath.load(config.metrics) if config.metrics else None
        values = plain_values(self.values)
        context = TrialContext(config.trial, config.trial_seed, values, config.duration, metrics)
        runtime = codepath.load(config.runtime)
        seed_global_generators(config.trial_seed)
        with sample_every(rate, callback), _time_limit(config.trial_timeout):
            try:
                runtime(self.model, self.data, context, *config.run_args, **config.run_kwargs)
            except Exception as exc:  # the trial's own failure: the pictures show how it ended
                return f"{type(exc).__name__}: {exc}".splitlines()[0]
        return None


class TimedOut(Exception):
    """The replay overran the trial's ``trial_timeout`` (as the trial did): it stops there."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped after trial_timeout = {seconds:g} s of wall time")


class _time_limit:
    """``trial_timeout`` around the replay (a timed-out trial would run on forever otherwise)."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds

    def _stop(self, signum: int, frame: Any) -> None:
        raise TimedOut(self.seconds)

    def __enter__(self) -> None:
        if self.seconds:
            self.saved = signal.signal(signal.SIGALRM, self._stop)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc_info: Any) -> None:
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.saved)


Frames = list[tuple[float, np.ndarray]]
"""Rendered frames: (simulated time, pixels of shape (height, width, 3))."""


def record_frames(replay: Replay, settings: PicturesConfig) -> tuple[Frames, str | None, float]:
    """Replay the trial, rendering a frame ``fps`` times a simulated second (fewer for a long
    trial: :data:`MAX_GIF_FRAMES`) and one of where it ended; returns the frames as (t, pixels),
    why it ended early, and the sampling's slow-down of the GIF's real time."""
    import mujoco

    from mojo.runtime import INSTABILITY_WARNINGS

    model = replay.model
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, settings.width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, settings.height)
    try:
        renderer = mujoco.Renderer(model, settings.height, settings.width)
    except Exception as exc:
        print(f"cannot make an OpenGL context: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(GL_UNAVAILABLE)
    rate = min(settings.fps, MAX_GIF_FRAMES / replay.config.duration)
    view = camera(model, None if model.ncam else _body_positions(replay, rate))
    frames: Frames = []

    def snap(model: Any, data: Any, t: float) -> None:
        if len(frames) < 2 * MAX_GIF_FRAMES:  # a runtime that runs far past its duration
            renderer.update_scene(data, view)
            frames.append((t, renderer.render().copy()))

    try:
        ended = replay.run(rate, snap)
        data = replay.data
        late = not frames or data.time - frames[-1][0] > 0.5 / rate
        diverged = any(data.warning[w].number for w in INSTABILITY_WARNINGS)  # MuJoCo reset the state
        if late and not diverged:  # where it ended (or began, if it never stepped)
            mujoco.mj_forward(model, data)  # the end state's positions (the last step left them behind)
            snap(model, data, data.time)
    finally:
        renderer.close()
    if not frames:
        raise RenderFailed(f"nothing to draw: the replay diverged before its first frame ({ended})")
    return frames, ended, settings.fps / rate


def _body_positions(replay: Replay, rate: float) -> np.ndarray:
    """Where the model's bodies went during the trial, for a free camera to frame: a replay of
    its own (a simulation costs little beside rendering)."""
    seen: list[np.ndarray] = []
    replay.run(rate, lambda model, data, t: seen.append(data.xpos[1:].copy()))
    positions = np.concatenate(seen) if seen else np.empty((0, 3))
    return positions[np.isfinite(positions).all(axis=1)]


def _stamp(pixels: np.ndarray, text: str):
    """The frame as a Pillow image with ``text`` in its top-left corner."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(pixels)
    size = max(11, image.height // 24)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size)
    left, top, right, bottom = draw.textbbox((size // 2, size // 2), text, font=font)
    pad = size // 4
    draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(255, 255, 255))
    draw.text((size // 2, size // 2), text, fill=(0, 0, 0), font=font)
    return image


def write_gif(path: Path, frames: list[tuple[float, np.ndarray]], fps: float, note: str = "") -> None:
    """An animated GIF of ``frames`` at ``fps``, looping, each frame stamped with its time."""
    images = [_stamp(pixels, f"t = {t:.2f} s{note}") for t, pixels in frames]
    with atomic_output(path) as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
        )


def strip_indices(count: int, frames: int) -> list[int]:
    """``frames`` indices evenly spaced over ``count`` frames, first and last included."""
    return sorted(set(np.linspace(0, count - 1, min(frames, count)).round().astype(int).tolist()))


def write_strip(path: Path, frames: list[tuple[float, np.ndarray]], count: int, title: str) -> None:
    """``count`` frames side by side in one PNG, each under its time, ``title`` above them."""
    from matplotlib.figure import Figure  # no pyplot: its global state belongs to the plot jobs

    chosen = [frames[i] for i in strip_indices(len(frames), count)]
    height, width = chosen[0][1].shape[:2]
    panel = 2.2  # inches; dpi below keeps each frame at its own resolution
    heading = 0.55 if title else 0.3  # inches above the frames: their times, the title
    fig = Figure(figsize=(panel * len(chosen), panel * height / width + heading), dpi=width / panel)
    axes = fig.subplots(1, len(chosen), squeeze=False)[0]
    for ax, (t, pixels) in zip(axes, chosen):
        ax.imshow(pixels, interpolation="none")
        ax.set_title(f"t = {t:.2f} s", fontsize=9, pad=3)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    top = 1 - (heading - 0.05) / fig.get_figheight()
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.01, top=top, wspace=0.03)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")


def _worker(result_path: Path) -> None:
    """The render process: read the request on stdin, write the pictures and ``result_path``."""
    request = json.loads(sys.stdin.read())
    try:
        import mujoco  # noqa: F401 (MUJOCO_GL takes effect here)
    except Exception as exc:
        print(f"cannot load MuJoCo's OpenGL backend: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(GL_UNAVAILABLE)
    settings = PicturesConfig(**request["settings"])
    try:
        replay = Replay(Path(request["folder"]))
        changed = replay.code_changed()
        if changed:
            warning = f"warning: the {' and '.join(changed)} code changed since the trial ran"
            print(f"{warning}: the replay may differ", file=sys.stderr)
        frames, ended, speedup = record_frames(replay, settings)
        note = f" ({speedup:.3g}x)" if speedup > 1.001 else ""
        if request["gif"]:
            write_gif(Path(request["gif"]), frames, settings.fps, note)
        if request["png"]:
            write_strip(Path(request["png"]), frames, settings.frames, request["title"])
    except Exception as exc:  # the trial's files or code: one line for the caller
        sys.exit(f"{type(exc).__name__}: {exc}".splitlines()[0])
    result = {"frames": len(frames), "sim_time": float(replay.data.time), "ended": ended, "speedup": speedup}
    result_path.write_text(json.dumps(result))


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
