"""Trial folders are padded to the trial count (at least four digits) and sort in order."""

import pytest

from mojo.config.study import load_study
from mojo.trials.layout import adopt_narrower_folder, batch_ranges, trial_dir
from tests.conftest import ball_config


@pytest.mark.parametrize(
    "n_trial, width", [(1, 4), (2000, 4), (10000, 4), (10001, 5), (12000, 5), (100001, 6)]
)
def test_padding_width(n_trial, width):
    assert load_study(ball_config(n_trial=n_trial)).padding_width == width


def test_trial_folder_names():
    s = load_study(ball_config(n_trial=2000))
    assert trial_dir(s, 0).name == "trial_0000"
    assert trial_dir(s, 123).name == "trial_0123"
    assert trial_dir(s, 1999).name == "trial_1999"
    assert trial_dir(s, 0).parent.as_posix() == "results/balls"


def test_batches_cover_every_trial_once():
    s = load_study(ball_config(n_trial=10, n_proc=3))
    assert batch_ranges(s) == [(0, 3), (4, 7), (8, 9)]
    assert batch_ranges(load_study(ball_config(n_trial=5, trials_per_job=1))) == [(i, i) for i in range(5)]
    assert batch_ranges(load_study(ball_config(n_trial=0))) == []


def test_growing_past_a_power_of_ten_renames_the_folder(tmp_path):
    small = load_study(ball_config(n_trial=100, padding=2, results_dir=str(tmp_path)))
    old = trial_dir(small, 42)
    old.mkdir(parents=True)
    (old / "result.json").write_text("kept")
    grown = load_study(ball_config(n_trial=101, padding=2, results_dir=str(tmp_path)))
    new = adopt_narrower_folder(grown, 42)
    assert new.name == "trial_042" and not old.exists()
    assert (new / "result.json").read_text() == "kept"
