"""Estimate a complete scenario from an interaction log (``ccsim fit``).

Every quantity of a scenario is estimated from what the log records, each with its
uncertainty (see :class:`Estimate` and :class:`ccsim.data.fit_dists.DurationFit`):

* **arrivals**: chats per directory per interval of the day (``interval``), averaged over
  the log's days (or the days of one weekday), with exact Poisson 95% intervals. The
  scenario's day runs from the earliest arrival's interval to the latest's.
* **handle time** per directory: agent legs that ended without any request (the rule is
  chosen independently of the handling work, so they are a fair sample of it), legs still
  open when the log stops censored at their length; first legs and legs after a transfer
  are fitted apart too (the scenario has one ``handle_time`` per directory, so the pooled
  fit is written and both are shown). Without ``slowdown`` the leg's length is taken as
  its handling work; with it, the load each leg met is taken out (see
  :func:`estimate_slowdown`).
* **patience**: queue stays, abandoned ones observed, answered (and open) ones censored
  at their wait; a directory's fresh patience after a transfer (R8) is the same law.
* **transfers and conferences**: per source (directory, or group for receivers of an
  agent transfer) and target, the share of service legs with that request; warm or cold
  from the times (did the requester leave before the new agent connected); ``at`` from
  the connection to the request; conference durations from the invitees' legs.
* **wrap-up**, **offers** (missed alerts, their timeout, Not Ready after a miss, and the
  response time from the waits of chats offered at once: see :func:`_immediate_waits`),
  **staffing** per interval (Ready or Not Ready, except the Not Ready that ends a shift:
  ccsim's closing) and ``max_chats`` (the most slots an agent of the group was seen
  holding: legs from connection to the end of wrap-up, ringing alerts included).

Nothing here reads or writes files: :mod:`ccsim.commands.fit` does, and
:mod:`ccsim.data.fit_yaml` / :mod:`ccsim.data.fit_report` render the result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ccsim.data.fit_dists import (
    DurationFit,
    fit_duration,
    poisson_rate_interval,
    proportion_interval,
)

if TYPE_CHECKING:
    from ccsim.data.log import InteractionLog

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Agent-leg endings of a service leg (an agent's turn at handling the chat).
SERVICE_ENDINGS = ("completed", "transferred", "left_after_transfer", "abandoned")
#: Families tried for the request time ``at`` (a fixed window is common: uniform too).
AT_FAMILIES = ("exponential", "lognormal", "gamma", "uniform")
#: Fewer immediate answers than this: no response time is estimated.
MIN_RESPONSES = 30
#: Fewer days than this of one weekday: weekday profiles are not compared.
MIN_DAYS_PER_WEEKDAY = 2


class FitProblem(ValueError):
    """The log holds too little to fit a scenario (no chat, no agent leg...)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% interval and the observations it rests on."""

    value: float
    low: float
    high: float
    n: int
    note: str = ""


@dataclass(frozen=True)
class ArrivalFit:
    """One directory's arrivals: rate (per second) per interval of the day."""

    directory: str
    starts: tuple[float, ...]  # offsets of the intervals from the day's start, seconds
    rates: tuple[Estimate, ...]  # per second; n = chats over all days
    daily_counts: np.ndarray = field(repr=False)  # days x intervals
    weekday_rates: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    weekday_days: Mapping[str, int] = field(default_factory=dict)
    weekday_pvalue: float = math.nan  # chi-square test that weekdays share one level


@dataclass(frozen=True)
class TransferFit:
    """One rule: requests from ``source`` to ``target`` over the source's service legs."""

    source: str
    source_is_group: bool
    target_kind: str  # directory | group
    target: str
    kind: str  # transfer | conference
    probability: Estimate
    leave: str | dict[str, float] | None  # directory targets: on_connect | immediately | {after}
    cold_share: Estimate | None
    confirm: float | None
    at: DurationFit
    duration: DurationFit | None  # conferences


@dataclass(frozen=True)
class GroupFit:
    """One agent group: who it serves, how many at once, how many on duty when."""

    group: str
    directories: tuple[str, ...]
    max_chats: int
    max_chats_share: float  # share of agent-days that reached max_chats
    concurrency_by_day: np.ndarray = field(repr=False)  # max slots per agent-day
    starts: tuple[float, ...] = ()
    on_duty: tuple[float, ...] = ()  # mean agents per interval
    on_duty_low: tuple[float, ...] = ()  # fewest on any day
    on_duty_high: tuple[float, ...] = ()
    source: str = "agent_states"  # or "legs" (a lower bound)
    slowdown: tuple[float, ...] | None = None


@dataclass(frozen=True)
class OfferFit:
    alerts: int
    missed: Estimate  # share of alerts not answered
    timeout: Estimate | None
    not_ready: DurationFit | None
    response: Estimate | None = None  # mean response time (exponential), when estimable
    no_answer: Estimate | None = None  # misses not explained by late answers


@dataclass(frozen=True)
class DirectoryFit:
    directory: str
    arrivals: ArrivalFit | None
    handle_time: DurationFit
    handle_first: DurationFit
    handle_after_transfer: DurationFit
    handle_split_pvalue: float  # two-sample KS, first legs against later ones
    patience: DurationFit
    wrap_up: DurationFit
    wrap_up_share: Estimate  # share of legs with any wrap-up
    duration_by_load: Mapping[int, Estimate] = field(default_factory=dict)


