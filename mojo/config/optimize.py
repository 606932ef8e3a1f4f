"""The ``optimize:`` section of a study config and its search space (no Optuna import here)."""

from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from mojo.config.base import Frozen
from mojo.config.numbers import Real, Whole, check_range, first_non_finite

SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe": ("TPESampler", {"constant_liar": True}),
    "cmaes": ("CmaEsSampler", {}),
    "random": ("RandomSampler", {}),
    "qmc": ("QMCSampler", {"scramble": True, "warn_asynchronous_seeding": False}),
    "gp": ("GPSampler", {}),
    "nsgaii": ("NSGAIISampler", {}),
}
"""Samplers a study may name: each one's Optuna class and the settings mojo gives it unless
``sampler_kwargs`` say otherwise (why these: :mod:`mojo.optimize.samplers`, which seeds them)."""

SAMPLER_PACKAGES = {"cmaes": ("cmaes",), "qmc": ("scipy",), "gp": ("torch", "scipy")}
"""Packages Optuna needs for some samplers; checked when the config is loaded."""

MAX_EVALS_PER_TRIAL = 999
"""Evaluation ``e`` of Optuna trial ``t`` runs as trial number ``t * 1000 + e + 1`` (its seed and
random stream), so the evaluations of every trial get distinct seeds however the settings change."""

if TYPE_CHECKING:  # the study config holds this section: a run-time import would be a cycle
    from mojo.config.study import StudyConfig


class _Numeric(Frozen):
    low: Real
    """Smallest value searched (inclusive)."""
    high: Real
    """Largest value searched (inclusive)."""
    log: bool = False
    """Search on a log scale (for values spread over orders of magnitude; needs ``low > 0``)."""
    step: Real | None = None
    """Only values ``low + k * step`` are searched (cannot be combined with ``log``)."""

    @model_validator(mode="after")
    def _low_below_high(self):
        check_range(self.low, self.high)
        return self

    @model_validator(mode="after")
    def _log_and_step(self):
        if self.log and self.low <= 0:
            raise ValueError(f"log = true needs low > 0, got low = {self.low}")
        if self.log and self.step is not None:
            raise ValueError("log = true cannot be combined with step (choose one)")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step = {self.step} must be > 0")
        # Optuna would silently lower high to the last step below it (a warning in a job's log).
        # Tolerant of rounding: a refined window (mojo.optimize.space) is read back through here.
        steps = self.width() / self.step if self.step is not None else 0
        if not math.isfinite(steps) or abs(steps - round(steps)) > 1e-6:
            raise ValueError(
                f"step = {self.step} does not divide high - low = {self.high} - {self.low}; "
                "need high = low + k * step for a whole k"
            )
        return self

    def width(self) -> float:
        return self.high - self.low


class FloatParam(_Numeric):
    """A real number in [low, high]."""

    type: Literal["float"]


class IntParam(_Numeric):
    """A whole number in [low, high]."""

    type: Literal["int"]
    low: Whole
    high: Whole
    step: Whole | None = None


class CategoricalParam(Frozen):
    """One of a list of values (numbers, strings or booleans); never refined."""

    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)
    """Distinct, finite values of the kinds Optuna stores (null, booleans, numbers, text)."""

    @field_validator("choices")
    @classmethod
    def _distinct_and_finite(cls, choices: list[Any]) -> list[Any]:
        for choice in choices:
            if choice is not None and not isinstance(choice, (bool, int, float, str)):
                raise ValueError(
                    f"{choice!r} is a {type(choice).__name__}; allowed choices: null, booleans, "
                    "numbers and text (the kinds Optuna stores)"
                )
        if first_non_finite(choices) is not None:
            raise ValueError(f"{first_non_finite(choices)} is not a finite number")
        for i, choice in enumerate(choices):
            equal = [c for c in choices[:i] if c == choice]  # as Optuna finds a choice: by ==
            if not equal:
                continue
            earlier = equal[0]
            if isinstance(earlier, bool) != isinstance(choice, bool):
                raise ValueError(
                    f"{earlier!r} and {choice!r} are one choice to Optuna (it finds a choice by ==, "
                    "and would record one as the other): keep one, or give text such as 'true'"
                )
            raise ValueError(f"{choice!r} appears more than once; choices must be distinct")
        return choices


