"""Plots of a study's results for the Snakemake report (matplotlib, Agg backend, static PNGs).

Two layers:

* style helpers every plot uses (and other studies' plots can reuse): :func:`new_figure`,
  :func:`axis_label`, :func:`count_axis`, :func:`log_axis`, :func:`bins`, :func:`scatter`,
  :func:`note`, :func:`save`, the :data:`STATUS_COLORS` and the :data:`STYLE` (the optimiser's
  plots use them too: one look);
* one function per figure of a Monte Carlo study, each taking the trials table (the columns of
  ``trials.parquet``) and writing one file.

Plots stay readable from 10 trials to 100,000: bin counts follow the data, markers shrink and
fade as points multiply, and point clouds are rasterised so a figure stays small and quick.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # no display needed; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mojo.config.study import StatisticsConfig  # noqa: E402
from mojo.results import statistics as stats  # noqa: E402
from mojo.trials.files import STATUSES, TABLE_COLUMNS  # noqa: E402

DPI = 100
PANEL = (3.4, 2.6)
"""Inches of one panel in a grid of small plots."""
COLUMNS = 3
"""Panels per row in a grid of small plots."""

STATUS_COLORS = {
    "success": "#4c72b0",
    "failure": "#dd8452",
    "unstable": "#8172b3",
    "error": "#c44e52",
    "timeout": "#7f7f7f",
}

BAR_EDGES = {"edgecolor": "white", "linewidth": 0.4}
"""Thin white edges, so that neighbouring bars of the same height stay apart."""
MAX_SCATTER_PARAMETERS = 8
MAX_SCATTER_METRICS = 4
SLOWEST = 15

STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
}
"""The report's one look (matplotlib rcParams), for the Monte Carlo and the optimiser's plots
alike: set when this module is imported."""
plt.rcParams.update(STYLE)


# --- style helpers ---------------------------------------------------------------------------


def axis_label(name: str, unit: str | None = None) -> str:
    """``name [unit]``, or just ``name`` when the quantity has no unit."""
    return f"{name} [{unit}]" if unit else name


def new_figure(
    n_panels: int = 1, columns: int = COLUMNS, panel: tuple[float, float] = PANEL, **subplots
) -> tuple[plt.Figure, list[plt.Axes]]:
    """A figure holding ``n_panels`` small plots on a grid; unused grid cells are hidden."""
    n_panels = max(n_panels, 1)
    columns = min(columns, n_panels)
    rows = math.ceil(n_panels / columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(panel[0] * columns, panel[1] * rows),
        squeeze=False,
        layout="constrained",
        **subplots,
    )
    flat = list(axes.flat)
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Write ``fig`` (PNG unless the suffix says otherwise) and free its memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def count_axis(ax: plt.Axes, axis: str = "y", label: str = "trials") -> None:
    """Label an axis of counts and keep its ticks on whole numbers."""
    getattr(ax, f"{axis}axis").set_major_locator(
        matplotlib.ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10])
    )
    getattr(ax, f"set_{axis}label")(label)


def log_axis(ax: plt.Axes, axis: str = "x") -> None:
    """A logarithmic axis with plain numbers (2, 10, 100) rather than powers of ten."""
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"{axis}axis").set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))


def note(ax: plt.Axes, text: str) -> None:
    """Write ``text`` in the middle of an empty panel (no data to show)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
    ax.set_axis_off()


