"""Exact timelines of customers' behaviour (issue 14): ``balk`` (leave at once on finding
no free agent) and ``retry`` (try again after a delay, as a new chat remembering the
first arrival), with the metrics they add and the outcome identity kept.

One agent with one slot and constant handle times: which customers find the agent busy
and how long the queue is are known by hand.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import build, chats, events, run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import (
    FAST,
    SLOW,
    Timeline,
    check_agents,
    check_log_replays_within_capacity,
    distributions,
    same_records,
    scenario_data,
)

from ccsim.model import EventKind, Outcome, run_replication
from ccsim.results import chats_frame, replication_metrics
from ccsim.scenario import ScenarioError, scenario_from_dict

THRESHOLDS = {"d": 60.0}
# Deterministic like test_properties' default run, with fewer examples: seconds, not minutes.
FAST_SETTINGS = settings(FAST, max_examples=300)


def center(times: list[float], duration: float = 5000, **directory: Any) -> dict[str, Any]:
    """Directory ``d`` (handle 100 s) with arrivals at ``times``, one one-slot agent."""
    return {
        "duration": duration,
        "directories": {"d": {"arrivals": {"times": times}, "handle_time": 100, **directory}},
        "agents": {"a": {"count": 1, "max_chats": 1, "directories": ["d"]}},
    }


def outcomes(records: Any) -> list[tuple[float, Outcome]]:
    return [(c.arrival, c.outcome) for c in chats(records)]


def identity_holds(metrics: dict[str, float]) -> bool:
    parts = ("completed", "abandoned_initial", "abandoned_in_transfer", "open_at_end")
    return sum(metrics[p] for p in parts) == metrics["offered"]


# --------------------------------------------------------------------------- balking


def test_balk_probability_1_leaves_at_once_when_no_agent_is_free() -> None:
    records = run(center([0, 10, 150], balk={"probability": 1}))
    assert outcomes(records) == [
        (0, Outcome.COMPLETED),
        (10, Outcome.ABANDONED),  # the agent is busy until 100
        (150, Outcome.COMPLETED),  # free again
    ]
    balked = [(e.time, e.kind.name) for e in events(records, chat=1)]
    assert balked == [(10, "ARRIVE"), (10, "BALK"), (10, "END")]
    metrics = replication_metrics(records, THRESHOLDS).overall
    assert metrics["balked"] == 1 and metrics["abandoned_initial"] == 1
    assert identity_holds(metrics)


def test_balk_queue_longer_than_balks_only_behind_a_long_enough_queue() -> None:
    # Busy until 100: the chat at 10 finds 0 waiting, at 20 one, at 30 two (> 1): balks.
    records = run(center([0, 10, 20, 30], balk={"queue_longer_than": 1}))
    assert [o for _a, o in outcomes(records)] == [
        Outcome.COMPLETED,
        Outcome.COMPLETED,
        Outcome.COMPLETED,
        Outcome.ABANDONED,
    ]
    assert [e.chat for e in events(records, kind=EventKind.BALK)] == [3]


def test_balk_probability_0_is_no_balking_and_draws_nothing() -> None:
    base = run(center([0, 10, 20], patience=300))
    never = run(center([0, 10, 20], patience=300, balk={"probability": 0}))
    assert outcomes(base) == outcomes(never)
    assert not events(never, kind=EventKind.BALK)


def test_balk_probability_between_0_and_1_is_drawn_from_its_own_stream() -> None:
    data = center([0] + [1 + i for i in range(200)], duration=100_000, balk={"probability": 0.5})
    records = run(data)
    balked = len(events(records, kind=EventKind.BALK))
    assert 60 < balked < 140  # 200 customers find the agent busy, each balks with 1/2
    again = run(data)
    assert [e.chat for e in events(again, kind=EventKind.BALK)] == [
        e.chat for e in events(records, kind=EventKind.BALK)
    ]


def test_balk_keeps_other_customers_draws() -> None:
    # Customers who balk still take their draws, so the later ones keep theirs (CRN):
    # the customers at 400 and 3000 are served in both runs with the same handle times.
    data = center([0, 5, 10, 400, 3000], patience={"dist": "exponential", "mean": 50})
    data["directories"]["d"]["handle_time"] = {"dist": "exponential", "mean": 100}
    plain = chats(run(data))
    data["directories"]["d"]["balk"] = {"probability": 1}
    balking = chats(run(data))
    assert [c.outcome for c in balking[1:3]] == [Outcome.ABANDONED] * 2
    handled = [[c.end - c.connect for c in rows[3:]] for rows in (plain, balking)]
    assert handled[0] == handled[1] and not any(math.isnan(h) for h in handled[0])


# --------------------------------------------------------------------------- retries


def test_retry_arrives_exactly_after_its_delay_remembering_its_first_arrival() -> None:
    # Patience 30: the chat at 10 abandons at 40 and tries again 60 s later, at 100,
    # exactly when the agent frees.
    data = center([0, 10], patience=30, retry={"probability": 1, "after": 60, "max_attempts": 2})
    records = run(data)
    rows = chats(records)
    assert [(c.arrival, c.outcome) for c in rows] == [
        (0, Outcome.COMPLETED),
        (10, Outcome.ABANDONED),
        (100, Outcome.COMPLETED),
    ]
    assert rows[2].connect == 100
    assert list(records.retry_chat) == [2]
    assert list(records.retry_first_arrival) == [10]
    assert list(records.retry_attempt) == [2]
    assert list(records.retried_chat) == [1]
    metrics = replication_metrics(records, THRESHOLDS).overall
    assert metrics["offered"] == 3 and metrics["retrials"] == 1
    assert metrics["abandon_rate_first_attempt"] == 0.5  # 1 of 2 customers
    assert metrics["abandon_rate_all_attempts"] == 0.0  # both were served in the end
    assert identity_holds(metrics)


def test_chats_table_shows_attempts_balks_and_retries() -> None:
    data = center(
        [0, 10, 20],
        patience=30,
        balk={"queue_longer_than": 0},
        retry={"probability": 1, "after": 60, "max_attempts": 2},
    )
    frame = chats_frame(run(data))
    # 10 waits (nobody ahead) and abandons at 40; 20 balks (one ahead); both retry
    assert frame["balked"].tolist() == [False, False, True, False, False]
    assert frame["attempt"].tolist() == [1, 1, 1, 2, 2]
    assert frame["first_arrival"].tolist() == [0, 10, 20, 20, 10]
    assert frame["arrival"].tolist() == [0, 10, 20, 80, 100]  # 20 + 60, 40 + 60
    assert frame["retried"].tolist() == [False, True, True, False, False]
    assert "served_by_overflow" not in frame


def test_retry_max_attempts_ends_the_tries() -> None:
    # The agent is busy all along (handle 10000); patience 30, retry 60 s later, at most
    # 3 attempts: 10 -> abandon 40, 100 -> 130, 190 -> 220, then no more.
    data = center(
        [0, 10],
        duration=20_000,
        patience=30,
        retry={"probability": 1, "after": 60, "max_attempts": 3},
    )
    data["directories"]["d"]["handle_time"] = 10_000
    records = run(data)
    assert [(c.arrival, c.end) for c in chats(records)][1:] == [(10, 40), (100, 130), (190, 220)]
    assert list(records.retry_attempt) == [2, 3]
    assert list(records.retry_first_arrival) == [10, 10]
    metrics = replication_metrics(records, THRESHOLDS).overall
    assert metrics["abandon_rate_first_attempt"] == 0.5
    assert metrics["abandon_rate_all_attempts"] == 0.5  # the second customer is lost
    assert metrics["retrials"] == 2 and identity_holds(metrics)


def test_retry_after_balking() -> None:
    data = center(
        [0, 10], balk={"probability": 1}, retry={"probability": 1, "after": 95, "max_attempts": 2}
    )
    records = run(data)
    assert [(c.arrival, c.outcome) for c in chats(records)] == [
        (0, Outcome.COMPLETED),
        (10, Outcome.ABANDONED),
        (105, Outcome.COMPLETED),
    ]


def test_retry_due_after_the_end_is_decided_but_never_arrives() -> None:
    data = center([0, 10], duration=200, patience=30, retry={"probability": 0.99, "after": 1000})
    records = run(data)
    assert len(chats(records)) == 2 and list(records.retried_chat) == [1]
    metrics = replication_metrics(records, THRESHOLDS).overall
    assert metrics["abandon_rate_all_attempts"] == 0.0  # not lost: it will try again
    assert metrics["abandon_rate_first_attempt"] == 0.5


def test_retry_draws_leave_first_attempts_unchanged() -> None:
    # Retried attempts draw their times from streams of their own: a first attempt keeps
    # its handle time and patience whatever the retries do to the queue.
    times = [float(t) for t in range(0, 3000, 20)]
    data = center(times, duration=20_000, patience={"dist": "exponential", "mean": 100})
    data["directories"]["d"]["handle_time"] = {"dist": "exponential", "mean": 60}
    plain = {c.arrival: c for c in chats(run(data))}
    data["directories"]["d"]["retry"] = {
        "probability": 0.5,
        "after": {"dist": "exponential", "mean": 300},
    }
    records = run(data)
    retry_ids = set(records.retry_chat)
    assert retry_ids
    first = [c for c in chats(records) if c.id not in retry_ids]
    same_handle = same_patience = moved = 0
    for chat in first:
        before = plain[chat.arrival]
        moved += chat.connect != before.connect and not math.isnan(chat.connect)
        if chat.outcome == before.outcome == Outcome.COMPLETED:
            assert chat.end - chat.connect == pytest.approx(before.end - before.connect)
            same_handle += 1
        elif chat.outcome == before.outcome == Outcome.ABANDONED:
            assert chat.end - chat.arrival == pytest.approx(before.end - before.arrival)
            same_patience += 1
    assert moved and same_handle > 10 and same_patience > 10  # retries did change waits


def test_tallies_give_the_same_customer_metrics_as_records() -> None:
    times = [float(t) for t in range(0, 4000, 7)]
    data = center(
        times,
        duration=8000,
        patience={"dist": "exponential", "mean": 60},
        balk={"probability": 0.3, "queue_longer_than": 2},
        retry={"probability": 0.4, "after": {"dist": "exponential", "mean": 120}},
    )
    data["warmup"] = 500
    scenario = build(data)
    full = replication_metrics(run_replication(scenario), THRESHOLDS)
    tallied = replication_metrics(run_replication(scenario, tables=False), THRESHOLDS)
    for name in (
        "offered",
        "balked",
        "retrials",
        "abandon_rate_first_attempt",
        "abandon_rate_all_attempts",
        "abandoned_initial",
    ):
        assert tallied.overall[name] == pytest.approx(full.overall[name]), name
        assert tallied.directories["d"][name] == pytest.approx(full.directories["d"][name])
    assert full.overall["balked"] > 0 and full.overall["retrials"] > 0
    assert identity_holds(full.overall)
    first, every = (
        full.overall["abandon_rate_first_attempt"],
        full.overall["abandon_rate_all_attempts"],
    )
    assert 0 < every < first  # retries rescue some customers


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("balk", {}, "directories.d.balk"),
        ("balk", {"probability": 1.5}, "directories.d.balk.probability"),
        ("balk", {"queue_longer_than": -1}, "directories.d.balk.queue_longer_than"),
        ("retry", {"probability": 1, "after": 60}, "directories.d.retry.max_attempts"),
        ("retry", {"probability": 0.3}, "directories.d.retry.after"),
        ("retry", {"probability": 0.3, "after": -5}, "directories.d.retry.after"),
        ("retry", {"probability": 0.3, "after": 5, "max_attempts": 1}, "max_attempts"),
    ],
)
def test_bad_customer_fields_are_refused_with_their_path(field: str, value: Any, path: str) -> None:
    data = center([0])
    data["directories"]["d"][field] = value
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert path in str(error.value)


def test_retries_count_towards_the_expected_arrivals_limit() -> None:
    data = {
        "duration": "365d",
        "directories": {
            "d": {
                "arrivals": "3/s",
                "handle_time": 100,
                "retry": {"probability": 0.999, "after": 60},
            }
        },
        "agents": {"a": {"count": 1, "directories": ["d"]}},
    }
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert "directories" in str(error.value)
    del data["directories"]["d"]["retry"]
    scenario_from_dict(data)  # the same arrivals without retries are within the limit


# --------------------------------------------------------------------------- invariants


@st.composite
def scenarios_with_issue_14(draw: st.DrawFn) -> dict[str, Any]:
    """A random scenario of :mod:`test_properties` with priorities, boosts, overflow,
    preference levels, balking and retries added at random."""
    data = draw(scenario_data(stress=draw(st.booleans())))
    groups = data["agents"]
    for name, spec in data["directories"].items():
        if draw(st.booleans()):
            spec["priority"] = draw(st.integers(-2, 2))
        if draw(st.booleans()):
            spec["priority_boost"] = {
                "after": draw(st.integers(1, 120)),
                "by": draw(st.integers(1, 2)),
            }
        helpers = [g for g, group in groups.items() if name not in group["directories"]]
        if helpers and draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(helpers), min_size=1, unique=True))
            cut = draw(st.integers(1, len(chosen)))
            levels = [chosen[:cut], chosen[cut:]]
            spec["overflow"] = [
                {"after": draw(st.integers(0, 120)), "groups": level} for level in levels if level
            ]
        if draw(st.booleans()):
            spec["balk"] = draw(
                st.sampled_from(
                    [
                        {"probability": 0.3},
                        {"probability": 1},
                        {"queue_longer_than": 0},
                        {"probability": 0.5, "queue_longer_than": 2},
                    ]
                )
            )
        if draw(st.booleans()):
            spec["retry"] = {
                "probability": draw(st.sampled_from([0.2, 0.6, 1])),
                "after": draw(distributions(0, 300)),
                "max_attempts": draw(st.integers(2, 4)),
            }
    for group in groups.values():
        if len(group["directories"]) > 1 and draw(st.booleans()):
            group["preference"] = draw(
                st.one_of(
                    st.just("in_order"),
                    st.fixed_dictionaries({d: st.integers(1, 3) for d in group["directories"][:2]}),
                )
            )
    return data


def check_customers(scenario: Any, records: Any) -> None:
    """R13 with balks and retries: one row and one ARRIVE per chat (every attempt is a
    chat), one END per ended chat; BALK or ABANDON tell an abandonment; balked chats are
    abandoned in their first queue, never answered; a retried attempt comes after an
    abandonment decided to retry, after its customer's first arrival, within
    ``max_attempts``; and the metrics' outcome identity holds, overall and per directory."""
    rows = chats(records)
    arrived = [e.chat for e in events(records, kind=EventKind.ARRIVE)]
    assert sorted(arrived) == [c.id for c in rows]
    ends: dict[int, int] = {}
    for e in events(records, kind=EventKind.END):
        ends[e.chat] = ends.get(e.chat, 0) + 1
    left = {e.chat for e in events(records, kind=EventKind.ABANDON)}
    balked = {e.chat for e in events(records, kind=EventKind.BALK)}
    assert not left & balked and balked == set(records.balked_chat)
    for c in rows:
        if c.outcome == Outcome.OPEN:
            assert c.id not in ends
        else:
            assert ends[c.id] == 1, f"chat {c.id} ends {ends.get(c.id)} times"
        abandoned = c.outcome in (Outcome.ABANDONED, Outcome.ABANDONED_IN_TRANSFER)
        assert abandoned == (c.id in left or c.id in balked), f"chat {c.id}"
        if c.id in balked:
            assert c.outcome == Outcome.ABANDONED and math.isnan(c.connect)
            assert c.end == c.arrival
    by_id = {c.id: c for c in rows}
    assert set(records.retried_chat) <= {c.id for c in rows if c.outcome == Outcome.ABANDONED}
    assert len(records.retry_chat) <= len(records.retried_chat)
    for chat, first, attempt in zip(
        records.retry_chat, records.retry_first_arrival, records.retry_attempt, strict=True
    ):
        retry = scenario.directories[by_id[chat].directory].retry
        assert retry is not None and 2 <= attempt <= retry.max_attempts
        assert first < by_id[chat].arrival or (first == by_id[chat].arrival and attempt > 1)
    metrics = replication_metrics(records, {d: 60.0 for d in records.directories})
    for scope in [metrics.overall, *metrics.directories.values()]:
        assert identity_holds(scope)
        if "retrials" in scope:
            assert scope["retrials"] <= scope["offered"]


