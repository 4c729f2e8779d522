"""The scenario format: frozen, typed pydantic models validated at the door.

Every duration is stored in seconds and every rate in events per second, so the model
downstream never parses units. Cross-field rules (transfers to existing directories,
directories that some group serves, non-overlapping shifts, probabilities per source
directory summing to at most 1) live in :class:`Scenario`'s validators, so a scenario
that constructs is a scenario the model can run.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Literal, overload

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from ccsim.scenario import limits
from ccsim.scenario.clock import DAY_S, format_clock, parse_clock
from ccsim.scenario.units import compact_duration as _d  # seconds -> "1h30m" in messages
from ccsim.scenario.units import parse_duration, parse_rate


def _duration(value: Any) -> float:
    return parse_duration(value)


def _rate(value: Any) -> float:
    return parse_rate(value)


# Upper limits (ccsim.scenario.limits) keep every run finite; they are far above real use.
_MAX_S, _MAX_RATE = limits.MAX_DURATION_S, limits.MAX_RATE_PER_S
Duration = Annotated[float, BeforeValidator(_duration), Field(ge=0, le=_MAX_S)]
PositiveDuration = Annotated[float, BeforeValidator(_duration), Field(gt=0, le=_MAX_S)]
Rate = Annotated[float, BeforeValidator(_rate), Field(gt=0, le=_MAX_RATE)]
RateOrZero = Annotated[float, BeforeValidator(_rate), Field(ge=0, le=_MAX_RATE)]
Probability = Annotated[float, Field(ge=0, le=1)]
# Seconds after midnight, written and saved as "08:00" (see ccsim.scenario.clock).
ClockTime = Annotated[float, BeforeValidator(parse_clock), PlainSerializer(format_clock)]
_MAX_DAYS = int(limits.MAX_DURATION_S // DAY_S)


def _whole_days(value: Any) -> Any:
    """``days: true`` is not one day (YAML booleans would pass as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number of days, got {str(value).lower()}")
    return value


def _share(value: Any) -> Any:
    """``30%`` or a fraction such as ``0.3``; a bare number of 1 or more is refused (it
    would be read as a fraction: write ``30%``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                return float(text[:-1]) / 100
            except ValueError:
                raise ValueError(f"expected a percentage such as 30%, got {value!r}") from None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
        raise ValueError(f"a share below 1: write {value:g}% or {value / 100:g}, got {value:g}")
    return value


# A share of time below 1 (shrinkage): ``30%`` or ``0.3``.
Share = Annotated[float, BeforeValidator(_share), Field(ge=0, lt=1)]
CoefficientOfVariation = Annotated[float, Field(ge=limits.MIN_CV, le=limits.MAX_CV)]


def _name(name: str) -> str:
    """Directory and group names must be addressable by --set paths and expectations."""
    problem = limits.name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


def _scenario_name(name: str) -> str:
    problem = limits.scenario_name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


Name = Annotated[str, AfterValidator(_name)]


class Model(BaseModel):
    """Base for scenario parts: frozen, unknown keys rejected."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


# --------------------------------------------------------------------------- distributions


class Constant(Model):
    """Always the same value (a plain duration in the file)."""

    dist: Literal["constant"] = "constant"
    value: Duration

    @property
    def mean(self) -> float:
        return self.value


class Exponential(Model):
    dist: Literal["exponential"]
    mean: PositiveDuration


class LogNormal(Model):
    """Lognormal given by its mean and coefficient of variation (std / mean)."""

    dist: Literal["lognormal"]
    mean: PositiveDuration
    cv: CoefficientOfVariation


class Gamma(Model):
    """Gamma given by its mean and coefficient of variation (std / mean)."""

    dist: Literal["gamma"]
    mean: PositiveDuration
    cv: CoefficientOfVariation


class Uniform(Model):
    dist: Literal["uniform"]
    low: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high: must be at least low ({_d(self.low)}), got {_d(self.high)}")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Empirical(Model):
    """Resample a planner's own data: a list of durations, or a column of a CSV file.

    A CSV path is read relative to the scenario file at load time, from its folder only
    (see :mod:`ccsim.scenario.datafiles`); the resolved scenario keeps the values, so saved
    results can be rerun without the CSV.
    """

    dist: Literal["empirical"]
    values: tuple[Duration, ...] = ()
    csv: str | None = None
    column: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_csv(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not data.get("csv") or data.get("values"):
            return data  # values given (or kept from an earlier load) win over the file
        from ccsim.scenario.datafiles import read_duration_column

        values = read_duration_column(info.context, str(data["csv"]), data.get("column"))
        return {**data, "values": values}

    @model_validator(mode="after")
    def _non_empty(self) -> Empirical:
        if not self.values:
            raise ValueError("empirical needs a non-empty 'values' list or a 'csv' file")
        return self

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)


def _plain_to_constant(value: Any) -> Any:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


SimpleDistribution = Annotated[
    Annotated[
        Constant | Exponential | LogNormal | Gamma | Uniform | Empirical,
        Field(discriminator="dist"),
    ],
    BeforeValidator(_plain_to_constant),
]


class Component(Model):
    """One part of a mixture: its relative weight and its distribution."""

    weight: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
    of: SimpleDistribution


class Mixture(Model):
    """A value drawn from one of several distributions, chosen by weight: "10% leave at
    once, the rest after an exponential time with mean 1000 s" is one field. Weights are
    relative (1 and 9 is 10% and 90%); a component is not itself a mixture."""

    dist: Literal["mixture"]
    components: Annotated[tuple[Component, ...], Field(min_length=1, max_length=100)]

    @property
    def weights(self) -> tuple[float, ...]:
        """The components' probabilities (weights scaled to sum to 1)."""
        total = sum(c.weight for c in self.components)
        return tuple(c.weight / total for c in self.components)

    @property
    def mean(self) -> float:
        return sum(w * c.of.mean for w, c in zip(self.weights, self.components, strict=True))


Distribution = Annotated[
    Annotated[
        Constant | Exponential | LogNormal | Gamma | Uniform | Empirical | Mixture,
        Field(discriminator="dist"),
    ],
    BeforeValidator(_plain_to_constant),
]

ZERO = Constant(value=0.0)


# --------------------------------------------------------------------------- arrivals


class RatePiece(Model):
    start: Duration = Field(alias="from")
    rate: RateOrZero


class Arrivals(Model):
    """New chats at a directory (R1): Poisson with a piecewise-constant rate
    (``schedule``), or an explicit list of instants replayed exactly (``times``).

    Exact instants make rule timelines checkable by hand and let a planner replay a real
    day's arrivals; they consume no random numbers.
    """

    schedule: tuple[RatePiece, ...] = ()
    times: tuple[Duration, ...] = ()
    csv: str | None = None
    column: str | None = None
    origin: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_csv(cls, data: Any, info: ValidationInfo) -> Any:
        """``{csv: FILE, column: NAME}``: the instants of a real day, as offsets from the
        start of the run or as date-times counted from ``origin`` (default: midnight
        of the earliest one's day). The resolved scenario keeps them as ``times``."""
        if not isinstance(data, dict) or not data.get("csv") or data.get("times"):
            return data
        from ccsim.scenario.datafiles import read_instant_column

        cells = read_instant_column(info.context, str(data["csv"]), data.get("column"))
        stamps = [cell for cell in cells if isinstance(cell, datetime)]
        if not stamps:
            return {**data, "times": cells}
        if len(stamps) < len(cells):
            raise ValueError(
                f"csv: {data['csv']} mixes date-times and offsets; use one kind per column"
            )
        if len({stamp.tzinfo is None for stamp in stamps}) > 1:
            raise ValueError(
                f"csv: {data['csv']} mixes date-times with and without a time zone "
                "(e.g. +01:00); use one kind per column"
            )
        origin = data.get("origin")
        try:
            origin = (
                datetime.fromisoformat(str(origin))
                if origin is not None
                else min(stamps).replace(hour=0, minute=0, second=0, microsecond=0)
            )
            offsets = [(stamp - origin).total_seconds() for stamp in stamps]
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"origin: must be a date-time comparable with the file's ({error})"
            ) from None
        if min(offsets) < 0:
            raise ValueError(
                f"origin: {origin.isoformat()} is after the earliest instant in "
                f"{data['csv']} ({min(stamps).isoformat()})"
            )
        return {**data, "times": offsets, "origin": origin}

    @model_validator(mode="before")
    @classmethod
    def _plain_rate(cls, data: Any) -> Any:
        if isinstance(data, int | float | str) and not isinstance(data, bool):
            rate = parse_rate(data)
            if rate <= 0:
                raise ValueError(f"must be a positive rate, got {data!r}")
            return {"schedule": [{"from": 0, "rate": rate}]}
        if isinstance(data, list | tuple):
            raise ValueError("a list of instants goes under 'times': {times: [10s, 15s, 1m]}")
        return data

    @field_validator("schedule")
    @classmethod
    def _sorted(cls, schedule: tuple[RatePiece, ...]) -> tuple[RatePiece, ...]:
        # Messages may start with a path relative to the schedule ("1.from: ...").
        if not schedule:
            return schedule  # ``times`` instead, checked below
        if schedule[0].start != 0:
            raise ValueError(
                f"0.from: the first piece must start at 0h, got {_d(schedule[0].start)}"
            )
        for i in range(1, len(schedule)):
            if schedule[i].start <= schedule[i - 1].start:
                raise ValueError(
                    f"{i}.from: must be later than piece {i - 1}'s "
                    f"({_d(schedule[i - 1].start)}), got {_d(schedule[i].start)}"
                )
        if all(piece.rate == 0 for piece in schedule):
            raise ValueError("at least one piece needs a positive rate")
        return schedule

    @field_validator("times")
    @classmethod
    def _in_order(cls, times: tuple[float, ...]) -> tuple[float, ...]:
        """Instants may be written in any order; the model replays them sorted."""
        return tuple(sorted(times))

    @model_validator(mode="after")
    def _one_form(self) -> Arrivals:
        if self.schedule and self.times:
            raise ValueError("give either 'schedule' (Poisson) or 'times' (exact), not both")
        if self.schedule and self.csv:
            raise ValueError("csv: gives exact instants; it does not go with 'schedule'")
        if not self.schedule and not self.times:
            raise ValueError(
                "needs a rate (180/h), a 'schedule' [{from: 0h, rate: 60/h}, ...] "
                "or 'times' [10s, 15s, 1m]"
            )
        return self

    @model_serializer(mode="wrap")
    def _given_form_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Saved scenarios show the form that was given, not an empty other one."""
        return {key: value for key, value in handler(self).items() if value}

    @property
    def exact(self) -> bool:
        """Whether the arrivals are explicit instants rather than a Poisson process."""
        return bool(self.times)

    def rate_at(self, time: float) -> float:
        """Poisson rate (per second) in force at ``time`` (0 for exact arrivals)."""
        current = self.schedule[0].rate if self.schedule else 0.0
        for piece in self.schedule:
            if piece.start > time:
                break
            current = piece.rate
        return current

    def expected_count(self, start: float, end: float) -> float:
        """Expected number of arrivals in ``[start, end)``: the Poisson mean, or the
        number of explicit instants in the window."""
        if self.times:
            return float(bisect_left(self.times, end) - bisect_left(self.times, start))
        total = 0.0
        pieces = self.schedule
        for i, piece in enumerate(pieces):
            piece_end = pieces[i + 1].start if i + 1 < len(pieces) else float("inf")
            lo, hi = max(start, piece.start), min(end, piece_end)
            if hi > lo:
                total += (hi - lo) * piece.rate
        return total


# --------------------------------------------------------------------------- directories and agents


class PriorityBoost(Model):
    """A waiting chat's priority rises by ``by`` for every full ``after`` it has waited in
    the queue (60 s: +1, 120 s: +2, ...), up to ``up_to`` when given, so that chats of a
    low-priority directory do not starve behind a busy high-priority one."""

    after: PositiveDuration
    by: Annotated[int, Field(ge=1, le=limits.MAX_PRIORITY)] = 1
    up_to: Annotated[int, Field(ge=-limits.MAX_PRIORITY, le=limits.MAX_PRIORITY)] | None = None


class Overflow(Model):
    """More agent groups see the directory's chats once they have waited ``after`` in its
    queue (the groups serve the chat as if it were theirs from then on)."""

    after: Duration
    groups: Annotated[tuple[Name, ...], Field(min_length=1, max_length=100)]


class Balk(Model):
    """A customer who finds no free agent leaves at once (counted as abandoned in its
    first queue, reported as ``balked``): with ``probability`` (default 1), and only
    when more than ``queue_longer_than`` chats wait ahead when given. Both conditions
    must hold; at least one is needed."""

    probability: Probability = 1.0
    queue_longer_than: Annotated[int, Field(ge=0, le=limits.MAX_COUNT_SETTING)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _something_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("give 'probability', 'queue_longer_than' or both")
        return data


class Retry(Model):
    """A customer who abandoned in the first queue (or balked) tries again with
    ``probability``, ``after`` a drawn delay, at the same directory: a new chat that
    remembers its first arrival. ``max_attempts`` counts every attempt, the first too."""

    probability: Probability
    after: Distribution
    max_attempts: Annotated[int, Field(ge=2, le=limits.MAX_ATTEMPTS)] | None = None

    @model_validator(mode="after")
    def _ends(self) -> Retry:
        if self.probability == 1 and self.max_attempts is None:
            raise ValueError(
                "max_attempts: with probability 1 every customer would try again forever; "
                "give max_attempts or a probability below 1"
            )
        return self

    @property
    def attempts_per_customer(self) -> float:
        """The most attempts a customer makes on average (every attempt abandoned): the
        bound on how much retries can multiply the arrivals."""
        p, cap = self.probability, self.max_attempts
        if cap is None:
            return 1 / (1 - p)
        return float(cap) if p == 1 else (1 - p**cap) / (1 - p)


class Directory(Model):
    """A chat directory (service queue), R1-R5, R8, R11; routing between directories
    (``priority``, ``overflow``) and customers' behaviour (``balk``, ``retry``)."""

    arrivals: Arrivals | None = None
    patience: Distribution | None = None
    handle_time: Distribution
    service_level: PositiveDuration = 60.0
    routing: Literal["longest_idle", "least_busy"] = "longest_idle"
    wrap_up: Distribution = ZERO
    automated_message: bool = False
    ramp_up: Duration = 0.0
    priority: Annotated[int, Field(ge=-limits.MAX_PRIORITY, le=limits.MAX_PRIORITY)] = 0
    priority_boost: PriorityBoost | None = None
    overflow: Annotated[tuple[Overflow, ...], Field(max_length=100)] = ()
    balk: Balk | None = None
    retry: Retry | None = None

    @model_validator(mode="after")
    def _routing_extras(self) -> Directory:
        boost = self.priority_boost
        if boost is not None and boost.up_to is not None and boost.up_to <= self.priority:
            raise ValueError(
                f"priority_boost.up_to: must be above the directory's priority "
                f"({self.priority}), got {boost.up_to}"
            )
        seen: dict[str, int] = {}
        for i, level in enumerate(self.overflow):
            for group in level.groups:
                if group in seen:
                    raise ValueError(
                        f"overflow.{i}.groups: {group!r} is already in overflow {seen[group]}"
                    )
                seen[group] = i
        return self


