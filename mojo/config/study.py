"""The study config (``config/config.yaml``): one pydantic model, validated before any job exists."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ModelWrapValidatorHandler, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from mojo.config import codepath
from mojo.config.base import Frozen
from mojo.config.distributions import Distribution
from mojo.config.numbers import Real, Whole
from mojo.config.optimize import OptimizeConfig
from mojo.config.pictures import PicturesConfig
from mojo.config.signals import FUNCTION, SignalsConfig, parse_signal

DEFAULT_RUNTIME = "mojo.runtime:simulate"
Backend = Literal["cpu", "warp"]
DEFAULT_BACKEND: Backend = "cpu"


def warp_install() -> str:
    """The command that installs the ``warp`` backend's packages (MuJoCo Warp and NVIDIA Warp):
    those of mojo's ``warp`` extra, from its installed metadata (pyproject.toml owns them). Not
    ``pip install 'mojo[warp]'``: ``mojo`` on PyPI is another project."""
    import importlib.metadata

    try:
        requires = importlib.metadata.requires("mojo") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        requires = []
    extra = [r.split(";")[0].strip() for r in requires if re.search(r"extra\s*==\s*['\"]warp['\"]", r)]
    if not extra:
        return "pip install -e '.[warp]' in mojo's folder"
    return "pip install " + " ".join(f"'{r}'" for r in extra)


MIN_PADDING = 4
MAX_NAME = 100
STUDY_NAME_CHARACTERS = "A-Za-z0-9_.-"
"""What a study name (a folder name) is made of, as a regular-expression character set; it
starts with a letter or digit."""
"""Longest study name: its folder name, with room under the file system's 255 bytes."""
MAX_TRIALS = 10_000_000
"""Most trials a study may have: each is a folder of four files, and beyond this the file system
(and every listing of the study folder) becomes the bottleneck; split such a study instead."""
MAX_JOBS = 10_000
"""Most trial jobs a study may have: Snakemake builds every job before it runs one (about 1 s
per 1000 jobs, also in a dry run), so more jobs only delay the start; raise trials_per_job."""
MAX_TRIAL_SECONDS = 10**7
"""Longest a trial may be given (``trial_timeout``, ``resources.trial_seconds``; about four
months): more is a slip of units, and overflows the clock arithmetic of the trial watcher
(``select``) and of SLURM's time limit."""
MAX_MEMORY_MB = 10**9
"""Most memory a trial or job may be given (``trial_memory_mb``, ``resources.mem_mb``; 1 PB):
more overflows the 64-bit limits of ``setrlimit``."""


TABLE_COLUMNS: tuple[str, ...] = ("trial", "status", "reason", "objective", "wall_time")
"""The trials table's own columns, in order (the fields of :class:`mojo.trials.files.TrialRow`;
its parameters take the place of ``values``, its metrics that of ``metrics``). These names are
reserved: the config refuses a parameter named so, and a trial whose metrics use one ends with
status ``error`` (see :func:`mojo.trials.trial.run_trial`)."""


class ConfigError(ValueError):
    """A study config that cannot run; the message names the key, the value and what is allowed."""


def _check_code_path(value: str | None) -> str | None:
    if value is not None:
        codepath.check_path(value)
    return value


PROJECT_DIRS = {"package": Path(__file__).resolve().parents[1]}
"""mojo's own code folder (the workflow is inside it): a results folder there would mix results
into code, and an upgrade of mojo would delete them."""

SHELL_SPECIAL = "$`\\\"'"
"""Characters the SLURM submission cannot carry: the executor plugin pastes a job's file paths
into ``sbatch --wrap="…"``, a shell command where these run commands or break the quoting."""


def shell_unsafe(text: str) -> bool:
    """Whether ``text`` holds a control character (newline, tab, NUL, ...) or one of
    ``SHELL_SPECIAL``: it cannot travel verbatim through a shell command line."""
    return any(char in SHELL_SPECIAL or unicodedata.category(char).startswith("C") for char in text)


