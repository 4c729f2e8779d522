"""Exact timelines of routing between directories (issue 14): ``priority`` and
``priority_boost``, ``overflow`` after a wait, and a group's ``preference`` levels.

Arrivals are explicit instants and every time is constant, so each instant is known by
hand: one agent with one slot is kept busy by a first chat, the others queue behind it,
and the order in which they are then taken is the rule under test.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import build, chats, events, run

from ccsim.model import EventKind, run_replication
from ccsim.results import replication_metrics
from ccsim.scenario import ScenarioError, scenario_from_dict


def center(directories: dict[str, Any], agents: dict[str, Any], **extra: Any) -> dict:
    return {"duration": 3000, "directories": directories, "agents": agents, **extra}


def directory(times: list[float], handle: float = 100, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"handle_time": handle, **extra}
    if times:
        spec["arrivals"] = {"times": times}
    return spec


def connects(records: Any) -> dict[float, float]:
    """Arrival instant -> first connect instant, per chat."""
    return {c.arrival: c.connect for c in chats(records)}


def one_agent_two_queues(low: dict[str, Any], high: dict[str, Any]) -> dict:
    """One agent, one slot, serving ``low`` and ``high``. A chat of ``low`` at 0 keeps
    it busy until 100; another ``low`` chat arrives at 10, a ``high`` one at 20."""
    return center(
        {"low": directory([0, 10], **low), "high": directory([20], **high)},
        {"a": {"count": 1, "max_chats": 1, "directories": ["low", "high"]}},
    )


# --------------------------------------------------------------------------- priority


def test_without_priority_the_earliest_chat_across_directories_is_taken() -> None:
    records = run(one_agent_two_queues({}, {}))
    assert connects(records) == {0: 0, 10: 100, 20: 200}


def test_priority_the_higher_priority_queue_is_served_first() -> None:
    records = run(one_agent_two_queues({}, {"priority": 1}))
    assert connects(records) == {0: 0, 20: 100, 10: 200}


def test_priority_negative_priority_waits_behind_default() -> None:
    records = run(one_agent_two_queues({"priority": -1}, {}))
    assert connects(records) == {0: 0, 20: 100, 10: 200}


def test_priority_boost_lifts_a_waiting_chat_to_equal_priority_then_fcfs() -> None:
    # At 100 the low chat has waited 90 s: one full 60 s step, priority 0 + 1 = 1, equal
    # to high's; equal priorities are first come, first served, so low (at 10) goes first.
    low = {"priority_boost": {"after": "60s", "by": 1}}
    records = run(one_agent_two_queues(low, {"priority": 1}))
    assert connects(records) == {0: 0, 10: 100, 20: 200}


def test_priority_boost_not_yet_due_changes_nothing() -> None:
    # 90 s of waiting is less than one 120 s step: high still goes first.
    low = {"priority_boost": {"after": "120s", "by": 1}}
    records = run(one_agent_two_queues(low, {"priority": 1}))
    assert connects(records) == {0: 0, 20: 100, 10: 200}


def test_priority_boost_up_to_caps_the_rise() -> None:
    # Two steps of +1 are due at 100 (after 30 s each: 90 s = 3 steps) but up_to 1 caps
    # low at 1 while high has 2.
    low = {"priority_boost": {"after": "30s", "by": 1, "up_to": 1}}
    records = run(one_agent_two_queues(low, {"priority": 2}))
    assert connects(records) == {0: 0, 20: 100, 10: 200}
    uncapped = {"priority_boost": {"after": "30s", "by": 1}}
    records = run(one_agent_two_queues(uncapped, {"priority": 2}))
    assert connects(records) == {0: 0, 10: 100, 20: 200}


def test_priority_within_one_directory_stays_first_come_first_served() -> None:
    data = center(
        {"low": directory([0, 10, 15]), "high": directory([20, 30], priority=5)},
        {"a": {"count": 1, "max_chats": 1, "directories": ["low", "high"]}},
    )
    assert connects(run(data)) == {0: 0, 20: 100, 30: 200, 10: 300, 15: 400}


# --------------------------------------------------------------------------- overflow


def overflow_center(after: float, backup_times: list[float] | None = None) -> dict:
    """``sales`` (agent 0, busy with the chat at 0 until 200) overflows to ``backup``
    (agent 1, idle unless ``backup_times``) after ``after``; a second sales chat at 10."""
    return center(
        {
            "sales": directory(
                [0, 10], handle=200, overflow=[{"after": after, "groups": ["backup"]}]
            ),
            "support": directory(backup_times or [], handle=100),
        },
        {
            "sales_team": {"count": 1, "max_chats": 1, "directories": ["sales"]},
            "backup": {"count": 1, "max_chats": 1, "directories": ["support"]},
        },
    )


def test_overflow_group_takes_the_chat_exactly_after_the_wait() -> None:
    records = run(overflow_center(45))
    assert connects(records) == {0: 0, 10: 55}
    offer = [e for e in events(records, kind=EventKind.OFFER) if e.chat == 1]
    assert [(e.time, e.agent, e.directory) for e in offer] == [(55, 1, "sales")]
    metrics = replication_metrics(records, {"sales": 60, "support": 60})
    assert metrics.directories["sales"]["served_by_overflow"] == 1
    assert metrics.overall["served_by_overflow"] == 1


def test_overflow_not_before_the_wait_own_agent_frees_first() -> None:
    # After 300 s the own agent is free again at 200 and takes the chat: no overflow.
    records = run(overflow_center(300))
    assert connects(records) == {0: 0, 10: 200}
    metrics = replication_metrics(records, {"sales": 60, "support": 60})
    assert metrics.overall["served_by_overflow"] == 0


def test_overflow_agent_busy_at_the_wait_takes_the_chat_when_free() -> None:
    # backup is busy with a support chat 0-100; the sales chat is visible to it from 55.
    records = run(overflow_center(45, backup_times=[0]))
    assert connects(records)[10] == 100
    assert [e.agent for e in events(records, kind=EventKind.OFFER) if e.chat == 2] == [1]


def test_overflow_zero_wait_sees_the_chat_at_once() -> None:
    records = run(overflow_center(0))
    assert connects(records) == {0: 0, 10: 10}


def test_overflow_own_queue_comes_before_overflow_at_equal_priority() -> None:
    # backup is busy until 100 with support chat 0; a sales chat (waiting since 10,
    # visible from 15) and a support chat (at 50) wait: at 100 backup takes its own.
    data = overflow_center(5, backup_times=[0, 50])
    records = run(data)
    got = connects(records)
    assert got[50] == 100 and got[10] == 200  # sales chat: own agent frees at 200
    data["directories"]["sales"]["priority"] = 1  # now the overflow chat comes first
    got = connects(run(data))
    assert got[10] == 100 and got[50] == 300  # the sales chat's handling takes 200 s


def test_overflow_tally_matches_records() -> None:
    scenario = build(overflow_center(45))
    full = replication_metrics(run_replication(scenario), {"sales": 60, "support": 60})
    tallied = replication_metrics(
        run_replication(scenario, tables=False), {"sales": 60, "support": 60}
    )
    assert tallied.overall["served_by_overflow"] == full.overall["served_by_overflow"] == 1


def test_scenarios_without_the_features_have_no_such_metrics() -> None:
    records = run(one_agent_two_queues({}, {}))
    metrics = replication_metrics(records, {"low": 60, "high": 60})
    for name in ("served_by_overflow", "balked", "retrials", "abandon_rate_first_attempt"):
        assert name not in metrics.overall


# --------------------------------------------------------------------------- preference


def preference_center(preference: Any, routing: str = "longest_idle") -> dict:
    """Two one-slot agents: ``generalists`` (sales and support) and ``specialists``
    (support only). Support chats at 100 and 200; the generalist has been idle longer."""
    groups: dict[str, Any] = {
        "generalists": {"count": 1, "max_chats": 1, "directories": ["sales", "support"]},
        "specialists": {"count": 1, "max_chats": 1, "directories": ["support"]},
    }
    if preference is not None:
        groups["generalists"]["preference"] = preference
    return center(
        {
            "sales": directory([]),
            "support": directory([100, 110], handle=50, routing=routing),
        },
        groups,
    )


def test_preference_none_longest_idle_picks_the_first_listed() -> None:
    records = run(preference_center(None))
    offers = [(e.chat, e.agent) for e in events(records, kind=EventKind.OFFER)]
    assert offers == [(0, 0), (1, 1)]


def test_preference_agents_of_the_first_level_are_offered_first() -> None:
    # Support is the generalists' second choice, the specialists' first: the specialist
    # gets the first support chat although the generalist is listed first.
    records = run(preference_center({"support": 2}))
    offers = [(e.chat, e.agent) for e in events(records, kind=EventKind.OFFER)]
    assert offers == [(0, 1), (1, 0)]
    records = run(preference_center("in_order", routing="least_busy"))
    offers = [(e.chat, e.agent) for e in events(records, kind=EventKind.OFFER)]
    assert offers == [(0, 1), (1, 0)]


def test_preference_freed_agent_takes_its_preferred_queue_first() -> None:
    data = center(
        {"sales": directory([0, 20]), "support": directory([10])},
        {
            "a": {
                "count": 1,
                "max_chats": 1,
                "directories": ["sales", "support"],
                "preference": {"support": 1, "sales": 2},
            }
        },
    )
    assert connects(run(data)) == {0: 0, 10: 100, 20: 200}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"directories.sales.overflow": [{"after": 10, "groups": ["nobody"]}]}, "groups.0"),
        ({"directories.sales.overflow": [{"after": 10, "groups": ["sales_team"]}]}, "groups.0"),
        ({"directories.sales.overflow": [{"after": -1, "groups": ["backup"]}]}, "after"),
        ({"directories.sales.priority": 1.5}, "directories.sales.priority"),
        ({"directories.sales.priority_boost": {"after": 0, "by": 1}}, "priority_boost.after"),
        ({"directories.sales.priority_boost": {"after": 60, "up_to": -1}}, "up_to"),
        ({"agents.backup.preference": {"sales": 1}}, "agents.backup"),
        ({"agents.backup.preference": "by_mood"}, "agents.backup.preference"),
    ],
)
def test_bad_routing_fields_are_refused_with_their_path(change: dict, path: str) -> None:
    data = overflow_center(45)
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        target = data
        for part in parents:
            target = target[part]
        target[last] = value
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert path in str(error.value)


def test_overflow_counts_the_wait_of_a_chat_waiting_at_the_start() -> None:
    # The own agent holds a chat with 200 s of work left at the start; a sales chat that
    # has waited 40 s by then is seen by the backup group 5 s in (45 s of waiting).
    from ccsim.model.start import HeldChat, StartState, WaitingChat

    data = overflow_center(45)
    del data["directories"]["sales"]["arrivals"]
    start = StartState(
        waiting=(WaitingChat("sales", 40.0),), held=(HeldChat("sales_team", 0, "sales", 200.0),)
    )
    records = run_replication(build(data), start=start)
    offers = [(e.time, e.chat, e.agent) for e in events(records, kind=EventKind.OFFER)]
    assert (5, 0, 1) in offers  # chat 0 is the waiting one, agent 1 the backup
    assert (
        replication_metrics(records, {"sales": 60, "support": 60}).overall["served_by_overflow"]
        == 1
    )
