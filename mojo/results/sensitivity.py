"""Which parameters drive each metric, and which drive failures: ``sensitivity.csv``.

From the trials table (``trials.parquet``), for every metric and the objective, each parameter's
importance with a confidence interval:

* ``spearman``: rank correlation of the parameter with the metric over the successful trials;
* ``prcc``: partial rank correlation, the rank correlation left once the ranks of every other
  varying parameter are regressed out (a choice enters as indicator columns);
* ``kruskal_eta2``: for a choice of strings, booleans or lists (whose order means nothing, so a
  rank correlation on it would not either): the Kruskal-Wallis effect size
  eta^2_H = (H - k + 1) / (n - k) for k levels, the share of the metric's rank variance its levels
  explain beyond chance (about 0 when they explain nothing, so that its interval can hold 0);
* ``sobol_S1``, ``sobol_ST``: first- and total-order Sobol indices from SALib, only for a study
  sampled with ``sampling: saltelli`` and only where every Saltelli trial has a value (the
  estimator needs each row of the design).

Intervals: Fisher z with the Fieller-Hartley-Pearson variance 1.06 / (n - 3 - k) for the rank
correlations (k = the number of controlled columns: 0 for Spearman), closed form and so free
for 100,000 trials; a percentile bootstrap for eta^2_H (no closed form); SALib's bootstrap for
Sobol indices. The nominal trial is left out: it is not a draw.

For the status (``metric`` = ``status``): which parameters separate the successful trials from
the others. ``auc`` is the probability that a trial that did not succeed has the larger value
(0.5: no separation; it sees a threshold or a trend, not a band in the middle: the binned
failure rate shows those), with DeLong's interval; a choice gets ``cramers_v``, Bergsma's
bias-corrected Cramér's V (0: none, 1: the level decides), with a bootstrap interval;
``failure_rate`` is the share of trials that did not succeed in each quantile bin (or level) of
the parameter, with Wilson intervals. Where an estimate cannot be made (too few trials, a constant
metric, a parameter that did not vary) the row says why in ``note``.

SALib has no rank correlations, so those are here (a rank transform and a least-squares fit);
Sobol indices are SALib's. Cost: the rank measures are closed form (well under a second for
100,000 trials); each choice costs :data:`BOOTSTRAP` Kruskal-Wallis tests per metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

from mojo.config.distributions import Choice, Constant
from mojo.config.study import StudyConfig
from mojo.results.plots import metric_columns
from mojo.results.statistics import rate_interval
from mojo.trials import sampling
from mojo.trials.files import atomic_output
from mojo.trials.sampling import NOMINAL_TRIAL

COLUMNS = ("metric", "parameter", "method", "estimate", "low", "high", "n", "bin", "note")
"""``sensitivity.csv``'s columns: one row per (metric, parameter, method[, bin])."""
STATUS = "status"
"""The ``metric`` of the failure-driver rows."""
NUMERIC, CHOICE = "numeric", "choice"
CHOICE_EFFECT = "kruskal_eta2"
"""The ``method`` of a choice's effect on a metric (the ranked parameters' is ``prcc``)."""
MIN_TRIALS = 5
"""Fewest trials with a value for any estimate (a Fisher interval needs n > 3 + k)."""
BOOTSTRAP = 200
"""Resamples of a bootstrap interval: enough for a 95% percentile interval's ends to +-0.02."""
MAX_BINS = 10
TRIALS_PER_BIN = 20
"""Quantile bins of the failure rate: as many as give about this many trials each, 2 to 10."""
SECOND_ORDER = False
"""Saltelli designs (mojo.trials.sampling) hold N * (D + 2) rows: first and total order only."""
BOOTSTRAP_SEED = 1
"""Seed of every bootstrap here and of SALib's (which ignores a seed of 0: unseeded, its intervals
would change from run to run), so that sensitivity.csv is the same for the same trials."""


@dataclass(frozen=True)
class Parameters:
    """How each parameter enters: :data:`NUMERIC` (ranked), :data:`CHOICE` (levels), or skipped
    with the reason."""

    kinds: Mapping[str, str]
    skipped: Mapping[str, str]


