# Trials run in batches (one job, one worker process, many trials); any single trial can also be
# made on its own by asking for one of its files. Both are `run:` jobs: they run in a thread of
# Snakemake's own process (force-use-threads in the default profile), so a job starts in
# milliseconds instead of paying Python's start-up and imports again; the trials themselves run
# in a forked worker (see mojo/trials/batch.py).
from pathlib import Path

from mojo.slurm import guard as mojo_slurm_guard
from mojo.slurm.resources import job_resources
from mojo.trials import layout
from mojo.trials import targets as mojo_targets
from mojo.trials.batch import run_batch
from mojo.trials.files import RESULT_JSON

# What the trial batches' files depend on: the study's fingerprint, and its signals spec.
BATCH_FINGERPRINT = mojo_targets.batch_fingerprint(STUDY, FINGERPRINT)

# On SLURM: a working status command and the partition file, before the executor exists; the
# jobs are checked against it in report.smk's onstart, and each job checks that its study is the
# one submitted (see mojo/slurm/guard.py). Does nothing in local runs.
mojo_slurm_guard.guard_slurm_run(workflow, BATCH_FINGERPRINT)

# The finished batches' manifests, read before the DAG exists (see mojo/trials/targets.py): one
# that cannot be read, or whose trials' files were deleted or damaged since, is removed, so its
# batch runs again. Cluster jobs run the job they are given: they need neither.
if workflow.is_main_process:
    mojo_targets.check_finished_batches(STUDY)


rule trial_batch:
    output:
        manifest=layout.manifest_pattern(STUDY),
    log:
        layout.log_pattern(STUDY, "batch"),
    # The warp backend compiles the trials' models on every core it is given.
    threads: workflow.cores if STUDY.backend == "warp" else 1
    resources:
        **job_resources(STUDY, STUDY.job_size),
    params:
        fingerprint=BATCH_FINGERPRINT,
    run:
        first, last = int(wildcards.first), int(wildcards.last)
        run_batch(STUDY, first, last, Path(output.manifest), Path(log[0]), threads)


rule trial:
    output:
        layout.trial_files_pattern(STUDY),
    log:
        layout.log_pattern(STUDY, "trial"),
    resources:
        **job_resources(STUDY, 1),
    params:
        fingerprint=FINGERPRINT,
    run:
        trial = mojo_targets.check_trial_name(STUDY, wildcards.trial)
        run_batch(STUDY, trial, trial, log=Path(log[0]))


# A deleted or damaged signals file of a finished trial: the trial runs again to record its signals
# only (its other files stay as they are; see mojo.trials.trial.replay_signals). After its trial,
# if that is re-made too.
rule trial_signals:
    input:
        str(Path(layout.signals_pattern(STUDY)).with_name(RESULT_JSON)),
    output:
        layout.signals_pattern(STUDY),
    log:
        layout.log_pattern(STUDY, "trial_signals"),
    resources:
        **job_resources(STUDY, 1),
    run:
        trial = mojo_targets.check_trial_name(STUDY, wildcards.trial)
        run_batch(STUDY, trial, trial, log=Path(log[0]))
