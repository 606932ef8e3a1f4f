"""``mojo init``: a study folder outside the repository that runs as is and never overwrites."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mojo.cli import main as mojo_main
from mojo.config.study import ConfigError, load_study
from mojo.init import EXAMPLES, STUDY_FILES, TEMPLATES, init, study_name
from tests.conftest import REPO, SNAKEMAKE


def test_the_repository_is_a_study_folder_made_of_the_templates():
    """One owner: the repository's own study files are copies of what ``mojo init`` writes."""
    for name in STUDY_FILES:
        assert (REPO / name).read_bytes() == (TEMPLATES / "study" / name).read_bytes(), name
    assert (REPO / "config/config.yaml").read_bytes() == (TEMPLATES / "configs/pendulum.yaml").read_bytes()
    assert (REPO / "config/optimize.yaml").read_bytes() == (
        TEMPLATES / "configs/sliding_box.yaml"
    ).read_bytes()


def test_the_wheel_ships_every_template_file():
    """A template file missing from pyproject's package data works here and fails once installed."""
    import tomllib

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = REPO / "mojo/templates"
    shipped = {path for pattern in patterns["mojo.templates"] for path in folder.glob(pattern)}
    files = {p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc" and p.name != "__init__.py"}
    assert files and files <= shipped, sorted(str(p.relative_to(folder)) for p in files - shipped)


@pytest.mark.parametrize("example", [None, *EXAMPLES])
def test_every_starting_point_validates_as_written(tmp_path: Path, monkeypatch, example):
    folder = tmp_path / "my study (v2)"
    init(folder, example)
    monkeypatch.chdir(folder)  # a generator module next to the config is found from here
    monkeypatch.setattr(sys, "path", list(sys.path))
    study = load_study(__import__("yaml").safe_load((folder / "config/config.yaml").read_text()))
    assert study.study == ("my_study_v2" if example is None else example)
    assert (example is None) == (folder / "models.py").exists()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, capsys):
    folder = tmp_path / "study"
    (folder / "config").mkdir(parents=True)
    (folder / "config/config.yaml").write_text("mine\n")
    assert mojo_main(["init", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "config/config.yaml" in err and "overwrites nothing" in err
    assert (folder / "config/config.yaml").read_text() == "mine\n"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "config",
        "config/config.yaml",
    ]


def test_init_refuses_a_file_where_the_folder_should_be(tmp_path: Path, capsys):
    (tmp_path / "study").write_text("a file")
    assert mojo_main(["init", str(tmp_path / "study")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_study_name_from_any_folder_name(tmp_path: Path):
    assert study_name(tmp_path / "Robot arm: $(rm -rf ~)") == "Robot_arm_rm_-rf"
    assert study_name(tmp_path / "___") == "study"


def test_a_module_that_cannot_be_found_says_where_it_looked(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_study({"study": "s", "generator": "no_such_models:build"})
    message = str(error.value)
    assert "no_such_models.py" in message and str(tmp_path) in message and sys.executable in message


@pytest.mark.slow
def test_an_example_folder_runs_where_it_is_and_optuna_opens_its_study(tmp_path: Path, monkeypatch):
    """``cd my-study && snakemake --cores 2`` on the optimisation example (shrunk to 4 trials),
    then Optuna's own ``load_study`` with the storage URL the README shows."""
    import optuna
    import yaml

    folder = tmp_path / "my-study"
    assert mojo_main(["init", str(folder), "--example", "sliding_box"]) == 0
    config = yaml.safe_load((folder / "config/config.yaml").read_text())
    config["optimize"].update(n_trial=4, trials_per_round=2)
    (folder / "config/config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [*SNAKEMAKE, "--cores", "2"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    trials = pd.read_parquet(folder / "results/sliding_box/optimize/trials.parquet")
    assert list(trials["trial"]) == [0, 1, 2, 3]
    monkeypatch.chdir(folder)
    study = optuna.load_study(
        study_name="sliding_box", storage="sqlite:///results/sliding_box/optimize/study.db"
    )
    assert len(study.trials) == 4 and study.best_value == pytest.approx(trials["value"].min())


@pytest.mark.slow
def test_a_new_study_folder_runs_from_elsewhere_with_directory(tmp_path: Path):
    """Made by ``mojo init``, run with ``-s``/``--directory`` from another folder: the generator
    module next to its config is found, and the tables hold every trial."""
    folder = tmp_path / "my-study"
    assert mojo_main(["init", str(folder)]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = [
        *SNAKEMAKE,
        "-s",
        str(folder / "Snakefile"),
        "--directory",
        str(folder),
        "--cores",
        "2",
        "--config",
        "n_trial=4",
    ]
    done = subprocess.run(command, cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(folder / "results/my-study/trials.parquet")
    assert list(table["trial"]) == [0, 1, 2, 3] and set(table["status"]) == {"success"}
    assert not list(elsewhere.iterdir())


def test_an_upgrade_that_adds_a_config_key_keeps_every_fingerprint(tmp_path: Path, monkeypatch):
    """A later mojo with one more key (default) must not re-make finished trials; setting the key
    must."""
    from pydantic import create_model

    from mojo.config.study import StudyConfig
    from mojo.trials.targets import FINGERPRINTED_KEYS, study_fingerprint

    assert FINGERPRINTED_KEYS <= set(StudyConfig.model_fields)
    monkeypatch.chdir(tmp_path)
    values = {"study": "s", "generator": "mojo.examples.pendulum:build", "seed": 7}
    Later = create_model("Later", __base__=StudyConfig, new_key=(float, 1.0))
    today = study_fingerprint(StudyConfig(**values))
    assert study_fingerprint(Later(**values)) == today
    assert study_fingerprint(Later(**values, new_key=2.0)) != today
