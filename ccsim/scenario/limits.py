"""Generous, documented limits on what a scenario and the files ccsim reads may hold.

Each limit keeps a run finite and memory bounded: past it, a value is refused at load
time with the limit in the message, before any work starts. They sit far above any
real contact center (docs/scenario-format.md, "Limits"), so that only typos (a count of
``10**400``, ``"1"`` followed by 400 zeros, a cv of ``1e-200``) and hostile files hit them.
"""

from __future__ import annotations

import re

DAY_S = 86_400.0

#: Any duration (run length, times of distributions, shift bounds), in seconds.
MAX_DURATION_S = 3660 * DAY_S
#: Any rate, in events per second (3.6 billion an hour).
MAX_RATE_PER_S = 1e6
#: Agents of one group, and of all groups together.
MAX_AGENTS = 1_000_000
#: Expected arrivals of one replication (arrivals x duration, summed over directories).
MAX_EXPECTED_ARRIVALS = 100_000_000
MAX_REPLICATIONS = 100_000
MAX_SEED = 2**63 - 1
#: ``max_transfers`` and ``retries``.
MAX_COUNT_SETTING = 1_000_000
#: Coefficient of variation of lognormal and gamma: numpy's samplers stay finite within.
MIN_CV, MAX_CV = 1e-3, 100.0
MAX_SLOWDOWN = 1_000.0
#: Directory priorities (and their boosts) lie within plus or minus this.
MAX_PRIORITY = 1_000
#: A customer's attempts (``retry.max_attempts``), the first included.
MAX_ATTEMPTS = 100
#: A day's busyness factor (``busyness:``) above this is taken as this: a run stays finite.
MAX_BUSYNESS = 10.0
MAX_NAME_LENGTH = 100

#: A scenario file: plenty for hand-written YAML; bulk data belongs in CSV files.
MAX_SCENARIO_BYTES = 4 * 1024 * 1024
#: YAML nesting, and the number of values once aliases (``*name``) are expanded.
MAX_YAML_DEPTH = 64
MAX_YAML_VALUES = 1_000_000
#: A data file (``empirical`` csv) and the values taken from it.
MAX_DATA_BYTES = 50 * 1024 * 1024
MAX_DATA_VALUES = 1_000_000
#: Files of a results folder: summary.json and replications.csv, and the other tables.
MAX_SUMMARY_BYTES = 200 * 1024 * 1024
MAX_TABLE_BYTES = 4 * 1024 * 1024 * 1024
#: Over-the-day charts and time series (``report --freq``).
MIN_INTERVAL_S = 1.0
MAX_INTERVALS = 100_000
#: ``ccsim staff --per-interval``: every interval is staffed by simulation.
MIN_STAFF_INTERVAL_S = 60.0
MAX_STAFF_INTERVALS = 1_000
#: ``days: N`` repeats a day's schedule pieces and shifts N times: a directory's pieces
#: over the run, and a group's shifts (the model recounts a group's shifts at each of
#: their changes, so work grows with the square of their number).
MAX_REPEATED_PIECES = 1_000_000
MAX_REPEATED_SHIFTS = 5_000

# A name that --set paths (split at '.', '=') and expectations (directories.NAME.METRIC)
# can address: letters, digits, '_' and '-', not starting with '-'.
_NAME = re.compile(r"\w[\w-]*")


def name_problem(name: str) -> str | None:
    """Why a directory or group name cannot be used, or None when it can."""
    if not name:
        return "a name must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"a name is at most {MAX_NAME_LENGTH} characters, got {len(name)}"
    if _NAME.fullmatch(name):
        return None
    bad = next((c for c in name if not (c.isalnum() or c in "_-")), name[0])
    if bad == " ":
        shown = "a space"
    elif bad.isspace() or not bad.isprintable():
        shown = f"a control or space character (U+{ord(bad):04X})"
    else:
        shown = repr(bad)
    return (
        f"name {shown_name(name)} has {shown}: use letters, digits, '_' and '-' (not first), "
        "so that --set and expectations can address it"
    )


def shown_name(name: str) -> str:
    """A name as it may appear in a message: control characters escaped, long ones cut."""
    text = name if len(name) <= 40 else name[:37] + "..."
    return repr(text)


def scenario_name_problem(name: str) -> str | None:
    """Why a scenario name cannot be used (it goes into reports, XML and file names)."""
    if not name.strip():
        return "must not be empty"
    if len(name) > 200:
        return f"is at most 200 characters, got {len(name)}"
    if any(not c.isprintable() for c in name):
        return "must not contain control characters (line breaks, tabs, ...)"
    return None


def format_seconds_limit(seconds: float) -> str:
    """A limit on a duration as people write it (``366d``, ``1m``, ``1s``)."""
    for unit, size in (("d", DAY_S), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def total_agents_problem(total: int) -> str | None:
    """Why all groups together have too many agents (the largest shift of each counts)."""
    if total <= MAX_AGENTS:
        return None
    return f"the groups have {total:,} agents in all, more than the {MAX_AGENTS:,} allowed"


def expected_arrivals_problem(expected: float) -> str | None:
    """Why the arrivals of one replication would be too many to simulate and keep."""
    if expected <= MAX_EXPECTED_ARRIVALS:
        return None
    return (
        f"about {expected:,.0f} arrivals expected in one replication (rates x duration), "
        f"more than the {MAX_EXPECTED_ARRIVALS:,} allowed; shorten the run or lower the rates"
    )
