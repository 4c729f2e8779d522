"""Helpers for exact-timeline tests: tiny scenarios, one replication, records as lists.

The model only has Poisson arrivals. To place chats at known instants, a test gives a
directory an arrival schedule that is zero except in short windows (:func:`windows`), and
:func:`run_placed` tries seeds 0, 1, ... until every window holds exactly the number of
arrivals it asks for; tests then read the actual instants back and assert times relative
to them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ccsim.model import (
    AgentState,
    EventKind,
    LegKind,
    LegOutcome,
    Outcome,
    Records,
    run_replication,
)
from ccsim.scenario import Scenario, scenario_from_dict


def build(data: Mapping[str, Any]) -> Scenario:
    """A validated scenario from a plain dict (as read from YAML)."""
    return scenario_from_dict(data)


def run(data: Mapping[str, Any] | Scenario, seed: int | None = None) -> Records:
    """Replication 0 of the scenario (optionally with another seed)."""
    scenario = data if isinstance(data, Scenario) else build(data)
    return run_replication(scenario, replication=0, seed=seed)


def windows(*spans: tuple[float, float] | tuple[float, float, int]) -> dict[str, Any]:
    """An arrival schedule that is zero except in ``[start, end)`` windows, each expecting
    ``n`` arrivals (default 1)."""
    pieces: list[dict[str, float]] = []
    for span in spans:
        start, end = span[0], span[1]
        count = span[2] if len(span) == 3 else 1
        assert end > start and (not pieces or start >= pieces[-1]["from"])
        if pieces and pieces[-1]["from"] == start:
            pieces.pop()
        elif not pieces and start > 0:
            pieces.append({"from": 0.0, "rate": 0.0})
        pieces.append({"from": start, "rate": count / (end - start)})
        pieces.append({"from": end, "rate": 0.0})
    return {"schedule": pieces}


def _window_counts(data: Mapping[str, Any]) -> list[tuple[str, float, float, int]]:
    wanted = []
    for name, spec in data["directories"].items():
        schedule = (
            (spec.get("arrivals") or {}).get("schedule", [])
            if isinstance(spec.get("arrivals"), dict)
            else []
        )
        for i, piece in enumerate(schedule):
            if piece["rate"] > 0:
                end = schedule[i + 1]["from"] if i + 1 < len(schedule) else math.inf
                wanted.append(
                    (name, piece["from"], end, round(piece["rate"] * (end - piece["from"])))
                )
    return wanted


def run_until(
    data: Mapping[str, Any], accept: Callable[[Records], bool], tries: int = 400
) -> Records:
    """The first replication (seed 0, 1, ...) whose records ``accept``."""
    scenario = build(data)
    for seed in range(tries):
        records = run_replication(scenario, replication=0, seed=seed)
        if accept(records):
            return records
    raise AssertionError(f"no seed below {tries} gives the wanted arrivals")


def run_placed(data: Mapping[str, Any], accept: Callable[[Records], bool] | None = None) -> Records:
    """Run with the first seed whose arrivals fill every :func:`windows` window exactly
    (and that ``accept`` also likes, if given)."""
    wanted = _window_counts(data)

    def ok(records: Records) -> bool:
        names = records.directories
        for name, start, end, count in wanted:
            got = sum(
                1
                for d, t in zip(records.chat_directory, records.chat_arrival, strict=True)
                if names[d] == name and start <= t < end
            )
            if got != count:
                return False
        return accept is None or accept(records)

    return run_until(data, ok)


# --------------------------------------------------------------------------- reading records


class Chat(NamedTuple):
    id: int
    directory: str
    arrival: float
    connect: float
    end: float
    outcome: Outcome
    transfers: int
    final_directory: str


class Leg(NamedTuple):
    chat: int
    kind: LegKind
    source: str
    target_directory: str | None
    target_group: str | None
    requested: float
    connected: float
    inviter_left: float
    closed: float
    outcome: LegOutcome
    gap: float
    overlap: float


class Event(NamedTuple):
    time: float
    kind: EventKind
    chat: int
    agent: int
    directory: str | None


class Interval(NamedTuple):
    start: float
    end: float
    state: AgentState
    held: int


def chats(records: Records) -> list[Chat]:
    """One row per chat, by id (arrival order)."""
    r, names = records, records.directories
    rows = [
        Chat(
            r.chat_id[i],
            names[r.chat_directory[i]],
            r.chat_arrival[i],
            r.chat_connect[i],
            r.chat_end[i],
            Outcome(r.chat_outcome[i]),
            r.chat_transfers[i],
            names[r.chat_final_directory[i]],
        )
        for i in range(len(r.chat_id))
    ]
    return sorted(rows, key=lambda c: c.id)


def legs(records: Records, chat: int | None = None) -> list[Leg]:
    """Transfer and conference legs, in the order they were requested."""
    r, names, groups = records, records.directories, records.groups
    rows = [
        Leg(
            r.leg_chat[i],
            LegKind(r.leg_kind[i]),
            names[r.leg_source[i]],
            names[r.leg_target_directory[i]] if r.leg_target_directory[i] >= 0 else None,
            groups[r.leg_target_group[i]] if r.leg_target_group[i] >= 0 else None,
            r.leg_requested[i],
            r.leg_connected[i],
            r.leg_inviter_left[i],
            r.leg_closed[i],
            LegOutcome(r.leg_outcome[i]),
            r.leg_handoff_gap[i],
            r.leg_overlap[i],
        )
        for i in range(len(r.leg_chat))
        if chat is None or r.leg_chat[i] == chat
    ]
    return sorted(rows, key=lambda leg: (leg.requested, leg.chat))


def events(
    records: Records,
    kind: EventKind | None = None,
    chat: int | None = None,
    agent: int | None = None,
) -> list[Event]:
    """The event log in time order (stable), filtered by kind, chat and agent."""
    r, names = records, records.directories
    return [
        Event(
            r.event_time[i],
            EventKind(r.event_kind[i]),
            r.event_chat[i],
            r.event_agent[i],
            names[r.event_directory[i]] if r.event_directory[i] >= 0 else None,
        )
        for i in range(len(r.event_time))
        if (kind is None or r.event_kind[i] == kind)
        and (chat is None or r.event_chat[i] == chat)
        and (agent is None or r.event_agent[i] == agent)
    ]


def times(
    records: Records, kind: EventKind, chat: int | None = None, agent: int | None = None
) -> list[float]:
    """Instants of the matching events."""
    return [e.time for e in events(records, kind, chat, agent)]


def agent(records: Records, group: str, member: int = 0) -> int:
    """The agent index of ``member`` of ``group``."""
    g = records.groups.index(group)
    for i, (ag, m) in enumerate(zip(records.agent_group, records.agent_member, strict=True)):
        if ag == g and m == member:
            return i
    raise KeyError((group, member))


def intervals(records: Records, agent_index: int) -> list[Interval]:
    """The agent's state intervals in time order, adjacent equal ones merged."""
    r = records
    raw = sorted(
        (
            r.interval_start[i],
            r.interval_end[i],
            AgentState(r.interval_state[i]),
            r.interval_held[i],
        )
        for i in range(len(r.interval_agent))
        if r.interval_agent[i] == agent_index
    )
    merged: list[Interval] = []
    for start, end, state, held in raw:
        if merged and merged[-1].state == state and merged[-1].held == held:
            assert merged[-1].end == start
            merged[-1] = merged[-1]._replace(end=end)
        else:
            merged.append(Interval(start, end, state, held))
    return merged


def held_at(records: Records, agent_index: int, time: float) -> int:
    """Slots the agent holds just after ``time``."""
    for interval in intervals(records, agent_index):
        if interval.start <= time < interval.end:
            return interval.held
    raise KeyError(time)


def state_at(records: Records, agent_index: int, time: float) -> AgentState:
    """The agent's state just after ``time``."""
    for interval in intervals(records, agent_index):
        if interval.start <= time < interval.end:
            return interval.state
    raise KeyError(time)
