"""Running a study on SLURM through snakemake-executor-plugin-slurm (docs/slurm.md).

Partition limits, the status command, the check that refuses a job no partition can hold, and the
``mojo slurm`` command.
"""
