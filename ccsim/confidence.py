"""One meaning of ``--confidence`` in every command: the level of every confidence
interval the command shows or judges (default 0.95).

``ccsim check``, ``compare``, ``report``, ``sweep`` and ``theory`` take the same option
(``ccsim.cli.ConfidenceOption``) with this help text and default. Intervals are Student t
intervals over independent replications (:func:`ccsim.results.estimate`), clipped to the
metric's range (:func:`ccsim.results.feasible`); :func:`summary_at` recomputes a whole
summary at another level from the per-replication metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccsim.api import Results
    from ccsim.results import ReplicationMetrics, Summary

DEFAULT_CONFIDENCE = 0.95
CONFIDENCE_HELP = (
    "Confidence level of every interval shown or judged, between 0 and 1 (default 0.95)."
)


def level_problem(level: float) -> str | None:
    """Why ``level`` is not a confidence level, or None."""
    if not (isinstance(level, int | float) and math.isfinite(level) and 0 < level < 1):
        return f"must be between 0 and 1 (exclusive), e.g. 0.95, got {level!r}"
    return None


def level_text(level: float) -> str:
    """``0.95`` -> ``95%``, ``0.999`` -> ``99.9%``."""
    return f"{100 * level:g}%"


def _summarise(rows: Sequence[dict[str, float]], confidence: float) -> dict:
    from ccsim.results import METRICS, estimate, feasible

    names = [name for name in METRICS if rows and name in rows[0]]
    return {
        name: feasible(name, estimate([row[name] for row in rows], confidence)) for name in names
    }


def summary_at(runs: Sequence[ReplicationMetrics], confidence: float) -> Summary:
    """The :class:`~ccsim.results.Summary` of these replications at ``confidence``; at
    0.95 the same numbers as ``Summary.from_replications``."""
    from ccsim.results import Summary  # scipy and pandas: not for ``ccsim --help``

    if confidence == DEFAULT_CONFIDENCE:
        return Summary.from_replications(list(runs))
    directories = list(runs[0].directories) if runs else []
    groups = list(runs[0].groups) if runs else []
    return Summary(
        overall=_summarise([run.overall for run in runs], confidence),
        directories={
            d: _summarise([run.directories[d] for run in runs], confidence) for d in directories
        },
        groups={g: _summarise([run.groups[g] for run in runs], confidence) for g in groups},
    )


def results_summary(results: Results, confidence: float = DEFAULT_CONFIDENCE) -> Summary:
    """``results.summary_table`` at ``confidence`` (the cached one at 0.95)."""
    if confidence == DEFAULT_CONFIDENCE:
        return results.summary_table
    return summary_at(results.replication_metrics, confidence)


__all__ = [
    "CONFIDENCE_HELP",
    "DEFAULT_CONFIDENCE",
    "level_problem",
    "level_text",
    "results_summary",
    "summary_at",
]
