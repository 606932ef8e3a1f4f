"""The bodies of the rules' small local jobs, each called from a one-line ``run:`` block.

A ``run:`` job runs in a thread of Snakemake's own process (no new interpreter, no imports paid
again); keeping its body here keeps the rule files declarative (``snakemake --lint`` asks for short
``run:`` blocks) and needs no ``script:``, which Snakemake would want a conda environment or
container for, while mojo's jobs run in the environment mojo is installed in. Heavy libraries
(pyarrow, matplotlib) load inside each function: only when their job runs.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from mojo.config.study import StudyConfig
from mojo.trials.files import write_atomic
from mojo.trials.logs import job_log

PYPLOT = threading.Lock()
"""Held by each plot job: pyplot's current figure is global to the process, and two plot jobs
in threads of Snakemake's process (``snakemake tables optimize`` of one config) would otherwise
draw into each other's figures. A plot job imports its plotting module (and so matplotlib)
only while it holds the lock: two threads importing matplotlib at once deadlock or see a
partly initialised module."""


def aggregate(manifests: Sequence[str], output: Mapping[str, str], params: Any, log: str) -> None:
    """The study's tables and their hashes, from the batch manifests; ``params.statistics``: the
    study's ``statistics`` section (as a mapping), for the summary's intervals."""
    from mojo.config.study import StatisticsConfig
    from mojo.results.aggregate import write_tables

    with job_log(log) as stream:
        tables = [Path(output[name]) for name in ("parquet", "csv", "summary")]
        table = write_tables(
            [Path(p) for p in manifests], *tables, record=Path(output["record"]),
            settings=StatisticsConfig.model_validate(params.statistics),
        )
        print(f"tables: {table.num_rows} trials from {len(manifests)} batches", file=stream)


def plots(manifests: Sequence[str], output: Mapping[str, str], params: Any, log: str) -> None:
    """The Monte Carlo report's plots and summary, from the batch manifests."""
    from mojo.config.study import StatisticsConfig

    with PYPLOT, job_log(log) as stream:
        from mojo.results.plots import plot_study  # (under the lock: see PYPLOT)

        settings = StatisticsConfig.model_validate(params.statistics)
        plot_study(manifests, dict(output.items()), params.units, params.metric_units, settings)
        print(f"plots: {', '.join(output.keys())}", file=stream)


def envelopes(
    study: StudyConfig, trials: str, output: Sequence[str], signals: Sequence[str], log: str
) -> None:
    """The envelope figure of each recorded signal (``signals``, in the outputs' order). The
    folder holds only these: a figure of a signal the study no longer records is removed, so
    that none out of date stays beside them."""
    from mojo.trials.layout import study_dir

    with PYPLOT, job_log(log) as stream:
        from mojo.results.envelopes import plot_envelopes  # (under the lock: see PYPLOT)

        outputs = dict(zip(signals, map(Path, output)))
        plot_envelopes(study_dir(study), Path(trials), outputs)
        print(f"envelopes: {', '.join(outputs)}", file=stream)
        for folder in {path.parent for path in outputs.values()}:
            for stale in set(folder.glob("*.png")) - set(outputs.values()):
                stale.unlink()
                print(f"envelopes: removed {stale.name}, of a signal no longer recorded", file=stream)


def sensitivity(study: StudyConfig, trials: str, output: Mapping[str, str], params: Any, log: str) -> None:
    """``sensitivity.csv`` and its plots from the trials table; ``params.confidence``: the level
    of every interval (a param, so that changing it re-makes them)."""
    with PYPLOT, job_log(log) as stream:
        from mojo.results.sensitivity_plots import write_report  # (under the lock: see PYPLOT)

        result = write_report(study, trials, dict(output.items()), params.confidence)
        print(f"sensitivity: {len(result)} rows; {', '.join(output.keys())}", file=stream)


