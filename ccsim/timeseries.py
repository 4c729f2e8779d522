"""Per-interval time series of a run: what happened in each 15 minutes of the day.

Planners read a contact center by the interval, so :func:`timeseries` cuts the simulated
day ``[0, duration)`` into intervals of ``freq`` (the last one may be shorter). The index
is the clock time at which each interval starts, a ``pd.Timedelta`` from midnight of the
run's first day (the scenario's ``start``, midnight if none: ``0 days 08:15:00``, and
``1 days 08:15:00`` on day 2); :func:`interval_labels` gives ``"08:00–08:15"`` (with
``"day 2 ..."`` when the run passes midnight) for tables. For each interval it gives the
mean over replications of:

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

    By the interval in which the chats **arrived** at the directory (as in the summary's
    arrival view), pooled over replications (a ratio of totals, so an interval with few
    chats in one replication does not weigh as much as a busy one):
    ``service_level``: share answered within the directory's threshold; a chat still
    waiting at the end of the run counts as a miss once it has waited past the
    threshold and is left out before (as in the summary);
    ``wait_mean``: mean wait of the answered chats (NaN if none was answered);
    ``abandon_rate``: share that abandoned (in the first queue or in a transfer).
    An interval with no chats has NaN for all three. ``confidence=0.95`` adds each one's
    ``_ci_low`` and ``_ci_high``: the Student t interval of the pooled ratio over the
    independent replications (:func:`ratio_interval`).

per agent group (from the agent state intervals)
    ``staffed_agents``: time-average number of agents on shift (any state but offline);
    ``staffed_slots``: the same weighted by ``max_chats``;
    ``busy_slots``: time-average number of held slots (chats, ringing offers, wrap-up).

Counts are per interval; levels are time averages. The warm-up is included (the series
covers the whole day); metrics in the summary leave it out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ccsim.scenario import limits
from ccsim.scenario.clock import interval_label, spans_days
from ccsim.scenario.units import compact_duration, parse_duration

if TYPE_CHECKING:
    from ccsim.api import Results

DIRECTORY_SERIES = (
    "arrivals",
    "answered",
    "abandoned",
    "queue_length",
    "service_level",
    "wait_mean",
    "abandon_rate",
)
# Series that are shares or means per chat (not counts or levels): pooled, not summed.
RATIO_SERIES = ("service_level", "wait_mean", "abandon_rate")
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


def _by_arrival(
    mine: pd.DataFrame,
    edges: np.ndarray,
    threshold: float | None,
    duration: float,
    replications: int,
    confidence: float | None = None,
) -> dict[str, np.ndarray]:
    """Service level, mean wait and abandonment of the chats that arrived in each
    interval, pooled over replications (see the module doc); with ``confidence``, also
    their ``_ci_low`` and ``_ci_high`` (:func:`ratio_interval`)."""
    intervals = len(edges) - 1
    reps = max(replications, 1)
    arrival = mine["arrival"].to_numpy(dtype=float)
    connect = mine["connect"].to_numpy(dtype=float)
    outcome = mine["outcome"].astype(str).to_numpy()
    if "replication" in mine:
        replication = mine["replication"].to_numpy(dtype=int)
    else:
        replication = np.zeros(arrival.size, dtype=int)
    bins = np.searchsorted(edges, arrival, side="right") - 1
    inside = (bins >= 0) & (bins < intervals) & (replication >= 0) & (replication < reps)
    cells = replication[inside] * intervals + bins[inside]
    arrival, connect, outcome = arrival[inside], connect[inside], outcome[inside]

    def per_cell(weights: np.ndarray) -> np.ndarray:
        """Totals per (replication, interval): shape (replications, intervals)."""
        totals = np.bincount(cells, weights=weights.astype(float), minlength=reps * intervals)
        return totals.reshape(reps, intervals)

    answered = ~np.isnan(connect)
    wait = np.where(answered, connect - arrival, 0.0)
    offered = per_cell(np.ones(cells.size))
    ratios = {
        "wait_mean": (per_cell(wait), per_cell(answered)),
        "abandon_rate": (per_cell(np.isin(outcome, ABANDONED_OUTCOMES)), offered),
    }
    if threshold is not None:
        within = per_cell(answered & (wait <= threshold))
        waiting = (outcome == "open") & ~answered & (duration - arrival <= threshold)
        ratios["service_level"] = (within, offered - per_cell(waiting))
    result: dict[str, np.ndarray] = {}
    for series in RATIO_SERIES:
        if series not in ratios:
            result[series] = np.full(intervals, np.nan)
            if confidence is not None:
                result[f"{series}_ci_low"] = result[f"{series}_ci_high"] = result[series]
            continue
        numerator, denominator = ratios[series]
        mean, low, high = ratio_interval(numerator, denominator, confidence)
        if series != "wait_mean":  # shares stay within [0, 1]
            low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
        result[series] = mean
        if confidence is not None:
            result[f"{series}_ci_low"], result[f"{series}_ci_high"] = low, high
    return result


def ratio_interval(
    numerator: np.ndarray, denominator: np.ndarray, confidence: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pooled ratio ``sum(numerator) / sum(denominator)`` over replications (axis 0)
    per interval, and its Student t interval at ``confidence`` from the replications'
    spread (the ratio estimator's: residuals ``numerator - ratio * denominator``).

    Pooling weighs each chat alike, so a replication with two chats in an interval does
    not count as much as one with forty; the interval still treats replications as the
    independent samples they are. NaN where no replication has a chat in the interval
    (mean and interval), or with fewer than two replications or no ``confidence``
    (interval).
    """
    total, count = numerator.sum(axis=0), denominator.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    n = numerator.shape[0]
    if confidence is None or n < 2:
        nothing = np.full(mean.shape, np.nan)
        return mean, nothing, nothing
    from scipy.special import stdtrit

    residuals = numerator - np.nan_to_num(mean) * denominator
    spread = np.sqrt((residuals**2).sum(axis=0) / (n - 1) / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = float(stdtrit(n - 1, 0.5 + confidence / 2)) * spread / (count / n)
    half = np.where(count > 0, half, np.nan)
    return mean, mean - half, mean + half


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
    thresholds: Mapping[str, float] | None = None,
    start: float | None = None,
    confidence: float | None = None,
) -> pd.DataFrame:
    """The interval series of :func:`timeseries` from the tables themselves.

    Returns a DataFrame indexed by the clock time of each interval's start
    (``pd.Timedelta`` from midnight of the first day; ``start`` is the run's clock start
    in seconds, None for midnight) with two-level columns ``(series, directory or
    group)``, e.g. ``frame["queue_length"]["sales"]``. ``thresholds`` (seconds per
    directory) give the per-interval service level; without one it is NaN. With
    ``confidence`` each of ``service_level``, ``wait_mean`` and ``abandon_rate`` gets
    ``_ci_low`` and ``_ci_high`` series after it (:func:`ratio_interval`).
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
        threshold = (thresholds or {}).get(name)
        by_arrival = _by_arrival(chats[here], edges, threshold, duration, replications, confidence)
        for series, values in by_arrival.items():
            data[(series, name)] = values

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

    shown = list(DIRECTORY_SERIES)
    if confidence is not None:
        shown = [
            part
            for series in DIRECTORY_SERIES
            for part in (
                [series, f"{series}_ci_low", f"{series}_ci_high"]
                if series in RATIO_SERIES
                else [series]
            )
        ]
    order = [(s, d) for s in shown for d in directories]
    order += [(s, g) for s in GROUP_SERIES for g in groups]
    frame = pd.DataFrame(
        {key: data[key] for key in order},
        index=pd.to_timedelta(edges[:-1] + (start or 0.0), unit="s").rename("start"),
    )
    frame.columns = pd.MultiIndex.from_tuples(order, names=["series", "name"])
    frame.attrs["end"] = pd.Timedelta(seconds=duration + (start or 0.0))
    return frame


def interval_labels(frame: pd.DataFrame, end: pd.Timedelta | None = None) -> list[str]:
    """``"08:00–08:15"`` for each interval of a :func:`timeseries` frame (``"day 2
    08:00–08:15"`` when the run passes midnight). ``end`` is when the last interval ends
    (kept in ``frame.attrs["end"]``; else the last interval is taken as long as the one
    before)."""
    starts = frame.index.total_seconds().to_numpy(dtype=float)
    if len(starts) == 0:
        return []
    if end is None:
        end = frame.attrs.get("end")
    step = starts[-1] - starts[-2] if len(starts) > 1 else None
    last = pd.Timedelta(end).total_seconds() if end is not None else None
    if last is None or (step is not None and last - starts[-1] > step + 1e-6):
        last = starts[-1] + (step or 900.0)  # no end kept, or a slice of the frame
    ends = np.append(starts[1:], last)
    with_day = spans_days(0.0, last)
    return [interval_label(lo, hi, 0.0, with_day) for lo, hi in zip(starts, ends, strict=True)]


def timeseries(
    results: Results, freq: str | float = "15m", confidence: float | None = None
) -> pd.DataFrame:
    """Per-interval series of ``results`` averaged over replications (see module doc).

    ``freq`` is a duration: ``"15m"``, ``"1h"``, or seconds. ``confidence`` (e.g. 0.95)
    adds the intervals of the per-interval service level, mean wait and abandonment.
    """
    if confidence is not None:
        from ccsim.confidence import level_problem

        problem = level_problem(confidence)
        if problem:
            raise ValueError(f"confidence {problem}")
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
        thresholds={name: d.service_level for name, d in scenario.directories.items()},
        start=getattr(scenario, "start", None),
        confidence=confidence,
    )


__all__ = [
    "DIRECTORY_SERIES",
    "GROUP_SERIES",
    "interval_edges",
    "interval_labels",
    "level_integral",
    "queue_spans",
    "ratio_interval",
    "timeseries",
    "timeseries_from_tables",
]
