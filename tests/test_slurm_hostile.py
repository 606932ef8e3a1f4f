"""Hostile ``--config`` values on a real (single-node) SLURM cluster.

snakemake-executor-plugin-slurm submits each job as ``sbatch --wrap="<job command>"`` through a
shell, and Snakemake puts every ``--config`` value into that command: ``$(...)`` or a backtick
there would run on the submit host. mojo refuses such values before anything is submitted; the
same value from a config file never reaches a command line and runs as a plain string.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, ball_config
from tests.conftest_slurm import slurm_cluster  # noqa: F401
from tests.test_slurm_workflow import FAST, TABLES, Slurm, slurm, write_config  # noqa: F401

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.mark.parametrize(
    "template",
    [
        "metric_units={{z: $(touch {pwned})}}",
        "metric_units={{z: m`touch {pwned}`}}",
        "results_dir=R/$(touch {pwned})",
    ],
)
def test_command_substitution_in_config_runs_nothing(slurm: Slurm, tmp_path: Path, template: str):
    pwned = tmp_path / "pwned"
    arg = template.format(pwned=pwned)
    key, value = arg.split("=", 1)
    targets = [f"{value}/balls/summary.csv"] if key == "results_dir" else TABLES
    config = write_config(tmp_path / "study.yaml", ball_config(n_trial=2))
    submitted_before = len(slurm.submissions())

    done = slurm.run(
        tmp_path,
        config,
        "--profile",
        "profiles/slurm",
        *FAST,
        *targets,
        "--config",
        arg,
        cwd=REPO,
        check=False,
    )

    message = done.stdout + done.stderr
    assert done.returncode != 0
    assert key in message and value in message and "Traceback" not in message, message
    assert not pwned.exists()
    assert len(slurm.submissions()) == submitted_before


def test_the_same_value_from_a_config_file_runs_as_text(slurm: Slurm, tmp_path: Path):
    """The documented way out: a config file's values are never pasted into a shell."""
    pwned = tmp_path / "pwned"
    unit = f"$(touch {pwned})`touch {pwned}`"
    config = write_config(tmp_path / "study.yaml", ball_config(n_trial=2, metric_units={"z": unit}))
    submitted_before = len(slurm.submissions())

    slurm.run(tmp_path, config, "--profile", "profiles/slurm", *FAST, *TABLES, cwd=REPO)

    assert len(slurm.submissions()) > submitted_before  # the trials did go through sbatch
    assert not pwned.exists()
    assert len(list((tmp_path / "results" / "balls").glob("trial_*/result.json"))) == 2
