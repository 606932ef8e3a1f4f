# Trials run in batches (one job, one process, many trials); any single trial can also be made
# on its own by asking for one of its files.
from mojo import cluster as mojo_cluster

# On SLURM: a working status command, the partition file, and no submission of a job that no
# partition can hold (see mojo/cluster.py). Does nothing in local runs and in cluster jobs.
mojo_cluster.guard_slurm_run(workflow)


rule trial_batch:
    input:
        lambda wc: mojo_workflow.missing_trial_files(STUDY, int(wc.first), int(wc.last)),
    output:
        manifest=f"{STUDY_DIR}/.mojo/batches/trials_{{first}}-{{last}}.json",
    params:
        fingerprint=FINGERPRINT,
    resources:
        **mojo_cluster.job_resources(STUDY, STUDY.job_size),
    log:
        f"{STUDY_DIR}/.mojo/logs/trials_{{first}}-{{last}}.log",
    script:
        "../scripts/run_batch.py"


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
    script:
        "../scripts/run_trial.py"
