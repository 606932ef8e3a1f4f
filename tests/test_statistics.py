"""Is N enough (issue 14): the confidence intervals of the quoted figures, checked by simulation
against known distributions; the running estimates; the summary's interval columns, the summary
page and ``mojo status``; the ``statistics:`` config section and its place outside the study
fingerprint; and, end to end, the convergence plot among the default targets."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from mojo.cli import main as mojo_main
from mojo.config.study import ConfigError, StatisticsConfig, load_study
from mojo.results import statistics as stats
from mojo.results import stopping
from mojo.results.aggregate import summary_table, trials_table, write_tables
from mojo.results.plots import summary_html
from mojo.trials import layout
from mojo.trials.batch import run_batch
from mojo.trials.files import STATUSES, BatchManifest, TrialRow, write_model
from mojo.trials.record import write_study_record
from mojo.trials.targets import study_fingerprint
from tests.conftest import Workflow, ball_config, reproducible_files

REPETITIONS = 400


def _tolerance(p: float, repetitions: int = REPETITIONS) -> float:
    """Four binomial standard deviations of a coverage measured over ``repetitions`` samples: a
    correct interval fails this about once in 16,000 runs (and the seed is fixed)."""
    return 4 * math.sqrt(p * (1 - p) / repetitions)


def test_mean_interval_covers_the_true_mean_at_the_confidence_level():
    """Normal samples of 8: Student's t interval covers the mean in 95 % of cases; the normal
    approximation (z instead of t) would cover it in about 92 %, a rate of 0 % or 100 % in 400
    draws would mean a broken width."""
    rng = np.random.default_rng(14)
    samples = rng.normal(3.0, 2.0, size=(REPETITIONS, 8))
    for level in (0.95, 0.6):  # the level is no constant in the code
        intervals = [stats.mean_interval(sample, level) for sample in samples]
        coverage = np.mean([i.low <= 3.0 <= i.high for i in intervals])
        assert abs(coverage - level) <= _tolerance(level), (level, coverage)


def test_percentile_interval_covers_the_true_p95_at_least_at_the_confidence_level():
    """Exponential samples of 150 (skewed: no normal approximation would do): the order-statistic
    interval's coverage is the binomial probability B(u) - B(l) >= 95 %, and the simulation
    matches it."""
    n, q = 150, 0.95
    truth = -math.log(1 - q)  # the exponential's 95th percentile
    low, high = stats.order_statistic_bounds(n, 95, 0.95)
    exact = scipy_stats.binom.cdf(high, n, q) - scipy_stats.binom.cdf(low, n, q)
    assert 0.95 <= exact < 0.99
    rng = np.random.default_rng(15)
    intervals = [stats.percentile_interval(rng.exponential(size=n), 95, 0.95) for _ in range(REPETITIONS)]
    coverage = np.mean([i.low <= truth <= i.high for i in intervals])
    assert abs(coverage - exact) <= _tolerance(exact), (coverage, exact)
    assert all(i.low <= i.estimate <= i.high for i in intervals)


@pytest.mark.parametrize("n", [1, 5, 20, 71, 72, 150])
@pytest.mark.parametrize("percentile", [5, 50, 95, 99.5])
def test_order_statistic_bounds_are_the_binomial_tails(n: int, percentile: float):
    """l: the largest index with B(l) <= α/2; u: the smallest with B(u) >= 1 - α/2 (brute force
    over every index); None when no order statistic is far enough out."""
    cdf = scipy_stats.binom.cdf(np.arange(n), n, percentile / 100)
    lows = [k for k in range(n) if cdf[k] <= 0.025]
    highs = [k for k in range(n) if cdf[k] >= 0.975]
    expected = (max(lows) if lows else None, min(highs) if highs else None)
    assert stats.order_statistic_bounds(n, percentile, 0.95) == expected


def test_p95_needs_72_trials_for_its_upper_bound():
    assert stats.order_statistic_bounds(71, 95, 0.95)[1] is None
    assert stats.order_statistic_bounds(72, 95, 0.95)[1] == 71
    interval = stats.percentile_interval(np.arange(71.0), 95, 0.95)
    assert interval.estimate == pytest.approx(66.5) and interval.high is None and interval.half_width is None


def test_wilson_interval_at_zero_and_at_every_occurrence():
    z = scipy_stats.norm.ppf(0.975)
    none = stats.rate_interval(0, 200, 0.95)
    assert (none.estimate, none.low) == (0.0, 0.0)
    assert none.high == pytest.approx(z**2 / (200 + z**2))  # 1.9 %: what 200 clean trials say
    every = stats.rate_interval(200, 200, 0.95)
    assert (every.estimate, every.high) == (1.0, 1.0)
    assert every.low == pytest.approx(200 / (200 + z**2))
    some = stats.rate_interval(6, 200, 0.95)
    assert 0 < some.low < 0.03 < some.high < 1
    assert stats.rate_interval(0, 0, 0.95) == stats.Interval(None, None, None, 0)


def _trials(n: int = 240) -> tuple[list[str], dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    statuses = rng.choice(["success", "failure", "error"], size=n, p=[0.9, 0.07, 0.03]).tolist()
    energy = rng.lognormal(size=n)
    energy[rng.random(n) < 0.05] = np.nan  # missing in some successful trials, too
    return statuses, {"energy": energy, "angle": rng.normal(size=n)}


def test_running_estimates_end_with_the_full_sample_figures():
    statuses, metrics = _trials()
    records = stats.running_estimates(statuses, metrics, [5, 95], 0.9, STATUSES)
    counts = sorted({r["trials"] for r in records})
    assert (
        counts[0] == stats.RUNNING_START and counts[-1] == 240 and 30 <= len(counts) <= stats.RUNNING_POINTS
    )
    last = {(r["name"], r["figure"]): r for r in records if r["trials"] == 240}
    ok = np.array(statuses) == "success"
    for name, column in metrics.items():
        values = column[ok & np.isfinite(column)]
        for figure, interval in stats.metric_figures(values, [5, 95], 0.9).items():
            record = last[name, figure]
            assert (record["estimate"], record["low"], record["high"], record["n"]) == (
                interval.estimate,
                interval.low,
                interval.high,
                interval.n,
            )
    failure = stats.rate_interval(statuses.count("failure"), 240, 0.9)
    assert (last["failure", "rate"]["estimate"], last["failure", "rate"]["high"]) == (
        failure.estimate,
        failure.high,
    )
    # an earlier point is over the first N trials only
    first = {(r["name"], r["figure"]): r for r in records if r["trials"] == counts[0]}
    assert first["angle", "mean"]["estimate"] == pytest.approx(
        np.mean(metrics["angle"][: counts[0]][ok[: counts[0]]])
    )


def _rows(statuses: list[str], metrics: dict[str, np.ndarray]) -> list[TrialRow]:
    return [
        TrialRow(
            trial=i,
            status=status,
            values={"x": float(i)},
            metrics={name: float(column[i]) for name, column in metrics.items() if math.isfinite(column[i])},
            wall_time=0.01,
        )
        for i, status in enumerate(statuses)
    ]


def test_summary_has_an_interval_for_each_quoted_figure(tmp_path):
    statuses, metrics = _trials()
    rows = _rows(statuses, metrics)
    settings = StatisticsConfig(percentiles=[90, 10], confidence=0.9)
    summary = summary_table(trials_table(rows), rows, settings).to_pandas().set_index("name")
    old = ["count", "mean", "std", "min", "5%", "25%", "median", "75%", "95%", "max"]
    new = [
        "mean_low",
        "mean_high",
        "p10",
        "p10_low",
        "p10_high",
        "p90",
        "p90_low",
        "p90_high",
        "rate",
        "rate_low",
        "rate_high",
        "confidence",
    ]
    assert list(summary.columns) == ["kind", *old, *new]
    angle = summary.loc["angle"]
    assert (
        angle["mean_low"] < angle["mean"] < angle["mean_high"]
        and angle["p10_low"] < angle["p10"] < angle["p10_high"]
    )
    values = metrics["angle"][np.array(statuses) == "success"]
    expected = stats.percentile_interval(values, 90, 0.9)
    assert (angle["p90"], angle["p90_low"], angle["p90_high"]) == (
        expected.estimate,
        expected.low,
        expected.high,
    )
    assert (summary["confidence"] == 0.9).all()
    failure = stats.rate_interval(statuses.count("failure"), len(statuses), 0.9)
    assert summary.loc["failure", ["rate", "rate_low", "rate_high"]].tolist() == [
        failure.estimate,
        failure.low,
        failure.high,
    ]
    assert summary.loc["timeout", ["rate", "rate_low"]].tolist() == [0.0, 0.0]
    assert pd.isna(summary.loc["failure", "mean_low"]) and pd.isna(summary.loc["angle", "rate"])

    manifest = tmp_path / "batch.json"
    write_model(manifest, BatchManifest(first=0, last=len(rows) - 1, rows=rows))
    paths = [tmp_path / name for name in ("trials.parquet", "trials.csv", "summary.csv")]
    write_tables([manifest], *paths, settings=settings)
    assert pd.read_csv(paths[2]).columns.tolist() == ["kind", "name", *old, *new]

    page = summary_html(
        summary.reset_index(),
        trials_table(rows).to_pandas(),
        {"angle": "rad"},
        tmp_path / "summary.html",
        settings=settings,
    ).read_text()
    assert (
        "Estimates with their 90 % CI" in page
        and "<th>p10</th>" in page
        and "<th>share (90 % CI)</th>" in page
    )
    assert f"{angle['mean']:.4g} [{angle['mean_low']:.4g}, {angle['mean_high']:.4g}]" in page
    assert f"{100 * failure.estimate:.1f} % [{100 * failure.low:.1f}, {100 * failure.high:.1f}]" in page


def test_mojo_status_states_each_share_with_its_interval(tmp_path, capsys):
    config = ball_config(results_dir=str(tmp_path), n_trial=40, statistics={"confidence": 0.9})
    study = load_study(config)
    folder = write_study_record(study).parent.parent
    statuses = ["success"] * 37 + ["failure"] * 3
    for trial, status in enumerate(statuses):
        (folder / f"trial_{trial:04d}").mkdir()
        (folder / f"trial_{trial:04d}" / "result.json").write_text(json.dumps({"status": status}))
    assert mojo_main(["status", str(folder)]) == 0
    text = capsys.readouterr().out
    success, failure = stats.rate_interval(37, 40, 0.9), stats.rate_interval(3, 40, 0.9)
    assert (
        f"of 40 finished: success 92.5 % (90 % CI {100 * success.low:.1f}–{100 * success.high:.1f}), "
        f"failure 7.5 % (90 % CI {100 * failure.low:.1f}–{100 * failure.high:.1f}); "
        f"unstable, error, timeout 0.0 % each (90 % CI 0.0–{100 * stats.rate_interval(0, 40, 0.9).high:.1f})"
    ) in text
    assert mojo_main(["status", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["confidence"] == 0.9
    assert data["rates"]["failure"] == {"estimate": 0.075, "low": failure.low, "high": failure.high, "n": 40}


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"percentiles": [5, 100]},
            "statistics.percentiles = [5, 100]: 100 is not a percentile: "
            "each must lie strictly between 0 and 100",
        ),
        ({"percentiles": [-1]}, "statistics.percentiles = [-1]: -1 is not a percentile"),
        (
            {"percentiles": [50, 50.0]},
            "statistics.percentiles = [50, 50.0]: 50 given twice; each percentile once",
        ),
        ({"percentiles": ["x"]}, "statistics.percentiles.0 = 'x':"),
        (
            {"confidence": 95},
            "statistics.confidence = 95: need a level strictly between 0 and 1 (a fraction: 0.95 for 95 %)",
        ),
        ({"confidence": 0}, "statistics.confidence = 0: need a level strictly between 0 and 1"),
        ({"confidence": True}, "statistics.confidence = True: need a number, not the boolean true"),
        ({"level": 0.9}, "statistics.level = 0.9: unknown key"),
    ],
)
def test_bad_statistics_are_refused_naming_key_and_value(section, message):
    with pytest.raises(ConfigError) as error:
        load_study(ball_config(statistics=section))
    assert message in str(error.value)


def test_statistics_default_sorted_and_outside_the_fingerprint():
    default = load_study(ball_config())
    assert default.statistics == StatisticsConfig(percentiles=[5, 50, 95], confidence=0.95)
    other = load_study(ball_config(statistics={"percentiles": [99, 1], "confidence": 0.8}))
    assert other.statistics.percentiles == [1, 99]
    assert study_fingerprint(other) == study_fingerprint(default)
    assert study_fingerprint(load_study(ball_config(seed=8))) != study_fingerprint(default)


def _stop_study(**stop):
    return load_study(
        ball_config(n_trial=1000, n_proc=2, stop_when={"metric": "z", "half_width": 0.1, **stop})
    )


def test_stop_when_rounds_double_and_split_into_n_proc_jobs():
    study = _stop_study()
    assert layout.round_sizes(study) == [100, 200, 400, 800, 1000]
    assert layout.round_batches(study)[3] == [(400, 599), (600, 799)]
    assert layout.batch_ranges(study) == [b for r in layout.round_batches(study) for b in r]
    assert layout.round_sizes(_stop_study(first_round=2000)) == [1000]


def _manifest(folder, rows: list[TrialRow]):
    path = folder / f"batch_{rows[0].trial}.json"
    write_model(path, BatchManifest(first=rows[0].trial, last=rows[-1].trial, rows=rows))
    return path


def test_stop_when_decides_from_the_interval_of_every_trial_so_far(tmp_path):
    statuses, metrics = _trials(300)
    rows = _rows(statuses, {"z": metrics["energy"]})
    study = _stop_study(statistic="p95", half_width=0.5)
    manifests = [_manifest(tmp_path, rows[:100]), _manifest(tmp_path, rows[100:200])]
    decision = stopping.decide(study, 1, manifests, "f")
    values = metrics["energy"][:200][
        (np.array(statuses[:200]) == "success") & np.isfinite(metrics["energy"][:200])
    ]
    expected = stats.percentile_interval(values, 95, 0.95)
    assert (decision.trials, decision.n, decision.low, decision.high) == (
        200,
        len(values),
        expected.low,
        expected.high,
    )
    assert stopping.goes_on(study, decision) == (expected.half_width > 0.5)
    assert not stopping.goes_on(_stop_study(statistic="p95", half_width=expected.half_width), decision)
    assert not stopping.goes_on(
        load_study(
            ball_config(n_trial=200, stop_when={"metric": "z", "statistic": "p95", "half_width": 1e-9})
        ),
        decision,
    )
    with pytest.raises(
        ValueError, match="stop_when.metric = 'drop_time' is not a metric the trials return; they return: z"
    ):
        stopping.decide(_stop_study(metric="drop_time"), 1, manifests, "f")


def test_stale_stop_decisions_are_found(tmp_path):
    study = load_study(
        ball_config(results_dir=str(tmp_path), n_trial=400, stop_when={"metric": "z", "half_width": 1})
    )
    statuses, metrics = _trials(100)
    manifests = [_manifest(tmp_path, _rows(statuses, {"z": metrics["angle"]}))]
    for round_ in (0, 1):
        path = layout.stop_round_path(study, round_)
        path.parent.mkdir(parents=True, exist_ok=True)
        stopping.write_decision(study, round_, manifests, "f", path)
    assert stopping.stale_rounds(study, "f") == []
    assert stopping.stale_rounds(study, "g") == [layout.stop_round_path(study, r) for r in (0, 1)]
    other = load_study(
        ball_config(
            results_dir=str(tmp_path),
            n_trial=400,
            stop_when={"metric": "z", "statistic": "p50", "half_width": 1},
        )
    )
    assert len(stopping.stale_rounds(other, "f")) == 2
    layout.stop_round_path(study, 0).write_text("{")
    assert stopping.stale_rounds(study, "f") == [layout.stop_round_path(study, r) for r in (0, 1)]


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {"stop_when": {"metric": "z", "statistic": "p100", "half_width": 1}},
            "stop_when.statistic = 'p100': allowed: mean, or a percentile pNN strictly between 0 and 100",
        ),
        (
            {"stop_when": {"metric": "z", "statistic": "median", "half_width": 1}},
            "stop_when.statistic = 'median': allowed",
        ),
        (
            {"stop_when": {"metric": "z", "half_width": 0}},
            "stop_when.half_width = 0: Input should be greater than 0",
        ),
        ({"stop_when": {"metric": "z"}}, "stop_when.half_width: Field required"),
        (
            {"stop_when": {"metric": "objective", "half_width": 1}},
            "stop_when.metric = 'objective' needs an objective",
        ),
        (
            {"stop_when": {"metric": "status", "half_width": 1}},
            "stop_when.metric = 'status' is a parameter's name or a table column",
        ),
        (
            {"stop_when": {"metric": "z", "half_width": 1}, "sampling": "lhs"},
            "stop_when grows the study in rounds, which sampling = 'lhs' cannot",
        ),
    ],
)
def test_bad_stop_when_is_refused_naming_key_and_value(config, message):
    with pytest.raises(ConfigError) as error:
        load_study(ball_config(**config))
    assert message in str(error.value)


def test_mojo_status_states_where_stop_when_stopped(tmp_path, capsys):
    study = load_study(
        ball_config(
            results_dir=str(tmp_path),
            n_trial=40,
            stop_when={"metric": "z", "half_width": 1, "first_round": 20},
        )
    )
    folder = write_study_record(study).parent.parent
    for trial in range(30):
        (folder / f"trial_{trial:04d}").mkdir()
        (folder / f"trial_{trial:04d}" / "result.json").write_text(json.dumps({"status": "success"}))
    statuses, metrics = _trials(20)
    manifests = [_manifest(tmp_path, _rows(statuses, {"z": metrics["angle"]}))]
    layout.stop_round_path(study, 0).parent.mkdir(parents=True)
    decision = stopping.write_decision(study, 0, manifests, "f", layout.stop_round_path(study, 0))
    assert mojo_main(["status", str(folder)]) == 0
    text = capsys.readouterr().out
    assert decision.half_width <= 1  # (about 18 draws of a standard normal: ± 0.5 or so)
    assert "20 of 20 trials finished (100.0%), 0 left (stop_when stopped at 20 of n_trial = 40)" in text
    assert (
        f"stop_when: after round 0 (20 trials), "
        f"mean of z {decision.estimate:.4g} ± {decision.half_width:.3g} "
        f"(95 % CI, n = {decision.n}); target ± 1 met: the study stops at 20 trials"
    ) in text
    assert "10 finished trials numbered 20 or above, beyond the stop_when stop (not counted)" in text


@pytest.mark.slow
def test_stop_when_grows_in_rounds_to_the_trials_of_a_study_of_the_final_size(workflow: Workflow, tmp_path):
    """A loose target stops after the first round (and the report's convergence plot is drawn: a
    default target); a tighter one, with another confidence level, grows the study round by round
    to n_trial without re-making a finished trial; the trials are those of a plain study of that
    size, bit for bit."""
    loose = {"metric": "z", "half_width": 1e9, "first_round": 10}
    workflow.write_config(ball_config(n_trial=40, stop_when=loose))
    workflow.run("--keep-going", check=False)  # (whatever the other report rules do)
    study = workflow.study_dir()
    assert sorted(p.name for p in study.glob("trial_*")) == [f"trial_{i:04d}" for i in range(10)]
    summary = pd.read_csv(study / "summary.csv").set_index("name")
    assert summary.loc["success", "count"] == 10 and summary.loc["z", "confidence"] == 0.95
    plot = study / "plots" / "convergence.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    drawn = plot.stat().st_mtime_ns
    finished = {p: p.stat().st_mtime_ns for p in study.glob("trial_*/result.json")}

    # At 80 %, ± 0.05 is not reached at 40 trials (± 0.06): three rounds, 10, 20 and 40 trials.
    tight = {**loose, "half_width": 0.05}
    workflow.write_config(ball_config(n_trial=40, stop_when=tight, statistics={"confidence": 0.8}))
    workflow.run("--keep-going", check=False)
    assert len(list(study.glob("trial_*/result.json"))) == 40
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    decisions = [json.loads((study / ".mojo" / "stop" / f"round_{r}.json").read_text()) for r in range(3)]
    assert [(d["trials"], d["confidence"]) for d in decisions] == [(10, 0.8), (20, 0.8), (40, 0.8)]
    assert all(d["half_width"] > 0.05 for d in decisions)
    summary = pd.read_csv(study / "summary.csv").set_index("name")
    assert summary.loc["success", "count"] == 40 and summary.loc["z", "confidence"] == 0.8
    assert plot.stat().st_mtime_ns > drawn

    plain = load_study(ball_config(n_trial=40, results_dir=str(tmp_path / "plain")))
    run_batch(plain, 0, 39)
    assert reproducible_files(study) == reproducible_files(layout.study_dir(plain))
