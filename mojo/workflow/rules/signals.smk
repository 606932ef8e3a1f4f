# Envelope plots of the signals the trials record: only in a study whose config has `signals:`.
# One figure per signal, all made by one job that reads the table of statuses once and the
# signal files directly (a `run:` job, in Snakemake's process).
from mojo.trials import layout
from mojo.workflow import jobs as mojo_jobs

SIGNAL_PLOTS = {signal: str(path) for signal, path in layout.signal_plots(STUDY).items()}


if SIGNAL_PLOTS:

    localrules:
        envelopes,

    # After the tables (the statuses come from trials.parquet, which the aggregate writes once
    # every trial, and so every signal file, is done).
    rule envelopes:
        input:
            trials=str(layout.tables(STUDY)["parquet"]),
        output:
            [
                report(
                    path,
                    caption="../report/envelopes.rst",
                    category="Signals",
                    labels={"signal": signal},
                )
                for signal, path in SIGNAL_PLOTS.items()
            ],
        log:
            layout.log_pattern(STUDY, "envelopes"),
        params:
            signals=list(SIGNAL_PLOTS),
        run:
            mojo_jobs.envelopes(STUDY, input.trials, output, params.signals, log[0])
