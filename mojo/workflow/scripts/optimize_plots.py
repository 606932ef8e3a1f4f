"""Snakemake job (local): the optimisation's plots for the report."""

from pathlib import Path

from mojo.config.study import load_study
from mojo.trials.logs import job_log
from mojo.optimize.plots import write_plots

with job_log(snakemake.log[0]) as log:
    write_plots(
        load_study(snakemake.config),
        trials=Path(snakemake.input.trials),
        best=Path(snakemake.input.best),
        outputs={name: Path(path) for name, path in snakemake.output.items()},
    )
    print(f"plots: {', '.join(snakemake.output.keys())}", file=log)
