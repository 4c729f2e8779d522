"""Charts of a run for planners and analysts: each function returns a matplotlib Figure.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: nothing touches a global figure list or a GUI backend, so they work without
a display, in threads and in CLI runs, and never block. In Jupyter a returned Figure
shows itself; elsewhere call ``fig.savefig("plot.png")``.

Each function takes :class:`ccsim.api.Results` (or the DataFrame it needs) and, where
a single panel is drawn, an optional ``ax`` to draw into.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ccsim.results import COUNT_METRICS, RATIO_METRICS, TIME_METRICS
from ccsim.timeseries import timeseries

if TYPE_CHECKING:
    from ccsim.api import Results

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
KIND_LABELS = {
    "directory_warm": "warm directory transfer",
    "directory_cold": "cold directory transfer",
    "agent_transfer": "transfer to an agent",
    "conference": "conference",
}
GAP_COLOR = "#d62728"
QUEUE_COLOR = "#9e9e9e"
WARMUP_COLOR = "#eeeeee"


class ChartFigure(Figure):
    """A Figure that shows itself in Jupyter (``_repr_png_``) without pyplot or
    ``%matplotlib inline``."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.get_figure(root=True), ax  # type: ignore[return-value]
    fig = ChartFigure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _note(ax: Axes, text: str) -> None:
    """A grey message in the middle of an empty panel."""
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#555555", wrap=True
    )


def metric_base(metric: str) -> str:
    """``directories.sales.service_level`` -> ``service_level``."""
    return metric.rsplit(".", 1)[-1]


def metric_scale(metric: str) -> tuple[float, str]:
    """Factor and unit to show a metric in: ratios as %, times in seconds."""
    base = metric_base(metric)
    if base in RATIO_METRICS:
        return 100.0, "%"
    if base in TIME_METRICS:
        return 1.0, "s"
    if base in COUNT_METRICS:
        return 1.0, "chats"
    return 1.0, ""


def metric_label(metric: str) -> str:
    """``handoff_gap_mean`` -> ``handoff gap mean (s)``;
    ``directories.sales.service_level`` -> ``service level, sales (%)``."""
    _, unit = metric_scale(metric)
    parts = metric.split(".")
    words = parts[-1].replace("_", " ")
    if len(parts) > 1:
        words += ", " + " ".join(parts[1:-1] if len(parts) == 3 else parts[:-1])
    return f"{words} ({unit})" if unit else words


def _seconds_axis(values: np.ndarray) -> tuple[float, str]:
    """Show times in seconds, or minutes when they run past ten minutes."""
    top = float(np.nanmax(values)) if values.size else 0.0
    return (60.0, "min") if top > 600 else (1.0, "s")


# --------------------------------------------------------------------------- wait time


