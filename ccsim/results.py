"""From the model's compact records to metrics, confidence intervals and DataFrames.

Metrics are computed per replication with numpy (one pass over the columns), then
summarised across replications as a mean with a Student-t 95% confidence interval:
replications are independent, so their per-run metrics are i.i.d. samples. Names follow
docs/transfer-rules.md. Times are seconds.

Definitions that the rules leave open:

- A chat is *measured* when it arrives at or after ``warmup``; chat metrics use measured
  chats and their transfer legs.
- Two views per directory, because a directory that only receives transfers has no
  arrivals of its own. The *arrival view* (``offered``, ``answered``, ``service_level``,
  ``wait_*``, ...) groups chats by the directory where they arrived; transfer legs
  (``transfers``, ``transfer_wait_*``, ``handoff_gap_*``) by the directory they were
  requested from. The *queue view* (``queued``, ``transferred_in``, ``queued_answered``,
  ``queued_abandoned``, ``queued_service_level``, ``queued_wait_*``) counts every stay of
  a measured chat in a directory's queue: the first queue after arrival, and every
  directory transfer (R8) into it, from queue entry to the first agent connected there.
  Overall, ``queued = offered + transferred_in``.
- Outcomes add up: ``completed + abandoned_initial + abandoned_in_transfer + open_at_end
  = offered`` (per replication, overall and per arrival directory). ``abandoned`` is
  ``abandoned_initial + abandoned_in_transfer``, so ``answered + abandoned`` can exceed
  ``offered``: a chat answered and later abandoned while queued after a transfer counts
  in both. ``abandon_rate`` = ``abandoned / offered``.
- ``service_level`` = answered within the threshold / counted, in both views (threshold of
  the arrival directory, or of the queue's directory). A chat still waiting unanswered
  when the run stops (``duration``) counts as a miss once it has waited longer than the
  threshold (it has already failed); only those still waiting within the threshold are
  left out of the count. Abandoned chats are misses.
- ``handoff_gap`` is over transfer legs (not conferences) that were not declined.
- Customers (scenarios with ``balk`` or ``retry``): every attempt is a chat, so the
  identity above counts attempts and ``retrials`` are the attempts after the first.
  ``balked`` chats are in ``abandoned_initial``. ``abandon_rate_first_attempt`` =
  abandoned first attempts / first attempts; ``abandon_rate_all_attempts`` = customers
  whose last attempt was abandoned with no retry decided / first attempts (a customer
  counts by its first arrival). ``served_by_overflow`` (with ``overflow``) counts the
  stays in a directory's queue answered by an overflow group.
- ``utilization`` = held slot time / staffed slot time and ``occupancy`` = time holding at
  least one chat / staffed time, both over ``[warmup, duration]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# One list of names, light enough for `ccsim validate`; re-exported here beside the
# definitions.
from ccsim.metric_names import (  # noqa: F401
    AGENT_METRICS,
    CHAT_METRICS,
    COUNT_METRICS,
    METRICS,
    QUEUE_METRICS,
    RATIO_METRICS,
    TIME_METRICS,
)
from ccsim.model.records import (
    AgentState,
    DirectoryTally,
    EventKind,
    GroupTally,
    LegKind,
    LegOutcome,
    Outcome,
    Records,
    Tallies,
)

OUTCOMES_NOTE = (
    "Outcomes add up: completed + abandoned_initial + abandoned_in_transfer + open_at_end"
    " = offered. abandoned counts both kinds, so answered + abandoned exceeds offered when"
    " an answered chat is abandoned while queued after a transfer. The queue view (queued,"
    " transferred_in, queued_*) counts every stay in a directory's queue, transfers in too."
)
Metrics = dict[str, float]


@dataclass(frozen=True)
class ReplicationMetrics:
    """Every metric of one replication: overall, per directory, per agent group."""

    overall: Metrics
    directories: dict[str, Metrics]
    groups: dict[str, Metrics]


def _nan_stat(values: np.ndarray, kind: str) -> float:
    if values.size == 0:
        return math.nan
    if kind == "mean":
        return float(values.mean())
    return float(np.percentile(values, float(kind[1:])))


def share_within_threshold(
    entry: np.ndarray,
    connected: np.ndarray,
    still_waiting: np.ndarray,
    threshold: np.ndarray,
    run_end: float,
) -> float:
    """Share answered within ``threshold`` of ``entry``. A wait still going on at
    ``run_end`` is a miss once it is longer than the threshold; only waits still within
    it are left out, since they may yet be answered in time."""
    answered = ~np.isnan(connected)
    within = int(np.count_nonzero((connected - entry)[answered] <= threshold[answered]))
    undecided = still_waiting & (run_end - entry <= threshold)
    counted = entry.size - int(np.count_nonzero(undecided))
    return within / counted if counted else math.nan


def _chat_metrics(
    arrival: np.ndarray,
    connect: np.ndarray,
    end: np.ndarray,
    outcome: np.ndarray,
    threshold: np.ndarray,
    legs: dict[str, np.ndarray],
    run_end: float,
) -> Metrics:
    """Arrival view: the chats that arrived in one directory (or all), with the legs
    requested from it."""
    offered = arrival.size
    answered_mask = ~np.isnan(connect)
    waits = connect[answered_mask] - arrival[answered_mask]
    completed = int(np.count_nonzero(outcome == Outcome.COMPLETED))
    abandoned_initial = int(np.count_nonzero(outcome == Outcome.ABANDONED))
    abandoned_in_transfer = int(np.count_nonzero(outcome == Outcome.ABANDONED_IN_TRANSFER))
    open_at_end = int(np.count_nonzero(outcome == Outcome.OPEN))
    abandoned = abandoned_initial + abandoned_in_transfer
    still_waiting = (outcome == Outcome.OPEN) & ~answered_mask
    answered = int(answered_mask.sum())
    ended = ~np.isnan(end)
    kind, outcome_leg = legs["kind"], legs["outcome"]
    connected = outcome_leg == LegOutcome.CONNECTED
    transfer_wait = (legs["connected"] - legs["requested"])[connected]
    handoff = legs["gap"][(kind != LegKind.CONFERENCE) & (outcome_leg != LegOutcome.DECLINED)]
    overlap = legs["overlap"][connected]
    transfers = int(kind.size)
    return {
        "offered": float(offered),
        "answered": float(answered),
        "abandoned": float(abandoned),
        "abandon_rate": abandoned / offered if offered else math.nan,
        "completed": float(completed),
        "abandoned_initial": float(abandoned_initial),
        "abandoned_in_transfer": float(abandoned_in_transfer),
        "open_at_end": float(open_at_end),
        "service_level": share_within_threshold(
            arrival, connect, still_waiting, threshold, run_end
        ),
        "wait_mean": _nan_stat(waits, "mean"),
        "wait_p50": _nan_stat(waits, "p50"),
        "wait_p90": _nan_stat(waits, "p90"),
        "wait_p95": _nan_stat(waits, "p95"),
        "transfers": float(transfers),
        "transfer_rate": transfers / answered if answered else math.nan,
        "transfer_wait_mean": _nan_stat(transfer_wait, "mean"),
        "transfer_wait_p90": _nan_stat(transfer_wait, "p90"),
        "handoff_gap_mean": _nan_stat(handoff, "mean"),
        "handoff_gap_p90": _nan_stat(handoff, "p90"),
        "handoff_gap_p95": _nan_stat(handoff, "p95"),
        "conference_overlap_mean": _nan_stat(overlap, "mean"),
        "session_time_mean": _nan_stat((end - arrival)[ended], "mean"),
    }


def _queue_metrics(
    entry: np.ndarray,
    connected: np.ndarray,
    abandoned: np.ndarray,
    still_waiting: np.ndarray,
    transferred: np.ndarray,
    threshold: np.ndarray,
    run_end: float,
) -> Metrics:
    """Queue view: stays in one directory's queue (or all), each from queue entry to the
    first agent connected there, abandonment, or the end of the run."""
    answered = ~np.isnan(connected)
    waits = (connected - entry)[answered]
    return {
        "queued": float(entry.size),
        "transferred_in": float(np.count_nonzero(transferred)),
        "queued_answered": float(np.count_nonzero(answered)),
        "queued_abandoned": float(np.count_nonzero(abandoned)),
        "queued_service_level": share_within_threshold(
            entry, connected, still_waiting, threshold, run_end
        ),
        "queued_wait_mean": _nan_stat(waits, "mean"),
        "queued_wait_p90": _nan_stat(waits, "p90"),
    }


def _agent_metrics(
    start: np.ndarray, end: np.ndarray, state: np.ndarray, held: np.ndarray, max_chats: np.ndarray
) -> Metrics:
    staffed = state != AgentState.OFFLINE
    length = end - start
    staffed_time = float(length[staffed].sum())
    slot_time = float((length * max_chats)[staffed].sum())
    held_time = float((length * held).sum())
    busy_time = float(length[staffed & (held > 0)].sum())
    return {
        "utilization": held_time / slot_time if slot_time else math.nan,
        "occupancy": busy_time / staffed_time if staffed_time else math.nan,
    }


def measured_at(records: Records, arrival: np.ndarray) -> np.ndarray:
    """When each chat counts as arriving, for the measured window and per-interval
    figures: its arrival, except in a run from an initial state, where the chats waiting
    at the start count at 0 (their arrival is set back by the time they had waited, which
    counts in their waits) and the chats held at the start not at all (NaN: they were
    answered before the run; only their agents' time counts)."""
    if not (records.initial_waiting or records.initial_held):
        return arrival
    counted = arrival.copy()
    waiting, held = records.initial_waiting, records.initial_held
    ids = np.frombuffer(records.chat_id, dtype=np.int64)
    counted[ids < waiting] = 0.0
    counted[(ids >= waiting) & (ids < waiting + held)] = np.nan
    return counted


def chat_metrics_between(
    records: Records, thresholds: Mapping[str, float], start: float, end: float
) -> ReplicationMetrics:
    """Chat metrics (overall and per directory, both views, no agent metrics) of the chats
    that arrived in ``[start, end)`` and after the warm-up, with their transfer legs and
    queue stays. Whole-run and per-interval figures (staffing by hour) share these
    definitions; a wait still going on is judged at the end of the run, not of the
    interval. Needs full :class:`Records` (a run with tables): :class:`Tallies` keep
    whole-run totals only."""
    r = records
    arrival = np.frombuffer(r.chat_arrival, dtype=float)
    counted_at = measured_at(r, arrival)
    inside = (counted_at >= max(start, r.warmup)) & (counted_at < end)
    directory = np.frombuffer(r.chat_directory, dtype=np.int64)[inside]
    threshold_by_index = np.array([thresholds[d] for d in r.directories], dtype=float)
    chats = {
        "arrival": arrival[inside],
        "connect": np.frombuffer(r.chat_connect, dtype=float)[inside],
        "end": np.frombuffer(r.chat_end, dtype=float)[inside],
        "outcome": np.frombuffer(r.chat_outcome, dtype=np.int8)[inside],
        "threshold": threshold_by_index[directory] if directory.size else np.zeros(0),
    }
    ids = np.frombuffer(r.chat_id, dtype=np.int64)[inside]
    leg_inside = np.isin(np.frombuffer(r.leg_chat, dtype=np.int64), ids)
    legs = {
        "kind": np.frombuffer(r.leg_kind, dtype=np.int8)[leg_inside],
        "outcome": np.frombuffer(r.leg_outcome, dtype=np.int8)[leg_inside],
        "requested": np.frombuffer(r.leg_requested, dtype=float)[leg_inside],
        "connected": np.frombuffer(r.leg_connected, dtype=float)[leg_inside],
        "gap": np.frombuffer(r.leg_handoff_gap, dtype=float)[leg_inside],
        "overlap": np.frombuffer(r.leg_overlap, dtype=float)[leg_inside],
    }
    source = np.frombuffer(r.leg_source, dtype=np.int64)[leg_inside]
    stays, stay_directory = _queue_stays(chats, directory, legs, r, leg_inside)
    stays["threshold"] = threshold_by_index[stay_directory] if stay_directory.size else np.zeros(0)
    run_end = r.duration
    per_directory: dict[str, Metrics] = {}
    for index, name in enumerate(r.directories):
        mask, leg_mask = directory == index, source == index
        per_directory[name] = _chat_metrics(
            **{k: v[mask] for k, v in chats.items()},
            legs={k: v[leg_mask] for k, v in legs.items()},
            run_end=run_end,
        )
        stay_mask = stay_directory == index
        per_directory[name].update(
            _queue_metrics(**{k: v[stay_mask] for k, v in stays.items()}, run_end=run_end)
        )
    overall = _chat_metrics(**chats, legs=legs, run_end=run_end)
    overall.update(_queue_metrics(**stays, run_end=run_end))
    if r.initial_waiting or r.initial_held:  # a run from an initial state says so
        initial = ids < r.initial_waiting
        for index, name in enumerate(r.directories):
            count = np.count_nonzero(initial & (directory == index))
            per_directory[name]["initial_chats"] = float(count)
        overall["initial_chats"] = float(np.count_nonzero(initial))
    _customer_and_overflow_metrics(r, inside, start, end, overall, per_directory)
    return ReplicationMetrics(overall, per_directory, {})


def _customer_and_overflow_metrics(
    r: Records,
    inside: np.ndarray,
    start: float,
    end: float,
    overall: Metrics,
    per_directory: dict[str, Metrics],
) -> None:
    """Add ``balked``, ``retrials``, the first- and all-attempt abandon rates (scenarios
    with balk or retry) and ``served_by_overflow`` (with overflow) to the chat metrics
    of the chats ``inside`` the window. A customer counts by its first arrival: its
    first attempt is the customer, and it is lost when its last attempt was abandoned
    with no retry decided."""
    if not (r.balking or r.retrying or r.overflowing):
        return
    ids = np.frombuffer(r.chat_id, dtype=np.int64)
    directory = np.frombuffer(r.chat_directory, dtype=np.int64)
    scopes = [(overall, np.ones(ids.size, dtype=bool))] + [
        (per_directory[name], directory == index) for index, name in enumerate(r.directories)
    ]
    if r.balking or r.retrying:
        outcome = np.frombuffer(r.chat_outcome, dtype=np.int8)
        abandoned = (outcome == Outcome.ABANDONED) | (outcome == Outcome.ABANDONED_IN_TRANSFER)
        balked = np.isin(ids, np.frombuffer(r.balked_chat, dtype=np.int64))
        first = measured_at(r, np.frombuffer(r.chat_arrival, dtype=float)).copy()
        retry = np.zeros(ids.size, dtype=bool)
        retry_ids = np.frombuffer(r.retry_chat, dtype=np.int64)
        if retry_ids.size:
            order = np.argsort(ids, kind="stable")
            rows = order[np.searchsorted(ids, retry_ids, sorter=order)]
            retry[rows] = True
            first[rows] = np.frombuffer(r.retry_first_arrival, dtype=float)
        retried = np.isin(ids, np.frombuffer(r.retried_chat, dtype=np.int64))
        customer_inside = (first >= max(start, r.warmup)) & (first < end)
        for metrics, mask in scopes:
            here = inside & mask
            if r.balking:
                metrics["balked"] = float(np.count_nonzero(here & balked))
            if r.retrying:
                customers = int(np.count_nonzero(here & ~retry))
                first_abandoned = int(np.count_nonzero(here & ~retry & abandoned))
                lost = int(np.count_nonzero(customer_inside & mask & abandoned & ~retried))
                metrics["retrials"] = float(np.count_nonzero(here & retry))
                metrics["abandon_rate_first_attempt"] = (
                    first_abandoned / customers if customers else math.nan
                )
                metrics["abandon_rate_all_attempts"] = lost / customers if customers else math.nan
    if r.overflowing:
        served = np.frombuffer(r.overflow_chat, dtype=np.int64)
        where = np.frombuffer(r.overflow_directory, dtype=np.int64)[np.isin(served, ids[inside])]
        overall["served_by_overflow"] = float(where.size)
        for index, name in enumerate(r.directories):
            per_directory[name]["served_by_overflow"] = float(np.count_nonzero(where == index))


def _tally_customer_and_overflow_metrics(
    tallies: Tallies, chosen: Sequence[DirectoryTally], metrics: Metrics
) -> None:
    """:func:`_customer_and_overflow_metrics` from tallies (one directory, or all)."""
    if tallies.balking:
        metrics["balked"] = float(sum(t.balked for t in chosen))
    if tallies.retrying:
        customers = sum(t.customers for t in chosen)
        metrics["retrials"] = float(sum(t.retrials for t in chosen))
        metrics["abandon_rate_first_attempt"] = (
            sum(t.first_abandoned for t in chosen) / customers if customers else math.nan
        )
        metrics["abandon_rate_all_attempts"] = (
            sum(t.lost for t in chosen) / customers if customers else math.nan
        )
    if tallies.overflowing:
        metrics["served_by_overflow"] = float(sum(t.served_by_overflow for t in chosen))


def _queue_stays(
    chats: dict[str, np.ndarray],
    directory: np.ndarray,
    legs: dict[str, np.ndarray],
    records: Records,
    leg_inside: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every stay of the chats in a queue, and the directory of each: the first queue
    (arrival to first connect) and each directory transfer (R8: request, which is the
    queue entry, to the new agent connected)."""
    target = np.frombuffer(records.leg_target_directory, dtype=np.int64)[leg_inside]
    kind, leg_outcome = legs["kind"], legs["outcome"]
    into = ((kind == LegKind.DIRECTORY_WARM) | (kind == LegKind.DIRECTORY_COLD)) & (target >= 0)
    first_connect, outcome = chats["connect"], chats["outcome"]
    leg_connected = legs["connected"][into]
    stays = {
        "entry": np.concatenate([chats["arrival"], legs["requested"][into]]),
        "connected": np.concatenate([first_connect, leg_connected]),
        "abandoned": np.concatenate(
            [outcome == Outcome.ABANDONED, leg_outcome[into] == LegOutcome.ABANDONED]
        ),
        "still_waiting": np.concatenate(
            [
                (outcome == Outcome.OPEN) & np.isnan(first_connect),
                (leg_outcome[into] == LegOutcome.OPEN) & np.isnan(leg_connected),
            ]
        ),
        "transferred": np.concatenate(
            [np.zeros(first_connect.size, dtype=bool), np.ones(leg_connected.size, dtype=bool)]
        ),
    }
    return stays, np.concatenate([directory, target[into]])


def _floats(tallies: Sequence[DirectoryTally], name: str) -> list[np.ndarray]:
    return [np.frombuffer(getattr(t, name), dtype=float) for t in tallies]


def _tally_chat_metrics(
    tallies: Sequence[DirectoryTally], thresholds: Sequence[float], run_end: float
) -> Metrics:
    """Both views of the chats tallied in ``tallies`` (one directory, or all), each with
    its directory's threshold: :func:`_chat_metrics` and :func:`_queue_metrics` from
    counts and the kept waits instead of one row per chat."""

    def within(values: list[np.ndarray]) -> int:
        return sum(int(np.count_nonzero(v <= t)) for v, t in zip(values, thresholds, strict=True))

    def undecided(since: list[np.ndarray]) -> int:
        return within([run_end - s for s in since])

    def joined(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0)

    outcomes = [sum(t.outcomes[o] for t in tallies) for o in Outcome]
    completed, abandoned_initial, abandoned_in_transfer, open_at_end = outcomes
    offered = sum(outcomes)
    abandoned = abandoned_initial + abandoned_in_transfer
    waits, since = _floats(tallies, "waits"), _floats(tallies, "waiting_since")
    all_waits = joined(waits)
    answered = int(all_waits.size)
    transfer_waits = joined(_floats(tallies, "transfer_waits"))
    handoff = joined(_floats(tallies, "handoff_gaps"))
    transfers = sum(t.transfers for t in tallies)
    ended = offered - open_at_end
    counted = offered - undecided(since)
    connected_legs = int(transfer_waits.size)

    in_waits = _floats(tallies, "transfer_in_waits")
    in_since = _floats(tallies, "transfer_in_waiting_since")
    transferred_in = sum(t.transferred_in for t in tallies)
    queued = offered + transferred_in
    queued_waits = joined([w for pair in zip(waits, in_waits, strict=True) for w in pair])
    queued_counted = queued - undecided(since) - undecided(in_since)
    return {
        "offered": float(offered),
        "answered": float(answered),
        "abandoned": float(abandoned),
        "abandon_rate": abandoned / offered if offered else math.nan,
        "completed": float(completed),
        "abandoned_initial": float(abandoned_initial),
        "abandoned_in_transfer": float(abandoned_in_transfer),
        "open_at_end": float(open_at_end),
        "service_level": within(waits) / counted if counted else math.nan,
        "wait_mean": _nan_stat(all_waits, "mean"),
        "wait_p50": _nan_stat(all_waits, "p50"),
        "wait_p90": _nan_stat(all_waits, "p90"),
        "wait_p95": _nan_stat(all_waits, "p95"),
        "transfers": float(transfers),
        "transfer_rate": transfers / answered if answered else math.nan,
        "transfer_wait_mean": _nan_stat(transfer_waits, "mean"),
        "transfer_wait_p90": _nan_stat(transfer_waits, "p90"),
        "handoff_gap_mean": _nan_stat(handoff, "mean"),
        "handoff_gap_p90": _nan_stat(handoff, "p90"),
        "handoff_gap_p95": _nan_stat(handoff, "p95"),
        "conference_overlap_mean": (
            sum(t.overlap_sum for t in tallies) / connected_legs if connected_legs else math.nan
        ),
        "session_time_mean": sum(t.session_sum for t in tallies) / ended if ended else math.nan,
        "queued": float(queued),
        "transferred_in": float(transferred_in),
        "queued_answered": float(queued_waits.size),
        "queued_abandoned": float(
            abandoned_initial + sum(t.transfer_in_abandoned for t in tallies)
        ),
        "queued_service_level": (
            (within(waits) + within(in_waits)) / queued_counted if queued_counted else math.nan
        ),
        "queued_wait_mean": _nan_stat(queued_waits, "mean"),
        "queued_wait_p90": _nan_stat(queued_waits, "p90"),
    }


def _tally_agent_metrics(tallies: Sequence[GroupTally]) -> Metrics:
    """:func:`_agent_metrics` from the groups' accumulated times."""
    staffed = sum(t.staffed for t in tallies)
    slots = sum(t.slots for t in tallies)
    held = sum(t.held for t in tallies)
    busy = sum(t.busy for t in tallies)
    return {
        "utilization": held / slots if slots else math.nan,
        "occupancy": busy / staffed if staffed else math.nan,
    }


def tally_metrics(tallies: Tallies, thresholds: Mapping[str, float]) -> ReplicationMetrics:
    """:func:`replication_metrics` of a run that kept :class:`Tallies` (no tables): the
    same numbers as from its full records (to rounding in the last digits of sums)."""
    t = tallies
    limits = [thresholds[name] for name in t.directories]
    directories = {
        name: _tally_chat_metrics([t.by_directory[i]], [limits[i]], t.duration)
        for i, name in enumerate(t.directories)
    }
    overall = _tally_chat_metrics(t.by_directory, limits, t.duration)
    if t.balking or t.retrying or t.overflowing:
        for i, name in enumerate(t.directories):
            _tally_customer_and_overflow_metrics(t, [t.by_directory[i]], directories[name])
        _tally_customer_and_overflow_metrics(t, t.by_directory, overall)
    overall.update(_tally_agent_metrics(t.by_group))
    groups = {name: _tally_agent_metrics([t.by_group[i]]) for i, name in enumerate(t.groups)}
    if t.initial_waiting or t.initial_held:
        for tally, name in zip(t.by_directory, t.directories, strict=True):
            directories[name]["initial_chats"] = float(tally.initial)
        overall["initial_chats"] = float(sum(tally.initial for tally in t.by_directory))
    if t.busyness is not None:
        overall["busyness"] = t.busyness
    return ReplicationMetrics(overall, directories, groups)


def replication_metrics(
    records: Records | Tallies, thresholds: Mapping[str, float]
) -> ReplicationMetrics:
    """All metrics of one replication; ``thresholds`` is the service-level threshold per
    directory name. ``records`` are full :class:`Records` or, from a run without tables,
    :class:`Tallies` (:func:`tally_metrics`); per-interval metrics
    (:func:`chat_metrics_between`) need full records."""
    if isinstance(records, Tallies):
        return tally_metrics(records, thresholds)
    r = records
    chat_part = chat_metrics_between(records, thresholds, r.warmup, math.inf)
    overall = chat_part.overall

    # agent intervals clipped to the measured window
    start = np.clip(np.frombuffer(r.interval_start, dtype=float), r.warmup, r.duration)
    end = np.clip(np.frombuffer(r.interval_end, dtype=float), r.warmup, r.duration)
    agent = np.frombuffer(r.interval_agent, dtype=np.int64)
    agent_group = np.asarray(r.agent_group, dtype=np.int64)
    group_of = agent_group[agent] if agent.size else np.zeros(0, dtype=np.int64)
    max_chats = np.asarray(r.group_max_chats, dtype=float)[group_of] if agent.size else np.zeros(0)
    state = np.frombuffer(r.interval_state, dtype=np.int8)
    held = np.frombuffer(r.interval_held, dtype=np.int8).astype(float)
    per_group: dict[str, Metrics] = {}
    for index, name in enumerate(r.groups):
        mask = group_of == index
        per_group[name] = _agent_metrics(
            start[mask], end[mask], state[mask], held[mask], max_chats[mask]
        )
    overall.update(_agent_metrics(start, end, state, held, max_chats))
    if r.busyness is not None:  # the day's factor: per replication, not a summary metric
        overall["busyness"] = r.busyness
    # Directories carry chat metrics only: an agent may serve several directories.
    return ReplicationMetrics(overall, chat_part.directories, per_group)


# --------------------------------------------------------------------------- formatting


def format_metric(
    metric: str, value: float | None, *, minutes: bool = False, missing: str = "-"
) -> str:
    """Counts as numbers, ratios as percentages, times in seconds (``minutes``: times of
    ten minutes or more in minutes, for pages read by people)."""
    if value is None or math.isnan(value):
        return missing
    if metric in RATIO_METRICS:
        return f"{100 * value:.1f}%"
    if metric in TIME_METRICS:
        if not minutes:
            return f"{value:.1f}s"
        return f"{value / 60:.1f} min" if abs(value) >= 600 else f"{value:.1f} s"
    if metric in COUNT_METRICS:
        return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
    return f"{value:.4g}"


def format_interval(
    metric: str, estimate: Estimate, *, minutes: bool = False, missing: str = "-"
) -> str:
    """``[low, high]``, or nothing when there is no interval (one replication)."""
    if math.isnan(estimate.ci_low):
        return ""
    low = format_metric(metric, estimate.ci_low, minutes=minutes, missing=missing)
    high = format_metric(metric, estimate.ci_high, minutes=minutes, missing=missing)
    return f"[{low}, {high}]"


# --------------------------------------------------------------------------- across replications


@dataclass(frozen=True)
class Estimate:
    """A metric's mean across replications with its 95% confidence interval."""

    mean: float
    ci_low: float
    ci_high: float
    n: int = 0

    def as_dict(self) -> dict[str, float | None]:
        return {k: _json_number(getattr(self, k)) for k in ("mean", "ci_low", "ci_high")}

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def _json_number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def estimate(samples: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean and Student-t interval of i.i.d. samples (NaN samples are left out)."""
    values = np.asarray([v for v in samples if not math.isnan(v)], dtype=float)
    n = values.size
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1)
    # Student t quantiles without scipy.stats; imported here, as a single replication
    # (``ccsim run -n 1``) has no interval and need not load scipy (0.1 s)
    from scipy.special import stdtrit

    half = float(stdtrit(n - 1, 0.5 + confidence / 2) * values.std(ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n)


def feasible(metric: str, value: Estimate) -> Estimate:
    """Intersect an interval with the metric's range: a share lies in [0, 1], a time or a
    count is not negative (the t interval of few replications can stray outside)."""
    if math.isnan(value.ci_low):
        return value
    high = 1.0 if metric in RATIO_METRICS and metric != "transfer_rate" else math.inf
    return Estimate(value.mean, max(value.ci_low, 0.0), min(value.ci_high, high), value.n)


def summarise(per_replication: Iterable[Metrics]) -> dict[str, Estimate]:
    """Estimate every metric present in the replications' rows, in the canonical order."""
    rows = list(per_replication)
    names = [name for name in METRICS if rows and name in rows[0]]
    return {name: feasible(name, estimate([row[name] for row in rows])) for name in names}


# --------------------------------------------------------------------------- tables


def chats_frame(records: Records) -> pd.DataFrame:
    """One row per chat (R13): where it arrived, when, whether answered, how it ended."""
    r = records
    directories = pd.Categorical.from_codes(
        np.frombuffer(r.chat_directory, dtype=np.int64), categories=list(r.directories)
    )
    final = pd.Categorical.from_codes(
        np.frombuffer(r.chat_final_directory, dtype=np.int64), categories=list(r.directories)
    )
    outcome = pd.Categorical.from_codes(
        np.frombuffer(r.chat_outcome, dtype=np.int8).astype(np.int64),
        categories=[o.name.lower() for o in Outcome],
    )
    arrival = np.frombuffer(r.chat_arrival, dtype=float)
    connect = np.frombuffer(r.chat_connect, dtype=float)
    end = np.frombuffer(r.chat_end, dtype=float)
    frame = pd.DataFrame(
        {
            "replication": np.full(arrival.size, r.replication, dtype=np.int64),
            "chat": np.frombuffer(r.chat_id, dtype=np.int64),
            "directory": directories,
            "arrival": arrival,
            "answered": ~np.isnan(connect),
            "connect": connect,
            "wait": connect - arrival,
            "end": end,
            "outcome": outcome,
            "transfers": np.frombuffer(r.chat_transfers, dtype=np.int64),
            "final_directory": final,
            "measured": measured_at(r, arrival) >= r.warmup,
            # in the run's initial state (waiting or held at the start: see measured_at)
            "initial": np.frombuffer(r.chat_id, dtype=np.int64)
            < r.initial_waiting + r.initial_held,
        }
    )
    ids = frame["chat"].to_numpy()
    if r.balking:  # issue 14 columns, only in runs whose scenario has the feature
        frame["balked"] = np.isin(ids, np.frombuffer(r.balked_chat, dtype=np.int64))
    if r.retrying:
        retry_ids = np.frombuffer(r.retry_chat, dtype=np.int64)
        attempt = pd.Series(np.frombuffer(r.retry_attempt, dtype=np.int64), index=retry_ids)
        first = pd.Series(np.frombuffer(r.retry_first_arrival, dtype=float), index=retry_ids)
        frame["attempt"] = attempt.reindex(ids).fillna(1).to_numpy(dtype=np.int64)
        first_arrival = first.reindex(ids).to_numpy()
        frame["first_arrival"] = np.where(
            np.isnan(first_arrival), frame["arrival"].to_numpy(), first_arrival
        )
        frame["retried"] = np.isin(ids, np.frombuffer(r.retried_chat, dtype=np.int64))
    if r.overflowing:
        served = np.frombuffer(r.overflow_chat, dtype=np.int64)
        frame["served_by_overflow"] = np.isin(ids, served)
    return frame.sort_values(["replication", "chat"], ignore_index=True)


def transfers_frame(records: Records) -> pd.DataFrame:
    """One row per transfer or conference leg."""
    r = records
    target_dir = np.frombuffer(r.leg_target_directory, dtype=np.int64)
    target_group = np.frombuffer(r.leg_target_group, dtype=np.int64)
    names_d = np.array([*list(r.directories), ""], dtype=object)
    names_g = np.array([*list(r.groups), ""], dtype=object)
    target = np.where(target_dir >= 0, names_d[target_dir], names_g[target_group])
    requested = np.frombuffer(r.leg_requested, dtype=float)
    connected = np.frombuffer(r.leg_connected, dtype=float)
    return pd.DataFrame(
        {
            "replication": np.full(requested.size, r.replication, dtype=np.int64),
            "chat": np.frombuffer(r.leg_chat, dtype=np.int64),
            "kind": pd.Categorical.from_codes(
                np.frombuffer(r.leg_kind, dtype=np.int8).astype(np.int64),
                categories=[k.name.lower() for k in LegKind],
            ),
            "source": pd.Categorical.from_codes(
                np.frombuffer(r.leg_source, dtype=np.int64), categories=list(r.directories)
            ),
            "target": target.astype(str),
            "target_type": np.where(target_dir >= 0, "directory", "group"),
            "requested": requested,
            "connected": connected,
            "transfer_wait": connected - requested,
            "inviter_left": np.frombuffer(r.leg_inviter_left, dtype=float),
            "closed": np.frombuffer(r.leg_closed, dtype=float),
            "outcome": pd.Categorical.from_codes(
                np.frombuffer(r.leg_outcome, dtype=np.int8).astype(np.int64),
                categories=[o.name.lower() for o in LegOutcome],
            ),
            "handoff_gap": np.frombuffer(r.leg_handoff_gap, dtype=float),
            "overlap": np.frombuffer(r.leg_overlap, dtype=float),
        }
    )


def agents_frame(records: Records) -> pd.DataFrame:
    """One row per agent state interval: state and held slots between start and end."""
    r = records
    agent = np.frombuffer(r.interval_agent, dtype=np.int64)
    group_codes = np.asarray(r.agent_group, dtype=np.int64)
    member = np.asarray(r.agent_member, dtype=np.int64)
    group = group_codes[agent] if agent.size else np.zeros(0, dtype=np.int64)
    start = np.frombuffer(r.interval_start, dtype=float)
    return pd.DataFrame(
        {
            "replication": np.full(start.size, r.replication, dtype=np.int64),
            "agent": agent,
            "group": pd.Categorical.from_codes(group, categories=list(r.groups)),
            "member": member[agent] if agent.size else np.zeros(0, dtype=np.int64),
            "start": start,
            "end": np.frombuffer(r.interval_end, dtype=float),
            "state": pd.Categorical.from_codes(
                np.frombuffer(r.interval_state, dtype=np.int8).astype(np.int64),
                categories=[s.name.lower() for s in AgentState],
            ),
            "held": np.frombuffer(r.interval_held, dtype=np.int8).astype(np.int64),
            "max_chats": np.asarray(r.group_max_chats, dtype=np.int64)[group]
            if agent.size
            else np.zeros(0, dtype=np.int64),
        }
    )


def events_frame(records: Records) -> pd.DataFrame:
    """The event log: one row per thing that happened to a chat or an agent."""
    r = records
    directory = np.frombuffer(r.event_directory, dtype=np.int64)
    names = np.array([*list(r.directories), ""], dtype=object)
    time = np.frombuffer(r.event_time, dtype=float)
    return pd.DataFrame(
        {
            "replication": np.full(time.size, r.replication, dtype=np.int64),
            "time": time,
            "chat": np.frombuffer(r.event_chat, dtype=np.int64),
            "event": pd.Categorical.from_codes(
                np.frombuffer(r.event_kind, dtype=np.int8).astype(np.int64),
                categories=[k.name.lower() for k in EventKind],
            ),
            "agent": np.frombuffer(r.event_agent, dtype=np.int64),
            "directory": names[directory].astype(str),
        }
    )


TABLES = {
    "chats": chats_frame,
    "transfers": transfers_frame,
    "agents": agents_frame,
    "events": events_frame,
}


@dataclass
class Summary:
    """Estimates overall, per directory and per agent group."""

    overall: dict[str, Estimate]
    directories: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    groups: dict[str, dict[str, Estimate]] = field(default_factory=dict)

    @classmethod
    def from_replications(cls, runs: Sequence[ReplicationMetrics]) -> Summary:
        directories = list(runs[0].directories) if runs else []
        groups = list(runs[0].groups) if runs else []
        return cls(
            overall=summarise(run.overall for run in runs),
            directories={d: summarise(run.directories[d] for run in runs) for d in directories},
            groups={g: summarise(run.groups[g] for run in runs) for g in groups},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "metrics": {k: v.as_dict() for k, v in self.overall.items()},
            "directories": {
                d: {k: v.as_dict() for k, v in m.items()} for d, m in self.directories.items()
            },
            "groups": {g: {k: v.as_dict() for k, v in m.items()} for g, m in self.groups.items()},
        }

    def frame(self) -> pd.DataFrame:
        """Long table: scope, name, metric, mean, ci_low, ci_high."""
        rows = []
        for scope, name, metrics in (
            [("overall", "all", self.overall)]
            + [("directory", d, m) for d, m in self.directories.items()]
            + [("group", g, m) for g, m in self.groups.items()]
        ):
            for metric, value in metrics.items():
                rows.append(
                    {
                        "scope": scope,
                        "name": name,
                        "metric": metric,
                        "mean": value.mean,
                        "ci_low": value.ci_low,
                        "ci_high": value.ci_high,
                        "replications": value.n,
                    }
                )
        return pd.DataFrame(rows)

    def lookup(self, path: str) -> Estimate:
        """``service_level``, ``directories.sales.wait_p90`` or ``groups.team.utilization``."""
        parts = path.split(".")
        if len(parts) == 1:
            return self.overall[parts[0]]
        scope, name, metric = parts
        table = {"directories": self.directories, "groups": self.groups}[scope]
        return table[name][metric]
