"""Cross-field checks on the raw mapping, so that one report lists every problem.

Pydantic runs :class:`~ccsim.scenario.schema.Scenario`'s own cross-field validator only
when every field parsed: a file with a typo in one count and a transfer to a missing
directory would be reported in two rounds. When validation fails, the loader therefore
also runs these checks on the mapping as written, on the parts that parse, and adds
what they find. The messages are the validators' own, word for word, so a problem found
both ways is shown once.
"""

from __future__ import annotations

import difflib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from ccsim.scenario import limits
from ccsim.scenario.clock import DAY_S
from ccsim.scenario.units import compact_duration as _d
from ccsim.scenario.units import parse_duration, parse_rate


def _seconds(value: Any) -> float | None:
    """A duration as written, in seconds, or None when it does not parse (reported)."""
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError):
        return None
    return seconds if 0 <= seconds <= limits.MAX_DURATION_S else None


def _per_second(value: Any) -> float | None:
    try:
        rate = parse_rate(value)
    except (ValueError, TypeError):
        return None
    return rate if 0 <= rate <= limits.MAX_RATE_PER_S else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= limits.MAX_AGENTS else None


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def cross_field_problems(data: Mapping[str, Any]) -> list[str]:
    """Problems across fields of a scenario mapping, each line starting with its path."""
    problems: list[str] = []
    directories = data.get("directories")
    agents = data.get("agents")
    directory_names = {k for k in _mapping(directories) if isinstance(k, str)}
    group_names = {k for k in _mapping(agents) if isinstance(k, str)}
    know_directories = isinstance(directories, Mapping)
    know_groups = isinstance(agents, Mapping)

    if know_directories and not directories:
        problems.append("directories: at least one directory is needed")
    duration, warmup = _seconds(data.get("duration")), _seconds(data.get("warmup", 0))
    days = _days(data.get("days"))
    if days is not None and "duration" not in data:
        duration = days * DAY_S  # what the scenario's validator sets
    if not duration:
        duration = None  # 0 is refused as a field; nothing to compare with
    if days is not None:
        problems += _daily_problems(data, days, duration if "duration" in data else None)
    if duration is not None and warmup is not None and warmup >= duration:
        problems.append("warmup: must be shorter than duration")

    served: set[str] = set()
    know_served = know_groups  # unless a group's directories cannot be read
    total_agents = 0
    for group_name, group in _mapping(agents).items():
        group = _mapping(group)
        listed = group.get("directories", [])
        if not isinstance(listed, list | tuple) or not all(isinstance(d, str) for d in listed):
            know_served = False
        for i, directory in enumerate(_items(listed)):
            if not isinstance(directory, str):
                continue
            if know_directories and directory not in directory_names:
                problems.append(
                    f"agents.{group_name}.directories.{i}: unknown directory {directory!r}"
                    f"{_suggest(directory, directory_names)}"
                )
            served.add(directory)
        shifts = _items(group.get("shifts"))
        overlap = _first_overlap(shifts)
        if overlap:
            problems.append(f"agents.{group_name}.shifts: {overlap}")
        sizes = [_count(group.get("count"))] + [_count(_mapping(s).get("count")) for s in shifts]
        total_agents += max((size for size in sizes if size is not None), default=0)
    problem = limits.total_agents_problem(total_agents)
    if problem:
        problems.append(f"agents: {problem}")

    problems += _transfer_problems(data, directory_names, group_names, know_directories)
    targets = _transfer_targets(data)
    expected = 0.0
    for name, directory in _mapping(directories).items():
        directory = _mapping(directory)
        arrivals = directory.get("arrivals")
        if duration is not None:
            problems += _late_instants(name, arrivals, duration)
        if know_served and name not in served and (arrivals is not None or name in targets):
            problems.append(f"directories.{name}: no agent group serves this directory")
        if duration is not None and days is not None:
            expected += days * _expected_arrivals(arrivals, DAY_S)
        elif duration is not None:
            expected += _expected_arrivals(arrivals, duration)
    problem = limits.expected_arrivals_problem(expected)
    if problem:
        problems.append(f"directories: {problem}")
    if know_directories and know_groups:
        problems += _expectation_problems(data, directory_names, group_names)
    if know_groups:
        problems += _overflow_problems(data, group_names)
    return problems


