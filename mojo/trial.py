"""One trial's lifecycle: plan it (config and values), check whether it is done, run it, record it."""

from __future__ import annotations

import hashlib
import math
import time
import traceback
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from mojo import codepath
from mojo.config import StudyConfig
from mojo.distributions import trial_seed
from mojo.files import (
    CONFIG_JSON,
    MODEL_XML,
    NAMED_VALUES_JSON,
    RESULT_JSON,
    TRIAL_FILES,
    NamedValue,
    Status,
    TrialConfig,
    TrialResult,
    TrialRow,
    read_model,
    write_atomic,
    write_named_values,
    write_model,
)
from mojo.sampling import plain_values, sample_parameters

CODE_FIELDS = ("generator", "runtime", "metrics", "objective")


def code_hashes(study: StudyConfig) -> dict[str, str]:
    """Source hash of each code path the study names: a change of content re-makes the trials."""
    return {f: codepath.source_hash(getattr(study, f)) for f in CODE_FIELDS if getattr(study, f)}


@dataclass(frozen=True)
class TrialPlan:
    """A trial before it runs: where it goes, and how its config and values are resolved.

    The config and the values are worked out on first use: for a trial that runs, that is in the
    worker process that runs it (see :mod:`mojo.batch`), so planning a batch costs nothing.
    """

    study: StudyConfig
    number: int
    dir: Path
    template: TrialConfig
    """The config every trial of the study shares (see :func:`config_template`)."""
    stream: int
    """Which random draws the trial gets: the trial number, or an evaluation's own number."""
    fixed: dict[str, NamedValue] | None = None
    """Values pinned whatever the draws (the optimiser's choices)."""

    @cached_property
    def config(self) -> TrialConfig:
        seed = trial_seed(self.study.seed, self.stream)
        return self.template.model_copy(update={"trial": self.number, "trial_seed": seed})

    @cached_property
    def values(self) -> dict[str, NamedValue]:
        return sample_parameters(self.study, self.stream, self.fixed)

    @cached_property
    def config_json(self) -> str:
        return self.config.model_dump_json(indent=2) + "\n"

    @cached_property
    def input_hash(self) -> str:
        return hashlib.sha256(self.config_json.encode()).hexdigest()


def config_template(study: StudyConfig, hashes: dict[str, str]) -> TrialConfig:
    """The part of ``config.json`` that is the same in every trial of ``study`` (trial 0's)."""
    return TrialConfig(
        study=study.study,
        trial=0,
        seed=study.seed,
        trial_seed=trial_seed(study.seed, 0),
        **study.model_dump(
            include={
                "generator", "gen_args", "gen_kwargs", "runtime", "run_args", "run_kwargs",
                "duration", "metrics", "objective", "trial_timeout", "parameters", "overrides",
            }
        ),
        code_hashes=hashes,
    )


def plan_trial(
    study: StudyConfig,
    number: int,
    trial_dir: Path,
    template: TrialConfig,
    stream: int | None = None,
    fixed: dict[str, NamedValue] | None = None,
) -> TrialPlan:
    """Trial ``number``'s plan. ``stream`` (default: the trial number) picks the random draws;
    ``fixed`` pins values (the optimiser's choices)."""
    return TrialPlan(study, number, trial_dir, template, number if stream is None else stream, fixed)


def finished_result(plan: TrialPlan) -> TrialResult | None:
    """The trial's result if its files are complete and were made from this very config."""
    try:
        result = read_model(plan.dir / RESULT_JSON, TrialResult)
    except (FileNotFoundError, ValueError):
        return None
    if result.input_hash != plan.input_hash:
        return None
    if not all((plan.dir / name).exists() for name in TRIAL_FILES):
        return None
    return result


def table_row(plan: TrialPlan, result: TrialResult) -> TrialRow:
    return TrialRow(
        trial=plan.number,
        status=result.status,
        reason=result.reason,
        values=plain_values(plan.values),
        metrics=result.metrics,
        objective=result.objective,
        wall_time=result.wall_time,
    )


@dataclass(frozen=True)
class UserCode:
    """The study's callables, imported once per process."""

    generator: Callable[..., Any]
    runtime: Callable[..., dict[str, float]]
    metrics: Callable[..., dict[str, float]] | None
    objective: Callable[[dict[str, float]], float] | None

    @classmethod
    def load(cls, study: StudyConfig) -> "UserCode":
        optional = lambda path: codepath.load(path) if path else None  # noqa: E731
        return cls(
            codepath.load(study.generator),
            codepath.load(study.runtime),
            optional(study.metrics),
            optional(study.objective),
        )


