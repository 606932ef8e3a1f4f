"""``mojo show results/<study>/trial_0042``: one trial's parameters, result and error; ``--view``
opens its model in MuJoCo's interactive viewer, ``--plot`` plots its recorded signals, ``--render``
replays it into a GIF or a strip of frames (:mod:`mojo.results.render`). A command
like ``mojo status`` (which it uses to find optimisation evaluations), so above
:mod:`mojo.optimize` in the layers: nothing below imports it."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from mojo.results.status import (
    evaluation_folders,
    evaluation_of,
    folder_problem,
    is_study_folder,
    is_trial_folder,
)
from mojo.trials.files import (
    CONFIG_JSON,
    MODEL_XML,
    NAMED_VALUES_JSON,
    RESULT_JSON,
    SIGNALS_FILE,
    TRIAL_FILES,
)
from mojo.trials.integrity import MISSING, unreadable
from mojo.trials.layout import TRIAL_PREFIX


def find_trial(path: Path, trial: int | None = None) -> Path:
    """The trial folder meant by ``path`` (a trial folder) or by ``path`` and ``trial`` (a study
    folder and a trial number, whatever the folder's padding; in a study without that Monte Carlo
    trial, the evaluation of that optimisation trial, if it has only one)."""
    if trial is None:
        return path
    for width in range(len(str(trial)), 13):
        candidate = path / f"{TRIAL_PREFIX}{trial:0{width}d}"
        if candidate.is_dir():
            return candidate
    # The study folder, or its optimisation folder:
    evaluations = evaluation_folders(path, trial) or evaluation_folders(path.parent, trial)
    if len(evaluations) == 1:
        return evaluations[0]
    if evaluations:
        raise FileNotFoundError(
            f"{path} has no Monte Carlo trial {trial}; its optimisation trial {trial} has "
            f"{len(evaluations)} evaluations: pass one, e.g. mojo show {evaluations[0]}"
        )
    raise FileNotFoundError(f"no folder for trial {trial} in {path}")


def trial_folder_problem(path: Path) -> str | None:
    """Why ``path`` is not a trial folder (and what to pass instead), or None if it is one."""
    if path.is_dir() and is_trial_folder(path):
        return None
    if path.is_file():
        return f"{path} is a file, not a trial folder"
    if path.is_dir() and path.name.startswith(TRIAL_PREFIX):
        return f"{path} has no trial files yet ({CONFIG_JSON}, {RESULT_JSON}): the trial has not started"
    if path.is_dir() and is_study_folder(path):
        return f"{path} is a study folder: add a trial number (mojo show {path} 42) or pass a trial folder"
    return folder_problem(path) or f"{path} is not a trial folder"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def load_trial(folder: Path) -> dict[str, Any]:
    """The trial's files as plain JSON data: ``config``, ``values`` and ``result`` (None for a
    file not written yet, or one that cannot be read: ``unreadable`` names those, with why)."""
    evaluation = evaluation_of(folder)
    problems = {
        name: why for name in TRIAL_FILES if (why := unreadable(folder / name)) not in (None, MISSING)
    }
    read = lambda name: None if name in problems else _read_json(folder / name)  # noqa: E731
    return {
        "trial_dir": str(folder),
        "evaluation": dict(zip(("trial", "eval"), evaluation)) if evaluation else None,
        "model": str(folder / MODEL_XML)
        if (folder / MODEL_XML).exists() and MODEL_XML not in problems
        else None,
        "config": read(CONFIG_JSON),
        "values": read(NAMED_VALUES_JSON),
        "result": read(RESULT_JSON),
        "unreadable": problems,
    }


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _distribution(spec: dict[str, Any] | None) -> str:
    if not spec:
        return ""
    args = ", ".join(
        f"{k}={_number(v)}" for k, v in spec.items() if k not in ("dist", "unit", "nominal") and v is not None
    )
    return f"{spec.get('dist', '?')}({args})"


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.4g} s"


def format_trial(trial: dict[str, Any]) -> str:
    config, values, result = trial["config"] or {}, trial["values"] or {}, trial["result"]
    if trial.get("evaluation"):
        evaluation = trial["evaluation"]
        lines = [
            f"evaluation {evaluation['eval']} of optimisation trial {evaluation['trial']} of study "
            f"{config.get('study', '?')} (trial number {config.get('trial', '?')} for its seed): "
            f"{trial['trial_dir']}"
        ]
    else:
        lines = [
            f"trial {config.get('trial', '?')} of study {config.get('study', '?')}: {trial['trial_dir']}"
        ]
    unreadable_files = trial.get("unreadable") or {}
    if unreadable_files:
        lines.append("unreadable files (the study's next run re-makes this trial):")
        lines += [f"  {name}: {why}" for name, why in unreadable_files.items()]
    specs = config.get("parameters", {})
    if values:
        rows = [
            (
                name,
                _number(v.get("value")),
                v.get("unit") or "",
                v.get("source", ""),
                _distribution(specs.get(name)),
            )
            for name, v in values.items()
        ]
        widths = [
            max(len(r[i]) for r in rows + [("parameter", "value", "unit", "source", "")]) for i in range(4)
        ]
        lines.append("parameters:")
        header = ("parameter", "value", "unit", "source", "distribution")
        for row in [header, *rows]:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4])
    else:
        missing = "unreadable" if NAMED_VALUES_JSON in unreadable_files else "no named_values.json yet"
        lines.append(f"parameters: ({missing})")
    if RESULT_JSON in unreadable_files:
        lines.append("result: unreadable (see above)")
    elif result is None:
        lines.append("result: none yet (the trial is running, was interrupted, or has not started)")
    else:
        lines.append(
            f"result: {result['status']} (wall time {_seconds(result.get('wall_time'))}, "
            f"simulated {_number(result.get('sim_time'))} s)"
        )
        if result.get("reason"):
            lines.append(f"reason: {result['reason']}")
        metrics = result.get("metrics") or {}
        if metrics:
            width = max(len(n) for n in metrics)
            lines.append("metrics:")
            lines += [f"  {n.ljust(width)}  {_number(v)}" for n, v in metrics.items()]
        if result.get("objective") is not None:
            lines.append(f"objective: {_number(result['objective'])}")
        if result.get("warnings"):
            lines.append("MuJoCo warnings: " + ", ".join(f"{k} x{v}" for k, v in result["warnings"].items()))
        if result.get("timings"):
            lines.append("timings: " + ", ".join(f"{k} {_seconds(v)}" for k, v in result["timings"].items()))
        if result.get("traceback"):
            lines.append("traceback:")
            lines += ["  " + line for line in result["traceback"].rstrip().splitlines()]
    code = [f for f in ("generator", "runtime", "metrics", "objective") if config.get(f)]
    if code:
        lines.append("code (sha256 of its source file):")
        for field in code:
            digest = config.get("code_hashes", {}).get(field, "")
            lines.append(f"  {field:<9s}  {config[field]}" + (f"  {digest[:12]}" if digest else ""))
    model = "(unreadable)" if MODEL_XML in unreadable_files else "(no model.xml yet)"
    lines.append(f"model: {trial['model'] or model}")
    return "\n".join(lines)


def display_problem() -> str | None:
    """Why no window can be opened here, or None if one probably can."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display: $DISPLAY and $WAYLAND_DISPLAY are unset (connect with ssh -X, or copy the folder)"
    return None


