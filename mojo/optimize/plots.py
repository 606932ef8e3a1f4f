"""The optimisation's plots for the report (matplotlib, Agg backend), in the report's one look.

- ``history``: every trial's value (mean objective) by trial number, pruned/failed trials as
  marks along the bottom, and the running best as a step line.
- ``slices``: the value against each optimised parameter, coloured by trial number (later trials
  darker), the best trial ringed; log axes for log-scaled parameters.
- ``best``: where the best trial's parameters sit within their search ranges, with values and units.

The style (rcParams, colours, marker sizes that shrink and fade as trials multiply, figure grid,
saving) is :mod:`mojo.results.plots`'s, so Monte Carlo and optimisation figures look alike.
"""

from __future__ import annotations

import math
from pathlib import Path

from mojo.config.optimize import CategoricalParam
from mojo.config.study import StudyConfig
from mojo.optimize.files import BestTrial
from mojo.results.plots import STATUS_COLORS, axis_label, new_figure, point_style, save
from mojo.trials.files import read_model

STATE_COLORS = {
    "complete": STATUS_COLORS["success"],
    "pruned": STATUS_COLORS["failure"],
    "fail": STATUS_COLORS["error"],
}
"""An Optuna trial's state in the colour of the trial status it comes from."""
BEST_COLOR = "k"
"""The best trial and the running best (as the median lines of the Monte Carlo histograms)."""


def _objective_label(study: StudyConfig) -> str:
    opt = study.optimize
    name = study.objective.split(":")[-1] if study.objective else "objective"
    evaluations = f"{opt.evals_per_trial} evaluation{'s' * (opt.evals_per_trial > 1)}"
    return f"{name} (mean over {evaluations}; {opt.direction})"


def _label(study: StudyConfig, name: str) -> str:
    return axis_label(name, study.parameters[name].unit if name in study.parameters else None)


def plot_history(study: StudyConfig, table, ax) -> None:
    import numpy as np

    opt = study.optimize
    done = table[table["state"] == "complete"].sort_values("trial")
    other = table[table["state"] != "complete"]
    ax.scatter(
        done["trial"],
        done["value"],
        color=STATE_COLORS["complete"],
        label="complete trial",
        **point_style(len(done)),
    )
    if len(done):
        values = done["value"].to_numpy(dtype=float)
        running = (
            np.minimum.accumulate(values) if opt.direction == "minimize" else np.maximum.accumulate(values)
        )
        ax.step(done["trial"], running, where="post", color=BEST_COLOR, lw=1.5, label="best so far")
        if (values > 0).all() and values.max() / max(values.min(), 1e-300) > 1e3:
            ax.set_yscale("log")
    if len(other):
        low = ax.get_ylim()[0] if len(done) else 0.0
        for state, marker in (("pruned", "x"), ("fail", "v")):
            rows = other[other["state"] == state]
            if len(rows):
                ax.scatter(
                    rows["trial"],
                    [low] * len(rows),
                    marker=marker,
                    color=STATE_COLORS[state],
                    label=f"{state} ({len(rows)})",
                    clip_on=False,
                    **point_style(len(rows)),
                )
    ax.set_xlabel("Optuna trial number")
    ax.set_ylabel(_objective_label(study))
    ax.set_title(f"Optimisation history: {len(table)} trials, {len(done)} complete")
    ax.legend(loc="best")


def plot_slices(study: StudyConfig, table, best: BestTrial, fig, axes: list) -> None:
    """One panel of ``axes`` per optimised parameter."""
    opt = study.optimize
    names = list(opt.search_space)
    done = table[table["state"] == "complete"]
    style = point_style(len(done))
    scatter = None
    for ax, name in zip(axes, names):
        param = opt.search_space[name]
        x = done[name]
        if isinstance(param, CategoricalParam):
            codes = {str(c): i for i, c in enumerate(param.choices)}
            x = done[name].astype(str).map(codes)
            ax.set_xticks(range(len(param.choices)), [str(c) for c in param.choices])
        scatter = ax.scatter(x, done["value"], c=done["trial"], cmap="viridis_r", **style)
        if best.trial is not None and name in best.params:
            bx = best.params[name]
            if isinstance(param, CategoricalParam):
                bx = codes[str(bx)]
            ax.scatter(
                [bx], [best.value], s=120, facecolors="none", edgecolors=BEST_COLOR, lw=1.5, label="best"
            )
            ax.legend(loc="best")
        if getattr(param, "log", False):
            ax.set_xscale("log")
        ax.set_xlabel(_label(study, name))
        ax.set_ylabel("objective (mean)")
    if scatter is not None and len(done):
        fig.colorbar(scatter, ax=axes, label="trial number", shrink=0.8)
    fig.suptitle(f"Objective against each optimised parameter ({len(done)} complete trials)")


def plot_best(study: StudyConfig, best: BestTrial, ax) -> None:
    opt = study.optimize
    names = list(opt.search_space)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(names) - 0.5)
    ax.set_yticks(range(len(names)), [_label(study, n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("position within the search range (0 = low, 1 = high; categorical: choice index)")
    if best.trial is None:
        ax.set_title("No trial completed: no best trial")
        return
    for i, name in enumerate(names):
        param, value = opt.search_space[name], best.params.get(name)
        if isinstance(param, CategoricalParam):
            k = [str(c) for c in param.choices].index(str(value))
            pos = 0.5 if len(param.choices) == 1 else k / (len(param.choices) - 1)
            text = f"{value!s}"
        else:
            lo, hi, v = param.low, param.high, float(value)
            if param.log:
                lo, hi, v = math.log(lo), math.log(hi), math.log(v)
            pos = 0.5 if hi == lo else (v - lo) / (hi - lo)
            unit = study.parameters[name].unit
            text = f"{value:.6g}{' ' + unit if unit else ''}  (range {param.low:.4g} to {param.high:.4g})"
        ax.barh(i, pos, color=STATE_COLORS["complete"], alpha=0.35, height=0.5)
        ax.plot([pos], [i], "o", color=BEST_COLOR)
        ax.annotate(text, (0.02, i - 0.3), fontsize=8)
    std = f" ± {best.value_std:.3g}" if best.value_std else ""
    ax.set_title(
        f"Best trial {best.trial}: objective {best.value:.6g}{std} "
        f"({best.n_complete} complete, {best.n_pruned} pruned, {best.n_fail} failed)"
    )
    ax.grid(axis="y", visible=False)


def write_plots(study: StudyConfig, trials: Path, best: Path, outputs: dict[str, Path]) -> None:
    import pandas as pd

    table = pd.read_parquet(trials)
    if "state" not in table:
        table["state"] = []
    best_trial = read_model(best, BestTrial)
    n_params = len(study.optimize.search_space)

    fig, (ax,) = new_figure(1, panel=(7.0, 3.8))
    plot_history(study, table, ax)
    save(fig, outputs["history"])

    fig, axes = new_figure(n_params, panel=(3.6, 2.8))
    plot_slices(study, table, best_trial, fig, axes)
    save(fig, outputs["slices"])

    fig, (ax,) = new_figure(1, panel=(7.0, 1.2 + 0.6 * n_params))
    plot_best(study, best_trial, ax)
    save(fig, outputs["best"])
