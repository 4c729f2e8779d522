"""The scenario format: frozen, typed pydantic models validated at the door.

Every duration is stored in seconds and every rate in events per second, so the model
downstream never parses units. Cross-field rules (transfers to existing directories,
directories that some group serves, non-overlapping shifts, probabilities per source
directory summing to at most 1) live in :class:`Scenario`'s validators, so a scenario
that constructs is a scenario the model can run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ccsim.scenario.units import compact_duration as _d  # seconds -> "1h30m" in messages
from ccsim.scenario.units import parse_duration, parse_rate


def _duration(value: Any) -> float:
    return parse_duration(value)


def _rate(value: Any) -> float:
    return parse_rate(value)


Duration = Annotated[float, BeforeValidator(_duration), Field(ge=0)]
PositiveDuration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
Rate = Annotated[float, BeforeValidator(_rate), Field(gt=0)]
RateOrZero = Annotated[float, BeforeValidator(_rate), Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Model(BaseModel):
    """Base for scenario parts: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


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
    cv: Annotated[float, Field(gt=0)]


class Gamma(Model):
    """Gamma given by its mean and coefficient of variation (std / mean)."""

    dist: Literal["gamma"]
    mean: PositiveDuration
    cv: Annotated[float, Field(gt=0)]


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

    A CSV path is read relative to the scenario file at load time; the resolved scenario
    keeps the values, so saved results can be rerun without the CSV.
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
        base = Path((info.context or {}).get("base_dir", "."))
        path = base / str(data["csv"])
        column = data.get("column")
        import csv as csv_module

        try:
            with path.open(newline="") as handle:
                rows = list(csv_module.DictReader(handle))
        except OSError as error:
            raise ValueError(f"csv: cannot read {path}: {error.strerror}") from None
        except (UnicodeDecodeError, csv_module.Error) as error:
            raise ValueError(f"csv: cannot read {path} as CSV: {error}") from None
        if not rows:
            raise ValueError(f"csv: {path} has no data rows")
        names = [name for name in rows[0] if name is not None]
        column = column or names[0]
        if column not in names:
            raise ValueError(
                f"column: {path} has no column {column!r}{_suggest(str(column), names)}; "
                f"it has {', '.join(map(repr, names))}"
            )
        values = []
        for line, row in enumerate(rows, start=2):
            cell = (row.get(column) or "").strip()
            if not cell:
                continue
            try:
                value = parse_duration(cell)
            except ValueError as error:
                raise ValueError(f"csv: {path} line {line}, column {column!r}: {error}") from None
            if value < 0:
                raise ValueError(f"csv: {path} line {line}, column {column!r}: negative {cell!r}")
            values.append(value)
        if not values:
            raise ValueError(f"csv: {path} column {column!r} has no values")
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


