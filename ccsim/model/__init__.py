"""The SimPy model of a chat contact center. No I/O, no pandas, no plotting.

The single entry point is :func:`run_replication`, which returns compact
:class:`~ccsim.model.records.Records` (or, with ``tables=False``, the
:class:`~ccsim.model.records.Tallies` that the whole-run metrics need); everything else
(tables, summaries, files, plots, executors) is built around it.
"""

from ccsim.model.center import Center, run_replication
from ccsim.model.records import (
    AgentState,
    EventKind,
    LegKind,
    LegOutcome,
    Outcome,
    Records,
    Tallies,
)

__all__ = [
    "AgentState",
    "Center",
    "EventKind",
    "LegKind",
    "LegOutcome",
    "Outcome",
    "Records",
    "Tallies",
    "run_replication",
]