def issue_14_invariants_hold(data: dict[str, Any]) -> None:
    scenario = build(data)
    records = run_replication(scenario, 0)
    check_customers(scenario, records)
    check_agents(records, scenario, Timeline(records))  # no agent over capacity (R2)
    check_log_replays_within_capacity(records, scenario)
    again = run_replication(scenario, 0)
    assert same_records(records, again)  # same seed, same records


@FAST_SETTINGS
@given(scenarios_with_issue_14())
def test_r13_conservation_and_capacity_with_balks_retries_priorities_overflow(
    data: dict[str, Any],
) -> None:
    issue_14_invariants_hold(data)


@pytest.mark.slow
@SLOW
@given(scenarios_with_issue_14())
def test_r13_conservation_and_capacity_with_issue_14_fields_many(data: dict[str, Any]) -> None:
    issue_14_invariants_hold(data)


def test_retry_where_nobody_abandons_is_warned() -> None:
    from ccsim.scenario.warnings import scenario_warnings

    data = center([0], retry={"probability": 0.3, "after": 60})
    found = [str(w) for w in scenario_warnings(build(data))]
    assert any(w.startswith("directories.d.retry: customers here never abandon") for w in found)
    data["directories"]["d"]["patience"] = 60
    assert not any("never abandon" in str(w) for w in scenario_warnings(build(data)))
