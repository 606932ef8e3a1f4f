"""Stepping one group of trials (one structure) as one batch of MuJoCo Warp worlds.

The group's reference model goes to the device once, with the fields that differ between its
trials stacked one row per world (MuJoCo Warp's batched model fields); every world starts from its
own trial's state. All worlds step together for all but the last step: the last one runs on the
CPU, in float64, from the world's state copied back, so that ``data`` holds what the CPU
backend's runtime leaves there (positions and sensors of the last step's start, as after
``mj_step``) and user metrics run unchanged (:mod:`mojo.trials.warp`).

Divergence is checked every :data:`mojo.runtime.STEPS_PER_CHECK` steps, per world: a world whose
state or acceleration is not finite or beyond MuJoCo's own bound (``mjMAXVAL``, where MuJoCo
flags ``mjWARN_BADQPOS`` and the like) is recorded as diverged at that time and put back to its
start, so it cannot slow or disturb the others. On a GPU a step runs as a captured CUDA graph.
Costs one copy of qpos, qvel and qacc to the host per check, and of the arrays the study's
signals read per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from mojo.runtime import STEPS_PER_CHECK
from mojo.trials.warp.models import STATE_FIELDS

MAX_VALUE = 1e10
"""MuJoCo's ``mjMAXVAL``: a qpos, qvel or qacc beyond it means the physics diverged."""

UNSTABLE = "MuJoCo Warp: the state diverged (not finite, or beyond 1e10) by t="
"""A diverged world's reason, before its time."""

ROOM_TRIES = 4
"""Batches tried with twice the room for contacts and constraints, when a world runs out."""

MAX_WORLDS = 65536
"""Most worlds in one batch on a GPU, whatever its memory (``worlds_per_batch``'s default)."""
CPU_WORLDS = 256
"""Worlds in one batch on Warp's CPU device (``worlds_per_batch``'s default there): it steps them
one after another, so a bigger batch gains nothing."""
MEMORY_SHARE = 0.5
"""Share of the device's free memory a batch may take (the rest: Warp's own, other jobs)."""
SAMPLES_BYTES = 2**31
"""Most host memory the samples of a batch's signals may take (float32 until each trial's are
written): a batch that would take more is made smaller."""


class DeviceError(Exception):
    """What the device could not do for a trial (its status: ``error``)."""


def out_of_room(flags: str, room: tuple[int, int]) -> str:
    """A trial's reason when MuJoCo Warp ran out of room for it (``flags``: the overflows) with
    ``room`` for contacts and constraints per world."""
    return (
        f"MuJoCo Warp ran out of room ({flags} overflow) with room for {room[0]} contacts and "
        f"{room[1]} constraints per world: some were dropped (use backend: cpu)"
    )


@dataclass
class Outcome:
    """Where the group's worlds are after all but the last step."""

    state: dict[str, np.ndarray]
    """Each state field (:data:`STATE_FIELDS`, ``qacc_warmstart``), one row per world, float64."""
    diverged: np.ndarray
    """Simulated time at which each world diverged; NaN for those that did not."""
    refused: str | None = None
    """Why the device could not simulate the worlds at all, if it could not."""
    overflows: list[str | None] | None = None
    """Per world, the reason it ran out of room (:func:`out_of_room`), if any did."""
    times: np.ndarray | None = None
    """Each world's time after the steps, counted in float64 as on the CPU."""
    samples: Samples | None = None
    """The samples of the study's signals taken on the device, if it records any."""

    @classmethod
    def refusal(cls, start: dict[str, np.ndarray], reason: str) -> "Outcome":
        """The worlds left at their start, because the device could not simulate them."""
        state = start | {"qacc_warmstart": np.zeros_like(start["qpos"])}
        n_worlds = len(start["qpos"])
        return cls(state, np.full(n_worlds, np.nan), f"{reason}: use backend: cpu", times=start["time"])


def device():
    """The device the batches run on: the first GPU, else Warp's CPU device."""
    import warp as wp

    return wp.get_preferred_device()


