"""Signals through real ``snakemake`` runs: added to a finished study, deleted, reproduced."""

from __future__ import annotations

from pathlib import Path

import pytest

from mojo.signals import SIGNALS_FILE, read_signal
from tests.conftest import Workflow, ball_config, reproducible_files

pytestmark = pytest.mark.slow

SIGNALS = {"rate": 50, "record": ["xpos:ball", "xquat:ball"]}


def every_file(study: Path) -> dict[str, tuple[bytes, int]]:
    """Each trial file but the signals, with its mtime: unchanged means not even rewritten."""
    return {
        f"{p.parent.name}/{p.name}": (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(study.glob("trial_*/*"))
        if p.name != SIGNALS_FILE
    }


def test_signals_added_deleted_and_reproduced(tmp_path: Path):
    config = ball_config(n_trial=3, n_proc=1, duration=0.1)
    first = Workflow(tmp_path / "first")
    first.workdir.mkdir()
    first.write_config(config)
    first.run("tables")
    study = first.study_dir()
    before = every_file(study)
    tables = (study / "trials.parquet").read_bytes()

    first.write_config(config | {"signals": SIGNALS})  # added to the finished study
    first.run("tables")
    assert every_file(study) == before
    assert (study / "trials.parquet").read_bytes() == tables
    recorded = {n: t for n, (t, _) in read_signal(study, "xpos:ball").items()}
    assert sorted(recorded) == [0, 1, 2] and all(len(t) == 5 for t in recorded.values())

    made = (study / "trial_0001" / SIGNALS_FILE).read_bytes()
    (study / "trial_0001" / SIGNALS_FILE).unlink()
    first.run("tables")
    assert (study / "trial_0001" / SIGNALS_FILE).read_bytes() == made
    assert every_file(study) == before

    second = Workflow(tmp_path / "second")  # the same seed and config, signals from the start
    second.workdir.mkdir()
    second.write_config(config | {"signals": SIGNALS})
    second.run("tables")
    assert reproducible_files(second.study_dir()) == reproducible_files(study)


def test_a_signal_the_model_lacks_stops_the_run_before_any_job(tmp_path: Path):
    workflow = Workflow(tmp_path)
    workflow.write_config(ball_config(signals={"record": ["xpos:bal"]}))
    done = workflow.run("-n", check=False)
    assert done.returncode != 0
    assert (
        "signals.record: 'xpos:bal': the model has no body named 'bal'; its bodies: world, ball"
        in done.stderr
    )
