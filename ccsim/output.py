"""Saving and loading results folders, whole or not at all.

A results folder holds ``summary.json`` (resolved scenario, seed, replications, version,
runtime and every metric with its interval), ``scenario.yaml`` (the resolved scenario,
runnable as is), ``replications.csv`` (every metric of every replication, for paired
comparisons), ``end_state.json`` (where each replication ended: the initial state of a
next run, ``ccsim run --initial FOLDER``), and the tables ``chats``, ``transfers``,
``agents`` and, when the run kept its event log, ``events``, as CSV or Parquet. Each CSV
starts with a ``# ccsim {...}`` line carrying the same header as ``summary.json`` minus
the metrics; Parquet files carry it as file metadata.

Tables are written by pyarrow's columnar CSV and Parquet writers: for 200,000 chats
pandas' ``to_csv`` took seconds per table, longer than the simulation (figures in
README.md). Numbers are written in their shortest exact form, so a float column whose
values are whole reads back as integers; :func:`load_results` restores ccsim's dtypes.

Everything is written into a temporary sibling folder that is renamed into place at the
end, so an interrupted or failed run never leaves a half-written folder behind. The folder
carries ccsim's marker (``.ccsim-output``); only such a folder is ever replaced, and only
when asked to (see :mod:`ccsim.safe_write`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from ccsim.api import Results
from ccsim.results import TABLES, ReplicationMetrics
from ccsim.safe_read import FileProblem, check_regular_file, read_text
from ccsim.safe_write import RESULTS, staged_folder
from ccsim.scenario import scenario_from_dict
from ccsim.scenario.limits import MAX_SUMMARY_BYTES, MAX_TABLE_BYTES

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
    results: Results,
    out: str | Path,
    fmt: Format = "csv",
    tables: bool = True,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    force_hint: str = "force=True",
) -> Path:
    """Write ``results`` to the folder ``out``, whole or not at all.

    ``out`` must be new, empty, or a results folder ccsim wrote (replaced only with
    ``force``); anything else raises :class:`ccsim.safe_write.OutputRefused` before a
    file is touched. ``inputs`` (the scenario file) are never inside what is replaced.
    ``force_hint`` is how the caller's user says force (``--force`` on the command line).
    """
    with staged_folder(out, RESULTS, force=force, inputs=inputs, force_hint=force_hint) as staging:
        header = results.header()
        (staging / "summary.json").write_text(
            json.dumps(json_safe(results.to_dict()), indent=2) + "\n"
        )
        (staging / "scenario.yaml").write_text(
            yaml.safe_dump(header["scenario"], sort_keys=False, allow_unicode=True)
        )
        _write_table(results.per_replication(), staging / "replications", "csv", header)
        if results.records:  # where each replication ended: ``ccsim run --initial`` this folder
            from ccsim.initial import END_STATE_FILE, end_state

            states = {**header, "replications": [end_state(r) for r in results.records]}
            (staging / END_STATE_FILE).write_text(json.dumps(json_safe(states), indent=1) + "\n")
        if tables and (results.records or results.loaded_tables):
            _write_tables(results, staging, fmt, header)
    return Path(out)


def _write_tables(results: Results, folder: Path, fmt: Format, header: dict[str, Any]) -> None:
    """Every kept table, side by side in threads: pyarrow formats and writes without the
    GIL, so on two cores the tables of a 200,000-chat run take about half the wall time
    (``benchmarks/commands.py``). An error in any table is raised here."""
    from concurrent.futures import ThreadPoolExecutor

    def write(name: str) -> None:
        frame = _kept_table(results, name)
        if frame is not None:
            _write_table(frame, folder / name, fmt, header)

    with ThreadPoolExecutor(max_workers=min(len(TABLES), os.cpu_count() or 1)) as pool:
        for done in [pool.submit(write, name) for name in TABLES]:
            done.result()


def _kept_table(results: Results, name: str) -> pd.DataFrame | None:
    """Table ``name`` of ``results``, or None when there is nothing to write: an event log
    the run did not keep (``record_events=False`` leaves it empty), or a table missing
    from the folder the results were loaded from."""
    try:
        frame = results.table(name)
    except LookupError:
        return None
    return None if name == "events" and frame.empty else frame


def _csv_options(quoting: str) -> Any:
    import pyarrow.csv as pa_csv

    return pa_csv.WriteOptions(include_header=False, quoting_style=quoting)


def _write_table(frame: pd.DataFrame, stem: Path, fmt: Format, header: dict[str, Any]) -> None:
    """One table: CSV after the ``# ccsim {...}`` line and the column names, or Parquet
    with the header as file metadata."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    meta = json.dumps({k: v for k, v in header.items()}, separators=(",", ":"))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if fmt == "parquet":
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"ccsim": meta.encode()}
        )
        pq.write_table(table, stem.with_suffix(".parquet"))
        return
    names = io.StringIO()
    csv.writer(names, lineterminator="\n").writerow(table.column_names)
    with stem.with_suffix(".csv").open("wb") as handle:
        handle.write((HEADER_PREFIX + meta + "\n" + names.getvalue()).encode())
        start = handle.tell()
        try:  # plain values, as most tools expect them: no quotes around names
            pa_csv.write_csv(table, handle, _csv_options("none"))
        except pa.ArrowInvalid:  # a value holds a comma, quote or newline: quote strings
            handle.seek(start)
            handle.truncate()
            pa_csv.write_csv(table, handle, _csv_options("needed"))


