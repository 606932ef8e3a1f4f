"""Sending a job's stderr (progress and trial errors) to its Snakemake log file."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[None]:
    """Copy everything written to stderr inside the block into ``path`` as well."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log, contextlib.redirect_stderr(_Tee(sys.stderr, log)):
        yield


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def fileno(self) -> int:
        """The log file's descriptor, for writers below Python (e.g. faulthandler)."""
        return self.streams[-1].fileno()

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()