def number_width(padding: int, count: int) -> int:
    """Digits of the folder numbers 0 .. count - 1 (trials, or the optimiser's trials): enough
    for the largest, at least ``padding``."""
    return max(padding, len(str(max(count - 1, 0))))


def _check_results_dir(value: str) -> str:
    """``~`` expanded; refused: empty, control or shell-special characters, braces, an existing
    file on the way, a folder inside mojo's package folder."""
    def refuse(why: str) -> ValueError:
        return ValueError(
            f"{why}; allowed: a folder (relative to the working folder, absolute, or ~/...) "
            "outside mojo's package folder, without control characters, braces "
            f"or any of {' '.join(SHELL_SPECIAL)}"
        )

    if not value.strip():
        raise refuse("is empty, which would write the study into the working folder")
    if shell_unsafe(value):
        raise refuse(
            "holds a control character or a shell-special character "
            "(SLURM submission pastes file paths into a shell command)"
        )
    if "{" in value or "}" in value:
        raise refuse("holds a brace, which Snakemake would read as a wildcard in every rule's path")
    path = Path(os.path.expanduser(value))
    resolved = path.resolve()
    for folder in (resolved, *resolved.parents):
        if folder.exists():
            if not folder.is_dir():
                raise refuse(f"{str(folder)!r} is an existing file, not a folder")
            break
    for name, project_dir in PROJECT_DIRS.items():
        if resolved.is_relative_to(project_dir):
            raise refuse(f"resolves to {str(resolved)!r}, inside the project's {name} folder")
    return str(path)


Sampling = Literal["random", "sobol", "lhs", "saltelli"]
"""The sampling designs (key ``sampling``)."""
DEFAULT_SAMPLING: Sampling = "random"
GROWING_DESIGNS = frozenset({"random", "sobol", "saltelli"})
"""Designs whose trial k is the same whatever n_trial (saltelli: to another valid size); the
others (lhs) cannot change n_trial once a trial is finished (see :mod:`mojo.trials.sampling`)."""


def check_saltelli_size(n_trial: int, names: list[str]) -> None:
    """Raise ValueError unless a Saltelli design of ``names`` fills ``n_trial`` exactly: trial 0
    (nominal) and N * (D + 2) rows, N a power of 2 (SALib's balance; first-order and total
    indices only)."""
    if not names:
        raise ValueError(
            "sampling = 'saltelli' needs at least one parameter that varies (not a constant, "
            "not overridden); this study has none: use sampling: random"
        )
    block = len(names) + 2
    rows = n_trial - 1
    n = rows // block
    if rows >= block and rows % block == 0 and n & (n - 1) == 0:
        return
    below = 2 ** (max(n, 1).bit_length() - 1) if rows >= block else None
    above = 2 ** max(n, 1).bit_length() if rows >= block else 1
    nearest = [f"{m * block + 1} (N = {m})" for m in (below, above) if m is not None]
    raise ValueError(
        f"n_trial = {n_trial} does not fit sampling = 'saltelli': it needs n_trial = 1 + N * (D + 2) "
        f"with N a power of 2 and D = {len(names)} varying parameters ({', '.join(names)}); "
        f"nearest: n_trial = {' or '.join(nearest)}"
    )


class JobResources(Frozen):
    """What one trial job asks a cluster (SLURM) for; local runs ignore it. See docs/slurm.md."""

    trial_seconds: Real | None = Field(None, gt=0, le=MAX_TRIAL_SECONDS)
    """Expected wall time of one trial in seconds. A job's ``runtime`` is one minute of start-up
    plus twice (headroom) its trials times this. Default: ``trial_timeout`` when set, else 10."""

    mem_mb: Whole | None = Field(None, gt=0, le=MAX_MEMORY_MB)
    """Memory of one trial job in MB. Default: the profile's ``default-resources``."""


DEFAULT_PERCENTILES = (5.0, 50.0, 95.0)
"""The percentiles quoted with an interval unless ``statistics.percentiles`` says otherwise."""