def _overflow_problems(data: Mapping[str, Any], group_names: set[str]) -> list[str]:
    """Overflow groups that do not exist, or that already serve the directory (they
    would see its chats at once, not after the wait)."""
    problems = []
    agents = _mapping(data.get("agents"))
    for name, directory in _mapping(data.get("directories")).items():
        for i, level in enumerate(_items(_mapping(directory).get("overflow"))):
            for j, group in enumerate(_items(_mapping(level).get("groups"))):
                if not isinstance(group, str):
                    continue
                where = f"directories.{name}.overflow.{i}.groups.{j}"
                if group not in group_names:
                    problems.append(
                        f"{where}: unknown agent group {group!r}{_suggest(group, group_names)}"
                    )
                elif name in _items(_mapping(agents[group]).get("directories")):
                    problems.append(
                        f"{where}: {group!r} already serves {name!r} (an overflow group sees "
                        "the chats only after the wait)"
                    )
    return problems


def _days(value: Any) -> int | None:
    """``days`` as written, or None when absent or not a whole number (reported)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value if value * DAY_S <= limits.MAX_DURATION_S else None


def _daily_problems(data: Mapping[str, Any], days: int, duration: float | None) -> list[str]:
    """With ``days``, the duration is ``days`` x 24h, and schedules, instants and shifts
    describe one day (under 24h), which repeats."""
    problems: list[str] = []
    plural = "s" if days != 1 else ""
    if duration is not None and abs(duration - days * DAY_S) > 1e-6:
        problems.append(
            f"duration: days: {days} means a run of {_d(days * DAY_S)} ({days} day{plural} "
            f"of 24h), got {_d(duration)}; leave duration out or make it {_d(days * DAY_S)}"
        )
    pattern = "with days, arrivals and shifts describe one day (0h to 24h), repeated each day"
    for name, directory in _mapping(data.get("directories")).items():
        arrivals = _mapping(_mapping(directory).get("arrivals"))
        pieces = len(_items(arrivals.get("schedule")))
        if pieces * days > limits.MAX_REPEATED_PIECES:
            problems.append(
                f"directories.{name}.arrivals.schedule: {pieces} pieces a day over {days} "
                f"days make {pieces * days:,}, more than the {limits.MAX_REPEATED_PIECES:,} "
                "allowed; use fewer pieces or fewer days"
            )
        for i, piece in enumerate(_items(arrivals.get("schedule"))):
            start = _seconds(_mapping(piece).get("from"))
            if start is not None and start >= DAY_S:
                problems.append(
                    f"directories.{name}.arrivals.schedule.{i}.from: {pattern}; "
                    f"got {_d(start)}, at or after 24h"
                )
        instants = (_seconds(t) for t in _items(arrivals.get("times")))
        late = sorted(t for t in instants if t is not None and t >= DAY_S)
        if late:
            problems.append(
                f"directories.{name}.arrivals.times: {pattern}; {len(late)} instant(s) at "
                f"or after 24h, the first {_d(late[0])}"
            )
    for name, group in _mapping(data.get("agents")).items():
        shifts = _items(_mapping(group).get("shifts"))
        if len(shifts) * days > limits.MAX_REPEATED_SHIFTS:
            problems.append(
                f"agents.{name}.shifts: {len(shifts)} shifts a day over {days} days make "
                f"{len(shifts) * days:,}, more than the {limits.MAX_REPEATED_SHIFTS:,} allowed; "
                "use fewer shifts or fewer days"
            )
        for i, shift in enumerate(shifts):
            end = _seconds(_mapping(shift).get("to"))
            if end is not None and end > DAY_S:
                problems.append(
                    f"agents.{name}.shifts.{i}.to: {pattern}; got {_d(end)}, after 24h "
                    "(split a shift across the day's end in two, e.g. 22h-24h and 0h-6h)"
                )
    return problems


def _first_overlap(shifts: list[Any]) -> str | None:
    """The shift validator's message for the first two shifts that overlap."""
    spans = []
    for i, shift in enumerate(shifts):
        shift = _mapping(shift)
        start, end = _seconds(shift.get("from")), _seconds(shift.get("to"))
        if start is not None and end is not None and end > start:
            spans.append((i, start, end))
    ordered = sorted(spans, key=lambda span: span[1])
    for a, b in pairwise(ordered):
        if b[1] < a[2]:
            (i, a_start, a_end), (j, b_start, b_end) = sorted((a, b))
            return (
                f"shifts {i} ({_d(a_start)}-{_d(a_end)}) and {j} ({_d(b_start)}-{_d(b_end)}) "
                "overlap"
            )
    return None


