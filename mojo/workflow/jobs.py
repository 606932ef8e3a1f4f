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
draw into each other's figures."""


def aggregate(manifests: Sequence[str], output: Mapping[str, str], log: str) -> None:
    """The study's tables and their hashes, from the batch manifests."""
    from mojo.results.aggregate import write_tables

    with job_log(log) as stream:
        tables = [Path(output[name]) for name in ("parquet", "csv", "summary")]
        table = write_tables([Path(p) for p in manifests], *tables, record=Path(output["record"]))
        print(f"tables: {table.num_rows} trials from {len(manifests)} batches", file=stream)


def plots(manifests: Sequence[str], output: Mapping[str, str], params: Any, log: str) -> None:
    """The Monte Carlo report's plots and summary, from the batch manifests."""
    from mojo.results.plots import plot_study

    with PYPLOT, job_log(log) as stream:
        plot_study(manifests, dict(output.items()), params.units, params.metric_units)
        print(f"plots: {', '.join(output.keys())}", file=stream)


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
    from mojo.optimize.plots import write_plots

    with PYPLOT, job_log(log) as stream:
        write_plots(
            study,
            trials=Path(input["trials"]),
            best=Path(input["best"]),
            outputs={name: Path(path) for name, path in output.items()},
        )
        print(f"plots: {', '.join(output.keys())}", file=stream)
