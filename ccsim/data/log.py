"""The interaction log: chats, legs and agent states as a chat platform exports them.

The format (docs/log-format.md) is the contract between everything that reads history
(``ccsim fit``, ``ccsim backtest``) and what writes it (``ccsim run --log``, a user's own
export through a :class:`ColumnMap`). :func:`read_log` checks a whole log and reports
every problem in one :class:`LogError` (file, 1-based data row, column), so a user fixes
an export in one round; files are read with a size cap through :mod:`ccsim.safe_read`.
:func:`write_log` lives in :mod:`ccsim.data.log_write` and is re-exported here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ccsim.safe_read import FileProblem, data_path, read_bytes, read_text

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("chats", "legs", "agent_states")
REQUIRED_TABLES = ("chats", "legs")
CHAT_COLUMNS = ("chat_id", "directory", "arrival", "first_answer", "end", "outcome")
LEG_COLUMNS = (
    "chat_id",
    "leg",
    "kind",
    "directory",
    "agent_id",
    "group",
    "start",
    "end",
    "ended_by",
    "target_kind",
    "target",
    "mode",
    "wrap_up_end",
)
STATE_COLUMNS = ("agent_id", "group", "state", "start", "end")
COLUMNS: dict[str, tuple[str, ...]] = {
    "chats": CHAT_COLUMNS,
    "legs": LEG_COLUMNS,
    "agent_states": STATE_COLUMNS,
}
#: Columns an export may leave out (read as all empty): what a request asked for and
#: wrap-up are not in every platform's export.
OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {
    "chats": frozenset(),
    "legs": frozenset({"target_kind", "target", "mode", "wrap_up_end"}),
    "agent_states": frozenset(),
}
TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "chats": ("arrival", "first_answer", "end"),
    "legs": ("start", "end", "wrap_up_end"),
    "agent_states": ("start", "end"),
}

OUTCOMES = ("completed", "abandoned", "abandoned_in_transfer", "open")
LEG_KINDS = ("queue", "agent")
QUEUE_ENDINGS = ("answered", "abandoned", "open")
AGENT_ENDINGS = (
    "completed",
    "transferred",
    "left_after_transfer",
    "conference_left",
    "abandoned",
    "declined",
    "open",
)
TARGET_KINDS = ("directory", "group")
MODES = ("warm", "cold", "conference")
STATES = ("ready", "not_ready", "offline")
#: The values each enumerated column may take (after a :class:`ColumnMap`'s ``values``).
ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "outcome": OUTCOMES,
    "kind": LEG_KINDS,
    "ended_by": tuple(dict.fromkeys(QUEUE_ENDINGS + AGENT_ENDINGS)),
    "target_kind": TARGET_KINDS,
    "mode": MODES,
    "state": STATES,
}

#: The most bytes one table file may have (a year of a large center fits).
MAX_LOG_BYTES = 1 << 30
#: The most bytes of a column map file.
MAX_MAP_BYTES = 1 << 20
#: Rows listed per kind of problem (file, column, message); the rest are counted.
ROWS_LISTED = 5

#: A date-time as the format has it: date, ``T`` or space, hours and minutes at least.
_DATE_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
#: The zone suffix of such a date-time (group 1 is the rest).
_ZONE_AFTER_TIME = r"^(.*\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)(?:Z|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class InteractionLog:
    """A log read or simulated: three DataFrames with exactly the format's columns
    (timestamps ``datetime64[ns]``, ``leg`` int64), and where it came from."""

    chats: pd.DataFrame
    legs: pd.DataFrame
    agent_states: pd.DataFrame
    source: str

    @property
    def days(self) -> list[Any]:
        """The dates that chats arrived on, in order."""
        return sorted(set(self.chats["arrival"].dt.date))


@dataclass(frozen=True)
class LogProblem:
    """One thing wrong with a log: the file, the 1-based data row (None: the whole file or
    column), the column (None: the whole file) and what is wrong."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}" if self.row is not None else f" column {self.column}"
        return f"{where}: {self.message}"


