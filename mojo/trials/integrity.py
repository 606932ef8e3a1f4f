"""Which files already on disk a rerun may trust, decided cheaply.

Trial files are written atomically, but a disk, a copy or a person can still leave one truncated or
garbled, and a file that merely exists would then be trusted for good. Parsing every trial file on
every run would cost seconds per 10,000 trials, so each batch manifest records its trials' file
stamps (size and mtime_ns) and a rerun stats each file: only a file whose stamp changed is parsed,
and one that does not parse is removed, so that the rerun re-makes its trial and nothing else.
Manifests are few and are parsed whole (only their stamps, when the aggregate read them whole
since); the tables, which Snakemake touches after writing them, are checked against a record of
their SHA-256 instead of a stamp. At 100,000 trials this costs a dry run about 0.4 s to read the
manifests and 1.5 s to stat the trial files (listing the folders, as before, took 1.5 s).

Imported by the Snakefile (via :mod:`mojo.trials.targets`) and by ``mojo status``: no MuJoCo, no pyarrow.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Callable
from xml.parsers import expat

from pydantic import ConfigDict, ValidationError

from mojo.config.base import Frozen
from mojo.trials.files import (
    CONFIG_JSON,
    MODEL_XML,
    NAMED_VALUES_JSON,
    RESULT_JSON,
    SIGNALS_FILE,
    TRIAL_FILES,
    BatchManifest,
    FileStamp,
    NamedValues,
    TrialConfig,
    TrialResult,
    leftover_files,
    read_model,
    write_model,
)

MISSING = "missing"


def file_stamp(path: str | Path) -> FileStamp | None:
    """The file's (size, mtime_ns), or None if it is not there."""
    try:
        stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return stat.st_size, stat.st_mtime_ns


def trial_stamps(folder: Path, names: tuple[str, ...] = TRIAL_FILES) -> dict[str, FileStamp]:
    """The stamps of a finished trial's files (``names``: see :func:`mojo.trials.files.trial_files`),
    as a batch records them in its manifest."""
    stamps = {name: file_stamp(os.path.join(folder, name)) for name in names}
    return {name: stamp for name, stamp in stamps.items() if stamp is not None}


def _check_mjcf(data: bytes) -> None:
    """Well-formed XML whose root element is ``<mujoco>``: what every model.xml mojo writes is."""
    parser = expat.ParserCreate()
    roots: list[str] = []

    def start(name: str, attributes: dict) -> None:
        roots.append(name)
        parser.StartElementHandler = None  # the root is all we look at

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise ValueError(f"not well-formed XML ({error})") from None
    if roots != ["mujoco"]:
        raise ValueError(f"the root element is <{roots[0]}>, not <mujoco>")


def _check_parquet(data: bytes) -> None:
    """Begins and ends with parquet's magic bytes, around a footer that fits: cheap, and without
    pyarrow (a file of another spec is found by the batch, which reads its metadata)."""
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise ValueError("not a parquet file (no PAR1 magic bytes at both ends)")
    if int.from_bytes(data[-8:-4], "little") > len(data) - 12:
        raise ValueError("not a whole parquet file (its footer is longer than the file)")


_TRIAL_FILE_CHECKS: dict[str, Callable[[bytes], object]] = {
    MODEL_XML: _check_mjcf,
    SIGNALS_FILE: _check_parquet,
    CONFIG_JSON: TrialConfig.model_validate_json,
    NAMED_VALUES_JSON: NamedValues.validate_json,
    RESULT_JSON: TrialResult.model_validate_json,
}


