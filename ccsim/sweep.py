"""Parameter sweeps: run a scenario at every point of a grid of ``--set`` values.

An axis is ``path=values``: a range ``10..18`` (inclusive, step 1) or ``0.1..0.5..0.1``
(with a step), a comma list ``0.1,0.2,0.3`` (each item YAML-typed, so ``180/h,240/h``
works too), or a single value. The grid is the product of the axes, first axis slowest.

Every point runs the same replications with the same seed, so every point sees the same
random numbers (common random numbers): differences between points come from the
parameters, not from noise. A point's row holds its parameter values, the seed, the
replications, a digest of the scenario file, and every overall metric's mean and 95%
interval (``service_level``, ``service_level_ci_low``, ``service_level_ci_high``, ...).

Rows go to the CSV file as each point finishes, one whole line per ``write`` call on a
file opened for appending, so an interrupt never leaves half a row behind (a torn last
line from a crash is dropped on the next run). Running the same sweep again skips the
points already in the file, matched on parameter values, seed and replications; a file
written from a different scenario (another digest) or over other parameters is refused.
A file whose first line is not a sweep header is never touched, and only one sweep at a
time writes to a file (an exclusive lock beside it; a second sweep is refused at once).

``seed`` and ``replications`` are not axes: they are the same at every point, on purpose.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ccsim.api import Replication
from ccsim.executors import Executor, Task, serial
from ccsim.results import METRICS, Estimate, summarise
from ccsim.safe_write import OutputRefused, check_writable, exclusive_lock
from ccsim.scenario import Scenario, ScenarioError, apply_overrides, scenario_from_dict

#: Refuse grids larger than this (a typo such as 1..100000 would otherwise run for days).
MAX_POINTS = 100_000
#: Columns every row has besides the parameters and the metrics.
RUN_COLUMNS = ("seed", "replications", "scenario_sha")
#: Why a run column cannot be an axis, and what to give instead.
NOT_AN_AXIS = {
    "seed": "every point runs with the same seed, so that differences between points come "
    "from the parameters, not from noise; choose it with --seed, and give more "
    "replications (-n) for narrower intervals",
    "replications": "every point runs the same replications; choose how many with -n",
}
#: Bytes read to find the header line of an existing sweep file.
HEADER_BYTES = 1 << 20


class SweepError(ValueError):
    """Bad sweep input: an axis that cannot be read, an empty range, a file to refuse."""


# --------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class Axis:
    """One swept parameter: a scenario path and the values it takes."""

    path: str
    values: tuple[Any, ...]


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_RANGE = re.compile(rf"\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*(?:\.\.\s*({_NUMBER})\s*)?")


def parse_axis(text: str) -> Axis:
    """``agents.sales_team.count=10..18``, ``x=0.1..0.5..0.1``, ``x=0.1,0.2`` or ``x=5``."""
    if "=" not in text:
        raise SweepError(f"--set {text!r}: write path=values, e.g. agents.sales_team.count=10..18")
    path, raw = (part.strip() for part in text.split("=", 1))
    if not path:
        raise SweepError(f"--set {text!r}: the path before '=' is empty")
    if not raw:
        raise SweepError(f"--set {text!r}: no value after '='")
    match = _RANGE.fullmatch(raw)
    if match:
        values: tuple[Any, ...] = _range(text, *match.groups())
    elif ".." in raw and not raw.startswith(("[", "{")):
        raise SweepError(
            f"--set {text!r}: a range is START..END or START..END..STEP with plain numbers "
            "(for values with units give a list: 1h,2h,4h)"
        )
    elif "," in raw and not raw.startswith(("[", "{")):
        items = [item.strip() for item in raw.split(",")]
        if any(not item for item in items):
            raise SweepError(f"--set {text!r}: an empty item in the list")
        values = tuple(_yaml_value(item) for item in items)
    else:
        values = (_yaml_value(raw),)
    return Axis(path, values)


def _yaml_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _range(text: str, start: str, end: str, step: str | None) -> tuple[int | float, ...]:
    """Inclusive range; integers stay integers, decimals are stepped exactly."""
    try:
        first, last = Decimal(start), Decimal(end)
        increment = Decimal(step) if step is not None else Decimal(1)
    except InvalidOperation:  # pragma: no cover - the regular expression lets only numbers in
        raise SweepError(f"--set {text!r}: not a range of numbers") from None
    if increment <= 0:
        raise SweepError(f"--set {text!r}: the step must be positive, got {step}")
    if last < first:
        raise SweepError(
            f"--set {text!r}: empty range, {end} is below {start} (write {end}..{start})"
        )
    count = int((last - first) / increment) + 1
    if count > MAX_POINTS:
        raise SweepError(f"--set {text!r}: {count:,} values, more than {MAX_POINTS:,}")
    integral = all(part is None or re.fullmatch(r"[+-]?\d+", part) for part in (start, end, step))
    numbers = (first + i * increment for i in range(count))
    return tuple(int(n) if integral else float(n) for n in numbers)


def grid(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, first axis slowest."""
    paths = [axis.path for axis in axes]
    for path in paths:
        if path in NOT_AN_AXIS:
            raise SweepError(f"--set {path}=...: {path} cannot be swept: {NOT_AN_AXIS[path]}")
    duplicated = sorted({p for p in paths if paths.count(p) > 1})
    if duplicated:
        raise SweepError(f"--set {duplicated[0]} is given more than once; list its values once")
    size = math.prod(len(axis.values) for axis in axes)
    if size > MAX_POINTS:
        raise SweepError(f"the grid has {size:,} points, more than {MAX_POINTS:,}")
    return [
        dict(zip(paths, values, strict=True))
        for values in itertools.product(*(axis.values for axis in axes))
    ]


