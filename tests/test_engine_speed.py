"""The engine's speed-ups (issue 12, item 3) change no number.

:class:`ReferenceCenter` puts back the plain forms the speed-ups replaced: SimPy's own
``env.run``, one ``array.append`` per value (no packed rows), shift ends that scan every
live chat and open leg, offers returned by a scan of the queue, arrival instants from
the general piecewise loop. Every column of its records must equal the model's byte for
byte, on the shipped scenarios and on variants built to hit the rare paths (shift ends
and breaks while offers and invitations ring, missed offers returned to long queues
with abandoned entries). Exact timelines check the withdrawal order itself.

No timing is asserted: ``benchmarks/engine.py`` measures speed.
"""

from __future__ import annotations

import copy
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from ccsim.model import Center, Records, run_replication
from ccsim.model import center as center_module
from ccsim.model.center import Agent, Chat, DirectoryState, EventLog
from ccsim.model.randomness import _constant_rate_times, _piecewise_times, arrival_times
from ccsim.model.records import EventKind, Outcome
from ccsim.scenario import Scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class ReferenceCenter(Center):
    """The model without its speed-ups (see the module docstring)."""

    def _run_until(self, until: float) -> None:
        self.env.run(until=until)

    def _make_event_log(self) -> EventLog:
        if not self.record_events:
            return lambda kind, chat, agent, directory: None
        env, r = self.env, self.records

        def log(kind: int, chat: Any, agent: Any, directory: Any) -> None:
            r.event_time.append(env.now)
            r.event_chat.append(-1 if chat is None else chat.id)
            r.event_kind.append(kind)
            r.event_agent.append(-1 if agent is None else agent.index)
            r.event_directory.append(-1 if directory is None else directory.index)

        return log

    def _agent_changed(self, agent: Agent) -> None:
        now = self.env.now
        if now > agent.since:
            r = self.records
            r.interval_agent.append(agent.index)
            r.interval_start.append(agent.since)
            r.interval_end.append(now)
            r.interval_state.append(agent.state)
            r.interval_held.append(agent.held)
            agent.since = now

    def _record_chat(self, chat: Chat, end: float, outcome: Outcome) -> None:
        r = self.records
        r.chat_id.append(chat.id)
        r.chat_directory.append(chat.origin.index)
        r.chat_arrival.append(chat.arrival)
        r.chat_connect.append(chat.connected_at)
        r.chat_end.append(end)
        r.chat_outcome.append(outcome)
        r.chat_transfers.append(chat.transfers)
        r.chat_final_directory.append(chat.directory.index)

    def _shift_ends(self, agent: Agent) -> None:
        """As :meth:`Center._shift_ends` was: scans of every live chat and open leg."""
        self._agent_changed(agent)
        agent.on_shift = False
        agent.ramping = False
        agent.state = center_module.CLOSING if agent.held else center_module.OFFLINE
        self._refresh(agent)
        if not agent.held:
            return
        offered = [chat for chat in self.chats_live.values() if chat.offered_to is agent]
        for chat in offered:
            chat.offer_token += 1
            self._log(EventKind.WITHDRAW, chat, agent, chat.directory)
            self._return_offer(chat, agent)
        invited = [leg for leg in self.open_legs if leg.invitee is agent and leg.ringing]
        for leg in invited:
            leg.chat.offer_token += 1
            self._log(EventKind.WITHDRAW, leg.chat, agent, leg.chat.directory)
            self._invitation_failed(leg.chat, leg, agent)
        for directory in {chat.directory: None for chat in offered}:
            self._dispatch(directory)

    def _return_offer(self, chat: Chat, agent: Agent) -> None:
        """As it was: a scan for the first live chat enqueued later."""
        chat.offered_to = None
        agent.offers_ringing.pop(chat, None)
        directory: DirectoryState = chat.directory
        chat.queued_in = directory
        queue = directory.queue
        seq = chat.queue_seq
        later = (i for i, c in enumerate(queue) if c.queued_in is directory and c.queue_seq > seq)
        queue.insert(next(later, len(queue)), chat)
        directory.waiting += 1
        self._hold(agent, -1)

    def run(self) -> Records:  # type: ignore[override]
        original = center_module.arrival_times
        center_module.arrival_times = _general_arrival_times  # type: ignore[assignment]
        try:
            return super().run()  # type: ignore[return-value]
        finally:
            center_module.arrival_times = original


