"""The fit report of ``ccsim fit --report``: for each quantity, the data against the fitted
curve, and the numbers behind the choice (one self-contained HTML page, charts embedded).

Durations seen in full are drawn as a histogram (density) with every fitted family's
density, the chosen one in bold; censored ones (patience) as the Kaplan–Meier survival
curve with its 95% band against each fitted survival curve. Arrivals: each day's rate per
interval (dots), the fitted schedule and its Poisson 95% band; staffing: agents on duty
per interval (mean, and the range over days) against the fitted shifts.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ccsim import __version__
from ccsim.data.fit import DirectoryFit, GroupFit, LogFit, rounded_shifts
from ccsim.data.fit_dists import FAMILIES, DurationFit, kaplan_meier
from ccsim.plots import color
from ccsim.report import STYLE, figure_png
from ccsim.safe_write import html_document_head
from ccsim.scenario.clock import format_clock
from ccsim.scenario.units import format_duration


def _figure(width: float = 7.0, height: float = 3.4) -> tuple[Figure, Any]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


def _img(figure: Figure, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="{figure_png(figure)}">'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="ccsim"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _d(seconds: float) -> str:
    return format_duration(seconds) if math.isfinite(seconds) else "–"


def _clock_axis(ax: Any, fit: LogFit) -> None:
    ticks = ax.get_xticks()
    ax.set_xticks(ticks)
    ax.set_xticklabels([format_clock(fit.origin + t * 3600) for t in ticks])
    ax.set_xlim(0, fit.duration / 3600)


def _dist_note(fit: DurationFit) -> str:
    parts = [f"{fit.n} observed"]
    if fit.n_censored:
        parts.append(f"{fit.n_censored} censored")
    parts.append(f"chosen: {fit.chosen}")
    if math.isfinite(fit.mean):
        parts.append(f"mean {_d(fit.mean)} (95%: {_d(fit.mean_low)} to {_d(fit.mean_high)})")
    if fit.note:
        parts.append(fit.note)
    return "; ".join(parts)


def _families_table(fit: DurationFit) -> str:
    if not fit.fits:
        return ""
    best = min(f.aic for f in fit.fits)
    rows = []
    for family in fit.fits:
        gof = (
            f"KS D={family.ks_statistic:.3f}, p={family.ks_pvalue:.2g}"
            if math.isfinite(family.ks_pvalue)
            else f"largest gap to Kaplan–Meier {family.ks_statistic:.3f}"
        )
        rows.append(
            [
                family.family + (" (chosen)" if family.family == fit.chosen else ""),
                f"{family.aic - best:+.1f}",
                _d(family.mean),
                f"{family.cv:.3f}" if math.isfinite(family.cv) else "–",
                gof,
            ]
        )
    return _table(["family", "ΔAIC", "mean", "cv", "goodness of fit"], rows)


def duration_figure(fit: DurationFit, title: str) -> Figure | None:
    """Data against fitted curves (see the module doc); None without data."""
    obs, cens = fit.observed, fit.censored
    positive = obs[obs > 0]
    if positive.size == 0:
        return None
    figure, ax = _figure()
    scale, unit = (60.0, "min") if np.median(positive) >= 120 else (1.0, "s")
    top = float(np.quantile(np.concatenate([positive, cens]) if cens.size else positive, 0.995))
    grid = np.linspace(0, max(top, 1e-9), 400)
    # A few censored values (legs still open at the log's end) barely move the picture:
    # the histogram then shows the data best; many (patience) call for Kaplan–Meier.
    if cens.size > 0.05 * (positive.size + cens.size):
        km = kaplan_meier(positive, cens).sf
        ax.step(
            km.quantiles / scale,
            km.probabilities,
            where="post",
            color="black",
            label="Kaplan–Meier",
        )
        try:
            with warnings.catch_warnings():  # undefined where no chat is left at risk
                warnings.simplefilter("ignore", RuntimeWarning)
                band = km.confidence_interval(0.95)
            ax.fill_between(
                band.low.quantiles / scale,
                band.low.probabilities,
                band.high.probabilities,
                step="post",
                color="#999999",
                alpha=0.3,
                label="95% band",
            )
        except (ValueError, RuntimeError):
            pass
        for i, family in enumerate(fit.fits):
            from scipy import stats

            frozen = getattr(stats, FAMILIES[family.family])(*family.params)
            chosen = family.family == fit.chosen
            ax.plot(
                grid / scale,
                frozen.sf(grid),
                color=color(i),
                lw=2.4 if chosen else 1.2,
                ls="-" if chosen else "--",
                label=family.family + (" (chosen)" if chosen else ""),
            )
        ax.set_ylabel("share longer than x (survival)")
        ax.set_ylim(0, 1.02)
    else:
        ax.hist(
            positive / scale,
            bins=min(60, max(10, int(math.sqrt(positive.size)))),
            density=True,
            range=(0, top / scale),
            color="#cccccc",
            label=f"data (n={positive.size})",
        )
        for i, family in enumerate(fit.fits):
            from scipy import stats

            frozen = getattr(stats, FAMILIES[family.family])(*family.params)
            chosen = family.family == fit.chosen
            ax.plot(
                grid / scale,
                frozen.pdf(grid) * scale,
                color=color(i),
                lw=2.4 if chosen else 1.2,
                ls="-" if chosen else "--",
                label=family.family + (" (chosen)" if chosen else ""),
            )
        ax.set_ylabel("density")
    ax.set_xlim(0, top / scale)
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return figure


def _duration_section(title: str, fit: DurationFit) -> str:
    figure = duration_figure(fit, title)
    chart = _img(figure, title) if figure is not None else "<p class='note'>No data.</p>"
    caption = (
        "Kaplan–Meier survival of the data (black, 95% band) against each fitted survival curve."
        if fit.n_censored > 0.05 * (fit.n + fit.n_censored)
        else "Histogram of the values seen in full against each fitted density."
    )
    return (
        f"<h3>{escape(title)}</h3><p>{escape(_dist_note(fit))}</p>"
        f"<figure>{chart}<figcaption>{escape(caption)}</figcaption></figure>{_families_table(fit)}"
    )


def _arrivals_section(fit: LogFit, directory: DirectoryFit) -> str:
    arrivals = directory.arrivals
    if arrivals is None:
        return f"<p class='note'>{escape(directory.directory)} receives transfers only.</p>"
    figure, ax = _figure()
    hours = np.array(arrivals.starts) / 3600
    width = fit.interval / 3600
    per_hour = arrivals.daily_counts / fit.interval * 3600
    for row in per_hour:
        ax.plot(hours + width / 2, row, ".", color="#bbbbbb", ms=3)
    rates = np.array([r.value for r in arrivals.rates]) * 3600
    lows = np.array([r.low for r in arrivals.rates]) * 3600
    highs = np.array([r.high for r in arrivals.rates]) * 3600
    edges = np.append(hours, hours[-1] + width)
    ax.stairs(rates, edges, color="black", lw=2, label="fitted schedule (mean of days)")
    ax.fill_between(
        edges,
        np.append(lows, lows[-1]),
        np.append(highs, highs[-1]),
        step="post",
        color=color(0),
        alpha=0.25,
        label="95% interval (Poisson)",
    )
    for i, (name, values) in enumerate(arrivals.weekday_rates.items()):
        ax.stairs(
            np.array(values) * 3600,
            edges,
            color=color(i + 1),
            lw=0.8,
            ls="--",
            alpha=0.7,
            label=name,
        )
    ax.plot([], [], ".", color="#bbbbbb", label="each day")
    ax.set_ylabel("chats per hour")
    ax.set_xlabel("time of day")
    ax.set_ylim(bottom=0)
    _clock_axis(ax, fit)
    ax.legend(fontsize=7, ncols=2)
    ax.set_title(f"Arrivals: {directory.directory}", fontsize=10)
    text = ""
    if arrivals.weekday_rates:
        text = (
            "<p>Weekday profiles (dashed) from "
            f"{', '.join(f'{k} ({v} days)' for k, v in arrivals.weekday_days.items())}; "
            f"chi-square test that the weekdays share one level: p = {arrivals.weekday_pvalue:.3g}"
            f"{' (they differ: consider --weekday)' if arrivals.weekday_pvalue < 0.01 else ''}.</p>"
        )
    return f"<figure>{_img(figure, 'arrivals')}</figure>{text}"


def _staffing_section(fit: LogFit, group: GroupFit) -> str:
    figure = Figure(figsize=(9.5, 3.2), layout="constrained")
    ax, bx = figure.subplots(1, 2, width_ratios=[2, 1])
    hours = np.array(group.starts) / 3600
    width = fit.interval / 3600
    edges = np.append(hours, hours[-1] + width)
    ax.fill_between(
        edges,
        np.append(group.on_duty_low, group.on_duty_low[-1]),
        np.append(group.on_duty_high, group.on_duty_high[-1]),
        step="post",
        color=color(0),
        alpha=0.25,
        label="range over days",
    )
    ax.stairs(group.on_duty, edges, color=color(0), lw=1.2, label="mean on duty")
    counts = np.zeros(len(hours))
    for shift in rounded_shifts(group, fit.duration):
        counts[
            (np.array(group.starts) >= shift["from"]) & (np.array(group.starts) < shift["to"])
        ] = shift["count"]
    ax.stairs(counts, edges, color="black", lw=2, ls="--", label="fitted shifts")
    ax.set_ylim(0, max(max(group.on_duty_high), float(counts.max())) * 1.15 + 0.5)
    ax.set_ylabel("agents")
    _clock_axis(ax, fit)
    ax.legend(fontsize=7)
    ax.set_title(f"Staffing: {group.group} (from {group.source})", fontsize=10)
    peaks = group.concurrency_by_day.astype(int)
    values = np.arange(1, max(int(peaks.max()) if peaks.size else 1, 1) + 1)
    bx.bar(values, [(peaks == v).sum() for v in values], color=color(1))
    bx.set_xticks(values)
    bx.set_xlabel("most slots held at once")
    bx.set_ylabel("agent-days")
    bx.set_title(f"max_chats = {group.max_chats}", fontsize=10)
    slow = ""
    if group.slowdown is not None:
        slow = f"<p>Estimated slowdown: {', '.join(f'{f:g}' for f in group.slowdown)}.</p>"
    return (
        f"<h3>{escape(group.group)}</h3><p>Serves: "
        f"{escape(', '.join(group.directories) or 'invitations only')}; "
        f"max_chats {group.max_chats} (reached on {group.max_chats_share:.0%} of "
        f"{len(group.concurrency_by_day)} agent-days; the most seen is a lower bound of the "
        "real cap).</p>"
        f"<figure>{_img(figure, 'staffing')}</figure>{slow}"
    )


def _load_table(directory: DirectoryFit) -> str:
    if not directory.duration_by_load:
        return ""
    rows = [
        [str(k), _d(v.value), f"{_d(v.low)} to {_d(v.high)}", str(v.n)]
        for k, v in sorted(directory.duration_by_load.items())
    ]
    return (
        "<p>Mean length of legs completed without a request, by the chats the agent held when "
        "it connected (a flat row means chats do not slow each other down; otherwise fit with "
        "--slowdown):</p>" + _table(["chats held", "mean", "95% interval", "n"], rows)
    )


def fit_report_html(fit: LogFit, scenario_yaml: str, title: str) -> str:
    """The whole page (see the module doc)."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    days = len(fit.days)
    lead = (
        f"{days} day{'s' if days != 1 else ''} of {fit.source} ({fit.days[0].date()} to "
        f"{fit.days[-1].date()}{', ' + fit.weekday + 's only' if fit.weekday else ''}); "
        f"day from {format_clock(fit.origin)} for {format_duration(fit.duration)}, pieces of "
        f"{format_duration(fit.interval)}; ccsim {__version__}; page made {made}."
    )
    parts = [
        f"{html_document_head()}<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        f"<h1>{escape(title)}</h1><p class='lead'>{escape(lead)}</p>",
        "<p>Every estimate with its 95% interval and the number of observations; the same "
        "figures are comments in the scenario file (below). Handle times come from legs that "
        "ended without a request; patience from queue stays, answered ones censored at their "
        "wait.</p>",
    ]
    for name, directory in fit.directories.items():
        parts.append(f"<h2>Directory {escape(name)}</h2>")
        parts.append(_arrivals_section(fit, directory))
        parts.append(_duration_section(f"Handle time: {name}", directory.handle_time))
        first, later = directory.handle_first, directory.handle_after_transfer
        if later.n:
            parts.append(
                f"<p>First legs: {escape(_dist_note(first))}.<br>After a transfer: "
                f"{escape(_dist_note(later))}.<br>Two-sample KS test that they share one law: "
                f"p = {directory.handle_split_pvalue:.3g}. The scenario format has one handle_time "
                "per directory, so the pooled fit is written.</p>"
            )
        parts.append(_load_table(directory))
        parts.append(_duration_section(f"Patience: {name}", directory.patience))
        if directory.wrap_up.spec is not None:
            parts.append(_duration_section(f"Wrap-up: {name}", directory.wrap_up))
    if fit.transfers:
        parts.append("<h2>Transfers and conferences</h2>")
        rows = []
        for rule in fit.transfers:
            p = rule.probability
            cold = rule.cold_share
            rows.append(
                [
                    ("group " if rule.source_is_group else "") + rule.source,
                    f"{rule.target_kind} {rule.target}",
                    rule.kind,
                    f"{p.value:.4f}",
                    f"{p.low:.4f} to {p.high:.4f}",
                    str(p.n),
                    "–" if cold is None else f"{cold.value:.1%} (n={cold.n})",
                    str(rule.leave) if rule.leave is not None else "–",
                ]
            )
        parts.append(
            _table(
                [
                    "from",
                    "to",
                    "kind",
                    "probability",
                    "95% interval",
                    "service legs",
                    "cold",
                    "leave",
                ],
                rows,
            )
        )
        for rule in fit.transfers:
            label = f"{rule.source} → {rule.target}"
            parts.append(_duration_section(f"Request time (at): {label}", rule.at))
            if rule.duration is not None:
                parts.append(_duration_section(f"Conference duration: {label}", rule.duration))
    parts.append("<h2>Agent groups</h2>")
    for group in fit.groups.values():
        parts.append(_staffing_section(fit, group))
    offer = fit.offer
    parts.append("<h2>Offers</h2>")
    rows = [
        ["alerts (offers and invitations)", str(offer.alerts), ""],
        [
            "missed (declined, unanswered or too late)",
            f"{offer.missed.value:.4f}",
            f"{offer.missed.low:.4f} to {offer.missed.high:.4f}",
        ],
    ]
    if offer.timeout is not None:
        rows.append(
            [
                "length of a missed alert (median)",
                _d(offer.timeout.value),
                f"quartiles {_d(offer.timeout.low)} to {_d(offer.timeout.high)}",
            ]
        )
    if offer.response is not None:
        r = offer.response
        rows.append(
            [
                "response time (exponential mean)",
                _d(r.value),
                f"{_d(r.low)} to {_d(r.high)}, n={r.n}",
            ]
        )
    if offer.no_answer is not None:
        a = offer.no_answer
        rows.append(["not answered at all", f"{a.value:.4f}", f"{a.low:.4f} to {a.high:.4f}"])
    parts.append(_table(["quantity", "value", "uncertainty"], rows))
    parts.append(
        "<p class='note'>An answered alert's response time is not in the log (an answer is "
        "its connection): it is estimated from chats offered at once (their queue was empty and "
        "the agent who answered was Ready with a free slot, without any miss), whose wait is one "
        "response time below the timeout; an exponential is fitted to them with that truncation, "
        "and the misses it explains (answers after the timeout) are taken out of the no-answer "
        "probability.</p>"
    )

    if offer.not_ready is not None and offer.not_ready.n:
        parts.append(_duration_section("Not Ready after a missed alert", offer.not_ready))
    if fit.notes:
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in fit.notes) + "</ul>"
        )
    parts.append(f"<h2>Scenario</h2><pre>{escape(scenario_yaml)}</pre>\n</body>\n</html>\n")
    return "".join(parts)
