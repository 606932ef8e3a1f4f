"""Running a study on SLURM through snakemake-executor-plugin-slurm (docs/slurm.md).

One module per topic: ``units`` (SLURM's sizes, times, task ranges), ``limits`` (what the
cluster allows, from ``scontrol``), ``partitions`` (the plugin's partition file),
``status_command`` (sacct or squeue), ``check`` (does a job fit), ``resources`` (what a trial
job asks for), ``cli`` (``mojo slurm``) and ``guard`` (the Snakemake-facing run guard).
"""
