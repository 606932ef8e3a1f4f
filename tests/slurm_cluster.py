"""A real single-node SLURM cluster on loopback, started and stopped by the tests.

``start_cluster()`` brings up, inside a fresh temporary directory:

- a private ``munged`` (run as the ``munge`` user, own socket, so it never clashes with a
  system munged or with another test session's cluster),
- ``slurmctld`` and ``slurmd`` reading a generated ``slurm.conf`` (free loopback ports, every
  state/spool/pid/log path inside the directory, accounting off),

waits until ``sinfo`` shows the node idle, and returns a ``SlurmCluster``. Client commands
must run with ``cluster.env`` (it sets ``SLURM_CONF`` and nothing else differs from
``os.environ``). ``cluster.stop()`` cancels jobs, stops the daemons and removes the directory.

Clusters left behind by a crashed session are found by their directory prefix and reaped at
the next start: their owner (the pytest process) is dead, so their daemons are killed after
checking that each pid really belongs to that directory.

Needs root (``SlurmUser=root``) and the Debian packages ``slurmctld slurmd slurm-client munge``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CLUSTER_DIR_PREFIX = "mojo-slurm-"
REQUIRED_BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "scontrol", "squeue", "scancel")
# Daemons live in /usr/sbin, which a non-login root shell may not have on PATH.
SBIN_DIRS = "/usr/sbin:/sbin:/usr/local/sbin"
SYSTEM_MUNGE_KEY = Path("/etc/munge/munge.key")
# Inside a cluster directory; slurm_conf_text and start_munged write these paths.
LOG_FILES = ("log/slurmctld.log", "log/slurmd.log", "munge/munged.log")
PID_FILES = ("run/slurmctld.pid", "run/slurmd.pid", "munge/munged.pid")


@dataclass(frozen=True)
class PartitionSpec:
    """One partition of the test cluster, as written into slurm.conf."""

    name: str
    max_time: str
    """SLURM time string for ``MaxTime`` (e.g. ``00:10:00``)."""
    max_time_seconds: int
    """The same limit in seconds, what the tests expect the queries to return."""
    default: bool = False
    extra: str = ""
    """Further ``PartitionName=`` options, e.g. ``MaxMemPerNode=4000``."""


DEFAULT_PARTITIONS = (
    PartitionSpec("short", "00:10:00", 600, default=True),
    PartitionSpec("long", "02:00:00", 7200),
)


class ClusterStartError(RuntimeError):
    """The test cluster did not come up; the message carries the daemon logs."""


def find_binary(name: str) -> str | None:
    """Absolute path of a SLURM/munge program, looking in the sbin folders too."""
    return shutil.which(name) or shutil.which(name, path=SBIN_DIRS)


def missing_binaries() -> list[str]:
    """Names of the programs the cluster needs that are not installed."""
    return [name for name in REQUIRED_BINARIES if find_binary(name) is None]


def why_cluster_cannot_start() -> str | None:
    """A reason the cluster cannot run on this machine, or None when it can."""
    missing = missing_binaries()
    if missing:
        return (
            f"SLURM test cluster needs {', '.join(missing)} "
            "(apt-get install slurmctld slurmd slurm-client munge)"
        )
    if os.geteuid() != 0:
        return "SLURM test cluster needs root (SlurmUser=root and munged runs as the munge user)"
    return None


@dataclass
class SlurmCluster:
    """A running test cluster. Pass ``env`` to every SLURM client command."""

    root: Path
    node_name: str
    cpus: int
    real_memory_mb: int
    max_array_size: int
    partitions: tuple[PartitionSpec, ...]
    ports: tuple[int, int]
    """(SlurmctldPort, SlurmdPort) on 127.0.0.1."""
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {**os.environ, "SLURM_CONF": str(self.conf_path)}

    @property
    def conf_path(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    @property
    def default_partition(self) -> str:
        return next(p.name for p in self.partitions if p.default)

    def run(self, *command: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command against this cluster and capture its text."""
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, check=check, timeout=timeout
        )

    def logs(self) -> str:
        """The tail of every daemon log, for error messages."""
        return collect_logs(self.root)

    def stop(self) -> None:
        """Cancel all jobs, stop slurmctld, slurmd and munged, remove the directory."""
        cancel_all_jobs(self)
        # `scontrol shutdown` stops slurmctld and slurmd cleanly; the pid-file kill below
        # covers a controller that no longer answers.
        self.run(find_binary("scontrol") or "scontrol", "shutdown", check=False)
        kill_daemons(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def cancel_all_jobs(cluster: SlurmCluster, timeout: float = 15) -> None:
    """Cancel this cluster's jobs and wait until their processes are gone.

    Job steps run in ``slurmstepd`` processes that outlive ``slurmd``; cancelling first is
    what leaves no processes behind.
    """
    cluster.run(find_binary("scancel") or "scancel", "--full", "--user=root", check=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = cluster.run(find_binary("squeue") or "squeue", "-h", "-t", "RUNNING,COMPLETING", check=False)
        if queue.returncode != 0 or not queue.stdout.strip():
            return
        time.sleep(0.5)


def start_cluster(
    partitions: tuple[PartitionSpec, ...] = DEFAULT_PARTITIONS,
    max_array_size: int = 5,
    cpus: int = 2,
    real_memory_mb: int = 8000,
    timeout: float = 60,
) -> SlurmCluster:
    """Start munged, slurmctld and slurmd in a new temporary directory; wait for an idle node.

    ``cpus`` and ``real_memory_mb`` are capped at what the machine has, because slurmd drains
    a node that reports less than slurm.conf promises.
    """
    reason = why_cluster_cannot_start()
    if reason:
        raise ClusterStartError(reason)
    reap_stale_clusters()
    root = make_cluster_dir()
    cluster = SlurmCluster(
        root=root,
        node_name=socket.gethostname().split(".")[0],
        cpus=min(cpus, os.cpu_count() or 1),
        real_memory_mb=min(real_memory_mb, machine_memory_mb() * 8 // 10),
        max_array_size=max_array_size,
        partitions=partitions,
        ports=free_ports(),
    )
    try:
        start_munged(root)
        cluster.conf_path.write_text(slurm_conf_text(cluster))
        start_daemon(cluster, "slurmctld")
        start_daemon(cluster, "slurmd")
        wait_until_idle(cluster, timeout)
    except BaseException:
        kill_daemons(root)
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def make_cluster_dir() -> Path:
    """A fresh directory for one cluster, readable by munge, tagged with our pid."""
    root = Path(tempfile.mkdtemp(prefix=CLUSTER_DIR_PREFIX))
    # munged refuses a socket whose path is not executable by everyone.
    root.chmod(0o755)
    for sub in ("state", "spool", "run", "log"):
        (root / sub).mkdir()
    (root / "owner.pid").write_text(str(os.getpid()))
    return root


def machine_memory_mb() -> int:
    """Total memory of this machine in MB (from /proc/meminfo)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterStartError("cannot read MemTotal from /proc/meminfo")


def free_ports() -> tuple[int, int]:
    """Two distinct TCP ports on 127.0.0.1 that are free right now.

    Own ports (not 6817/6818) let two test sessions run clusters side by side.
    """
    with socket.socket() as first, socket.socket() as second:
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        return first.getsockname()[1], second.getsockname()[1]


def start_munged(root: Path) -> None:
    """Start a private munged as the munge user, with the system key or a fresh one."""
    munge_dir = root / "munge"
    munge_dir.mkdir(mode=0o755)
    shutil.chown(munge_dir, "munge", "munge")
    munge_dir.chmod(0o755)
    key_file = SYSTEM_MUNGE_KEY if SYSTEM_MUNGE_KEY.exists() else create_munge_key(munge_dir)
    run_as_munge(
        find_binary("munged") or "munged",
        f"--socket={munge_dir / 'munge.socket'}",
        f"--key-file={key_file}",
        f"--pid-file={munge_dir / 'munged.pid'}",
        f"--log-file={munge_dir / 'munged.log'}",
        f"--seed-file={munge_dir / 'munged.seed'}",
        error=f"munged did not start (log: {munge_dir / 'munged.log'})",
        root=root,
    )


def create_munge_key(munge_dir: Path) -> Path:
    """Create a munge key inside the cluster directory (no system key exists)."""
    key_file = munge_dir / "munge.key"
    run_as_munge(
        find_binary("mungekey") or "mungekey",
        "--create",
        f"--keyfile={key_file}",
        error="mungekey could not create a key",
        root=munge_dir.parent,
    )
    return key_file


def run_as_munge(*command: str, error: str, root: Path) -> None:
    """Run a munge tool as the munge user; raise with the logs when it fails."""
    done = subprocess.run(command, user="munge", group="munge", capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterStartError(f"{error}: {done.stderr.strip()}\n{collect_logs(root)}")


def slurm_conf_text(cluster: SlurmCluster) -> str:
    """The slurm.conf of the test cluster (see /work/shared/slurm/NOTES.md for why each line)."""
    root = cluster.root
    lines = [
        "ClusterName=mojotest",
        f"SlurmctldHost={cluster.node_name}(127.0.0.1)",
        f"SlurmctldPort={cluster.ports[0]}",
        f"SlurmdPort={cluster.ports[1]}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={cluster.munge_socket}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "MpiDefault=none",
        "SwitchType=switch/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "ReturnToService=2",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'run' / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MailProg=/bin/true",
        # squeue only sees finished jobs for MinJobAge seconds; the plugin wants >= 3x its
        # first status-check delay, else it falls back to sacct.
        "MinJobAge=600",
        # Without it every job asks for the whole node's memory and array tasks run one by one.
        "DefMemPerCPU=1000",
        f"MaxArraySize={cluster.max_array_size}",
        "KillWait=5",
        (
            f"NodeName={cluster.node_name} NodeAddr=127.0.0.1 CPUs={cluster.cpus} "
            f"RealMemory={cluster.real_memory_mb} State=UNKNOWN"
        ),
    ]
    for partition in cluster.partitions:
        lines.append(
            f"PartitionName={partition.name} Nodes={cluster.node_name} "
            f"Default={'YES' if partition.default else 'NO'} MaxTime={partition.max_time} "
            f"State=UP {partition.extra}".rstrip()
        )
    return "\n".join(lines) + "\n"


def start_daemon(cluster: SlurmCluster, name: str) -> None:
    """Start slurmctld or slurmd (both daemonise); raise with the logs if it exits non-zero."""
    done = subprocess.run(
        [find_binary(name) or name, "-f", str(cluster.conf_path)],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        raise ClusterStartError(f"{name} did not start: {done.stderr.strip()}\n{cluster.logs()}")


def wait_until_idle(cluster: SlurmCluster, timeout: float) -> None:
    """Poll sinfo until the node is idle; raise with the daemon logs on timeout."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        shown = cluster.run(find_binary("sinfo") or "sinfo", "-h", "-N", "-o", "%T", check=False)
        state = (shown.stdout or shown.stderr).strip()
        if shown.returncode == 0 and state.split() and all(s == "idle" for s in state.split()):
            return
        time.sleep(0.5)
    raise ClusterStartError(
        f"SLURM node not idle after {timeout:.0f} s (last sinfo: {state!r})\n{cluster.logs()}"
    )


def collect_logs(root: Path, tail_lines: int = 40) -> str:
    """The last lines of slurmctld, slurmd and munged logs under ``root``."""
    parts = []
    for log in (root / name for name in LOG_FILES):
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-tail_lines:]
            parts.append(f"--- {log} ---\n" + "\n".join(tail))
        else:
            parts.append(f"--- {log}: missing ---")
    return "\n".join(parts)


def daemon_pids(root: Path) -> list[int]:
    """Pids from the cluster's pid files whose process really belongs to this directory.

    Checking the command line guards against pid reuse: a stale pid file must never make
    us kill an unrelated process.
    """
    pids = []
    for pid_file in (root / name for name in PID_FILES):
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if str(root) in cmdline:
            pids.append(pid)
    return pids


def kill_daemons(root: Path, timeout: float = 10) -> None:
    """SIGTERM the cluster's daemons, SIGKILL whatever is left after ``timeout``."""
    pids = daemon_pids(root)
    for pid in pids:
        signal_quietly(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        time.sleep(0.2)
    for pid in pids:
        signal_quietly(pid, signal.SIGKILL)


def signal_quietly(pid: int, sig: signal.Signals) -> None:
    """Send a signal, ignoring a process that has already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def reap_stale_clusters() -> None:
    """Stop the daemons of clusters whose owning process is dead, and remove their directories."""
    for root in Path(tempfile.gettempdir()).glob(f"{CLUSTER_DIR_PREFIX}*"):
        if root.is_dir() and not owner_alive(root):
            kill_daemons(root)
            shutil.rmtree(root, ignore_errors=True)


def owner_alive(root: Path) -> bool:
    """Whether the process that started the cluster in ``root`` still runs."""
    try:
        owner = int((root / "owner.pid").read_text().strip())
    except (OSError, ValueError):
        # A directory another session has only just created has no owner.pid yet.
        return time.time() - root.stat().st_mtime < 60
    return Path(f"/proc/{owner}").exists()
