"""Envelope plots: how each recorded signal evolves over a study's trials.

For each signal (:mod:`mojo.signals`), one figure with a panel per component: the median and the
5-95 % band of the successful trials against simulated time, the nominal trial (trial 0) as a
line, and the trials that did not succeed drawn one by one in their status's colour (the first
:data:`MAX_SHOWN` of each status, the legend giving how many there are), each ending in a cross
where its recording stopped. ``mojo show <trial> --plot`` draws one trial's signals
(:func:`trial_figure`).

Readable and affordable from 10 trials to 100,000: the band is computed one group of
components at a time on a (trials x samples) matrix per component that holds at most
:data:`MEMORY_BUDGET` bytes in all (float64 while one component fits so, float32 beyond), filled
from the signal files a chunk of trials at a time, so 100,000 trials x 1,000 samples take about
400 MB, one component at a time, and each file is read once per group. A trial that stopped
early contributes only where it has samples; a trial sampled at other times than the first one
read (another time step) is interpolated onto that trial's times. Components are matched by name,
those of the first trial that recorded the signal: a trial whose model has other ones (another
number of actuators, a ``fn:`` signal with other keys) counts only in those it shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
from matplotlib.lines import Line2D

from mojo.results.plots import COLUMNS, STATUS_COLORS, axis_label, new_figure, note, plt
from mojo.signals import TIME, column, components, read_signal, recorded
from mojo.trials.files import STATUSES, atomic_output

BAND = (0.05, 0.95)
"""The band's quantiles."""
BAND_LABEL = f"{100 * BAND[0]:g}-{100 * BAND[1]:g} %"
MAX_SHOWN = 24
"""Non-successful trials drawn per status (the first, by trial number)."""
MEMORY_BUDGET = 512 * 2**20
"""Bytes the quantile matrix may hold at once."""
CHUNK = 5000
"""Trials read from their files at once, at most (fewer when their samples would take more than
an eighth of :data:`MEMORY_BUDGET`)."""
TIME_LABEL = axis_label("time", "s")
NOMINAL_TRIAL = 0
NOMINAL_LABEL = f"nominal (trial {NOMINAL_TRIAL})"
PANEL = (7.2, 1.9)
"""Inches of one component's panel: wide, because these are time series (taller when a signal
has fewer than three components)."""
OUTLIER_SPAN = 3.0
"""A y axis shows the non-successful trials in full unless they span more than this many times
the band, nominal and median together (a diverged trial would squash the band to a line)."""


@dataclass
class Envelope:
    """The band of one signal over a set of trials: arrays of shape (samples, components)."""

    time: np.ndarray
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    trials: int
    """How many trials had samples of the signal."""


# --- quantiles -------------------------------------------------------------------------------


def row_quantiles(matrix: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """The ``quantiles`` of each row of ``matrix`` over its non-NaN entries (NumPy's default,
    linear method), as float64 of shape (len(quantiles), rows); NaN where a row has no value.
    Sorts ``matrix`` in place (NaN sorts last)."""
    counts = matrix.shape[1] - np.isnan(matrix).sum(axis=1)
    matrix.sort(axis=1)
    rows = np.arange(matrix.shape[0])
    result = np.full((len(quantiles), matrix.shape[0]), np.nan)
    has = counts > 0
    last = np.maximum(counts - 1, 0)
    for i, q in enumerate(quantiles):
        position = q * last
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, last)
        fraction = position - below
        low = matrix[rows, below].astype(np.float64)
        high = matrix[rows, above].astype(np.float64)
        result[i] = np.where(has, low + fraction * (high - low), np.nan)
    return result


def _on_grid(grid: np.ndarray, time: np.ndarray) -> bool:
    """Whether ``time`` is a prefix of ``grid`` (the trial was sampled at the grid's times)."""
    n = len(time)
    return n <= len(grid) and float(np.abs(time - grid[:n]).max()) <= 1e-9 * max(abs(grid[n - 1]), 1.0)


def _chunks(
    study_dir: Path, signal: str, labels: Sequence[str], trials: Sequence[int], size: int
) -> Iterator[dict]:
    for start in range(0, len(trials), size):
        yield read_signal(study_dir, signal, list(trials[start : start + size]), labels)


