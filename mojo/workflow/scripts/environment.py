"""Snakemake job: record the software environment the study runs in."""

from pathlib import Path

from mojo.results.provenance import write_environment

# Snakemake sets __file__ to this script's real path: the workflow's source tree is two levels up.
write_environment(
    Path(snakemake.output.json), Path(snakemake.output.txt), source=Path(__file__).resolve().parents[2]
)
