# One table of every trial, and a summary of it (a `run:` job, in Snakemake's process: it starts
# the moment the last batch ends).

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
    run:
        from mojo.aggregate import write_tables  # here, so pyarrow loads only when tables are made

        write_tables([Path(p) for p in input], Path(output.parquet), Path(output.csv), Path(output.summary))


# `snakemake tables`: the trials and their tables, without the report's plots.
rule tables:
    input:
        TABLES,