def column_quantiles(matrix: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """:func:`row_quantiles` of each column of ``matrix``, an eighth of its columns at a time
    (each block copied, transposed, so that it sorts along contiguous rows): ``matrix`` is left
    as it is and only an eighth of its size more is held."""
    width = max(1, matrix.shape[1] // 8)
    blocks = [
        row_quantiles(np.ascontiguousarray(matrix[:, start : start + width].T), quantiles)
        for start in range(0, matrix.shape[1], width)
    ]
    return np.concatenate(blocks, axis=1) if blocks else np.empty((len(quantiles), 0))


class _Stack:
    """The samples of some components over the trials: a (trials, samples) matrix per component,
    NaN where a trial has no sample, on a time grid that grows by the times of any trial that
    runs past its end (so one pass over the files finds the grid and fills the matrices)."""

    def __init__(self, n_trials: int, group: range, dtype, grid: np.ndarray | None = None):
        self.grid = np.empty(0) if grid is None else grid
        self.group, self.dtype, self.n_trials = group, dtype, n_trials
        self.matrices = {c: self._empty(len(self.grid)) for c in group}
        self.present = 0

    def _empty(self, samples: int) -> np.ndarray:
        return np.full((self.n_trials, samples), np.nan, dtype=self.dtype)

    def add(self, row: int, time: np.ndarray, values: np.ndarray) -> None:
        if len(time) == 0 or values.shape[1] == 0:  # nothing recorded (the model was never built)
            return
        self.present += 1
        if len(self.grid) == 0 or time[-1] > self.grid[-1]:
            later = time if len(self.grid) == 0 else time[time > self.grid[-1]]
            self.grid = np.concatenate([self.grid, later])
            for c, matrix in self.matrices.items():
                self.matrices[c] = self._empty(len(self.grid))
                self.matrices[c][:, : matrix.shape[1]] = matrix
        if _on_grid(self.grid, time):
            for c in self.group:
                self.matrices[c][row, : len(time)] = values[:, c]
            return
        # Sampled at other times (another time step): interpolated onto the grid's.
        inside = (self.grid >= time[0]) & (self.grid <= time[-1])
        for c in self.group:
            self.matrices[c][row, inside] = np.interp(self.grid[inside], time, values[:, c])


def envelope(
    study_dir: Path, signal: str, labels: Sequence[str], trials: Sequence[int], budget: int = MEMORY_BUDGET
) -> Envelope | None:
    """The 5 %, 50 % and 95 % quantiles of ``signal`` (components ``labels``) over ``trials`` at
    each sample time, or None when none of them recorded it. Holds about ``budget`` bytes of
    samples (and a chunk of trials as read, an eighth of it): as many components at once as fit,
    in float64 while one component fits so. The first pass over the files finds the time grid;
    more passes only when the components do not fit at once."""
    trials = sorted(trials)
    if not trials or not labels:
        return None
    first = read_signal(study_dir, signal, trials[:16])  # an estimate of the samples per trial
    samples = max((len(time) for time, _ in first.values()), default=1)
    cells = max(samples, 1) * len(trials)
    dtype = np.float64 if cells * 8 <= budget else np.float32
    per_pass = max(1, budget // (cells * np.dtype(dtype).itemsize))
    chunk = int(np.clip(budget // 8 // (max(samples, 1) * len(labels) * 8), 1, CHUNK))
    row = {trial: i for i, trial in enumerate(trials)}
    grid, present = None, 0
    bands = []
    for start in range(0, len(labels), per_pass):
        stack = _Stack(len(trials), range(start, min(start + per_pass, len(labels))), dtype, grid)
        for runs in _chunks(study_dir, signal, labels, trials, chunk):
            for trial, (time, values) in runs.items():
                stack.add(row[trial], np.asarray(time, dtype=np.float64), values)
        grid, present = stack.grid, stack.present
        if present == 0:
            return None
        for c in stack.group:
            bands.append(column_quantiles(stack.matrices.pop(c), (BAND[0], 0.5, BAND[1])))
    low, median, high = (np.stack([b[i] for b in bands], axis=1) for i in range(3))
    return Envelope(grid, low, median, high, trials=present)


# --- figures ---------------------------------------------------------------------------------


def trial_statuses(trials_parquet: Path) -> dict[int, str]:
    """Trial number -> status, from the study's ``trials.parquet``."""
    import pyarrow.parquet

    table = pyarrow.parquet.read_table(trials_parquet, columns=["trial", "status"])
    return dict(zip(table["trial"].to_pylist(), table["status"].to_pylist()))


def _panels(labels: Sequence[str], signal: str) -> tuple[plt.Figure, list[plt.Axes]]:
    columns = 1 if len(labels) <= 4 else 2 if len(labels) <= 8 else COLUMNS
    panel = PANEL if len(labels) >= 3 else (PANEL[0], 3.0 if len(labels) == 1 else 2.4)
    fig, axes = new_figure(len(labels), columns=columns, panel=panel, sharex=True)
    for ax, label in zip(axes, labels):
        ax.set_ylabel(f"{signal}[{label}]")
    bottom = len(axes) - columns
    for i, ax in enumerate(axes):
        if i >= bottom:
            ax.set_xlabel(TIME_LABEL)
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, axes


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _limits(ax: plt.Axes, core: list[np.ndarray], others: list[np.ndarray]) -> bool:
    """Frame the band, median and nominal; the other trials too unless they would squash them.
    Returns whether some trial leaves the frame."""
    core_values = np.concatenate([v[np.isfinite(v)] for v in core] or [np.empty(0)])
    all_values = np.concatenate([core_values, *(v[np.isfinite(v)] for v in others)])
    if core_values.size == 0 or all_values.size == 0:
        return False
    low, high = float(core_values.min()), float(core_values.max())
    span = max(high - low, 1e-12 * max(abs(low), abs(high), 1.0))
    if float(all_values.max() - all_values.min()) <= OUTLIER_SPAN * span:
        return False
    ax.set_ylim(low - 0.5 * span, high + 0.5 * span)
    return True


def envelope_figure(
    signal: str,
    labels: Sequence[str],
    band: Envelope | None,
    nominal: tuple[np.ndarray, np.ndarray] | None,
    others: Mapping[str, Mapping[int, tuple[np.ndarray, np.ndarray]]],
    counts: Mapping[str, int],
) -> plt.Figure:
    """One signal's figure: a panel per component with the band of the successful trials,
    their median, the nominal trial and the non-successful trials ``others`` (status -> trial ->
    (time, values)); ``counts`` says how many trials of each status there are in all."""
    fig, axes = _panels(labels, signal)
    handles, clipped = {}, False
    success = STATUS_COLORS["success"]
    for c, ax in enumerate(axes):
        core = []
        if band is not None:
            h = ax.fill_between(band.time, band.low[:, c], band.high[:, c], color=success, alpha=0.3,
                                linewidth=0, zorder=2)
            handles[f"{BAND_LABEL} of {band.trials} successful trials"] = h
            (h,) = ax.plot(band.time, band.median[:, c], color=success, linewidth=1.8, zorder=4)
            handles.setdefault("median", h)
            core += [band.low[:, c], band.high[:, c], band.median[:, c]]
        lines = []
        for status, runs in others.items():
            color = STATUS_COLORS[status]
            for time, values in runs.values():
                y = _finite(values[:, c])
                (h,) = ax.plot(time, y, color=color, linewidth=0.6, alpha=0.6, zorder=1)
                ends = np.flatnonzero(np.isfinite(y))
                if ends.size:
                    end = ends[-1]
                    ax.plot(time[end], y[end], marker="x", color=color, markersize=4, alpha=0.8, zorder=1)
                lines.append(y)
            if runs:
                shown = f", {len(runs)} drawn" if len(runs) < counts[status] else ""
                # The legend's line thicker than the faint ones drawn, so its colour reads.
                key = f"{status} ({counts[status]} trials{shown})"
                handles[key] = Line2D([], [], color=color, linewidth=1.5)
        if nominal is not None:
            y = _finite(nominal[1][:, c])
            (h,) = ax.plot(nominal[0], y, color="black", linewidth=1.1, linestyle="--", zorder=5)
            handles[NOMINAL_LABEL] = h
            core.append(y)
        clipped |= _limits(ax, core, lines)
        if band is None and nominal is None and not lines:
            note(ax, "no trial recorded this signal")
    order = ["median", *(k for k in handles if k.startswith(BAND_LABEL)), NOMINAL_LABEL]
    keys = [k for k in order if k in handles] + [k for k in handles if k not in order]
    if keys:
        fig.legend([handles[k] for k in keys], keys, loc="outside lower center", ncols=min(len(keys), 3))
    total = sum(counts.values())
    title = f"{signal} over {total} trials"
    if clipped:
        title += " (some non-successful trials leave the frame)"
    fig.suptitle(title)
    return fig


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` atomically (a reader never sees half a file), in the format its suffix names
    (PNG without one), and free it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:].lower() or "png")
    plt.close(fig)
    return path


def signal_envelopes(
    study_dir: Path, signal: str, statuses: Mapping[int, str], path: Path, budget: int = MEMORY_BUDGET
) -> Path:
    """Write the envelope figure of ``signal`` over the trials in ``statuses`` (trial -> status)."""
    by_status = {s: sorted(t for t, st in statuses.items() if st == s) for s in STATUSES}
    counts = {s: len(trials) for s, trials in by_status.items()}
    try:
        labels = components(study_dir, signal)
    except (KeyError, FileNotFoundError):  # no trial recorded it (every one failed before)
        fig, (ax,) = new_figure(1, panel=PANEL)
        note(ax, f"{signal}: no trial recorded this signal ({sum(counts.values())} trials)")
        return save_figure(fig, path)
    band = envelope(study_dir, signal, labels, by_status["success"], budget)
    others = {s: _first_recorded(study_dir, signal, by_status[s], labels) for s in STATUSES if s != "success"}
    nominal = _recorded(read_signal(study_dir, signal, [NOMINAL_TRIAL], labels)).get(NOMINAL_TRIAL)
    fig = envelope_figure(signal, labels, band, nominal, others, counts)
    return save_figure(fig, path)


def _recorded(runs: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    return {t: (time, values) for t, (time, values) in runs.items() if len(time) and values.shape[1]}


def _first_recorded(
    study_dir: Path, signal: str, trials: Sequence[int], labels: Sequence[str] | None = None
) -> dict[int, tuple]:
    """The first :data:`MAX_SHOWN` of ``trials`` that have samples of ``signal`` (components
    ``labels``, by name, if given)."""
    found: dict[int, tuple] = {}
    for start in range(0, len(trials), 4 * MAX_SHOWN):
        found.update(_recorded(read_signal(study_dir, signal, trials[start : start + 4 * MAX_SHOWN], labels)))
        if len(found) >= MAX_SHOWN:
            break
    return dict(sorted(found.items())[:MAX_SHOWN])


def plot_envelopes(study_dir: Path, trials_parquet: Path, outputs: Mapping[str, Path]) -> None:
    """Every signal's envelope figure: ``outputs`` maps each signal to its PNG (the rule's job)."""
    statuses = trial_statuses(trials_parquet)
    for signal, path in outputs.items():
        signal_envelopes(study_dir, signal, statuses, Path(path))


# --- one trial -------------------------------------------------------------------------------


def trial_figure(path: Path, title: str) -> plt.Figure:
    """One trial's signals file as a figure: one panel per signal, a line per component."""
    import pyarrow.parquet

    table = pyarrow.parquet.read_table(path)
    signals = recorded(path)
    fig, axes = new_figure(len(signals), columns=1, panel=(6.4, 2.0), sharex=True)
    time = table.column(TIME).to_numpy()
    if not signals or len(time) == 0:
        note(axes[0], f"{path} holds no samples")
    for ax, signal in zip(axes, signals):
        parts = components(path, signal)
        for part in parts:
            values = table.column(column(signal, part)).to_numpy()
            ax.plot(time, _finite(values), linewidth=1.0, label=f"[{part}]")
        ax.set_ylabel(signal)
        if len(parts) > 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), ncols=1 + len(parts) // 8)
    axes[-1].set_xlabel(TIME_LABEL)
    fig.suptitle(title)
    return fig
