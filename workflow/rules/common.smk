# Validate the config before any job exists; everything below works from STUDY.
import sys

from mojo.config import ConfigError, load_study
from mojo.layout import study_dir
from mojo import workflow as mojo_workflow

try:
    STUDY = load_study(config)
except ConfigError as error:
    sys.exit(str(error))

STUDY_DIR = str(study_dir(STUDY))
WIDTH = STUDY.padding_width
FINGERPRINT = mojo_workflow.study_fingerprint(STUDY)

if workflow.is_main_process and not STUDY.resume and mojo_workflow.study_started(STUDY):
    sys.exit(
        f"study '{STUDY.study}' already has results in {STUDY_DIR} and resume is false: "
        "set resume: true to continue it, or choose another study name (nothing was deleted)"
    )


wildcard_constraints:
    trial=r"\d+",
    first=r"\d+",
    last=r"\d+",


# A finished run exits at once instead of waiting up to a second for Snakemake's scheduler timer.
onsuccess:
    mojo_workflow.stop_rescheduling_timers()


onerror:
    mojo_workflow.stop_rescheduling_timers()