class Break(Model):
    """A break within a shift: ``at`` after the shift starts, for ``length``. With
    ``stagger``, the shift's member i (0, 1, ...) starts it ``i * stagger`` later, so that
    the group's breaks are spread instead of all at once."""

    at: Duration
    length: PositiveDuration
    stagger: Duration = 0.0


def _overlapping_member(a: Break, b: Break, count: int) -> int | None:
    """The first member (0 to count - 1) whose breaks ``a`` and ``b`` overlap, or None.

    Member m's break starts at ``at + m * stagger``: each of the two conditions of an
    overlap is linear in m, so the members where both hold are an interval, found without
    a loop over (up to a million) members."""
    low, high = 0.0, float(max(count - 1, 0))
    # overlap: b starts before a ends, and a starts before b ends (each c + k*m < 0)
    for c, k in (
        (b.at - a.at - a.length, b.stagger - a.stagger),
        (a.at - b.at - b.length, a.stagger - b.stagger),
    ):
        if k == 0:
            if c >= 0:
                return None
        elif k > 0:
            high = min(high, math.ceil(-c / k) - 1)  # m < -c/k
        else:
            low = max(low, math.floor(-c / k) + 1)  # m > -c/k
    first = math.ceil(low)
    return first if first <= high else None


class Shift(Model):
    start: Duration = Field(alias="from")
    end: Duration = Field(alias="to")
    count: Annotated[int, Field(ge=0, le=limits.MAX_AGENTS)]
    breaks: Annotated[tuple[Break, ...], Field(max_length=100)] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError(f"to: must be after 'from' ({_d(self.start)}), got {_d(self.end)}")
        length = self.end - self.start
        for i, rest in enumerate(self.breaks):
            last = rest.at + max(self.count - 1, 0) * rest.stagger  # the last member's start
            if last + rest.length >= length:
                who = (
                    " (the last member's, with stagger)" if rest.stagger and self.count > 1 else ""
                )
                raise ValueError(
                    f"breaks.{i}: ends{who} {_d(last + rest.length)} into the shift, not "
                    f"before its end ({_d(length)} long); a break must end within the shift"
                )
        for j, later in enumerate(self.breaks):
            for i, earlier in enumerate(self.breaks[:j]):
                member = _overlapping_member(earlier, later, self.count)
                if member is not None:
                    raise ValueError(f"breaks.{j}: overlaps break {i} (member {member}'s)")
        return self

    def break_windows(self, member: int) -> list[tuple[float, float]]:
        """``(start, end)`` of member ``member``'s breaks in this shift, in run time."""
        return [
            (
                self.start + rest.at + member * rest.stagger,
                self.start + rest.at + member * rest.stagger + rest.length,
            )
            for rest in self.breaks
        ]


