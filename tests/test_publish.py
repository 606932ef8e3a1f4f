"""What a researcher publishes from a study (helper P, adversarial round): each test states a figure
that mojo quoted wrongly, checked against a known answer (a distribution's exact quantiles, a
sample whose interval cannot be known), and failed before its fix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from mojo.config.distributions import TruncatedNormal
from mojo.config.study import load_study
from mojo.results import statistics as stats
from mojo.results import stopping
from mojo.results.sensitivity import NUMERIC, Parameters, bin_edges, sensitivity_table
from mojo.trials.files import BatchManifest, TrialRow, write_model
from tests.conftest import ball_config

# --- truncated normal far in a tail ------------------------------------------------------------

TAILS = [(8.0, 9.0), (-9.0, -8.0), (7.0, 7.5), (30.0, 31.0), (-31.0, -30.0)]
"""Ranges (in standard deviations from the mean) wholly on one side of the mean."""


@pytest.mark.parametrize(("low", "high"), TAILS)
def test_truncnormal_in_a_tail_has_its_exact_quantiles(low, high):
    """``1 + erf`` kept only the CDF's digits above 1e-16: at 8 standard deviations above the mean
    every draw was one of 6 values (the median 8.077, not 8.085), beyond 8.3 every draw was ``low``,
    and 8 below was off in the third digit. The docstring promised 'exact even far in the tails'."""
    dist = TruncatedNormal(dist="truncnormal", mean=1.0, std=0.5, low=1.0 + 0.5 * low, high=1.0 + 0.5 * high)
    u = np.array([1e-6, 0.001, 0.1, 0.5, 0.9, 0.999])
    expected = scipy_stats.truncnorm.ppf(u, low, high, loc=1.0, scale=0.5)
    assert np.allclose([dist.ppf(float(q)) for q in u], expected, rtol=1e-12, atol=0)
    draws = np.array([dist.draw(np.random.default_rng(seed)) for seed in range(400)])
    assert len(np.unique(draws)) == 400
    reference = scipy_stats.truncnorm(low, high, loc=1.0, scale=0.5)
    assert scipy_stats.kstest(draws, reference.cdf).pvalue > 1e-3


# --- a mean whose sample is all one value ----------------------------------------------------------


def test_identical_values_give_a_mean_no_interval():
    """A metric that is 0 unless something rare happens (a contact, a slip) gives 100 zeros one
    time in three at a 1 % rate; its t interval was [0, 0]: 'the mean is known exactly'."""
    interval = stats.mean_interval(np.zeros(100), 0.95)
    assert (interval.estimate, interval.low, interval.high, interval.half_width) == (0.0, None, None, None)
    figures = stats.metric_figures(np.full(30, 2.5), [50], 0.95)
    assert figures["mean"].low is None and figures["p50"].estimate == 2.5
    one_event = stats.mean_interval(np.r_[np.zeros(99), 1.0], 0.95)
    assert one_event.low < 0.01 < one_event.high  # any spread keeps Student's interval


def _manifest(folder, rows: list[TrialRow]):
    path = folder / f"batch_{rows[0].trial}.json"
    write_model(path, BatchManifest(first=rows[0].trial, last=rows[-1].trial, rows=rows))
    return path


def test_stop_when_does_not_stop_on_a_first_round_of_identical_values(tmp_path):
    """The rare event's metric, 30 trials of zeros: stop_when said 'mean of slip 0 ± 0: target met:
    stop' and the study ended at its first round, publishing a mean of 0 known to ± 0."""
    study = load_study(
        ball_config(n_trial=1000, stop_when={"metric": "slip", "half_width": 0.01, "first_round": 30})
    )
    rows = [
        TrialRow(trial=i, status="success", values={"x": float(i)}, metrics={"slip": 0.0}, wall_time=0.01)
        for i in range(30)
    ]
    decision = stopping.decide(study, 0, [_manifest(tmp_path, rows)], "f")
    assert decision.n == 30 and decision.half_width is None
    assert stopping.goes_on(study, decision)
    assert "no interval yet" in stopping.describe(study, decision)
    assert math.isclose(decision.estimate, 0.0)


# --- failure rate per quantile bin of a narrow parameter -------------------------------------------


def _status_table(name: str, values: np.ndarray, failed: np.ndarray) -> pd.DataFrame:
    """A trials table of one parameter (trial 0 the nominal one, which the rates leave out)."""
    status = np.where(failed, "failure", "success")
    columns = {"trial": np.arange(len(values)), "status": status, "reason": None, "objective": np.nan}
    return pd.DataFrame({**columns, "wall_time": 0.1, name: values})


