"""Parameter sweeps: run a scenario at every point of a grid of ``--set`` values.

An axis is ``path=values``: a range ``10..18`` (inclusive, step 1) or ``0.1..0.5..0.1``
(with a step), a comma list ``0.1,0.2,0.3`` (each item YAML-typed, so ``180/h,240/h``
works too), or a single value. The grid is the product of the axes, first axis slowest.

Every point runs the same replications with the same seed, so every point sees the same
random numbers (common random numbers): differences between points come from the
parameters, not from noise. A point's row holds its parameter values, the seed, the
replications, the confidence level, a digest of the scenario file, then each metric's
mean and interval (``service_level``, ``service_level_ci_low``, ``service_level_ci_high``,
...): every overall metric, the key metrics of every directory
(:data:`DIRECTORY_KEY_METRICS`, ``directories.sales.service_level``, ...) and of every
agent group (:data:`GROUP_KEY_METRICS`), and any other metric path asked for
(:func:`metric_paths`). A shared group can lift the overall service level past a target
while one of its directories stays below it: the per-directory columns show that.

Rows go to the CSV file as each point finishes, one whole line per ``write`` call on a
file opened for appending, so an interrupt never leaves half a row behind (a torn last
line from a crash is dropped on the next run). Running the same sweep again skips the
points already in the file, matched on parameter values, seed and replications; a file
written from a different scenario (another digest), over other parameters or metrics, or
at another confidence level is refused.
A file whose first line is not a sweep header is never touched, and only one sweep at a
time writes to a file (an exclusive lock beside it; a second sweep is refused at once).

``seed`` and ``replications`` are not axes: they are the same at every point, on purpose.
"""

from __future__ import annotations

import contextlib
import csv
import errno
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
from ccsim.confidence import DEFAULT_CONFIDENCE, summary_at
from ccsim.executors import Executor, Task, serial
from ccsim.results import METRICS, Estimate
from ccsim.safe_write import (
    OutputRefused,
    check_writable,
    exclusive_lock,
    make_parents,
    output_path,
)
from ccsim.scenario import Scenario, ScenarioError, apply_overrides, scenario_from_dict

#: Refuse grids larger than this (a typo such as 1..100000 would otherwise run for days).
MAX_POINTS = 100_000
#: Columns every row has besides the parameters and the metrics.
RUN_COLUMNS = ("seed", "replications", "confidence", "scenario_sha")
#: The run columns of sweep files written before the confidence column (read, not resumed).
LEGACY_RUN_COLUMNS = ("seed", "replications", "scenario_sha")
#: Metrics a sweep records for every directory and every agent group (every overall
#: metric is recorded too; other paths on request).
DIRECTORY_KEY_METRICS = (
    "service_level",
    "queued_service_level",
    "abandon_rate",
    "wait_mean",
    "wait_p90",
    "handoff_gap_mean",
)
GROUP_KEY_METRICS = ("utilization", "occupancy")
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