PreferenceLevel = Annotated[int, Field(ge=1, le=limits.MAX_PRIORITY)]  # 1 = first choice


class AgentGroup(Model):
    """Agents (or supervisors) with the same directories, capacity and staffing."""

    count: Annotated[int, Field(ge=0, le=limits.MAX_AGENTS)] | None = None
    shifts: tuple[Shift, ...] | None = None
    directories: tuple[str, ...] = ()
    max_chats: Annotated[int, Field(ge=1, le=64)] = 4
    slowdown: tuple[Annotated[float, Field(gt=0, le=limits.MAX_SLOWDOWN)], ...] | None = None
    shrinkage: Share = 0.0
    # Which of its directories the group prefers: ``in_order`` (as listed) or levels
    # (1 = first choice; a directory not named is at level 1).
    preference: Literal["in_order"] | dict[str, PreferenceLevel] | None = None

    @model_validator(mode="after")
    def _preferred_directories(self) -> AgentGroup:
        if isinstance(self.preference, dict):
            for name in self.preference:
                if name not in self.directories:
                    raise ValueError(
                        f"preference.{name}: not one of this group's directories "
                        f"({', '.join(self.directories) or 'none'})"
                    )
        return self

    def level(self, directory: str) -> int:
        """The group's preference level for one of its directories (1 = first choice)."""
        if self.preference == "in_order":
            return self.directories.index(directory) + 1
        if self.preference:
            return self.preference.get(directory, 1)
        return 1

    @model_validator(mode="after")
    def _staffing(self) -> AgentGroup:
        # Messages may start with a field name ("shifts: ..."): the loader adds it to the path.
        if self.count is not None and self.shifts is not None:
            raise ValueError("give either 'count' or 'shifts', not both")
        if self.count is None and self.shifts is None:
            raise ValueError("needs 'count' (agents all day) or 'shifts'")
        if self.shifts:
            ordered = sorted(enumerate(self.shifts), key=lambda item: item[1].start)
            for (i, a), (j, b) in pairwise(ordered):
                if b.start < a.end:
                    (i, a), (j, b) = sorted(((i, a), (j, b)), key=lambda item: item[0])
                    raise ValueError(
                        f"shifts: shifts {i} ({_d(a.start)}-{_d(a.end)}) and "
                        f"{j} ({_d(b.start)}-{_d(b.end)}) overlap"
                    )
        if self.slowdown is not None and len(self.slowdown) != self.max_chats:
            raise ValueError(
                f"slowdown: needs one factor per number of chats held, {self.max_chats} "
                f"(max_chats), got {len(self.slowdown)}"
            )
        return self

    @property
    def size(self) -> int:
        """How many agents the group ever has on shift at once (as written: members)."""
        if self.shifts is not None:
            return max((shift.count for shift in self.shifts), default=0)
        return self.count or 0

    def on_shift(self, count: int) -> int:
        """Agents actually on shift when ``count`` are planned: with ``shrinkage`` s, the
        count times (1 - s) rounded to the nearest whole agent (halves up), so 10 agents
        at 30% are 7 and 5 are 4 (3.5). Without shrinkage, ``count`` itself."""
        if not self.shrinkage:
            return count
        return math.floor(count * (1 - self.shrinkage) + 0.5 + 1e-9)


