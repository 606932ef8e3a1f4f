"""Shared fixtures: study configs and a way to run the real workflow in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# The wheel and its fresh virtual environment: defined here so that every test file shares one.
from tests.install_env import installed, wheel  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def ball_config(**changes) -> dict:
    """A small, fast study of the dropped ball in tests/trial_models.py."""
    config = {
        "study": "balls",
        "seed": 7,
        "n_trial": 12,
        "n_proc": 2,
        "generator": "tests.trial_models:ball",
        "metrics": "tests.trial_models:height_metrics",
        "duration": 0.2,
        "parameters": {
            "height": {"dist": "uniform", "low": 0.5, "high": 1.5, "unit": "m"},
            "radius": {
                "dist": "truncnormal",
                "mean": 0.1,
                "std": 0.02,
                "low": 0.05,
                "high": 0.2,
                "unit": "m",
            },
            "mass": {"dist": "lognormal", "mu": 0.0, "sigma": 0.3, "unit": "kg"},
        },
    }
    config.update(changes)
    return config


def reproducible_files(study_dir: Path) -> dict[str, bytes]:
    """Every trial file that must match bit for bit (result.json holds timings)."""
    return {
        f"{p.parent.name}/{p.name}": p.read_bytes()
        for p in sorted(study_dir.glob("trial_*/*"))
        if p.name != "result.json"
    }


def snakemake_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """How every test starts the real workflow: the repository's Snakefile, run in ``workdir``
    on ``configfile``."""
    return [
        *SNAKEMAKE,
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(configfile),
        *args,
    ]


class Workflow:
    """The real workflow, run with ``snakemake`` in its own working folder."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.config_path = workdir / "study.yaml"

    def write_config(self, config: dict) -> None:
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def command(self, *args: str) -> list[str]:
        return snakemake_command(self.workdir, self.config_path, *args)

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        command = self.command("--cores", "2", *args)
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        done = subprocess.run(
            command, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def study_dir(self, study: str = "balls") -> Path:
        return self.workdir / "results" / study


@pytest.fixture
def workflow(tmp_path: Path) -> Workflow:
    return Workflow(tmp_path)


def require_warp() -> None:
    """Skip the calling test module where the warp extra (MuJoCo Warp) is not installed; under
    CI=true (where the test extra installs it) fail instead."""
    import importlib.util

    if importlib.util.find_spec("mujoco_warp") is None:
        reason = "MuJoCo Warp is not installed (pip install -e '.[warp]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def pytest_collection_modifyitems(config, items) -> None:
    """For pytest-xdist's ``--dist loadgroup`` (pyproject.toml): a module's tests run on one
    worker, so its module-scoped fixtures are made once; the tests that need the single SLURM
    cluster or the installed wheel (session fixtures: one of each per worker) all on one."""
    for item in items:
        shared = item.get_closest_marker("slurm") or {"installed", "wheel"} & set(item.fixturenames)
        item.add_marker(pytest.mark.xdist_group("slurm-and-install" if shared else item.module.__name__))