def format_parameter(value: Any) -> str:
    """A parameter value as written in the CSV (and matched on resume)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


# --------------------------------------------------------------------------- points


@dataclass(frozen=True)
class Point:
    """One grid point: its parameter values and the scenario they make."""

    values: dict[str, Any]
    scenario: Scenario

    @property
    def label(self) -> str:
        return ", ".join(f"{path}={format_parameter(v)}" for path, v in self.values.items())


def build_points(
    data: Mapping[str, Any],
    axes: Sequence[Axis],
    base_dir: str | Path = ".",
    source: str = "",
    *,
    allow_outside_data: bool = False,
) -> list[Point]:
    """Validate the scenario at every grid point; every problem of every point at once.

    Data files are read from ``base_dir`` only, unless ``allow_outside_data``.
    """
    points = []
    problems: dict[str, list[str]] = {}  # problem -> labels of the points that have it
    for values in grid(axes):
        try:
            scenario = scenario_from_dict(
                apply_overrides(data, values),
                base_dir=base_dir,
                source=source,
                allow_outside_data=allow_outside_data,
            )
        except ScenarioError as error:
            label = ", ".join(f"{p}={format_parameter(v)}" for p, v in values.items())
            for problem in error.problems:
                problems.setdefault(problem, []).append(label)
            continue
        points.append(Point(values, scenario))
    if problems:
        total = math.prod(len(axis.values) for axis in axes)
        lines = []
        for problem, labels in problems.items():
            where = (
                "every point"
                if len(labels) == total
                else "; ".join(labels[:3])
                + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
            )
            lines.append(f"{problem} (at {where})")
        raise ScenarioError(lines, source or "sweep")
    return points


def scenario_digest(data: Mapping[str, Any]) -> str:
    """A short digest of a scenario file's contents, seed and replications left out
    (they are columns of their own)."""
    content = {k: v for k, v in data.items() if k not in ("seed", "replications")}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def metric_columns() -> list[str]:
    return [f"{m}{suffix}" for m in METRICS for suffix in ("", "_ci_low", "_ci_high")]


def columns_for(axes: Sequence[Axis]) -> list[str]:
    return [*(axis.path for axis in axes), *RUN_COLUMNS, *metric_columns()]


# --------------------------------------------------------------------------- the CSV file


def is_sweep_header(columns: Sequence[str]) -> bool:
    """A sweep CSV's first line: parameters, the run columns, then one or more metrics each
    with its interval (``m``, ``m_ci_low``, ``m_ci_high``)."""
    width = len(RUN_COLUMNS)
    starts = [i for i in range(len(columns)) if tuple(columns[i : i + width]) == RUN_COLUMNS]
    if len(starts) != 1:
        return False
    metrics = columns[starts[0] + width :]
    if not metrics or len(metrics) % 3:
        return False
    return all(
        metrics[i + 1] == f"{metrics[i]}_ci_low" and metrics[i + 2] == f"{metrics[i]}_ci_high"
        for i in range(0, len(metrics), 3)
    )


class SweepFile:
    """The CSV a sweep appends to, one whole line per finished point."""

    def __init__(self, path: str | Path, columns: Sequence[str], digest: str) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.digest = digest
        self.parameters = self.columns[: self.columns.index(RUN_COLUMNS[0])]
        self._locked = False

    def key(self, row: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(row[c] for c in (*self.parameters, "seed", "replications"))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Be the only sweep writing this file (re-entrant); another one is refused. The
        file is checked first, so no lock file is made beside a file that is refused."""
        if self._locked:
            yield
            return
        self.check()
        try:
            with exclusive_lock(self.path, "writing"):
                self._locked = True
                try:
                    yield
                finally:
                    self._locked = False
        except OutputRefused:
            raise SweepError(
                f"another sweep is writing {self.path}; wait for it to finish (or stop it), "
                "or give another --out file"
            ) from None

    def check(self) -> bool:
        """Whether the file exists with rows; refuses, without touching it, anything but a
        ccsim sweep CSV (or an empty file) and a path nothing can be written to."""
        if not os.path.lexists(self.path):
            try:
                check_writable(self.path)
            except OutputRefused as error:
                raise SweepError(f"--out {error}") from None
            return False
        if self.path.is_dir():
            raise SweepError(f"--out {self.path}: is a folder; give a file name, e.g. sweep.csv")
        if not self.path.is_file():
            raise SweepError(
                f"--out {self.path}: is not a regular file (a device, pipe or socket); give a"
                " file name, e.g. sweep.csv"
            )
        with self.path.open("rb") as handle:
            head = handle.read(HEADER_BYTES)
        if not head:
            return False
        first = head.split(b"\n", 1)[0] if b"\n" in head else None
        try:
            header = next(csv.reader([first.decode("utf-8")])) if first else None
        except (UnicodeDecodeError, csv.Error):
            header = None
        if header is None or not is_sweep_header(header):
            raise SweepError(
                f"--out {self.path}: is not a ccsim sweep CSV (its first line is not a sweep "
                "header); ccsim leaves it as it is: give another file"
            )
        return True

    def load(self) -> dict[tuple[str, ...], dict[str, str]]:
        """The rows already written, by key; refuses a file of another sweep, and anything
        else (:meth:`check`) before touching it.

        A torn last line (no newline: the process died mid-write) is cut off.
        """
        if not self.check():
            return {}
        raw = self.path.read_bytes()
        if not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n") + 1
            with open(self.path, "r+b") as handle:
                handle.truncate(cut)
            raw = raw[:cut]
        reader = csv.reader(io.StringIO(raw.decode("utf-8")))
        header = next(reader, None)
        if header is None:
            return {}
        if header != self.columns:
            theirs = header[: header.index(RUN_COLUMNS[0])] if RUN_COLUMNS[0] in header else []
            raise SweepError(
                f"{self.path} holds another sweep (over {', '.join(theirs) or 'unknown columns'}"
                f", this one is over {', '.join(self.parameters)}); give another --out file"
                " or delete it"
            )
        rows: dict[tuple[str, ...], dict[str, str]] = {}
        for line in reader:
            row = dict(zip(header, line, strict=False))
            if row.get("scenario_sha") != self.digest:
                raise SweepError(
                    f"{self.path} holds results of a different scenario (digest "
                    f"{row.get('scenario_sha')}, this scenario is {self.digest}); give another"
                    " --out file or delete it"
                )
            rows[self.key(row)] = row
        return rows

    def append(self, row: Mapping[str, str]) -> None:
        """Write one row as a single ``write`` (with the header first if the file is new)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            writer.writerow(self.columns)
        writer.writerow([row[c] for c in self.columns])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, buffer.getvalue().encode("utf-8"))
        finally:
            os.close(descriptor)


# --------------------------------------------------------------------------- running


@dataclass
class PointResult:
    """A point's parameter values and overall estimates; ``resumed`` if read from file."""

    values: dict[str, Any]
    estimates: dict[str, Estimate]
    resumed: bool = False


