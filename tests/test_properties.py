"""Invariants that must hold on *any* valid scenario, checked with hypothesis.

Scenarios are drawn at random and kept small (1-2 simulated hours, a few agents):
1-3 directories (constant or scheduled arrivals, or none), 1-3 agent groups (count or
shifts, 1-4 slots, slowdown), every distribution kind, patience, wrap-up, ramp-up,
offers with response times and no-answers, and transfer graphs mixing warm, cold and
delayed directory transfers, agent transfers and conferences (with consultation and
every ``on_decline``), plus ``max_transfers`` and seeds.

The default run is deterministic (``derandomize=True``, no example database) and small;
``-m slow`` explores many more examples at random. Invariants come from the records
(chat rows, legs, agent state intervals) and the event log.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
from ccsim.scenario.schema import DeclineToDirectory, ToDirectory

FAST = settings(
    max_examples=3000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- strategies


@st.composite
def distributions(draw: st.DrawFn, low: int, high: int) -> Any:
    """Any distribution kind with a mean between ``low`` and ``high`` seconds."""
    mean = draw(st.integers(low, high))
    kind = draw(
        st.sampled_from(["constant", "exponential", "lognormal", "gamma", "uniform", "empirical"])
    )
    if kind == "constant" or mean == 0:
        return mean
    if kind == "exponential":
        return {"dist": "exponential", "mean": mean}
    if kind in ("lognormal", "gamma"):
        return {"dist": kind, "mean": mean, "cv": draw(st.sampled_from([0.3, 1.0, 2.0]))}
    if kind == "uniform":
        return {"dist": "uniform", "low": mean // 2, "high": mean + mean // 2}
    values = draw(st.lists(st.integers(0, 2 * mean), min_size=1, max_size=4))
    return {"dist": "empirical", "values": values}


@st.composite
def arrivals(draw: st.DrawFn, duration: int) -> Any:
    if draw(st.booleans()):
        return f"{draw(st.integers(10, 90))}/h"
    starts = sorted(draw(st.sets(st.integers(60, duration - 60), min_size=1, max_size=2)))
    rates = draw(st.lists(st.integers(0, 120), min_size=len(starts) + 1, max_size=len(starts) + 1))
    if not any(rates):
        rates[0] = 60
    return {
        "schedule": [
            {"from": start, "rate": f"{rate}/h"}
            for start, rate in zip([0, *starts], rates, strict=True)
        ]
    }


@st.composite
def agent_groups(draw: st.DrawFn, directories: list[str], duration: int) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    for g in range(draw(st.integers(1, 3))):
        max_chats = draw(st.integers(1, 4))
        group: dict[str, Any] = {
            "directories": draw(st.lists(st.sampled_from(directories), unique=True, max_size=3)),
            "max_chats": max_chats,
        }
        if draw(st.booleans()):
            group["count"] = draw(st.integers(0, 5))
        else:
            # consecutive shifts from 0 to past the end, e.g. a shift change mid-run
            inner = draw(st.sets(st.integers(60, duration - 60), min_size=1, max_size=3))
            points = [0, *sorted(inner), duration + draw(st.integers(0, 600))]
            group["shifts"] = [
                {"from": points[i], "to": points[i + 1], "count": draw(st.integers(0, 4))}
                for i in range(len(points) - 1)
            ]
        if draw(st.booleans()):
            group["slowdown"] = [
                draw(st.sampled_from([1.0, 1.2, 1.5, 2.0])) for _ in range(max_chats)
            ]
        groups[f"g{g}"] = group
    served = {d for group in groups.values() for d in group["directories"]}
    for directory in directories:
        if directory not in served:
            groups["g0"]["directories"].append(directory)
    return groups


LEAVES = st.one_of(
    st.sampled_from(["on_connect", "immediately"]),
    st.builds(lambda after: {"after": after}, st.integers(0, 60)),
)


@st.composite
def transfer_rules(
    draw: st.DrawFn, directories: list[str], groups: list[str]
) -> list[dict[str, Any]]:
    """A transfer graph: directory transfers (warm, cold, delayed), agent transfers and
    conferences with consultation and every fallback; probabilities per source ≤ 1."""
    rules = []
    left = defaultdict(lambda: 20)  # twentieths of probability still free per source
    for _ in range(draw(st.integers(0, 5))):
        source = draw(st.sampled_from(directories))
        share = min(draw(st.integers(1, 12)), left[source])
        left[source] -= share
        rule: dict[str, Any] = {
            "from": source,
            "probability": share / 20,
            "at": draw(distributions(0, 300)),
            "confirm": draw(st.sampled_from([0, 2, 8])),
        }
        if draw(st.booleans()):
            rule["to"] = {"directory": draw(st.sampled_from(directories))}
            rule["leave"] = draw(LEAVES)
        else:
            rule["to"] = {"group": draw(st.sampled_from(groups))}
            if draw(st.booleans()):
                rule["kind"] = "conference"
                rule["duration"] = draw(distributions(5, 120))
            if draw(st.booleans()):
                rule["consult"] = draw(distributions(1, 30))
            decline = draw(st.sampled_from(["keep", "retry", "directory"]))
            if decline == "directory":
                rule["on_decline"] = {
                    "directory": draw(st.sampled_from(directories)),
                    "leave": draw(LEAVES),
                }
            else:
                rule["on_decline"] = decline
            if decline == "retry":
                rule["retries"] = draw(st.integers(1, 3))
        rules.append(rule)
    return rules


@st.composite
def scenario_data(draw: st.DrawFn) -> dict[str, Any]:
    """A small random valid scenario as a plain dict (as read from YAML)."""
    duration = draw(st.integers(3600, 7200))
    names = [f"d{i}" for i in range(draw(st.integers(1, 3)))]
    directories: dict[str, Any] = {}
    for i, name in enumerate(names):
        spec: dict[str, Any] = {
            "handle_time": draw(distributions(20, 300)),
            "service_level": draw(st.integers(10, 120)),
            "routing": draw(st.sampled_from(["longest_idle", "least_busy"])),
            "automated_message": draw(st.booleans()),
        }
        if i == 0 or draw(st.booleans()):
            spec["arrivals"] = draw(arrivals(duration))
        if draw(st.booleans()):
            spec["patience"] = draw(distributions(10, 600))
        if draw(st.booleans()):
            spec["wrap_up"] = draw(distributions(0, 60))
        if draw(st.booleans()):
            spec["ramp_up"] = draw(st.integers(1, 60))
        directories[name] = spec
    agents = draw(agent_groups(names, duration))
    offer: dict[str, Any] = {}
    if draw(st.booleans()):
        offer["response_time"] = draw(distributions(0, 8))
        offer["no_answer_timeout"] = draw(st.integers(5, 20))
    if draw(st.booleans()):
        offer["no_answer_probability"] = draw(st.sampled_from([0.02, 0.1, 0.3]))
        offer["not_ready_time"] = draw(st.integers(0, 60))
    return {
        "duration": duration,
        "warmup": draw(st.sampled_from([0, 300, 900])),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "max_transfers": draw(st.one_of(st.none(), st.integers(0, 3))),
        "directories": directories,
        "agents": agents,
        "offer": offer,
        "transfers": draw(transfer_rules(names, list(agents))),
    }


def build(data: dict[str, Any]) -> Scenario:
    """Every drawn scenario must be valid: a failure here is a bug in the schema or here."""
    return scenario_from_dict(data)


# --------------------------------------------------------------------------- invariants


class Timeline:
    """An agent's state intervals, to ask what state it was in at an instant."""

    def __init__(self, records: Records) -> None:
        self.by_agent: dict[int, list[tuple[float, float, int, int]]] = defaultdict(list)
        for i in range(len(records.interval_agent)):
            self.by_agent[records.interval_agent[i]].append(
                (
                    records.interval_start[i],
                    records.interval_end[i],
                    records.interval_state[i],
                    records.interval_held[i],
                )
            )
        for intervals in self.by_agent.values():
            intervals.sort()

    def ready_at(self, agent: int, time: float) -> bool:
        """READY just after ``time`` or (when other changes happen at the same instant,
        making the READY interval empty) just before it."""
        for start, end, state, _held in self.by_agent[agent]:
            if start <= time <= end and state == AgentState.READY:
                return True
        return False


