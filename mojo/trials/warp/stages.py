"""The warp backend's stages on the CPU, run by its pool's workers: *compile* each trial's model
and *finish* each trial after its steps on the device (its last step, metrics and result).

The batch's plans and code are set here (:func:`set_batch`) in the warp process before its pool
forks, so the workers inherit them instead of receiving them with every task; the group's
reference model travels as a file, loaded once per worker.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from mojo.trials.files import RESULT_JSON, TrialResult, TrialRow, read_model
from mojo.trials.trial import (
    TrialPlan,
    UserCode,
    build_model,
    generate,
    record_abnormal_end,
    record_outcome,
    table_row,
    write_signals_of,
)
from mojo.trials.warp import models, simulate

_plans: list[TrialPlan] = []
_code: UserCode | None = None


def set_batch(plans: list[TrialPlan], code: UserCode) -> None:
    global _plans, _code
    _plans, _code = plans, code


def plan(index: int) -> TrialPlan:
    return _plans[index]


def code() -> UserCode:
    return _code


def recorded_row(index: int) -> TrialRow:
    """The table row of trial ``index`` as its ``result.json`` has it."""
    return table_row(_plans[index], read_model(_plans[index].dir / RESULT_JSON, TrialResult))


def compile_trial(index: int) -> models.Compiled:
    """Build and write trial ``index``, reduced to what the batch needs (its generator's failure:
    recorded, and a :class:`models.Compiled` without a structure key). A finished trial run again
    for its signals only is built, not written."""
    started = time.perf_counter()
    plan = _plans[index]
    if plan.signals_only:
        try:
            model, _ = build_model(plan, _code)
        except Exception:  # it ran before: what changed is recorded where its signals were
            write_signals_of(plan, None)
            return models.Compiled(index, time.perf_counter() - started)
    else:
        model, failed = generate(plan, _code)
        if failed is not None:
            return models.Compiled(index, time.perf_counter() - started)
    return models.reduce_model(index, model, plan.config.duration, time.perf_counter() - started)


def sampling(model: mujoco.MjModel) -> simulate.Sampling | None:
    """What the device samples of the study's signals in ``model``'s structure (None: no signals)."""
    spec = _plans[0].study.signals
    if spec is None:
        return None
    from mojo.runtime import steps_per_sample
    from mojo.signals import Recorder

    recorder = Recorder(spec, model)
    every = steps_per_sample(spec.rate, model.opt.timestep)
    return simulate.Sampling(every, tuple(recorder.fields_before), tuple(recorder.fields_after))


def compile_crashed(index: int, why: str) -> models.Compiled:
    """Record trial ``index``, whose generator killed its process."""
    record_abnormal_end(_plans[index], time.perf_counter(), "error", f"generator: {why}")
    return models.Compiled(index, 0.0)


@dataclass
class FinishTask:
    """One trial after its steps on the device."""

    index: int
    reference: Path
    """The pickled reference model of its group."""
    diffs: dict[str, np.ndarray]
    state: dict[str, np.ndarray]
    """Where its world is, ``time`` included: after all but its last step, or where it stopped."""
    problem: tuple[str, str] | None
    """``(status, reason)`` when the device could not simulate it (``unstable``, ``error``)."""
    generating: float
    stepping: float
    """Seconds its compile and its share of the device's time took."""
    n_steps: int
    samples: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
    """The samples of its signals taken on the device (times, rows by array), if it records any."""


@lru_cache(maxsize=4)
def _reference(path: Path) -> mujoco.MjModel:
    return pickle.loads(path.read_bytes())


@lru_cache(maxsize=4)
def _data(path: Path) -> mujoco.MjData:
    """An MjData for the trials of the group whose reference is at ``path`` (it fits them all;
    allocating one per trial cost more than the rest of the stage)."""
    return mujoco.MjData(_reference(path))


def finish_trial(task: FinishTask) -> tuple[int, TrialRow]:
    """Take the trial's last step on the CPU (and its sample, if a sample falls on it), compute
    its metrics and objective and record it, with its signals."""
    from mojo.runtime import Unstable

    plan = _plans[task.index]
    started = time.perf_counter() - task.generating - task.stepping
    model = models.trial_model(_reference(task.reference), task.diffs)
    data = _data(task.reference)
    mujoco.mj_resetData(model, data)
    simulate.put_state(data, task.state)
    recorder = _recorder(plan, model, task.samples)

    def run() -> dict[str, float]:
        if task.problem is not None:
            status, reason = task.problem
            raise (Unstable if status == "unstable" else simulate.DeviceError)(reason)
        if task.n_steps:
            _last_step(model, data, recorder, task.n_steps)
        return _code.metrics(model, data) if _code.metrics and not plan.signals_only else {}

    if plan.signals_only:  # its outcome is recorded: whatever stops the replay keeps the samples
        with contextlib.suppress(Exception):
            run()
        write_signals_of(plan, recorder)
        return task.index, recorded_row(task.index)
    result, _ = record_outcome(plan, _code, data, run, started, {"generate": task.generating})
    write_signals_of(plan, recorder)
    return task.index, table_row(plan, result)


def _recorder(plan: TrialPlan, model: mujoco.MjModel, samples) -> Any:
    """The trial's :class:`mojo.signals.Recorder` holding its samples from the device, if the
    study records signals."""
    if plan.study.signals is None:
        return None
    from mojo.signals import Recorder

    recorder = Recorder(plan.study.signals, model)
    if samples is not None and len(samples[0]):
        recorder.add_rows(*samples)
    return recorder


def _last_step(model: mujoco.MjModel, data: mujoco.MjData, recorder: Any, n_steps: int) -> None:
    """The trial's last step, on the CPU (see mojo.trials.warp.simulate), with its sample if a
    sample falls on it."""
    from mojo.runtime import steps_per_sample

    if recorder is None or (n_steps - 1) % steps_per_sample(recorder.rate, model.opt.timestep):
        mujoco.mj_step(model, data)
        return
    recorder.before(model, data)
    t = data.time
    mujoco.mj_step(model, data)
    recorder(model, data, t)


def finish_crashed(task: FinishTask, why: str) -> tuple[int, TrialRow]:
    """Record the trial whose metrics or objective killed its process."""
    plan = _plans[task.index]
    reason = f"metrics or objective: {why}"
    return task.index, table_row(plan, record_abnormal_end(plan, time.perf_counter(), "error", reason))