def bins(values: np.ndarray) -> np.ndarray:
    """Bin edges for a histogram: Freedman-Diaconis-like, between 5 and 60 bins; whole-number data
    with a small range gets one bin per integer."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.linspace(0, 1, 6)
    low, high = float(values.min()), float(values.max())
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    if np.all(values == np.round(values)) and high - low <= 60:
        return np.arange(low - 0.5, high + 1.5)
    count = len(np.histogram_bin_edges(values, bins="auto")) - 1
    return np.linspace(low, high, int(np.clip(count, 5, 60)) + 1)


def marker_style(n_points: int) -> dict:
    """Marker size and opacity for a cloud of ``n_points``: big and solid for a few, small and
    faint for many, so dense regions stay visible."""
    n = max(n_points, 1)
    return {
        "markersize": float(np.clip(12 / n**0.25, 1.0, 5.0)),
        "alpha": float(np.clip(4.0 / n**0.4, 0.12, 0.9)),
    }


def point_style(n_points: int) -> dict:
    """:func:`marker_style` for ``ax.scatter`` (points coloured one by one): size as an area."""
    style = marker_style(n_points)
    return {"s": style["markersize"] ** 2, "alpha": style["alpha"]}


def scatter(ax: plt.Axes, x, y, color: str = STATUS_COLORS["success"], label: str | None = None, **style):
    """A rasterised point cloud (cheap in file size and time for 100,000 points)."""
    kwargs = {**marker_style(len(x)), **style}
    ax.plot(
        x,
        y,
        linestyle="none",
        marker="o",
        markeredgewidth=0,
        color=color,
        label=label,
        rasterized=True,
        **kwargs,
    )


# --- reading the trials table ----------------------------------------------------------------


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def metric_columns(table: pd.DataFrame, parameters: Iterable[str]) -> list[str]:
    """Columns that hold metrics (and the objective, last, if any trial has one)."""
    skip = set(TABLE_COLUMNS) | set(parameters)
    metrics = [c for c in table.columns if c not in skip and is_numeric(table[c])]
    if "objective" in table and table["objective"].notna().any():
        metrics.append("objective")
    return metrics


def successful(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["status"] == "success"]


def no_success_note(table: pd.DataFrame) -> str:
    """What a panel of successful trials' values says when there are none."""
    counts = table["status"].value_counts()
    shown = ", ".join(f"{s} {int(counts[s])}" for s in STATUSES if s in counts)
    return (
        f"no trial succeeded ({len(table)} trials: {shown or 'none'}):\n"
        "see status.png and summary.html for why"
    )


def statuses_present(table: pd.DataFrame) -> list[str]:
    present = set(table["status"])
    return [s for s in STATUSES if s in present]


def _categories(series: pd.Series) -> list:
    """Distinct values of a non-numeric column in first-seen order (choice order, mostly)."""
    return list(dict.fromkeys(series.dropna().astype(str)))


# --- the Monte Carlo figures -----------------------------------------------------------------


def status_counts(table: pd.DataFrame, path: str | Path) -> Path:
    """Horizontal bars: how many trials ended with each status, with counts and shares."""
    fig, (ax,) = new_figure(1, panel=(6.0, 2.4))
    counts = table["status"].value_counts()
    total = max(len(table), 1)
    statuses = list(STATUSES)
    values = [int(counts.get(s, 0)) for s in statuses]
    ax.barh(statuses, values, color=[STATUS_COLORS[s] for s in statuses])
    ax.invert_yaxis()
    for i, value in enumerate(values):
        ax.text(value, i, f" {value} ({100 * value / total:.1f}%)", va="center", fontsize=8)
    ax.set_xlim(0, max(max(values), 1) * 1.25)
    count_axis(ax, "x")
    ax.set_title(f"Trial status ({len(table)} trials)")
    ax.grid(axis="y", visible=False)
    return save(fig, path)


def _stacked_histogram(ax: plt.Axes, table: pd.DataFrame, column: str) -> None:
    values = table[column].to_numpy(dtype=float)
    edges = bins(values)
    groups = [
        (s, table.loc[table["status"] == s, column].to_numpy(dtype=float)) for s in statuses_present(table)
    ]
    ax.hist(
        [v[np.isfinite(v)] for _, v in groups],
        bins=edges,
        stacked=True,
        color=[STATUS_COLORS[s] for s, _ in groups],
        label=[s for s, _ in groups],
        **BAR_EDGES,
    )


def _stacked_bars(ax: plt.Axes, table: pd.DataFrame, column: str) -> None:
    categories = _categories(table[column])
    as_text = table[column].astype(str)
    bottom = np.zeros(len(categories))
    for status in statuses_present(table):
        chosen = as_text[table["status"] == status].value_counts()
        heights = np.array([chosen.get(c, 0) for c in categories], dtype=float)
        ax.bar(categories, heights, bottom=bottom, color=STATUS_COLORS[status], label=status)
        bottom += heights
    ax.grid(axis="x", visible=False)
    if len(categories) > 4 or max((len(c) for c in categories), default=0) > 8:
        ax.tick_params(axis="x", labelrotation=30)


def parameter_histograms(
    table: pd.DataFrame, parameters: Sequence[str], units: Mapping[str, str | None], path: str | Path
) -> Path:
    """One panel per parameter, over every trial, coloured by status (so you see where failures
    happen): a histogram for numbers, a bar chart for choices of strings."""
    fig, axes = new_figure(len(parameters))
    if not parameters:
        note(axes[0], "this study has no parameters")
    for ax, name in zip(axes, parameters):
        if table[name].notna().sum() == 0:
            note(ax, f"{name}: no values")
            continue
        if is_numeric(table[name]):
            _stacked_histogram(ax, table, name)
        else:
            _stacked_bars(ax, table, name)
        ax.set_xlabel(axis_label(name, units.get(name)))
        count_axis(ax)
    if len(statuses_present(table)) > 1 and parameters:
        handles = {s: plt.Rectangle((0, 0), 1, 1, color=STATUS_COLORS[s]) for s in statuses_present(table)}
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=len(handles))
    fig.suptitle(f"Parameters ({len(table)} trials)")
    return save(fig, path)


