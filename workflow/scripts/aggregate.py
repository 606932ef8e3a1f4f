"""Snakemake job: gather every batch's rows into the study's tables."""

from pathlib import Path

from mojo.aggregate import write_tables

write_tables(
    [Path(p) for p in snakemake.input],
    parquet=Path(snakemake.output.parquet),
    csv=Path(snakemake.output.csv),
    summary=Path(snakemake.output.summary),
)
