"""A researcher's own study folder, with mojo installed as a wheel (issue 11).

The wheel of this repository goes into a fresh virtual environment with no test extras and no
editable install (tests/install_env.py, once per session); ``mojo init`` then makes study folders
in a temporary folder outside the repository, and each step a user takes there is run with only
that environment on PATH: a study, a dry run, the report, ``mojo status``, an optimisation and a
run through the SLURM profile on the single-node test cluster. Each step's files and words are
checked, not only its exit code. Small studies (a few trials) keep the file at about 25 s beyond
the shared install (35 s; about 65 s for the file alone).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mojo.trials.layout import PLOTS, TABLES
from tests.conftest_slurm import slurm_cluster  # noqa: F401
from tests.install_env import REPO, Venv, embedded_files
from tests.test_slurm_workflow import Slurm, slurm  # noqa: F401

pytestmark = pytest.mark.slow

N_TRIAL = 6
RUN = f"snakemake --cores 2 --config n_trial={N_TRIAL}"
"""The study, cut to a few trials; every later step names the same config."""


def init(installed: Venv, parent: Path, name: str, *options: str) -> tuple[Path, str]:  # noqa: F811
    """``mojo init name`` in ``parent``: the folder and the study's name in its config."""
    installed.run(" ".join(["mojo", "init", name, *options]), cwd=parent)
    folder = parent / name
    return folder, yaml.safe_load((folder / "config" / "config.yaml").read_text())["study"]


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("user")
    assert not parent.resolve().is_relative_to(REPO)
    return parent


@pytest.fixture(scope="module")
def study(installed: Venv, outside: Path) -> tuple[Path, str, str]:  # noqa: F811
    """A folder from ``mojo init my-study``, its study run: (folder, study name, run output)."""
    folder, name = init(installed, outside, "my-study")
    done = installed.run(RUN, cwd=folder)
    return folder, name, done.stdout + done.stderr


def test_the_environment_runs_the_installed_wheel(installed: Venv, outside: Path):  # noqa: F811
    shown = installed.run(
        "python -c 'import mojo, mojo.workflow; print(mojo.__file__); print(mojo.workflow.SNAKEFILE)';"
        " command -v python snakemake mojo",
        cwd=outside,
    ).stdout.split()
    for path in shown:
        assert Path(path).is_relative_to(installed.root), f"{path} is not from the fresh environment"
    # No test extras came with it.
    assert installed.run("python -c 'import pytest'", cwd=outside, check=False).returncode != 0


def test_a_study_runs_in_its_own_folder(study):
    folder, name, _ = study
    assert {p.name for p in folder.iterdir()} >= {"Snakefile", "config", "profiles", "results"}
    table = pd.read_csv(folder / "results" / name / TABLES["csv"])
    assert list(table["trial"]) == list(range(N_TRIAL))
    assert set(table["status"]) == {"success"}
    for plot in PLOTS.values():
        assert (folder / "results" / name / "plots" / plot).stat().st_size > 0


def test_a_dry_run_after_it_has_nothing_to_do(installed: Venv, study):  # noqa: F811
    folder, _, _ = study
    done = installed.run(f"{RUN} -n", cwd=folder)
    assert "Nothing to be done" in done.stdout + done.stderr


def test_the_report_holds_the_studys_plots(installed: Venv, study):  # noqa: F811
    folder, _, _ = study
    installed.run(f"{RUN} --report report.html", cwd=folder)
    embedded = embedded_files(folder / "report.html")
    for plot in PLOTS.values():
        assert embedded.get(plot, "").startswith("data:"), f"{plot} is not in the report"


def test_mojo_status_counts_the_finished_trials(installed: Venv, study):  # noqa: F811
    folder, name, _ = study
    text = installed.run(f"mojo status results/{name}", cwd=folder).stdout
    assert f"{N_TRIAL} of {N_TRIAL} trials finished" in text
    assert f"success {N_TRIAL}  failure 0" in text
    assert "complete" in text


def test_an_optimisation_from_the_bundled_example(installed: Venv, outside: Path):  # noqa: F811
    folder, name = init(installed, outside, "my-optimisation", "--example", "sliding_box")
    installed.run("snakemake --cores 2 --config 'optimize={n_trial: 4, trials_per_round: 2}'", cwd=folder)
    opt = folder / "results" / name / "optimize"
    assert len(pd.read_parquet(opt / "trials.parquet")) == 4
    assert json.loads((opt / "best.json").read_text())
    text = installed.run(f"mojo status results/{name}", cwd=folder).stdout
    assert "4 of 4 trials asked, 4 told" in text
    # Optuna's own tools open the study as it is.
    loaded = installed.run(
        f'python -c "import optuna; print(len(optuna.load_study(study_name=None, '
        f"storage='sqlite:///{opt / 'study.db'}').trials))\"",
        cwd=folder,
    ).stdout
    assert loaded.split()[-1] == "4"


@pytest.mark.slurm
def test_a_study_through_the_slurm_profile(installed: Venv, outside: Path, slurm: Slurm):  # noqa: F811
    folder, name = init(installed, outside, "my-cluster-study")
    env = {
        **installed.env,
        "SLURM_CONF": slurm.cluster.env["SLURM_CONF"],
        "PATH": f"{slurm.sbatch_log.parent}:{installed.env['PATH']}",
    }
    before = len(slurm.submissions())
    done = installed.run(
        f"snakemake --profile profiles/slurm --config n_trial={N_TRIAL} n_proc=2"
        " --slurm-init-seconds-before-status-checks 1 --latency-wait 5",
        cwd=folder,
        env=env,
        timeout=240,
    )
    assert len(slurm.submissions()) - before == 2, done.stdout + done.stderr  # one job per n_proc
    table = pd.read_csv(folder / "results" / name / TABLES["csv"])
    assert list(table["trial"]) == list(range(N_TRIAL)) and set(table["status"]) == {"success"}
