# One table of every trial, and a summary of it (a `run:` job, in Snakemake's process: it starts
# the moment the last batch ends).

TABLES = [
    f"{STUDY_DIR}/trials.parquet",
    f"{STUDY_DIR}/trials.csv",
    f"{STUDY_DIR}/summary.csv",
    # The tables' hashes: a target like the tables, so that removing it (as the main process does
    # with a damaged manifest's) makes the aggregate, and the batch it needs, run again.
    str(mojo_targets.tables_record(STUDY)),
]

# A table that is not the one the aggregate wrote (truncated, garbled: its hash says) is removed
# before the DAG exists, so this run makes it again (see mojo/trials/integrity.py).
if workflow.is_main_process:
    from mojo.trials.integrity import discard_damaged_tables

    discard_damaged_tables([Path(table) for table in TABLES[:3]], Path(TABLES[3]))


localrules:
    aggregate,


rule aggregate:
    input:
        mojo_targets.batch_manifests(STUDY),
    # update(): Snakemake keeps the previous tables while the job runs and puts them back if it
    # fails, instead of deleting them (a failed aggregate never loses the last good tables).
    output:
        parquet=update(TABLES[0]),
        csv=update(TABLES[1]),
        summary=update(TABLES[2]),
        record=update(TABLES[3]),
    run:
        from mojo.results.aggregate import write_tables  # here, so pyarrow loads only when tables are made

        tables = [Path(output.parquet), Path(output.csv), Path(output.summary)]
        write_tables([Path(p) for p in input], *tables, record=Path(output.record))


# `snakemake tables`: the trials and their tables, without the report's plots.
rule tables:
    input:
        TABLES,
