"""mojo as a user gets it: a wheel built from the repository's files, installed into a fresh
virtual environment with no test extras and no editable install.

The wheel is built from a copy of the files git would commit (tracked, or untracked and not
ignored), so a file that ``.gitignore`` hides from a clone is missing here too, as it would be in
a user's install. Built once per test session and shared by test_install.py and test_readme.py:
about 3 s for the wheel and 30 s for the virtual environment (pip's cache holds the
dependencies; without a reachable package registry the fixtures skip locally, naming the reason,
and fail under ``CI=true``).

Every command run through ``Venv.run`` sees the fresh environment's ``bin`` first on PATH, the
test environment's own ``bin`` and PYTHONPATH removed, and a HOME of its own (so a command that
writes ``~/.config/snakemake`` touches nothing real); pip keeps the user's cache and settings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OFFLINE_SIGNS = (
    "No matching distribution found",
    "Could not find a version",
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
)
"""pip's words for a registry it cannot reach (or that lacks a build requirement)."""


def embedded_files(report: Path) -> dict[str, str]:
    """File name -> data URI of every file a ``snakemake --report`` HTML file embeds."""
    pattern = r'<script id="results">\s*var results = (\{.*?\});?\s*</script>'
    block = re.search(pattern, report.read_text(), re.S)
    assert block, f"{report} has no results block"
    return {Path(path).name: entry["data_uri"] for path, entry in json.loads(block.group(1)).items()}


def copy_source(dest: Path) -> Path:
    """The files git would commit (tracked, or untracked and not ignored), copied into ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # listed but deleted in the work tree: not part of the project now
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def registry_failure(done: subprocess.CompletedProcess, what: str) -> None:
    """Stop the session's install tests: skipped offline (locally), failed otherwise or in CI."""
    output = f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    offline = any(sign in done.stdout + done.stderr for sign in OFFLINE_SIGNS)
    if offline and os.environ.get("CI") != "true":
        pytest.skip(f"package registry unreachable: {output}")
    pytest.fail(output, pytrace=False)


def pip(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from the files git would commit."""
    folder = tmp_path_factory.mktemp("wheel")
    source = copy_source(folder / "source")
    built = pip("wheel", str(source), "--no-deps", "-w", str(folder / "dist"))
    if built.returncode != 0:  # an isolated build needs setuptools from the registry
        built = pip("wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(folder / "dist"))
    if built.returncode != 0:
        registry_failure(built, "pip wheel")
    (found,) = (folder / "dist").glob("mojo-*.whl")
    return found


@dataclass(frozen=True)
class Venv:
    """A virtual environment and the environment variables of a shell that activated it."""

    root: Path
    home: Path
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def run(
        self,
        command: str,
        cwd: Path,
        timeout: float = 300,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """``command`` run by bash in ``cwd``; with ``check``, a failure shows its output."""
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{command!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done


def user_env(home: Path, bin_dir: Path | None = None) -> dict[str, str]:
    """os.environ as a user's fresh shell has it: no trace of the test's own Python environment,
    HOME at ``home``, ``bin_dir`` (an activated venv) first on PATH."""
    own_bin = str(Path(sys.prefix) / "bin")
    path = [entry for entry in os.environ.get("PATH", os.defpath).split(os.pathsep) if entry != own_bin]
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "XDG_CONFIG_HOME", "PYTEST_CURRENT_TEST")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    real_pip_config = Path.home() / ".config" / "pip"
    if real_pip_config.is_dir() and not (home / ".config" / "pip").exists():
        shutil.copytree(real_pip_config, home / ".config" / "pip")
    env.update(
        HOME=str(home),
        PIP_CACHE_DIR=env.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        PATH=os.pathsep.join(([str(bin_dir)] if bin_dir else []) + path),
    )
    return env


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory) -> Venv:
    """A fresh virtual environment holding the wheel and its dependencies, nothing else."""
    folder = tmp_path_factory.mktemp("venv")
    root, home = folder / "venv", folder / "home"
    home.mkdir()
    venv = Venv(root, home, user_env(home, root / "bin"))
    venv.run(f'"{sys.executable}" -m venv "{root}"', cwd=folder)
    done = venv.run(f'pip install "{wheel}"', cwd=folder, timeout=600, check=False)
    if done.returncode != 0:
        registry_failure(done, "pip install <wheel>")
    return venv
