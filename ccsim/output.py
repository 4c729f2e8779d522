"""Saving and loading results folders, whole or not at all.

A results folder holds ``summary.json`` (resolved scenario, seed, replications, version,
runtime and every metric with its interval), ``scenario.yaml`` (the resolved scenario,
runnable as is), ``replications.csv`` (every metric of every replication, for paired
comparisons), and the tables ``chats``, ``transfers``, ``agents``, ``events`` as CSV or
Parquet. Each CSV starts with a ``# ccsim {...}`` line carrying the same header as
``summary.json`` minus the metrics; Parquet files carry it as file metadata.

Everything is written into a temporary sibling folder that is renamed into place at the
end, so an interrupted or failed run never leaves a half-written folder behind.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from ccsim.api import Results
from ccsim.results import TABLES, ReplicationMetrics
from ccsim.scenario import scenario_from_dict

Format = Literal["csv", "parquet"]
HEADER_PREFIX = "# ccsim "


def json_safe(value: Any) -> Any:
    """JSON has no NaN: write null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def write_results(
    results: Results, out: str | Path, fmt: Format = "csv", tables: bool = True
) -> Path:
    """Write ``results`` to the folder ``out`` (replacing it whole if it exists)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; results are for sharing
    try:
        header = results.header()
        (staging / "summary.json").write_text(
            json.dumps(json_safe(results.to_dict()), indent=2) + "\n"
        )
        (staging / "scenario.yaml").write_text(
            yaml.safe_dump(header["scenario"], sort_keys=False, allow_unicode=True)
        )
        _write_table(results.per_replication(), staging / "replications", "csv", header)
        if tables and (results.records or results.loaded_tables):
            for name in TABLES:
                _write_table(results.table(name), staging / name, fmt, header)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _write_table(frame: pd.DataFrame, stem: Path, fmt: Format, header: dict[str, Any]) -> None:
    meta = json.dumps({k: v for k, v in header.items()}, separators=(",", ":"))
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"ccsim": meta.encode()}
        )
        pq.write_table(table, stem.with_suffix(".parquet"))
        return
    with stem.with_suffix(".csv").open("w", newline="") as handle:
        handle.write(HEADER_PREFIX + meta + "\n")
        frame.to_csv(handle, index=False)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one table written by :func:`write_results` (CSV or Parquet)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    with path.open() as handle:
        first = handle.readline()
    return pd.read_csv(path, skiprows=1 if first.startswith(HEADER_PREFIX) else 0)


def load_results(folder: str | Path) -> Results:
    """Reload a results folder written by ``ccsim run --out`` (or :func:`write_results`)."""
    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{folder} is not a ccsim results folder (no summary.json)")
    summary = json.loads(summary_path.read_text())
    scenario = scenario_from_dict(summary["scenario"], source=str(summary_path))
    per_rep = read_table(folder / "replications.csv")
    runs: list[ReplicationMetrics] = []
    for _index, rows in per_rep.groupby("replication", sort=True):
        overall: dict[str, float] = {}
        directories: dict[str, dict[str, float]] = {}
        groups: dict[str, dict[str, float]] = {}
        for scope, name, metric, value in rows[["scope", "name", "metric", "value"]].itertuples(
            index=False
        ):
            target = (
                overall
                if scope == "overall"
                else directories.setdefault(name, {})
                if scope == "directory"
                else groups.setdefault(name, {})
            )
            target[metric] = float(value)
        runs.append(ReplicationMetrics(overall, directories, groups))
    loaded = {}
    for name in TABLES:
        for suffix in (".parquet", ".csv"):
            path = folder / f"{name}{suffix}"
            if path.exists():
                loaded[name] = read_table(path)
                break
    return Results(
        scenario=scenario,
        seed=int(summary["seed"]),
        replication_metrics=runs,
        runtime_s=float(summary.get("runtime_s") or 0.0),
        version=str(summary.get("version", "")),
        loaded_tables=loaded,
    )
