"""Progress lines in a batch job's log: trials done, failed and left, throughput and an ETA.

A batch job reports through :class:`BatchProgress` (the progress callback of
:func:`mojo.trials.batch.run_plans`). It prints one line each time another tenth of the job's trials is
done (at most one every :data:`MIN_INTERVAL` seconds) and at least every :data:`MAX_INTERVAL`
seconds, plus a last line when the job ends. Successful trials never get a line of their own; the
first :data:`DETAILED_PROBLEMS` trials that do not succeed do (status and reason), later ones are
only counted (``mojo status`` lists them). The ETA assumes trials finish at a steady rate; where they
finish in bursts (the warp backend finishes a batch's worlds together, after compiling and stepping
them all) the lines give none: that backend says what it is doing at each stage instead.

:func:`format_duration` is here, at the bottom of the layers, so that ``mojo status`` writes
durations as the batch logs do without the trials layer importing the command.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from mojo.trials.files import TrialRow
from mojo.trials.trial import TrialPlan

STEP = 0.1
"""Share of the job's trials between two progress lines."""
MIN_INTERVAL = 2.0
MAX_INTERVAL = 30.0
DETAILED_PROBLEMS = 20


def format_duration(seconds: float) -> str:
    """A duration for people: ``'42 s'``, ``'3 min 07 s'``, ``'2 h 05 min'``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


class BatchProgress:
    """Progress of one batch job; call it with each finished ``(plan, result)``."""

    def __init__(
        self,
        label: str,
        to_run: int,
        skipped: int = 0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        steady: bool = True,
    ):
        """``steady``: whether trials finish at a steady rate, so that the rate so far gives an ETA."""
        self.label = label
        self.steady = steady
        self.stream = stream
        self.clock = clock
        self.total = to_run + skipped
        self.skipped = skipped
        self.done = 0
        self.problems = 0
        self.start = self.last_line = clock()
        self.next_share = STEP

    @property
    def todo(self) -> int:
        return max(self.total - self.skipped, self.done)

    def _print(self, text: str) -> None:
        print(f"[mojo] {self.label}: {text}", file=self.stream or sys.stderr, flush=True)

    def __call__(self, plan: TrialPlan, result: TrialRow | None) -> None:
        self.done += 1
        status = getattr(result, "status", None)
        if status != "success":
            self.problems += 1
            if self.problems <= DETAILED_PROBLEMS:
                self._print(f"trial {plan.number}: {status}: {getattr(result, 'reason', None)}")
                if self.problems == DETAILED_PROBLEMS:
                    self._print("further trials that do not succeed are only counted (see `mojo status`)")
        now = self.clock()
        share = self.done / self.todo if self.todo else 1.0
        since = now - self.last_line
        if self.done < self.todo and (
            (share >= self.next_share and since >= MIN_INTERVAL) or since >= MAX_INTERVAL
        ):
            self.line(now)

    def line(self, now: float | None = None) -> None:
        """Print where the job is: done, not successful, left, throughput, ETA."""
        now = self.clock() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        left = max(self.todo - self.done, 0)
        rate = self.done / elapsed
        text = (
            f"{self.done}/{self.todo} trials done ({100 * self.done / max(self.todo, 1):.0f}%), "
            f"{self.problems} not successful, {left} left, {rate:.3g} trials/s"
        )
        if left and self.steady:
            text += f", ETA {format_duration(left / rate)}" if rate > 0 else ", ETA unknown"
        elif not left:
            text += f", took {format_duration(elapsed)}"
        if self.skipped:
            text += f" ({self.skipped} already done)"
        self._print(text)
        self.last_line = now
        share = self.done / max(self.todo, 1)
        while self.next_share <= share:
            self.next_share += STEP

    def finish(self) -> None:
        """The job's last line; left out for a short job (a few trials, a few seconds) so that
        studies run one trial per job do not print a line per trial."""
        if self.todo >= 10 or self.clock() - self.start >= MIN_INTERVAL or self.last_line > self.start:
            self.line()