def study_parameters(study: StudyConfig) -> Parameters:
    """Overrides and constants did not vary; a choice of numbers is ranked by value (its order
    means something), any other choice is a set of levels."""
    kinds, skipped = {}, {}
    for name, dist in study.parameters.items():
        if name in study.overrides:
            skipped[name] = f"fixed by overrides to {study.overrides[name]!r}"
        elif isinstance(dist, Constant):
            skipped[name] = "a constant"
        elif isinstance(dist, Choice) and not all(_is_number(v) for v in dist.values):
            kinds[name] = CHOICE
        else:
            kinds[name] = NUMERIC
    return Parameters(kinds, skipped)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def saltelli_problem(study: StudyConfig) -> dict | None:
    """SALib's problem for a study sampled with ``sampling: saltelli``, else None."""
    return sampling.saltelli_problem(study) if study.sampling == "saltelli" else None


# --- the table ---------------------------------------------------------------------------------


def sensitivity_table(
    table: pd.DataFrame, parameters: Parameters, level: float = 0.95, problem: dict | None = None
) -> pd.DataFrame:
    """Every row of ``sensitivity.csv`` (see the module's docstring) from the trials table."""
    drawn = table[table["trial"] != NOMINAL_TRIAL]
    rows: list[dict] = []
    for metric in metric_columns(table, [*parameters.kinds, *parameters.skipped]):
        rows += _metric_rows(drawn, metric, parameters, level)
        if problem is not None:
            rows += _sobol_rows(table, metric, problem, level)
    rows += _failure_rows(drawn, parameters, level)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_sensitivity(table: pd.DataFrame, path: str | Path, **kwargs) -> pd.DataFrame:
    """:func:`sensitivity_table` (``kwargs`` are its) written atomically to ``path``."""
    result = sensitivity_table(table, **kwargs)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(Path(path)) as tmp:
        result.to_csv(tmp, index=False, float_format="%.6g")
    return result


def _row(
    metric: str,
    parameter: str,
    method: str,
    estimate=np.nan,
    low=np.nan,
    high=np.nan,
    n: int = 0,
    bin: str = "",
    note: str = "",
) -> dict:
    return dict(zip(COLUMNS, (metric, parameter, method, estimate, low, high, n, bin, note)))


def _varies(values: pd.Series) -> bool:
    return values.dropna().astype(str).nunique() > 1


def _skipped_rows(metric: str, parameters: Parameters, method: str) -> list[dict]:
    return [
        _row(metric, p, method, note=f"skipped: did not vary ({why})")
        for p, why in parameters.skipped.items()
    ]


# --- rank correlations of a metric -------------------------------------------------------------


def _metric_rows(drawn: pd.DataFrame, metric: str, parameters: Parameters, level: float) -> list[dict]:
    ok = drawn[drawn["status"] == "success"]
    ok = ok[np.isfinite(ok[metric].to_numpy(dtype=float))]
    rows = _skipped_rows(metric, parameters, "prcc")
    why = _not_enough(ok, metric)
    varying = {p: k for p, k in parameters.kinds.items() if _varies(ok[p])}
    for name, kind in parameters.kinds.items():
        method = "prcc" if kind == NUMERIC else CHOICE_EFFECT
        if why or name not in varying:
            note = why or f"skipped: did not vary over the {len(ok)} successful trials with a value"
            rows.append(_row(metric, name, method, n=len(ok), note=note))
    if why:
        return rows
    y = _ranks(ok[metric].to_numpy(dtype=float))
    ranks = {p: _ranks(ok[p].to_numpy(dtype=float)) for p, k in varying.items() if k == NUMERIC}
    levels = {p: ok[p].astype(str).to_numpy() for p, k in varying.items() if k == CHOICE}
    for name, x in ranks.items():
        controls = [r for p, r in ranks.items() if p != name] + [_indicators(v) for v in levels.values()]
        rows.append(_correlation_row(metric, name, "spearman", x, y, np.empty((len(y), 0)), level))
        rows.append(
            _correlation_row(metric, name, "prcc", x, y, np.column_stack([np.ones(len(y)), *controls]), level)
        )
    for name, values in levels.items():
        rows.append(_eta_row(metric, name, values, y, level))
    return rows


def _not_enough(ok: pd.DataFrame, metric: str) -> str:
    if len(ok) < MIN_TRIALS:
        return f"not enough data: {len(ok)} successful trials with a value (needs {MIN_TRIALS})"
    if ok[metric].nunique() < 2:
        return f"not enough data: the metric is constant ({ok[metric].iloc[0]:.6g}) over {len(ok)} trials"
    return ""


