"""Warnings before a run goes wrong: a valid scenario that is probably not what was meant.

A scenario can be valid and still waste a long run: agents who cannot keep up with
their directory's load (the queue grows all day), arrivals while nobody is on shift,
``arrivals: 40`` (40 chats a *second*), a handle time of ``5`` (seconds), a schedule
piece that starts after the run ends, a service-level threshold under a second. These
checks find such things in a loaded scenario (and, for bare numbers, in the mapping as
written); ``ccsim validate`` and ``ccsim run`` print them on stderr, and ``--strict``
makes them errors. :func:`results_warnings` says after a run when the queue grew
without bound.

Usable from Python::

    data = read_scenario_data("s.yaml")
    for warning in scenario_warnings(scenario_from_dict(data), data):
        print(warning)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from ccsim.scenario.schema import AgentGroup, Scenario, ToDirectory
from ccsim.scenario.units import compact_duration

if TYPE_CHECKING:
    from ccsim.api import Results


@dataclass(frozen=True)
class ScenarioWarning:
    """One warning: the field path it is about (``""`` for the whole scenario) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


#: A bare time below this in a field of times of day or of the run (duration, shifts,
#: schedule) was probably meant in hours; below the next one in a handling or waiting
#: time, in minutes.
SMALL_CLOCK_TIME_S = 60.0
SMALL_TASK_TIME_S = 10.0
#: At most this many time ranges are listed per directory; the rest are counted.
MAX_RANGES_SHOWN = 3
#: After a run: share of a directory's offered chats still waiting at the end, and a
#: floor in chats, above which the queue is said to have grown without bound.
GROWTH_SHARE = 0.05
GROWTH_MIN_CHATS = 10.0

_BARE = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\s*", re.IGNORECASE)
# Distribution keys holding times, and the fields whose values are task times.
_TIME_KEYS = ("value", "mean", "low", "high")
_TASK_FIELDS = ("handle_time", "patience")


def scenario_warnings(
    scenario: Scenario, data: Mapping[str, Any] | None = None
) -> list[ScenarioWarning]:
    """Every warning about ``scenario``; ``data`` (the mapping as written, see
    :func:`ccsim.scenario.load.read_scenario_data`) adds the bare-number checks."""
    found: list[ScenarioWarning] = []
    if data is not None:
        found += bare_number_warnings(data)
    found += late_piece_warnings(scenario)
    found += service_level_warnings(scenario)
    found += offer_and_invitation_warnings(scenario)
    # A daily pattern (days: N) is judged over the one day that every day repeats.
    day = scenario.model_copy(update={"duration": 86400.0}) if scenario.days else scenario
    found += capacity_warnings(day)
    found += busyness_warnings(scenario)
    found += customer_warnings(scenario)
    return found


def customer_warnings(scenario: Scenario) -> list[ScenarioWarning]:
    """``retry`` where no customer ever abandons (no patience, no balk): it does
    nothing, which is probably not what was meant."""
    found = []
    for name, directory in scenario.directories.items():
        if directory.retry is not None and directory.patience is None and directory.balk is None:
            found.append(
                ScenarioWarning(
                    f"directories.{name}.retry",
                    "customers here never abandon (no patience, no balk), so nobody retries",
                )
            )
    return found


# --------------------------------------------------------------------------- bare numbers