def check_chats(records: Records) -> None:
    """R13 and R1: one row per chat, exactly one end, consistent outcome and times."""
    ids = list(records.chat_id)
    assert len(ids) == len(set(ids)), "a chat has two rows"
    arrived = [
        records.event_chat[i] for i, k in enumerate(records.event_kind) if k == EventKind.ARRIVE
    ]
    assert sorted(arrived) == sorted(ids), "arrivals and chat rows differ"
    ends: dict[int, list[float]] = defaultdict(list)
    first_connect: dict[int, float] = {}
    abandons = 0
    for i, kind in enumerate(records.event_kind):
        chat = records.event_chat[i]
        if kind == EventKind.END:
            ends[chat].append(records.event_time[i])
        elif kind == EventKind.CONNECT and chat not in first_connect:
            first_connect[chat] = records.event_time[i]
        elif kind == EventKind.ABANDON:
            abandons += 1
    counts = dict.fromkeys(Outcome, 0)
    for i, chat in enumerate(ids):
        outcome = Outcome(records.chat_outcome[i])
        counts[outcome] += 1
        arrival, connect, end = (
            records.chat_arrival[i],
            records.chat_connect[i],
            records.chat_end[i],
        )
        assert 0 <= arrival < records.duration
        if outcome == Outcome.OPEN:
            assert math.isnan(end) and chat not in ends, f"open chat {chat} ended"
        else:
            assert ends.get(chat) == [end], f"chat {chat} ends {ends.get(chat)}, row says {end}"
            assert end >= arrival, f"chat {chat} ends before it arrives"
        answered = not math.isnan(connect)
        assert answered == (chat in first_connect), f"chat {chat}: connect vs CONNECT events"
        if answered:
            assert connect == first_connect[chat] and connect >= arrival
            assert math.isnan(end) or end >= connect
        if outcome == Outcome.ABANDONED:
            assert not answered, f"chat {chat} abandoned in the first queue after an answer"
        if outcome in (Outcome.COMPLETED, Outcome.ABANDONED_IN_TRANSFER):
            assert answered, f"chat {chat} {outcome.name} but never answered"
    assert sum(counts.values()) == len(arrived)  # arrivals = completed + abandoned + ... + open
    assert abandons == counts[Outcome.ABANDONED] + counts[Outcome.ABANDONED_IN_TRANSFER]


