"""The contact center as a SimPy model: directories, agents, chats and transfers.

Each rule of docs/transfer-rules.md has one home, named in the method's docstring (search for
``R8``). Shifts are SimPy processes; arrivals and everything a chat goes through are
callbacks on SimPy timeouts. Why callbacks and not one process per chat: a chat's
future changes under it (the customer abandons while an offer is ringing, a slowdown
rescales the remaining work), and a versioned timer that simply ignores itself when it
is stale is both cheaper and clearer than interrupting generator processes.

Vocabulary: an agent *holds* a slot from the moment a chat or invitation is offered
until wrap-up ends; it is *connected* to the chats it is talking in. ``held`` never
exceeds ``max_chats`` (R2, R13).
"""

from __future__ import annotations

import gc
import math
import struct
import threading
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from heapq import heappop, heappush
from operator import attrgetter
from types import SimpleNamespace
from typing import Any, Literal, overload

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from ccsim.model.randomness import (
    arrival_times,
    busyness_factor,
    replication_seed,
    sampler,
    stream,
    uniform_sampler,
)
from ccsim.model.records import (
    AgentState,
    EventKind,
    LegKind,
    LegOutcome,
    Outcome,
    Records,
    Tallies,
)
from ccsim.model.start import StartState
from ccsim.scenario.schema import ZERO as NO_TIME
from ccsim.scenario.schema import (
    DeclineToDirectory,
    LeaveAfter,
    Scenario,
    ToDirectory,
    Transfer,
)

EventLog = Callable[[int, "Chat | None", "Agent | None", "DirectoryState | None"], None]
INF = math.inf
# Event codes as plain ints, written several times per chat: an IntEnum attribute lookup
# costs about as much as appending the value.
EVENT = SimpleNamespace(**{kind.name: int(kind) for kind in EventKind})
NAN = math.nan
READY, NOT_READY, CLOSING, OFFLINE = (int(s) for s in AgentState)
OPEN = int(Outcome.OPEN)
ABANDONED, ABANDONED_IN_TRANSFER = int(Outcome.ABANDONED), int(Outcome.ABANDONED_IN_TRANSFER)
LEG_CONNECTED, LEG_DECLINED = int(LegOutcome.CONNECTED), int(LegOutcome.DECLINED)
LEG_ABANDONED, LEG_OPEN = int(LegOutcome.ABANDONED), int(LegOutcome.OPEN)
CONFERENCE = int(LegKind.CONFERENCE)
DIRECTORY_LEGS = (int(LegKind.DIRECTORY_WARM), int(LegKind.DIRECTORY_COLD))

_gc_lock = threading.Lock()
_gc_pauses = 0  # runs in progress in this process (threads may run several at once)
_gc_resume = False  # whether to re-enable the collector when the last run ends


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run is in progress.

    The model creates no reference cycles while it runs (``tests/test_scale.py`` checks
    it): reference counting frees every chat, leg and timer, so the collector has nothing
    to find. But it still traverses every object that lives across one of its passes, and
    in a big center that is most of them (20,000 agents: tens of thousands of chats and
    timers alive at once), which cost about 40% of the run. Nested and concurrent runs
    (threads) share one pause; the collector's previous state comes back with the last.
    """
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


# A routing entry: (first key, second key, listing sequence, agent version, agent). The
# keys are (last_end, held) for longest_idle and invitations, (held, last_end) for
# least_busy; the sequence breaks ties as the old ordered set did (the agent listed
# earliest first) and makes entries unique, so agents are never compared. An entry is
# stale once its agent is unlisted or has a newer version.
Entry = tuple[float, float, int, int, "Agent"]


class RoutingOrder:
    """The listed agents of a directory (or invited group) in routing order (issue 12).

    A small order (``listed`` is a dict) is the ordered set of listed agents, scanned in
    full at each choice: with a few dozen agents a scan costs less than keeping keys in
    order. A large one keeps entries, with O(1) or O(log n) updates instead of a scan:
    entries mostly arrive in increasing order (an agent freed now has the latest
    ``last_end``), so they go to a sorted ``run`` (a deque: append and pop at the front
    cost O(1)); the few that arrive out of order go to a ``heap``. The first entry is the
    smaller of the two fronts. Stale entries are dropped when they reach a front, and
    both are compacted when they hold more than twice the agents (``limit``)."""

    __slots__ = ("heap", "least_busy", "limit", "listed", "run")

    def __init__(self, least_busy: bool = False) -> None:
        self.listed: dict[Agent, None] | None = None  # small: the listed agents, in order
        self.run: deque[Entry] = deque()
        self.heap: list[Entry] = []
        self.least_busy = least_busy
        self.limit = 64

    def __len__(self) -> int:
        return len(self.run) + len(self.heap)

    def compact(self) -> None:
        """Keep only current entries, all in the sorted run."""
        live = sorted(e for e in (*self.run, *self.heap) if e[3] == e[4].version and e[4].listed)
        self.run = deque(live)
        self.heap = []

    def agents(self) -> list[Agent]:
        """The listed agents in listing order, when every entry is current (as after a
        choice that found nobody)."""
        if self.listed is not None:
            return list(self.listed)
        return [e[4] for e in sorted((*self.run, *self.heap), key=lambda e: e[2])]


class DirectoryState:
    """A chat directory at run time: its FCFS queue and the agents who serve it."""

    __slots__ = (
        "after_transfer_decision",
        "after_transfer_handle",
        "agents",
        "automated_message",
        "balk",
        "boost",
        "first_decision",
        "first_handle",
        "free",
        "general",
        "has_wrap_up",
        "index",
        "levels",
        "name",
        "order",
        "orders",
        "overflow_after",
        "overflow_groups",
        "patience",
        "patience_in_transfer",
        "priority",
        "queue",
        "ramp_up",
        "retry",
        "retry_decision",
        "retry_handle",
        "retry_patience",
        "rules",
        "source",
        "timed",
        "waiting",
        "wrap_up",
    )

    def __init__(self, index: int, name: str) -> None:
        self.index = index
        self.name = name
        self.queue: deque[Chat] = deque()  # may hold stale entries; ``waiting`` is exact
        self.waiting = 0
        self.agents: list[Agent] = []
        # The agents who can take a chat (R2) in routing order, brought up to date at
        # each choice (``Center._flush``); ``free`` counts them exactly at all times.
        self.order = RoutingOrder()
        self.free = 0
        self.rules: list[tuple[float, RuleState]] = []  # cumulative probability, rule
        # Issue 14 (Center._routing_and_customers): off unless the scenario asks.
        self.priority = 0
        self.boost: tuple[float, int, float] | None = None  # every, by, up to
        self.general = False  # preference levels or overflow: _dispatch_general
        self.timed = False  # boost or overflow: chats remember when they entered
        self.orders: list[RoutingOrder] = []  # by preference level, most preferred first
        self.levels: list[DirectoryState] = []  # overflow levels (pseudo-directories)
        self.overflow_groups: frozenset[GroupState] | None = None
        self.source: DirectoryState | None = None  # of an overflow level: its directory
        self.overflow_after = 0.0  # of an overflow level: the wait before it sees a chat
        self.balk: tuple[float, int, Callable[[], float] | None] | None = None
        self.retry: tuple[float, float, Callable[[], float], Callable[[], float]] | None = None


class GroupState:
    """An agent group at run time (also the target of invitations, R6)."""

    __slots__ = (
        "decision",
        "index",
        "max_chats",
        "members",
        "name",
        "no_answer",
        "order",
        "order_of",
        "response",
        "rules",
        "views",
    )

    def __init__(self, index: int, name: str, max_chats: int) -> None:
        self.index = index
        self.name = name
        self.max_chats = max_chats
        self.members: list[Agent] = []
        # Members who can be invited, longest idle first; kept only for groups that a
        # rule invites (``Agent.routes``).
        self.order = RoutingOrder()
        # rules its members apply after receiving an agent transfer (R7)
        self.rules: list[tuple[float, RuleState]] = []
        # a directory's routing order for this group's level, when split by preference
        self.order_of: dict[DirectoryState, RoutingOrder] = {}
        # (queue, wait before it is seen, preference level) for Center._agent_free_general
        self.views: list[tuple[DirectoryState, float, int]] = []


def _merged(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A member's break windows with those that touch (one ends as the next starts)
    joined into one: the agent stays away across the seam instead of coming back for no
    time at all."""
    merged: list[tuple[float, float]] = []
    for begin, end in sorted(windows):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


_NO_JOBS: list[Job] = []  # agents without a slowdown never have jobs: one shared empty list


class Agent:
    """One agent with ``max_chats`` slots (R2)."""

    __slots__ = (
        "connected",
        "directories",
        "dirty",
        "factor",
        "general",
        "group",
        "held",
        "index",
        "invitations_ringing",
        "jobs",
        "last_end",
        "listed",
        "max_chats",
        "not_ready_token",
        "offers_ringing",
        "on_break",
        "on_shift",
        "ramp_until",
        "ramping",
        "ready",
        "routes",
        "scans",
        "seq",
        "since",
        "slowdown",
        "state",
        "version",
    )

    def __init__(self, index: int, group: GroupState, slowdown: tuple[float, ...] | None) -> None:
        self.index = index
        self.group = group
        self.max_chats = group.max_chats
        self.directories: list[DirectoryState] = []
        self.held = 0
        self.connected = 0
        self.ready = True
        self.not_ready_token = 0  # a newer miss makes older "Ready again" timers stale (R4)
        self.on_shift = False
        self.on_break = False  # off shift for a break; the shift resumes after it
        self.listed = False
        self.seq = 0  # when last listed: ties in routing go to the agent listed earliest
        self.version = 0  # routing entries of an older version are stale
        self.dirty = False  # listed or re-keyed since its routing entries were last added
        self.general = False  # chooses by priority, preference or overflow (issue 14)
        self.routes: list[RoutingOrder] = []  # the large routing orders the agent is in
        self.scans: list[dict[Agent, None]] = []  # the ordered sets of the small ones
        self.last_end = -INF
        self.ramp_until = -INF
        self.ramping = False
        self.state = OFFLINE
        self.since = 0.0
        self.slowdown = slowdown
        self.factor = 1.0
        self.jobs: list[Job] = [] if slowdown is not None else _NO_JOBS
        # Offers and invitations ringing at this agent after an alert was scheduled (an
        # instant answer never rings): what a shift end withdraws, without a scan of
        # every live chat or open leg.
        self.offers_ringing: dict[Chat, None] = {}
        self.invitations_ringing: dict[Leg, None] = {}


class RuleState:
    """A transfer rule with its random streams."""

    __slots__ = (
        "at",
        "consult",
        "duration",
        "kind",
        "leave",
        "rule",
        "target_directory",
        "target_group",
    )

    def __init__(self, rule: Transfer) -> None:
        self.rule = rule