def metric_paths(scenario: Scenario | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The metrics a sweep records: every overall metric, then for each directory of
    ``scenario`` its :data:`DIRECTORY_KEY_METRICS` and for each agent group its
    :data:`GROUP_KEY_METRICS` (``directories.sales.service_level``), then the ``extra``
    paths not among them."""
    paths = list(METRICS)
    if scenario is not None:
        for name in scenario.directories:
            paths += [f"directories.{name}.{m}" for m in DIRECTORY_KEY_METRICS]
        for name in scenario.agents:
            paths += [f"groups.{name}.{m}" for m in GROUP_KEY_METRICS]
    return paths + [p for p in dict.fromkeys(extra) if p not in paths]


def metric_columns(paths: Sequence[str] | None = None) -> list[str]:
    """Each metric path with its interval's ends (every overall metric by default)."""
    chosen = METRICS if paths is None else paths
    return [f"{m}{suffix}" for m in chosen for suffix in ("", "_ci_low", "_ci_high")]


def columns_for(axes: Sequence[Axis], metrics: Sequence[str] | None = None) -> list[str]:
    """The header of a sweep file: the parameters, :data:`RUN_COLUMNS`, then ``metrics``
    (default: every overall metric; :func:`metric_paths` gives what ``ccsim sweep``
    records) each with its interval."""
    return [*(axis.path for axis in axes), *RUN_COLUMNS, *metric_columns(metrics)]


def _run_start(columns: Sequence[str]) -> tuple[int, tuple[str, ...]] | None:
    """Where the run columns start in a header, and which (current or legacy) they are."""
    for run in (RUN_COLUMNS, LEGACY_RUN_COLUMNS):
        width = len(run)
        starts = [i for i in range(len(columns)) if tuple(columns[i : i + width]) == run]
        if len(starts) == 1:
            return starts[0], run
    return None


# --------------------------------------------------------------------------- the CSV file


def is_sweep_header(columns: Sequence[str]) -> bool:
    """A sweep CSV's first line: parameters, the run columns (or those of an earlier
    ccsim, without ``confidence``), then one or more metrics each with its interval
    (``m``, ``m_ci_low``, ``m_ci_high``)."""
    found = _run_start(columns)
    if found is None:
        return False
    start, run = found
    metrics = columns[start + len(run) :]
    if not metrics or len(metrics) % 3:
        return False
    return all(
        metrics[i + 1] == f"{metrics[i]}_ci_low" and metrics[i + 2] == f"{metrics[i]}_ci_high"
        for i in range(0, len(metrics), 3)
    )


class SweepFile:
    """The CSV a sweep appends to, one whole line per finished point."""

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[str],
        digest: str,
        confidence: float = DEFAULT_CONFIDENCE,
    ) -> None:
        self.path = output_path(path)
        self.columns = list(columns)
        self.digest = digest
        self.confidence = confidence
        start = self.columns.index(RUN_COLUMNS[0])
        self.parameters = self.columns[:start]
        self.metrics = self.columns[start + len(RUN_COLUMNS) :: 3]
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
        try:
            with self.path.open("rb") as handle:
                head = handle.read(HEADER_BYTES)
        except OSError as error:
            raise SweepError(
                f"--out {self.path}: cannot read it ({error.strerror or error})"
            ) from None
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

        A torn last line (no newline: the process died mid-write) is cut off, but only
        once everything else (header, scenario digest, confidence of every whole row) shows
        that the file is this sweep's own: a file that is refused is left exactly as it is.
        """
        if not self.check():
            return {}
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            raise SweepError(
                f"--out {self.path}: cannot read it ({error.strerror or error})"
            ) from None
        whole = raw[: raw.rfind(b"\n") + 1]
        try:
            text = whole.decode("utf-8")
        except UnicodeDecodeError:
            raise SweepError(
                f"--out {self.path}: is not a ccsim sweep CSV (not UTF-8 text); ccsim leaves it "
                "as it is: give another file"
            ) from None
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            return {}
        if header != self.columns:
            theirs = header[: header.index(RUN_COLUMNS[0])] if RUN_COLUMNS[0] in header else []
            found = _run_start(header)
            if theirs == self.parameters and found is not None and found[1] != RUN_COLUMNS:
                raise SweepError(
                    f"{self.path} was written by an earlier ccsim (no per-directory metrics "
                    "nor confidence column); ccsim sweep cannot add to it: give another --out "
                    "file or delete it (ccsim report still reads it)"
                )
            if theirs == self.parameters:
                ours = set(self.metrics)
                theirs_metrics = header[header.index(RUN_COLUMNS[-1]) + 1 :: 3]
                missing = [m for m in self.metrics if m not in theirs_metrics]
                extra = [m for m in theirs_metrics if m not in ours]
                differ = "; ".join(
                    part
                    for part in (
                        f"this sweep also records {', '.join(missing[:3])}"
                        + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                        if missing
                        else "",
                        f"the file also has {', '.join(extra[:3])}"
                        + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
                        if extra
                        else "",
                    )
                    if part
                )
                raise SweepError(
                    f"{self.path} holds the same parameters but other metric columns "
                    f"({differ or 'in another order'}): the scenario's directories or groups, "
                    "or the --metric paths, differ; give the same ones, another --out file, "
                    "or delete it"
                )
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
            level = row.get("confidence", "")
            if level != format_parameter(float(self.confidence)):
                raise SweepError(
                    f"{self.path} holds intervals at confidence {level}, this sweep asks for "
                    f"{self.confidence:g}; give the same --confidence, another --out file, or "
                    "delete it"
                )
            rows[self.key(row)] = row
        if len(whole) < len(raw):  # this sweep's own file: repair the torn last line
            try:
                with open(self.path, "r+b") as handle:
                    handle.truncate(len(whole))
            except OSError as error:
                raise SweepError(
                    f"--out {self.path}: cannot repair its incomplete last line "
                    f"({error.strerror or error})"
                ) from None
        return rows

    def append(self, row: Mapping[str, str]) -> None:
        """Write one row whole (with the header first if the file is new), or not at all:
        a write that fails part-way (a full disk) is undone and raises :class:`SweepError`
        saying the rows before it are kept."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        try:
            new = not self.path.exists() or self.path.stat().st_size == 0
            if new:
                writer.writerow(self.columns)
            writer.writerow([row[c] for c in self.columns])
            data = buffer.getvalue().encode("utf-8")
            make_parents(self.path)
            existed = os.path.lexists(self.path)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise self._write_failed(error, new) from None
        try:
            size = os.fstat(descriptor).st_size
            try:
                view = memoryview(data)
                while view:
                    written = os.write(descriptor, view)
                    if written <= 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    view = view[written:]
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.ftruncate(descriptor, size)  # the row whole or not at all
                    if not existed:
                        os.unlink(self.path)  # nothing written: leave no empty file
                raise self._write_failed(error, size == 0) from None
        finally:
            os.close(descriptor)

    def _write_failed(self, error: OSError, empty: bool) -> SweepError:
        kept = (
            "no point was written"
            if empty
            else "the points finished before are kept in it; free space and run the same "
            "command to resume"
        )
        return SweepError(f"--out {self.path}: cannot write it ({error.strerror or error}); {kept}")


