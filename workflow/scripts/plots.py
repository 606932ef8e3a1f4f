"""Snakemake job: the Monte Carlo study's report plots and summary table."""

from pathlib import Path

from mojo.aggregate import read_rows, summary_table, trials_table
from mojo.plots import monte_carlo_plots

rows = read_rows([Path(p) for p in snakemake.input])
table = trials_table(rows)
monte_carlo_plots(
    table.to_pandas(),
    summary_table(table, rows).to_pandas(),
    snakemake.params.units,
    dict(snakemake.output.items()),
    snakemake.params.metric_units,
)
