"""Running a compiled model: the default runtime and the checks that classify a trial.

A user runtime replaces :func:`simulate` (controllers, custom stop conditions). It is called as
``runtime(model, data, trial, *run_args, **run_kwargs)`` and returns a dict of metrics. To stop at
the first sign of diverging physics, step with :func:`step` (it raises :class:`Unstable`), and
raise :class:`TrialFailed` when a check of your own fails. :func:`step` also takes the samples
of :func:`sample_every` (the study's ``signals``), so a runtime that steps through it records them.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import mujoco
import numpy as np

try:  # MuJoCo 4's batched simulation: a trial's samples recorded in C (see _step_batched)
    import mujoco.batch as _mjbatch
except ImportError:  # older MuJoCo: samples are taken from Python, step by step
    _mjbatch = None

# Warnings that mean the physics diverged; MuJoCo resets the state when it sees them and carries
# on, so without this check a diverged trial would look like a successful one.
INSTABILITY_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQACC,
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
)

STEPS_PER_CHECK = 100
"""Steps between instability checks: rare enough to cost nothing, soon enough to stop at once."""


class TrialFailed(Exception):
    """Raise from a runtime or metrics function when a check of yours fails: status ``failure``."""


class Unstable(Exception):
    """The physics diverged (a MuJoCo instability warning or a non-finite state): status ``unstable``."""


@dataclass(frozen=True)
class TrialContext:
    """What a runtime knows about the trial it runs."""

    number: int
    """Trial number (for optimisation: the evaluation's stream number)."""
    seed: int
    """Seed for randomness of your own (noise, disturbances); reproducible per trial."""
    values: dict[str, Any]
    """The trial's parameter values, by name."""
    duration: float
    """Simulated seconds the study config asks for."""
    metrics: Callable[[mujoco.MjModel, mujoco.MjData], dict[str, float]] | None = None
    """The config's ``metrics`` function, if any."""


def _warn_to_stderr(message: str) -> None:
    print(f"MuJoCo warning: {message}", file=sys.stderr)


# MuJoCo's default handler appends to MUJOCO_LOG.TXT in the working directory; the counts are in
# each trial's result, and the text belongs in the job's log.
mujoco.set_mju_user_warning(_warn_to_stderr)


def warning_counts(data: mujoco.MjData) -> dict[str, int]:
    """MuJoCo warnings raised so far, by name, with how often each was raised."""
    counts = data.warning.number
    return {mujoco.mjtWarning(i).name: int(n) for i, n in enumerate(counts) if n > 0}


_INSTABILITY_INDICES = tuple(int(w) for w in INSTABILITY_WARNINGS)  # plain ints index faster


def _check_warnings(
    data: mujoco.MjData, counts: np.ndarray | None = None, since: float | None = None
) -> None:
    """Raise :class:`Unstable` if MuJoCo flagged divergence; ``since``: the time of the last
    check that passed. (MuJoCo's reset puts ``time`` back to 0: the time now is not when.)"""
    counts = data.warning.number if counts is None else counts
    if any(counts[i] for i in _INSTABILITY_INDICES):
        warning = next(w for w in INSTABILITY_WARNINGS if counts[w])
        when = "" if since is None else f" after t={since:.4g}s"
        raise Unstable(f"{warning.name} (MuJoCo reset the state){when}")


def check_stable(data: mujoco.MjData) -> None:
    """Raise :class:`Unstable` if MuJoCo flagged divergence or the state is not finite."""
    _check_warnings(data)
    if not (np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()):
        raise Unstable(f"non-finite state at t={data.time:.4g}s")


Sample = Callable[[mujoco.MjModel, mujoco.MjData, float], None]


class _Sampler:
    """One :func:`sample_every`: its callbacks, and the steps left until its next sample."""

    def __init__(self, rate: float, callback: Sample, before: Callable | None):
        self.rate = rate
        self.callback = callback
        self.before = before
        # A callback that reads only arrays of ``data`` may take its samples in bulk instead (see
        # _step_batched): ``callback.add_rows`` (None: it cannot), ``callback.fields_before``
        # and ``callback.fields_after``, the arrays it reads before and after a sample's step.
        self.add_rows = getattr(callback, "add_rows", None)
        self.every = 0  # steps between samples: known at the first step (the model's timestep)
        self.wait = 0  # steps before the next sample's step: 0, the next step starts at a sample

    def start(self, model: mujoco.MjModel) -> None:
        if not self.every:
            self.every = steps_per_sample(self.rate, model.opt.timestep)


def steps_per_sample(rate: float, timestep: float) -> int:
    """Steps between the samples of :func:`sample_every` at ``rate`` (at least one)."""
    return max(1, round(1 / (rate * timestep)))


_samplers: list[_Sampler] = []
"""The active :func:`sample_every` contexts; empty, :func:`step` takes its fast path."""


@contextmanager
def sample_every(
    rate: float, callback: Sample, before: Callable[[mujoco.MjModel, mujoco.MjData], None] | None = None
) -> Iterator[None]:
    """While active, :func:`step` calls ``callback(model, data, t)`` for ``t`` = t0, t0 + 1/rate,
    ... in simulated time (t0: ``data.time`` when the first step starts).

    No extra MuJoCo pass: the step that starts at ``t`` computes the derived quantities
    (``xpos``, ``xquat``, ``sensordata``, contacts, ...) for the state at ``t``, so ``callback``
    runs just after that one step and reads them there (with the RK4 integrator they are those of
    its last stage). By then ``qpos``, ``qvel``, ``act`` and ``time`` have moved one step on: what
    you need of them at ``t``, copy in ``before(model, data)``, called just before that step
    (``ctrl`` is what that step applied). Read ``data``, never write it.

    Samples are taken every ``round(1 / (rate * timestep))`` steps (at least one): ``t`` is the
    true simulated time, so a rate that is not a whole number of steps is kept only to that
    rounding. No sample is taken at the end time (no step starts there). Contexts nest, each at
    its own rate. Costs nothing when none is active; otherwise a few microseconds per sample, or
    a fraction of one where :func:`step` records in C (a study's signals without user functions,
    one context, runs of :data:`STEPS_PER_CHECK` steps or more: see ``_step_batched``).
    """
    if not rate > 0:
        raise ValueError(f"sample_every: rate must be a positive number of samples per second, not {rate!r}")
    sampler = _Sampler(rate, callback, before)
    _samplers.append(sampler)
    try:
        yield
    finally:
        _samplers.remove(sampler)


batched_steps: Callable[[mujoco.MjModel, mujoco.MjData, int], bool] | None = None
"""Set by the ``warp`` backend while it runs a batch (:mod:`mojo.trials.warp.runtimes`): takes
the steps of a ``data`` it runs as a world of the batch, returning True (False for any other)."""


def step(model: mujoco.MjModel, data: mujoco.MjData, n_steps: int) -> None:
    """Advance ``n_steps`` steps, checking for divergence every :data:`STEPS_PER_CHECK` steps,
    and taking the samples of the active :func:`sample_every` contexts on the way. On the
    ``warp`` backend, the steps of the trial's ``data`` run with the other trials' on the device."""
    if batched_steps is not None and batched_steps(model, data, n_steps):
        return
    if not _samplers:
        _step_plain(model, data, n_steps, data.warning.number)
    elif len(_samplers) == 1 and _batchable(model, _samplers[0], n_steps):
        _samplers[0].start(model)
        _step_batched(model, data, n_steps, _samplers[0])
    else:
        _step_sampled(model, data, n_steps)


def _step_sampled(model: mujoco.MjModel, data: mujoco.MjData, n_steps: int) -> None:
    """:func:`step` with samples: runs of steps between samples, and each sample's step alone.
    Divergence is checked as often as :func:`step` does, and at the end."""
    counts = data.warning.number
    samplers = list(_samplers)
    for sampler in samplers:
        sampler.start(model)
    if len(samplers) == 1:
        _step_one_sampler(model, data, n_steps, samplers[0], counts)
        return
    unchecked, since = 0, data.time
    while n_steps > 0:
        wait = min([s.wait for s in samplers])
        if wait >= n_steps or wait > STEPS_PER_CHECK:  # no sample soon: plain steps
            chunk = min(n_steps, STEPS_PER_CHECK)
            mujoco.mj_step(model, data, nstep=chunk)
            for sampler in samplers:
                sampler.wait -= chunk
            _check_warnings(data, counts, since)
            n_steps -= chunk
            unchecked, since = 0, data.time
            continue
        if wait:
            mujoco.mj_step(model, data, nstep=wait)
        due = [s for s in samplers if s.wait == wait]
        for sampler in due:
            if sampler.before is not None:
                sampler.before(model, data)
        t = data.time
        mujoco.mj_step(model, data)
        for sampler in samplers:
            sampler.wait -= wait + 1
        for sampler in due:
            sampler.wait = sampler.every - 1
            sampler.callback(model, data, t)
        n_steps -= wait + 1
        unchecked += wait + 1
        if unchecked >= STEPS_PER_CHECK:
            _check_warnings(data, counts, since)
            unchecked, since = 0, data.time
    _check_warnings(data, counts, since)


def _step_one_sampler(
    model: mujoco.MjModel, data: mujoco.MjData, n_steps: int, sampler: _Sampler, counts: np.ndarray
) -> None:
    """:func:`_step_sampled` for one sampler (the usual case): the same steps and samples, with
    less bookkeeping per sample (a trial records a thousand samples or more). Divergence is
    checked where :func:`_step_plain` checks it, so that recording never moves where an
    unstable trial stops."""
    every, before, callback = sampler.every, sampler.before, sampler.callback
    wait = sampler.wait
    while n_steps > 0:
        chunk = left = min(n_steps, STEPS_PER_CHECK)
        since = data.time
        while left > wait:
            if wait:
                mujoco.mj_step(model, data, nstep=wait)
            if before is not None:
                before(model, data)
            t = data.time
            mujoco.mj_step(model, data)
            callback(model, data, t)
            left -= wait + 1
            wait = every - 1
        if left:
            mujoco.mj_step(model, data, nstep=left)
            wait -= left
        _check_warnings(data, counts, since)
        n_steps -= chunk
    sampler.wait = wait


_BATCH_STEPS = 10 * STEPS_PER_CHECK
"""Steps of one rollout of :func:`_step_batched` (a whole number of checks): a rollout that
meets a warning is stepped again from its start, step by step."""
_INTEGRATION = int(mujoco.mjtState.mjSTATE_INTEGRATION)
_TIME = int(mujoco.mjtState.mjSTATE_TIME)
_CALLBACKS = ("act_bias", "act_dyn", "act_gain", "contactfilter", "control", "passive", "sensor", "time")


def callbacks_set() -> dict[str, Any]:
    """MuJoCo's global physics callbacks that are set (``mjcb_control`` and the like), by name:
    they act on every model the process steps."""
    found = {name: getattr(mujoco, f"get_mjcb_{name}")() for name in _CALLBACKS}
    return {name: callback for name, callback in found.items() if callback is not None}


# Sleeping bodies and IPC keep state outside the state vector that a batch loads.
_UNBATCHABLE = int(mujoco.mjtEnableBit.mjENBL_SLEEP) | int(mujoco.mjtEnableBit.mjENBL_IPC) if _mjbatch else 0


def _batchable(model: mujoco.MjModel, sampler: _Sampler, n_steps: int) -> bool:
    """Whether :func:`_step_batched` can take these steps: a callback that takes rows, a run
    worth a batch (about 0.2 ms to make), and nothing a batch cannot run (Python physics
    callbacks, sleeping, IPC)."""
    return (
        _mjbatch is not None
        and sampler.add_rows is not None
        and n_steps >= STEPS_PER_CHECK
        and not model.opt.enableflags & _UNBATCHABLE
        and not callbacks_set()
    )


def _step_batched(model: mujoco.MjModel, data: mujoco.MjData, n_steps: int, sampler: _Sampler) -> None:
    """:func:`_step_one_sampler` in C: each run of :data:`_BATCH_STEPS` steps is one
    ``mujoco.batch`` rollout of a one-simulation batch that loads ``data``'s state and records
    the arrays the sampler reads after every step; the samples' rows are picked from those in
    NumPy and handed to ``sampler.add_rows``. The same ``mj_step`` calls on the same state: the
    same numbers, bit for bit. A rollout stops at any MuJoCo warning (or error); then that run
    is taken again from its start, step by step, by :func:`_step_one_sampler`, which raises
    :class:`Unstable` where the unbatched path does. At the end ``data`` becomes the batch's
    whole ``mjData`` (derived quantities and warning counters included)."""
    every, wait = sampler.every, sampler.wait
    before, after = tuple(sampler.callback.fields_before), tuple(sampler.callback.fields_after)
    batch = _mjbatch.Batch(model, 1, nthread=1, persistent=True)
    # The batch makes an MjData of the model to learn its fields' shapes, unless it has one (that
    # costs more than the batch itself: 0.3 ms for the chain); ``data`` has them.
    batch.__dict__["_data"] = data
    state, warning = batch.state[0], batch.warning[0]
    mujoco.mj_getState(model, data, state, _INTEGRATION)
    warning[:, 0], warning[:, 1] = data.warning.lastinfo, data.warning.number
    # Row i + 1 of a field's buffer: its value after the run's step i; row 0: before the run.
    # A sample at step j reads ``before`` (and its time) in row j, ``after`` in row j + 1.
    chunk = min(n_steps, _BATCH_STEPS)
    buffers = {_TIME: np.empty((chunk + 1, 1))}
    for field in (*before, *after):
        buffers[field] = np.empty((chunk + 1, *getattr(data, field).shape))
    buffers[_TIME][0] = data.time
    for field in before:
        buffers[field][0] = getattr(data, field)
    while n_steps > 0:
        chunk = min(n_steps, _BATCH_STEPS)
        start, warned = state.copy(), warning.copy()
        out = {f: b[1 : chunk + 1].reshape(1, chunk, *b.shape[1:]) for f, b in buffers.items()}
        try:
            batch.rollout(chunk, record=out, out=out)
            failed = not np.array_equal(warning, warned)
        except _mjbatch.SimulationError:  # the step-by-step path raises it as MuJoCo's own error
            failed = True
        if failed:
            mujoco.mj_setState(model, data, start, _INTEGRATION)
            data.warning.lastinfo[:], data.warning.number[:] = warned[:, 0], warned[:, 1]
            sampler.wait = wait
            _step_one_sampler(model, data, n_steps, sampler, data.warning.number)
            return
        if wait < chunk:
            taken = np.arange(wait, chunk, every)
            rows = {f: buffers[f][taken].reshape(len(taken), -1) for f in before}
            rows.update({f: buffers[f][taken + 1].reshape(len(taken), -1) for f in after})
            sampler.add_rows(buffers[_TIME][taken, 0], rows)
            wait = int(taken[-1]) + every
        wait -= chunk
        n_steps -= chunk
        for buffer in buffers.values():
            buffer[0] = buffer[chunk]
    batch.get_data(0, data)
    sampler.wait = wait


def _step_plain(model: mujoco.MjModel, data: mujoco.MjData, n_steps: int, counts: np.ndarray) -> None:
    """``n_steps`` steps, checked every :data:`STEPS_PER_CHECK` steps. ``counts``: the warning
    counters (``data.warning.number``, a view that follows them as MuJoCo updates them)."""
    while n_steps > 0:
        chunk = min(n_steps, STEPS_PER_CHECK)
        since = data.time
        mujoco.mj_step(model, data, nstep=chunk)
        # MuJoCo itself flags non-finite or huge qpos/qvel/qacc as these warnings; the full
        # finiteness check runs once, after the runtime returns.
        _check_warnings(data, counts, since)
        n_steps -= chunk


def start(model: mujoco.MjModel, data: mujoco.MjData) -> None:
    """Put a fresh ``data`` where the default runtime starts a trial: the model's first keyframe,
    if it has one (a fresh MjData is at the model's defaults otherwise)."""
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, 0)


def simulate(model: mujoco.MjModel, data: mujoco.MjData, trial: TrialContext) -> dict[str, float]:
    """The default runtime: start from the model's first keyframe (if it has one), step for
    ``duration`` simulated seconds, then compute the metrics."""
    start(model, data)
    step(model, data, round(trial.duration / model.opt.timestep))
    return trial.metrics(model, data) if trial.metrics else {}
