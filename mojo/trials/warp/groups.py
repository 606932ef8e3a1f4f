"""The trials of a warp batch job by structure, sorted as their compiles arrive: one group per
structure key, each trial with its differences from the group's reference model
(:mod:`mojo.trials.warp.models`), and the group's trials not yet stepped.

Compiles arrive in trial order, while the pool goes on compiling, so a group's batch can step as
soon as it is full: on a GPU the device steps one batch while the CPU compiles the next.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import mujoco
import numpy as np

from mojo.trials.warp import models
from mojo.trials.warp.simulate import Sampling

Member = tuple[models.Compiled, dict[str, np.ndarray]]
"""A trial of a group: what its compile gave, and its differences from the group's reference."""


@dataclass
class Group:
    """The trials of one structure."""

    number: int
    reference: mujoco.MjModel
    path: Path
    """The reference, pickled, for the finish stage's workers (loaded once per worker)."""
    size: int
    """Worlds per batch."""
    sampling: Sampling | None
    """What the device samples of the study's signals in this structure (None: no signals)."""
    trials: int = 0
    """Its trials so far."""
    pending: list[Member] = field(default_factory=list)
    """Its trials not yet stepped."""

    def take(self) -> list[Member]:
        """The trials not yet stepped, which are then the caller's."""
        batch, self.pending = self.pending, []
        return batch


class Grouping:
    """Compiled trials sorted into groups by structure, in trial order. Each compile worker's
    first trial of a structure carries that worker's reference model; the workers' references
    of one structure may differ in their per-world fields, so each trial's differences are made
    relative to its group's reference (the first one seen)."""

    def __init__(self, scratch: Path, batching: Callable[[mujoco.MjModel, int], tuple[int, Sampling | None]]):
        """``batching(reference, n_steps)``: a new group's worlds per batch and sampling."""
        self.scratch = scratch
        self.batching = batching
        self.groups: dict[str, Group] = {}
        self._references: dict[tuple[int, str], mujoco.MjModel] = {}
        self._shifts: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        self._reference_bytes: dict[str, dict[str, bytes]] = {}

    def add(self, compiled: models.Compiled) -> Group:
        """Put ``compiled`` (a trial whose generator succeeded) in its group, which is returned."""
        if compiled.reference_model is not None:  # a worker's first of this structure
            self._references[compiled.reference] = pickle.loads(compiled.reference_model)
            self._shifts.pop(compiled.reference, None)  # a new worker may reuse a dead one's pid
        group = self.groups.get(compiled.key) or self._new(compiled)
        shift = self._shifts.get(compiled.reference)
        if shift is None:
            own = models.model_arrays(self._references[compiled.reference])
            shift = self._shifts[compiled.reference] = models.differences(
                own, self._reference_bytes[compiled.key]
            )
        group.pending.append((compiled, shift | compiled.diffs))
        group.trials += 1
        return group

    def _new(self, compiled: models.Compiled) -> Group:
        reference = self._references[compiled.reference]
        number = len(self.groups)
        path = self.scratch / f"reference_{number}.pkl"
        path.write_bytes(pickle.dumps(reference))
        self._reference_bytes[compiled.key] = models.as_bytes(models.model_arrays(reference))
        group = Group(number, reference, path, *self.batching(reference, compiled.n_steps))
        self.groups[compiled.key] = group
        return group


def stacked_fields(reference: mujoco.MjModel, batch: list[Member]) -> dict[str, np.ndarray]:
    """MuJoCo Warp's per-world fields that differ within ``batch``: one row per world."""
    batched, _ = models.warp_fields()
    fields = {}
    for name in sorted({name for _, diffs in batch for name in diffs} & batched):
        rows = np.repeat(getattr(reference, name)[None], len(batch), axis=0)
        for i, (_, diffs) in enumerate(batch):
            if name in diffs:
                rows[i] = diffs[name]
        fields[name] = rows
    return fields
