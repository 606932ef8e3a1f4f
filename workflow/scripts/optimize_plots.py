"""Snakemake job (local): the optimisation's plots for the report."""

from pathlib import Path

from mojo.config import load_study
from mojo.optimize.plots import write_plots

write_plots(
    load_study(snakemake.config),
    trials=Path(snakemake.input.trials),
    best=Path(snakemake.input.best),
    outputs={name: Path(path) for name, path in snakemake.output.items()},
)