# --------------------------------------------------------------------------- running


@dataclass
class PointResult:
    """A point's parameter values and estimates by metric path (``service_level``,
    ``directories.sales.service_level``); ``resumed`` if read from file."""

    values: dict[str, Any]
    estimates: dict[str, Estimate]
    resumed: bool = False


@dataclass
class SweepResult:
    points: list[PointResult]
    replications: int
    seed: int
    confidence: float = DEFAULT_CONFIDENCE

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


NO_ESTIMATE = Estimate(math.nan, math.nan, math.nan)


def _row(
    point: Point,
    estimates: Mapping[str, Estimate],
    seed: int,
    replications: int,
    digest: str,
    confidence: float,
    paths: Sequence[str],
) -> dict[str, str]:
    row = {path: format_parameter(v) for path, v in point.values.items()}
    row.update(
        seed=str(seed),
        replications=str(replications),
        confidence=format_parameter(float(confidence)),
        scenario_sha=digest,
    )
    for metric in paths:
        estimate = estimates.get(metric, NO_ESTIMATE)
        row[metric] = repr(estimate.mean)
        row[f"{metric}_ci_low"] = repr(estimate.ci_low)
        row[f"{metric}_ci_high"] = repr(estimate.ci_high)
    return row


def _estimates_from_row(
    row: Mapping[str, str], replications: int, paths: Sequence[str]
) -> dict[str, Estimate]:
    return {
        m: Estimate(
            float(row[m]), float(row[f"{m}_ci_low"]), float(row[f"{m}_ci_high"]), replications
        )
        for m in paths
    }


