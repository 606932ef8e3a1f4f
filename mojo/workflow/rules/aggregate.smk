# One table of every trial, and a summary of it (a `run:` job, in Snakemake's process: it starts
# the moment the last batch ends).
from mojo.trials import layout
from mojo.trials.integrity import discard_damaged_tables
from mojo.workflow import jobs as mojo_jobs
from mojo.workflow import stopping as mojo_stopping

TABLES = layout.tables(STUDY)

# A table that is not the one the aggregate wrote (truncated, garbled: its hash says) is removed
# before the DAG exists, so this run makes it again (see mojo/trials/integrity.py).
if workflow.is_main_process:
    discard_damaged_tables(list(TABLES.values()), layout.tables_record(STUDY))


localrules:
    aggregate,


rule aggregate:
    # Every batch's manifest; with stop_when, those of the rounds run (see mojo/workflow/stopping.py).
    input:
        **mojo_stopping.stop_inputs(STUDY, checkpoints),
        manifests=mojo_stopping.manifests(STUDY, checkpoints),
    # update(): Snakemake keeps the previous tables while the job runs and puts them back if it
    # fails, instead of deleting them (a failed aggregate never loses the last good tables).
    output:
        **{name: update(str(path)) for name, path in TABLES.items()},
        # The tables' hashes: a target like the tables, so that removing it (as the main process
        # does with a damaged manifest's) makes the aggregate, and the batch it needs, run again.
        record=update(str(layout.tables_record(STUDY))),
    log:
        layout.log_pattern(STUDY, "aggregate"),
    # The summary's intervals: a param, so that another confidence level re-makes the tables.
    params:
        statistics=STUDY.statistics.model_dump(mode="json"),
    run:
        mojo_jobs.aggregate(input.manifests, output, params, log[0])


# `snakemake tables`: the trials and their tables, without the report's plots.
rule tables:
    input:
        rules.aggregate.output,
