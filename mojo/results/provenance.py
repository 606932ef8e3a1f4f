"""The software a study ran with: versions of the key packages and a full ``pip freeze``.

Written once per study (``results/<study>/environment.json`` and ``environment.txt``) by the
workflow's ``environment`` rule. Each trial's ``config.json`` records, in ``code_hashes``, the
SHA-256 of the source of the generator, runtime, metrics and objective that made it.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

from mojo.config.base import Frozen
from mojo.trials.files import write_atomic, write_model

KEY_PACKAGES = (
    "mojo", "mujoco", "snakemake", "optuna", "numpy", "pydantic", "pandas", "matplotlib",
    "mujoco-warp", "warp-lang",  # the warp backend's, when installed
)


class Environment(Frozen):
    """``environment.json``."""

    recorded: str
    """When it was recorded (UTC, ISO 8601)."""
    python: str
    python_executable: str
    platform: str
    hostname: str
    versions: dict[str, str | None]
    """Version of each key package (None: not installed)."""
    source: dict[str, str | bool | None] = {}
    """mojo's own code (the package, workflow included): its path and, if it is in a git
    checkout, the commit and whether it had uncommitted changes."""
    study_folder: dict[str, str | bool | None] = {}
    """The study folder the run started in (the researcher's models and configs): its path and,
    if it is in a git checkout, the commit and whether it had uncommitted changes."""
    packages: list[str]
    """Every installed distribution as ``name==version`` (the lines of ``environment.txt``)."""
    packages_from: str
    """``pip freeze`` or ``importlib.metadata`` (when pip is absent)."""


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_packages() -> tuple[list[str], str]:
    """``pip freeze`` of the running interpreter; the installed distributions if pip is absent."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, timeout=120
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().splitlines(), "pip freeze"
    except (OSError, subprocess.SubprocessError):
        pass
    found = {
        (dist.metadata["Name"] or "?"): dist.version for dist in importlib.metadata.distributions()
    }
    return sorted((f"{n}=={v}" for n, v in found.items()), key=str.lower), "importlib.metadata"


def source_info(path: Path | None) -> dict[str, str | bool | None]:
    """A folder's path and, in a git checkout, its commit and dirty state."""
    if path is None:
        return {}
    info: dict[str, str | bool | None] = {"path": str(path), "git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=30,
            )
            info["git_dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def environment(source: Path | None = None, study_folder: Path | None = None) -> Environment:
    packages, packages_from = installed_packages()
    return Environment(
        recorded=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        python=sys.version.split()[0],
        python_executable=sys.executable,
        platform=platform.platform(),
        hostname=platform.node(),
        versions={name: version(name) for name in KEY_PACKAGES},
        source=source_info(source),
        study_folder=source_info(study_folder),
        packages=packages,
        packages_from=packages_from,
    )


def write_environment(
    json_path: Path, txt_path: Path, source: Path | None = None, study_folder: Path | None = None
) -> Environment:
    """Write ``environment.json`` (versions, platform, source) and ``environment.txt`` (the
    ``pip freeze`` lines, installable with ``pip install -r``)."""
    record = environment(source, study_folder)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    write_model(json_path, record)
    header = (
        f"# {record.packages_from} of {record.python_executable} (Python {record.python}), "
        f"recorded {record.recorded}\n"
    )
    write_atomic(txt_path, header + "\n".join(record.packages) + "\n")
    return record
