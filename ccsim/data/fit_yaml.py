"""The fitted scenario as YAML text, each estimate followed by its uncertainty as a comment.

The text is built line by line (a YAML library drops comments), then read back through the
scenario loader by :func:`scenario_text`'s caller before anything is written, so what
``ccsim fit`` writes is always a scenario ``ccsim validate`` accepts.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import yaml

from ccsim import __version__
from ccsim.data.fit import DirectoryFit, Estimate, GroupFit, LogFit, TransferFit, rounded_shifts
from ccsim.data.fit_dists import DurationFit
from ccsim.safe_write import FileKind
from ccsim.scenario.clock import format_clock
from ccsim.scenario.units import compact_duration

#: The first line of every scenario ``ccsim fit`` writes: an existing file is replaced only
#: if it starts so (see :mod:`ccsim.safe_write`), never a scenario someone wrote by hand.
FIT_SIGNATURE = "# generator: ccsim"
FITTED_SCENARIO = FileKind(
    "fitted scenario",
    "a scenario written by ccsim fit",
    re.compile(re.escape(FIT_SIGNATURE.encode()) + rb" [0-9A-Za-z.+!_-]{1,64} \(ccsim fit\)\n"),
    "scenario.yaml",
)


def _key(name: str) -> str:
    """A name as a YAML key or scalar, quoted when YAML would read it otherwise."""
    return yaml.safe_dump(name, default_style=None).removesuffix("\n...\n").strip()


def _seconds(value: float) -> str:
    """A duration the scenario reads back: ``421.3s``, ``0s``."""
    if value == 0:
        return "0s"
    return f"{value:.4g}s" if value < 10 else f"{round(value, 1):g}s"


def _rate(per_second: float) -> str:
    per_hour = per_second * 3600
    return f"{per_hour:.5g}/h" if per_hour else "0/h"


def _short(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return compact_duration(round(value, 1)) if value >= 60 else f"{value:.3g}s"


def dist_text(spec: dict[str, Any]) -> str:
    """A distribution mapping (seconds) as flow YAML (``{dist: gamma, mean: 421.3s, cv: 0.8}``)."""
    kind = spec["dist"]
    if kind == "constant":
        return _seconds(spec["value"])
    if kind == "exponential":
        return f"{{dist: exponential, mean: {_seconds(spec['mean'])}}}"
    if kind in ("lognormal", "gamma"):
        return f"{{dist: {kind}, mean: {_seconds(spec['mean'])}, cv: {spec['cv']:.4g}}}"
    if kind == "uniform":
        return f"{{dist: uniform, low: {_seconds(spec['low'])}, high: {_seconds(spec['high'])}}}"
    if kind == "mixture":
        parts = ", ".join(
            f"{{weight: {c['weight']:.4g}, of: {dist_text(c['of'])}}}" for c in spec["components"]
        )
        return f"{{dist: mixture, components: [{parts}]}}"
    values = ", ".join(f"{v:.4g}" for v in spec["values"])
    return f"{{dist: empirical, values: [{values}]}}"


def fit_comment(fit: DurationFit, observed_word: str = "observed") -> str:
    """What a fitted distribution rests on: counts, the mean's interval, the comparison."""
    parts = [f"n={fit.n} {observed_word}"]
    if fit.n_censored:
        parts[0] += f", {fit.n_censored} censored"
    if math.isfinite(fit.mean_low):
        parts.append(f"mean 95%: {_short(fit.mean_low)}-{_short(fit.mean_high)}")
    best = fit.best
    if best is not None:
        gof = (
            f"KS p={best.ks_pvalue:.2g}"
            if math.isfinite(best.ks_pvalue)
            else f"KM gap {best.ks_statistic:.3f}"
        )
        others = ", ".join(f"{f.family} {f.aic - best.aic:+.0f}" for f in fit.fits if f is not best)
        parts.append(
            f"best AIC of {len(fit.fits)}" + (f" ({others})" if others else "") + f", {gof}"
        )
    if fit.note:
        parts.append(fit.note)
    return "; ".join(parts)


def _estimate(estimate: Estimate, fmt: str = "{:.3f}") -> str:
    if not math.isfinite(estimate.low):
        return f"n={estimate.n}"
    return f"95%: {fmt.format(estimate.low)}-{fmt.format(estimate.high)}, n={estimate.n}"


def _arrivals_lines(directory: DirectoryFit, days: int, interval: float) -> list[str]:
    arrivals = directory.arrivals
    if arrivals is None:
        return []
    lines = [
        f"    arrivals:   # chats per {compact_duration(interval)}, mean of {days} days; exact "
        "Poisson 95% intervals",
        "      schedule:",
    ]
    previous = None
    for start, rate in zip(arrivals.starts, arrivals.rates, strict=True):
        text = _rate(rate.value)
        band = f"{_rate(rate.low)}-{_rate(rate.high)}"
        if text == previous:
            lines.append(f"        # {compact_duration(start)}: same rate; 95%: {band}, n={rate.n}")
            continue
        lines.append(
            f"        - {{from: {compact_duration(start)}, rate: {text}}}   # 95%: {band}, "
            f"n={rate.n}"
        )
        previous = text
    if arrivals.weekday_rates:
        verdict = "differ" if arrivals.weekday_pvalue < 0.01 else "do not differ clearly"
        lines.append(
            f"      # weekdays {verdict} (chi-square p={arrivals.weekday_pvalue:.2g}); fit one "
            "with --weekday"
        )
    return lines


