"""Exact-timeline tests of the transfer rules R1-R13 (TRANSFER_RULES.md).

Every scenario is tiny and every time in it is constant, so the whole timeline is known
by hand. Arrivals are Poisson, so chats are placed in short windows (``windows``) and
every assertion is exact relative to the arrival instants read back from the records.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import pytest
from conftest import (
    agent,
    build,
    chats,
    events,
    held_at,
    intervals,
    legs,
    run,
    run_placed,
    run_until,
    state_at,
    times,
    windows,
)

from ccsim.model import AgentState, EventKind, LegKind, LegOutcome, Outcome
from ccsim.scenario import ScenarioError

A = EventKind


def exact(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def scenario(directories: dict, agents: dict, duration: float = 2000, **extra: Any) -> dict:
    return {"duration": duration, "directories": directories, "agents": agents, **extra}


def timeline(records, chat: int, t0: float) -> list[tuple[float, str, int]]:
    """The chat's events as (time - t0, kind, agent), times rounded to 1e-9."""
    return [(round(e.time - t0, 9), e.kind.name, e.agent) for e in events(records, chat=chat)]


def spans(records, agent_index: int, t0: float) -> list[tuple[float, float, str, int]]:
    """The agent's merged state intervals relative to t0: (start, end, state, held)."""
    return [
        (round(i.start - t0, 9), round(i.end - t0, 9), i.state.name, i.held)
        for i in intervals(records, agent_index)
    ]