def check_agents(records: Records, scenario: Scenario, timeline: Timeline) -> None:
    """R2: held slots within [0, max_chats]; intervals tile [0, duration] for every agent;
    an agent off shift holds nothing."""
    for agent in range(len(records.agent_group)):
        max_chats = records.group_max_chats[records.agent_group[agent]]
        intervals = timeline.by_agent[agent]
        assert intervals, f"agent {agent} has no state intervals"
        assert intervals[0][0] == 0 and intervals[-1][1] == records.duration
        for (start, end, state, held), following in zip(
            intervals, [*intervals[1:], None], strict=True
        ):
            assert end > start, f"agent {agent}: empty or negative interval {start}-{end}"
            assert 0 <= held <= max_chats, f"agent {agent} holds {held} of {max_chats}"
            if state == AgentState.OFFLINE:
                assert held == 0, f"agent {agent} off shift holding {held}"
            if following is not None:
                assert following[0] == end, f"agent {agent}: gap or overlap at {end}"


def check_offers(records: Records, scenario: Scenario, timeline: Timeline) -> None:
    """R2/R6/R9: chats are offered only to Ready agents on shift who serve the chat's
    directory; invitations and consultations only reach Ready agents."""
    groups = list(scenario.agents)
    consulting: set[tuple[int, int]] = set()
    for i, kind in enumerate(records.event_kind):
        if kind not in (EventKind.OFFER, EventKind.CONSULT, EventKind.INVITE):
            continue
        agent, chat, time = records.event_agent[i], records.event_chat[i], records.event_time[i]
        if kind == EventKind.INVITE and (chat, agent) in consulting:
            consulting.discard((chat, agent))  # checked when the consultation started
            continue
        if kind == EventKind.CONSULT:
            consulting.add((chat, agent))
        assert timeline.ready_at(agent, time), f"{kind.name} to agent {agent} not Ready at {time}"
        if kind == EventKind.OFFER:
            directory = records.directories[records.event_directory[i]]
            group = groups[records.agent_group[agent]]
            assert directory in scenario.agents[group].directories, (
                f"chat {chat} of {directory} offered to {group}, which does not serve it"
            )


