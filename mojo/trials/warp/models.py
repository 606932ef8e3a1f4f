"""Each trial's model for the warp backend: compiled on the CPU from its own spec, exactly as the
CPU backend does (so every derived quantity is MuJoCo's own), then reduced to what sets it apart.

Trials batch together when MuJoCo Warp would see one structure in their models: the same sizes,
options, step count and the same values of every field MuJoCo Warp keeps once for all worlds
(the structure key). What may differ between them are the fields MuJoCo Warp can hold per world
(its ``Model`` fields whose shape starts with ``*``); which of those are zero is part of the key,
because MuJoCo Warp picks code paths by it (a model with damping and one without).

A compiled model is 100 kB or more (textures, meshes), too much to pass between processes for
100,000 trials. A compile worker so returns its first model of each structure whole (its
*reference*) and, for every other trial, only the arrays that differ from that reference
(:class:`Compiled`): for a dispersion study, a few small arrays. Every MjModel array is compared,
not only MuJoCo Warp's, so the reference plus a trial's differences is that trial's own model,
exactly, for the CPU's part of the work (the last step and the metrics). Costs about 0.1 ms per
trial on top of its compile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import mujoco
import numpy as np

from mojo import runtime

STATE_FIELDS = ("qpos", "qvel", "act", "ctrl", "mocap_pos", "mocap_quat")
"""The MjData arrays that make a world's state between steps (with ``time`` and, for the
solver's warm start, ``qacc_warmstart``)."""

_STAT_FIELDS = ("meaninertia", "meanmass", "meansize", "extent", "center")
_STAT = "stat"  # the model's statistics (the solver scales by meaninertia), as one array


@cache
def warp_fields() -> tuple[frozenset[str], frozenset[str]]:
    """MuJoCo Warp's model array fields: (per-world capable, shared by all worlds), of those an
    MjModel has."""
    import warp as wp

    wp.config.log_level = wp.LOG_WARNING  # no banner, no line per kernel module in the job's log
    from mujoco_warp._src import types, warp_util

    probe = mujoco.MjModel.from_xml_string("<mujoco/>")
    batched, shared = set(), set()
    for spec in dataclasses.fields(types.Model):
        if warp_util.is_array_spec(spec.type) and hasattr(probe, spec.name):
            per_world = getattr(spec.type, "shape", ())[:1] == ("*",)
            (batched if per_world else shared).add(spec.name)
    return frozenset(batched), frozenset(shared)


@cache
def _array_names() -> tuple[str, ...]:
    probe = mujoco.MjModel.from_xml_string("<mujoco/>")
    return tuple(n for n in dir(probe) if not n.startswith("_") and isinstance(getattr(probe, n), np.ndarray))


def model_arrays(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Every array of ``model`` by name (views), its statistics as one more."""
    arrays = {name: getattr(model, name) for name in _array_names()}
    arrays[_STAT] = np.hstack([getattr(model.stat, f) for f in _STAT_FIELDS], dtype=float)
    return arrays


def set_arrays(model: mujoco.MjModel, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (as from :func:`model_arrays`) into ``model``."""
    for name, value in arrays.items():
        if name == _STAT:
            stat = iter(value)
            for f in _STAT_FIELDS:
                current = getattr(model.stat, f)
                if isinstance(current, np.ndarray):
                    current[:] = [next(stat) for _ in current]
                else:
                    setattr(model.stat, f, next(stat))
        else:
            getattr(model, name)[...] = value


def structure_key(model: mujoco.MjModel, arrays: dict[str, np.ndarray], n_steps: int) -> str:
    """What must be equal for trials to be stepped as one batch (see the module docstring);
    ``arrays``: the model's :func:`model_arrays`."""
    shared, batched = _key_names(bool(model.opt.enableflags & mujoco.mjtEnableBit.mjENBL_SLEEP))
    options = (getattr(model.opt, name) for name in _option_names())
    digest = hashlib.sha256(repr((n_steps, *(np.asarray(o).tolist() for o in options))).encode())
    digest.update(b"".join(arrays[name].tobytes() for name in shared))
    which_zero = np.concatenate([arrays[name].ravel() != 0 for name in batched])
    digest.update(np.packbits(which_zero).tobytes())
    return digest.hexdigest()


@cache
def _key_names(sleeps: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The shared fields a structure key compares, and the per-world ones whose zeros it compares."""
    batched, shared = warp_fields()
    unread = {name for name in _array_names() if name.startswith("key_")}
    if not sleeps:
        unread.add("dof_length")
    return tuple(sorted(shared - unread)), tuple(sorted(batched))


@cache
def _option_names() -> tuple[str, ...]:
    options = mujoco.MjModel.from_xml_string("<mujoco/>").opt
    return tuple(n for n in dir(options) if not n.startswith("_") and not callable(getattr(options, n)))


def differences(arrays: dict[str, np.ndarray], reference: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The arrays whose bytes differ from ``reference``'s (:func:`as_bytes`), copied."""
    return {n: np.array(v) for n, v in arrays.items() if v.tobytes() != reference[n]}


def as_bytes(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {n: v.tobytes() for n, v in arrays.items()}


@dataclass
class Compiled:
    """One trial after its compile, as a compile worker returns it."""

    index: int
    """The trial's place in the batch's list of plans."""
    seconds: float
    """Wall time of its generator, compile and files."""
    key: str = ""
    """Its structure key; empty when the generator failed (already recorded)."""
    reference: tuple[int, str] = (0, "")
    """Which reference model its differences are from: (compile worker, structure key)."""
    reference_model: bytes | None = None
    """The pickled model, when it is that reference."""
    diffs: dict[str, np.ndarray] = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)
    """Its state at the start (after the reset to its first keyframe, as the default runtime does)."""
    n_steps: int = 0


_references: dict[str, dict[str, bytes]] = {}
"""This compile worker's reference arrays (their bytes), by structure key."""
_data: dict[str, mujoco.MjData] = {}
"""An MjData for each structure key (allocating one per trial cost a third of this stage)."""


def reduce_model(index: int, model: mujoco.MjModel, duration: float, seconds: float) -> Compiled:
    """What the batch needs of a compiled trial (see :class:`Compiled`)."""
    n_steps = round(duration / model.opt.timestep)
    arrays = model_arrays(model)
    key = structure_key(model, arrays, n_steps)
    if key not in _data:
        _data[key] = mujoco.MjData(model)  # fits every model of the key
    data = _data[key]
    mujoco.mj_resetData(model, data)
    runtime.start(model, data)
    state = {name: getattr(data, name).copy() for name in STATE_FIELDS}
    state["time"] = np.array(data.time)
    compiled = Compiled(index, seconds, key, (os.getpid(), key), state=state, n_steps=n_steps)
    reference = _references.get(key)
    if reference is None:
        _references[key] = as_bytes(arrays)
        compiled.reference_model = pickle.dumps(model)
    else:
        compiled.diffs = differences(arrays, reference)
    return compiled


def trial_model(reference: mujoco.MjModel, diffs: dict[str, Any]) -> mujoco.MjModel:
    """A trial's own model: its reference with its differences written in."""
    import copy

    model = copy.copy(reference)  # MjModel's copy is a deep one
    set_arrays(model, diffs)
    return model