def worlds_per_batch(model: mujoco.MjModel, asked: int | None) -> int:
    """``asked``, or as many worlds of ``model`` as :data:`MEMORY_SHARE` of the device's free
    memory holds (at most :data:`MAX_WORLDS`; :data:`CPU_WORLDS` on the CPU)."""
    if asked:
        return asked
    target = device()
    if target.is_cpu:
        return CPU_WORLDS
    import mujoco_warp as mjw

    probe = mjw.make_data(model, nworld=2)
    per_world = sum(a.capacity for a in _arrays(probe)) / 2 + model.nbytes
    return int(max(1, min(MAX_WORLDS, MEMORY_SHARE * target.free_memory // per_world)))


def _arrays(obj) -> list:
    import warp as wp

    found = []
    for value in vars(obj).values():
        if isinstance(value, wp.array):
            found.append(value)
        elif hasattr(value, "__dataclass_fields__"):
            found.extend(_arrays(value))
    return found


INPUT_FIELDS = (*STATE_FIELDS, "qacc_warmstart", "qfrc_applied", "xfrc_applied")
"""What a world takes from its trial's MjData when it is loaded (with ``time``): its state, and
what a runtime may set between steps (controls, applied forces, mocap bodies)."""
OUTPUT_FIELDS = (*STATE_FIELDS, "qacc_warmstart")
"""What a world gives back to its trial's MjData after its steps (the CPU counts ``time``)."""


def put_state(data: mujoco.MjData, state: dict[str, np.ndarray]) -> None:
    """Write one world's state (some of :data:`INPUT_FIELDS`, and ``time``) into its MjData."""
    for name, value in state.items():
        if name == "time":
            data.time = value
        else:
            getattr(data, name)[...] = value


class Worlds:
    """A batch of worlds of one structure on the device: the group's reference model with
    ``fields`` (the per-world fields that differ in the batch, one row per world). ``room``:
    contacts and constraints per world, ``(nconmax, njmax)``; MuJoCo Warp's guess by default."""

    def __init__(
        self,
        reference: mujoco.MjModel,
        fields: dict[str, np.ndarray],
        n_worlds: int,
        room: tuple[int, int] | None = None,
    ):
        import mujoco_warp as mjw
        import warp as wp

        self.device = device()
        nconmax, njmax = room or (None, None)
        with wp.ScopedDevice(self.device):
            self.model = mjw.put_model(reference, batch_sizes={name: n_worlds for name in fields})
            for name, rows in fields.items():
                _assign(getattr(self.model, name), rows)
            self.data = mjw.put_data(
                reference, mujoco.MjData(reference), nworld=n_worlds, nconmax=nconmax, njmax=njmax
            )
        self.n_worlds = n_worlds
        self.timestep = reference.opt.timestep
        self.room = (max(1, self.data.naconmax // n_worlds), self.data.njmax)
        self._run = _Runner(self.model, self.data, self.device.is_cuda)

    def load(self, state: dict[str, np.ndarray]) -> None:
        """Set every world's fields named in ``state`` (one row per world)."""
        import warp as wp

        with wp.ScopedDevice(self.device):
            for name, rows in state.items():
                _assign(getattr(self.data, name), rows)

    def run(
        self, n_steps: int, start_qpos: np.ndarray, times: np.ndarray, sampling: Sampling | None = None
    ) -> tuple[np.ndarray, Samples | None]:
        """Step every world ``n_steps`` times, checking for divergence every
        :data:`STEPS_PER_CHECK` steps (a world that diverged goes back to ``start_qpos``, at rest)
        and taking the samples of ``sampling`` on the way; ``times`` (each world's, float64)
        follows the steps. Returns the simulated time at which each world diverged (NaN: it did
        not), and the samples."""
        import warp as wp

        diverged = np.full(self.n_worlds, np.nan)
        samples = None if sampling is None else Samples(sampling)
        done = 0
        with wp.ScopedDevice(self.device):
            while done < n_steps:
                if samples is not None and done % sampling.every == 0:
                    samples.take(self.data, sampling.before, times)
                    self._advance(1, times)
                    samples.take(self.data, sampling.after)
                    done += 1
                else:
                    stop = min(
                        n_steps,
                        _next(done, STEPS_PER_CHECK),
                        _next(done, sampling.every) if sampling else n_steps,
                    )
                    self._advance(stop - done, times)
                    done = stop
                if done % STEPS_PER_CHECK == 0 or done == n_steps:
                    _check(self.data, start_qpos, diverged, times)
        return diverged, samples

    def _advance(self, n_steps: int, times: np.ndarray) -> None:
        self._run(n_steps)
        for _ in range(n_steps):  # in float64, one step at a time, as mj_step counts it
            times += self.timestep

    def state(self) -> dict[str, np.ndarray]:
        """Every world's :data:`OUTPUT_FIELDS`, float64."""
        return {name: getattr(self.data, name).numpy().astype(float) for name in OUTPUT_FIELDS}

    def overflows(self) -> list[str | None]:
        """Per world, what MuJoCo Warp ran out of room for since the batch began (contacts,
        constraints: the world's results miss some), or None."""
        from mujoco_warp import OverflowType

        flags = self.data.overflow.numpy() & ~(OverflowType.ITERATIONS | OverflowType.LS_ITERATIONS)
        return [OverflowType(int(f)).name.replace("|", ", ") if f else None for f in flags]

    def out_of_room(self) -> bool:
        """Whether a world ran out of contacts or constraints (a batch with :meth:`more_room`
        would not)."""
        from mujoco_warp import OverflowType

        room = OverflowType.NEFC | OverflowType.NJMAX_NNZ | OverflowType.BROADPHASE | OverflowType.NARROWPHASE
        return bool((self.data.overflow.numpy() & (room | OverflowType.CCD)).any())

    def more_room(self) -> tuple[int, int]:
        """Twice this batch's room for contacts and constraints per world."""
        return 2 * self.room[0], 2 * self.room[1]


class _Runner:
    """Runs ``n`` steps of all worlds: on a GPU, one step captured once as a CUDA graph (after a
    first step taken directly, which loads the kernels) and launched ``n`` times."""

    def __init__(self, model, data, capture: bool):
        import mujoco_warp as mjw
        import warp as wp

        self.step = lambda: mjw.step(model, data)
        self.capture = capture
        self.graph = None
        self.wp = wp

    def __call__(self, n: int) -> None:
        if self.capture and self.graph is None and n:
            self.step()
            n -= 1
            with self.wp.ScopedCapture() as capture:
                self.step()
            self.graph = capture.graph
        for _ in range(n):
            if self.graph is None:
                self.step()
            else:
                self.wp.capture_launch(self.graph)


def _next(step: int, every: int) -> int:
    """The first multiple of ``every`` after ``step``."""
    return (step // every + 1) * every


@dataclass(frozen=True)
class Sampling:
    """Which steps take a sample of the study's signals, and what they read."""

    every: int
    """Steps between samples: a sample is taken at each step whose number is a multiple."""
    before: tuple[str, ...]
    """Arrays of the data read just before a sample's step (the state it changes)."""
    after: tuple[str, ...]
    """Arrays read just after it (the quantities it computed for the sample's time)."""

    def worlds(self, model: mujoco.MjModel, n_steps: int) -> int:
        """How many worlds' samples of ``n_steps`` steps fit in :data:`SAMPLES_BYTES`."""
        data = mujoco.MjData(model)
        per_sample = sum(getattr(data, name).size for name in (*self.before, *self.after)) + 1
        return max(1, SAMPLES_BYTES // (4 * per_sample * (n_steps // self.every + 1)))


class Samples:
    """The samples of every world: per sample, each world's time and its rows of the arrays read
    (float32, as on the device)."""

    def __init__(self, sampling: Sampling):
        self.times: list[np.ndarray] = []
        self.rows: dict[str, list[np.ndarray]] = {s: [] for s in (*sampling.before, *sampling.after)}

    def take(self, data, sources: tuple[str, ...], times: np.ndarray | None = None) -> None:
        if times is not None:
            self.times.append(times.copy())
        for source in sources:  # a copy: on Warp's CPU device, numpy() is a view of the array
            array = getattr(data, source).numpy()
            self.rows[source].append(array.reshape(len(array), -1).copy())

    def of_world(self, i: int, before: float = np.inf) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """World ``i``'s samples taken before time ``before``: times, and rows by array."""
        if isinstance(self.times, list):  # stacked once: sample x world (x array)
            self.times = np.array(self.times).reshape(-1, len(self.times[0]) if self.times else 0)
            self.rows = {s: np.array(rows) for s, rows in self.rows.items()}
        times = self.times[:, i]
        keep = times < before
        return times[keep], {s: rows[keep, i].astype(float) for s, rows in self.rows.items()}


def _check(data, start_qpos: np.ndarray, diverged: np.ndarray, times: np.ndarray) -> None:
    """Mark the worlds that diverged since the last check (at their time now) and put them back
    to their start, at rest."""
    qpos, qvel, qacc = data.qpos.numpy(), data.qvel.numpy(), data.qacc.numpy()
    bad = np.zeros(len(qpos), bool)
    for values in (qpos, qvel, qacc):
        with np.errstate(invalid="ignore"):
            bad |= ~(np.abs(values) <= MAX_VALUE).all(axis=1)
    new = bad & np.isnan(diverged)
    diverged[new] = times[new]  # counted in float64, as on the CPU (the device's clock is float32)
    if bad.any():
        qpos[bad], qvel[bad] = start_qpos[bad], 0.0
        _assign(data.qpos, qpos)
        _assign(data.qvel, qvel)
        _assign(data.qacc_warmstart, np.where(bad[:, None], 0.0, data.qacc_warmstart.numpy()))


def _assign(target, rows: np.ndarray) -> None:
    """Copy ``rows`` (float64 or int, one per world) into the device array ``target``."""
    import warp as wp

    if target.size:
        target.assign(
            wp.array(np.asarray(rows), dtype=target.dtype, shape=target.shape, device=target.device)
        )