def stop_round(
    study: StudyConfig, round_: int, manifests: Sequence[str], output: str, fingerprint: str, log: str
) -> None:
    """A ``stop_when`` round's decision: the figure's interval over the trials so far."""
    from mojo.results.stopping import describe, write_decision

    with job_log(log) as stream:
        decision = write_decision(study, round_, [Path(p) for p in manifests], fingerprint, Path(output))
        print(f"stop_when: {describe(study, decision)}", file=stream)


def stop_settings(params: Any, output: str, log: str) -> None:
    """The settings a ``stop_when`` study's tables are made with, as a file."""
    settings = json.dumps({key: params[key] for key in ("stop_when", "n_trial", "statistics")})
    write_atomic(Path(output), f"{settings}\n")
    Path(log).write_text(f"settings: {settings}\n")


def convergence(trials: str, output: str, params: Any, log: str) -> None:
    """The convergence plot (is N enough?) from the trials table."""
    from mojo.config.study import StatisticsConfig

    with PYPLOT, job_log(log) as stream:
        from mojo.results.convergence import plot_convergence  # (under the lock: see PYPLOT)

        settings = StatisticsConfig.model_validate(params.statistics)
        plot_convergence(Path(trials), Path(output), params.units, params.metric_units, settings)
        print(f"convergence: {output}", file=stream)


def pictures(study: StudyConfig, trials: str, output: str, threads: int, log: str) -> None:
    """Pictures of the trials chosen from the trials table, in the folder ``output``, rendered
    ``threads`` at a time."""
    from mojo.results.pictures import write_pictures
    from mojo.trials.layout import study_dir

    with job_log(log) as stream:
        maximize = study.optimize is not None and study.optimize.direction == "maximize"
        index = write_pictures(
            study_dir(study), Path(trials), Path(output), study.pictures, study.parameters, maximize,
            study.metric_units, stream, threads,
        )
        print(f"pictures: {sum(1 for entry in index if entry.get('gif'))} trials in {output}", file=stream)


def environment(output: Mapping[str, str], log: str) -> None:
    """The software environment the study runs in; its source is the installed mojo package."""
    from mojo.results.provenance import write_environment

    with job_log(log) as stream:
        write_environment(
            Path(output["json"]),
            Path(output["txt"]),
            source=Path(__file__).resolve().parents[1],
            study_folder=Path.cwd(),
        )
        print(f"environment: {output['json']}, {output['txt']}", file=stream)


def optimize_budget(n_trial: int, timeout: float | None, output: str, log: str) -> None:
    """The loop's budget as a file (:class:`mojo.optimize.files.Budget`)."""
    budget = json.dumps({"n_trial": n_trial, "timeout": timeout})
    write_atomic(Path(output), f"{budget}\n")
    Path(log).write_text(f"budget: {budget}\n")


def optimize_finish(study: StudyConfig, output: Mapping[str, str], log: str) -> None:
    """The optimisation's tables and best.json from the round files, and their hashes."""
    from mojo.optimize.results import write_results
    from mojo.trials.integrity import record_tables

    with job_log(log) as stream:
        best = write_results(
            study,
            best=Path(output["best_json"]),
            trials=(Path(output["trials_parquet"]), Path(output["trials_csv"])),
            evaluations=(Path(output["evaluations_parquet"]), Path(output["evaluations_csv"])),
        )
        results = [Path(path) for name, path in output.items() if name != "record"]
        record_tables(results, Path(output["record"]), [])
        print(f"{best.n_trial} trials; best: trial {best.trial}, value {best.value}", file=stream)


def optimize_plots(study: StudyConfig, input: Mapping[str, str], output: Mapping[str, str], log: str) -> None:
    """The optimisation's plots for the report."""
    with PYPLOT, job_log(log) as stream:
        from mojo.optimize.plots import write_plots  # (under the lock: see PYPLOT)

        write_plots(
            study,
            trials=Path(input["trials"]),
            best=Path(input["best"]),
            outputs={name: Path(path) for name, path in output.items()},
        )
        print(f"plots: {', '.join(output.keys())}", file=stream)