def _transfer_problems(
    data: Mapping[str, Any],
    directory_names: set[str],
    group_names: set[str],
    know_directories: bool,
) -> list[str]:
    problems: list[str] = []
    know_groups = isinstance(data.get("agents"), Mapping)
    total_by_source: dict[str, float] = defaultdict(float)
    rules_by_source: dict[str, list[int]] = defaultdict(list)
    for i, rule in enumerate(_items(data.get("transfers"))):
        rule = _mapping(rule)
        where = f"transfers.{i}"
        source = rule.get("from")
        label: str | None = None
        if isinstance(source, str):
            label = source
            if know_directories and source not in directory_names:
                problems.append(
                    f"{where}.from: unknown directory {source!r}{_suggest(source, directory_names)}"
                )
        elif isinstance(source, Mapping) and isinstance(source.get("group"), str):
            group = source["group"]
            label = f"group {group}"
            if know_groups and group not in group_names:
                problems.append(
                    f"{where}.from.group: unknown agent group {group!r}"
                    f"{_suggest(group, group_names)}"
                )
        probability = _probability(rule.get("probability"))
        if label is not None and probability is not None:
            total_by_source[label] += probability
            rules_by_source[label].append(i)
        to = _mapping(rule.get("to"))
        target = to.get("directory")
        if isinstance(target, str) and know_directories and target not in directory_names:
            problems.append(
                f"{where}.to.directory: unknown directory {target!r}"
                f"{_suggest(target, directory_names)}"
            )
        invited = to.get("group")
        if isinstance(invited, str) and know_groups and invited not in group_names:
            problems.append(
                f"{where}.to.group: unknown agent group {invited!r}{_suggest(invited, group_names)}"
            )
        fallback = _mapping(rule.get("on_decline")).get("directory")
        if isinstance(fallback, str) and know_directories and fallback not in directory_names:
            problems.append(
                f"{where}.on_decline.directory: unknown directory {fallback!r}"
                f"{_suggest(fallback, directory_names)}"
            )
    for source, total in total_by_source.items():
        if total > 1 + 1e-9:
            rules = ", ".join(map(str, rules_by_source[source]))
            problems.append(
                f"transfers: probabilities from {source!r} (transfers {rules}) "
                f"sum to {total:g}, more than 1"
            )
    return problems


def _transfer_targets(data: Mapping[str, Any]) -> set[str]:
    targets: set[str] = set()
    for rule in _items(data.get("transfers")):
        rule = _mapping(rule)
        for holder in (rule.get("to"), rule.get("on_decline")):
            target = _mapping(holder).get("directory")
            if isinstance(target, str):
                targets.add(target)
    return targets


def _late_instants(name: str, arrivals: Any, duration: float) -> list[str]:
    """Explicit arrival instants (``times``) at or after the end of the run."""
    instants = (_seconds(t) for t in _items(_mapping(arrivals).get("times")))
    late = sorted(t for t in instants if t is not None and t >= duration)
    if not late:
        return []
    return [
        f"directories.{name}.arrivals.times: {len(late)} instant(s) not before "
        f"the end of the run ({_d(duration)}), the first {_d(late[0])}"
    ]


def _expected_arrivals(arrivals: Any, duration: float) -> float:
    """Arrivals expected over the run, from a rate, a schedule or instants as written."""
    if isinstance(arrivals, int | float | str) and not isinstance(arrivals, bool):
        rate = _per_second(arrivals)
        return (rate or 0.0) * duration
    times = _items(_mapping(arrivals).get("times"))
    if times:
        return float(len(times))
    pieces = []
    for piece in _items(_mapping(arrivals).get("schedule")):
        piece = _mapping(piece)
        start, rate = _seconds(piece.get("from")), _per_second(piece.get("rate"))
        if start is None or rate is None:
            return 0.0  # reported as a field error; no estimate
        pieces.append((start, rate))
    pieces.sort()
    ends = [start for start, _ in pieces[1:]] + [math.inf]
    total = 0.0
    for (start, rate), end in zip(pieces, ends, strict=False):
        total += rate * max(0.0, min(end, duration) - min(start, duration))
    return total


def _expectation_problems(
    data: Mapping[str, Any], directory_names: set[str], group_names: set[str]
) -> list[str]:
    """``expect`` items naming unknown directories or groups (the field validator skips
    the names when directories or agents failed)."""
    from ccsim.expect import ExpectationError, parse_expectation

    problems = []
    for i, text in enumerate(_items(data.get("expect"))):
        if not isinstance(text, str):
            continue
        try:
            parse_expectation(text).check_names(directory_names, group_names)
        except ExpectationError as error:
            problems.append(f"expect.{i}: {error}")
    return problems
