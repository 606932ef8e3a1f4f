"""Pictures of trials: the offscreen replay and render, the camera, which trials the report
pictures, ``mojo show --render`` and the report's pictures.

Rendering needs an OpenGL backend (OSMesa or EGL): without one these tests skip, naming what is
missing, except under ``CI=true``, where they fail (CI installs libosmesa6).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import mujoco
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mojo.cli import main
from mojo.config.pictures import PicturesConfig
from mojo.config.study import load_study
from mojo.results.pictures import choose_trials
from mojo.results.render import GLUnavailable, camera, render_trial
from mojo.trials import layout
from mojo.trials.files import NamedValue
from mojo.trials.targets import study_fingerprint
from mojo.trials.trial import UserCode, code_hashes, config_template, plan_trial, run_trial
from tests.conftest import REPO

SETTINGS = PicturesConfig(width=160, height=120, fps=20, frames=4, failures=2)


def make_study(root: Path, generator: str, speeds: list[float], **changes):
    """Trials of the thrown ball, one per speed (trial 0 at the nominal speed), run in-process."""
    config = {
        "study": "throws",
        "results_dir": str(root),
        "n_trial": len(speeds),
        "generator": f"tests.render_models:{generator}",
        "metrics": "tests.render_models:metrics",
        "duration": 0.5,
        "parameters": {"speed": {"dist": "uniform", "low": 1.0, "high": 3.0}},
        **changes,
    }
    study = load_study(config)
    template, code = config_template(study, code_hashes(study)), UserCode.load(study)
    for number, speed in enumerate(speeds):
        fixed = {"speed": NamedValue(value=speed, source="override")}
        run_trial(plan_trial(study, number, layout.trial_dir(study, number), template, fixed=fixed), code)
    return study


def needs_gl(render):
    """``render()``, skipped (failed under CI=true) where no OpenGL backend works."""
    try:
        return render()
    except GLUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {error}", pytrace=False)
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    """One trial with a camera and one without, rendered to GIF and PNG; a trial that fails halfway."""
    root = tmp_path_factory.mktemp("render")
    # The render process imports tests.render_models.
    os.environ["PYTHONPATH"] = f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    out = {}
    for name, generator, speeds, changes in [
        ("camera", "thrown_ball", [2.0], {}),
        ("free", "no_camera", [2.0], {}),
        ("failed", "thrown_ball", [3.0], {"runtime": "tests.render_models:too_far_fails"}),
    ]:
        study = make_study(root / name, generator, speeds, **changes)
        folder = layout.trial_dir(study, 0)
        gif, png = root / f"{name}.gif", root / f"{name}.png"
        result = needs_gl(lambda: render_trial(folder, SETTINGS, gif=gif, png=png, title=f"{name} throw"))
        out[name] = {"folder": folder, "gif": gif, "png": png, "result": result}
    return out


def frames(gif: Path) -> list[np.ndarray]:
    with Image.open(gif) as image:
        found = []
        for index in range(image.n_frames):
            image.seek(index)
            found.append(np.asarray(image.convert("RGB")))
    return found


def red_pixels(pixels: np.ndarray) -> int:
    """Pixels of the red ball: the model is in view."""
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    return int(((r > 120) & (g < 60) & (b < 60)).sum())


@pytest.mark.parametrize("name", ["camera", "free"])
def test_gif_frames_have_the_size_asked_for_and_show_the_moving_model(renders, name):
    render = renders[name]
    shown = frames(render["gif"])
    # 0.5 s at 20 frames a second: t = 0, 0.05, ..., 0.45 and the end state at 0.5.
    assert render["result"].frames == len(shown) == 11
    assert render["result"].ended is None
    for pixels in shown:
        assert pixels.shape == (SETTINGS.height, SETTINGS.width, 3)
        assert pixels.std() > 10, "a blank frame"
        assert red_pixels(pixels) > 20, "the ball is out of view"
    assert np.abs(shown[0].astype(int) - shown[-1].astype(int)).mean() > 0.5, "nothing moved"


def test_strip_is_one_row_of_frames_at_full_resolution(renders):
    with Image.open(renders["camera"]["png"]) as strip:
        assert strip.width == SETTINGS.width * SETTINGS.frames
        assert SETTINGS.height < strip.height < 2 * SETTINGS.height  # frames under their times, a title
        assert np.asarray(strip.convert("RGB")).std() > 10


def test_camera_is_the_models_first_else_a_free_camera_framing_it(renders):
    with_camera = mujoco.MjModel.from_xml_path(str(renders["camera"]["folder"] / "model.xml"))
    assert camera(with_camera) == 0
    model = mujoco.MjModel.from_xml_path(str(renders["free"]["folder"] / "model.xml"))
    assert model.ncam == 0
    free = camera(model)
    assert free.type == mujoco.mjtCamera.mjCAMERA_FREE
    np.testing.assert_allclose(free.lookat, model.stat.center)
    assert free.distance == pytest.approx(1.5 * model.stat.extent)
    # Given where the bodies went, it frames all of it (the GIF test checks the ball stays in view).
    framed = camera(model, np.array([[0.0, 0.0, 0.3], [1.0, 0.0, 0.3]]))
    np.testing.assert_allclose(framed.lookat, [0.5, 0.0, 0.3])
    assert framed.distance > free.distance
    # The two views differ: the fallback is not the model's camera.
    first = [frames(renders[name]["gif"])[0].astype(int) for name in ("camera", "free")]
    assert np.abs(first[0] - first[1]).mean() > 5


def test_a_trial_that_failed_is_pictured_until_it_stopped(renders):
    result = renders["failed"]["result"]
    assert result.ended.startswith("TrialFailed: thrown too far")
    assert result.sim_time == pytest.approx(0.25, abs=0.003)
    assert result.frames == len(frames(renders["failed"]["gif"])) == 6  # t = 0 ... 0.2, and where it stopped


def table(rows: list[tuple], columns=("trial", "status", "reason", "objective", "distance")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def test_trials_chosen_nominal_best_worst_and_first_failures():
    rows = table([
        (0, "success", None, 0.5, 1.5),
        (1, "failure", "too far", None, None),
        (2, "success", None, 0.1, 1.1),
        (3, "unstable", "BADQACC", None, None),
        (4, "success", None, 3.2, 4.2),
        (5, "error", "ValueError", None, None),
        (6, "success", None, None, 2.0),  # no objective (not finite): never ranked
    ])
    chosen = choose_trials(rows, ["distance"], failures=2)
    assert [(c.trial, c.keys) for c in chosen] == [
        (0, ["nominal"]), (1, ["failure"]), (2, ["best"]), (3, ["failure"]), (4, ["worst"]),
    ]
    assert chosen[4].reasons == ["worst by objective: trial 4, objective 3.2"]
    assert chosen[1].reasons == ["did not succeed: trial 1, failure (too far)"]
    maximised = choose_trials(rows, ["distance"], failures=0, maximize=True)
    assert [(c.trial, c.keys) for c in maximised] == [(0, ["nominal"]), (2, ["worst"]), (4, ["best"])]


def test_without_an_objective_the_first_metric_ranks_and_reasons_merge():
    rows = table(
        [
            (0, "success", None, None, 0.2, 9.0),
            (1, "success", None, None, 0.7, 1.0),
            (2, "success", None, None, 0.5, 5.0),
        ],
        columns=("trial", "status", "reason", "objective", "distance", "height"),
    )
    chosen = choose_trials(rows, ["distance", "height"], failures=3, units={"distance": "m"})
    assert [(c.trial, c.keys) for c in chosen] == [(0, ["nominal", "lowest"]), (1, ["highest"])]
    assert chosen[0].reasons[1] == "lowest of distance: trial 0, distance 0.2 m"
    assert choose_trials(table([]), [], failures=3) == []


def test_mojo_show_render_writes_a_gif(renders, tmp_path, capsys):
    folder = renders["camera"]["folder"]
    gif = tmp_path / "out.gif"
    assert main(["show", str(folder), "--render", str(gif)]) == 0
    assert "rendered 11 frames" in capsys.readouterr().out
    assert len(frames(gif)) == 11
    assert main(["show", str(folder), "--render", str(tmp_path / "out.mp4")]) == 2
    assert "cannot write a .mp4 file; use .gif, .png" in capsys.readouterr().err


def test_no_gl_backend_is_a_clear_error(renders, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "none-such")
    assert main(["show", str(renders["camera"]["folder"]), "--render", str(tmp_path / "out.gif")]) == 1
    err = capsys.readouterr().err
    assert "no OpenGL backend works here (MUJOCO_GL=none-such:" in err
    assert "MUJOCO_GL=osmesa with Debian's libosmesa6" in err
    assert not (tmp_path / "out.gif").exists()


@pytest.mark.slow
def test_report_shows_pictures_of_chosen_trials_with_why(renders, workflow):
    workflow.write_config({
        "study": "throws",
        "seed": 1,
        "n_trial": 5,  # seed 1: four successes, one failure (speed > 2.5)
        "generator": "tests.render_models:thrown_ball",
        "runtime": "tests.render_models:too_far_fails",
        "metrics": "tests.render_models:metrics",
        "objective": "tests.render_models:objective",
        "duration": 0.2,
        "parameters": {"speed": {"dist": "uniform", "low": 1.0, "high": 3.0, "nominal": 2.0}},
        "pictures": {"width": 64, "height": 48, "fps": 10, "frames": 2, "failures": 1},
    })
    workflow.run("pictures")  # the trials, their table and the pictures: not the other plots
    pictures = workflow.study_dir("throws") / "pictures"
    index = json.loads((pictures / "pictures.json").read_text())
    trials = pd.read_parquet(workflow.study_dir("throws") / "trials.parquet")
    ok = trials[trials.status == "success"].sort_values("objective")
    worst = int(ok.trial.iloc[-1])
    failed = int(trials[trials.status == "failure"].trial.min())
    keys = {entry["trial"]: entry["keys"] for entry in index}
    assert keys[0][0] == "nominal" and "best" in keys[int(ok.trial.iloc[0])]
    assert keys[worst] == ["worst"] and keys[failed] == ["failure"]
    assert sorted(p.name for p in pictures.glob("*.gif")) == sorted(e["gif"] for e in index)
    workflow.run("pictures", "--report", "report.zip")
    with zipfile.ZipFile(workflow.workdir / "report.zip") as report:
        html = report.read(next(n for n in report.namelist() if n.endswith("report.html"))).decode()
        stored = [n for n in report.namelist() if n.endswith(".gif")]
    assert len(stored) == len(index)
    assert f"worst by objective: trial {worst}, objective {ok.objective.iloc[-1]:.4g}" in html
    assert f"did not succeed: trial {failed}, failure (thrown too far" in html
    assert f"trial_{worst:04d}</strong>, chosen as\\nthe worst successful trial by objective" in html


def test_pictures_change_no_trial(tmp_path):
    """``pictures`` only reads finished trials: it is in neither the fingerprint nor a trial's config."""
    base = {"study": "s", "results_dir": str(tmp_path), "generator": "tests.render_models:thrown_ball"}
    plain, pictured = load_study(base), load_study({**base, "pictures": {"fps": 5}})
    assert pictured.pictures == PicturesConfig(fps=5)
    assert study_fingerprint(plain) == study_fingerprint(pictured)
    hashes = code_hashes(plain)
    assert config_template(plain, hashes) == config_template(pictured, hashes)
