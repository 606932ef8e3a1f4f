# mojo: MuJoCo Monte Carlo and optimisation studies. Config: config/config.yaml (see README.md).
from snakemake.utils import min_version

min_version("9.0")


# A --configfile replaces the default study instead of being merged into it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/trials.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/optimize.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        TABLES,
        REPORT_FILES,
