"""The contact center as a SimPy model: directories, agents, chats and transfers.

Each rule of TRANSFER_RULES.md has one home, named in the method's docstring (search for
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

import math
from collections import deque
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import simpy

from ccsim.model.randomness import (
    arrival_times,
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
)
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


class DirectoryState:
    """A chat directory at run time: its FCFS queue and the agents who serve it."""

    __slots__ = (
        "after_transfer_decision",
        "after_transfer_handle",
        "agents",
        "automated_message",
        "available",
        "first_decision",
        "first_handle",
        "index",
        "name",
        "patience",
        "patience_in_transfer",
        "queue",
        "ramp_up",
        "routing_least_busy",
        "rules",
        "waiting",
        "wrap_up",
    )

    def __init__(self, index: int, name: str) -> None:
        self.index = index
        self.name = name
        self.queue: deque[Chat] = deque()  # may hold stale entries; ``waiting`` is exact
        self.waiting = 0
        self.agents: list[Agent] = []
        self.available: dict[Agent, None] = {}  # ordered set of agents who can take a chat
        self.rules: list[tuple[float, RuleState]] = []  # cumulative probability, rule


class GroupState:
    """An agent group at run time (also the target of invitations, R6)."""

    __slots__ = ("available", "index", "max_chats", "members", "name", "no_answer", "response")

    def __init__(self, index: int, name: str, max_chats: int) -> None:
        self.index = index
        self.name = name
        self.max_chats = max_chats
        self.members: list[Agent] = []
        self.available: dict[Agent, None] = {}


class Agent:
    """One agent with ``max_chats`` slots (R2)."""

    __slots__ = (
        "connected",
        "directories",
        "factor",
        "group",
        "held",
        "index",
        "jobs",
        "last_end",
        "listed",
        "max_chats",
        "on_shift",
        "ramp_until",
        "ramping",
        "ready",
        "since",
        "slowdown",
        "state",
    )

    def __init__(self, index: int, group: GroupState, slowdown: tuple[float, ...] | None) -> None:
        self.index = index
        self.group = group
        self.max_chats = group.max_chats
        self.directories: list[DirectoryState] = []
        self.held = 0
        self.connected = 0
        self.ready = True
        self.on_shift = False
        self.listed = False
        self.last_end = -INF
        self.ramp_until = -INF
        self.ramping = False
        self.state = OFFLINE
        self.since = 0.0
        self.slowdown = slowdown
        self.factor = 1.0
        self.jobs: list[Job] = []


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
        "queued_at",
        "queued_in",
        "remaining",
        "rule",
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
        self.queued_at = now
        self.offered_to: Agent | None = None
        self.offer_token = 0
        self.patience_token = 0
        self.lead: Agent | None = None
        self.leg: Leg | None = None
        self.rule: RuleState | None = None
        self.remaining = 0.0
        self.transfers = 0
        self.ended = False


class Leg:
    """One transfer or conference in progress (R6-R8)."""

    __slots__ = (
        "chat",
        "confirm",
        "connected",
        "invitee",
        "inviter",
        "inviter_left",
        "kind",
        "requested",
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


class Job:
    """Handling work in progress for an agent with a slowdown (processor sharing)."""

    __slots__ = ("chat", "remaining", "then", "token", "updated")

    def __init__(self, chat: Chat, remaining: float, then: Callable[[Chat], None], now: float):
        self.chat = chat
        self.remaining = remaining  # work left, in seconds at factor 1
        self.then = then
        self.token = 0
        self.updated = now


class Center:
    """One replication of a scenario. Build it, call :meth:`run`, read :attr:`records`."""

    def __init__(
        self,
        scenario: Scenario,
        replication: int = 0,
        seed: int | None = None,
        record_events: bool = True,
    ) -> None:
        self.scenario = scenario
        self.env = simpy.Environment()
        self.root = replication_seed(scenario.seed if seed is None else seed, replication)
        self.record_events = record_events
        self.max_transfers = scenario.max_transfers
        self.chats_live: dict[int, Chat] = {}
        self.open_legs: dict[Leg, None] = {}
        self.next_chat_id = 0
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
            state.ramp_up = spec.ramp_up
            state.routing_least_busy = spec.routing == "least_busy"
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
            self.groups[name] = group
            for member in range(spec.size):
                agent = Agent(len(self.agents), group, spec.slowdown)
                agent.directories = [self.directories[d] for d in spec.directories]
                for directory in agent.directories:
                    directory.agents.append(agent)
                group.members.append(agent)
                self.agents.append(agent)
                agent_group.append(g)
                agent_member.append(member)

        for i, rule in enumerate(scenario.transfers):
            state = RuleState(rule)
            key = f"{i}:{rule.source}"
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
            source = self.directories[rule.source]
            cumulative = (source.rules[-1][0] if source.rules else 0.0) + rule.probability
            source.rules.append((cumulative, state))

        self.records = Records(
            directories=names,
            groups=tuple(self.groups),
            agent_group=tuple(agent_group),
            agent_member=tuple(agent_member),
            group_max_chats=tuple(g.max_chats for g in self.groups.values()),
            duration=scenario.duration,
            warmup=scenario.warmup,
            replication=replication,
        )
        self._schedule = self._make_scheduler()
        self._log = self._make_event_log()

    # ------------------------------------------------------------------ plumbing

    def _make_scheduler(self) -> Callable[..., None]:
        """``schedule(delay, fn, *args)``: call ``fn(*args)`` after ``delay`` seconds."""
        env = self.env
        timeout = simpy.Timeout

        def schedule(delay: float, fn: Callable[..., Any], *args: Any) -> None:
            timeout(env, delay).callbacks.append(lambda _event: fn(*args))

        return schedule

    def _make_event_log(self) -> EventLog:
        """``log(kind, chat, agent, directory)``: one row of the event log, or nothing when
        events are not recorded. It runs several times per chat, so the columns' appends
        are bound once here."""
        if not self.record_events:
            return lambda kind, chat, agent, directory: None
        env = self.env
        r = self.records
        times, chats, kinds = r.event_time.append, r.event_chat.append, r.event_kind.append
        agents, directories = r.event_agent.append, r.event_directory.append

        def log(
            kind: int, chat: Chat | None, agent: Agent | None, directory: DirectoryState | None
        ) -> None:
            times(env.now)
            chats(-1 if chat is None else chat.id)
            kinds(kind)
            agents(-1 if agent is None else agent.index)
            directories(-1 if directory is None else directory.index)

        return log

    def _agent_changed(self, agent: Agent) -> None:
        """Close the agent's current state interval; call before changing state or held."""
        now = self.env.now
        if now > agent.since:
            r = self.records
            r.interval_agent.append(agent.index)
            r.interval_start.append(agent.since)
            r.interval_end.append(now)
            r.interval_state.append(agent.state)
            r.interval_held.append(agent.held)
            agent.since = now

    def _refresh(self, agent: Agent) -> None:
        """Keep the agent in the 'available' sets exactly when a chat may be offered (R2)."""
        available = (
            agent.on_shift
            and agent.ready
            and agent.held < agent.max_chats
            and agent.ramp_until <= self.env.now
        )
        if available == agent.listed:
            return
        agent.listed = available
        if available:
            for directory in agent.directories:
                directory.available[agent] = None
            agent.group.available[agent] = None
        else:
            for directory in agent.directories:
                del directory.available[agent]
            del agent.group.available[agent]

    def _hold(self, agent: Agent, change: int) -> None:
        self._agent_changed(agent)
        agent.held += change
        if agent.state == CLOSING and agent.held == 0:
            agent.state = OFFLINE
        self._refresh(agent)

    # ------------------------------------------------------------------ run

    def run(self) -> Records:
        """Simulate until the scenario's duration, then close every open record."""
        env = self.env
        for name, spec in self.scenario.directories.items():
            if spec.arrivals is not None:
                rng = stream(self.root, "arrivals", name)
                self._next_arrival(self.directories[name], arrival_times(spec.arrivals, rng))
        for name, spec in self.scenario.agents.items():
            env.process(self._staffing(self.groups[name], spec))
        env.run(until=self.scenario.duration)
        self._finalize()
        return self.records

    def _next_arrival(self, directory: DirectoryState, instants: Iterator[float]) -> None:
        """R1: customers start chats at a directory (Poisson, piecewise-constant rate).
        Each arrival schedules the next: a chain of timeouts is cheaper than a process."""
        instant = next(instants, INF)
        if instant < self.scenario.duration:
            self._schedule(instant - self.env.now, self._arrival, directory, instants)

    def _arrival(self, directory: DirectoryState, instants: Iterator[float]) -> None:
        self._arrive(directory)
        self._next_arrival(directory, instants)

    def _staffing(self, group: GroupState, spec: Any) -> Any:
        """Shifts: agent i works in every shift whose count exceeds i."""
        env = self.env
        if spec.shifts is None:
            for agent in group.members:
                self._shift_starts(agent)
            return
        changes = sorted({s.start for s in spec.shifts} | {s.end for s in spec.shifts})
        for instant in changes:
            if instant > env.now:
                yield env.timeout(instant - env.now)
            count = sum(s.count for s in spec.shifts if s.start <= instant < s.end)
            for i, agent in enumerate(group.members):
                if i < count and not agent.on_shift:
                    self._shift_starts(agent)
                elif i >= count and agent.on_shift:
                    self._shift_ends(agent)

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
        """An agent at the end of a shift finishes the chats in hand and takes no new ones."""
        self._agent_changed(agent)
        agent.on_shift = False
        agent.ramping = False
        agent.state = CLOSING if agent.held else OFFLINE
        self._refresh(agent)

    # ------------------------------------------------------------ R1-R5: queue, routing, offers

    def _arrive(self, directory: DirectoryState) -> None:
        """R1: a new chat; its first-leg draws are taken now, in arrival order (CRN)."""
        now = self.env.now
        chat = Chat(self.next_chat_id, directory, now)
        self.next_chat_id += 1
        chat.first_work = directory.first_handle()
        chat.first_decision = directory.first_decision()
        self.chats_live[chat.id] = chat
        self._log(EVENT.ARRIVE, chat, None, directory)
        self._set_patience(chat, directory.patience())
        self._enqueue(chat, directory)

    def _set_patience(self, chat: Chat, patience: float) -> None:
        """R1/R12: the customer gives up after ``patience`` unless an agent connects first."""
        chat.patience_token += 1
        if patience < INF:
            self._schedule(patience, self._patience_expired, chat, chat.patience_token)

    def _enqueue(self, chat: Chat, directory: DirectoryState, dispatch: bool = True) -> None:
        """R3: chats queue first come, first served."""
        chat.queued_in = directory
        chat.queued_at = self.env.now
        chat.directory = directory
        directory.queue.append(chat)
        directory.waiting += 1
        self._log(EVENT.QUEUE, chat, None, directory)
        if dispatch:
            self._dispatch(directory)

    def _dispatch(self, directory: DirectoryState) -> None:
        """R2/R3: offer queued chats to eligible agents chosen by the routing policy."""
        while directory.waiting and directory.available:
            chat = self._head(directory)
            agent = self._pick(directory, chat)
            if agent is None:  # the free agents are all in the head chat (R8 warm inviter)
                for agent in list(directory.available):
                    self._agent_free(agent)
                return
            self._offer(self._pop(directory), agent, directory)

    def _pick(self, directory: DirectoryState, chat: Chat) -> Agent | None:
        """R3: ``longest_idle`` (last chat ended longest ago, then fewest chats) or
        ``least_busy`` (fewest chats, then longest idle); ties go to the first listed.
        An agent already connected to the chat is not offered it again."""
        best: Agent | None = None
        if directory.routing_least_busy:
            for agent in directory.available:
                if agent in chat.participants:
                    continue
                if (
                    best is None
                    or agent.held < best.held
                    or (agent.held == best.held and agent.last_end < best.last_end)
                ):
                    best = agent
        else:
            for agent in directory.available:
                if agent in chat.participants:
                    continue
                if (
                    best is None
                    or agent.last_end < best.last_end
                    or (agent.last_end == best.last_end and agent.held < best.held)
                ):
                    best = agent
        return best

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

    def _agent_free(self, agent: Agent) -> None:
        """A slot came free or the agent became Ready: serve the longest-waiting chat among
        the agent's directories (R3), one at a time while ramping up (R5)."""
        while agent.listed:
            best: DirectoryState | None = None
            best_head = INF
            best_chat: Chat | None = None
            for directory in agent.directories:
                if directory.waiting:
                    head = self._head_for(directory, agent)
                    if head is not None and (head.queued_at < best_head or best is None):
                        best, best_head, best_chat = directory, head.queued_at, head
            if best is None:
                agent.ramping = False
                return
            assert best_chat is not None
            if best_chat is best.queue[0]:
                self._pop(best)
            else:  # the agent is already in the chats ahead (R8 warm inviter)
                best.queue.remove(best_chat)
                best_chat.queued_in = None
                best.waiting -= 1
            self._offer(best_chat, agent, best)

    @staticmethod
    def _head(directory: DirectoryState) -> Chat:
        queue = directory.queue
        while queue[0].queued_in is not directory:
            queue.popleft()
        return queue[0]

    def _head_for(self, directory: DirectoryState, agent: Agent) -> Chat | None:
        """The longest-waiting chat of the directory that ``agent`` is not already in."""
        head = self._head(directory)
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
        self._alert(chat, agent, self._accept_offer, self._offer_missed)

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
        self._schedule(self.not_ready_time, self._ready_again, agent)

    def _ready_again(self, agent: Agent) -> None:
        self._agent_changed(agent)
        agent.ready = True
        if agent.on_shift:
            agent.state = READY
            self._becomes_ready(agent)

    def _offer_missed(self, chat: Chat, agent: Agent) -> None:
        """R3/R4: a missed offer goes back to the directory and keeps its place at the head."""
        chat.offered_to = None
        directory = chat.directory
        chat.queued_in = directory
        directory.queue.appendleft(chat)
        directory.waiting += 1
        self._hold(agent, -1)
        self._dispatch(directory)

    def _accept_offer(self, chat: Chat, agent: Agent) -> None:
        """R1/R8: an agent of the directory connects; the customer stops waiting."""
        chat.offered_to = None
        chat.patience_token += 1
        first = chat.connected_at != chat.connected_at  # nan: nobody connected yet
        if first:
            chat.connected_at = self.env.now
        self._connect(chat, agent, chat.directory)
        leg = chat.leg
        if leg is not None:  # the end of a directory transfer (R8)
            chat.leg = None
            self._directory_leg_connected(leg)
        self._serve(chat, agent, first=first)

    def _patience_expired(self, chat: Chat, token: int) -> None:
        """R1/R8/R12: the customer leaves while queued (or while the offer rings)."""
        if token != chat.patience_token:
            return
        agent = chat.offered_to
        if agent is not None:
            chat.offer_token += 1  # the ringing offer is withdrawn
            chat.offered_to = None
            self._hold(agent, -1)
            self._agent_free(agent)
        elif chat.queued_in is not None:
            chat.queued_in.waiting -= 1
            chat.queued_in = None
        else:
            return
        self._log(EVENT.ABANDON, chat, None, chat.directory)
        leg = chat.leg
        if leg is not None:
            chat.leg = None
            self._close_leg(leg, LegOutcome.ABANDONED)
        chat.ended = True  # the participants' leaving below must not complete the chat
        for participant in list(chat.participants):
            self._leave(chat, participant)
        self._end(chat, Outcome.ABANDONED if leg is None else Outcome.ABANDONED_IN_TRANSFER)

    # ------------------------------------------------------------------ service legs

    def _connect(self, chat: Chat, agent: Agent, directory: DirectoryState) -> None:
        chat.participants[agent] = directory
        agent.connected += 1
        self._log(EVENT.CONNECT, chat, agent, directory)
        if agent.slowdown is not None:
            self._load_changed(agent)

    def _serve(self, chat: Chat, agent: Agent, first: bool) -> None:
        """A service leg: draw the handling work and whether (and which) transfer follows."""
        directory = chat.directory
        chat.lead = agent
        if first:
            work, decision = chat.first_work, chat.first_decision
        else:
            work = directory.after_transfer_handle()
            decision = directory.after_transfer_decision()
        rule = None
        if directory.rules and (self.max_transfers is None or chat.transfers < self.max_transfers):
            for cumulative, candidate in directory.rules:
                if decision < cumulative:
                    rule = candidate
                    break
        if rule is None:
            self._work(agent, chat, work, self._finish)
        else:
            at = rule.at()
            chat.rule = rule
            chat.remaining = max(work - at, 0.0)
            self._work(agent, chat, at, self._request_transfer)

    def _work(self, agent: Agent, chat: Chat, amount: float, then: Callable[[Chat], None]) -> None:
        """Handling work; with a slowdown it stretches with the agent's load."""
        if agent.slowdown is None:
            self._schedule(amount, then, chat)
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

    def _leave(self, chat: Chat, agent: Agent) -> None:
        """R10/R11: End Chat for one participant, who then owes the wrap-up of the
        directory they served; the chat ends when nobody is left and it is not queued."""
        directory = chat.participants.pop(agent)
        agent.connected -= 1
        agent.last_end = self.env.now
        self._log(EVENT.LEAVE, chat, agent, directory)
        if agent.slowdown is not None:
            self._load_changed(agent)
        wrap_up = directory.wrap_up()
        if wrap_up > 0:
            self._schedule(wrap_up, self._wrap_up_over, agent, directory)
        else:
            self._release(agent)
        if (
            not chat.participants
            and chat.queued_in is None
            and chat.offered_to is None
            and not chat.ended
        ):
            self._end(chat, Outcome.COMPLETED)

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
        self._record_chat(chat, self.env.now, outcome)

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
        self.open_legs[leg] = None
        chat.leg = leg
        self._invite(chat, leg)

    def _directory_transfer(
        self, chat: Chat, inviter: Agent, target: DirectoryState, leave: Any, confirm: float
    ) -> None:
        """R8: the chat queues in the target directory while the inviter stays connected;
        the inviter leaves on connect (warm), at once, or after a delay (cold)."""
        kind = LegKind.DIRECTORY_WARM if leave == "on_connect" else LegKind.DIRECTORY_COLD
        leg = Leg(chat, kind, inviter, self.env.now, confirm)
        leg.target_directory = target
        self.open_legs[leg] = None
        chat.leg = leg
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
        invitee = None
        for agent in group.available:
            if agent in chat.participants or agent in leg.tried:
                continue
            if invitee is None or (agent.last_end, agent.held) < (invitee.last_end, invitee.held):
                invitee = agent
        if invitee is None:
            self._declined(chat, leg, can_retry=False)
            return
        leg.tried.append(invitee)
        leg.invitee = invitee
        self._hold(invitee, +1)
        if leg.rule.consult is not None:
            self._log(EVENT.CONSULT, chat, invitee, chat.directory)
            self._schedule(leg.rule.consult(), self._consulted, chat, leg, invitee)
        else:
            self._log(EVENT.INVITE, chat, invitee, chat.directory)
            self._alert(chat, invitee, self._invitation_accepted, self._invitation_missed)

    def _consulted(self, chat: Chat, leg: Leg, invitee: Agent) -> None:
        """R9: the consultation held the invitee's slot; now the invitation itself rings."""
        self._log(EVENT.INVITE, chat, invitee, chat.directory)
        self._alert(chat, invitee, self._invitation_accepted, self._invitation_missed)

    def _invitation_accepted(self, chat: Chat, invitee: Agent) -> None:
        """R6/R7: the invitee joins; a conference lasts its duration, a transfer to an
        agent ends with the inviter leaving after the confirmation delay."""
        leg = chat.leg
        assert leg is not None and leg.invitee is invitee
        chat.leg = None
        leg.connected = self.env.now
        self._connect(chat, invitee, chat.directory)
        assert leg.rule is not None
        if leg.kind == LegKind.CONFERENCE:
            assert leg.rule.duration is not None
            self._schedule(leg.rule.duration(), self._conference_over, chat, leg, invitee)
        else:
            self._serve(chat, invitee, first=False)
            self._confirm_then_leave(leg)

    def _conference_over(self, chat: Chat, leg: Leg, invitee: Agent) -> None:
        """R6: the invitee leaves the conference; the inviter carries on with the chat."""
        self._leave(chat, invitee)
        self._close_leg(leg, LegOutcome.CONNECTED, overlap=self.env.now - leg.connected)
        self._work(leg.inviter, chat, chat.remaining, self._finish)

    def _invitation_missed(self, chat: Chat, invitee: Agent) -> None:
        leg = chat.leg
        assert leg is not None and leg.invitee is invitee
        self._log(EVENT.DECLINE, chat, invitee, chat.directory)
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
            target = self.directories[rule.on_decline.directory]
            self._directory_transfer(chat, inviter, target, rule.on_decline.leave, rule.confirm)
        else:  # keep: the inviter handles the rest of the chat
            self._work(inviter, chat, chat.remaining, self._finish)

    def _close_leg(self, leg: Leg, outcome: LegOutcome, overlap: float | None = None) -> None:
        """Write one transfer leg: handoff gap (nobody connected) and overlap (two or more)."""
        del self.open_legs[leg]
        now = self.env.now
        reached = leg.connected if leg.connected == leg.connected else now
        gap = 0.0
        if leg.inviter_left == leg.inviter_left and reached > leg.inviter_left:
            gap = reached - leg.inviter_left
        if overlap is None:
            overlap = 0.0
            if leg.connected == leg.connected and leg.inviter_left == leg.inviter_left:
                overlap = max(leg.inviter_left - leg.connected, 0.0)
        self._record_leg(leg, now, outcome, gap, overlap)

    # ------------------------------------------------------------------ records

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

    def _finalize(self) -> None:
        """R13: chats and legs still open at the end are recorded as open, not dropped."""
        now = self.env.now
        for leg in list(self.open_legs):
            self._close_leg(leg, LegOutcome.OPEN)
        for chat in self.chats_live.values():
            self._record_chat(chat, NAN, Outcome.OPEN)
        self.chats_live.clear()
        for agent in self.agents:
            self._agent_changed(agent)
            agent.since = now


def run_replication(
    scenario: Scenario,
    replication: int = 0,
    seed: int | None = None,
    record_events: bool = True,
) -> Records:
    """Simulate one replication of ``scenario``: the model's single entry point.

    ``seed`` defaults to the scenario's; replication ``r`` draws from
    ``SeedSequence(seed).spawn(n)[r]``, so results do not depend on how many
    replications run or where.
    """
    return Center(scenario, replication, seed, record_events).run()