def _indicators(values: np.ndarray) -> np.ndarray:
    """One 0/1 column per level but the first (the first is the intercept's)."""
    levels = list(dict.fromkeys(values))
    return np.column_stack([values == level for level in levels[1:]]).astype(float)


def _residual(target: np.ndarray, design: np.ndarray) -> np.ndarray:
    if design.shape[1] == 0:
        return target
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    return target - design @ coefficients


def _correlation_row(metric, name, method, x, y, controls, level) -> dict:
    """Pearson correlation of the residual ranks; Fisher z interval with k controlled columns
    (the intercept is not one: plain Spearman has k = 0 and subtracts the mean as well)."""
    k = max(controls.shape[1] - 1, 0)
    n = len(y)
    if n - 3 - k <= 0:
        return _row(metric, name, method, n=n, note=f"not enough data: {n} trials for {k} other parameters")
    rx, ry = _residual(x, controls), _residual(y, controls)
    if np.std(rx) < 1e-12 * max(np.std(x), 1):
        return _row(metric, name, method, n=n, note="not estimable: the other parameters determine this one")
    r = float(np.clip(np.corrcoef(rx, ry)[0, 1], -1, 1))
    z, half = (
        np.arctanh(np.clip(r, -0.999999, 0.999999)),
        _normal_quantile(level) * np.sqrt(1.06 / (n - 3 - k)),
    )
    return _row(
        metric, name, method, r, min(np.tanh(z - half), r), max(np.tanh(z + half), r), n
    )  # r = +-1 too


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their mean rank (scipy.stats.rankdata's default, without importing
    scipy.stats: 0.4 s in Snakemake's process, paid by every run)."""
    return pd.Series(values).rank(method="average").to_numpy()


def _normal_quantile(level: float) -> float:
    return float(special.ndtri(0.5 + level / 2))


def _eta_squared(codes: np.ndarray, ranks: np.ndarray) -> float:
    """Kruskal-Wallis (H - k + 1) / (n - k) for the levels ``codes`` (0 .. k - 1) and the ranks,
    H = (n - 1) * between-level / total sum of squares of the ranks (the tie-corrected H); 0
    where one level or one value is all there is (as in a bootstrap resample)."""
    counts = np.bincount(codes)
    present = counts > 0
    k, n = int(present.sum()), len(ranks)
    total = float(np.sum((ranks - ranks.mean()) ** 2))
    if k < 2 or n <= k or total == 0:
        return 0.0
    means = np.bincount(codes, weights=ranks)[present] / counts[present]
    h = (n - 1) * float(np.sum(counts[present] * (means - ranks.mean()) ** 2)) / total
    return (h - k + 1) / (n - k)


def _eta_row(metric, name, values, y, level) -> dict:
    """The bootstrap resamples trials with their ranks in the whole sample (no sort per resample:
    a second for 100,000 trials)."""
    codes = np.unique(values, return_inverse=True)[1]
    estimate = _eta_squared(codes, y)
    low, high = _bootstrap(lambda i: _eta_squared(codes[i], y[i]), len(y), level)
    return _row(metric, name, CHOICE_EFFECT, estimate, low, high, len(y))


def _bootstrap(statistic, n: int, level: float) -> tuple[float, float]:
    """Percentile interval of ``statistic(indices)`` over resampled trials (seeded: the same
    table gives the same interval)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = [statistic(rng.integers(0, n, n)) for _ in range(BOOTSTRAP)]
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


# --- Sobol indices -----------------------------------------------------------------------------


def _sobol_rows(table: pd.DataFrame, metric: str, problem: dict, level: float) -> list[dict]:
    """S1 and ST of each design parameter from the Saltelli trials 1 .. n - 1, in trial order."""
    names = list(problem["names"])
    design = table[table["trial"] != NOMINAL_TRIAL].sort_values("trial")
    y = design[metric].to_numpy(dtype=float, copy=True)
    y[design["status"].to_numpy() != "success"] = np.nan
    rows_per_base = len(names) + 2
    why = ""
    if len(y) == 0 or len(y) % rows_per_base or not np.array_equal(design["trial"], np.arange(1, len(y) + 1)):
        why = f"not a whole Saltelli design: {len(y)} trials after the nominal one, not N * {rows_per_base}"
    elif (missing := int(np.sum(~np.isfinite(y)))) > 0:
        why = (
            f"skipped: {missing} of {len(y)} Saltelli trials did not succeed or have no value; "
            "Sobol indices need every row of the design (see prcc)"
        )
    elif np.ptp(y) == 0:
        why = "not enough data: the metric is constant"
    if why:
        return [_row(metric, p, f"sobol_{i}", n=len(y), note=why) for p in names for i in ("S1", "ST")]
    from SALib.analyze import sobol

    indices = sobol.analyze(problem, y, calc_second_order=SECOND_ORDER, conf_level=level, seed=BOOTSTRAP_SEED)
    return [
        _row(
            metric,
            p,
            f"sobol_{i}",
            indices[i][j],
            indices[i][j] - indices[f"{i}_conf"][j],
            indices[i][j] + indices[f"{i}_conf"][j],
            len(y),
        )
        for j, p in enumerate(names)
        for i in ("S1", "ST")
    ]


# --- failure drivers ---------------------------------------------------------------------------


def _failure_rows(drawn: pd.DataFrame, parameters: Parameters, level: float) -> list[dict]:
    failed = (drawn["status"] != "success").to_numpy()
    rows = _skipped_rows(STATUS, parameters, "auc")
    why = ""
    if len(drawn) < MIN_TRIALS:
        why = f"not enough data: {len(drawn)} trials (needs {MIN_TRIALS})"
    elif failed.all() or not failed.any():
        why = (
            f"nothing to separate: {'no' if failed.all() else 'every'} trial succeeded ({len(drawn)} trials)"
        )
    for name, kind in parameters.kinds.items():
        method = "auc" if kind == NUMERIC else "cramers_v"
        if why or not _varies(drawn[name]):  # why: the table may lack the column (no trial at all)
            rows.append(_row(STATUS, name, method, n=len(drawn), note=why or "skipped: did not vary"))
            continue
        known = drawn[name].notna().to_numpy()
        if kind == NUMERIC:
            x = drawn[name].to_numpy(dtype=float)[known]
            rows.append(
                _row(
                    STATUS,
                    name,
                    method,
                    *_delong(x[failed[known]], x[~failed[known]], level),
                    int(known.sum()),
                )
            )
            rows += _rate_rows(name, quantile_bins(x), failed[known], level)
        else:
            values = drawn[name].astype(str).to_numpy()
            codes, failures = np.unique(values, return_inverse=True)[1], failed.astype(int)
            estimate = _cramers_v(codes, failures)
            interval = _bootstrap(lambda i: _cramers_v(codes[i], failures[i]), len(values), level)
            rows.append(_row(STATUS, name, method, estimate, *interval, len(values)))
            rows += _rate_rows(name, values, failed, level)
    return rows


def quantile_bins(x: np.ndarray) -> np.ndarray:
    """Each value's bin, as the text ``[low, high)`` (the last bin ``[low, high]``): quantile
    bins of about :data:`TRIALS_PER_BIN` trials, 2 to :data:`MAX_BINS` of them, fewer where
    values repeat; a parameter of no more values than that (an ``integer`` of a few) gets one
    bin ``[v, v]`` per value, since the last quantile bin, closed, would hold its two largest
    values together (a failure at 1 of 0, 1, 2 read as a rate of 0.5 over ``[1, 2]``)."""
    count = int(np.clip(len(x) // TRIALS_PER_BIN, 2, MAX_BINS))
    levels = np.unique(x)
    if len(levels) <= count:
        labels = [f"[{v}, {v}]" for v in map(_exact_text, levels)]
        return np.array(labels, dtype=object)[np.searchsorted(levels, x)]
    edges = np.unique(np.quantile(x, np.linspace(0, 1, count + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    shown = _edge_texts(edges)
    labels = [
        f"[{low}, {high}{']' if i == len(edges) - 2 else ')'}"
        for i, (low, high) in enumerate(zip(shown[:-1], shown[1:]))
    ]
    return np.array(labels, dtype=object)[index]


def _edge_texts(edges: np.ndarray) -> list[str]:
    """The edges to 4 significant digits, or as many more as keep them apart: a tolerance study
    (1 +- 0.0001) would otherwise give every bin the label ``[1, 1)``, and its rows, which the
    label keys, would merge into one."""
    for digits in range(4, 18):
        texts = [f"{edge:.{digits}g}" for edge in edges]
        if len(set(texts)) == len(texts):
            return texts
    return [repr(float(edge)) for edge in edges]


def _exact_text(value: float) -> str:
    """A value as the shortest text that reads back as it (``12345``, ``0.1``)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def bin_edges(label: str) -> tuple[float, float] | None:
    """``(low, high)`` of a :func:`quantile_bins` label; None for a choice's level."""
    match = re.fullmatch(r"\[(\S+), (\S+)[\)\]]", label)
    return (float(match[1]), float(match[2])) if match else None


def _delong(positives: np.ndarray, negatives: np.ndarray, level: float) -> tuple[float, float, float]:
    """AUC = P(positive > negative) + P(tie) / 2 and DeLong's normal interval (from midranks,
    as Sun and Xu 2014), clipped to [0, 1]; degenerate (zero width) under perfect separation."""
    m, n = len(positives), len(negatives)
    together = _ranks(np.concatenate([positives, negatives]))
    v01 = (together[:m] - _ranks(positives)) / n
    v10 = 1 - (together[m:] - _ranks(negatives)) / m
    auc = float(v01.mean())
    variance = (np.var(v01, ddof=1) if m > 1 else 0.0) / m + (np.var(v10, ddof=1) if n > 1 else 0.0) / n
    half = _normal_quantile(level) * np.sqrt(variance)
    return auc, max(auc - half, 0.0), min(auc + half, 1.0)


def _cramers_v(codes: np.ndarray, failed: np.ndarray) -> float:
    """Association of a choice's level (``codes``, 0 .. k - 1) with not succeeding, 0 (none) to 1
    (the level decides): Cramér's V with Bergsma's (2013) bias correction, so that levels
    unrelated to failing give about 0 rather than sqrt((k - 1) / n)."""
    counts = np.bincount(codes * 2 + failed, minlength=2 * (codes.max() + 1)).reshape(-1, 2)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    n = counts.sum()
    if min(counts.shape) < 2 or n < 3:
        return 0.0
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    phi2 = float(np.sum((counts - expected) ** 2 / expected)) / n
    rows, columns = counts.shape
    phi2 = max(0.0, phi2 - (rows - 1) * (columns - 1) / (n - 1))
    rows, columns = rows - (rows - 1) ** 2 / (n - 1), columns - (columns - 1) ** 2 / (n - 1)
    return float(np.sqrt(phi2 / max(min(rows, columns) - 1, 1e-12)))


def _rate_rows(name: str, bins: np.ndarray, failed: np.ndarray, level: float) -> list[dict]:
    """The share of trials that did not succeed in each bin (in the bins' order), Wilson intervals."""
    rows = []
    for label in pd.unique(pd.Series(bins).sort_values(key=_bin_order)):
        inside = bins == label
        k, n = int(failed[inside].sum()), int(inside.sum())
        interval = rate_interval(k, n, level)
        rows.append(_row(STATUS, name, "failure_rate", k / n, interval.low, interval.high, n, bin=str(label)))
    return rows


def _bin_order(labels: pd.Series) -> pd.Series:
    """Quantile bins by their low edge; levels of a choice as they are."""
    edges = [bin_edges(label) for label in labels]
    return pd.Series([e[0] for e in edges], index=labels.index) if all(edges) else labels


def ranked_parameters(result: pd.DataFrame, metric: str, methods: Sequence[str]) -> list[str]:
    """Parameters with an estimate for ``metric`` by one of ``methods``, most important first
    (by the distance of the estimate from no effect: |r|, eta^2_H, |2 AUC - 1|, V)."""
    rows = result[(result["metric"] == metric) & result["method"].isin(methods) & result["estimate"].notna()]
    return list(rows.assign(score=importance(rows)).sort_values("score", ascending=False)["parameter"])


def clear_effect(rows: pd.DataFrame) -> np.ndarray:
    """Whether each row's interval leaves out no effect (0.5 for an AUC, 0 for the others)."""
    none = np.where(rows["method"] == "auc", 0.5, 0.0)
    return ((rows["low"] > none) | (rows["high"] < none)).to_numpy()


def importance(rows: pd.DataFrame) -> np.ndarray:
    """Each row's effect size on a 0-to-1 scale (0: none): |2 AUC - 1| for an AUC, |estimate| else."""
    return np.where(rows["method"] == "auc", (2 * rows["estimate"] - 1).abs(), rows["estimate"].abs())
