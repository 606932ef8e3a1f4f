"""Every use of Snakemake's private API (mojo/workflow/private_api.py) against the installed Snakemake.

Each test names the Snakemake attribute it checks and the installed version, so an upgrade that
renames or changes one fails here by name (the ``snakemake>=9,<10`` pin in pyproject.toml goes
only as far as these pass). The behaviour is checked in one tiny real run (``probe``): a
Snakefile that wraps ``workflow.execute``, lists the DAG's jobs from ``onstart`` and cancels the
scheduler's timers from ``onsuccess``, recording what it saw.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import textwrap
from pathlib import Path

import pytest
import snakemake
import snakemake.api  # first: snakemake.workflow cannot be imported on its own
from snakemake.scheduling.job_scheduler import JobScheduler
from snakemake.workflow import Workflow

from mojo.workflow import private_api
from tests.conftest import SNAKEMAKE

VERSION = f"Snakemake {snakemake.__version__}"

PROBE = textwrap.dedent(
    """
    import json

    from mojo.workflow.private_api import around_execute, jobs_to_run, stop_rescheduling_timers


    def note(**entry):
        with open("record.jsonl", "a") as record:
            record.write(json.dumps(entry) + "\\n")


    def probe(execute, *args, **kwargs):
        plugin = kwargs.get("executor_plugin")
        note(
            event="execute",
            keywords=sorted(set(kwargs) & {"executor_plugin", "executor_settings"}),
            plugin=getattr(plugin, "name", None),
            dryrun=getattr(getattr(plugin, "common_settings", None), "dryrun_exec", None),
            executor_chosen=workflow.executor_plugin is not None,
        )
        return execute(*args, **kwargs)


    around_execute(workflow, "probe", probe)
    around_execute(workflow, "probe", probe)  # a second call with the same name is ignored


    onstart:
        note(
            event="onstart",
            jobs=sorted(
                [job.rule.name, job.resources.get("runtime"), job.threads]
                for job in jobs_to_run(workflow)
            ),
        )


    onsuccess:
        note(event="onsuccess", cancelled=stop_rescheduling_timers())


    rule all:
        input:
            "a.txt",


    rule a:
        output:
            "a.txt",
        resources:
            runtime=7,
        threads: 1
        shell:
            "touch {output}"
    """
)


def run_probe(folder: Path, *args: str) -> list[dict]:
    folder.mkdir()
    (folder / "Snakefile").write_text(PROBE)
    done = subprocess.run(
        [*SNAKEMAKE, "--cores", "1", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{VERSION}: the probe run failed:\n{done.stdout}\n{done.stderr}"
    record = folder / "record.jsonl"
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> dict[str, list[dict]]:
    """What the probe recorded in a real run and in a dry run (``-n``)."""
    root = tmp_path_factory.mktemp("private-api")
    # Timers of 10 s: still pending at onsuccess however slow the machine.
    run = run_probe(root / "run", "--max-jobs-per-timespan", "100/10s")
    return {"run": run, "dry": run_probe(root / "dry", "-n")}


def events(record: list[dict], name: str) -> list[dict]:
    return [entry for entry in record if entry["event"] == name]


# --------------------------------------------------------------------------- Workflow.execute


def test_workflow_execute_takes_the_executor_by_keyword():
    parameters = inspect.signature(Workflow.execute).parameters
    missing = {"executor_plugin", "executor_settings"} - set(parameters)
    assert not missing, (
        f"{VERSION}: Workflow.execute has no parameter {sorted(missing)}; "
        "mojo.workflow.private_api.around_execute (run lock, SLURM guard) reads them"
    )


@pytest.mark.slow
def test_around_execute_runs_once_before_the_executor_and_the_jobs(probe):
    run = probe["run"]
    assert [e["event"] for e in run] == ["execute", "onstart", "onsuccess"], (
        f"{VERSION}: a wrapped Workflow.execute did not run exactly once before onstart "
        f"(around_execute, used by the run lock and the SLURM guard): {run}"
    )
    execute = run[0]
    assert execute["keywords"] == ["executor_plugin", "executor_settings"], (
        f"{VERSION}: Workflow.execute is no longer called with executor_plugin and "
        f"executor_settings as keywords (around_execute relies on it): {execute}"
    )
    assert execute["plugin"] == "local" and execute["dryrun"] is False
    assert execute["executor_chosen"] is False, (
        f"{VERSION}: workflow.executor_plugin is set before Workflow.execute runs, so the SLURM "
        "guard's settings would no longer come before the executor"
    )


@pytest.mark.slow
def test_around_execute_sees_a_dry_run(probe):
    (execute,) = events(probe["dry"], "execute")
    assert execute["dryrun"] is True, (
        f"{VERSION}: executor_plugin.common_settings.dryrun_exec is not True in a dry run "
        f"(the run lock skips dry runs by it): {execute}"
    )
    assert not events(probe["dry"], "onstart")


# --------------------------------------------------------------------------- workflow.dag.needrun_jobs


def test_dag_lists_the_jobs_to_run():
    from snakemake.dag import DAG

    assert callable(getattr(DAG, "needrun_jobs", None)), (
        f"{VERSION}: DAG.needrun_jobs is gone; mojo.workflow.private_api.jobs_to_run (the SLURM "
        "pre-submission check) reads the jobs from it"
    )
    assert isinstance(getattr(Workflow, "dag", None), property), f"{VERSION}: Workflow.dag is gone"


@pytest.mark.slow
def test_jobs_to_run_lists_the_dag_jobs_at_onstart(probe):
    (onstart,) = events(probe["run"], "onstart")
    assert onstart["jobs"] == [["a", 7, 1], ["all", None, 1]], (
        f"{VERSION}: workflow.dag.needrun_jobs() at onstart no longer lists the jobs with their "
        f"rule names, resources and threads (jobs_to_run, SLURM check): {onstart}"
    )


# --------------------------------------------------------------------------- scheduler timers


def test_scheduler_starts_its_timers_in_schedule_reevalutation():
    method = getattr(JobScheduler, "_schedule_reevalutation", None)
    assert callable(method), (
        f"{VERSION}: JobScheduler._schedule_reevalutation is gone; "
        "mojo.workflow.private_api.stop_rescheduling_timers matches the timers it starts"
    )
    assert list(inspect.signature(method).parameters) == ["self", "delay"], (
        f"{VERSION}: JobScheduler._schedule_reevalutation changed its signature"
    )
    assert method.__qualname__ == private_api.RESCHEDULE_TIMER, (
        f"{VERSION}: the timer method is {method.__qualname__!r}, "
        f"stop_rescheduling_timers matches {private_api.RESCHEDULE_TIMER!r}"
    )


@pytest.mark.slow
def test_stop_rescheduling_timers_cancels_a_pending_timer(probe):
    (onsuccess,) = events(probe["run"], "onsuccess")
    assert onsuccess["cancelled"] >= 1, (
        f"{VERSION}: no timer of {private_api.RESCHEDULE_TIMER} was pending at onsuccess, so "
        "stop_rescheduling_timers no longer matches Snakemake's scheduler timers (each finished "
        "run would wait up to a second before it exits)"
    )