def immediate_sources(scenario: Scenario) -> set[str]:
    """Directories whose every cold directory transfer (rule or fallback) leaves at once."""
    sources = set()
    for name in scenario.directories:
        leaves = []
        for rule in scenario.transfers_from(name):
            if isinstance(rule.to, ToDirectory):
                leaves.append(rule.leave)
            elif isinstance(rule.on_decline, DeclineToDirectory):
                leaves.append(rule.on_decline.leave)
        if all(leave in ("immediately", "on_connect") for leave in leaves):
            sources.add(name)
    return sources


def check_legs(records: Records, scenario: Scenario) -> None:
    """R6-R8: no negative duration, connected ≥ requested, handoff gap ≤ transfer wait,
    no overlap for a cold transfer that leaves at once, no gap in warm handoffs."""
    arrival = dict(zip(records.chat_id, records.chat_arrival, strict=True))
    immediate = immediate_sources(scenario)
    for i in range(len(records.leg_chat)):
        kind, outcome = LegKind(records.leg_kind[i]), LegOutcome(records.leg_outcome[i])
        requested, connected = records.leg_requested[i], records.leg_connected[i]
        left, closed = records.leg_inviter_left[i], records.leg_closed[i]
        gap, overlap = records.leg_handoff_gap[i], records.leg_overlap[i]
        where = f"leg {i} ({kind.name}, {outcome.name}) of chat {records.leg_chat[i]}"
        assert requested >= arrival[records.leg_chat[i]], where
        assert closed >= requested and gap >= 0 and overlap >= 0, where
        assert math.isnan(left) or left >= requested, where
        if outcome == LegOutcome.CONNECTED:
            assert not math.isnan(connected), where
        if outcome in (LegOutcome.DECLINED, LegOutcome.ABANDONED):
            assert math.isnan(connected), where
        if math.isnan(connected):  # waited until closed; an open leg may be connected
            assert gap <= closed - requested + 1e-9, f"{where}: gap above time waited"
        else:
            assert connected >= requested, f"{where}: connected before requested"
            assert gap <= connected - requested + 1e-9, f"{where}: gap above transfer wait"
        if kind in (LegKind.DIRECTORY_WARM, LegKind.AGENT_TRANSFER, LegKind.CONFERENCE):
            assert gap == 0, f"{where}: the customer was left alone in a warm handoff"
        source = records.directories[records.leg_source[i]]
        if kind == LegKind.DIRECTORY_COLD and source in immediate:
            assert left == requested, f"{where}: inviter did not leave at once"
            assert overlap == 0, f"{where}: overlap in a cold transfer that leaves at once"
            if outcome == LegOutcome.CONNECTED:
                assert gap == connected - requested, f"{where}: gap is not the whole wait"


