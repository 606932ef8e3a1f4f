"""The study's tables: one row per trial, and a summary per status and per metric.

Built with pyarrow and numpy alone: the aggregate runs after the last trial, so its start-up is
part of every study's wall time, and importing pandas would double it. ``.to_pandas()`` gives a
DataFrame of either table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet

from mojo.config.study import StatisticsConfig
from mojo.results import statistics as stats
from mojo.trials.files import STATUSES, TABLE_COLUMNS, BatchManifest, TrialRow, atomic_output, read_model
from mojo.trials.integrity import record_tables, remove_leftovers

PERCENTILES = {"5%": 5, "25%": 25, "median": 50, "75%": 75, "95%": 95}
STATISTICS = ("count", "mean", "std", "min", *PERCENTILES, "max")
"""The summary's descriptive columns after ``kind`` and ``name``, in order; the interval columns
(:func:`mojo.results.statistics.summary_columns`) follow them."""


def read_rows(manifests: list[Path]) -> list[TrialRow]:
    rows = [row for path in manifests for row in read_model(path, BatchManifest).rows]
    return sorted(rows, key=lambda row: row.trial)


def trials_table(rows: list[TrialRow]) -> pa.Table:
    """Columns: :data:`TABLE_COLUMNS` (trial, status, reason, objective, wall_time) in the order of
    :class:`TrialRow`'s fields, with each parameter where ``values`` is and each metric where
    ``metrics`` is. A trial without some metric (it failed before computing it, or the value was
    not finite) has a null there; see :func:`_column` for the kind of each column.
    """
    parameters = list(dict.fromkeys(name for row in rows for name in row.values))
    metrics = list(dict.fromkeys(name for row in rows for name in row.metrics))
    _refuse_collisions(rows, parameters, metrics)
    columns = {}
    for field in TrialRow.model_fields:
        if field == "values":
            columns.update({n: _column([row.values.get(n) for row in rows]) for n in parameters})
        elif field == "metrics":
            columns.update({n: _column([row.metrics.get(n) for row in rows]) for n in metrics})
        else:
            columns[field] = pa.array([getattr(row, field) for row in rows], type=_BOOKKEEPING_TYPES[field])
    return pa.table(columns)


_BOOKKEEPING_TYPES = {
    "trial": pa.int64(), "status": pa.string(), "reason": pa.string(),
    "objective": pa.float64(), "wall_time": pa.float64(),
}
"""Arrow type of each of :data:`TABLE_COLUMNS` (whose names these keys must be)."""

_KIND_TYPES = {
    frozenset({"bool"}): pa.bool_(),
    frozenset({"int"}): pa.int64(),
    frozenset({"float"}): pa.float64(),
    frozenset({"int", "float"}): pa.float64(),
    frozenset({"str"}): pa.string(),
}


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -(2**63) <= value < 2**63 else "json"
    if isinstance(value, float):
        return "float"
    return "str" if isinstance(value, str) else "json"


def _column(values: list) -> pa.Array:
    """One parameter's or metric's column. Values all of one kind keep it (booleans, whole numbers,
    numbers, strings; whole numbers mixed with other numbers are numbers); any other column, such
    as a choice of lists or of ``[1, "a"]``, is a string column of each value's JSON text (``1``,
    ``"a"``, ``[1, 2]``), the same in the CSV, the Parquet file, the summary and the plots."""
    kinds = frozenset(_kind(v) for v in values if v is not None)
    if not kinds:
        return pa.array(values, type=pa.float64())
    if kinds in _KIND_TYPES:
        return pa.array(values, type=_KIND_TYPES[kinds])
    return pa.array([None if v is None else json.dumps(v) for v in values], type=pa.string())


def _refuse_collisions(rows: list[TrialRow], parameters: list[str], metrics: list[str]) -> None:
    """Each name one column: new trials refuse reserved metric names (mojo.trials.trial), but trial files
    made by an older mojo may still hold one."""
    clashes = sorted((set(metrics) & set(parameters)) | (set(metrics + parameters) & set(TABLE_COLUMNS)))
    if clashes:
        trials = [row.trial for row in rows if clashes[0] in row.metrics or clashes[0] in row.values]
        raise ValueError(
            f"the tables cannot have one column per name: {', '.join(clashes)} name both a metric and a "
            f"parameter or one of the table's own columns ({', '.join(TABLE_COLUMNS)}); trials "
            f"{trials[:10]} were made by an older mojo: re-make them (snakemake --forcerun trial_batch)"
        )


def summary_table(
    table: pa.Table, rows: list[TrialRow], settings: StatisticsConfig | None = None
) -> pa.Table:
    """Per status: its count, and its rate among the trials with its interval. Per numeric
    parameter, metric and the objective, over the successful trials: count, mean, std, min,
    percentiles (5, 25, 50 as ``median``, 75, 95) and max, then the intervals of the mean and of
    each of ``settings.percentiles`` (see :mod:`mojo.results.statistics`); every row gives the
    ``confidence`` level of its intervals."""
    settings = settings or StatisticsConfig()
    level = settings.confidence
    statuses = table.column("status").to_pylist()
    records = []
    for status in STATUSES:
        count = statuses.count(status)
        rate = stats.rate_interval(count, len(statuses), level)
        records.append({"kind": "status", "name": status, "count": count, **stats.rate_row(rate)})
    ok = np.array([s == "success" for s in statuses], dtype=bool)
    for kind, name in _numeric_columns(table, rows):
        column = table.column(name).to_numpy(zero_copy_only=False).astype(float)
        values = column[ok]
        values = values[np.isfinite(values)]
        figures = stats.metric_figures(values, settings.percentiles, level)
        records.append({"kind": kind, "name": name, **_statistics(values), **stats.interval_row(figures)})
    columns = ("kind", "name", *STATISTICS, *stats.summary_columns(settings.percentiles))
    records = [{**record, stats.CONFIDENCE_COLUMN: level} for record in records]
    return pa.table({
        key: pa.array([record.get(key) for record in records], type=_summary_type(key)) for key in columns
    })


def _summary_type(column: str) -> pa.DataType:
    """Text for the row's kind and name, whole numbers for counts, numbers otherwise (an empty
    column, such as ``rate`` without status rows, stays a number column)."""
    return {"kind": pa.string(), "name": pa.string(), "count": pa.int64()}.get(column, pa.float64())


def _statistics(values: np.ndarray) -> dict[str, float | int | None]:
    if not len(values):
        return {"count": 0}
    stats = {
        "count": len(values),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else None,
        "min": float(values.min()),
    }
    quantiles = np.percentile(values, list(PERCENTILES.values()))
    stats.update({key: float(q) for key, q in zip(PERCENTILES, quantiles)})
    stats["max"] = float(values.max())
    return stats


def _numeric_columns(table: pa.Table, rows: list[TrialRow]) -> list[tuple[str, str]]:
    parameters = list(dict.fromkeys(name for row in rows for name in row.values))
    metrics = list(dict.fromkeys(name for row in rows for name in row.metrics))
    columns = [("parameter", p) for p in parameters] + [("metric", m) for m in metrics]
    columns.append(("objective", "objective"))
    return [(kind, name) for kind, name in columns if _has_numbers(table, name)]


def _has_numbers(table: pa.Table, name: str) -> bool:
    if name not in table.column_names or table.column(name).null_count == table.num_rows:
        return False
    kind = table.schema.field(name).type
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def write_csv(table: pa.Table, path: Path) -> None:
    options = pa.csv.WriteOptions(quoting_style="needed")
    pa.csv.write_csv(table, path, write_options=options)


def write_tables(
    manifests: list[Path], parquet: Path, csv: Path, summary: Path, record: Path | None = None,
    settings: StatisticsConfig | None = None,
) -> pa.Table:
    """Write the three tables, each atomically (a killed aggregate leaves whole tables, old or
    new), then their hashes to ``record`` (if given) so that a rerun can tell a damaged table
    (see mojo.trials.integrity). ``settings``: the summary's intervals (the study's
    ``statistics``; default: its defaults)."""
    rows = read_rows(manifests)
    table = trials_table(rows)
    writes = {
        parquet: lambda path: pa.parquet.write_table(table, path),
        csv: lambda path: write_csv(table, path),
        summary: lambda path: write_csv(summary_table(table, rows, settings), path),
    }
    for path, write in writes.items():
        remove_leftovers(path.parent, path.name)  # of an aggregate killed while writing it
        with atomic_output(path) as tmp:
            write(tmp)
    if record is not None:
        record_tables(list(writes), record, manifests)
    return table
