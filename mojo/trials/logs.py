"""Where a job reports: stderr and its Snakemake log file, both at once."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator, TextIO


@contextlib.contextmanager
def job_log(path: str | Path) -> Iterator[TextIO]:
    """A stream that writes to stderr and to the log file ``path``.

    For jobs that run in a thread of Snakemake's own process (``run:``), where redirecting stderr
    would also catch Snakemake's output and every other job's.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log:
        yield _Tee(sys.stderr, log)


class _Tee:
    def __init__(self, *streams: TextIO):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def fileno(self) -> int:
        """The log file's descriptor, for writers below Python (e.g. faulthandler, a forked
        worker's stdout and stderr)."""
        return self.streams[-1].fileno()

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()