Distribution = Annotated[
    Annotated[
        Constant | Exponential | LogNormal | Gamma | Uniform | Empirical,
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
    """Poisson arrivals, with a piecewise-constant rate over the day."""

    schedule: tuple[RatePiece, ...]

    @model_validator(mode="before")
    @classmethod
    def _plain_rate(cls, data: Any) -> Any:
        if isinstance(data, int | float | str) and not isinstance(data, bool):
            rate = parse_rate(data)
            if rate <= 0:
                raise ValueError(f"must be a positive rate, got {data!r}")
            return {"schedule": [{"from": 0, "rate": rate}]}
        return data

    @field_validator("schedule")
    @classmethod
    def _sorted(cls, schedule: tuple[RatePiece, ...]) -> tuple[RatePiece, ...]:
        # Messages may start with a path relative to the schedule ("1.from: ...").
        if not schedule:
            raise ValueError("needs at least one piece, e.g. [{from: 0h, rate: 60/h}]")
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

    def rate_at(self, time: float) -> float:
        """Arrival rate (per second) in force at ``time``."""
        current = self.schedule[0].rate
        for piece in self.schedule:
            if piece.start > time:
                break
            current = piece.rate
        return current

    def expected_count(self, start: float, end: float) -> float:
        """Expected number of arrivals in ``[start, end)`` (the Poisson mean)."""
        total = 0.0
        pieces = self.schedule
        for i, piece in enumerate(pieces):
            piece_end = pieces[i + 1].start if i + 1 < len(pieces) else float("inf")
            lo, hi = max(start, piece.start), min(end, piece_end)
            if hi > lo:
                total += (hi - lo) * piece.rate
        return total


# --------------------------------------------------------------------------- directories and agents


class Directory(Model):
    """A chat directory (service queue), R1-R5, R8, R11."""

    arrivals: Arrivals | None = None
    patience: Distribution | None = None
    handle_time: Distribution
    service_level: PositiveDuration = 60.0
    routing: Literal["longest_idle", "least_busy"] = "longest_idle"
    wrap_up: Distribution = ZERO
    automated_message: bool = False
    ramp_up: Duration = 0.0


class Shift(Model):
    start: Duration = Field(alias="from")
    end: Duration = Field(alias="to")
    count: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError(f"to: must be after 'from' ({_d(self.start)}), got {_d(self.end)}")
        return self


class AgentGroup(Model):
    """Agents (or supervisors) with the same directories, capacity and staffing."""

    count: Annotated[int, Field(ge=0)] | None = None
    shifts: tuple[Shift, ...] | None = None
    directories: tuple[str, ...] = ()
    max_chats: Annotated[int, Field(ge=1, le=64)] = 4
    slowdown: tuple[Annotated[float, Field(gt=0)], ...] | None = None

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
        """How many agents the group ever has on shift at once."""
        if self.shifts is not None:
            return max((shift.count for shift in self.shifts), default=0)
        return self.count or 0


class Offer(Model):
    """How agents answer offered chats and invitations (R4)."""

    response_time: Distribution = ZERO
    no_answer_timeout: PositiveDuration = 10.0
    no_answer_probability: Probability = 0.0
    not_ready_time: Duration = 30.0


# --------------------------------------------------------------------------- transfers


class ToDirectory(Model):
    directory: str


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

    source: str = Field(alias="from")
    to: ToDirectory | ToGroup
    kind: Literal["transfer", "conference"] = "transfer"
    probability: Probability
    at: Distribution = ZERO
    leave: Leave = "on_connect"
    confirm: Duration = 0.0
    consult: Distribution | None = None
    duration: Distribution | None = None
    on_decline: Literal["keep", "retry"] | DeclineToDirectory = "keep"
    retries: Annotated[int, Field(ge=1)] = 1

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
        return self


# --------------------------------------------------------------------------- scenario


class Scenario(Model):
    """A whole contact-center scenario; constructing one validates it completely."""

    name: str = "scenario"
    description: str = ""
    duration: PositiveDuration
    warmup: Duration = 0.0
    seed: Annotated[int, Field(ge=0)] = 0
    replications: Annotated[int, Field(ge=1)] = 1
    max_transfers: Annotated[int, Field(ge=0)] | None = None
    directories: dict[str, Directory]
    agents: dict[str, AgentGroup]
    offer: Offer = Offer()
    transfers: tuple[Transfer, ...] = ()
    expect: tuple[str, ...] = ()

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

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        errors: list[str] = []
        if not self.directories:
            errors.append("directories: at least one directory is needed")
        if self.warmup >= self.duration:
            errors.append("warmup: must be shorter than duration")
        served: set[str] = set()
        for group_name, group in self.agents.items():
            for i, directory in enumerate(group.directories):
                if directory not in self.directories:
                    errors.append(
                        f"agents.{group_name}.directories.{i}: unknown directory {directory!r}"
                        f"{_suggest(directory, self.directories)}"
                    )
                served.add(directory)
        targets: set[str] = set()
        total_by_source: dict[str, float] = defaultdict(float)
        rules_by_source: dict[str, list[int]] = defaultdict(list)
        for i, transfer in enumerate(self.transfers):
            where = f"transfers.{i}"
            if transfer.source not in self.directories:
                errors.append(
                    f"{where}.from: unknown directory {transfer.source!r}"
                    f"{_suggest(transfer.source, self.directories)}"
                )
            total_by_source[transfer.source] += transfer.probability
            rules_by_source[transfer.source].append(i)
            if isinstance(transfer.to, ToDirectory):
                if transfer.to.directory not in self.directories:
                    errors.append(
                        f"{where}.to.directory: unknown directory {transfer.to.directory!r}"
                        f"{_suggest(transfer.to.directory, self.directories)}"
                    )
                targets.add(transfer.to.directory)
            elif transfer.to.group not in self.agents:
                errors.append(
                    f"{where}.to.group: unknown agent group {transfer.to.group!r}"
                    f"{_suggest(transfer.to.group, self.agents)}"
                )
            if isinstance(transfer.on_decline, DeclineToDirectory):
                target = transfer.on_decline.directory
                if target not in self.directories:
                    errors.append(
                        f"{where}.on_decline.directory: unknown directory {target!r}"
                        f"{_suggest(target, self.directories)}"
                    )
                targets.add(target)
        for source, total in total_by_source.items():
            if total > 1 + 1e-9:
                rules = ", ".join(map(str, rules_by_source[source]))
                errors.append(
                    f"transfers: probabilities from {source!r} (transfers {rules}) "
                    f"sum to {total:g}, more than 1"
                )
        for name, directory in self.directories.items():
            if name not in served and (directory.arrivals is not None or name in targets):
                errors.append(f"directories.{name}: no agent group serves this directory")
        if errors:
            raise ValueError("\n".join(errors))
        return self

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


def _suggest(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
