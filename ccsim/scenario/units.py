"""Durations and rates as people write them in scenario files.

A duration is a number of seconds or a string such as ``30s``, ``4m``, ``1h30m`` or
``1.5h``; a rate is ``N/h``, ``N/m`` or ``N/s`` (a bare number is per second). Both are
stored in seconds so the model never sees units.

Values that overflow a float (``10**400``, ``"1"`` followed by 400 zeros, ``1e999h``) are
refused like infinities; the scenario's fields then apply their upper limits.

A leading minus sign is read (``-1m`` is -60.0) so that the schema, not the parser, says
"must not be negative" with the field's path. Booleans, NaN and infinities are refused.
"""

from __future__ import annotations

import math
import re

from ccsim.scenario.limits import MAX_DURATION_S, MAX_RATE_PER_S, format_seconds_limit

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
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int) and abs(value) >= 10**15:
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "over 4000"
        return f"a number of {digits} digits"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _finite(number: float, value: object, hint: str) -> float:
    if not math.isfinite(number):
        written = str(value).lower()
        if isinstance(value, float) or "inf" in written or "nan" in written:
            raise ValueError(f"expected {hint}, got {_shown(value)} (must be finite)")
        raise _too_large(value, hint)
    return number


def _too_large(value: object, hint: str) -> ValueError:
    limit = (
        f"a rate is at most {int(MAX_RATE_PER_S)}/s"
        if hint == _RATE_HINT
        else f"a duration is at most {format_seconds_limit(MAX_DURATION_S)}"
    )
    return ValueError(f"expected {hint}, got {_shown(value)} (too large: {limit})")


def _float(number: int | float | str, value: object, hint: str) -> float:
    """``float()`` that refuses what overflows (``10**400``, ``"1"`` + 400 zeros)."""
    try:
        return _finite(float(number), value, hint)
    except OverflowError:
        raise _too_large(value, hint) from None


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise ``ValueError`` with a readable reason."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _float(value, value, _DURATION_HINT)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        sign = -1.0 if text.startswith("-") else 1.0
        body = text[1:] if text[:1] in "+-" else text
        if re.fullmatch(_PLAIN, body):
            return sign * _float(body, value, _DURATION_HINT)
        pos, total = 0, 0.0
        for match in _PART.finditer(body):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos == len(body) and pos > 0:
            return sign * _finite(total, value, _DURATION_HINT)
    raise ValueError(f"expected {_DURATION_HINT}, got {_shown(value)}")


def parse_rate(value: object) -> float:
    """Return ``value`` in events per second (``180/h`` -> 0.05; a bare number is per second)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _float(value, value, _RATE_HINT)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        match = _RATE.match(text)
        if match:
            return _float(match.group(1), value, _RATE_HINT) / _RATE_UNIT[match.group(2)]
        if re.fullmatch(rf"[+-]?{_PLAIN}", text):
            return _float(text, value, _RATE_HINT)
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
