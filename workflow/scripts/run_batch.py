"""Snakemake job: make one batch of trials and write its manifest."""

from pathlib import Path

from mojo.batch import run_batch
from mojo.config import load_study
from mojo.logs import log_to

with log_to(snakemake.log[0]):
    run_batch(
        load_study(snakemake.config),
        int(snakemake.wildcards.first),
        int(snakemake.wildcards.last),
        Path(snakemake.output.manifest),
    )
