"""A self-contained HTML page of a run, for planners to share: one file, no links out.

The page holds the scenario (key facts and the full resolved YAML), every metric with
its 95% confidence interval (overall, per directory, per agent group) and the standard
charts of :mod:`ccsim.plots` as embedded base64 PNG images. It is built from
:class:`ccsim.api.Results`, so ``ccsim run --report`` and ``ccsim report OUTDIR`` (from
saved results) give the same page.

:func:`summary_html` is the table part alone, used by ``Results._repr_html_`` in Jupyter.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from ccsim import results
from ccsim.results import OUTCOMES_NOTE, Estimate
from ccsim.safe_write import REPORT, html_document_head, write_file
from ccsim.scenario.clock import format_clock
from ccsim.scenario.schema import ToDirectory
from ccsim.scenario.units import compact_duration

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ccsim.api import Results
    from ccsim.scenario import Scenario

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.lead { color: #555; margin-top: 0; }
table.ccsim { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
table.ccsim th, table.ccsim td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4;
       text-align: right; vertical-align: top; }
table.ccsim th:first-child, table.ccsim td:first-child { text-align: left; }
table.ccsim th { background: #f4f4f4; }
table.text th, table.text td { text-align: left; }
.ci { color: #777; font-size: 0.85em; white-space: nowrap; }
.note { color: #777; font-style: italic; }
.miss { color: #b00020; font-weight: 600; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr));
        gap: 0 1.5em; }
figcaption { color: #555; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""

DIRECTORY_METRICS_SHOWN = (
    "offered",
    "answered",
    "abandoned",
    "abandon_rate",
    "completed",
    "abandoned_initial",
    "abandoned_in_transfer",
    "open_at_end",
    "balked",  # these four only with balk or retry
    "retrials",
    "abandon_rate_first_attempt",
    "abandon_rate_all_attempts",
    "service_level",
    "wait_mean",
    "wait_p90",
    "transfers",
    "transfer_rate",
    "transfer_wait_mean",
    "handoff_gap_mean",
    "handoff_gap_p90",
    "conference_overlap_mean",
    "session_time_mean",
)
QUEUE_METRICS_SHOWN = (*results.QUEUE_METRICS, "served_by_overflow")  # the last with overflow

CHART_CAPTIONS = {
    "utilization": "Utilization: held slot time over staffed slot time; occupancy: time "
    "holding at least one chat over staffed time. Error bars are 95% confidence intervals "
    "over replications.",
    "wait_cdf": "Share of offered chats (measured, pooled over replications) answered "
    "within a given time; abandoned chats never are. The dot on each dashed threshold "
    "line is the service level.",
    "queue_staffing": "Per interval, averaged over replications: chats waiting in each "
    "directory's queue (time average), and staffed vs busy chat slots per agent group. "
    "The warm-up is shaded.",
    "handoff_gaps": "Handoff gap: time within a transfer when nobody is connected to the "
    "customer. Left: how often a leg had one; right: how long it was.",
    "chat_timeline": "A few chats with a transfer, from the event log: each bar is a stay "
    "in a queue or a participant's connection; red shading marks stretches with nobody "
    "connected after the first answer.",
}


# --------------------------------------------------------------------------- values


def _page_head(title: str) -> str:
    """The start of a self-contained page: no external stylesheet, font or script."""
    return f"""{html_document_head()}<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
