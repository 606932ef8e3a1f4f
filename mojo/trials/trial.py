"""One trial's lifecycle: plan it (config and values), check whether it is done, run it, record it."""

from __future__ import annotations

import hashlib
import math
import numbers
import random
import resource
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from mojo.config import codepath
from mojo.config.distributions import trial_seed
from mojo.config.signals import signals_spec
from mojo.config.study import StudyConfig
from mojo.trials.files import (
    CONFIG_JSON,
    MODEL_XML,
    NAMED_VALUES_JSON,
    RESULT_JSON,
    SIGNALS_FILE,
    TABLE_COLUMNS,
    TRIAL_FILES,
    NamedValue,
    Status,
    TrialConfig,
    TrialResult,
    TrialRow,
    read_model,
    write_atomic,
    write_model,
    write_named_values,
)
from mojo.trials.integrity import remove_leftovers, unreadable
from mojo.trials.sampling import design_fields, plain_values, sample_parameters

CODE_FIELDS = ("generator", "runtime", "metrics", "objective")


def code_hashes(study: StudyConfig) -> dict[str, str]:
    """Source hash of each code path the study names: a change of content re-makes the trials."""
    return {f: codepath.source_hash(getattr(study, f)) for f in CODE_FIELDS if getattr(study, f)}


@dataclass(frozen=True)
class TrialPlan:
    """A trial before it runs: where it goes, and how its config and values are resolved.

    The config and the values are worked out on first use: for a trial that runs, that is in the
    worker process that runs it (see :mod:`mojo.trials.batch`), so planning a batch costs nothing.
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
    signals_only: bool = False
    """A finished trial run again only to record its signals (see :func:`replay_signals`)."""

    @cached_property
    def config(self) -> TrialConfig:
        seed = trial_seed(self.study.seed, self.stream)
        design = design_fields(self.study) if self.fixed is None else {}  # evaluations: random
        return self.template.model_copy(update={"trial": self.number, "trial_seed": seed, **design})

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
                "generator",
                "gen_args",
                "gen_kwargs",
                "runtime",
                "run_args",
                "run_kwargs",
                "duration",
                "metrics",
                "objective",
                "trial_timeout",
                "trial_memory_mb",
                "parameters",
                "overrides",
                "backend",
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
    """The trial's result if its files are all readable and were made from this very config."""
    try:
        result = read_model(plan.dir / RESULT_JSON, TrialResult)
    except (OSError, ValueError):
        return None
    if result.input_hash != plan.input_hash:
        return None
    if any(unreadable(plan.dir / name) for name in TRIAL_FILES if name != RESULT_JSON):
        return None
    return result


def signals_current(plan: TrialPlan) -> bool:
    """Whether the trial's signals file is readable and recorded for this trial's config and the
    study's signals spec (always, when the study records none). Reads the file's footer only."""
    if plan.study.signals is None:
        return True
    from mojo.signals import file_metadata

    try:
        metadata = file_metadata(plan.dir / SIGNALS_FILE)
    except (OSError, ValueError):  # missing, or not a parquet file (pyarrow's errors are both)
        return False
    return metadata == _signals_metadata(plan)


def _signals_metadata(plan: TrialPlan) -> dict[str, Any]:
    return {"spec": signals_spec(plan.study.signals), "input_hash": plan.input_hash}


def only_signals(plan: TrialPlan) -> TrialPlan:
    """The plan of a finished trial whose signals alone must be recorded again."""
    return replace(plan, signals_only=True)


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
    """Write ``config.json`` and ``named_values.json``: fixed before anything runs. Removes what a
    writer killed in this folder before left (the trial runs again because of it)."""
    plan.dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(plan.dir)
    write_atomic(plan.dir / CONFIG_JSON, plan.config_json)
    write_named_values(plan.dir / NAMED_VALUES_JSON, plan.values)


def write_placeholder_model(plan: TrialPlan, reason: str) -> None:
    """Every trial folder holds a ``model.xml``; when no model could be built, an empty one that
    says why (it still loads in MuJoCo)."""
    comment = reason.replace("--", "- -")
    write_atomic(plan.dir / MODEL_XML, f'<!-- no model: {comment} -->\n<mujoco model="empty"/>\n')


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
    """Record a trial whose process died or was stopped (crash, timeout), with no signals. A
    replay of its signals that did so leaves its other files as they were."""
    if plan.signals_only:
        write_signals_of(plan, None)
        return read_model(plan.dir / RESULT_JSON, TrialResult)
    write_inputs(plan)
    if not (plan.dir / MODEL_XML).exists():
        write_placeholder_model(plan, reason)
    result = record_result(plan, started, status, reason=reason)
    write_signals_of(plan, None)
    return result


