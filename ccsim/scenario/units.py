"""Durations and rates as people write them in scenario files.

A duration is a number of seconds or a string such as ``30s``, ``4m``, ``1h30m`` or
``1.5h``; a rate is ``N/h``, ``N/m`` or ``N/s`` (a bare number is per second). Both are
stored in seconds so the model never sees units.

A leading minus sign is read (``-1m`` is -60.0) so that the schema, not the parser, says
"must not be negative" with the field's path. Booleans, NaN and infinities are refused.
"""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = rf"{_NUMBER}(?:e[+-]?\d+)?"
_PART = re.compile(rf"({_NUMBER})(ms|min|s|m|h|d)")
_RATE = re.compile(rf"^([+-]?{_NUMBER})/(s|sec|m|min|h|hour|d|day)$")
_RATE_UNIT = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_DURATION_HINT = "a duration such as 90, 30s, 4m or 1h30m"
_RATE_HINT = "a rate such as 180/h, 3/m or 0.05/s"


def _shown(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _finite(number: float, value: object, hint: str) -> float:
    if not math.isfinite(number):
        raise ValueError(f"expected {hint}, got {_shown(value)} (must be finite)")
    return number


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise ``ValueError`` with a readable reason."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value), value, _DURATION_HINT)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        sign = -1.0 if text.startswith("-") else 1.0
        body = text[1:] if text[:1] in "+-" else text
        if re.fullmatch(_PLAIN, body):
            return _finite(sign * float(body), value, _DURATION_HINT)
        pos, total = 0, 0.0
        for match in _PART.finditer(body):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos == len(body) and pos > 0:
            return sign * total
    raise ValueError(f"expected {_DURATION_HINT}, got {_shown(value)}")


def parse_rate(value: object) -> float:
    """Return ``value`` in events per second (``180/h`` -> 0.05; a bare number is per second)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value), value, _RATE_HINT)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        match = _RATE.match(text)
        if match:
            return float(match.group(1)) / _RATE_UNIT[match.group(2)]
        if re.fullmatch(rf"[+-]?{_PLAIN}", text):
            return float(text)
    raise ValueError(f"expected {_RATE_HINT}, got {_shown(value)}")


def format_duration(seconds: float) -> str:
    """Short human form used in tables (``95.0`` -> ``1m35s``, ``5400`` -> ``1h30m``)."""
    if seconds != seconds:  # NaN
        return "-"
    if math.isinf(seconds):
        return "inf" if seconds > 0 else "-inf"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if round(seconds, 1) < 60:
        return f"{sign}{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    return f"{sign}{minutes}m{secs:02d}s"


def compact_duration(seconds: float) -> str:
    """Exact short form that :func:`parse_duration` reads back (``5400`` -> ``1h30m``).

    Used in messages, where ``format_duration``'s rounding would hide the value written.
    """
    if not math.isfinite(seconds):
        return str(seconds)
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    secs = round(secs, 6)
    parts = [f"{int(hours)}h"] if hours else []
    if minutes:
        parts.append(f"{int(minutes)}m")
    if secs or not parts:
        parts.append(f"{secs:g}s")
    return sign + "".join(parts)