def _general_arrival_times(arrivals: Any, rng: np.random.Generator, busyness: float = 1.0) -> Any:
    """Arrival instants from the general loop, one rate or several."""
    if arrivals.times:
        return iter(arrivals.times)
    return _piecewise_times(arrivals, rng, busyness)


def columns(records: Records) -> dict[str, bytes]:
    return {
        name: value.tobytes() for name, value in vars(records).items() if isinstance(value, array)
    }


# --------------------------------------------------------------------------- scenarios


def retail() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / "retail.yaml").read_text())


def ringing_variants() -> Iterator[tuple[str, dict[str, Any]]]:
    """Variants of retail.yaml where shifts end while offers and invitations ring and
    missed offers go back to long queues holding abandoned chats."""
    base = retail()
    base["duration"] = "3h"
    base["warmup"] = 0

    data = copy.deepcopy(base)
    data["offer"] = {
        "response_time": {"dist": "exponential", "mean": "40s"},
        "no_answer_probability": 0.3,
        "no_answer_timeout": "30s",
        "not_ready_time": "20s",
    }
    for name in ("sales_team", "support_team"):
        spec = data["agents"][name]
        spec.pop("count", None)
        spec["max_chats"] = 3
        spec["shifts"] = [
            {"from": f"{m}m", "to": f"{m + 10}m", "count": 2 + (m // 10) % 4}
            for m in range(0, 180, 10)
        ]
    data["agents"]["supervisors"].pop("count", None)
    data["agents"]["supervisors"]["shifts"] = [
        {"from": f"{m}m", "to": f"{m + 5}m", "count": 1 + (m // 5) % 2} for m in range(0, 180, 5)
    ]
    data["transfers"][1]["probability"] = 0.4
    yield "shifts_while_ringing", data

    data = copy.deepcopy(base)  # overloaded: long queues, many abandoned (stale) entries
    data["agents"]["sales_team"]["count"] = 3
    data["directories"]["sales"]["arrivals"] = "200/h"
    data["directories"]["sales"]["patience"] = {"dist": "exponential", "mean": "3m"}
    data["offer"] = {
        "response_time": {"dist": "exponential", "mean": "20s"},
        "no_answer_probability": 0.4,
        "no_answer_timeout": "15s",
    }
    yield "returns_to_long_queues", data


def all_scenarios() -> list[tuple[str, Scenario]]:
    found = [
        (path.stem, yaml.safe_load(path.read_text()))
        for path in sorted(SCENARIOS.glob("**/*.yaml"))
    ]
    found += list(ringing_variants())
    return [(name, scenario_from_dict(data)) for name, data in found]


ALL = all_scenarios()


@pytest.mark.parametrize(("name", "scenario"), ALL, ids=[name for name, _ in ALL])
def test_records_equal_the_reference_byte_for_byte(name: str, scenario: Scenario) -> None:
    """Every speed-up at once: records of the model and of the plain reference agree,
    events included, over two seeds and two replications."""
    scenario = scenario.over_run()  # as run_replication runs it
    for seed, replication in ((1, 0), (7, 1)):
        expected = columns(ReferenceCenter(scenario, replication, seed).run())
        got = columns(Center(scenario, replication, seed).run())  # type: ignore[arg-type]
        for column, value in expected.items():
            assert got[column] == value, (name, seed, replication, column)


def test_the_variants_reach_the_rare_paths() -> None:
    """A test that cannot fail is a defect: the variants do withdraw ringing offers and
    invitations at shift ends, and return missed offers behind abandoned entries."""
    withdrawn_offers = withdrawn_invitations = returned = 0

    class Counting(Center):
        def _shift_ends(self, agent: Agent) -> None:
            nonlocal withdrawn_offers, withdrawn_invitations
            if agent.held:
                withdrawn_offers += len(agent.offers_ringing)
                withdrawn_invitations += sum(leg.ringing for leg in agent.invitations_ringing)
            super()._shift_ends(agent)

        def _return_offer(self, chat: Chat, agent: Agent) -> None:
            nonlocal returned
            directory = chat.directory
            if any(c.queued_in is not directory for c in directory.queue):
                returned += 1  # some abandoned entry is in the queue
            super()._return_offer(chat, agent)

    for name, scenario in ALL:
        if name in ("shifts_while_ringing", "returns_to_long_queues"):
            Counting(scenario, 0, 1).run()
    assert withdrawn_offers > 10 and withdrawn_invitations > 0 and returned > 10


# --------------------------------------------------------------------------- exact timelines


def _withdraw_timeline(max_chats: int = 3) -> Scenario:
    """One agent on shift for 100 s answering after 30 s; chats at 10, 20 and 95 s; a
    second agent from 100 s. The shift ends at 100 s while the chat of 95 s rings (the
    two earlier chats are in hand: 200 s of work each)."""
    return scenario_from_dict(
        {
            "name": "withdraw",
            "duration": "400s",
            "directories": {
                "queue": {"arrivals": {"times": [10, 20, 95]}, "handle_time": "200s"},
            },
            "agents": {
                "early": {
                    "directories": ["queue"],
                    "max_chats": max_chats,
                    "shifts": [{"from": "0s", "to": "100s", "count": 1}],
                },
                "late": {
                    "directories": ["queue"],
                    "max_chats": max_chats,
                    "shifts": [{"from": "100s", "to": "400s", "count": 1}],
                },
            },
            "offer": {"response_time": "30s", "no_answer_timeout": "60s"},
        }
    )


def _events(records: Records) -> list[tuple[float, int, str, int]]:
    return [
        (t, c, EventKind(k).name, a)
        for t, c, k, a in zip(
            records.event_time,
            records.event_chat,
            records.event_kind,
            records.event_agent,
            strict=True,
        )
    ]


def test_shift_end_withdraws_the_ringing_offer_and_the_next_agent_takes_it() -> None:
    records = run_replication(_withdraw_timeline(), 0, 1)
    events = _events(records)
    assert (100.0, 2, "WITHDRAW", 0) in events
    # chats 0 and 1 rang from 10 and 20 s and were answered at 40 and 50 s; chat 2 rang
    # from 95 s and went back to the queue at 100 s, to the late agent at once
    offers = [(t, k, c, a) for t, c, k, a in events if k in ("OFFER", "CONNECT")]
    assert offers == [
        (10.0, "OFFER", 0, 0), (20.0, "OFFER", 1, 0), (40.0, "CONNECT", 0, 0),
        (50.0, "CONNECT", 1, 0), (95.0, "OFFER", 2, 0), (100.0, "OFFER", 2, 1),
        (130.0, "CONNECT", 2, 1),
    ]  # fmt: skip
    assert list(records.chat_connect) == [40.0, 50.0, 130.0]


def test_shift_end_withdraws_ringing_offers_in_arrival_order() -> None:
    """Two offers ring at once when the shift ends: both are withdrawn, the earlier
    arrival first, and they keep their first-come order in the queue."""
    scenario = scenario_from_dict(
        {
            "name": "two_ringing",
            "duration": "400s",
            "directories": {"queue": {"arrivals": {"times": [80, 90]}, "handle_time": "50s"}},
            "agents": {
                "early": {
                    "directories": ["queue"],
                    "max_chats": 2,
                    "shifts": [{"from": "0s", "to": "100s", "count": 1}],
                },
                "late": {
                    "directories": ["queue"],
                    "max_chats": 1,
                    "shifts": [{"from": "100s", "to": "400s", "count": 1}],
                },
            },
            "offer": {"response_time": "30s", "no_answer_timeout": "60s"},
        }
    )
    events = _events(run_replication(scenario, 0, 1))
    withdrawn = [(t, c) for t, c, k, _ in events if k == "WITHDRAW"]
    assert withdrawn == [(100.0, 0), (100.0, 1)]
    # the late agent (one slot) takes chat 0 first, then chat 1 when chat 0 ends
    late_offers = [(t, c) for t, c, k, a in events if k == "OFFER" and a == 1]
    assert late_offers == [(100.0, 0), (180.0, 1)]


def test_a_missed_offer_goes_back_to_the_head_before_later_chats() -> None:
    """The head chat's offer is missed while later chats wait: it goes back to the
    head, ahead of the chats that came after it, and is offered first again."""
    scenario = scenario_from_dict(
        {
            "name": "missed",
            "duration": "600s",
            "directories": {
                "queue": {
                    "arrivals": {"times": [0, 1, 2, 3]},
                    "handle_time": "100s",
                    "patience": "5s",
                }
            },
            "agents": {"one": {"count": 1, "directories": ["queue"], "max_chats": 1}},
            "offer": {
                "response_time": "1s",
                "no_answer_probability": 1.0,
                "no_answer_timeout": "2s",
                "not_ready_time": "1s",
            },
        }
    )
    records = run_replication(scenario, 0, 1)
    events = _events(records)
    # chat 0 rings 0-2 s, missed; back at the head; the agent is ready again at 3 s and
    # is offered chat 0 again (not chat 1, 2 or 3), and so on until patience runs out
    offers = [(t, c) for t, c, k, _ in events if k == "OFFER"]
    assert offers[:2] == [(0.0, 0), (3.0, 0)]
    assert all(o == Outcome.ABANDONED for o in records.chat_outcome)


# --------------------------------------------------------------------------- arrivals


@pytest.mark.parametrize("rate", [0.15, 60.0, 3.3e-5, 7.0])
def test_constant_rate_arrivals_are_the_general_loops_to_the_bit(rate: float) -> None:
    """Block-wise instants (numpy's cumulative sum) equal the general loop's sums."""
    spec = (
        scenario_from_dict(
            {
                "name": "rate",
                "duration": "1h",
                "directories": {"queue": {"arrivals": rate, "handle_time": "1m"}},
                "agents": {"one": {"count": 1, "directories": ["queue"]}},
            }
        )
        .directories["queue"]
        .arrivals
    )
    assert spec is not None and len(spec.schedule) == 1
    fast = _constant_rate_times(rate, np.random.default_rng(3))
    general = _piecewise_times(spec, np.random.default_rng(3))
    for _ in range(3000):  # several blocks of draws
        assert next(fast) == next(general)
    fast = arrival_times(spec, np.random.default_rng(4), busyness=1.7)
    general = _piecewise_times(spec, np.random.default_rng(4), busyness=1.7)
    assert [next(fast) for _ in range(1500)] == [next(general) for _ in range(1500)]


def test_a_zero_rate_gives_no_arrivals() -> None:
    assert list(_constant_rate_times(0.0, np.random.default_rng(1))) == []


def test_packed_rows_reach_the_columns_across_flushes() -> None:
    """More chats than one flush holds (``PackedRows.limit``): the columns are whole."""
    scenario = scenario_from_dict(
        {
            "name": "many",
            "duration": "20h",
            "directories": {"queue": {"arrivals": "1000/h", "handle_time": "1m"}},
            "agents": {"many": {"count": 40, "directories": ["queue"], "max_chats": 1}},
        }
    )
    records = run_replication(scenario, 0, 2)
    assert records.chat_count > 2 * center_module.PackedRows.limit // 57  # 57 bytes a row
    expected = columns(ReferenceCenter(scenario, 0, 2).run())
    assert columns(records) == expected