def write_signals_of(plan: TrialPlan, recorder: Any) -> None:
    """Write the trial's signals file (when the study records signals): what ``recorder``
    (a :class:`mojo.signals.Recorder`) holds, or no rows when there is none (no model was built,
    or the process died)."""
    if plan.study.signals is None:
        return
    from mojo.signals import write_signals

    time, values, labels = recorder.arrays() if recorder is not None else (np.empty(0), {}, {})
    write_signals(plan.dir / SIGNALS_FILE, time, values, labels, **_signals_metadata(plan))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _as_metrics(raw: Any, parameters: Iterable[str]) -> dict[str, float]:
    """The runtime's metrics as floats (NaN and infinities kept: see :func:`_check_finite`).

    A metric must be a real number (int, float, bool, or a NumPy scalar of one) under a name of
    its own: not one of the table's columns (:data:`TABLE_COLUMNS`) nor a parameter's name, so
    each metric has exactly one column in the tables. Anything else raises, naming the metric:
    the trial's status is ``error``.
    """
    if not isinstance(raw, dict):
        raise TypeError(f"the runtime returned {type(raw).__name__}, not a dict of metrics")
    metrics = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"metric name {name!r} is not a non-empty string")
        if name in TABLE_COLUMNS or name in parameters:
            owner = "the results table's own column" if name in TABLE_COLUMNS else "a parameter's name"
            raise ValueError(
                f"metric '{name}' has {owner}; reserved names: {', '.join(TABLE_COLUMNS)} and the "
                "parameters' names (rename the metric)"
            )
        if not isinstance(value, (numbers.Real, np.bool_)):
            raise TypeError(f"metric '{name}' = {value!r} is a {type(value).__name__}, not a real number")
        metrics[name] = float(value)
    return metrics


def _as_objective(value: Any) -> float:
    """The objective function's value as a float: one real number, not text that reads as one
    (``"0.25"``), nor a bool (a comparison returned by mistake), nor a sequence (mojo optimises
    a single objective)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"the objective returned {value!r}, a {type(value).__name__}: it must return one real "
            "number (mojo optimises a single objective)"
        )
    return float(value)


def _check_finite(named: dict[str, float]) -> None:
    """A NaN or infinite metric or objective fails the trial (status ``failure``), naming each."""
    from mojo.runtime import TrialFailed

    bad = [f"{label} is {value}" for label, value in named.items() if not math.isfinite(value)]
    if bad:
        raise TrialFailed("; ".join(bad))


def seed_global_generators(seed: int) -> None:
    """Seed Python's and NumPy's global generators with the trial's seed before its generator
    and again before its runtime (about 10 µs): code that draws from them unseeded then draws the
    same however the trials are batched, and again when the trial is replayed from its files."""
    random.seed(seed)
    np.random.seed(seed)


def build_model(plan: TrialPlan, code: UserCode):
    """Call the generator and compile its model; returns (MjModel, MJCF text)."""
    return generated_model(code.generator, plan.values, plan.config)


def generated_model(generator: Callable[..., Any], values: dict[str, NamedValue], config: TrialConfig):
    """The trial's model made by ``generator`` from its values and arguments, compiled: (MjModel,
    MJCF text). The only exact record of it: ``model.xml`` holds what MuJoCo writes (numbers to
    six significant digits)."""
    import mujoco

    seed_global_generators(config.trial_seed)
    built = generator(plain_values(values), *config.gen_args, **config.gen_kwargs)
    if isinstance(built, mujoco.MjSpec):
        model = built.compile()
        return model, built.to_xml()
    if isinstance(built, str):
        return mujoco.MjModel.from_xml_string(built), built
    raise TypeError(f"the generator returned {type(built).__name__}, not a mujoco.MjSpec or MJCF str")


class CtrlC:
    """The user's Ctrl-C in a trial worker, which installs :meth:`handle` for SIGINT (see
    :mod:`mojo.trials.batch`). Once pressed, no outcome is recorded and the job stops; without it, a
    KeyboardInterrupt is the trial code's own doing and is recorded as that trial's error."""

    pressed = False

    @classmethod
    def handle(cls, signum: int, frame: Any) -> None:
        if not cls.pressed:  # a second Ctrl-C must not break off the worker's reporting of the first
            cls.pressed = True
            raise KeyboardInterrupt


SUSPECT_ERRORS = (MemoryError, RecursionError)
"""Errors after which a process may be broken (memory still held by a cache, a module half
imported, a C library interrupted halfway): its trial is recorded, but it runs no other."""


class WorkerSuspect(Exception):
    """Raised by :func:`run_trial` after recording a trial that ended in one of
    :data:`SUSPECT_ERRORS`: the caller should run no more trials in this process."""

    def __init__(self, result: TrialResult):
        super().__init__(result.reason)
        self.result = result


class _MemoryLimit:
    """``trial_memory_mb`` around the trial's own code, as ``RLIMIT_DATA`` at ``mb`` more than the
    process holds when the trial starts (not an absolute cap: workers grow as they run trials).

    A limit, not a watcher polling the trial's memory: the allocation that crosses it fails at
    once, as a MemoryError in the trial's traceback, where a poll could let a fast allocation take
    the machine's memory first. It is lifted before the outcome is recorded, so the record can be
    written. Costs, only when set, one read of ``/proc/self/statm`` and a few ``setrlimit`` per
    trial. ``RLIMIT_DATA`` counts private writable memory (heap, arrays, thread stacks), not
    mapped files; a process the trial starts gets the same limit on its own memory.
    """

    def __init__(self, mb: float | None):
        self.limit = None if mb is None else _data_bytes() + int(mb * 2**20)

    def __enter__(self) -> None:
        if self.limit is not None:
            self.saved = resource.getrlimit(resource.RLIMIT_DATA)
            hard = self.saved[1]
            soft = self.limit if hard == resource.RLIM_INFINITY else min(self.limit, hard)
            resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))

    def __exit__(self, *exc_info: Any) -> None:
        if self.limit is not None:
            resource.setrlimit(resource.RLIMIT_DATA, self.saved)


def _data_bytes() -> int:
    """The process's data and stack memory: what ``RLIMIT_DATA`` is checked against (Linux)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[5]) * resource.getpagesize()


