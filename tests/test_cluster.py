"""mojo.slurm without a cluster: job sizing (resources), reading partition files (partitions), the
request check (check), the status command (status_command) and the run guard (guard)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mojo.config.study import load_study
from mojo.slurm import check, guard, partitions, resources, status_command
from mojo.slurm.limits import ClusterLimits, PartitionLimits, SlurmRunError
from mojo.slurm.partitions import write_partition_file
from tests.conftest import ball_config

LIMITS = ClusterLimits(
    partitions=[
        PartitionLimits(name="short", is_default=True, max_time_s=600, max_mem_mb=8000, max_cpus=2),
        PartitionLimits(name="long", max_time_s=7200, max_mem_mb=4000, max_cpus=2, max_mem_mb_per_cpu=2000),
    ],
    max_array_size=5,
)


@pytest.mark.parametrize(
    "changes, n_trials, runtime",
    [
        ({}, 6, 3),  # 60 s + 2 x 6 x 10 s = 180 s
        ({"trial_timeout": 30}, 6, 7),  # 60 + 2 x 6 x 30 = 420 s
        ({"trial_timeout": 30, "resources": {"trial_seconds": 0.5}}, 100, 3),  # 60 + 100 = 160 s
        ({"resources": {"trial_seconds": 200}}, 2, 15),  # 60 + 800 = 860 s
    ],
)
def test_job_runtime_from_trials_per_job_and_trial_time(changes, n_trials, runtime):
    study = load_study(ball_config(**changes))
    assert resources.job_runtime_min(study, n_trials) == runtime


def test_job_resources_leave_memory_to_the_profile_unless_set():
    assert resources.job_resources(load_study(ball_config()), 6) == {"runtime": 3, "cpus_per_task": 1}
    study = load_study(ball_config(resources={"mem_mb": 3000}))
    assert resources.job_resources(study, 6)["mem_mb"] == 3000


def test_resources_do_not_change_the_fingerprint():
    from mojo.trials.targets import study_fingerprint

    plain = load_study(ball_config())
    sized = load_study(ball_config(resources={"trial_seconds": 5, "mem_mb": 2000}))
    assert study_fingerprint(plain) == study_fingerprint(sized)


def test_resources_reject_unknown_keys():
    with pytest.raises(ValueError, match="resources.memory"):
        load_study(ball_config(resources={"memory": 5}))


def test_partition_file_reads_back_as_the_limits_written(tmp_path):
    path = tmp_path / "partitions.yaml"
    write_partition_file(LIMITS, path, "squeue")
    assert partitions.read_partition_file(path) == LIMITS


def test_partition_file_without_companion_and_with_time_strings(tmp_path):
    path = tmp_path / "partitions.yaml"
    path.write_text("partitions:\n  a:\n    max_runtime: '1:00:00'\n    max_threads: 4\n  b: {}\n")
    limits = partitions.read_partition_file(path)
    assert limits.partitions[0] == PartitionLimits(name="a", max_time_s=3600, max_cpus=4)
    assert limits.partitions[1] == PartitionLimits(name="b")
    assert limits.max_array_size is None


def fake_job(rule, runtime=None, mem_mb=None, cpus=None, threads=1, local=False):
    resources = {"runtime": runtime, "mem_mb": mem_mb, "cpus_per_task": cpus}
    return SimpleNamespace(
        rule=SimpleNamespace(name=rule), resources=resources, threads=threads, is_local=local
    )


def test_check_names_each_oversized_rule_once_and_skips_local_jobs():
    jobs = [
        fake_job("trial_batch", runtime=500),
        fake_job("trial_batch", runtime=500),
        fake_job("trial", runtime=5, mem_mb=9000),
        fake_job("aggregate", runtime=100000, local=True),
        fake_job("fine", runtime=100, mem_mb=4000),
    ]
    problems = check.oversized_jobs(jobs, LIMITS)
    assert len(problems) == 2
    assert "'trial_batch'" in problems[0] and "longest partition ('long') allows 120 min" in problems[0]
    assert "'trial'" in problems[1] and "mem_mb=9000 MB" in problems[1]
    with pytest.raises(SlurmRunError, match="nothing was submitted"):
        check.check_jobs(jobs, LIMITS)
    check.check_jobs(jobs[-2:], LIMITS)


def test_status_command_squeue_without_accounting_and_wait_fits_min_job_age(monkeypatch):
    monkeypatch.setattr(status_command, "detect_status_command", lambda **_: "squeue")
    monkeypatch.setattr(status_command, "min_job_age", lambda _: 30)
    settings = SimpleNamespace(status_command="sacct", init_seconds_before_status_checks=40)
    status_command.choose_status_command(settings, {})
    assert settings.status_command == "squeue"
    assert settings.init_seconds_before_status_checks == 10  # 3 x 10 <= MinJobAge

    monkeypatch.setattr(status_command, "min_job_age", lambda _: 2)
    with pytest.raises(SlurmRunError, match="MinJobAge=2"):
        status_command.choose_status_command(settings, {})


def test_status_command_left_alone_where_accounting_works(monkeypatch):
    monkeypatch.setattr(status_command, "detect_status_command", lambda **_: "sacct")
    settings = SimpleNamespace(status_command="squeue", init_seconds_before_status_checks=40)
    status_command.choose_status_command(settings, {})
    assert settings == SimpleNamespace(status_command="squeue", init_seconds_before_status_checks=40)


def test_guard_does_nothing_in_cluster_jobs():
    workflow = SimpleNamespace(is_main_process=False, execute="original")
    guard.guard_slurm_run(workflow, "fingerprint")
    assert workflow.execute == "original"
