"""The inputs of the rules that read a study's trials, with and without ``stop_when``.

Without ``stop_when`` they are every batch's manifest, known when the Snakefile is parsed. With it
they are the manifests of the rounds up to the one whose decision stops the study: a walk over
the ``stop_round`` checkpoints (rules/stop_when.smk), which makes Snakemake run the rounds one
after the other (round r + 1's trials are asked for only once round r's decision says grow), the
same mechanism as the optimiser's loop (:mod:`mojo.optimize.workflow`). The walk reads a few small
JSON files each time Snakemake re-evaluates the DAG.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from mojo.config.study import StudyConfig
from mojo.results.stopping import goes_on
from mojo.trials.layout import (
    manifest_path,
    round_batches,
    stop_round_path,
    stop_settings_path,
    tables_record,
)
from mojo.trials.targets import batch_manifests


def round_manifests(study: StudyConfig, last_round: int) -> list[str]:
    """The batch manifests of rounds 0 .. ``last_round`` (what round ``last_round``'s decision
    reads)."""
    rounds = round_batches(study)[: last_round + 1]
    return [str(manifest_path(study, first, last)) for batches in rounds for first, last in batches]


def stopped_rounds(checkpoints: Any, study: StudyConfig) -> list[str]:
    """The decision files of rounds 0 .. the stop round (Snakemake's ``checkpoints``)."""
    files: list[str] = []
    round_ = 0
    while True:
        path = checkpoints.stop_round.get(round=str(round_)).output[0]
        files.append(path)
        with open(path, encoding="utf-8") as handle:
            if not goes_on(study, json.load(handle)):
                return files
        round_ += 1


def undecided(study: StudyConfig) -> bool:
    """Whether the decisions on disk end before a stop: a round decided to grow and the next is
    not decided yet (a run stopped between rounds, a tighter target, a stale decision removed)."""
    for round_ in range(len(round_batches(study))):
        path = stop_round_path(study, round_)
        if not path.exists():
            return True
        with open(path, encoding="utf-8") as handle:
            if not goes_on(study, json.load(handle)):
                return False
    return True


def manifests(study: StudyConfig, checkpoints: Any) -> list[str] | Callable[[Any], list[str]]:
    """The input of a rule that reads the trials' rows (the aggregate, the plots): every
    manifest, or, with ``stop_when``, an input function giving those of the rounds run."""
    if study.stop_when is None:
        return batch_manifests(study)
    return lambda wildcards: round_manifests(study, len(stopped_rounds(checkpoints, study)) - 1)


def stop_inputs(study: StudyConfig, checkpoints: Any, after_tables: bool = False) -> dict[str, Any]:
    """What else such a rule depends on with ``stop_when`` (nothing without), as named inputs:
    the decisions, and the settings file, re-made when ``stop_when``, ``n_trial`` or
    ``statistics`` change; with ``after_tables`` (the plots), the tables' record too.

    Snakemake skips the params and mtime checks of a job whose input comes from a checkpoint, and
    a decision not made yet does not make it run: the settings file (a plain input made again in
    that run, as the optimiser's budget file) makes the tables follow a changed setting, and a
    removed tables' record (:func:`undecided`, rules/stop_when.smk) makes them wait for the
    rounds still to decide; the plots follow the tables."""
    if study.stop_when is None:
        return {}
    inputs = {
        "stop_settings": str(stop_settings_path(study)),
        "stop_rounds": lambda wildcards: stopped_rounds(checkpoints, study),
    }
    return {**inputs, "tables_record": str(tables_record(study))} if after_tables else inputs
