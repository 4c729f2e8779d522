"""Time of day: the clock time at which a run starts, and clock labels for its intervals.

A scenario's times (schedule pieces, shifts, arrival instants) are offsets from the start
of the run; ``start: "08:00"`` says which clock time that start is, so that tables,
time series and charts can speak in clock times ("08:00–08:15", "day 2 08:00–08:15").
With ``days: N`` a day is the 24 hours from ``start``; the daily pattern repeats.

The clock is written as text, ``"HH:MM"`` or ``"HH:MM:SS"``: YAML 1.1 reads an unquoted
``8:00`` as the base-60 number 480, which the loader catches (see
:mod:`ccsim.scenario.load`) and hands over as the text written, so ``start: 8:00`` still
means eight o'clock.
"""

from __future__ import annotations

import math
import re

DAY_S = 86400.0
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")
CLOCK_HINT = 'a clock time such as "08:00" or "08:30:15" (hours 0-23)'


def parse_clock(value: object) -> float:
    """``"08:30"`` -> 30600.0 seconds after midnight; anything else is a ``ValueError``.

    Numbers are refused: 480 could be seconds, minutes or YAML's reading of ``8:00``.
    """
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match:
            hours, minutes, seconds = (int(part or 0) for part in match.groups())
            if hours < 24:
                return float(hours * 3600 + minutes * 60 + seconds)
    shown = repr(value) if isinstance(value, str) else f"{value!r}"
    raise ValueError(f"expected {CLOCK_HINT}, in quotes; got {shown}")


def format_clock(seconds: float) -> str:
    """Seconds after midnight as ``"08:00"`` (``"08:00:30"`` when seconds are not whole
    minutes); 24:00 and beyond wrap to the next day's clock."""
    whole = round(seconds) % int(DAY_S)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def spans_days(start: float | None, duration: float) -> bool:
    """Whether a run from ``start`` (None: midnight) lasting ``duration`` passes midnight,
    so that labels need a day number."""
    return (start or 0.0) + duration > DAY_S + 1e-9


def clock_at(offset: float, start: float | None, with_day: bool) -> str:
    """The clock at ``offset`` seconds into a run starting at ``start``: ``"08:15"``, or
    ``"day 2 08:15"`` with ``with_day`` (day 1 is the day the run starts)."""
    moment = (start or 0.0) + offset
    text = format_clock(moment)
    if not with_day:
        return text
    return f"day {math.floor(round(moment) / DAY_S) + 1} {text}"


def interval_label(low: float, high: float, start: float | None, with_day: bool) -> str:
    """``"08:00–08:15"`` for the interval ``[low, high)`` of run time; an interval that
    ends at midnight ends at ``"24:00"`` (not ``"00:00"``), and with ``with_day`` the
    label starts with the day of its start (``"day 2 23:45–24:00"``)."""
    begin = clock_at(low, start, with_day)
    end_moment = (start or 0.0) + high
    end = format_clock(end_moment)
    if end == "00:00" and high > low:
        end = "24:00"
    return f"{begin}–{end}"


__all__ = [
    "CLOCK_HINT",
    "DAY_S",
    "clock_at",
    "format_clock",
    "interval_label",
    "parse_clock",
    "spans_days",
]
