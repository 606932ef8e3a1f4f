"""Every shell command README.md shows, run exactly as written (issue 11).

The commands are read from README.md's ```sh blocks (every fenced block must name its language,
so a command cannot hide in an unmarked one), each line run by bash as it stands, in order, a
``cd`` carrying over to the next line as in the user's shell, and each checked by what it made or
said (``check``). Where they run:

- The section "Your own study folder": in an empty folder outside the repository holding the
  wheel the README names, with the wheel's fresh virtual environment active (tests/install_env.py,
  shared with test_install.py), where the README's ``pip install mojo-<version>.whl`` finds that
  same version installed.
- Every other block: in a copy of the repository's files (what a clone holds), from a shell with
  no virtual environment; the first top command makes the copy's ``.venv`` and runs the default
  study, and the later blocks run with that ``.venv`` active. The second top command's install
  runs as written; that it then runs ``pytest`` is checked, and that the suite collects in that
  environment, but not the suite itself (run recursively, it would double CI's time).
- Commands on the SLURM profile run against the single-node test cluster
  (tests/conftest_slurm.py) and find their study done (see ``run_as_written``).

Cost: about 50 s for the copy's editable install and default study, 15 s for the rest of the
clone's commands and 10 s for the own folder, beyond the install shared with test_install.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mojo.trials.layout import PLOTS, TABLES
from tests.conftest_slurm import slurm_cluster  # noqa: F401
from tests.install_env import REPO, Venv, copy_source, embedded_files, user_env
from tests.test_slurm_workflow import Slurm, slurm  # noqa: F401

pytestmark = pytest.mark.slow

README = REPO / "README.md"
SHELL = "sh"
OWN_FOLDER = "Your own study folder"
"""The README section whose commands run with the installed wheel, outside the repository."""
PYTEST = " && pytest"
"""How the second top command ends: what it runs after installing the test extras."""
NOT_RUN: dict[re.Pattern, str] = {}
"""Commands no test can run as written, matched by pattern, with the reason (none today)."""
WHEEL_INSTALL = re.compile(r"^pip install (mojo-\S+\.whl)")
"""The own folder's install: run as written, in the wheel's folder, into the wheel's environment
(where it finds the same version installed and changes nothing)."""
ON_CLUSTER = re.compile(r"--profile\s+\S*slurm\b")


@dataclass
class Block:
    section: str
    language: str
    lines: list[str]

    @property
    def commands(self) -> list[str]:
        return [line for line in self.lines if line.strip() and not line.lstrip().startswith("#")]


def blocks() -> list[Block]:
    """README.md's fenced blocks, each with the heading of its section."""
    found, section, current = [], "", None
    for line in README.read_text().splitlines():
        if current is not None:
            if line.startswith("```"):
                found.append(current)
                current = None
            else:
                current.lines.append(line)
        elif line.startswith("```"):
            current = Block(section, line[3:].strip(), [])
        elif line.startswith("#"):
            section = line.lstrip("#").strip()
    return found


def shell_blocks(own_folder: bool) -> list[Block]:
    return [b for b in blocks() if b.language == SHELL and (b.section == OWN_FOLDER) == own_folder]


def skipped(command: str) -> bool:
    return any(pattern.search(command) for pattern in NOT_RUN)