class LogError(ValueError):
    """A log that cannot be used; ``problems`` lists everything wrong with it at once."""

    def __init__(self, problems: Iterable[LogProblem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source or 'the log'} is not a usable interaction log:\n{lines}")


# --------------------------------------------------------------------------- column map


def _known_column(key: str) -> bool:
    if "." in key:
        table, column = key.split(".", 1)
        return table in COLUMNS and column in COLUMNS[table]
    return any(key in columns for columns in COLUMNS.values())


class ColumnMap(BaseModel):
    """Where a user's export keeps what ccsim reads: file names per table, the export's
    column per ccsim column (``arrival`` or ``chats.arrival``), and value translations per
    enumerated column (``outcome: {resolved: completed}``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    files: dict[Literal["chats", "legs", "agent_states"], str] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("files")
    @classmethod
    def _plain_names(cls, files: dict[str, str]) -> dict[str, str]:
        for table, name in files.items():
            if not name.strip() or "/" in name or "\\" in name or name in (".", ".."):
                raise ValueError(f"{table}: give a file name in the log folder, not a path")
            if not name.endswith((".csv", ".parquet")):
                raise ValueError(f"{table}: the file must end in .csv or .parquet")
        return files

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: dict[str, str]) -> dict[str, str]:
        problems = []
        for key, source in columns.items():
            if not _known_column(key):
                problems.append(f"{key}: not a column of the log format (see docs/log-format.md)")
            elif not source.strip():
                problems.append(f"{key}: the export's column name is empty")
        if problems:
            raise ValueError("; ".join(problems))
        return columns

    @field_validator("values")
    @classmethod
    def _known_values(cls, values: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        problems = []
        for column, translation in values.items():
            allowed = ALLOWED_VALUES.get(column)
            if allowed is None:
                problems.append(
                    f"{column}: values can be translated only for {', '.join(ALLOWED_VALUES)}"
                )
                continue
            for given, meant in translation.items():
                if meant not in allowed:
                    problems.append(
                        f"{column}.{given}: {meant!r} is not one of {', '.join(allowed)}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return values

    def source_column(self, table: str, column: str) -> str:
        """The export's name of ccsim's ``column`` in ``table``."""
        return self.columns.get(f"{table}.{column}", self.columns.get(column, column))


def _validation_problems(error: ValidationError, file: str) -> list[LogProblem]:
    problems = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(LogProblem(file, None, path or None, message))
    return problems


def column_map_from_options(
    pairs: Iterable[str] | None = None, map_file: str | Path | None = None
) -> ColumnMap:
    """The column map of ``--map COLUMN=NAME`` options and a ``--map-file`` YAML; the
    options are added to (and override) the file's columns. Raises :class:`LogError`."""
    import yaml

    data: dict[str, Any] = {}
    problems: list[LogProblem] = []
    file_label = str(map_file) if map_file is not None else "--map"
    if map_file is not None:
        try:
            text = read_text(map_file, MAX_MAP_BYTES, "a column map (YAML)")
            loaded = yaml.safe_load(text)
        except FileProblem as problem:
            raise LogError([LogProblem(file_label, None, None, str(problem))]) from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            row = None if mark is None else mark.line + 1
            raise LogError([LogProblem(file_label, row, None, "not valid YAML")]) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise LogError(
                [LogProblem(file_label, None, None, "must be a mapping with files/columns/values")]
            )
        data = dict(loaded)
    columns = data.get("columns")
    columns = {} if columns is None else dict(columns) if isinstance(columns, dict) else columns
    for pair in pairs or ():
        column, sep, source = pair.partition("=")
        if not sep or not column.strip() or not source.strip():
            problems.append(
                LogProblem(
                    "--map", None, None, f"{pair!r}: give COLUMN=NAME, e.g. arrival=created_at"
                )
            )
        elif isinstance(columns, dict):
            columns[column.strip()] = source.strip()
    data["columns"] = columns
    try:
        result = ColumnMap.model_validate(data)
    except ValidationError as error:
        problems.extend(_validation_problems(error, file_label))
        raise LogError(problems) from None
    if problems:
        raise LogError(problems)
    return result


# --------------------------------------------------------------------------- reading


class _Problems:
    """Collects problems, listing the first :data:`ROWS_LISTED` rows of each kind."""

    def __init__(self) -> None:
        self.items: list[LogProblem] = []
        self.unreadable: dict[tuple[str, str], Any] = {}  # cells already reported

    def empty(self, file: str, column: str, values: Any, message: str = "empty (required)") -> None:
        """Rows where a required value is missing (and was not reported as unreadable)."""
        mask = values.isna()
        if (file, column) in self.unreadable:
            mask = mask & ~self.unreadable[(file, column)]
        self.rows(file, column, message, mask)

    def add(self, file: str, column: str | None, message: str, row: int | None = None) -> None:
        self.items.append(LogProblem(file, row, column, message))

    def rows(self, file: str, column: str, message: str, mask: Any) -> None:
        """One problem per row where ``mask`` holds (the first few, then a count)."""
        import numpy as np

        where = np.flatnonzero(np.asarray(mask, dtype=bool))
        for index in where[:ROWS_LISTED]:
            self.items.append(LogProblem(file, int(index) + 1, column, message))
        if len(where) > ROWS_LISTED:
            self.items.append(
                LogProblem(
                    file, None, column, f"{message} (also on {len(where) - ROWS_LISTED} more rows)"
                )
            )


def _find_file(folder: Path, table: str, column_map: ColumnMap, problems: _Problems) -> Path | None:
    if table in column_map.files:
        name = column_map.files[table]
        try:
            path = data_path(folder, name)
        except FileProblem as problem:
            problems.add(name, None, str(problem))
            return None
        if not path.exists():
            problems.add(name, None, f"file not found in {folder} (the map's files.{table})")
            return None
        return path
    found = [folder / f"{table}{suffix}" for suffix in (".csv", ".parquet")]
    found = [path for path in found if path.exists()]
    if len(found) == 2:
        problems.add(f"{table}.csv", None, f"both {table}.csv and {table}.parquet exist; keep one")
        return None
    if not found:
        if table in REQUIRED_TABLES:
            problems.add(
                f"{table}.csv",
                None,
                f"missing: a log folder holds {table}.csv or {table}.parquet "
                "(or name the file in a map file's files:)",
            )
        return None
    return found[0]


def _csv_error(error: Exception) -> str:
    """pyarrow's message without the row's content (messages never quote a file)."""
    text = str(error)
    row = re.search(r"Row #(\d+)", text)
    count = re.search(r"Expected \d+ columns?, got \d+", text)
    if count:
        at = f" at line {row[1]}" if row else ""
        return f"not a readable CSV table ({count[0]}{at})"
    return "not a readable CSV table"


def _read_frame(path: Path, label: str, problems: _Problems) -> pd.DataFrame | None:
    """The table as strings (CSV) or as stored (Parquet); None after a problem."""
    import pyarrow as pa

    try:
        data = read_bytes(path, MAX_LOG_BYTES, "a log table")
    except FileProblem as problem:
        problems.add(label, None, str(problem))
        return None
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(io.BytesIO(data)).to_pandas()
        import pyarrow.csv as pa_csv

        if b"\x00" in data:
            problems.add(label, None, "is a binary file, not a CSV table")
            return None
        try:
            first = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
        except UnicodeDecodeError:
            problems.add(label, None, "is not UTF-8 text, so not a CSV table")
            return None
        names = next(csv.reader([first]), [])
        if not first.strip() or not names:
            problems.add(label, None, "has no header row (the column names)")
            return None
        if len(names) == 1 and (";" in first or "\t" in first):
            problems.add(
                label, None, "has one column: ccsim reads comma-separated CSV (not ; or tabs)"
            )
            return None
        if len(set(names)) != len(names):
            problems.add(label, None, "the header names a column twice")
            return None
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(use_threads=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
        return table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        message = _csv_error(error) if path.suffix != ".parquet" else "not a readable Parquet file"
        problems.add(label, None, message)
        return None
    except UnicodeDecodeError:
        problems.add(label, None, "is not UTF-8 text, so not a CSV table")
        return None


def _text(series: pd.Series) -> pd.Series:
    """Names as text, empty cells as missing (None)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series):  # Parquet ids stored as numbers
        series = series.map(lambda v: None if v != v else (str(int(v)) if v == int(v) else str(v)))
    present = series.notna().to_numpy()
    out = pd.Series([None] * len(series), index=series.index, dtype=object)
    if present.any():
        stripped = series[present].astype(str).str.strip()
        out[present] = stripped.where(stripped != "", None).astype(object).to_numpy()
    return out


def _times(series: pd.Series, label: str, column: str, problems: _Problems) -> pd.Series:
    """ISO-8601 date-times as local wall-clock ``datetime64[ns]`` (a zone suffix dropped)."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[ns]")
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _text(series)
    present = text.notna()
    cells = pa.array(text.tolist(), type=pa.string())
    # a date and a time of day, then optionally a zone, which is dropped (wall-clock time)
    valid = pc.match_substring_regex(cells, _DATE_TIME).to_numpy(zero_copy_only=False)
    local = pc.replace_substring_regex(cells, _ZONE_AFTER_TIME, r"\1").to_pandas()
    usable = present.to_numpy() & (valid == True)  # noqa: E712 (nulls are None, not False)
    parsed = pd.to_datetime(local.where(usable), format="ISO8601", errors="coerce")
    parsed.index = series.index
    bad = present & parsed.isna()
    problems.rows(label, column, "not an ISO-8601 date-time (2026-01-05T08:00:12)", bad)
    problems.unreadable[(label, column)] = bad.to_numpy()
    return parsed.astype("datetime64[ns]")


def _columns(
    frame: pd.DataFrame, table: str, label: str, column_map: ColumnMap, problems: _Problems
) -> pd.DataFrame | None:
    """The format's columns of ``table`` picked from the export by the map."""
    import pandas as pd

    picked: dict[str, pd.Series] = {}
    missing = False
    for column in COLUMNS[table]:
        source = column_map.source_column(table, column)
        if source in frame.columns:
            picked[column] = frame[source].reset_index(drop=True)
        elif column in OPTIONAL_COLUMNS[table] and source == column:
            picked[column] = pd.Series([None] * len(frame), dtype=object)
        else:
            mapped = f" (mapped to the export's column {source!r})" if source != column else ""
            problems.add(label, column, f"missing required column{mapped}")
            missing = True
    if missing:
        return None
    return pd.DataFrame(picked)


def _prepare(
    frame: pd.DataFrame, table: str, label: str, column_map: ColumnMap, problems: _Problems
) -> pd.DataFrame:
    """Types and value checks of one table on its own (no cross-table checks)."""
    import pandas as pd

    out = {}
    times = TIME_COLUMNS[table]
    for column in COLUMNS[table]:
        if column in times:
            out[column] = _times(frame[column], label, column, problems)
        elif column == "leg":
            raw = _text(frame[column])
            number = pd.to_numeric(raw, errors="coerce")
            bad = raw.notna() & (number.isna() | (number % 1 != 0) | (number < 1))
            problems.rows(label, column, "not a whole number 1, 2, ...", bad)
            problems.rows(label, column, "empty (every leg has its number)", raw.isna())
            problems.unreadable[(label, column)] = (bad | raw.isna()).to_numpy()
            out[column] = number.where(~bad & raw.notna(), 0).fillna(0).astype("int64")
        else:
            values = _text(frame[column])
            translation = column_map.values.get(column)
            if translation:
                values = values.map(lambda v, t=translation: t.get(v, v) if v is not None else v)
            allowed = ALLOWED_VALUES.get(column)
            if allowed is not None:
                bad = values.notna() & ~values.isin(allowed)
                problems.rows(label, column, f"not one of {', '.join(allowed)}", bad)
            out[column] = values
    return pd.DataFrame(out, columns=list(COLUMNS[table]))


def _check_chats(chats: pd.DataFrame, label: str, problems: _Problems) -> None:
    for column in ("chat_id", "directory", "arrival", "outcome"):
        problems.empty(label, column, chats[column])
    ids = chats["chat_id"]
    problems.rows(label, "chat_id", "duplicate chat id", ids.notna() & ids.duplicated())
    for column in ("first_answer", "end"):
        before = chats[column] < chats["arrival"]
        problems.rows(label, column, "before the chat's arrival", before)
    outcome = chats["outcome"]
    problems.rows(
        label,
        "end",
        "empty, but the outcome is not open",
        chats["end"].isna() & outcome.notna() & (outcome != "open") & outcome.isin(OUTCOMES),
    )
    problems.rows(
        label, "end", "set, but the outcome is open", chats["end"].notna() & (outcome == "open")
    )
    problems.rows(
        label,
        "first_answer",
        "set, but the outcome is abandoned (never answered; after an answer it is "
        "abandoned_in_transfer)",
        chats["first_answer"].notna() & (outcome == "abandoned"),
    )


def _check_legs(
    legs: pd.DataFrame, chats: pd.DataFrame | None, label: str, problems: _Problems
) -> None:
    for column in ("chat_id", "kind", "directory", "start", "ended_by"):
        problems.empty(label, column, legs[column])
    agent = legs["kind"] == "agent"
    queue = legs["kind"] == "queue"
    for column in ("agent_id", "group"):
        problems.rows(label, column, "empty on an agent leg", agent & legs[column].isna())
    ended = legs["ended_by"]
    problems.rows(
        label,
        "ended_by",
        f"not how a queue leg ends ({', '.join(QUEUE_ENDINGS)})",
        queue & ended.notna() & ~ended.isin(QUEUE_ENDINGS) & ended.isin(ALLOWED_VALUES["ended_by"]),
    )
    problems.rows(
        label,
        "ended_by",
        "not how an agent leg ends (answered is for queue legs)",
        agent & ended.notna() & ~ended.isin(AGENT_ENDINGS) & ended.isin(ALLOWED_VALUES["ended_by"]),
    )
    problems.rows(label, "end", "before the leg's start", legs["end"] < legs["start"])
    problems.rows(label, "wrap_up_end", "before the leg's end", legs["wrap_up_end"] < legs["end"])
    problems.rows(
        label,
        "end",
        "empty, but the leg did not end open",
        legs["end"].isna()
        & ended.notna()
        & (ended != "open")
        & ended.isin(ALLOWED_VALUES["ended_by"]),
    )
    problems.rows(
        label, "end", "set, but the leg ended open", legs["end"].notna() & (ended == "open")
    )
    problems.rows(
        label,
        "target",
        "empty, but target_kind is set",
        legs["target_kind"].notna() & legs["target"].isna(),
    )
    keys = legs[["chat_id", "leg"]]
    duplicate = legs["chat_id"].notna() & (legs["leg"] > 0) & keys.duplicated()
    problems.rows(label, "leg", "duplicate leg number within its chat", duplicate)
    if chats is not None:
        known = legs["chat_id"].isin(chats["chat_id"].dropna())
        problems.rows(
            label,
            "chat_id",
            "a chat that is not in the chats table",
            legs["chat_id"].notna() & ~known,
        )


def _check_states(states: pd.DataFrame, label: str, problems: _Problems) -> None:
    import numpy as np

    for column in ("agent_id", "group", "state", "start"):
        problems.empty(label, column, states[column])
    problems.rows(label, "end", "before the period's start", states["end"] < states["start"])
    usable = states["agent_id"].notna() & states["start"].notna()
    order = states[usable].sort_values(["agent_id", "start"], kind="stable")
    previous_end = order.groupby("agent_id", sort=False)["end"].shift()
    same = order["agent_id"].eq(order["agent_id"].shift())
    overlap = same & (previous_end.isna() | (order["start"] < previous_end))
    mask = np.zeros(len(states), dtype=bool)
    mask[order.index[overlap.to_numpy()]] = True
    problems.rows(label, "start", "overlaps the agent's previous period", mask)


def _empty(table: str) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS[table]})
    for column in TIME_COLUMNS[table]:
        frame[column] = frame[column].astype("datetime64[ns]")
    if table == "legs":
        frame["leg"] = frame["leg"].astype("int64")
    return frame


