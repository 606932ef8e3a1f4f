"""Optuna samplers by name, seeded from the study's seed.

Each round's step builds its sampler again, on a copy of the study replayed from the round files
(:func:`mojo.optimize.loop.replay`). Its seed is derived from (study seed, round): every round
draws fresh random numbers, and a rerun of a round draws the same ones (a ``seed`` in
``sampler_kwargs`` replaces the study's seed here). Samplers that keep state
between trials (CMA-ES, NSGA-II, QMC) keep it in the trials' and the study's system attributes,
which the round files record and the replay restores. QMC keeps the study's own seed (its
scrambling must stay the same for the whole sequence).

Batches: a round asks several trials before telling any. TPE is built with ``constant_liar`` (a
trial asked but not yet told counts as a bad result, so the next ask looks elsewhere); CMA-ES,
NSGA-II and QMC draw a batch from one generation or sequence by design; random needs nothing.
GP has no liar: keep its rounds small.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mojo.config.optimize import SAMPLERS, build_sampler


def round_seed(seed: int, round_: int) -> int:
    return int(np.random.SeedSequence([seed, round_, 0x6F7074]).generate_state(1)[0])


def make_sampler(name: str, seed: int, round_: int, kwargs: dict[str, Any] | None = None):
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}")
    kwargs = dict(kwargs or {})
    # A seed in sampler_kwargs replaces the study's, still derived afresh for each round: passed
    # as it is, every round's sampler would be the same, and propose the same points again.
    seed = kwargs.pop("seed", seed)
    # QMC keeps the study's seed: its scrambling must stay the same for the whole sequence.
    return build_sampler(name, seed if name == "qmc" else round_seed(seed, round_), kwargs)
