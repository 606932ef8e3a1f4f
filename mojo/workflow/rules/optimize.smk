# Optuna optimisation (`snakemake --cores 2 optimize`): a loop of rounds driven by a checkpoint.
# Round r: `optimize_step` (local) tells round r-1's results and asks round r's trials (or stops);
# `optimize_evals` jobs evaluate them (the only jobs sent to a cluster; `run:` jobs, like the trial
# batches: see trials.smk); then step r+1. The loop ends at a step that asks nothing (n_trial
# reached or timeout passed). See docs/optimize.md.
from mojo.optimize import files as opt_files
from mojo.optimize import workflow as opt_workflow

if STUDY.optimize is None:

    localrules:
        optimize,

    rule optimize:
        message:
            "The study config has no 'optimize:' section (see docs/optimize.md and config/optimize.yaml)."
        run:  # no shell: no config text may reach one
            from snakemake.exceptions import WorkflowError

            raise WorkflowError(
                f"study '{STUDY.study}' has no 'optimize:' section: nothing to optimise (see docs/optimize.md)"
            )

else:
    OPT_DIR = str(opt_files.opt_dir(STUDY))

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
            f"{OPT_DIR}/best.json",
            f"{OPT_DIR}/trials.parquet",
            f"{OPT_DIR}/evaluations.parquet",
            str(opt_files.results_record_path(STUDY)),  # (see optimize_finish)
            expand(f"{OPT_DIR}/plots/{{plot}}.png", plot=opt_files.PLOTS),

    checkpoint optimize_step:
        input:
            lambda wc: opt_workflow.step_inputs(checkpoints, STUDY, int(wc.round)),
        output:
            f"{OPT_DIR}/rounds/round_{{round}}.json",
        log:
            f"{OPT_DIR}/.mojo/logs/step_{{round}}.log",
        wildcard_constraints:
            round=r"\d+",
        run:
            from mojo.optimize.loop import run_step  # Optuna loads at the first round, once a run

            run_step(STUDY, int(wildcards.round), Path(output[0]), Path(log[0]))

    rule optimize_evals:
        input:
            round=f"{OPT_DIR}/rounds/round_{{round}}.json",
        output:
            f"{OPT_DIR}/rounds/round_{{round}}/batch_{{job}}.json",
        log:
            f"{OPT_DIR}/.mojo/logs/evals_{{round}}_{{job}}.log",
        wildcard_constraints:
            round=r"\d+",
            job=r"\d+",
        run:
            from mojo.optimize.evaluate import run_round_job

            run_round_job(STUDY, Path(input.round), int(wildcards.job), Path(output[0]), Path(log[0]))

    # The loop's budget as a file: raising n_trial or timeout re-makes it (params trigger), which
    # makes optimize_finish re-walk the rounds past the stop round. (A job whose input comes from a
    # checkpoint has its own params/mtime checks skipped by Snakemake, so finish cannot carry them.)
    rule optimize_budget:
        output:
            str(opt_files.budget_path(STUDY)),
        params:
            n_trial=STUDY.optimize.n_trial,
            timeout=STUDY.optimize.timeout,
        log:
            f"{OPT_DIR}/.mojo/logs/budget.log",
        run:  # no shell: results_dir may hold any character a path allows
            import json

            from mojo.trials.files import write_atomic

            budget = json.dumps({"n_trial": params.n_trial, "timeout": params.timeout})
            write_atomic(Path(output[0]), budget + "\n")
            Path(log[0]).write_text(f"budget: {budget}\n")

    rule optimize_finish:
        input:
            budget=str(opt_files.budget_path(STUDY)),
            rounds=lambda wc: opt_workflow.loop_outputs(checkpoints, STUDY),
        output:
            best=f"{OPT_DIR}/best.json",
            trials_parquet=f"{OPT_DIR}/trials.parquet",
            trials_csv=f"{OPT_DIR}/trials.csv",
            evals_parquet=f"{OPT_DIR}/evaluations.parquet",
            evals_csv=f"{OPT_DIR}/evaluations.csv",
            # The results' hashes: removing it (as the main process does when a loop file is
            # damaged) makes this job, and so the walk over the rounds, run again.
            record=str(opt_files.results_record_path(STUDY)),
        log:
            f"{OPT_DIR}/.mojo/logs/finish.log",
        script:
            "../scripts/optimize_finish.py"

    rule optimize_plots:
        input:
            trials=f"{OPT_DIR}/trials.parquet",
            best=f"{OPT_DIR}/best.json",
        output:
            history=report(
                f"{OPT_DIR}/plots/history.png",
                caption="../report/optimize_history.rst",
                category="Optimisation",
            ),
            slices=report(
                f"{OPT_DIR}/plots/slices.png",
                caption="../report/optimize_slices.rst",
                category="Optimisation",
            ),
            best=report(
                f"{OPT_DIR}/plots/best.png",
                caption="../report/optimize_best.rst",
                category="Optimisation",
            ),
        log:
            f"{OPT_DIR}/.mojo/logs/plots.log",
        script:
            "../scripts/optimize_plots.py"
