"""Whether the config still fits the optimisation its round files made; refused before anything
changes when it does not.

A study folder holds one optimisation, and its round files are the truth (see
:mod:`mojo.optimize.loop`). A config edited between runs may change only what the loop can carry
on with: the budget, the sampler, the bounds of the search space. It may not:

- rename ``study_name``: the step would rebuild the renamed Optuna study from the same round
  files, carrying the old trials into what the user takes for a new study;
- change what an evaluation runs (code, its settings, the parameters that are not optimised): the
  scores told so far came from the old one, and a best trial picked from a mix means nothing;
- change a searched parameter's kind, log scale or categorical choices: Optuna refuses to mix
  them in one study, with its own terse error in the middle of a step;
- flip ``direction`` (checked against the storage when it is opened, :func:`mojo.optimize.loop.open_study`).

The way out is always a new optimisation under another ``study`` name. Cost: a read of the
round files (done anyway by the step) and a SHA-256 of the user code's source files.
"""

from __future__ import annotations

from typing import Any

from mojo.config.study import StudyConfig
from mojo.optimize.files import RoundFile, opt_dir
from mojo.optimize.space import incompatible
from mojo.trials.trial import code_hashes, config_template


class StudyMismatchError(RuntimeError):
    """The config does not fit the optimisation's study as its rounds made it: refused before
    anything is changed."""


NEW_OPTIMISATION = "start a new optimisation under another `study` name (its own folder and storage)"
"""The way out of a config that does not fit the study."""

UNSCORED = ("trial_timeout", "trial_memory_mb")
"""Evaluation settings that decide only whether an evaluation finishes, never its score: raising
them during an optimisation is allowed (a trial they stopped stays pruned or failed)."""


def trial_config(study: StudyConfig) -> dict[str, Any]:
    """What every evaluation's ``config.json`` shares (its settings and its code's hashes), less
    :data:`UNSCORED`: recorded in each round file."""
    template = config_template(study, code_hashes(study))
    return template.model_dump(mode="json", exclude={"trial", "trial_seed", *UNSCORED})


def check_rounds(study: StudyConfig, rounds: list[RoundFile]) -> None:
    """Raise :class:`StudyMismatchError` if the config does not fit the study ``rounds`` made."""
    for why in (_renamed(study, rounds), _evaluations_changed(study, rounds), _space_changed(study, rounds)):
        if why:
            raise StudyMismatchError(f"{why}: restore it, or {NEW_OPTIMISATION} (nothing was changed)")


def _renamed(study: StudyConfig, rounds: list[RoundFile]) -> str | None:
    name = study.optimize.name(study)
    if not rounds or rounds[-1].study_name == name:
        return None
    return (
        f"optimize.study_name = {name!r}: the round files in {opt_dir(study)} belong to the Optuna "
        f"study {rounds[-1].study_name!r} (a study folder holds one optimisation)"
    )


def _evaluations_changed(study: StudyConfig, rounds: list[RoundFile]) -> str | None:
    recorded = next((r for r in reversed(rounds) if r.trial_config is not None), None)
    if recorded is None:  # no round yet, or only an older mojo's
        return None
    searched = set(recorded.space) | set(study.optimize.search_space)
    changes = _changes(recorded.trial_config, trial_config(study), searched)
    if not changes:
        return None
    return (
        f"what the evaluations run changed since round {recorded.round}: {', '.join(changes)}; the "
        "scores told to Optuna so far came from the old one, and a best trial picked from a mix means nothing"
    )


def _changes(recorded: dict[str, Any], now: dict[str, Any], searched: set[str]) -> list[str]:
    """The keys of ``now`` that differ from ``recorded`` (``code_hashes`` and ``parameters`` by
    name), leaving out the parameters in ``searched``: the optimiser's."""
    changes = []
    for key in sorted(recorded.keys() | now.keys()):
        was, new = recorded.get(key), now.get(key)
        if key in ("code_hashes", "parameters"):
            was, new = was or {}, new or {}
            names = sorted((was.keys() | new.keys()) - (searched if key == "parameters" else set()))
            label = "the code of {}" if key == "code_hashes" else "parameters.{}"
            changes += [label.format(name) for name in names if was.get(name) != new.get(name)]
        elif was != new:
            changes.append(key)
    return changes


def _space_changed(study: StudyConfig, rounds: list[RoundFile]) -> str | None:
    space = study.optimize.search_space
    for round_file in (r for r in rounds if r.trials):
        for name, change in incompatible(round_file.space, space).items():
            return (
                f"optimize.search_space.{name}: {change} since round {round_file.round} asked its "
                "trials, and Optuna cannot mix the two in one study"
            )
    return None
