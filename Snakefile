# mojo: MuJoCo Monte Carlo and optimisation studies. Config: config/config.yaml (see README.md).
from snakemake.utils import min_version

min_version("9.0")


DEFAULT_CONFIG = "config/config.yaml"

# A --configfile replaces the default study instead of being merged into it. Snakemake reads a
# --configfile before this file runs (its errors are its own); the default config is checked
# first so that a missing or malformed one is named, with the line of a YAML error. Each file is
# also checked for a key given twice, which Snakemake's reader would take silently.
import sys
from mojo.config import ConfigError, check_config_file

for _path in workflow.overwrite_configfiles or [DEFAULT_CONFIG]:
    try:
        check_config_file(_path)
    except ConfigError as error:
        sys.exit(str(error))

if not workflow.overwrite_configfiles:

    configfile: DEFAULT_CONFIG


include: "workflow/rules/common.smk"
include: "workflow/rules/trials.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/optimize.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        DEFAULT_TARGETS,
