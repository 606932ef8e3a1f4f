# What a researcher opens after a run: plots and tables for `snakemake --report`, the software
# environment the study ran in, and a small study record that `mojo status` reads.
import sys

from snakemake.logging import logger

from mojo.slurm.guard import check_submission as check_slurm_submission
from mojo.trials import layout
from mojo.trials import targets as mojo_targets
from mojo.trials.record import discard_damaged_study_record, write_study_record
from mojo.workflow import jobs as mojo_jobs
from mojo.workflow import stopping as mojo_stopping

# An unreadable study record is removed before the DAG exists and written again at once (a run
# with nothing to do never gets to onstart), unless resume: false must then refuse the run.
if (
    workflow.is_main_process
    and discard_damaged_study_record(STUDY)
    and not mojo_targets.resume_refusal(STUDY, FINGERPRINT)
):
    write_study_record(STUDY)

PLOTS = {name: str(path) for name, path in layout.plots(STUDY).items()}
ENVIRONMENT = {name: str(path) for name, path in layout.environment(STUDY).items()}
# The default target (`rule all`, and so what `snakemake --report` shows): a config with an
# `optimize:` section is an optimisation study (its results and plots), any other a Monte Carlo
# study (its tables and plots, its sensitivity analysis and convergence plot, and the envelopes
# of its signals when it records some, pictures of chosen trials when it asks for them); the
# environment record either way. `snakemake tables` still makes an optimisation config's Monte
# Carlo trials (and `snakemake pictures` their pictures).
DEFAULT_TARGETS = [
    *(
        rules.optimize.input
        if STUDY.optimize
        else [
            *rules.tables.input,
            *PLOTS.values(),
            *map(str, layout.signal_plots(STUDY).values()),
            *rules.sensitivity.output,
            *rules.convergence.output,
            *PICTURES,
        ]
    ),
    *ENVIRONMENT.values(),
]


report: "../report/workflow.rst"


# `mojo status` needs n_trial; written by the main Snakemake process when a run starts (never in a
# dry run, a --report or cluster jobs). First, resume: false refuses a run that would change the
# finished trials the previous record describes. Only one onstart handler exists per workflow:
# extend this one. On SLURM, a job no partition can hold stops the run before any submission.
onstart:
    check_slurm_submission(workflow)
    refusal = mojo_targets.resume_refusal(STUDY, FINGERPRINT)
    if refusal:
        sys.exit(refusal)
    if STUDY.optimize is not None:  # one run of an optimisation, whatever the working folder
        from mojo.optimize.workflow import busy_refusal

        refusal = busy_refusal(STUDY, lambda message: logger.info(f"mojo: {message}"))
        if refusal:
            sys.exit(refusal)
    write_study_record(STUDY)


localrules:
    plots,
    environment,


# Reads the batch manifests itself (as the aggregate does) so that it runs beside the aggregate;
# a `run:` job, in Snakemake's process, where pandas and pyarrow are usually loaded already.
rule plots:
    input:
        **mojo_stopping.stop_inputs(STUDY, checkpoints, after_tables=True),
        manifests=mojo_stopping.manifests(STUDY, checkpoints),
    output:
        status=report(PLOTS["status"], caption="../report/status.rst", category="Monte Carlo"),
        parameters=report(PLOTS["parameters"], caption="../report/parameters.rst", category="Monte Carlo"),
        metrics=report(PLOTS["metrics"], caption="../report/metrics.rst", category="Monte Carlo"),
        scatter=report(PLOTS["scatter"], caption="../report/scatter.rst", category="Monte Carlo"),
        slowest=report(PLOTS["slowest"], caption="../report/slowest.rst", category="Monte Carlo"),
        summary=report(PLOTS["summary"], caption="../report/summary.rst", category="Tables"),
    log:
        layout.log_pattern(STUDY, "plots"),
    priority: 1  # the longest job at the end of a study: start it before the aggregate
    params:
        units={name: spec.unit for name, spec in STUDY.parameters.items()},
        metric_units=STUDY.metric_units,
        statistics=STUDY.statistics.model_dump(mode="json"),
    run:
        mojo_jobs.plots(input.manifests, output, params, log[0])


# Recorded once, when the study is first run: it has no inputs, so it is never re-made (delete
# the files to record the environment again).
rule environment:
    output:
        json=report(ENVIRONMENT["json"], caption="../report/environment.rst", category="Provenance"),
        txt=report(ENVIRONMENT["txt"], caption="../report/environment.rst", category="Provenance"),
    log:
        layout.log_pattern(STUDY, "environment"),
    priority: -1  # after the trials have their cores: it only records what is installed
    run:
        mojo_jobs.environment(output, log[0])