def _dist_line(indent: str, key: str, fit: DurationFit, word: str = "observed") -> list[str]:
    if fit.spec is None:
        return [
            f"{indent}# {key}: not in the log ({fit.note or 'no observation'}); the default applies"
        ]
    return [f"{indent}{key}: {dist_text(fit.spec)}   # {fit_comment(fit, word)}"]


def _directory_lines(name: str, directory: DirectoryFit, days: int, interval: float) -> list[str]:
    lines = [f"  {_key(name)}:"]
    lines += _arrivals_lines(directory, days, interval)
    lines.append(
        "    # service_level: your target's threshold is not in the log; the default 60s applies"
    )
    patience = directory.patience
    if patience.n == 0 and patience.n_censored:
        lines.append(
            f"    # patience: nobody abandoned in {patience.n_censored} waits, so it is left "
            "infinite"
        )
    else:
        lines += _dist_line("    ", "patience", patience, "abandoned")
    handle = directory.handle_time
    if handle.spec is None:
        # handle_time is required: a placeholder that says so
        lines.append("    handle_time: 1s   # no completed leg in the log: set this yourself")
    else:
        lines += _dist_line("    ", "handle_time", handle, "completed legs")
        first, later = directory.handle_first, directory.handle_after_transfer
        if later.n:
            verdict = (
                f"two-sample KS p={directory.handle_split_pvalue:.2g}"
                if math.isfinite(directory.handle_split_pvalue)
                else "too few to compare"
            )
            lines.append(
                f"    # first legs: mean {_short(first.mean)} (n={first.n}); after a transfer: "
                "mean "
                f"{_short(later.mean)} (n={later.n}); {verdict}. The format has one handle_time "
                "per directory: the pooled fit is above."
            )
    if directory.duration_by_load:
        shown = ", ".join(
            f"{k}: {_short(v.value)}" for k, v in sorted(directory.duration_by_load.items())
        )
        lines.append(f"    # mean completed leg by chats held at connection ({shown})")
    wrap, share = directory.wrap_up, directory.wrap_up_share
    if wrap.spec is None:
        lines.append(f"    # wrap_up: none ({share.value:.1%} of {share.n} legs had any)")
    else:
        lines += _dist_line("    ", "wrap_up", wrap, "legs")
    return lines


def _group_lines(name: str, group: GroupFit, duration: float) -> list[str]:
    dirs = ", ".join(_key(d) for d in group.directories)
    shifts = rounded_shifts(group, duration)
    lines = [f"  {_key(name)}:"]
    lines.append(f"    directories: [{dirs}]")
    lines.append(
        f"    max_chats: {group.max_chats}   # most slots an agent held at once; reached on "
        f"{group.max_chats_share:.0%} of {len(group.concurrency_by_day)} agent-days"
    )
    if group.slowdown is not None:
        factors = ", ".join(f"{f:g}" for f in group.slowdown)
        lines.append(
            f"    slowdown: [{factors}]   # estimated from leg lengths by load (fit --slowdown)"
        )
    source = (
        "agent states (Ready or Not Ready)"
        if group.source == "agent_states"
        else "agents seen handling chats: a lower bound"
    )
    if len(shifts) == 1:
        lows, highs = min(group.on_duty_low), max(group.on_duty_high)
        lines.append(
            f"    count: {shifts[0]['count']}   # mean on duty from {source}; days ranged "
            f"{lows:g}-{highs:g}"
        )
        return lines
    lines.append(f"    shifts:   # mean agents on duty per interval from {source}, rounded")
    for shift in shifts:
        inside = [i for i, s in enumerate(group.starts) if shift["from"] <= s < shift["to"]]
        mean = sum(group.on_duty[i] for i in inside) / len(inside)
        low = min(group.on_duty_low[i] for i in inside)
        high = max(group.on_duty_high[i] for i in inside)
        lines.append(
            "      - "
            f"{{from: {compact_duration(shift['from'])}, to: {compact_duration(shift['to'])}, "
            f"count: {shift['count']}}}   # mean {mean:.2f}, days ranged {low:g}-{high:g}"
        )
    return lines