class Offer(Model):
    """How agents answer offered chats and invitations (R4)."""

    response_time: Distribution = ZERO
    no_answer_timeout: PositiveDuration = 10.0
    no_answer_probability: Probability = 0.0
    not_ready_time: Duration = 30.0


# --------------------------------------------------------------------------- transfers


class ToDirectory(Model):
    directory: str


class FromGroup(Model):
    """The source of rules applied by whoever receives an agent transfer (R7) from ... to
    this group: a supervisor who takes over a sales chat follows the supervisors' rules,
    not sales' (without such a rule the receiver finishes the chat)."""

    group: str


class ToGroup(Model):
    group: str


class LeaveAfter(Model):
    after: Duration


Leave = Literal["on_connect", "immediately"] | LeaveAfter


class DeclineToDirectory(Model):
    """On a declined invitation, fall back to a directory transfer (R6 -> R8)."""

    directory: str
    leave: Leave = "on_connect"


class Transfer(Model):
    """One transfer or conference rule from a directory (R6-R9)."""

    source: str | FromGroup = Field(alias="from")
    to: ToDirectory | ToGroup
    kind: Literal["transfer", "conference"] = "transfer"
    probability: Probability
    at: Distribution = ZERO
    leave: Leave = "on_connect"
    confirm: Duration = 0.0
    consult: Distribution | None = None
    duration: Distribution | None = None
    on_decline: Literal["keep", "retry"] | DeclineToDirectory = "keep"
    retries: Annotated[int, Field(ge=1, le=limits.MAX_COUNT_SETTING)] = 1

    @model_validator(mode="after")
    def _consistent(self) -> Transfer:
        to_directory = isinstance(self.to, ToDirectory)
        if self.kind == "conference":
            if to_directory:
                raise ValueError(
                    "to: a conference invites a group ({group: NAME}), not a directory"
                )
            if self.duration is None:
                raise ValueError(
                    "duration: a conference needs 'duration' (how long the invitee stays)"
                )
        elif self.duration is not None:
            raise ValueError("duration: applies to kind: conference only")
        if to_directory and self.consult is not None:
            raise ValueError("consult: applies to invitations of a group (to: {group: NAME}) only")
        if to_directory and self.on_decline != "keep":
            raise ValueError(
                "on_decline: applies to invitations of a group (to: {group: NAME}) only"
            )
        # Keys that would be silently ignored are refused, so a planner is never misled.
        if not to_directory and self.leave != "on_connect":
            raise ValueError(
                "leave: applies to directory transfers; an invited agent's inviter leaves "
                "`confirm` after the new agent connects (kind: transfer) or keeps the chat "
                "(kind: conference)"
            )
        if self.retries != 1 and self.on_decline != "retry":
            raise ValueError("retries: applies with on_decline: retry only")
        cold = to_directory and self.leave != "on_connect"
        if self.confirm and (self.kind == "conference" or cold):
            what, why = (
                ("a conference", "keeps the chat")
                if self.kind == "conference"
                else ("a cold directory transfer", "leaves without waiting")
            )
            raise ValueError(
                f"confirm: {what} has no confirmation delay (the inviter {why}); "
                "it applies to warm transfers (leave: on_connect) and transfers to an agent"
            )
        return self

    @property
    def source_directory(self) -> str | None:
        """The directory whose agents apply this rule, or None for a group's rule."""
        return self.source if isinstance(self.source, str) else None

    @property
    def source_group(self) -> str | None:
        """The group whose members apply this rule after receiving an agent transfer."""
        return self.source.group if isinstance(self.source, FromGroup) else None

    @property
    def source_label(self) -> str:
        """How messages and reports name the source: ``sales`` or ``group supervisors``."""
        return self.source if isinstance(self.source, str) else f"group {self.source.group}"


