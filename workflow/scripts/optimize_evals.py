"""Snakemake job: run one job's share of a round's evaluations and write their rows."""

from pathlib import Path

from mojo.config import load_study
from mojo.logs import log_to
from mojo.optimize.evaluate import run_round_job

with log_to(snakemake.log[0]):
    run_round_job(
        load_study(snakemake.config),
        Path(snakemake.input.round),
        int(snakemake.wildcards.job),
        Path(snakemake.output[0]),
    )