class Chat:
    """One customer's chat session."""

    __slots__ = (
        "arrival",
        "connected_at",
        "directory",
        "ended",
        "first_decision",
        "first_work",
        "id",
        "lead",
        "leg",
        "measured",
        "offer_token",
        "offered_to",
        "origin",
        "participants",
        "patience_token",
        "people_since",
        "queue_seq",
        "queued_at",
        "queued_in",
        "remaining",
        "rule",
        "time_alone",
        "time_crowded",
        "tracked_legs",
        "transfers",
    )

    def __init__(self, chat_id: int, directory: DirectoryState, now: float) -> None:
        self.id = chat_id
        self.origin = directory
        self.directory = directory
        self.arrival = now
        self.connected_at = NAN
        self.participants: dict[Agent, DirectoryState] = {}
        self.queued_in: DirectoryState | None = None
        self.queue_seq = 0  # FCFS position: enqueue order, kept when an offer returns (R3)
        self.offered_to: Agent | None = None
        self.offer_token = 0
        self.patience_token = 0
        self.lead: Agent | None = None
        self.leg: Leg | None = None
        self.rule: RuleState | None = None
        self.remaining = 0.0
        self.transfers = 0
        self.ended = False
        # Time with nobody / two or more connected, integrated only while a transfer or
        # conference leg is open (``tracked_legs``): legs read differences of these.
        self.tracked_legs = 0
        self.people_since = now
        self.time_alone = 0.0
        self.time_crowded = 0.0


class Leg:
    """One transfer or conference in progress (R6-R8)."""

    __slots__ = (
        "alone_before",
        "chat",
        "confirm",
        "connected",
        "crowded_before",
        "invitee",
        "inviter",
        "inviter_left",
        "kind",
        "requested",
        "ringing",
        "rule",
        "source",
        "target_directory",
        "target_group",
        "tried",
    )

    def __init__(
        self, chat: Chat, kind: LegKind, inviter: Agent, now: float, confirm: float
    ) -> None:
        self.chat = chat
        self.confirm = confirm
        self.kind = kind
        self.inviter = inviter
        self.requested = now
        self.source = chat.directory
        self.connected = NAN
        self.inviter_left = NAN
        self.invitee: Agent | None = None
        self.target_directory: DirectoryState | None = None
        self.target_group: GroupState | None = None
        self.rule: RuleState | None = None
        self.tried: list[Agent] = []
        self.ringing = False  # the invitation alerts the invitee now (not consulting)
        self.alone_before = 0.0  # the chat's time_alone / time_crowded when the leg opened
        self.crowded_before = 0.0


class Job:
    """Handling work in progress for an agent with a slowdown (processor sharing)."""

    __slots__ = ("chat", "remaining", "then", "token", "updated")

    def __init__(self, chat: Chat, remaining: float, then: Callable[[Chat], None], now: float):
        self.chat = chat
        self.remaining = remaining  # work left, in seconds at factor 1
        self.then = then
        self.token = 0
        self.updated = now


def _fire(call: Call) -> None:
    call.fn(*call.args)


class Call:
    """``fn(*args)`` at a set time: the least that SimPy's event loop needs from an event
    (``Environment.step`` takes its ``callbacks`` and checks ``_ok``). A ``Timeout`` would
    do the same with two more objects per event and a Python ``__init__``: in a big center
    tens of thousands of these wait in the queue at once, so their size counts."""

    __slots__ = ("args", "callbacks", "fn")
    _ok = True  # it never fails
    callbacks: tuple[Callable[[Call], None], ...] | None
    fn: Callable[..., Any]
    args: tuple[Any, ...]


FIRE = (_fire,)  # shared: SimPy reads an event's callbacks once, then sets them to None


def _fire_chat(call: ChatCall) -> None:
    call.fn(call.chat)


class ChatCall:
    """``fn(chat)`` at a set time: the end of a chat's handling work, the one timer that
    every busy slot keeps waiting (a :class:`Call` would add an argument tuple)."""

    __slots__ = ("callbacks", "chat", "fn")
    _ok = True
    callbacks: tuple[Callable[[ChatCall], None], ...] | None
    fn: Callable[[Chat], None]
    chat: Chat


FIRE_CHAT = (_fire_chat,)
_CHAT_ID = attrgetter("id")
_QUEUE_SEQ = attrgetter("queue_seq")

# struct/numpy codes of the array typecodes used by Records (standard sizes, native order)
_ROW_CODES = {"d": "f8", "q": "i8", "b": "i1"}


class PackedRows:
    """Rows for a few ``array`` columns, packed into one ``bytearray`` as the run goes.

    ``array.append`` converts its value with ``PyArg_Parse``, which costs more than the
    append itself, and a chat writes about 50 values (six events, two agent intervals,
    its own row): one ``struct`` call per row costs about half as much as appending the
    values one by one (counted with cachegrind). :meth:`flush` moves the rows into the
    columns (numpy splits the fields), whenever the buffer passes ``limit`` bytes and at
    the end of the run, so memory stays about that of the columns. ``add(pack(...))``
    is the hot path, both bound once."""

    __slots__ = ("add", "buffer", "columns", "dtype", "pack")
    limit = 1 << 18  # bytes

    def __init__(self, columns: Sequence[array]) -> None:
        self.columns = columns
        self.pack = struct.Struct("=" + "".join(c.typecode for c in columns)).pack
        self.dtype = np.dtype(
            [(f"c{i}", "=" + _ROW_CODES[c.typecode]) for i, c in enumerate(columns)]
        )
        self.buffer = bytearray()
        self.add = self.buffer.extend

    def flush(self) -> None:
        """Append the packed rows to their columns and empty the buffer."""
        if not self.buffer:
            return
        rows = np.frombuffer(self.buffer, self.dtype)
        for name, column in zip(self.dtype.names, self.columns, strict=True):
            column.frombytes(rows[name].tobytes())
        del rows  # releases the buffer, which can then shrink
        self.buffer.clear()


