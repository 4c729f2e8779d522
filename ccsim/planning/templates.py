"""Shift templates: the shifts a planner may schedule, per agent group, from their own
file (``ccsim schedule --templates shifts.yaml``).

```yaml
groups:
  support_team:
    max_at_once: 27              # at most 27 agents on duty at any time (optional)
    templates:
      day:
        starts: [0h, 1h, 2h]     # from the run's start, like a scenario's shifts
        length: 8h
        breaks: [{at: 4h, length: 30m}]   # `at` from the shift's start
        cost: 8                  # per agent on this shift (default: length in hours)
        max_per_shift: 25        # at most 25 agents on one shift (optional)
      part_time:
        starts: {from: 2h, to: 4h, every: 30m}   # 2h, 2h30m, ..., 4h
        length: 4h
        max_agents: 6            # at most 6 agents on this template in all (optional)
```

A start is a duration from the run's start (``7h``) or, when the scenario gives the
clock time at which it starts (``start: "08:00"``), a clock time (``"07:00"``, quoted:
YAML reads a bare 7:00 as a number), meaning that time on every day of the run.

The file is read like a scenario (bounded size, safe YAML) and parsed into frozen
pydantic models; what only the scenario can decide (an unknown group, a shift longer
than the run, a start outside it, an interval with demand that no template covers) is
checked by :func:`template_problems`. Every problem comes with its field path, all in one
round (:class:`TemplateError`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ccsim.scenario import limits
from ccsim.scenario.schema import Duration, Model, Name, PositiveDuration
from ccsim.scenario.units import compact_duration as _d
from ccsim.scenario.units import parse_duration

if TYPE_CHECKING:
    from ccsim.scenario import Scenario

#: A template file is a planner's list of shifts: far smaller than a scenario may be.
MAX_TEMPLATE_BYTES = 1024 * 1024
#: Longest shift: a day.
DAY_S = 24 * 3600.0
#: At most this many shifts (template x start) in one covering problem.
MAX_SHIFTS = 20_000
MAX_COST = 1e9

_CLOCK = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2})?\s*$")


class TemplateError(ValueError):
    """Bad templates: every problem, one line each starting with its field path."""

    def __init__(self, problems: Sequence[str], source: str = "templates") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Clock:
    """A clock time (seconds after midnight) written as ``"07:00"``."""

    seconds: float

    def __str__(self) -> str:
        from ccsim.scenario.clock import format_clock

        return format_clock(self.seconds)


def _start(value: Any) -> Any:
    if isinstance(value, Clock):
        return value
    if isinstance(value, str) and _CLOCK.match(value):
        from ccsim.scenario.clock import parse_clock

        return Clock(parse_clock(str(value)))
    seconds = parse_duration(value)
    if not 0 <= seconds <= limits.MAX_DURATION_S:
        raise ValueError(f"a start must lie within the run, got {value!r}")
    return seconds


Start = Annotated[Any, BeforeValidator(_start)]


class Break(Model):
    """A break within a shift: ``at`` from the shift's start, for ``length``."""

    at: Duration
    length: PositiveDuration


class StartRange(Model):
    """Starts every ``every`` from ``from`` up to ``to`` (included)."""

    first: Duration = Field(alias="from")
    last: Duration = Field(alias="to")
    every: PositiveDuration

    @model_validator(mode="after")
    def _ordered(self) -> StartRange:
        if self.last < self.first:
            raise ValueError(
                f"to: must not be before 'from' ({_d(self.first)}), got {_d(self.last)}"
            )
        if (self.last - self.first) / self.every > MAX_SHIFTS:
            raise ValueError(f"every: gives more than {MAX_SHIFTS:,} starts")
        return self

    def values(self) -> list[float]:
        count = math.floor((self.last - self.first) / self.every + 1e-9)
        return [self.first + k * self.every for k in range(count + 1)]


