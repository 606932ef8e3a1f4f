"""The workflow on a real (single-node) SLURM cluster through snakemake-executor-plugin-slurm.

Every run goes through the profile in ``profiles/slurm`` (as shipped, installed with the one-liner
from docs/slurm.md, or a test copy pointing at a partition file from ``mojo slurm partitions``),
with the plugin's status-check wait shortened to 1 s so the set stays fast.

Two shims go first on PATH for the snakemake runs (``shims`` fixture):
- ``sbatch`` records every call, so a test can prove that nothing was submitted;
- ``srun`` sets SLURM_CONF: inside a job, snakemake-executor-plugin-slurm-jobstep (0.6.1) drops
  every ``SLURM_*`` variable from the environment of its nested ``srun``, SLURM_CONF included, so
  on a cluster whose slurm.conf is not in /etc/slurm (like this test cluster) the step cannot
  find its controller. Real clusters keep slurm.conf in the default place or run configless.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import Workflow, ball_config, reproducible_files, snakemake_command
from tests.conftest_slurm import slurm_cluster  # noqa: F401
from tests.slurm_cluster import SlurmCluster, find_binary

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slurm, pytest.mark.slow]

FAST = ["--slurm-init-seconds-before-status-checks", "1", "--latency-wait", "5"]
TABLES = ["results/balls/trials.parquet", "results/balls/summary.csv"]
"""Targets of the Monte Carlo runs: the tables (not the report, whose jobs are not SLURM's)."""


class Slurm:
    """Runs snakemake against the test cluster and reads what was submitted."""

    def __init__(self, cluster: SlurmCluster, shim_dir: Path):
        self.cluster = cluster
        self.sbatch_log = shim_dir / "sbatch.log"
        self.env = {
            **cluster.env,
            "PATH": f"{shim_dir}{os.pathsep}{cluster.env.get('PATH', os.defpath)}",
            "PYTHONPATH": f"{REPO}{os.pathsep}{cluster.env.get('PYTHONPATH', '')}",
        }

    def command(self, workdir: Path, config: Path, *args: str) -> list[str]:
        return snakemake_command(workdir, config, *args)

    def run(
        self,
        workdir: Path,
        config: Path,
        *args: str,
        cwd: Path | None = None,
        env: dict | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            self.command(workdir, config, *args),
            cwd=cwd or workdir,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"snakemake failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{self.cluster.logs()}"
            )
        return done

    def submissions(self) -> list[str]:
        """One line per sbatch call so far (its arguments), oldest first."""
        return self.sbatch_log.read_text().splitlines() if self.sbatch_log.exists() else []

    def jobs(self) -> list[tuple[str, str, str]]:
        """(job id, partition, state) of every job the cluster still lists (MinJobAge=600)."""
        shown = self.cluster.run(find_binary("squeue") or "squeue", "-h", "-t", "all", "-o", "%i %P %T")
        return [tuple(line.split()) for line in shown.stdout.splitlines()]


@pytest.fixture(scope="module")
def slurm(slurm_cluster: SlurmCluster, tmp_path_factory) -> Slurm:  # noqa: F811
    shim_dir = tmp_path_factory.mktemp("slurm-shims")
    real_sbatch, real_srun = find_binary("sbatch"), find_binary("srun")
    (shim_dir / "sbatch").write_text(
        f'#!/bin/sh\necho "$*" >> "{shim_dir / "sbatch.log"}"\nexec "{real_sbatch}" "$@"\n'
    )
    (shim_dir / "srun").write_text(
        f'#!/bin/sh\nexport SLURM_CONF="{slurm_cluster.conf_path}"\nexec "{real_srun}" "$@"\n'
    )
    for shim in ("sbatch", "srun"):
        (shim_dir / shim).chmod(0o755)
    return Slurm(slurm_cluster, shim_dir)


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def results_of(study_dir: Path) -> dict[str, tuple]:
    """(status, metrics) of every trial."""
    results = {}
    for path in sorted(study_dir.glob("trial_*/result.json")):
        result = json.loads(path.read_text())
        results[path.parent.name] = (result["status"], result["metrics"])
    return results


def install_line() -> str:
    """The documented one-line profile install, read from docs/slurm.md."""
    for line in (REPO / "docs" / "slurm.md").read_text().splitlines():
        if "ln -s" in line and "~/.config/snakemake" in line:
            return line.strip().strip("`")
    raise AssertionError("docs/slurm.md has no one-line profile install (ln -s ... ~/.config/snakemake)")


def profile_copy(slurm: Slurm, folder: Path) -> Path:
    """profiles/slurm copied, with limits written by `mojo slurm partitions` into the copy and
    the copy pointing the plugin at them, and short status-check waits."""
    profile = folder / "slurm-profile"
    shutil.copytree(REPO / "profiles" / "slurm", profile)
    for stale in ("partitions.yaml", "cluster.json"):
        (profile / stale).unlink(missing_ok=True)
    query = subprocess.run(
        [
            sys.executable,
            "-m",
            "mojo.cli",
            "slurm",
            "partitions",
            "--output",
            str(profile / "partitions.yaml"),
        ],
        env=slurm.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert query.returncode == 0, query.stderr
    with (profile / "config.yaml").open("a") as config:
        config.write(
            "\nslurm-partition-config: partitions.yaml\n"
            "slurm-init-seconds-before-status-checks: 1\n"
            "latency-wait: 5\n"
        )
    return profile


def test_monte_carlo_on_slurm_matches_a_local_run(slurm: Slurm, tmp_path: Path):
    """`--profile slurm` after the documented install: the same trial files as `--cores 2`."""
    # Balls heavier than 1.5 kg fail the check: statuses must match as well as values.
    config = ball_config(metrics="tests.trial_models:checked_metrics", n_trial=16)

    local = Workflow(tmp_path / "local")
    local.workdir.mkdir()
    local.write_config(config)
    local.run(*TABLES)

    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in slurm.env.items() if key != "XDG_CONFIG_HOME"}
    env["HOME"] = str(home)
    install = subprocess.run(
        ["bash", "-c", install_line()], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr
    assert (home / ".config" / "snakemake" / "slurm" / "config.yaml").exists()

    workdir = tmp_path / "slurm"
    workdir.mkdir()
    study_yaml = write_config(workdir / "study.yaml", config)
    submitted_before = len(slurm.submissions())
    started = time.monotonic()
    done = slurm.run(workdir, study_yaml, "--profile", "slurm", *FAST, *TABLES, env=env)
    wall = time.monotonic() - started
    print(f"2-job study on SLURM: {wall:.1f} s wall")

    submitted = slurm.submissions()[submitted_before:]
    assert len(submitted) == 2, done.stderr  # n_proc=2: two batch jobs, aggregate stays local
    log = done.stdout + done.stderr
    assert "using squeue for job status" in log  # accounting is off on the test cluster
    # No partition file in the shipped profile: the run queried the cluster for the plugin.
    assert (workdir / ".snakemake" / "mojo" / "slurm" / "partitions.yaml").exists()

    ours, theirs = workdir / "results" / "balls", local.study_dir()
    assert reproducible_files(ours) == reproducible_files(theirs)
    assert len(reproducible_files(ours)) == 16 * 3
    assert results_of(ours) == results_of(theirs)
    statuses = {status for status, _ in results_of(ours).values()}
    assert "failure" in statuses and "success" in statuses  # a failed trial is recorded, not fatal
    table = pd.read_parquet(ours / "trials.parquet")
    local_table = pd.read_parquet(theirs / "trials.parquet")
    assert list(table["status"]) == list(local_table["status"])

    again = slurm.run(workdir, study_yaml, "--profile", "slurm", *FAST, *TABLES, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(slurm.submissions()) == submitted_before + 2


def test_too_large_a_job_stops_the_run_before_any_submission(slurm: Slurm, tmp_path: Path):
    """`--profile profiles/slurm` from the repository folder, as the README says."""
    config = write_config(tmp_path / "study.yaml", ball_config(resources={"trial_seconds": 100000}))
    jobs_before, submitted_before = slurm.jobs(), len(slurm.submissions())

    done = slurm.run(tmp_path, config, "--profile", "profiles/slurm", *FAST, *TABLES, cwd=REPO, check=False)

    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "rule 'trial_batch' asks for runtime=" in message
    assert "the longest partition ('long') allows 120 min" in message
    assert "nothing was submitted" in message
    assert len(slurm.submissions()) == submitted_before  # sbatch never ran
    assert slurm.jobs() == jobs_before  # and the cluster has no new job
    assert not (tmp_path / "results" / "balls" / ".mojo" / "batches").exists()


def test_more_jobs_than_max_array_size_run_and_resume_after_a_crash(slurm: Slurm, tmp_path: Path):
    """7 batch jobs (MaxArraySize is 5) on the partition the plugin picks from the file that
    `mojo slurm partitions` wrote; the submit host dies halfway, a rerun finishes the study."""
    n_trial, per_job = 14, 2
    assert n_trial // per_job > slurm.cluster.max_array_size
    profile = profile_copy(slurm, tmp_path)
    # 200 s per trial, doubled, for 2 trials + 1 min: 15 min, too long for 'short' (10 min).
    config = write_config(
        tmp_path / "study.yaml",
        ball_config(n_trial=n_trial, trials_per_job=per_job, resources={"trial_seconds": 200}),
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    study = workdir / "results" / "balls"
    submitted_before = len(slurm.submissions())

    started = time.monotonic()
    first = subprocess.Popen(
        slurm.command(workdir, config, "--profile", str(profile), *TABLES),
        cwd=workdir,
        env=slurm.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    manifests = study / ".mojo" / "batches"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if len(list(manifests.glob("*.json"))) >= 2:
            break
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the submit host crashes
    first.wait()
    finished = len(list(manifests.glob("*.json")))
    assert 2 <= finished < n_trial // per_job, "the run was not interrupted halfway"
    # Jobs in flight die with the host's session, as on a node failure: cancel them and wait.
    for run_id in {
        re.search(r"--job-name (\S+)", line).group(1) for line in slurm.submissions()[submitted_before:]
    }:
        slurm.cluster.run(find_binary("scancel") or "scancel", f"--name={run_id}", check=False)
    wait_until_idle(slurm)
    before = {p.parent.name: p.stat().st_mtime_ns for p in study.glob("trial_*/result.json")}

    slurm.run(workdir, config, "--profile", str(profile), "--unlock")
    done = slurm.run(workdir, config, "--profile", str(profile), *TABLES)
    wall = time.monotonic() - started
    print(f"7-job study on SLURM with a crash and a rerun: {wall:.1f} s wall")

    after = {p.parent.name: p.stat().st_mtime_ns for p in study.glob("trial_*/result.json")}
    assert len(after) == n_trial
    assert {name: after[name] for name in before} == before  # finished trials were not re-run
    table = pd.read_parquet(study / "trials.parquet")
    assert list(table["trial"]) == list(range(n_trial))
    assert (table["status"] == "success").all(), done.stderr

    submitted = slurm.submissions()[submitted_before:]
    assert len(submitted) >= n_trial // per_job  # one sbatch per batch job, no array jobs
    assert not any("--array" in line for line in submitted)
    assert all(" -p long" in line for line in submitted), submitted


def wait_until_idle(slurm: Slurm, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(state in ("RUNNING", "PENDING", "COMPLETING") for *_, state in slurm.jobs()):
            return
        time.sleep(0.3)
    raise AssertionError(f"SLURM jobs still active: {slurm.jobs()}")


def test_optimisation_loop_runs_on_slurm(slurm: Slurm, tmp_path: Path):
    """The Optuna loop: ask/tell on the submit host (localrules), evaluations as SLURM jobs."""
    if not (REPO / "mojo" / "workflow" / "rules" / "optimize.smk").exists():
        pytest.skip("mojo/workflow/rules/optimize.smk is not in the repository yet (issue: optimisation)")
    from tests.test_optimize_workflow import box_config

    config = write_config(tmp_path / "study.yaml", box_config(n_trial=8, trials_per_round=4))
    profile = profile_copy(slurm, tmp_path)
    submitted_before = len(slurm.submissions())

    done = slurm.run(tmp_path, config, "--profile", str(profile), "optimize")

    opt = tmp_path / "results" / "box" / "optimize"
    best = json.loads((opt / "best.json").read_text())
    assert best, done.stderr
    trials = pd.read_parquet(opt / "trials.parquet")
    assert len(trials) == 8
    submitted = slurm.submissions()[submitted_before:]
    assert submitted, "no evaluation job went to SLURM"
    assert all("optimize_evals" in line for line in submitted), submitted
