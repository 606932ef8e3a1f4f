"""The trials of a warp batch job by structure: one group per structure key, each trial with its
differences from the group's reference model (:mod:`mojo.trials.warp.models`)."""

from __future__ import annotations

import pickle
from collections import defaultdict
from dataclasses import dataclass
from itertools import islice
from typing import Iterator

import mujoco
import numpy as np

from mojo.trials.warp import models

Member = tuple[models.Compiled, dict[str, np.ndarray]]
"""A trial of a group: what its compile gave, and its differences from the group's reference."""


@dataclass
class Group:
    """The trials of one structure."""

    reference: mujoco.MjModel
    trials: list[Member]

    def batches(self, size: int) -> Iterator[list[Member]]:
        """The trials, ``size`` at a time."""
        it = iter(self.trials)
        while batch := list(islice(it, size)):
            yield batch


def by_structure(compiled: list[models.Compiled]) -> list[Group]:
    """The compiled trials by structure, in trial order. The compile workers' references of one
    structure may differ in their per-world fields: each trial's differences are made relative
    to its group's reference."""
    references = {c.reference: pickle.loads(c.reference_model) for c in compiled if c.reference_model}
    by_key: dict[str, list[models.Compiled]] = defaultdict(list)
    for c in sorted(compiled, key=lambda c: c.index):
        by_key[c.key].append(c)
    groups = []
    for trials in by_key.values():
        ref_id = trials[0].reference
        ref_bytes = models.as_bytes(models.model_arrays(references[ref_id]))
        shifts = {
            other: models.differences(models.model_arrays(model), ref_bytes)
            for other, model in references.items()
            if other[1] == ref_id[1]
        }
        groups.append(Group(references[ref_id], [(c, shifts[c.reference] | c.diffs) for c in trials]))
    return groups


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
