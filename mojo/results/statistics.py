"""Is N enough: confidence intervals of the figures a study quotes, and their running estimates.

Three kinds of figure, each an :class:`Interval` (estimate, low, high, n) at the level
``statistics.confidence`` of the study config:

* the **mean** of a metric over the successful trials: Student's t interval,
  ``mean ± t(1 - α/2, n - 1) · s / √n``. It assumes independent draws and a sample mean that is
  close to normal (the central limit theorem): right for most metrics from a few dozen trials,
  too narrow for heavy-tailed metrics or few trials. Fewer than 2 values give no interval, nor do
  values that are all equal: their t interval has zero width, a claim that the mean is known
  exactly, which a metric that is rarely other than 0 makes after 100 zeros (and ``stop_when``
  stopped on it).
* a **percentile**: the distribution-free interval between two order statistics
  ``[x(l), x(u)]``, chosen from the binomial distribution of how many draws fall below the
  true percentile, so that its coverage is at least the confidence level for any continuous
  distribution (conservative, as it is exact only at the binomial's steps) and only assumes
  independent draws. With too few trials a side has no order statistic far enough out (the upper
  bound of p95 at 95 % needs 72 trials): that bound is None, shown empty, and says N is not enough.
* the **rate** of each status among the finished trials: the Wilson score interval, which stays
  inside [0, 1] and is informative at 0 and n occurrences (0 failures in 200 trials: below
  1.9 % at 95 %), where the textbook ``p ± z√(p(1-p)/n)`` collapses to a point.

The estimates themselves are those of the summary table (``numpy.mean``, ``numpy.percentile``
with linear interpolation), so an interval always belongs to the figure printed beside it. Every
interval assumes independent, identically distributed trials: with ``sampling: random`` they
are; ``sobol`` and ``lhs`` usually make them conservative; under ``saltelli`` the trials share
coordinates, so read them as rough. Trial 0 (the nominal trial) counts as one of the trials, as in
the rest of the summary.

Costs: only ``scipy.special`` is imported (0.15 s, against 0.35 s for ``scipy.stats``; the
aggregate's start-up is part of every study's wall time); a percentile interval is a sort and a
few binomial evaluations, so the running estimates of 100,000 trials of 8 metrics take 0.15 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy import special

MEAN = "mean"
RATE = "rate"
LOW, HIGH = "_low", "_high"
"""Suffixes of an interval's bounds in the summary's column names (``mean_low``, ``p95_high``)."""
CONFIDENCE_COLUMN = "confidence"
RUNNING_POINTS = 50
"""How many trial counts (log-spaced) the running estimates are computed at."""


@dataclass(frozen=True)
class Interval:
    """A figure and its confidence interval over ``n`` values; None where it does not exist."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (None while a bound is missing)."""
        return None if self.low is None or self.high is None else (self.high - self.low) / 2


def percentile_name(percentile: float) -> str:
    """The name of a percentile's figure and summary column: ``p5``, ``p50``, ``p97.5``."""
    return f"p{percentile:g}"


def figure_names(percentiles: Iterable[float]) -> list[str]:
    """The figures quoted per metric: the mean, then each percentile."""
    return [MEAN, *map(percentile_name, percentiles)]


def summary_columns(percentiles: Iterable[float]) -> list[str]:
    """The summary's interval columns, in order (the mean's estimate is the summary's own ``mean``
    column; each percentile's estimate gets a column here; ``rate`` is a status row's)."""
    columns = [MEAN + LOW, MEAN + HIGH]
    for name in map(percentile_name, percentiles):
        columns += [name, name + LOW, name + HIGH]
    return [*columns, RATE, RATE + LOW, RATE + HIGH, CONFIDENCE_COLUMN]


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def mean_interval(values: np.ndarray, confidence: float) -> Interval:
    """Student's t interval of the mean (see the module docstring for what it assumes)."""
    n = len(values)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = float(np.mean(values))
    if n < 2 or np.all(values == values[0]):  # zero width would claim the mean known exactly
        return Interval(mean, None, None, n)
    t = float(special.stdtrit(n - 1, (1 + confidence) / 2))
    half = t * float(np.std(values, ddof=1)) / math.sqrt(n)
    return Interval(mean, _number(mean - half), _number(mean + half), n)


def _smallest_k(n: int, q: float, level: float) -> int:
    """The smallest k in 0..n with P(Binomial(n, q) <= k) >= level."""
    guess = special.bdtrik(level, n, q)
    k = int(np.clip(math.ceil(guess), 0, n)) if math.isfinite(guess) else 0
    while k > 0 and special.bdtr(k - 1, n, q) >= level:
        k -= 1
    while k < n and special.bdtr(k, n, q) < level:
        k += 1
    return k


def order_statistic_bounds(n: int, percentile: float, confidence: float) -> tuple[int | None, int | None]:
    """0-based indices ``(l, u)`` into ``n`` sorted draws such that ``[x[l], x[u]]`` covers the
    ``percentile`` with probability at least ``confidence``, each tail at most ``α/2``; None for a
    side that no order statistic reaches with so few draws.

    With B the cdf of Binomial(n, q): P(x[l] > ξ_q) = B(l) and P(x[u] < ξ_q) = 1 - B(u), so ``l``
    is the largest index with B(l) <= α/2 and ``u`` the smallest with B(u) >= 1 - α/2.
    """
    if n == 0:
        return None, None
    q, tail = percentile / 100, (1 - confidence) / 2
    above = _smallest_k(n, q, tail)  # the first k with B(k) >= tail; l is it or the one before
    low = above if special.bdtr(above, n, q) <= tail else above - 1
    high = _smallest_k(n, q, 1 - tail)
    return (low if low >= 0 else None), (high if high < n else None)