@dataclass
class SweepResult:
    points: list[PointResult]
    replications: int
    seed: int

    @property
    def ran(self) -> int:
        return sum(not p.resumed for p in self.points)

    def frame(self) -> pd.DataFrame:
        """One row per point: parameters, then every metric with its interval."""
        rows = []
        for point in self.points:
            row: dict[str, Any] = dict(point.values)
            for metric, estimate in point.estimates.items():
                row[metric] = estimate.mean
                row[f"{metric}_ci_low"] = estimate.ci_low
                row[f"{metric}_ci_high"] = estimate.ci_high
            rows.append(row)
        return pd.DataFrame(rows)


def _row(
    point: Point, estimates: Mapping[str, Estimate], seed: int, replications: int, digest: str
) -> dict[str, str]:
    row = {path: format_parameter(v) for path, v in point.values.items()}
    row.update(seed=str(seed), replications=str(replications), scenario_sha=digest)
    for metric in METRICS:
        estimate = estimates.get(metric, Estimate(math.nan, math.nan, math.nan))
        row[metric] = repr(estimate.mean)
        row[f"{metric}_ci_low"] = repr(estimate.ci_low)
        row[f"{metric}_ci_high"] = repr(estimate.ci_high)
    return row


def _estimates_from_row(row: Mapping[str, str], replications: int) -> dict[str, Estimate]:
    return {
        m: Estimate(
            float(row[m]), float(row[f"{m}_ci_low"]), float(row[f"{m}_ci_high"]), replications
        )
        for m in METRICS
    }


