"""The names of ccsim's metrics and their kinds (counts, times in seconds, ratios), with
no numerical library behind them.

:mod:`ccsim.expect` checks ``expect:`` lists with these while a scenario loads, so
``ccsim validate`` and ``ccsim --help`` need neither numpy, pandas nor scipy. The metrics
themselves, and their definitions, are in :mod:`ccsim.results`, which imports these
names.
"""

from __future__ import annotations

CHAT_METRICS = (
    # arrival view: chats by the directory where they arrived
    "offered",
    "answered",
    "abandoned",
    "abandon_rate",
    "completed",
    "abandoned_initial",
    "abandoned_in_transfer",
    "open_at_end",
    "initial_chats",  # only in runs from an initial state: its waiting chats (measured)
    "service_level",
    "wait_mean",
    "wait_p50",
    "wait_p90",
    "wait_p95",
    "transfers",
    "transfer_rate",
    "transfer_wait_mean",
    "transfer_wait_p90",
    "handoff_gap_mean",
    "handoff_gap_p90",
    "handoff_gap_p95",
    "conference_overlap_mean",
    "session_time_mean",
    # customers (issue 14), only in runs whose scenario has balk or retry
    "balked",  # left at once on finding no free agent (counted in abandoned_initial)
    "retrials",  # chats that are a customer's second or later attempt (in offered)
    "abandon_rate_first_attempt",  # first attempts abandoned / first attempts
    "abandon_rate_all_attempts",  # customers whose last attempt was abandoned / customers
    # queue view: every stay in the directory's queue, including transfers in
    "queued",
    "transferred_in",
    "queued_answered",
    "queued_abandoned",
    "queued_service_level",
    "queued_wait_mean",
    "queued_wait_p90",
    "served_by_overflow",  # only with overflow: stays answered by an overflow group
)
# The queue view that every run has (served_by_overflow, after it, only with overflow).
QUEUE_METRICS = CHAT_METRICS[
    CHAT_METRICS.index("queued") : CHAT_METRICS.index("queued_wait_p90") + 1
]
AGENT_METRICS = ("utilization", "occupancy")
METRICS = CHAT_METRICS + AGENT_METRICS
COUNT_METRICS = frozenset(
    {
        "offered",
        "answered",
        "abandoned",
        "completed",
        "abandoned_initial",
        "abandoned_in_transfer",
        "open_at_end",
        "initial_chats",
        "transfers",
        "queued",
        "transferred_in",
        "queued_answered",
        "queued_abandoned",
        "balked",
        "retrials",
        "served_by_overflow",
    }
)
TIME_METRICS = frozenset(
    m
    for m in METRICS
    if m.startswith(("wait", "transfer_wait", "handoff", "conference", "session", "queued_wait"))
)
RATIO_METRICS = frozenset(METRICS) - COUNT_METRICS - TIME_METRICS

__all__ = [
    "AGENT_METRICS",
    "CHAT_METRICS",
    "COUNT_METRICS",
    "METRICS",
    "QUEUE_METRICS",
    "RATIO_METRICS",
    "TIME_METRICS",
]
