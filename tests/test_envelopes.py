"""Envelope plots of recorded signals (issue 13): the band's numbers on synthetic signal files,
which trials it leaves out and draws instead, its memory-lean path, ``mojo show --plot``, and the
``envelopes`` rule in the DAG only when the config records signals."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import matplotlib.colors
import matplotlib.image
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mojo import cli
from mojo.results import envelopes
from mojo.signals import SIGNALS_FILE, write_signals
from tests.conftest import Workflow, ball_config

TIME = np.round(np.arange(11) * 0.1, 10)


def make_study(root: Path, trials: dict[int, tuple[str, np.ndarray, np.ndarray]]) -> Path:
    """A study folder holding, per trial, a signals file of signal ``s`` (components a, b) with
    ``(time, values)``, and a trials.parquet with each trial's status."""
    for trial, (_, time, values) in trials.items():
        folder = root / f"trial_{trial:04d}"
        folder.mkdir(parents=True)
        write_signals(folder / SIGNALS_FILE, time, {"s": values}, {"s": ["a", "b"]})
    statuses = {"trial": list(trials), "status": [status for status, _, _ in trials.values()]}
    pq.write_table(pa.table(statuses), root / "trials.parquet")
    return root


def constant(value: float, time: np.ndarray = TIME) -> np.ndarray:
    """Component a is ``value``, component b is ``-value``, at every sample."""
    return np.column_stack([np.full(len(time), value), np.full(len(time), -value)])


def band_of(study: Path, trials, budget: int = envelopes.MEMORY_BUDGET) -> envelopes.Envelope:
    return envelopes.envelope(study, "s", ["a", "b"], trials, budget)


def test_row_quantiles_match_numpy_with_gaps():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(40, 97))
    matrix[::3, 50:] = np.nan  # rows with fewer values
    matrix[7] = np.nan  # a row with none
    def numpy(row, q):
        return np.nanquantile(row, q) if np.isfinite(row).any() else np.nan

    expected = np.array([[numpy(row, q) for row in matrix] for q in (0.05, 0.5, 0.95)])
    got = envelopes.row_quantiles(matrix.copy(), (0.05, 0.5, 0.95))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.isnan(got[:, 7]).all()


def test_band_of_known_values_and_failures_left_out(tmp_path: Path):
    # Successful trials 0..100 hold the value of their number: 5 %, 50 %, 95 % are 5, 50, 95.
    trials = {t: ("success", TIME, constant(t)) for t in range(101)}
    trials |= {t: ("failure", TIME, constant(1e6)) for t in range(101, 131)}  # far outside
    study = make_study(tmp_path, trials)
    statuses = envelopes.trial_statuses(study / "trials.parquet")
    band = band_of(study, [t for t, s in statuses.items() if s == "success"])
    assert band.trials == 101
    np.testing.assert_array_equal(band.time, TIME)
    np.testing.assert_allclose(band.low, np.tile([5.0, -95.0], (11, 1)))
    np.testing.assert_allclose(band.median, np.tile([50.0, -50.0], (11, 1)))
    np.testing.assert_allclose(band.high, np.tile([95.0, -5.0], (11, 1)))

    # The failures are drawn one by one, the first MAX_SHOWN of them, and counted in the legend.
    others = {"failure": envelopes._first_recorded(study, "s", list(range(101, 131)))}
    counts = {"success": 101, "failure": 30}
    nominal = (TIME, constant(0.0))
    fig = envelopes.envelope_figure("s", ["a", "b"], band, nominal, others, counts)
    legend = [text.get_text() for text in fig.legends[0].texts]
    assert legend[:3] == ["median", "5-95 % of 101 successful trials", "nominal (trial 0)"]
    assert f"failure (30 trials, {envelopes.MAX_SHOWN} drawn)" in legend
    failure_color = matplotlib.colors.to_rgba(envelopes.STATUS_COLORS["failure"])
    for ax in fig.axes:
        drawn = [line for line in ax.lines if matplotlib.colors.to_rgba(line.get_color()) == failure_color]
        assert len(drawn) == 2 * envelopes.MAX_SHOWN  # a line and its end marker per trial
        assert ax.get_ylim()[1] < 1e3  # the far-off failures leave the frame, the band stays readable
    assert "leave the frame" in fig.get_suptitle()
    envelopes.plt.close(fig)


