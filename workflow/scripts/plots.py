"""Snakemake job: the Monte Carlo study's report plots and summary table."""

import pandas as pd

from mojo.plots import monte_carlo_plots

monte_carlo_plots(
    pd.read_parquet(snakemake.input.parquet),
    pd.read_csv(snakemake.input.summary),
    snakemake.params.units,
    dict(snakemake.output.items()),
)
