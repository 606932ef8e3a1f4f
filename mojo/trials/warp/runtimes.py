"""A runtime of the user's own on the warp backend: each trial's runtime in a thread of its own,
its calls to :func:`mojo.runtime.step` gathered into steps of the whole batch.

A runtime is ordinary Python that may call ``step`` anywhere in its code, so to step the worlds
together each world's runtime must wait inside ``step`` until every other one has asked for its
steps or returned. Threads give each runtime that place to wait; only one of them runs at a time,
handed over explicitly like coroutines, so trial code never runs at the same time as other trial
code, and a batch is as reproducible as one trial after another.

A round: each runtime runs until it asks for steps or returns. The worlds are loaded from their
trials' MjData (state, controls, applied forces, mocap bodies: :data:`simulate.INPUT_FIELDS`),
all step the fewest steps asked less one, and the state comes back to each MjData (``time``
counted on the CPU, in float64). A world whose request is then one step from done takes that
step on the CPU, so ``data`` holds what ``mj_step`` leaves there, and its runtime carries on; the
others go on next round. A world that diverged gets :class:`mojo.runtime.Unstable` from its call
to ``step``, as on the CPU.

Costs: a thread per world (at most :data:`MAX_THREAD_WORLDS` per batch), a hand-over (tens of
microseconds) per world per call to ``step`` and a CPU step per call. So it pays for runtimes that
step in long stretches (set a controller or a disturbance, step a second, look), and gains nothing
for one that steps one step at a time. What the device does not see: other writes to ``data``
and any change to ``model`` (they apply to the CPU's steps only), and module globals are shared by
the trials of a batch (keep per-trial state in local variables). A call of ``mj_step`` runs on the
CPU, as always.
"""

from __future__ import annotations

import operator
import threading
import time
from typing import Any, Callable

import mujoco
import numpy as np

from mojo import runtime
from mojo.trials.files import TrialRow
from mojo.trials.trial import TrialPlan, UserCode, call_runtime, record_outcome, table_row
from mojo.trials.warp import simulate
from mojo.trials.warp.simulate import UNSTABLE

MAX_THREAD_WORLDS = 4096
"""Most worlds in one batch of a runtime of the user's own: one thread each."""

_current = threading.local()  # the world whose runtime this thread runs


class _World(threading.Thread):
    """One trial: its runtime in this thread, paused in each call to ``step`` until its steps
    are taken."""

    def __init__(self, plan: TrialPlan, code: UserCode, model: Any, generating: float):
        super().__init__(daemon=True)
        self.plan, self.code, self.model = plan, code, model
        self.data = mujoco.MjData(model)
        self.started = time.perf_counter() - generating
        self.generating = generating
        self.asked = 0
        """Steps this world's runtime waits for (0: it runs, or it returned)."""
        self.problem: BaseException | None = None
        """What its call to ``step`` raises when it resumes."""
        self.row: TrialRow | None = None
        self._go, self._back = threading.Semaphore(0), threading.Semaphore(0)

    def run(self) -> None:
        _current.world = self
        self._go.acquire()
        try:
            call = lambda: call_runtime(self.plan, self.code, self.model, self.data)  # noqa: E731
            result, _ = record_outcome(
                self.plan, self.code, self.data, call, self.started, {"generate": self.generating}
            )
            self.row = table_row(self.plan, result)
        finally:
            self._back.release()

    def take_steps(self, n_steps: int) -> None:
        """In this world's thread: wait until ``n_steps`` steps are taken."""
        self.asked = n_steps
        self._back.release()
        self._go.acquire()
        problem, self.problem = self.problem, None
        if problem is not None:
            raise problem

    def resume(self) -> None:
        """Let the runtime run until it asks for steps or returns."""
        self._go.release()
        self._back.acquire()


def _take_steps(model: mujoco.MjModel, data: mujoco.MjData, n_steps: int) -> bool:
    """:data:`mojo.runtime.batched_steps` while a batch runs."""
    world = getattr(_current, "world", None)
    if world is None or data is not world.data:
        return False
    n_steps = operator.index(n_steps)  # a whole number, as mj_step takes: else this trial's TypeError
    if n_steps > 0:
        world.take_steps(n_steps)
    return True


def run_worlds(
    plans: list[TrialPlan],
    code: UserCode,
    models: list[mujoco.MjModel],
    generating: list[float],
    worlds: simulate.Worlds,
    send: Callable[[int, TrialRow], None],
) -> None:
    """Run the trials of ``plans`` (their models, and the seconds each took to make) as the
    worlds of ``worlds``, calling ``send(i, row)`` as trial ``i`` is recorded."""
    batch = [_World(p, code, m, s) for p, m, s in zip(plans, models, generating)]
    runtime.batched_steps = _take_steps
    try:
        for world in batch:
            world.start()
            world.resume()
        while any(w.asked for w in batch):
            _round(batch, worlds)
    finally:
        runtime.batched_steps = None
    for i, world in enumerate(batch):
        world.join()
        send(i, world.row)


def _round(batch: list[_World], worlds: simulate.Worlds) -> None:
    """Step every world the fewest steps asked less one; resume those whose steps are done."""
    callbacks = runtime.callbacks_set()  # global: once a round, not once a call of step
    if callbacks:  # the device would step without them: results the CPU would not give
        names = ", ".join(f"mjcb_{name}" for name in callbacks)
        refusal = f"MuJoCo Warp cannot call MuJoCo's Python callbacks ({names} is set): use backend: cpu"
        for world in (w for w in batch if w.asked):
            world.asked, world.problem = 0, simulate.DeviceError(refusal)
            world.resume()
        return
    n = min(w.asked for w in batch if w.asked) - 1
    loaded = {name: np.stack([getattr(w.data, name) for w in batch]) for name in simulate.INPUT_FIELDS}
    loaded_time = np.array([w.data.time for w in batch])
    worlds.load(loaded | {"time": loaded_time})
    ends = loaded_time.copy()
    diverged, _ = worlds.run(n, loaded["qpos"], ends)
    overflows = worlds.overflows() if n else [None] * len(batch)
    state = worlds.state() if n else {}
    for i, world in enumerate(batch):
        if not world.asked:
            continue
        if not np.isnan(diverged[i]) or overflows[i]:
            world.asked = 0
            if overflows[i]:  # sticky on the device: this world's later steps would miss contacts too
                world.problem = simulate.DeviceError(simulate.out_of_room(overflows[i], worlds.room))
            else:
                world.data.time = diverged[i]
                _count_divergence(world.data)
                world.problem = runtime.Unstable(f"{UNSTABLE}{diverged[i]:.4g}s")
            world.resume()
            continue
        simulate.put_state(world.data, {name: rows[i] for name, rows in state.items()} | {"time": ends[i]})
        world.asked -= n
        if world.asked == 1:
            world.asked = 0
            try:
                runtime.step(world.model, world.data, 1)  # the last step, on the CPU
            except runtime.Unstable as unstable:
                world.problem = unstable
            world.resume()


def _count_divergence(data: mujoco.MjData) -> None:
    """Count a divergence on the device in ``data``'s warnings, as MuJoCo counts one on the CPU:
    a runtime that catches :class:`mojo.runtime.Unstable` and returns metrics anyway is then still
    recorded ``unstable`` (``check_stable`` reads the counters), as on the CPU backend."""
    data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number += 1
