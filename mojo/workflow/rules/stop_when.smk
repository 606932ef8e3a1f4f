# stop_when: a study that grows in rounds until one figure is known well enough (README "Is N
# enough?"). Round r's trial batches run, then the `stop_round` checkpoint computes the figure's
# interval over every trial so far and writes its decision; the tables' input walks the decisions
# (mojo/workflow/stopping.py), so round r + 1's batches are asked for only while the target is
# not met and n_trial not reached. The trials are those of a study of the final size, bit for bit.
from snakemake.logging import logger

from mojo.results.stopping import stale_rounds
from mojo.trials import layout
from mojo.workflow import jobs as mojo_jobs
from mojo.workflow import stopping as mojo_stopping

if STUDY.stop_when is not None:
    # A decision made from other trials (a changed config or n_trial) or for another figure is
    # removed before the DAG exists, so this run makes it again (milliseconds: no trial runs).
    # While a round is left to decide, the tables' record (an output of the aggregate) goes too,
    # so that the aggregate runs, and asks for the rounds, even though older tables exist.
    if workflow.is_main_process:
        for stale in stale_rounds(STUDY, FINGERPRINT):
            stale.unlink()
            logger.info(f"mojo: {stale}: decided for another config; deciding again")
        if mojo_stopping.undecided(STUDY):
            layout.tables_record(STUDY).unlink(missing_ok=True)

    localrules:
        stop_round,
        stop_settings,

    checkpoint stop_round:
        input:
            lambda wc: mojo_stopping.round_manifests(STUDY, int(wc.round)),
        output:
            layout.stop_round_pattern(STUDY),
        log:
            layout.log_pattern(STUDY, "stop_round"),
        wildcard_constraints:
            round=r"0|[1-9]\d*",
        run:
            mojo_jobs.stop_round(STUDY, int(wildcards.round), input, output[0], FINGERPRINT, log[0])

    # The settings the tables are made with: re-made (params trigger) when they change, which
    # makes the tables follow (see mojo_stopping.stop_inputs).
    rule stop_settings:
        output:
            str(layout.stop_settings_path(STUDY)),
        log:
            layout.log_pattern(STUDY, "stop_settings"),
        params:
            stop_when=STUDY.stop_when.model_dump(mode="json"),
            n_trial=STUDY.n_trial,
            statistics=STUDY.statistics.model_dump(mode="json"),
        run:
            mojo_jobs.stop_settings(params, output[0], log[0])