def _transfer_lines(rule: TransferFit) -> list[str]:
    source = f"{{group: {_key(rule.source)}}}" if rule.source_is_group else _key(rule.source)
    target = f"{{{rule.target_kind}: {_key(rule.target)}}}"
    lines = [
        f"  - from: {source}",
        f"    to: {target}",
    ]
    if rule.kind == "conference":
        lines.append("    kind: conference")
    p = rule.probability
    lines.append(
        f"    probability: {p.value:.4f}   # {_estimate(p, '{:.4f}')} service legs of the source"
    )
    if rule.at.spec is not None:
        note = (
            ""
            if rule.target_kind == "directory"
            else " (to the invitee's connection: includes any consultation and the alert)"
        )
        lines.append(
            f"    at: {dist_text(rule.at.spec)}   # from connection to the request{note}; "
            f"{fit_comment(rule.at, 'requests')}"
        )
    if rule.leave is not None:
        leave = (
            rule.leave
            if isinstance(rule.leave, str)
            else f"{{after: {_seconds(rule.leave['after'])}}}"
        )
        share = rule.cold_share
        why = (
            f"requester left before the new agent connected in {share.value:.1%}, "
            f"{_estimate(share)}"
            if share
            else ""
        )
        if share and isinstance(rule.leave, dict) and not share.value > 0.5:
            why += "; the requester left a fixed time after the request, not after the connection"
        lines.append(f"    leave: {leave}   # {why}")
    if rule.confirm is not None:
        lines.append(
            f"    confirm: {_seconds(rule.confirm)}   # median overlap after the new agent "
            "connected"
        )
    if rule.kind == "conference":
        duration = rule.duration
        if duration is not None and duration.spec is not None:
            lines.append(
                f"    duration: {dist_text(duration.spec)}   # "
                f"{fit_comment(duration, 'conferences')}"
            )
        else:
            lines.append("    duration: 0s   # no conference completed in the log")
        lines.append("    # consult: consultations are not in the log; none is modelled")
    return lines


def scenario_text(fit: LogFit, name: str, supports_start: bool) -> str:
    """The fitted scenario as commented YAML (see the module doc)."""
    days = len(fit.days)
    first, last = fit.days[0].date(), fit.days[-1].date()
    which = f"{fit.weekday}s only, " if fit.weekday else ""
    lines = [
        f"{FIT_SIGNATURE} {__version__} (ccsim fit)",
        f"# Fitted by ccsim fit from {fit.source}: {which}{days} day{'s' if days != 1 else ''} "
        f"({first} to {last}).",
        "# Comments give each estimate's 95% interval and the observations it rests on; see",
        "# the fit report (--report) for the data against each fitted curve.",
        f"name: {_key(name)}",
        f"description: {_key(f'Fitted from {days} days of {fit.source}')}",
    ]
    clock = format_clock(fit.origin)
    if supports_start:
        lines.append(f'start: "{clock}"   # the day starts at the first interval with an arrival')
    else:
        lines.append(f"# time 0h is {clock} on each day of the log")
    lines += [
        f"duration: {compact_duration(fit.duration)}   # to the end of the last interval with an "
        "arrival",
        "seed: 0",
        f"replications: {min(max(days, 1), 100)}   # one per day of the log",
        "",
        "directories:",
    ]
    for dir_name, directory in fit.directories.items():
        lines += _directory_lines(dir_name, directory, days, fit.interval)
    lines += ["", "agents:"]
    for group_name, group in fit.groups.items():
        lines += _group_lines(group_name, group, fit.duration)
    offer = fit.offer
    lines += ["", "offer:   # alerts (offers and invitations) to agents"]
    if offer.response is not None and offer.response.value == 0:
        lines.append(
            f"  response_time: 0s   # {offer.response.n} chats offered at once were all "
            "answered at once"
        )
    elif offer.response is not None:
        r = offer.response
        lines.append(
            f"  response_time: {{dist: exponential, mean: {_seconds(r.value)}}}   # from {r.n} "
            "waits of chats offered at once (queue empty, answering agent Ready with a free "
            f"slot, no miss), fitted below the timeout; mean 95%: {_short(r.low)}-{_short(r.high)}"
        )
    else:
        lines.append(
            "  # response_time: too few chats offered at once to estimate it; the default 0 applies"
        )
    if offer.timeout is not None:
        t = offer.timeout
        lines.append(
            f"  no_answer_timeout: {_seconds(max(t.value, 0.001))}   # median missed alert; "
            f"quartiles {_short(t.low)}-{_short(t.high)}, n={t.n}"
        )
    no_answer = offer.no_answer or offer.missed
    explained = (
        "the rest are answers after the timeout"
        if offer.response is not None
        else "includes answers that came too late"
    )
    lines.append(
        f"  no_answer_probability: {no_answer.value:.4f}   # {_estimate(no_answer, '{:.4f}')}; "
        f"alerts missed: {offer.missed.value:.4f}, {explained}"
    )
    if offer.not_ready is not None and offer.not_ready.spec is not None:
        nr = offer.not_ready
        value = float(np.median(nr.observed))  # the format takes one duration here
        lines.append(
            f"  not_ready_time: {_seconds(value)}   # median Not Ready period after a miss; "
            f"n={nr.n}"
        )
    if fit.transfers:
        lines += ["", "transfers:"]
        for rule in fit.transfers:
            lines += _transfer_lines(rule)
    for note in fit.notes:
        lines.append(f"# note: {note}")
    return "\n".join(lines) + "\n"
