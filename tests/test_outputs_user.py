"""What a study shows, tried as a user: signals of a trial that diverged, envelopes over trials
whose models differ, and the report's pictures kept whole when one is deleted or damaged."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mojo.cli import main
from mojo.config.study import load_study
from mojo.results import envelopes
from mojo.results.pictures import INDEX, damaged_pictures
from mojo.signals import SIGNALS_FILE, read_signal, write_signals
from mojo.trials import layout
from mojo.trials.trial import UserCode, code_hashes, config_template, plan_trial, run_trial
from tests.conftest import REPO, Workflow


def run_one(root: Path, **changes) -> Path:
    """Trial 0 of the runaway slider, run in-process: the folder it wrote."""
    study = load_study(
        {
            "study": "runaway",
            "results_dir": str(root),
            "n_trial": 1,
            "generator": "tests.outputs_user_models:runaway",
            "runtime": "tests.outputs_user_models:start",
            "metrics": "tests.outputs_user_models:metrics",
            "duration": 1.5,
            "parameters": {"push": {"dist": "uniform", "low": 400, "high": 500, "nominal": 450}},
            **changes,
        }
    )
    plan = plan_trial(study, 0, layout.trial_dir(study, 0), config_template(study, code_hashes(study)))
    run_trial(plan, UserCode.load(study))
    return layout.trial_dir(study, 0)


@pytest.mark.parametrize(
    "record", [["qpos:x", "xpos:slider"], ["qpos:x", "fn:tests.outputs_user_models:position"]]
)
def test_a_diverged_trial_keeps_only_what_it_recorded_before_mujoco_reset_it(tmp_path: Path, record):
    """MuJoCo resets the state (time included) when it flags divergence, and mojo.runtime.step
    notices only at its next check: the samples taken in between were of the reset state, their
    times back near 0 (in C and in Python: with a ``fn:`` signal)."""
    folder = run_one(tmp_path, signals={"rate": 200, "record": record})
    result = json.loads((folder / "result.json").read_text())
    assert result["status"] == "unstable"
    table = pq.read_table(folder / SIGNALS_FILE).to_pandas()
    time, x = table["time"].to_numpy(), table["qpos:x[0]"].to_numpy()
    assert len(time) > 100 and np.all(np.diff(time) > 0), time[-5:]
    assert 1.0 < time[-1] < 1.06  # it diverged at t = 1.047 s
    assert np.all(np.diff(x) > 0) and x[-1] > 1e7  # still running away, never back at 0
    after = table[table.columns[2]].to_numpy()  # xpos[x], or the fn: signal, read after the step
    assert np.all(np.diff(after) > 0) and after[-1] > 1e7


def signals_study(root: Path, trials: dict[int, tuple[str, list[str]]]) -> Path:
    """Trials recording ``ctrl`` of actuators named ``m<k>``, each component at the constant k."""
    time = np.arange(5) * 0.1
    for trial, (_, labels) in trials.items():
        folder = root / f"trial_{trial:04d}"
        folder.mkdir(parents=True)
        values = np.column_stack([np.full(len(time), float(label[1:])) for label in labels])
        write_signals(folder / SIGNALS_FILE, time, {"ctrl": values}, {"ctrl": labels})
    table = {"trial": list(trials), "status": [status for status, _ in trials.values()]}
    pq.write_table(pa.table(table), root / "trials.parquet")
    return root


@pytest.mark.parametrize("first", [["m0", "m1", "m2"], ["m0", "m2"]])
def test_envelopes_match_components_by_name_when_models_differ(tmp_path: Path, first):
    """A generator whose number of actuators is a parameter: ``ctrl`` has other components in
    other trials. The band of m2 holds only m2's values (before: trial 1's m2 read as m1, or the
    envelopes job crashed on an index)."""
    study = signals_study(
        tmp_path,
        {
            0: ("success", first),
            1: ("success", ["m0", "m1", "m2"] if len(first) == 2 else ["m0", "m2"]),
            2: ("success", ["m0", "m1", "m2"]),
            3: ("failure", ["m1"]),
        },
    )
    band = envelopes.envelope(study, "ctrl", first, [0, 1, 2])
    expected = [float(label[1:]) for label in first]
    np.testing.assert_array_equal(band.low[0], expected)
    np.testing.assert_array_equal(band.high[0], expected)
    assert read_signal(study, "ctrl", [3], ["m1", "m2"])[3][1][0, 0] == 1.0
    assert np.isnan(read_signal(study, "ctrl", [3], ["m1", "m2"])[3][1][:, 1]).all()
    statuses = {0: "success", 1: "success", 2: "success", 3: "failure"}
    envelopes.signal_envelopes(study, "ctrl", statuses, tmp_path / "ctrl.png")
    assert (tmp_path / "ctrl.png").stat().st_size > 0


def test_damaged_pictures_are_found_by_their_index(tmp_path: Path):
    folder = tmp_path / "pictures"
    assert damaged_pictures(folder) is None  # not made yet
    folder.mkdir()
    from PIL import Image

    Image.new("RGB", (4, 4)).save(folder / "trial_0000-nominal.png")
    Image.new("RGB", (4, 4)).save(folder / "trial_0000-nominal.gif")
    entry = {"trial": 0, "gif": "trial_0000-nominal.gif", "png": "trial_0000-nominal.png"}
    (folder / INDEX).write_text(json.dumps([entry, {"trial": 3, "gif": None, "png": None, "error": "x"}]))
    assert damaged_pictures(folder) is None
    whole = (folder / entry["png"]).read_bytes()
    (folder / entry["png"]).write_bytes(whole[:-20])
    assert damaged_pictures(folder) == "trial_0000-nominal.png is damaged"
    (folder / entry["png"]).write_bytes(whole)
    (folder / entry["gif"]).unlink()
    assert damaged_pictures(folder) == "trial_0000-nominal.gif was deleted"
    (folder / INDEX).write_text("[{")
    assert "pictures.json is unreadable" in damaged_pictures(folder)
    (folder / INDEX).unlink()  # the folder exists only whole (made beside it, then renamed)
    assert "pictures.json is unreadable (FileNotFoundError" in damaged_pictures(folder)


@pytest.mark.slow
def test_a_picture_deleted_from_the_report_is_made_again_every_time(workflow: Workflow):
    """The rule's output is the folder: a file deleted in it was never made again ('Nothing to be
    done') and the report lacked it. Deleted twice in a row, it comes back twice."""
    workflow.write_config(
        {
            "study": "throws",
            "seed": 3,
            "n_trial": 2,
            "generator": "tests.render_models:thrown_ball",
            "metrics": "tests.render_models:metrics",
            "duration": 0.2,
            "parameters": {"speed": {"dist": "uniform", "low": 1.0, "high": 3.0}},
            "pictures": {"width": 48, "height": 36, "fps": 10, "frames": 2, "failures": 0},
        }
    )
    workflow.run("pictures")
    pictures = workflow.study_dir("throws") / "pictures"
    index = json.loads((pictures / INDEX).read_text())
    if "error" in index[0]:
        pytest.skip(index[0]["error"])
    names = sorted(name for entry in index for name in (entry["gif"], entry["png"]))
    assert len(names) >= 4
    for victim in (names[0], names[0]):  # twice: once is not enough
        (pictures / victim).unlink()
        done = workflow.run("pictures")
        assert f"{victim} was deleted: removed, the run makes the pictures again" in done.stderr
        assert sorted(p.name for p in pictures.iterdir() if p.suffix in (".gif", ".png")) == names
        assert not (pictures.parent / ".pictures.partial").exists()
    workflow.run("pictures", "--report", "report.zip")
    with zipfile.ZipFile(workflow.workdir / "report.zip") as report:
        stored = sorted(Path(n).name for n in report.namelist() if n.endswith((".gif", ".png")))
    assert set(names) <= set(stored)


