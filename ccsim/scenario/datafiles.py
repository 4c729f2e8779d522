"""Data files named inside a scenario (``csv: data/handle.csv``), read safely.

A scenario may be someone else's, so the file it names is read from the scenario's
folder (or below) only, unless the user allows otherwise; it must be a regular file of
bounded size; and a file that is not a valid CSV of durations (``/etc/passwd``, a binary
file) is refused without showing what it holds. Saved results never read such files:
their scenario keeps the values.

Validators raise ``ValueError`` whose message starts with the key it is about (``csv:``
or ``column:``), which the loader joins to the field's path.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ccsim.safe_read import FileProblem, data_path, read_text
from ccsim.scenario.limits import MAX_DATA_BYTES, MAX_DATA_VALUES
from ccsim.scenario.units import parse_duration

# Column names a CSV written by a person or a spreadsheet has; anything else (``root:x:0``)
# means the file is not a data file, and its first line is not shown.
_COLUMN_NAME = re.compile(r"[\w .()%/#-]{1,64}")
# A cell shown in a message: short and plain.
_PLAIN_CELL = re.compile(r"[\w .:+-]{1,24}")


def context_flags(context: Mapping[str, Any] | None) -> tuple[Path, bool, bool]:
    """``(base_dir, allow_outside_data, read_files)`` from a validation context."""
    context = context or {}
    return (
        Path(context.get("base_dir", ".")),
        bool(context.get("allow_outside_data", False)),
        bool(context.get("read_files", True)),
    )


def read_duration_column(
    context: Mapping[str, Any] | None, written: str, column: str | None, key: str = "csv"
) -> list[float]:
    """The durations (seconds) of one column of the CSV file ``written``.

    ``context`` is the validation context (see :func:`context_flags`); ``key`` names the
    field in messages. The first row holds the column names; ``column`` defaults to the
    first; empty cells are skipped; negative values are refused.
    """
    return read_column(context, written, column, parse_duration, key)


def read_instant_column(
    context: Mapping[str, Any] | None, written: str, column: str | None, key: str = "csv"
) -> list[float | datetime]:
    """Arrival instants of one column: offsets (durations from the start of the run) or
    date-times (``2026-03-02 08:00:05``), as :func:`read_duration_column` reads cells."""
    return read_column(context, written, column, parse_instant, key)


def parse_instant(cell: str) -> float | datetime:
    """A duration from the start of the run, or a date-time (ISO 8601)."""
    try:
        return parse_duration(cell)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(cell)
    except ValueError:
        raise ValueError(
            "expected an offset such as 90, 30s or 1h30m, or a date-time such as "
            f"2026-03-02 08:00:05, got {cell!r}"
        ) from None


def read_column(
    context: Mapping[str, Any] | None,
    written: str,
    column: str | None,
    parse: Callable[[str], Any],
    key: str = "csv",
) -> list[Any]:
    """One column of the CSV file ``written``, each non-empty cell through ``parse``
    (which raises ``ValueError`` with the reason); negative numbers are refused."""
    base, allow_outside, read_files = context_flags(context)
    if not read_files:
        raise ValueError(
            f"{key}: {written!r} is not read here: a saved scenario keeps its values "
            "(results folders never make ccsim read other files)"
        )
    try:
        path = data_path(base, written, allow_outside)
        text = read_text(path, MAX_DATA_BYTES, "a CSV file")
    except FileProblem as problem:
        raise ValueError(f"{key}: cannot read {written}: {problem}") from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{key}: {written} is empty; it needs a row of column names")
        names = [name.strip() for name in header]
        if not names or not all(_COLUMN_NAME.fullmatch(name) for name in names):
            raise ValueError(
                f"{key}: {written} does not start with a row of column names (letters, "
                "digits, spaces, _ . - ( ) % / #), so it is not a CSV file of durations"
            )
        if all(_looks_like_data(name, parse) for name in names):
            raise ValueError(
                f"{key}: {written} starts with a row of values ({', '.join(names[:3])}), "
                "not of column names: add a header row (e.g. 'seconds') so that the first "
                "value is not taken for a name"
            )
        chosen = column or names[0]
        if chosen not in names:
            import difflib

            close = difflib.get_close_matches(str(chosen), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"column: {written} has no column {chosen!r}{hint}; "
                f"it has {', '.join(map(repr, names))}"
            )
        index = names.index(chosen)
        values: list[float] = []
        rows = 0
        for line, row in enumerate(reader, start=2):
            rows += 1
            cell = row[index].strip() if index < len(row) else ""
            if not cell:
                continue
            where = f"{key}: {written} line {line}, column {chosen!r}"
            shown = f" {cell!r}" if _PLAIN_CELL.fullmatch(cell) else ""
            try:
                value = parse(cell)
            except ValueError as error:
                why = str(error).split(", got ")[0]  # the reason, without the cell itself
                raise ValueError(f"{where}: {why}, got{shown or ' something else'}") from None
            if isinstance(value, float) and value < 0:
                raise ValueError(f"{where}: negative{shown}")
            values.append(value)
            if len(values) > MAX_DATA_VALUES:
                raise ValueError(f"{key}: {written} has more than {MAX_DATA_VALUES:,} values")
    except csv.Error as error:
        raise ValueError(f"{key}: cannot read {written} as CSV: {error}") from None
    if not rows:
        raise ValueError(f"{key}: {written} has no data rows")
    if not values:
        raise ValueError(f"{key}: {written} column {chosen!r} has no values")
    return values


def _looks_like_data(name: str, parse: Callable[[str], Any]) -> bool:
    """Whether a header cell would parse as a value of the column (``10``, ``1m``)."""
    try:
        parse(name)
    except ValueError:
        return False
    return True
