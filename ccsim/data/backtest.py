"""Backtest: does a scenario reproduce the days of an interaction log?

Each day of the log is replayed: its exact arrival instants per directory
(``arrivals: {times: [...]}``) and its staffing, derived per group and interval from the
agents' ready and not-ready periods (or, with ``synthetic``, the scenario's own arrival
process with the log's staffing). Observed and simulated days are measured by the *same*
function on the same log format (:func:`interval_metrics`), so a difference is the
model's, never a difference of definitions. Replication r simulates every day once
(seed stream r); the metrics pooled over the days of one replication are one estimate,
and the replications give the simulation's confidence interval.

Tolerances (``service_level=3pp``) bound the median absolute error over the intervals of
the day, for every directory (or group); exceeding one is what ``ccsim backtest`` reports
with exit code 1.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ccsim.data.log import InteractionLog

if TYPE_CHECKING:
    import pandas as pd

    from ccsim.scenario import Scenario

#: Metrics per directory (arrival view, by arrival interval; transfer waits by the
#: interval the transferred chat entered the queue) and per group.
DIRECTORY_METRICS = ("service_level", "wait_mean", "abandon_rate", "transfer_wait_mean")
GROUP_METRICS = ("utilization",)
METRICS = DIRECTORY_METRICS + GROUP_METRICS
#: Metrics that are shares (tolerances in percentage points) and times (in seconds).
SHARE_METRICS = frozenset({"service_level", "abandon_rate", "utilization"})
TIME_METRICS = frozenset({"wait_mean", "transfer_wait_mean"})
#: Intervals with fewer observed chats (pooled over the days) are shown but not judged.
MIN_CHATS = 5
DEFAULT_REPLICATIONS = 5
DAY = 86400.0


class BacktestProblem(ValueError):
    """A backtest that cannot be run as asked (the message says why)."""


class Tolerance(BaseModel):
    """The most the median absolute per-interval error of ``metric`` may be: a share in
    percentage points (``3pp`` is 0.03) or a time in seconds (``20s``, ``1m``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Literal[
        "service_level", "wait_mean", "abandon_rate", "transfer_wait_mean", "utilization"
    ]
    limit: float = Field(ge=0, allow_inf_nan=False)
    text: str

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        metric, sep, value = text.partition("=")
        metric, value = metric.strip(), value.strip()
        if not sep or metric not in METRICS:
            raise ValueError(
                f"--tolerance {text!r}: give METRIC=LIMIT with METRIC one of "
                f"{', '.join(METRICS)}, e.g. service_level=3pp or wait_mean=20s"
            )
        if metric in SHARE_METRICS:
            match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*pp", value)
            if not match:
                raise ValueError(f"--tolerance {text!r}: a share's limit is in points, e.g. 3pp")
            return cls(metric=metric, limit=float(match[1]) / 100.0, text=text)
        from ccsim.scenario.units import parse_duration

        try:
            seconds = float(parse_duration(value))
        except (ValueError, TypeError):
            raise ValueError(
                f"--tolerance {text!r}: a time's limit is a duration, e.g. 20s or 1m"
            ) from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"--tolerance {text!r}: the limit must be a duration of 0s or more")
        return cls(metric=metric, limit=seconds, text=text)


@dataclass(frozen=True)
class Verdict:
    """One tolerance on one directory or group."""

    tolerance: Tolerance
    scope: str
    name: str
    error: float  # median absolute per-interval error (nan: no judged interval)
    intervals: int

    @property
    def holds(self) -> bool:
        return not (self.error > self.tolerance.limit)


@dataclass
class Backtest:
    """What a backtest found: per-interval comparison, per-name summary and verdicts."""

    scenario: Scenario
    days: list[dt.date]
    interval: float
    replications: int
    synthetic: bool
    seed: int
    table: (
        pd.DataFrame
    )  # scope, name, metric, interval, start, observed, n, simulated, low, high, error
    summary: (
        pd.DataFrame
    )  # scope, name, metric, observed, simulated, mae_median, mae_max, intervals
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runtime_s: float = 0.0

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.holds]


# --------------------------------------------------------------------------- days