def metric_histograms(
    table: pd.DataFrame, metrics: Sequence[str], units: Mapping[str, str | None], path: str | Path
) -> Path:
    """One histogram per metric (and the objective) over the successful trials, with the median."""
    ok = successful(table)
    if len(ok) == 0:
        metrics = []  # one panel that says why, rather than one empty panel per metric
    fig, axes = new_figure(len(metrics))
    if len(ok) == 0:
        note(axes[0], no_success_note(table))
    elif not metrics:
        note(axes[0], "no metrics: the study computes none")
    for ax, name in zip(axes, metrics):
        values = ok[name].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            note(ax, f"{name}: no finite values")
            continue
        ax.hist(values, bins=bins(values), color=STATUS_COLORS["success"], **BAR_EDGES)
        median = float(np.median(values))
        ax.axvline(median, color="k", linewidth=1, linestyle="--")
        ax.set_title(f"median {median:.4g}", fontsize=8, color="0.3")
        ax.set_xlabel(axis_label(name, units.get(name)))
        count_axis(ax)
    fig.suptitle(f"Metrics ({len(ok)} successful trials)")
    return save(fig, path)


def _influence(ok: pd.DataFrame, parameters: Sequence[str], metrics: Sequence[str]) -> dict[str, float]:
    """Largest absolute rank correlation of each numeric parameter with any metric."""
    ranked = ok[list(parameters) + list(metrics)].rank()
    corr = ranked.corr().loc[list(parameters), list(metrics)].abs()
    return corr.max(axis=1).fillna(0).to_dict()


def scatter_matrix(
    table: pd.DataFrame,
    parameters: Sequence[str],
    metrics: Sequence[str],
    units: Mapping[str, str | None],
    path: str | Path,
) -> Path:
    """Each main metric (rows) against each parameter (columns), over the successful trials.

    At most :data:`MAX_SCATTER_METRICS` metrics (the objective first, if any) and
    :data:`MAX_SCATTER_PARAMETERS` parameters (the ones most rank-correlated with a metric); a
    parameter that is a choice of strings is drawn as jittered strips, one per choice.
    """
    ok = successful(table)
    shown_metrics = list(metrics)
    if "objective" in shown_metrics:
        shown_metrics.remove("objective")
        shown_metrics.insert(0, "objective")
    shown_metrics = shown_metrics[:MAX_SCATTER_METRICS]
    shown = [p for p in parameters if ok[p].notna().any() and ok[p].astype(str).nunique() > 1]
    if len(shown) > MAX_SCATTER_PARAMETERS:
        numeric = [p for p in shown if is_numeric(ok[p])]
        score = _influence(ok, numeric, shown_metrics) if numeric and shown_metrics else {}
        shown = sorted(shown, key=lambda p: -score.get(p, 0.0))[:MAX_SCATTER_PARAMETERS]
        shown = [p for p in parameters if p in shown]  # back in the config's order
    if not shown_metrics or not shown or len(ok) == 0:
        fig, axes = new_figure(1, panel=(6.0, 3.0))
        why = "no metric" if not shown_metrics else "no parameter varies over the successful trials"
        note(axes[0], no_success_note(table) if len(ok) == 0 else f"nothing to scatter: {why}")
        return save(fig, path)
    fig, grid = plt.subplots(
        len(shown_metrics),
        len(shown),
        squeeze=False,
        sharex="col",
        sharey="row",
        figsize=(2.4 * len(shown) + 0.6, 2.0 * len(shown_metrics) + 0.6),
        layout="constrained",
    )
    rng = np.random.default_rng(0)
    for col, name in enumerate(shown):
        if is_numeric(ok[name]):
            x = ok[name].to_numpy(dtype=float)
            ticks = None
            levels = np.unique(x[np.isfinite(x)])
            if len(levels) <= 12 and np.all(levels == np.round(levels)):  # a few whole numbers
                x = x + rng.uniform(-0.2, 0.2, len(x)) * (np.diff(levels).min() if len(levels) > 1 else 1)
        else:
            categories = _categories(ok[name])
            codes = {c: i for i, c in enumerate(categories)}
            x = ok[name].astype(str).map(codes).to_numpy(dtype=float) + rng.uniform(-0.25, 0.25, len(ok))
            ticks = categories
        for row, metric in enumerate(shown_metrics):
            ax = grid[row][col]
            scatter(ax, x, ok[metric].to_numpy(dtype=float))
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks)
            if col == 0:
                ax.set_ylabel(axis_label(metric, units.get(metric)))
            if row == len(shown_metrics) - 1:
                ax.set_xlabel(axis_label(name, units.get(name)))
    fig.suptitle(f"Metrics against parameters ({len(ok)} successful trials)")
    return save(fig, path)


