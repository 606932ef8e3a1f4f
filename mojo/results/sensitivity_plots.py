"""The report's sensitivity figures, drawn from the rows of ``sensitivity.csv`` alone
(:mod:`mojo.results.sensitivity` computes them; this module only draws): a tornado chart and a
heat map of the rank measures, the failure drivers, and the Sobol indices of a Saltelli study.
A panel without an estimate says why (the row's note) instead of staying empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgba

from mojo.config.study import StudyConfig
from mojo.results.plots import STATUS_COLORS, axis_label, new_figure, note, plt, save
from mojo.results.sensitivity import (
    CHOICE_EFFECT,
    STATUS,
    bin_edges,
    clear_effect,
    importance,
    ranked_parameters,
)

RANK_METHODS = ("prcc", CHOICE_EFFECT)
"""What the tornado and the heat map show: PRCC for a ranked parameter, eta^2_H for a choice."""
DRIVER_METHODS = ("auc", "cramers_v")
MAX_BARS = 12
RATE_PANELS = 3
"""Failure-rate panels: the most important failure drivers."""
POSITIVE, NEGATIVE, LEVELS = "#d6604d", "#4393c3", "0.6"
"""Bars of a parameter the metric grows with, falls with (the heat map's RdBu_r ends), a choice."""
FADED = 0.35
"""Opacity of a tornado bar whose interval holds no effect."""
FIRST_ORDER, TOTAL = "#2166ac", "#92c5de"
UNCLEAR = "0.55"
"""Text of a heat-map cell, and bar of a failure driver, whose interval holds no effect."""


def _metrics(result: pd.DataFrame) -> list[str]:
    return [m for m in dict.fromkeys(result["metric"]) if m != STATUS]


def _why(rows: pd.DataFrame, default: str) -> str:
    notes = [n for n in rows["note"].fillna("") if n and not n.startswith("skipped")]
    return notes[0] if notes else default


def _label(row: pd.Series) -> str:
    return f"{row['parameter']} (choice, η²)" if row["method"] == CHOICE_EFFECT else row["parameter"]


def tornado(result: pd.DataFrame, units: Mapping[str, str | None], path: str | Path) -> Path:
    """Per metric, the parameters by PRCC (bars with their interval; choices as eta^2_H, grey),
    the most important on top."""
    metrics = _metrics(result)
    bars = result[result["method"].isin(RANK_METHODS) & result["estimate"].notna()].groupby("metric").size()
    tallest = min(max(bars.max() if len(bars) else 0, 3), MAX_BARS)
    fig, axes = new_figure(len(metrics), columns=2, panel=(5.0, 1.0 + 0.3 * tallest))
    if not metrics:
        note(axes[0], "no metrics: the study computes none")
    for ax, metric in zip(axes, metrics):
        rows = result[(result["metric"] == metric) & result["method"].isin(RANK_METHODS)]
        shown = rows[rows["estimate"].notna()]
        if shown.empty:
            note(ax, f"{metric}: {_why(rows, 'no parameter varies')}")
            continue
        shown = shown.assign(score=importance(shown)).sort_values("score").tail(MAX_BARS)
        colors = [
            to_rgba(LEVELS if m == CHOICE_EFFECT else POSITIVE if e >= 0 else NEGATIVE, 1 if clear else FADED)
            for m, e, clear in zip(shown["method"], shown["estimate"], clear_effect(shown))
        ]
        y = np.arange(len(shown))
        # A bootstrap interval (eta^2 of a choice) need not hold its estimate, and may be missing:
        # the bar's whisker then ends at the estimate.
        errors = [
            (shown["estimate"] - shown["low"]).clip(lower=0).fillna(0),
            (shown["high"] - shown["estimate"]).clip(lower=0).fillna(0),
        ]
        ax.barh(y, shown["estimate"], color=colors, xerr=errors, error_kw={"elinewidth": 1, "capsize": 2})
        ax.set_yticks(y, [_label(r) for _, r in shown.iterrows()])
        ax.axvline(0, color="k", linewidth=0.8)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel("PRCC (η² for a choice)" if (shown["method"] == CHOICE_EFFECT).any() else "PRCC")
        ax.grid(axis="y", visible=False)
        ax.set_title(f"{axis_label(metric, units.get(metric))}  ({int(shown['n'].max())} trials)")
    fig.suptitle("What drives each metric (PRCC, with its interval)")
    return save(fig, path)


def heatmap(result: pd.DataFrame, path: str | Path) -> Path:
    """Parameters (rows) x metrics (columns): PRCC in colour, eta^2_H of a choice in grey; grey
    text where the interval holds no effect, a dash where there is no estimate."""
    metrics = _metrics(result)
    rows = result[result["method"].isin(RANK_METHODS) & result["metric"].isin(metrics)]
    estimated = set(rows.loc[rows["estimate"].notna(), "parameter"])
    parameters = sorted(dict.fromkeys(rows["parameter"]), key=lambda p: p not in estimated)  # stable
    fig, (ax,) = new_figure(
        1, panel=(max(4.5, 1.1 * len(metrics) + 2.5), max(2.4, 0.4 * len(parameters) + 1.4))
    )
    if not metrics or not parameters or rows["estimate"].isna().all():
        why = (
            "no metrics"
            if not metrics
            else "no parameters vary"
            if not parameters
            else _why(rows, "no estimates")
        )
        note(ax, why)
        ax.set_title("Partial rank correlation, parameters × metrics")
        return save(fig, path)
    cells = rows.set_index(["parameter", "metric"])
    grid = np.full((len(parameters), len(metrics)), np.nan)
    choice = np.zeros_like(grid, dtype=bool)
    for (i, p), (j, m) in ((a, b) for a in enumerate(parameters) for b in enumerate(metrics)):
        if (p, m) in cells.index:
            cell = cells.loc[(p, m)]
            grid[i, j], choice[i, j] = cell["estimate"], cell["method"] == CHOICE_EFFECT
            _annotate(ax, j, i, cell)
    image = ax.imshow(np.ma.masked_where(choice, grid), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.imshow(np.ma.masked_where(~choice, grid), cmap="Greys", vmin=0, vmax=2, aspect="auto")
    ax.set_xticks(
        range(len(metrics)),
        metrics,
        rotation=30 if len(metrics) > 3 else 0,
        ha="right" if len(metrics) > 3 else "center",
    )
    labels = [
        f"{p} (η²)" if choice[i].any() else p if p in estimated else f"{p} (no estimate)"
        for i, p in enumerate(parameters)
    ]
    ax.set_yticks(range(len(parameters)), labels)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="PRCC", shrink=0.8)
    ax.set_title("Partial rank correlation, parameters × metrics")
    return save(fig, path)


def _annotate(ax: plt.Axes, x: int, y: int, cell: pd.Series) -> None:
    if np.isnan(cell["estimate"]):
        ax.text(x, y, "–", ha="center", va="center", color=UNCLEAR)
        return
    no_effect = not clear_effect(cell.to_frame().T)[0]
    strong = abs(cell["estimate"]) > 0.6 and cell["method"] == "prcc"
    color = UNCLEAR if no_effect else "white" if strong else "black"
    ax.text(x, y, f"{cell['estimate']:.2f}", ha="center", va="center", fontsize=8, color=color)


def failure_drivers(result: pd.DataFrame, units: Mapping[str, str | None], path: str | Path) -> Path:
    """Left: parameters by how well they separate the trials that did not succeed (|2 AUC - 1|,
    or Cramér's V for a choice); right: the failure rate along the most important ones."""
    rows = result[(result["metric"] == STATUS) & result["method"].isin(DRIVER_METHODS)]
    shown = rows[rows["estimate"].notna()]
    clear = set(shown["parameter"][clear_effect(shown)])
    ranked = ranked_parameters(result, STATUS, DRIVER_METHODS)
    top = ([p for p in ranked if p in clear] or ranked)[:RATE_PANELS]  # the strongest, if none is clear
    height = max(2.6, 0.3 * min(len(shown), MAX_BARS) + 1.2)
    fig, axes = new_figure(1 + len(top), columns=1 + len(top), panel=(4.2 if shown.empty else 3.6, height))
    if shown.empty:
        note(axes[0], _why(rows, "no parameter varies"))
        fig.suptitle("What drives failures")
        return save(fig, path)
    _separation(axes[0], shown)
    choices = set(shown.loc[shown["method"] == "cramers_v", "parameter"])
    for ax, name in zip(axes[1:], top):
        _failure_rate(
            ax,
            result[
                (result["metric"] == STATUS)
                & (result["parameter"] == name)
                & (result["method"] == "failure_rate")
            ],
            axis_label(name, units.get(name)),
            choice=name in choices,
        )
    fig.suptitle(f"What drives failures ({int(shown['n'].max())} trials; failure = any status but success)")
    return save(fig, path)


def _separation(ax: plt.Axes, shown: pd.DataFrame) -> None:
    score = importance(shown)
    auc = shown["method"] == "auc"
    low = np.where(auc, np.abs(2 * shown["low"] - 1), shown["low"])
    high = np.where(auc, np.abs(2 * shown["high"] - 1), shown["high"])
    spans = auc & (shown["low"] <= 0.5) & (shown["high"] >= 0.5)  # the interval holds no separation
    low, high = (
        np.where(spans, 0, np.minimum(low, high)),
        np.where(spans, np.maximum(low, high), np.maximum(low, high)),
    )
    order = np.argsort(score)[-MAX_BARS:]
    labels = [
        f"{p} ({'higher fails' if e > 0.5 else 'lower fails'})" if m == "auc" else f"{p} (choice, V)"
        for p, m, e in zip(shown["parameter"], shown["method"], shown["estimate"])
    ]
    colors = np.where(clear_effect(shown), STATUS_COLORS["failure"], UNCLEAR)
    y = np.arange(len(order))
    ax.barh(
        y,
        score[order],
        color=colors[order],
        xerr=[score[order] - low[order], high[order] - score[order]],
        error_kw={"elinewidth": 1, "capsize": 2},
    )
    ax.set_yticks(y, [labels[i] for i in order])
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("separation: |2 AUC − 1| (V for a choice)")
    ax.grid(axis="y", visible=False)
    ax.set_title("Failure drivers")


def _failure_rate(ax: plt.Axes, rates: pd.DataFrame, label: str, choice: bool = False) -> None:
    """Per quantile bin (or value) of a ranked parameter; per level of a choice, whose level may
    read like a bin (a choice of lists: ``[1, 2]``)."""
    edges = [None] if choice else [bin_edges(b) for b in rates["bin"]]
    errors = [rates["estimate"] - rates["low"], rates["high"] - rates["estimate"]]
    if all(edges):
        low, high = np.array(edges).T
        middle = (low + high) / 2
        ax.errorbar(
            middle,
            rates["estimate"],
            yerr=errors,
            xerr=(high - low) / 2,
            fmt="o",
            color=STATUS_COLORS["failure"],
            markersize=3,
            elinewidth=1,
            capsize=2,
        )
    else:
        ax.bar(
            rates["bin"].astype(str),
            rates["estimate"],
            yerr=errors,
            color=STATUS_COLORS["failure"],
            error_kw={"elinewidth": 1, "capsize": 2},
        )
        ax.grid(axis="x", visible=False)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(label)
    ax.set_ylabel("failure rate")
    if not all(edges):
        ax.set_title("per choice")
        return
    per = "per value" if all(low == high for low, high in edges) else "per quantile bin"
    ax.set_title(f"{per} ({int(rates['n'].sum())} trials)")


def sobol(result: pd.DataFrame, units: Mapping[str, str | None], path: str | Path) -> Path:
    """Per metric, each parameter's first-order (S1) and total-order (ST) Sobol index with
    SALib's bootstrap interval; ST - S1 is what it does through interactions."""
    metrics = _metrics(result)
    fig, axes = new_figure(len(metrics), columns=2, panel=(4.6, 2.8))
    if not metrics:
        note(axes[0], "no metrics: the study computes none")
    for ax, metric in zip(axes, metrics):
        rows = result[(result["metric"] == metric) & result["method"].isin(["sobol_S1", "sobol_ST"])]
        if rows["estimate"].isna().all():
            note(ax, f"{metric}: {_why(rows, 'no Sobol indices')}")
            continue
        parameters = list(dict.fromkeys(rows["parameter"]))
        y = np.arange(len(parameters))
        for offset, (index, color) in zip((-0.2, 0.2), (("sobol_S1", FIRST_ORDER), ("sobol_ST", TOTAL))):
            cells = rows[rows["method"] == index].set_index("parameter").loc[parameters]
            ax.barh(
                y + offset,
                cells["estimate"],
                height=0.4,
                color=color,
                label=index.removeprefix("sobol_"),
                xerr=[cells["estimate"] - cells["low"], cells["high"] - cells["estimate"]],
                error_kw={"elinewidth": 1, "capsize": 2},
            )
        ax.set_yticks(y, parameters)
        ax.invert_yaxis()
        ax.axvline(0, color="k", linewidth=0.8)
        ax.set_xlabel("Sobol index")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right")
        ax.set_title(f"{axis_label(metric, units.get(metric))}  ({int(rows['n'].max())} trials)")
    fig.suptitle("Sobol indices: first order (S1) and total (ST)")
    return save(fig, path)


def write_report(
    study: StudyConfig, trials: str | Path, outputs: Mapping[str, str | Path], level: float
) -> pd.DataFrame:
    """``sensitivity.csv`` and the figures (``outputs``: names of :func:`mojo.trials.layout.sensitivity`)
    from the trials table, intervals at confidence ``level``; what the ``sensitivity`` rule runs."""
    from mojo.results.sensitivity import saltelli_problem, study_parameters, write_sensitivity

    table = pd.read_parquet(trials)
    result = write_sensitivity(
        table,
        outputs["sensitivity"],
        parameters=study_parameters(study),
        level=level,
        problem=saltelli_problem(study),
    )
    units = {**study.metric_units, **{name: spec.unit for name, spec in study.parameters.items()}}
    tornado(result, units, outputs["sensitivity_tornado"])
    heatmap(result, outputs["sensitivity_heatmap"])
    failure_drivers(result, units, outputs["failure_drivers"])
    if "sobol" in outputs:
        sobol(result, units, outputs["sobol"])
    return result