@dataclass(frozen=True)
class LogFit:
    """Everything ``ccsim fit`` estimated from one log."""

    source: str
    days: tuple[pd.Timestamp, ...]
    weekday: str | None
    interval: float
    origin: float  # seconds after midnight of the scenario's time 0
    duration: float
    directories: Mapping[str, DirectoryFit]
    groups: Mapping[str, GroupFit]
    transfers: tuple[TransferFit, ...]
    offer: OfferFit
    slowdown_estimated: bool
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- preparing


@dataclass
class _Frames:
    chats: pd.DataFrame
    legs: pd.DataFrame
    states: pd.DataFrame
    days: list[pd.Timestamp]
    origin: float
    duration: float
    observed_until: pd.Series  # day -> last offset seen in the log that day


def _seconds(values: pd.Series) -> pd.Series:
    return values.dt.total_seconds()


def _prepare(log: InteractionLog, interval: float, weekday: str | None) -> _Frames:
    chats = log.chats.copy()
    if chats.empty:
        raise FitProblem(["chats: the log holds no chat, so there is nothing to fit"])
    chats["chat_id"] = chats["chat_id"].astype(str)
    chats["day"] = chats["arrival"].dt.normalize()
    if weekday is not None:
        chats = chats[chats["day"].dt.day_of_week == WEEKDAYS.index(weekday)]
        if chats.empty:
            raise FitProblem([f"--weekday {weekday}: the log holds no chat on a {weekday}"])
    days = sorted(chats["day"].unique())
    since_midnight = _seconds(chats["arrival"] - chats["day"])
    origin = math.floor(float(since_midnight.min()) / interval) * interval
    duration = (math.floor((float(since_midnight.max()) - origin) / interval) + 1) * interval
    zero = chats["day"] + pd.to_timedelta(origin, unit="s")
    chats["t_arrival"] = _seconds(chats["arrival"] - zero)
    chats["t_end"] = _seconds(chats["end"] - zero)
    chat_zero = pd.Series(zero.to_numpy(), index=chats["chat_id"].to_numpy())

    legs = log.legs.copy()
    legs["chat_id"] = legs["chat_id"].astype(str)
    legs = legs[legs["chat_id"].isin(chat_zero.index)]
    legs_zero = legs["chat_id"].map(chat_zero)
    legs["day"] = legs["chat_id"].map(chats.set_index("chat_id")["day"])
    for column in ("start", "end", "wrap_up_end"):
        legs[f"t_{column}"] = _seconds(pd.to_datetime(legs[column]) - legs_zero)
    legs = legs.sort_values(["chat_id", "leg"]).reset_index(drop=True)
    for column in (
        "directory",
        "agent_id",
        "group",
        "target_kind",
        "target",
        "mode",
        "ended_by",
        "kind",
    ):
        legs[column] = legs[column].astype("string").fillna("")

    # The last moment the log saw on each day: open stays are censored there.
    seen = pd.concat(
        [
            chats[["day", "t_arrival"]].rename(columns={"t_arrival": "t"}),
            chats[["day", "t_end"]].rename(columns={"t_end": "t"}),
            legs[["day", "t_start"]].rename(columns={"t_start": "t"}),
            legs[["day", "t_end"]].rename(columns={"t_end": "t"}),
            legs[["day", "t_wrap_up_end"]].rename(columns={"t_wrap_up_end": "t"}),
        ]
    )
    observed_until = seen.groupby("day")["t"].max()

    states = log.agent_states.copy() if log.agent_states is not None else pd.DataFrame()
    if not states.empty:
        states["agent_id"] = states["agent_id"].astype(str)
        for column in ("group", "state"):
            states[column] = states[column].astype("string").fillna("")
    return _Frames(chats, legs, states, days, origin, duration, observed_until)


# --------------------------------------------------------------------------- arrivals