def slowest_trials(table: pd.DataFrame, path: str | Path, count: int = SLOWEST) -> Path:
    """Left: the distribution of trial wall times; right: the slowest trials by number and status."""
    fig, (left, right) = new_figure(2, columns=2, panel=(4.2, 3.2))
    wall = table["wall_time"].to_numpy(dtype=float)
    wall = wall[np.isfinite(wall)]
    if wall.size == 0:
        note(left, "no wall times")
        note(right, "no wall times")
        return save(fig, path)
    unit, scale = ("ms", 1e3) if np.median(wall) < 1 else ("s", 1.0)
    groups = [
        (s, table.loc[table["status"] == s, "wall_time"].to_numpy(dtype=float) * scale)
        for s in statuses_present(table)
    ]
    edges = bins(wall * scale)
    if wall.min() > 0 and wall.max() / wall.min() > 5:  # a long tail: log-spaced bins
        edges = np.geomspace(wall.min() * scale, wall.max() * scale, len(edges))
        log_axis(left)
    left.hist(
        [g for _, g in groups],
        bins=edges,
        stacked=True,
        color=[STATUS_COLORS[s] for s, _ in groups],
        label=[s for s, _ in groups],
        **BAR_EDGES,
    )
    left.set_xlabel(axis_label("wall time per trial", unit))
    count_axis(left)
    left.set_title(f"{wall.size} trials, {wall.sum():.4g} s of wall time in all")
    if len(groups) > 1:
        left.legend()
    slow = table.nlargest(min(count, len(table)), "wall_time")
    labels = [f"trial {int(t)}" for t in slow["trial"]]
    right.barh(labels, slow["wall_time"] * scale, color=[STATUS_COLORS[s] for s in slow["status"]])
    right.invert_yaxis()
    if slow["wall_time"].min() > 0 and slow["wall_time"].max() / slow["wall_time"].min() > 20:
        log_axis(right)
    right.tick_params(axis="y", labelsize=7)
    right.set_xlabel(axis_label("wall time", unit))
    right.set_title(f"{len(slow)} slowest trials")
    right.grid(axis="y", visible=False)
    return save(fig, path)


# --- the summary table -----------------------------------------------------------------------

_TABLE_CSS = """
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; }
td:first-child, td:nth-child(2), th:first-child { text-align: left; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
"""


def summary_html(
    summary: pd.DataFrame,
    table: pd.DataFrame,
    units: Mapping[str, str | None],
    path: str | Path,
    reasons: int = 10,
    settings: StatisticsConfig | None = None,
) -> Path:
    """The summary table (status counts and rates; statistics of each parameter and metric over
    successful trials; the quoted figures with their confidence intervals) and the commonest
    reasons trials did not succeed, as one self-contained HTML page."""
    settings = settings or StatisticsConfig()
    level = f"{100 * settings.confidence:g} % CI"
    # (An older mojo's summary has none of them.)
    intervals = [column for column in stats.summary_columns(settings.percentiles) if column in summary]
    status_rows = summary[summary["kind"] == "status"]
    counts = status_rows[["name", "count"]].rename(columns={"name": "status"})
    counts["count"] = counts["count"].astype(int)
    if stats.RATE in intervals:
        counts[f"share ({level})"] = [
            _interval_cell(rate, low, high, 100, ".1f", " %")
            for rate, low, high in status_rows[[stats.RATE, *_bounds(stats.RATE)]].values
        ]
    numbers = summary[summary["kind"] != "status"]
    stats_table = numbers.drop(columns=intervals)
    stats_table.insert(2, "unit", [units.get(n) or "" for n in stats_table["name"]])
    stats_table["count"] = stats_table["count"].astype("Int64")
    quoted = _quoted_figures(numbers, units, settings, intervals)
    failed = table[table["status"] != "success"]
    common = (
        failed.groupby(["status", "reason"], dropna=False)
        .size()
        .rename("trials")
        .sort_values(ascending=False)
        .head(reasons)
        .reset_index()
    )
    none_ok = (
        f"<p>{html.escape(no_success_note(table))}</p>\n" if not (table["status"] == "success").any() else ""
    )
    sections = {
        "Trials by status": counts.to_html(index=False, border=0),
        "Parameters and metrics over successful trials": none_ok
        + stats_table.to_html(index=False, border=0, float_format=lambda v: f"{v:.6g}", na_rep=""),
        f"Estimates with their {level} (is N enough?)": (
            quoted.to_html(index=False, border=0) + f"<p>{html.escape(_INTERVALS_NOTE)}</p>"
            if quoted is not None
            else ""
        ),
        f"Commonest reasons for trials that did not succeed (top {reasons})": (
            common.to_html(index=False, border=0) if len(common) else "<p>Every trial succeeded.</p>"
        ),
    }
    body = "\n".join(f"<h3>{html.escape(c)}</h3>\n{p}" for c, p in sections.items() if p)
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Summary</title>"
        f"<style>{_TABLE_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