def rounded(rows: list[tuple]) -> list[tuple]:
    """Expected rows with their times rounded like :func:`spans` rounds them."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def one_agent(directory: dict | None = None, max_chats: int = 1, **extra: Any) -> dict:
    """One directory ``d`` (one chat in [0, 1), handle 300 s) and one agent serving it."""
    spec = {"arrivals": windows((0, 1)), "handle_time": 300, **(directory or {})}
    return scenario(
        {"d": spec}, {"a": {"count": 1, "directories": ["d"], "max_chats": max_chats}}, **extra
    )


def transfer_scenario(
    rule: dict,
    x: dict | None = None,
    gx: dict | None = None,
    d: dict | None = None,
    groups: dict | None = None,
    **extra: Any,
) -> dict:
    """Directory ``d`` (one chat, handle 300 s, agent ``a``) with one transfer rule; target
    directory ``x`` (handle 200 s) served by group ``gx``."""
    directories = {
        "d": {"arrivals": windows((0, 1)), "handle_time": 300, **(d or {})},
        "x": {"handle_time": 200, **(x or {})},
    }
    agents = {
        "a": {"count": 1, "directories": ["d"], "max_chats": 1},
        "gx": {"count": 1, "directories": ["x"], "max_chats": 1, **(gx or {})},
        **(groups or {}),
    }
    return scenario(
        directories, agents, transfers=[{"from": "d", "probability": 1, **rule}], **extra
    )


# --------------------------------------------------------------------------- R1 arrival


def test_r1_chat_waits_in_its_directory_until_an_agent_connects():
    data = one_agent({"arrivals": windows((0, 1), (10, 11))})
    r = run_placed(data)
    first, second = chats(r)
    a0 = first.arrival
    assert second.outcome is Outcome.COMPLETED
    assert second.connect == exact(a0 + 300)  # the moment the only agent frees its slot
    assert second.end == exact(a0 + 600)
    assert timeline(r, 1, second.arrival)[:2] == [(0.0, "ARRIVE", -1), (0.0, "QUEUE", -1)]
    assert times(r, A.OFFER, chat=1) == [exact(a0 + 300)]
    assert times(r, A.CONNECT, chat=1) == [exact(a0 + 300)]


def test_r1_abandoned_exactly_at_patience_when_no_agent_is_free():
    data = one_agent({"arrivals": windows((0, 1), (10, 11)), "patience": 60})
    r = run_placed(data)
    first, second = chats(r)
    assert first.outcome is Outcome.COMPLETED and first.connect == first.arrival
    assert second.outcome is Outcome.ABANDONED
    assert math.isnan(second.connect)
    assert second.end == exact(second.arrival + 60)
    assert timeline(r, 1, second.arrival) == [
        (0.0, "ARRIVE", -1),
        (0.0, "QUEUE", -1),
        (60.0, "ABANDON", -1),
        (60.0, "END", -1),
    ]


def test_r1_abandoned_at_patience_with_nobody_staffed():
    data = scenario(
        {"d": {"arrivals": windows((0, 1)), "handle_time": 300, "patience": 60}},
        {"a": {"count": 0, "directories": ["d"]}},
    )
    r = run_placed(data)
    (chat,) = chats(r)
    assert chat.outcome is Outcome.ABANDONED
    assert chat.end == exact(chat.arrival + 60)


def test_r1_customer_abandons_while_the_offer_rings():
    data = one_agent({"patience": 10}, offer={"response_time": 20, "no_answer_timeout": 30})
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    assert chat.outcome is Outcome.ABANDONED and math.isnan(chat.connect)
    assert chat.end == exact(a + 10)
    assert timeline(r, 0, a) == [
        (0.0, "ARRIVE", -1),
        (0.0, "QUEUE", -1),
        (0.0, "OFFER", 0),
        (10.0, "ABANDON", -1),
        (10.0, "END", -1),
    ]
    # the ringing offer held the slot and gives it back when the customer leaves
    assert spans(r, 0, a) == rounded(
        [(-a, 0.0, "READY", 0), (0.0, 10.0, "READY", 1), (10.0, 2000 - a, "READY", 0)]
    )


# --------------------------------------------------------------------------- R2 capacity


def test_r2_agent_holds_at_most_max_chats_and_third_chat_waits():
    data = one_agent({"arrivals": windows((0, 1), (10, 11), (20, 21))}, max_chats=2)
    r = run_placed(data)
    c0, c1, c2 = chats(r)
    a0, a1 = c0.arrival, c1.arrival
    assert c0.connect == a0 and c1.connect == a1
    assert c2.connect == exact(a0 + 300)  # waits for the first slot to free
    assert c2.end == exact(a0 + 600)
    assert spans(r, 0, 0) == rounded(
        [
            (0.0, round(a0, 9), "READY", 0),
            (round(a0, 9), round(a1, 9), "READY", 1),
            (round(a1, 9), round(a1 + 300, 9), "READY", 2),  # chat 2 takes chat 0's slot
            (round(a1 + 300, 9), round(a0 + 600, 9), "READY", 1),
            (round(a0 + 600, 9), 2000.0, "READY", 0),
        ]
    )
    assert max(r.interval_held) == 2


def test_r2_default_capacity_is_four_chats():
    data = scenario(
        {"d": {"arrivals": windows((0, 5, 5)), "handle_time": 300}},
        {"a": {"count": 1, "directories": ["d"]}},
    )
    r = run_placed(data)
    rows = chats(r)
    assert [c.connect for c in rows[:4]] == [c.arrival for c in rows[:4]]
    assert rows[4].connect == exact(rows[0].arrival + 300)
    assert max(r.interval_held) == 4


def test_r2_agents_only_get_chats_of_their_directories():
    data = scenario(
        {
            "x": {"arrivals": windows((0, 1), (10, 11)), "handle_time": 300},
            "y": {"arrivals": windows((20, 21)), "handle_time": 100},
        },
        {
            "gx": {"count": 1, "directories": ["x"], "max_chats": 1},
            "gy": {"count": 1, "directories": ["y"], "max_chats": 1},
        },
    )
    r = run_placed(data)
    x0, x1, y0 = chats(r)
    gx, gy = agent(r, "gx"), agent(r, "gy")
    # x1 waits for the x agent although the y agent is idle
    assert x1.connect == exact(x0.arrival + 300)
    assert y0.connect == y0.arrival
    serves = {gx: {"x"}, gy: {"y"}}
    offers = events(r, A.OFFER)
    assert len(offers) == 3
    for event in offers:
        assert event.directory in serves[event.agent]
    assert [e.agent for e in events(r, A.CONNECT)] == [gx, gy, gx]


def test_r2_group_without_directories_never_gets_queued_chats():
    data = scenario(
        {"d": {"arrivals": windows((0, 1)), "handle_time": 300, "patience": 60}},
        {
            "a": {"count": 0, "directories": ["d"]},
            "supervisors": {"count": 1, "directories": [], "max_chats": 4},
        },
    )
    r = run_placed(data)
    (chat,) = chats(r)
    assert chat.outcome is Outcome.ABANDONED
    assert chat.end == exact(chat.arrival + 60)
    sup = agent(r, "supervisors")
    assert events(r, agent=sup) == []
    assert spans(r, sup, 0) == rounded([(0.0, 2000.0, "READY", 0)])


# --------------------------------------------------------------------------- R3 routing


def _routing_run(routing: str):
    data = scenario(
        {
            "d": {
                "arrivals": windows((0, 1), (10, 11), (200, 201), (250, 251)),
                "handle_time": 100,
                "routing": routing,
            }
        },
        {"a": {"count": 2, "directories": ["d"], "max_chats": 2}},
    )
    r = run_placed(data)
    connected_to = {e.chat: e.agent for e in events(r, A.CONNECT)}
    p = connected_to[0]  # its last chat ends first (about 100 s), 10 s before q's
    q = connected_to[1]
    assert p != q  # chat 1: both never idle, q has fewer chats (either policy)
    assert connected_to[2] == p  # both free: p has been idle longer (and ties on chats)
    # chat 3: p is busy with chat 2 but has been idle since longer than q
    assert held_at(r, p, chats(r)[3].arrival - 1e-6) == 1
    assert held_at(r, q, chats(r)[3].arrival - 1e-6) == 0
    return r, connected_to, p, q


def test_r3_longest_idle_picks_agent_whose_last_chat_ended_longest_ago():
    r, connected_to, p, _ = _routing_run("longest_idle")
    assert connected_to[3] == p
    c = chats(r)
    assert spans(r, p, 0)[3:] == [
        (round(c[2].arrival, 9), round(c[3].arrival, 9), "READY", 1),
        (round(c[3].arrival, 9), round(c[2].arrival + 100, 9), "READY", 2),
        (round(c[2].arrival + 100, 9), round(c[3].arrival + 100, 9), "READY", 1),
        (round(c[3].arrival + 100, 9), 2000.0, "READY", 0),
    ]


def test_r3_least_busy_picks_agent_with_fewest_chats():
    _, connected_to, _, q = _routing_run("least_busy")
    assert connected_to[3] == q


def test_r3_queued_chats_are_served_first_come_first_served():
    data = one_agent(
        {"arrivals": windows((0, 1), (10, 11), (20, 21), (30, 31)), "handle_time": 100}
    )
    r = run_placed(data)
    rows = chats(r)
    a0 = rows[0].arrival
    assert [c.connect for c in rows] == [exact(a0 + 100 * i) for i in range(4)]
    assert [e.chat for e in events(r, A.CONNECT)] == [0, 1, 2, 3]


def test_r3_first_come_first_served_across_an_agents_directories():
    data = scenario(
        {
            "x": {"arrivals": windows((0, 1), (20, 21)), "handle_time": 100},
            "y": {"arrivals": windows((10, 11)), "handle_time": 100},
        },
        {"a": {"count": 1, "directories": ["x", "y"], "max_chats": 1}},
    )
    r = run_placed(data)
    x0, y0, x1 = chats(r)
    assert (x0.directory, y0.directory, x1.directory) == ("x", "y", "x")
    assert y0.connect == exact(x0.arrival + 100)  # y0 queued before x1
    assert x1.connect == exact(x0.arrival + 200)


def test_r3_chat_returned_by_a_missed_offer_keeps_its_place_at_the_head():
    data = one_agent(
        {"arrivals": windows((0, 1), (5, 6)), "patience": 100},
        offer={"no_answer_probability": 1, "no_answer_timeout": 10, "not_ready_time": 30},
    )
    r = run_placed(data)
    first, second = chats(r)
    a = first.arrival
    # the returned chat is offered again each time the agent is Ready, never the later one
    assert [(round(e.time - a, 9), e.chat) for e in events(r, A.OFFER)] == [
        (0.0, 0),
        (40.0, 0),
        (80.0, 0),
    ]
    assert times(r, A.NO_ANSWER) == [exact(a + 10), exact(a + 50), exact(a + 90)]
    assert first.outcome is Outcome.ABANDONED and first.end == exact(a + 100)
    assert second.outcome is Outcome.ABANDONED and second.end == exact(second.arrival + 100)


# --------------------------------------------------------------------------- R4 offer


def test_r4_response_time_adds_exactly_to_the_wait():
    data = one_agent(offer={"response_time": 5})
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    assert chat.connect == exact(a + 5)
    assert chat.end == exact(a + 305)
    assert timeline(r, 0, a) == [
        (0.0, "ARRIVE", -1),
        (0.0, "QUEUE", -1),
        (0.0, "OFFER", 0),
        (5.0, "CONNECT", 0),
        (305.0, "LEAVE", 0),
        (305.0, "END", -1),
    ]
    # the slot is held from the offer on (R2: the alert takes a slot)
    assert spans(r, 0, a)[1] == (0.0, 305.0, "READY", 1)


@pytest.mark.parametrize(
    "offer",
    [
        {"no_answer_probability": 1},
        {"response_time": 15},  # slower than the 10 s no-answer timeout
    ],
    ids=["no_answer", "response_after_timeout"],
)
def test_r4_unanswered_offer_returns_after_timeout_and_agent_is_not_ready(offer):
    data = one_agent(
        {"patience": 45}, offer={"no_answer_timeout": 10, "not_ready_time": 30, **offer}
    )
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    assert timeline(r, 0, a) == [
        (0.0, "ARRIVE", -1),
        (0.0, "QUEUE", -1),
        (0.0, "OFFER", 0),
        (10.0, "NO_ANSWER", 0),  # back to the directory after the timeout
        (40.0, "OFFER", 0),  # Not Ready for 30 s, then Ready and offered again
        (45.0, "ABANDON", -1),
        (45.0, "END", -1),
    ]
    assert chat.outcome is Outcome.ABANDONED
    assert spans(r, 0, a) == rounded(
        [
            (-a, 0.0, "READY", 0),
            (0.0, 10.0, "READY", 1),
            (10.0, 40.0, "NOT_READY", 0),
            (40.0, 45.0, "READY", 1),
            (45.0, 2000 - a, "READY", 0),
        ]
    )


def test_r4_missed_offer_goes_to_another_ready_agent():
    data = scenario(
        {"d": {"arrivals": windows((0, 1)), "handle_time": 300, "patience": 25}},
        {"a": {"count": 2, "directories": ["d"], "max_chats": 1}},
        offer={"no_answer_probability": 1, "no_answer_timeout": 10, "not_ready_time": 30},
    )
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    offers = events(r, A.OFFER)
    assert [round(e.time - a, 9) for e in offers] == [0.0, 10.0]
    assert offers[0].agent != offers[1].agent
    assert chat.end == exact(a + 25)
    for e in offers:
        assert spans(r, e.agent, e.time)[2] == (10.0, 40.0, "NOT_READY", 0)


# --------------------------------------------------------------------------- R5 ramp-up


@pytest.mark.parametrize("ramp_up", [30, 0])
def test_r5_ramp_up_spaces_queued_chats_for_a_newly_ready_agent(ramp_up):
    data = scenario(
        {"d": {"arrivals": windows((0, 50, 3)), "handle_time": 300, "ramp_up": ramp_up}},
        {"a": {"shifts": [{"from": 100, "to": 2000, "count": 1}], "directories": ["d"]}},
    )
    r = run_placed(data)
    assert [c.connect for c in chats(r)] == [exact(100 + ramp_up * i) for i in range(3)]
    expected = [(0.0, 100.0, "OFFLINE", 0)]
    if ramp_up:
        expected += [
            (100.0, 130.0, "READY", 1),
            (130.0, 160.0, "READY", 2),
            (160.0, 400.0, "READY", 3),
            (400.0, 430.0, "READY", 2),
            (430.0, 460.0, "READY", 1),
        ]
    else:
        expected += [(100.0, 400.0, "READY", 3)]
    expected += [(460.0 if ramp_up else 400.0, 2000.0, "READY", 0)]
    assert spans(r, 0, 0) == expected


# --------------------------------------------------------------------------- R6 conference


def conference(**rule: Any) -> dict:
    return {"to": {"group": "sup"}, "kind": "conference", "at": 120, "duration": 60, **rule}


SUP = {"sup": {"count": 1, "directories": [], "max_chats": 1}}


def test_r6_conference_both_connected_then_inviter_carries_on():
    r = run_placed(transfer_scenario(conference(), groups=SUP))
    (chat,) = chats(r)
    a, sup = chat.arrival, agent(r, "sup")
    assert timeline(r, 0, a) == [
        (0.0, "ARRIVE", -1),
        (0.0, "QUEUE", -1),
        (0.0, "OFFER", 0),
        (0.0, "CONNECT", 0),
        (120.0, "TRANSFER", 0),
        (120.0, "INVITE", sup),
        (120.0, "CONNECT", sup),  # both connected from here
        (180.0, "LEAVE", sup),  # the supervisor leaves after the conference duration
        (360.0, "LEAVE", 0),  # the inviter carries on for 300 - 120 s
        (360.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.kind is LegKind.CONFERENCE and leg.target_group == "sup"
    assert leg.outcome is LegOutcome.CONNECTED
    assert (leg.requested, leg.connected, leg.closed) == (
        exact(a + 120),
        exact(a + 120),
        exact(a + 180),
    )
    assert leg.overlap == exact(60) and leg.gap == 0
    assert math.isnan(leg.inviter_left)
    assert spans(r, sup, a) == rounded(
        [(-a, 120.0, "READY", 0), (120.0, 180.0, "READY", 1), (180.0, 2000 - a, "READY", 0)]
    )
    assert spans(r, 0, a)[1] == (0.0, 360.0, "READY", 1)
    assert chat.outcome is Outcome.COMPLETED and chat.transfers == 1


def test_r6_conference_past_the_handling_time_ends_the_chat_with_it():
    r = run_placed(transfer_scenario(conference(at=400), groups=SUP))
    (chat,) = chats(r)
    # max(300 - 400, 0) = 0 s left for the inviter after the conference
    assert times(r, A.LEAVE) == [exact(chat.arrival + 460)] * 2
    assert chat.end == exact(chat.arrival + 460)


def test_r6_declined_when_nobody_available_inviter_keeps_the_chat():
    """Nobody to invite is logged as a DECLINE with no agent (-1)."""
    groups = {"sup": {"count": 0, "directories": [], "max_chats": 1}}
    r = run_placed(transfer_scenario(conference(on_decline="keep"), groups=groups))
    (chat,) = chats(r)
    a = chat.arrival
    assert [(round(e.time - a, 9), e.kind.name) for e in events(r, chat=0)][4:] == [
        (120.0, "TRANSFER"),
        (120.0, "DECLINE"),
        (300.0, "LEAVE"),
        (300.0, "END"),
    ]
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.DECLINED
    assert leg.requested == exact(a + 120) and leg.closed == exact(a + 120)
    assert math.isnan(leg.connected)
    assert leg.gap == 0 and leg.overlap == 0


def _supervisors_miss(count: int):
    """Accept seeds where the chat's first offer is answered and exactly ``count``
    invitations, all to supervisors, go unanswered (no_answer_probability is random)."""

    def accept(r) -> bool:
        group = r.groups.index("sup")
        sups = {i for i, g in enumerate(r.agent_group) if g == group}
        misses = [e.agent for e in events(r, A.NO_ANSWER)]
        return len(events(r, A.OFFER)) == 1 and len(misses) == count and set(misses) <= sups

    return accept


def test_r6_unanswered_invitation_inviter_keeps_the_chat():
    data = transfer_scenario(
        conference(on_decline="keep"),
        groups=SUP,
        offer={"no_answer_probability": 0.5, "not_ready_time": 30},
    )
    r = run_placed(data, _supervisors_miss(1))
    (chat,) = chats(r)
    a, sup = chat.arrival, agent(r, "sup")
    assert timeline(r, 0, a)[4:] == [
        (120.0, "TRANSFER", 0),
        (120.0, "INVITE", sup),
        (130.0, "NO_ANSWER", sup),  # the 10 s no-answer timeout
        (130.0, "DECLINE", sup),
        (310.0, "LEAVE", 0),  # the inviter resumes its 180 s left
        (310.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.DECLINED and leg.closed == exact(a + 130)
    assert spans(r, sup, a) == rounded(
        [
            (-a, 120.0, "READY", 0),
            (120.0, 130.0, "READY", 1),
            (130.0, 160.0, "NOT_READY", 0),
            (160.0, 2000 - a, "READY", 0),
        ]
    )


def test_r6_unanswered_invitation_retry_invites_another_member():
    groups = {"sup": {"count": 2, "directories": [], "max_chats": 1}}
    data = transfer_scenario(
        conference(on_decline="retry", retries=1),
        groups=groups,
        offer={"no_answer_probability": 0.5},
    )
    r = run_placed(data, _supervisors_miss(1))
    (chat,) = chats(r)
    a = chat.arrival
    invites = events(r, A.INVITE)
    assert [round(e.time - a, 9) for e in invites] == [120.0, 130.0]
    first, second = invites[0].agent, invites[1].agent
    assert first != second
    assert timeline(r, 0, a)[6:] == [
        (130.0, "NO_ANSWER", first),
        (130.0, "DECLINE", first),
        (130.0, "INVITE", second),
        (130.0, "CONNECT", second),
        (190.0, "LEAVE", second),
        (370.0, "LEAVE", 0),
        (370.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.CONNECTED
    assert (leg.requested, leg.connected, leg.closed) == (
        exact(a + 120),
        exact(a + 130),
        exact(a + 190),
    )
    assert leg.overlap == exact(60)


def test_r6_unanswered_invitation_retries_exhausted_inviter_keeps_the_chat():
    groups = {"sup": {"count": 2, "directories": [], "max_chats": 1}}
    data = transfer_scenario(
        conference(on_decline="retry", retries=1),
        groups=groups,
        offer={"no_answer_probability": 0.5},
    )
    r = run_placed(data, _supervisors_miss(2))
    (chat,) = chats(r)
    a = chat.arrival
    assert [round(t - a, 9) for t in times(r, A.INVITE)] == [120.0, 130.0]
    assert [round(t - a, 9) for t in times(r, A.DECLINE)] == [130.0, 140.0]
    assert chat.end == exact(a + 140 + 180)
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.DECLINED and leg.closed == exact(a + 140)


def test_r6_declined_invitation_falls_back_to_a_directory_transfer():
    groups = {"sup": {"count": 0, "directories": [], "max_chats": 1}}
    rule = {"to": {"group": "sup"}, "at": 120, "on_decline": {"directory": "x"}}
    r = run_placed(transfer_scenario(rule, groups=groups))
    (chat,) = chats(r)
    a, gx = chat.arrival, agent(r, "gx")
    assert timeline(r, 0, a)[4:] == [
        (120.0, "TRANSFER", 0),
        (120.0, "DECLINE", -1),  # nobody in sup to invite
        (120.0, "TRANSFER", 0),  # the fallback is a transfer of its own, logged as one
        (120.0, "QUEUE", -1),
        (120.0, "OFFER", gx),
        (120.0, "CONNECT", gx),
        (120.0, "LEAVE", 0),  # warm by default: the inviter leaves once gx is connected
        (320.0, "LEAVE", gx),  # x's handling time, 200 s
        (320.0, "END", -1),
    ]
    declined, directory = legs(r)
    assert declined.kind is LegKind.AGENT_TRANSFER and declined.outcome is LegOutcome.DECLINED
    assert directory.kind is LegKind.DIRECTORY_WARM
    assert directory.target_directory == "x" and directory.outcome is LegOutcome.CONNECTED
    assert directory.gap == 0 and directory.overlap == 0
    assert chat.final_directory == "x"


def test_r6_directory_fallback_is_a_transfer_that_max_transfers_caps():
    """With ``max_transfers: 1`` the declined invitation used the chat's one transfer, so
    its directory fallback is not made: the inviter keeps the chat (R6, R13)."""
    groups = {"sup": {"count": 0, "directories": [], "max_chats": 1}}
    rule = {"to": {"group": "sup"}, "at": 120, "on_decline": {"directory": "x"}}
    r = run_placed(transfer_scenario(rule, groups=groups, max_transfers=1))
    (chat,) = chats(r)
    a = chat.arrival
    assert timeline(r, 0, a)[4:] == [
        (120.0, "TRANSFER", 0),
        (120.0, "DECLINE", -1),
        (300.0, "LEAVE", 0),  # the inviter carries on for the remaining 300 - 120 s
        (300.0, "END", -1),
    ]
    (declined,) = legs(r)
    assert declined.outcome is LegOutcome.DECLINED
    assert chat.transfers == 1 and chat.final_directory == "d"


# --------------------------------------------------------------------------- R7 agent transfer


def test_r7_agent_transfer_inviter_leaves_confirm_after_the_new_agent_connects():
    groups = {"g": {"count": 1, "directories": [], "max_chats": 1}}
    rule = {"to": {"group": "g"}, "at": 120, "confirm": 10}
    data = transfer_scenario(rule, groups=groups, offer={"response_time": 5}, max_transfers=1)
    r = run_placed(data)
    (chat,) = chats(r)
    a, g = chat.arrival, agent(r, "g")
    assert timeline(r, 0, a) == [
        (0.0, "ARRIVE", -1),
        (0.0, "QUEUE", -1),
        (0.0, "OFFER", 0),
        (5.0, "CONNECT", 0),
        (125.0, "TRANSFER", 0),
        (125.0, "INVITE", g),
        (130.0, "CONNECT", g),  # the invitee answers after the 5 s response time
        (140.0, "LEAVE", 0),  # the inviter confirms for 10 s, then leaves
        (430.0, "LEAVE", g),  # the new agent handles d's 300 s
        (430.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.kind is LegKind.AGENT_TRANSFER and leg.outcome is LegOutcome.CONNECTED
    assert leg.requested == exact(a + 125)
    assert leg.connected == exact(a + 130)
    assert leg.inviter_left == exact(a + 140)
    assert leg.closed == exact(a + 140)
    assert leg.gap == 0  # never without an agent
    assert leg.overlap == exact(10)  # = confirm
    assert spans(r, 0, a)[1:] == rounded([(0.0, 140.0, "READY", 1), (140.0, 2000 - a, "READY", 0)])
    assert spans(r, g, a)[1] == (125.0, 430.0, "READY", 1)


# --------------------------------------------------------------------------- R8 directory transfer


def directory_rule(leave: Any = "on_connect", **rule: Any) -> dict:
    return {"to": {"directory": "x"}, "at": 120, "leave": leave, **rule}


def test_r8_cold_immediate_transfer_gap_equals_response_time():
    r = run_placed(transfer_scenario(directory_rule("immediately"), offer={"response_time": 5}))
    (chat,) = chats(r)
    a, gx = chat.arrival, agent(r, "gx")
    assert timeline(r, 0, a)[3:] == [
        (5.0, "CONNECT", 0),
        (125.0, "TRANSFER", 0),
        (125.0, "QUEUE", -1),
        (125.0, "LEAVE", 0),  # cold: the inviter leaves at once
        (125.0, "OFFER", gx),
        (130.0, "CONNECT", gx),
        (330.0, "LEAVE", gx),
        (330.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.kind is LegKind.DIRECTORY_COLD and leg.outcome is LegOutcome.CONNECTED
    assert leg.requested == exact(a + 125) and leg.inviter_left == exact(a + 125)
    assert leg.connected == exact(a + 130) and leg.closed == exact(a + 130)
    assert leg.gap == exact(5)
    assert leg.overlap == 0
    assert chat.end == exact(a + 330) and chat.final_directory == "x"


def test_r8_warm_transfer_inviter_leaves_when_the_new_agent_connects():
    r = run_placed(transfer_scenario(directory_rule("on_connect"), offer={"response_time": 5}))
    (chat,) = chats(r)
    a, gx = chat.arrival, agent(r, "gx")
    assert timeline(r, 0, a)[4:] == [
        (125.0, "TRANSFER", 0),
        (125.0, "QUEUE", -1),
        (125.0, "OFFER", gx),
        (130.0, "CONNECT", gx),
        (130.0, "LEAVE", 0),
        (330.0, "LEAVE", gx),
        (330.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.kind is LegKind.DIRECTORY_WARM
    assert leg.connected == exact(a + 130) and leg.inviter_left == exact(a + 130)
    assert leg.gap == 0 and leg.overlap == 0
    # the inviter stayed connected (slot held) while the chat waited in x
    assert spans(r, 0, a)[1] == (0.0, 130.0, "READY", 1)


def test_r8_warm_transfer_with_confirmation_overlaps_for_confirm():
    rule = directory_rule("on_connect", confirm=10)
    r = run_placed(transfer_scenario(rule, offer={"response_time": 5}))
    (chat,) = chats(r)
    a = chat.arrival
    (leg,) = legs(r)
    assert leg.connected == exact(a + 130)
    assert leg.inviter_left == exact(a + 140)
    assert leg.gap == 0 and leg.overlap == exact(10)


def test_r8_cold_after_delay_gap_is_the_time_from_leaving_to_connect():
    # the new agent connects 50 s after the request; the inviter leaves after 30 s
    offer = {"response_time": 50, "no_answer_timeout": 60}
    r = run_placed(transfer_scenario(directory_rule({"after": 30}), offer=offer))
    (chat,) = chats(r)
    a, gx = chat.arrival, agent(r, "gx")
    assert timeline(r, 0, a)[4:] == [
        (170.0, "TRANSFER", 0),
        (170.0, "QUEUE", -1),
        (170.0, "OFFER", gx),
        (200.0, "LEAVE", 0),
        (220.0, "CONNECT", gx),
        (420.0, "LEAVE", gx),
        (420.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.kind is LegKind.DIRECTORY_COLD
    assert leg.inviter_left == exact(a + 200) and leg.connected == exact(a + 220)
    assert leg.gap == exact(20) and leg.overlap == 0
    assert leg.closed == exact(a + 220)


def test_r8_cold_after_delay_new_agent_connecting_first_overlaps():
    r = run_placed(transfer_scenario(directory_rule({"after": 30}), offer={"response_time": 5}))
    (chat,) = chats(r)
    a = chat.arrival
    (leg,) = legs(r)
    assert leg.connected == exact(a + 130) and leg.inviter_left == exact(a + 155)
    assert leg.gap == 0 and leg.overlap == exact(25)
    assert leg.closed == exact(a + 155)
    assert chat.end == exact(a + 330)


def test_r8_automated_message_when_the_chat_enters_the_directory():
    r = run_placed(transfer_scenario(directory_rule("immediately"), x={"automated_message": True}))
    (chat,) = chats(r)
    (message,) = events(r, A.AUTOMATED_MESSAGE)
    assert message.time == exact(chat.arrival + 120)
    assert message.chat == 0 and message.directory == "x"
    # no message from d, which does not use one
    r = run_placed(transfer_scenario(directory_rule("immediately")))
    assert events(r, A.AUTOMATED_MESSAGE) == []


def test_r8_customer_abandoning_in_the_target_queue_is_abandoned_in_transfer():
    data = transfer_scenario(directory_rule("immediately"), x={"patience": 60}, gx={"count": 0})
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    assert chat.outcome is Outcome.ABANDONED_IN_TRANSFER
    assert chat.end == exact(a + 180)
    assert timeline(r, 0, a)[4:] == [
        (120.0, "TRANSFER", 0),
        (120.0, "QUEUE", -1),
        (120.0, "LEAVE", 0),
        (180.0, "ABANDON", -1),
        (180.0, "END", -1),
    ]
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.ABANDONED and leg.closed == exact(a + 180)
    assert leg.gap == exact(60)  # nobody connected from the inviter leaving to the end
    assert math.isnan(leg.connected)


def test_r8_transferred_chat_is_not_offered_to_its_own_inviter():
    """The warm inviter also serves x and has a free slot: the chat waits for another
    x agent (b, busy until its chat ends), while the inviter takes later x chats."""
    data = scenario(
        {
            "d": {"arrivals": windows((0, 1)), "handle_time": 300},
            "x": {"arrivals": windows((50, 51), (150, 151)), "handle_time": 200},
        },
        {
            "a": {"count": 1, "directories": ["d", "x"], "max_chats": 2},
            "b": {"count": 1, "directories": ["x"], "max_chats": 1},
        },
        transfers=[{"from": "d", "to": {"directory": "x"}, "probability": 1, "at": 120}],
    )
    r = run_placed(data)
    c0, x0, x1 = chats(r)
    a, b = agent(r, "a"), agent(r, "b")
    assert [e.agent for e in events(r, A.CONNECT, chat=0)] == [a, b]
    assert x1.connect == x1.arrival  # a takes the later x chat at once
    assert [e.agent for e in events(r, A.CONNECT, chat=2)] == [a]
    (leg,) = legs(r)
    assert leg.connected == exact(x0.arrival + 200)  # b frees its slot
    assert leg.inviter_left == exact(x0.arrival + 200) and leg.gap == 0
    assert c0.end == exact(x0.arrival + 400)
    assert max(r.interval_held) <= 2
    assert spans(r, a, 0)[-1] == (round(x1.arrival + 200, 9), 2000.0, "READY", 0)


# --------------------------------------------------------------------------- R9 consultation


def test_r9_consultation_holds_the_consulted_agents_slot():
    r = run_placed(transfer_scenario(conference(consult=20), groups=SUP))
    (chat,) = chats(r)
    a, sup = chat.arrival, agent(r, "sup")
    assert timeline(r, 0, a)[4:] == [
        (120.0, "TRANSFER", 0),
        (120.0, "CONSULT", sup),
        (140.0, "INVITE", sup),
        (140.0, "CONNECT", sup),
        (200.0, "LEAVE", sup),
        (380.0, "LEAVE", 0),  # the consultation took 20 s of the inviter's time as well
        (380.0, "END", -1),
    ]
    # held goes up at the consultation start
    assert spans(r, sup, a) == rounded(
        [(-a, 120.0, "READY", 0), (120.0, 200.0, "READY", 1), (200.0, 2000 - a, "READY", 0)]
    )
    (leg,) = legs(r)
    assert leg.requested == exact(a + 120) and leg.connected == exact(a + 140)
    assert leg.overlap == exact(60)


def test_r9_unavailable_consulted_agent_means_the_fallback():
    groups = {
        "sup": {
            "shifts": [{"from": 1500, "to": 2000, "count": 1}],
            "directories": [],
            "max_chats": 1,
        }
    }
    rule = {
        "to": {"group": "sup"},
        "at": 120,
        "consult": 20,
        "on_decline": {"directory": "x", "leave": "immediately"},
    }
    r = run_placed(transfer_scenario(rule, groups=groups))
    (chat,) = chats(r)
    a = chat.arrival
    assert events(r, A.CONSULT) == []
    assert events(r, agent=agent(r, "sup")) == []
    declined, cold = legs(r)
    assert declined.outcome is LegOutcome.DECLINED and declined.closed == exact(a + 120)
    assert cold.kind is LegKind.DIRECTORY_COLD and cold.outcome is LegOutcome.CONNECTED
    assert cold.inviter_left == exact(a + 120) and cold.connected == exact(a + 120)
    assert chat.end == exact(a + 320)


def test_r9_busy_consulted_agent_means_the_fallback():
    groups = {"sup": {"count": 1, "directories": ["s"], "max_chats": 1}}
    data = transfer_scenario(conference(consult=20, on_decline="keep"), groups=groups)
    data["directories"]["s"] = {"arrivals": windows((50, 51)), "handle_time": 500}
    r = run_placed(data)
    c0, _ = chats(r)
    assert events(r, A.CONSULT) == []
    assert legs(r)[0].outcome is LegOutcome.DECLINED
    assert c0.end == exact(c0.arrival + 300)


# --------------------------------------------------------------------------- R10 leaving


def test_r10_end_chat_ends_the_chat_for_that_participant_only():
    groups = {"g": {"count": 1, "directories": [], "max_chats": 1}}
    rule = {"to": {"group": "g"}, "at": 120, "confirm": 10}
    r = run_placed(transfer_scenario(rule, groups=groups, max_transfers=1))
    (chat,) = chats(r)
    a, g = chat.arrival, agent(r, "g")
    assert [
        (round(e.time - a, 9), e.kind.name, e.agent)
        for e in events(r, chat=0)
        if e.kind in (A.LEAVE, A.END)
    ] == [
        (130.0, "LEAVE", 0),  # the inviter's End Chat: the chat goes on with g
        (420.0, "LEAVE", g),  # the last participant leaves, the chat is not queued
        (420.0, "END", -1),
    ]
    assert chat.end == exact(a + 420) and chat.outcome is Outcome.COMPLETED


def test_r10_chat_stays_alive_while_queued_without_participants():
    r = run_placed(
        transfer_scenario(
            directory_rule("immediately"),
            gx={"count": None, "shifts": [{"from": 1000, "to": 2000, "count": 1}]},
        )
    )
    (chat,) = chats(r)
    a = chat.arrival
    assert times(r, A.LEAVE, chat=0) == [exact(a + 120), exact(1200)]
    assert times(r, A.END) == [exact(1200)]  # not at a + 120: it waits in x
    assert chat.outcome is Outcome.COMPLETED and chat.end == exact(1200)
    (leg,) = legs(r)
    assert leg.connected == 1000 and leg.gap == exact(1000 - (a + 120))


# --------------------------------------------------------------------------- R11 wrap-up


def test_r11_wrap_up_holds_the_slot_and_delays_the_next_offer():
    data = one_agent({"arrivals": windows((0, 1), (10, 11)), "wrap_up": 20})
    r = run_placed(data)
    first, second = chats(r)
    a = first.arrival
    assert [(round(e.time - a, 9), e.kind.name, e.chat) for e in events(r, agent=0)] == [
        (0.0, "OFFER", 0),
        (0.0, "CONNECT", 0),
        (300.0, "LEAVE", 0),
        (320.0, "WRAP_UP_END", -1),
        (320.0, "OFFER", 1),  # only after the wrap-up
        (320.0, "CONNECT", 1),
        (620.0, "LEAVE", 1),
        (640.0, "WRAP_UP_END", -1),
    ]
    assert first.end == exact(a + 300)  # the chat itself ends when the agent leaves
    assert second.connect == exact(a + 320)
    assert spans(r, 0, a) == rounded(
        [(-a, 0.0, "READY", 0), (0.0, 640.0, "READY", 1), (640.0, 2000 - a, "READY", 0)]
    )


def test_r11_each_participant_owes_the_wrap_up_of_the_directory_served():
    data = transfer_scenario(directory_rule("on_connect"), d={"wrap_up": 20}, x={"wrap_up": 50})
    r = run_placed(data)
    (chat,) = chats(r)
    a, gx = chat.arrival, agent(r, "gx")
    assert [round(t - a, 9) for t in times(r, A.WRAP_UP_END, agent=0)] == [140.0]
    assert [round(t - a, 9) for t in times(r, A.WRAP_UP_END, agent=gx)] == [370.0]
    assert spans(r, 0, a)[1] == (0.0, 140.0, "READY", 1)
    assert spans(r, gx, a)[1] == (120.0, 370.0, "READY", 1)
    assert chat.end == exact(a + 320)


# --------------------------------------------------------------------------- R12 customer leaving


def test_r12_chat_end_releases_every_participant_with_their_wrap_up():
    """The new agent finishes before the inviter's confirmation is over: the chat ends and
    both are released at once, each with the wrap-up."""
    groups = {"g": {"count": 1, "directories": [], "max_chats": 1}}
    rule = {"to": {"group": "g"}, "at": 120, "confirm": 400}
    data = transfer_scenario(rule, groups=groups, d={"wrap_up": 20}, max_transfers=1)
    r = run_placed(data)
    (chat,) = chats(r)
    a, g = chat.arrival, agent(r, "g")
    assert timeline(r, 0, a)[6:] == [
        (120.0, "CONNECT", g),
        (420.0, "LEAVE", 0),
        (420.0, "LEAVE", g),
        (420.0, "END", -1),
    ]
    assert [round(t - a, 9) for t in times(r, A.WRAP_UP_END)] == [440.0, 440.0]
    assert spans(r, 0, a)[1] == (0.0, 440.0, "READY", 1)
    assert spans(r, g, a)[1] == (120.0, 440.0, "READY", 1)
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.CONNECTED
    assert leg.inviter_left == exact(a + 420) and leg.closed == exact(a + 420)
    assert leg.overlap == exact(300)


def test_r12_abandon_during_warm_transfer_releases_the_inviter_with_wrap_up():
    data = transfer_scenario(
        directory_rule("on_connect"), d={"wrap_up": 20}, x={"patience": 60}, gx={"count": 0}
    )
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    assert timeline(r, 0, a)[4:] == [
        (120.0, "TRANSFER", 0),
        (120.0, "QUEUE", -1),
        (180.0, "ABANDON", -1),
        (180.0, "LEAVE", 0),
        (180.0, "END", -1),  # a chat's END is always its last event
    ]
    assert chat.outcome is Outcome.ABANDONED_IN_TRANSFER and chat.end == exact(a + 180)
    assert times(r, A.WRAP_UP_END) == [exact(a + 200)]
    assert spans(r, 0, a)[1] == (0.0, 200.0, "READY", 1)
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.ABANDONED and leg.gap == 0


# --------------------------------------------------------------------------- R13 conservation

BUSY = scenario(
    {
        "sales": {
            "arrivals": "240/h",
            "patience": {"dist": "exponential", "mean": 120},
            "handle_time": {"dist": "lognormal", "mean": 300, "cv": 0.8},
            "wrap_up": 15,
            "ramp_up": 5,
        },
        "support": {
            "arrivals": {
                "schedule": [{"from": 0, "rate": "60/h"}, {"from": 1800, "rate": "120/h"}]
            },
            "patience": {"dist": "exponential", "mean": 180},
            "handle_time": {"dist": "gamma", "mean": 400, "cv": 0.6},
            "automated_message": True,
            "routing": "least_busy",
        },
    },
    {
        "sales_team": {
            "count": 6,
            "directories": ["sales", "support"],
            "max_chats": 3,
            "slowdown": [1.0, 1.2, 1.5],
        },
        "support_team": {
            "shifts": [{"from": 0, "to": 1800, "count": 3}, {"from": 1800, "to": 3600, "count": 5}],
            "directories": ["support"],
            "max_chats": 2,
        },
        "sup": {"count": 1, "directories": [], "max_chats": 2},
    },
    duration=3600,
    max_transfers=3,
    offer={"response_time": {"dist": "exponential", "mean": 4}, "no_answer_probability": 0.05},
    transfers=[
        {
            "from": "sales",
            "to": {"directory": "support"},
            "probability": 0.2,
            "at": {"dist": "uniform", "low": 30, "high": 200},
        },
        {
            "from": "sales",
            "to": {"directory": "support"},
            "probability": 0.1,
            "at": 60,
            "leave": "immediately",
        },
        {
            "from": "sales",
            "to": {"group": "sup"},
            "kind": "conference",
            "probability": 0.1,
            "duration": {"dist": "exponential", "mean": 60},
            "consult": 10,
            "on_decline": {"directory": "support", "leave": {"after": 20}},
        },
        {
            "from": "support",
            "to": {"group": "sales_team"},
            "probability": 0.2,
            "at": 100,
            "confirm": 5,
            "on_decline": "retry",
            "retries": 2,
        },
    ],
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_r13_every_chat_ends_exactly_once_and_capacity_is_never_exceeded(seed):
    r = run(BUSY, seed=seed)
    rows = chats(r)
    n = len(rows)
    assert n > 100
    assert [c.id for c in rows] == list(range(n))  # one row per chat, ids unique
    assert sorted(e.chat for e in events(r, A.ARRIVE)) == list(range(n))
    counts = Counter(c.outcome for c in rows)
    assert sum(counts.values()) == n
    assert counts[Outcome.COMPLETED] > 0 and counts[Outcome.OPEN] > 0
    ends = {e.chat: e.time for e in events(r, A.END)}
    assert len(ends) == len(events(r, A.END))  # no chat ends twice
    for c in rows:
        if c.outcome is Outcome.OPEN:
            assert c.id not in ends and math.isnan(c.end)
        else:
            assert ends[c.id] == c.end and c.arrival <= c.end <= r.duration
    # a participant is connected to a chat at most once at a time, and has left every
    # chat that ended
    sequence: dict[tuple[int, int], list[str]] = {}
    for e in events(r):
        if e.kind in (A.CONNECT, A.LEAVE):
            sequence.setdefault((e.chat, e.agent), []).append(e.kind.name)
    for (chat, _), kinds in sequence.items():
        pairs = ["CONNECT", "LEAVE"] * len(kinds)
        if rows[chat].outcome is Outcome.OPEN:
            assert kinds == pairs[: len(kinds)]
        else:
            assert kinds == pairs[: len(kinds)] and kinds[-1] == "LEAVE"
    # legs of finished chats are all resolved
    for leg in legs(r):
        assert (leg.outcome is LegOutcome.OPEN) == (
            rows[leg.chat].outcome is Outcome.OPEN and leg.closed == r.duration
        )
        assert leg.gap >= 0 and leg.overlap >= 0
    assert sum(c.transfers for c in rows) == len(legs(r))
    assert max(c.transfers for c in rows) <= 3  # a declined invitation's fallback is capped too
    for i in range(len(r.agent_group)):
        cap = r.group_max_chats[r.agent_group[i]]
        spans_i = intervals(r, i)
        assert spans_i[0].start == 0 and spans_i[-1].end == r.duration
        for before, after in itertools.pairwise(spans_i):
            assert before.end == after.start
        for interval in spans_i:
            assert 0 <= interval.held <= cap
            assert interval.state is not AgentState.OFFLINE or interval.held == 0


def test_r13_chats_still_in_the_system_at_the_end_are_open():
    data = one_agent({"arrivals": windows((0, 1), (10, 11))}, duration=100)
    r = run_placed(data)
    served, queued = chats(r)
    assert served.outcome is Outcome.OPEN and queued.outcome is Outcome.OPEN
    assert math.isnan(served.end) and math.isnan(queued.end)
    assert served.connect == served.arrival and math.isnan(queued.connect)
    assert events(r, A.END) == []


def test_r13_open_transfer_leg_at_the_end_is_open():
    data = transfer_scenario(directory_rule("immediately"), gx={"count": 0}, duration=500)
    r = run_placed(data)
    (chat,) = chats(r)
    (leg,) = legs(r)
    assert chat.outcome is Outcome.OPEN
    assert leg.outcome is LegOutcome.OPEN and leg.closed == 500
    assert leg.gap == exact(500 - (chat.arrival + 120))


@pytest.mark.parametrize("cap", [0, 1, 2])
def test_r13_max_transfers_caps_transfers_per_chat(cap):
    data = scenario(
        {"d": {"arrivals": windows((0, 1)), "handle_time": 100}},
        {"a": {"count": 2, "directories": ["d"], "max_chats": 1}},
        transfers=[{"from": "d", "to": {"directory": "d"}, "probability": 1, "at": 60}],
        max_transfers=cap,
    )
    r = run_placed(data)
    (chat,) = chats(r)
    a = chat.arrival
    assert chat.transfers == cap and len(legs(r)) == cap
    assert [round(t - a, 9) for t in times(r, A.TRANSFER)] == [60.0 * (i + 1) for i in range(cap)]
    # each hand-off goes to the other agent (warm: the inviter leaves on connect)
    connects = [e.agent for e in events(r, A.CONNECT)]
    assert len(connects) == cap + 1
    assert all(x != y for x, y in itertools.pairwise(connects))
    assert chat.end == exact(a + 60 * cap + 100)


# --------------------------------------------------------------------------- shifts and slowdown


def test_shift_end_agent_finishes_chats_in_hand_and_takes_no_new_ones():
    data = scenario(
        {"d": {"arrivals": windows((0, 1), (250, 251)), "handle_time": 300}},
        {
            "a": {
                "shifts": [
                    {"from": 0, "to": 200, "count": 1},
                    {"from": 500, "to": 2000, "count": 1},
                ],
                "directories": ["d"],
            }
        },
    )
    r = run_placed(data)
    first, second = chats(r)
    a = first.arrival
    assert first.end == exact(a + 300)
    assert second.connect == 500  # not offered while closing nor while off shift
    assert second.end == 800
    assert spans(r, 0, 0) == rounded(
        [
            (0.0, round(a, 9), "READY", 0),
            (round(a, 9), 200.0, "READY", 1),
            (200.0, round(a + 300, 9), "CLOSING", 1),
            (round(a + 300, 9), 500.0, "OFFLINE", 0),
            (500.0, 800.0, "READY", 1),
            (800.0, 2000.0, "READY", 0),
        ]
    )


def test_slowdown_stretches_the_remaining_work_exactly():
    data = one_agent(
        {"arrivals": windows((0, 1), (30, 31), (1000, 1001)), "handle_time": 100}, max_chats=2
    )
    data["agents"]["a"]["slowdown"] = [1.0, 2.0]
    r = run_placed(data)
    c0, c1, c2 = chats(r)
    a, b = c0.arrival, c1.arrival
    # chat 0 did b - a alone; the rest, 100 - (b - a), runs at half speed while both are held
    end0 = b + 2 * (100 - (b - a))
    # chat 1 did (end0 - b) / 2 = 100 - (b - a) at half speed, then b - a alone at full speed
    end1 = end0 + (b - a)
    assert c0.end == exact(end0)
    assert c1.end == exact(end1)
    assert c2.end == exact(c2.arrival + 100)  # alone again: full speed


# --------------------------------------------------------------------------- audit defects
# Each test below pins one finding of the independent audit, on explicit arrival instants
# (``arrivals: {times: [...]}``) so every time is known by hand.


def at(*instants: float) -> dict:
    """Arrivals replayed exactly at these instants."""
    return {"times": list(instants)}


def evs(records, t0: float = 0.0) -> list[tuple[float, str, int, int]]:
    """The whole event log as (time - t0, kind, chat, agent)."""
    return [(round(e.time - t0, 9), e.kind.name, e.chat, e.agent) for e in events(records)]


def missing_agent_scenario(arrivals: list[float], duration: float) -> dict:
    """One agent (two slots) who misses every alert: timeout 10 s, Not Ready 30 s."""
    return scenario(
        {"d": {"arrivals": at(*arrivals), "handle_time": 300}},
        {"a": {"count": 1, "directories": ["d"], "max_chats": 2}},
        duration=duration,
        offer={"no_answer_probability": 1, "no_answer_timeout": 10, "not_ready_time": 30},
    )


def test_r4_each_missed_alert_restarts_the_not_ready_period():
    """Misses at 20 s and 25 s: Not Ready until 25 + 30 = 55 s, not 20 + 30 = 50 s (the
    first miss's timer is stale once the second miss restarts the period)."""
    r = run(missing_agent_scenario([10, 15], duration=56))
    assert spans(r, 0, 0) == rounded(
        [
            (0, 10, "READY", 0),
            (10, 15, "READY", 1),
            (15, 20, "READY", 2),
            (20, 25, "NOT_READY", 1),
            (25, 55, "NOT_READY", 0),
            (55, 56, "READY", 2),
        ]
    )
    assert times(r, A.NO_ANSWER) == [20, 25]


def test_r3_chats_returned_by_missed_offers_keep_their_first_come_order():
    """Chats 0 and 1 missed in turn come back in arrival order (0 before 1), and both
    before chat 2, which arrived while the agent was Not Ready."""
    r = run(missing_agent_scenario([10, 15, 30], duration=56))
    offers = [(round(e.time, 9), e.chat) for e in events(r, kind=A.OFFER)]
    assert offers == [(10, 0), (15, 1), (55, 0), (55, 1)]
    queue_events = [(round(e.time, 9), e.kind.name, e.chat) for e in events(r, chat=2)]
    assert queue_events == [(30, "ARRIVE", 2), (30, "QUEUE", 2)]


def _consult_scenario(sup: dict, **extra: Any) -> dict:
    """Chat at 0 in ``d`` (handle 300 s, agent ``a``); at 120 s a transfer to group
    ``sup`` after a 60 s consultation; ``on_decline: keep``."""
    rule = {"to": {"group": "sup"}, "at": 120, "consult": 60, "on_decline": "keep"}
    return transfer_scenario(
        rule, d={"arrivals": at(0)}, groups={"sup": {"directories": [], **sup}}, **extra
    )


def test_r9_invitee_whose_shift_ended_during_consultation_is_not_invited():
    """The supervisor's shift ends at 150 s, inside the 120-180 s consultation: at 180 s the
    invitation does not ring (no off-shift supervisor takes over the chat); it counts as
    declined and the inviter keeps the chat: the 180 s of handling left after the
    transfer point, from 180 s (on_decline: keep)."""
    sup = {"shifts": [{"from": 0, "to": 150, "count": 1}], "max_chats": 1}
    r = run(_consult_scenario(sup))
    s = agent(r, "sup")
    assert [(t, k, ag) for t, k, _c, ag in evs(r) if t >= 120] == [
        (120.0, "TRANSFER", 0),
        (120.0, "CONSULT", s),
        (180.0, "DECLINE", s),
        (360.0, "LEAVE", 0),
        (360.0, "END", -1),
    ]
    assert spans(r, s, 0) == rounded(
        [(0, 120, "READY", 0), (120, 150, "READY", 1), (150, 180, "CLOSING", 1)]
    ) + rounded([(180, 2000, "OFFLINE", 0)])
    (leg,) = legs(r)
    assert leg.outcome is LegOutcome.DECLINED and leg.closed == 180
    (chat,) = chats(r)
    assert chat.end == 360 and chat.final_directory == "d"


def test_r9_invitee_who_went_not_ready_during_consultation_is_not_invited():
    """The supervisor also serves ``x``; a chat offered there at 130 s is missed at 140 s,
    so the supervisor is Not Ready (until 240 s) when the consultation ends at 180 s: the
    invitation falls back (keep) instead of ringing."""
    data = _consult_scenario(
        {"count": 1, "max_chats": 2, "directories": ["x"]},
        x={"arrivals": at(130)},
        offer={"no_answer_probability": 0.5, "not_ready_time": 100},
    )

    def supervisor_misses_x_but_a_answers(records) -> bool:
        kinds = [(e.kind, e.chat) for e in events(records)]
        return (
            (A.CONNECT, 0) in kinds
            and (A.NO_ANSWER, 1) in kinds
            and (
                A.NO_ANSWER,
                0,
            )
            not in kinds
        )

    r = run_until(data, supervisor_misses_x_but_a_answers)
    s = agent(r, "sup")
    chat0 = [(t, k, ag) for t, k, c, ag in evs(r) if c == 0 and t >= 120]
    assert chat0 == [
        (120.0, "TRANSFER", 0),
        (120.0, "CONSULT", s),
        (180.0, "DECLINE", s),
        (360.0, "LEAVE", 0),
        (360.0, "END", -1),
    ]
    assert times(r, A.INVITE) == []
    assert state_at(r, s, 180) is AgentState.NOT_READY


def test_r4_offer_ringing_at_shift_end_is_withdrawn_and_the_chat_requeued():
    """Agent ``a`` (shift until 100 s) is offered the chat at 90 s and answers after 20 s;
    at 100 s the shift ends: the offer is withdrawn (not answered at 110 s) and the chat
    goes back to the queue, where ``b`` (shift from 100 s) takes it at once."""
    data = scenario(
        {"d": {"arrivals": at(90), "handle_time": 300}},
        {
            "a": {"shifts": [{"from": 0, "to": 100, "count": 1}], "directories": ["d"]},
            "b": {"shifts": [{"from": 100, "to": 2000, "count": 1}], "directories": ["d"]},
        },
        offer={"response_time": 20, "no_answer_timeout": 30},
    )
    r = run(data)
    a, b = agent(r, "a"), agent(r, "b")
    assert [(t, k, ag) for t, k, _c, ag in evs(r)] == [
        (90.0, "ARRIVE", -1),
        (90.0, "QUEUE", -1),
        (90.0, "OFFER", a),
        (100.0, "WITHDRAW", a),
        (100.0, "OFFER", b),
        (120.0, "CONNECT", b),
        (420.0, "LEAVE", b),
        (420.0, "END", -1),
    ]
    assert state_at(r, a, 100) is AgentState.OFFLINE and held_at(r, a, 100) == 0
    (chat,) = chats(r)
    assert chat.connect == 120 and chat.outcome is Outcome.COMPLETED


def test_r6_invitation_ringing_at_shift_end_is_withdrawn_and_counts_as_declined():
    """Every alert is answered after 20 s: ``a`` connects at 20 s and invites at 140 s;
    the supervisor's shift ends at 145 s while the invitation rings: it is withdrawn and
    the rule falls back to directory ``x`` (R6 -> R8)."""
    rule = {"to": {"group": "sup"}, "at": 120, "on_decline": {"directory": "x"}}
    sup = {"shifts": [{"from": 0, "to": 145, "count": 1}], "directories": [], "max_chats": 1}
    data = transfer_scenario(
        rule,
        d={"arrivals": at(0)},
        groups={"sup": sup},
        offer={"response_time": 20, "no_answer_timeout": 30},
    )
    r = run(data)
    s, gx = agent(r, "sup"), agent(r, "gx")
    assert [(t, k, ag) for t, k, _c, ag in evs(r) if t >= 140] == [
        (140.0, "TRANSFER", 0),
        (140.0, "INVITE", s),
        (145.0, "WITHDRAW", s),
        (145.0, "TRANSFER", 0),
        (145.0, "QUEUE", -1),
        (145.0, "OFFER", gx),
        (165.0, "CONNECT", gx),
        (165.0, "LEAVE", 0),
        (365.0, "LEAVE", gx),
        (365.0, "END", -1),
    ]
    declined, directory = legs(r)
    assert declined.outcome is LegOutcome.DECLINED and declined.closed == 145
    assert directory.kind is LegKind.DIRECTORY_WARM and directory.connected == 165


def _chain_of_cold_transfers(first_inviter_stays: float) -> dict:
    """Agent ``a`` (d) transfers cold to ``x`` at 120 s and leaves ``first_inviter_stays``
    later; ``gx`` connects at 120 s and at 130 s sends the chat cold (at once) to ``y``,
    whose only agent starts at 200 s (handle 50 s)."""
    directories = {
        "d": {"arrivals": at(0), "handle_time": 300},
        "x": {"handle_time": 300},
        "y": {"handle_time": 50},
    }
    agents = {
        "a": {"count": 1, "directories": ["d"], "max_chats": 1},
        "gx": {"count": 1, "directories": ["x"], "max_chats": 1},
        "gy": {"shifts": [{"from": 200, "to": 2000, "count": 1}], "directories": ["y"]},
    }
    transfers = [
        {
            "from": "d",
            "to": {"directory": "x"},
            "probability": 1,
            "at": 120,
            "leave": {"after": first_inviter_stays},
        },
        {
            "from": "x",
            "to": {"directory": "y"},
            "probability": 1,
            "at": 10,
            "leave": "immediately",
        },
    ]
    return scenario(directories, agents, transfers=transfers)


def test_r8_no_handoff_gap_while_an_earlier_inviter_is_still_connected():
    """``a`` stays until 220 s: from 130 s to 200 s the customer still has ``a``, so the
    second leg has no gap. Overlap counts every participant: leg 1 has two connected
    120-130 s (a, gx) and 200-220 s (a, gy)."""
    r = run(_chain_of_cold_transfers(first_inviter_stays=100))
    first, second = legs(r)
    assert (first.requested, first.connected, first.inviter_left, first.closed) == (
        120,
        120,
        220,
        220,
    )
    assert first.gap == 0 and first.overlap == exact(10 + 20)
    assert (second.requested, second.inviter_left, second.connected, second.closed) == (
        130,
        130,
        200,
        200,
    )
    assert second.gap == 0 and second.overlap == 0
    (chat,) = chats(r)
    assert chat.end == 250


def test_r8_handoff_gap_counts_only_time_with_nobody_connected():
    """``a`` leaves at 150 s: nobody is connected from 150 s until gy connects at 200 s,
    so the second leg's gap is 50 s (not 70 s from its own inviter's leaving)."""
    r = run(_chain_of_cold_transfers(first_inviter_stays=30))
    first, second = legs(r)
    assert first.closed == 150 and first.gap == 0 and first.overlap == exact(10)
    assert second.closed == 200 and second.gap == exact(50) and second.overlap == 0


def _agent_transfer_to_sup(extra_rules: list[dict]) -> dict:
    """Chat at 0 in ``d``; at 60 s ``a`` transfers it to a supervisor (confirm 5 s)."""
    data = transfer_scenario(
        {"to": {"group": "sup"}, "at": 60, "confirm": 5},
        d={"arrivals": at(0)},
        groups={"sup": {"count": 2, "directories": [], "max_chats": 1}},
    )
    data["transfers"] = data["transfers"] + extra_rules
    return data


def test_r7_receiver_of_an_agent_transfer_does_not_apply_the_source_directorys_rules():
    """``d``'s rule sends every chat to a supervisor; the supervisor who takes it over
    does not draw ``d``'s rules again (no ping-pong to the second supervisor) and, with no
    rule of its own group, finishes the chat: d's handle time (300 s) after 60 s."""
    r = run(_agent_transfer_to_sup([]))
    (leg,) = legs(r)
    assert leg.kind is LegKind.AGENT_TRANSFER and leg.connected == 60
    assert leg.inviter_left == 65 and leg.overlap == exact(5)
    (chat,) = chats(r)
    assert chat.transfers == 1 and chat.end == 360


def test_r7_receiver_applies_the_rules_of_its_own_group():
    """A rule ``from: {group: sup}`` is what the supervisor does next: here it sends the
    chat to directory ``x`` (cold) 30 s after taking it over."""
    rule = {
        "from": {"group": "sup"},
        "to": {"directory": "x"},
        "probability": 1,
        "at": 30,
        "leave": "immediately",
    }
    r = run(_agent_transfer_to_sup([rule]))
    to_sup, to_x = legs(r)
    assert to_sup.kind is LegKind.AGENT_TRANSFER
    assert to_x.kind is LegKind.DIRECTORY_COLD and to_x.source == "d"
    assert (to_x.requested, to_x.connected) == (90, 90)
    (chat,) = chats(r)
    assert chat.transfers == 2 and chat.final_directory == "x" and chat.end == 290


def test_r7_group_rules_validate_their_group():
    data = _agent_transfer_to_sup(
        [{"from": {"group": "sups"}, "to": {"directory": "x"}, "probability": 1}]
    )
    with pytest.raises(ScenarioError, match=r"transfers\.1\.from\.group: unknown agent group"):
        build(data)


def test_r8_zero_time_transfer_loop_is_refused_with_the_rules_named():
    """A directory sending every chat to itself at once, answered at once, would loop
    forever at one instant: refused at validation, naming the rule; ``max_transfers``
    bounds the loop and makes it valid."""
    data = scenario(
        {"d": {"arrivals": at(0), "handle_time": 300}},
        {"a": {"count": 2, "directories": ["d"]}},
        transfers=[{"from": "d", "to": {"directory": "d"}, "probability": 1}],
    )
    with pytest.raises(ScenarioError, match=r"transfers: rule 0 send every chat round d"):
        build(data)
    r = run({**data, "max_transfers": 3})
    (chat,) = chats(r)
    assert chat.transfers == 3 and chat.end == 300


def test_r8_endless_loop_is_refused_whatever_its_hops_take():
    """Times below float resolution add no time either (the audit's hang with a response
    time of mean 1e-300 s); a loop every chat goes round forever is refused at any speed."""
    for offer in ({"response_time": {"dist": "exponential", "mean": 1e-300}}, {}):
        data = scenario(
            {"d": {"arrivals": at(10), "handle_time": 60}},
            {"a": {"count": 2, "directories": ["d"], "max_chats": 2}},
            transfers=[{"from": "d", "to": {"directory": "d"}, "probability": 1, "at": "1m"}],
            offer=offer,
        )
        with pytest.raises(ScenarioError, match=r"rule 0 send every chat round d forever"):
            build(data)


def test_r8_zero_time_loop_check_spans_directories_and_groups():
    data = _agent_transfer_to_sup(
        [{"from": {"group": "sup"}, "to": {"directory": "d"}, "probability": 1}]
    )
    data["transfers"][0] = {**data["transfers"][0], "at": 0}
    with pytest.raises(ScenarioError, match=r"rules 0, 1 send every chat round d, group sup"):
        build(data)
    data["transfers"][1]["probability"] = 0.5  # can leave the loop: valid
    build(data)


@pytest.mark.parametrize(
    ("rule", "what"),
    [
        ({"to": {"directory": "x"}, "leave": "immediately", "confirm": 5}, "a cold directory"),
        ({"to": {"directory": "x"}, "leave": {"after": 30}, "confirm": 5}, "a cold directory"),
        (
            {"to": {"group": "gx"}, "kind": "conference", "duration": 60, "confirm": 5},
            "a conference",
        ),
    ],
)
def test_r7_confirm_where_it_cannot_apply_is_refused(rule: dict, what: str):
    with pytest.raises(ScenarioError, match=rf"transfers\.0\.confirm: {what}"):
        build(transfer_scenario(rule))


def test_r13_event_log_shows_abandon_and_end_before_the_freed_slot_is_offered():
    """One agent, one slot, alerts answered after 20 s, patience 25 s. Chat 0 (0 s) ends at
    320 s; its LEAVE and END come before chat 1 (300 s) is offered the slot. Chat 1's
    patience runs out at 325 s while its offer rings: ABANDON and END come before chat 2
    (324 s) is offered the freed slot at 325 s, answered at 345 s."""
    data = scenario(
        {"d": {"arrivals": at(0, 300, 324), "handle_time": 300, "patience": 25}},
        {"a": {"count": 1, "directories": ["d"], "max_chats": 1}},
        duration=700,
        offer={"response_time": 20, "no_answer_timeout": 30},
    )
    r = run(data)
    assert [(k, c) for t, k, c, _a in evs(r) if t == 320] == [
        ("LEAVE", 0),
        ("END", 0),
        ("OFFER", 1),
    ]
    assert [(k, c) for t, k, c, _a in evs(r) if t == 325] == [
        ("ABANDON", 1),
        ("END", 1),
        ("OFFER", 2),
    ]
    _c0, c1, c2 = chats(r)
    assert c1.outcome is Outcome.ABANDONED and c1.end == 325
    assert c2.connect == 345 and c2.end == 645


def test_r13_event_log_shows_end_before_the_offer_of_the_slot_it_frees():
    data = scenario(
        {"d": {"arrivals": at(0, 5), "handle_time": 300}},
        {"a": {"count": 1, "directories": ["d"], "max_chats": 1}},
        duration=301,
    )
    r = run(data)
    assert [(k, c) for t, k, c, _a in evs(r) if t == 300] == [
        ("LEAVE", 0),
        ("END", 0),
        ("OFFER", 1),
        ("CONNECT", 1),
    ]


def test_r1_exact_arrivals_replay_the_given_instants_in_any_order():
    data = scenario(
        {"d": {"arrivals": {"times": ["1m", 10, "15s"]}, "handle_time": 5}},
        {"a": {"count": 1, "directories": ["d"]}},
        duration=61,
    )
    r = run(data)
    assert [c.arrival for c in chats(r)] == [10, 15, 60]
    assert run(data, seed=99).chat_arrival == r.chat_arrival  # no random numbers used


@pytest.mark.parametrize(
    ("times_", "message"),
    [
        ([10, -1], r"directories\.d\.arrivals\.times\.1: must not be negative"),
        ([10, "1h"], r"directories\.d\.arrivals\.times: 1 instant\(s\) not before the end"),
        ([10, ".nan"], r"directories\.d\.arrivals\.times\.1"),
        ([], r"directories\.d\.arrivals: needs a rate"),
    ],
)
def test_r1_exact_arrivals_are_validated(times_: list, message: str):
    data = scenario(
        {"d": {"arrivals": {"times": times_}, "handle_time": 5}},
        {"a": {"count": 1, "directories": ["d"]}},
        duration=100,
    )
    with pytest.raises(ScenarioError, match=message):
        build(data)


def _csv_scenario(tmp_path, arrivals: dict, rows: str) -> Any:
    (tmp_path / "day.csv").write_text(rows)
    (tmp_path / "s.yaml").write_text(
        "duration: 10h\n"
        f"directories: {{d: {{arrivals: {arrivals}, handle_time: 60}}}}\n"
        "agents: {a: {count: 1, directories: [d]}}\n"
    )
    from ccsim.scenario import load_scenario

    return load_scenario(tmp_path / "s.yaml")


def test_r1_exact_arrivals_from_a_csv_of_date_times_replay_a_real_day(tmp_path):
    """Date-times count from midnight of the earliest one's day (or from ``origin``); the
    resolved scenario keeps the instants, so a saved copy reruns without the file."""
    rows = "created_at,agent\n2026-03-02 08:00:05,x\n2026-03-02 08:00:01,y\n\n"
    scenario_ = _csv_scenario(tmp_path, {"csv": "day.csv", "column": "created_at"}, rows)
    assert scenario_.directories["d"].arrivals.times == (8 * 3600 + 1, 8 * 3600 + 5)
    r = run(scenario_)
    assert [c.arrival for c in chats(r)] == [28801, 28805]
    origin = {"csv": "day.csv", "column": "created_at", "origin": "2026-03-02T08:00:00"}
    assert _csv_scenario(tmp_path, origin, rows).directories["d"].arrivals.times == (1, 5)
    (tmp_path / "day.csv").unlink()
    assert scenario_.with_changes({"duration": "11h"}).directories["d"].arrivals.times == (
        28801,
        28805,
    )


def test_r1_exact_arrivals_from_a_csv_of_offsets(tmp_path):
    scenario_ = _csv_scenario(tmp_path, {"csv": "day.csv"}, "offset\n1m\n10\n5s\n")
    assert scenario_.directories["d"].arrivals.times == (5, 10, 60)


@pytest.mark.parametrize(
    ("arrivals", "rows", "message"),
    [
        ({"csv": "day.csv"}, "t\n10\n2026-03-02 08:00:00\n", "mixes date-times and offsets"),
        ({"csv": "day.csv"}, "t\n10\nsoon\n", r"line 3, column 't': expected an offset"),
        ({"csv": "day.csv"}, "t\n11h\n", r"arrivals\.times: 1 instant\(s\) not before the end"),
        ({"csv": "../day.csv"}, "t\n10\n", "outside the scenario's folder"),
        ({"csv": "day.csv"}, "10\n20\n", r"starts with a row of values \(10\)"),
        (
            {"csv": "day.csv"},
            "t\n2026-03-02T08:00:05+01:00\n2026-03-02 07:00:00\n",
            r"csv: day.csv mixes date-times with and without a time zone",
        ),
        (
            {"csv": "day.csv", "origin": "2026-03-02T09:00:00"},
            "t\n2026-03-02 08:00:00\n",
            r"arrivals\.origin: 2026-03-02T09:00:00 is after the earliest instant",
        ),
    ],
)
def test_r1_exact_arrivals_from_a_bad_csv_are_refused(tmp_path, arrivals, rows, message):
    folder = tmp_path / "scenario"
    folder.mkdir()
    (tmp_path / "day.csv").write_text(rows)  # the one outside the folder, for ../
    with pytest.raises(ScenarioError, match=message):
        _csv_scenario(folder, arrivals, rows)


def test_r12_abandonment_closes_every_open_leg_of_the_chat():
    """A warm transfer (confirm 2 s) connects at 0 s; the new agent at once transfers
    again and the chat waits; the customer leaves at 1 s (patience). Both legs end at
    1 s: the first, whose inviter was still waiting to confirm, is not left open until
    the end of the run piling up a gap."""
    data = scenario(
        {"d": {"arrivals": at(0), "handle_time": 20, "patience": 1}},
        {"g": {"count": 2, "directories": ["d"], "max_chats": 1}},
        duration=600,
        max_transfers=2,
        transfers=[{"from": "d", "to": {"directory": "d"}, "probability": 1, "confirm": 2}],
    )
    r = run(data)
    first, second = sorted(legs(r), key=lambda leg: leg.outcome)  # both requested at 0 s
    assert (first.outcome, first.connected, first.inviter_left, first.closed) == (
        LegOutcome.CONNECTED,
        0,
        1,
        1,
    )
    assert first.gap == 0 and first.overlap == 1
    assert (second.outcome, second.closed, second.gap) == (LegOutcome.ABANDONED, 1, 0)
    (chat,) = chats(r)
    assert chat.outcome is Outcome.ABANDONED_IN_TRANSFER and chat.end == 1


def test_r1_mixture_patience_leaves_at_once_or_after_the_other_components_time():
    """Patience 0 s with weight 1 or 100 s with weight 3: with the only agent busy, each
    waiting customer leaves at its arrival or exactly 100 s later, about a quarter at
    once; the draws come from the patience stream alone (arrivals do not move)."""
    patience = {
        "dist": "mixture",
        "components": [{"weight": 1, "of": 0}, {"weight": 3, "of": "100s"}],
    }
    instants = [1 + 2 * i for i in range(400)]
    data = scenario(
        {"d": {"arrivals": at(*instants), "handle_time": 5000, "patience": patience}},
        {"a": {"count": 1, "directories": ["d"], "max_chats": 1}},
        duration=2000,
    )
    r = run(data)
    waited = sorted({round(c.end - c.arrival, 9) for c in chats(r)[1:] if c.end == c.end})
    assert waited == [0.0, 100.0]
    at_once = sum(1 for c in chats(r)[1:] if c.end == c.arrival)
    assert 60 <= at_once <= 140  # 399 customers, p = 1/4: mean 99.75, sd 8.6
    assert build(data).directories["d"].patience.mean == 75


def test_r11_a_directory_with_wrap_up_logs_its_end_even_when_the_draw_is_0():
    """The log tells which event frees the slot from the configuration alone: with any
    wrap-up configured, a WRAP_UP_END follows every LEAVE (here at once: the draw is 0),
    after the chat's END; without wrap-up, the LEAVE frees it."""
    zero_draws = {"dist": "empirical", "values": [0]}
    r = run(one_agent({"arrivals": at(0), "wrap_up": zero_draws}, duration=400))
    assert [(t, k) for t, k, _c, _a in evs(r)][-3:] == [
        (300.0, "LEAVE"),
        (300.0, "END"),
        (300.0, "WRAP_UP_END"),
    ]
    r = run(one_agent({"arrivals": at(0)}, duration=400))
    assert [k for _t, k, _c, _a in evs(r)][-2:] == ["LEAVE", "END"]