def _bare(value: Any) -> float | None:
    """The number written without a unit (``40``, ``"40"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _BARE.fullmatch(value):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return None
    return None


def _shown(number: float) -> str:
    return f"{number:g}"


def _rate_warning(path: str, value: Any) -> ScenarioWarning | None:
    number = _bare(value)
    if number is None or number <= 0:
        return None
    return ScenarioWarning(
        path,
        f"{_shown(number)} without a unit is {_shown(number)} chats a second "
        f"({number * 3600:,.0f} an hour); write {_shown(number)}/h or {_shown(number)}/m "
        "if that was meant",
    )


def _clock_warning(path: str, value: Any) -> ScenarioWarning | None:
    number = _bare(value)
    if number is None or not 0 < number < SMALL_CLOCK_TIME_S:
        return None
    return ScenarioWarning(
        path,
        f"{_shown(number)} without a unit is {_shown(number)} seconds; write "
        f"{_shown(number)}h or {_shown(number)}m if that was meant",
    )


def _task_warning(path: str, value: Any) -> ScenarioWarning | None:
    number = _bare(value)
    if number is None or not 0 < number < SMALL_TASK_TIME_S:
        return None
    return ScenarioWarning(
        path,
        f"{_shown(number)} without a unit is {_shown(number)} seconds; write "
        f"{_shown(number)}m if minutes were meant",
    )


def _distribution_warnings(path: str, value: Any) -> list[ScenarioWarning | None]:
    if isinstance(value, Mapping):
        return [_task_warning(f"{path}.{key}", value.get(key)) for key in _TIME_KEYS]
    return [_task_warning(path, value)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def bare_number_warnings(data: Mapping[str, Any]) -> list[ScenarioWarning]:
    """Rates and times written as bare numbers where a unit was probably meant.

    A bare rate is per second (``arrivals: 40`` is 144,000 chats an hour); a bare time
    is seconds, so a small one in the run's clock (duration, warm-up, shifts, schedule)
    or in a handling or waiting time (``handle_time: 5``) was probably hours or minutes.
    """
    found: list[ScenarioWarning | None] = [
        _clock_warning("duration", data.get("duration")),
        _clock_warning("warmup", data.get("warmup")),
    ]
    for name, directory in _mapping(data.get("directories")).items():
        directory = _mapping(directory)
        where = f"directories.{name}"
        arrivals = directory.get("arrivals")
        if isinstance(arrivals, Mapping):
            for i, piece in enumerate(_items(arrivals.get("schedule"))):
                piece = _mapping(piece)
                at = f"{where}.arrivals.schedule.{i}"
                found.append(_rate_warning(f"{at}.rate", piece.get("rate")))
                found.append(_clock_warning(f"{at}.from", piece.get("from")))
        else:
            found.append(_rate_warning(f"{where}.arrivals", arrivals))
        for field in _TASK_FIELDS:
            found += _distribution_warnings(f"{where}.{field}", directory.get(field))
    for name, group in _mapping(data.get("agents")).items():
        for i, shift in enumerate(_items(_mapping(group).get("shifts"))):
            shift = _mapping(shift)
            for key in ("from", "to"):
                found.append(_clock_warning(f"agents.{name}.shifts.{i}.{key}", shift.get(key)))
    for i, rule in enumerate(_items(data.get("transfers"))):
        rule = _mapping(rule)
        if rule.get("kind") == "conference":
            found += _distribution_warnings(f"transfers.{i}.duration", rule.get("duration"))
    return [warning for warning in found if warning is not None]


# --------------------------------------------------------------------------- late pieces


def late_piece_warnings(scenario: Scenario) -> list[ScenarioWarning]:
    """Schedule pieces and shifts that start at or after the end of the run."""
    end = scenario.duration
    found = []
    after = f"at or after the end of the run ({compact_duration(end)}), so it never applies"
    for name, directory in scenario.directories.items():
        arrivals = directory.arrivals
        for i, piece in enumerate(getattr(arrivals, "schedule", ()) or ()):
            if piece.start >= end:
                found.append(
                    ScenarioWarning(
                        f"directories.{name}.arrivals.schedule.{i}.from",
                        f"starts at {compact_duration(piece.start)}, {after}",
                    )
                )
    for name, group in scenario.agents.items():
        for i, shift in enumerate(group.shifts or ()):
            if shift.start >= end:
                found.append(
                    ScenarioWarning(
                        f"agents.{name}.shifts.{i}.from",
                        f"starts at {compact_duration(shift.start)}, {after}",
                    )
                )
    return found


def service_level_warnings(scenario: Scenario) -> list[ScenarioWarning]:
    """Service-level thresholds under one second (hardly any chat is answered so fast)."""
    return [
        ScenarioWarning(
            f"directories.{name}.service_level",
            f"{compact_duration(directory.service_level)} is under one second: the service "
            "level counts chats answered within it; write e.g. 30s or 1m",
        )
        for name, directory in scenario.directories.items()
        if directory.service_level < 1.0
    ]


def offer_and_invitation_warnings(scenario: Scenario) -> list[ScenarioWarning]:
    """Alerts that can never be answered, and invitations of a group nobody staffs: the
    run would blame load for what is a setting."""
    found = []
    if scenario.offer.no_answer_probability >= 1:
        found.append(
            ScenarioWarning(
                "offer.no_answer_probability",
                "1 means every offer and invitation is missed: no chat is ever answered",
            )
        )
    if scenario.offer.response_time.mean > scenario.offer.no_answer_timeout:
        found.append(
            ScenarioWarning(
                "offer.response_time",
                f"its mean ({compact_duration(scenario.offer.response_time.mean)}) exceeds "
                f"no_answer_timeout ({compact_duration(scenario.offer.no_answer_timeout)}): "
                "most alerts will be missed",
            )
        )
    for i, rule in enumerate(scenario.transfers):
        group = getattr(rule.to, "group", None)
        if group is not None and rule.probability > 0 and scenario.agents[group].size == 0:
            fallback = rule.on_decline if isinstance(rule.on_decline, str) else "directory"
            found.append(
                ScenarioWarning(
                    f"transfers.{i}.to.group",
                    f"{group!r} has no agents on shift at any time: every invitation "
                    f"falls back (on_decline: {fallback})",
                )
            )
    return found


# --------------------------------------------------------------------------- load and capacity


def slots_per_agent(group: AgentGroup) -> float:
    """Chats' worth of handling work an agent gets through at once: ``max_chats``, or
    with ``slowdown`` the best of k chats at 1/slowdown[k-1] speed each."""
    if not group.slowdown:
        return float(group.max_chats)
    return max(k / factor for k, factor in enumerate(group.slowdown, start=1))


def agents_on_shift(group: AgentGroup, time: float) -> int:
    """Agents of ``group`` on duty at ``time`` (after shrinkage; breaks not counted)."""
    if group.shifts is None:
        return group.on_shift(group.count or 0)
    return group.on_shift(
        sum(shift.count for shift in group.shifts if shift.start <= time < shift.end)
    )


#: A day's factor averaging outside this range was probably not meant as one.
BUSYNESS_MEAN_RANGE = (1 / 3, 3.0)


def busyness_warnings(scenario: Scenario) -> list[ScenarioWarning]:
    """A ``busyness`` factor that averages far from 1 (a duration written where a factor
    was meant: ``mean: 1h`` is a factor of 3600, taken as 10), or on exact arrivals only."""
    busyness = scenario.busyness
    if busyness is None:
        return []
    found = []
    low, high = BUSYNESS_MEAN_RANGE
    if not low <= busyness.mean <= high:
        found.append(
            ScenarioWarning(
                "busyness",
                f"the day's factor averages {busyness.mean:g}, every rate times that: it is a "
                "factor (write mean: 1 for days around the forecast), not a duration; draws "
                "above 10 count as 10",
            )
        )
    directories = [d for d in scenario.directories.values() if d.arrivals is not None]
    if directories and all(d.arrivals.exact for d in directories):  # type: ignore[union-attr]
        found.append(
            ScenarioWarning(
                "busyness",
                "every directory's arrivals are explicit times, which busyness does not "
                "scale: it changes nothing here",
            )
        )
    return found


def planning_notes(scenario: Scenario) -> list[str]:
    """What planning shortcuts do to this scenario, said once before a run (not
    warnings: ``--strict`` does not refuse them)."""
    notes = []
    for name, group in scenario.agents.items():
        if not group.shrinkage:
            continue
        counts = (
            [group.count or 0]
            if group.shifts is None
            else sorted({shift.count for shift in group.shifts}, reverse=True)
        )
        shown = ", ".join(f"{c} -> {group.on_shift(c)}" for c in counts[:4])
        notes.append(
            f"agents.{name}.shrinkage: {100 * group.shrinkage:g}% of the agents are away: "
            f"each count on shift is multiplied by {1 - group.shrinkage:g} and rounded to the "
            f"nearest agent ({shown}); the members beyond stay off shift"
        )
    return notes


def _breakpoints(scenario: Scenario) -> list[float]:
    """Instants where an arrival rate or a staffing level may change, within the run."""
    points = {0.0, scenario.duration}
    for directory in scenario.directories.values():
        for piece in getattr(directory.arrivals, "schedule", ()) or ():
            points.add(piece.start)
    for group in scenario.agents.values():
        for shift in group.shifts or ():
            points.update((shift.start, shift.end))
    return sorted(p for p in points if 0 <= p <= scenario.duration)


def _transfer_flows(scenario: Scenario) -> list[tuple[str, str, float]]:
    """(source directory, target directory, probability) of directory transfers."""
    flows = []
    for rule in scenario.transfers:
        source = rule.source if isinstance(rule.source, str) else None
        if source is not None and isinstance(rule.to, ToDirectory) and rule.probability > 0:
            flows.append((source, rule.to.directory, rule.probability))
    return flows


def _per_hour(rate: float) -> str:
    hourly = rate * 3600
    return f"{hourly:,.0f}/h" if hourly >= 100 else f"{hourly:.3g}/h"


def _offered_rates(
    scenario: Scenario, start: float, end: float, flows: list[tuple[str, str, float]]
) -> dict[str, float]:
    """Chats per second entering each directory in ``[start, end)``: new arrivals plus
    directory transfers in (the traffic equations, iterated as far as max_transfers)."""
    span = end - start
    new = {
        name: (d.arrivals.expected_count(start, end) / span if d.arrivals is not None else 0.0)
        for name, d in scenario.directories.items()
    }
    rates = dict(new)
    hops = 20 if scenario.max_transfers is None else min(20, scenario.max_transfers)
    for _ in range(hops):
        following = dict(new)
        for source, target, probability in flows:
            if source in rates and target in following:
                following[target] += probability * rates[source]
        rates = following
    return rates


@dataclass(frozen=True)
class _Shortfall:
    kind: str  # "nobody" or "overload"
    start: float
    end: float
    load: float
    capacity: float
    detail: str


def capacity_warnings(scenario: Scenario) -> list[ScenarioWarning]:
    """Directories whose offered load exceeds what the agents serving them can handle.

    Per interval between changes of rate or staffing: load = chats per second x mean
    slot time per chat (handle time + wrap-up), in slots; capacity = agents on shift x
    slots per agent, over every group serving the directory (a shared group counted
    whole, so this warns only when even all of it is too little). Directories linked by
    shared groups are also checked together, which splits shared groups honestly.
    """
    flows = _transfer_flows(scenario)
    points = _breakpoints(scenario)
    serving = {
        name: [g for g, group in scenario.agents.items() if name in group.directories]
        for name in scenario.directories
    }
    work = {name: d.handle_time.mean + d.wrap_up.mean for name, d in scenario.directories.items()}
    by_directory: dict[str, list[_Shortfall]] = {name: [] for name in scenario.directories}
    by_component: dict[tuple[str, ...], list[_Shortfall]] = {}
    components = _components(scenario)
    for start, end in pairwise(points):
        if end <= start:
            continue
        middle = (start + end) / 2
        rates = _offered_rates(scenario, start, end, flows)
        new_rates = _offered_rates(scenario, start, end, [])
        capacity = {
            g: agents_on_shift(group, middle) * slots_per_agent(group)
            for g, group in scenario.agents.items()
        }
        alone: set[str] = set()
        for name, rate in rates.items():
            if rate <= 0:
                continue
            load = rate * work[name]
            have = sum(capacity[g] for g in serving[name])
            if have == 0:
                detail = f"groups serving it: {', '.join(serving[name]) or 'none'}"
                by_directory[name].append(_Shortfall("nobody", start, end, load, 0.0, detail))
                alone.add(name)
            elif load > have:
                parts = ", ".join(
                    f"{g} {agents_on_shift(scenario.agents[g], middle)} x "
                    f"{slots_per_agent(scenario.agents[g]):g}"
                    for g in serving[name]
                )
                inflow = " incl. transfers in" if rate > new_rates[name] + 1e-12 else ""
                detail = (
                    f"{_per_hour(rate)}{inflow} x {compact_duration(work[name])} per chat; "
                    f"agents x slots: {parts}"
                )
                by_directory[name].append(_Shortfall("overload", start, end, load, have, detail))
                alone.add(name)
        for members, groups in components:
            if len(members) < 2 or set(members) <= alone:
                continue
            load = sum(rates[m] * work[m] for m in members)
            have = sum(capacity[g] for g in groups)
            if load > have > 0:
                detail = f"groups {', '.join(groups)}"
                by_component.setdefault(members, []).append(
                    _Shortfall("overload", start, end, load, have, detail)
                )
    found = [
        ScenarioWarning(f"directories.{name}", line)
        for name, shortfalls in by_directory.items()
        for line in _messages(shortfalls, scenario)
    ]
    found += [
        ScenarioWarning("directories", line)
        for members, shortfalls in by_component.items()
        for line in _messages(shortfalls, scenario, f"{', '.join(members)} together: ")
    ]
    return found


def _components(scenario: Scenario) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Directories linked by groups that serve several of them, with those groups."""
    parent = {name: name for name in scenario.directories}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for group in scenario.agents.values():
        served = [d for d in group.directories if d in parent]
        for other in served[1:]:
            parent[root(other)] = root(served[0])
    members: dict[str, list[str]] = {}
    for name in scenario.directories:
        members.setdefault(root(name), []).append(name)
    result = []
    for names in members.values():
        groups = tuple(
            g for g, group in scenario.agents.items() if set(group.directories) & set(names)
        )
        result.append((tuple(names), groups))
    return result


