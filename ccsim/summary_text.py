"""A plain-text summary of :class:`ccsim.api.Results`: what ``print(results)`` and the
Python prompt show (Jupyter shows the HTML tables of :func:`ccsim.report.repr_html`).

The key metrics with their 95% intervals, overall, per directory (with its service-level
threshold) and per agent group, in aligned columns that fit 80 characters; every metric
is in ``results.summary()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccsim.api import Results
    from ccsim.results import Estimate

OVERALL_KEYS = (
    "offered",
    "service_level",
    "abandon_rate",
    "wait_mean",
    "wait_p90",
    "transfer_rate",
    "handoff_gap_mean",
    "handoff_gap_p95",
    "utilization",
    "occupancy",
)
DIRECTORY_KEYS = (
    "offered",
    "service_level",
    "queued_service_level",
    "abandon_rate",
    "wait_p90",
    "handoff_gap_mean",
)
GROUP_KEYS = ("utilization", "occupancy")
#: Directories and groups listed before "... and N more".
MAX_NAMES = 12


def _rows(metrics: Mapping[str, Estimate], keys: tuple[str, ...]) -> list[tuple[str, str, str]]:
    from ccsim.results import format_interval, format_metric

    return [
        (f"  {key}", format_metric(key, metrics[key].mean), format_interval(key, metrics[key]))
        for key in keys
        if key in metrics
    ]


def summary_text(results: Results) -> str:
    """The headline, then the key metrics with their intervals, one block per scope."""
    from ccsim.scenario.units import compact_duration

    scenario = results.scenario
    summary = results.summary_table
    plural = "s" if results.replications != 1 else ""
    lines = [
        f"ccsim results: {scenario.name}, {results.replications} replication{plural}, "
        f"seed {results.seed}, {compact_duration(scenario.duration)} simulated (warm-up "
        f"{compact_duration(scenario.warmup)}), ran in {results.runtime_s:.1f}s"
    ]
    blocks: list[tuple[str, list[tuple[str, str, str]]]] = [
        ("overall", _rows(summary.overall, OVERALL_KEYS))
    ]
    for kind, scopes, keys in (
        ("directory", summary.directories, DIRECTORY_KEYS),
        ("group", summary.groups, GROUP_KEYS),
    ):
        names = list(scopes)
        for name in names[:MAX_NAMES]:
            title = f"{kind} {name}"
            if kind == "directory" and name in scenario.directories:
                threshold = compact_duration(scenario.directories[name].service_level)
                title += f" (service level: answered within {threshold})"
            blocks.append((title, _rows(scopes[name], keys)))
        if len(names) > MAX_NAMES:
            blocks.append((f"... and {len(names) - MAX_NAMES} more {kind}s", []))
    rows = [row for _, block in blocks for row in block]
    width = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    level = "95% CI" if results.replications > 1 else ""
    lines.append(f"{'':<{width[0]}}  {'mean':>{width[1]}}  {level}".rstrip())
    for title, block in blocks:
        lines.append(title)
        for name, mean, interval in block:
            lines.append(f"{name:<{width[0]}}  {mean:>{width[1]}}  {interval}".rstrip())
    if results.replications == 1:
        lines.append("(one replication: no confidence intervals)")
    if results.records or results.loaded_tables:
        tables = "tables: results.chats, .transfers, .agents, .events"
    else:
        tables = "no tables kept (keep_records=False)"
    lines.append(f"every metric: results.summary(); {tables}")
    return "\n".join(lines)


__all__ = ["summary_text"]