# --------------------------------------------------------------------------- scenario


class Scenario(Model):
    """A whole contact-center scenario; constructing one validates it completely."""

    name: Annotated[str, AfterValidator(_scenario_name)] = "scenario"
    description: str = ""
    duration: PositiveDuration
    start: ClockTime | None = None
    days: Annotated[int, BeforeValidator(_whole_days), Field(ge=1, le=_MAX_DAYS)] | None = None
    warmup: Duration = 0.0
    seed: Annotated[int, Field(ge=0, le=limits.MAX_SEED)] = 0
    replications: Annotated[int, Field(ge=1, le=limits.MAX_REPLICATIONS)] = 1
    max_transfers: Annotated[int, Field(ge=0, le=limits.MAX_COUNT_SETTING)] | None = None
    directories: dict[Name, Directory]
    agents: dict[Name, AgentGroup]
    busyness: Distribution | None = None
    offer: Offer = Offer()
    transfers: tuple[Transfer, ...] = ()
    expect: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _duration_from_days(cls, data: Any) -> Any:
        """``days: 5`` without ``duration`` runs 5 x 24h; with both they must agree
        (checked in :mod:`ccsim.scenario.crosscheck` with every other problem)."""
        if isinstance(data, dict) and "duration" not in data and "days" in data:
            days = data["days"]
            if isinstance(days, str) and days.strip().isdigit():
                days = int(days)
            fits = isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= _MAX_DAYS
            # A bad ``days`` is reported by its own field, not again as a missing duration.
            return {**data, "duration": days * DAY_S if fits else DAY_S}
        return data

    @field_validator("expect")
    @classmethod
    def _expectations(cls, expect: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Each item parses as an expectation (``ccsim check``) naming known directories
        and groups. Imported here: ccsim.expect imports the model, which imports this."""
        from ccsim.expect import ExpectationError, parse_expectation

        directories, groups = info.data.get("directories"), info.data.get("agents")
        problems = []
        for i, text in enumerate(expect):
            try:
                expectation = parse_expectation(text)
                if directories is not None and groups is not None:  # else already reported
                    expectation.check_names(directories, groups)
            except ExpectationError as error:
                problems.append(f"{i}: {error}")
        if problems:
            raise ValueError("\n".join(problems))
        return expect

    @field_validator("agents")
    @classmethod
    def _agents_in_all(cls, agents: dict[str, AgentGroup]) -> dict[str, AgentGroup]:
        """At most limits.MAX_AGENTS agents over all groups, so memory stays bounded."""
        problem = limits.total_agents_problem(sum(group.size for group in agents.values()))
        if problem:
            raise ValueError(problem)
        return agents

    @field_validator("directories")
    @classmethod
    def _arrivals_in_all(
        cls, directories: dict[str, Directory], info: ValidationInfo
    ) -> dict[str, Directory]:
        """At most limits.MAX_EXPECTED_ARRIVALS per replication: a run that ends. With
        ``days`` the arrivals are one day's, repeated each day."""
        duration, days = info.data.get("duration"), info.data.get("days")
        if duration is not None:
            period, repeats = (DAY_S, days) if days else (duration, 1)
            expected = repeats * sum(
                d.arrivals.expected_count(0.0, period)
                * (d.retry.attempts_per_customer if d.retry else 1.0)  # at most, with retries
                for d in directories.values()
                if d.arrivals is not None
            )
            problem = limits.expected_arrivals_problem(expected)
            if problem:
                raise ValueError(problem)
        return directories

    @field_validator("busyness")
    @classmethod
    def _busy_arrivals(cls, busyness: Any, info: ValidationInfo) -> Any:
        """A day's factor multiplies every Poisson rate: the expected arrivals at its mean
        stay within limits.MAX_EXPECTED_ARRIVALS (draws above MAX_BUSYNESS are capped)."""
        directories, duration = info.data.get("directories"), info.data.get("duration")
        if busyness is None or directories is None or duration is None:
            return busyness
        expected = sum(
            d.arrivals.expected_count(0.0, duration)
            for d in directories.values()
            if d.arrivals is not None and not d.arrivals.exact
        )
        problem = limits.expected_arrivals_problem(
            expected * min(busyness.mean, limits.MAX_BUSYNESS)
        )
        if problem:
            raise ValueError(f"at its mean ({busyness.mean:g}), {problem}")
        return busyness

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        """Checks across fields (references, warm-up, probabilities per source, instants
        within the run) live in :mod:`ccsim.scenario.crosscheck`, which the loader also
        runs on the mapping as written when fields fail, so that one report lists every
        problem; here they run on the parsed scenario."""
        from ccsim.scenario.crosscheck import cross_field_problems

        errors = cross_field_problems(self.model_dump(by_alias=True))
        if not errors and self.max_transfers is None:
            errors.extend(self._endless_loops())
        if errors:
            raise ValueError("\n".join(errors))
        return self

    def _endless_loops(self) -> list[str]:
        """Transfer loops that every chat entering them goes round forever.

        A set of directories and groups that rules link in a cycle, where every member
        sends all of its chats on round the cycle (probabilities summing to 1), never lets
        a chat finish: with hops that can take (next to) no time the run would hang with
        memory growing, and with hops that take time every such chat is transferred until
        the run ends. Either way it is a modelling error, refused unless ``max_transfers``
        bounds it. A declined invitation counts as staying in the loop (the invitee may
        always be there). Loops that chats can leave are allowed.
        """
        edges: dict[str, list[tuple[set[str], float, int]]] = defaultdict(list)
        for i, rule in enumerate(self.transfers):
            if rule.probability == 0 or rule.kind == "conference":
                continue  # after a conference the inviter finishes the chat
            source = _node(rule.source_label)
            if isinstance(rule.to, ToDirectory):
                targets = {_node(rule.to.directory)}
            else:
                targets = {_node(f"group {rule.to.group}")}
                if isinstance(rule.on_decline, DeclineToDirectory):
                    targets.add(_node(rule.on_decline.directory))
            edges[source].append((targets, rule.probability, i))

        def reach(start: str) -> set[str]:
            seen: set[str] = set()
            todo = [start]
            while todo:
                for targets, _p, _i in edges[todo.pop()]:
                    for target in targets - seen:
                        seen.add(target)
                        todo.append(target)
            return seen

        reachable = {node: reach(node) for node in list(edges)}
        problems: list[str] = []
        reported: set[frozenset[str]] = set()
        for node, seen in reachable.items():
            if node not in seen:
                continue  # not on a cycle
            cycle = frozenset(m for m in seen if node in reachable.get(m, ()))
            if cycle in reported:
                continue
            reported.add(cycle)
            closed = all(
                sum(p for targets, p, _i in edges[m] if targets & cycle) >= 1 - 1e-9 for m in cycle
            )
            if closed:
                rules = sorted(i for m in cycle for targets, _p, i in edges[m] if targets & cycle)
                names = ", ".join(sorted(m.removeprefix("directory ") for m in cycle))
                problems.append(
                    f"transfers: rule{'s' if len(rules) > 1 else ''} "
                    f"{', '.join(map(str, rules))} send every chat round "
                    f"{names} forever (the probabilities out of each sum to 1 inside the "
                    "loop, so no chat ever finishes; with times near 0 the run would hang): "
                    "set max_transfers, or lower a probability so that chats can leave"
                )
        return problems

    def over_run(self) -> Scenario:
        """The scenario as the engine runs it: with ``days``, each directory's arrivals
        (schedule or instants) and each group's shifts, given over one day, repeated for
        every day of the run. Without ``days`` (or with one day), this scenario itself.

        The scenario keeps the daily form (what was written, what is saved and what
        ``--set`` paths address); only the engine and the theory see the whole run.
        """
        if not self.days or self.days == 1:
            return self
        offsets = [day * DAY_S for day in range(self.days)]
        directories = {}
        for name, directory in self.directories.items():
            arrivals = directory.arrivals
            if arrivals is not None:
                if arrivals.times:
                    times = RepeatedInstants(arrivals.times, self.days)
                    arrivals = arrivals.model_copy(update={"times": times})
                else:
                    schedule = tuple(
                        RatePiece.model_construct(start=piece.start + offset, rate=piece.rate)
                        for offset in offsets
                        for piece in arrivals.schedule
                    )
                    arrivals = arrivals.model_copy(update={"schedule": schedule})
                directory = directory.model_copy(update={"arrivals": arrivals})
            directories[name] = directory
        agents = {}
        for name, group in self.agents.items():
            if group.shifts is not None:
                shifts = tuple(
                    shift.model_copy(
                        update={"start": shift.start + offset, "end": shift.end + offset}
                    )
                    for offset in offsets
                    for shift in group.shifts
                )
                group = group.model_copy(update={"shifts": shifts})
            agents[name] = group
        return self.model_copy(update={"directories": directories, "agents": agents})

    def transfers_from(self, directory: str) -> tuple[Transfer, ...]:
        return tuple(t for t in self.transfers if t.source == directory)

    def with_changes(self, changes: Mapping[str, Any] | Iterable[str]) -> Scenario:
        """A new validated scenario with dotted paths changed, e.g.
        ``{"agents.sales_team.count": 12, "transfers.0.leave": "immediately"}`` (or
        ``["agents.sales_team.count=12"]`` as with ``--set``); this one is unchanged.

        Raises :class:`ccsim.scenario.ScenarioError` naming the paths that do not fit.
        """
        from ccsim.scenario.load import apply_overrides, scenario_from_dict

        data = apply_overrides(self.model_dump(mode="json", by_alias=True), changes)
        return scenario_from_dict(data, source=f"{self.name} with changes")


class RepeatedInstants(Sequence[float]):
    """One day's sorted arrival instants repeated on ``days`` days, without building
    the whole list: a daily list of 100,000 instants over a year stays one list."""

    def __init__(self, daily: Sequence[float], days: int) -> None:
        self.daily, self.days = tuple(daily), days

    def __len__(self) -> int:
        return len(self.daily) * self.days

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[float]: ...

    def __getitem__(self, index: int | slice) -> float | Sequence[float]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        day, within = divmod(index, len(self.daily))
        return self.daily[within] + day * DAY_S

    def __iter__(self) -> Iterator[float]:
        return (t + day * DAY_S for day in range(self.days) for t in self.daily)

    def __bool__(self) -> bool:
        return bool(self.daily) and self.days > 0


def _node(label: str) -> str:
    """A node of the transfer graph: ``directory NAME`` or ``group NAME``."""
    return label if label.startswith("group ") else f"directory {label}"


def _suggest(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