def test_trials_that_stopped_early_count_only_while_they_have_samples(tmp_path: Path):
    trials = {t: ("success", TIME, constant(t)) for t in range(1, 6)}  # full length: 1..5
    trials |= {t: ("success", TIME[:4], constant(t, TIME[:4])) for t in range(6, 11)}  # 6..10: 4 samples
    # One sampled at other times (another time step): interpolated onto the grid.
    shifted = TIME[:-1] + 0.05
    trials[11] = ("success", shifted, np.column_stack([shifted, -shifted]))
    study = make_study(tmp_path, trials)
    band = band_of(study, range(1, 12))
    assert band.trials == 11
    early = np.quantile([*range(1, 11), 0.1], 0.5)  # at t = 0.1, everyone; trial 11 interpolated
    late = np.quantile([1, 2, 3, 4, 5, 0.5], 0.5)  # at t = 0.5, only 1..5 and trial 11
    assert band.median[1, 0] == pytest.approx(early)
    assert band.median[5, 0] == pytest.approx(late)
    assert band.median[10, 0] == pytest.approx(3.0)  # t = 1.0: past trial 11's last sample


def test_memory_lean_path_holds_one_component_in_float32(tmp_path: Path):
    rng = np.random.default_rng(0)
    time = np.arange(400) * 0.01
    trials = {t: ("success", time, rng.normal(size=(400, 2))) for t in range(300)}
    study = make_study(tmp_path, trials)
    full = band_of(study, range(300))  # float64, both components at once: 1.9 MB
    budget = 400 * 300 * 4  # one component in float32, and not a byte more
    tracemalloc.start()
    lean = band_of(study, range(300), budget)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 400 * 300 * 8  # less than one float64 component's matrix
    for name in ("low", "median", "high"):
        np.testing.assert_allclose(getattr(lean, name), getattr(full, name), rtol=1e-6, atol=1e-6)


def test_signal_envelopes_writes_a_png_and_says_when_nothing_was_recorded(tmp_path: Path):
    trials = {0: ("success", TIME, constant(1)), 1: ("unstable", TIME[:3], constant(9, TIME[:3]))}
    study = make_study(tmp_path / "study", trials)
    statuses = envelopes.trial_statuses(study / "trials.parquet")
    out = envelopes.signal_envelopes(study, "s", statuses, tmp_path / "s.png")
    assert matplotlib.image.imread(out).std() > 0.01
    missing = envelopes.signal_envelopes(study, "qpos:nothing", statuses, tmp_path / "none.png")
    assert missing.exists()


def test_show_plot_writes_a_picture_of_the_trial(tmp_path: Path, capsys):
    time = np.arange(200) * 0.01
    values = np.column_stack([np.sin(time * 9), np.cos(time * 9)])
    study = make_study(tmp_path / "study", {3: ("success", time, values)})
    (study / "trial_0003" / "model.xml").write_text("<mujoco/>\n")
    out = tmp_path / "plot.png"
    assert cli.main(["show", str(study), "3", "--plot", str(out)]) == 0
    assert f"signals plotted: {out}" in capsys.readouterr().out
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 100 and image[..., :3].std() > 0.05  # not blank
    assert cli.main(["show", str(study), "3", "--plot", str(tmp_path / "plot.txt")]) == 2
    assert "cannot write a .txt file" in capsys.readouterr().err
    (study / "trial_0003" / SIGNALS_FILE).unlink()
    assert cli.main(["show", str(study), "3", "--plot", str(out)]) == 1
    assert f"has no {SIGNALS_FILE}" in capsys.readouterr().err


def planned_jobs(done) -> set[str]:
    """The rules in the job stats table Snakemake prints (``envelopes     1``)."""
    return set(re.findall(r"^(\w+) +\d+$", done.stdout + done.stderr, re.MULTILINE))


@pytest.mark.slow
def test_envelopes_rule_only_with_signals(workflow: Workflow):
    config = ball_config(
        n_trial=6, n_proc=1, duration=0.1, metrics="tests.trial_models:checked_metrics",
        parameters={"mass": {"dist": "uniform", "low": 0.5, "high": 2.5, "unit": "kg"}},
    )
    workflow.write_config(config)
    plan = planned_jobs(workflow.run("-n"))
    assert "aggregate" in plan and "envelopes" not in plan
    workflow.write_config(config | {"signals": {"rate": 50, "record": ["xpos:ball"]}})
    assert "envelopes" in planned_jobs(workflow.run())
    study = workflow.study_dir()
    image = matplotlib.image.imread(study / "plots" / "signals" / "xpos-ball.png")
    assert image[..., :3].std() > 0.05
    assert "envelopes: xpos:ball" in (study / ".mojo" / "logs" / "envelopes.log").read_text()
    assert "envelopes" not in planned_jobs(workflow.run("-n"))  # done: nothing to re-make
    # a signal no longer recorded: its figure goes, not left out of date beside the others
    workflow.write_config(config | {"signals": {"rate": 50, "record": ["xquat:ball"]}})
    workflow.run()
    assert sorted(p.name for p in (study / "plots" / "signals").iterdir()) == ["xquat-ball.png"]