class ResultsError(ValueError):
    """A results folder cannot be read: the message names the file and what is wrong."""


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one table written by :func:`write_results` (CSV or Parquet).

    Only a regular file of at most ``MAX_TABLE_BYTES`` is read; a damaged one raises
    :class:`ResultsError` naming the file (never quoting what it holds).
    """
    path = Path(path)
    try:
        check_regular_file(path, MAX_TABLE_BYTES, "a results table")
    except FileProblem as problem:
        raise ResultsError(f"{path}: {problem}") from None
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        with path.open("rb") as handle:
            first = handle.readline(len(HEADER_PREFIX) + 1)
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 1))
            last = handle.read(1)
        if size and last != b"\n":
            raise ResultsError(f"{path}: the table is truncated (its last line is incomplete)")
        skip = 1 if first.startswith(HEADER_PREFIX.encode()) else 0
        return pd.read_csv(path, skiprows=skip, encoding="utf-8")
    except ResultsError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as error:  # pandas' errors are ValueErrors
        reason = type(error).__name__ if isinstance(error, UnicodeDecodeError) else error
        raise ResultsError(f"{path}: not a readable table ({reason})") from None
    except Exception as error:  # pyarrow's errors for a damaged Parquet file
        raise ResultsError(f"{path}: not a readable table ({type(error).__name__})") from None


def _expected_columns(name: str) -> dict[str, bool]:
    """The columns of table ``name`` as ccsim writes it, each with whether it is numeric
    (read from an empty table, so they follow :data:`ccsim.results.TABLES`)."""
    return {
        column: pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for column, dtype in _empty_table(name).dtypes.items()
    }


def _empty_table(name: str) -> pd.DataFrame:
    from ccsim.model.records import Records

    return TABLES[name](Records((), (), (), (), (), duration=1.0, warmup=0.0))


def _check_columns(frame: pd.DataFrame, expected: dict[str, bool], path: Path) -> None:
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise ResultsError(f"{path}: missing column(s) {', '.join(missing)}")
    for column, numeric in expected.items():
        if numeric and len(frame) and not pd.api.types.is_numeric_dtype(frame[column]):
            raise ResultsError(f"{path}: column {column!r} holds values that are not numbers")


def _float_columns_as_floats(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Columns ccsim writes as floats read back as floats: a CSV column whose values
    are all whole (``0``, ``12``) is read as integers."""
    for column, dtype in _empty_table(name).dtypes.items():
        if pd.api.types.is_float_dtype(dtype) and pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype(dtype)
    return frame