def view(model_path: Path) -> None:
    """Open the model in MuJoCo's viewer, at its first keyframe if it has one (blocks until closed)."""
    import mujoco
    import mujoco.viewer

    model = mujoco.MjModel.from_xml_path(str(model_path))
    data = mujoco.MjData(model)
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.viewer.launch(model, data)


def _finite_or_null(value: Any) -> Any:
    """``value`` with each NaN or infinity as None: JSON has none of them (``json.dumps`` would
    print ``NaN``, which jq and strict parsers refuse), and mojo never writes one to a trial
    file, so only a damaged or hand-edited file holds them; ``mojo show`` without --json prints
    them as they are."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    return value


PLOT_FORMATS = (".png", ".pdf", ".svg")
"""What ``--plot`` writes, by the suffix of its file."""


def plot_signals(folder: Path, trial: dict[str, Any], out: Path | None) -> tuple[int, str]:
    """Plot the trial's signals to ``out``: exit code and what to say (the path, or why not)."""
    path = folder / SIGNALS_FILE
    out = out or Path(f"{folder.name}_signals.png")
    if out.suffix.lower() not in PLOT_FORMATS:
        kind = f"a {out.suffix} file" if out.suffix else "a file without a suffix"
        return 2, f"--plot {out}: cannot write {kind}; use {', '.join(PLOT_FORMATS)}"
    if not path.exists():
        why = "the trial has not finished" if trial["result"] is None else "its study records no signals"
        return 1, f"{folder} has no {SIGNALS_FILE} ({why}; see signals: in the README)"
    from mojo.results.envelopes import save_figure, trial_figure

    config, result = trial["config"] or {}, trial["result"] or {}
    title = f"{config.get('study', folder.parent.name)}, trial {config.get('trial', '?')}"
    if result.get("status"):
        title += f" ({result['status']})"
    try:
        save_figure(trial_figure(path, title), out)
    except (OSError, ValueError) as error:  # pyarrow's errors are both: a damaged file
        return 1, f"cannot plot {path}: {error}"
    return 0, f"signals plotted: {out}"


