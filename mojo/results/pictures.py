"""The report's pictures: which trials are pictured, and the folder that holds their pictures.

Chosen from the study's table once the trials ran: the nominal trial (0), the best and the worst
by objective (lowest is best, highest under ``optimize: {direction: maximize}``) or, in a study
without an objective, the lowest and highest of the first metric, and the first
``pictures.failures`` trials that did not succeed. A trial chosen for several reasons is pictured
once. Each is replayed and rendered by :mod:`mojo.results.render` (seconds per trial).

The folder (:func:`mojo.trials.layout.pictures`) holds ``<trial folder>-<why>.gif`` and ``.png``
per chosen trial, ``why`` being its reasons' keys (:data:`REASONS`) joined by ``+``, and
:data:`INDEX` saying, per trial, why in words; the report reads the two wildcards of the file
names for its captions and the index for its table (:func:`report_labels`).
"""

from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO

from mojo.config.pictures import PicturesConfig
from mojo.trials.files import atomic_output, write_atomic
from mojo.trials.layout import TRIAL_PREFIX

INDEX = "pictures.json"
"""The folder's index: per picture, the trial, why it was chosen and how its replay went."""

REASONS = ("nominal", "best", "worst", "lowest", "highest", "failure")
"""The keys of the reasons a trial is chosen, as file names spell them (the caption explains each)."""

UNAVAILABLE = "no_pictures-unavailable.png"
"""What the folder holds instead of pictures where no OpenGL backend works: the reason, drawn."""

PATTERNS = ["{folder}-{why}.{ext}"]
"""The pictures' names as the report's patterns (``folder``: the trial folder's name)."""

_WHOLE = {".gif": (b"GIF8", b";"), ".png": (b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82")}
"""How a whole picture starts and ends, by suffix: a file cut short or overwritten lacks one."""


@dataclass
class Choice:
    """A trial to picture, and why (each reason: a key of :data:`REASONS` and words)."""

    trial: int
    keys: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, key: str, words: str) -> None:
        self.keys.append(key)
        self.reasons.append(words)


def _value(value: float) -> str:
    return f"{value:.4g}"


def choose_trials(
    table: Any, metrics: list[str], failures: int, maximize: bool = False, units: Mapping[str, str] = {}
) -> list[Choice]:
    """The trials to picture from the trials table (a pandas DataFrame with columns ``trial``,
    ``status``, ``reason``, ``objective`` and the ``metrics``), in trial order; ``units``: the
    metrics' units, by name, for the words."""
    chosen: dict[int, Choice] = {}

    def choose(trial: int, key: str, words: str) -> None:
        chosen.setdefault(trial, Choice(trial)).add(key, words)

    if (table["trial"] == 0).any():
        choose(0, "nominal", "nominal: trial 0 (every parameter at its nominal value)")
    ok = table[table["status"] == "success"]
    if "objective" in table and ok["objective"].notna().any():
        column, low, high = "objective", "best", "worst"
        if maximize:
            low, high = high, low
    else:
        column, low, high = (metrics[0] if metrics else None), "lowest", "highest"
    if column is not None:
        ranked = ok[ok[column].notna()].sort_values([column, "trial"])  # non-finite values are nulls
        if len(ranked):
            for key, row in ((low, ranked.iloc[0]), (high, ranked.iloc[-1])):
                trial, value = int(row["trial"]), float(row[column])
                by = "by objective" if column == "objective" else f"of {column}"
                unit = f" {units[column]}" if column in units else ""
                choose(trial, key, f"{key} {by}: trial {trial}, {column} {_value(value)}{unit}")
    for row in table[table["status"] != "success"].sort_values("trial").head(failures).itertuples():
        reason = f" ({row.reason})" if isinstance(row.reason, str) and row.reason else ""
        choose(int(row.trial), "failure", f"did not succeed: trial {row.trial}, {row.status}{reason}")
    return [chosen[trial] for trial in sorted(chosen)]


def file_stem(folder: str, choice: Choice) -> str:
    """``trial_0017-worst``: the trial folder's name and the keys of why it was chosen."""
    return f"{folder}-{'+'.join(choice.keys)}"


def write_pictures(
    study_folder: Path,
    table_path: Path,
    out: Path,
    settings: PicturesConfig,
    parameters: Iterable[str],
    maximize: bool,
    units: Mapping[str, str],
    log: TextIO,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Choose the trials from the table at ``table_path``, render each into ``out`` (``threads``
    at a time, each in a process of its own) and write its index; returns the index. A trial that
    cannot be replayed is left out (the log and the index say why); where no OpenGL backend
    works, ``out`` holds :data:`UNAVAILABLE` instead. The folder is made beside ``out`` and
    renamed to it when whole, so that ``out`` exists only whole (:func:`damaged_pictures`, run
    by a dry run during this job, must not take a folder being written for a damaged one)."""
    import pandas as pd

    from mojo.results.plots import metric_columns
    from mojo.results.render import GLUnavailable, RenderFailed

    table = pd.read_parquet(table_path)
    metrics = [m for m in metric_columns(table, list(parameters)) if m != "objective"]
    choices = choose_trials(table, metrics, settings.failures, maximize, units)
    final, out = out, out.with_name(f".{out.name}.partial")
    shutil.rmtree(out, ignore_errors=True)  # a killed job's
    out.mkdir(parents=True)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        outcomes = list(pool.map(lambda choice: _render(study_folder, out, settings, choice), choices))
    unavailable = next((o for _, o in outcomes if isinstance(o, GLUnavailable)), None)
    if unavailable is not None:
        print(f"pictures: none: {unavailable}", file=log)
        _draw_message(out / UNAVAILABLE, f"No pictures: {unavailable}")
        outcomes = []
    index = [{"error": str(unavailable), "png": UNAVAILABLE}] if unavailable else []
    for entry, rendered in outcomes:
        if isinstance(rendered, RenderFailed):
            print(f"pictures: trial {entry['trial']} left out: {rendered}", file=log)
            index.append({**entry, "gif": None, "png": None, "error": str(rendered)})
            continue
        if rendered.warnings:
            print(rendered.warnings, file=log)
        print(f"pictures: trial {entry['trial']} ({', '.join(entry['keys'])}): {rendered.frames} frames, "
              f"MUJOCO_GL={rendered.backend}", file=log)
        index.append({**entry, "frames": rendered.frames, "sim_time": rendered.sim_time})
        index[-1]["ended"] = rendered.ended
    write_atomic(out / INDEX, json.dumps(index, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    out.rename(final)
    return index


def _render(study_folder: Path, out: Path, settings: PicturesConfig, choice: Choice) -> tuple[dict, Any]:
    """Render one chosen trial: its index entry, and what it rendered or why it could not."""
    from mojo.results.render import GLUnavailable, RenderFailed, render_trial

    folder = _trial_folder(study_folder, choice.trial)
    stem = file_stem(folder.name, choice)
    entry = {**asdict(choice), "folder": folder.name, "gif": f"{stem}.gif", "png": f"{stem}.png"}
    title = f"{study_folder.name}, " + "; ".join(choice.reasons)
    try:
        return entry, render_trial(folder, settings, out / entry["gif"], out / entry["png"], title)
    except (GLUnavailable, RenderFailed) as error:
        return entry, error


def _trial_folder(study_folder: Path, trial: int) -> Path:
    """The trial's folder, whatever its padding (the table knows only the number)."""
    for width in range(len(str(trial)), 13):
        candidate = study_folder / f"{TRIAL_PREFIX}{trial:0{width}d}"
        if candidate.is_dir():
            return candidate
    return study_folder / f"{TRIAL_PREFIX}{trial}"


def _draw_message(path: Path, message: str) -> None:
    """``message`` as a small PNG, so the report says why it has no pictures."""
    import textwrap

    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 1.6), dpi=100)
    fig.text(0.02, 0.5, textwrap.fill(message, 110), va="center", fontsize=9, family="monospace")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")