@dataclass
class Shell:
    """A user's terminal: commands run one after another, ``cd`` carrying over."""

    cwd: Path
    env: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)

    def run(self, command: str, timeout: float = 300) -> str:
        script = f'{command}\nstatus=$?\necho "@@cwd=$PWD"\nexit $status\n'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{command!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        stdout, _, cwd = done.stdout.rpartition("@@cwd=")
        self.cwd = Path(cwd.strip())
        self.outputs[command] = stdout + done.stderr
        return self.outputs[command]


def study_of(folder: Path) -> tuple[str, int]:
    """(study, n_trial) of the config that a plain ``snakemake`` in ``folder`` runs."""
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    return config["study"], config["n_trial"]


def check(shell: Shell, command: str, text: str) -> None:
    """What each kind of command must have made or said, beyond its exit status."""
    words = command.split("#")[0].split()
    if words[:1] == ["snakemake"] and "-n" in words:
        assert "Nothing to be done" in text, text
    elif "--report" in words:
        embedded = embedded_files(shell.cwd / words[words.index("--report") + 1])
        for plot in PLOTS.values():
            assert embedded.get(plot, "").startswith("data:"), f"{plot} is not in the report"
    elif words[:1] == ["snakemake"] and "--configfile" in words:
        config = yaml.safe_load((shell.cwd / words[words.index("--configfile") + 1]).read_text())
        trials = shell.cwd / "results" / config["study"] / "optimize" / "trials.parquet"
        assert len(pd.read_parquet(trials)) == config["optimize"]["n_trial"]
    elif words[:1] == ["snakemake"]:
        study, n_trial = study_of(shell.cwd)
        table = pd.read_csv(shell.cwd / "results" / study / TABLES["csv"])
        assert list(table["trial"]) == list(range(n_trial)) and set(table["status"]) == {"success"}
    elif words[:2] == ["mojo", "status"]:
        _, n_trial = study_of(shell.cwd)
        assert f"{n_trial} of {n_trial} trials finished" in text and "complete" in text, text
    elif words[:2] == ["mojo", "show"]:
        trial = int(re.search(r"trial_(\d+)", words[2]).group(1))
        assert text.startswith(f"trial {trial} of study {study_of(shell.cwd)[0]}"), text
    elif words[:2] == ["mojo", "init"]:
        assert (shell.cwd / words[2] / "config" / "config.yaml").is_file()


def run_as_written(shell: Shell, commands: list[str], request) -> list[str]:
    """Each command run and checked. One on the SLURM profile runs against the test cluster and
    must find its study done: test_install.py runs a study on the cluster through a study
    folder's profile, and test_slurm_workflow.py the repository's; doing it again here would cost
    30 s a run (the profile's status checks wait 20 s)."""
    ran = []
    for command in commands:
        if any(pattern.search(command) for pattern in NOT_RUN):
            continue
        if ON_CLUSTER.search(command):
            slurm = request.getfixturevalue("slurm")
            shell.env = {
                **shell.env,
                "SLURM_CONF": slurm.cluster.env["SLURM_CONF"],
                "PATH": f"{slurm.sbatch_log.parent}{os.pathsep}{shell.env['PATH']}",
            }
            submitted = len(slurm.submissions())
            text = shell.run(command)
            assert "Nothing to be done" in text and len(slurm.submissions()) == submitted, text
        else:
            check(shell, command, shell.run(command))
        ran.append(command)
    return ran


def test_every_fenced_block_names_its_language():
    unmarked = [b.lines[:1] for b in blocks() if not b.language]
    assert not unmarked, f"README.md blocks without a language (```{SHELL} for commands): {unmarked}"
    assert shell_blocks(own_folder=False) and shell_blocks(own_folder=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Shell:
    """A copy of the repository's files after the README's top commands, with its .venv active."""
    folder = copy_source(tmp_path_factory.mktemp("readme") / "mojo")
    home = tmp_path_factory.mktemp("home")
    shell = Shell(folder, user_env(home))
    run_study, run_tests = shell_blocks(own_folder=False)[0].commands
    check(shell, run_study, shell.run(run_study, timeout=600))
    install, ran = run_tests[: -len(PYTEST)], run_tests[-len(PYTEST) :]
    assert ran == PYTEST, f"the second top command should end with {PYTEST!r}: {run_tests!r}"
    shell.run(install, timeout=600)
    shell.env = {**user_env(home, folder / ".venv" / "bin"), "VIRTUAL_ENV": str(folder / ".venv")}
    return shell


def test_the_top_commands_run_the_default_study_and_install_the_tests(clone: Shell):
    mojo = clone.run("python -c 'import mojo; print(mojo.__file__)'").strip()
    assert Path(mojo).is_relative_to(clone.cwd), f"the copy's editable install imports {mojo}"
    collected = clone.run("pytest --collect-only -q -m 'not slow' -p no:cacheprovider", timeout=300)
    assert re.search(r"^\d+(/\d+)? tests collected", collected, re.M), collected


@pytest.mark.slurm
def test_the_other_commands_run_as_written_in_the_clone(clone: Shell, request):
    commands = [c for block in shell_blocks(own_folder=False)[1:] for c in block.commands]
    ran = run_as_written(clone, commands, request)
    shown = [c.split("#")[0].split()[3:4] for c in ran if c.startswith("mojo show")]
    assert [c.split()[:2] for c in ran if c.startswith("mojo")][:2] == [["mojo", "status"], ["mojo", "show"]]
    assert shown == [[], ["--plot"], ["--render"]], ran
    assert (clone.cwd / "trial_0042_signals.png").stat().st_size and (clone.cwd / "out.gif").stat().st_size
    link = Path(clone.env["HOME"]) / ".config" / "snakemake" / "slurm"
    assert link.resolve() == clone.cwd / "profiles" / "slurm"


@pytest.mark.slurm
def test_the_own_study_folder_commands_run_as_written(
    installed: Venv,
    wheel: Path,
    tmp_path: Path,  # noqa: F811
    request,
):
    assert not tmp_path.resolve().is_relative_to(REPO)
    commands = [c for block in shell_blocks(own_folder=True) for c in block.commands]
    (named,) = [WHEEL_INSTALL.match(c).group(1) for c in commands if WHEEL_INSTALL.match(c)]
    assert named == wheel.name, f"README.md installs {named}; the build makes {wheel.name}"
    shutil.copy(wheel, tmp_path / wheel.name)
    ran = run_as_written(Shell(tmp_path, installed.env), commands, request)
    assert ran == commands