"""


def format_metric(metric: str, value: float | None) -> str:
    """A metric as the page shows it: long times in minutes, a dash when undefined."""
    return results.format_metric(metric, value, minutes=True, missing="–")


def format_interval(metric: str, estimate: Estimate) -> str:
    return results.format_interval(metric, estimate, minutes=True, missing="–")


def estimate_texts(metric: str, estimate: Estimate) -> tuple[str, str]:
    """The mean and its interval in one unit: a time shown in minutes when any of the
    three reaches ten minutes, so a cell never reads "9.8 s [8.1 s, 10.5 min]"."""
    if metric not in results.TIME_METRICS:
        return format_metric(metric, estimate.mean), format_interval(metric, estimate)
    values = [v for v in (estimate.mean, estimate.ci_low, estimate.ci_high) if v == v]
    in_minutes = bool(values) and max(abs(v) for v in values) >= 600

    def shown(value: float) -> str:
        if value != value:  # NaN
            return "–"
        return f"{value / 60:.1f} min" if in_minutes else f"{value:.1f} s"

    interval = (
        ""
        if estimate.ci_low != estimate.ci_low
        else (f"[{shown(estimate.ci_low)}, {shown(estimate.ci_high)}]")
    )
    return shown(estimate.mean), interval


def _cell(metric: str, estimate: Estimate | None) -> str:
    if estimate is None:
        return "<td>–</td>"
    mean, interval = estimate_texts(metric, estimate)
    below = f'<br><span class="ci">{escape(interval)}</span>' if interval else ""
    return f"<td>{escape(mean)}{below}</td>"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]], kind: str = "ccsim") -> str:
    """A table; ``kind="ccsim text"`` left-aligns every column (for words, not numbers)."""
    header = list(header)
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    thead = f"<thead><tr>{head}</tr></thead>" if any(header) else ""
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f'<table class="{kind}">{thead}<tbody>{body}</tbody></table>'


def _td(text: object) -> str:
    return f"<td>{escape(str(text))}</td>"


# --------------------------------------------------------------------------- summary tables


def _by_name_table(
    label: str, scopes: Mapping[str, Mapping[str, Estimate]], metrics: Iterable[str]
) -> str:
    """Metrics as rows, one column per directory or group: wide enough to compare."""
    names = list(scopes)
    rows = []
    for metric in metrics:
        if not any(metric in scopes[n] for n in names):
            continue
        rows.append([_td(metric), *(_cell(metric, scopes[n].get(metric)) for n in names)])
    return _table([label, *names], rows)


def summary_html(results: Results, heading_level: int = 3, confidence: float = 0.95) -> str:
    """Overall, per-directory and per-group tables, each value with its interval at
    ``confidence`` (95% by default)."""
    from ccsim.confidence import results_summary

    summary = results_summary(results, confidence)
    h = f"h{heading_level}"
    overall = _table(
        ["metric", "mean", f"{100 * confidence:g}% CI"],
        (
            [
                _td(metric),
                _td(estimate_texts(metric, e)[0]),
                f'<td class="ci">{escape(estimate_texts(metric, e)[1])}</td>',
            ]
            for metric, e in summary.overall.items()
        ),
    )
    parts = [f"<{h}>Overall</{h}>", overall]
    if "completed" in summary.overall:
        parts.append(f'<p class="note">{escape(OUTCOMES_NOTE)}</p>')
    if summary.directories:
        parts += [
            f"<{h}>Per directory (chats by where they arrived, transfers by where they "
            f"were requested)</{h}>",
            _by_name_table("metric", summary.directories, DIRECTORY_METRICS_SHOWN),
        ]
        if any(QUEUE_METRICS_SHOWN[0] in m for m in summary.directories.values()):
            parts += [
                f"<{h}>Per directory queue (every stay queued there, including chats "
                f"transferred in)</{h}>",
                _by_name_table("metric", summary.directories, QUEUE_METRICS_SHOWN),
            ]
    if summary.groups:
        parts += [
            f"<{h}>Per agent group</{h}>",
            _by_name_table("metric", summary.groups, ("utilization", "occupancy")),
        ]
    if results.replications == 1:
        parts.append('<p class="note">One replication: no confidence intervals.</p>')
    return "\n".join(parts)


# --------------------------------------------------------------------------- needs attention

#: Without an ``expect:`` target of its own, a directory's service level is judged
#: against the usual 80% and its abandonment against 5%; a group above 85% utilization
#: has little slack for peaks.
USUAL_SERVICE_LEVEL = 0.80
HIGH_ABANDONMENT = 0.05
BUSY_UTILIZATION = 0.85


@dataclass(frozen=True)
class Attention:
    """One line of the report's "needs attention" summary: what it is about, what is
    wrong (or, for the busiest group, how busy), and whether it is a miss."""

    subject: str
    text: str
    miss: bool


def _value(metric: str, estimate: Estimate) -> str:
    mean, interval = estimate_texts(metric, estimate)
    return f"{mean} {interval}" if interval else mean


def attention(results: Results, confidence: float = 0.95) -> list[Attention]:
    """What a planner should look at first: the scenario's ``expect:`` targets that fail
    (on the mean), directories under the usual service level or over the usual
    abandonment that have no target of their own, queues that grew without bound, and
    the busiest agent group (always listed; a miss when above ``BUSY_UTILIZATION``)."""
    from ccsim.confidence import results_summary
    from ccsim.scenario.warnings import results_warnings

    summary = results_summary(results, confidence)
    scenario = results.scenario
    items: list[Attention] = []
    targeted: set[str] = set()
    if scenario.expect:
        from ccsim.expect import evaluate_all, parse_expectation

        expectations = [parse_expectation(text) for text in scenario.expect]
        targeted = {e.path for e in expectations}
        for verdict in evaluate_all(summary, expectations, level=confidence):
            if not verdict.holds:
                items.append(
                    Attention(f"expect: {verdict.expectation.text}", verdict.value_text, True)
                )
    for name, metrics in summary.directories.items():
        level = metrics.get("service_level")
        path = f"directories.{name}.service_level"
        if level is not None and path not in targeted and level.mean < USUAL_SERVICE_LEVEL:
            threshold = compact_duration(scenario.directories[name].service_level)
            items.append(
                Attention(
                    f"directory {name}",
                    f"service level {_value('service_level', level)} (answered within "
                    f"{threshold}), under the usual {USUAL_SERVICE_LEVEL:.0%} (no expect: "
                    "target of its own)",
                    True,
                )
            )
        abandoned = metrics.get("abandon_rate")
        path = f"directories.{name}.abandon_rate"
        if abandoned is not None and path not in targeted and abandoned.mean > HIGH_ABANDONMENT:
            items.append(
                Attention(
                    f"directory {name}",
                    f"{_value('abandon_rate', abandoned)} of its chats abandoned, over "
                    f"{HIGH_ABANDONMENT:.0%}",
                    True,
                )
            )
    for warning in results_warnings(results):
        items.append(Attention(warning.path or "run", warning.message, True))
    busy = {
        name: metrics["utilization"]
        for name, metrics in summary.groups.items()
        if "utilization" in metrics and metrics["utilization"].mean == metrics["utilization"].mean
    }
    if busy:
        name = max(busy, key=lambda group: busy[group].mean)
        text = f"the busiest: utilization {_value('utilization', busy[name])}"
        occupancy = summary.groups[name].get("occupancy")
        if occupancy is not None and occupancy.mean == occupancy.mean:
            text += f", occupancy {_value('occupancy', occupancy)}"
        over = busy[name].mean > BUSY_UTILIZATION
        if over:
            text += f"; over {BUSY_UTILIZATION:.0%}, little slack for peaks"
        items.append(Attention(f"agent group {name}", text, over))
    return items


MISS_CLASS = ' class="miss"'


def attention_html(results: Results, confidence: float = 0.95) -> str:
    """The "needs attention" section: misses first (in red), then the busiest group."""
    items = attention(results, confidence)
    misses = sorted(items, key=lambda item: not item.miss)
    lines = "".join(
        f"<li{MISS_CLASS if item.miss else ''}><b>{escape(item.subject)}</b>: "
        f"{escape(item.text)}</li>"
        for item in misses
    )
    lead = (
        "Judged on the means; intervals in brackets."
        if any(item.miss for item in items)
        else "No target missed, no directory under the usual service level or over the "
        "usual abandonment."
    )
    return (
        f'<h2 id="attention">Needs attention</h2>\n<p class="note">{escape(lead)}</p>'
        f'<ul class="attention">{lines}</ul>'
    )


def interval_table_html(results: Results, freq: str | float = "15m") -> str:
    """Per interval, in clock times: each directory's service level, mean wait and
    abandonment of the chats that arrived then (:mod:`ccsim.timeseries`), intervals with
    no arrival left out; folded, as it can be long. Empty without the chats table."""
    from ccsim.timeseries import interval_labels, timeseries

    try:
        series = timeseries(results, freq)
    except LookupError:
        return ""
    labels = interval_labels(series)
    directories = list(results.scenario.directories)
    shown = (
        ("service_level", "service level"),
        ("wait_mean", "mean wait"),
        ("abandon_rate", "abandoned"),
    )
    header = ["interval"] + [f"{name}: {title}" for name in directories for _, title in shown]
    arrivals = series["arrivals"].sum(axis=1).to_numpy()
    rows = []
    for k, label in enumerate(labels):
        if arrivals[k] <= 0:
            continue
        cells = [_td(label)]
        for name in directories:
            for metric, _ in shown:
                cells.append(_td(format_metric(metric, float(series[metric][name].iloc[k]))))
        rows.append(cells)
    if not rows:
        return ""
    return (
        "<details><summary>Per interval (clock time): service level, mean wait of the "
        "answered and abandonment of the chats that arrived in each interval, pooled over "
        f"replications; {len(rows)} intervals with arrivals</summary>"
        f"{_table(header, rows)}</details>"
    )


def repr_html(results: Results) -> str:
    """What a notebook shows for a Results object: the headline and the tables."""
    scenario = results.scenario
    plural = "s" if results.replications != 1 else ""
    head = (
        f"<p><b>ccsim results</b>: {escape(scenario.name)}, {results.replications} "
        f"replication{plural}, seed {results.seed}, {compact_duration(scenario.duration)} "
        f"simulated (warm-up {compact_duration(scenario.warmup)}), "
        f"run in {results.runtime_s:.1f} s</p>"
    )
    return f"<div>{head}{summary_html(results, heading_level=4)}</div>"


# --------------------------------------------------------------------------- scenario


def _arrivals(scenario: Scenario, name: str) -> str:
    arrivals = scenario.directories[name].arrivals
    if arrivals is None:
        return "transfers only"
    daily = " a day" if scenario.days else ""
    if arrivals.exact:
        return f"{len(arrivals.times)} chats at given instants{daily}"
    pieces = arrivals.schedule
    if len(pieces) == 1:
        return f"{pieces[0].rate * 3600:g}/h"
    return ", ".join(f"{p.rate * 3600:g}/h from {_clock(p.start, scenario)}" for p in pieces)


def _clock(seconds: float, scenario: Scenario) -> str:
    """Run time as the scenario's clock: ``08:30`` (the daily pattern of ``days`` is
    told without a day number; a single run past midnight has one)."""
    from ccsim.scenario.clock import clock_at, spans_days

    with_day = not scenario.days and spans_days(scenario.start, scenario.duration)
    return clock_at(seconds, scenario.start, with_day)


def _staffing(group: Any, scenario: Scenario) -> str:
    if group.shifts is not None:
        return ", ".join(
            f"{s.count} ({_clock(s.start, scenario)}–{_clock(s.end, scenario)})"
            for s in group.shifts
        )
    return str(group.count)


def _leave(transfer: Any) -> str:
    if transfer.kind == "conference":
        return "inviter keeps the chat"
    if transfer.leave == "on_connect":
        return "warm (inviter leaves once connected)"
    if transfer.leave == "immediately":
        return "cold (inviter leaves at once)"
    return f"cold (inviter leaves after {compact_duration(transfer.leave.after)})"


def _duration_text(scenario: Scenario) -> str:
    if scenario.days:
        plural = "s" if scenario.days != 1 else ""
        return f"{scenario.days} day{plural}, the daily pattern below repeated each day"
    return compact_duration(scenario.duration)


def scenario_html(scenario: Scenario) -> str:
    """Key facts of the scenario as tables, then the full resolved YAML."""
    facts = _table(
        ["", ""],
        [
            [_td("duration"), _td(_duration_text(scenario))],
            [_td("starts at"), _td(format_clock(scenario.start or 0.0))],
            [_td("warm-up (not measured)"), _td(compact_duration(scenario.warmup))],
            [_td("directories"), _td(len(scenario.directories))],
            [_td("agent groups"), _td(len(scenario.agents))],
            [_td("transfer and conference rules"), _td(len(scenario.transfers))],
        ],
    )
    directories = _table(
        ["directory", "arrivals", "mean handle time", "service-level threshold", "routing"],
        (
            [
                _td(name),
                _td(_arrivals(scenario, name)),
                _td(compact_duration(d.handle_time.mean)),
                _td(compact_duration(d.service_level)),
                _td(d.routing),
            ]
            for name, d in scenario.directories.items()
        ),
        kind="ccsim text",
    )
    groups = _table(
        ["agent group", "agents", "max chats", "directories"],
        (
            [
                _td(name),
                _td(_staffing(g, scenario)),
                _td(g.max_chats),
                _td(", ".join(g.directories) or "–"),
            ]
            for name, g in scenario.agents.items()
        ),
        kind="ccsim text",
    )
    parts = [facts, directories, groups]
    if scenario.transfers:
        parts.append(
            _table(
                ["from", "to", "kind", "probability", "handoff"],
                (
                    [
                        _td(t.source_label),
                        _td(
                            f"directory {t.to.directory}"
                            if isinstance(t.to, ToDirectory)
                            else f"group {t.to.group}"
                        ),
                        _td(t.kind),
                        _td(f"{100 * t.probability:g}%"),
                        _td(_leave(t)),
                    ]
                    for t in scenario.transfers
                ),
                kind="ccsim text",
            )
        )
    dumped = yaml.safe_dump(
        scenario.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True
    )
    parts.append(
        "<details><summary>Full resolved scenario (YAML; durations in seconds, rates per "
        f"second)</summary><pre>{escape(dumped)}</pre></details>"
    )
    return "\n".join(parts)


# --------------------------------------------------------------------------- page


def figure_png(figure: Figure, dpi: int = 100) -> str:
    """The figure as a ``data:`` URI of a PNG, to embed in an ``<img>``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def report_html(
    results: Results,
    freq: str | float = "15m",
    title: str | None = None,
    confidence: float = 0.95,
) -> str:
    """The whole page as one string (see module doc); intervals at ``confidence``."""
    from ccsim.plots import standard_charts

    scenario = results.scenario
    title = title or f"ccsim report: {scenario.name}"
    plural = "s" if results.replications != 1 else ""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lead = (
        f"{results.replications} replication{plural}, seed {results.seed}, ccsim "
        f"{results.version}, simulation took {results.runtime_s:.1f} s; page made {made}."
    )
    charts = []
    level = f"{100 * confidence:g}%"
    for chart in standard_charts(results, freq, confidence=confidence):
        caption = escape(CHART_CAPTIONS.get(chart.name, "").replace("95%", level))
        if chart.figure is None:
            charts.append(f"<h3>{escape(chart.title)}</h3><p class='note'>{escape(chart.note)}</p>")
            continue
        charts.append(
            f'<figure id="{chart.name}"><h3>{escape(chart.title)}</h3>'
            f'<img alt="{escape(chart.title)}" src="{figure_png(chart.figure)}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    description = (
        f'<p class="lead">{escape(scenario.description.strip())}</p>'
        if scenario.description.strip()
        else ""
    )
    return f"""{_page_head(title)}{description}
<p class="lead">{escape(lead)}</p>
{attention_html(results, confidence)}
<h2>Results</h2>
<p>Means over replications with {level} confidence intervals (Student t); chats arriving in
the warm-up are not measured.</p>
{summary_html(results, confidence=confidence)}
{interval_table_html(results, freq)}
<h2>Charts</h2>
{"".join(charts)}
<h2>Scenario</h2>
{scenario_html(scenario)}
</body>
</html>
"""


