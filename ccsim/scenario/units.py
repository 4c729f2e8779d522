"""Durations and rates as people write them in scenario files.

A duration is a number of seconds or a string such as ``30s``, ``4m``, ``1h30m`` or
``1.5h``; a rate is ``N/h``, ``N/m`` or ``N/s`` (a bare number is per second). Both are
stored in seconds so the model never sees units.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|min|s|m|h|d)")
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*/\s*(s|sec|m|min|h|hour|d|day)\s*$")
_RATE_UNIT = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0,
              "d": 86400.0, "day": 86400.0}


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise ``ValueError`` with a readable reason."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30, '30s', '4m' or '1h30m'")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            return float(text)
        except ValueError:
            pass
        pos, total = 0, 0.0
        for match in _PART.finditer(text):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos == len(text) and pos > 0:
            return total
    raise ValueError(f"{value!r} is not a duration; write seconds or strings like 30s, 4m, 1h30m")


def parse_rate(value: object) -> float:
    """Return ``value`` in events per second (``180/h`` -> 0.05)."""
    if isinstance(value, bool):
        raise ValueError("must be a rate such as '180/h'")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _RATE.match(value.lower())
        if match:
            return float(match.group(1)) / _RATE_UNIT[match.group(2)]
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a rate; write N/h, N/m or N/s, for example 180/h")


def format_duration(seconds: float) -> str:
    """Short human form used in tables (``95.0`` -> ``1m35s``)."""
    if seconds != seconds:  # NaN
        return "-"
    if abs(seconds) < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"
