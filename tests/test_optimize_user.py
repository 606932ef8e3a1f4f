"""The optimisation as a careful user tries it: config edits between runs of one optimisation
(the budget lowered again, a search space Optuna cannot mix, a renamed study, a flipped
direction). Each run must keep every finished trial in the results, or be refused before anything
changes with a message that says what to do; never mix trials into a study they do not belong to.

The loop runs in this process (tests/optimize_user_models.py), on the sliding box.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Workflow
from tests.optimize_user_models import run, user_config

STUDY = "box"


def opt_dir(folder: Path) -> Path:
    return folder / "results" / STUDY / "optimize"


def storage_trials(folder: Path) -> list:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{opt_dir(folder) / 'study.db'}")
    return study.get_trials(deepcopy=False)


def round_files(folder: Path) -> list[str]:
    return sorted(p.name for p in (opt_dir(folder) / "rounds").glob("round_*.json"))


def test_lowering_n_trial_after_a_continuation_keeps_every_trial_in_the_results(tmp_path):
    assert run(user_config(tmp_path, n_trial=2)) is None
    assert run(user_config(tmp_path, n_trial=6)) is None  # continued: 4 more trials
    complete = {t.number: t.value for t in storage_trials(tmp_path) if t.value is not None}
    assert len(complete) == 6
    # The config goes back to the first budget (say, reverted in git): nothing new is asked, and
    # nothing already evaluated may leave the results.
    assert run(user_config(tmp_path, n_trial=2)) is None
    assert len(storage_trials(tmp_path)) == 6
    table = pd.read_parquet(opt_dir(tmp_path) / "trials.parquet")
    assert sorted(table["trial"]) == list(range(6))
    best = json.loads((opt_dir(tmp_path) / "best.json").read_text())
    assert best["n_trial"] == 6
    assert best["value"] == min(complete.values())
    assert best["trial"] == min(complete, key=complete.get)


def test_a_search_space_edit_optuna_cannot_mix_is_refused_before_any_change(tmp_path):
    """The docs promise that an edited search space applies from the next round; Optuna refuses a
    parameter whose kind, log scale or choices change within one study (its own error, in the
    middle of a step). The run must refuse at its start, naming the key and the way out."""
    from mojo.config.study import load_study
    from mojo.optimize.files import round_path
    from mojo.optimize.loop import step

    assert run(user_config(tmp_path, n_trial=2)) is None
    rounds, stored = round_files(tmp_path), len(storage_trials(tmp_path))
    speed = {"type": "float", "low": 1.5, "high": 2.5}
    edits = {
        "log changed from false to true": {"type": "float", "low": 0.1, "high": 1.5, "log": True},
        "its type changed from float to categorical": {"type": "categorical", "choices": [0.3, 0.6]},
    }
    for change, friction in edits.items():
        config = user_config(tmp_path, n_trial=4, search_space={"friction": friction, "speed": speed})
        refusal = run(config)
        assert refusal is not None and "optimize.search_space.friction" in refusal, refusal
        assert change in refusal and "another `study` name" in refusal, refusal
        with pytest.raises(Exception) as error:  # the step, should a run get that far
            step(load_study(config), 2, round_path(load_study(config), 2), print)
        assert "optimize.search_space.friction" in str(error.value)
        assert round_files(tmp_path) == rounds and len(storage_trials(tmp_path)) == stored
    # New bounds are an edit Optuna takes: they apply from the next round.
    narrow = {"type": "float", "low": 0.2, "high": 0.4}
    assert run(user_config(tmp_path, n_trial=4, search_space={"friction": narrow, "speed": speed})) is None
    later = [t for t in storage_trials(tmp_path) if t.number >= stored]
    assert len(later) == 2 and all(0.2 <= t.params["friction"] <= 0.4 for t in later)


def test_a_renamed_study_name_does_not_carry_the_old_trials_into_a_new_study(tmp_path):
    """The docs and the error messages said: change study_name to start a new study. But the round
    files stay in the study folder, and the step rebuilt the renamed study from them: the old
    trials (say, of an older model) were silently mixed into what the user took for a new study."""
    assert run(user_config(tmp_path, n_trial=2)) is None
    rounds = round_files(tmp_path)
    refusal = run(user_config(tmp_path, n_trial=4, study_name="fresh"))
    assert refusal is not None and "optimize.study_name = 'fresh'" in refusal, refusal
    assert "'box'" in refusal and "another `study` name" in refusal, refusal
    assert round_files(tmp_path) == rounds
    import optuna

    names = optuna.get_all_study_names(f"sqlite:///{opt_dir(tmp_path) / 'study.db'}")
    assert names == [STUDY]


def test_a_flipped_direction_is_a_refusal_naming_the_way_out(tmp_path):
    assert run(user_config(tmp_path, n_trial=2)) is None
    refusal = run(user_config(tmp_path, n_trial=4, direction="maximize"))
    assert refusal is not None and refusal.startswith("mojo: "), refusal
    assert "direction minimize" in refusal and "another `study` name" in refusal, refusal
    assert len(storage_trials(tmp_path)) == 2


@pytest.mark.slow
def test_snakemake_refuses_a_flipped_direction_on_a_finished_study(tmp_path):
    """A finished study had nothing to do, so no run started and nothing looked at the direction:
    the user who flipped it got "Nothing to be done" and the old best.json, made minimising."""
    import yaml

    workflow = Workflow(tmp_path)
    config = user_config(tmp_path, n_trial=2)
    config["results_dir"] = "results"
    workflow.write_config(config)
    workflow.run("optimize")
    best = (opt_dir(tmp_path) / "best.json").read_bytes()
    config["optimize"]["direction"] = "maximize"
    workflow.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = workflow.run("optimize", check=False)
    assert done.returncode != 0, done.stderr
    assert "was made with direction minimize, but the config says maximize" in done.stderr
    assert (opt_dir(tmp_path) / "best.json").read_bytes() == best


def test_refining_around_a_best_value_outside_the_edited_range_keeps_a_window_inside_it():
    """Narrowed bounds and a raised n_trial at once, with refine_search_factor: the best trial so far
    lies outside the new range. The window was centred on it and clipped, giving low > high
    (Optuna's error in the step); it must be centred on the nearest bound instead, and clipped."""
    from mojo.config.optimize import FloatParam, IntParam
    from mojo.optimize.space import refine

    space = {
        "friction": FloatParam(type="float", low=0.8, high=1.6),
        "links": IntParam(type="int", low=10, high=20),
        "damping": FloatParam(type="float", low=0.01, high=100.0, log=True),
    }
    refined = refine(space, {"friction": 0.4, "links": 30, "damping": 0.001}, 0.5)
    assert refined["friction"].low == 0.8 and refined["friction"].high == pytest.approx(1.0)
    assert (refined["links"].low, refined["links"].high) == (18, 20)
    assert refined["damping"].low == pytest.approx(0.01) and refined["damping"].high == pytest.approx(0.1)
    for param in refined.values():  # each a valid range (validation: low <= high)
        type(param).model_validate(param.model_dump())


def test_other_evaluation_code_or_settings_are_refused_not_mixed_into_the_study(tmp_path):
    """An edited objective (or duration...) went unnoticed: the next rounds were scored by the new
    one, the earlier by the old, and best.json named the best of the mix."""
    assert run(user_config(tmp_path, n_trial=2)) is None
    rounds, stored = round_files(tmp_path), len(storage_trials(tmp_path))
    edits = {
        "the code of objective, objective": {"objective": "tests.optimize_user_models:overshoot"},
        "duration": {"duration": 0.3},
    }
    for changed, edit in edits.items():
        refusal = run({**user_config(tmp_path, n_trial=4), **edit})
        assert refusal is not None and f"changed since round 1: {changed};" in refusal, refusal
        assert "another `study` name" in refusal
        assert round_files(tmp_path) == rounds and len(storage_trials(tmp_path)) == stored
    # A longer trial_timeout decides only whether an evaluation finishes: the study goes on.
    assert run({**user_config(tmp_path, n_trial=4), "trial_timeout": 60}) is None
    assert len(storage_trials(tmp_path)) == 4


def test_a_seed_in_sampler_kwargs_still_gives_each_round_fresh_proposals(tmp_path):
    """``sampler_kwargs: {seed: 3}`` (accepted, and natural for a reproducible search) reached the
    sampler as it was: every round's sampler, built again, proposed round 0's points again."""
    tables = {}
    for seed in (3, 4):
        folder = tmp_path / str(seed)
        assert run(user_config(folder, n_trial=6, sampler="random", sampler_kwargs={"seed": seed})) is None
        tables[seed] = pd.read_parquet(opt_dir(folder) / "trials.parquet")
    assert tables[3]["friction"].nunique() == 6, tables[3]
    assert not tables[3]["friction"].equals(tables[4]["friction"])  # the seed given is used