def _inside(path: Path, folder: Path) -> None:
    """A results folder's files are its own: a link leading out of it is not followed."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ResultsError(f"{path}: a link to a file outside the results folder; not read")


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        text = read_text(path, MAX_SUMMARY_BYTES, "a summary.json file")
        summary = json.loads(text)
    except FileProblem as problem:
        raise ResultsError(f"{path}: {problem}") from None
    except json.JSONDecodeError as error:
        raise ResultsError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise ResultsError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(summary, dict):
        raise ResultsError(f"{path}: must hold a JSON object, got a {type(summary).__name__}")
    problems = []
    if not isinstance(summary.get("scenario"), dict):
        problems.append("'scenario' must be an object (the resolved scenario)")
    for key, least in (("seed", 0), ("replications", 1)):
        value = summary.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append(f"{key!r} must be a whole number >= {least}")
    runtime = summary.get("runtime_s", 0.0)
    if runtime is not None and (isinstance(runtime, bool) or not isinstance(runtime, int | float)):
        problems.append("'runtime_s' must be a number")
    if problems:
        raise ResultsError(f"{path}: " + "; ".join(problems))
    return summary


def load_results(folder: str | Path) -> Results:
    """Reload a results folder written by ``ccsim run --out`` (or :func:`write_results`).

    Every file is checked before it is used: a damaged folder (``summary.json`` not an
    object, a missing or truncated table, columns missing or not numeric) raises
    :class:`ResultsError` naming the file. Only the folder's own files are read: its
    scenario keeps its values, and files named inside it (an empirical csv) are not read.
    """
    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{folder} is not a ccsim results folder (no summary.json)")
    _inside(summary_path, folder)
    summary = _read_summary(summary_path)
    scenario = scenario_from_dict(summary["scenario"], source=str(summary_path), read_files=False)
    replications_path = folder / "replications.csv"
    if not replications_path.exists():
        raise ResultsError(f"{replications_path}: missing (every results folder has it)")
    _inside(replications_path, folder)
    per_rep = read_table(replications_path)
    expected = {"replication": True, "scope": False, "name": False, "metric": False, "value": True}
    _check_columns(per_rep, expected, replications_path)
    if per_rep[["replication", "scope", "metric"]].isna().any().any():
        raise ResultsError(f"{replications_path}: rows with empty replication, scope or metric")
    if not per_rep["scope"].isin(["overall", "directory", "group"]).all():
        raise ResultsError(f"{replications_path}: scope must be overall, directory or group")
    runs: list[ReplicationMetrics] = []
    shape: set[tuple[str, str, str]] | None = None
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
        keys = {tuple(map(str, key)) for key in rows[["scope", "name", "metric"]].values.tolist()}
        if shape is not None and keys != shape:
            raise ResultsError(
                f"{replications_path}: replication {_index} does not have the same metrics as "
                "the others (a truncated or edited table)"
            )
        shape = keys
        runs.append(ReplicationMetrics(overall, directories, groups))
    if len(runs) != summary["replications"]:
        raise ResultsError(
            f"{replications_path}: holds {len(runs)} replication(s), but {summary_path.name} "
            f"says {summary['replications']}"
        )
    loaded = {}
    for name in TABLES:
        for suffix in (".parquet", ".csv"):
            path = folder / f"{name}{suffix}"
            if path.exists() or path.is_symlink():
                _inside(path, folder)
                loaded[name] = read_table(path)
                if name == "chats" and "initial" not in loaded[name].columns:
                    loaded[name]["initial"] = False  # written before initial states existed
                _check_columns(loaded[name], _expected_columns(name), path)
                _float_columns_as_floats(loaded[name], name)
                break
    return Results(
        scenario=scenario,
        seed=int(summary["seed"]),
        replication_metrics=runs,
        runtime_s=float(summary.get("runtime_s") or 0.0),
        version=str(summary.get("version", "")),
        loaded_tables=loaded,
    )