def clock_offset(scenario: Scenario) -> float:
    from ccsim.data.log_write import clock_start

    return clock_start(scenario)


def log_days(log: InteractionLog, scenario: Scenario) -> list[dt.date]:
    """The days of the log: dates whose window (clock start + the scenario's duration)
    holds an arrival."""
    import pandas as pd

    shift = pd.Timedelta(seconds=clock_offset(scenario))
    arrivals = log.chats["arrival"]
    days = (arrivals - shift).dt.floor("D")
    offsets = (arrivals - days - shift).dt.total_seconds()
    inside = offsets < scenario.duration
    return sorted({d.date() for d in days[inside]})


def _inside_days(log: InteractionLog, scenario: Scenario, days: list[dt.date]) -> int:
    """How many chats arrived within the window of one of ``days``."""
    import pandas as pd

    shift = pd.Timedelta(seconds=clock_offset(scenario))
    day = (log.chats["arrival"] - shift).dt.floor("D")
    offset = (log.chats["arrival"] - day - shift).dt.total_seconds()
    return int((day.dt.date.isin(set(days)) & (offset < scenario.duration)).sum())


def _origins(days: list[dt.date], scenario: Scenario) -> dict[dt.date, Any]:
    import pandas as pd

    shift = pd.Timedelta(seconds=clock_offset(scenario))
    return {day: pd.Timestamp(day) + shift for day in days}


def _overlap(starts: Any, ends: Any, bins: int, interval: float) -> Any:
    """Seconds of each ``[start, end)`` (offsets) within each bin: an (n, bins) matrix."""
    import numpy as np

    edges = np.arange(bins + 1, dtype=float) * interval
    low = np.maximum(starts[:, None], edges[None, :-1])
    high = np.minimum(ends[:, None], edges[None, 1:])
    return np.clip(high - low, 0.0, None)