def _write_atomic(path: Path, text: str) -> Path:
    """Write the page whole; only a new file or a page ccsim wrote is replaced (else
    :class:`ccsim.safe_write.OutputRefused`)."""
    return write_file(path, text, REPORT)


def write_report(
    results: Results,
    path: str | Path,
    freq: str | float = "15m",
    title: str | None = None,
    confidence: float = 0.95,
) -> Path:
    """Write the HTML report of ``results`` to ``path`` (folders are created), intervals
    at ``confidence``; an existing file is replaced only if ccsim wrote it."""
    return _write_atomic(
        Path(path), report_html(results, freq=freq, title=title, confidence=confidence)
    )


# --------------------------------------------------------------------------- sweeps

DEFAULT_SWEEP_METRICS = (
    "service_level",
    "abandon_rate",
    "wait_p90",
    "transfer_wait_mean",
    "handoff_gap_mean",
    "utilization",
)


def default_sweep_metrics(frame: pd.DataFrame) -> list[str]:
    """The curves of a sweep page by default: the usual overall metrics, then each
    directory's service level (when the table has them: a shared group can lift the
    overall one while a directory misses its target)."""
    from ccsim.plots import sweep_metrics

    available = sweep_metrics(frame)
    overall = [m for m in DEFAULT_SWEEP_METRICS if m in available]
    per_directory = [
        m for m in available if m.startswith("directories.") and m.endswith(".service_level")
    ]
    return overall + (per_directory if len(per_directory) > 1 else [])