def run_sweep(
    points: Sequence[Point],
    replications: int,
    seed: int,
    *,
    digest: str = "",
    out: SweepFile | None = None,
    executor: Executor = serial,
    on_replication: Callable[[Replication], None] | None = None,
    on_point: Callable[[PointResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run every point not yet in ``out`` and return all points in grid order.

    Replications of all points go to ``executor`` together, so a pool or a cluster stays
    busy across points; each point is written to ``out`` as soon as its last replication
    is in. Replication metrics only: no event log, no records kept. ``on_start`` gets
    the number of replications left to run (after skipping finished points). ``out`` is
    locked for the whole run: a second sweep on the same file raises :class:`SweepError`.
    """
    with out.lock() if out is not None else contextlib.nullcontext():
        return _run_sweep(
            points,
            replications,
            seed,
            digest=digest,
            out=out,
            executor=executor,
            on_replication=on_replication,
            on_point=on_point,
            on_start=on_start,
        )


def _run_sweep(
    points: Sequence[Point],
    replications: int,
    seed: int,
    *,
    digest: str,
    out: SweepFile | None,
    executor: Executor,
    on_replication: Callable[[Replication], None] | None,
    on_point: Callable[[PointResult], None] | None,
    on_start: Callable[[int], None] | None,
) -> SweepResult:
    done = out.load() if out is not None else {}
    results: list[PointResult | None] = [None] * len(points)
    todo: list[int] = []
    for index, point in enumerate(points):
        key = (*(format_parameter(v) for v in point.values.values()), str(seed), str(replications))
        if key in done:
            results[index] = PointResult(
                point.values, _estimates_from_row(done[key], replications), resumed=True
            )
        else:
            todo.append(index)
    tasks = [
        Task(points[index].scenario, r, seed, record_events=False, keep_records=False)
        for index in todo
        for r in range(replications)
    ]
    if on_start is not None:
        on_start(len(tasks))
    pending: dict[int, list[Replication]] = {}
    for position, replication in executor(tasks):
        index = todo[position // replications]
        pending.setdefault(index, []).append(replication)
        if on_replication is not None:
            on_replication(replication)
        if len(pending[index]) == replications:
            runs = sorted(pending.pop(index), key=lambda rep: rep.index)
            estimates = summarise(run.metrics.overall for run in runs)
            if out is not None:
                out.append(_row(points[index], estimates, seed, replications, digest))
            results[index] = PointResult(points[index].values, estimates)
            if on_point is not None:
                on_point(results[index])  # type: ignore[arg-type]
    return SweepResult([r for r in results if r is not None], replications, seed)


__all__ = [
    "Axis",
    "Point",
    "PointResult",
    "SweepError",
    "SweepFile",
    "SweepResult",
    "build_points",
    "columns_for",
    "format_parameter",
    "grid",
    "is_sweep_header",
    "parse_axis",
    "run_sweep",
    "scenario_digest",
]
