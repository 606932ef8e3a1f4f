"""Snakemake job: make one trial (asked for by one of its files)."""

from mojo.batch import run_batch
from mojo.config import load_study
from mojo.logs import log_to
from mojo.workflow import check_trial_name

study = load_study(snakemake.config)
trial = check_trial_name(study, snakemake.wildcards.trial)
with log_to(snakemake.log[0]):
    run_batch(study, trial, trial)