SearchParam = Annotated[Union[FloatParam, IntParam, CategoricalParam], Field(discriminator="type")]
"""One optimised parameter's search range, chosen by its ``type`` key (float, int, categorical)."""


class OptimizeConfig(Frozen):
    """Optuna optimisation of some of the study's parameters (the ``optimize:`` section).

    The parameters named in ``search_space`` are chosen by Optuna; every other parameter keeps
    its Monte Carlo distribution or override. The study's ``objective`` scores each evaluation.
    """

    direction: Literal["minimize", "maximize"]
    """Whether we want to find the lowest or highest objective value. Required: there is no
    default, because guessing wrong optimises the opposite of what you want."""

    search_space: dict[str, SearchParam] = Field(min_length=1)
    """The optimised parameters, by name (each must be one of the study's ``parameters``), with
    ``type: float|int`` and ``low``/``high`` (optional ``log``, ``step``), or
    ``type: categorical`` and ``choices``."""

    n_trial: Whole = Field(100, ge=1)
    """Number of Optuna trials (each of ``evals_per_trial`` evaluations). Grow it to continue the
    same study; finished trials are kept."""

    study_name: str | None = None
    """Unique identifier for the Optuna study in its storage. Default: the study's name."""

    timeout: Real | None = Field(None, gt=0)
    """Stop after this many seconds (wall clock, counted from the first round of this run of the
    study and checked between rounds), regardless of trial count. Raising it, or ``n_trial``,
    continues a stopped study."""

    storage: str | None = None
    """Optuna storage URL (e.g. ``sqlite:///study.db``, ``postgresql://...``). Default: the SQLite
    file ``results/<study>/optimize/study.db``. Only the Snakemake main process opens it."""

    sampler: str = "tpe"
    """The search algorithm: tpe, cmaes, random, qmc, gp or nsgaii, seeded from the study's
    ``seed``. TPE is generally best for noisy physics. cmaes needs the ``cmaes`` package, qmc
    ``scipy`` and gp ``torch`` and ``scipy``."""

    sampler_kwargs: dict[str, Any] = {}
    """Extra keyword arguments for the Optuna sampler (e.g. ``n_startup_trials: 5`` for tpe)."""

    trials_per_round: Whole | None = Field(None, ge=1)
    """Trials asked from Optuna per round (one round = ask a batch, evaluate it, tell it). Small
    rounds let the sampler learn from every result (fewer trials needed); large rounds keep the
    cores busy and pay the loop's fixed cost (about a second per round) less often.
    Default: ``4 * n_proc``."""

    evals_per_trial: Whole = Field(1, ge=1, le=MAX_EVALS_PER_TRIAL)
    """Number of times to run the simulation per trial, each with its own seed (the parameters
    that are not optimised are drawn again) and its own folder. The mean score is told to Optuna
    and the spread is kept in the tables. Reduces 'lucky' trials in noisy physics."""

    refine_search_factor: Real | None = Field(None, gt=0, lt=1)
    """If set (e.g. 0.5), each time a stopped study is resumed (``n_trial`` or ``timeout``
    raised) and it has a best trial, every numeric search bound shrinks to a window of this factor
    times the old width, centred on the best value and clipped to the old bounds (log-scaled
    parameters: in log space). Smaller values refine more aggressively."""

    prune_failed_trials: bool = True
    """Whether to stop a trial at its first evaluation that is not a success (unstable physics,
    an error, a failed check, a timeout): its remaining evaluations are skipped and the Optuna
    trial is marked pruned. With ``false`` every evaluation runs and such a trial is marked
    failed. Either way it is never told a made-up score."""

    n_proc: Whole | None = Field(None, ge=1)
    """Evaluation jobs per round (run with ``--cores``/``--jobs`` at least this). Default: the
    study's ``n_proc``."""

    resume: bool | None = None
    """Whether to continue an optimisation whose round files exist. Default: the study's
    ``resume``."""

    @model_validator(mode="before")
    @classmethod
    def _direction_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and "direction" not in data:
            raise ValueError(
                "direction is missing: set 'direction: minimize' or 'direction: maximize' "
                "(there is no default)"
            )
        return data

    @field_validator("storage")
    @classmethod
    def _storage_url_and_driver(cls, storage: str | None) -> str | None:
        """Parse the URL and import its database driver, without connecting: a bad URL or a
        missing driver is a config error, not a traceback at the first round."""
        if storage is None:
            return storage
        from sqlalchemy.engine import make_url  # installed with Optuna; imported only when set

        allowed = (
            "allowed: an SQLAlchemy database URL such as sqlite:///path/to/study.db or "
            "postgresql+psycopg2://user:password@host/database, with its driver installed"
        )
        try:
            url = make_url(storage)
            dialect = url.get_dialect()
        except Exception as error:
            raise ValueError(f"is not a database URL ({error}); {allowed}") from None
        try:
            dialect.import_dbapi()
        except ImportError as error:
            raise ValueError(
                f"needs the database driver '{url.get_driver_name()}' for {url.get_backend_name()}, "
                f"which cannot be imported ({error}): install the package that provides it; {allowed}"
            ) from None
        return storage

    @field_validator("sampler")
    @classmethod
    def _sampler_known_and_installed(cls, sampler: str) -> str:
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}")
        missing = [p for p in SAMPLER_PACKAGES.get(sampler, ()) if importlib.util.find_spec(p) is None]
        if missing:
            raise ValueError(
                f"sampler {sampler!r} needs the package(s) {', '.join(missing)}, which are not "
                f"installed (pip install {' '.join(missing)}); or choose tpe, random or nsgaii"
            )
        return sampler

    @model_validator(mode="after")
    def _sampler_takes_its_kwargs(self):
        """Build the sampler once, as each step will: an unknown ``sampler_kwargs`` key is a
        config error, not a TypeError in the first step. Imports Optuna (about a second), only
        when ``sampler_kwargs`` is set."""
        if self.sampler_kwargs:
            import warnings

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    build_sampler(self.sampler, 0, self.sampler_kwargs)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"sampler_kwargs = {self.sampler_kwargs!r} do not fit sampler {self.sampler!r}: {error}"
                ) from None
        return self

    def check_study(self, study: StudyConfig) -> None:
        """Checks against the rest of the study config, once all of it is valid (called by
        ``StudyConfig``); raises ValueError."""
        if study.objective is None:
            raise ValueError(
                "optimisation needs an objective: set the study's 'objective' to "
                "'package.module:function', a function of a trial's metrics returning a float"
            )
        unknown = sorted(set(self.search_space) - set(study.parameters))
        if unknown:
            raise ValueError(
                f"search_space names unknown parameter(s) {unknown}; declare them under 'parameters' "
                f"(their unit and Monte Carlo distribution); parameters are {sorted(study.parameters)}"
            )
        for name, param in self.search_space.items():
            dist = study.parameters[name].dist
            if not isinstance(param, CategoricalParam) and dist == "choice":
                raise ValueError(
                    f"search_space.{name} has type {param.type}, but parameter {name} is a choice "
                    "(one of its values, not a number in a range): search it with type: categorical"
                )
            if isinstance(param, FloatParam) and dist == "integer":
                raise ValueError(
                    f"search_space.{name} has type float, but parameter {name} is an integer: "
                    "search it with type: int, so that it stays a whole number"
                )
        if self.sampler == "qmc" and study.seed >= 2**32:
            raise ValueError(
                f"sampler 'qmc' is seeded with the study's seed = {study.seed}, and its random "
                f"state (NumPy's legacy seeding) takes only seeds below 2**32 = {2**32}: choose "
                "a smaller seed, or another sampler"
            )
        fixed = sorted(set(self.search_space) & set(study.overrides))
        if fixed:
            raise ValueError(
                f"parameter(s) {fixed} are both overridden and optimised; remove them from "
                "'overrides' or from 'optimize.search_space'"
            )

    def round_size(self, study: StudyConfig) -> int:
        return self.trials_per_round or 4 * self.jobs(study)

    def jobs(self, study: StudyConfig) -> int:
        return self.n_proc or study.n_proc

    def resumes(self, study: StudyConfig) -> bool:
        return study.resume if self.resume is None else self.resume

    def name(self, study: StudyConfig) -> str:
        return self.study_name or study.study


def build_sampler(name: str, seed: int, kwargs: dict[str, Any]):
    """The Optuna sampler ``name`` of :data:`SAMPLERS` with its settings and ``seed``, overridden by
    ``kwargs``. Imports Optuna (about a second)."""
    import optuna

    sampler_class, settings = SAMPLERS[name]
    return getattr(optuna.samplers, sampler_class)(**{**settings, "seed": seed, **kwargs})