def _fit_arrivals(frames: _Frames, directory: str, interval: float) -> ArrivalFit | None:
    chats = frames.chats[frames.chats["directory"].astype(str) == directory]
    if chats.empty:
        return None
    bins = round(frames.duration / interval)
    day_index = {day: i for i, day in enumerate(frames.days)}
    rows = chats["day"].map(day_index).to_numpy()
    columns = np.clip((chats["t_arrival"].to_numpy() // interval).astype(int), 0, bins - 1)
    counts = np.zeros((len(frames.days), bins), dtype=np.int64)
    np.add.at(counts, (rows, columns), 1)
    exposure = len(frames.days) * interval
    rates = []
    for total in counts.sum(axis=0):
        low, high = poisson_rate_interval(int(total), exposure)
        rates.append(Estimate(int(total) / exposure, low, high, int(total)))
    weekday_rates: dict[str, tuple[float, ...]] = {}
    weekday_days: dict[str, int] = {}
    pvalue = math.nan
    weekdays = np.array([pd.Timestamp(day).weekday() for day in frames.days])
    present = [w for w in range(7) if (weekdays == w).sum() >= MIN_DAYS_PER_WEEKDAY]
    if len(present) >= 2:
        from scipy import stats

        totals, expected = [], []
        grand, all_days = counts[np.isin(weekdays, present)].sum(), np.isin(weekdays, present).sum()
        for w in present:
            mask = weekdays == w
            weekday_rates[WEEKDAYS[w]] = tuple(counts[mask].mean(axis=0) / interval)
            weekday_days[WEEKDAYS[w]] = int(mask.sum())
            totals.append(counts[mask].sum())
            expected.append(grand * mask.sum() / all_days)
        if grand > 0:
            statistic = sum(
                (o - e) ** 2 / e for o, e in zip(totals, expected, strict=True) if e > 0
            )
            pvalue = float(stats.chi2.sf(statistic, len(present) - 1))
    return ArrivalFit(
        directory=directory,
        starts=tuple(float(i * interval) for i in range(bins)),
        rates=tuple(rates),
        daily_counts=counts,
        weekday_rates=weekday_rates,
        weekday_days=weekday_days,
        weekday_pvalue=pvalue,
    )


# --------------------------------------------------------------------------- legs


def _censor_time(frames: _Frames, legs: pd.DataFrame) -> np.ndarray:
    """How long each open leg had lasted when the log stopped seeing its day."""
    until = legs["day"].map(frames.observed_until).to_numpy(dtype=float)
    return np.maximum(until - legs["t_start"].to_numpy(dtype=float), 0.0)


def _classify_agent_legs(legs: pd.DataFrame) -> pd.DataFrame:
    """Mark each agent leg: a service leg or not, the first of its chat or after a
    transfer, and (for receivers of an agent transfer) the group whose rules apply."""
    agent = legs[legs["kind"] == "agent"].copy()
    agent["service"] = agent["ended_by"].isin((*SERVICE_ENDINGS, "open"))
    service = agent[agent["service"]]
    first_leg = service.groupby("chat_id")["leg"].transform("min")
    agent["first"] = False
    agent.loc[service.index, "first"] = service["leg"] == first_leg
    # A receiver of an agent transfer: the previous service leg asked for its group.
    previous = service.groupby("chat_id")[["target_kind", "target", "mode"]].shift(1)
    received = (
        (previous["target_kind"] == "group")
        & (previous["mode"] != "conference")
        & (previous["target"] == service["group"])
    ).fillna(False)
    agent["from_group"] = ""
    agent.loc[received[received].index, "from_group"] = service.loc[
        received[received].index, "group"
    ]
    return agent


def _handle_time(
    frames: _Frames, agent: pd.DataFrame, directory: str, work: pd.Series | None
) -> tuple[DurationFit, DurationFit, DurationFit, float]:
    mine = agent[
        (agent["directory"] == directory) & agent["service"] & (agent["target_kind"] == "")
    ]
    completed = mine[mine["ended_by"] == "completed"]
    still_open = mine[mine["ended_by"] == "open"]

    def lengths(part: pd.DataFrame) -> np.ndarray:
        lengths = part["t_end"] - part["t_start"]
        if work is not None:  # groups without an estimated slowdown keep the lengths
            return work.reindex(part.index).fillna(lengths).to_numpy(dtype=float)
        return lengths.to_numpy(dtype=float)

    def fit(part_completed: pd.DataFrame, part_open: pd.DataFrame) -> DurationFit:
        return fit_duration(lengths(part_completed), _censor_time(frames, part_open))

    pooled = fit(completed, still_open)
    first = fit(completed[completed["first"]], still_open[still_open["first"]])
    later = fit(completed[~completed["first"]], still_open[~still_open["first"]])
    pvalue = math.nan
    a, b = lengths(completed[completed["first"]]), lengths(completed[~completed["first"]])
    if a.size >= 10 and b.size >= 10:
        from scipy import stats

        pvalue = float(stats.ks_2samp(a, b).pvalue)
    return pooled, first, later, pvalue


def _patience(frames: _Frames, legs: pd.DataFrame, directory: str) -> DurationFit:
    queue = legs[(legs["kind"] == "queue") & (legs["directory"] == directory)]
    waits = queue["t_end"] - queue["t_start"]
    abandoned = waits[queue["ended_by"] == "abandoned"].to_numpy(dtype=float)
    answered = waits[queue["ended_by"] == "answered"].to_numpy(dtype=float)
    still_open = _censor_time(frames, queue[queue["ended_by"] == "open"])
    return fit_duration(abandoned, np.concatenate([answered, still_open]))


def _wrap_up(agent: pd.DataFrame, directory: str) -> tuple[DurationFit, Estimate]:
    mine = agent[
        (agent["directory"] == directory)
        & (agent["ended_by"] != "declined")
        & agent["t_end"].notna()
    ]
    wraps = (mine["t_wrap_up_end"] - mine["t_end"]).to_numpy(dtype=float)
    wraps = np.where(np.isfinite(wraps), wraps, 0.0)  # no wrap-up end: no wrap-up
    has = wraps > 0
    low, high = proportion_interval(int(has.sum()), int(wraps.size))
    share = Estimate(float(has.mean()) if wraps.size else math.nan, low, high, int(wraps.size))
    if not has.any():
        return fit_duration([]), share
    return fit_duration(wraps), share


def _duration_by_load(
    agent: pd.DataFrame, directory: str, load_at_start: pd.Series
) -> dict[int, Estimate]:
    """Mean length of completed legs by the agent's load when it connected: the check of
    whether chats slow each other down (flat = no slowdown)."""
    mine = agent[
        (agent["directory"] == directory)
        & (agent["ended_by"] == "completed")
        & (agent["target_kind"] == "")
    ]
    lengths = mine["t_end"] - mine["t_start"]
    loads = load_at_start.reindex(mine.index)
    out = {}
    for load, values in lengths.groupby(loads):
        values = values.to_numpy(dtype=float)
        if values.size >= 2:
            half = 1.959963984540054 * values.std(ddof=1) / math.sqrt(values.size)
            out[int(load)] = Estimate(
                float(values.mean()),
                float(values.mean() - half),
                float(values.mean() + half),
                int(values.size),
            )
    return out


# --------------------------------------------------------------------------- concurrency


def _slot_spans(frames: _Frames, agent: pd.DataFrame) -> pd.DataFrame:
    """Each agent leg as the span of a slot: connection (or alert) to the end of its
    wrap-up; open ones to the end of the day's log."""
    spans = agent[["agent_id", "group", "day", "t_start"]].copy()
    end = agent["t_wrap_up_end"].where(agent["t_wrap_up_end"].notna(), agent["t_end"])
    spans["t_stop"] = end.where(end.notna(), agent["day"].map(frames.observed_until))
    return spans


def _concurrency(spans: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Most slots held at once per (group, agent, day), and each span's count of slots
    held at its start (itself included). Ends come before starts at one instant."""
    events = pd.concat(
        [
            pd.DataFrame({"key": spans.index, "t": spans["t_start"], "step": 1}),
            pd.DataFrame({"key": spans.index, "t": spans["t_stop"], "step": -1}),
        ]
    )
    events = events.join(spans[["group", "agent_id", "day"]], on="key")
    events = events.sort_values(["group", "agent_id", "day", "t", "step"], kind="mergesort")
    events["held"] = events.groupby(["group", "agent_id", "day"])["step"].cumsum()
    peak = events.groupby(["group", "agent_id", "day"])["held"].max()
    at_start = events[events["step"] == 1].set_index("key")["held"]
    return peak, at_start


def estimate_slowdown(
    agent: pd.DataFrame, max_chats: int
) -> tuple[tuple[float, ...] | None, pd.Series]:
    """Slowdown factors from the legs' lengths at each load, and each leg's handling work.

    A leg's work is ``h = sum_k T_k / s_k``, where ``T_k`` is the time it spent while its
    agent was connected to k chats (the model's rule: wrap-up and ringing hold a slot but
    do not slow a conversation). The work is drawn when the agent connects, so ``h`` is
    one law for every leg; the leg's length, given the other chats' comings and goings,
    is a monotone function of ``h`` whose derivative at the end is ``s`` of the last load.
    The factors (``s_1 = 1``) and a gamma law of ``h`` are estimated together by maximum
    likelihood, ``sum log f(h_i) + log(1 / s_last_i)`` (scipy.optimize). Returns None as
    the factors when a load was never held or too few legs completed.
    """
    from scipy import optimize, stats

    connected = agent[agent["service"] | (agent["ended_by"] == "conference_left")]
    connected = connected[connected["t_end"].notna()]
    times = np.zeros((len(connected), max_chats))
    last = np.zeros(len(connected), dtype=int)
    for _key, mine in connected.groupby(["agent_id", "day"]):
        starts, ends = mine["t_start"].to_numpy(float), mine["t_end"].to_numpy(float)
        cuts = np.unique(np.concatenate([starts, ends]))
        if cuts.size < 2:
            continue
        mids = (cuts[:-1] + cuts[1:]) / 2
        held = ((starts[:, None] <= mids[None, :]) & (ends[:, None] > mids[None, :])).sum(axis=0)
        widths = np.diff(cuts)
        rows = connected.index.get_indexer(mine.index)
        for row, start, end in zip(rows, starts, ends, strict=True):
            inside = (mids > start) & (mids < end)
            levels = np.clip(held[inside], 1, max_chats) - 1
            np.add.at(times[row], levels, widths[inside])
            if levels.size:
                last[row] = levels[-1]
    plain = (connected["ended_by"] == "completed") & (connected["target_kind"] == "")
    usable = plain.to_numpy() & (times.sum(axis=1) > 0)
    spent, ending = times[usable], last[usable]
    if usable.sum() < 30 or not (spent > 0).any(axis=0).all():
        return None, pd.Series(times.sum(axis=1), index=connected.index)

    def negative_log_likelihood(x: np.ndarray) -> float:
        inverse = np.concatenate([[1.0], np.exp(x[: max_chats - 1])])
        work = spent @ inverse
        shape, scale = np.exp(x[max_chats - 1]), np.exp(x[max_chats])
        return -float(
            stats.gamma.logpdf(work, shape, scale=scale).sum() + np.log(inverse[ending]).sum()
        )

    start = np.zeros(max_chats + 1)
    start[max_chats - 1] = math.log(2.0)
    start[max_chats] = math.log(float(spent.sum(axis=1).mean()) / 2)
    result = optimize.minimize(
        negative_log_likelihood,
        start,
        method="Nelder-Mead",
        options={"maxiter": 400 * (max_chats + 1), "xatol": 1e-6, "fatol": 1e-6},
    )
    inverse = np.concatenate([[1.0], np.exp(result.x[: max_chats - 1])])
    factors = tuple(float(round(min(max(1 / a, 1e-3), 1000.0), 3)) for a in inverse)
    return factors, pd.Series(times @ inverse, index=connected.index)


# --------------------------------------------------------------------------- staffing


def _on_duty_from_states(
    frames: _Frames, group: str, interval: float
) -> tuple[np.ndarray, str] | None:
    states = frames.states
    if states.empty:
        return None
    mine = states[states["group"] == group].copy()
    if mine.empty:
        return None
    mine = mine.sort_values(["agent_id", "start"])
    # Not Ready that runs into offline (or the log's end) is finishing a shift: off duty.
    following = mine.groupby("agent_id")["state"].shift(-1).fillna("offline")
    next_start = mine.groupby("agent_id")["start"].shift(-1)
    closing = (
        (mine["state"] == "not_ready")
        & (following == "offline")
        & (next_start.isna() | (next_start <= mine["end"]))
    )
    duty = mine[mine["state"].isin(("ready", "not_ready")) & ~closing]
    bins = round(frames.duration / interval)
    per_day = np.zeros((len(frames.days), bins))
    stop = duty["end"].fillna(pd.Timestamp.max)
    for i, day in enumerate(frames.days):
        zero = pd.Timestamp(day) + pd.to_timedelta(frames.origin, unit="s")
        close = zero + pd.to_timedelta(frames.duration, unit="s")
        today = duty[(duty["start"] < close) & (stop > zero)]  # periods within the day
        start = _seconds(today["start"] - zero).to_numpy(float)
        end = _seconds(today["end"].fillna(close) - zero).to_numpy(float)
        edges = np.arange(bins + 1) * interval
        lo = np.clip(start[:, None], edges[None, :-1], edges[None, 1:])
        hi = np.clip(end[:, None], edges[None, :-1], edges[None, 1:])
        per_day[i] = np.maximum(hi - lo, 0).sum(axis=0) / interval
    return per_day, "agent_states"


def _on_duty_from_legs(
    frames: _Frames, spans: pd.DataFrame, group: str, interval: float
) -> tuple[np.ndarray, str]:
    mine = spans[spans["group"] == group]
    bins = round(frames.duration / interval)
    per_day = np.zeros((len(frames.days), bins))
    day_index = {day: i for i, day in enumerate(frames.days)}
    for (day, _agent_id), part in mine.groupby(["day", "agent_id"]):
        first = max(int(part["t_start"].min() // interval), 0)
        last = min(int(part["t_stop"].max() // interval), bins - 1)
        if first <= last:
            per_day[day_index[day], first : last + 1] += 1
    return per_day, "legs"


# --------------------------------------------------------------------------- transfers


def _first_after(requests: pd.DataFrame, legs: pd.DataFrame, mask_of: Any) -> pd.DataFrame:
    """For each request (indexed by ``rid``): the start of the first later leg of its chat
    for which ``mask_of(pairs)`` holds (NaN if none)."""
    pairs = requests[["rid", "chat_id", "leg", "target"]].merge(
        legs[["chat_id", "leg", "kind", "directory", "group", "ended_by", "t_start", "t_end"]],
        on="chat_id",
        suffixes=("_request", ""),
    )
    pairs = pairs[(pairs["leg"] > pairs["leg_request"]) & mask_of(pairs)]
    first = pairs.sort_values("leg").drop_duplicates("rid").set_index("rid")
    return first


def _transfers(frames: _Frames, legs: pd.DataFrame, agent: pd.DataFrame) -> list[TransferFit]:
    service = agent[agent["service"] & (agent["ended_by"] != "open")]
    requests = service[service["target_kind"] != ""].copy()
    if requests.empty:
        return []
    requests["rid"] = np.arange(len(requests))
    requests["source"] = np.where(
        requests["from_group"] != "", requests["from_group"], requests["directory"]
    )
    queued = _first_after(
        requests[requests["target_kind"] == "directory"],
        legs,
        lambda p: (p["kind"] == "queue") & (p["directory"] == p["target"]),
    )
    received_dir = _first_after(
        requests[requests["target_kind"] == "directory"],
        legs,
        lambda p: (
            (p["kind"] == "agent")
            & (p["directory"] == p["target"])
            & p["ended_by"].isin((*SERVICE_ENDINGS, "open"))
        ),
    )
    invited = _first_after(
        requests[requests["target_kind"] == "group"],
        legs,
        lambda p: (p["kind"] == "agent") & (p["group"] == p["target"]),
    )
    joined = _first_after(
        requests[requests["target_kind"] == "group"],
        legs,
        lambda p: (
            (p["kind"] == "agent") & (p["group"] == p["target"]) & (p["ended_by"] != "declined")
        ),
    )
    rid = requests["rid"]
    request_time = pd.concat([queued["t_start"], invited["t_start"]]).reindex(rid).to_numpy(float)
    receiver = pd.concat([received_dir["t_start"], joined["t_start"]]).reindex(rid).to_numpy(float)
    conference_length = (joined["t_end"] - joined["t_start"]).where(
        joined["ended_by"] == "conference_left"
    )
    requests["at"] = request_time - requests["t_start"].to_numpy(float)
    requests["receiver"] = receiver
    requests["request_time"] = request_time
    requests["conference"] = conference_length.reindex(rid).to_numpy(float)

    fits = []
    for (source, from_group, target_kind, target, mode), part in requests.groupby(
        ["source", requests["from_group"] != "", "target_kind", "target", "mode"]
    ):
        if from_group:
            base = service[service["from_group"] == source]
        else:
            base = service[(service["directory"] == source) & (service["from_group"] == "")]
        trials, hits = len(base), len(part)
        low, high = proportion_interval(hits, trials)
        probability = Estimate(hits / trials if trials else math.nan, low, high, trials)
        leave: str | dict[str, float] | None = None
        cold_share = None
        confirm = None
        if mode != "conference":
            seen = part[np.isfinite(part["receiver"])]
            left_first = (seen["t_end"] < seen["receiver"] - 1e-6).to_numpy()
            n_cold = int(left_first.sum())
            low, high = proportion_interval(n_cold, len(seen))
            cold_share = Estimate(
                n_cold / len(seen) if len(seen) else math.nan, low, high, len(seen)
            )
            is_cold = (n_cold * 2 > len(seen)) if len(seen) else mode == "cold"
            # A requester who stayed until the new agent came may still have left on a
            # clock of its own ({after: D} with a short queue): its leaving then keeps
            # to the request (end - request nearly constant), not to the connection.
            since_request = (seen["t_end"] - seen["request_time"]).dropna()
            since_receiver = (seen["t_end"] - seen["receiver"]).dropna()
            if target_kind == "directory" and not is_cold and len(since_request) >= 2:
                spread_request = float(since_request.quantile(0.75) - since_request.quantile(0.25))
                spread_receiver = float(
                    since_receiver.quantile(0.75) - since_receiver.quantile(0.25)
                )
                # (when the two are alike, the log's own word for the request decides)
                alike = spread_request <= spread_receiver + 1e-6
                if spread_request < 0.5 * spread_receiver or (alike and mode == "cold"):
                    is_cold = True
                    left_first = np.ones(len(seen), dtype=bool)
            if target_kind == "directory":
                if is_cold:
                    gaps = (seen["t_end"] - seen["request_time"])[left_first].dropna()
                    after = float(gaps.median()) if len(gaps) else 0.0
                    leave = "immediately" if after < 0.5 else {"after": round(after, 1)}
                else:
                    leave = "on_connect"
            confirms = (seen["t_end"] - seen["receiver"])[~left_first].dropna()
            if not is_cold and len(confirms):
                median = float(confirms.median())
                confirm = round(median, 1) if median >= 0.5 else None
        fits.append(
            TransferFit(
                source=str(source),
                source_is_group=bool(from_group),
                target_kind=str(target_kind),
                target=str(target),
                kind="conference" if mode == "conference" else "transfer",
                probability=probability,
                leave=leave,
                cold_share=cold_share,
                confirm=confirm,
                at=fit_duration(part["at"].dropna().to_numpy(float), families=AT_FAMILIES),
                duration=(
                    fit_duration(part["conference"].dropna().to_numpy(float))
                    if mode == "conference"
                    else None
                ),
            )
        )
    fits.sort(key=lambda f: (f.source_is_group, f.source, -f.probability.value))
    return fits


def _immediate_waits(
    frames: _Frames, agent: pd.DataFrame, spans: pd.DataFrame, max_chats: Mapping[str, int]
) -> np.ndarray:
    """Waits that are one alert's response time: first queue stays that began while their
    queue was empty and the agent who answered was Ready with a free slot, answered
    without any missed alert in between (so the first alert went out at arrival and was
    answered within the timeout)."""
    legs = frames.legs
    queue = legs[(legs["kind"] == "queue") & (legs["leg"] == 1) & legs["t_end"].notna()]
    answered = queue[queue["ended_by"] == "answered"]
    if answered.empty:
        return np.empty(0)
    missed_chats = set(agent.loc[agent["ended_by"] == "declined", "chat_id"])
    answered = answered[~answered["chat_id"].isin(missed_chats)]
    # the queue was empty: no other stay in the directory (that day) began before and
    # was still waiting
    empty = pd.Series(False, index=answered.index)
    by_queue = {
        key: part for key, part in legs[legs["kind"] == "queue"].groupby(["day", "directory"])
    }
    for key, mine in answered.groupby(["day", "directory"]):
        others = by_queue[key]
        starts = np.sort(others["t_start"].to_numpy(float))
        ends = np.sort(others["t_end"].fillna(np.inf).to_numpy(float))
        t = mine["t_start"].to_numpy(float)
        waiting = np.searchsorted(starts, t, side="left") - np.searchsorted(ends, t, side="right")
        empty.loc[mine.index] = waiting <= 0
    answered = answered[empty]
    # the answering agent: its leg starts when the stay ends
    first_agent = agent[agent["service"]][["chat_id", "agent_id", "group", "day", "t_start"]]
    answered = answered[["chat_id", "day", "directory", "t_start", "t_end"]].merge(
        first_agent.drop(columns="day"),
        left_on=["chat_id", "t_end"],
        right_on=["chat_id", "t_start"],
        suffixes=("", "_agent"),
    )
    if answered.empty:
        return np.empty(0)
    free = np.zeros(len(answered), dtype=bool)
    by_agent = {key: part for key, part in spans.groupby(["agent_id", "day"])}
    for key, mine in answered.groupby(["agent_id", "day"]):
        own = by_agent[key]
        starts = np.sort(own["t_start"].to_numpy(float))
        stops = np.sort(own["t_stop"].to_numpy(float))
        t = mine["t_start"].to_numpy(float)
        held = np.searchsorted(starts, t, side="left") - np.searchsorted(stops, t, side="right")
        cap = max_chats.get(str(mine["group"].iloc[0]), 1)
        free[answered.index.get_indexer(mine.index)] = held < cap
    answered = answered[free]
    states = frames.states
    if not states.empty and not answered.empty:
        zero = answered["day"] + pd.to_timedelta(frames.origin, unit="s")
        moments = zero + pd.to_timedelta(answered["t_start"], unit="s")
        probe = pd.DataFrame({"agent_id": answered["agent_id"].astype(str), "moment": moments})
        probe = probe.sort_values("moment")
        lookup = states[["agent_id", "start", "state"]].rename(columns={"start": "moment"})
        lookup = lookup.sort_values("moment")
        joined = pd.merge_asof(probe, lookup, on="moment", by="agent_id", direction="backward")
        state = joined.set_index(probe.index)["state"].reindex(answered.index)
        answered = answered[state.eq("ready").fillna(False).to_numpy(dtype=bool)]
    return (answered["t_end"] - answered["t_start"]).to_numpy(float)


def _truncated_exponential_mean(values: np.ndarray, limit: float) -> float:
    """Maximum-likelihood mean of an exponential seen only below ``limit``."""
    from scipy import optimize

    total, count = float(values.sum()), values.size

    def negative(mean: float) -> float:
        tail = -math.expm1(-limit / mean) if math.isfinite(limit) else 1.0
        return count * math.log(mean) + total / mean + count * math.log(tail)

    bound = 100.0 * (limit if math.isfinite(limit) else float(values.max()) + 1.0)
    return float(optimize.minimize_scalar(negative, bounds=(1e-3, bound), method="bounded").x)


def _offer(
    frames: _Frames, agent: pd.DataFrame, spans: pd.DataFrame, max_chats: Mapping[str, int]
) -> OfferFit:
    declined = agent[agent["ended_by"] == "declined"]
    alerts = len(agent)
    low, high = proportion_interval(len(declined), alerts)
    missed = Estimate(len(declined) / alerts if alerts else math.nan, low, high, alerts)
    timeout = None
    if not declined.empty:
        lengths = (declined["t_end"] - declined["t_start"]).dropna().to_numpy(float)
        if lengths.size:
            value = float(np.median(lengths))
            timeout = Estimate(
                value,
                float(np.quantile(lengths, 0.25)),
                float(np.quantile(lengths, 0.75)),
                int(lengths.size),
                "median (quartiles) of missed alerts' lengths",
            )
    not_ready = None
    states = frames.states
    if not states.empty:
        states = states.sort_values(["agent_id", "start"])
        following = states.groupby("agent_id")["state"].shift(-1).fillna("offline")
        after_miss = states[
            (states["state"] == "not_ready") & (following != "offline") & states["end"].notna()
        ]
        not_ready = fit_duration(_seconds(after_miss["end"] - after_miss["start"]).to_numpy(float))
    # Response times: an exponential seen below the timeout (answers beyond it are misses);
    # the misses it explains are taken out of the no-answer probability.
    response = None
    no_answer = missed
    waits = _immediate_waits(frames, agent, spans, max_chats)
    limit = timeout.value if timeout is not None else math.inf
    if waits.size >= MIN_RESPONSES and alerts and float(np.median(waits)) < 1e-3:
        response = Estimate(0.0, 0.0, 0.0, int(waits.size), "answers come at once")
    elif waits.size >= MIN_RESPONSES and alerts:
        waits = waits[waits < limit] if math.isfinite(limit) else waits
        mean = _truncated_exponential_mean(waits, limit)
        late = math.exp(-limit / mean) if math.isfinite(limit) else 0.0
        half = 1.959963984540054 * mean / math.sqrt(waits.size)
        response = Estimate(mean, max(mean - half, 0.0), mean + half, int(waits.size))
        share = max(min((missed.value - late) / (1 - late), 1.0), 0.0) if late < 1 else 0.0
        scale = 1 / (1 - late) if late < 1 else 1.0
        no_answer = Estimate(
            share,
            max((missed.low - late) * scale, 0.0),
            min(max((missed.high - late) * scale, 0.0), 1.0),
            missed.n,
        )
    return OfferFit(
        alerts=alerts,
        missed=missed,
        timeout=timeout,
        not_ready=not_ready,
        response=response,
        no_answer=no_answer,
    )


# --------------------------------------------------------------------------- the whole


def fit_log(
    log: InteractionLog,
    interval: float = 1800.0,
    weekday: str | None = None,
    slowdown: bool = False,
) -> LogFit:
    """Estimate every quantity of a scenario from ``log`` (see the module doc).

    ``interval``: seconds per piece of the arrival schedule and of the shifts; ``weekday``:
    fit only that weekday's days (``"monday"``...); ``slowdown``: estimate the groups'
    ``slowdown`` and take it out of the handle times.
    """
    if weekday is not None and weekday not in WEEKDAYS:
        raise FitProblem([f"--weekday must be one of {', '.join(WEEKDAYS)}, not {weekday!r}"])
    if not (60.0 <= interval <= 86400.0):
        raise FitProblem(["--interval must be between 1m and 24h"])
    frames = _prepare(log, interval, weekday)
    legs = frames.legs
    agent = _classify_agent_legs(legs)
    if not agent["service"].any():
        raise FitProblem(
            ["legs: no agent ever served a chat in the log, so handle times cannot be fitted"]
        )
    spans = _slot_spans(frames, agent)
    peak, at_start = _concurrency(spans)
    notes: list[str] = []

    groups: dict[str, GroupFit] = {}
    answered = legs[(legs["kind"] == "queue") & (legs["ended_by"] == "answered")]
    served = pd.merge_asof(
        answered[["chat_id", "directory", "t_end"]].rename(columns={"t_end": "t"}).sort_values("t"),
        agent[agent["service"]][["chat_id", "directory", "group", "t_start"]]
        .rename(columns={"t_start": "t"})
        .sort_values("t"),
        on="t",
        by=["chat_id", "directory"],
        direction="forward",
        tolerance=5.0,
    ).dropna(subset=["group"])
    work: pd.Series | None = None
    for group in sorted(agent["group"].unique()):
        if not group:
            continue
        group_peak = (
            peak.loc[group] if group in peak.index.get_level_values(0) else pd.Series(dtype=float)
        )
        max_chats = int(group_peak.max()) if len(group_peak) else 1
        duty = _on_duty_from_states(frames, group, interval) or _on_duty_from_legs(
            frames, spans, group, interval
        )
        per_day, origin_of_staffing = duty
        factors = None
        if slowdown and max_chats > 1:
            factors, group_work = estimate_slowdown(agent[agent["group"] == group], max_chats)
            work = group_work if work is None else pd.concat([work, group_work])
            if factors is None:
                notes.append(
                    f"agents.{group}: slowdown not estimated (a load was never held, or fewer "
                    "than 30 legs completed without a request)"
                )
        groups[group] = GroupFit(
            group=group,
            directories=tuple(sorted(served.loc[served["group"] == group, "directory"].unique())),
            max_chats=max_chats,
            max_chats_share=float((group_peak == max_chats).mean())
            if len(group_peak)
            else math.nan,
            concurrency_by_day=group_peak.to_numpy(),
            starts=tuple(float(i * interval) for i in range(per_day.shape[1])),
            on_duty=tuple(per_day.mean(axis=0)),
            on_duty_low=tuple(per_day.min(axis=0)),
            on_duty_high=tuple(per_day.max(axis=0)),
            source=origin_of_staffing,
            slowdown=factors,
        )
        if origin_of_staffing == "legs":
            notes.append(
                f"agents.{group}: no agent states in the log, so staffing counts agents "
                "seen handling chats (a lower bound)"
            )

    names = sorted(
        set(frames.chats["directory"].astype(str))
        | set(legs.loc[legs["directory"] != "", "directory"])
    )
    directories: dict[str, DirectoryFit] = {}
    for name in names:
        pooled, first, later, split_p = _handle_time(frames, agent, name, work)
        wrap, share = _wrap_up(agent, name)
        directories[name] = DirectoryFit(
            directory=name,
            arrivals=_fit_arrivals(frames, name, interval),
            handle_time=pooled,
            handle_first=first,
            handle_after_transfer=later,
            handle_split_pvalue=split_p,
            patience=_patience(frames, legs, name),
            wrap_up=wrap,
            wrap_up_share=share,
            duration_by_load=_duration_by_load(agent, name, at_start),
        )
    return LogFit(
        source=str(getattr(log, "source", "")),
        days=tuple(pd.Timestamp(d) for d in frames.days),
        weekday=weekday,
        interval=interval,
        origin=frames.origin,
        duration=frames.duration,
        directories=directories,
        groups=groups,
        transfers=tuple(_transfers(frames, legs, agent)),
        offer=_offer(frames, agent, spans, {g: f.max_chats for g, f in groups.items()}),
        slowdown_estimated=slowdown,
        notes=tuple(notes),
    )


def rounded_shifts(fit: GroupFit, duration: float) -> list[dict[str, float]]:
    """The group's mean agents on duty per interval, rounded, as non-overlapping shifts
    (consecutive intervals with one count merged); the last one ends at ``duration``."""
    shifts: list[dict[str, float]] = []
    ends = (*fit.starts[1:], duration)
    for start, end, mean in zip(fit.starts, ends, fit.on_duty, strict=True):
        count = math.floor(mean + 0.5)
        if shifts and shifts[-1]["count"] == count:
            shifts[-1]["to"] = end
        else:
            shifts.append({"from": start, "to": end, "count": count})
    return shifts
