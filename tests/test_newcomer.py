"""A newcomer's study folder of their own, following README.md and docs/*.md word for word.

What a careful researcher tries in a folder made by ``mojo init``: a folder name with spaces and
accents, a model module of their own (one named like a module of Python's standard library
included), a config in a sub-folder, runs from another working folder, and the commands the docs
show. The text checks and the config checks run in-process (milliseconds); one end-to-end test
runs a small study with the installed wheel (tests/install_env.py, shared with test_install.py),
run from another folder: a dry run, a 4-trial run and a render, about 10 s beyond the shared
install.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mojo.config.study import ConfigError, load_study
from mojo.init import EXAMPLES, init, study_name
from mojo.trials import layout
from mojo.trials.layout import TABLES
from tests.install_env import REPO, Venv

DOCS = sorted(path for path in (REPO / "docs").glob("*.md") if path.name != "warp.md")

BALL = '''
import mujoco


def build(values: dict) -> mujoco.MjSpec:
    """A ball dropped on a floor from ``height``."""
    spec = mujoco.MjSpec()
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[2, 2, 0.1])
    ball = spec.worldbody.add_body(name="ball", pos=[0, 0, values["height"]])
    ball.add_freejoint(name="free")
    ball.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.05, 0, 0], mass=1.0)
    return spec


def metrics(model, data) -> dict[str, float]:
    return {"final_height": float(data.qpos[2])}
'''


def ball_config(module: str, n_trial: int = 4) -> str:
    return textwrap.dedent(
        f"""\
        study: bouncing
        n_trial: {n_trial}
        n_proc: 2
        generator: {module}:build
        metrics: {module}:metrics
        duration: 0.2
        parameters:
          height: {{dist: uniform, low: 0.5, high: 1.5, unit: m}}
        """
    )


# --- a model module named like a module of Python's standard library ---------------------------


@pytest.mark.parametrize("module", ["signal", "code"])
def test_a_module_named_like_the_standard_librarys_is_refused_with_a_rename(module, tmp_path, monkeypatch):
    """``signal.py`` (Snakemake imported ``signal`` already) was checked as Python's own module,
    ``defines no 'build'``; ``code.py`` (not imported yet) was taken from the study folder and
    hid Python's ``code`` module from the whole run (and a ``random.py`` broke the pictures'
    processes: ``partially initialized module 'mujoco'``). Both are refused, saying to rename."""
    (tmp_path / f"{module}.py").write_text(BALL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the study folder leaves sys.path with the test
    with pytest.raises(ConfigError) as refused:
        load_study({"study": "s", "generator": f"{module}:build"})
    message = str(refused.value)
    assert f"generator = '{module}:build'" in message
    assert "standard library" in message and f"rename yours (e.g. my_{module}.py)" in message


def test_a_module_of_the_study_folder_with_a_name_of_its_own_is_found(tmp_path, monkeypatch):
    (tmp_path / "bouncing.py").write_text(BALL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert load_study({"study": "s", "generator": "bouncing:build"}).generator == "bouncing:build"


# --- mojo init in a folder whose name has accents -----------------------------------------------


@pytest.mark.parametrize(
    ("folder", "name"), [("étude", "etude"), ("Études été", "Etudes_ete"), ("my study", "my_study")]
)
def test_init_names_the_study_after_the_folder_keeping_its_accented_letters(folder, name, tmp_path):
    """``mojo init étude`` named the study ``tude``: the accented letter was dropped, not its accent."""
    assert study_name(tmp_path / folder) == name
    init(tmp_path / folder)
    assert yaml.safe_load((tmp_path / folder / "config" / "config.yaml").read_text())["study"] == name


# --- what the docs show works in a folder made by mojo init -------------------------------------


def shown_commands(doc: Path) -> list[str]:
    """The lines of the doc's code blocks (fenced with ```), which a user copies."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", doc.read_text(), re.S | re.M)
    return [line for block in blocks for line in block.splitlines()]


def study_folder_files(tmp_path: Path) -> set[str]:
    """Every file some ``mojo init`` (plain or ``--example``) writes, relative to the folder."""
    written = set()
    for example in (None, *EXAMPLES):
        folder = tmp_path / (example or "new")
        written |= {path.relative_to(folder).as_posix() for path in init(folder, example)}
    return written


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)  # README's run in a clone: test_readme.py
def test_a_config_file_the_docs_name_is_one_a_study_folder_has(doc, tmp_path):
    """docs/optimize.md and docs/slurm.md ran ``--configfile config/optimize.yaml``: in a folder
    from ``mojo init`` that is ``FileNotFoundError: ... 'config/optimize.yaml'``. A file under
    ``config/`` that a command names must be one ``mojo init`` writes."""
    has = study_folder_files(tmp_path)
    named = {m for line in shown_commands(doc) for m in re.findall(r"--configfile\s+(config/\S+)", line)}
    assert named <= has, f"{doc.name} names {sorted(named - has)}; a study folder has {sorted(has)}"


