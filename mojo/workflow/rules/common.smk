# Validate the config before any job exists; everything below works from STUDY.
# The globals made here are the config every later rule file reads: STUDY (the validated study),
# STUDY_DIR (its folder, as text) and FINGERPRINT (what its trials depend on). Nothing else here
# is for other files: each imports what it uses.
import sys
from pathlib import Path

from snakemake.logging import logger

from mojo.workflow import locks as mojo_locks
from mojo.workflow.private_api import stop_rescheduling_timers
from mojo.config.study import ConfigError, load_study, type_command_line
from mojo.trials.layout import study_dir
from mojo.trials import targets as mojo_targets

# Nested --config values arrive as text; read them as a config file's (see type_command_line).
type_command_line(config, workflow.config_settings.config)
try:
    STUDY = load_study(config)
except ConfigError as error:
    sys.exit(str(error))

STUDY_DIR = str(study_dir(STUDY))
FINGERPRINT = mojo_targets.study_fingerprint(STUDY)

# The signals' names, against the compiled nominal model (MuJoCo is imported only for this).
if STUDY.signals is not None and workflow.is_main_process:
    from mojo.signals import check_study as check_signals

    try:
        check_signals(STUDY)
    except ValueError as error:
        sys.exit(str(error))

# One run per study; a Snakemake lock left by a killed run is cleared (see mojo/workflow/locks.py).
mojo_locks.guard_run(workflow, STUDY_DIR)

# A study written outside the working folder (absolute results_dir, ~, ..) is named once.
RESOLVED_STUDY_DIR = Path(STUDY_DIR).resolve()
if workflow.is_main_process and not RESOLVED_STUDY_DIR.is_relative_to(Path.cwd().resolve()):
    logger.info(f"mojo: results_dir {STUDY.results_dir!r}: study folder {RESOLVED_STUDY_DIR}")

# resume: false is checked when a run starts (report.smk's onstart), so that dry runs and
# --report of a finished study still work.


wildcard_constraints:
    trial=r"\d+",
    first=r"\d+",
    last=r"\d+",


# A finished run exits at once instead of waiting up to a second for Snakemake's scheduler timer.
onsuccess:
    stop_rescheduling_timers()


onerror:
    stop_rescheduling_timers()
