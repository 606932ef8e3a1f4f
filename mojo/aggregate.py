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

from mojo.files import STATUSES, BatchManifest, TrialRow, read_model

PERCENTILES = {"5%": 5, "25%": 25, "median": 50, "75%": 75, "95%": 95}
STATISTICS = ("count", "mean", "std", "min", *PERCENTILES, "max")
"""The summary's columns after ``kind`` and ``name``, in order."""


def read_rows(manifests: list[Path]) -> list[TrialRow]:
    rows = [row for path in manifests for row in read_model(path, BatchManifest).rows]
    return sorted(rows, key=lambda row: row.trial)


def trials_table(rows: list[TrialRow]) -> pa.Table:
    """Columns: trial, status, reason, each parameter, each metric, objective, wall_time.

    A metric named like a parameter gets the prefix ``metric_``. Values that are not numbers or
    strings (a chosen list, say) are shown as their JSON text. A trial without some metric (it
    failed before computing it) has a null there.
    """
    records = []
    for row in rows:
        record = {"trial": row.trial, "status": row.status, "reason": row.reason}
        record.update({name: _cell(value) for name, value in row.values.items()})
        for name, value in row.metrics.items():
            record[f"metric_{name}" if name in row.values else name] = value
        record["objective"] = row.objective
        record["wall_time"] = row.wall_time
        records.append(record)
    names = dict.fromkeys(["trial", "status", "reason"])
    for record in records:
        names.update(dict.fromkeys(record))
    names.update(dict.fromkeys(["objective", "wall_time"]))  # always last
    columns = {name: [record.get(name) for record in records] for name in names}
    types = {"trial": pa.int64(), "status": pa.string(), "reason": pa.string(),
             "objective": pa.float64(), "wall_time": pa.float64()}
    return pa.table({name: pa.array(values, type=types.get(name)) for name, values in columns.items()})


def _cell(value):
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def summary_table(table: pa.Table, rows: list[TrialRow]) -> pa.Table:
    """Per status: its count. Per numeric parameter, metric and the objective: count, mean, std,
    min, percentiles (5, 25, 50 as ``median``, 75, 95) and max over the successful trials."""
    statuses = table.column("status").to_pylist()
    records = [
        {"kind": "status", "name": status, "count": statuses.count(status)} for status in STATUSES
    ]
    ok = np.array([s == "success" for s in statuses], dtype=bool)
    for kind, name in _numeric_columns(table, rows):
        column = table.column(name).to_numpy(zero_copy_only=False).astype(float)
        values = column[ok]
        values = values[np.isfinite(values)]
        records.append({"kind": kind, "name": name, **_statistics(values)})
    return pa.table({
        key: [record.get(key) for record in records] for key in ("kind", "name", *STATISTICS)
    })


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
    parameters = list(rows[0].values) if rows else []
    metric_names = list(dict.fromkeys(name for row in rows for name in row.metrics))
    metrics = [f"metric_{m}" if m in parameters else m for m in metric_names]
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


def write_tables(manifests: list[Path], parquet: Path, csv: Path, summary: Path) -> pa.Table:
    rows = read_rows(manifests)
    table = trials_table(rows)
    pa.parquet.write_table(table, parquet)
    write_csv(table, csv)
    write_csv(summary_table(table, rows), summary)
    return table