def _error_reason(exc: BaseException, memory_mb: float | None) -> str:
    """One line saying why trial code ended in ``exc``. After the user's Ctrl-C, raises
    KeyboardInterrupt instead: that trial is not recorded (see :class:`CtrlC`)."""
    if CtrlC.pressed:
        raise KeyboardInterrupt from exc
    if isinstance(exc, SystemExit):
        return f"the trial called sys.exit({exc.code!r})"
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt raised by the trial code (not a Ctrl-C)"
    if isinstance(exc, MemoryError) and memory_mb is not None:
        return f"MemoryError: the trial exceeded trial_memory_mb = {memory_mb:g} MB"
    return _one_line(exc)


def _unless_suspect(result: TrialResult, error: BaseException | None) -> TrialResult:
    if isinstance(error, SUSPECT_ERRORS):
        raise WorkerSuspect(result)
    return result


def generate(
    plan: TrialPlan, code: UserCode, limit: Any = None
) -> tuple[Any, tuple[TrialResult, BaseException] | None]:
    """Write the trial's inputs, build its model and write its ``model.xml``: ``(model, None)``.
    If the generator fails, record that (status ``error``, a placeholder model) and return
    ``(None, (result, error))``."""
    started = time.perf_counter()
    write_inputs(plan)
    try:
        with limit or nullcontext():
            model, xml = build_model(plan, code)
    except BaseException as exc:
        why = _error_reason(exc, plan.config.trial_memory_mb)
        write_placeholder_model(plan, why)
        result = record_result(
            plan, started, "error", reason=f"generator: {why}", traceback=traceback.format_exc()
        )
        return None, (result, exc)
    write_atomic(plan.dir / MODEL_XML, xml)
    return model, None


