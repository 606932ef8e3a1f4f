"""SLURM as a researcher uses it: what the pre-submission checks and the jobs must get right.

- snakemake-executor-plugin-slurm sends a job that names its partition (``slurm_partition``, set
  per rule with ``--set-resources``, as docs/slurm.md shows) there as it is, and asks for
  ``--mem-per-cpu`` when ``mem_mb_per_cpu`` is set: the check judged such jobs against other
  partitions, or against ``mem_mb`` alone, and let through a job that pends forever
  (``PartitionTimeLimit``) or that sbatch rejects after the run has started.
- The plugin writes the working folder into sbatch's command line, where ``$(...)`` ran.
- A job reads the config file when it starts: an edit made while it queued made its trials.
- The optimiser's evaluation jobs run trials too, and must be sized like trial jobs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from mojo.config.study import StudyConfig
from mojo.slurm.check import check_jobs
from mojo.slurm.limits import ClusterLimits, PartitionLimits, SlurmRunError
from mojo.slurm.resources import eval_job_size, job_resources
from tests.conftest import REPO, ball_config
from tests.conftest_slurm import slurm_cluster  # noqa: F401
from tests.test_slurm_workflow import FAST, TABLES, Slurm, slurm, write_config  # noqa: F401

LIMITS = ClusterLimits(
    partitions=[
        PartitionLimits(name="short", is_default=True, max_time_s=600, max_mem_mb=8000, max_cpus=2),
        PartitionLimits(name="long", max_time_s=7200, max_mem_mb=8000, max_cpus=2),
    ]
)


def batch_job(**resources) -> SimpleNamespace:
    """A trial job as the check sees it (Snakemake's job: rule, threads, resources)."""
    rule = SimpleNamespace(name="trial_batch")
    return SimpleNamespace(is_local=False, rule=rule, threads=1, resources=resources)


def refusal(**resources) -> str:
    with pytest.raises(SlurmRunError) as raised:
        check_jobs([batch_job(**resources)], LIMITS)
    return str(raised.value)


def test_a_job_pinned_to_a_partition_too_short_for_it_is_refused():
    # 'long' would hold 15 min, but the plugin submits to 'short', where the job pends forever.
    message = refusal(runtime=15, slurm_partition="short")
    assert "slurm_partition='short'" in message and "runtime=15 min" in message, message
    assert "10 min" in message and "'long'" in message, message  # its limit, and what fits
    check_jobs([batch_job(runtime=15, slurm_partition="short,long")], LIMITS)  # sbatch -p a,b
    check_jobs([batch_job(runtime=15, slurm_partition="long")], LIMITS)


def test_a_job_pinned_to_a_partition_the_cluster_lacks_is_refused():
    message = refusal(runtime=5, slurm_partition="compute")
    assert "slurm_partition='compute'" in message and "short, long" in message, message


def test_memory_per_cpu_counts_against_the_partitions():
    # The plugin submits --mem-per-cpu 100000 (mem_mb_per_cpu wins over mem_mb): 200 GB on 2 CPUs.
    message = refusal(runtime=5, mem_mb=1000, mem_mb_per_cpu=100000, cpus_per_task=2)
    assert "mem_mb=200000 MB" in message and "8000 MB" in message, message


@pytest.mark.slurm
@pytest.mark.slow
def test_a_pinned_partition_that_cannot_hold_the_jobs_stops_the_run(slurm: Slurm, tmp_path: Path):
    """The per-rule partition of docs/slurm.md, on jobs too long for it: refused, not queued."""
    # 2 trials x 200 s, doubled, + 1 min: 15 min, longer than 'short' allows (10 min).
    config = write_config(
        tmp_path / "study.yaml",
        ball_config(n_trial=2, trials_per_job=2, resources={"trial_seconds": 200}),
    )
    submitted_before = len(slurm.submissions())
    command = slurm.command(
        tmp_path, config, "--profile", "profiles/slurm", *FAST, *TABLES,
        "--set-resources", "trial_batch:slurm_partition=short",
    )
    try:
        done = subprocess.run(command, cwd=REPO, env=slurm.env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run hung with its jobs pending on 'short': {slurm.jobs()}")
    message = done.stdout + done.stderr
    assert done.returncode != 0, message
    assert "slurm_partition='short'" in message and "nothing was submitted" in message, message
    assert "Traceback" not in message
    assert len(slurm.submissions()) == submitted_before


@pytest.mark.slurm
@pytest.mark.slow
def test_a_study_folder_named_with_command_substitution_runs_nothing(slurm: Slurm, tmp_path: Path):
    """The plugin writes the working folder into sbatch's command line (-D, --output and the job's
    command in --wrap): a folder named ``$(...)`` ran that command on the submit host."""
    pwned = tmp_path / "pwned"
    workdir = tmp_path / f"study $(touch {pwned})"
    workdir.mkdir(parents=True)  # the slashes of the command make folders too
    # The config file lies elsewhere: its own path holds nothing a shell would run.
    config = write_config(tmp_path / "study.yaml", ball_config(n_trial=2))
    submitted_before = len(slurm.submissions())

    done = slurm.run(workdir, config, "--profile", "profiles/slurm", *FAST, *TABLES, cwd=REPO, check=False)

    message = done.stdout + done.stderr
    assert not pwned.exists()
    assert done.returncode != 0 and str(workdir) in message and "Traceback" not in message, message
    assert len(slurm.submissions()) == submitted_before


def test_an_evaluation_job_is_sized_from_its_share_of_a_round():
    """The optimiser's evaluation jobs run trials too: resources.trial_seconds and mem_mb must
    size them as they size trial jobs (the rule asked for the profile's 30 min and 1000 MB)."""
    from tests.test_optimize_workflow import box_config

    config = box_config(trials_per_round=5, evals_per_trial=3)
    config["resources"] = {"trial_seconds": 100, "mem_mb": 3000}
    study = StudyConfig.model_validate(config)
    # 5 trials dealt to n_proc=2 jobs: at most 3 trials, of 3 evaluations each.
    assert eval_job_size(study) == 9
    assert job_resources(study, eval_job_size(study)) == {"runtime": 31, "cpus_per_task": 1, "mem_mb": 3000}


@pytest.mark.slurm
@pytest.mark.slow
def test_a_config_edited_while_jobs_are_queued_makes_no_trial_of_it(slurm: Slurm, tmp_path: Path):
    """A job reads the config file when it starts: edited after submission (the next study
    prepared while this one queues), its trials were made from the edit yet recorded under the
    submitted config, so reverting the edit re-made nothing and left them in the study."""
    config = write_config(tmp_path / "study.yaml", ball_config(n_trial=2, n_proc=1))
    edit = tmp_path / "edit-on-submit"
    edit.mkdir()
    (edit / "sbatch").write_text(
        f"#!/bin/sh\nsed -i 's/^duration: 0.2$/duration: 0.4/' '{config}'\n"
        f'exec "{slurm.sbatch_log.parent / "sbatch"}" "$@"\n'
    )
    (edit / "sbatch").chmod(0o755)
    env = {**slurm.env, "PATH": f"{edit}:{slurm.env['PATH']}"}
    assert "duration: 0.2" in config.read_text()

    done = slurm.run(tmp_path, config, "--profile", "profiles/slurm", *FAST, "--retries", "0", *TABLES,
                     cwd=REPO, env=env, check=False)

    assert done.returncode != 0, done.stderr
    study = tmp_path / "results" / "balls"
    assert not list(study.glob("trial_*/result.json")), "trials were made from the edited config"
    job_logs = "".join(p.read_text() for p in (tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert "changed after this SLURM job was submitted" in job_logs, job_logs
