"""The SLURM run guard (mojo.slurm.guard) without a cluster: fake ``scontrol``/``sacct`` on PATH.

The guard runs in the main Snakemake process before the executor exists; here it wraps a stand-in
``workflow.execute`` and is called as Snakemake's API calls it (keywords ``executor_plugin`` and
``executor_settings``). The real runs are in tests/test_slurm_workflow.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from mojo.slurm import guard
from mojo.slurm.limits import ClusterLimits, PartitionLimits
from mojo.slurm.partitions import read_partition_file, write_partition_file
from tests.conftest import REPO, ball_config

PARTITIONS = (
    "PartitionName=short Default=YES MaxTime=00:10:00 MaxCPUsPerNode=UNLIMITED Nodes=vm\n"
    "PartitionName=long Default=NO MaxTime=02:00:00 Nodes=vm\n"
)
NODES = "NodeName=vm CPUTot=2 RealMemory=8000 Partitions=short,long\n"
CONFIG = (
    "AccountingStorageType   = accounting_storage/none\n"
    "MaxArraySize            = 5\n"
    "MinJobAge               = 30 sec\n"
)


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch) -> Path:
    """``scontrol`` answering from the texts above and appending each call to the returned log;
    ``sacct`` installed (so only the accounting setting can choose squeue)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"partition": PARTITIONS, "node": NODES, "config": CONFIG}.items():
        (bin_dir / f"{name}.txt").write_text(text)
    log = tmp_path / "scontrol.log"
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\ncat "{bin_dir}/$2.txt"\n')
    (bin_dir / "sacct").write_text("#!/bin/sh\nexit 0\n")
    for name in ("scontrol", "sacct"):
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("SNAKEMAKE_SLURM_PARTITIONS", raising=False)
    monkeypatch.setenv(guard.SUBMITTED_STUDY_ENV, "")  # a guarded run sets it: undone after the test
    monkeypatch.chdir(tmp_path)
    return log


def slurm_workflow() -> SimpleNamespace:
    """A stand-in main-process workflow whose ``execute`` records the settings it was given."""
    config_settings = SimpleNamespace(config_args=[], configfiles=[])
    workflow = SimpleNamespace(
        is_main_process=True,
        config_settings=config_settings,
        config=ball_config(),
        main_snakefile=str(REPO / "Snakefile"),
        executed=[],
    )
    workflow.execute = lambda **kwargs: workflow.executed.append(kwargs)
    return workflow


def plugin_settings() -> SimpleNamespace:
    return SimpleNamespace(
        status_command="sacct", init_seconds_before_status_checks=None, partition_config=None
    )


def test_a_guarded_run_reads_the_slurm_config_once(fake_slurm: Path):
    workflow, settings = slurm_workflow(), plugin_settings()
    guard.guard_slurm_run(workflow, "fingerprint")
    workflow.execute(executor_plugin=SimpleNamespace(name="slurm"), executor_settings=settings)

    calls = fake_slurm.read_text().splitlines()
    assert calls.count("show config") == 1, calls
    assert sorted(calls) == ["show config", "show node -o", "show partition -o"]
    # What the one answer was used for: squeue (no accounting), MinJobAge 30 s -> 10 s waits,
    # the queried limits written for the plugin, with MaxArraySize from the same answer.
    assert settings.status_command == "squeue"
    assert settings.init_seconds_before_status_checks == 10
    assert settings.partition_config == guard.AUTO_PARTITION_FILE.resolve()
    limits = read_partition_file(settings.partition_config)
    assert [(p.name, p.max_time_s, p.max_cpus) for p in limits.partitions] == [
        ("short", 600, 2),
        ("long", 7200, 2),
    ]
    assert limits.max_array_size == 5
    assert workflow.executed == [
        {"executor_plugin": SimpleNamespace(name="slurm"), "executor_settings": settings}
    ]


def test_a_configured_partition_file_needs_only_the_config(fake_slurm: Path, tmp_path: Path):
    path = tmp_path / "profile" / "partitions.yaml"
    write_partition_file(ClusterLimits(partitions=[PartitionLimits(name="p")]), path)
    workflow, settings = slurm_workflow(), plugin_settings()
    settings.partition_config = path
    guard.guard_slurm_run(workflow, "fingerprint")
    workflow.execute(executor_plugin=SimpleNamespace(name="slurm"), executor_settings=settings)
    assert fake_slurm.read_text().splitlines() == ["show config"]
    assert settings.partition_config == path


def test_a_warp_study_is_not_submitted_to_slurm(fake_slurm: Path):
    """Its jobs would run where SLURM puts them, without a GPU: refused before anything is
    submitted or queried, with the way out."""
    workflow, settings = slurm_workflow(), plugin_settings()
    workflow.config = {"backend": "warp"}
    guard.guard_slurm_run(workflow, "fingerprint")
    with pytest.raises(SystemExit, match=r"backend: warp .* GPU node .* backend: cpu"):
        workflow.execute(executor_plugin=SimpleNamespace(name="slurm"), executor_settings=settings)
    assert workflow.executed == [] and not fake_slurm.exists()


def job(rule: str, runtime: int) -> SimpleNamespace:
    return SimpleNamespace(
        rule=SimpleNamespace(name=rule), resources={"runtime": runtime}, threads=1, is_local=False
    )


def test_onstart_check_stops_a_slurm_run_whose_job_no_partition_holds(tmp_path: Path):
    path = tmp_path / "partitions.yaml"
    write_partition_file(ClusterLimits(partitions=[PartitionLimits(name="p", max_time_s=600)]), path)
    jobs = [job("trial_batch", 5), job("trial_batch", 50)]
    workflow = SimpleNamespace(
        executor_plugin=SimpleNamespace(name="slurm"),
        executor_settings=SimpleNamespace(partition_config=path),
        dag=SimpleNamespace(needrun_jobs=lambda: iter(jobs)),
    )
    with pytest.raises(SystemExit, match=r"rule 'trial_batch' asks for runtime=50 min.*allows 10 min"):
        guard.check_submission(workflow)
    jobs.pop()
    guard.check_submission(workflow)  # every job fits: the run goes on
    workflow.executor_plugin = SimpleNamespace(name="local")
    jobs.append(job("trial_batch", 50))
    guard.check_submission(workflow)  # local runs are not SLURM's
