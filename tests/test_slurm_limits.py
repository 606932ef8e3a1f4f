"""Tests of mojo.slurm's units, limits, partitions, check, status_command and cli: pure helpers on
captured text, and live queries against a real cluster."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from snakemake_executor_plugin_slurm.partitions import (
    get_best_partition,
    read_partition_file,
)

from mojo.slurm.check import check_request
from mojo.slurm.cli import partitions_table
from mojo.slurm.limits import (
    ClusterLimits,
    PartitionLimits,
    SlurmLimitError,
    cluster_limits_from,
    parse_config,
    parse_records,
    query_cluster_limits,
)
from mojo.slurm.partitions import ClusterFile, write_partition_file
from mojo.slurm.status_command import detect_status_command, status_command_for
from mojo.slurm.units import (
    array_string,
    format_mb,
    format_seconds,
    time_to_seconds,
    to_mb,
)
from tests import slurm_cluster as slurm_cluster_module
from tests.conftest_slurm import slurm_cluster  # noqa: F401

REPO = Path(__file__).resolve().parents[1]

# Captured from the test cluster (Slurm 22.05) started with extra partition options, then a
# second, smaller node added by hand so "smallest node" has something to choose from.
PARTITION_TEXT = """\
PartitionName=short AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=00:10:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=2 TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=6000 TRES=cpu=2,mem=8000M,node=1,billing=2
PartitionName=big AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=1-00:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm,small PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=3 TotalNodes=2 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerCPU=2000 TRES=cpu=3,mem=12000M,node=2,billing=3
PartitionName=inf AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=2 TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerCPU=1000 MaxMemPerNode=UNLIMITED TRES=cpu=2,mem=8000M,node=1,billing=2
"""

NODE_TEXT = """\
NodeName=vm Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=0.11 AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=127.0.0.1 NodeHostName=vm Version=22.05.8 OS=Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=8000 AllocMem=0 FreeMem=23815 Sockets=2 Boards=1 State=IDLE ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=short,big,inf  BootTime=2026-11-23T23:09:16 SlurmdStartTime=2026-11-23T23:17:09 LastBusyTime=2026-11-23T23:17:09 CfgTRES=cpu=2,mem=8000M,billing=2 AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s
NodeName=small Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=1 CPUTot=1 CPULoad=0.00 AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=127.0.0.2 NodeHostName=small Version=22.05.8 OS=Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=4000 AllocMem=0 FreeMem=3900 Sockets=1 Boards=1 State=IDLE ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=big  BootTime=2026-11-23T23:09:16 SlurmdStartTime=2026-11-23T23:17:09 LastBusyTime=2026-11-23T23:17:09 CfgTRES=cpu=1,mem=4000M,billing=1 AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s
"""

CONFIG_TEXT = """\
Configuration data as of 2026-11-23T23:17:09
AccountingStorageHost   = localhost
AccountingStorageType   = accounting_storage/none
MaxArraySize            = 5
MinJobAge               = 600 sec

