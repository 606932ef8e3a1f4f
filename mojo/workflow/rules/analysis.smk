# What the tables say beyond their rows: which parameters drive each metric and the failures
# (sensitivity.csv and its plots, mojo/results/sensitivity.py). A `run:` job, in Snakemake's
# process, after the aggregate: it reads only trials.parquet.
from mojo.trials import layout
from mojo.workflow import jobs as mojo_jobs

SENSITIVITY = {name: str(path) for name, path in layout.sensitivity(STUDY).items()}


localrules:
    sensitivity,


rule sensitivity:
    input:
        trials=str(layout.tables(STUDY)["parquet"]),
    output:
        **{
            name: report(path, caption=f"../report/{name}.rst", category="Sensitivity")
            for name, path in SENSITIVITY.items()
        },
    log:
        layout.log_pattern(STUDY, "sensitivity"),
    params:
        confidence=STUDY.statistics.confidence,
    run:
        mojo_jobs.sensitivity(STUDY, input.trials, output, params, log[0])


localrules:
    convergence,


# Is N enough: the running estimates and their intervals against the number of trials
# (mojo/results/convergence.py). `statistics` is a param, so another confidence level re-makes it.
rule convergence:
    input:
        trials=str(layout.tables(STUDY)["parquet"]),
    output:
        report(
            str(layout.convergence_plot(STUDY)),
            caption="../report/convergence.rst",
            category="Is N enough",
        ),
    log:
        layout.log_pattern(STUDY, "convergence"),
    params:
        units={name: spec.unit for name, spec in STUDY.parameters.items()},
        metric_units=STUDY.metric_units,
        statistics=STUDY.statistics.model_dump(mode="json"),
    run:
        mojo_jobs.convergence(input.trials, output[0], params, log[0])