def wait_cdf(
    results: Results | pd.DataFrame,
    thresholds: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    duration: float | None = None,
) -> Figure:
    """Share of offered chats answered within *t*, per directory, with each directory's
    service-level threshold marked.

    Uses measured chats (arrived after warm-up), pooled over replications; abandoned
    chats count as never answered, so each curve levels off at the answered share and
    its height at the threshold is the service level. As in the summary, a chat still
    waiting when the run stops is a miss once it has waited longer than its threshold;
    only those still within it are left out. ``results`` may be a chats table; then pass
    ``thresholds`` (seconds per directory) to mark them and the run's ``duration`` (without
    it every chat still waiting is left out).
    """
    if not isinstance(results, pd.DataFrame):
        thresholds = {n: d.service_level for n, d in results.scenario.directories.items()}
        duration = results.scenario.duration
        chats = results.chats
    else:
        chats = results
    thresholds = dict(thresholds or {})
    fig, ax = _axes(ax, (8, 4.5))
    measured = chats[chats["measured"].astype(bool)] if "measured" in chats else chats
    still_waiting = (measured["outcome"].astype(str) == "open") & ~measured["answered"].astype(bool)
    if duration is not None:
        limit = measured["directory"].astype(str).map(thresholds).astype(float)
        still_waiting &= ~(duration - measured["arrival"] > limit)  # NaN limit: left out
    measured = measured[~still_waiting]
    directories = [str(d) for d in pd.unique(measured["directory"].astype(str))]
    directories = [d for d in thresholds if d in directories] + [
        d for d in directories if d not in thresholds
    ]
    waits_by = {
        d: measured.loc[measured["directory"].astype(str) == d, "wait"].dropna().to_numpy(float)
        for d in directories
    }
    if not any(w.size for w in waits_by.values()):
        _note(ax, "no measured chats were answered")
        ax.set_title("Time to answer")
        return fig
    # Cut the long tail: show each directory up to its 95th percentile, and past every
    # threshold.
    right = max(
        [float(np.percentile(w, 95)) for w in waits_by.values() if w.size]
        + [1.5 * t for t in thresholds.values()]
    )
    scale, unit = _seconds_axis(np.array([right]))
    for index, name in enumerate(directories):
        rows = measured[measured["directory"].astype(str) == name]
        offered = len(rows)
        if offered == 0:
            continue
        waits = np.sort(rows["wait"].to_numpy(dtype=float))
        waits = waits[~np.isnan(waits)]
        xs = np.concatenate([[0.0], waits, [right]]) / scale
        ys = np.concatenate([[0.0], np.arange(1, waits.size + 1), [waits.size]]) / offered * 100
        label = f"{name} ({offered:,} chats)"
        threshold = thresholds.get(name)
        if threshold is not None:
            level = float(np.count_nonzero(waits <= threshold)) / offered * 100
            label = f"{name}: {level:.1f}% within {threshold:g} s ({offered:,} chats)"
        ax.step(xs, ys, where="post", color=color(index), label=label, linewidth=1.8)
        if threshold is not None:
            ax.axvline(threshold / scale, color=color(index), linestyle="--", linewidth=1)
            ax.plot([threshold / scale], [level], "o", color=color(index))
    ax.set_xlim(0, right / scale)
    ax.set_ylim(0, 101)
    ax.set_xlabel(f"time from arrival to first agent connected ({unit})")
    ax.set_ylabel("offered chats answered within t (%)")
    ax.set_title("Time to answer by directory (dashed: service-level threshold)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


# --------------------------------------------------------------------------- over the day


def _shade_warmup(ax: Axes, begin: float, warmup_hours: float, label: bool) -> None:
    """Shade the warm-up, ``warmup_hours`` long from ``begin`` (hours on the clock axis)."""
    if warmup_hours > 0:
        ax.axvspan(
            begin, begin + warmup_hours, color=WARMUP_COLOR, label="warm-up" if label else None
        )


def clock_axis(ax: Axes, first: float, last: float) -> None:
    """Label an axis in hours since midnight of the first day with clock times
    (``08:00``; ``day 2 08:00`` when the span passes midnight), ticks on whole hours."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from ccsim.scenario.clock import clock_at, spans_days

    with_day = spans_days(0.0, last * 3600)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8 if with_day else 12, steps=[1, 2, 3, 4, 6]))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda hours, _pos: clock_at(hours * 3600, 0.0, with_day))
    )
    if with_day:
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")


def queue_and_staffing(
    results: Results | pd.DataFrame, freq: str | float = "15m", warmup: float | None = None
) -> Figure:
    """Two panels over the day: chats waiting per directory (time average per
    interval), and staffed vs busy chat slots per agent group.

    ``results`` may be a frame from :func:`ccsim.timeseries.timeseries`; ``warmup``
    (seconds) is then shaded if given.
    """
    if isinstance(results, pd.DataFrame):
        series = results
    else:
        series = timeseries(results, freq)
        warmup = results.scenario.warmup if warmup is None else warmup
    fig = ChartFigure(figsize=(9, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    # The index is the clock (hours since midnight of the first day), see ccsim.timeseries.
    start_hours = series.index.total_seconds().to_numpy() / 3600
    step = start_hours[1] - start_hours[0] if len(start_hours) > 1 else 1.0
    end = series.attrs.get("end")
    last = pd.Timedelta(end).total_seconds() / 3600 if end is not None else None
    if len(start_hours) and last is None:
        last = start_hours[-1] + step
    hours = np.append(start_hours, last) if len(start_hours) else start_hours
    begin = float(start_hours[0]) if len(start_hours) else 0.0
    warmup_hours = (warmup or 0.0) / 3600

    def stairs(ax: Axes, values: np.ndarray, **style: Any) -> None:
        ax.stairs(values, hours, baseline=None, **style)

    _shade_warmup(top, begin, warmup_hours, label=True)
    queue = series["queue_length"] if "queue_length" in series.columns.levels[0] else None
    if queue is None or queue.isna().all().all():
        _note(top, "no event log (ccsim run --events) — queue length unknown")
    else:
        for index, name in enumerate(queue.columns):
            stairs(top, queue[name].to_numpy(), color=color(index), linewidth=1.8, label=name)
    top.set_ylabel("chats waiting (time average)")
    top.set_title(f"Queue length by directory, per {_interval_label(step)} interval")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    if top.get_legend_handles_labels()[0]:  # nothing labelled without a log or warm-up
        top.legend(loc="best", fontsize="small", ncol=4)

    _shade_warmup(bottom, begin, warmup_hours, label=False)
    groups = list(series["staffed_slots"].columns)
    for index, name in enumerate(groups):
        stairs(
            bottom,
            series["staffed_slots"][name].to_numpy(),
            color=color(index),
            linestyle="--",
            linewidth=1.4,
        )
        stairs(bottom, series["busy_slots"][name].to_numpy(), color=color(index), linewidth=1.8)
    handles = [Patch(color=color(i), label=name) for i, name in enumerate(groups)]
    handles += [
        _line_handle("-", "busy slots (held chats, offers, wrap-up)"),
        _line_handle("--", "staffed slots (agents on shift × max_chats)"),
    ]
    bottom.legend(handles=handles, loc="upper left", fontsize="small", ncol=2)
    bottom.set_ylabel("chat slots (time average)")
    bottom.set_xlabel("time of day")
    bottom.set_title("Staffing by agent group: staffed vs busy slots")
    bottom.set_ylim(0, max(1.0, float(np.nanmax(series["staffed_slots"].to_numpy()))) * 1.35)
    bottom.set_xlim(hours[0] if len(hours) else 0, hours[-1] if len(hours) else 1)
    if len(hours):
        clock_axis(bottom, float(hours[0]), float(hours[-1]))
    bottom.grid(alpha=0.3)
    return fig


def _interval_label(hours: float) -> str:
    minutes = hours * 60
    return f"{minutes:g}-minute" if minutes < 120 else f"{hours:g}-hour"


def _line_handle(style: str, label: str) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], color="#333333", linestyle=style, label=label)


# --------------------------------------------------------------------------- agent groups


def utilization(
    results: Results | pd.DataFrame, ax: Axes | None = None, confidence: float = 0.95
) -> Figure:
    """Utilization and occupancy per agent group, mean with error bars of the interval at
    ``confidence`` (95% by default).

    ``results`` may be a summary frame (``Results.summary()``, whose intervals are 95%).
    """
    if isinstance(results, pd.DataFrame):
        summary = results
    else:
        from ccsim.confidence import results_summary

        summary = results_summary(results, confidence).frame()
    rows = summary[summary["scope"] == "group"]
    fig, ax = _axes(ax, (8, 4.5))
    metrics = ("utilization", "occupancy")
    groups = [g for g in pd.unique(rows["name"]) if rows[rows["name"] == g]["mean"].notna().any()]
    if not groups:
        _note(ax, "no staffed agent groups")
        ax.set_title("Utilization and occupancy by agent group")
        return fig
    width = 0.38
    x = np.arange(len(groups))
    for offset, metric in enumerate(metrics):
        picked = rows[rows["metric"] == metric].set_index("name").reindex(groups)
        mean = picked["mean"].to_numpy(dtype=float) * 100
        low = picked["ci_low"].to_numpy(dtype=float) * 100
        high = picked["ci_high"].to_numpy(dtype=float) * 100
        has_intervals = bool(np.isfinite(low).any())
        errors = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
        bars = ax.bar(
            x + (offset - 0.5) * width,
            mean,
            width,
            yerr=errors if has_intervals else None,
            capsize=4,
            color=color(offset),
            label=metric,
            error_kw={"elinewidth": 1.2, "ecolor": "#222222"},
        )
        ax.bar_label(
            bars,
            labels=[f"{m:.0f}%" if not math.isnan(m) else "" for m in mean],
            padding=2,
            fontsize="small",
            label_type="center",
            color="white",
            fontweight="bold",
        )
    ax.set_xticks(x, groups)
    ax.set_ylim(0, 110)
    ax.set_ylabel("share of staffed time (%)")
    ax.set_xlabel("agent group")
    ax.set_title(
        "Utilization (held slot time / staffed slot time) and occupancy\n"
        "(time with ≥ 1 chat / staffed time), "
        + (
            f"error bars: {100 * confidence:g}% CI over replications"
            if has_intervals
            else "one replication: no confidence intervals"
        ),
        fontsize="medium",
    )
    ax.axhline(100, color="#999999", linewidth=0.8)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize="small", ncol=2)
    return fig


# --------------------------------------------------------------------------- handoff gaps


def _measured_legs(results: Results) -> pd.DataFrame:
    legs = results.transfers
    chats = results.chats
    measured = chats.loc[chats["measured"].astype(bool), ["replication", "chat"]]
    return legs.merge(measured, on=["replication", "chat"], how="inner")


def handoff_gaps(results: Results | pd.DataFrame) -> Figure:
    """The handoff gap by transfer kind (warm and cold directory transfers, transfers to
    an agent, conferences): left, the share of legs that left the customer with nobody
    connected at all; right, how long those gaps were (share of gapped legs with a gap
    up to *t*).

    Declined legs are left out, as in ``handoff_gap_*``; kinds with no legs are listed
    as such. ``results`` may be a transfers table.
    """
    legs = results if isinstance(results, pd.DataFrame) else _measured_legs(results)
    legs = legs[legs["outcome"].astype(str) != "declined"]
    fig = ChartFigure(figsize=(10, 4.2), layout="constrained")
    share_ax, cdf_ax = fig.subplots(1, 2, width_ratios=[1, 1.5])
    fig.suptitle("Handoff gaps by transfer kind (time with nobody connected to the customer)")
    kinds = list(KIND_LABELS)
    gaps = {
        k: np.sort(legs.loc[legs["kind"].astype(str) == k, "handoff_gap"].dropna().to_numpy(float))
        for k in kinds
    }
    y = np.arange(len(kinds))[::-1]
    for row, kind in zip(y, kinds, strict=True):
        values = gaps[kind]
        if values.size == 0:
            share_ax.text(
                1, row, "no legs in these results", va="center", fontsize="small", color="#555555"
            )
            continue
        share = float(np.mean(values > 0)) * 100
        share_ax.barh(row, share, color=color(kinds.index(kind)), height=0.6)
        share_ax.text(
            share + 1, row, f"{share:.0f}% of {values.size:,}", va="center", fontsize="small"
        )
    share_ax.set_yticks(y, [KIND_LABELS[k] for k in kinds])
    share_ax.set_ylim(-0.6, len(kinds) - 0.4)
    share_ax.set_xlim(0, 125)
    share_ax.set_xticks([0, 25, 50, 75, 100])
    share_ax.set_xlabel("legs with a gap > 0 (%)")
    share_ax.set_title("How often", fontsize="medium")
    share_ax.grid(axis="x", alpha=0.3)

    gapped = {k: v[v > 0] for k, v in gaps.items() if np.any(v > 0)}
    cdf_ax.set_title("How long, when there is a gap", fontsize="medium")
    if not gapped:
        _note(
            cdf_ax,
            "no leg had a gap:\nthe customer always had someone connected"
            if any(v.size for v in gaps.values())
            else "no transfers or conferences in these results",
        )
        cdf_ax.set_xticks([])
        cdf_ax.set_yticks([])
        return fig
    top = max(float(v.max()) for v in gapped.values())
    scale, unit = _seconds_axis(np.array([top]))
    right = top * 1.05 / scale
    for kind, values in gapped.items():
        xs = np.concatenate([[0.0], values / scale, [right]])
        ys = np.concatenate([[0.0], np.arange(1, values.size + 1) / values.size, [1.0]]) * 100
        label = (
            f"{KIND_LABELS[kind]}: mean {values.mean():.1f} s, "
            f"p90 {np.percentile(values, 90):.1f} s"
        )
        cdf_ax.step(
            xs, ys, where="post", color=color(kinds.index(kind)), linewidth=1.8, label=label
        )
    cdf_ax.set_xlim(0, right)
    cdf_ax.set_ylim(0, 102)
    cdf_ax.set_xlabel(f"handoff gap ({unit})")
    cdf_ax.set_ylabel("gapped legs with a gap up to t (%)")
    cdf_ax.grid(alpha=0.3)
    cdf_ax.legend(loc="lower right", fontsize="small")
    return fig


# --------------------------------------------------------------------------- chat timeline


@dataclass(frozen=True)
class Span:
    """One bar of the timeline: a stay in a queue, or a participant's connection."""

    row: str
    start: float
    end: float
    kind: str  # "queue" or "agent"
    group: str = ""


def chat_spans(
    events: pd.DataFrame, agent_names: Mapping[int, tuple[str, int]], end_of_run: float
) -> tuple[list[Span], list[float]]:
    """The bars of one chat from its events (in log order), and its transfer requests.

    Queue bars run from ``queue`` to the next ``connect``, ``abandon`` or ``end``;
    a participant's bar from its ``connect`` to its ``leave`` (or the chat's end).
    """
    spans: list[Span] = []
    requests: list[float] = []
    queued: tuple[str, float] | None = None
    connected: dict[int, float] = {}
    last = end_of_run

    def agent_row(agent: int) -> tuple[str, str]:
        group, member = agent_names.get(agent, ("agent", agent))
        return f"{group} #{member + 1}", group

    for time, event, agent, directory in events[["time", "event", "agent", "directory"]].itertuples(
        index=False
    ):
        event = str(event)
        if event == "queue":
            queued = (str(directory), float(time))
        elif event in ("connect", "abandon", "end") and queued is not None:
            spans.append(Span(f"queue: {queued[0]}", queued[1], float(time), "queue"))
            queued = None
        if event == "connect":
            connected[int(agent)] = float(time)
        elif event == "leave" and int(agent) in connected:
            row, group = agent_row(int(agent))
            spans.append(Span(row, connected.pop(int(agent)), float(time), "agent", group))
        elif event == "transfer":
            requests.append(float(time))
        if event in ("end", "abandon"):
            last = float(time)
    if queued is not None:
        spans.append(Span(f"queue: {queued[0]}", queued[1], last, "queue"))
    for agent, since in connected.items():
        row, group = agent_row(agent)
        spans.append(Span(row, since, last, "agent", group))
    return spans, requests


def _uncovered(spans: Sequence[Span], start: float, end: float) -> list[tuple[float, float]]:
    """Stretches of ``[start, end]`` where no agent is connected."""
    agents = sorted((s.start, s.end) for s in spans if s.kind == "agent")
    holes: list[tuple[float, float]] = []
    cursor = start
    for lo, hi in agents:
        if lo > cursor:
            holes.append((cursor, lo))
        cursor = max(cursor, hi)
    if end > cursor:
        holes.append((cursor, end))
    return holes


def pick_transfer_chats(
    results: Results, count: int = 4, replication: int | None = None
) -> list[tuple[int, int]]:
    """``(replication, chat)`` of measured chats with a connected transfer, taking the
    transfer kinds in turn and, within a kind, the chats whose handoff shows most (the
    longest transfer wait plus gap plus overlap)."""
    legs = _measured_legs(results)
    legs = legs[legs["outcome"].astype(str) == "connected"]
    if replication is not None:
        legs = legs[legs["replication"] == replication]
    if legs.empty:
        return []
    shows = legs["transfer_wait"].fillna(0) + legs["handoff_gap"].fillna(0)
    legs = legs.assign(shows=shows + legs["overlap"].fillna(0))
    legs = legs.sort_values("shows", ascending=False, kind="stable")
    queues = [
        [(int(r), int(c)) for r, c in rows[["replication", "chat"]].itertuples(index=False)]
        for kind in KIND_LABELS
        if len(rows := legs[legs["kind"].astype(str) == kind])
    ]
    chosen: list[tuple[int, int]] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            while queue and queue[0] in chosen:
                queue.pop(0)
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def chat_timeline(
    results: Results,
    chats: Sequence[int | tuple[int, int]] | None = None,
    count: int = 4,
    replication: int | None = None,
) -> Figure:
    """Who was connected to a few chats, and when: one panel per chat, one bar per stay
    in a queue and per participant, so overlaps (warm handoffs, conferences) and gaps
    (nobody connected, shaded red) show how each transfer happened.

    ``chats`` are chat ids (of ``replication``, default 0) or ``(replication, chat)``
    pairs; by default up to ``count`` chats with a transfer (see
    :func:`pick_transfer_chats`). Needs the event log.
    """
    events = results.events
    if chats is None:
        keys = pick_transfer_chats(results, count, replication)
    else:
        keys = [c if isinstance(c, tuple) else (replication or 0, int(c)) for c in chats]
    if events.empty or not keys:
        fig, ax = _axes(None, (9, 2.5))
        _note(ax, "no event log" if events.empty else "no chat with a transfer to show")
        ax.set_axis_off()
        ax.set_title("Chat timelines")
        return fig
    agents = results.agents.drop_duplicates(["replication", "agent"])
    names = {
        (int(r), int(a)): (str(g), int(m))
        for r, a, g, m in agents[["replication", "agent", "group", "member"]].itertuples(
            index=False
        )
    }
    legs = results.transfers
    panels = []
    for rep, chat in keys:
        mine = events[(events["replication"] == rep) & (events["chat"] == chat)]
        agent_names = {a: n for (r, a), n in names.items() if r == rep}
        spans, requests = chat_spans(mine, agent_names, results.scenario.duration)
        chat_legs = legs[(legs["replication"] == rep) & (legs["chat"] == chat)]
        panels.append((rep, chat, mine, spans, requests, chat_legs))
    heights = [max(2, len({s.row for s in p[3]})) * 0.45 + 1.1 for p in panels]
    fig = ChartFigure(figsize=(10, sum(heights) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    groups = list(results.scenario.agents)
    gaps = False
    for ax, (rep, chat, mine, spans, requests, chat_legs) in zip(axes[:, 0], panels, strict=True):
        gaps |= _draw_timeline(
            ax, rep, chat, mine, spans, requests, chat_legs, groups, results.scenario
        )
    axes[-1, 0].set_xlabel("minutes since the chat arrived")
    handles = [Patch(facecolor=QUEUE_COLOR, hatch="//", label="waiting in a queue")]
    handles += [Patch(color=color(i), label=g) for i, g in enumerate(groups)]
    if gaps:
        handles += [Patch(color=GAP_COLOR, alpha=0.18, label="gap (nobody connected)")]
    handles += [_line_handle(":", "transfer requested")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize="small")
    fig.suptitle("Chat timelines: who was connected when", fontsize="large")
    return fig


def _draw_timeline(
    ax: Axes,
    rep: int,
    chat: int,
    events: pd.DataFrame,
    spans: list[Span],
    requests: list[float],
    legs: pd.DataFrame,
    groups: list[str],
    scenario: Any = None,
) -> bool:
    """Draw one chat's panel; True if it shows a gap. The arrival is told in the
    scenario's clock (``start``), with the day when the run passes midnight."""
    if not spans:
        _note(ax, f"chat {chat}: no events")
        return False
    origin = float(events["time"].min())
    finish = max(s.end for s in spans)
    rows = list(dict.fromkeys(s.row for s in sorted(spans, key=lambda s: s.start)))
    y_of = {row: len(rows) - 1 - i for i, row in enumerate(rows)}
    for span in spans:
        left, width = (span.start - origin) / 60, (span.end - span.start) / 60
        if span.kind == "queue":
            style = {"facecolor": QUEUE_COLOR, "hatch": "//", "edgecolor": "white"}
        else:
            index = groups.index(span.group) if span.group in groups else len(groups)
            style = {"facecolor": color(index)}
        ax.broken_barh([(left, max(width, 1e-3))], (y_of[span.row] - 0.35, 0.7), **style)
    first_connect = min((s.start for s in spans if s.kind == "agent"), default=None)
    holes = _uncovered(spans, first_connect, finish) if first_connect is not None else []
    if holes:
        for lo, hi in holes:
            ax.axvspan((lo - origin) / 60, (hi - origin) / 60, color=GAP_COLOR, alpha=0.18)
            ax.annotate(
                f"gap {hi - lo:.0f} s",
                ((hi - origin) / 60, len(rows) - 0.5),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize="small",
                color=GAP_COLOR,
                va="top",
            )
    for when in requests:
        ax.axvline((when - origin) / 60, color="#333333", linestyle=":", linewidth=1.4)
    ax.set_yticks(range(len(rows)), rows[::-1])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(-0.02 * (finish - origin) / 60, (finish - origin) / 60 * 1.02)
    ax.grid(axis="x", alpha=0.3)
    kinds = ", ".join(dict.fromkeys(KIND_LABELS.get(str(k), str(k)) for k in legs["kind"]))
    directory = str(events["directory"].iloc[0]) if len(events) else ""
    ax.set_title(
        f"chat {chat} (replication {rep}), arrived at {directory} at "
        f"{_clock(origin, scenario)}: "
        f"{kinds or 'no transfer'}",
        fontsize="medium",
        loc="left",
    )
    return bool(holes)


def _clock(seconds: float, scenario: Any = None) -> str:
    """Run time as the clock of ``scenario`` (``08:15:30``; ``day 2 08:15:30``)."""
    from ccsim.scenario.clock import DAY_S, format_clock, spans_days

    start = getattr(scenario, "start", None) or 0.0
    duration = getattr(scenario, "duration", 0.0)
    moment = start + seconds
    text = format_clock(moment)
    text = text if text.count(":") == 2 else f"{text}:00"
    if spans_days(start, duration):
        return f"day {int(round(moment) // DAY_S) + 1} {text}"
    return text


# --------------------------------------------------------------------------- sweeps


CURVE_MARKERS = ("o", "s", "^", "D", "v")
CURVE_STYLES = ("-", "--", "-.", ":")

#: Columns of a sweep file that describe the run, not a swept parameter.
SWEEP_RUN_COLUMNS = ("seed", "replications", "confidence", "scenario_sha")


def sweep_metrics(frame: pd.DataFrame) -> list[str]:
    """Metric columns of a sweep table: each ``NAME`` with ``NAME_ci_low`` and
    ``NAME_ci_high`` beside it."""
    return [c for c in frame.columns if f"{c}_ci_low" in frame.columns and f"{c}_ci_high" in frame]


def sweep_parameters(frame: pd.DataFrame) -> list[str]:
    """The swept columns: everything but metrics, interval bounds and the run columns
    a sweep file carries (seed, replications, scenario digest)."""
    metrics = sweep_metrics(frame)
    bounds = {f"{m}_ci_{side}" for m in metrics for side in ("low", "high")}
    skip = bounds | set(metrics) | set(SWEEP_RUN_COLUMNS)
    return [c for c in frame.columns if c not in skip]


def sweep_curve(
    frame: pd.DataFrame | str,
    metric: str,
    parameter: str | None = None,
    by: str | None = None,
    target: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A metric against a swept parameter, with its 95% confidence band and an optional
    target line (in the metric's own units: a ratio as 0.8, a time in seconds).

    ``frame`` is a sweep table (or a CSV path): the swept parameter columns, then per
    metric ``NAME``, ``NAME_ci_low``, ``NAME_ci_high``. ``parameter`` is the x axis
    (default: the first swept column); ``by`` draws one curve per value of another
    column (default: the second swept column, if any).
    """
    if isinstance(frame, str):
        frame = pd.read_csv(frame, comment="#")
    if metric not in frame.columns:
        raise KeyError(f"no metric {metric!r} in the sweep; it has {sweep_metrics(frame)}")
    parameters = sweep_parameters(frame)
    parameter = parameter or (parameters[0] if parameters else None)
    if parameter is None:
        raise ValueError("the sweep table has no parameter column")
    if by is None:
        others = [p for p in parameters if p != parameter and frame[p].nunique() > 1]
        by = others[0] if others else None
    factor, _ = metric_scale(metric)
    fig, ax = _axes(ax, (8, 4.5))
    curves = [(None, frame)] if by is None else list(frame.groupby(by, sort=False))
    for index, (value, rows) in enumerate(curves):
        rows = rows.sort_values(parameter)
        x = rows[parameter].to_numpy()
        label = metric_label(metric).split(" (")[0] if value is None else f"{by} = {value}"
        # Curves may coincide (same random numbers): vary marker, size and dash so that
        # each stays visible on top of the others.
        ax.plot(
            x,
            rows[metric] * factor,
            marker=CURVE_MARKERS[index % len(CURVE_MARKERS)],
            markersize=max(7 - 1.5 * index, 3),
            linestyle=CURVE_STYLES[index % len(CURVE_STYLES)],
            color=color(index),
            label=label,
            linewidth=1.8,
        )
        low, high = rows[f"{metric}_ci_low"], rows[f"{metric}_ci_high"]
        if low.notna().any():
            ax.fill_between(
                x, low * factor, high * factor, color=color(index), alpha=0.2, linewidth=0
            )
    if target is not None:
        ax.axhline(target * factor, color="#333333", linestyle="--", linewidth=1.2, gid="target")
        ax.annotate(
            f"target {_shown(metric, target)}",
            (1.0, target * factor),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize="small",
        )
    ax.set_xlabel(parameter)
    ax.set_ylabel(metric_label(metric))
    if np.issubdtype(frame[parameter].dtype, np.integer):
        ax.set_xticks(sorted(frame[parameter].unique()))
    ax.set_title(title or f"{metric_label(metric).split(' (')[0]} against {parameter}")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(color="#999999", alpha=0.3))
    labels.append("95% confidence band")
    ax.legend(handles, labels, fontsize="small", loc="best")
    return fig


def _shown(metric: str, value: float) -> str:
    factor, unit = metric_scale(metric)
    if unit == "%":
        return f"{value * factor:g}%"
    return f"{value * factor:g} {unit}".strip()


# --------------------------------------------------------------------------- all at once


@dataclass(frozen=True)
class Chart:
    """One standard chart: a file-name stem, a title, and the figure or why it is
    missing."""

    name: str
    title: str
    figure: Figure | None
    note: str = ""


def standard_charts(
    results: Results, freq: str | float = "15m", confidence: float = 0.95
) -> list[Chart]:
    """Every chart that fits these results (for the report and ``--figures``); a chart
    that needs tables the results lack comes back with a note instead."""
    charts: list[Chart] = [
        Chart("utilization", "Agent groups", utilization(results, confidence=confidence))
    ]
    try:
        has_events = not results.events.empty
    except LookupError:
        has_events = False
    builders = (
        ("wait_cdf", "Time to answer", lambda: wait_cdf(results)),
        (
            "queue_staffing",
            "Queue and staffing over the day",
            lambda: queue_and_staffing(results, freq),
        ),
        ("handoff_gaps", "Handoff gaps", lambda: handoff_gaps(results)),
        ("chat_timeline", "A few chats with a transfer", lambda: chat_timeline(results)),
    )
    for name, title, build in builders:
        if name == "chat_timeline" and not has_events:
            note = "not drawn: these results have no event log (ccsim run --events)"
            charts.append(Chart(name, title, None, note))
            continue
        try:
            charts.append(Chart(name, title, build()))
        except LookupError as error:
            message = error.args[0] if error.args else str(error)
            charts.append(Chart(name, title, None, f"not drawn: {message}"))
    return charts


__all__ = [
    "Chart",
    "ChartFigure",
    "chat_spans",
    "chat_timeline",
    "handoff_gaps",
    "metric_label",
    "pick_transfer_chats",
    "queue_and_staffing",
    "standard_charts",
    "sweep_curve",
    "utilization",
    "wait_cdf",
]
