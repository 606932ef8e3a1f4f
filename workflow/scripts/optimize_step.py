"""Snakemake job (local): tell the previous round, then ask this one (or stop)."""

from pathlib import Path

from mojo.config import load_study
from mojo.logs import log_to
from mojo.optimize.loop import step

with log_to(snakemake.log[0]):
    step(load_study(snakemake.config), int(snakemake.wildcards.round), Path(snakemake.output[0]))