RENDER_FORMATS = (".gif", ".png")
"""What ``--render`` writes, by the suffix of its file: an animation, or a strip of frames."""


def render_picture(folder: Path, trial: dict[str, Any], out: Path) -> tuple[int, str]:
    """Replay the trial and render it to ``out`` (a GIF, or a strip of frames as PNG) with the
    ``pictures:`` defaults: exit code and what to say (the path, or why not)."""
    if out.suffix.lower() not in RENDER_FORMATS:
        kind = f"a {out.suffix} file" if out.suffix else "a file without a suffix"
        return 2, f"--render {out}: cannot write {kind}; use {', '.join(RENDER_FORMATS)}"
    if trial["model"] is None or trial["config"] is None or trial["values"] is None:
        files = f"{MODEL_XML}, {CONFIG_JSON} or {NAMED_VALUES_JSON}"
        return 1, f"{folder} cannot be replayed yet: it lacks {files}"
    from mojo.config.pictures import PicturesConfig
    from mojo.results.render import GLUnavailable, RenderFailed, render_trial

    gif = out.suffix.lower() == ".gif"
    title = f"{trial['config'].get('study', '?')}, trial {trial['config'].get('trial', '?')}"
    if trial["result"]:
        title += f" ({trial['result']['status']})"
    try:
        rendered = render_trial(
            folder, PicturesConfig(), gif=out if gif else None, png=None if gif else out, title=title
        )
    except (GLUnavailable, RenderFailed) as error:
        return 1, f"cannot render {folder}: {error}"
    if rendered.warnings:  # the trial's code changed since it ran, or what the replay printed
        print(rendered.warnings, file=sys.stderr)
    ended = f"; the replay ended early: {rendered.ended}" if rendered.ended else ""
    return 0, f"rendered {rendered.frames} frames (MUJOCO_GL={rendered.backend}{ended}): {out}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trial_dir", type=Path, help="a trial folder, e.g. results/pendulum/trial_0042")
    parser.add_argument(
        "trial", type=int, nargs="?", help="a trial number, when trial_dir is the study folder"
    )
    parser.add_argument("--json", action="store_true", help="print the trial's files as one JSON object")
    parser.add_argument("--view", action="store_true", help="open the model in MuJoCo's viewer")
    parser.add_argument(
        "--plot",
        nargs="?",
        const=True,
        type=Path,
        metavar="OUT",
        help=f"plot the trial's recorded signals, one panel per signal, to OUT ({', '.join(PLOT_FORMATS)}; "
        "default: <trial folder>_signals.png in the current folder)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="OUT",
        help="replay the trial and render it offscreen to OUT: an animated .gif, or a .png strip of frames "
        "(needs MUJOCO_GL=egl with a GPU, or OSMesa: Debian's libosmesa6)",
    )


def command(args: argparse.Namespace) -> int:
    try:
        folder = find_trial(args.trial_dir, args.trial)
    except FileNotFoundError as error:
        print(f"mojo show: {error}", file=sys.stderr)
        return 2
    problem = trial_folder_problem(folder)
    if problem:
        print(f"mojo show: {problem}", file=sys.stderr)
        return 2
    trial = load_trial(folder)
    print(json.dumps(_finite_or_null(trial), indent=2, allow_nan=False) if args.json else format_trial(trial))
    if args.plot is not None:
        code, message = plot_signals(folder, trial, None if args.plot is True else args.plot)
        stream = sys.stderr if code or args.json else sys.stdout  # --json: stdout holds only the JSON
        print(message if code == 0 else f"mojo show: {message}", file=stream)
        if code:
            return code
    if args.render is not None:
        code, message = render_picture(folder, trial, args.render)
        stream = sys.stderr if code or args.json else sys.stdout  # --json: stdout holds only the JSON
        print(message if code == 0 else f"mojo show: {message}", file=stream)
        if code:
            return code
    if args.view:
        if trial["model"] is None:
            print(f"mojo show: {folder} has no {MODEL_XML} to view yet", file=sys.stderr)
            return 1
        problem = display_problem()
        if problem:
            print(
                f"mojo show: cannot open the viewer: {problem}; on a machine with a display run\n"
                f"  python -m mujoco.viewer --mjcf={trial['model']}",
                file=sys.stderr,
            )
            return 1
        view(Path(trial["model"]))
    return 0