def point_estimates(
    runs: Sequence[Any], paths: Sequence[str], confidence: float = DEFAULT_CONFIDENCE
) -> dict[str, Estimate]:
    """Each path's estimate over a point's replications (``ReplicationMetrics``); a path
    the point does not have (a directory an axis removed) has no value."""
    summary = summary_at(runs, confidence)
    out = {}
    for path in paths:
        try:
            out[path] = summary.lookup(path)
        except (KeyError, ValueError):
            out[path] = NO_ESTIMATE
    return out


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
    confidence: float = DEFAULT_CONFIDENCE,
    metrics: Sequence[str] | None = None,
) -> SweepResult:
    """Run every point not yet in ``out`` and return all points in grid order.

    Each point gets an estimate, with its interval at ``confidence``, of each metric path
    in ``metrics``: by default those of ``out``'s columns, else :func:`metric_paths` of
    the first point's scenario (every overall metric and the key ones of each directory
    and group).

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
            confidence=confidence,
            metrics=metrics,
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
    confidence: float,
    metrics: Sequence[str] | None,
) -> SweepResult:
    if out is not None:
        out.confidence = confidence
    if metrics is not None:
        paths = list(metrics)
    elif out is not None:
        paths = list(out.metrics)
    else:
        paths = metric_paths(points[0].scenario if points else None)
    if out is not None and paths != out.metrics:
        raise SweepError(
            f"the metrics asked for are not the columns of {out.path}; give the same ones"
        )
    done = out.load() if out is not None else {}
    results: list[PointResult | None] = [None] * len(points)
    todo: list[int] = []
    for index, point in enumerate(points):
        key = (*(format_parameter(v) for v in point.values.values()), str(seed), str(replications))
        if key in done:
            results[index] = PointResult(
                point.values, _estimates_from_row(done[key], replications, paths), resumed=True
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
            estimates = point_estimates([run.metrics for run in runs], paths, confidence)
            if out is not None:
                out.append(
                    _row(points[index], estimates, seed, replications, digest, confidence, paths)
                )
            results[index] = PointResult(points[index].values, estimates)
            if on_point is not None:
                on_point(results[index])  # type: ignore[arg-type]
    return SweepResult([r for r in results if r is not None], replications, seed, confidence)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetOutcome:
    """Where one target (an :class:`ccsim.expect.Expectation`) is met in a sweep table,
    judged on each point's mean as ``ccsim check`` does by default. Points are named by
    their values (``10``) when one parameter varies (``axis``), else by
    ``path=value, ...``."""

    expectation: Any
    met: list[str]  # the points that meet it, in table order
    missed: list[str]
    no_value: list[str]
    best: tuple[str, float] | None  # the missed point closest to the target, and its mean
    axis: str | None = None  # the one parameter that varies, if only one does

    def _points(self, labels: list[str]) -> str:
        listed = ", ".join(labels) if self.axis else "; ".join(labels)
        return f"{self.axis} = {listed}" if self.axis else listed

    @property
    def text(self) -> str:
        """``directories.fraud.service_level >= 80%: met at 2 of 5 points (x = 7, 8); ...``."""
        from ccsim.expect import format_metric_value

        e = self.expectation
        total = len(self.met) + len(self.missed) + len(self.no_value)
        if not self.met:
            text = f"{e.text}: met at no point"
        elif not self.missed and not self.no_value:
            text = f"{e.text}: met at every point"
        else:
            text = f"{e.text}: met at {len(self.met)} of {total} points ({self._points(self.met)})"
        if self.best is not None and not self.met:
            closest = self.best[0] if not self.axis else f"{self.axis} = {self.best[0]}"
            text += f"; closest {format_metric_value(e.metric, self.best[1])} at {closest}"
        elif self.missed:
            text += f"; missed at {self._points(self.missed)}"
        if self.no_value:
            text += f"; no value at {self._points(self.no_value)}"
        return text


def sweep_parameter_columns(columns: Sequence[str]) -> list[str]:
    """The swept columns of a sweep table's header (those before the run columns)."""
    found = _run_start(list(columns))
    return list(columns[: found[0]]) if found is not None else []


def target_outcomes(frame: pd.DataFrame, expectations: Sequence[Any]) -> list[TargetOutcome]:
    """Each target judged at every point of a sweep table (on the point's mean); a point
    is labelled by its values of the parameters that vary (``agents.x.count=12``)."""
    from ccsim.expect import COMPARISONS

    parameters = sweep_parameter_columns(list(frame.columns))
    varying = [p for p in parameters if frame[p].nunique() > 1] or parameters[:1]
    axis = varying[0] if len(varying) == 1 else None
    labels = [
        format_parameter(_plain(row[axis]))
        if axis
        else ", ".join(f"{p}={format_parameter(_plain(row[p]))}" for p in varying)
        for row in frame.to_dict("records")
    ]
    out = []
    for e in expectations:
        compare = COMPARISONS[e.op]
        met, missed, no_value = [], [], []
        best: tuple[str, float] | None = None
        for label, value in zip(labels, frame[e.path].astype(float), strict=True):
            if math.isnan(value):
                no_value.append(label)
            elif compare(value, e.threshold):
                met.append(label)
            else:
                missed.append(label)
                if best is None or abs(value - e.threshold) < abs(best[1] - e.threshold):
                    best = (label, value)
        out.append(TargetOutcome(e, met, missed, no_value, best, axis))
    return out


def _plain(value: Any) -> Any:
    """A table cell as the Python value it was (numpy integers and floats)."""
    return value.item() if hasattr(value, "item") else value


__all__ = [
    "DIRECTORY_KEY_METRICS",
    "GROUP_KEY_METRICS",
    "RUN_COLUMNS",
    "Axis",
    "Point",
    "PointResult",
    "SweepError",
    "SweepFile",
    "SweepResult",
    "TargetOutcome",
    "build_points",
    "columns_for",
    "format_parameter",
    "grid",
    "is_sweep_header",
    "metric_paths",
    "parse_axis",
    "point_estimates",
    "run_sweep",
    "scenario_digest",
    "sweep_parameter_columns",
    "target_outcomes",
]
