# Trials run in batches (one job, one process, many trials); any single trial can also be made
# on its own by asking for one of its files.


rule trial_batch:
    input:
        lambda wc: mojo_workflow.missing_trial_files(STUDY, int(wc.first), int(wc.last)),
    output:
        manifest=f"{STUDY_DIR}/.mojo/batches/trials_{{first}}-{{last}}.json",
    params:
        fingerprint=FINGERPRINT,
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
    log:
        f"{STUDY_DIR}/.mojo/logs/trial_{{trial}}.log",
    script:
        "../scripts/run_trial.py"
