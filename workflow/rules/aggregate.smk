# One table of every trial, and a summary of it.

TABLES = [
    f"{STUDY_DIR}/trials.parquet",
    f"{STUDY_DIR}/trials.csv",
    f"{STUDY_DIR}/summary.csv",
]


localrules:
    aggregate,


rule aggregate:
    input:
        mojo_workflow.batch_manifests(STUDY),
    output:
        parquet=TABLES[0],
        csv=TABLES[1],
        summary=TABLES[2],
    script:
        "../scripts/aggregate.py"


# `snakemake tables`: the trials and their tables, without the report's plots.
rule tables:
    input:
        TABLES,
