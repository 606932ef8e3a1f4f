"""The Snakemake report of a small real study, its plots, and the study's provenance files."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mojo.results.plots import monte_carlo_plots
from tests.conftest import REPO, snakemake_command

PLOTS = ("status.png", "parameters.png", "metrics.png", "scatter.png", "slowest.png", "summary.html")
PNG = b"\x89PNG\r\n\x1a\n"


def _snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        snakemake_command(work, work / "config.yaml", "--cores", "2", *args),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """The default pendulum study, cut to 10 trials, run and reported."""
    work = tmp_path_factory.mktemp("report")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    # Small pictures: the report must hold them, and full-size ones cost 10 s of rendering here.
    config.update(study="small", n_trial=10, pictures={"width": 96, "height": 72, "fps": 5})
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    _snakemake(work)
    _snakemake(work, "--report", "results/small/report.html")
    return work


@pytest.mark.slow
def test_plots_are_made(study):
    plots = study / "results" / "small" / "plots"
    for name in PLOTS:
        data = (plots / name).read_bytes()
        assert data.startswith(PNG) if name.endswith(".png") else b"<table" in data, name
    summary = (plots / "summary.html").read_text()
    assert "<script" not in summary and "http" not in summary
    assert "initial_angle" in summary and "deg" in summary


@pytest.mark.slow
def test_report_holds_every_plot_and_reaches_no_network(study):
    html = (study / "results" / "small" / "report.html").read_text()
    results = re.search(r'<script id="results">\s*var results = (\{.*?\});?\s*</script>', html, re.S)
    assert results, "the report's results block was not found"
    entries = json.loads(results.group(1))
    names = {Path(path).name: entry for path, entry in entries.items()}
    for name in (*PLOTS, "environment.json", "environment.txt"):
        assert name in names, f"{name} missing from the report"
        assert names[name]["data_uri"].startswith("data:"), f"{name} is not embedded"
        assert names[name]["caption"], f"{name} has no caption"
    assert "objective first, at most four" in names["scatter.png"]["caption"]
    # Nothing is loaded from elsewhere: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"""url\(\s*["']?(https?:)?//""", html)
    assert not re.search(r"""@import\s+["']?(url\()?["']?https?:""", html)
    assert "Monte Carlo study <strong>small</strong>" in html  # workflow.rst, rendered


@pytest.mark.slow
def test_environment_recorded_once(study):
    folder = study / "results" / "small"
    env = json.loads((folder / "environment.json").read_text())
    for name in ("mojo", "mujoco", "snakemake", "optuna", "numpy"):
        assert env["versions"][name] == importlib.metadata.version(name)
    assert env["python"] == sys.version.split()[0]
    assert env["source"]["path"] == str(REPO / "mojo")  # mojo's code, in this git checkout
    assert env["source"]["git_commit"] is not None
    assert env["study_folder"]["path"] == str(study.resolve())  # not a git checkout
    assert env["study_folder"]["git_commit"] is None
    freeze = (folder / "environment.txt").read_text()
    assert f"mujoco=={importlib.metadata.version('mujoco')}" in freeze
    assert f"snakemake=={importlib.metadata.version('snakemake')}" in freeze
    assert len(env["packages"]) > 20
    # Growing the study re-makes trials, tables and plots, but never the environment record; a
    # dry run does not touch the study record either.
    record = (folder / ".mojo" / "study.json").read_text()
    assert json.loads(record)["n_trial"] == 10
    dry = _snakemake(study, "-n", "--config", "n_trial=12").stdout
    assert "rule plots:" in dry and "rule environment:" not in dry
    assert (folder / ".mojo" / "study.json").read_text() == record


def _synthetic_table(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    status = rng.choice(
        ["success", "failure", "unstable", "error", "timeout"], n, p=[0.9, 0.04, 0.03, 0.02, 0.01]
    )
    table = pd.DataFrame(
        {
            "trial": np.arange(n),
            "status": status,
            "reason": np.where(status == "success", None, "boom"),
            "length": rng.uniform(0.5, 1.5, n),
            "count": rng.integers(1, 5, n),
            "shape": rng.choice(["sphere", "box", "capsule"], n),
            "angle": rng.normal(0, 30, n),
            "energy": rng.lognormal(1, 0.3, n),
            "objective": np.full(n, np.nan),
            "wall_time": rng.lognormal(-4, 0.5, n),
        }
    )
    table.loc[table["status"] != "success", ["angle", "energy"]] = np.nan
    summary = pd.DataFrame(
        [{"kind": "status", "name": s, "count": int((status == s).sum())} for s in ("success", "failure")]
        + [{"kind": "metric", "name": "angle", "count": 1.0, "mean": 0.0, "std": 1.0}]
    )
    return table, summary


@pytest.mark.parametrize("n", [1, 10, 10_000])
def test_plots_from_any_size(tmp_path, n):
    table, summary = _synthetic_table(n)
    outputs = {name.split(".")[0]: tmp_path / name for name in PLOTS}
    started = time.perf_counter()
    monte_carlo_plots(
        table, summary, {"length": "m", "count": None, "shape": None}, outputs, metric_units={"angle": "deg"}
    )
    elapsed = time.perf_counter() - started
    assert all(path.stat().st_size > 1000 for path in outputs.values())
    assert elapsed < 15, f"plots of {n} trials took {elapsed:.1f} s"


def test_plots_when_nothing_succeeded(tmp_path):
    table, summary = _synthetic_table(20)
    table["status"] = "error"
    table[["angle", "energy"]] = np.nan
    outputs = {name.split(".")[0]: tmp_path / name for name in PLOTS}
    monte_carlo_plots(table, summary, {"length": "m", "count": None, "shape": None}, outputs)
    assert all(path.exists() for path in outputs.values())
