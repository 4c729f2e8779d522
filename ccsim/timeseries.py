"""Per-interval time series of a run: what happened in each 15 minutes of the day.

Planners read a contact center by the interval, so :func:`timeseries` cuts the simulated
day ``[0, duration)`` into intervals of ``freq`` (the last one may be shorter) and gives,
for each interval, the mean over replications of:

per directory
    ``arrivals``: chats arriving there (by ``chats.arrival``);
    ``answered``: chats answered for the first time, by the directory they arrived at
    (``chats.connect``);
    ``abandoned``: chats abandoned (in the first queue or during a transfer), by the
    directory they were waiting in (``chats.end``, ``chats.final_directory``);
    ``queue_length``: the *time-average* number of chats waiting in the directory during
    the interval (the integral of the count over the interval divided by its length).
    A chat waits from its ``queue`` event in the directory until its next ``connect``,
    ``abandon`` or ``end`` event (an offer ringing at an agent still counts as waiting,
    because the customer still has nobody); a chat still waiting when the run stops
    waits until ``duration``. Chats queued by a directory transfer (R8) count in the
    target directory. Needs the event log: without one (``record_events=False``) the
    column is NaN.

per agent group (from the agent state intervals)
    ``staffed_agents``: time-average number of agents on shift (any state but offline);
    ``staffed_slots``: the same weighted by ``max_chats``;
    ``busy_slots``: time-average number of held slots (chats, ringing offers, wrap-up).

Counts are per interval; levels are time averages. The warm-up is included (the series
covers the whole day); metrics in the summary leave it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ccsim.scenario import limits
from ccsim.scenario.units import compact_duration, parse_duration

if TYPE_CHECKING:
    from ccsim.api import Results

DIRECTORY_SERIES = ("arrivals", "answered", "abandoned", "queue_length")
GROUP_SERIES = ("staffed_agents", "staffed_slots", "busy_slots")
ABANDONED_OUTCOMES = ("abandoned", "abandoned_in_transfer")
QUEUE_ENDS = ("connect", "abandon", "end")


def interval_edges(duration: float, freq: str | float) -> np.ndarray:
    """Edges ``0, f, 2f, ..., duration`` of the intervals (the last one may be shorter).

    ``freq`` is at least ``limits.MIN_INTERVAL_S`` and gives at most
    ``limits.MAX_INTERVALS`` intervals, so the series stay small whatever is asked.
    """
    step = parse_duration(freq)
    if step <= 0:
        raise ValueError(f"freq must be a positive duration, got {freq!r}")
    problem = interval_count_problem(duration, step)
    if problem:
        raise ValueError(problem)
    edges = np.arange(0.0, duration, step)
    return np.append(edges, duration)


def interval_count_problem(duration: float, step: float) -> str | None:
    """Why intervals of ``step`` seconds over ``duration`` are too short or too many."""
    if step < limits.MIN_INTERVAL_S:
        return f"freq must be at least {limits.MIN_INTERVAL_S:g}s, got {compact_duration(step)}"
    count = math.ceil(duration / step)
    if count > limits.MAX_INTERVALS:
        return (
            f"freq {compact_duration(step)} cuts the run ({compact_duration(duration)}) into "
            f"{count:,} intervals, more than the {limits.MAX_INTERVALS:,} allowed"
        )
    return None


def level_integral(
    starts: np.ndarray, ends: np.ndarray, values: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Integral over each interval ``[edges[i], edges[i+1])`` of the sum of step
    functions that are ``values[k]`` on ``[starts[k], ends[k])`` and 0 elsewhere.

    Integrals add, so pieces from many agents (or replications) go in one call.
    """
    if len(starts) == 0:
        return np.zeros(len(edges) - 1)
    starts = np.clip(np.asarray(starts, dtype=float), edges[0], edges[-1])
    ends = np.clip(np.asarray(ends, dtype=float), edges[0], edges[-1])
    values = np.asarray(values, dtype=float)
    times = np.concatenate([starts, ends])
    steps = np.concatenate([values, -values])
    order = np.argsort(times, kind="stable")
    times, steps = times[order], steps[order]
    level = np.cumsum(steps)  # the level just after times[k]
    cumulative = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(times))])
    at_edges = np.interp(edges, times, cumulative, left=0.0, right=cumulative[-1])
    return np.diff(at_edges)