def _merged(shortfalls: list[_Shortfall]) -> tuple[list[list[_Shortfall]], int]:
    """Runs of adjacent intervals with the same kind of shortfall: the first
    ``MAX_RANGES_SHOWN``, and how many more there are."""
    runs: list[list[_Shortfall]] = []
    for item in shortfalls:
        if runs and runs[-1][-1].end == item.start and runs[-1][-1].kind == item.kind:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs[:MAX_RANGES_SHOWN], max(0, len(runs) - MAX_RANGES_SHOWN)


def _messages(shortfalls: list[_Shortfall], scenario: Scenario, prefix: str = "") -> list[str]:
    runs, more = _merged(shortfalls)
    lines = [prefix + _describe(run, scenario) for run in runs]
    if more and lines:
        lines[-1] += f"; and in {more} more time range(s)"
    return lines


def _span(run: Iterable[_Shortfall], duration: float) -> str:
    items = list(run)
    start, end = items[0].start, items[-1].end
    if start == 0 and end >= duration:
        return "for the whole run"
    return f"from {compact_duration(start)} to {compact_duration(end)}"


def _describe(run: list[_Shortfall], scenario: Scenario) -> str:
    span = _span(run, scenario.duration)
    worst = max(run, key=lambda s: s.load / s.capacity if s.capacity else float("inf"))
    if worst.kind == "nobody":
        return f"chats arrive {span} while no agent who serves it is on shift ({worst.detail})"
    return (
        f"offered load {worst.load:,.3g} slots exceeds the {worst.capacity:,.3g} slots of the "
        f"agents who serve it {span} ({worst.detail}): the queue will grow (or chats abandon)"
    )


