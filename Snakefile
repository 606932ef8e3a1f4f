# A mojo study. The workflow is the one installed with mojo, included from the package: upgrading
# mojo upgrades the rules, and nothing in this folder has to change (see README.md, "Your own
# study folder"). config/config.yaml is the study; `--configfile other.yaml` replaces it.
import mojo.workflow

if not workflow.overwrite_configfiles:

    configfile: mojo.workflow.checked_config("config/config.yaml")


include: mojo.workflow.SNAKEFILE


rule all:
    default_target: True
    input:
        rules.study.input,