def interval_metrics(
    log: InteractionLog,
    scenario: Scenario,
    days: list[dt.date],
    interval: float,
) -> pd.DataFrame:
    """Per directory and group and interval of the day, pooled over ``days``: the values
    and counts of :data:`METRICS`. Columns: scope, name, metric, interval, value, n.

    Definitions follow :mod:`ccsim.results`: service level = answered within the
    directory's threshold / counted (a chat still waiting within the threshold when the
    day's window ends is not counted; abandoned chats are misses); abandon rate = chats
    abandoned (first queue or in a transfer) / offered; waits over answered chats;
    transfer wait = a later queue stay (after a transfer) until answered, in the queue's
    directory; utilization = slot time held (connection to wrap-up end, and ringing
    alerts) / staffed slot time (ready and not ready x the scenario's ``max_chats``).
    """
    import numpy as np
    import pandas as pd

    duration = float(scenario.duration)
    bins = max(1, math.ceil(duration / interval - 1e-9))
    origins = _origins(days, scenario)
    rows: list[dict[str, Any]] = []

    # chats of the days, with their day's origin
    chats = log.chats
    shift = pd.Timedelta(seconds=clock_offset(scenario))
    day = (chats["arrival"] - shift).dt.floor("D")
    origin = day + shift
    offset = (chats["arrival"] - origin).dt.total_seconds()
    keep = day.dt.date.isin(set(days)) & (offset >= 0) & (offset < duration)
    chats = chats[keep].assign(
        _origin=origin[keep], _bin=(offset[keep] // interval).astype(int).clip(0, bins - 1)
    )
    wait = (chats["first_answer"] - chats["arrival"]).dt.total_seconds()
    left = (chats["_origin"] + pd.Timedelta(seconds=duration) - chats["arrival"]).dt.total_seconds()
    threshold = chats["directory"].map(
        {name: spec.service_level for name, spec in scenario.directories.items()}
    )
    answered = wait.notna()
    flags = pd.DataFrame(
        {
            "directory": chats["directory"],
            "bin": chats["_bin"],
            "offered": 1,
            "waiting_within": (~answered & (chats["outcome"] == "open") & (left <= threshold)),
            "within": answered & (wait <= threshold),
            "answered": answered,
            "wait": wait.fillna(0.0),
            "abandoned": chats["outcome"].isin(("abandoned", "abandoned_in_transfer")),
        }
    )
    sums = flags.groupby(["directory", "bin"]).sum(numeric_only=True)
    for name in scenario.directories:
        for b in range(bins):
            got = sums.loc[(name, b)] if (name, b) in sums.index else None
            offered = int(got["offered"]) if got is not None else 0
            counted = offered - (int(got["waiting_within"]) if got is not None else 0)
            n_answered = int(got["answered"]) if got is not None else 0
            values = {
                "service_level": (int(got["within"]) / counted if counted else math.nan, counted),
                "wait_mean": (
                    float(got["wait"]) / n_answered if n_answered else math.nan,
                    n_answered,
                ),
                "abandon_rate": (
                    int(got["abandoned"]) / offered if offered else math.nan,
                    offered,
                ),
            }
            for metric, (value, n) in values.items():
                rows.append(
                    {"scope": "directory", "name": name, "metric": metric, "interval": b,
                     "value": value, "n": n}
                )  # fmt: skip

    # transfer waits: queue stays after the first one, by the queue's directory
    legs = log.legs
    legs = legs[legs["chat_id"].isin(chats["chat_id"])]
    queue = legs[legs["kind"] == "queue"].sort_values(["chat_id", "leg"], kind="stable")
    later = queue[queue.duplicated("chat_id", keep="first")] if len(queue) else queue
    later = later.merge(chats[["chat_id", "_origin"]], on="chat_id", how="left")
    later_offset = (later["start"] - later["_origin"]).dt.total_seconds()
    later_bin = (later_offset // interval).clip(0, bins - 1)
    later_wait = (later["end"] - later["start"]).dt.total_seconds()
    later_answered = later["ended_by"] == "answered"
    waits = (
        pd.DataFrame({"directory": later["directory"], "bin": later_bin, "wait": later_wait})[
            later_answered.to_numpy()
        ]
        .groupby(["directory", "bin"])["wait"]
        .agg(["sum", "count"])
    )
    for name in scenario.directories:
        for b in range(bins):
            got = waits.loc[(name, b)] if (name, b) in waits.index else None
            n = int(got["count"]) if got is not None else 0
            rows.append(
                {"scope": "directory", "name": name, "metric": "transfer_wait_mean",
                 "interval": b, "value": float(got["sum"]) / n if n else math.nan, "n": n}
            )  # fmt: skip

    # utilization per group: held slot time over staffed slot time, day by day
    held = np.zeros((len(scenario.agents), bins))
    staffed = np.zeros((len(scenario.agents), bins))
    group_index = {name: i for i, name in enumerate(scenario.agents)}
    agent_legs = log.legs[log.legs["kind"] == "agent"]
    states = log.agent_states[log.agent_states["state"].isin(("ready", "not_ready"))]
    for day_, origin_ in origins.items():
        end_ = origin_ + pd.Timedelta(seconds=duration)
        day_chats = set(chats.loc[chats["_origin"] == origin_, "chat_id"])
        mine = agent_legs[agent_legs["chat_id"].isin(day_chats)]
        stop = mine["wrap_up_end"].fillna(mine["end"]).fillna(end_)
        _add_time(
            held, mine["group"], mine["start"], stop, origin_, duration, bins, interval, group_index
        )
        day_states = states[(states["start"] < end_) & (states["end"].fillna(end_) > origin_)]
        _add_time(
            staffed, day_states["group"], day_states["start"], day_states["end"].fillna(end_),
            origin_, duration, bins, interval, group_index,
        )  # fmt: skip
        del day_
    for name, spec in scenario.agents.items():
        g = group_index[name]
        for b in range(bins):
            slots = staffed[g, b] * spec.max_chats
            rows.append(
                {"scope": "group", "name": name, "metric": "utilization", "interval": b,
                 "value": held[g, b] / slots if slots > 0 else math.nan,
                 "n": round(float(staffed[g, b]))}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["scope", "name", "metric", "interval", "value", "n"])


def _add_time(
    target: Any,
    groups: Any,
    starts: Any,
    ends: Any,
    origin: Any,
    duration: float,
    bins: int,
    interval: float,
    group_index: dict[str, int],
) -> None:
    import numpy as np

    if not len(groups):
        return
    s = (starts - origin).dt.total_seconds().to_numpy(dtype=float)
    e = (ends - origin).dt.total_seconds().to_numpy(dtype=float)
    s, e = np.clip(s, 0.0, duration), np.clip(e, 0.0, duration)
    index = groups.map(group_index).to_numpy()
    known = ~np.array([x != x or x is None for x in index], dtype=bool)
    if not known.any():
        return
    matrix = _overlap(s[known], e[known], bins, interval)
    np.add.at(target, index[known].astype(int), matrix)


# --------------------------------------------------------------------------- replay


def closing_periods(states: pd.DataFrame) -> pd.Series:
    """Not Ready periods that run straight into offline (or the log's end): an agent
    finishing its chats after its shift (ccsim's closing), not staffing to replay."""
    order = states.sort_values(["agent_id", "start"], kind="stable")
    by_agent = order.groupby("agent_id", sort=False)
    following = by_agent["state"].shift(-1).fillna("offline")
    next_start = by_agent["start"].shift(-1)
    closing = (
        (order["state"] == "not_ready")
        & (following == "offline")
        & (next_start.isna() | (next_start <= order["end"]))
    )
    return closing.reindex(states.index, fill_value=False)


def day_staffing(
    log: InteractionLog, scenario: Scenario, origin: Any, interval: float
) -> dict[str, list[dict[str, float]]]:
    """Per group of the scenario that the log's agent states mention: shifts per interval,
    the count being the mean number of agents ready or not ready in it (not closing,
    :func:`closing_periods`), rounded."""
    import numpy as np
    import pandas as pd

    duration = float(scenario.duration)
    bins = max(1, math.ceil(duration / interval - 1e-9))
    end = origin + pd.Timedelta(seconds=duration)
    states = log.agent_states
    on = states[states["state"].isin(("ready", "not_ready")) & ~closing_periods(states)]
    on = on[(on["start"] < end) & (on["end"].fillna(end) > origin)]
    group_index = {name: i for i, name in enumerate(scenario.agents)}
    time_on = np.zeros((len(group_index), bins))
    _add_time(time_on, on["group"], on["start"], on["end"].fillna(end), origin, duration, bins,
              interval, group_index)  # fmt: skip
    known = set(states["group"].dropna())
    widths = np.minimum(np.arange(1, bins + 1) * interval, duration) - np.arange(bins) * interval
    staffing: dict[str, list[dict[str, float]]] = {}
    for name, g in group_index.items():
        if name not in known:
            continue
        counts = np.floor(time_on[g] / widths + 0.5).astype(int)
        shifts: list[dict[str, float]] = []
        for b, count in enumerate(counts):
            start, stop = b * interval, min((b + 1) * interval, duration)
            if shifts and shifts[-1]["count"] == count:
                shifts[-1]["to"] = stop
            else:
                shifts.append({"from": start, "to": stop, "count": int(count)})
        staffing[name] = shifts
    return staffing


def replay_scenario(
    scenario: Scenario,
    log: InteractionLog,
    day: dt.date,
    interval: float,
    synthetic: bool,
) -> Scenario:
    """The scenario for one day of the log: its arrival instants (unless ``synthetic``)
    and the staffing of its agent states. With the log's instants, customers' retries
    (``retry:``) are not simulated again: the log's arrivals hold them already."""
    from ccsim.scenario import scenario_from_dict

    origin = _origins([day], scenario)[day]
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("days", None)
    data["replications"] = 1
    data["warmup"] = 0
    data["expect"] = []
    if not synthetic:
        chats = log.chats
        offsets = (chats["arrival"] - origin).dt.total_seconds()
        inside = (offsets >= 0) & (offsets < scenario.duration)
        for name, spec in data["directories"].items():
            times = sorted(offsets[inside & (chats["directory"] == name)].tolist())
            spec.pop("retry", None)
            if times:
                spec["arrivals"] = {"times": times}
            else:
                spec.pop("arrivals", None)
    for name, shifts in day_staffing(log, scenario, origin, interval).items():
        group = data["agents"][name]
        group.pop("count", None)
        group["shifts"] = shifts
    return scenario_from_dict(data, source=f"{scenario.name} on {day.isoformat()}")


# --------------------------------------------------------------------------- compare


def backtest(
    scenario: Scenario,
    log: InteractionLog,
    interval: float = 1800.0,
    synthetic: bool = False,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
    tolerances: list[Tolerance] | None = None,
    confidence: float = 0.95,
    on_day: Any = None,
) -> Backtest:
    """Replay the log's days ``replications`` times and compare per interval."""
    import time

    import numpy as np
    import pandas as pd
    from scipy.special import stdtrit

    from ccsim.data.log_write import day_frames
    from ccsim.model import run_replication

    started = time.perf_counter()
    if scenario.duration > DAY + 1e-9:
        raise BacktestProblem(
            "a backtest replays one day at a time; this scenario lasts more than 24h"
        )
    if interval <= 0:
        raise BacktestProblem("the interval must be positive")
    if scenario.duration / interval > 1000:
        raise BacktestProblem("the interval is too short: more than 1000 intervals a day")
    days = log_days(log, scenario)
    if not days:
        raise BacktestProblem(
            "the log has no chat arriving within the scenario's day (clock start "
            "and duration): nothing to compare"
        )
    seed = scenario.seed if seed is None else seed
    notes = []
    if log.agent_states.empty:
        notes.append("the log has no agent states: the scenario's own staffing is used")
    else:
        missing = sorted(set(scenario.agents) - set(log.agent_states["group"].dropna()))
        if missing:
            notes.append(
                "groups without agent states in the log keep the scenario's staffing: "
                + ", ".join(missing)
            )
    unknown = sorted(set(log.chats["directory"].dropna()) - set(scenario.directories))
    if unknown:
        notes.append(
            f"directories of the log not in the scenario are not compared: {', '.join(unknown)}"
        )
    strangers = sorted(set(log.agent_states["group"].dropna()) - set(scenario.agents))
    if strangers:
        notes.append(
            f"groups of the log not in the scenario are not replayed: {', '.join(strangers)}"
        )
    outside = len(log.chats) - _inside_days(log, scenario, days)
    if outside:
        notes.append(
            f"{outside} chats arrived outside the scenario's day (its clock start and duration) "
            "and are not compared"
        )
    observed = interval_metrics(log, scenario, days, interval)
    from ccsim.scenario import ScenarioError

    day_scenarios = {}
    for day in days:
        try:
            day_scenarios[day] = replay_scenario(scenario, log, day, interval, synthetic)
        except ScenarioError as error:
            raise BacktestProblem(
                f"the day {day.isoformat()} cannot be replayed: " + "; ".join(error.problems)
            ) from None
    offset = clock_offset(scenario)
    runs = []
    for r in range(replications):
        parts = []
        for day, day_scenario in day_scenarios.items():
            records = run_replication(day_scenario, replication=r, seed=seed, record_events=True)
            parts.append(day_frames(records, day_scenario, seed, day, offset))
            if on_day is not None:
                on_day()
        simulated = InteractionLog(
            chats=pd.concat([p[0] for p in parts], ignore_index=True),
            legs=pd.concat([p[1] for p in parts], ignore_index=True),
            agent_states=pd.concat([p[2] for p in parts], ignore_index=True),
            source="simulated",
        )
        runs.append(interval_metrics(simulated, scenario, days, interval)["value"].to_numpy())
    values = np.vstack(runs)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan intervals stay nan
        mean = np.nanmean(values, axis=0) if replications else np.full(len(observed), np.nan)
        count = np.sum(~np.isnan(values), axis=0)
        sd = np.nanstd(values, axis=0, ddof=1) if replications > 1 else np.zeros(len(observed))
        half = np.where(
            count > 1,
            stdtrit(np.maximum(count - 1, 1), 0.5 + confidence / 2)
            * sd
            / np.sqrt(np.maximum(count, 1)),
            np.nan,
        )
    table = observed.rename(columns={"value": "observed"})
    table["simulated"] = mean
    share = table["metric"].isin(SHARE_METRICS).to_numpy()
    # the t interval, kept within what the metric can be (a share in [0, 1], a time >= 0)
    table["low"] = np.maximum(mean - half, 0.0)
    table["high"] = np.where(share, np.minimum(mean + half, 1.0), mean + half)
    table["error"] = table["simulated"] - table["observed"]
    table["start"] = table["interval"] * interval
    judged = (table["n"] >= MIN_CHATS) | (table["metric"] == "utilization") & (table["n"] > 0)
    table["judged"] = judged & table["error"].notna()
    table = table[["scope", "name", "metric", "interval", "start", "observed", "n", "simulated",
                   "low", "high", "error", "judged"]]  # fmt: skip
    with warnings.catch_warnings():
        summary = _summary(table, observed, runs, scenario)
    verdicts = []
    for tolerance in tolerances or []:
        for (scope, name), part in table[table["metric"] == tolerance.metric].groupby(
            ["scope", "name"], sort=False
        ):
            errors = part.loc[part["judged"], "error"].abs()
            verdicts.append(
                Verdict(
                    tolerance,
                    scope,
                    name,
                    float(errors.median()) if len(errors) else math.nan,
                    len(errors),
                )
            )
    return Backtest(
        scenario=scenario,
        days=days,
        interval=interval,
        replications=replications,
        synthetic=synthetic,
        seed=seed,
        table=table.reset_index(drop=True),
        summary=summary,
        verdicts=verdicts,
        notes=notes,
        runtime_s=time.perf_counter() - started,
    )


def _summary(
    table: pd.DataFrame, observed: pd.DataFrame, runs: list[Any], scenario: Scenario
) -> pd.DataFrame:
    """Per directory/group and metric: the whole day observed and simulated (weighted by
    the intervals' counts) and the median and largest absolute per-interval error."""
    import numpy as np
    import pandas as pd

    rows = []
    weights = observed["n"].to_numpy(dtype=float)
    sim = np.vstack(runs) if runs else np.empty((0, len(observed)))
    warnings.simplefilter("ignore", RuntimeWarning)  # caller's catch_warnings; all-nan stays nan
    for (scope, name, metric), part in table.groupby(["scope", "name", "metric"], sort=False):
        index = part.index.to_numpy()
        w = weights[index]
        obs = part["observed"].to_numpy(dtype=float)
        ok = ~np.isnan(obs) & (w > 0)
        day_observed = float(np.average(obs[ok], weights=w[ok])) if ok.any() else math.nan
        sim_values = np.nanmean(sim[:, index], axis=0) if len(sim) else np.full(len(index), np.nan)
        ok_sim = ~np.isnan(sim_values) & (w > 0)
        if ok_sim.any():  # weighted as the observed day
            day_simulated = float(np.average(sim_values[ok_sim], weights=w[ok_sim]))
        else:  # nothing observed (no agent states): the simulated intervals alike
            day_simulated = float(np.nanmean(sim_values)) if len(sim_values) else math.nan
        errors = part.loc[part["judged"], "error"].abs()
        rows.append(
            {
                "scope": scope,
                "name": name,
                "metric": metric,
                "observed": day_observed,
                "simulated": day_simulated,
                "mae_median": float(errors.median()) if len(errors) else math.nan,
                "mae_max": float(errors.max()) if len(errors) else math.nan,
                "intervals": len(errors),
            }
        )
    del scenario
    return pd.DataFrame(
        rows,
        columns=[
            "scope",
            "name",
            "metric",
            "observed",
            "simulated",
            "mae_median",
            "mae_max",
            "intervals",
        ],
    )


# --------------------------------------------------------------------------- outputs


def _folder_kind() -> Any:
    """A backtest's --out folder: its own kind, never confused with results or a log."""
    from ccsim.safe_write import FolderKind

    return FolderKind("backtest", "a ccsim backtest", needs_force=True)


def header(bt: Backtest, log_source: str) -> dict[str, Any]:
    """What every output of a backtest carries: scenario, log, days, seed, version, runtime."""
    from ccsim.api import ccsim_version

    return {
        "scenario": bt.scenario.model_dump(mode="json", by_alias=True),
        "log": log_source,
        "days": [d.isoformat() for d in bt.days],
        "interval_s": bt.interval,
        "arrivals": "synthetic (the scenario's)" if bt.synthetic else "the log's instants",
        "replications": bt.replications,
        "seed": bt.seed,
        "version": ccsim_version(),
        "runtime_s": round(bt.runtime_s, 6),
    }


def verdict_rows(bt: Backtest) -> list[dict[str, Any]]:
    return [
        {
            "tolerance": v.tolerance.text,
            "scope": v.scope,
            "name": v.name,
            "median_abs_error": v.error,
            "limit": v.tolerance.limit,
            "intervals": v.intervals,
            "holds": v.holds,
        }
        for v in bt.verdicts
    ]


def write_outputs(
    bt: Backtest,
    out: Any,
    log_source: str,
    *,
    force: bool = False,
    inputs: Any = (),
    force_hint: str = "force=True",
) -> None:
    """``intervals.csv`` (per interval), ``summary.csv`` (per directory/group and metric)
    and ``backtest.json`` (header, notes, verdicts) into a new or ccsim-written folder."""
    import json

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from ccsim.output import json_safe
    from ccsim.safe_write import staged_folder

    with staged_folder(
        out, _folder_kind(), force=force, inputs=inputs, force_hint=force_hint
    ) as staging:
        for name, frame in (("intervals", bt.table), ("summary", bt.summary)):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pa_csv.write_csv(table, staging / f"{name}.csv")
        meta = {**header(bt, log_source), "notes": bt.notes, "verdicts": verdict_rows(bt)}
        (staging / "backtest.json").write_text(
            json.dumps(json_safe(meta), indent=1) + "\n", encoding="utf-8"
        )


def _clock_labels(bt: Backtest, starts: Any) -> list[str]:
    from ccsim.scenario.clock import format_clock

    offset = clock_offset(bt.scenario)
    return [format_clock(offset + s) for s in starts]


def _chart(bt: Backtest, scope: str, name: str) -> str:
    """Observed (dots) against simulated (line, confidence band) over the day, one panel
    per metric; a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ccsim.report import figure_png

    metrics = DIRECTORY_METRICS if scope == "directory" else GROUP_METRICS
    part = bt.table[(bt.table["scope"] == scope) & (bt.table["name"] == name)]
    metrics = tuple(m for m in metrics if part.loc[part["metric"] == m, "observed"].notna().any())
    if not metrics:
        return ""
    figure, axes = plt.subplots(
        len(metrics), 1, figsize=(8, 2.2 * len(metrics)), sharex=True, squeeze=False
    )
    for axis, metric in zip(axes[:, 0], metrics, strict=True):
        rows = part[part["metric"] == metric]
        x = (rows["start"] + bt.interval / 2).to_numpy() / 3600.0
        scale = 100.0 if metric in SHARE_METRICS else 1.0
        axis.fill_between(
            x, rows["low"] * scale, rows["high"] * scale, alpha=0.25, color="tab:blue", lw=0
        )
        axis.plot(x, rows["simulated"] * scale, color="tab:blue", label="simulated")
        axis.plot(x, rows["observed"] * scale, "o", color="black", ms=3, label="observed")
        unit = " (%)" if metric in SHARE_METRICS else " (s)"
        axis.set_ylabel(metric.replace("_", " ") + unit, fontsize=8)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="best")
    ticks = axes[-1, 0].get_xticks()
    axes[-1, 0].set_xticks(ticks)
    axes[-1, 0].set_xticklabels(_clock_labels(bt, [t * 3600 for t in ticks]), fontsize=8)
    axes[-1, 0].set_xlim(0, bt.scenario.duration / 3600.0)
    axes[0, 0].set_title(f"{scope} {name}: observed against simulated over the day", fontsize=9)
    figure.tight_layout()
    uri = figure_png(figure)
    plt.close(figure)
    return uri


def _cell(metric: str, value: float) -> str:
    if value != value:
        return "–"
    if metric in SHARE_METRICS:
        return f"{value * 100:.1f}%"
    return f"{value:.1f} s"


def _error_cell(metric: str, value: float) -> str:
    if value != value:
        return "–"
    return f"{value * 100:.2f} pp" if metric in SHARE_METRICS else f"{value:.1f} s"


def report_html(bt: Backtest, log_source: str) -> str:
    """A self-contained page: verdicts, the summary, a chart per directory and group, and
    the per-interval table with the simulation's intervals."""
    from html import escape

    from ccsim.safe_write import html_document_head

    info = header(bt, log_source)
    title = f"Backtest of {bt.scenario.name} against {log_source}"
    parts = [
        f"{html_document_head()}<title>{escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
        ".fail{color:#b00;font-weight:bold}.pass{color:#070}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(bt.days)} days ({escape(info['days'][0])} to {escape(info['days'][-1])}), "
        f"intervals of {bt.interval / 60:g} min, arrivals: {escape(info['arrivals'])}, staffing "
        f"from the log's agent states; {bt.replications} replications of every day, seed "
        f"{bt.seed}; ccsim {escape(info['version'])}, {bt.runtime_s:.1f} s. Errors are "
        "simulated minus observed; the median absolute error is over the intervals with at "
        f"least {MIN_CHATS} observed chats.</p>",
    ]
    for note in bt.notes:
        parts.append(f"<p><em>{escape(note)}</em></p>")
    if bt.verdicts:
        parts.append("<h2>Tolerances</h2><table><tr><th>tolerance</th><th>name</th>"
                     "<th>median |error|</th><th>intervals</th><th>verdict</th></tr>")  # fmt: skip
        for v in bt.verdicts:
            verdict = (
                '<span class="pass">PASS</span>' if v.holds else '<span class="fail">FAIL</span>'
            )
            parts.append(
                f"<tr><td>{escape(v.tolerance.text)}</td><td>{escape(v.scope)} {escape(v.name)}"
                f"</td><td>{_error_cell(v.tolerance.metric, v.error)}</td><td>{v.intervals}</td>"
                f"<td>{verdict}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Summary</h2><table><tr><th>name</th><th>metric</th><th>observed</th>"
                 "<th>simulated</th><th>median |error|</th><th>largest |error|</th>"
                 "<th>intervals</th></tr>")  # fmt: skip
    for row in bt.summary.itertuples(index=False):
        parts.append(
            f"<tr><td>{escape(row.scope)} {escape(row.name)}</td><td>{escape(row.metric)}</td>"
            f"<td>{_cell(row.metric, row.observed)}</td><td>{_cell(row.metric, row.simulated)}</td>"
            f"<td>{_error_cell(row.metric, row.mae_median)}</td>"
            f"<td>{_error_cell(row.metric, row.mae_max)}</td><td>{row.intervals}</td></tr>"
        )
    parts.append("</table><h2>Over the day</h2>")
    names = [("directory", n) for n in bt.scenario.directories] + [
        ("group", n) for n in bt.scenario.agents
    ]
    for scope, name in names:
        uri = _chart(bt, scope, name)
        if uri:
            parts.append(
                f'<p><img src="{uri}" alt="{escape(scope)} {escape(name)}: observed '
                f'against simulated"></p>'
            )
    parts.append("<h2>Per interval</h2><table><tr><th>name</th><th>metric</th><th>from</th>"
                 "<th>observed</th><th>n</th><th>simulated</th><th>interval</th>"
                 "<th>error</th></tr>")  # fmt: skip
    labels = _clock_labels(bt, bt.table["start"].tolist())
    for label, row in zip(labels, bt.table.itertuples(index=False), strict=True):
        if row.observed != row.observed and row.simulated != row.simulated:
            continue
        parts.append(
            f"<tr><td>{escape(row.scope)} {escape(row.name)}</td><td>{escape(row.metric)}</td>"
            f"<td>{label}</td><td>{_cell(row.metric, row.observed)}</td><td>{row.n}</td>"
            f"<td>{_cell(row.metric, row.simulated)}</td>"
            f"<td>[{_cell(row.metric, row.low)}, {_cell(row.metric, row.high)}]</td>"
            f"<td>{_error_cell(row.metric, row.error)}</td></tr>"
        )
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


__all__ = [
    "DIRECTORY_METRICS",
    "GROUP_METRICS",
    "METRICS",
    "Backtest",
    "BacktestProblem",
    "Tolerance",
    "Verdict",
    "backtest",
    "day_staffing",
    "interval_metrics",
    "log_days",
    "replay_scenario",
    "report_html",
    "write_outputs",
]
