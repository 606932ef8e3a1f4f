# Trials run in batches (one job, one worker process, many trials); any single trial can also be
# made on its own by asking for one of its files. Both are `run:` jobs: they run in a thread of
# Snakemake's own process (force-use-threads in the default profile), so a job starts in
# milliseconds instead of paying Python's start-up and imports again; the trials themselves run
# in a forked worker (see mojo/trials/batch.py).
from pathlib import Path

from mojo.slurm import guard as mojo_cluster
from mojo.trials.batch import run_batch

# On SLURM: a working status command, the partition file, and no submission of a job that no
# partition can hold (see mojo/slurm/guard.py). Does nothing in local runs and in cluster jobs.
mojo_cluster.guard_slurm_run(workflow)

# The finished batches' manifests, read before the DAG exists (see mojo/trials/integrity.py): one that
# cannot be read is removed, so its batch runs again; the others say which trial files changed
# since they were written. Cluster jobs run the job they are given: they need neither.
FINISHED_BATCHES = mojo_targets.finished_batches(STUDY) if workflow.is_main_process else {}


rule trial_batch:
    input:
        lambda wc: mojo_targets.missing_trial_files(STUDY, int(wc.first), int(wc.last), FINISHED_BATCHES),
    output:
        manifest=f"{STUDY_DIR}/.mojo/batches/trials_{{first}}-{{last}}.json",
    params:
        fingerprint=FINGERPRINT,
    resources:
        **mojo_cluster.job_resources(STUDY, STUDY.job_size),
    log:
        f"{STUDY_DIR}/.mojo/logs/trials_{{first}}-{{last}}.log",
    run:
        run_batch(STUDY, int(wildcards.first), int(wildcards.last), Path(output.manifest), Path(log[0]))


rule trial:
    output:
        multiext(
            f"{STUDY_DIR}/trial_{{trial}}/",
            "model.xml",
            "config.json",
            "named_values.json",
            "result.json",
        ),
    params:
        fingerprint=FINGERPRINT,
    resources:
        **mojo_cluster.job_resources(STUDY, 1),
    log:
        f"{STUDY_DIR}/.mojo/logs/trial_{{trial}}.log",
    run:
        trial = mojo_targets.check_trial_name(STUDY, wildcards.trial)
        run_batch(STUDY, trial, trial, log=Path(log[0]))