_INTERVALS_NOTE = (
    "Share: Wilson score interval. Mean: Student's t interval (assumes independent trials and a "
    "near-normal sample mean). Percentiles: distribution-free interval between two order statistics "
    "(coverage at least the level); '?' marks a bound that needs more trials. "
    "A figure is known to about half its interval's width."
)


def _bounds(figure: str) -> list[str]:
    """The summary's columns of a figure's interval: ``p95_low``, ``p95_high``."""
    return [figure + stats.LOW, figure + stats.HIGH]


def _interval_cell(estimate, low, high, scale: float = 1.0, digits: str = ".4g", unit: str = "") -> str:
    """``-46.55 [-51.8, -38.84]``; ``?`` for a missing bound, nothing without an estimate."""

    def shown(value) -> str:
        return "?" if value is None or pd.isna(value) else f"{value * scale:{digits}}"

    if estimate is None or pd.isna(estimate):
        return ""
    return f"{shown(estimate)}{unit} [{shown(low)}, {shown(high)}]"


def _quoted_figures(
    numbers: pd.DataFrame, units: Mapping[str, str | None], settings: StatisticsConfig, intervals: list[str]
) -> pd.DataFrame | None:
    """One row per metric, the objective and each parameter (in that order): n, then each figure
    with its interval; None when the summary has no ``intervals`` columns."""
    if not intervals:
        return None
    numbers = numbers.sort_values("kind", key=lambda kind: kind == "parameter", kind="stable")
    quoted = pd.DataFrame(
        {
            "kind": numbers["kind"],
            "name": numbers["name"],
            "unit": [units.get(n) or "" for n in numbers["name"]],
            "n": numbers["count"].astype("Int64"),
        }
    )
    for figure in stats.figure_names(settings.percentiles):
        if not set(_bounds(figure)) <= set(intervals):
            continue
        estimate = numbers["mean" if figure == stats.MEAN else figure]
        low, high = (numbers[column] for column in _bounds(figure))
        quoted[figure] = [_interval_cell(*cells) for cells in zip(estimate, low, high)]
    return quoted


def monte_carlo_plots(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    parameter_units: Mapping[str, str | None],
    outputs: Mapping[str, str | Path],
    metric_units: Mapping[str, str | None] | None = None,
    settings: StatisticsConfig | None = None,
) -> None:
    """Every figure of a Monte Carlo study. ``parameter_units`` maps each parameter, in config
    order, to its unit (or None); ``metric_units`` does the same for metrics, where known.
    ``outputs`` maps status, parameters, metrics, scatter, slowest and summary to file paths;
    ``settings``, the study's ``statistics``, says which intervals the summary quotes."""
    units = {**(metric_units or {}), **parameter_units}
    parameters = [p for p in parameter_units if p in table]
    metrics = metric_columns(table, parameter_units)
    status_counts(table, outputs["status"])
    parameter_histograms(table, parameters, units, outputs["parameters"])
    metric_histograms(table, metrics, units, outputs["metrics"])
    scatter_matrix(table, parameters, metrics, units, outputs["scatter"])
    slowest_trials(table, outputs["slowest"])
    summary_html(summary, table, units, outputs["summary"], settings=settings)


def plot_study(
    manifests: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
    parameter_units: Mapping[str, str | None],
    metric_units: Mapping[str, str | None] | None = None,
    settings: StatisticsConfig | None = None,
) -> None:
    """Every figure of a Monte Carlo study, from its batch manifests (what the ``plots`` rule
    runs; the arguments are those of :func:`monte_carlo_plots`)."""
    from mojo.results.aggregate import read_rows, summary_table, trials_table

    rows = read_rows([Path(p) for p in manifests])
    table = trials_table(rows)
    summary = summary_table(table, rows, settings).to_pandas()
    monte_carlo_plots(table.to_pandas(), summary, parameter_units, outputs, metric_units, settings)
