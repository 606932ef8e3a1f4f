"""Optuna samplers by name, seeded from the study's seed.

Each round's step builds its sampler again, on a copy of the study replayed from the round files
(:func:`mojo.optimize.loop.replay`). Its seed is derived from (study seed, round): every round
draws fresh random numbers, and a rerun of a round draws the same ones. Samplers that keep state
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


def round_seed(seed: int, round_: int) -> int:
    return int(np.random.SeedSequence([seed, round_, 0x6F7074]).generate_state(1)[0])


def make_sampler(name: str, seed: int, round_: int, kwargs: dict[str, Any] | None = None):
    import optuna

    kwargs = dict(kwargs or {})
    samplers = optuna.samplers
    if name == "qmc":
        kwargs.setdefault("seed", seed)
        kwargs.setdefault("scramble", True)
        kwargs.setdefault("warn_asynchronous_seeding", False)
        return samplers.QMCSampler(**kwargs)
    kwargs.setdefault("seed", round_seed(seed, round_))
    if name == "tpe":
        kwargs.setdefault("constant_liar", True)
        return samplers.TPESampler(**kwargs)
    if name == "random":
        return samplers.RandomSampler(**kwargs)
    if name == "cmaes":
        return samplers.CmaEsSampler(**kwargs)
    if name == "gp":
        return samplers.GPSampler(**kwargs)
    if name == "nsgaii":
        return samplers.NSGAIISampler(**kwargs)
    raise ValueError(f"unknown sampler {name!r}")