def queue_spans(events: pd.DataFrame, duration: float) -> pd.DataFrame:
    """One row per stay in a directory's queue: replication, chat, directory, start, end.

    A stay runs from a ``queue`` event to the chat's next ``connect``, ``abandon`` or
    ``end`` event in log order (or ``duration`` if none came).
    """
    columns = ["replication", "chat", "directory", "start", "end"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    log = events[events["chat"] >= 0][["replication", "chat", "event", "time", "directory"]]
    log = log.assign(order=np.arange(len(log)), event=log["event"].astype(str))
    log = log.sort_values(["replication", "chat", "order"], kind="stable")
    closes = log["time"].where(log["event"].isin(QUEUE_ENDS))
    next_close = closes.groupby([log["replication"], log["chat"]], sort=False).bfill()
    queued = log["event"] == "queue"
    spans = log.loc[queued, ["replication", "chat", "directory", "time"]].rename(
        columns={"time": "start"}
    )
    spans["end"] = next_close[queued].fillna(duration).to_numpy()
    spans["directory"] = spans["directory"].astype(str)
    return spans[columns].reset_index(drop=True)


def _counts(times: pd.Series, edges: np.ndarray) -> np.ndarray:
    values = times.to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    counts, _ = np.histogram(values, bins=edges)
    return counts.astype(float)


def timeseries_from_tables(
    chats: pd.DataFrame,
    agents: pd.DataFrame,
    events: pd.DataFrame | None,
    duration: float,
    replications: int,
    directories: Sequence[str],
    groups: Sequence[str],
    freq: str | float = "15m",
) -> pd.DataFrame:
    """The interval series of :func:`timeseries` from the tables themselves.

    Returns a DataFrame indexed by interval start (``pd.Timedelta``) with two-level
    columns ``(series, directory or group)``, e.g. ``frame["queue_length"]["sales"]``.
    """
    edges = interval_edges(duration, freq)
    lengths = np.diff(edges)
    per_replication = 1.0 / max(replications, 1)
    data: dict[tuple[str, str], np.ndarray] = {}

    chat_directory = chats["directory"].astype(str)
    final_directory = chats["final_directory"].astype(str)
    abandoned = chats["outcome"].astype(str).isin(ABANDONED_OUTCOMES)
    have_events = events is not None and not events.empty
    spans = queue_spans(events, duration) if have_events else None
    for name in directories:
        here = chat_directory == name
        data[("arrivals", name)] = _counts(chats.loc[here, "arrival"], edges) * per_replication
        data[("answered", name)] = _counts(chats.loc[here, "connect"], edges) * per_replication
        gone = abandoned & (final_directory == name)
        data[("abandoned", name)] = _counts(chats.loc[gone, "end"], edges) * per_replication
        if spans is not None:
            mine = spans[spans["directory"] == name]
            waiting = level_integral(
                mine["start"].to_numpy(), mine["end"].to_numpy(), np.ones(len(mine)), edges
            )
            data[("queue_length", name)] = waiting / lengths * per_replication
        else:
            data[("queue_length", name)] = np.full(len(lengths), np.nan)

    group_of = agents["group"].astype(str)
    staffed = agents["state"].astype(str) != "offline"
    for name in groups:
        rows = agents[(group_of == name) & staffed]
        starts, ends = rows["start"].to_numpy(), rows["end"].to_numpy()
        for series, values in (
            ("staffed_agents", np.ones(len(rows))),
            ("staffed_slots", rows["max_chats"].to_numpy(dtype=float)),
            ("busy_slots", rows["held"].to_numpy(dtype=float)),
        ):
            total = level_integral(starts, ends, values, edges)
            data[(series, name)] = total / lengths * per_replication

    order = [(s, d) for s in DIRECTORY_SERIES for d in directories]
    order += [(s, g) for s in GROUP_SERIES for g in groups]
    frame = pd.DataFrame(
        {key: data[key] for key in order},
        index=pd.to_timedelta(edges[:-1], unit="s").rename("start"),
    )
    frame.columns = pd.MultiIndex.from_tuples(order, names=["series", "name"])
    return frame


def timeseries(results: Results, freq: str | float = "15m") -> pd.DataFrame:
    """Per-interval series of ``results`` averaged over replications (see module doc).

    ``freq`` is a duration: ``"15m"``, ``"1h"``, or seconds.
    """
    scenario = results.scenario
    try:
        events = results.events
    except LookupError:
        events = None
    return timeseries_from_tables(
        results.chats,
        results.agents,
        events,
        duration=scenario.duration,
        replications=results.replications,
        directories=list(scenario.directories),
        groups=list(scenario.agents),
        freq=freq,
    )


__all__ = [
    "DIRECTORY_SERIES",
    "GROUP_SERIES",
    "interval_edges",
    "level_integral",
    "queue_spans",
    "timeseries",
    "timeseries_from_tables",
]
