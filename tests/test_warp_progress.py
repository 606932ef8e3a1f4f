"""What a warp batch job's log says while it runs: its trials finish in bursts (a batch's worlds
together, after every model is compiled and stepped), so the log follows the compile stage and
gives no ETA from the rate of finished trials (at 100,000 trials on two cores the first trial
finished after three minutes, and the log said "ETA 5182 h")."""

from __future__ import annotations

import io
from types import SimpleNamespace

import mojo.trials.warp as warp_backend
from mojo.trials.progress import BatchProgress
from mojo.trials.warp import models


class _Pool:
    """A pool whose compile tasks take one second of the fake clock each."""

    workers = 2

    def __init__(self, clock: list[float]):
        self.clock = clock

    def map(self, function, items, on_crash, chunksize):
        for index in items:
            self.clock[0] += 1.0
            yield models.Compiled(index, 1.0, key="k")


def test_the_compile_stage_says_how_far_it_is_and_how_long_is_left(monkeypatch, capsys):
    clock = [0.0]
    monkeypatch.setattr(warp_backend, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    compiled = list(warp_backend._compiled(100, _Pool(clock)))
    assert [c.index for c in compiled] == list(range(100))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[mojo] warp: compiled 10/100 models (10%) in 10 s, 1 min 30 s to go"
    assert len(lines) == 10  # a tenth at a time, then the stage's total
    assert lines[-1] == "[mojo] warp: compiled 100 models in 100 s on 2 cores"


def test_progress_of_trials_finishing_in_bursts_gives_no_eta():
    clock = iter([0.0, 186.0, 187.0, 188.0, 189.0]).__next__
    stream = io.StringIO()
    progress = BatchProgress("trials 0-99999", to_run=100_000, stream=stream, clock=clock, steady=False)
    progress(SimpleNamespace(number=0), SimpleNamespace(status="success"))  # after the compile
    line = stream.getvalue()
    assert "1/100000 trials done" in line and "ETA" not in line
