# Pictures of chosen trials (the nominal trial, the best and worst, the first that did not
# succeed), replayed and rendered offscreen: only in a study whose config has `pictures:`. How
# many trials are pictured is known only once the trials ran, so the output is a folder, and the
# report finds its pictures by name (mojo.results.pictures.PATTERNS). A `run:` job: it starts one
# render process per trial itself (MuJoCo's OpenGL backend is chosen when it is imported).
from mojo.results import pictures as mojo_pictures
from mojo.trials import layout
from mojo.workflow import jobs as mojo_jobs

PICTURES = [str(layout.pictures(STUDY))] if STUDY.pictures is not None else []

# A picture deleted or damaged inside the finished folder: the folder is removed before the DAG
# exists, so the rule makes it again (Snakemake sees only the folder, not the files in it).
if PICTURES and workflow.is_main_process:
    mojo_pictures.discard_damaged_pictures(layout.pictures(STUDY))


if PICTURES:

    localrules:
        pictures,

    rule pictures:
        input:
            trials=str(layout.tables(STUDY)["parquet"]),
        output:
            report(
                directory(PICTURES[0]),
                patterns=mojo_pictures.PATTERNS,
                caption="../report/pictures.rst",
                category="Pictures",
                labels=lambda wildcards, output: mojo_pictures.report_labels(output[0], wildcards),
            ),
        log:
            layout.log_pattern(STUDY, "pictures"),
        # One render process per thread, for the few pictured trials; Snakemake lowers it to --cores.
        threads: 4
        params:
            settings=STUDY.pictures.model_dump(mode="json"),
        run:
            mojo_jobs.pictures(STUDY, input.trials, output[0], threads, log[0])