Slurmctld(primary) at vm is UP
"""


@pytest.fixture
def captured() -> ClusterLimits:
    return cluster_limits_from(PARTITION_TEXT, NODE_TEXT, CONFIG_TEXT)


def partition(name: str, **limits) -> PartitionLimits:
    return PartitionLimits(name=name, **limits)


# A cluster like the test cluster: short (10 min, default) and long (120 min).
TWO_PARTITIONS = ClusterLimits(
    partitions=[
        partition("short", is_default=True, max_time_s=600, max_mem_mb=8000, max_cpus=2),
        partition("long", max_time_s=7200, max_mem_mb=4000, max_cpus=2),
    ],
    max_array_size=5,
)


# --------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([0, 1, 2, 5, 6], "0-2,5-6"),
        ([6, 5, 2, 1, 0, 1], "0-2,5-6"),
        ([3], "3"),
        ([0, 2, 4], "0,2,4"),
        ([9, 10, 11, 20], "9-11,20"),
        (range(100), "0-99"),
    ],
)
def test_array_string_collapses_sorted_unique_runs(ids, expected):
    assert array_string(ids) == expected


@pytest.mark.parametrize(("ids", "message"), [([], "at least one"), ([-1, 0], "-1")])
def test_array_string_rejects_empty_and_negative(ids, message):
    with pytest.raises(ValueError, match=message):
        array_string(ids)


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("1000", 1000),
        (1000, 1000),
        ("1G", 1024),
        ("1g", 1024),
        ("1024M", 1024),
        ("2T", 2097152),
        ("2048K", 2),
        ("1500K", 2),
        ("1.5G", 1536),
        (" 4G ", 4096),
    ],
)
def test_to_mb_reads_slurm_sizes(text, mb):
    assert to_mb(text) == mb


@pytest.mark.parametrize("bad", ["", "G", "1GB", "1X", "-1G", "lots", "1 G B"])
def test_to_mb_names_the_bad_value(bad):
    with pytest.raises(ValueError, match=f"cannot read {bad!r} as a SLURM memory size"):
        to_mb(bad)


@pytest.mark.parametrize(
    ("mb", "text"),
    [(1024, "1G"), (1000, "1000M"), (1536, "1536M"), (2097152, "2T"), (3072, "3G"), (0, "0M"), (1, "1M")],
)
def test_format_mb_uses_largest_exact_unit(mb, text):
    assert format_mb(mb) == text
    assert to_mb(format_mb(mb)) == mb


def test_format_mb_rejects_negative():
    with pytest.raises(ValueError, match="-5"):
        format_mb(-5)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1-02:03:04", 93784),
        ("02:03:04", 7384),
        ("03:04", 184),
        ("5", 300),
        ("1-02", 93600),
        ("1-02:03", 93780),
        ("00:10:00", 600),
        ("0", 0),
    ],
)
def test_time_to_seconds_reads_slurm_formats(text, seconds):
    assert time_to_seconds(text) == seconds


@pytest.mark.parametrize("text", ["UNLIMITED", "INFINITE", "infinite", " Unlimited "])
def test_time_to_seconds_unlimited_is_none(text):
    assert time_to_seconds(text) is None


@pytest.mark.parametrize("bad", ["", "abc", "1:2:3:4", "1-", "-5", "10m", "1-2-3", "1.5"])
def test_time_to_seconds_names_the_bad_value(bad):
    with pytest.raises(ValueError, match=f"cannot read {bad!r} as a SLURM time"):
        time_to_seconds(bad)


@pytest.mark.parametrize(("seconds", "text"), [(600, "00:10:00"), (93784, "1-02:03:04"), (None, "UNLIMITED")])
def test_format_seconds_round_trips(seconds, text):
    assert format_seconds(seconds) == text
    assert time_to_seconds(text) == seconds


# --------------------------------------------------------------------------- parsing


def test_parse_records_reads_one_record_per_line():
    records = parse_records(NODE_TEXT)
    assert [r["NodeName"] for r in records] == ["vm", "small"]
    assert records[0]["RealMemory"] == "8000"
    assert records[0]["Partitions"] == "short,big,inf"
    assert records[1]["CPUTot"] == "1"


def test_parse_config_reads_key_value_lines():
    config = parse_config(CONFIG_TEXT)
    assert config["MaxArraySize"] == "5"
    assert config["AccountingStorageType"] == "accounting_storage/none"
    assert config["MinJobAge"] == "600 sec"
    assert not any(" " in key for key in config)


def test_cluster_limits_from_captured_text(captured):
    assert [p.name for p in captured.partitions] == ["short", "big", "inf"]
    assert captured.default_partition == "short"
    assert captured.max_array_size == 5
    short, big, inf = captured.partitions
    # MaxMemPerNode=6000 is below the node's RealMemory=8000.
    assert short == PartitionLimits(
        name="short", is_default=True, max_time_s=600, max_mem_mb=6000, max_cpus=2
    )
    # The smallest node of 'big' decides memory and CPUs; MaxMemPerCPU is kept.
    assert big == PartitionLimits(
        name="big", max_time_s=86400, max_mem_mb=4000, max_mem_mb_per_cpu=2000, max_cpus=1
    )
    # UNLIMITED time is None; DefMemPerCPU (a default) is not a limit.
    assert inf.max_time_s is None
    assert inf.max_mem_mb_per_cpu is None
    assert inf.max_mem_mb == 8000


def test_max_cpus_per_node_caps_cpus():
    text = PARTITION_TEXT.splitlines()[0].replace("MaxCPUsPerNode=UNLIMITED", "MaxCPUsPerNode=1")
    limits = cluster_limits_from(text, NODE_TEXT, CONFIG_TEXT)
    assert limits.partitions[0].max_cpus == 1


def test_partition_without_nodes_has_no_node_limits():
    text = (
        PARTITION_TEXT.splitlines()[2]
        .replace("Nodes=vm", "Nodes=(null)")
        .replace("PartitionName=inf", "PartitionName=empty")
    )
    (empty,) = cluster_limits_from(text, NODE_TEXT, "").partitions
    assert (empty.max_mem_mb, empty.max_cpus) == (None, None)


def test_partitions_table_shows_every_partition(captured):
    table = partitions_table(captured)
    assert table.splitlines()[0].split() == ["PARTITION", "MAX", "TIME", "MEM/NODE", "MEM/CPU", "CPUS/NODE"]
    assert table.splitlines()[1].split() == ["short*", "00:10:00", "6000M", "-", "2"]
    assert table.splitlines()[2].split() == ["big", "1-00:00:00", "4000M", "2000M", "1"]
    assert table.splitlines()[3].split() == ["inf", "UNLIMITED", "8000M", "-", "2"]
    assert table.splitlines()[-1] == "MaxArraySize: 5"


# --------------------------------------------------------------------------- partition file


def test_partition_file_round_trips_through_the_plugin(tmp_path, captured):
    path = tmp_path / "profile" / "partitions.yaml"
    written = write_partition_file(captured, path, status_command="squeue")
    assert written == [path, tmp_path / "profile" / "cluster.json"]

    by_name = {p.name: p.limits for p in read_partition_file(path)}
    assert list(by_name) == ["short", "big", "inf"]
    assert (by_name["short"].max_runtime, by_name["big"].max_runtime) == (10, 1440)
    assert by_name["inf"].max_runtime == float("inf")
    assert (by_name["short"].max_mem_mb, by_name["big"].max_mem_mb) == (6000, 4000)
    assert by_name["big"].max_mem_mb_per_cpu == 2000
    assert by_name["short"].max_mem_mb_per_cpu == float("inf")
    assert (by_name["big"].max_cpus_per_task, by_name["big"].max_threads) == (1, 1)
    assert all(p.partition_cluster is None for p in read_partition_file(path))


def test_cluster_file_records_what_the_yaml_cannot(tmp_path, captured):
    _, companion = write_partition_file(captured, tmp_path / "partitions.yaml", status_command="squeue")
    cluster = ClusterFile.model_validate_json(companion.read_text())
    assert cluster == ClusterFile(default_partition="short", max_array_size=5, status_command="squeue")


def test_plugin_picks_a_partition_from_the_written_file(tmp_path):
    path = tmp_path / "partitions.yaml"
    write_partition_file(TWO_PARTITIONS, path)
    partitions = read_partition_file(path)

    def job(**resources):
        return SimpleNamespace(name="trial", threads=1, resources=resources)

    logger = logging.getLogger("test")
    assert get_best_partition(partitions, job(runtime=60, mem_mb=1000), logger) == "long"
    assert get_best_partition(partitions, job(runtime=5, mem_mb=6000), logger) == "short"
    assert get_best_partition(partitions, job(runtime=60, mem_mb=6000), logger) is None


# --------------------------------------------------------------------------- check_request


def test_check_request_accepts_what_some_partition_holds():
    check_request("trial_batch", 5, 8000, 2, TWO_PARTITIONS)  # only 'short' holds 8000 MB
    check_request("trial_batch", 120, 4000, 1, TWO_PARTITIONS)  # only 'long' holds 120 min
    check_request("trial_batch", None, None, 1, TWO_PARTITIONS)


def test_check_request_rejects_too_long():
    with pytest.raises(SlurmLimitError) as raised:
        check_request("trial_batch", 500, 1000, 1, TWO_PARTITIONS)
    assert str(raised.value) == (
        "rule 'trial_batch' asks for runtime=500 min, but the longest partition ('long') allows 120 min"
    )


def test_check_request_rejects_too_much_memory():
    with pytest.raises(SlurmLimitError) as raised:
        check_request("collect", 5, 9000, 1, TWO_PARTITIONS)
    assert str(raised.value) == (
        "rule 'collect' asks for mem_mb=9000 MB, but the partition with the most memory ('short') allows 8000 MB"
    )


def test_check_request_rejects_too_many_cpus():
    with pytest.raises(SlurmLimitError) as raised:
        check_request("optimize", 5, 1000, 4, TWO_PARTITIONS)
    assert str(raised.value) == (
        "rule 'optimize' asks for cpus=4, but the partition with the most CPUs per node ('short') allows 2"
    )


def test_check_request_names_every_resource_that_is_too_large():
    with pytest.raises(SlurmLimitError, match=r"runtime=500 min, .*; and mem_mb=9000 MB, .*; and cpus=4, "):
        check_request("trial_batch", 500, 9000, 4, TWO_PARTITIONS)


def test_check_request_rejects_a_combination_no_single_partition_holds():
    # 120 min only fits 'long', 8000 MB only fits 'short'.
    with pytest.raises(SlurmLimitError) as raised:
        check_request("trial_batch", 120, 8000, 1, TWO_PARTITIONS)
    message = str(raised.value)
    assert message.startswith("rule 'trial_batch' asks for runtime=120 min, mem_mb=8000 MB, cpus=1")
    assert "short (runtime 10 min, 8000 MB, 2 CPUs)" in message
    assert "long (runtime 120 min, 4000 MB, 2 CPUs)" in message


def test_check_request_counts_cpus_that_max_mem_per_cpu_forces():
    limits = ClusterLimits(partitions=[partition("p", max_mem_mb=8000, max_mem_mb_per_cpu=2000, max_cpus=2)])
    check_request("r", None, 4000, 1, limits)  # SLURM raises this job to 2 CPUs: fits
    with pytest.raises(SlurmLimitError, match="2000 MB per CPU"):
        check_request("r", None, 6000, 1, limits)  # would need 3 CPUs on a 2-CPU node


def test_check_request_shows_odd_and_huge_limits_readably():
    limits = ClusterLimits(partitions=[partition("odd", max_time_s=630, max_mem_mb=2097152, max_cpus=256)])
    with pytest.raises(SlurmLimitError, match=r"allows 10\.5 min"):
        check_request("r", 11, None, 1, limits)
    with pytest.raises(SlurmLimitError, match="allows 2097152 MB"):
        check_request("r", None, 2097153, 1, limits)


def test_unlimited_partitions_accept_anything():
    limits = ClusterLimits(partitions=[partition("open")])
    check_request("r", 10**6, 10**9, 512, limits)


def test_check_request_needs_partitions():
    with pytest.raises(SlurmLimitError, match="rule 'r'.*no partitions"):
        check_request("r", 1, 1, 1, ClusterLimits(partitions=[]))


def test_slurm_limit_error_is_a_value_error():
    assert issubclass(SlurmLimitError, ValueError)


# --------------------------------------------------------------------------- status command


@pytest.mark.parametrize(
    ("sacct_installed", "storage", "answer", "expected"),
    [
        (False, "accounting_storage/slurmdbd", None, "squeue"),
        (True, "accounting_storage/none", None, "squeue"),
        (True, "(null)", None, "squeue"),
        (True, "accounting_storage/slurmdbd", None, "sacct"),
        (True, None, "Slurm accounting storage is disabled\n", "squeue"),
        (True, None, "       1  COMPLETED\n", "sacct"),
    ],
)
def test_status_command_for(sacct_installed, storage, answer, expected):
    assert status_command_for(sacct_installed, storage, answer) == expected


def test_detect_status_command_without_sacct_is_squeue(tmp_path):
    assert detect_status_command({"PATH": str(tmp_path)}) == "squeue"


# --------------------------------------------------------------------------- the test cluster


def test_cluster_start_reason_names_missing_programs(monkeypatch):
    def find_all_but_sinfo(name):
        return None if name == "sinfo" else f"/usr/bin/{name}"

    monkeypatch.setattr(slurm_cluster_module, "find_binary", find_all_but_sinfo)
    assert "needs sinfo " in slurm_cluster_module.why_cluster_cannot_start()


def test_slurm_conf_keeps_every_path_in_the_cluster_dir(tmp_path):
    cluster = slurm_cluster_module.SlurmCluster(
        root=tmp_path,
        node_name="vm",
        cpus=2,
        real_memory_mb=8000,
        max_array_size=5,
        partitions=slurm_cluster_module.DEFAULT_PARTITIONS,
        ports=(7001, 7002),
    )
    text = slurm_cluster_module.slurm_conf_text(cluster)
    conf = dict(line.split("=", 1) for line in text.splitlines())
    for key in (
        "StateSaveLocation",
        "SlurmdSpoolDir",
        "SlurmctldPidFile",
        "SlurmdPidFile",
        "SlurmctldLogFile",
        "SlurmdLogFile",
    ):
        assert conf[key].startswith(str(tmp_path)), key
    assert conf["AuthInfo"] == f"socket={tmp_path}/munge/munge.socket"
    assert conf["MaxArraySize"] == "5"
    assert cluster.env["SLURM_CONF"] == str(tmp_path / "slurm.conf")


# --------------------------------------------------------------------------- live cluster


@pytest.mark.slurm
def test_live_partitions_match_the_cluster(slurm_cluster):
    limits = query_cluster_limits(slurm_cluster.env)
    assert [p.name for p in limits.partitions] == [p.name for p in slurm_cluster.partitions]
    assert limits.default_partition == "short"
    assert {p.name: p.max_time_s for p in limits.partitions} == {"short": 600, "long": 7200}
    assert all(p.max_mem_mb == slurm_cluster.real_memory_mb for p in limits.partitions)
    assert all(p.max_cpus == slurm_cluster.cpus for p in limits.partitions)
    assert all(p.max_mem_mb_per_cpu is None for p in limits.partitions)
    assert limits.max_array_size == slurm_cluster.max_array_size == 5


@pytest.mark.slurm
def test_live_status_command_is_squeue_without_accounting(slurm_cluster):
    # sacct is installed here, so only the accounting check can make this squeue.
    assert shutil.which("sacct", path=slurm_cluster.env.get("PATH"))
    assert detect_status_command(slurm_cluster.env) == "squeue"


@pytest.mark.slurm
def test_live_check_request_names_the_longest_partition(slurm_cluster):
    limits = query_cluster_limits(slurm_cluster.env)
    check_request("trial_batch", 100, 1000, 1, limits)
    with pytest.raises(SlurmLimitError, match=r"longest partition \('long'\) allows 120 min"):
        check_request("trial_batch", 500, 1000, 1, limits)


@pytest.mark.slurm
def test_live_cli_writes_files_the_plugin_reads(slurm_cluster, tmp_path):
    output = tmp_path / "partitions.yaml"
    env = {
        **slurm_cluster.env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mojo.cli", "slurm", "partitions", "--output", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "short*" in done.stdout and "02:00:00" in done.stdout
    assert {p.name: p.limits.max_runtime for p in read_partition_file(output)} == {"short": 10, "long": 120}
    cluster = json.loads((tmp_path / "cluster.json").read_text())
    assert cluster == {"default_partition": "short", "max_array_size": 5, "status_command": "squeue"}