class StatisticsConfig(Frozen):
    """Which figures the tables, the report and ``mojo status`` quote with a confidence interval
    (see :mod:`mojo.results.statistics`). Changes no trial: only the tables and plots are re-made."""

    percentiles: list[Real] = Field(default_factory=lambda: list(DEFAULT_PERCENTILES))
    """Percentiles of every metric and the objective quoted with an interval, each strictly
    between 0 and 100 (``95`` is the 95th percentile), distinct; shown in increasing order."""

    confidence: Real = 0.95
    """Confidence level of every interval, strictly between 0 and 1 (``0.95`` for 95 %)."""

    @field_validator("percentiles")
    @classmethod
    def _percentiles_inside(cls, percentiles: list[float]) -> list[float]:
        for p in percentiles:
            if not 0 < p < 100:
                raise ValueError(
                    f"{p:g} is not a percentile: each must lie strictly between 0 and 100 "
                    "(95 for the 95th percentile; 0 and 100, the minimum and maximum, have no "
                    "interval that holds for every distribution)"
                )
        labels = [f"{p:g}" for p in percentiles]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} given twice; each percentile once")
        return sorted(percentiles)

    @field_validator("confidence")
    @classmethod
    def _confidence_is_a_fraction(cls, confidence: float) -> float:
        if not 0 < confidence < 1:
            hint = f" (a fraction: {confidence / 100:g} for {confidence:g} %)" if 1 < confidence < 100 else ""
            raise ValueError(f"need a level strictly between 0 and 1{hint}")
        return confidence


FIRST_ROUND = 100
"""Trials in the first round of a ``stop_when`` study: enough for a mean's interval, and for
both bounds of p5 and p95 at 95 % (72 successful trials)."""
STOP_DESIGNS = ("random", "sobol")
"""The sampling designs a ``stop_when`` study can grow under: a round only adds trials."""


class StopWhen(Frozen):
    """Grow the study in rounds until one figure is known to a given precision (README: "Is N
    enough?"). Rounds double the trials (``first_round``, twice that, ...) up to ``n_trial``;
    after each, the figure's confidence interval (``statistics.confidence``) over every trial so
    far decides: its half width at most ``half_width`` stops the study."""

    metric: str = Field(min_length=1)
    """The metric (a name the trials' metrics return, or ``objective``)."""

    statistic: str = "mean"
    """``mean`` or a percentile ``pNN`` (``p95``, ``p2.5``), strictly between 0 and 100."""

    half_width: Real = Field(gt=0)
    """The precision to reach: half the width of the figure's interval, in the metric's unit."""

    first_round: Whole = Field(FIRST_ROUND, ge=2)
    """Trials of the first round; each later round doubles the study, the last stops at
    ``n_trial``."""

    @field_validator("statistic")
    @classmethod
    def _mean_or_percentile(cls, statistic: str) -> str:
        number = re.fullmatch(r"p(\d+(?:\.\d+)?)", statistic)
        if statistic != "mean" and not (number and 0 < float(number.group(1)) < 100):
            raise ValueError("allowed: mean, or a percentile pNN strictly between 0 and 100 (p5, p95, p2.5)")
        return statistic

    @property
    def percentile(self) -> float | None:
        """The percentile of ``statistic`` (None for the mean)."""
        return None if self.statistic == "mean" else float(self.statistic[1:])


