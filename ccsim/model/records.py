"""Compact, columnar records that the model appends to while it runs.

Columns are ``array.array`` of machine numbers (a few bytes a value, no Python object
per row), so a million chats fit in memory comfortably. Codes are small ints whose
names are in the enums below; the edge (``ccsim.results``) turns them into DataFrames
with readable categories. Nothing here builds pandas objects or does I/O.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from enum import IntEnum


class Outcome(IntEnum):
    """How a chat ended (R13)."""

    COMPLETED = 0
    ABANDONED = 1  # in the first queue, never answered
    ABANDONED_IN_TRANSFER = 2  # while queued in a directory after a transfer
    OPEN = 3  # still in the system when the run stopped


class LegKind(IntEnum):
    """The kind of one transfer or conference leg."""

    DIRECTORY_WARM = 0  # R8, inviter leaves once the new agent is connected
    DIRECTORY_COLD = 1  # R8, inviter leaves at once or after a set delay
    AGENT_TRANSFER = 2  # R7, conference followed by the inviter leaving
    CONFERENCE = 3  # R6, the inviter keeps the chat


class LegOutcome(IntEnum):
    CONNECTED = 0  # a new participant connected
    DECLINED = 1  # nobody available, or the invitation was not answered (R6)
    ABANDONED = 2  # the customer left while the chat waited in the directory
    OPEN = 3  # unresolved when the run stopped


class AgentState(IntEnum):
    READY = 0
    NOT_READY = 1  # after a missed offer (R4)
    CLOSING = 2  # shift over, finishing the chats in hand
    OFFLINE = 3  # not staffed

    @property
    def staffed(self) -> bool:
        return self is not AgentState.OFFLINE


class EventKind(IntEnum):
    ARRIVE = 0
    QUEUE = 1
    OFFER = 2
    NO_ANSWER = 3
    CONNECT = 4
    TRANSFER = 5
    AUTOMATED_MESSAGE = 6
    CONSULT = 7
    INVITE = 8
    DECLINE = 9
    LEAVE = 10
    ABANDON = 11
    END = 12
    WRAP_UP_END = 13
    WITHDRAW = 14  # a ringing offer or invitation withdrawn at the agent's shift end
    BALK = 15  # the customer found no free agent and left at once (an abandonment)


def _floats() -> array:
    return array("d")


def _ints() -> array:
    return array("q")


def _small() -> array:
    return array("b")


@dataclass
class Records:
    """Everything one replication produced, as parallel columns.

    Times are simulation seconds; ``nan`` marks a time that never came (a chat never
    answered has ``chat_connect = nan``). Indices refer to ``directories``, ``groups``
    and ``agent_group`` (the group of each agent index); -1 means none.
    """

    directories: tuple[str, ...]
    groups: tuple[str, ...]
    agent_group: tuple[int, ...]
    agent_member: tuple[int, ...]  # position of the agent within its group
    group_max_chats: tuple[int, ...]
    duration: float
    warmup: float
    replication: int = 0
    #: The day's factor on every arrival rate (``busyness:``), None without one.
    busyness: float | None = None
    #: Chats of the initial state: ids below ``initial_waiting`` were waiting at the start,
    #: the next ``initial_held`` were being handled (see :mod:`ccsim.model.start`).
    initial_waiting: int = 0
    initial_held: int = 0
    #: The state at the end of the run, in the form of :class:`ccsim.model.start.StartState`
    #: (indices into ``directories``/``groups``): ``(directory, waited)`` per waiting chat,
    #: ``(group, member, directory, work_left)`` per held chat. Empty unless asked for.
    end_waiting: list[tuple[int, float]] = field(default_factory=list)
    end_held: list[tuple[int, int, int, float]] = field(default_factory=list)

    # one row per chat (R13: every arriving chat has exactly one row)
    chat_id: array = field(default_factory=_ints)
    chat_directory: array = field(default_factory=_ints)  # where it arrived
    chat_arrival: array = field(default_factory=_floats)
    chat_connect: array = field(default_factory=_floats)  # first agent connected
    chat_end: array = field(default_factory=_floats)  # nan when open at the end
    chat_outcome: array = field(default_factory=_small)
    chat_transfers: array = field(default_factory=_ints)
    chat_final_directory: array = field(default_factory=_ints)

    # one row per transfer or conference leg
    leg_chat: array = field(default_factory=_ints)
    leg_kind: array = field(default_factory=_small)
    leg_source: array = field(default_factory=_ints)  # directory requested from
    leg_target_directory: array = field(default_factory=_ints)
    leg_target_group: array = field(default_factory=_ints)
    leg_requested: array = field(default_factory=_floats)
    leg_connected: array = field(default_factory=_floats)
    leg_inviter_left: array = field(default_factory=_floats)
    leg_closed: array = field(default_factory=_floats)
    leg_outcome: array = field(default_factory=_small)
    leg_handoff_gap: array = field(default_factory=_floats)
    leg_overlap: array = field(default_factory=_floats)

    # one row per agent state interval (state or number of held slots changed)
    interval_agent: array = field(default_factory=_ints)
    interval_start: array = field(default_factory=_floats)
    interval_end: array = field(default_factory=_floats)
    interval_state: array = field(default_factory=_small)
    interval_held: array = field(default_factory=_small)

    # event log (optional: ``record_events=False`` leaves it empty)
    event_time: array = field(default_factory=_floats)
    event_chat: array = field(default_factory=_ints)
    event_kind: array = field(default_factory=_small)
    event_agent: array = field(default_factory=_ints)
    event_directory: array = field(default_factory=_ints)

    # Customers and routing (issue 14): sparse rows, written only by scenarios that use
    # the feature; the flags say which metrics apply.
    balking: bool = False  # some directory has ``balk``
    retrying: bool = False  # some directory has ``retry``
    overflowing: bool = False  # some directory has ``overflow``
    balked_chat: array = field(default_factory=_ints)  # chats that balked (ABANDONED)
    overflow_chat: array = field(default_factory=_ints)  # a queue stay answered by an
    overflow_directory: array = field(default_factory=_ints)  # overflow group, and where
    retry_chat: array = field(default_factory=_ints)  # a retried attempt (a chat of its own)
    retry_first_arrival: array = field(default_factory=_floats)  # its customer's first
    retry_attempt: array = field(default_factory=_ints)  # 2 for the first retry, ...
    retried_chat: array = field(default_factory=_ints)  # abandoned chats tried again later
    # (the decision: a retry due after the end of the run is decided but never arrives)

    @property
    def chat_count(self) -> int:
        return len(self.chat_id)


class DirectoryTally:
    """What the metrics of one directory need, for the measured chats (arrived at or
    after ``warmup``): counts, and the waits whose percentiles are wanted, in the order
    the full records would list them.

    Arrival view (chats that arrived here, legs requested from here) and queue view
    (transfers into this directory's queue, R8); see :mod:`ccsim.results`.
    """

    __slots__ = (
        "balked",
        "customers",
        "first_abandoned",
        "handoff_gaps",
        "initial",
        "lost",
        "outcomes",
        "overlap_sum",
        "retrials",
        "served_by_overflow",
        "session_sum",
        "transfer_in_abandoned",
        "transfer_in_waiting_since",
        "transfer_in_waits",
        "transfer_waits",
        "transferred_in",
        "transfers",
        "waiting_since",
        "waits",
    )

    def __init__(self) -> None:
        self.outcomes = [0] * len(Outcome)  # chats by how they ended (R13)
        self.initial = 0  # of them, chats waiting in the initial state
        self.waits = _floats()  # first connect - arrival, of answered chats
        self.waiting_since = _floats()  # arrival of chats still unanswered at the end
        self.session_sum = 0.0  # end - arrival, over chats that ended
        self.transfers = 0  # legs requested from here
        self.transfer_waits = _floats()  # connected - requested, of connected legs
        self.overlap_sum = 0.0  # overlap of connected legs
        self.handoff_gaps = _floats()  # gap of transfer legs not declined
        self.transferred_in = 0  # directory transfers into this queue
        self.transfer_in_waits = _floats()  # connected - requested, once connected
        self.transfer_in_waiting_since = _floats()  # requested, still waiting at the end
        self.transfer_in_abandoned = 0
        # issue 14 (customers counted by their first arrival, the rest by the chat's)
        self.balked = 0
        self.retrials = 0  # chats that are a customer's second or later attempt
        self.customers = 0  # first attempts
        self.first_abandoned = 0  # first attempts abandoned
        self.lost = 0  # customers whose last attempt was abandoned (no retry decided)
        self.served_by_overflow = 0  # stays in this queue answered by an overflow group


class GroupTally:
    """Agent time of one group over ``[warmup, duration]``, in seconds: staffed, staffed
    slots (staffed time x ``max_chats``), held slots, and busy (holding at least one)."""

    __slots__ = ("busy", "held", "slots", "staffed")

    def __init__(self) -> None:
        self.staffed = 0.0
        self.slots = 0.0
        self.held = 0.0
        self.busy = 0.0


@dataclass
class Tallies:
    """What one replication's metrics need, accumulated as the run goes (the model's
    ``tables=False`` mode): no row per chat, leg, agent interval or event, so a long run
    takes memory in proportion to its answered chats only (8 bytes each, for exact wait
    percentiles). :func:`ccsim.results.replication_metrics` gives the same metrics as from
    full :class:`Records`; per-interval metrics and tables need full records.
    """

    directories: tuple[str, ...]
    groups: tuple[str, ...]
    agent_group: tuple[int, ...]
    agent_member: tuple[int, ...]
    group_max_chats: tuple[int, ...]
    duration: float
    warmup: float
    replication: int = 0
    busyness: float | None = None
    initial_waiting: int = 0
    initial_held: int = 0
    chats: int = 0  # every chat that arrived, measured or not
    balking: bool = False  # as in Records
    retrying: bool = False
    overflowing: bool = False
    by_directory: list[DirectoryTally] = field(default_factory=list)
    by_group: list[GroupTally] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.by_directory:
            self.by_directory = [DirectoryTally() for _ in self.directories]
        if not self.by_group:
            self.by_group = [GroupTally() for _ in self.groups]

    @property
    def chat_count(self) -> int:
        return self.chats