def damaged_pictures(folder: Path) -> str | None:
    """Why the finished pictures ``folder`` is not whole (its index deleted or unreadable, a
    picture it lists deleted or cut short), or None: a folder not made yet is whole."""
    if not folder.is_dir():
        return None
    try:
        index = json.loads((folder / INDEX).read_text())
        names = [entry[kind] for entry in index for kind in ("gif", "png") if entry.get(kind)]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        return f"its index {INDEX} is unreadable ({type(error).__name__}: {error})"
    for name in names:
        start, end = _WHOLE.get(Path(name).suffix, (b"", b""))
        try:
            with open(folder / name, "rb") as file:
                head = file.read(len(start))
                file.seek(max(0, file.seek(0, 2) - len(end)))
                whole = head == start and file.read() == end
        except OSError:
            return f"{name} was deleted"
        if not whole:
            return f"{name} is damaged"
    return None


def discard_damaged_pictures(folder: Path) -> None:
    """Remove the pictures ``folder`` when it is not whole (:func:`damaged_pictures`), saying why,
    so that the workflow makes it again. Run by the main process before the DAG is built: the
    rule's output is the folder, and Snakemake does not see a file deleted inside it (its job
    would be 'Nothing to be done' and the report would lack the picture). Costs a few reads."""
    problem = damaged_pictures(folder)
    if problem:
        shutil.rmtree(folder)
        print(f"mojo: {folder}: {problem}: removed, the run makes the pictures again", file=sys.stderr)


def report_labels(folder: str | Path, wildcards: Mapping[str, str]) -> dict[str, str]:
    """The report table's columns for one picture (``wildcards``: :data:`PATTERNS`'s)."""
    index = json.loads((Path(folder) / INDEX).read_text())
    entry = next((e for e in index if e.get("folder") == wildcards["folder"]), None)
    if entry is None:
        error = index[0].get("error", "") if index else ""
        return {"trial": "none", "chosen as": error, "picture": "message"}
    kind = "animation (GIF)" if wildcards["ext"] == "gif" else "strip of frames (PNG)"
    return {"trial": str(entry["trial"]), "chosen as": "; ".join(entry["reasons"]), "picture": kind}