def test_the_results_doc_lists_every_file_a_study_writes():
    """docs/results.md listed six plots (of the thirteen and more a study makes), no sensitivity
    table, no pictures, five of the logs, and said metrics have no units in the config, though
    ``metric_units`` labels their axes."""
    text = (REPO / "docs" / "results.md").read_text()
    tree = re.search(r"^```\nresults/<study>/\n(.*?)^```", text, re.S | re.M).group(1)
    files = [
        *layout.PLOTS.values(),
        *layout.SENSITIVITY_PLOTS.values(),
        layout.CONVERGENCE_PLOT,
        layout.SENSITIVITY_TABLE,
        f"{layout.SIGNAL_PLOTS}/",
        f"{layout.PICTURES}/",
        *(name.replace("{first}", "<first>").replace("{last}", "<last>") for name in layout._LOGS.values()),
    ]
    documented = [name.replace("{trial}", "<N>").replace("{round}", "<r>") for name in files]
    assert [name for name in documented if name not in tree] == []
    assert "have no units in the config" not in text and "`metric_units`" in text


# --- the whole path, with mojo installed as the README says -------------------------------------


@dataclass(frozen=True)
class OwnStudy:
    folder: Path  # the study folder, "Études été/mon étude"
    elsewhere: Path  # a sibling folder the commands run from
    refused: subprocess.CompletedProcess  # the dry run with the model in signal.py


@pytest.fixture(scope="module")
def own_study(installed: Venv, tmp_path_factory) -> OwnStudy:
    """``mojo init`` in a folder named with a space and accents, the model in ``signal.py`` with
    the config in a sub-folder, run from a sibling folder (``-s``/``--directory``, ``..`` in
    every path): first a dry run, then, the module renamed, a 4-trial study."""
    parent = tmp_path_factory.mktemp("newcomer") / "Études été"
    (elsewhere := parent / "elsewhere").mkdir(parents=True)
    installed.run("mojo init 'mon étude'", cwd=parent)
    folder = parent / "mon étude"
    (folder / "configs").mkdir()
    (folder / "signal.py").write_text(BALL)
    (folder / "configs" / "ball.yaml").write_text(ball_config("signal"))
    run = (
        "snakemake -s '../mon étude/Snakefile' --directory '../mon étude'"
        " --configfile '../mon étude/configs/ball.yaml'"
    )
    refused = installed.run(f"{run} -n", cwd=elsewhere, check=False)
    (folder / "signal.py").rename(folder / "bouncing.py")
    (folder / "configs" / "ball.yaml").write_text(ball_config("bouncing"))
    installed.run(f"{run} --cores 2", cwd=elsewhere)
    return OwnStudy(folder, elsewhere, refused)


@pytest.mark.slow
def test_a_module_named_signal_is_refused_before_any_job_saying_to_rename_it(own_study: OwnStudy):
    """It was refused as ``module 'signal' (.../lib/python3.11/signal.py) defines no 'build'``."""
    assert own_study.refused.returncode != 0
    assert "rename yours (e.g. my_signal.py)" in own_study.refused.stdout + own_study.refused.stderr


@pytest.mark.slow
def test_an_own_model_runs_from_another_folder_in_an_accented_path(installed: Venv, own_study: OwnStudy):
    table = pd.read_csv(own_study.folder / "results" / "bouncing" / TABLES["csv"])
    assert list(table["trial"]) == [0, 1, 2, 3] and set(table["status"]) == {"success"}
    status = installed.run("mojo status '../mon étude/results/bouncing'", cwd=own_study.elsewhere).stdout
    assert "4 of 4 trials finished" in status


@pytest.mark.slow
def test_mojo_show_renders_a_trial_of_an_own_model_from_another_folder(installed: Venv, own_study: OwnStudy):
    """README: ``mojo show <trial> --render out.gif`` renders any trial on demand, "from any
    shell". From outside the study folder the replay could not import the study's own module:
    ``cannot render ...: ModuleNotFoundError: No module named 'bouncing'``."""
    shown = installed.run(
        "mojo show '../mon étude/results/bouncing/trial_0001' --render out.png",
        cwd=own_study.elsewhere,
        check=False,
    )
    said = shown.stdout + shown.stderr
    if "no OpenGL backend works" in said:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {said}", pytrace=False)
        pytest.skip(said.strip().splitlines()[-1])
    assert shown.returncode == 0, said
    assert (own_study.elsewhere / "out.png").stat().st_size > 0
