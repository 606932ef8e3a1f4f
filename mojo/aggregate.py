"""The study's tables: one row per trial, and a summary per status and per metric."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mojo.files import STATUSES, BatchManifest, TrialRow, read_model

PERCENTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def read_rows(manifests: list[Path]) -> list[TrialRow]:
    rows = [row for path in manifests for row in read_model(path, BatchManifest).rows]
    return sorted(rows, key=lambda row: row.trial)


def trials_table(rows: list[TrialRow]) -> pd.DataFrame:
    """Columns: trial, status, reason, each parameter, each metric, objective, wall_time.

    A metric named like a parameter gets the prefix ``metric_``. Values that are not numbers or
    strings (a chosen list, say) are shown as their JSON text.
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
    table = pd.DataFrame.from_records(records)
    if table.empty:
        table = pd.DataFrame(columns=["trial", "status", "reason", "objective", "wall_time"])
    return table


def _cell(value):
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value)
    return value


def summary_table(table: pd.DataFrame, rows: list[TrialRow]) -> pd.DataFrame:
    """Per status: its count. Per numeric parameter, metric and the objective: count, mean, std,
    min, percentiles and max over the successful trials."""
    status_counts = table["status"].value_counts() if len(table) else pd.Series(dtype=int)
    counts = [
        {"kind": "status", "name": status, "count": int(status_counts.get(status, 0))}
        for status in STATUSES
    ]
    ok = table[table["status"] == "success"] if len(table) else table
    columns = _numeric_columns(table, rows)
    stats = []
    for kind, name in columns:
        values = pd.to_numeric(ok[name], errors="coerce").dropna()
        described = values.describe(percentiles=list(PERCENTILES))
        stats.append({"kind": kind, "name": name, **described.to_dict()})
    summary = pd.DataFrame.from_records(counts + stats)
    summary["count"] = summary["count"].astype(int)
    return summary.rename(columns={"50%": "median"})


def _numeric_columns(table: pd.DataFrame, rows: list[TrialRow]) -> list[tuple[str, str]]:
    parameters = list(rows[0].values) if rows else []
    metric_names = list(dict.fromkeys(name for row in rows for name in row.metrics))
    metrics = [f"metric_{m}" if m in parameters else m for m in metric_names]
    columns = [("parameter", p) for p in parameters] + [("metric", m) for m in metrics]
    columns.append(("objective", "objective"))
    numeric = lambda c: c in table and pd.api.types.is_numeric_dtype(table[c])  # noqa: E731
    return [(kind, name) for kind, name in columns if numeric(name)]


def write_tables(manifests: list[Path], parquet: Path, csv: Path, summary: Path) -> pd.DataFrame:
    rows = read_rows(manifests)
    table = trials_table(rows)
    table.to_parquet(parquet, index=False)
    table.to_csv(csv, index=False)
    summary_table(table, rows).to_csv(summary, index=False)
    return table