def check_invariants(scenario: Scenario, records: Records) -> None:
    timeline = Timeline(records)
    check_chats(records)
    check_agents(records, scenario, timeline)
    check_offers(records, scenario, timeline)
    check_legs(records, scenario)


def same_records(a: Records, b: Records) -> bool:
    """Every column identical byte for byte (so nan == nan)."""
    for name, value in vars(a).items():
        other = getattr(b, name)
        if hasattr(value, "tobytes"):
            if value.tobytes() != other.tobytes():
                return False
        elif value != other:
            return False
    return True


def arrivals_of(records: Records) -> list[tuple[int, float]]:
    return sorted(
        zip(records.chat_directory, records.chat_arrival, strict=True), key=lambda x: x[1]
    )


# --------------------------------------------------------------------------- tests


def invariants_hold(data: dict[str, Any]) -> None:
    scenario = build(data)
    check_invariants(scenario, run_replication(scenario, 0))


# Found by this test: a cold fallback transfer into a directory the inviter serves, whose
# freed slot takes the chat straight back, closed the leg twice.
INVITER_TAKES_CHAT_BACK = {
    "duration": 3600,
    "seed": 0,
    "directories": {
        "d0": {"handle_time": 20, "arrivals": "20/h"},
        "d1": {"handle_time": 20},
    },
    "agents": {"g0": {"directories": ["d0", "d1"], "max_chats": 1, "count": 1}},
    "transfers": [
        {
            "from": "d0",
            "probability": 0.05,
            "to": {"group": "g0"},
            "on_decline": {"directory": "d0", "leave": "immediately"},
        }
    ],
}


@FAST
@example(INVITER_TAKES_CHAT_BACK)
@given(scenario_data())
def test_r13_invariants_hold_on_random_scenarios(data: dict[str, Any]) -> None:
    """R13 conservation, R2 capacity, offers only to Ready agents of the directory on
    shift, non-negative durations, gap ≤ transfer wait, no overlap when cold at once."""
    invariants_hold(data)


@pytest.mark.slow
@SLOW
@given(scenario_data())
def test_r13_invariants_hold_on_many_random_scenarios(data: dict[str, Any]) -> None:
    invariants_hold(data)


def seeds_decide_outputs(data: dict[str, Any]) -> None:
    scenario = build(data)
    first = run_replication(scenario, 0)
    assert same_records(first, run_replication(scenario, 0))
    other = run_replication(scenario, 0, seed=scenario.seed + 1)
    if first.chat_count or other.chat_count:
        assert arrivals_of(first) != arrivals_of(other)


@settings(FAST, max_examples=400)
@given(scenario_data())
def test_same_seed_same_outputs_different_seed_different_outputs(data: dict[str, Any]) -> None:
    seeds_decide_outputs(data)


@pytest.mark.slow
@settings(SLOW, max_examples=2000)
@given(scenario_data())
def test_same_seed_same_outputs_many(data: dict[str, Any]) -> None:
    seeds_decide_outputs(data)


@st.composite
def scenario_and_other_transfers(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = draw(scenario_data())
    other = draw(transfer_rules(list(data["directories"]), list(data["agents"])))
    return data, other


def transfers_keep_arrivals(pair: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    data, other_rules = pair
    scenario = build(data)
    changed = build({**data, "transfers": other_rules})
    assert arrivals_of(run_replication(scenario, 0)) == arrivals_of(run_replication(changed, 0))


@settings(FAST, max_examples=400)
@given(scenario_and_other_transfers())
def test_crn_changing_transfer_rules_keeps_arrival_times(
    pair: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """Common random numbers: arrivals come from their own streams, so another transfer
    graph (or none) sees exactly the same customers at the same instants."""
    transfers_keep_arrivals(pair)


@pytest.mark.slow
@settings(SLOW, max_examples=2000)
@given(scenario_and_other_transfers())
def test_crn_changing_transfer_rules_keeps_arrival_times_many(
    pair: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    transfers_keep_arrivals(pair)