class StudyConfig(Frozen):
    """A Monte Carlo study: what to build, how to run it, which parameters vary and how."""

    study: str = Field(max_length=MAX_NAME)
    """Name of the study; its files go to ``<results_dir>/<study>/``."""

    results_dir: str = "results"
    """Folder that holds every study's results, relative to the working folder, absolute, or
    under ``~`` (expanded). See ``_check_results_dir`` for what is refused."""

    seed: Whole = Field(0, ge=0)
    """Root of every random draw. The same seed and config give the same trial files, bit for bit."""

    n_trial: Whole = Field(100, ge=0, le=MAX_TRIALS)
    """Number of trials. Trial 0 is the nominal trial (every parameter at its nominal value).
    Grow it to add trials; finished trials are kept. Shrinking it deletes nothing."""

    n_proc: Whole = Field(1, ge=1)
    """Number of processes the study is split over: by default the trials are divided into
    ``n_proc`` jobs, so run with ``--cores n_proc`` (locally) or ``--jobs n_proc`` (SLURM) to run
    them all at once. Be a good citizen on shared machines."""

    trials_per_job: Whole | None = Field(None, ge=1)
    """Trials run by one job (one process). Default: ``ceil(n_trial / n_proc)``, which keeps
    process start-up off the per-trial cost. ``1`` gives one job per trial."""

    resume: bool = True
    """Continue a study whose results folder exists. With ``false``, an existing study is refused
    instead of being extended (nothing is ever deleted)."""

    padding: Whole = Field(MIN_PADDING, ge=1, le=12)
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

    duration: Real = Field(1.0, gt=0)
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

    trial_timeout: Real | None = Field(None, gt=0, le=MAX_TRIAL_SECONDS)
    """Wall-clock seconds one trial may take before it is stopped and recorded as ``timeout``."""

    trial_memory_mb: Real | None = Field(None, gt=0, le=MAX_MEMORY_MB)
    """Memory (MB) one trial may allocate on top of what its worker process held when the trial
    started: heap, arrays, thread stacks (``RLIMIT_DATA``), in each process of the trial. Beyond
    it the allocation fails and the trial is recorded as ``error``, naming this key."""

    backend: Backend = DEFAULT_BACKEND
    """What simulates the trials: ``cpu`` (MuJoCo, trials one by one in forked workers) or
    ``warp`` (MuJoCo Warp: the trials of a batch job as one batch of worlds on a GPU, or on the
    CPU device of Warp where there is no GPU). ``warp`` runs without ``trial_timeout``,
    ``trial_memory_mb``, ``optimize`` or ``fn:`` signals, steps a runtime of your own only where
    it calls ``mojo.runtime.step``, and needs MuJoCo Warp (the ``warp`` extra); see docs/warp.md.
    Its results agree with ``cpu`` to within float32 rounding (so its trials are not the CPU
    backend's: changing the backend re-makes them)."""

    worlds_per_batch: Whole | None = Field(None, ge=1, exclude=True)
    """Most worlds (trials) the ``warp`` backend steps at once. Default: what half the GPU's free
    memory holds. At most 65536 by default, and 256 on Warp's CPU device. Kept out of the trial
    files: how trials are batched never changes them."""

    # Kept out of model_dump (exclude=True): how a job is sized must not change trial files or
    # the fingerprint, so resizing jobs never re-makes a trial.
    resources: JobResources = Field(default_factory=JobResources, exclude=True)
    """Cluster resources of the trial jobs (``resources: {trial_seconds: 2, mem_mb: 2000}``)."""

    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig)
    """The confidence intervals quoted in the tables, the report and ``mojo status``
    (``statistics: {percentiles: [5, 50, 95], confidence: 0.95}``)."""

    signals: SignalsConfig | None = None
    """Signals each trial records over simulated time, in its ``signals.parquet``
    (``signals: {rate: 100, record: [qpos:hinge0, ctrl]}``); see the README's "Signals"."""

    pictures: PicturesConfig | None = None
    """Rendered pictures of chosen trials in the report (``pictures: {width: 480, height: 360,
    fps: 20, frames: 6, failures: 3}``; ``{}`` for these defaults; absent: none). Needs an OpenGL
    backend (EGL, or OSMesa: Debian's ``libosmesa6``); see the README's "Pictures"."""

    parameters: dict[str, Distribution] = {}
    """The random parameters, by name, each with its distribution (``dist``: uniform, integer,
    normal, truncnormal, lognormal, choice, constant), optional ``nominal`` and ``unit``."""

    overrides: dict[str, Any] = {}
    """Fix parameters to a value in every trial (also ``--config 'overrides={name: value}'``)."""

    sampling: Sampling = DEFAULT_SAMPLING
    """How trials 1 .. n_trial - 1 spread over the parameters (trial 0 stays nominal): ``random``
    (independent draws per parameter), ``sobol`` (scrambled Sobol' sequence), ``lhs`` (Latin
    hypercube) or ``saltelli`` (Saltelli's design for Sobol' indices: n_trial - 1 = N * (D + 2),
    N a power of 2, D the design parameters). Which can grow: see the README's "Sampling designs"."""

    stop_when: StopWhen | None = None
    """Stop the study once a figure is known well enough (``stop_when: {metric: energy,
    statistic: p95, half_width: 0.5}``), at ``n_trial`` trials at most: see :class:`StopWhen`."""

    # Kept out of model_dump (exclude=True): the Monte Carlo fingerprint and trial configs must not
    # change when only optimisation settings do.
    optimize: OptimizeConfig | None = Field(None, exclude=True)
    """Optuna optimisation of some parameters (``snakemake optimize``); see docs/optimize.md."""

    _check_results_dir = field_validator("results_dir")(_check_results_dir)
    _check_generator = field_validator("generator")(_check_code_path)
    _check_runtime = field_validator("runtime")(_check_code_path)
    _check_metrics = field_validator("metrics")(_check_code_path)
    _check_objective = field_validator("objective")(_check_code_path)

    @field_validator("study")
    @classmethod
    def _study_is_a_folder_name(cls, name: str) -> str:
        if not re.fullmatch(f"[A-Za-z0-9][{STUDY_NAME_CHARACTERS}]*", name):
            raise ValueError(
                "names the study's folder: use ASCII letters, digits, '_', '.' and '-', "
                "starting with a letter or digit"
            )
        return name

    @field_validator("parameters")
    @classmethod
    def _names_are_identifiers(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        for name in parameters:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
                raise ValueError(f"parameter name '{name}' must be letters, digits, '_' or '.'")
            if name in TABLE_COLUMNS:
                raise ValueError(
                    f"parameters.{name}: '{name}' is reserved for the results table's own column; "
                    f"reserved names: {', '.join(TABLE_COLUMNS)} (rename the parameter)"
                )
        return parameters

    @model_validator(mode="wrap")
    @classmethod
    def _optimize_fits_study(cls, data: Any, handler: ModelWrapValidatorHandler[StudyConfig]) -> StudyConfig:
        """``optimize`` checked against the whole validated study, whatever the key order; a
        problem is reported at the key ``optimize`` with the section as the user gave it."""
        study = handler(data)
        if study.optimize is not None:
            try:
                study.optimize.check_study(study)
            except ValueError as error:
                given = data.get("optimize") if isinstance(data, dict) else study.optimize
                # A ValidationError keeps its location (a ValueError here would be the config's).
                raise ValidationError.from_exception_data(cls.__name__, [InitErrorDetails(
                    type="value_error", loc=("optimize",), input=given, ctx={"error": error},
                )]) from None
        return study

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

    @model_validator(mode="after")
    def _code_takes_its_arguments(self):
        """Each user function can take what mojo passes it (see ``codepath.check_call``)."""
        calls = [  # key, what mojo passes first, the config's extra arguments (if any)
            ("generator", ("values",), "gen_args", "gen_kwargs"),
            ("runtime", ("model", "data", "trial"), "run_args", "run_kwargs"),
            ("metrics", ("model", "data"), None, None),
            ("objective", ("metrics",), None, None),
        ]
        for key, passed, args_key, kwargs_key in calls:
            path = getattr(self, key)
            if path is None:
                continue
            args, kwargs, form = passed, {}, f"{key}({', '.join(passed)})"
            if args_key:
                args, kwargs = (*passed, *getattr(self, args_key)), getattr(self, kwargs_key)
                form = (
                    f"{key}({', '.join(passed)}, *{args_key}, **{kwargs_key}) with "
                    f"{args_key} = {getattr(self, args_key)!r}, {kwargs_key} = {kwargs!r}"
                )
            try:
                codepath.check_call(path, args, kwargs, form)
            except ValueError as error:
                raise ValueError(f"{key} = {path!r}: {error}") from None
        return self

    @model_validator(mode="after")
    def _stop_when_can_grow(self):
        if self.stop_when is not None and self.stop_when.metric == "objective" and self.objective is None:
            raise ValueError("stop_when.metric = 'objective' needs an objective; this study has none")
        metric = self.stop_when.metric if self.stop_when is not None else None
        if metric in self.parameters or (metric in TABLE_COLUMNS and metric != "objective"):
            # a trial's metrics never have these names (mojo.trials.trial refuses them): no round
            # could ever decide
            raise ValueError(
                f"stop_when.metric = {metric!r} is a parameter's name or a table column; it must be one "
                f"of the metrics the trials return, or 'objective' (no metric is named "
                f"{', '.join(c for c in TABLE_COLUMNS if c != 'objective')} or after a parameter)"
            )
        if self.stop_when is not None and self.sampling not in STOP_DESIGNS:
            raise ValueError(
                f"stop_when grows the study in rounds, which sampling = {self.sampling!r} cannot "
                f"(its trials depend on the final n_trial); allowed with stop_when: {', '.join(STOP_DESIGNS)}"
            )
        return self

    @model_validator(mode="after")
    def _backend_runs_study(self):
        """What the ``warp`` backend cannot run is refused here, before any job (docs/warp.md)."""
        if self.backend != "warp":
            return self
        refused = {
            "trial_timeout": self.trial_timeout is not None,
            "trial_memory_mb": self.trial_memory_mb is not None,
            "optimize": self.optimize is not None,
        }
        for key, given in refused.items():
            if given:
                raise ValueError(
                    f"backend = 'warp' cannot run a study with {key} = {getattr(self, key)!r}: the warp "
                    "backend steps the trials of a batch together, on the device (see docs/warp.md; "
                    f"remove {key}, or use backend: cpu)"
                )
        functions = [s for s in self.signals.record if parse_signal(s)[0] == FUNCTION] if self.signals else []
        if functions or (self.signals and self.runtime != DEFAULT_RUNTIME):
            what = f"the function signal {functions[0]!r}" if functions else "a runtime of its own"
            raise ValueError(
                f"backend = 'warp' records signals on the device, for the default runtime and the "
                f"signals of the model's arrays: this study records them with {what} (remove it, or "
                "use backend: cpu)"
            )
        if importlib.util.find_spec("mujoco_warp") is None:
            raise ValueError(f"backend = 'warp' needs MuJoCo Warp, which is not installed: {warp_install()}")
        return self

    @model_validator(mode="after")
    def _jobs_few_enough(self):
        jobs = math.ceil(self.n_trial / self.job_size)
        if jobs > MAX_JOBS:
            size = f"n_proc = {self.n_proc}"
            if self.trials_per_job:
                size = f"trials_per_job = {self.trials_per_job}"
            raise ValueError(
                f"n_trial = {self.n_trial} with {size} makes {jobs} jobs; at most {MAX_JOBS} are "
                f"allowed: set trials_per_job to at least {math.ceil(self.n_trial / MAX_JOBS)}"
            )
        return self

    @model_validator(mode="after")
    def _design_fits(self):
        if self.sampling == "saltelli":
            check_saltelli_size(self.n_trial, self.design_parameters)
        return self

    @property
    def design_parameters(self) -> list[str]:
        """The parameters a sampling design spreads, in config order: every one that varies
        (neither a ``constant`` nor overridden). The design's dimension is their number."""
        return [
            name
            for name, dist in self.parameters.items()
            if name not in self.overrides and dist.dist != "constant"
        ]

    def override(self, name: str) -> Any:
        """The override of parameter ``name`` as a value of its distribution's kind."""
        return self.parameters[name].coerce(self.overrides[name])

    @property
    def padding_width(self) -> int:
        """Digits of trial folder numbers: enough for the largest trial number, at least ``padding``."""
        return number_width(self.padding, self.n_trial)

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
        elif problem["type"] == "union_tag_not_found":
            message = (
                f"has no {problem['ctx']['discriminator']} key, which names its kind "
                "(see README for the kinds allowed)"
            )
        value = problem.get("input")
        # A check across keys (an empty key) names its keys in the message: the value is the
        # whole config, too long to repeat.
        shown = "" if problem["type"] == "missing" or not key else f" = {value!r}"
        lines.append(_hide_passwords(f"  {key or '<config>'}{shown}: {message}"))
    return "invalid study config:\n" + "\n".join(lines)


def _hide_passwords(text: str) -> str:
    """``scheme://user:***@host``: a database URL's password (``optimize.storage``) never reaches a
    terminal or a log through an error message."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def type_command_line(config: dict[str, Any], entries: dict[str, Any]) -> None:
    """Read the nested ``--config`` values in ``config`` again as YAML reads a config file.

    Snakemake reads ``--config 'key={...}'`` with YAML's base loader, so every nested value
    arrives as text: ``gen_kwargs={scale: 2}`` would pass the text ``'2'`` to user code, and a
    ``choice`` of ``[1, 2]`` would draw text, where the same line in a config file gives numbers.
    ``entries`` are the ``--config`` entries as Snakemake parsed them
    (``workflow.config_settings.config``); each nested text that YAML reads as a number, a
    boolean or null becomes one, in place in ``config`` (so that script jobs, which get
    ``config``, see the same values), except under ``TEXT_KEYS``. Top-level values are typed
    by Snakemake already.
    """
    for key, value in entries.items():
        if isinstance(value, (dict, list)) and key not in TEXT_KEYS:
            _merge(config, key, _typed(value))


TEXT_KEYS = {"metric_units", "unit", "study_name", "storage"}
"""Nested keys whose values are text even when they look like numbers (a unit ``1``, a study
name ``2024``): a ``--config`` value under them stays as Snakemake gives it, since its YAML
quoting (``'1'``) is lost before mojo sees it."""


def _typed(value: Any) -> Any:
    import yaml

    if isinstance(value, dict):
        return {key: item if key in TEXT_KEYS else _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, str):
        try:
            read = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        is_null = read is None and value.strip() in ("null", "Null", "NULL", "~")
        if isinstance(read, (bool, int, float)) or is_null:
            return read
    return value


def _merge(into: dict[str, Any], key: str, value: Any) -> None:
    """``into[key] = value``, merging mappings key by key as Snakemake merges ``--config``."""
    if isinstance(value, dict) and isinstance(into.get(key), dict):
        for inner, item in value.items():
            _merge(into[key], inner, item)
    else:
        into[key] = value


def load_study(data: dict[str, Any]) -> StudyConfig:
    """Validate a config mapping (the Snakemake ``config``), raising :class:`ConfigError`."""
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data)) from None


def check_config_file(path: str | Path) -> None:
    """Raise :class:`ConfigError` naming the file (and, for bad YAML, the line) unless ``path``
    holds a YAML mapping of config keys, each key given once per mapping.

    Snakemake's own messages for these mistakes name neither, and its YAML reader keeps the last
    of two equal keys without a word (``n_trial`` written twice runs the second). The Snakefile
    calls this for the default config and for each ``--configfile`` (which Snakemake has read
    before the Snakefile runs, refusing what is not a YAML or JSON mapping on its own).
    """
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # a '<<: *anchor' merge may repeat keys; that is its purpose
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)):
                    continue  # an unhashable key: the base loader names that problem
                if key in lines:
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"key {key!r} is given twice (also on line {lines[key] + 1}); the second "
                        "would silently replace the first: keep one",
                        key_node.start_mark,
                    )
                lines[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep)

    where = os.path.abspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found (looked for {where}): run snakemake in a study folder "
            "that has it, pass -d <study folder>, or name a config with --configfile <file>"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {where} cannot be read: {exc}") from None
    try:
        data = yaml.load(text, Loader=UniqueKeys)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"config file {where}{line}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        got = "it is empty" if data is None else f"its top level is {str(data)[:60]!r}, not a mapping"
        raise ConfigError(
            f"config file {where}: need a mapping of config keys (study: ..., generator: ...), "
            f"but {got}"
        )

