"""The study config (``config/config.yaml``): one pydantic model, validated before any job exists."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

from pydantic import (
    BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator,
)

from mojo import codepath
from mojo.distributions import Distribution
from mojo.optimize.config import OptimizeConfig

DEFAULT_RUNTIME = "mojo.runtime:simulate"
MIN_PADDING = 4


class ConfigError(ValueError):
    """A study config that cannot run; the message names the key, the value and what is allowed."""


def _check_code_path(value: str | None) -> str | None:
    if value is not None:
        codepath.check_path(value)
    return value


class JobResources(BaseModel):
    """What one trial job asks a cluster (SLURM) for; local runs ignore it. See docs/slurm.md."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    trial_seconds: float | None = Field(None, gt=0)
    """Expected wall time of one trial in seconds. A job's ``runtime`` is one minute of start-up
    plus twice (headroom) its trials times this. Default: ``trial_timeout`` when set, else 10."""

    mem_mb: int | None = Field(None, gt=0)
    """Memory of one trial job in MB. Default: the profile's ``default-resources``."""


class StudyConfig(BaseModel):
    """A Monte Carlo study: what to build, how to run it, which parameters vary and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Name of the study; its files go to ``<results_dir>/<study>/``."""

    results_dir: str = "results"
    """Folder that holds every study's results."""

    seed: int = Field(0, ge=0)
    """Root of every random draw. The same seed and config give the same trial files, bit for bit."""

    n_trial: int = Field(100, ge=0)
    """Number of trials. Trial 0 is the nominal trial (every parameter at its nominal value).
    Grow it to add trials; finished trials are kept. Shrinking it deletes nothing."""

    n_proc: int = Field(1, ge=1)
    """Number of processes the study is split over: by default the trials are divided into
    ``n_proc`` jobs, so run with ``--cores n_proc`` (locally) or ``--jobs n_proc`` (SLURM) to run
    them all at once. Be a good citizen on shared machines."""

    trials_per_job: int | None = Field(None, ge=1)
    """Trials run by one job (one process). Default: ``ceil(n_trial / n_proc)``, which keeps
    process start-up off the per-trial cost. ``1`` gives one job per trial."""

    resume: bool = True
    """Continue a study whose results folder exists. With ``false``, an existing study is refused
    instead of being extended (nothing is ever deleted)."""

    padding: int = Field(MIN_PADDING, ge=1, le=12)
    """Fewest digits of a trial folder's number (``trial_0042``); more are used when the trial
    count needs them, and finished folders are renamed to the new width."""

    generator: str
    """``package.module:function`` that builds the model: called as
    ``generator(values, *gen_args, **gen_kwargs)`` with ``values`` a dict of the trial's parameter
    values, it returns a ``mujoco.MjSpec`` or an MJCF string."""

    gen_args: list[Any] = []
    gen_kwargs: dict[str, Any] = {}

    runtime: str = DEFAULT_RUNTIME
    """``package.module:function`` that runs the simulation: ``runtime(model, data, trial,
    *run_args, **run_kwargs) -> dict[str, float]`` of metrics, with ``trial`` a
    :class:`mojo.runtime.TrialContext`. The default steps the model for ``duration`` seconds and
    returns ``metrics(model, data)``."""

    run_args: list[Any] = []
    run_kwargs: dict[str, Any] = {}

    duration: float = Field(1.0, gt=0)
    """Simulated seconds the default runtime steps each trial for."""

    metrics: str | None = None
    """``package.module:function`` computing ``metrics(model, data) -> dict[str, float]`` at the
    end of the default runtime's simulation."""

    metric_units: dict[str, str] = Field(default_factory=dict, exclude=True)
    """Units of the metrics, by name (``{final_angle: deg}``), for tables and plots. Kept out of
    the trial files: a change of units re-makes no trial."""

    objective: str | None = None
    """``package.module:function`` scoring a trial: ``objective(metrics) -> float``. Optional for
    Monte Carlo studies (its value goes in the table), required for optimisation."""

    trial_timeout: float | None = Field(None, gt=0)
    """Wall-clock seconds one trial may take before it is stopped and recorded as ``timeout``."""

    # Kept out of model_dump (exclude=True): how a job is sized must not change trial files or
    # the fingerprint, so resizing jobs never re-makes a trial.
    resources: JobResources = Field(default_factory=JobResources, exclude=True)
    """Cluster resources of the trial jobs (``resources: {trial_seconds: 2, mem_mb: 2000}``)."""

    parameters: dict[str, Distribution] = {}
    """The random parameters, by name, each with its distribution (``dist``: uniform, integer,
    normal, truncnormal, lognormal, choice, constant), optional ``nominal`` and ``unit``."""

    overrides: dict[str, Any] = {}
    """Fix parameters to a value in every trial (also ``--config 'overrides={name: value}'``)."""

    # Kept out of model_dump (exclude=True): the Monte Carlo fingerprint and trial configs must not
    # change when only optimisation settings do.
    optimize: OptimizeConfig | None = Field(None, exclude=True)
    """Optuna optimisation of some parameters (``snakemake optimize``); see docs/optimize.md."""

    _check_generator = field_validator("generator")(_check_code_path)
    _check_runtime = field_validator("runtime")(_check_code_path)
    _check_metrics = field_validator("metrics")(_check_code_path)
    _check_objective = field_validator("objective")(_check_code_path)

    @field_validator("parameters")
    @classmethod
    def _names_are_identifiers(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        for name in parameters:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
                raise ValueError(f"parameter name '{name}' must be letters, digits, '_' or '.'")
        return parameters

    @field_validator("optimize")
    @classmethod
    def _optimize_fits_study(cls, optimize: OptimizeConfig | None, info: ValidationInfo):
        if optimize is not None and {"objective", "parameters", "overrides"} <= set(info.data):
            optimize.check_study(SimpleNamespace(**info.data))
        return optimize

    @model_validator(mode="after")
    def _overrides_name_parameters(self):
        unknown = sorted(set(self.overrides) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"overrides name unknown parameter(s) {unknown}; parameters are {sorted(self.parameters)}"
            )
        for name, value in self.overrides.items():
            try:
                self.parameters[name].coerce(value)
            except ValueError as error:
                raise ValueError(f"overrides.{name}: {error}") from None
        return self

    def override(self, name: str) -> Any:
        """The override of parameter ``name`` as a value of its distribution's kind."""
        return self.parameters[name].coerce(self.overrides[name])

    @property
    def padding_width(self) -> int:
        """Digits of trial folder numbers: enough for the largest trial number, at least ``padding``."""
        return max(self.padding, len(str(max(self.n_trial - 1, 0))))

    @property
    def job_size(self) -> int:
        """Trials per job (see ``trials_per_job``)."""
        return self.trials_per_job or max(1, math.ceil(self.n_trial / self.n_proc))


def format_validation_error(error: ValidationError, data: dict[str, Any]) -> str:
    """One line per problem: the dotted key, the value given and what is allowed."""
    lines = []
    for problem in error.errors():
        loc = [str(p) for p in problem["loc"] if not str(p).startswith("function-")]
        # Drop union tags pydantic inserts (e.g. 'uniform') so the key reads as the user wrote it.
        key = ".".join(
            p
            for i, p in enumerate(loc)
            if not (i == 2 and loc[0] == "parameters" or i == 3 and loc[:2] == ["optimize", "search_space"])
        )
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see README for the keys allowed here)"
        value = problem.get("input")
        # A check across keys (an empty key) names its keys in the message: the value is the
        # whole config, too long to repeat.
        shown = "" if problem["type"] == "missing" or not key else f" = {value!r}"
        lines.append(f"  {key or '<config>'}{shown}: {message}")
    return "invalid study config:\n" + "\n".join(lines)


def load_study(data: dict[str, Any]) -> StudyConfig:
    """Validate a config mapping (the Snakemake ``config``), raising :class:`ConfigError`."""
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data)) from None