def test_show_render_warns_when_the_trials_code_changed_since_it_ran(tmp_path: Path, capsys, monkeypatch):
    """The replay runs today's code: a GIF of an edited generator is not the trial that ran, and
    ``mojo show --render`` must say so (the render process warned; before, nothing reached the user)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "my_ball.py").write_text("from tests.render_models import thrown_ball as build  # noqa\n")
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.setenv("PYTHONPATH", f"{code}{os.pathsep}{REPO}")
    study = load_study(
        {
            "study": "edited",
            "results_dir": str(tmp_path),
            "n_trial": 1,
            "duration": 0.1,
            "generator": "my_ball:build",
            "metrics": "tests.render_models:metrics",
            "parameters": {"speed": {"dist": "uniform", "low": 1.0, "high": 3.0}},
        }
    )
    plan = plan_trial(study, 0, layout.trial_dir(study, 0), config_template(study, code_hashes(study)))
    run_trial(plan, UserCode.load(study))
    (code / "my_ball.py").write_text("from tests.render_models import thrown_ball as build  # noqa: edited\n")
    out = tmp_path / "out.gif"
    code_ = main(["show", str(layout.trial_dir(study, 0)), "--render", str(out)])
    err = capsys.readouterr().err
    if code_ == 1 and "no OpenGL backend" in err:
        pytest.skip(err)
    assert code_ == 0 and out.exists()
    assert "warning: the generator code changed since the trial ran: the replay may differ" in err