class Template(Model):
    """One kind of shift: where it may start, how long, its breaks, cost and limits."""

    starts: Annotated[
        Annotated[
            Annotated[tuple[Start, ...], Field(min_length=1, max_length=MAX_SHIFTS)], Tag("list")
        ]
        | Annotated[StartRange, Tag("range")],
        Discriminator(lambda v: "range" if isinstance(v, dict | StartRange) else "list"),
    ]
    length: PositiveDuration
    breaks: tuple[Break, ...] = ()
    cost: Annotated[float, Field(ge=0, le=MAX_COST)] | None = None
    max_per_shift: Annotated[int, Field(ge=0, le=limits.MAX_AGENTS)] | None = None
    max_agents: Annotated[int, Field(ge=0, le=limits.MAX_AGENTS)] | None = None

    @field_validator("length")
    @classmethod
    def _within_a_day(cls, length: float) -> float:
        if length > DAY_S:
            raise ValueError(f"a shift lasts at most a day (24h), got {_d(length)}")
        return length

    @field_validator("breaks")
    @classmethod
    def _breaks_inside(cls, breaks: tuple[Break, ...], info: ValidationInfo) -> tuple[Break, ...]:
        # Messages start with the item's index ("1: ..."): the path adds "breaks".
        length = info.data.get("length")
        problems = []
        for i, item in enumerate(breaks):
            if length is not None and (item.at <= 0 or item.at + item.length >= length):
                problems.append(
                    f"{i}: the break ({_d(item.at)} for {_d(item.length)}) must lie "
                    f"inside the shift (after its start, ending before {_d(length)})"
                )
        ordered = sorted(enumerate(breaks), key=lambda pair: pair[1].at)
        for (i, a), (j, b) in pairwise(ordered):
            if b.at < a.at + a.length:
                first, second = sorted((i, j))
                problems.append(
                    f"{second}: overlaps break {first} "
                    f"({_d(a.at)}-{_d(a.at + a.length)} and {_d(b.at)}-{_d(b.at + b.length)} "
                    "from the shift's start)"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return breaks

    @property
    def paid_hours(self) -> float:
        return self.length / 3600

    @property
    def shift_cost(self) -> float:
        """The cost of one agent on this shift (default: its length in hours)."""
        return self.paid_hours if self.cost is None else self.cost

    def on_duty(self, start: float) -> list[tuple[float, float]]:
        """The pieces of a shift starting at ``start`` when its agents take chats."""
        pieces, at = [], start
        for item in sorted(self.breaks, key=lambda b: b.at):
            pieces.append((at, start + item.at))
            at = start + item.at + item.length
        pieces.append((at, start + self.length))
        return [(a, b) for a, b in pieces if b > a]

    def start_values(self) -> list[float | Clock]:
        return self.starts.values() if isinstance(self.starts, StartRange) else list(self.starts)


class GroupTemplates(Model):
    """The templates of one agent group and its limit on agents on duty at once."""

    templates: Annotated[dict[Name, Template], Field(min_length=1)]
    max_at_once: Annotated[int, Field(ge=0, le=limits.MAX_AGENTS)] | None = None


class TemplateFile(Model):
    """A whole templates file."""

    groups: Annotated[dict[Name, GroupTemplates], Field(min_length=1)]


@dataclass(frozen=True)
class ShiftOption:
    """One column of the covering problem: a template at one start (in run seconds)."""

    template: str
    start: float
    spec: Template

    @property
    def end(self) -> float:
        return self.start + self.spec.length

    def on_duty(self) -> list[tuple[float, float]]:
        return self.spec.on_duty(self.start)


def parse_templates(data: Any, source: str = "templates") -> TemplateFile:
    """Validate a mapping as read from a templates file; :class:`TemplateError` lists
    every problem with its field path."""
    if not isinstance(data, dict):
        raise TemplateError(
            ["the top level must be a mapping with 'groups:' (group -> templates)"], source
        )
    try:
        return TemplateFile.model_validate(data)
    except ValidationError as error:
        raise TemplateError(validation_lines(error), source) from None


#: Parts of pydantic's error locations that name a union branch, not a field.
_BRANCHES = {"list", "range"}


def validation_lines(error: ValidationError) -> list[str]:
    """One line per problem, starting with the field path as written in the file."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        path = [str(p) for p in item["loc"] if str(p) not in _BRANCHES and "[" not in str(p)]
        message = str(item["msg"]).removeprefix("Value error, ")
        kind, context, given = item["type"], item.get("ctx") or {}, item.get("input")
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "missing"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal"):
            bound = {"greater_than_equal": "at least", "greater_than": "more than"}.get(
                kind, "at most"
            )
            limit = next(iter(context.values()), "")
            message = f"must be {bound} {limit} (got {given!r})"
        elif kind == "too_short":
            message = "needs at least one item"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            message = f"expected a mapping, got {given!r}"
        elif kind in ("tuple_type", "list_type"):
            message = f"expected a list, got {given!r}"
        elif kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
            message = (
                f"expected a whole number, got {given!r}"
                if "int" in kind
                else (f"expected a number, got {given!r}")
            )
        for line in message.splitlines():
            # A validator's line may start with a path below the field ("1: ...").
            head, sep, rest = line.partition(": ")
            if sep and re.fullmatch(r"[\w.]+", head) and not head.isalpha():
                text = ".".join([*path, head]) + ": " + rest
            else:
                text = (".".join(path) + ": " if path else "") + line
            if text not in lines:
                lines.append(text)
    return lines


def load_templates(path: str | Path) -> TemplateFile:
    """Read and validate a templates file (bounded read, safe YAML)."""
    from ccsim.safe_read import FileProblem, read_text
    from ccsim.scenario import ScenarioError
    from ccsim.scenario.load import _safe_yaml

    source = str(path)
    try:
        text = read_text(path, MAX_TEMPLATE_BYTES, "a templates file")
    except FileProblem as problem:
        raise TemplateError([str(problem)], source) from None
    try:
        data = _safe_yaml(text, source)
    except ScenarioError as error:
        raise TemplateError(error.problems, source) from None
    if data is None:
        raise TemplateError(["the file is empty; it needs 'groups:'"], source)
    return parse_templates(data, source)


def clock_start(scenario: Scenario) -> float | None:
    """The clock time (seconds after midnight) at which the run starts, if the scenario
    gives one (``start: "08:00"``)."""
    return scenario.start


def shift_options(
    templates: TemplateFile, scenario: Scenario, group: str, source: str = "templates"
) -> tuple[list[ShiftOption], list[str]]:
    """Every shift (template x start) of ``group`` within the run, and notes (clock-time
    starts dropped on a day where the shift would not fit). Raises :class:`TemplateError`
    with every problem the scenario reveals (field paths from the file's top)."""
    problems = template_problems(templates, scenario)
    if group not in templates.groups:
        problems.append(
            f"groups: has no templates for agent group {group!r} "
            f"(it has {', '.join(templates.groups)})"
        )
    if problems:
        raise TemplateError(problems, source)
    origin = clock_start(scenario)
    options: list[ShiftOption] = []
    notes: list[str] = []
    for name, spec in templates.groups[group].templates.items():
        skipped = 0
        for value in spec.start_values():
            if isinstance(value, Clock):
                assert origin is not None  # template_problems refused clocks without it
                first = (value.seconds - origin) % DAY_S
                starts = [first + k * DAY_S for k in range(int(scenario.duration // DAY_S) + 1)]
                fits = [s for s in starts if s + spec.length <= scenario.duration + 1e-9]
                skipped += len([s for s in starts if s < scenario.duration]) - len(fits)
                options += [ShiftOption(name, s, spec) for s in fits]
            else:
                options.append(ShiftOption(name, float(value), spec))
        if skipped:
            notes.append(
                f"{name}: {skipped} clock-time start{'s' if skipped != 1 else ''} left out "
                f"(the shift would end after the run)"
            )
    if len(options) > MAX_SHIFTS:
        raise TemplateError(
            [f"groups.{group}.templates: {len(options):,} shifts, more than {MAX_SHIFTS:,}"],
            source,
        )
    unique = {(o.template, o.start): o for o in options}
    return sorted(unique.values(), key=lambda o: (o.start, o.template)), notes


def template_problems(templates: TemplateFile, scenario: Scenario) -> list[str]:
    """What is wrong with valid templates given this scenario, with field paths."""
    from difflib import get_close_matches

    problems = []
    origin = clock_start(scenario)
    for group, spec in templates.groups.items():
        where = f"groups.{group}"
        if group not in scenario.agents:
            close = get_close_matches(group, list(scenario.agents), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"{where}: unknown agent group {group!r}{hint}; the scenario has "
                f"{', '.join(scenario.agents)}"
            )
            continue
        for name, template in spec.templates.items():
            at = f"{where}.templates.{name}"
            if template.length > scenario.duration:
                problems.append(
                    f"{at}.length: the shift ({_d(template.length)}) is longer than the run "
                    f"({_d(scenario.duration)})"
                )
                continue
            clocks = 0
            for k, value in enumerate(template.start_values()):
                ranged = isinstance(template.starts, StartRange)
                path = f"{at}.starts" if ranged else f"{at}.starts.{k}"
                if isinstance(value, Clock):
                    clocks += 1
                    if origin is None:
                        problems.append(
                            f"{path}: a clock time ({value}) needs the scenario's clock "
                            'start (start: "08:00"); give a duration from the run\'s start'
                        )
                    continue
                if value + template.length > scenario.duration + 1e-9:
                    problems.append(
                        f"{path}: a shift starting at {_d(value) if value else '0h'} ends at "
                        f"{_d(value + template.length)}, after the run ({_d(scenario.duration)})"
                    )
                    if ranged:
                        break
    return problems


def coverage_matrix(
    options: Sequence[ShiftOption], edges: Sequence[tuple[float, float]]
) -> list[list[float]]:
    """``[interval][shift]``: the part of each interval an agent of each shift is on duty."""
    rows = []
    for a, b in edges:
        row = []
        for option in options:
            on = sum(max(0.0, min(b, y) - max(a, x)) for x, y in option.on_duty())
            row.append(on / (b - a))
        rows.append(row)
    return rows


def on_duty_matrix(options: Sequence[ShiftOption], duration: float) -> list[list[float]]:
    """``[stretch][shift]``: 1 where a shift is on duty, one row per stretch of the run in
    which no shift starts, ends or breaks (so a limit on the rows holds at every instant)."""
    instants = {0.0, duration}
    for option in options:
        for x, y in option.on_duty():
            instants.update((x, y))
    cuts = sorted(t for t in instants if 0 <= t <= duration)
    return [
        [1.0 if any(x <= a < y for x, y in option.on_duty()) else 0.0 for option in options]
        for a, _b in pairwise(cuts)
    ]


def on_duty_steps(
    options: Sequence[ShiftOption], counts: Sequence[int], duration: float
) -> list[tuple[float, float, int]]:
    """The agents on duty over the run as non-overlapping ``(start, end, count)`` pieces
    (a scenario's shifts): every shift's on-duty pieces added up, breaks left out."""
    instants = {0.0, duration}
    for option, count in zip(options, counts, strict=True):
        if count:
            for x, y in option.on_duty():
                instants.update((x, y))
    cuts = sorted(t for t in instants if 0 <= t <= duration)
    steps: list[tuple[float, float, int]] = []
    for a, b in pairwise(cuts):
        present = sum(
            count
            for option, count in zip(options, counts, strict=True)
            if count and any(x <= a < y for x, y in option.on_duty())
        )
        if steps and steps[-1][2] == present:
            steps[-1] = (steps[-1][0], b, present)
        else:
            steps.append((a, b, present))
    return steps


__all__ = [
    "Break",
    "Clock",
    "GroupTemplates",
    "ShiftOption",
    "StartRange",
    "Template",
    "TemplateError",
    "TemplateFile",
    "coverage_matrix",
    "load_templates",
    "on_duty_matrix",
    "on_duty_steps",
    "parse_templates",
    "shift_options",
    "template_problems",
    "validation_lines",
]
