"""The files of a trial and of a batch of trials: their schemas and how they are written.

Every JSON file is written through a pydantic model and atomically (write, then rename), so a job
killed at any moment leaves either the old file or the new one, never half a file.
"""

from __future__ import annotations

import glob
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field, TypeAdapter

from mojo.config.base import Frozen
from mojo.config.distributions import Distribution
from mojo.config.study import (
    DEFAULT_BACKEND,
    DEFAULT_SAMPLING,
    TABLE_COLUMNS,  # noqa: F401 (re-exported for the table's readers)
    Backend,
    StudyConfig,
)

MODEL_XML = "model.xml"
CONFIG_JSON = "config.json"
NAMED_VALUES_JSON = "named_values.json"
RESULT_JSON = "result.json"
TRIAL_FILES = (MODEL_XML, CONFIG_JSON, NAMED_VALUES_JSON, RESULT_JSON)
"""The files every finished trial folder holds; ``result.json`` is written last."""
SIGNALS_FILE = "signals.parquet"
"""The trial's recorded signals (:mod:`mojo.signals`), in studies that set ``signals``."""


def trial_files(study: StudyConfig) -> tuple[str, ...]:
    """The files a finished trial of ``study`` holds: :data:`TRIAL_FILES`, and its signals when
    the study records some (written after ``result.json``, or alone when only they are missing)."""
    return (*TRIAL_FILES, SIGNALS_FILE) if study.signals is not None else TRIAL_FILES

Status = Literal["success", "failure", "unstable", "error", "timeout"]
STATUSES: tuple[str, ...] = Status.__args__


class TrialConfig(Frozen):
    """``config.json``: everything that determines a trial's model and metrics (never timings)."""

    study: str
    trial: int
    seed: int
    """The study's seed."""
    trial_seed: int
    """Seed for user code in this trial (``TrialContext.seed``), derived from (seed, trial)."""
    generator: str
    gen_args: list[Any]
    gen_kwargs: dict[str, Any]
    runtime: str
    run_args: list[Any]
    run_kwargs: dict[str, Any]
    duration: float
    metrics: str | None
    objective: str | None
    trial_timeout: float | None
    trial_memory_mb: float | None = Field(None, exclude_if=lambda mb: mb is None)
    """Left out when unset, so the trials of studies made before this key existed stay valid."""
    parameters: dict[str, Distribution]
    overrides: dict[str, Any]
    sampling: str = Field(DEFAULT_SAMPLING, exclude_if=lambda design: design == DEFAULT_SAMPLING)
    """The design this trial's values come from (:mod:`mojo.trials.sampling`); left out under the
    default, so the trials of studies made before this key existed stay valid."""
    design_size: int | None = Field(None, exclude_if=lambda size: size is None)
    """The n_trial of a design whose points depend on it (``lhs``), else left out."""
    backend: Backend = Field(DEFAULT_BACKEND, exclude_if=lambda backend: backend == DEFAULT_BACKEND)
    """What simulated the trial; left out for the default (``cpu``), so the trials of studies made
    before this key existed stay valid."""
    code_hashes: dict[str, str]
    """SHA-256 of the source file behind each code path (generator, runtime, metrics, objective)."""


class NamedValue(Frozen):
    """One parameter's value in one trial, and where it came from."""

    value: Any
    unit: str | None = None
    source: Literal["sampled", "nominal", "override", "optimizer"]


NamedValues = TypeAdapter(dict[str, NamedValue])
"""``named_values.json``: every parameter's value in one trial, by name."""


class TrialResult(Frozen):
    """``result.json``: what running the trial gave. The only trial file with timings in it."""

    trial: int
    status: Status
    reason: str | None = None
    """One line saying why the trial did not succeed."""
    traceback: str | None = None
    metrics: dict[str, float | None] = {}
    objective: float | None = None
    warnings: dict[str, int] = {}
    """MuJoCo warnings raised during the simulation, by name, with how often each was raised."""
    sim_time: float | None = None
    """Simulated seconds reached."""
    wall_time: float
    """Wall-clock seconds for the whole trial: generate, write, simulate."""
    timings: dict[str, float] = {}
    input_hash: str
    """SHA-256 of this trial's ``config.json``: a trial whose config changes is re-made."""


class TrialRow(Frozen):
    """One trial's line in the results table (kept per batch so aggregating reads few files)."""

    trial: int
    status: Status
    reason: str | None = None
    values: dict[str, Any] = {}
    metrics: dict[str, float | None] = {}
    objective: float | None = None
    wall_time: float


# TABLE_COLUMNS (imported above from the config, which refuses parameters named so) are
# TrialRow's own fields in order, less values and metrics: tests/test_config_schema.py checks it.


FileStamp = tuple[int, int]
"""A file's size in bytes and modification time in nanoseconds (``os.stat``)."""


class BatchManifest(Frozen):
    """A batch job's output: the rows of the trials it made or found up to date."""

    first: int
    last: int
    rows: list[TrialRow] = Field(default_factory=list)
    stamps: dict[int, dict[str, FileStamp]] = {}
    """Each trial's files as the batch left them, by trial number and file name: a rerun reads
    only the files whose stamp changed since (see :mod:`mojo.trials.integrity`). Manifests of mojo
    versions before it have none: all their trials' files are read."""


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place (one name per process)."""
    return path.parent / f".{path.name}.{os.getpid()}.tmp"


def leftover_files(folder: Path, name: str | None = None) -> list[Path]:
    """The :func:`temporary_path` files in ``folder`` (of file ``name`` only, if given): what
    writers killed before their rename left behind."""
    return list(folder.glob(f".{'*' if name is None else glob.escape(name)}.*.tmp"))


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` only if the block ends normally."""
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` (or bytes: any buffer) to ``path`` so readers only ever see a whole file."""
    tmp = temporary_path(path)
    # os.open rather than open(): a trial writes four files, and the text layer's set-up cost
    # doubles the time each write takes.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = memoryview(text.encode() if isinstance(text, str) else text)
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_model(path: Path, model: BaseModel) -> None:
    write_atomic(path, model.model_dump_json(indent=2) + "\n")


def write_named_values(path: Path, values: dict[str, NamedValue]) -> None:
    write_atomic(path, NamedValues.dump_json(values, indent=2).decode() + "\n")


def read_model(path: Path, model: type[BaseModel]):
    return model.model_validate_json(path.read_bytes())
