"""Snakemake job (local): the optimisation's tables and best.json, from the round files."""

from pathlib import Path

from mojo.config.study import load_study
from mojo.trials.integrity import record_tables
from mojo.trials.logs import job_log
from mojo.optimize.results import write_results

with job_log(snakemake.log[0]) as log:
    best = write_results(
        load_study(snakemake.config),
        best=Path(snakemake.output.best),
        trials=(Path(snakemake.output.trials_parquet), Path(snakemake.output.trials_csv)),
        evaluations=(Path(snakemake.output.evals_parquet), Path(snakemake.output.evals_csv)),
    )
    record_tables([Path(path) for path in snakemake.output[:-1]], Path(snakemake.output.record), [])
    print(f"{best.n_trial} trials; best: trial {best.trial}, value {best.value}", file=log)