def describe(error: Exception) -> str:
    """One line saying why a file could not be read."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        return f"{first['msg']}{f' at {where}' if where else ''}{more}"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.start})"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def unreadable(path: Path) -> str | None:
    """Why the trial file ``path`` cannot be used (:data:`MISSING`, or what is wrong with its
    contents), or None when it parses with its schema (model.xml: well-formed MJCF)."""
    try:
        _TRIAL_FILE_CHECKS[path.name](path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    except (OSError, ValueError) as error:
        return describe(error)
    return None


def damaged_trial_files(
    folder: str | Path, recorded: dict[str, FileStamp], names: tuple[str, ...] = TRIAL_FILES
) -> dict[Path, str]:
    """A finished trial's files (of ``names``) that must be re-made, each with why: the missing
    ones, and those whose stamp differs from ``recorded`` and that do not parse. Costs a stat per
    file (about 5 µs); a file is read only when its stamp changed."""
    damaged = {}
    base = os.fspath(folder)  # str paths until something is found: this runs for every trial
    for name in names:
        stamp = file_stamp(f"{base}/{name}")
        if stamp is None:
            damaged[Path(base, name)] = MISSING
        elif stamp != recorded.get(name):
            reason = unreadable(Path(base, name))
            if reason is not None:
                damaged[Path(base, name)] = reason
    return damaged


def read_stamps(
    path: Path, first: int, last: int, whole_at: FileStamp | None = None
) -> dict[int, dict[str, FileStamp]]:
    """The trial file stamps in batch ``first..last``'s manifest; ValueError (saying why) if it
    cannot be the one its batch wrote: unparsable, another schema, or not one row per trial of
    the batch. A manifest still at stamp ``whole_at`` (the aggregate read it whole) is read
    without validating its rows: 3 times faster (0.4 s per 100,000 trials)."""
    if whole_at is not None and file_stamp(path) == whole_at:
        return read_model(path, ManifestStamps).stamps
    manifest = read_model(path, BatchManifest)
    trials = [row.trial for row in manifest.rows]
    if (manifest.first, manifest.last) != (first, last) or trials != list(range(first, last + 1)):
        raise ValueError(f"it does not hold one row for each trial {first}..{last}")
    return manifest.stamps


class ManifestStamps(Frozen):
    """A batch manifest's stamps alone, read without validating its rows (three times faster):
    by ``mojo status``, and by a run for a manifest the aggregate read whole."""

    model_config = ConfigDict(extra="ignore")  # unlike Frozen: the rows are there, skipped unread

    stamps: dict[int, dict[str, FileStamp]] = {}


def discard(path: Path, reason: str) -> None:
    """Remove a file a rerun cannot use, saying so: the workflow re-makes what it belongs to."""
    path.unlink(missing_ok=True)
    print(f"mojo: {path} is unreadable ({reason}): removed, the run re-makes it", file=sys.stderr)


def remove_leftovers(folder: Path, name: str | None = None) -> None:
    """Delete the temporary files killed writers left in ``folder`` (of file ``name`` only, if
    given). Call it only where no other process writes the same files at the same time."""
    for leftover in leftover_files(folder, name):
        leftover.unlink(missing_ok=True)


# --- tables ------------------------------------------------------------------------------------


class TablesRecord(Frozen):
    """``.mojo/tables.json``: the SHA-256 of each table the aggregate wrote, by file name. It is an
    output of the aggregate and a target of every run: removing it makes the aggregate run again."""

    sha256: dict[str, str]
    manifests: dict[str, FileStamp] = {}
    """The stamps of the manifests the tables were made from, by file name: one still at its
    stamp is whole (the aggregate read it)."""


def read_tables_record(record: Path) -> TablesRecord | None:
    """The aggregate's record, or None if it is missing or unreadable."""
    try:
        return read_model(record, TablesRecord)
    except (OSError, ValueError):
        return None


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def record_tables(tables: list[Path], record: Path, manifests: list[Path]) -> None:
    """Record the tables' hashes and the stamps of the manifests they were made from (by the
    aggregate, once the tables are written)."""
    write_model(
        record,
        TablesRecord(
            sha256={table.name: _sha256(table) for table in tables},
            manifests={path.name: file_stamp(path) for path in manifests},
        ),
    )


def discard_damaged_tables(tables: list[Path], record: Path) -> None:
    """Remove each table whose content is not what the aggregate recorded, so the run makes it
    again. Without a record, the aggregate runs anyway (to make it) and rewrites every table; an
    unreadable record is removed to that end. Reads every table once (about 20 MB for 100,000
    trials)."""
    try:
        recorded = read_model(record, TablesRecord).sha256
    except FileNotFoundError:
        return
    except (OSError, ValueError) as error:
        discard(record, describe(error))
        return
    for table in tables:
        if table.exists() and _sha256(table) != recorded.get(table.name):
            discard(table, "its SHA-256 is not that of the table the aggregate wrote")