def sweep_charts(
    frame: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    targets: Mapping[str, float] | None = None,
) -> list[tuple[str, Figure]]:
    """One sweep curve per metric (default: :func:`default_sweep_metrics`), with its
    target line if ``targets`` names one; a metric with a target is drawn even if not
    asked for. Metrics are paths (``directories.sales.service_level``)."""
    from ccsim.plots import sweep_curve, sweep_metrics

    available = sweep_metrics(frame)
    targets = targets or {}
    chosen = list(metrics) if metrics else default_sweep_metrics(frame)
    chosen += [m for m in targets if m not in chosen]
    missing = [m for m in chosen if m not in available]
    if missing:
        have = ", ".join(available)
        raise KeyError(f"no metric {', '.join(missing)} in the sweep; it has {have}")
    return [(m, sweep_curve(frame, m, target=targets.get(m))) for m in chosen]


def sweep_report_html(
    frame: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    targets: Mapping[str, float] | None = None,
    title: str = "ccsim sweep",
    checks: Sequence[Any] = (),
) -> str:
    """A self-contained page of a sweep table: the targets met and missed, the curves,
    then the table itself. ``checks`` are :class:`ccsim.expect.Expectation` targets
    (``directories.fraud.service_level >= 80%``), judged on each point's mean: drawn as
    lines, listed with the points that meet them, and marked in the table where missed."""
    from ccsim.expect import COMPARISONS
    from ccsim.plots import sweep_parameters
    from ccsim.sweep import target_outcomes

    lines = {c.path: c.threshold for c in checks}
    lines.update(targets or {})
    charts = sweep_charts(frame, metrics, lines)
    parameters = sweep_parameters(frame)
    shown = [m for m, _ in charts]
    rows = []
    for record in frame.to_dict("records"):
        cells = [_td(record[p]) for p in parameters]
        for metric in shown:
            base = metric.rsplit(".", 1)[-1]
            estimate = Estimate(
                record[metric], record[f"{metric}_ci_low"], record[f"{metric}_ci_high"]
            )
            cell = _cell(base, estimate)
            misses = [
                c.text
                for c in checks
                if c.path == metric
                and estimate.mean == estimate.mean  # not NaN
                and not COMPARISONS[c.op](estimate.mean, c.threshold)
            ]
            if misses:
                mark = f'<br><span class="miss">misses {escape("; ".join(misses))}</span>'
                cell = cell.removesuffix("</td>") + mark + "</td>"
            cells.append(cell)
        rows.append(cells)
    figures = "".join(
        f'<figure id="{escape(m)}"><img alt="{escape(m)}" src="{figure_png(fig)}"></figure>'
        for m, fig in charts
    )
    runs = ""
    if {"seed", "replications"} <= set(frame.columns) and len(frame):
        runs = (
            f"{int(frame['replications'].iloc[0])} replications per point, seed "
            f"{int(frame['seed'].iloc[0])}, the same random numbers at every point; "
        )
    level = 0.95
    if "confidence" in frame.columns and len(frame):
        level = float(frame["confidence"].iloc[0])
    lead = f"{runs}{len(frame)} points over {', '.join(parameters) or 'no parameter'}."
    verdicts = ""
    if checks:
        items = "".join(
            f"<li>{escape(outcome.text)}</li>" for outcome in target_outcomes(frame, checks)
        )
        verdicts = f'<h2>Targets</h2>\n<p class="note">On each point\'s mean.</p><ul>{items}</ul>'
    return f"""{_page_head(title)}<p class="lead">{escape(lead)} Bands and intervals are \
{100 * level:g}% confidence intervals over replications.</p>
{verdicts}
<h2>Curves</h2>
<div class="grid">{figures}</div>
<h2>Table</h2>
{_table([*parameters, *shown], rows)}
</body>
</html>
"""


def write_sweep_report(
    frame: pd.DataFrame,
    path: str | Path,
    metrics: Sequence[str] | None = None,
    targets: Mapping[str, float] | None = None,
    title: str = "ccsim sweep",
    checks: Sequence[Any] = (),
) -> Path:
    """Write the HTML page of a sweep table (see :func:`sweep_report_html`)."""
    return _write_atomic(Path(path), sweep_report_html(frame, metrics, targets, title, checks))


__all__ = [
    "DEFAULT_SWEEP_METRICS",
    "Attention",
    "attention",
    "attention_html",
    "default_sweep_metrics",
    "format_metric",
    "interval_table_html",
    "report_html",
    "repr_html",
    "scenario_html",
    "summary_html",
    "sweep_charts",
    "sweep_report_html",
    "write_report",
    "write_sweep_report",
]