def test_failure_rate_bins_of_a_tolerance_study_stay_apart():
    """A tolerance study (length 1 +- 0.0001) failing above 1.00005: its 10 quantile bins were
    labelled ``[1, 1)`` but the last, so sensitivity.csv merged 9 of them into one row with a
    failure rate of 0.5 where the bins say 0, ..., 0, 1, ..., 1."""
    x = np.random.default_rng(0).uniform(1.0, 1.0001, 201)
    table = _status_table("length", x, x > 1.00005)
    result = sensitivity_table(table, Parameters({"length": NUMERIC}, {}))
    rates = result[result["method"] == "failure_rate"]
    assert len(rates) == 10 and rates["n"].sum() == 200 and rates["bin"].is_unique
    edges = np.array([bin_edges(label) for label in rates["bin"]])
    assert (np.diff(edges[:, 0]) > 0).all() and np.allclose(edges[1:, 0], edges[:-1, 1], rtol=0, atol=1e-12)
    failing = rates["estimate"].to_numpy()
    assert set(failing[edges[:, 1] <= 1.00005]) == {0.0} and set(failing[edges[:, 0] >= 1.00005]) == {1.0}


def test_failure_rate_of_an_integer_parameter_is_per_value():
    """An integer 0..2 whose middle value always fails: the quantile edges were 0, 1, 2 and the
    last bin, closed, read ``[1, 2]``: a failure rate of 0.45 where 1 fails always and 2 never,
    hiding the band in the middle of the range that the README promises the rates show."""
    k = np.random.default_rng(0).integers(0, 3, 301)
    table = _status_table("k", k, k == 1)
    result = sensitivity_table(table, Parameters({"k": NUMERIC}, {}))
    rates = result[result["method"] == "failure_rate"].set_index("bin")
    assert list(rates.index) == ["[0, 0]", "[1, 1]", "[2, 2]"]
    assert list(rates["estimate"]) == [0.0, 1.0, 0.0] and rates["n"].sum() == 300


def test_stop_when_gives_a_percentile_its_own_bounds_not_plus_minus(tmp_path):
    """p95 of a lognormal over 400 trials: 4.38 in [3.93, 6.15]; the log line said '4.38 ± 1.11',
    which a reader copies as [3.27, 5.49]: an upper bound 0.66 too low."""
    study = load_study(
        ball_config(n_trial=400, stop_when={"metric": "e", "statistic": "p95", "half_width": 0.1})
    )
    energy = np.random.default_rng(0).lognormal(0, 1, 400)
    rows = [
        TrialRow(trial=i, status="success", values={"x": float(i)}, metrics={"e": float(e)}, wall_time=0.01)
        for i, e in enumerate(energy)
    ]
    decision = stopping.decide(study, 2, [_manifest(tmp_path, rows)], "f")
    line = stopping.describe(study, decision)
    assert decision.estimate - decision.low < decision.half_width < decision.high - decision.estimate
    assert f"p95 of e {decision.estimate:.4g} [{decision.low:.4g}, {decision.high:.4g}]" in line
    assert f"half width {decision.half_width:.3g}" in line and "±" not in line.split(":")[1]


def test_failure_rate_of_a_choice_of_lists_is_drawn_per_level(monkeypatch, tmp_path):
    """A choice of lists is written as JSON text, ``[1, 2]``, which read as a quantile bin: the
    panel drew its levels as intervals 1..2 and 3..4 of a number line titled 'per quantile bin'."""
    from mojo.results import sensitivity_plots
    from mojo.results.sensitivity import CHOICE

    gains = np.array(["[1, 2]", "[3, 4]"] * 50, dtype=object)
    result = sensitivity_table(
        _status_table("gains", gains, gains == "[3, 4]"), Parameters({"gains": CHOICE}, {})
    )
    drawn = []
    monkeypatch.setattr(sensitivity_plots, "save", lambda fig, path: drawn.append(fig))
    sensitivity_plots.failure_drivers(result, {}, tmp_path / "drivers.png")
    panel = drawn[0].axes[1]
    assert panel.get_title() == "per choice"
    assert [tick.get_text() for tick in panel.get_xticklabels()] == ["[1, 2]", "[3, 4]"]
    sensitivity_plots.plt.close(drawn[0])
