# Optuna optimisation (`snakemake --cores 2 optimize`): a loop of rounds driven by a checkpoint.
# Round r: `optimize_step` (local) tells round r-1's results and asks round r's trials (or stops);
# `optimize_evals` jobs evaluate them (the only jobs sent to a cluster; `run:` jobs, like the trial
# batches: see trials.smk); then step r+1. The loop ends at a step that asks nothing (n_trial
# reached or timeout passed). See docs/optimize.md.
import sys
from pathlib import Path

from mojo.optimize import files as opt_files
from mojo.optimize import workflow as opt_workflow
from mojo.slurm.resources import eval_job_size, job_resources
from mojo.trials import layout
from mojo.workflow import jobs as mojo_jobs

if STUDY.optimize is None:

    localrules:
        optimize,

    rule optimize:
        log:
            layout.log_pattern(STUDY, "optimize"),
        message:
            "The study config has no 'optimize:' section (see docs/optimize.md and config/optimize.yaml)."
        run:  # no shell: no config text may reach one
            from snakemake.exceptions import WorkflowError

            raise WorkflowError(
                f"study '{STUDY.study}' has no 'optimize:' section: nothing to optimise (see docs/optimize.md)"
            )

else:
    OPT_DIR = str(opt_files.opt_dir(STUDY))
    RESULTS = {name: str(path) for name, path in opt_files.results(STUDY).items()}
    RESULTS_RECORD = str(opt_files.results_record_path(STUDY))
    BUDGET = str(opt_files.budget_path(STUDY))

    # A damaged round file, manifest, evaluation file or result is removed before the DAG exists,
    # so this run re-makes it and what depends on it (see mojo/optimize/integrity.py).
    if workflow.is_main_process:
        from mojo.optimize.integrity import discard_damaged

        discard_damaged(STUDY)

    if (
        workflow.is_main_process
        and not STUDY.optimize.resumes(STUDY)
        and opt_workflow.optimization_started(STUDY)
    ):
        sys.exit(
            f"the optimisation of study '{STUDY.study}' already has rounds in {OPT_DIR} and resume "
            "is false: set resume: true to continue it, or choose another study name (nothing was deleted)"
        )

    # Ask and tell open the study storage: they run on the submit host, never on a cluster node.
    localrules:
        optimize,
        optimize_step,
        optimize_budget,
        optimize_finish,
        optimize_plots,

    rule optimize:
        input:
            RESULTS["best_json"],
            RESULTS["trials_parquet"],
            RESULTS["evaluations_parquet"],
            RESULTS_RECORD,  # (see optimize_finish)
            [str(path) for path in opt_files.plot_paths(STUDY).values()],

    checkpoint optimize_step:
        input:
            lambda wc: opt_workflow.step_inputs(checkpoints, STUDY, int(wc.round)),
        output:
            opt_files.round_pattern(STUDY),
        log:
            opt_files.log_pattern(STUDY, "step"),
        wildcard_constraints:
            round=r"\d+",
        run:
            # Optuna loads at the first round, once a run
            from mojo.optimize.loop import run_step

            run_step(STUDY, int(wildcards.round), Path(output[0]), Path(log[0]))

    rule optimize_evals:
        input:
            round=opt_files.round_pattern(STUDY),
        output:
            opt_files.batch_pattern(STUDY),
        log:
            opt_files.log_pattern(STUDY, "evals"),
        wildcard_constraints:
            round=r"\d+",
            job=r"\d+",
        # Sized from the study's trial_seconds and mem_mb, as the trial batches are: on SLURM,
        # what the job asks for and what the partition check judges.
        resources:
            **job_resources(STUDY, eval_job_size(STUDY)),
        run:
            from mojo.optimize.evaluate import run_round_job

            run_round_job(STUDY, Path(input.round), int(wildcards.job), Path(output[0]), Path(log[0]))

    # The loop's budget as a file: raising n_trial or timeout re-makes it (params trigger), which
    # makes optimize_finish re-walk the rounds past the stop round. (A job whose input comes from a
    # checkpoint has its own params/mtime checks skipped by Snakemake, so finish cannot carry them.)
    # A changed direction re-makes it too: the run starts, and onstart refuses it (busy_refusal).
    rule optimize_budget:
        output:
            BUDGET,
        log:
            opt_files.log_pattern(STUDY, "budget"),
        params:
            n_trial=STUDY.optimize.n_trial,
            timeout=STUDY.optimize.timeout,
            direction=STUDY.optimize.direction,
        run:  # no shell: results_dir may hold any character a path allows
            mojo_jobs.optimize_budget(params.n_trial, params.timeout, output[0], log[0])

    rule optimize_finish:
        input:
            budget=BUDGET,
            rounds=lambda wc: opt_workflow.loop_outputs(checkpoints, STUDY),
        output:
            **RESULTS,
            # The results' hashes: removing it (as the main process does when a loop file is
            # damaged) makes this job, and so the walk over the rounds, run again.
            record=RESULTS_RECORD,
        log:
            opt_files.log_pattern(STUDY, "finish"),
        run:
            mojo_jobs.optimize_finish(STUDY, output, log[0])

    rule optimize_plots:
        input:
            trials=RESULTS["trials_parquet"],
            best=RESULTS["best_json"],
        output:
            **{
                name: report(
                    str(path),
                    caption=f"../report/optimize_{name}.rst",
                    category="Optimisation",
                )
                for name, path in opt_files.plot_paths(STUDY).items()
            },
        log:
            opt_files.log_pattern(STUDY, "plots"),
        run:
            mojo_jobs.optimize_plots(STUDY, input, output, log[0])