def run_trial(plan: TrialPlan, code: UserCode) -> TrialResult:
    """Build, write and simulate one trial; every outcome becomes a status, recorded in the
    trial's files. Raises only after a user's Ctrl-C (KeyboardInterrupt, nothing recorded) or
    after recording an outcome that leaves the process suspect (:class:`WorkerSuspect`)."""
    import mujoco

    if plan.signals_only:
        return replay_signals(plan, code)
    started = time.perf_counter()
    limit = _MemoryLimit(plan.config.trial_memory_mb)
    model, failed = generate(plan, code, limit)
    if failed is not None:
        write_signals_of(plan, None)
        return _unless_suspect(*failed)
    timings = {"generate": time.perf_counter() - started}

    data = mujoco.MjData(model)
    recorder = None

    def run() -> Any:
        nonlocal recorder
        recorder = _recorder(plan, model)
        with _recording(recorder):
            return call_runtime(plan, code, model, data)

    result, error = record_outcome(plan, code, data, run, started, timings, limit)
    write_signals_of(plan, recorder)
    return _unless_suspect(result, error)


def record_outcome(
    plan: TrialPlan,
    code: UserCode,
    data: Any,
    run: Callable[[], Any],
    started: float,
    timings: dict[str, float],
    limit: Any = None,
) -> tuple[TrialResult, BaseException | None]:
    """Call ``run()`` (it simulates ``data`` and returns the runtime's metrics), score it, and
    record the trial's result with its status: ``unstable``, ``failure`` or ``error`` for what
    ``run``, the metrics or the objective raised. Returns the result, and the error that may have
    left the process suspect. ``limit``: the trial's :class:`_MemoryLimit`, around the trial's
    own code."""
    from mojo.runtime import TrialFailed, Unstable, check_stable, warning_counts

    status: Status = "success"
    fields: dict[str, Any] = {}
    error: BaseException | None = None
    memory_mb = plan.config.trial_memory_mb
    try:
        with limit or nullcontext():
            metrics = _as_metrics(run(), plan.values)
            check_stable(data)
            fields["metrics"] = {n: v if math.isfinite(v) else None for n, v in metrics.items()}
            _check_finite({f"metric {n}": v for n, v in metrics.items()})
            if code.objective is not None:
                objective = _as_objective(code.objective(metrics))
                _check_finite({"objective": objective})
                fields["objective"] = objective
    except Unstable as exc:
        status, fields["reason"] = "unstable", str(exc)
    except TrialFailed as exc:
        status, fields["reason"] = "failure", str(exc)
    except BaseException as exc:
        status, fields["reason"], error = "error", _error_reason(exc, memory_mb), exc
        fields["traceback"] = traceback.format_exc()
    timings["simulate"] = time.perf_counter() - started - timings.get("generate", 0.0)
    result = record_result(
        plan,
        started,
        status,
        warnings=warning_counts(data),
        sim_time=float(data.time),
        timings=timings,
        **fields,
    )
    return result, error


def call_runtime(plan: TrialPlan, code: UserCode, model: Any, data: Any) -> Any:
    """Call the study's runtime on the trial's model: what it returns."""
    from mojo.runtime import TrialContext

    context = TrialContext(
        number=plan.number,
        seed=plan.config.trial_seed,
        values=plain_values(plan.values),
        duration=plan.config.duration,
        metrics=code.metrics,
    )
    seed_global_generators(plan.config.trial_seed)
    return code.runtime(model, data, context, *plan.config.run_args, **plan.config.run_kwargs)


def _recorder(plan: TrialPlan, model: Any) -> Any:
    """A :class:`mojo.signals.Recorder` of the study's signals for ``model``, or None."""
    if plan.study.signals is None:
        return None
    from mojo.signals import Recorder

    return Recorder(plan.study.signals, model)


def _recording(recorder: Any) -> Any:
    """The context that records ``recorder``'s samples while the runtime steps (if any)."""
    from mojo.runtime import sample_every

    return nullcontext() if recorder is None else sample_every(recorder.rate, recorder, recorder.before)


def replay_signals(plan: TrialPlan, code: UserCode) -> TrialResult:
    """Run a finished trial again to record its signals, writing nothing but its signals file:
    the same config, values and seed give the same simulation. Its outcome is the one already
    recorded; whatever stops the replay keeps the samples taken until then."""
    import mujoco

    result = read_model(plan.dir / RESULT_JSON, TrialResult)
    recorder, error = None, None
    try:
        with _MemoryLimit(plan.config.trial_memory_mb):
            model, _ = build_model(plan, code)
            recorder = _recorder(plan, model)
            with _recording(recorder):
                call_runtime(plan, code, model, mujoco.MjData(model))
    except BaseException as exc:
        _error_reason(exc, None)  # raises after the user's Ctrl-C
        error = exc
    write_signals_of(plan, recorder)
    return _unless_suspect(result, error)