# --------------------------------------------------------------------------- after a run


def results_warnings(results: Results) -> list[ScenarioWarning]:
    """After a run: directories whose queue grew without bound, judged by the chats
    still waiting unanswered when the run stopped (offered - answered - abandoned, a
    lower bound), averaged over replications."""
    found = []
    for name, metrics in results.summary_table.directories.items():

        def mean(metric: str, metrics: Mapping[str, Any] = metrics) -> float:
            estimate = metrics.get(metric)
            value = getattr(estimate, "mean", float("nan"))
            return value if value == value else 0.0  # NaN: no such chats

        offered, answered, abandoned = mean("offered"), mean("answered"), mean("abandoned")
        if "queued" in metrics:  # every stay in the queue, transfers in included
            offered = max(offered, mean("queued"))
            answered = max(answered, mean("queued_answered"))
            abandoned = max(abandoned, mean("queued_abandoned"))
        waiting = offered - answered - abandoned
        if offered > 0 and waiting >= max(GROWTH_MIN_CHATS, GROWTH_SHARE * offered):
            found.append(
                ScenarioWarning(
                    f"directories.{name}",
                    f"about {waiting:,.0f} of {offered:,.0f} chats ({waiting / offered:.0%}) "
                    "were still waiting for an agent when the run stopped: the queue grew "
                    "without bound, so its waits and service level describe an overloaded "
                    "day (add agents or lower the load)",
                )
            )
    return found


__all__ = [
    "ScenarioWarning",
    "bare_number_warnings",
    "capacity_warnings",
    "late_piece_warnings",
    "results_warnings",
    "scenario_warnings",
    "service_level_warnings",
]
