"""``stop_when``: after each round of a growing study, is the chosen figure known well enough?

A round's decision is the interval of ``stop_when.statistic`` of ``stop_when.metric`` over the
successful trials of every round so far (:mod:`mojo.results.statistics`), written to
``.mojo/stop/round_<r>.json`` with what it was computed from (trial count, fingerprint, figure,
confidence level). Whether another round follows is read from it again on every run
(:func:`goes_on`): a looser or tighter ``half_width`` or a larger ``n_trial`` moves the stop
without recomputing anything, while a decision computed from other trials or for another figure
is stale and removed before the DAG exists (:func:`stale_rounds`), so the run computes it again.
Each decision reads the rounds' batch manifests: a few milliseconds per thousand trials.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mojo.config.base import Frozen
from mojo.config.study import StudyConfig
from mojo.trials.files import read_model, write_model
from mojo.trials.layout import round_sizes, stop_round_path


class StopRound(Frozen):
    """``.mojo/stop/round_<r>.json``: the figure's interval after round ``round``."""

    round: int
    trials: int
    """Trials of the study after this round (0 .. trials - 1)."""
    fingerprint: str
    """The trials' fingerprint (:func:`mojo.trials.targets.study_fingerprint`) it was computed for."""
    metric: str
    statistic: str
    confidence: float
    n: int
    """Successful trials with a finite value of the metric."""
    estimate: float | None
    low: float | None
    high: float | None
    half_width: float | None
    """None while a bound is missing (too few trials) or the metric has no value yet."""


def decide(study: StudyConfig, round_: int, manifests: list[Path], fingerprint: str) -> StopRound:
    """The decision of round ``round_`` from the batch manifests of rounds 0 .. ``round_``."""
    # Here, not at the top: the Snakefile imports this module on every parse, cluster jobs
    # included, and these bring in SciPy and pyarrow (0.1 s).
    from mojo.results import statistics as stats
    from mojo.results.aggregate import read_rows

    stop = study.stop_when
    ok = [row for row in read_rows(manifests) if row.status == "success"]
    returned = {name for row in ok for name in row.metrics}
    if stop.metric != "objective" and ok and stop.metric not in returned:
        raise ValueError(
            f"stop_when.metric = {stop.metric!r} is not a metric the trials return; they return: "
            f"{', '.join(sorted(returned)) or 'none'}{', objective' if study.objective else ''}"
        )
    values = [row.objective if stop.metric == "objective" else row.metrics.get(stop.metric) for row in ok]
    values = np.array([v for v in values if v is not None], dtype=float)
    values = values[np.isfinite(values)]
    confidence = study.statistics.confidence
    if stop.percentile is None:
        interval = stats.mean_interval(values, confidence)
    else:
        interval = stats.percentile_interval(values, stop.percentile, confidence)
    return StopRound(
        round=round_, trials=round_sizes(study)[round_], fingerprint=fingerprint, metric=stop.metric,
        statistic=stop.statistic, confidence=confidence, n=interval.n, estimate=interval.estimate,
        low=interval.low, high=interval.high, half_width=interval.half_width,
    )


def write_decision(
    study: StudyConfig, round_: int, manifests: list[Path], fingerprint: str, path: Path
) -> StopRound:
    decision = decide(study, round_, manifests, fingerprint)
    write_model(path, decision)
    return decision


def met(study: StudyConfig, decision: StopRound | dict) -> bool:
    """Whether the decision's interval is as narrow as ``stop_when.half_width`` asks."""
    half = decision["half_width"] if isinstance(decision, dict) else decision.half_width
    return half is not None and math.isfinite(half) and half <= study.stop_when.half_width


def goes_on(study: StudyConfig, decision: StopRound | dict) -> bool:
    """Whether another round follows the decision's (read as JSON by the workflow's input
    functions, or as the model): the target is not met and ``n_trial`` not reached."""
    trials = decision["trials"] if isinstance(decision, dict) else decision.trials
    return trials < study.n_trial and not met(study, decision)


def stale_rounds(study: StudyConfig, fingerprint: str) -> list[Path]:
    """The decision files that do not hold for this config: computed from other trials (another
    fingerprint or round size) or for another figure or confidence level; unreadable ones too. A
    round's file is stale when any before it is: the rounds depend on one another."""
    stale: list[Path] = []
    for round_, size in enumerate(round_sizes(study)):
        path = stop_round_path(study, round_)
        if not path.exists():
            continue
        try:
            decision = read_model(path, StopRound)
        except (OSError, ValueError):
            stale.append(path)
            continue
        stop = study.stop_when
        wanted = (size, fingerprint, stop.metric, stop.statistic, study.statistics.confidence)
        made = (decision.trials, decision.fingerprint, decision.metric, decision.statistic,
                decision.confidence)
        if stale or made != wanted:
            stale.append(path)
    return stale


def figure_text(decision: StopRound | dict) -> str:
    """``mean of energy 19.9 ± 0.41 (95 % CI, n = 396)`` (the decision as the model, or as the
    JSON ``mojo status`` reads). A percentile's interval is not centred on it (p95 of a lognormal,
    400 trials: 4.38 in [3.93, 6.15]), so it is given by its bounds and its half width: ``4.38 ±
    1.11`` would put the upper bound at 5.49."""
    d = decision if isinstance(decision, dict) else decision.model_dump()
    figure = f"{d['statistic']} of {d['metric']}"
    level = f"{100 * d['confidence']:g} % CI, n = {d['n']}"
    if d["half_width"] is None:
        return f"{figure}: no interval yet ({level})"
    if d["statistic"] == "mean":
        return f"{figure} {d['estimate']:.4g} ± {d['half_width']:.3g} ({level})"
    bounds = f"[{d['low']:.4g}, {d['high']:.4g}]"
    return f"{figure} {d['estimate']:.4g} {bounds} ({level}, half width {d['half_width']:.3g})"


def describe(study: StudyConfig, decision: StopRound) -> str:
    """``round 2: 400 trials, mean of energy 19.9 ± 0.41 (95 % CI, n = 396): target ± 0.5 met``."""
    shown = figure_text(decision)
    if met(study, decision):
        outcome = f"target ± {study.stop_when.half_width:g} met: stop"
    elif decision.trials >= study.n_trial:
        outcome = f"target ± {study.stop_when.half_width:g} not met, n_trial = {study.n_trial} reached: stop"
    else:
        outcome = f"target ± {study.stop_when.half_width:g} not met: grow"
    return f"round {decision.round}: {decision.trials} trials, {shown}: {outcome}"