def read_log(
    path: str | Path, column_map: ColumnMap | Mapping[str, str] | None = None
) -> InteractionLog:
    """Read and check a log folder (docs/log-format.md); raise :class:`LogError` listing
    every problem (missing tables or columns, bad times, an end before its start, legs of
    unknown chats, unknown values, duplicate ids) with file, row and column."""
    folder = Path(path)
    if column_map is None:
        column_map = ColumnMap()
    elif not isinstance(column_map, ColumnMap):
        try:
            column_map = ColumnMap(columns=dict(column_map))
        except ValidationError as error:
            raise LogError(_validation_problems(error, "column map"), str(folder)) from None
    problems = _Problems()
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise LogError(
            [LogProblem(str(folder), None, None, f"{what}; a log is a folder of tables")],
            str(folder),
        )
    frames: dict[str, pd.DataFrame | None] = {}
    labels: dict[str, str] = {}
    for table in TABLES:
        file = _find_file(folder, table, column_map, problems)
        if file is None:
            frames[table] = None if table in REQUIRED_TABLES else _empty(table)
            continue
        labels[table] = file.name
        raw = _read_frame(file, file.name, problems)
        picked = None if raw is None else _columns(raw, table, file.name, column_map, problems)
        frames[table] = (
            None if picked is None else _prepare(picked, table, file.name, column_map, problems)
        )
    chats, legs, states = frames["chats"], frames["legs"], frames["agent_states"]
    if chats is not None:
        _check_chats(chats, labels["chats"], problems)
    if legs is not None:
        _check_legs(legs, chats, labels["legs"], problems)
    if states is not None and "agent_states" in labels:
        _check_states(states, labels["agent_states"], problems)
    if problems.items or chats is None or legs is None or states is None:
        raise LogError(problems.items, str(folder))
    return InteractionLog(chats=chats, legs=legs, agent_states=states, source=str(folder))


def write_log(*args: Any, **kwargs: Any) -> Path:
    """Write a simulated run as a log; see :func:`ccsim.data.log_write.write_log`."""
    from ccsim.data.log_write import write_log as write

    return write(*args, **kwargs)


__all__ = [
    "ALLOWED_VALUES",
    "COLUMNS",
    "MAX_LOG_BYTES",
    "ColumnMap",
    "InteractionLog",
    "LogError",
    "LogProblem",
    "column_map_from_options",
    "read_log",
    "write_log",
]