def percentile_interval(
    values: np.ndarray, percentile: float, confidence: float, *, presorted: bool = False
) -> Interval:
    """The percentile (linear interpolation, as ``numpy.percentile``) with its distribution-free
    order-statistic interval (see :func:`order_statistic_bounds`)."""
    n = len(values)
    if n == 0:
        return Interval(None, None, None, 0)
    ordered = values if presorted else np.sort(values)
    low, high = order_statistic_bounds(n, percentile, confidence)
    return Interval(
        float(np.percentile(ordered, percentile)),
        None if low is None else float(ordered[low]),
        None if high is None else float(ordered[high]),
        n,
    )


def rate_interval(count: int, n: int, confidence: float) -> Interval:
    """The share ``count / n`` with its Wilson score interval (exactly 0 at 0 occurrences and
    exactly 1 at ``n``)."""
    if n == 0:
        return Interval(None, None, None, 0)
    z = special.ndtri((1 + confidence) / 2)
    share = count / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    low = 0.0 if count == 0 else max(0.0, float(centre - half))
    high = 1.0 if count == n else min(1.0, float(centre + half))
    return Interval(share, low, high, n)


def metric_figures(
    values: np.ndarray, percentiles: Sequence[float], confidence: float
) -> dict[str, Interval]:
    """The mean and each percentile of ``values`` (finite numbers) with their intervals, by
    :func:`figure_names`."""
    ordered = np.sort(values)
    figures = {MEAN: mean_interval(ordered, confidence)}
    for p in percentiles:
        figures[percentile_name(p)] = percentile_interval(ordered, p, confidence, presorted=True)
    return figures


def interval_row(figures: dict[str, Interval]) -> dict[str, float | None]:
    """A summary row's interval columns (see :func:`summary_columns`) from :func:`metric_figures`."""
    row = {}
    for name, interval in figures.items():
        if name != MEAN:
            row[name] = interval.estimate
        row[name + LOW], row[name + HIGH] = interval.low, interval.high
    return row


def rate_row(interval: Interval) -> dict[str, float | None]:
    """A status row's interval columns."""
    return {RATE: interval.estimate, RATE + LOW: interval.low, RATE + HIGH: interval.high}


def format_interval(
    interval: Interval, confidence: float, shown: Callable[[float], str] = "{:.4g}".format, unit: str = ""
) -> str:
    """``97.0 % (95 % CI 95.1–98.2)``: a figure and its interval as ``mojo status`` prints it
    (an en dash between the bounds, which may be negative), each number written by ``shown``;
    a missing bound is written ``?`` (too few trials for it)."""
    def text(value: float | None) -> str:
        return "?" if value is None else shown(value)

    level = f"{100 * confidence:g} % CI"
    return f"{text(interval.estimate)}{unit} ({level} {text(interval.low)}–{text(interval.high)})"


def percent(share: float) -> str:
    """A share as a percentage with one decimal, or two significant digits below 1 %
    (``97.0``, ``0.019``), so that the bound of a rare status stays readable."""
    value = 100 * share
    if value == 0 or value >= 1:
        return f"{value:.1f}"
    return f"{value:.{1 - math.floor(math.log10(value))}f}"


# --- running estimates ---------------------------------------------------------------------------


RUNNING_START = 10
"""The first trial count of the running estimates (of a study of more trials): below it a mean's
interval is so wide that it would set the plot's scale."""


def trial_counts(n: int, points: int = RUNNING_POINTS) -> np.ndarray:
    """About ``points`` log-spaced trial counts from :data:`RUNNING_START` (from 2 for a smaller
    study) to ``n``, the last one ``n``."""
    if n < 1:
        return np.array([], dtype=int)
    start = RUNNING_START if n > RUNNING_START else min(2, n)
    return np.unique(np.geomspace(start, n, points).round().astype(int))


def running_estimates(
    statuses: Sequence[str],
    metrics: dict[str, np.ndarray],
    percentiles: Sequence[float],
    confidence: float,
    status_names: Sequence[str],
    points: int = RUNNING_POINTS,
) -> list[dict]:
    """The figures over the first N trials (in trial order) for :func:`trial_counts` N: one
    record per N and figure, with keys ``trials`` (N), ``name`` (a metric or a status),
    ``figure`` (``mean``, ``p95``, ``rate``), ``estimate``, ``low``, ``high``, ``n`` (values it
    is over). ``statuses`` holds each trial's status and ``metrics`` each metric's value per trial
    (NaN where missing), both in trial order; a metric's figures are over the successful trials
    with a finite value, as in the summary. The records at N = all trials are the full sample's.
    """
    statuses = np.asarray(statuses, dtype=object)
    ok = statuses == "success"
    records = []
    for trials in trial_counts(len(statuses), points):
        first = statuses[:trials]
        for status in status_names:
            interval = rate_interval(int(np.sum(first == status)), int(trials), confidence)
            records.append(_record(trials, status, RATE, interval))
        for name, column in metrics.items():
            values = np.asarray(column[:trials], dtype=float)[ok[:trials]]
            figures = metric_figures(values[np.isfinite(values)], percentiles, confidence)
            records += [_record(trials, name, figure, interval) for figure, interval in figures.items()]
    return records


def _record(trials: int, name: str, figure: str, interval: Interval) -> dict:
    return {
        "trials": int(trials), "name": name, "figure": figure, "estimate": interval.estimate,
        "low": interval.low, "high": interval.high, "n": interval.n,
    }