class Center:
    """One replication of a scenario. Build it, call :meth:`run`, read :attr:`records`.

    With ``tables=True`` (the default) :attr:`records` are full :class:`Records`: a row
    per chat, leg, agent state interval and (with ``record_events``) event, which tables,
    per-interval metrics (staffing by hour, time series) and the rule tests read. With
    ``tables=False`` they are :class:`Tallies`: only what the whole-run metrics need,
    accumulated as the run goes, for runs too long to keep every row (no event log).
    Either way the simulation is the same, draw for draw.
    """

    records: Records | Tallies
    #: Routing orders of at most this many agents are scanned at each choice; larger ones
    #: keep their agents in order (:class:`RoutingOrder`). Both choose the same agent.
    scan_agents = 64

    def __init__(
        self,
        scenario: Scenario,
        replication: int = 0,
        seed: int | None = None,
        record_events: bool = True,
        tables: bool = True,
        start: StartState | None = None,
    ) -> None:
        self.scenario = scenario
        self.env = simpy.Environment()
        self.root = replication_seed(scenario.seed if seed is None else seed, replication)
        self.start = start if start is not None and not start.empty else None
        # The day's factor, from a stream of its own: scenarios that differ elsewhere
        # get the same factor in the same replication (common random numbers).
        self.busyness = (
            busyness_factor(scenario.busyness, stream(self.root, "busyness", "day"))
            if scenario.busyness is not None
            else None
        )
        self.record_events = record_events and tables
        self.tables = tables
        self.max_transfers = scenario.max_transfers
        self.chats_live: dict[int, Chat] = {}
        self.open_legs: dict[Leg, int] = {}  # open legs, each with its opening number
        self.next_leg_seq = 0
        self.next_chat_id = 0
        self.next_queue_seq = 0
        self.next_list_seq = 0
        self.dirty: list[Agent] = []  # agents whose routing entries are not up to date
        self.breaks_due: dict[float, list[tuple[Agent, float, float]]] = {}  # by instant
        offer = scenario.offer
        self.no_answer_timeout = offer.no_answer_timeout
        self.no_answer_probability = offer.no_answer_probability
        self.not_ready_time = offer.not_ready_time

        names = tuple(scenario.directories)
        self.directories = {name: DirectoryState(i, name) for i, name in enumerate(names)}
        for name, spec in scenario.directories.items():
            state = self.directories[name]
            state.patience = sampler(spec.patience, stream(self.root, "patience", name))
            state.patience_in_transfer = sampler(
                spec.patience, stream(self.root, "patience_in_transfer", name)
            )
            state.first_handle = sampler(spec.handle_time, stream(self.root, "handle", name))
            state.after_transfer_handle = sampler(
                spec.handle_time, stream(self.root, "handle_after_transfer", name)
            )
            state.first_decision = uniform_sampler(stream(self.root, "transfer_decision", name))
            state.after_transfer_decision = uniform_sampler(
                stream(self.root, "decision_after_transfer", name)
            )
            state.wrap_up = sampler(spec.wrap_up, stream(self.root, "wrap_up", name))
            state.has_wrap_up = spec.wrap_up != NO_TIME  # R11: WRAP_UP_END after every LEAVE
            state.ramp_up = spec.ramp_up
            state.order.least_busy = spec.routing == "least_busy"
            state.automated_message = spec.automated_message

        self.groups: dict[str, GroupState] = {}
        self.agents: list[Agent] = []
        agent_group: list[int] = []
        agent_member: list[int] = []
        for g, (name, spec) in enumerate(scenario.agents.items()):
            group = GroupState(g, name, spec.max_chats)
            rng = stream(self.root, "offer", name)
            group.response = sampler(offer.response_time, rng)
            group.no_answer = uniform_sampler(rng) if offer.no_answer_probability > 0 else None
            group.decision = uniform_sampler(stream(self.root, "group_transfer_decision", name))
            self.groups[name] = group
            served = [self.directories[d] for d in spec.directories]  # shared by the members
            for member in range(spec.size):
                agent = Agent(len(self.agents), group, spec.slowdown)
                agent.directories = served
                for directory in agent.directories:
                    directory.agents.append(agent)
                group.members.append(agent)
                self.agents.append(agent)
                agent_group.append(g)
                agent_member.append(member)

        for i, rule in enumerate(scenario.transfers):
            state = RuleState(rule)
            key = f"{i}:{rule.source_label}"
            rng = stream(self.root, "transfer", key)
            state.at = sampler(rule.at, rng)
            state.consult = sampler(rule.consult, rng) if rule.consult is not None else None
            state.duration = sampler(rule.duration, rng) if rule.duration is not None else None
            state.target_directory = (
                self.directories[rule.to.directory] if isinstance(rule.to, ToDirectory) else None
            )
            state.target_group = (
                None if isinstance(rule.to, ToDirectory) else self.groups[rule.to.group]
            )
            source_group = rule.source_group
            source = (
                self.directories[rule.source_directory]
                if source_group is None
                else self.groups[source_group]
            )
            cumulative = (source.rules[-1][0] if source.rules else 0.0) + rule.probability
            source.rules.append((cumulative, state))

        self._routing_and_customers(scenario)
        # Routing orders: every directory's, and the group's when a rule invites it (R6).
        invited = {
            rule.to.group for rule in scenario.transfers if not isinstance(rule.to, ToDirectory)
        }
        for owner in [*self.directories.values(), *self.groups.values()]:
            size = len(owner.agents if isinstance(owner, DirectoryState) else owner.members)
            owner.order.limit = 2 * size + 64
            if size <= self.scan_agents:
                owner.order.listed = {}
        for name, group in self.groups.items():
            orders = (
                [group.order_of.get(d, d.order) for d in group.members[0].directories]
                if group.members
                else []
            )
            if name in invited:
                orders.append(group.order)
            routes = [o for o in orders if o.listed is None]  # shared by the members
            scans = [o.listed for o in orders if o.listed is not None]
            for agent in group.members:
                agent.routes = routes
                agent.scans = scans

        self.records = (Records if tables else Tallies)(
            directories=names,
            groups=tuple(self.groups),
            agent_group=tuple(agent_group),
            agent_member=tuple(agent_member),
            group_max_chats=tuple(g.max_chats for g in self.groups.values()),
            duration=scenario.duration,
            warmup=scenario.warmup,
            replication=replication,
            busyness=self.busyness,
            initial_waiting=len(self.start.waiting) if self.start else 0,
            initial_held=len(self.start.held) if self.start else 0,
        )
        if not tables:  # accumulate instead of appending rows
            self._agent_changed = self._tally_interval  # type: ignore[method-assign]
            self._record_chat = self._tally_chat  # type: ignore[method-assign]
            self._record_leg = self._tally_leg  # type: ignore[method-assign]
        self._customer_records(scenario)
        self._schedule = self._make_scheduler()
        # bound once: one method object each, not one per chat
        self.finish = self._finish
        self.arrival = self._arrival
        self.accept_offer = self._accept_offer
        self.offer_missed = self._offer_missed
        self._rows: list[PackedRows] = []
        if tables:  # packed rows of the busiest tables: PackedRows
            r = self.records
            self._chat_rows = self._packed(
                r.chat_id, r.chat_directory, r.chat_arrival, r.chat_connect, r.chat_end,
                r.chat_outcome, r.chat_transfers, r.chat_final_directory,
            )  # fmt: skip
            self._interval_rows = self._packed(
                r.interval_agent, r.interval_start, r.interval_end, r.interval_state,
                r.interval_held,
            )  # fmt: skip
        self._log = self._make_event_log()

    # ------------------------------------------------------------------ plumbing

    def _make_scheduler(self) -> Callable[..., None]:
        """``schedule(delay, fn, *args)``: call ``fn(*args)`` after ``delay`` seconds.

        What ``env.schedule(call, NORMAL, delay)`` does, without its Python call: the same
        entry (time, priority, next event id, event) in SimPy's queue."""
        env = self.env
        queue, ids = env._queue, env._eid

        def schedule(delay: float, fn: Callable[..., Any], *args: Any) -> None:
            call = Call()
            call.callbacks = FIRE
            call.fn = fn
            call.args = args
            heappush(queue, (env._now + delay, NORMAL, next(ids), call))

        return schedule

    def _packed(self, *columns: array) -> PackedRows:
        rows = PackedRows(columns)
        self._rows.append(rows)
        return rows

    def _flush_rows(self) -> None:
        """Move every packed row into its column (:class:`PackedRows`)."""
        for rows in self._rows:
            rows.flush()

    def _make_event_log(self) -> EventLog:
        """``log(kind, chat, agent, directory)``: one row of the event log, or nothing when
        events are not recorded. It runs several times per chat, so the columns' appends
        are bound once here."""
        if not self.record_events:
            return lambda kind, chat, agent, directory: None
        env = self.env
        r = self.records
        rows = self._packed(
            r.event_time, r.event_chat, r.event_kind, r.event_agent, r.event_directory
        )
        add, pack = rows.add, rows.pack

        def log(
            kind: int, chat: Chat | None, agent: Agent | None, directory: DirectoryState | None
        ) -> None:
            add(
                pack(
                    env._now,
                    -1 if chat is None else chat.id,
                    kind,
                    -1 if agent is None else agent.index,
                    -1 if directory is None else directory.index,
                )
            )

        return log

    def _agent_changed(self, agent: Agent) -> None:
        """Close the agent's current state interval; call before changing state or held."""
        now = self.env._now
        if now > agent.since:
            rows = self._interval_rows
            rows.add(rows.pack(agent.index, agent.since, now, agent.state, agent.held))
            agent.since = now

    def _refresh(self, agent: Agent) -> None:
        """Keep the agent *listed* (available) exactly when a chat may be offered (R2).

        Listing takes a new sequence number: among agents with equal routing keys the one
        listed earliest is chosen, and an agent keeps its place while it stays listed.
        The routing orders are brought up to date at the next choice (``_flush``)."""
        available = (
            agent.on_shift
            and agent.ready
            and agent.held < agent.max_chats
            and agent.ramp_until <= self.env._now
        )
        if available == agent.listed:
            return
        agent.listed = available
        if available:
            for directory in agent.directories:
                directory.free += 1
            for listed in agent.scans:
                listed[agent] = None
            if agent.routes:
                agent.seq = self.next_list_seq
                self.next_list_seq += 1
                if not agent.dirty:
                    agent.dirty = True
                    self.dirty.append(agent)
        else:
            for directory in agent.directories:
                directory.free -= 1
            for listed in agent.scans:
                del listed[agent]

    def _hold(self, agent: Agent, change: int) -> None:
        self._agent_changed(agent)
        agent.held += change
        if agent.state == CLOSING and agent.held == 0:
            agent.state = OFFLINE
        self._refresh(agent)
        if agent.listed and not agent.dirty and agent.routes:  # still listed, new key
            agent.dirty = True
            self.dirty.append(agent)

    def _flush(self) -> None:
        """Add a current entry for every agent listed or re-keyed since the last choice
        (an agent listed and taken again in between costs nothing here), invalidating
        its older entries; orders grown past twice their agents are compacted."""
        full: list[RoutingOrder] = []
        for agent in self.dirty:
            agent.dirty = False
            if not agent.listed:
                continue
            agent.version += 1
            idle = (agent.last_end, agent.held, agent.seq, agent.version, agent)
            busy = None
            for order in agent.routes:
                if order.least_busy:
                    if busy is None:
                        busy = (agent.held, agent.last_end, agent.seq, agent.version, agent)
                    entry = busy
                else:
                    entry = idle
                run = order.run
                if not run or entry > run[-1]:
                    run.append(entry)
                else:
                    heappush(order.heap, entry)
                if len(run) + len(order.heap) > order.limit:
                    full.append(order)
        self.dirty.clear()
        for order in full:
            if len(order) > order.limit:  # not compacted yet
                order.compact()

    # ------------------------------------------------------------------ run

    def run(self) -> Records | Tallies:
        """Simulate until the scenario's duration, then close every open record."""
        env = self.env
        if self.start is not None:
            self._initial_state(self.start)
        factor = 1.0 if self.busyness is None else self.busyness
        for name, spec in self.scenario.directories.items():
            if spec.arrivals is not None:
                rng = stream(self.root, "arrivals", name)
                instants = arrival_times(spec.arrivals, rng, factor)
                self._next_arrival(self.directories[name], instants)
        for name, spec in self.scenario.agents.items():
            env.process(self._staffing(self.groups[name], spec))
        with cyclic_gc_paused():
            self._run_until(self.scenario.duration)
            self._finalize()
            self._flush_rows()
        return self.records

    def _run_until(self, until: float) -> None:
        """``env.run(until=until)``, with the model's own timers fired here directly.

        Every chat costs two or more timers, and SimPy's ``step`` adds two Python calls
        to each (``step`` itself and the event's callback): firing a :class:`ChatCall` or
        :class:`Call` inline saves them. Other events (the shift processes' timeouts) go
        through ``env.step`` as before. Same order as SimPy: the queue is popped by
        (time, priority, event id); ``run(until=)`` stops at an urgent event at ``until``
        scheduled first, so no event at ``until`` runs (the model schedules no urgent
        event of its own), and the clock is left at ``until``. SimPy has no public way
        to pop its queue or set its clock, hence ``_queue`` and ``_now`` (hot paths also
        read ``_now``: the ``now`` property costs a call).
        """
        env = self.env
        queue = env._queue
        step = env.step
        while queue and queue[0][0] < until:
            event = queue[0][3]
            kind = event.__class__
            if kind is ChatCall:
                env._now = heappop(queue)[0]
                event.fn(event.chat)
            elif kind is Call:
                env._now = heappop(queue)[0]
                event.fn(*event.args)
            else:
                step()
        env._now = until

    def _next_arrival(self, directory: DirectoryState, instants: Iterator[float]) -> None:
        """R1: customers start chats at a directory (Poisson, piecewise-constant rate).
        Each arrival schedules the next: a chain of timeouts is cheaper than a process."""
        instant = next(instants, INF)
        if instant < self.scenario.duration:
            self._schedule(instant - self.env._now, self.arrival, directory, instants)

    def _arrival(self, directory: DirectoryState, instants: Iterator[float]) -> None:
        """An arrival, then :meth:`_next_arrival` (inlined: once per chat)."""
        self._arrive(directory)
        instant = next(instants, INF)
        if instant < self.scenario.duration:
            self._schedule(instant - self.env._now, self.arrival, directory, instants)

    def _staffing(self, group: GroupState, spec: Any) -> Any:
        """Shifts: agent i works in every shift whose count exceeds i (after shrinkage:
        ``AgentGroup.on_shift``), with the shift's breaks."""
        env = self.env
        if spec.shifts is None:
            for agent in group.members[: spec.on_shift(len(group.members))]:
                self._shift_starts(agent)
            return
        changes = sorted({s.start for s in spec.shifts} | {s.end for s in spec.shifts})
        for instant in changes:
            if instant > env.now:
                yield env.timeout(instant - env.now)
            count = spec.on_shift(sum(s.count for s in spec.shifts if s.start <= instant < s.end))
            # A break that starts with the shift wins over the start: the member is not
            # Ready for an instant (and offered a chat) before it.
            resting: dict[Agent, tuple[float, float]] = {}
            for shift in spec.shifts:
                if shift.start == instant and shift.breaks:
                    for i, agent in enumerate(group.members[:count]):
                        for begin, end in _merged(shift.break_windows(i)):
                            if begin == instant:
                                resting[agent] = (end, shift.end)
                            else:
                                self._break_at(begin - instant, agent, end, shift.end)
            for i, agent in enumerate(group.members):
                if resting and agent in resting:
                    until, shift_end = resting[agent]
                    if agent.on_shift:  # on from the shift before: a break as usual
                        self._break_at(0.0, agent, until, shift_end)
                    else:
                        agent.on_break = True
                        self._schedule(until - instant, self._break_ends, agent, shift_end)
                elif i < count and not agent.on_shift and not agent.on_break:
                    self._shift_starts(agent)
                elif i >= count and agent.on_shift:
                    self._shift_ends(agent)

    def _break_at(self, delay: float, agent: Agent, until: float, shift_end: float) -> None:
        """Schedule a break's start. Every break of one instant starts in one call, first
        among the events of that instant (SimPy's URGENT): a chat withdrawn from one agent
        going on break is never offered to another going on break at the same instant,
        and an agent Ready again, a chat arriving or a break ending then finds them
        already away."""
        when = self.env.now + delay
        due = self.breaks_due.get(when)
        if due is None:
            due = self.breaks_due[when] = []
            call = Call()
            call.callbacks = FIRE
            call.fn = self._breaks_start
            call.args = (when,)
            self.env.schedule(call, URGENT, delay)
        due.append((agent, until, shift_end))

    def _breaks_start(self, when: float) -> None:
        """Breaks: each agent leaves exactly as at a shift end (chats in hand finished,
        ringing offers withdrawn, R2/R4) and comes back at its ``until``. All of them
        are unlisted first, so that no withdrawn chat goes to one of them."""
        # not on shift after all (an initial hold, say): nothing to pause
        leaving = [entry for entry in self.breaks_due.pop(when) if entry[0].on_shift]
        for agent, _until, _end in leaving:
            agent.on_break = True
            agent.on_shift = False
            self._refresh(agent)
            agent.on_shift = True  # for _shift_ends, which ends it for good below
        for agent, until, shift_end in leaving:
            self._shift_ends(agent)
            self._schedule(until - self.env.now, self._break_ends, agent, shift_end)

    def _break_ends(self, agent: Agent, shift_end: float) -> None:
        agent.on_break = False
        if self.env.now < shift_end and not agent.on_shift:
            self._shift_starts(agent)

    #: Draws of an initial chat's patience until one exceeds the time already waited.
    initial_patience_tries = 100

    def _initial_state(self, start: StartState) -> None:
        """The chats in the center at time 0 (``ccsim run --initial``).

        Waiting chats queue longest-waited first (ties in the order given), their arrival
        set back by the time already waited: it counts toward their waits, and their
        patience is drawn until it exceeds that time (they are still there; after
        ``initial_patience_tries`` draws that do not, they leave at once). Held chats are
        connected to their agent at 0 with their work left, then end (wrap-up owed, no
        transfer); an agent off shift at 0 is closing until they end. Every draw comes
        from streams of their own, so the regular arrivals draw as in a run without them.
        """
        rngs: dict[str, tuple[Callable[[], float], Callable[[], float], Callable[[], float]]] = {}
        ranked = sorted(start.waiting, key=lambda item: -item.waited)  # stable: ties as given
        for item in ranked:
            directory = self.directories[item.directory]
            if item.directory not in rngs:
                spec = self.scenario.directories[item.directory]
                rngs[item.directory] = (
                    sampler(spec.patience, stream(self.root, "initial_patience", item.directory)),
                    sampler(spec.handle_time, stream(self.root, "initial_handle", item.directory)),
                    uniform_sampler(stream(self.root, "initial_decision", item.directory)),
                )
            patience, handle, decision = rngs[item.directory]
            chat = Chat(self.next_chat_id, directory, -item.waited)
            self.next_chat_id += 1
            chat.first_work = handle()
            chat.first_decision = decision()
            self.chats_live[chat.id] = chat
            self._log(EVENT.ARRIVE, chat, None, directory)
            drawn = patience()
            for _ in range(self.initial_patience_tries - 1):
                if drawn > item.waited:
                    break
                drawn = patience()
            self._set_patience(chat, max(drawn - item.waited, 0.0))
            self._enqueue(chat, directory, dispatch=False)  # served once agents start
        for held in start.held:
            agent = self.groups[held.group].members[held.member]
            directory = self.directories[held.directory]
            chat = Chat(self.next_chat_id, directory, NAN)  # arrived before the run
            self.next_chat_id += 1
            chat.connected_at = 0.0
            self.chats_live[chat.id] = chat
            self._log(EVENT.ARRIVE, chat, None, directory)
            self._log(EVENT.OFFER, chat, agent, directory)
            self._hold(agent, +1)
            if not agent.on_shift:
                agent.state = CLOSING  # finishing chats in hand until its shift starts
            self._connect(chat, agent, directory)
            chat.lead = agent
            self._work(agent, chat, held.work_left, self.finish)

    def _shift_starts(self, agent: Agent) -> None:
        self._agent_changed(agent)
        agent.on_shift = True
        if agent.ready:
            agent.state = READY
            self._becomes_ready(agent)
        else:
            agent.state = NOT_READY
            self._refresh(agent)

    def _shift_ends(self, agent: Agent) -> None:
        """An agent at the end of a shift finishes the chats in hand and takes no new ones;
        offers and invitations still ringing are withdrawn (R2/R4): an offered chat goes
        back to its place in the queue, an invitation counts as declined (R6)."""
        self._agent_changed(agent)
        agent.on_shift = False
        agent.ramping = False
        agent.state = CLOSING if agent.held else OFFLINE
        self._refresh(agent)
        if not agent.held:
            return
        # In arrival order (chat ids), as a scan of the live chats would find them.
        offered = sorted(agent.offers_ringing, key=_CHAT_ID)
        for chat in offered:
            chat.offer_token += 1  # the ringing alert is void
            self._log(EVENT.WITHDRAW, chat, agent, chat.directory)
            self._return_offer(chat, agent)
        invited = sorted(  # in the order the legs opened, as a scan of the open legs would
            (
                leg
                for leg in agent.invitations_ringing
                if leg in self.open_legs and leg.invitee is agent and leg.ringing
            ),
            key=self.open_legs.__getitem__,
        )
        for leg in invited:
            leg.chat.offer_token += 1
            self._log(EVENT.WITHDRAW, leg.chat, agent, leg.chat.directory)
            self._invitation_failed(leg.chat, leg, agent)
        for directory in {chat.directory: None for chat in offered}:
            self._dispatch(directory)

    # ------------------------------------------------------------ R1-R5: queue, routing, offers

    def _arrive(self, directory: DirectoryState) -> None:
        """R1: a new chat; its first-leg draws are taken now, in arrival order (CRN)."""
        now = self.env._now
        chat = Chat(self.next_chat_id, directory, now)
        self.next_chat_id += 1
        chat.first_work = directory.first_handle()
        chat.first_decision = directory.first_decision()
        self.chats_live[chat.id] = chat
        self._log(EVENT.ARRIVE, chat, None, directory)
        patience = directory.patience()  # drawn even if the customer balks (CRN)
        if directory.balk is not None and self._balks(chat, directory):
            return
        self._set_patience(chat, patience)
        self._enqueue(chat, directory)

    def _set_patience(self, chat: Chat, patience: float) -> None:
        """R1/R12: the customer gives up after ``patience`` unless an agent connects first."""
        chat.patience_token += 1
        if patience < INF:
            self._schedule(patience, self._patience_expired, chat, chat.patience_token)

    def _enqueue(self, chat: Chat, directory: DirectoryState, dispatch: bool = True) -> None:
        """R3: chats queue first come, first served."""
        chat.queued_in = directory
        chat.queue_seq = self.next_queue_seq
        self.next_queue_seq += 1
        chat.directory = directory
        directory.queue.append(chat)
        directory.waiting += 1
        if directory.timed:  # boost or overflow: the wait in this queue counts
            self._entered(chat, directory)
        self._log(EVENT.QUEUE, chat, None, directory)
        if dispatch:
            self._dispatch(directory)

    def _dispatch(self, directory: DirectoryState) -> None:
        """R2/R3: offer queued chats to eligible agents chosen by the routing policy."""
        if directory.general:
            self._dispatch_general(directory)
            return
        queue = directory.queue
        while directory.waiting and directory.free:
            while queue[0].queued_in is not directory:  # _head, inlined (once per chat)
                queue.popleft()
            chat = queue[0]
            agent = self._pick(directory.order, chat.participants, ())
            if agent is None:  # the free agents are all in the head chat (R8 warm inviter)
                # A failed choice leaves exactly the listed agents' entries in the order.
                for agent in directory.order.agents():
                    self._agent_free(agent)
                return
            queue.popleft()  # _pop of the live head
            chat.queued_in = None
            directory.waiting -= 1
            self._offer(chat, agent, directory)

    def _pick(
        self,
        order: RoutingOrder,
        participants: dict[Agent, DirectoryState],
        tried: list[Agent] | tuple[()],
    ) -> Agent | None:
        """R3: ``longest_idle`` (last chat ended longest ago, then fewest chats) or
        ``least_busy`` (fewest chats, then longest idle); ties go to the first listed.
        An agent already connected to the chat (or already invited, ``tried``) is
        passed over. The chosen agent's entry is taken out: choosing is followed by
        holding a slot, which unlists the agent or gives it a new entry."""
        excluded = {**participants, **dict.fromkeys(tried)} if tried else participants
        listed = order.listed
        if listed is not None:  # a small order: scan it
            best: Agent | None = None
            if order.least_busy:
                for agent in listed:
                    if agent in excluded:
                        continue
                    if (
                        best is None
                        or agent.held < best.held
                        or (agent.held == best.held and agent.last_end < best.last_end)
                    ):
                        best = agent
            else:
                for agent in listed:
                    if agent in excluded:
                        continue
                    if (
                        best is None
                        or agent.last_end < best.last_end
                        or (agent.last_end == best.last_end and agent.held < best.held)
                    ):
                        best = agent
            return best
        if self.dirty:
            self._flush()
        run, heap = order.run, order.heap
        passed_run: list[Entry] = []
        passed_heap: list[Entry] = []
        chosen = None
        while run or heap:
            if heap and (not run or heap[0] < run[0]):
                entry = heappop(heap)
                passed = passed_heap
            else:
                entry = run.popleft()
                passed = passed_run
            agent = entry[4]
            if entry[3] != agent.version or not agent.listed:
                continue  # stale
            if agent in excluded:
                passed.append(entry)
                continue
            chosen = agent
            break
        if passed_run:
            run.extendleft(reversed(passed_run))
        for entry in passed_heap:
            heappush(heap, entry)
        return chosen

    @staticmethod
    def _pop(directory: DirectoryState) -> Chat:
        """The chat at the head of the queue (entries of abandoned chats are skipped)."""
        queue = directory.queue
        while True:
            chat = queue.popleft()
            if chat.queued_in is directory:
                chat.queued_in = None
                directory.waiting -= 1
                return chat

    def _take(self, directory: DirectoryState, chat: Chat) -> None:
        """Take ``chat`` out of ``directory``'s queue for an offer: the head as usual, or a
        chat further back when the agent is already in the chats ahead (R8 warm inviter)."""
        if chat is directory.queue[0]:
            self._pop(directory)
        else:
            directory.queue.remove(chat)
            chat.queued_in = None
            directory.waiting -= 1

    def _agent_free(self, agent: Agent) -> None:
        """A slot came free or the agent became Ready: serve the longest-waiting chat among
        the agent's directories (R3), one at a time while ramping up (R5)."""
        if agent.general:
            self._agent_free_general(agent)
            return
        while agent.listed:
            best: DirectoryState | None = None
            best_head = INF
            best_chat: Chat | None = None
            for directory in agent.directories:
                if directory.waiting:
                    head = self._head_for(directory, agent)
                    if head is not None and (head.queue_seq < best_head or best is None):
                        best, best_head, best_chat = directory, head.queue_seq, head
            if best is None:
                agent.ramping = False
                return
            assert best_chat is not None
            self._take(best, best_chat)
            self._offer(best_chat, agent, best)

    @staticmethod
    def _head(directory: DirectoryState) -> Chat:
        queue = directory.queue
        while queue[0].queued_in is not directory:
            queue.popleft()
        return queue[0]

    def _head_for(self, directory: DirectoryState, agent: Agent) -> Chat | None:
        """The longest-waiting chat of the directory that ``agent`` is not already in."""
        queue = directory.queue
        while queue[0].queued_in is not directory:  # _head, inlined (most chats wait)
            queue.popleft()
        head = queue[0]
        if agent not in head.participants:
            return head
        for chat in directory.queue:
            if chat.queued_in is directory and agent not in chat.participants:
                return chat
        return None

    def _becomes_ready(self, agent: Agent) -> None:
        """R5: a newly Ready agent starts a ramp-up: queued chats come one at a time."""
        agent.ramping = True
        self._refresh(agent)
        self._agent_free(agent)

    def _ramp_tick(self, agent: Agent) -> None:
        self._refresh(agent)
        self._agent_free(agent)

    def _offer(self, chat: Chat, agent: Agent, directory: DirectoryState) -> None:
        """R4: the chat alerts the agent, holding one of its slots while it rings."""
        self._hold(agent, +1)
        chat.offered_to = agent
        self._log(EVENT.OFFER, chat, agent, directory)
        if agent.held >= agent.max_chats:
            agent.ramping = False
        elif agent.ramping and directory.ramp_up > 0:
            agent.ramp_until = self.env.now + directory.ramp_up
            self._refresh(agent)
            self._schedule(directory.ramp_up, self._ramp_tick, agent)
        self._alert(chat, agent, self.accept_offer, self.offer_missed)
        if chat.offered_to is agent:  # rings (not answered at once): see _shift_ends
            agent.offers_ringing[chat] = None

    def _alert(
        self,
        chat: Chat,
        agent: Agent,
        accepted: Callable[[Chat, Agent], None],
        missed: Callable[[Chat, Agent], None],
    ) -> None:
        """R4: the agent answers after a response time, or misses the alert (rejects it or
        lets the no-answer timeout pass) and goes Not Ready."""
        group = agent.group
        response = group.response()
        no_answer = group.no_answer is not None and group.no_answer() < self.no_answer_probability
        chat.offer_token += 1
        if no_answer or response > self.no_answer_timeout:
            self._schedule(
                self.no_answer_timeout, self._alert_missed, chat, agent, chat.offer_token, missed
            )
        elif response > 0:
            self._schedule(response, self._alert_answered, chat, agent, chat.offer_token, accepted)
        else:
            accepted(chat, agent)

    def _alert_answered(
        self, chat: Chat, agent: Agent, token: int, accepted: Callable[[Chat, Agent], None]
    ) -> None:
        if token == chat.offer_token:
            accepted(chat, agent)

    def _alert_missed(
        self, chat: Chat, agent: Agent, token: int, missed: Callable[[Chat, Agent], None]
    ) -> None:
        if token != chat.offer_token:
            return
        chat.offer_token += 1
        self._log(EVENT.NO_ANSWER, chat, agent, chat.directory)
        self._not_ready(agent)
        missed(chat, agent)

    def _not_ready(self, agent: Agent) -> None:
        """R4: after a missed alert the agent is Not Ready ("No Answer") for a while."""
        self._agent_changed(agent)
        agent.ready = False
        agent.ramping = False
        if agent.on_shift:
            agent.state = NOT_READY
        self._refresh(agent)
        agent.not_ready_token += 1  # each miss restarts the period; only the last ends it
        self._schedule(self.not_ready_time, self._ready_again, agent, agent.not_ready_token)

    def _ready_again(self, agent: Agent, token: int) -> None:
        if token != agent.not_ready_token:
            return  # a later miss restarted the Not Ready period
        self._agent_changed(agent)
        agent.ready = True
        if agent.on_shift:
            agent.state = READY
            self._becomes_ready(agent)

    def _offer_missed(self, chat: Chat, agent: Agent) -> None:
        """R3/R4: a missed offer goes back to the directory and keeps its place."""
        self._return_offer(chat, agent)
        self._dispatch(chat.directory)

    def _return_offer(self, chat: Chat, agent: Agent) -> None:
        """R3: the chat goes back in its original first-come place (by its enqueue order,
        so two chats returned in turn keep their order) and the agent's slot is freed.

        The queue is kept in enqueue order, stale entries (abandoned chats) included: it
        only grows at its end with a new number, and returns go before the first entry
        with a later number, found by a binary search instead of a scan. Between that
        entry and the first live one with a later number there are only stale entries,
        which every reader skips: the live order is the same."""
        chat.offered_to = None
        agent.offers_ringing.pop(chat, None)
        directory = chat.directory
        chat.queued_in = directory
        queue = directory.queue
        seq = chat.queue_seq
        if not queue or queue[0].queue_seq > seq:  # usually: it was the head
            queue.appendleft(chat)
        else:
            queue.insert(bisect_right(queue, seq, key=_QUEUE_SEQ), chat)
        directory.waiting += 1
        self._hold(agent, -1)

    def _accept_offer(self, chat: Chat, agent: Agent) -> None:
        """R1/R8: an agent of the directory connects; the customer stops waiting."""
        chat.offered_to = None
        if agent.offers_ringing:
            agent.offers_ringing.pop(chat, None)
        chat.patience_token += 1
        overflow = chat.directory.overflow_groups
        if overflow is not None and agent.group in overflow:
            self._served_by_overflow(chat, chat.directory)
        first = chat.connected_at != chat.connected_at  # nan: nobody connected yet
        if first:
            chat.connected_at = self.env._now
        self._connect(chat, agent, chat.directory)
        leg = chat.leg
        if leg is not None:  # the end of a directory transfer (R8)
            chat.leg = None
            self._directory_leg_connected(leg)
        self._serve(chat, agent, first)

    def _patience_expired(self, chat: Chat, token: int) -> None:
        """R1/R8/R12: the customer leaves while queued (or while the offer rings).

        The log reads ABANDON, the participants' LEAVEs, END, and only then may the freed
        slots receive offers, so that replaying the log never shows an agent over capacity.
        """
        if token != chat.patience_token:
            return
        ringing = chat.offered_to
        if ringing is None and chat.queued_in is None:
            return
        self._log(EVENT.ABANDON, chat, None, chat.directory)
        if ringing is not None:
            chat.offer_token += 1  # the ringing offer is withdrawn
            chat.offered_to = None
            ringing.offers_ringing.pop(chat, None)
        else:
            assert chat.queued_in is not None
            chat.queued_in.waiting -= 1
            chat.queued_in = None
        leg = chat.leg
        if leg is not None:
            chat.leg = None
            self._close_leg(leg, LegOutcome.ABANDONED)
        if chat.tracked_legs:  # earlier legs whose inviter has yet to leave end here too
            now = self.env.now
            for earlier in [other for other in self.open_legs if other.chat is chat]:
                if earlier.inviter in chat.participants:
                    earlier.inviter_left = now
                reached = earlier.connected == earlier.connected
                self._close_leg(earlier, LegOutcome.CONNECTED if reached else LegOutcome.ABANDONED)
        chat.ended = True  # the participants' leaving below must not complete the chat
        freed = [
            (p, directory)
            for p in list(chat.participants)
            if (directory := self._leave(chat, p, release=False)) is not None
        ]
        if leg is None and chat.origin.retry is not None:
            self._maybe_retry(chat, chat.origin)
        self._end(chat, Outcome.ABANDONED if leg is None else Outcome.ABANDONED_IN_TRANSFER)
        if ringing is not None:
            freed.append((ringing, None))  # an offer's slot: no wrap-up owed
        for agent, directory in freed:
            self._free_slot(agent, directory)

    # ------------------------------------------------------------------ service legs

    def _connect(self, chat: Chat, agent: Agent, directory: DirectoryState) -> None:
        if chat.tracked_legs:
            self._people_change(chat)
        chat.participants[agent] = directory
        agent.connected += 1
        self._log(EVENT.CONNECT, chat, agent, directory)
        if agent.slowdown is not None:
            self._load_changed(agent)

    def _serve(
        self, chat: Chat, agent: Agent, first: bool, received_from_agent: bool = False
    ) -> None:
        """A service leg: draw the handling work and whether (and which) transfer follows.

        R7: whoever receives an agent transfer applies its own group's rules
        (``from: {group: ...}``), never the source directory's again; without such rules
        it finishes the chat."""
        directory = chat.directory
        chat.lead = agent
        rules = agent.group.rules if received_from_agent else directory.rules
        if first:
            work, decision = chat.first_work, chat.first_decision
        else:
            work = directory.after_transfer_handle()
            if received_from_agent:
                decision = agent.group.decision() if rules else 1.0
            else:
                decision = directory.after_transfer_decision()
        rule = None
        if rules and (self.max_transfers is None or chat.transfers < self.max_transfers):
            for cumulative, candidate in rules:
                if decision < cumulative:
                    rule = candidate
                    break
        if rule is None:
            self._work(agent, chat, work, self.finish)
        else:
            at = rule.at()
            chat.rule = rule
            chat.remaining = max(work - at, 0.0)
            self._work(agent, chat, at, self._request_transfer)

    def _work(self, agent: Agent, chat: Chat, amount: float, then: Callable[[Chat], None]) -> None:
        """Handling work; with a slowdown it stretches with the agent's load."""
        if agent.slowdown is None:
            call = ChatCall()
            call.callbacks = FIRE_CHAT
            call.fn = then
            call.chat = chat
            env = self.env  # env.schedule(call, NORMAL, amount), as in _make_scheduler
            heappush(env._queue, (env._now + amount, NORMAL, next(env._eid), call))
            return
        job = Job(chat, amount, then, self.env.now)
        agent.jobs.append(job)
        self._schedule_job(agent, job)

    def _schedule_job(self, agent: Agent, job: Job) -> None:
        job.token += 1
        self._schedule(job.remaining * agent.factor, self._job_done, agent, job, job.token)

    def _job_done(self, agent: Agent, job: Job, token: int) -> None:
        if token != job.token:
            return
        agent.jobs.remove(job)
        job.then(job.chat)

    def _load_changed(self, agent: Agent) -> None:
        """Slowdown: rescale every job's remaining work when the number of chats changes."""
        now = self.env.now
        old = agent.factor
        assert agent.slowdown is not None
        new = agent.slowdown[max(agent.connected, 1) - 1]
        if new == old:
            return
        agent.factor = new
        for job in agent.jobs:
            job.remaining = max(job.remaining - (now - job.updated) / old, 0.0)
            job.updated = now
            self._schedule_job(agent, job)

    def _finish(self, chat: Chat) -> None:
        """R12: the conversation is over; every participant is released (with wrap-up)."""
        chat.lead = None
        if len(chat.participants) > 1:  # an inviter yet to confirm (R7, R8) leaves now
            for leg in [leg for leg in self.open_legs if leg.chat is chat]:
                self._inviter_leaves(leg)
        for participant in list(chat.participants):
            self._leave(chat, participant)

    def _leave(self, chat: Chat, agent: Agent, release: bool = True) -> DirectoryState | None:
        """R10/R11: End Chat for one participant, who then owes the wrap-up of the
        directory they served; the chat ends when nobody is left and it is not queued.

        The slot is freed after the chat's END is logged (the log replays in order). With
        ``release=False`` the caller frees it (:meth:`_free_slot`) when this returns the
        directory (no wrap-up time to wait for).
        """
        if chat.tracked_legs:
            self._people_change(chat)
        directory = chat.participants.pop(agent)
        agent.connected -= 1
        agent.last_end = self.env._now
        if agent.listed and not agent.dirty and agent.routes:  # free slot left: new key
            agent.dirty = True
            self.dirty.append(agent)
        self._log(EVENT.LEAVE, chat, agent, directory)
        if agent.slowdown is not None:
            self._load_changed(agent)
        wrap_up = directory.wrap_up()
        if wrap_up > 0:
            self._schedule(wrap_up, self._wrap_up_over, agent, directory)
        if (
            not chat.participants
            and chat.queued_in is None
            and chat.offered_to is None
            and not chat.ended
        ):
            self._end(chat, Outcome.COMPLETED)
        if wrap_up > 0:
            return None
        if release:
            self._free_slot(agent, directory)
        return directory

    def _free_slot(self, agent: Agent, directory: DirectoryState | None) -> None:
        """Free a slot at once; in a directory with wrap-up a WRAP_UP_END is logged even
        when the drawn wrap-up is 0, so that a replay of the log knows which event frees
        the slot from the directory's configuration alone."""
        if directory is not None and directory.has_wrap_up:
            self._wrap_up_over(agent, directory)
        else:  # _release, inlined (once per chat)
            self._hold(agent, -1)
            self._agent_free(agent)

    def _wrap_up_over(self, agent: Agent, directory: DirectoryState) -> None:
        self._log(EVENT.WRAP_UP_END, None, agent, directory)
        self._release(agent)

    def _release(self, agent: Agent) -> None:
        self._hold(agent, -1)
        self._agent_free(agent)

    def _end(self, chat: Chat, outcome: Outcome) -> None:
        """R13: every chat ends exactly once."""
        chat.ended = True
        del self.chats_live[chat.id]
        self._log(EVENT.END, chat, None, chat.directory)
        self._record_chat(chat, self.env._now, outcome)

    # ------------------------------------------------------------------ R6-R9: transfers

    def _request_transfer(self, chat: Chat) -> None:
        """The inviter's handling reached the transfer point of the chosen rule."""
        rule = chat.rule
        assert rule is not None and chat.lead is not None
        chat.rule = None
        inviter = chat.lead
        chat.transfers += 1
        self._log(EVENT.TRANSFER, chat, inviter, chat.directory)
        if rule.target_directory is not None:
            self._directory_transfer(
                chat, inviter, rule.target_directory, rule.rule.leave, rule.rule.confirm
            )
            return
        kind = LegKind.CONFERENCE if rule.rule.kind == "conference" else LegKind.AGENT_TRANSFER
        leg = Leg(chat, kind, inviter, self.env.now, rule.rule.confirm)
        leg.rule = rule
        leg.target_group = rule.target_group
        self._open_leg(leg)
        self._invite(chat, leg)

    def _directory_transfer(
        self, chat: Chat, inviter: Agent, target: DirectoryState, leave: Any, confirm: float
    ) -> None:
        """R8: the chat queues in the target directory while the inviter stays connected;
        the inviter leaves on connect (warm), at once, or after a delay (cold)."""
        kind = LegKind.DIRECTORY_WARM if leave == "on_connect" else LegKind.DIRECTORY_COLD
        leg = Leg(chat, kind, inviter, self.env.now, confirm)
        leg.target_directory = target
        self._open_leg(leg)
        chat.lead = None
        self._enqueue(chat, target, dispatch=False)
        if target.automated_message:
            self._log(EVENT.AUTOMATED_MESSAGE, chat, None, target)
        self._set_patience(chat, target.patience_in_transfer())
        if leave == "immediately":
            self._inviter_leaves(leg)
        elif isinstance(leave, LeaveAfter):
            self._schedule(leave.after, self._inviter_leaves, leg)
        self._dispatch(target)

    def _directory_leg_connected(self, leg: Leg) -> None:
        leg.connected = self.env.now
        if leg.kind == LegKind.DIRECTORY_WARM:
            self._confirm_then_leave(leg)
        elif leg.inviter_left == leg.inviter_left:  # cold, inviter already gone
            self._close_leg(leg, LegOutcome.CONNECTED)

    def _confirm_then_leave(self, leg: Leg) -> None:
        """R7: the inviter leaves only after seeing the new participant connected."""
        if leg.confirm > 0:
            self._schedule(leg.confirm, self._inviter_leaves, leg)
        else:
            self._inviter_leaves(leg)

    def _inviter_leaves(self, leg: Leg) -> None:
        chat = leg.chat
        if leg.inviter_left == leg.inviter_left or leg.inviter not in chat.participants:
            return  # already gone (the chat ended or was abandoned meanwhile)
        leg.inviter_left = self.env.now
        self._leave(chat, leg.inviter)
        # The freed inviter may at once take the chat back from the queue, which
        # closes a cold leg inside _leave: close it here only if still open.
        if leg.connected == leg.connected and leg in self.open_legs:
            self._close_leg(leg, LegOutcome.CONNECTED)

    def _invite(self, chat: Chat, leg: Leg) -> None:
        """R6/R9: invite a Ready member of the group with a free slot (consulting first
        if the rule says so); nobody available means the rule's fallback."""
        group = leg.target_group
        assert group is not None and leg.rule is not None
        invitee = self._pick(group.order, chat.participants, leg.tried)  # longest idle first
        if invitee is None:
            self._log(EVENT.DECLINE, chat, None, chat.directory)  # nobody to invite
            self._declined(chat, leg, can_retry=False)
            return
        leg.tried.append(invitee)
        leg.invitee = invitee
        self._hold(invitee, +1)
        if leg.rule.consult is not None:
            self._log(EVENT.CONSULT, chat, invitee, chat.directory)
            self._schedule(leg.rule.consult(), self._consulted, chat, leg, invitee)
        else:
            self._ring_invitation(chat, leg, invitee)

    def _ring_invitation(self, chat: Chat, leg: Leg, invitee: Agent) -> None:
        self._log(EVENT.INVITE, chat, invitee, chat.directory)
        leg.ringing = True
        self._alert(chat, invitee, self._invitation_accepted, self._invitation_missed)
        if leg.ringing:  # not answered at once: see _shift_ends
            invitee.invitations_ringing[leg] = None

    def _consulted(self, chat: Chat, leg: Leg, invitee: Agent) -> None:
        """R9: the consultation held the invitee's slot; the invitation rings only if the
        invitee is still Ready and on shift (R2/R4), otherwise the rule's fallback."""
        if invitee.on_shift and invitee.ready:
            self._ring_invitation(chat, leg, invitee)
            return
        self._log(EVENT.DECLINE, chat, invitee, chat.directory)
        self._invitation_failed(chat, leg, invitee)

    def _invitation_accepted(self, chat: Chat, invitee: Agent) -> None:
        """R6/R7: the invitee joins; a conference lasts its duration, a transfer to an
        agent ends with the inviter leaving after the confirmation delay."""
        leg = chat.leg
        assert leg is not None and leg.invitee is invitee
        chat.leg = None
        leg.ringing = False
        invitee.invitations_ringing.pop(leg, None)
        leg.connected = self.env.now
        self._connect(chat, invitee, chat.directory)
        assert leg.rule is not None
        if leg.kind == LegKind.CONFERENCE:
            assert leg.rule.duration is not None
            self._schedule(leg.rule.duration(), self._conference_over, chat, leg, invitee)
        else:
            self._serve(chat, invitee, first=False, received_from_agent=True)
            self._confirm_then_leave(leg)

    def _conference_over(self, chat: Chat, leg: Leg, invitee: Agent) -> None:
        """R6: the invitee leaves the conference; the inviter carries on with the chat."""
        self._leave(chat, invitee)
        self._close_leg(leg, LegOutcome.CONNECTED)
        self._work(leg.inviter, chat, chat.remaining, self._finish)

    def _invitation_missed(self, chat: Chat, invitee: Agent) -> None:
        leg = chat.leg
        assert leg is not None and leg.invitee is invitee
        self._log(EVENT.DECLINE, chat, invitee, chat.directory)
        self._invitation_failed(chat, leg, invitee)

    def _invitation_failed(self, chat: Chat, leg: Leg, invitee: Agent) -> None:
        """The invitee does not join (declined, no answer, unavailable after consulting,
        shift over): the slot is freed and the rule says what follows (R6)."""
        leg.ringing = False
        invitee.invitations_ringing.pop(leg, None)
        leg.invitee = None
        self._release(invitee)
        self._declined(chat, leg, can_retry=True)

    def _declined(self, chat: Chat, leg: Leg, can_retry: bool) -> None:
        """R6: after a declined or unanswered invitation, the rule says what follows."""
        assert leg.rule is not None
        rule = leg.rule.rule
        if rule.on_decline == "retry" and can_retry and len(leg.tried) <= rule.retries:
            self._invite(chat, leg)
            return
        chat.leg = None
        self._close_leg(leg, LegOutcome.DECLINED)
        inviter = leg.inviter
        fallback = isinstance(rule.on_decline, DeclineToDirectory) and (
            self.max_transfers is None or chat.transfers < self.max_transfers
        )
        if fallback:  # a new transfer, so ``max_transfers`` caps it too
            assert isinstance(rule.on_decline, DeclineToDirectory)
            chat.transfers += 1
            self._log(EVENT.TRANSFER, chat, inviter, chat.directory)
            target = self.directories[rule.on_decline.directory]
            self._directory_transfer(chat, inviter, target, rule.on_decline.leave, rule.confirm)
        else:  # keep: the inviter handles the rest of the chat
            self._work(inviter, chat, chat.remaining, self._finish)

    def _open_leg(self, leg: Leg) -> None:
        """Start measuring the chat's participants for this leg's gap and overlap."""
        chat = leg.chat
        if chat.tracked_legs:
            self._people_change(chat)
        else:
            chat.people_since = self.env.now
        chat.tracked_legs += 1
        leg.alone_before = chat.time_alone
        leg.crowded_before = chat.time_crowded
        self.open_legs[leg] = self.next_leg_seq
        self.next_leg_seq += 1
        chat.leg = leg

    def _people_change(self, chat: Chat) -> None:
        """Integrate the time with nobody, and with two or more, connected to the chat
        (every participant counts, not only the leg's two ends); call before a change."""
        now = self.env.now
        connected = len(chat.participants)
        if connected == 0:
            chat.time_alone += now - chat.people_since
        elif connected > 1:
            chat.time_crowded += now - chat.people_since
        chat.people_since = now

    def _close_leg(self, leg: Leg, outcome: LegOutcome) -> None:
        """Write one transfer leg: its handoff gap (time within the leg with nobody
        connected to the chat) and overlap (time with two or more connected)."""
        del self.open_legs[leg]
        chat = leg.chat
        self._people_change(chat)
        chat.tracked_legs -= 1
        gap = chat.time_alone - leg.alone_before
        overlap = chat.time_crowded - leg.crowded_before
        self._record_leg(leg, self.env.now, outcome, gap, overlap)

    # ------------------------------------------ issue 14: priorities, overflow, customers

    def _routing_and_customers(self, scenario: Scenario) -> None:
        """Precompute what priorities, boosts, overflow, preference levels, balking and
        retries need, and the flags that keep scenarios without them on the plain paths
        (``DirectoryState.general`` / ``timed``, ``Agent.general``)."""
        self.overflow_levels: list[DirectoryState] = []
        self.attempts: dict[int, tuple[float, int]] = {}  # retried attempts' (first, n)
        self.retried: set[int] = set()  # abandoned chats whose customer tries again
        groups = scenario.agents
        for name, spec in scenario.directories.items():
            state = self.directories[name]
            state.priority = spec.priority
            boost = spec.priority_boost
            if boost is not None:
                cap = INF if boost.up_to is None else boost.up_to
                state.boost = (boost.after, boost.by, cap)
            balk = spec.balk
            if balk is not None and balk.probability > 0:
                draw = (
                    uniform_sampler(stream(self.root, "balk", name))
                    if balk.probability < 1
                    else None
                )
                longer = -1 if balk.queue_longer_than is None else balk.queue_longer_than
                state.balk = (balk.probability, longer, draw)
            retry = spec.retry
            if retry is not None and retry.probability > 0:
                state.retry = (
                    retry.probability,
                    INF if retry.max_attempts is None else retry.max_attempts,
                    uniform_sampler(stream(self.root, "retry", name)),
                    sampler(retry.after, stream(self.root, "retry_delay", name)),
                )
                state.retry_patience = sampler(
                    spec.patience, stream(self.root, "retry_patience", name)
                )
                state.retry_handle = sampler(
                    spec.handle_time, stream(self.root, "retry_handle", name)
                )
                state.retry_decision = uniform_sampler(stream(self.root, "retry_decision", name))
            # Preference levels of the groups serving it: one routing order per level.
            levels = sorted({g.level(name) for g in groups.values() if name in g.directories})
            if len(levels) > 1:
                orders = {level: RoutingOrder(state.order.least_busy) for level in levels}
                state.orders = list(orders.values())
                state.order = state.orders[0]
                state.general = True
                sizes = dict.fromkeys(levels, 0)
                for group_name, group_spec in groups.items():
                    if name in group_spec.directories:
                        level = group_spec.level(name)
                        self.groups[group_name].order_of[state] = orders[level]
                        sizes[level] += len(self.groups[group_name].members)
                for level, order in orders.items():
                    self._size_order(order, sizes[level])
            else:
                state.orders = [state.order]
            for i, level_spec in enumerate(spec.overflow):
                level = DirectoryState(-1, f"{name} overflow {i}")
                level.source = state
                level.overflow_after = level_spec.after
                level.order.least_busy = state.order.least_busy
                for group_name in level_spec.groups:
                    group = self.groups[group_name]
                    if group.members:
                        group.members[0].directories.append(level)  # shared by the members
                    level.agents.extend(group.members)
                    state.overflow_groups = (state.overflow_groups or frozenset()) | {group}
                self._size_order(level.order, len(level.agents))
                state.levels.append(level)
                self.overflow_levels.append(level)
                state.general = True
            state.timed = bool(state.levels) or state.boost is not None
        # What each group's members choose from when a slot comes free (R3 and the above).
        for group_name, group_spec in groups.items():
            group = self.groups[group_name]
            own = [self.directories[d] for d in group_spec.directories]
            lowest = max((group_spec.level(d) for d in group_spec.directories), default=1)
            group.views = [(d, 0.0, group_spec.level(d.name)) for d in own] + [
                (level.source, level.overflow_after, lowest + 1)
                for level in self.overflow_levels
                if group in (level.source.overflow_groups or ())
            ]
            general = (
                len(group.views) > len(own)
                or len({level for _d, _a, level in group.views}) > 1
                or any(d.priority != own[0].priority or d.boost is not None for d in own)
            )
            for agent in group.members:
                agent.general = general

    def _entered(self, chat: Chat, directory: DirectoryState) -> None:
        """Note when the chat entered the queue (for boost and overflow) and set the
        overflow levels' timers. A chat of an initial state, waiting since before the
        run, entered its first queue at its (earlier) arrival; ``entered + after - 0``
        is then exact, as ``after`` is for the others, so a timer finds its chat due."""
        now = self.env.now
        first_queue = chat.connected_at != chat.connected_at  # nan: never answered
        entered = chat.arrival if first_queue and chat.arrival < now else now
        chat.queued_at = entered
        for level in directory.levels:
            after = level.overflow_after
            if after:
                due = after if entered == now else max(entered + after - now, 0.0)
                self._schedule(due, self._dispatch_overflow, directory, level)

    def _size_order(self, order: RoutingOrder, size: int) -> None:
        order.limit = 2 * size + 64
        if size <= self.scan_agents:
            order.listed = {}

    def _customer_records(self, scenario: Scenario) -> None:
        """Flags for the metrics that apply, and the chat records of a run with retries
        (which also forget each chat's attempt once it is recorded)."""
        directories = scenario.directories.values()
        r = self.records
        r.balking = any(d.balk is not None for d in directories)
        r.retrying = any(d.retry is not None for d in directories)
        r.overflowing = any(d.overflow for d in directories)
        if r.retrying:
            plain = self._record_chat
            attempts, retried = self.attempts, self.retried
            tallies: Tallies | None = None if self.tables else r  # type: ignore[assignment]

            def record(chat: Chat, end: float, outcome: Outcome) -> None:
                first, attempt = attempts.pop(chat.id, (chat.arrival, 1))
                plain(chat, end, outcome)
                if tallies is None:
                    return
                was_retried = chat.id in retried
                retried.discard(chat.id)
                tally = tallies.by_directory[chat.origin.index]
                warmup = tallies.warmup
                abandoned = outcome in (ABANDONED, ABANDONED_IN_TRANSFER)
                measured = chat.arrival >= warmup
                if chat.id < tallies.initial_waiting + tallies.initial_held:
                    # a chat of the initial state counts as ccsim.results.measured_at says
                    if chat.id >= tallies.initial_waiting or warmup > 0:
                        return
                    first, measured = 0.0, True
                if measured:
                    if attempt == 1:
                        tally.customers += 1
                        tally.first_abandoned += abandoned
                    else:
                        tally.retrials += 1
                if abandoned and not was_retried and first >= warmup:
                    tally.lost += 1

            self._record_chat = record  # type: ignore[method-assign]

    def _balks(self, chat: Chat, directory: DirectoryState) -> bool:
        """A customer who finds no free agent (and more than ``queue_longer_than`` chats
        waiting, when given) leaves at once with the balk probability: logged as BALK,
        it ends as abandoned in its first queue and may try again (``retry``)."""
        if directory.free or any(
            level.free for level in directory.levels if not level.overflow_after
        ):
            return False
        probability, longer, draw = directory.balk
        if directory.waiting <= longer:
            return False
        if draw is not None and draw() >= probability:
            return False
        self._log(EVENT.BALK, chat, None, directory)
        if self.tables:
            self.records.balked_chat.append(chat.id)
        elif chat.arrival >= self.records.warmup:
            self.records.by_directory[directory.index].balked += 1  # type: ignore[union-attr]
        if directory.retry is not None:
            self._maybe_retry(chat, directory)
        self._end(chat, Outcome.ABANDONED)
        return True

    def _maybe_retry(self, chat: Chat, directory: DirectoryState) -> None:
        """A customer who abandoned in the first queue tries again with the directory's
        retry probability, after a drawn delay, unless it has made ``max_attempts``. A
        retry due at or after the end of the run is decided but never arrives."""
        probability, max_attempts, decide, delay = directory.retry
        first, attempt = self.attempts.get(chat.id, (chat.arrival, 1))
        if attempt >= max_attempts or decide() >= probability:
            return
        wait = delay()
        if self.tables:
            self.records.retried_chat.append(chat.id)
        else:
            self.retried.add(chat.id)
        if self.env.now + wait < self.scenario.duration:
            self._schedule(wait, self._retry_arrives, directory, first, attempt + 1)

    def _retry_arrives(self, directory: DirectoryState, first: float, attempt: int) -> None:
        """R1 for a retried attempt: a new chat that remembers the customer's first
        arrival; its times come from the retry streams (first attempts keep theirs)."""
        now = self.env.now
        chat = Chat(self.next_chat_id, directory, now)
        self.next_chat_id += 1
        chat.first_work = directory.retry_handle()
        chat.first_decision = directory.retry_decision()
        self.chats_live[chat.id] = chat
        self.attempts[chat.id] = (first, attempt)
        if self.tables:
            r = self.records
            r.retry_chat.append(chat.id)
            r.retry_first_arrival.append(first)
            r.retry_attempt.append(attempt)
        self._log(EVENT.ARRIVE, chat, None, directory)
        patience = directory.retry_patience()
        if directory.balk is not None and self._balks(chat, directory):
            return
        self._set_patience(chat, patience)
        self._enqueue(chat, directory)

    def _served_by_overflow(self, chat: Chat, directory: DirectoryState) -> None:
        if self.tables:
            self.records.overflow_chat.append(chat.id)
            self.records.overflow_directory.append(directory.index)
        elif chat.arrival >= self.records.warmup:
            tally = self.records.by_directory[directory.index]  # type: ignore[union-attr]
            tally.served_by_overflow += 1

    def _dispatch_general(self, directory: DirectoryState) -> None:
        """:meth:`_dispatch` for a directory whose groups have preference levels (the
        most preferred level's agents first, R3's policy within a level) or that
        overflows (then each overflow level's agents, for chats that waited long enough)."""
        while directory.waiting and directory.free:
            chat = self._head(directory)
            agent = None
            for order in directory.orders:
                agent = self._pick(order, chat.participants, ())
                if agent is not None:
                    break
            if agent is None:  # the free agents are all in the head chat (R8 warm inviter)
                for order in directory.orders:
                    for free_agent in order.agents():
                        self._agent_free(free_agent)
                break
            self._offer(self._pop(directory), agent, directory)
        for level in directory.levels:
            self._dispatch_overflow(directory, level)

    def _dispatch_overflow(self, directory: DirectoryState, level: DirectoryState) -> None:
        """Overflow: the level's groups are offered the directory's chats that have
        waited ``after`` in its queue, first come first served (a timer at entry plus
        ``after`` calls this: no polling)."""
        after = level.overflow_after
        while directory.waiting and level.free:
            chat = self._head(directory)
            if chat.queued_at + after > self.env.now:
                return  # the head has not waited long enough: nor have the others
            agent = self._pick(level.order, chat.participants, ())
            if agent is None:
                for free_agent in level.order.agents():
                    self._agent_free(free_agent)
                return
            self._offer(self._pop(directory), agent, directory)

    def _agent_free_general(self, agent: Agent) -> None:
        """:meth:`_agent_free` for an agent whose choice weighs more than arrival order:
        the chat taken is the head of the queue with the highest priority (a directory's
        ``priority`` plus its boost for the head's wait), then the group's most preferred
        level (overflow queues after its own), then the earliest entry (R3). A queue seen
        through overflow counts only once its head has waited ``after``."""
        views = agent.group.views
        while agent.listed:
            now = self.env.now
            best: DirectoryState | None = None
            best_key: tuple[float, int, int] | None = None
            best_chat: Chat | None = None
            for directory, after, level in views:
                if not directory.waiting:
                    continue
                head = self._head_for(directory, agent)
                if head is None or (after and head.queued_at + after > now):
                    continue
                priority = directory.priority
                boost = directory.boost
                if boost is not None:
                    every, by, cap = boost
                    priority = min(priority + by * ((now - head.queued_at) // every), cap)
                key = (-priority, level, head.queue_seq)
                if best_key is None or key < best_key:
                    best, best_key, best_chat = directory, key, head
            if best is None:
                agent.ramping = False
                return
            assert best_chat is not None
            self._take(best, best_chat)
            self._offer(best_chat, agent, best)

    # ------------------------------------------------------------------ records

    def _record_chat(self, chat: Chat, end: float, outcome: Outcome) -> None:
        rows = self._chat_rows
        rows.add(
            rows.pack(
                chat.id,
                chat.origin.index,
                chat.arrival,
                chat.connected_at,
                end,
                outcome,
                chat.transfers,
                chat.directory.index,
            )
        )
        if len(rows.buffer) > rows.limit:  # about every 4,600 chats
            self._flush_rows()

    def _record_leg(
        self, leg: Leg, closed: float, outcome: LegOutcome, gap: float, overlap: float
    ) -> None:
        r = self.records
        r.leg_chat.append(leg.chat.id)
        r.leg_kind.append(leg.kind)
        r.leg_source.append(leg.source.index)
        r.leg_target_directory.append(
            leg.target_directory.index if leg.target_directory is not None else -1
        )
        r.leg_target_group.append(leg.target_group.index if leg.target_group is not None else -1)
        r.leg_requested.append(leg.requested)
        r.leg_connected.append(leg.connected)
        r.leg_inviter_left.append(leg.inviter_left)
        r.leg_closed.append(closed)
        r.leg_outcome.append(outcome)
        r.leg_handoff_gap.append(gap)
        r.leg_overlap.append(overlap)

    # The same records folded into Tallies (``tables=False``), each the counterpart of
    # what ccsim.results reads from the full columns; only measured chats count.

    def _tally_interval(self, agent: Agent) -> None:
        """:meth:`_agent_changed` for tallies: the interval clipped to the measured window
        adds to its group's staffed, slot, held and busy time."""
        now = self.env.now
        since = agent.since
        if now > since:
            agent.since = now
            staffed = agent.state != OFFLINE
            held = agent.held
            if not (staffed or held):
                return  # off shift, holding nothing: adds nothing
            r: Tallies = self.records  # type: ignore[assignment]
            low, high = r.warmup, r.duration
            start = low if since < low else high if since > high else since
            end = low if now < low else high if now > high else now
            length = end - start
            if length > 0:
                group = r.by_group[agent.group.index]
                if staffed:
                    group.staffed += length
                    group.slots += length * agent.max_chats
                    if held:
                        group.busy += length
                if held:
                    group.held += length * held

    def _tally_chat(self, chat: Chat, end: float, outcome: Outcome) -> None:
        r: Tallies = self.records  # type: ignore[assignment]
        r.chats += 1
        arrival = chat.arrival
        tally = r.by_directory[chat.origin.index]
        if chat.id < r.initial_waiting + r.initial_held:  # see ccsim.results.measured
            if chat.id >= r.initial_waiting or r.warmup > 0:
                return
            tally.initial += 1
        elif arrival < r.warmup:
            return
        tally.outcomes[outcome] += 1
        connect = chat.connected_at
        if connect == connect:
            tally.waits.append(connect - arrival)
        elif outcome == OPEN:
            tally.waiting_since.append(arrival)
        if end == end:
            tally.session_sum += end - arrival

    def _tally_leg(
        self, leg: Leg, closed: float, outcome: LegOutcome, gap: float, overlap: float
    ) -> None:
        r: Tallies = self.records  # type: ignore[assignment]
        chat = leg.chat
        if chat.id < r.initial_waiting + r.initial_held:  # as in _tally_chat
            if chat.id >= r.initial_waiting or r.warmup > 0:
                return
        elif chat.arrival < r.warmup:
            return
        source = r.by_directory[leg.source.index]
        source.transfers += 1
        if outcome == LEG_CONNECTED:
            source.transfer_waits.append(leg.connected - leg.requested)
            source.overlap_sum += overlap
        if leg.kind != CONFERENCE and outcome != LEG_DECLINED:
            source.handoff_gaps.append(gap)
        if leg.kind in DIRECTORY_LEGS and leg.target_directory is not None:
            target = r.by_directory[leg.target_directory.index]
            target.transferred_in += 1
            connected = leg.connected
            if connected == connected:
                target.transfer_in_waits.append(connected - leg.requested)
            elif outcome == LEG_OPEN:
                target.transfer_in_waiting_since.append(leg.requested)
            if outcome == LEG_ABANDONED:
                target.transfer_in_abandoned += 1

    def _finalize(self) -> None:
        """R13: chats and legs still open at the end are recorded as open, not dropped."""
        now = self.env.now
        if self.tables and self.chats_live:
            self._end_state()
        for leg in list(self.open_legs):
            self._close_leg(leg, LegOutcome.OPEN)
        for chat in self.chats_live.values():
            self._record_chat(chat, NAN, Outcome.OPEN)
        self.chats_live.clear()
        for agent in self.agents:
            self._agent_changed(agent)
            agent.since = now

    def _end_state(self) -> None:
        """Where the run ends, as an initial state for another run (``--initial
        results/``): each chat queued or ringing waits in its directory (waited since it
        entered that queue); each chat an agent is handling is held by that agent (its
        lead) with the handling work still to go. Simplified as a snapshot file is:
        other participants (a warm inviter, a conference's invitee) and wrap-ups in
        progress are left out."""
        now = self.env.now
        r: Records = self.records  # type: ignore[assignment]
        # chat id -> handling work to go, at normal speed (as handle_time is given: a
        # slowdown stretches it again in the next run), counting the work after a
        # transfer that is still to be requested
        work: dict[int, float] = {}
        for when, _priority, _eid, event in self.env._queue:
            if type(event) is ChatCall:
                extra = event.chat.remaining if event.fn == self._request_transfer else 0.0
                work[event.chat.id] = when - now + extra
        for agent in self.agents:
            for job in agent.jobs:
                extra = job.chat.remaining if job.then == self._request_transfer else 0.0
                work[job.chat.id] = job.remaining - (now - job.updated) / agent.factor + extra
        for chat in self.chats_live.values():
            if chat.queued_in is not None or chat.offered_to is not None:
                leg = chat.leg
                moved = leg is not None and leg.target_directory is chat.directory
                entry = leg.requested if moved and leg is not None else chat.arrival
                r.end_waiting.append((chat.directory.index, now - entry))
            elif chat.lead is not None:
                lead = chat.lead
                directory = chat.participants.get(lead, chat.directory)
                left = work.get(chat.id, chat.remaining)
                member = lead.group.members.index(lead)
                r.end_held.append((lead.group.index, member, directory.index, max(left, 0.0)))


@overload
def run_replication(
    scenario: Scenario,
    replication: int = ...,
    seed: int | None = ...,
    record_events: bool = ...,
    tables: Literal[True] = ...,
    start: StartState | None = ...,
) -> Records: ...


@overload
def run_replication(
    scenario: Scenario,
    replication: int = ...,
    seed: int | None = ...,
    record_events: bool = ...,
    *,
    tables: Literal[False],
    start: StartState | None = ...,
) -> Tallies: ...


@overload
def run_replication(
    scenario: Scenario,
    replication: int = ...,
    seed: int | None = ...,
    record_events: bool = ...,
    tables: bool = ...,
    start: StartState | None = ...,
) -> Records | Tallies: ...


def run_replication(
    scenario: Scenario,
    replication: int = 0,
    seed: int | None = None,
    record_events: bool = True,
    tables: bool = True,
    start: StartState | None = None,
) -> Records | Tallies:
    """Simulate one replication of ``scenario``: the model's single entry point.

    ``seed`` defaults to the scenario's; replication ``r`` draws from
    ``SeedSequence(seed).spawn(n)[r]``, so results do not depend on how many
    replications run or where. ``tables=False`` returns :class:`Tallies` instead of full
    :class:`Records`: the whole-run metrics of :func:`ccsim.results.replication_metrics`
    in memory that does not grow with agent intervals or events (a year-long run), but no
    tables, no event log and no per-interval metrics. ``start`` puts chats in the center
    at time 0 (:mod:`ccsim.model.start`); full records also keep the state at the end.
    """
    # A daily pattern (days: N) runs as the whole run's schedules and shifts.
    return Center(scenario.over_run(), replication, seed, record_events, tables, start).run()