def write_inputs(plan: TrialPlan) -> None:
    """Write ``config.json`` and ``named_values.json``: fixed before anything runs."""
    plan.dir.mkdir(parents=True, exist_ok=True)
    write_atomic(plan.dir / CONFIG_JSON, plan.config_json)
    write_named_values(plan.dir / NAMED_VALUES_JSON, plan.values)


def write_placeholder_model(plan: TrialPlan, reason: str) -> None:
    """Every trial folder holds a ``model.xml``; when no model could be built, an empty one that
    says why (it still loads in MuJoCo)."""
    comment = reason.replace("--", "- -")
    write_atomic(plan.dir / MODEL_XML, f"<!-- no model: {comment} -->\n<mujoco model=\"empty\"/>\n")


def record_result(plan: TrialPlan, started: float, status: Status, **fields: Any) -> TrialResult:
    result = TrialResult(
        trial=plan.number,
        status=status,
        wall_time=time.perf_counter() - started,
        input_hash=plan.input_hash,
        **fields,
    )
    write_model(plan.dir / RESULT_JSON, result)
    return result


def record_abnormal_end(plan: TrialPlan, started: float, status: Status, reason: str) -> TrialResult:
    """Record a trial whose process died or was stopped (crash, timeout)."""
    write_inputs(plan)
    if not (plan.dir / MODEL_XML).exists():
        write_placeholder_model(plan, reason)
    for leftover in plan.dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    return record_result(plan, started, status, reason=reason)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _as_metrics(raw: Any) -> dict[str, float | None]:
    if not isinstance(raw, dict):
        raise TypeError(f"the runtime returned {type(raw).__name__}, not a dict of metrics")
    metrics = {}
    for name, value in raw.items():
        value = float(value)
        metrics[str(name)] = value if math.isfinite(value) else None
    return metrics


def build_model(plan: TrialPlan, code: UserCode):
    """Call the generator and compile its model; returns (MjModel, MJCF text)."""
    import mujoco

    built = code.generator(
        plain_values(plan.values), *plan.config.gen_args, **plan.config.gen_kwargs
    )
    if isinstance(built, mujoco.MjSpec):
        model = built.compile()
        return model, built.to_xml()
    if isinstance(built, str):
        return mujoco.MjModel.from_xml_string(built), built
    raise TypeError(f"the generator returned {type(built).__name__}, not a mujoco.MjSpec or MJCF str")


def run_trial(plan: TrialPlan, code: UserCode) -> TrialResult:
    """Build, write and simulate one trial; every outcome becomes a status, never an exception."""
    import mujoco

    from mojo.runtime import TrialContext, TrialFailed, Unstable, check_stable, warning_counts

    started = time.perf_counter()
    write_inputs(plan)
    timings: dict[str, float] = {}
    try:
        model, xml = build_model(plan, code)
    except Exception as exc:
        write_placeholder_model(plan, _one_line(exc))
        return record_result(
            plan, started, "error", reason=f"generator: {_one_line(exc)}", traceback=traceback.format_exc()
        )
    write_atomic(plan.dir / MODEL_XML, xml)
    timings["generate"] = time.perf_counter() - started

    data = mujoco.MjData(model)
    context = TrialContext(
        number=plan.number,
        seed=plan.config.trial_seed,
        values=plain_values(plan.values),
        duration=plan.config.duration,
        metrics=code.metrics,
    )
    status: Status = "success"
    fields: dict[str, Any] = {}
    try:
        metrics = _as_metrics(
            code.runtime(model, data, context, *plan.config.run_args, **plan.config.run_kwargs)
        )
        check_stable(data)
        fields["metrics"] = metrics
        if code.objective is not None:
            fields["objective"] = float(code.objective(metrics))
    except Unstable as exc:
        status, fields["reason"] = "unstable", str(exc)
    except TrialFailed as exc:
        status, fields["reason"] = "failure", str(exc)
    except Exception as exc:
        status, fields["reason"] = "error", _one_line(exc)
        fields["traceback"] = traceback.format_exc()
    timings["simulate"] = time.perf_counter() - started - timings["generate"]
    return record_result(
        plan,
        started,
        status,
        warnings=warning_counts(data),
        sim_time=float(data.time),
        timings=timings,
        **fields,
    )
